"""Interactive altair charts that draw offline: in live JupyterLab and in exported HTML.

Why not altair's own renderers (measured on JupyterLab 4.6.6, nbconvert 7.17, altair 6.3):

- the default renderer loads vega from a CDN, so charts are blank with no network;
- JupyterLab 4.6 does not render the Vega-Lite 6 mimetype, nbconvert HTML renders no vega mimetype;
- ``save(inline=True)`` HTML is self-contained, but a page with two such charts draws only one.

So every chart becomes its own small HTML document shown in a sandboxed ``<iframe srcdoc>``:
the document inlines the vega + vega-lite + vega-embed bundle that ``vl-convert-python``
ships (gzip + base64: about 400 KB per chart instead of 1 MB as escaped text; the browser
inflates it with ``DecompressionStream``) and the chart's spec. Each chart is isolated (any number
per page), nothing is fetched (a Content-Security-Policy inside the frame forbids it), tooltips
work, and the frame's scripts cannot reach the notebook (``sandbox`` without
``allow-same-origin``). A tiny script next to the frame resizes it to the drawn chart.

Chart data may hold untrusted text (partner response bodies). It is written as JSON inside a
``<script type="application/json">`` with ``<``, ``>``, ``&``, U+2028 and U+2029 escaped, and
the whole document is escaped once more as the ``srcdoc`` attribute; vega-embed's tooltip
escapes HTML. Such text always shows as text.

>>> import altair as alt, polars as pl
>>> from postback_kit import charts
>>> counts = pl.DataFrame({"code": ["400", "502"], "attempts": [12, 3]})
>>> chart = alt.Chart(counts).mark_bar().encode(x="code:N", y="attempts:Q", tooltip=["attempts"])
>>> charts.show(chart)                      # doctest: +SKIP   (in a notebook)
>>> html = charts.to_html(chart)            # an <iframe> fragment for any HTML page

Charts take aggregated frames: altair refuses more than 5000 rows and so does this module
(:class:`~postback_kit.errors.ChartDataError`); aggregate with polars first.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import gzip
import html
import importlib.metadata
import json
import math
import os
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import altair as alt
import vl_convert as vlc

from .errors import ChartDataError

__all__ = [
    "MAX_ROWS",
    "ChartDisplay",
    "delivery_fates",
    "error_timeline",
    "response_codes",
    "response_codes_chart",
    "save_html",
    "show",
    "time_to_delivery",
    "to_html",
]

MAX_ROWS = 5000
"""Most data rows a chart may embed (altair's own default limit). Aggregate before charting."""

Renderer = Literal["svg", "canvas"]
ChartLike = alt.TopLevelMixin | Mapping[str, Any]

# Frame content may not fetch anything: scripts and styles are inline, images are data: URIs.
_FRAME_CSP = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:; base-uri 'none'; form-action 'none'"
)

# Runs inside the frame: inflate the library once, draw the inline spec (if any), tell the parent
# the drawn size. A live frame (see ``ui.ChartView``) then redraws each spec its parent posts,
# without loading the library again: that is what keeps a picker's redraw fast.
_BOOT_JS = """
(async function () {
  var body = document.body, vis = document.getElementById("pbk-vis");
  var specEl = document.getElementById("pbk-spec"), opts = {}, view = null;
  var latest = null, drawing = false;
  function post(extra) {
    var r = vis.getBoundingClientRect(), msg = {pbkChart: body.dataset.pbkChart,
      width: Math.ceil(r.width), height: Math.ceil(r.height)};
    for (var k in extra || {}) msg[k] = extra[k];
    parent.postMessage(msg, "*");
  }
  function fail(err) {
    body.dataset.pbkState = "error";
    var pre = document.createElement("pre");
    pre.className = "pbk-error";
    pre.textContent = "The chart could not be drawn: " + (err && err.message || err);
    vis.replaceChildren(pre);
    console.error(err);
    post();
  }
  async function drawLatest() {
    drawing = true;
    while (latest) {
      var spec = latest;
      latest = null;
      body.dataset.pbkState = "drawing";
      if (view) view.finalize();
      var result = await vegaEmbed(vis, spec, opts);
      view = window.pbkView = result.view;
      body.dataset.pbkDraws = String(Number(body.dataset.pbkDraws || 0) + 1);
    }
    drawing = false;
    body.dataset.pbkState = "rendered";
    post();
  }
  function draw(spec) {
    latest = spec;
    if (!drawing) return drawLatest().catch(function (err) { drawing = false; fail(err); });
  }
  try {
    var b64 = document.getElementById("pbk-lib").textContent.trim();
    var bytes = Uint8Array.from(atob(b64), function (c) { return c.charCodeAt(0); });
    var inflated = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    (0, eval)(await new Response(inflated).text());
    opts = JSON.parse(document.getElementById("pbk-opts").textContent);
    var spec = JSON.parse(specEl.textContent);
    window.addEventListener("message", function (event) {
      var d = event.data;
      if (event.source !== parent || !d || !d.pbkSpec) return;
      specEl.textContent = JSON.stringify(d.pbkSpec);
      var t = d.pbkSpec.title;
      t = t && typeof t === "object" && !Array.isArray(t) ? t.text : t;
      document.title = Array.isArray(t) ? t.join(" ") : String(t || "chart");
      draw(d.pbkSpec);
    });
    if (spec && Object.keys(spec).length) await draw(spec);
    else body.dataset.pbkState = "ready";
    post({pbkReady: true});
    new ResizeObserver(function () { post(); }).observe(vis);
  } catch (err) {
    fail(err);
  }
})();
"""

