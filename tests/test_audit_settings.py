from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import postback_kit as pk
from postback_kit.audit import PartnerConfig
from postback_kit.errors import ConfigError, MissingColumnsError

TEMPLATE = (
    "https://pb.network-x.example/conv?clickid=(clickid)&event=(partner_event_id)"
    "&revenue=(event_revenue)&currency=(event_revenue_currency)&json=(event_value)"
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def url(click: str, event: str = "", revenue: str = "", currency: str = "", json: str = "") -> str:
    return (
        f"https://pb.network-x.example/conv?clickid={click}&event={event}&revenue={revenue}"
        f"&currency={currency}&json={json}"
    )


def postbacks(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Event postbacks; every row installs on 2024-01-01 10:00 unless it says otherwise."""
    base = {
        "tracking_id": "7",
        "publisher_id": "39",
        "cost_model": "cpa",
        "install_timestamp": at("2024-01-01T10:00"),
        "appmetrica_device_id": "d1",
    }
    full = []
    for i, r in enumerate(rows):
        row = {**base, **r}
        row.setdefault("postback_url", url(str(i), row.get("event_name", "")))
        row.setdefault("attempt_timestamp", row["conversion_timestamp"])
        full.append(row)
    return pl.DataFrame(full)


def config(**kw: Any) -> PartnerConfig:
    data = {"name": "Network X", "template": TEMPLATE, **kw}
    return PartnerConfig.from_dict(data, source="test.toml")


def codes(result: pk.AuditResult) -> dict[str, int]:
    return {v.code: v.count for v in result.violations}


# --------------------------------------------------------------------------- the window

SEED_EXPORT = [
    # the seed's user: installs Jan 1, purchases Jan 14 and Jan 18
    {"event_name": "purchase", "conversion_timestamp": at("2024-01-14T12:00")},
    {"event_name": "purchase", "conversion_timestamp": at("2024-01-18T12:00")},
]
SEED_HISTORY = [
    {"since": "2024-01-01", "window": 15},
    {"since": "2024-01-02", "window": 10},
    {"since": "2024-01-15", "window": 20},
]


def test_seed_window_example_the_window_at_sending_time_applies() -> None:
    result = pk.audit_settings(postbacks(SEED_EXPORT), config(window_history=SEED_HISTORY))
    # Jan 14 (day 13) under the 10-day window: should not have been sent
    # Jan 18 (day 17) under the 20-day window: rightly sent
    (v,) = [v for v in result.violations if v.code == "PK601"]
    assert v.count == 1
    assert v.examples["conversion_timestamp"].to_list() == [at("2024-01-14T12:00")]
    assert v.examples["window_days"].to_list() == [10]
    assert "10 days (since 2024-01-02" in v.message
    status = result.postbacks.sort("conversion_timestamp")["window_status"].to_list()
    assert status == ["outside", "within"]


def test_the_window_at_install_time_does_not_apply() -> None:
    # had the install-time window (15 days) stayed, day 13 would be within and day 17 outside:
    # the opposite of the seed's outcome
    fixed = pk.audit_settings(postbacks(SEED_EXPORT), config(window=15))
    (v,) = [v for v in fixed.violations if v.code == "PK601"]
    assert v.examples["conversion_timestamp"].to_list() == [at("2024-01-18T12:00")]
    # and a history passed to audit_settings replaces the configuration's
    history = [(s["since"], s["window"]) for s in SEED_HISTORY]
    assert (
        codes(pk.audit_settings(postbacks(SEED_EXPORT), config(window=15), history=history))[
            "PK601"
        ]
        == 1
    )


def test_lifetime_window_and_unknown_window() -> None:
    assert "PK601" not in codes(
        pk.audit_settings(postbacks(SEED_EXPORT), config(window="lifetime"))
    )
    early = postbacks(
        [{"event_name": "purchase", "conversion_timestamp": at("2023-12-31T12:00")}, *SEED_EXPORT]
    )
    result = pk.audit_settings(early, config(window_history=SEED_HISTORY))
    assert codes(result)["PK602"] == 1


def test_retries_of_one_postback_count_once_from_the_first_attempt() -> None:
    row = {"event_name": "purchase", "conversion_timestamp": at("2024-01-14T12:00")}
    frame = postbacks(
        [
            {
                **row,
                "attempt_timestamp": at("2024-01-14T12:05"),
                "postback_url": url("x", "event5"),
            },
            {
                **row,
                "attempt_timestamp": at("2024-01-14T12:10"),
                "postback_url": url("x", "event5"),
            },
            {
                **row,
                "attempt_timestamp": at("2024-01-14T12:15"),
                "postback_url": url("x", "event5"),
            },
        ]
    )
    result = pk.audit_settings(frame, config(window=10))
    assert result.postbacks.height == 1 and result.postbacks["attempts"].to_list() == [3]
    assert result.postbacks["sent_at"].to_list() == [at("2024-01-14T12:05")]
    assert codes(result)["PK601"] == 1


def test_retries_are_folded_on_the_documented_delivery_key() -> None:
    # two conversions of one second whose URL is missing: the URL parameters (a column of the
    # documented key, standing in for the URL) keep them apart; the retry of one joins it
    row = {"event_name": "purchase", "conversion_timestamp": at("2024-01-14T12:00")}
    frame = postbacks(
        [
            {**row, "postback_url": None, "postback_url_parameters": "clickid=a"},
            {**row, "postback_url": None, "postback_url_parameters": "clickid=b"},
            {
                **row,
                "postback_url": None,
                "postback_url_parameters": "clickid=a",
                "attempt_timestamp": at("2024-01-14T12:05"),
            },
        ]
    )
    result = pk.audit_settings(frame, config(window=10))
    got = result.postbacks.sort("postback_url_parameters")
    assert got["postback_url_parameters"].to_list() == ["clickid=a", "clickid=b"]
    assert got["attempts"].to_list() == [2, 1]
    # the id is with_delivery_id's on the attempts as given: it joins back to them
    ids = pk.with_delivery_id(frame.lazy()).collect()["delivery_id"]
    assert got["delivery_id"].to_list() == [ids[0], ids[1]] and ids[0] == ids[2]
    assert not any("retries" in n for n in result.notes)


def test_retries_without_tracker_or_url_are_folded_on_the_columns_there() -> None:
    frame = pl.DataFrame(
        {
            "event_name": ["purchase"] * 3,
            "install_timestamp": [at("2024-01-01T10:00")] * 3,
            "conversion_timestamp": [at("2024-01-14T12:00")] * 2 + [at("2024-01-03T12:00")],
            "appmetrica_device_id": ["d1"] * 3,
        }
    )
    result = pk.audit_settings(frame, PartnerConfig.from_dict({"window": 10}))
    assert sorted(result.postbacks["attempts"].to_list()) == [1, 2]
    assert "tracking_id" not in result.postbacks.columns
    assert codes(result) == {"PK601": 1}
    assert any("lacks tracking_id and postback_url" in n for n in result.notes)


def test_only_event_postbacks_are_checked() -> None:
    frame = postbacks(
        [
            {"event_name": "", "cost_model": "cpi", "conversion_timestamp": at("2024-01-30T00:00")},
            {"event_name": "purchase", "conversion_timestamp": at("2024-01-30T00:00")},
        ]
    )
    result = pk.audit_settings(frame, config(window=10))
    assert result.postbacks.height == 1 and codes(result)["PK601"] == 1


# --------------------------------------------------------------------------- events and mapping


def test_unmapped_case_mismatch_partner_name_and_missing_events() -> None:
    day2 = at("2024-01-02T10:00")
    frame = postbacks(
        [
            {
                "event_name": "purchase",
                "conversion_timestamp": day2,
                "postback_url": url("1", "event5"),
            },
            {
                "event_name": "Purchase",
                "conversion_timestamp": day2,
                "postback_url": url("2", "Purchase"),
            },
            {
                "event_name": "level_up",
                "conversion_timestamp": day2,
                "postback_url": url("3", "level_up"),
            },
            {"event_name": "af_app_opened", "conversion_timestamp": day2},
        ]
    )
    cfg = config(
        events=["purchase", "level_up", "tutorial_done"],
        mapping={"purchase": "event5", "level_up": "lvl"},
    )
    result = pk.audit_settings(frame, cfg)
    assert codes(result) == {"PK611": 1, "PK612": 1, "PK613": 1, "PK651": 1}
    by = {v.code: v for v in result.violations}
    assert "'Purchase' is sent, 'purchase' is mapped" in by["PK612"].message
    assert by["PK611"].examples["event_name"].to_list() == ["af_app_opened"]
    assert by["PK613"].examples["expected_partner_event"].to_list() == ["lvl"]
    assert "'tutorial_done'" in by["PK651"].message
    assert "case-sensitive" in by["PK612"].explanation


def test_all_events_sent_as_they_are_excludes_app_opened() -> None:
    day2 = at("2024-01-02T10:00")
    frame = postbacks(
        [
            {"event_name": "anything", "conversion_timestamp": day2},
            {"event_name": "af_app_opened", "conversion_timestamp": day2},
        ]
    )
    assert codes(pk.audit_settings(frame, config(events="all"))) == {"PK614": 1}


# --------------------------------------------------------------------------- data sharing

REVENUE_IN_JSON = "%7B%22af_revenue%22%3A%2250.87%22%2C%22af_level%22%3A%222%22%7D"
MASKED_JSON = "%7B%22af_revenue%22%3A%22N%2FA%22%2C%22af_level%22%3A%222%22%7D"


def sharing_export() -> pl.DataFrame:
    day2 = at("2024-01-02T10:00")
    return postbacks(
        [
            # as sent with "Values and revenue"
            {
                "event_name": "purchase",
                "conversion_timestamp": day2,
                "postback_url": url("1", "p", "50.87", "USD", REVENUE_IN_JSON),
            },
            # as sent with "Values without revenue"
            {
                "event_name": "purchase",
                "conversion_timestamp": day2,
                "postback_url": url("2", "p", "N/A", "N/A", MASKED_JSON),
            },
            # as sent with "No data"
            {
                "event_name": "purchase",
                "conversion_timestamp": day2,
                "postback_url": url("3", "p", "N%2FA", "N/A", "N/A"),
            },
        ]
    )


@pytest.mark.parametrize(
    ("sharing", "expected"),
    [
        ("none", {"PK621": 1, "PK622": 2}),
        ("values_without_revenue", {"PK621": 1}),
        ("values_and_revenue", {"PK623": 2}),
    ],
)
def test_sharing_levels_and_na_masking(sharing: str, expected: dict[str, int]) -> None:
    result = pk.audit_settings(sharing_export(), config(sharing=sharing))
    assert codes(result) == expected
    if "PK621" in expected:
        (v,) = [v for v in result.violations if v.code == "PK621"]
        assert v.examples["revenue"].to_list() == ["50.87"]


def test_revenue_inside_the_event_value_is_a_leak_without_revenue() -> None:
    day2 = at("2024-01-02T10:00")
    frame = postbacks(
        [
            {
                "event_name": "purchase",
                "conversion_timestamp": day2,
                "postback_url": url("1", "p", "N/A", "N/A", REVENUE_IN_JSON),
            }
        ]
    )
    assert codes(pk.audit_settings(frame, config(sharing="values_without_revenue"))) == {"PK621": 1}


def test_without_a_template_the_usual_parameter_names_are_read() -> None:
    frame = sharing_export()
    cfg = PartnerConfig.from_dict({"sharing": "none"})
    result = pk.audit_settings(frame, cfg)
    assert codes(result) == {"PK621": 1, "PK622": 2}
    assert any("no template" in n for n in result.notes)


# --------------------------------------------------------------------------- conditions


def condition_export() -> pl.DataFrame:
    day2 = at("2024-01-02T10:00")

    def lv(click: str, value: str) -> dict[str, Any]:
        return {
            "event_name": "level_up",
            "conversion_timestamp": day2,
            "postback_url": url(click, "lvl", json=value),
        }

    return postbacks(
        [
            lv("1", "%7B%22level%22%3A%225%22%7D"),  # {"level":"5"}: matches
            lv("2", "%7B%22level%22%3A10%7D"),  # {"level":10}: matches the second condition
            lv("3", "%7B%22level%22%3A%226%22%7D"),  # {"level":"6"}: value differs
            lv("4", "%7B%22af_level%22%3A%225%22%7D"),  # property differs (seed example)
            lv("5", "N/A"),  # masked: cannot check
            {"event_name": "purchase", "conversion_timestamp": day2},  # no conditions
        ]
    )


def test_conditions_or_semantics_property_and_value_must_match() -> None:
    cfg = config(
        conditions={
            "level_up": [{"property": "level", "value": "5"}, {"property": "level", "value": 10}]
        },
        sharing="values_and_revenue",
    )
    result = pk.audit_settings(condition_export(), cfg)
    by = {v.code: v for v in result.violations}
    assert by["PK631"].count == 2
    assert by["PK631"].examples["event_value"].to_list() == ['{"level":"6"}', '{"af_level":"5"}']
    assert by["PK632"].count == 1


# --------------------------------------------------------------------------- media sources


def test_this_partner_only_flags_unattributed_and_other_publishers() -> None:
    day2 = at("2024-01-02T10:00")
    frame = postbacks(
        [
            {"event_name": "p", "conversion_timestamp": day2},
            {
                "event_name": "p",
                "conversion_timestamp": day2,
                "publisher_id": "0",
                "tracking_id": "0",
            },
            {"event_name": "p", "conversion_timestamp": day2, "publisher_id": "40"},
        ]
    )
    assert codes(pk.audit_settings(frame, config(publisher_id=39))) == {"PK641": 2}
    assert codes(pk.audit_settings(frame, config())) == {"PK641": 1}
    assert codes(pk.audit_settings(frame, config(media_sources="all_media_sources"))) == {}


# --------------------------------------------------------------------------- results and inputs


def test_result_objects() -> None:
    result = pk.audit_settings(
        postbacks(SEED_EXPORT), config(window_history=SEED_HISTORY), examples=1
    )
    assert not result.ok
    frame = result.to_frame()
    assert frame.columns == ["code", "rule", "severity", "count", "message"]
    assert frame["rule"].to_list() == ["sent-outside-window"]
    d = result.to_dict()
    assert d["violations"][0]["count"] == 1 and len(d["violations"][0]["examples"]) == 1
    assert "PK601" in result.summary()
    hist = result.window_histogram()
    assert hist.to_dicts() == [
        {"day": 13, "window_status": "outside", "postbacks": 1},
        {"day": 17, "window_status": "within", "postbacks": 1},
    ]
    assert result.template_findings == []


def test_raw_string_timestamps_and_no_cost_model() -> None:
    frame = pl.DataFrame(
        {
            "event_name": ["purchase", "", "purchase"],
            "install_timestamp": ["1704103200", "1704103200", "2024-01-01 10:00:00"],
            # 2024-01-14 12:00 twice (Unix seconds, then wall clock), and day 1
            "conversion_timestamp": ["1705233600", "1705233600", "2024-01-02 10:00:00"],
        }
    )
    result = pk.audit_settings(frame, PartnerConfig.from_dict({"window": 10}))
    assert codes(result) == {"PK601": 1}
    assert sorted(result.postbacks["days_since_install"].to_list()) == [1.0, 13.083333333333334]
    assert any("cost_model" in n for n in result.notes)


def test_event_name_is_required() -> None:
    with pytest.raises(MissingColumnsError, match="event_name"):
        pk.audit_settings(pl.DataFrame({"tracking_id": ["1"]}), config())


# --------------------------------------------------------------------------- the TOML file


def test_load_partner_config_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text(
        f'name = "Network X"\ntemplate = "{TEMPLATE}"\nevents = ["purchase", "level_up"]\n'
        'media_sources = "all_media_sources"\nsharing = "values_without_revenue"\n'
        'publisher_id = 39\n[mapping]\npurchase = "event5"\n'
        '[[conditions.level_up]]\nproperty = "level"\nvalue = 5\n'
        "[[window_history]]\nsince = 2024-01-01\nwindow = 15\n"
        '[[window_history]]\nsince = 2024-01-15T00:00:00Z\nwindow = "lifetime"\n'
        '[parameters]\nrevenue = "monetary"\n'
    )
    cfg = pk.load_partner_config(path)
    assert cfg.window is None and [w.days for w in cfg.window_changes()] == [15, None]
    assert cfg.selected_events() == {"purchase", "level_up"}
    assert cfg.conditions["level_up"][0].value == "5" and cfg.publisher_id == "39"
    assert cfg.to_dict()["window_history"][1] == {
        "since": "2024-01-15T00:00:00+00:00",
        "window": "lifetime",
    }


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('sharng = "none"', r"(?s)sharng is not a setting.*did you mean sharing"),
        ('sharing = "values"', r"(?s)sharing must be one of.*Found: 'values'"),
        ("window = -3", r"window must be a number of days"),
        ('window = "forever"', r"window must be a number of days"),
        ('events = "some"', r"events must be 'all' or a list"),
        (
            "[conditions]\n"
            + "\n".join(f'[[conditions.lv]]\nproperty = "level"\nvalue = "{i}"' for i in range(6)),
            r"conditions\.lv has 6 conditions; at most 5",
        ),
        ('[[conditions.lv]]\nproperty = "x"\nvalue = [1, 2]', r"must be a single value"),
        ("window = 10\n[[window_history]]\nsince = 2024-01-01\nwindow = 20", "last window_history"),
        (
            "[[window_history]]\nsince = 2024-02-01\nwindow = 1\n"
            "[[window_history]]\nsince = 2024-01-01\nwindow = 2",
            "in order",
        ),
        ('[[window_history]]\nsince = "yesterday"\nwindow = 1', r"since is not a date"),
        ('[parameters]\nprice = "p"', r"parameters\.price is not one of"),
        ("name = [", "not valid TOML"),
    ],
)
def test_config_errors_name_file_key_and_hint(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "partner.toml"
    path.write_text(text + "\n")
    with pytest.raises(ConfigError, match=match) as err:
        pk.load_partner_config(path)
    assert str(err.value).startswith(f"{path}: ")
    assert "Hint:" in str(err.value)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such partner configuration"):
        pk.load_partner_config(tmp_path / "nope.toml")
