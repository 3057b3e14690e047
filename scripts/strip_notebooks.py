"""Strip outputs, execution counts and run metadata from notebooks before committing them.

    python scripts/strip_notebooks.py                 # every notebooks/*.ipynb (``make strip``)
    python scripts/strip_notebooks.py --check [PATH]  # list dirty notebooks, exit 1 if any

Cell ids, tags (``parameters``) and the kernelspec are kept.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
RUN_METADATA = ("execution", "papermill", "collapsed", "scrolled")


def problems(nb: nbformat.NotebookNode) -> list[str]:
    """Why a notebook is not clean for committing (empty when it is)."""
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.get("outputs"):
            found.append(f"cell {i} has outputs")
        if cell.get("execution_count") is not None:
            found.append(f"cell {i} has an execution count")
        if run := [k for k in RUN_METADATA if k in cell.get("metadata", {})]:
            found.append(f"cell {i} has run metadata {run}")
    found += [f"notebook metadata has {k!r}" for k in ("widgets", "papermill") if k in nb.metadata]
    return found


def strip(nb: nbformat.NotebookNode) -> bool:
    """Remove outputs and run metadata in place; True when anything changed."""
    changed = False
    for cell in nb.cells:
        ran = cell.get("outputs") or cell.get("execution_count") is not None
        if cell.get("cell_type") == "code" and ran:
            cell["outputs"], cell["execution_count"] = [], None
            changed = True
        metadata = cell.get("metadata", {})
        for key in RUN_METADATA:
            if key in metadata:
                del metadata[key]
                changed = True
        if "tags" in metadata and not metadata["tags"]:  # papermill adds empty tag lists
            del metadata["tags"]
            changed = True
    for key in ("widgets", "papermill"):
        if key in nb.metadata:
            del nb.metadata[key]
            changed = True
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path)
    parser.add_argument("--check", action="store_true", help="change nothing, exit 1 if dirty")
    args = parser.parse_args(argv)
    paths = args.paths or sorted((ROOT / "notebooks").glob("*.ipynb"))
    dirty = 0
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        if args.check:
            if found := problems(nb):
                dirty += 1
                print(f"{path}: {'; '.join(found)}", file=sys.stderr)
        elif strip(nb):
            nbformat.write(nb, path)
            print(f"{path}: stripped", file=sys.stderr)
    if dirty:
        print("run `make strip` to clean them", file=sys.stderr)
    return 1 if dirty else 0


if __name__ == "__main__":
    sys.exit(main())
