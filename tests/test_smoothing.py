"""One Euro filter (the engine's `OneEuroListFilter`), checked on its behaviour and, bit for bit, against a numpy
reference of the same formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest

from posecheck.core.smoothing import OneEuroListFilter

FPS = 30.0


def _times(n: int) -> np.ndarray:
    return np.arange(n) / FPS


def _series(f: OneEuroListFilter, ts: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """(N, K) filtered samples of (N, K) samples xs at (N,) seconds ts, one call per row."""
    return np.array([f(t, x) for t, x in zip(ts.tolist(), xs.tolist())])


class _ReferenceOneEuro:
    """The One Euro filter on numpy arrays, written from the paper (Casiez et al. 2012): the oracle that
    `OneEuroListFilter` must match. NaN values pass through; a value that returns restarts from itself."""

    def __init__(self, min_cutoff: float, beta: float, d_cutoff: float):
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.reset()

    def reset(self) -> None:
        self._t: float | None = None
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None

    @staticmethod
    def _alpha(dt: float, cutoff):
        tau = 1.0 / (2.0 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    def __call__(self, t: float, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self._t is None or self._x is None or self._dx is None:
            self._t, self._x, self._dx = t, x.copy(), np.zeros_like(x)
            return x.copy()
        dt = t - self._t
        if dt <= 0:
            return self._x.copy()
        dx = (x - self._x) / dt
        dx_hat = self._dx + self._alpha(dt, self.d_cutoff) * (dx - self._dx)
        cutoff = self.min_cutoff + self.beta * np.abs(dx_hat)
        x_hat = self._x + self._alpha(dt, cutoff) * (x - self._x)
        restart = np.isnan(self._x)
        x_hat = np.where(restart, x, x_hat)
        dx_hat = np.where(restart | np.isnan(dx_hat), 0.0, dx_hat)
        self._t, self._x, self._dx = t, x_hat, dx_hat
        return x_hat.copy()


def test_a_constant_signal_passes_unchanged():
    out = _series(OneEuroListFilter(1.0, 0.05, 1.0), _times(50), np.full((50, 3), 7.5))
    assert np.allclose(out, 7.5)


def test_jitter_at_rest_is_damped():
    rng = np.random.default_rng(0)
    noisy = 100.0 + rng.normal(0.0, 2.0, size=(300, 1))
    out = _series(OneEuroListFilter(1.0, 0.0, 1.0), _times(300), noisy)
    assert out[30:].std() < noisy[30:].std() / 3


def test_a_step_is_followed_and_a_higher_beta_lags_less():
    step = np.where(_times(60) < 0.5, 0.0, 1.0)[:, None]
    slow = _series(OneEuroListFilter(1.0, 0.0, 1.0), _times(60), step)
    fast = _series(OneEuroListFilter(1.0, 10.0, 1.0), _times(60), step)
    after = 15 + 5  # five frames after the step
    assert 0.0 < slow[after, 0] < fast[after, 0] <= 1.0
    assert fast[-1, 0] == pytest.approx(1.0, abs=0.05)


def test_a_repeated_timestamp_returns_the_previous_output():
    f = OneEuroListFilter(1.0, 0.0, 1.0)
    first = f(0.0, [1.0])
    f(0.1, [2.0])
    again = f(0.1, [50.0])
    assert first[0] == 1.0
    assert 1.0 < again[0] < 2.0


def test_nan_values_stay_unknown_and_restart_when_they_return():
    f = OneEuroListFilter(1.0, 0.0, 1.0)
    f(0.0, [1.0, math.nan])
    out = f(0.1, [1.0, math.nan])
    assert out[0] == 1.0 and math.isnan(out[1])
    back = f(0.2, [1.0, 5.0])
    assert back[1] == 5.0  # no NaN stuck in the state, no blend with an unknown past


def test_reset_forgets_the_past():
    f = OneEuroListFilter(1.0, 0.0, 1.0)
    f(0.0, [0.0])
    f.reset()
    assert f(0.1, [9.0])[0] == 9.0


def test_the_filter_gives_the_numpy_reference_results_bit_for_bit():
    # The engine's per-frame floats must not drift from the paper's formulas on arrays.
    rng = np.random.default_rng(3)
    xs = np.cumsum(rng.normal(scale=5.0, size=(200, 12)), axis=0)
    xs[20:30, 3] = np.nan  # a value lost for a while, then back
    xs[50, :] = np.nan
    xs[::17, 7] = np.nan
    ts = _times(200)
    ts[100] = ts[99]  # a repeated timestamp
    array_filter, list_filter = _ReferenceOneEuro(0.8, 0.4, 1.2), OneEuroListFilter(0.8, 0.4, 1.2)
    for i, (t, x) in enumerate(zip(ts.tolist(), xs)):
        if i == 150:
            array_filter.reset()
            list_filter.reset()
        expected = array_filter(t, x)
        got = list_filter(t, x.tolist())
        assert all(type(v) is float for v in got)
        assert np.array_equal(np.array(got), expected, equal_nan=True), i


@pytest.mark.parametrize(("min_cutoff", "beta", "d_cutoff"), [(0.0, 0.0, 1.0), (1.0, -1.0, 1.0), (1.0, 0.0, 0.0)])
def test_bad_parameters_are_rejected(min_cutoff, beta, d_cutoff):
    with pytest.raises(ValueError):
        OneEuroListFilter(min_cutoff, beta, d_cutoff)
