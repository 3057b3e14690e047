from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from postback_kit.deliveries import (
    DELIVERY_KEY,
    FINAL_OUTCOMES,
    deliveries,
    retry_behavior,
    retry_stats,
    with_delivery_id,
)
from postback_kit.errors import MissingColumnsError

OUTCOMES = (
    "success",
    "request_error",
    "partner_error",
    "network_error",
    "other_code",
    "soft_failure",
    "false_failure",
)
OUTCOME = pl.Enum(OUTCOMES)
UTC_US = pl.Datetime("us", "UTC")
END = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def at(hours_before_end: float) -> datetime:
    return END - timedelta(hours=hours_before_end)


def attempts(rows: list[tuple[str, str, datetime, str, str | None]]) -> pl.DataFrame:
    """(tracking_id, postback_url, attempt time, outcome, signature) rows, classified."""
    tid, url, ts, outcome, sig = zip(*rows, strict=True)
    return pl.DataFrame(
        {
            "tracking_id": list(tid),
            "postback_url": list(url),
            "attempt_timestamp": pl.Series(ts, dtype=UTC_US),
            "outcome": pl.Series(outcome, dtype=OUTCOME),
            "signature": pl.Series(sig, dtype=pl.String),
        }
    )


# --------------------------------------------------------------------------- delivery_id


def test_attempt_columns_outside_the_key_do_not_split_a_delivery() -> None:
    assert set(DELIVERY_KEY) == {
        "tracking_id",
        "postback_url",
        "postback_url_parameters",
        "conversion_timestamp",
        "event_name",
        "cost_model",
        "appmetrica_device_id",
    }
    retries = pl.LazyFrame(
        {
            "tracking_id": ["1", "1"],
            "postback_url": ["https://p/?c=a"] * 2,
            "appmetrica_device_id": ["42", "42"],
            "attempt_timestamp": pl.Series([at(2), at(1)], dtype=UTC_US),
            "response_code": pl.Series([502, 200], dtype=pl.Int32),
            "response_body": ["Bad Gateway", "OK"],
            "notifying_status": pl.Series(["failed", "sent"], dtype=pl.Categorical),
        }
    )
    assert with_delivery_id(retries).collect()["delivery_id"].n_unique() == 1
    other_device = retries.with_columns(appmetrica_device_id=pl.Series(["42", "43"]))
    assert with_delivery_id(other_device).collect()["delivery_id"].n_unique() == 2


def test_retries_share_a_delivery_id_and_other_postbacks_do_not() -> None:
    frame = pl.DataFrame(
        {
            "tracking_id": ["1", "1", "1", "2", "1"],
            "postback_url": ["https://p/?c=a"] * 2
            + ["https://p/?c=b", "https://p/?c=a"] * 1
            + ["https://p/?c=a"],
            "conversion_timestamp": pl.Series([at(5), at(5), at(5), at(5), at(4)], dtype=UTC_US),
            "event_name": ["buy"] * 5,
            "cost_model": pl.Series(["cpa"] * 5, dtype=pl.Categorical),
        }
    )
    ids = with_delivery_id(frame.lazy()).collect()["delivery_id"]
    assert ids.dtype == pl.UInt64
    assert ids[0] == ids[1]  # a retry
    assert len(set(ids.to_list())) == 4  # other URL, other tracker, other conversion


def test_delivery_id_falls_back_to_url_parameters() -> None:
    only_params = pl.LazyFrame(
        {"tracking_id": ["1", "1", "1"], "postback_url_parameters": ["c=a", "c=a", "c=b"]}
    )
    ids = with_delivery_id(only_params).collect()["delivery_id"].to_list()
    assert ids[0] == ids[1] != ids[2]
    # a null URL value falls back to the parameters of that row
    mixed = pl.LazyFrame(
        {
            "tracking_id": ["1", "1", "1"],
            "postback_url": [None, None, "https://p/?c=a"],
            "postback_url_parameters": ["c=a", "c=b", "c=a"],
        }
    )
    ids = with_delivery_id(mixed).collect()["delivery_id"].to_list()
    assert ids[0] != ids[1]


def test_delivery_id_needs_tracker_and_a_url_column() -> None:
    with pytest.raises(MissingColumnsError) as err:
        with_delivery_id(pl.LazyFrame({"tracking_id": ["1"], "response_code": [400]}))
    message = str(err.value)
    assert "postback_url or postback_url_parameters" in message
    assert "response_code" in message  # what was found
    assert "Hint:" in message
    with pytest.raises(MissingColumnsError, match="tracking_id"):
        with_delivery_id(pl.LazyFrame({"postback_url": ["u"]}))


# --------------------------------------------------------------------------- deliveries


