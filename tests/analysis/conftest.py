"""Fixtures for analysis/ tests."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """The same random stream in every test that asks for one."""
    return np.random.default_rng(20250101)
