"""Every built-in spec on the committed traces seen from other camera positions (posecheck.evaluation.views).

People film from wherever their laptop stands. The traces' 3D world landmarks are turned 30 deg either way about
the person and seen from a camera raised 20 deg (the views a spec must count exactly on: the issue's target is
85 % of clips, with no phantom rep), and turned 60 deg either way (within one rep on 80 % of clips; some
exercises cannot be seen from there). Per clip: within one rep and no phantom on the near views; over all clips:
the exact share on each near view and the within-one share on each far view no lower than this commit reaches
(ratchets: raise them when a spec improves, never lower them to pass).

Known failures are listed in VIEW_KNOWN_FAILURES with a reason and run as xfail(strict=True).
"""

from __future__ import annotations

from functools import cache

import pytest
from test_accuracy import LABELS, REGISTRY, poses

from posecheck.evaluation.labels import ClipLabel
from posecheck.evaluation.runner import run_engine
from posecheck.evaluation.scoring import ClipScore, score_clip, summarise
from posecheck.evaluation.variants import VIEW_VARIANTS

VIEWS = {variant.name: variant for variant in VIEW_VARIANTS}
NEAR_VIEWS = ("yaw-30", "yaw+30", "elev20")
FAR_VIEWS = ("yaw-60", "yaw+60")

#: Ratchets (share of scored clips): exact count on each near view, within one rep on each far view.
#: Measured on the committed traces: 30 of 38 exact on each near view; 29 and 30 of 38 within one at yaw -60 / +60.
NEAR_EXACT_FLOOR = {"yaw-30": 30 / 38, "yaw+30": 30 / 38, "elev20": 30 / 38}
FAR_OBO_FLOOR = {"yaw-60": 29 / 38, "yaw+60": 30 / 38}

#: (test, clip, view) -> reason; each runs as xfail(strict=True).
VIEW_KNOWN_FAILURES: dict[tuple[str, str, str], str] = {
    # Clips that already fail as filmed (test_accuracy.KNOWN_FAILURES) fail the same way from the near views.
    **{
        ("count_within_one_rep", "knee_drops_11.mp4", view): (
            "2 of 4 as filmed (test_accuracy.KNOWN_FAILURES): the drops away from a side camera are not seen; "
            "the near views count the same 2"
        )
        for view in NEAR_VIEWS
    },
    **{
        ("count_within_one_rep", "pelvic_tilt_11.mp4", view): (
            "0 of 3 as filmed (test_accuracy.KNOWN_FAILURES): the lying tilt is below landmark resolution"
        )
        for view in NEAR_VIEWS
    },
    **{
        ("count_within_one_rep", "crunch_31.mp4", view): (
            "0 of 7 as filmed (test_accuracy.KNOWN_FAILURES): with the legs held up the shoulders rise about 0.1 "
            "torso lengths, which the crunch's trunk lift cannot tell from a dead-bug's head lift"
        )
        for view in NEAR_VIEWS
    },
    ("count_within_one_rep", "push_up_02.mp4", "yaw+30"): (
        "0 of 9: push_up_02's shallow bottoms read 112 deg of elbow in the turned picture, above the 110 deg "
        "bottom line; a line relative to the person's own range would be learnt from the walk-in (1.3 torso "
        "lengths of shoulder height against 0.5-0.8 in the reps), so it is left (exercise_specs/push-up.yaml)"
    ),
    **{
        ("no_phantom_reps", "push_up_02.mp4", view): (
            "a 0.4 s 'rep' at 24.2 s, after the last push-up, as the backlit person gets up to walk out of the "
            "frame: from this view the getting up reads as one more top"
        )
        for view in ("yaw-30", "elev20")
    },
    ("count_within_one_rep", "pelvic_tilt_02.mp4", "yaw-30"): (
        "3 of 6: the all-fours tilt slides the hip 0.03-0.05 torso lengths along the thigh, at the noise floor "
        "(the tucked line's margin is -0.07 of the range on the clip itself); a 3D thigh length counts 6 in "
        "every view but also a tilt in cat_cow_01 and bird_dog_01 as filmed (exercise_specs/pelvic-tilt.yaml)"
    ),
}


@cache
def view_score(clip: str, view: str) -> ClipScore:
    label = next(lb for lb in LABELS if lb.clip == clip)
    return score_clip(label, run_engine(REGISTRY.load(label.exercise), VIEWS[view].apply(poses(label.stem))))


def _cases(test: str) -> list:
    cases = []
    for label in LABELS:
        if label.exercise not in REGISTRY:
            continue
        for view in NEAR_VIEWS:
            marks = []
            reason = VIEW_KNOWN_FAILURES.get((test, label.clip, view))
            if reason:
                marks.append(pytest.mark.xfail(strict=True, reason=reason))
            cases.append(pytest.param(label, view, id=f"{label.exercise}:{label.stem}:{view}", marks=marks))
    return cases


@pytest.mark.parametrize("label, view", _cases("count_within_one_rep"))
def test_count_within_one_rep_from_a_near_view(label: ClipLabel, view: str):
    if label.reps is None:
        pytest.skip("reps: null: the count could not be told, nothing to score")
    score = view_score(label.clip, view)
    assert abs(score.count_error) <= 1, f"{label.clip} {view}: counted {score.counted_reps}, labelled {label.reps}"


@pytest.mark.parametrize("label, view", _cases("no_phantom_reps"))
def test_no_phantom_reps_from_a_near_view(label: ClipLabel, view: str):
    score = view_score(label.clip, view)
    if score.phantoms is None:
        pytest.skip("no labelled rep intervals to tell phantoms by")
    assert score.phantoms == 0, f"{label.clip} {view}: reps counted outside every labelled rep at {list(score.phantom_times)}"


def _totals(view: str):
    clips = [lb for lb in LABELS if lb.exercise in REGISTRY and lb.reps is not None]
    return summarise([view_score(lb.clip, view) for lb in clips])


@pytest.mark.parametrize("view", NEAR_VIEWS)
def test_exact_share_on_a_near_view_is_no_worse_than_the_committed_specs(view: str):
    totals = _totals(view)
    assert totals.exact >= NEAR_EXACT_FLOOR[view] - 1e-9, f"{view}: exact on {totals.exact:.0%} of {totals.scored} clips"


@pytest.mark.parametrize("view", FAR_VIEWS)
def test_within_one_share_on_a_far_view_is_no_worse_than_the_committed_specs(view: str):
    totals = _totals(view)
    assert totals.obo >= FAR_OBO_FLOOR[view] - 1e-9, f"{view}: within one rep on {totals.obo:.0%} of {totals.scored} clips"
