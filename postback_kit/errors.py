"""One exception hierarchy for the whole toolkit.

Every message says what went wrong, what was found, and a hint, in that order, so that an
analyst reading a traceback in a notebook knows what to do next.
"""

from __future__ import annotations

__all__ = [
    "ApiError",
    "ChartDataError",
    "ConfigError",
    "ExportReadError",
    "LoadWarning",
    "MissingColumnsError",
    "PostbackKitError",
]


class PostbackKitError(Exception):
    """Base class of every error the toolkit raises on purpose."""

    def __init__(self, what: str, *, found: str | None = None, hint: str | None = None) -> None:
        self.what = what
        self.found = found
        self.hint = hint
        parts = [what]
        if found:
            parts.append(f"Found: {found}")
        if hint:
            parts.append(f"Hint: {hint}")
        super().__init__("\n".join(parts))


class ExportReadError(PostbackKitError):
    """A file of an export cannot be read at all (missing, empty, not an export)."""

    def __init__(
        self, path: object, what: str, *, found: str | None = None, hint: str | None = None
    ) -> None:
        self.path = str(path)
        super().__init__(f"{self.path}: {what}", found=found, hint=hint)


class MissingColumnsError(PostbackKitError, KeyError):
    """A computation needs columns the export does not have."""

    def __init__(self, missing: list[str], *, needed_for: str, available: list[str]) -> None:
        self.missing = missing
        names = ", ".join(missing)
        super().__init__(
            f"{needed_for} needs the column(s) {names}, which the export does not have.",
            found=f"{len(available)} columns: {', '.join(available[:12])}"
            + (" …" if len(available) > 12 else ""),
            hint=f"add {names} to the export's field list (the `fields` parameter of the Logs API "
            "or the field checkboxes of Data export → Postbacks) and export again.",
        )

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return Exception.__str__(self)


class ConfigError(PostbackKitError, ValueError):
    """A rules file, a partner configuration or an argument is not valid."""


class ChartDataError(PostbackKitError, ValueError):
    """A chart cannot be rendered offline: too many rows, or data that is not inline."""


class ApiError(PostbackKitError):
    """The Logs API refused a request for a reason a retry cannot fix."""

    def __init__(
        self,
        what: str,
        *,
        status: int | None = None,
        found: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.status = status
        super().__init__(what, found=found, hint=hint)


class LoadWarning(UserWarning):
    """Rows of an export were rejected; the load report lists them with file, line and reason."""
