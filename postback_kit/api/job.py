"""What one fetch asks for, and where its answers go: :class:`_Job` holds the application,
fields, filters, date dimension, API address, export folder and token of a fetch, and turns a
:class:`~postback_kit.api.spans._Span` into the request URL and the export file's name
(``postbacks_<application>_<span>[_<hash>]``; the hash never includes the token).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote, urlencode

from .arguments import DEFAULT_FIELDS
from .spans import _Span
from .token import _Secret

EXPORT_PATH = "/logs/v1/export/postbacks.csv"


@dataclass(frozen=True)
class _Job:
    application_id: str
    fields: tuple[str, ...]
    filters: tuple[tuple[str, str], ...]
    date_dimension: str
    base_url: str
    dest: Path
    token: _Secret = field(repr=False)

    @property
    def key(self) -> str:
        """``_<hash>`` of what changes the content, when it differs from the defaults."""
        if self.fields == DEFAULT_FIELDS and not self.filters and self.date_dimension == "default":
            return ""
        spec = json.dumps(
            {"fields": self.fields, "filters": self.filters, "date_dimension": self.date_dimension}
        )
        return "_" + hashlib.blake2b(spec.encode(), digest_size=5).hexdigest()

    def name(self, span: _Span) -> str:
        return f"postbacks_{self.application_id}_{span.tag()}{self.key}"

    def url(self, span: _Span) -> str:
        params = [
            ("application_id", self.application_id),
            ("date_since", f"{span.start:%Y-%m-%d %H:%M:%S}"),
            ("date_until", f"{span.end - timedelta(seconds=1):%Y-%m-%d %H:%M:%S}"),
            ("fields", ",".join(self.fields)),
            ("date_dimension", self.date_dimension),
            *self.filters,
        ]
        return f"{self.base_url}{EXPORT_PATH}?{urlencode(params, quote_via=quote, safe=',')}"
