"""Verification of a 200 answer's body, block by block as it arrives.

:class:`_BodyCheck` tells, at the end, whether the bytes are a complete CSV export: a complete
gzip stream if gzip, UTF-8 text, a header line with the requested fields and a complete last
record. Anything else raises :class:`_BodyError`, which the fetcher treats as retryable (the
file is then never renamed to where ``load`` would read it).
"""

from __future__ import annotations

import codecs
import csv
import io
import zlib
from collections.abc import Sequence
from typing import Any

_TAIL = 1 << 20
"""Bytes of the text kept to check the last record (and the longest header line accepted)."""


class _BodyError(Exception):
    """The body of a 200 answer is not a complete export (retryable)."""


class _BodyCheck:
    """Follows the bytes of a 200 answer as they arrive and tells, at the end, whether they are a
    complete CSV export: a complete gzip stream if gzip, UTF-8 text, a header line with the
    requested fields, and a complete last record (not inside quotes, as many fields as the header).
    """

    def __init__(self, fields: Sequence[str]) -> None:
        self.fields = fields
        self.gzip: bool | None = None
        self._start = b""
        self._gz: Any = None
        self._members = 0
        self._utf8 = codecs.getincrementaldecoder("utf-8")("strict")
        self._head = bytearray()
        self._header: list[str] | None = None
        self._odd_quotes = False
        self._tail = bytearray()
        self.text_bytes = 0

    def feed(self, data: bytes) -> None:
        if self.gzip is None:
            self._start += data
            if len(self._start) < 2:
                return
            self.gzip = self._start[:2] == b"\x1f\x8b"
            data, self._start = self._start, b""
        if self.gzip:
            self._gunzip(data)
        else:
            self._text(data)

    def _gunzip(self, data: bytes) -> None:
        while data:
            if self._gz is None:
                if not data.strip(b"\x00"):
                    return  # zero padding after the last member
                self._gz = zlib.decompressobj(16 + zlib.MAX_WBITS)
            try:
                self._text(self._gz.decompress(data))
            except zlib.error as exc:
                raise _BodyError(f"the gzip data is damaged ({exc})") from None
            if not self._gz.eof:
                return
            self._members += 1
            data, self._gz = self._gz.unused_data, None

    def _text(self, data: bytes) -> None:
        if not data:
            return
        self.text_bytes += len(data)
        if self._header is None:
            self._head += data
            end = self._head.find(b"\n")
            if end >= 0:
                self._header = _header_names(bytes(self._head[:end]))
                self._head = bytearray()
            elif len(self._head) > _TAIL:
                raise _BodyError("the first megabyte has no line break: this is not a CSV export")
        if data.count(b'"') % 2:
            self._odd_quotes = not self._odd_quotes
        try:
            self._utf8.decode(data)
        except UnicodeDecodeError as exc:
            raise _BodyError(f"the text is not UTF-8 ({exc.reason})") from None
        self._tail += data
        if len(self._tail) > 2 * _TAIL:
            del self._tail[:-_TAIL]

    def finish(self) -> None:
        if self.gzip is None and self._start:
            self.gzip = False
            self._text(self._start)
        if self.gzip and (self._gz is not None or not self._members):
            raise _BodyError("the gzip data stops before its end: the download was cut")
        if not self.text_bytes:
            raise _BodyError("the answer is empty: not even a header line")
        try:
            self._utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            raise _BodyError(
                "the text stops inside a UTF-8 character: the download was cut"
            ) from None
        header = self._header if self._header is not None else _header_names(bytes(self._head))
        missing = [f for f in self.fields if f not in header]
        if missing:
            shown = ", ".join(header[:8])[:200]
            raise _BodyError(
                f"the header line lacks the requested field(s) {', '.join(missing[:5])} "
                f"(it starts: {shown!r}): this is not the export that was asked for"
            )
        if self._odd_quotes:
            raise _BodyError("the text stops inside a quoted value: the download was cut")
        if self._tail.endswith(b"\n"):
            return
        record = self._last_record()
        if record is None:
            return
        row = next(csv.reader(io.StringIO(record.decode("utf-8", "replace"), newline="")), [])
        if len(row) != len(header):
            raise _BodyError(
                f"the last record has {len(row)} of the header's {len(header)} fields and no "
                "line break: the download was cut"
            )

    def _last_record(self) -> bytes | None:
        """The bytes after the last line break that is outside quotes, within the kept tail."""
        tail = bytes(self._tail)
        odd = self._odd_quotes ^ bool(tail.count(b'"') % 2)  # parity where the tail starts
        boundary = None
        pos = 0
        for line in tail.split(b"\n")[:-1]:
            odd ^= bool(line.count(b'"') % 2)
            pos += len(line) + 1
            if not odd:
                boundary = pos
        if boundary is not None:
            return tail[boundary:]
        return tail if self.text_bytes == len(tail) else None


def _header_names(line: bytes) -> list[str]:
    text = line.decode("utf-8", "replace").lstrip("\ufeff").rstrip("\r")
    return [name.strip() for name in next(csv.reader([text]), [])]
