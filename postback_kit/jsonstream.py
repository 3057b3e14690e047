"""Read the records of a Logs API JSON answer (``{"data": [{...}, ...]}``) incrementally.

The text is read in chunks of a few MB and every record is decoded on its own by the C decoder
of :mod:`json` (``raw_decode`` over a sliding buffer), so memory holds one chunk and the records
the caller keeps, never the whole document. Numbers and constants are kept as their exact text
(``parse_int=str``, ``parse_float=str``, ``parse_constant=str``), as ``json.loads`` with those
options gives them.

The semantics are those of ``json.loads(text)`` followed by ``doc.get("data")`` (or the document
itself when it is an array): invalid JSON anywhere raises :class:`json.JSONDecodeError` with the
position in the whole text (line, column, character), a document without a ``"data"`` array
raises :class:`NoDataList`, and when ``"data"`` occurs twice the last one counts (the reader
yields :data:`RESTART` before each ``"data"`` array, the caller forgets what it had).
"""

from __future__ import annotations

import json
import re
from collections.abc import Generator, Iterator
from typing import IO, Any, Final

__all__ = ["CHUNK", "RESTART", "NoDataList", "Records", "records"]

CHUNK: Final = 4 << 20
"""Characters read at a time."""

RESTART: Final = object()
"""Yielded before the records of each ``"data"`` array: forget the records seen so far."""

_WS = re.compile(r"[ \t\n\r]*")
_LOOKAHEAD = 64  # a value cut by the end of the buffer fails within this many characters of it
_NUMBER_TAIL = 3  # a cut number decodes as a shorter one ending up to 2 characters before the cut


class NoDataList(ValueError):
    """The document is valid JSON but has no ``"data"`` array; ``found`` says what it has."""

    def __init__(self, found: str) -> None:
        super().__init__(found)
        self.found = found


class _Text:
    """A sliding window over a text stream that knows absolute positions (for errors)."""

    def __init__(self, fh: IO[str], chunk: int) -> None:
        self.fh = fh
        self.chunk = chunk
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.base = 0  # absolute character offset of buf[0]
        self.lines = 0  # newlines before buf[0]
        self.last_nl = -1  # absolute offset of the last newline before buf[0]
        self.decoder = json.JSONDecoder(parse_int=str, parse_float=str, parse_constant=str)

    def more(self, at_least: int = 0) -> None:
        """Drop the consumed text and read at least ``at_least`` (or one chunk) characters."""
        if self.eof:
            return
        consumed = self.buf[: self.pos]
        newlines = consumed.count("\n") if "\n" in consumed else 0  # compact JSON: no newline
        if newlines:
            self.lines += newlines
            self.last_nl = self.base + consumed.rfind("\n")
        self.base += self.pos
        rest = self.buf[self.pos :]
        parts = [rest]
        want = max(self.chunk, at_least)
        got = 0
        while got < want:
            text = self.fh.read(want - got)
            if not text:
                self.eof = True
                break
            parts.append(text)
            got += len(text)
        self.buf = "".join(parts)
        self.pos = 0

    def peek(self) -> str:
        """Skip whitespace; the next character, or "" at the end of the text."""
        while True:
            self.pos = _WS.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if self.eof:
                return ""
            self.more()

    def value(self) -> Any:
        """Decode the value at the current position (after ``peek``)."""
        while True:
            if len(self.buf) - self.pos < _LOOKAHEAD and not self.eof:
                self.more(_LOOKAHEAD)
            try:
                obj, end = self.decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                cut = exc.msg.startswith("Unterminated string") or (
                    exc.pos >= len(self.buf) - _LOOKAHEAD
                )
                if self.eof or not cut:
                    raise self.error(exc.msg, exc.pos) from None
                self.more(len(self.buf) - self.pos)  # grow geometrically: linear in total
                continue
            if len(self.buf) - end < _NUMBER_TAIL and not self.eof:
                # a number at the end of the buffer may go on ("12" of "123", "1" of "1e5",
                # "-0" of "-0.5"): decode it again with the text that follows
                self.more(len(self.buf) - self.pos)
                continue
            self.pos = end
            return obj

    def error(self, msg: str, at: int) -> json.JSONDecodeError:
        """The error ``json.loads`` gives for the whole text, at buffer position ``at``."""
        pos = self.base + at
        newlines = self.buf.count("\n", 0, at)
        line = self.lines + newlines + 1
        last = self.base + self.buf.rfind("\n", 0, at) if newlines else self.last_nl
        err = json.JSONDecodeError(msg, "", 0)
        err.pos, err.lineno, err.colno = pos, line, pos - last
        err.args = (f"{msg}: line {line} column {pos - last} (char {pos})",)
        return err

    def expected(self, what: str) -> json.JSONDecodeError:
        return self.error(f"Expecting {what}", self.pos)


