"""A stop signal that lands inside mediapipe 1.x's Image constructor leaves a half-made image whose __del__
fails; posecheck's unraisable hook drops that one message (seen as a "Traceback" after a saved Ctrl-C report on
Python 3.13), and only after a stop signal."""

from __future__ import annotations

import gc
import sys

import pytest

from posecheck import __main__ as entry
from posecheck.runtime import stopping


class HalfMadeImage:
    """Stands in for mediapipe's Image: interrupted in __init__ before it sets the attribute __del__ reads."""

    def __init__(self) -> None:
        raise KeyboardInterrupt

    def __del__(self) -> None:
        if self._image_ptr:  # noqa: B018 - what mediapipe's __del__ does
            pass


HalfMadeImage.__module__ = HalfMadeImage.__del__.__module__ = "mediapipe.tasks.python.vision.core.image"


def _make_and_drop() -> None:
    with pytest.raises(KeyboardInterrupt):
        HalfMadeImage()
    gc.collect()


@pytest.mark.parametrize(("stopped", "silent"), [(True, True), (False, False)])
def test_the_destructor_noise_of_an_interrupted_image_is_dropped_after_a_stop_only(monkeypatch, capsys, stopped, silent):
    monkeypatch.setattr(sys, "unraisablehook", entry._quiet_interrupted_destructors)
    if stopped:
        stopping.record(2)  # Ctrl-C
    _make_and_drop()
    err = capsys.readouterr().err
    assert ("Traceback" not in err) is silent, err