# Runs in the page next to the frame (JupyterLab runs it for trusted outputs, exported HTML
# always): size the frame to the chart it reports. Without it the frame keeps its estimate.
_RESIZE_JS = """
(function (script) {
  var frame = script && script.previousElementSibling;
  if (!frame || frame.tagName !== "IFRAME") return;
  function onMessage(event) {
    var d = event.data;
    if (event.source !== frame.contentWindow || !d || d.pbkChart !== frame.dataset.pbkChart) {
      if (frame.dataset.pbkSized && !frame.isConnected) {
        window.removeEventListener("message", onMessage);
      }
      return;
    }
    var w = Number(d.width), h = Number(d.height);
    if (w > 0 && w < 20000 && !frame.dataset.pbkFluid) frame.style.minWidth = w + "px";
    if (h > 0 && h < 20000) frame.style.height = h + "px";
    frame.dataset.pbkSized = "1";
  }
  window.addEventListener("message", onMessage);
})(document.currentScript);
"""

_FRAME_CSS = (
    "html,body{margin:0;padding:0;background:transparent}"
    "body{font-family:system-ui,sans-serif;font-size:12px}"
    ".pbk-error{color:#b00020;white-space:pre-wrap;font:12px monospace;margin:4px}"
    "#vg-tooltip-element{pointer-events:none}"
    "body.pbk-fluid #pbk-vis{display:block;width:100%;box-sizing:border-box}"
)

