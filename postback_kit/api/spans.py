"""Time spans of a fetch: the range cut into chunks, and a chunk halved when the API asks.

:class:`_Span` is a half-open range of the application's local time in whole hours; it names
itself for file names (:meth:`_Span.tag`) and messages (:meth:`_Span.label`) and splits in two
(:meth:`_Span.halves`, days first, then hours, down to one hour). :func:`_chunks` cuts
``since … until`` into spans of the chunk size; :func:`_utc_today` is the default clock of
``refetch_recent_days``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta


def _utc_today() -> date:
    return datetime.now(UTC).date()


@dataclass(frozen=True)
class _Span:
    """A half-open range of the application's local time, whole hours."""

    start: datetime
    end: datetime

    @property
    def whole_days(self) -> bool:
        return self.start.hour == 0 and self.end.hour == 0

    @property
    def last_day(self) -> date:
        return (self.end - timedelta(seconds=1)).date()

    def tag(self) -> str:
        if self.whole_days:
            return f"{self.start:%Y-%m-%d}_{self.last_day:%Y-%m-%d}"
        return f"{self.start:%Y-%m-%dT%H}_{self.end - timedelta(hours=1):%Y-%m-%dT%H}"

    def label(self) -> str:
        if self.whole_days:
            first, last = self.start.date(), self.last_day
            return f"{first}" if first == last else f"{first}…{last}"
        return f"{self.start:%Y-%m-%d %H:00}–{self.end - timedelta(seconds=1):%Y-%m-%d %H:%M}"

    def halves(self) -> tuple[_Span, _Span] | None:
        span = self.end - self.start
        if self.whole_days and span >= timedelta(days=2):
            mid = self.start + timedelta(days=span.days // 2)
        elif span >= timedelta(hours=2):
            mid = self.start + timedelta(hours=(span // timedelta(hours=1)) // 2)
        else:
            return None
        return _Span(self.start, mid), _Span(mid, self.end)


def _chunks(since: date, until: date, size: timedelta) -> list[_Span]:
    start = datetime.combine(since, datetime.min.time())
    stop = datetime.combine(until + timedelta(days=1), datetime.min.time())
    out = []
    while start < stop:
        out.append(_Span(start, min(start + size, stop)))
        start = out[-1].end
    return out
