"""The public API is what __all__ says, and importing it stays light."""

from __future__ import annotations

import subprocess
import sys

import postback_kit as pk


def test_all_names_exist_and_are_documented() -> None:
    for name in pk.__all__:
        obj = getattr(pk, name)
        if callable(obj) and not name.startswith("__"):
            assert obj.__doc__, f"{name} has no docstring"
    assert sorted(pk.__all__) == sorted(set(pk.__all__))


def test_public_callables_are_all_exported() -> None:
    public = {n for n in dir(pk) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(pk, n)).__name__ == "module"}
    assert public - modules - set(pk.__all__) == set(), "export it in __all__ or make it private"


def test_import_does_not_pull_in_widgets_or_jupyter() -> None:
    code = (
        "import sys, postback_kit; "
        "bad = [m for m in ('ipywidgets', 'jupyterlab', 'IPython', 'altair', 'requests') "
        "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_heavier_modules_load_on_first_use() -> None:
    code = (
        "import sys, postback_kit as pk; "
        "assert 'altair' not in sys.modules; "
        "assert callable(pk.samples.generate) and callable(pk.charts.show); "
        "assert 'altair' in sys.modules; "
        "getattr(pk, 'nope', None) is None or sys.exit(2)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
