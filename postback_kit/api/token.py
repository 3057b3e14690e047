"""The Logs API token: where it is read from, and how it is kept out of sight.

- :func:`_read_token` takes ``token=``, ``token_file=`` (``--token-file``) or
  ``$APPMETRICA_TOKEN``, in that order, and checks it is one word of printable ASCII;
- :class:`_Secret` holds it and prints a placeholder in any repr/str;
- :class:`_OAuth` is the ``requests`` auth hook that puts it in the ``Authorization`` header
  of each request (the session never keeps it);
- :data:`log` is the one logger of the whole client (``postback_kit.api``; every module of
  this package logs there), and :class:`_Redact` is the filter on it that replaces the token of
  every running fetch with ``***`` in each record.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

from ..errors import ConfigError

TOKEN_ENV = "APPMETRICA_TOKEN"
_TOKEN_CHARS = re.compile(r"[\x21-\x7e]+")

log = logging.getLogger("postback_kit.api")
"""The client's logger. Logger filters do not apply to records propagated from child loggers,
so every module of ``postback_kit.api`` logs here, where :data:`_REDACT` filters."""


class _Secret:
    """A token that does not show itself: repr/str print a placeholder."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def redact(self, text: str) -> str:
        return text.replace(self._value, "***") if self._value else text

    def __repr__(self) -> str:
        return "<token hidden>"

    __str__ = __repr__


class _OAuth:
    """``requests`` auth hook: sets the header on each request, so the session never keeps it
    and ``.netrc`` never replaces it."""

    def __init__(self, token: _Secret) -> None:
        self._token = token

    def __call__(self, request: Any) -> Any:
        request.headers["Authorization"] = f"OAuth {self._token.reveal()}"
        return request

    def __repr__(self) -> str:
        return "<OAuth token hidden>"


class _Redact(logging.Filter):
    """Defence in depth: no record of this module's logger can carry an active token."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: list[str] = []  # one entry per running fetch (a token may repeat)

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            clean = self._clean(message)
            if clean != message:
                record.msg, record.args = clean, None
            # a traceback or stack attached to the record (log.exception, stack_info=True) is
            # formatted here, cleaned, and kept as the text every formatter prints instead
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = self._clean(record.exc_text)
            if record.stack_info:
                record.stack_info = self._clean(record.stack_info)
        return True

    def _clean(self, text: str) -> str:
        for secret in list(self.secrets):
            text = text.replace(secret, "***")
        return text


_REDACT = _Redact()
log.addFilter(_REDACT)


def _hide(token: str | _Secret | None) -> _Secret | None:
    """``token=`` wrapped as soon as a public function receives it, so that the text is not a
    local of any frame an error's traceback shows (IPython's verbose mode prints locals)."""
    return token if isinstance(token, _Secret) or token is None else _Secret(token)


def _read_token(
    token: str | _Secret | None,
    token_file: str | os.PathLike[str] | None,
    dest: Path | None = None,
) -> _Secret:
    if isinstance(token, _Secret):
        token = token.reveal()
    if token is not None and token.strip():
        value, source = token, "token="
    elif token_file:
        path = Path(token_file).expanduser()
        if dest is not None and path.resolve().is_relative_to(dest.resolve()):
            raise ConfigError(
                f"the token file {path} is inside the export folder {dest}.",
                hint="keep the token outside the project and the export folder "
                "(e.g. ~/.config/appmetrica-token).",
            )
        try:
            value = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"cannot read the token file {path}.",
                found=getattr(exc, "strerror", None) or type(exc).__name__,
                hint="the file must hold only the OAuth token, as UTF-8 text.",
            ) from None
        source = f"the token file {path}"
    elif os.environ.get(TOKEN_ENV, "").strip():
        value, source = os.environ[TOKEN_ENV], f"${TOKEN_ENV}"
    else:
        raise ConfigError(
            "no Logs API token was given.",
            hint=f"pass token=..., --token-file PATH (a file outside the project holding only "
            f"the token) or set the {TOKEN_ENV} environment variable.",
        )
    value = value.strip()
    if value[:6].lower() == "oauth ":
        value = value[6:].strip()
    problem = (
        None
        if _TOKEN_CHARS.fullmatch(value)
        else "it is empty"
        if not value
        else "it contains spaces, line breaks or non-ASCII"
    )
    secret = _Secret(value)
    del token, value  # the text is not a local of the frame the error below shows
    if problem is not None:
        raise ConfigError(
            f"the token from {source} is not a valid OAuth token.",
            found=problem,
            hint="the token is one word of printable ASCII characters; paste it again.",
        )
    return secret
