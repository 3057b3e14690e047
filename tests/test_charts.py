"""Offline chart rendering: what the HTML fragment contains, and that data cannot escape it.

That the charts draw, tooltips work and hostile text stays text in a real browser is tested in
tests/browser/test_offline_html.py.
"""

from __future__ import annotations

import html
import json
import math
import re
from html.parser import HTMLParser

import altair as alt
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postback_kit import charts
from postback_kit.errors import ChartDataError, PostbackKitError

HOSTILE = [
    "</script><script>alert(1)</script>",
    '<img src=x onerror="alert(2)">',
    "<!-- <script>",
    "&lt;b&gt; &amp; \"quotes\" 'single'",
    "line\u2028separator\u2029paragraph",
    "]]></svg><iframe srcdoc=x>",
]


class Tags(HTMLParser):
    """Every start tag with its attributes, as a browser's tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(text: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(text)
    parser.close()
    return parser.tags


def bar_chart(labels: list[str]) -> alt.Chart:
    frame = pl.DataFrame({"body": labels, "attempts": list(range(1, len(labels) + 1))})
    return (
        alt.Chart(frame, title="Bodies")
        .mark_bar()
        .encode(x="body:N", y="attempts:Q", tooltip=["body:N", "attempts:Q"])
    )


def frame_doc(fragment: str) -> str:
    """The document inside the fragment's iframe (the srcdoc attribute, unescaped)."""
    (iframe,) = [attrs for tag, attrs in tags(fragment) if tag == "iframe"]
    return str(iframe["srcdoc"])


def spec_in(doc: str) -> dict:
    (text,) = re.findall(r'<script type="application/json" id="pbk-spec">(.*?)</script>', doc, re.S)
    return json.loads(text)


def test_fragment_is_one_sandboxed_frame_with_inline_everything() -> None:
    fragment = charts.to_html(bar_chart(["a", "b"]))
    found = tags(fragment)
    assert [t for t, _ in found] == ["div", "iframe", "script"]
    iframe = found[1][1]
    assert iframe["sandbox"] == "allow-scripts allow-downloads"  # never allow-same-origin
    assert iframe["title"] == "Bodies"
    assert "src" not in iframe and "src" not in found[2][1]
    doc = frame_doc(fragment)
    inner = tags(doc)
    assert not any("src" in attrs or "href" in attrs for _, attrs in inner), "nothing is fetched"
    (csp,) = [a["content"] for t, a in inner if a.get("http-equiv") == "Content-Security-Policy"]
    assert "default-src 'none'" in str(csp)
    assert [a.get("id") for t, a in inner if t == "script"] == [
        "pbk-spec",
        "pbk-opts",
        "pbk-lib",
        None,
    ]
    assert spec_in(doc)["datasets"]  # the data travels inline


def test_library_is_the_vl_convert_bundle_gzipped() -> None:
    import base64
    import gzip

    import vl_convert as vlc

    doc = frame_doc(charts.to_html(bar_chart(["a"])))
    (b64,) = re.findall(r'id="pbk-lib">([A-Za-z0-9+/=]+)</script>', doc)
    library = gzip.decompress(base64.b64decode(b64)).decode()
    assert library == vlc.javascript_bundle(charts._BUNDLE_SNIPPET)
    assert "window.vegaEmbed=" in library[-200:]  # the global the frame's script calls


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_stays_data(text: str) -> None:
    fragment = charts.to_html(bar_chart([text, "ok"]))
    # In the page, the whole frame is one attribute value: no tag can start inside it.
    assert [t for t, _ in tags(fragment)] == ["div", "iframe", "script"]
    doc = frame_doc(fragment)
    # In the frame, the spec is JSON in a script element nothing can close early.
    assert [t for t, _ in tags(doc)].count("script") == 4
    assert "\u2028" not in doc and "\u2029" not in doc
    values = [row["body"] for row in next(iter(spec_in(doc)["datasets"].values()))]
    assert values == [text, "ok"]


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=40))
def test_any_text_round_trips_through_the_frame(text: str) -> None:
    doc = frame_doc(charts.to_html(bar_chart([text])))
    assert [t for t, _ in tags(doc)].count("script") == 4
    assert next(iter(spec_in(doc)["datasets"].values()))[0]["body"] == text


def test_script_json_escapes_what_html_would_parse() -> None:
    text = charts.script_json({"k": "</script>&<!--\u2028\u2029>"})
    assert not set("<>&\u2028\u2029") & set(text)
    assert json.loads(text) == {"k": "</script>&<!--\u2028\u2029>"}


