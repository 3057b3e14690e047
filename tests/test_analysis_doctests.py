"""The examples in the analysis modules' docstrings run as written."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("name", ["deliveries", "params", "segments", "timeline"])
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(f"postback_kit.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
