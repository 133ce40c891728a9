"""Every public function's example runs and shows what the docstring says it shows."""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil

import pytest

import analysis

MODULES = sorted(
    name
    for _, name, _ in pkgutil.iter_modules(analysis.__path__, "analysis.")
    if name != "analysis.__main__"
)


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    failures, _ = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert failures == 0


@pytest.mark.parametrize("name", analysis.__all__)
def test_public_functions_have_an_example(name: str) -> None:
    thing = getattr(analysis, name)
    if not inspect.isfunction(thing):
        return
    doc = inspect.getdoc(thing) or ""
    assert "Examples" in doc and ">>>" in doc, f"{name} has no runnable example"
