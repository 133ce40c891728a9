"""The integer evaluation of a near-zero node variance equals the term-by-term Fraction one."""

from __future__ import annotations

import time

import numpy as np

from analysis.summaries import _exact_form, _exact_form_fractions, _Moments


def _moments(rng: np.random.Generator, groups: int, items: int, weighted: bool) -> _Moments:
    if weighted:
        a = rng.uniform(0.5, 40, (groups, items))
        y = a * rng.uniform(0, 1, (groups, items))
        yy = rng.uniform(0, 30, (groups, items, items))
    else:
        a = rng.integers(1, 40, (groups, items)).astype(float)
        y = np.floor(a * rng.uniform(0, 1, (groups, items)) * 4) / 4  # mean_score quarters
        yy = rng.integers(0, 30, (groups, items, items)) / 16
    ya = rng.integers(0, 30, (groups, items, items)) / 4.0
    aa = rng.integers(0, 30, (groups, items, items)).astype(float)
    return _Moments(a, y, yy, ya, aa)


def test_integer_form_equals_fractions_exactly() -> None:
    rng = np.random.default_rng(3)
    for weighted in (False, True):
        moments = _moments(rng, 6, 7, weighted)
        lam = np.array([1 / 3, 1 / 3, 0.0, 1 / 6, 1 / 12, 1 / 12, 0.0])
        for group in range(6):
            assert _exact_form(lam, moments, group) == _exact_form_fractions(lam, moments, group)


def test_integer_form_is_faster() -> None:
    rng = np.random.default_rng(4)
    moments = _moments(rng, 3, 22, False)
    lam = np.full(22, 1 / 22)
    started = time.perf_counter()
    fast = [_exact_form(lam, moments, g) for g in range(3)]
    took_fast = time.perf_counter() - started
    started = time.perf_counter()
    slow = [_exact_form_fractions(lam, moments, g) for g in range(3)]
    took_slow = time.perf_counter() - started
    assert fast == slow
    assert took_fast < took_slow
