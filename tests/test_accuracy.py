"""Every built-in spec on the committed landmark traces of its labelled clips.

Parametrised over the labels, so a new spec in exercise_specs/ is picked up on its own; clips whose spec does
not exist yet are skipped (not failed). Checks, per clip: the count within one rep of the label, zero
phantom reps (counted while walking in, setting up, resting or holding), hold time within 1 s, and the same
count on the mirror image. Over all clips with a spec: an exact share no lower than this commit reaches, and
clearly ahead of the AIGym-style baseline. The issue's targets (exact on 90 % of clips...) are measured in
benchmarks/ACCURACY.md, never asserted here: a target is where the specs should get, a ratchet is where they are.

Known failures are listed in KNOWN_FAILURES, per test and clip, with a reason, and run as xfail(strict=True), so
that a fix shows up as an XPASS failure and the entry must be removed. EXACT_SHARE_FLOOR holds the level this
commit reaches so that a regression fails.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from posecheck.evaluation.baseline import load_baseline_table, run_baseline
from posecheck.evaluation.labels import ClipLabel, load_labels
from posecheck.evaluation.runner import run_engine
from posecheck.evaluation.scoring import ClipScore, score_clip, summarise
from posecheck.evaluation.variants import mirrored
from posecheck.specs import SpecRegistry, builtin_specs_dir
from posecheck.core.trace import Trace

DATA = Path(__file__).parent / "data"
LABELS = load_labels(DATA / "labels.yaml")
TRACES = DATA / "traces"

#: Target from the issue: hold time within this many seconds of the label.
HOLD_TOLERANCE_S = 1.0

#: What the committed specs reach (37 of 43 scored clips exact, measured on these traces, with the 9 new `*_31`/
#: `*_32` clips and the cobra, sphinx and sit-up clips of issue 13, all five exact): a ratchet, raise it when a spec improves, never lower it to pass. The six misses:
#: knee_drops_11, pelvic_tilt_11 and crunch_31 (see KNOWN_FAILURES), glute_bridge_03, whose last bridge is only
#: half way down when the clip ends (exercise_specs/glute-bridge.yaml, reps), dead_bug_32 (5 of 6, within one)
#: and cat_cow_32 (another spec group's).
EXACT_SHARE_FLOOR = 37 / 43

#: (test name, clip file name) -> reason. Only for failures the spec writers knowingly leave, each explained in
#: the spec's header; each runs as xfail(strict=True).
KNOWN_FAILURES: dict[tuple[str, str], str] = {
    ("count_within_one_rep", "knee_drops_11.mp4"): (
        "side camera: the knee drops away from the camera lower the knees (2D or world) no more than resting "
        "knee heights differ between people, so only the 2 drops toward the camera are counted "
        "(exercise_specs/knee-drops.yaml)"
    ),
    ("count_within_one_rep", "crunch_31.mp4"): (
        "crunch with the legs held up: the shoulders rise only 0.1 torso lengths in 3D (0.08-0.24 in the image), "
        "the ear 0.12; counting that would also count breathing and head nods. Only the ear-shoulder-hip curl "
        "moves clearly (30 deg), but a dead bug's or a sit-up's head varies it by 20 deg (exercise_specs/crunch.yaml)"
    ),
    ("count_within_one_rep", "pelvic_tilt_11.mp4"): (
        "the lying pelvic tilt moves the hip about 1 % of a torso length, below landmark resolution "
        "(exercise_specs/pelvic-tilt.yaml)"
    ),
    ("hold_time_within_a_second", "childs_pose_32.mp4"): (
        "a slow entry: the hips already fold to 40 deg (the held fold of childs_pose_03) by 3 s while the "
        "label starts the hold at 6.5 s, when the sinking stops; only a stillness rule fitted to this clip "
        "would tell the two apart, so the hold is timed from the fold (exercise_specs/childs-pose.yaml)"
    ),
    ("hold_time_within_a_second", "cobra_13.mp4"): (
        "the label times the cobra from the top of the press (5.0 s) to the first easing back (8.5 s); posecheck "
        "times the chest lifted past a gentle sphinx's height (sin 17 deg), which the press passes 0.8 s earlier "
        "and the way back into downward dog 0.8 s later (5.1 s of 3.5). A stillness or release rule trimming both "
        "ends would be fitted to this clip (exercise_specs/cobra.yaml)"
    ),
    ("hold_time_within_a_second", "pelvic_tilt_11.mp4"): (
        "the tilt holds cannot be told from rest for the same reason: nothing is timed (exercise_specs/pelvic-tilt.yaml)"
    ),
}


def _registry() -> SpecRegistry:
    # Built-in specs only: $POSECHECK_SPECS must not change what the test suite measures.
    builtin = builtin_specs_dir()
    return SpecRegistry([builtin] if builtin is not None else [])


REGISTRY = _registry()


@cache
def poses(stem: str):
    path = TRACES / f"{stem}.npz"
    if not path.is_file():
        pytest.fail(f"{path.name}: no committed trace for a labelled clip (make it with benchmarks/make_traces.py)")
    return list(Trace.load(path).poses())


@cache
def posecheck_score(clip: str, mirror: bool = False) -> ClipScore:
    label = next(lb for lb in LABELS if lb.clip == clip)
    stream = poses(label.stem)
    return score_clip(label, run_engine(REGISTRY.load(label.exercise), mirrored(stream) if mirror else stream))


def _cases(test: str = "") -> list:
    cases = []
    for label in LABELS:
        marks = []
        if (test, label.clip) in KNOWN_FAILURES:
            marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[(test, label.clip)]))
        cases.append(pytest.param(label, id=f"{label.exercise}:{label.stem}", marks=marks))
    return cases


def _need_spec(label: ClipLabel) -> None:
    if label.exercise not in REGISTRY:
        pytest.skip(f"no spec '{label.exercise}' yet")


@pytest.mark.parametrize("label", _cases("count_within_one_rep"))
def test_count_within_one_rep(label: ClipLabel):
    _need_spec(label)
    if label.reps is None:
        pytest.skip("reps: null: the count could not be told, nothing to score")
    score = posecheck_score(label.clip)
    assert score.count_error is not None
    assert abs(score.count_error) <= 1, f"{label.clip}: counted {score.counted_reps}, labelled {label.reps}"


@pytest.mark.parametrize("label", _cases("no_phantom_reps"))
def test_no_phantom_reps(label: ClipLabel):
    _need_spec(label)
    score = posecheck_score(label.clip)
    if score.phantoms is None:
        pytest.skip("no labelled rep intervals to tell phantoms by")
    assert score.phantoms == 0, f"{label.clip}: reps counted outside every labelled rep at {list(score.phantom_times)}"


@pytest.mark.parametrize("label", [c for c in _cases("hold_time_within_a_second") if c.values[0].holds])
def test_hold_time_within_a_second(label: ClipLabel):
    _need_spec(label)
    hold = posecheck_score(label.clip).hold
    assert hold is not None
    assert hold.error_s <= HOLD_TOLERANCE_S, (
        f"{label.clip}: timed {hold.counted_s:.1f} s, labelled {hold.truth_s:.1f} s "
        f"(per hold errors {[round(e, 2) for e in hold.per_hold_error_s]}, untimed-hold seconds {hold.extra_s:.1f})"
    )


@pytest.mark.parametrize("label", _cases("mirror_image_counts_the_same"))
def test_mirror_image_counts_the_same(label: ClipLabel):
    """A left-right mirrored person does the same exercise: the count must not depend on the side."""
    _need_spec(label)
    assert posecheck_score(label.clip, mirror=True).counted_reps == posecheck_score(label.clip).counted_reps


def _scored_with_spec() -> list[ClipLabel]:
    return [lb for lb in LABELS if lb.exercise in REGISTRY and lb.reps is not None]


def _exact_share() -> tuple[float, int, dict[str, tuple[int, int]]]:
    clips = _scored_with_spec()
    if not clips:
        pytest.skip("no spec for any labelled clip yet")
    totals = summarise([posecheck_score(lb.clip) for lb in clips])
    wrong = {lb.clip: (posecheck_score(lb.clip).counted_reps, lb.reps) for lb in clips if not posecheck_score(lb.clip).exact}
    return totals.exact, totals.scored, wrong


def test_exact_count_no_worse_than_the_committed_specs():
    share, scored, wrong = _exact_share()
    assert share >= EXACT_SHARE_FLOOR - 1e-9, f"exact on {share:.0%} of {scored} clips; (counted, labelled): {wrong}"


def test_clearly_ahead_of_the_aigym_baseline():
    clips = _scored_with_spec()
    if not clips:
        pytest.skip("no spec for any labelled clip yet")
    rules = load_baseline_table()
    ours = summarise([posecheck_score(lb.clip) for lb in clips])
    theirs = summarise([score_clip(lb, run_baseline(poses(lb.stem), rules[lb.exercise])) for lb in clips])
    assert ours.exact > theirs.exact, f"exact posecheck {ours.exact:.0%} vs baseline {theirs.exact:.0%}"
    if ours.mae is not None:  # None when every scored clip is a pure hold (truth 0)
        assert ours.mae < theirs.mae, f"MAE posecheck {ours.mae:.0%} vs baseline {theirs.mae:.0%}"
