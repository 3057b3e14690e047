"""Charts of the configuration audit (altair, imported only when a chart is drawn).

The charts take the aggregated frames of an :class:`~postback_kit.audit.settings.AuditResult`
and return plain ``alt.Chart`` objects; offline rendering is the business of the package's
chart module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

if TYPE_CHECKING:
    from .settings import AuditResult

__all__ = ["window_chart"]

_STATUS = ["within", "outside", "lifetime", "unknown"]
_COLORS = ["#4c78a8", "#e45756", "#72b7b2", "#bab0ac"]


def window_chart(result: AuditResult) -> Any:
    """Event postbacks per day since install, coloured by window status, with the window(s).

    A dashed rule marks each window setting (its label says since when it applies).
    """
    import altair as alt

    hist = result.window_histogram()
    bars = (
        alt.Chart(hist)
        .mark_bar()
        .encode(
            x=alt.X("day:Q", title="days from install to event"),
            y=alt.Y("postbacks:Q", title="event postbacks"),
            color=alt.Color(
                "window_status:N",
                title="window at sending",
                scale=alt.Scale(domain=_STATUS, range=_COLORS),
            ),
            tooltip=["day", "window_status", "postbacks"],
        )
    )
    windows = pl.DataFrame(
        {
            "window_days": [w.days for w in result.windows if w.days is not None],
            "setting": [w.label for w in result.windows if w.days is not None],
        },
        schema={"window_days": pl.Int64, "setting": pl.String},
    )
    rules = (
        alt.Chart(windows)
        .mark_rule(strokeDash=[4, 4], color="black")
        .encode(x="window_days:Q", tooltip=["setting"])
    )
    labels = (
        alt.Chart(windows)
        .mark_text(align="left", dx=3, dy=-4, baseline="top", fontSize=10)
        .encode(x="window_days:Q", y=alt.value(0), text="setting")
    )
    name = result.config.name or "partner"
    return alt.layer(bars, rules, labels).properties(
        title=f"{name}: event postbacks against the in-app event postback window",
        width=560,
        height=220,
    )