class Records:
    """Iterate over the records of the JSON text ``fh`` (see :func:`records`); ``position`` is
    the number of characters read up to the end of the last record (to size batches)."""

    def __init__(self, fh: IO[str], chunk: int = CHUNK) -> None:
        self._text = _Text(fh, chunk)

    def __iter__(self) -> Iterator[Any]:
        return _records(self._text)

    @property
    def position(self) -> int:
        return self._text.base + self._text.pos


def records(fh: IO[str], chunk: int = CHUNK) -> Iterator[Any]:
    """The records of the ``"data"`` array of the JSON text ``fh`` (or of a top-level array),
    decoded one by one; :data:`RESTART` comes before each ``"data"`` array. Raises
    :class:`json.JSONDecodeError` (invalid JSON, positions in the whole text) or
    :class:`NoDataList` once the whole text has been read."""
    return iter(Records(fh, chunk))


def _records(text: _Text) -> Iterator[Any]:
    first = text.peek()
    if first == "[":
        text.pos += 1
        yield RESTART
        yield from _array(text)
        found = None
    elif first == "{":
        text.pos += 1
        found = yield from _members(text)
    else:
        doc = text.value()
        found = type(doc).__name__
    if text.peek():
        raise text.error("Extra data", text.pos)
    if found is not None:
        raise NoDataList(found)


def _array(text: _Text) -> Iterator[Any]:
    """The values of an array whose ``[`` has been consumed, up to and with its ``]``."""
    if text.peek() == "]":
        text.pos += 1
        return
    while True:
        if text.peek() == "":
            raise text.expected("value")
        yield text.value()
        ch = text.peek()
        if ch == "]":
            text.pos += 1
            return
        if ch != ",":
            raise text.expected("',' delimiter")
        text.pos += 1


def _members(text: _Text) -> Generator[Any, None, str | None]:
    """Stream the ``"data"`` array of an object whose ``{`` has been consumed; returns None when
    the last ``"data"`` was an array, else what the object has (for :class:`NoDataList`)."""
    keys: dict[str, None] = {}
    data_is_list = False
    if text.peek() == "}":
        text.pos += 1
    else:
        while True:
            if text.peek() != '"':
                raise text.expected("property name enclosed in double quotes")
            key = text.value()
            if text.peek() != ":":
                raise text.expected("':' delimiter")
            text.pos += 1
            ch = text.peek()
            if ch == "":
                raise text.expected("value")
            if key == "data" and ch == "[":
                text.pos += 1
                yield RESTART
                yield from _array(text)
                data_is_list = True
            else:
                text.value()
                if key == "data":
                    yield RESTART
                    data_is_list = False
            keys.setdefault(key, None)
            ch = text.peek()
            if ch == "}":
                text.pos += 1
                break
            if ch != ",":
                raise text.expected("',' delimiter")
            text.pos += 1
    if data_is_list:
        return None
    return f"top-level keys: {', '.join(list(keys)[:8])}"