def test_deliveries_fold_attempts_into_postbacks() -> None:
    frame = attempts(
        [
            # A: cured by the third attempt
            ("1", "A", at(10), "partner_error", "502 bad gateway"),
            ("1", "A", at(10) + timedelta(minutes=5), "network_error", "(no answer)"),
            ("1", "A", at(10) + timedelta(minutes=10), "success", "ok"),
            # B: one successful attempt
            ("1", "B", at(9), "success", "ok"),
            # C: 202 counted as failed, retried, delivered twice
            ("1", "C", at(8), "false_failure", "(empty body)"),
            ("1", "C", at(8) + timedelta(minutes=5), "false_failure", "(empty body)"),
            # D: a soft failure: counted as sent, never retried, never delivered
            ("1", "D", at(7), "soft_failure", "click not found: <hex>"),
            # E: deterministic failure whose 24 h window closed before the end
            ("2", "E", at(30), "request_error", "malformed clickid"),
            ("2", "E", at(7), "request_error", "malformed clickid"),
            # F: failing, first attempt 2 h before the end: still retrying
            ("2", "F", at(2), "network_error", "(no answer)"),
            ("2", "F", at(1), "network_error", "(no answer)"),
            # G: a recent soft failure is not retried either
            ("2", "G", at(0.5), "soft_failure", "error"),
            ("2", "G", at(0), "other_code", "x"),  # the last attempt of the export
        ]
    )
    # G's last attempt is other_code, a retried failure: it is retrying
    out = deliveries(frame.lazy().pipe(with_delivery_id)).collect()
    assert out.columns == [
        "tracking_id",
        "delivery_id",
        "attempts",
        "first_attempt",
        "last_attempt",
        "delivered_at",
        "final_outcome",
        "time_to_delivery",
        "failed_attempts",
        "duplicates",
        "first_failure_outcome",
        "first_failure_signature",
        "last_outcome",
        "last_signature",
    ]
    minutes = timedelta(minutes=1)
    expected = pl.DataFrame(
        {
            "tracking_id": ["1", "1", "1", "1", "2", "2", "2"],
            "attempts": pl.Series([3, 1, 2, 1, 2, 2, 2], dtype=pl.UInt32),
            "first_attempt": pl.Series(
                [at(10), at(9), at(8), at(7), at(30), at(2), at(0.5)], dtype=UTC_US
            ),
            "last_attempt": pl.Series(
                [at(10) + 10 * minutes, at(9), at(8) + 5 * minutes, at(7), at(7), at(1), at(0)],
                dtype=UTC_US,
            ),
            "delivered_at": pl.Series(
                [at(10) + 10 * minutes, at(9), at(8), None, None, None, None], dtype=UTC_US
            ),
            "final_outcome": pl.Series(
                [
                    "delivered",
                    "delivered",
                    "delivered",
                    "undelivered",
                    "undelivered",
                    "retrying",
                    "retrying",
                ],
                dtype=pl.Enum(FINAL_OUTCOMES),
            ),
            "time_to_delivery": pl.Series(
                [10 * minutes, timedelta(0), timedelta(0), None, None, None, None],
                dtype=pl.Duration("us"),
            ),
            "failed_attempts": pl.Series([2, 0, 0, 1, 2, 2, 2], dtype=pl.UInt32),
            "duplicates": pl.Series([0, 0, 1, 0, 0, 0, 0], dtype=pl.UInt32),
            "first_failure_outcome": pl.Series(
                [
                    "partner_error",
                    None,
                    None,
                    "soft_failure",
                    "request_error",
                    "network_error",
                    "soft_failure",
                ],
                dtype=OUTCOME,
            ),
            "first_failure_signature": [
                "502 bad gateway",
                None,
                None,
                "click not found: <hex>",
                "malformed clickid",
                "(no answer)",
                "error",
            ],
            "last_outcome": pl.Series(
                [
                    "success",
                    "success",
                    "false_failure",
                    "soft_failure",
                    "request_error",
                    "network_error",
                    "other_code",
                ],
                dtype=OUTCOME,
            ),
            "last_signature": [
                "ok",
                "ok",
                "(empty body)",
                "click not found: <hex>",
                "malformed clickid",
                "(no answer)",
                "x",
            ],
        }
    )
    assert_frame_equal(out.drop("delivery_id"), expected)
    assert out["delivery_id"].n_unique() == 7


def test_recent_soft_failure_is_undelivered_not_retrying() -> None:
    frame = attempts([("1", "A", at(1), "soft_failure", "err"), ("1", "B", at(0), "success", "")])
    out = deliveries(frame.lazy()).collect()  # delivery_id is added when missing
    assert out["final_outcome"].to_list() == ["undelivered", "delivered"]


def test_export_end_and_retry_horizon() -> None:
    frame = attempts(
        [("1", "A", at(3), "partner_error", "503"), ("1", "B", at(0), "success", "ok")]
    )
    final = lambda **kw: deliveries(frame.lazy(), **kw).collect()["final_outcome"][0]  # noqa: E731
    assert final() == "retrying"  # 3 h before the export's last attempt
    assert final(retry_horizon=timedelta(hours=2)) == "undelivered"
    assert final(export_end=END + timedelta(days=2)) == "undelivered"
    naive = (END + timedelta(hours=20)).replace(tzinfo=None)  # naive means UTC
    assert final(export_end=naive) == "retrying"


