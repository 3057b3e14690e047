from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from nbformat import NotebookNode

from tests.notebook_helpers import seed_chart_cache

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Every test gets its own Parquet cache folder, never the user's."""
    monkeypatch.setenv("POSTBACK_KIT_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="session")
def chart_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the chart library bundle, built once per session (it takes seconds)."""
    from postback_kit import charts

    root = tmp_path_factory.mktemp("chart-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("POSTBACK_KIT_CACHE_DIR", str(root))
        charts._library_b64.cache_clear()
        charts._library_b64()
    return root


@pytest.fixture
def warm_kernels(chart_cache: Path) -> None:
    """Kernels started by this test (papermill, nbclient) find the chart bundle in their cache."""
    seed_chart_cache(chart_cache, Path(os.environ["POSTBACK_KIT_CACHE_DIR"]))


@pytest.fixture(scope="session")
def smoke_run(
    tmp_path_factory: pytest.TempPathFactory, chart_cache: Path
) -> Iterator[NotebookNode]:
    """notebooks/00_smoke.ipynb executed once per session on its built-in example (which has
    hostile response bodies), tracker t2 chosen."""
    from tests.notebook_helpers import execute

    cache = tmp_path_factory.mktemp("smoke-cache")
    seed_chart_cache(chart_cache, cache)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("POSTBACK_KIT_CACHE_DIR", str(cache))
        yield execute("00_smoke.ipynb", export_path="", tracker="t2")