# JSON inside <script>: nothing may close the element, open a comment or break a JS line.
_SCRIPT_JSON_ESCAPES = {
    ord("<"): "\\u003c",
    ord(">"): "\\u003e",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def script_json(value: Any) -> str:
    """JSON text that is safe inside an HTML ``<script>`` element.

    >>> script_json({"body": "</script><script>alert(1)</script>"})
    '{"body":"\\\\u003c/script\\\\u003e\\\\u003cscript\\\\u003ealert(1)\\\\u003c/script\\\\u003e"}'
    """
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.translate(_SCRIPT_JSON_ESCAPES)


def _finite(value: Any) -> Any:
    """The spec with NaN and infinities replaced by null (JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _check_inline(spec: Any, where: str = "spec") -> None:
    """Refuse data loaded from a URL or a file: it cannot be fetched offline."""
    if isinstance(spec, Mapping):
        data = spec.get("data")
        if isinstance(data, Mapping) and "url" in data:
            raise ChartDataError(
                "The chart loads its data from a URL or file, which an offline chart cannot fetch.",
                found=f"data.url = {str(data['url'])[:80]!r} in {where}",
                hint="pass a (small, aggregated) polars frame to alt.Chart instead, and keep "
                "alt.data_transformers at 'default'.",
            )
        for key, value in spec.items():
            _check_inline(value, f"{where}.{key}")
    elif isinstance(spec, list):
        for i, value in enumerate(spec):
            _check_inline(value, f"{where}[{i}]")


def _rows(spec: Mapping[str, Any]) -> int:
    """Largest number of rows among the inline data sets of a spec."""
    sizes = [len(v) for v in (spec.get("datasets") or {}).values() if isinstance(v, list)]
    return max(sizes, default=0)


def chart_spec(chart: ChartLike) -> dict[str, Any]:
    """The chart as a Vega-Lite dict with inline, finite data, or a :class:`ChartDataError`."""
    if isinstance(chart, alt.TopLevelMixin):
        try:
            spec: dict[str, Any] = chart.to_dict()
        except alt.MaxRowsError as exc:
            raise ChartDataError(
                "The chart's data has too many rows to embed in a notebook or HTML page.",
                found=str(exc).splitlines()[0],
                hint="charts take aggregated frames: group_by(...).agg(pl.len()) or bucket by "
                "time with polars first (a few hundred rows is plenty).",
            ) from exc
    elif isinstance(chart, Mapping):
        spec = dict(chart)
    else:
        raise TypeError(f"expected an altair chart or a Vega-Lite dict, got {type(chart).__name__}")
    _check_inline(spec)
    if (rows := _rows(spec)) > MAX_ROWS:
        raise ChartDataError(
            "The chart's data has too many rows to embed in a notebook or HTML page.",
            found=f"{rows} rows (at most {MAX_ROWS})",
            hint="aggregate with polars before charting.",
        )
    finite: dict[str, Any] = _finite(spec)
    return finite


# The bundle's entry point: vega-embed (which carries vega and vega-lite) as a global.
_BUNDLE_SNIPPET = "window.vegaEmbed = vegaEmbed;"


@functools.cache
def _library_b64() -> str:
    """The vega + vega-lite + vega-embed bundle, gzipped and base64-encoded (cached on disk)."""
    version = importlib.metadata.version("vl-convert-python")
    cached: Path | None = None
    try:
        from .cache import cache_dir

        root = cache_dir(True)
        if root is not None:
            cached = root / f"vega-embed-{vlc.get_vega_embed_version()}-vlc-{version}.js.gz"
    except OSError:
        cached = None
    data = b""
    if cached is not None and cached.is_file():
        data = cached.read_bytes()
    if not data.startswith(b"\x1f\x8b"):
        data = gzip.compress(vlc.javascript_bundle(_BUNDLE_SNIPPET).encode("utf-8"), 9, mtime=0)
        if cached is not None:
            from .cache import atomic_write

            with contextlib.suppress(OSError):  # a read-only cache: build it again next time
                atomic_write(cached, lambda path: path.write_bytes(data))
    return base64.b64encode(data).decode("ascii")


def _title(spec: Mapping[str, Any]) -> str:
    title = spec.get("title")
    if isinstance(title, Mapping):
        title = title.get("text")
    if isinstance(title, list):
        title = " ".join(str(t) for t in title)
    return str(title) if title else "chart"


def _estimate(spec: Mapping[str, Any]) -> tuple[int, int]:
    """A first size for the frame (replaced by the drawn size as soon as the chart is drawn)."""
    width, height = spec.get("width"), spec.get("height")
    w = width if isinstance(width, int | float) else 300
    h = height if isinstance(height, int | float) else 300
    return int(w) + 160, int(h) + 100


def frame_height(spec: Mapping[str, Any]) -> int:
    """A first height in pixels for a frame drawing ``spec`` (until the drawn size is known)."""
    return _estimate(spec)[1]


def frame_document(spec: Mapping[str, Any], *, chart_id: str, renderer: Renderer = "svg") -> str:
    """The self-contained HTML document drawing one Vega-Lite spec (the frame's ``srcdoc``)."""
    title = _title(spec)
    options = {
        "renderer": renderer,
        "actions": {"export": True, "source": False, "compiled": False, "editor": False},
        "downloadFileName": "".join(c if c.isalnum() else "_" for c in title)[:60] or "chart",
    }
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f'<meta http-equiv="Content-Security-Policy" content="{_FRAME_CSP}">'
        f"<title>{html.escape(title)}</title><style>{_FRAME_CSS}</style></head>"
        f'<body class="{"pbk-fluid" if spec.get("width") == "container" else ""}"'
        f' data-pbk-chart="{chart_id}" data-pbk-state="loading">'
        '<div id="pbk-vis"></div><noscript>This chart needs JavaScript.</noscript>'
        f'<script type="application/json" id="pbk-spec">{script_json(spec)}</script>'
        f'<script type="application/json" id="pbk-opts">{script_json(options)}</script>'
        f'<script type="application/octet-stream" id="pbk-lib">{_library_b64()}</script>'
        f"<script>{_BOOT_JS}</script></body></html>"
    )


def _fragment(spec: Mapping[str, Any], renderer: Renderer) -> str:
    chart_id = f"pbk-{uuid.uuid4().hex}"
    # The frame spans the output's width so that tooltips have room; its minimum width and its
    # height follow the drawn chart (a chart wider than the page scrolls, it is never squeezed).
    fluid = spec.get("width") == "container"
    width, height = _estimate(spec)
    style = f"border:0;display:block;width:100%;height:{height}px" + (
        "" if fluid else f";min-width:{width}px"
    )
    srcdoc = html.escape(frame_document(spec, chart_id=chart_id, renderer=renderer), quote=True)
    fluid_attr = ' data-pbk-fluid="1"' if fluid else ""
    return (
        '<div class="pbk-chart">'
        f'<iframe class="pbk-chart-frame" data-pbk-chart="{chart_id}"'
        f"{fluid_attr}"
        f' title="{html.escape(_title(spec), quote=True)}"'
        f' sandbox="allow-scripts allow-downloads" style="{style}"'
        f' srcdoc="{srcdoc}"></iframe>'
        f"<script>{_RESIZE_JS}</script></div>"
    )


class ChartDisplay:
    """An altair chart that displays interactively offline (notebook and exported HTML).

    The spec is checked when the object is made, so a chart with too much data fails in the
    cell that built it. ``display(ChartDisplay(chart))`` or :func:`show` puts it in a notebook;
    ``str(...)``/:meth:`to_html` gives the HTML fragment.
    """

    def __init__(self, chart: ChartLike, *, renderer: Renderer = "svg") -> None:
        self.spec = chart_spec(chart)
        self.renderer: Renderer = renderer
        self._html: str | None = None

    @property
    def title(self) -> str:
        """The chart's title, or ``"chart"``."""
        return _title(self.spec)

    def to_html(self) -> str:
        """The ``<iframe>`` fragment that draws the chart (self-contained, fetches nothing)."""
        if self._html is None:
            self._html = _fragment(self.spec, self.renderer)
        return self._html

    def _repr_html_(self) -> str:
        return self.to_html()

    def _repr_mimebundle_(
        self, include: Iterable[str] | None = None, exclude: Iterable[str] | None = None
    ) -> dict[str, str]:
        return {"text/html": self.to_html(), "text/plain": f"<chart: {self.title}>"}

    def __str__(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        return f"ChartDisplay({self.title!r})"


def to_html(chart: ChartLike, *, renderer: Renderer = "svg") -> str:
    """The HTML fragment that draws ``chart`` interactively with no network access."""
    return ChartDisplay(chart, renderer=renderer).to_html()


def show(chart: ChartLike, *, renderer: Renderer = "svg") -> None:
    """Display ``chart`` in the notebook (interactive, offline, any number per notebook)."""
    from IPython.display import display

    display(ChartDisplay(chart, renderer=renderer))


def save_html(path: str | os.PathLike[str], *charts: ChartLike, title: str = "Charts") -> Path:
    """Write a self-contained HTML page showing ``charts`` one below the other; returns the path."""
    body = "\n".join(f"<section>{to_html(c)}</section>" for c in charts)
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:16px}"
        "section{margin:0 0 16px}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>\n{body}\n</body></html>"
    )
    out = Path(path)
    out.write_text(page, encoding="utf-8")
    return out


