"""Picker redraw in a real JupyterLab, timed in the page (run by ``make bench``, not ``make test``).

For each choice, the time from changing the picker to the last chart frame reporting its new
drawing: kernel round trip, the notebook's redraw path, the spec's transfer, vega drawing it.
Nothing is asserted about time; the measurements are written to ``$PBK_BENCH_OUT`` (JSON).

Environment: ``PBK_BENCH_EXPORT`` (export path for the notebook, default the bundled sample),
``PBK_BENCH_NOTEBOOK`` (default ``01_triage.ipynb``), ``PBK_BENCH_PICKER`` (the picker's label,
default ``Tracker``), ``PBK_BENCH_REPS`` (choices to time, default 10).
"""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

import pytest

# Resolves with the page time of the last chart-frame message after the choice, once a frame
# whose title changed has reported its drawn size and nothing more came for `quietMs`.
_CHOOSE_AND_TIME = """
async ([label, option, quietMs, timeoutMs]) => {
  const boxes = [...document.querySelectorAll('.widget-dropdown')];
  const box = boxes.find(b => (b.querySelector('label') || {}).textContent === label);
  const select = box.querySelector('select');
  const frames = () => [...document.querySelectorAll('iframe.pbk-chart-frame')];
  const before = new Map(frames().map(f => [f, f.title + '|' + f.srcdoc.length]));
  let last = null;
  const onMessage = (e) => {
    const f = frames().find(fr => fr.contentWindow === e.source);
    if (f && (before.get(f) !== f.title + '|' + f.srcdoc.length)) last = performance.now();
  };
  window.addEventListener('message', onMessage);
  const t0 = performance.now();
  select.value = [...select.options].find(o => o.textContent === option).value;
  select.dispatchEvent(new Event('change', { bubbles: true }));
  while (performance.now() - t0 < timeoutMs) {
    await new Promise(r => setTimeout(r, 10));
    if (last !== null && performance.now() - last > quietMs) break;
  }
  window.removeEventListener('message', onMessage);
  return last === null ? null : last - t0;
}
"""


@pytest.mark.timeout(1800)
def test_picker_redraw(lab) -> None:  # type: ignore[no-untyped-def]
    export = os.environ.get("PBK_BENCH_EXPORT") or str(lab.server.root / "data/samples/csv")
    notebook = os.environ.get("PBK_BENCH_NOTEBOOK", "01_triage.ipynb")
    label = os.environ.get("PBK_BENCH_PICKER", "Tracker")
    reps = int(os.environ.get("PBK_BENCH_REPS", "10"))

    lab.open(lab.server.notebook_with(notebook, export_path=export))
    started = time.monotonic()
    lab.run_all(timeout=1500)
    run_all_s = time.monotonic() - started
    lab.charts(1, timeout=300)
    dropdown = lab.page.locator(".widget-dropdown").filter(
        has=lab.page.locator("label", has_text=label)
    )
    options = [o for o in dropdown.locator("option").all_inner_texts() if o]
    assert len(options) >= 2, f"the {label!r} picker needs two options, has {options}"
    timings = []
    for i in range(reps + 1):
        option = options[(i + 1) % len(options)]
        ms = lab.page.evaluate(_CHOOSE_AND_TIME, [label, option, 400, 60_000])
        assert ms is not None, f"no chart redrew after choosing {option!r}"
        if i:  # the first choice warms caches up
            timings.append(ms)
    result = {
        "notebook": notebook,
        "export": export,
        "picker": label,
        "run_all_s": round(run_all_s, 1),
        "redraw_ms": [round(t, 1) for t in timings],
        "median_ms": round(statistics.median(timings), 1),
        "min_ms": round(min(timings), 1),
        "max_ms": round(max(timings), 1),
    }
    out = os.environ.get("PBK_BENCH_OUT")
    if out:
        Path(out).write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    print(json.dumps(result))
