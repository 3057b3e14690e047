from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Every test gets its own Parquet cache folder, never the user's."""
    monkeypatch.setenv("POSTBACK_KIT_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