# --- Chart builders: aggregated frames in, alt.Chart out ------------------------------------

_EVERY_WORDS = {"m": "minute", "h": "hour", "d": "day", "w": "week"}


def _per(every: str) -> str:
    """``"15m"`` → ``"15 minutes"``, ``"1h"`` → ``"hour"`` (for axis titles)."""
    number, unit = every[:-1], _EVERY_WORDS.get(every[-1:], every[-1:])
    return unit if number in ("", "1") else f"{number} {unit}s"


def error_timeline(
    counts: Any,
    *,
    every: str,
    title: str = "Failed attempts over time",
    started_at: Any = None,
    ended_at: Any = None,
    subtitle: str | None = None,
    width: int | Literal["container"] = 640,
    height: int = 240,
) -> alt.LayerChart | alt.FacetChart:
    """Error frequency over ``attempt_timestamp``: failures stacked by series, traffic for scale.

    ``counts`` is :func:`postback_kit.timeline.series_counts` output. Failing series are stacked
    bars coloured by series; all attempts of the bucket (delivered included) are a grey area
    behind them on the same axis, so a failure's share of traffic reads off the chart. The
    issue's onset and end (``started_at``/``ended_at``, from its pattern) are marked by rules,
    each labelled with its time on its own row. ``subtitle`` goes under the title (the pattern).
    Times are shown in UTC. Tooltips give the bucket, the series, the count and an example body.
    """
    import polars as pl

    frame = counts if isinstance(counts, pl.DataFrame) else pl.DataFrame(counts)
    per = _per(every)
    x = alt.X(
        "bucket:T",
        title="attempt_timestamp (UTC)",
        scale=alt.Scale(type="utc"),
        axis=alt.Axis(format="%d %b %H:%M"),
    )
    totals = frame.group_by("bucket").agg(pl.col("count").sum().alias("attempts")).sort("bucket")
    traffic = (
        alt.Chart(totals)
        .mark_area(color="#d9d9d9", opacity=0.7, interpolate="step-after")
        .encode(
            x=x,
            y=alt.Y("attempts:Q", title=f"attempts per {per}"),
            tooltip=[
                alt.Tooltip("bucket:T", title="bucket start (UTC)", format="%Y-%m-%d %H:%M"),
                alt.Tooltip("attempts:Q", title="all attempts", format=","),
            ],
        )
    )
    failing = frame.filter(pl.col("failing") & (pl.col("count") > 0))
    bars = (
        alt.Chart(failing)
        .mark_bar()
        .encode(
            x=x,
            y=alt.Y("sum(count):Q", title=f"attempts per {per}", stack="zero"),
            color=alt.Color(
                "series:N",
                title="failure",
                legend=alt.Legend(orient="bottom", columns=1, labelLimit=600),
            ),
            tooltip=[
                alt.Tooltip("bucket:T", title="bucket start (UTC)", format="%Y-%m-%d %H:%M"),
                alt.Tooltip("series:N", title="failure"),
                alt.Tooltip("sum(count):Q", title="failed attempts", format=","),
                alt.Tooltip("example:N", title="example body"),
            ],
        )
    )
    layers: list[Any] = [traffic, bars]
    marks = [(name, when) for name, when in (("onset", started_at), ("end", ended_at)) if when]
    if marks:
        rules = pl.DataFrame(
            {"mark": [m for m, _ in marks], "bucket": [w for _, w in marks]}
        ).with_columns(pl.col("bucket").cast(pl.Datetime("us", "UTC")))
        rule = alt.Chart(rules).encode(x=x)
        layers.append(
            rule.mark_rule(color="black", strokeDash=[4, 3]).encode(
                tooltip=[
                    alt.Tooltip("mark:N", title="pattern"),
                    alt.Tooltip("bucket:T", title="at (UTC)", format="%Y-%m-%d %H:%M"),
                ]
            )
        )
        # One label per mark, on its own row and pointing into the plot (onset to the right of
        # its rule, end to the left of its rule): close marks never overlap, edge marks never
        # spill over the axes.
        for row, (name, _when) in enumerate(marks):
            one = rules.filter(pl.col("mark") == name)
            onset = name == "onset"
            layers.append(
                alt.Chart(one)
                .mark_text(
                    align="left" if onset else "right",
                    dx=4 if onset else -4,
                    baseline="top",
                    fontWeight="bold",
                )
                .encode(
                    x=x,
                    y=alt.value(2 + 14 * row),
                    text=alt.Text("bucket:T", format=f"{name} %d %b %H:%M"),
                )
            )
    chart_title: Any = title if subtitle is None else alt.TitleParams(title, subtitle=subtitle)
    return alt.layer(*layers).properties(title=chart_title, width=width, height=height)


