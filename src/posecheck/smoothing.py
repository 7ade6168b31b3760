"""Landmark smoothing: the One Euro filter.

MediaPipe's Tasks API has no landmark smoothing (the legacy graph had it), so raw landmarks jitter by a few
pixels frame to frame. The One Euro filter (Casiez, Roussel, Vogel, CHI 2012) is a first-order low-pass
filter whose cutoff rises with speed: heavy smoothing when still (no jitter), little lag when moving. The
existing Python packages filter one scalar at a time; `OneEuroFilter` filters a whole array per call, and
`OneEuroListFilter` a short list of Python floats (the engine's few values of one frame). (Visibility
gating is not done here: `posecheck.engine.measures` makes a measure unknown when one of its landmarks is
hidden, while the filter keeps following every landmark.)

Pure module: numpy only.
"""

from __future__ import annotations

import math

import numpy as np


def _alpha(dt: float, cutoff: np.ndarray | float) -> np.ndarray | float:
    """Smoothing factor of a first-order low-pass filter with the given cutoff (Hz) over dt seconds."""
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class _OneEuroSettings:
    """The filter's three settings, checked once for both forms of the filter.

    Args:
        min_cutoff: Hz, the cutoff when still (lower = smoother at rest, more lag).
        beta: speed coefficient: the cutoff grows by beta * |speed| (speed in value units per second).
        d_cutoff: Hz, cutoff of the low-pass filter on the speed itself.
    """

    def __init__(self, min_cutoff: float, beta: float, d_cutoff: float):
        if min_cutoff <= 0 or d_cutoff <= 0 or beta < 0:
            raise ValueError(f"{type(self).__name__}: min_cutoff and d_cutoff must be > 0 and beta >= 0")
        self.min_cutoff = min_cutoff
        self.beta = beta
        self.d_cutoff = d_cutoff
        self.reset()

    def reset(self) -> None:
        raise NotImplementedError


class OneEuroFilter(_OneEuroSettings):
    """One Euro filter over an array of values, e.g. (K, D) landmark coordinates (whole traces at once with
    `filter_series`; the engine uses `OneEuroListFilter`, which gives the same results on a frame's few values).

    Args: see `_OneEuroSettings`.

    NaN inputs pass through as NaN and do not disturb the other values; a value that becomes finite again
    restarts from its new value.
    """

    def reset(self) -> None:
        """Forgets the past: the next value passes unfiltered."""
        self._t: float | None = None
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None

    def __call__(self, t: float, x: np.ndarray) -> np.ndarray:
        """Filters one sample.

        Args:
            t: seconds; must not go backwards (an equal or earlier t returns the previous output).
            x: array of any shape, the same shape every call.

        Returns:
            The filtered array (a new array, same shape as x).
        """
        x = np.asarray(x, dtype=np.float64)
        if self._t is None or self._x is None or self._dx is None:
            self._t, self._x, self._dx = t, x.copy(), np.zeros_like(x)
            return x.copy()
        dt = t - self._t
        if dt <= 0:
            return self._x.copy()
        dx = (x - self._x) / dt
        dx_hat = self._dx + _alpha(dt, self.d_cutoff) * (dx - self._dx)
        cutoff = self.min_cutoff + self.beta * np.abs(dx_hat)
        x_hat = self._x + _alpha(dt, cutoff) * (x - self._x)
        # Values that were unknown (NaN) restart from their new value instead of staying NaN forever.
        restart = np.isnan(self._x)
        x_hat = np.where(restart, x, x_hat)
        dx_hat = np.where(restart | np.isnan(dx_hat), 0.0, dx_hat)
        self._t, self._x, self._dx = t, x_hat, dx_hat
        return x_hat.copy()

    def filter_series(self, ts: np.ndarray, xs: np.ndarray) -> np.ndarray:
        """Filters a whole series in order (the state carries on from earlier calls).

        Args:
            ts: (N,) seconds, non-decreasing.
            xs: (N, ...) samples.

        Returns:
            (N, ...) filtered samples.
        """
        out = np.empty(xs.shape, dtype=np.float64)
        for i in range(len(ts)):
            out[i] = self(float(ts[i]), xs[i])
        return out


class OneEuroListFilter(_OneEuroSettings):
    """`OneEuroFilter` over a short list of Python floats, e.g. the few landmark coordinates of one frame.

    The engine filters 8 to 40 values per frame: on so few, numpy's fixed cost per call (a microsecond or so,
    some twenty calls per frame) outweighs the arithmetic, and plain floats are about twice as fast. Same
    formulas in the same order as `OneEuroFilter`, so the results are bit-identical
    (tests/test_smoothing.py checks it).

    Args: see `_OneEuroSettings`.
    """

    def reset(self) -> None:
        """Forgets the past: the next values pass unfiltered."""
        self._t: float | None = None
        self._x: list[float] = []
        self._dx: list[float] = []

    def __call__(self, t: float, x: list[float]) -> list[float]:
        """Filters one sample.

        Args:
            t: seconds; must not go backwards (an equal or earlier t returns the previous output).
            x: the values, as many every call.

        Returns:
            The filtered values (a new list).
        """
        if self._t is None:
            self._t, self._x, self._dx = t, list(x), [0.0] * len(x)
            return list(x)
        dt = t - self._t
        if dt <= 0:
            return list(self._x)
        alpha_d = _alpha(dt, self.d_cutoff)
        two_pi, min_cutoff, beta = 2.0 * math.pi, self.min_cutoff, self.beta
        out: list[float] = []
        speeds: list[float] = []
        for value, previous, speed in zip(x, self._x, self._dx):
            change = value - previous
            speed_hat = speed + alpha_d * (change / dt - speed)
            # _alpha(dt, cutoff), written out: a call per value would cost as much as the rest of the loop.
            alpha = 1.0 / (1.0 + (1.0 / (two_pi * (min_cutoff + beta * abs(speed_hat)))) / dt)
            if speed_hat == speed_hat:
                out.append(previous + alpha * change)
                speeds.append(speed_hat)
            else:  # the value or the previous output is NaN (the speed never is)
                # A value that was unknown restarts from its new value instead of staying NaN forever.
                out.append(value if previous != previous else previous + alpha * change)
                speeds.append(0.0)
        self._t, self._x, self._dx = t, out, speeds
        return list(out)
