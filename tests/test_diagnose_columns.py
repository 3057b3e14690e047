"""diagnose collects the columns its stages and views read, not every field of the export."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

import postback_kit as pk
from postback_kit.diagnose import ATTEMPT_COLUMNS
from postback_kit.schema import FIELD_NAMES, PII_FIELDS


def test_unread_fields_are_not_collected_identifiers_and_own_columns_are() -> None:
    t0 = datetime(2026, 11, 2, tzinfo=UTC)
    frame = pl.DataFrame(
        {
            "tracking_id": ["1", "1", "2"],
            "response_code": pl.Series([400, 200, 200], dtype=pl.Int32),
            "attempt_timestamp": [t0, t0 + timedelta(minutes=5), t0],
            "postback_url": ["https://p.io/?c=", "https://p.io/?c=", "https://q.io/?c=1"],
            "device_model": ["Pixel 8", "Pixel 8", "iPhone"],
            "google_aid": ["6d3c0a9e-0000-4000-8000-000000000001", None, None],
            "my_column": ["a", "b", "c"],
        }
    )
    d = pk.diagnose(frame.lazy())
    assert "device_model" not in d.attempts.columns
    assert {"google_aid", "my_column", "postback_url"} <= set(d.attempts.columns)
    assert d.attempts.height == 3 and d.tracker("1").issues
    assert set(PII_FIELDS) <= set(ATTEMPT_COLUMNS) <= set(FIELD_NAMES)