# --- Deep dive (notebook 02): views of postback_kit.deepdive results ------------------------

_OUTCOME_COLORS = {
    "success": "#4c9a2a",
    "false_failure": "#9ecae1",
    "request_error": "#d62728",
    "partner_error": "#ff7f0e",
    "network_error": "#7f7f7f",
    "other_code": "#9467bd",
    "soft_failure": "#e377c2",
}
_FATE_COLORS = {
    "delivered first try": "#4c9a2a",
    "cured by retries": "#a1d99b",
    "lost": "#d62728",
    "still retrying": "#fdae6b",
}


def _code_bars(
    frame: Any,
    *,
    y_title: str,
    color: alt.Color,
    tooltip: list[alt.Tooltip],
    title: str,
    width: int,
    height: int,
    **encodings: Any,
) -> alt.Chart:
    """Bars of ``sum(attempts)`` per response code (``code``), most first: the one builder of
    :func:`response_codes` (deep dive) and :func:`response_codes_chart` (partner report)."""
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("code:N", title="response code", sort="-y"),
            y=alt.Y("sum(attempts):Q", title=y_title),
            color=color,
            tooltip=[alt.Tooltip("code:N", title="response code"), *tooltip],
            **encodings,
        )
        .properties(title=title, width=width, height=height)
    )


