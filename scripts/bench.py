"""Benchmarks of postback-kit against the polars floor and a pandas baseline (``make bench``).

    python scripts/bench.py                       # 1M, every case, 3 repetitions
    python scripts/bench.py --sizes 1M,10M --reps 3 --out BENCHMARKS.md
    python scripts/bench.py --sizes 10M --reps 1 --only floor_csv,pk_cold --out BENCHMARKS.md

Exports are generated once with ``postback_kit.samples.generate`` (every documented field, CSV
one file per conversion day; JSON too up to 1M) into ``--data`` (default ``bench-data/``, ignored
by git) and reused when present. Large exports are generated in chunks of 2M attempts (seeds 7,
8, ...; the same week, so 10M is five times the traffic of 2M), which keeps generation under
4 GB of memory.

Every repetition of every case runs in its own Python process, so its peak RSS
(``ru_maxrss`` from ``wait4``) and its CPU time (user + system, imports included: on a shared
machine it varies less than the wall time) are that case's alone; the time is measured inside
the process around the work only (imports excluded). The load average is recorded around every
case.

Cases (``--only``):

- ``floor_csv``: polars alone, ``scan_csv(...).select(diagnosis columns).collect()``;
- ``floor_parquet``: polars alone reading the same columns from the Parquet cache;
- ``pandas``: what an analyst writes today: ``pandas.read_csv`` (only the three columns it needs:
  a generous baseline) and the tracker table (failed attempts by tracker and code, the most
  frequent failing body per tracker);
- ``pk_cold``: ``load`` (CSV, empty cache: parse, type, write the cache) + ``diagnose``;
- ``pk_warm``: ``load`` (same CSV, cache present) + ``diagnose`` (its result cached too: what
  reopening an export costs);
- ``pk_recompute``: ``load`` (cache present) + ``diagnose(cache=False)``: the diagnosis computed
  again on the cached parts (what new rules or a new version of the toolkit cost);
- ``pk_triage``: ``triage`` alone, on the warm cache;
- ``pk_json``: ``load`` of the Logs API JSON (1M at most) + ``diagnose`` (``--slow-reps``
  repetitions: decoding 1.7 GB of JSON record by record takes about 25 s at 1M);
- ``redraw``: the picker redraw in a real JupyterLab (``tests/browser/bench_redraw.py``), on
  the notebook of ``--notebook``; skipped with a message when the notebook is missing.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CASES = (
    "floor_csv",
    "floor_parquet",
    "pandas",
    "pk_cold",
    "pk_warm",
    "pk_recompute",
    "pk_triage",
    "pk_json",
    "redraw",
)
SLOW = {"pk_json"}  # repeated --slow-reps times (1.7 GB of JSON at 1M: about 25 s a run)
CHUNK = 2_000_000
JSON_MAX = 1_000_000
SEED = 7

# The columns diagnose reads: classify (code, body, verdict), the delivery key, the tracker
# list, the example, the segments and the parameters of an issue.
DIAGNOSIS_COLUMNS = (
    "tracking_id",
    "tracker_name",
    "publisher_name",
    "response_code",
    "response_body",
    "notifying_status",
    "attempt_timestamp",
    "conversion_timestamp",
    "postback_url",
    "event_name",
    "cost_model",
    "appmetrica_device_id",
    "os_name",
    "app_version_name",
    "device_type",
    "match_type",
)
_INT_COLUMNS = {"response_code", "attempt_timestamp", "conversion_timestamp"}


# --------------------------------------------------------------------------- sizes and exports


def parse_size(text: str) -> int:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([kKmM]?)", text.strip())
    if not m:
        raise SystemExit(f"bench: size {text!r} is not like 1M, 10M, 5k or 3000")
    scale = {"": 1, "k": 1_000, "m": 1_000_000}[m.group(2).lower()]
    return int(float(m.group(1)) * scale)


def export_dir(data: Path, label: str) -> Path:
    return data / "exports" / label


def ensure_export(data: Path, label: str, log: Callable[[str], None]) -> Path:
    """Generate the export of ``label`` attempts (CSV, and JSON up to 1M) unless it exists."""
    target = export_dir(data, label)
    done = target / "DONE.json"
    if done.exists():
        return target
    from postback_kit import samples

    attempts = parse_size(label)
    if target.exists():
        shutil.rmtree(target)
    csv_dir = target / "csv"
    csv_dir.mkdir(parents=True)
    started = time.perf_counter()
    chunks = max(1, -(-attempts // CHUNK))
    rows = 0
    for k in range(chunks):
        n = min(CHUNK, attempts - k * CHUNK)
        log(f"generating {label}: chunk {k + 1}/{chunks} ({n:,} attempts)")
        sample = samples.generate(n, seed=SEED + k)
        rows += sample.frame.height
        with tempfile.TemporaryDirectory(dir=target) as tmp:
            for path in sample.write_csv(tmp):
                name = path.name if chunks == 1 else f"part{k:02d}_{path.name}"
                shutil.move(path, csv_dir / name)
        if attempts <= JSON_MAX:
            sample.write_json(target / "json" / "postbacks.json")
        del sample
    meta = {
        "attempts": rows,
        "requested": attempts,
        "chunks": chunks,
        "seconds": round(time.perf_counter() - started, 1),
        "csv_bytes": sum(p.stat().st_size for p in csv_dir.iterdir()),
    }
    done.write_text(json.dumps(meta, indent=2) + "\n", "utf-8")
    return target


def export_meta(data: Path, label: str) -> dict[str, Any]:
    return json.loads((export_dir(data, label) / "DONE.json").read_text("utf-8"))  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- the cases (worker)


def _csv_files(export: Path) -> list[str]:
    return sorted(str(p) for p in (export / "csv").glob("*.csv"))


def _case_floor_csv(export: Path, cache: Path) -> dict[str, Any]:
    import polars as pl

    schema = {c: (pl.Int64 if c in _INT_COLUMNS else pl.String) for c in DIAGNOSIS_COLUMNS}
    t = time.perf_counter()
    df = (
        pl.scan_csv(_csv_files(export), schema_overrides=schema, infer_schema=False)
        .select(DIAGNOSIS_COLUMNS)
        .collect()
    )
    return {"seconds": time.perf_counter() - t, "rows": df.height}


def _case_floor_parquet(export: Path, cache: Path) -> dict[str, Any]:
    import polars as pl

    # the export's parts (<key>.<n>.parquet), not the diagnosis kept next to them
    from postback_kit.cache import is_export_part

    files = sorted(str(p) for p in cache.rglob("*.parquet") if is_export_part(p.name))
    if not files:
        raise SystemExit(f"bench: no Parquet cache in {cache}")
    t = time.perf_counter()
    lf = pl.concat([pl.scan_parquet(f) for f in files], how="diagonal_relaxed")
    df = lf.select(DIAGNOSIS_COLUMNS).collect()
    return {"seconds": time.perf_counter() - t, "rows": df.height}


def _case_pandas(export: Path, cache: Path) -> dict[str, Any]:
    import pandas as pd

    t = time.perf_counter()
    frames = [
        pd.read_csv(
            f,
            usecols=["tracking_id", "response_code", "response_body"],
            dtype={"tracking_id": str, "response_body": str},
            keep_default_na=False,
            na_values={"response_code": [""]},
        )
        for f in _csv_files(export)
    ]
    df = pd.concat(frames, ignore_index=True)
    del frames
    code = df["response_code"]
    failed = df[code.isna() | (code < 200) | (code > 299)]
    by_code = (
        failed.groupby(["tracking_id", failed["response_code"].fillna(-1)])
        .size()
        .rename("attempts")
        .reset_index()
        .sort_values(["tracking_id", "attempts"], ascending=[True, False])
    )
    bodies = failed.groupby(["tracking_id", "response_body"]).size().rename("n").reset_index()
    top = bodies.sort_values("n", ascending=False).drop_duplicates("tracking_id")
    table = by_code.merge(top, on="tracking_id", how="left")
    return {"seconds": time.perf_counter() - t, "rows": len(df), "table_rows": len(table)}


def _diagnose_from(source: Path, cache: Path, *, reuse: bool = True) -> dict[str, Any]:
    import postback_kit as pk

    t = time.perf_counter()
    frame = pk.load(source, cache=cache)
    t_load = time.perf_counter() - t
    d = pk.diagnose(frame, cache=reuse)
    seconds = time.perf_counter() - t
    out: dict[str, Any] = {}
    if d.from_cache:
        t = time.perf_counter()
        _ = d.attempts, d.deliveries  # read on first use: what the views pay (not in "seconds")
        out["frames_seconds"] = time.perf_counter() - t
    return {
        **out,
        "seconds": seconds,
        "load_seconds": t_load,
        "rows": d.export["attempts"],
        "trackers": len(d.trackers),
        "issues": len(d.issues),
        "from_cache": d.from_cache,
    }


def _case_pk_cold(export: Path, cache: Path) -> dict[str, Any]:
    cache.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache.parent, prefix="cold-") as tmp:
        return _diagnose_from(export / "csv", Path(tmp))


def _case_pk_warm(export: Path, cache: Path) -> dict[str, Any]:
    return _diagnose_from(export / "csv", cache)


def _case_pk_recompute(export: Path, cache: Path) -> dict[str, Any]:
    return _diagnose_from(export / "csv", cache, reuse=False)


def _case_pk_triage(export: Path, cache: Path) -> dict[str, Any]:
    import postback_kit as pk

    frame = pk.load(export / "csv", cache=cache)
    t = time.perf_counter()
    table = pk.triage(frame)
    return {"seconds": time.perf_counter() - t, "rows": table.height}


def _case_pk_json(export: Path, cache: Path) -> dict[str, Any]:
    cache.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache.parent, prefix="cold-") as tmp:
        return _diagnose_from(export / "json", Path(tmp))


def _case_prepare(export: Path, cache: Path) -> dict[str, Any]:
    """Fill the warm cache (not a measured case)."""
    import postback_kit as pk

    t = time.perf_counter()
    frame, report = pk.load(export / "csv", cache=cache, report=True)
    rows = frame.select(__import__("polars").len()).collect().item()
    return {"seconds": time.perf_counter() - t, "rows": rows, "from_cache": report.from_cache}


WORKERS: dict[str, Callable[[Path, Path], dict[str, Any]]] = {
    "floor_csv": _case_floor_csv,
    "floor_parquet": _case_floor_parquet,
    "pandas": _case_pandas,
    "pk_cold": _case_pk_cold,
    "pk_warm": _case_pk_warm,
    "pk_recompute": _case_pk_recompute,
    "pk_triage": _case_pk_triage,
    "pk_json": _case_pk_json,
    "prepare": _case_prepare,
    "prepare_diagnosis": _case_pk_warm,  # keeps the diagnosis in the warm cache (not measured)
}


def worker(case: str, export: Path, cache: Path) -> None:
    import warnings

    warnings.simplefilter("ignore")
    result = WORKERS[case](export, cache)
    print("BENCH-RESULT " + json.dumps(result), flush=True)


# --------------------------------------------------------------------------- the runner


def run_process(cmd: list[str], env: dict[str, str] | None = None) -> tuple[str, int, float, float]:
    """Run ``cmd``; return its stdout, its peak RSS in bytes and CPU seconds (user + system,
    the whole process with its imports; ``wait4``), and its wall time."""
    t = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{text[-3000:]}")
    return text, usage.ru_maxrss * 1024, wall, usage.ru_utime + usage.ru_stime


def measure(case: str, export: Path, cache: Path) -> dict[str, Any]:
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        case,
        "--export",
        str(export),
        "--cache",
        str(cache),
    ]
    load_before = os.getloadavg()[0]
    text, rss, wall, cpu = run_process(cmd)
    line = next(ln for ln in reversed(text.splitlines()) if ln.startswith("BENCH-RESULT "))
    result: dict[str, Any] = json.loads(line.removeprefix("BENCH-RESULT "))
    result.update(rss=rss, wall=wall, cpu=cpu, load=[load_before, os.getloadavg()[0]])
    return result


def measure_redraw(
    export: Path, cache: Path, notebook: str, reps: int, log: Callable[[str], None]
) -> dict[str, Any] | str:
    nb = ROOT / "notebooks" / notebook
    if not nb.exists():
        return f"skipped: notebooks/{notebook} does not exist (yet)"
    out = cache.parent / "redraw.json"
    out.unlink(missing_ok=True)
    env = {
        **os.environ,
        "PBK_BENCH_EXPORT": str((export / "csv").resolve()),
        "PBK_BENCH_NOTEBOOK": notebook,
        "PBK_BENCH_OUT": str(out),
        "PBK_BENCH_REPS": str(max(reps, 5)),
        "POSTBACK_KIT_CACHE_DIR": str(cache.resolve()),
    }
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    cmd += ["tests/browser/bench_redraw.py", "-o", "addopts="]
    log(f"redraw: JupyterLab on {notebook}")
    load_before = os.getloadavg()[0]
    try:
        text, _rss, wall, _cpu = run_process(cmd, env)
    except RuntimeError as exc:
        return f"failed: {str(exc)[-600:]}"
    if not out.exists():
        return f"failed: no result written\n{text[-600:]}"
    result: dict[str, Any] = json.loads(out.read_text("utf-8"))
    result["load"] = [load_before, os.getloadavg()[0]]
    result["wall"] = wall
    return result


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    secs = [r["seconds"] for r in runs]
    rss = [r["rss"] for r in runs]
    loads = [x for r in runs for x in r["load"]]
    out = {
        "median_s": statistics.median(secs),
        "min_s": min(secs),
        "max_s": max(secs),
        "reps": len(secs),
        "seconds": secs,
        "peak_rss": max(rss),
        "cpu_s": statistics.median(r.get("cpu", 0.0) for r in runs),
        "load": [min(loads), max(loads)],
        "rows": runs[0].get("rows"),
        "from_cache": runs[0].get("from_cache"),
    }
    if "load_seconds" in runs[0]:
        out["load_s"] = statistics.median(r["load_seconds"] for r in runs)
    if "frames_seconds" in runs[0]:
        out["frames_s"] = statistics.median(r["frames_seconds"] for r in runs)
    return out


def machine() -> dict[str, Any]:
    import polars as pl

    try:
        import pandas as pd

        pandas_version = pd.__version__
    except ImportError:
        pandas_version = "not installed"
    mem = 0
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    cpu = platform.processor() or ""
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(mem / 2**30, 1),
        "python": platform.python_version(),
        "polars": pl.__version__,
        "pandas": pandas_version,
        "os": platform.platform(),
        "uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    def log(msg: str) -> None:
        print(f"[bench {datetime.now(UTC):%H:%M:%S}] {msg}", file=sys.stderr, flush=True)

    data = Path(args.data).resolve()
    cases = [c.strip() for c in args.only.split(",")] if args.only else list(CASES)
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        raise SystemExit(f"bench: unknown case(s) {unknown}; known: {', '.join(CASES)}")
    report: dict[str, Any] = {
        "started": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "machine": machine(),
        "sizes": {},
    }
    for label in [s.strip() for s in args.sizes.split(",") if s.strip()]:
        export = ensure_export(data, label, log)
        meta = export_meta(data, label)
        cache = data / "cache" / label
        size: dict[str, Any] = {"export": meta, "cases": {}, "skipped": {}}
        report["sizes"][label] = size
        needs_cache = {"floor_parquet", "pk_warm", "pk_recompute", "pk_triage", "redraw"}
        if needs_cache & set(cases):
            prep = measure("prepare", export, cache)
            size["prepare"] = summarize([prep])
            log(
                f"{label}: warm cache ready ({prep['seconds']:.1f} s, "
                f"peak {prep['rss'] / 2**30:.2f} GiB)"
            )
        if {"pk_warm", "pk_triage"} & set(cases):
            kept = measure("prepare_diagnosis", export, cache)
            log(f"{label}: diagnosis kept in the cache ({kept['seconds']:.1f} s)")
        for case in cases:
            if case == "redraw":
                r = measure_redraw(export, cache, args.notebook, args.reps, log)
                if isinstance(r, str):
                    size["skipped"][case] = r
                    log(f"{label} redraw {r}")
                else:
                    size["redraw"] = r
                    log(f"{label} redraw median {r['median_ms']} ms")
                continue
            if case == "pandas" and importlib.util.find_spec("pandas") is None:
                size["skipped"][case] = "pandas is not installed (make bench installs it)"
                continue
            if case == "pk_json" and not (export / "json").exists():
                size["skipped"][case] = f"no JSON export at {label} (JSON is generated up to 1M)"
                continue
            runs = []
            for i in range(min(args.reps, args.slow_reps) if case in SLOW else args.reps):
                r = measure(case, export, cache)
                log(
                    f"{label} {case} #{i + 1}: {r['seconds']:.2f} s, "
                    f"peak {r['rss'] / 2**30:.2f} GiB, load {r['load'][0]:.1f}"
                )
                runs.append(r)
            size["cases"][case] = summarize(runs)
        size["uptime"] = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    report["finished"] = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    return report


# --------------------------------------------------------------------------- markdown


LABELS = {
    "floor_csv": "polars floor: scan_csv → select diagnosis columns → collect",
    "floor_parquet": "polars floor: the same columns from the Parquet cache",
    "pandas": "pandas baseline: read_csv (3 columns) + tracker table",
    "pk_cold": "postback-kit load + diagnose, cold (CSV, empty cache)",
    "pk_warm": "postback-kit load + diagnose, warm (export and diagnosis cached)",
    "pk_recompute": "postback-kit load + diagnose, diagnosis recomputed (export cached)",
    "pk_triage": "postback-kit triage alone (warm)",
    "pk_json": "postback-kit load + diagnose, Logs API JSON (cold)",
}


def _ratio(cases: dict[str, Any], a: str, b: str) -> float | None:
    if a in cases and b in cases and cases[b]["median_s"] > 0:
        return float(cases[a]["median_s"] / cases[b]["median_s"])
    return None


def ratios(cases: dict[str, Any]) -> list[tuple[str, float | None, str, bool | None]]:
    rows = []
    for name, a, b, target, ok in (
        ("cold ÷ polars CSV floor", "pk_cold", "floor_csv", "≤ 2", lambda r: r <= 2),
        ("warm ÷ cold", "pk_warm", "pk_cold", "≤ 0.2", lambda r: r <= 0.2),
        ("pandas ÷ cold (speed-up)", "pandas", "pk_cold", "≥ 10", lambda r: r >= 10),
        ("pandas ÷ warm (speed-up)", "pandas", "pk_warm", "", None),
        ("recomputed ÷ cold", "pk_recompute", "pk_cold", "", None),
        ("pandas ÷ recomputed (speed-up)", "pandas", "pk_recompute", "", None),
        ("warm ÷ polars Parquet floor", "pk_warm", "floor_parquet", "", None),
    ):
        r = _ratio(cases, a, b)
        rows.append((name, r, target, None if (r is None or ok is None) else bool(ok(r))))
        warm = cases.get("pk_warm", {})
        if "pk_warm" in (a, b) and r is not None and "frames_s" in warm:
            # the same with the frames a view reads on first use: what opening 01 or 02 costs
            grown = (warm["median_s"] + warm["frames_s"]) / warm["median_s"]
            with_frames = r * grown if a == "pk_warm" else r / grown
            rows.append((f"{name}, frames read", with_frames, "", None))
    return rows


def markdown(report: dict[str, Any], label: str) -> str:
    size = report["sizes"][label]
    m = report["machine"]
    meta = size["export"]
    lines = [
        f"### {label} attempts",
        "",
        f"Measured {report['started']} on {m['cores']} cores ({m['cpu']}), {m['ram_gib']} GiB RAM; "
        f"Python {m['python']}, polars {m['polars']}, pandas {m['pandas']}. "
        f"Export: {meta['attempts']:,} attempts, {meta['csv_bytes'] / 1e9:.2f} GB of CSV "
        f"(generated in {meta['chunks']} chunk(s), {meta['seconds']} s).",
        "",
        f"Load average before the run: `{m['uptime']}`; after: `{size['uptime']}`.",
        "",
        "| case | median s | min–max s | reps | peak RSS GiB | CPU s | 1-min load during |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    prep = size.get("prepare")
    if prep:
        what = (
            "warm (the cache was already there)"
            if prep.get("from_cache")
            else "cold (fills the cache of the warm cases)"
        )
        lines.append(
            f"| postback-kit load alone, {what} | "
            f"{prep['median_s']:.2f} | – | 1 | {prep['peak_rss'] / 2**30:.2f} | "
            f"{prep.get('cpu_s', 0):.1f} | {prep['load'][0]:.1f}–{prep['load'][1]:.1f} |"
        )
    for case, s in size["cases"].items():
        extra = f" (load {s['load_s']:.2f} s)" if "load_s" in s else ""
        if "frames_s" in s:
            extra = extra[:-1] + f"; frames on first use +{s['frames_s']:.2f} s)"
        lines.append(
            f"| {LABELS.get(case, case)} | {s['median_s']:.2f}{extra} | "
            f"{s['min_s']:.2f}–{s['max_s']:.2f} | {s['reps']} | {s['peak_rss'] / 2**30:.2f} | "
            f"{s.get('cpu_s', 0):.1f} | {s['load'][0]:.1f}–{s['load'][1]:.1f} |"
        )
    r = size.get("redraw")
    if r:
        lines.append(
            f"| picker redraw in JupyterLab ({r['notebook']}, picker {r['picker']}) | "
            f"{r['median_ms'] / 1000:.3f} | {r['min_ms'] / 1000:.3f}–{r['max_ms'] / 1000:.3f} | "
            f"{len(r['redraw_ms'])} | – | – | {r['load'][0]:.1f}–{r['load'][1]:.1f} |"
        )
    for case, why in size["skipped"].items():
        lines.append(f"| {case} | {why.splitlines()[0][:160]} | | | | | |")
    lines += ["", "| ratio | value | target | met |", "|---|---:|---:|---|"]
    for name, value, target, ok in ratios(size["cases"]):
        if value is None:
            continue
        met = "" if ok is None else ("yes" if ok else "**no**")
        lines.append(f"| {name} | {value:.3g} | {target} | {met} |")
    if r:
        ok = r["median_ms"] <= 300
        lines.append(
            f"| picker redraw, ms | {r['median_ms']:.0f} | ≤ 300 | {'yes' if ok else '**no**'} |"
        )
    return "\n".join(lines) + "\n"


def write_section(path: Path, label: str, text: str) -> None:
    """Replace (or append) the ``label`` section between its markers in ``path``."""
    start, end = f"<!-- bench:{label}:start -->", f"<!-- bench:{label}:end -->"
    block = f"{start}\n{text}{end}\n"
    old = path.read_text("utf-8") if path.exists() else "# Benchmarks\n\n## Results\n\n"
    if start in old and end in old:
        head, rest = old.split(start, 1)
        _, tail = rest.split(end, 1)
        tail = tail.lstrip("\n")
        new = head + block + ("\n" + tail if tail else "")
    else:
        new = old.rstrip("\n") + "\n\n" + block
    path.write_text(new, "utf-8")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--sizes", default="1M", help="comma-separated export sizes (1M,10M,5k)")
    p.add_argument("--only", default="", help=f"comma-separated cases: {','.join(CASES)}")
    p.add_argument("--reps", type=int, default=3, help="repetitions per case (default 3)")
    p.add_argument("--slow-reps", type=int, default=1, help="repetitions of pk_json (default 1)")
    p.add_argument("--out", default="", help="write the results section into this Markdown file")
    p.add_argument("--json", default="", help="also write the raw results as JSON here")
    p.add_argument("--data", default=str(ROOT / "bench-data"), help="exports and caches")
    p.add_argument(
        "--notebook", default="01_triage.ipynb", help="notebook of the redraw case (notebooks/)"
    )
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--export", help=argparse.SUPPRESS)
    p.add_argument("--cache", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker(args.worker, Path(args.export), Path(args.cache))
        return 0
    report = run(args)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    for label in report["sizes"]:
        text = markdown(report, label)
        print(text)
        if args.out:
            write_section(Path(args.out), label, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