def test_no_successes_single_attempts_and_no_signature_column() -> None:
    frame = attempts(
        [("1", "A", at(48), "request_error", "bad"), ("1", "B", at(0), "network_error", None)]
    ).drop("signature")
    out = deliveries(frame.lazy()).collect()
    assert out["final_outcome"].to_list() == ["undelivered", "retrying"]
    assert out["attempts"].to_list() == [1, 1]
    assert out["first_failure_signature"].to_list() == [None, None]
    assert out["time_to_delivery"].null_count() == 2


def test_deliveries_requires_classified_columns() -> None:
    frame = attempts([("1", "A", at(1), "success", "ok")]).drop("outcome")
    with pytest.raises(MissingColumnsError, match="outcome"):
        deliveries(frame.lazy())


# --------------------------------------------------------------------------- retries


def hit_deliveries(finals: list[str], ttd_minutes: list[float | None]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "final_outcome": pl.Series(finals, dtype=pl.Enum(FINAL_OUTCOMES)),
            "attempts": pl.Series([2 + i for i in range(len(finals))], dtype=pl.UInt32),
            "time_to_delivery": pl.Series(
                [None if m is None else timedelta(minutes=m) for m in ttd_minutes],
                dtype=pl.Duration("us"),
            ),
        }
    )


def test_transient_when_retries_mostly_cure() -> None:
    hit = hit_deliveries(["delivered", "delivered", "undelivered", "retrying"], [5, 15, None, None])
    stats = retry_stats(hit)
    assert (stats.deliveries, stats.cured, stats.lost, stats.retrying) == (4, 2, 1, 1)
    assert stats.median_attempts == 3.5
    assert stats.median_time_to_delivery == timedelta(minutes=10)
    assert stats.behavior == retry_behavior(hit) == "transient"
    data = json.loads(json.dumps(stats.to_dict()))
    assert data["median_time_to_delivery"] == 600.0
    assert data["cured_share"] == pytest.approx(0.6667)


def test_deterministic_when_the_same_postback_keeps_failing() -> None:
    hit = hit_deliveries(
        ["undelivered", "undelivered", "delivered", "retrying"], [None, None, 3, None]
    )
    assert retry_behavior(hit) == "deterministic"
    # exactly half cured is transient (the documented threshold is inclusive)
    assert retry_behavior(hit_deliveries(["undelivered", "delivered"], [None, 3])) == "transient"


def test_unknown_when_nothing_settled() -> None:
    assert retry_behavior(hit_deliveries(["retrying", "retrying"], [None, None])) == "unknown"
    empty = retry_stats(hit_deliveries([], []))
    assert empty.behavior == "unknown"
    assert empty.median_attempts is None and empty.median_time_to_delivery is None
    assert json.loads(json.dumps(empty.to_dict()))["cured_share"] is None


def test_end_to_end_retry_behavior_of_an_outage() -> None:
    rows = []
    for i in range(6):  # six conversions hit by an outage, each cured on the second try
        url = f"https://p/?c={i}"
        rows.append(("1", url, at(20 + i), "partner_error", "502"))
        rows.append(("1", url, at(20 + i) + timedelta(minutes=5), "success", "ok"))
    rows.append(("1", "https://p/?c=x", at(0), "success", "ok"))
    dlv = deliveries(attempts(rows).lazy()).collect()
    hit = dlv.filter(pl.col("first_failure_outcome") == "partner_error")
    assert hit.height == 6
    assert retry_behavior(hit) == "transient"


def test_false_failure_answered_again_and_again_is_deterministic() -> None:
    rows = []
    for i in range(5):  # a 204 counted failed: the same postback is sent again and again
        url = f"https://p/?c={i}"
        rows += [
            ("1", url, at(2 + i) + timedelta(minutes=10 * k), "false_failure", "(empty body)")
            for k in range(4)
        ]
    rows.append(("1", "https://p/?c=late", at(30), "false_failure", "(empty body)"))  # once
    dlv = deliveries(attempts(rows).lazy()).collect()
    assert set(dlv["final_outcome"].cast(pl.String)) == {"delivered"}
    stats = retry_stats(dlv, "false_failure")
    assert (stats.cured, stats.lost, stats.retrying) == (0, 5, 1)
    assert retry_behavior(dlv, "false_failure") == "deterministic"
    # without the category every one of them looks cured
    assert retry_behavior(dlv) == "transient"


def test_false_failure_cured_when_a_retry_gets_a_plain_success() -> None:
    rows = []
    for i in range(4):  # 202 once, then 200: the platform stops retrying
        url = f"https://p/?c={i}"
        rows.append(("1", url, at(2 + i), "false_failure", "(empty body)"))
        rows.append(("1", url, at(2 + i) + timedelta(minutes=5), "success", "ok"))
    dlv = deliveries(attempts(rows).lazy()).collect()
    assert retry_behavior(dlv, "false_failure") == "transient"