def response_codes(
    codes: Any, *, title: str = "Attempts by response code", width: int = 480
) -> alt.Chart:
    """Attempts per response code, stacked by class; the selected issue's bars stand out.

    ``codes`` is :meth:`postback_kit.deepdive.DeepDive.codes` output (``code``, ``outcome``,
    ``attempts``, ``share``, ``selected``, ``example``). Tooltips give the count, the share of
    the tracker's attempts and an example body.
    """
    import polars as pl

    frame = codes if isinstance(codes, pl.DataFrame) else pl.DataFrame(codes)
    present = [o for o in _OUTCOME_COLORS if o in set(frame["outcome"].to_list())]
    return _code_bars(
        frame,
        y_title="attempts",
        color=alt.Color(
            "outcome:N",
            title="class",
            scale=alt.Scale(domain=present, range=[_OUTCOME_COLORS[o] for o in present]),
        ),
        opacity=alt.condition("datum.selected", alt.value(1.0), alt.value(0.35)),
        tooltip=[
            alt.Tooltip("outcome:N", title="class"),
            alt.Tooltip("attempts:Q", title="attempts", format=","),
            alt.Tooltip("share:Q", title="share of the tracker's attempts", format=".1%"),
            alt.Tooltip("selected:N", title="in the selected issue"),
            alt.Tooltip("example:N", title="example body"),
        ],
        title=title,
        width=width,
        height=220,
    )


def delivery_fates(
    fates: Any, *, title: str = "What became of the postbacks", width: int = 480
) -> alt.Chart:
    """Postbacks per fate (delivered first try, cured by retries, lost, still retrying).

    ``fates`` is :meth:`postback_kit.deepdive.DeliverySummary.fates` output (``fate``,
    ``postbacks``, ``share``). Every fate keeps its bar and colour, empty ones included.
    """
    import polars as pl

    frame = fates if isinstance(fates, pl.DataFrame) else pl.DataFrame(fates)
    order = list(_FATE_COLORS)
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y("fate:N", title=None, sort=order),
            x=alt.X("postbacks:Q", title="postbacks (conversions sent to the partner)"),
            color=alt.Color(
                "fate:N",
                title="fate",
                scale=alt.Scale(domain=order, range=[_FATE_COLORS[f] for f in order]),
                legend=None,
            ),
            tooltip=[
                alt.Tooltip("fate:N", title="fate"),
                alt.Tooltip("postbacks:Q", title="postbacks", format=","),
                alt.Tooltip("share:Q", title="share of the postbacks", format=".1%"),
            ],
        )
        .properties(title=title, width=width, height=140)
    )


def time_to_delivery(
    bins: Any,
    *,
    title: str = "Time from the first attempt to delivery",
    width: int = 480,
) -> alt.Chart:
    """Delivered postbacks per bin of time to delivery (``first try`` is 0).

    ``bins`` is :meth:`postback_kit.deepdive.DeepDive.time_to_delivery` output (``bin``,
    ``order``, ``postbacks``, ``share``, ``median_minutes``).
    """
    import polars as pl

    frame = bins if isinstance(bins, pl.DataFrame) else pl.DataFrame(bins)
    order = frame.sort("order")["bin"].to_list()
    return (
        alt.Chart(frame)
        .mark_bar(color="#4c78a8")
        .encode(
            x=alt.X("bin:N", title="time to delivery (after the first attempt)", sort=order),
            y=alt.Y("postbacks:Q", title="delivered postbacks"),
            tooltip=[
                alt.Tooltip("bin:N", title="time to delivery"),
                alt.Tooltip("postbacks:Q", title="delivered postbacks", format=","),
                alt.Tooltip("share:Q", title="share of the delivered", format=".1%"),
                alt.Tooltip("median_minutes:Q", title="median in bin (minutes)", format=".1f"),
            ],
        )
        .properties(title=title, width=width, height=200)
    )