def test_non_finite_numbers_become_null() -> None:
    spec = {"data": {"values": [{"x": math.nan}, {"x": math.inf}, {"x": 1.5}]}, "mark": "point"}
    doc = frame_doc(charts.to_html(spec))
    assert spec_in(doc)["data"]["values"] == [{"x": None}, {"x": None}, {"x": 1.5}]


def test_too_many_rows_is_a_clear_error_not_a_silent_limit() -> None:
    frame = pl.DataFrame({"x": range(charts.MAX_ROWS + 1)})
    with pytest.raises(ChartDataError, match="too many rows") as info:
        charts.ChartDisplay(alt.Chart(frame).mark_point().encode(x="x:Q"))
    assert isinstance(info.value, PostbackKitError) and "aggregate" in str(info.value)
    spec = {"datasets": {"d": [{"x": i} for i in range(charts.MAX_ROWS + 1)]}, "mark": "point"}
    with pytest.raises(ChartDataError, match=f"{charts.MAX_ROWS + 1} rows"):
        charts.to_html(spec)
    charts.to_html(alt.Chart(frame.head(charts.MAX_ROWS)).mark_point().encode(x="x:Q"))


def test_data_from_a_url_is_refused() -> None:
    chart = alt.Chart("https://example.com/data.json").mark_point().encode(x="x:Q")
    with pytest.raises(ChartDataError, match="URL") as info:
        charts.to_html(chart)
    assert "example.com" in str(info.value)
    layered = {"layer": [{"data": {"url": "file.csv"}, "mark": "point"}]}
    with pytest.raises(ChartDataError, match=r"spec\.layer\[0\]"):
        charts.to_html(layered)


def test_not_a_chart_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="altair chart"):
        charts.to_html(pl.DataFrame({"x": [1]}))  # type: ignore[arg-type]


def test_chart_display_reprs() -> None:
    shown = charts.ChartDisplay(bar_chart(["a"]).properties(title="Codes <by> day"))
    bundle = shown._repr_mimebundle_()
    assert set(bundle) == {"text/html", "text/plain"}
    assert bundle["text/html"] == shown._repr_html_() == str(shown)  # built once
    assert bundle["text/plain"] == "<chart: Codes <by> day>"
    assert 'title="Codes &lt;by&gt; day"' in bundle["text/html"]
    assert repr(shown) == "ChartDisplay('Codes <by> day')"


def test_each_chart_gets_its_own_frame_id() -> None:
    a, b = (charts.to_html(bar_chart(["a"])) for _ in range(2))
    ids = [re.search(r'data-pbk-chart="(pbk-[0-9a-f]{32})"', x).group(1) for x in (a, b)]
    assert ids[0] != ids[1]
    assert f'data-pbk-chart="{ids[0]}"' in html.unescape(a.split("srcdoc=")[1])


def test_container_width_spans_the_page() -> None:
    fluid = charts.to_html(bar_chart(["a"]).properties(width="container"))
    fixed = charts.to_html(bar_chart(["a"]).properties(width=300))
    assert "data-pbk-fluid" in fluid and "min-width" not in fluid.split("srcdoc")[0]
    assert "data-pbk-fluid" not in fixed and "min-width:460px" in fixed


def test_show_displays_a_chart_display(monkeypatch: pytest.MonkeyPatch) -> None:
    import IPython.display

    shown: list[object] = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    charts.show(bar_chart(["a"]))
    assert len(shown) == 1 and isinstance(shown[0], charts.ChartDisplay)


def test_save_html_writes_a_page_with_every_chart(tmp_path) -> None:
    page = charts.save_html(tmp_path / "c.html", bar_chart(["a"]), bar_chart(["b"]), title="T&C")
    text = page.read_text("utf-8")
    assert text.count("<iframe ") == 2 and "<title>T&amp;C</title>" in text


def test_bundle_is_cached_on_disk(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    import base64
    import gzip

    monkeypatch.setenv("POSTBACK_KIT_CACHE_DIR", str(tmp_path))
    charts._library_b64.cache_clear()
    try:
        first = charts._library_b64()
        (cached,) = tmp_path.glob("vega-embed-*.js.gz")
        charts._library_b64.cache_clear()
        marker = gzip.compress(b"// cached")
        cached.write_bytes(marker)  # a valid gzip file is served as is
        assert charts._library_b64() == base64.b64encode(marker).decode()
        cached.write_bytes(b"not gzip")  # a damaged file is rebuilt, not served
        charts._library_b64.cache_clear()
        assert charts._library_b64() == first
        assert cached.read_bytes().startswith(b"\x1f\x8b")
    finally:
        charts._library_b64.cache_clear()
