"""A generated export with planted identifiers and hostile response bodies, for report tests.

``planted_export(folder)`` writes ``samples.generate`` output as CSV with extra rows for tracker
:data:`TRACKER`: a 403 issue whose rows carry the planted device/advertising IDs, IP and user
agent in their own columns, in ``postback_url``, ``postback_url_parameters``,
``click_url_parameters`` and echoed in the response body; and two 400 rows whose bodies are a
``<script>`` and an ``<img onerror>`` (each reports ``PWNED`` if it ever runs).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import polars as pl

from postback_kit import samples

TRACKER = "12345678901234567890"
DEVICE = "99887766554433221100"
GAID = "a1b2c3d4-0000-4bad-beef-feedfacecafe"
IFA = "C0FFEE00-1111-4222-8333-DEADBEEF4444"
IFV = "BADC0DE0-5555-4666-8777-0123456789AB"
WAID = "d00dfeed-9999-4888-a777-abcdefabcdef"
IPV4 = "203.0.113.77"
IPV6 = "2001:db8:85a3::8a2e:370:7334"
UA = "Mozilla/5.0 (PlantedPhone 9; Planted OS 42) PlantedKit/777.1"
PLANTED = (DEVICE, GAID, IFA, IFV, WAID, IPV4, IPV6, UA)
"""Every planted identifier; none may appear in a redacted report."""

SCRIPT_BODY = "</script><script>parent.postMessage('PWNED-1','*');alert('PWNED-1')</script>"
IMG_BODY = "<img src=x onerror=\"parent.postMessage('PWNED-2','*');alert('PWNED-2')\">"


def spellings(value: str) -> set[str]:
    """A value as it may appear in a page: raw, URL-encoded, HTML-escaped."""
    import html

    out = {value, quote(value, safe=""), quote(value), html.escape(value)}
    return out | {html.escape(v) for v in out}


def planted_frame(attempts: int = 3_000, seed: int = 11) -> pl.DataFrame:
    """The generated export (all strings) with the planted rows appended."""
    frame = samples.generate(attempts, seed=seed).frame
    base = frame.filter(
        (pl.col("tracking_id") == TRACKER) & (pl.col("response_code") == "400")
    ).head(6)
    assert base.height == 6, "the generated export has too few failing rows of the tracker"
    query = (
        f"click_id=abc123&gaid={GAID}&idfa={IFA}&idfv={IFV}&waid={WAID}"
        f"&ip={IPV4}&ua={quote(UA, safe='')}&device_id={DEVICE}"
    )
    body = (
        f'{{"Message":"device {DEVICE} ({GAID}) blocked from {IPV4} / {IPV6}",'
        f'"ua":"{UA}","ifa":"{IFA}"}}'
    )
    pii = base.head(4).with_columns(
        pl.lit(DEVICE).alias("appmetrica_device_id"),
        pl.lit(GAID).alias("google_aid"),
        pl.lit(IFA).alias("ios_ifa"),
        pl.lit(IFV).alias("ios_ifv"),
        pl.lit(WAID).alias("windows_aid"),
        pl.lit(IPV6).alias("click_ipv6"),
        pl.lit(f"::ffff:{IPV4}").alias("install_ipv6"),
        pl.lit(UA).alias("click_user_agent"),
        pl.lit(f"https://partner.example/pb?{query}").alias("postback_url"),
        pl.lit(query).alias("postback_url_parameters"),
        pl.lit(quote(query, safe="")).alias("click_url_parameters"),
        pl.lit(body).alias("response_body"),
        pl.lit("403").alias("response_code"),
    )
    hostile = base.tail(2).with_columns(
        pl.Series("response_body", [SCRIPT_BODY, IMG_BODY]),
    )
    return pl.concat([frame, pii, hostile])


def planted_export(folder: Path, attempts: int = 3_000, seed: int = 11) -> Path:
    """Write the planted export as one CSV file into ``folder``; return the file."""
    folder.mkdir(parents=True, exist_ok=True)
    truth = samples.generate(10, seed=seed).truth
    sample = samples.Sample(planted_frame(attempts, seed), truth)
    (path,) = sample.write_csv(folder, per_day=False)
    return path