# --- Audit: configuration audit charts (postback_kit.audit) -----------------------------------

__all__ += ["window_chart"]

_WINDOW_STATUS = ["within", "outside", "lifetime", "unknown"]
_WINDOW_COLORS = ["#4c78a8", "#e45756", "#72b7b2", "#bab0ac"]


def window_chart(
    result: Any, *, width: int | Literal["container"] = 560, height: int = 220
) -> alt.LayerChart | alt.FacetChart:
    """Event postbacks by whole days from install to event, coloured by the window at sending.

    ``result`` is a :class:`postback_kit.AuditResult`; the chart draws its
    :meth:`~postback_kit.AuditResult.window_histogram` (one row per day and window status) as
    stacked bars, and a dashed rule per window setting in days (its label says since when it
    applies; a lifetime window has no rule). Tooltips give the day, the status and the count.
    Show it with :func:`show`.
    """
    import polars as pl

    hist = result.window_histogram()
    days = "days from install to event (days)"
    bars = (
        alt.Chart(hist)
        .mark_bar()
        .encode(
            x=alt.X("day:Q", title=days),
            y=alt.Y("sum(postbacks):Q", title="event postbacks (count per day)", stack="zero"),
            color=alt.Color(
                "window_status:N",
                title="window at sending",
                scale=alt.Scale(domain=_WINDOW_STATUS, range=_WINDOW_COLORS),
            ),
            tooltip=[
                alt.Tooltip("day:Q", title="days from install"),
                alt.Tooltip("window_status:N", title="window at sending"),
                alt.Tooltip("sum(postbacks):Q", title="event postbacks", format=","),
            ],
        )
    )
    numbered = [w for w in result.windows if w.days is not None]
    windows = pl.DataFrame(
        {
            "window_days": [w.days for w in numbered],
            "setting": [w.label for w in numbered],
            # one text line per setting (pixels from the top): labels of close windows never
            # overlap, and each ends at its rule so the last one stays inside the plot
            "label_y": [2 + 13 * i for i in range(len(numbered))],
        },
        schema={"window_days": pl.Int64, "setting": pl.String, "label_y": pl.Int64},
    )
    rule = alt.Chart(windows).encode(x=alt.X("window_days:Q", title=days))
    rules = rule.mark_rule(strokeDash=[4, 4], color="black").encode(
        tooltip=[
            alt.Tooltip("setting:N", title="window setting"),
            alt.Tooltip("window_days:Q", title="window (days)"),
        ]
    )
    labels = rule.mark_text(align="right", dx=-3, baseline="top", fontSize=10).encode(
        y=alt.Y("label_y:Q", scale=None, axis=None), text="setting:N"
    )
    name = result.config.name or "partner"
    return alt.layer(bars, rules, labels).properties(
        title=f"{name}: event postbacks against the in-app event postback window",
        width=width,
        height=height,
    )


def response_codes_chart(
    codes: Any,
    *,
    title: str = "Failed attempts by response code and issue",
    width: int = 480,
    height: int = 220,
) -> alt.Chart:
    """Attempts per response code, coloured by issue (``report.PartnerReport.codes``).

    ``codes`` has ``issue``, ``signature``, ``response_code`` (null: no answer), ``attempts``
    and ``example_body``; the tooltip shows the count and one real (redacted) body.
    """
    import polars as pl

    from .signatures import code_text

    frame = codes if isinstance(codes, pl.DataFrame) else pl.DataFrame(codes)
    counts_frame = frame.select(
        code_text(),
        pl.format("{}. {}", pl.col("issue"), pl.col("signature").str.slice(0, 80)).alias("issue"),
        pl.col("attempts"),
        pl.col("example_body").str.slice(0, 300).alias("example_body"),
    )
    return _code_bars(
        counts_frame,
        y_title="failed attempts",
        color=alt.Color(
            "issue:N", title="issue", legend=alt.Legend(orient="bottom", columns=1, labelLimit=600)
        ),
        tooltip=[
            alt.Tooltip("issue:N", title="issue"),
            alt.Tooltip("sum(attempts):Q", title="attempts", format=","),
            alt.Tooltip("example_body:N", title="example body"),
        ],
        title=title,
        width=width,
        height=height,
    )
