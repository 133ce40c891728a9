"""The TrueType font embedded in PDFs: DejaVu Sans, which has every Vietnamese letter and tone
mark (PDF base fonts such as Helvetica do not). It ships with matplotlib."""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path


@cache
def font_directory() -> Path:
    # find_spec locates the package without importing it (matplotlib's import is slow).
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or spec.origin is None:
        raise RuntimeError("matplotlib is not installed: it provides DejaVu Sans for PDFs")
    return Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf"


def regular() -> Path:
    return font_directory() / "DejaVuSans.ttf"


def bold() -> Path:
    return font_directory() / "DejaVuSans-Bold.ttf"
