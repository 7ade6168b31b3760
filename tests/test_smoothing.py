"""One Euro filter."""

from __future__ import annotations

import numpy as np
import pytest

from posecheck.smoothing import OneEuroFilter, OneEuroListFilter

FPS = 30.0


def _times(n: int) -> np.ndarray:
    return np.arange(n) / FPS


def test_a_constant_signal_passes_unchanged():
    f = OneEuroFilter(1.0, 0.05, 1.0)
    out = f.filter_series(_times(50), np.full((50, 3), 7.5))
    assert np.allclose(out, 7.5)


def test_jitter_at_rest_is_damped():
    rng = np.random.default_rng(0)
    noisy = 100.0 + rng.normal(0.0, 2.0, size=(300, 1))
    out = OneEuroFilter(1.0, 0.0, 1.0).filter_series(_times(300), noisy)
    assert out[30:].std() < noisy[30:].std() / 3


def test_a_step_is_followed_and_a_higher_beta_lags_less():
    step = np.where(_times(60) < 0.5, 0.0, 1.0)[:, None]
    slow = OneEuroFilter(1.0, 0.0, 1.0).filter_series(_times(60), step)
    fast = OneEuroFilter(1.0, 10.0, 1.0).filter_series(_times(60), step)
    after = 15 + 5  # five frames after the step
    assert 0.0 < slow[after, 0] < fast[after, 0] <= 1.0
    assert fast[-1, 0] == pytest.approx(1.0, abs=0.05)


def test_filter_series_equals_one_call_per_frame():
    rng = np.random.default_rng(1)
    xs = rng.normal(size=(40, 33, 5))
    ts = _times(40)
    batch = OneEuroFilter(1.0, 0.3, 1.0).filter_series(ts, xs)
    single = OneEuroFilter(1.0, 0.3, 1.0)
    assert np.array_equal(batch, np.stack([single(float(t), x) for t, x in zip(ts, xs)]))


def test_a_repeated_timestamp_returns_the_previous_output():
    f = OneEuroFilter(1.0, 0.0, 1.0)
    first = f(0.0, np.array([1.0]))
    f(0.1, np.array([2.0]))
    again = f(0.1, np.array([50.0]))
    assert first[0] == 1.0
    assert 1.0 < again[0] < 2.0


def test_nan_values_stay_unknown_and_restart_when_they_return():
    f = OneEuroFilter(1.0, 0.0, 1.0)
    f(0.0, np.array([1.0, np.nan]))
    out = f(0.1, np.array([1.0, np.nan]))
    assert out[0] == 1.0 and np.isnan(out[1])
    back = f(0.2, np.array([1.0, 5.0]))
    assert back[1] == 5.0  # no NaN stuck in the state, no blend with an unknown past


def test_reset_forgets_the_past():
    f = OneEuroFilter(1.0, 0.0, 1.0)
    f(0.0, np.array([0.0]))
    f.reset()
    assert f(0.1, np.array([9.0]))[0] == 9.0


@pytest.mark.parametrize(("min_cutoff", "beta", "d_cutoff"), [(0.0, 0.0, 1.0), (1.0, -1.0, 1.0), (1.0, 0.0, 0.0)])
def test_bad_parameters_are_rejected(min_cutoff, beta, d_cutoff):
    with pytest.raises(ValueError):
        OneEuroFilter(min_cutoff, beta, d_cutoff)


def test_the_list_filter_gives_the_array_filter_results_bit_for_bit():
    # The engine filters each frame's few values with OneEuroListFilter: it must not drift from OneEuroFilter.
    rng = np.random.default_rng(3)
    xs = np.cumsum(rng.normal(scale=5.0, size=(200, 12)), axis=0)
    xs[20:30, 3] = np.nan  # a value lost for a while, then back
    xs[50, :] = np.nan
    xs[::17, 7] = np.nan
    ts = _times(200)
    ts[100] = ts[99]  # a repeated timestamp
    array_filter, list_filter = OneEuroFilter(0.8, 0.4, 1.2), OneEuroListFilter(0.8, 0.4, 1.2)
    for i, (t, x) in enumerate(zip(ts.tolist(), xs)):
        if i == 150:
            array_filter.reset()
            list_filter.reset()
        expected = array_filter(t, x)
        got = list_filter(t, x.tolist())
        assert all(type(v) is float for v in got)
        assert np.array_equal(np.array(got), expected, equal_nan=True), i


@pytest.mark.parametrize(("min_cutoff", "beta", "d_cutoff"), [(0.0, 0.0, 1.0), (1.0, -1.0, 1.0), (1.0, 0.0, 0.0)])
def test_the_list_filter_rejects_bad_parameters(min_cutoff, beta, d_cutoff):
    with pytest.raises(ValueError):
        OneEuroListFilter(min_cutoff, beta, d_cutoff)
