"""Landmark smoothing: the One Euro filter.

MediaPipe's pose landmarker smooths one person's landmarks itself in VIDEO and LIVE_STREAM mode
(pose_landmarker_graph.cc turns smooth_landmarks on when num_poses is 1 and the task runs on a stream; in
IMAGE mode raw landmarks jitter by a few pixels frame to frame: 0.4-1.3 px on pelvic_tilt_11, against
0.01-0.03 px in VIDEO mode). The engine smooths again because it must not depend on where its poses come
from (per-frame detection, other models, traces), and its filter is tuned per spec. The price is some lag on
top of MediaPipe's own, and tiny held moves are flattened twice (pelvic-tilt.yaml). The One Euro filter (Casiez, Roussel, Vogel, CHI 2012) is a first-order low-pass
filter whose cutoff rises with speed: heavy smoothing when still (no jitter), little lag when moving. The
existing Python packages filter one scalar at a time; `OneEuroListFilter` filters a short list of Python
floats per call (the engine's few values of one frame). (Visibility gating is not done here:
`posecheck.engine.measures` makes a measure unknown when one of its landmarks is hidden, while the filter
keeps following every landmark.)

Pure module: standard library only.
"""

from __future__ import annotations

import math


def _alpha(dt: float, cutoff: float) -> float:
    """Smoothing factor of a first-order low-pass filter with the given cutoff (Hz) over dt seconds."""
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuroListFilter:
    """One Euro filter over a short list of Python floats, e.g. the few landmark coordinates of one frame.

    The engine filters 8 to 40 values per frame: on so few, numpy's fixed cost per call (a microsecond or so,
    some twenty calls per frame) outweighs the arithmetic, and plain floats are about twice as fast.
    tests/test_smoothing.py checks the results bit for bit against a numpy reference of the same formulas.

    NaN inputs pass through as NaN and do not disturb the other values; a value that becomes finite again
    restarts from its new value.

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
