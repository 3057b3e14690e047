"""The window chart of the configuration audit (postback_kit.charts, Audit section), on its spec."""

from __future__ import annotations

from typing import Any

import polars as pl

import postback_kit as pk
from postback_kit import charts
from postback_kit.audit import PartnerConfig
from tests.test_audit_settings import SEED_EXPORT, SEED_HISTORY, at, config, postbacks


def _data(spec: dict[str, Any], layer: dict[str, Any]) -> list[dict[str, Any]]:
    return list(spec["datasets"][layer["data"]["name"]])


def _tooltips(layer: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(t.get("aggregate", t["field"]), t.get("title")) for t in layer["encoding"]["tooltip"]]


def test_window_chart_of_the_seed_example() -> None:
    result = pk.audit_settings(postbacks(SEED_EXPORT), config(window_history=SEED_HISTORY))
    spec = charts.window_chart(result).to_dict()
    assert spec["title"] == "Network X: event postbacks against the in-app event postback window"
    bars, rules, labels = spec["layer"]

    # bars: one per day and window status, counts from window_histogram
    assert bars["mark"]["type"] == "bar"
    assert _data(spec, bars) == [
        {"day": 13, "window_status": "outside", "postbacks": 1},
        {"day": 17, "window_status": "within", "postbacks": 1},
    ]
    enc = bars["encoding"]
    assert enc["x"]["field"] == "day" and enc["x"]["title"] == "days from install to event (days)"
    assert enc["y"]["title"] == "event postbacks (count per day)"
    assert enc["y"]["aggregate"] == "sum" and enc["y"]["field"] == "postbacks"
    assert enc["color"]["scale"]["domain"] == ["within", "outside", "lifetime", "unknown"]
    assert enc["color"]["title"] == "window at sending"
    assert _tooltips(bars) == [
        ("day", "days from install"),
        ("window_status", "window at sending"),
        ("sum", "event postbacks"),
    ]

    # one dashed rule per window setting (15, then 10, then 20 days), labelled with its date
    assert rules["mark"]["type"] == "rule" and rules["mark"]["strokeDash"] == [4, 4]
    assert _data(spec, rules) == [
        {"window_days": 15, "setting": "15 days (since 2024-01-01 00:00)", "label_y": 2},
        {"window_days": 10, "setting": "10 days (since 2024-01-02 00:00)", "label_y": 15},
        {"window_days": 20, "setting": "20 days (since 2024-01-15 00:00)", "label_y": 28},
    ]
    assert _tooltips(rules) == [("setting", "window setting"), ("window_days", "window (days)")]
    assert labels["mark"]["type"] == "text" and labels["encoding"]["text"]["field"] == "setting"
    # each label on its own line (pixels, no scale), ending at its rule: close windows (10 and
    # 15 days) and the last one (near the right edge) stay readable
    assert labels["encoding"]["y"] == {
        "field": "label_y",
        "type": "quantitative",
        "scale": None,
        "axis": None,
    }
    assert labels["mark"]["align"] == "right"

    # it goes through the offline renderer (inline data, under the row limit)
    display = charts.ChartDisplay(charts.window_chart(result))
    assert display.title == spec["title"]


def test_window_chart_lifetime_and_unknown_windows() -> None:
    # a lifetime window draws no rule; a postback without install time is not on the chart
    frame = postbacks(
        [
            *SEED_EXPORT,
            {"event_name": "purchase", "conversion_timestamp": at("2024-01-20T12:00")},
        ]
    ).with_columns(
        install_timestamp=pl.when(pl.col("conversion_timestamp") == at("2024-01-20T12:00"))
        .then(None)
        .otherwise(pl.col("install_timestamp"))
    )
    result = pk.audit_settings(frame, PartnerConfig.from_dict({"window": "lifetime"}))
    spec = charts.window_chart(result, width=400).to_dict()
    bars, rules, _ = spec["layer"]
    assert _data(spec, bars) == [
        {"day": 13, "window_status": "lifetime", "postbacks": 1},
        {"day": 17, "window_status": "lifetime", "postbacks": 1},
    ]
    assert _data(spec, rules) == []
    assert spec["title"].startswith("partner: ") and spec["width"] == 400
