"""Pinning the estimator and the helper threads to separate cores (posecheck.runtime.cores), alone and in a session."""

from __future__ import annotations

import os
import threading

import pytest

from posecheck.runtime import cores
from posecheck.runtime.cores import CoreSplit, join_helper_cores, pinned, plan_split
from posecheck.runtime.session import run_session
from session_stand_ins import CountingEngine, EveryOtherEstimator, ListSource

can_pin = pytest.mark.skipif(
    not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="needs Linux thread affinity and at least two usable cores",
)


def my_cores() -> set[int]:
    return os.sched_getaffinity(0)  # 0: the calling thread


def test_no_split_when_turned_off(monkeypatch):
    monkeypatch.setenv("POSECHECK_PIN_CORES", "0")
    assert plan_split() is None


def test_no_split_with_one_usable_core(monkeypatch):
    monkeypatch.delenv("POSECHECK_PIN_CORES", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3}, raising=False)
    assert plan_split() is None


@can_pin
def test_the_helpers_get_the_last_usable_core(monkeypatch):
    monkeypatch.delenv("POSECHECK_PIN_CORES", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 5, 7})
    assert plan_split() == CoreSplit(estimator=frozenset({0, 1, 5}), helpers=frozenset({7}))


def test_pinned_without_a_split_changes_nothing():
    before = my_cores()
    with pinned(None):
        assert my_cores() == before
        join_helper_cores()
        assert my_cores() == before


@can_pin
def test_pinned_places_each_thread_by_role_and_restores_them():
    before = my_cores()
    split = CoreSplit(frozenset({min(before)}), frozenset({max(before)}))
    seen: dict[str, set[int]] = {}
    release = threading.Event()
    pinned_now = threading.Event()

    def old_helper():  # started before the block: pinned by its name
        pinned_now.wait(5)
        seen["old helper"] = my_cores()
        release.wait(5)

    def new_helper():  # started inside the block: moves itself
        join_helper_cores()
        seen["new helper"] = my_cores()

    def other():  # not ours (as MediaPipe's threads): inherits the estimator's cores
        seen["other"] = my_cores()

    waiting = threading.Thread(target=old_helper, name="posecheck-test-helper")
    waiting.start()
    try:
        with pinned(split):
            seen["loop"] = my_cores()
            pinned_now.set()
            for target, name in ((new_helper, "posecheck-later"), (other, "someone-else")):
                thread = threading.Thread(target=target, name=name)
                thread.start()
                thread.join()
        seen["loop after"] = my_cores()
        seen["old helper after"] = os.sched_getaffinity(waiting.native_id)
    finally:
        pinned_now.set()
        release.set()
        waiting.join()
    assert seen["loop"] == seen["other"] == set(split.estimator)
    assert seen["old helper"] == seen["new helper"] == set(split.helpers)
    assert seen["loop after"] == seen["old helper after"] == before
    # Outside a pinned block a helper thread stays where it is.
    join_helper_cores()
    assert my_cores() == before


@can_pin
def test_a_pinned_block_inside_another_leaves_the_pinning_to_the_outer_one():
    before = my_cores()
    outer = CoreSplit(frozenset({min(before)}), frozenset({max(before)}))
    swapped = CoreSplit(outer.helpers, outer.estimator)  # would move the loop's thread if it were applied
    with pinned(outer):
        with pinned(swapped):
            assert my_cores() == set(outer.estimator)
        assert my_cores() == set(outer.estimator) and cores._active is outer, "the inner block changed nothing"
    assert my_cores() == before and cores._active is None


class CoresSink:
    """Records, per frame, the cores of the thread it runs on."""

    def __init__(self, background_safe: bool):
        self.background_safe = background_safe
        self.cores: list[set[int]] = []

    def on_start(self, info):
        pass

    def on_frame(self, frame_bgr, pose, state, events):
        self.cores.append(my_cores())

    def on_finish(self, summary):
        pass


@can_pin
def test_a_pipelined_session_pins_and_restores(monkeypatch):
    monkeypatch.delenv("POSECHECK_PIN_CORES", raising=False)
    split = plan_split()
    before = my_cores()
    in_loop, in_background = CoresSink(background_safe=False), CoresSink(background_safe=True)
    result = run_session(ListSource(6), EveryOtherEstimator(), CountingEngine(), [in_loop, in_background],
                         exercise="stand-in", prefetch=2, background=2)
    assert result.frames == 6
    assert in_loop.cores == [set(split.estimator)] * 6
    assert in_background.cores == [set(split.helpers)] * 6
    assert my_cores() == before
    assert cores._active is None


@can_pin
@pytest.mark.parametrize(("needs_frames", "prefetch", "background", "pin_cores"), [
    (True, 0, 0, True),  # the serial loop has no helper threads
    (False, 2, 2, True),  # trace replay runs no estimator
    (True, 2, 2, False),  # asked not to
])
def test_sessions_that_do_not_pin(needs_frames, prefetch, background, pin_cores):
    before = my_cores()
    sink = CoresSink(background_safe=False)
    run_session(ListSource(3, frames=needs_frames), EveryOtherEstimator(needs_frames), CountingEngine(), [sink],
                exercise="stand-in", prefetch=prefetch, background=background, pin_cores=pin_cores)
    assert sink.cores == [before] * 3
