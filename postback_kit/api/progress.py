"""The progress bar of a fetch: one ``tqdm`` bar per fetch counting chunks, its postfix saying
what the current chunk is doing (requesting, preparing N%, waiting, bytes received).

``tqdm`` is imported only when a bar is shown; :func:`_interactive` decides the default (in
Jupyter and in a terminal).
"""

from __future__ import annotations

import sys
from typing import Any


class _Progress:
    """One bar per fetch: chunks done, and what the current chunk is doing (waiting, bytes)."""

    def __init__(self, enabled: bool, total: int, desc: str) -> None:
        self.bar: Any = None
        if enabled:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=desc, unit="chunk", dynamic_ncols=True)

    def status(self, text: str, *, refresh: bool = True) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(text, refresh=refresh)
            if not refresh:
                self.bar.update(0)

    def advance(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _interactive() -> bool:
    if "ipykernel" in sys.modules:
        return True
    return bool(getattr(sys.stderr, "isatty", lambda: False)())
