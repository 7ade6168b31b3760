"""Scoring of counted reps and holds against labels: tables of hand-made cases, edge cases included."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SHARED_VIDEOS

from posecheck.errors import InputError
from posecheck.evaluation.labels import ClipLabel, load_labels, parse_labels, select_clips
from posecheck.evaluation.scoring import (
    CountedHold,
    CountResult,
    match_intervals,
    overlap,
    phantom_indices,
    score_clip,
    score_holds,
    summarise,
)

# --- overlap / matching / phantoms -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((0.0, 2.0), (1.0, 3.0), 1.0),
        ((0.0, 2.0), (2.0, 3.0), 0.0),  # touching is not overlapping
        ((0.0, 1.0), (2.0, 3.0), 0.0),
        ((0.0, 5.0), (1.0, 2.0), 1.0),  # containment
        ((1.0, 2.0), (0.0, 5.0), 1.0),
    ],
)
def test_overlap(a, b, expected):
    assert overlap(a, b) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("counted", "truth", "pairs"),
    [
        # one-to-one, in order
        ([(0.0, 1.0), (2.0, 3.0)], [(0.1, 1.1), (2.1, 3.1)], [(0, 0), (1, 1)]),
        # nothing counted / nothing labelled
        ([], [(0.0, 1.0)], []),
        ([(0.0, 1.0)], [], []),
        # two counted reps inside one labelled rep: only the larger overlap is matched
        ([(0.0, 0.4), (0.5, 2.0)], [(0.0, 2.0)], [(1, 0)]),
        # one long counted rep spanning two labelled reps: matched once, to the larger overlap
        ([(0.5, 3.0)], [(0.0, 1.0), (1.0, 3.0)], [(0, 1)]),
        # greedy by overlap: counted 0 overlaps truth 0 a little and truth 1 a lot; counted 1 only truth 0
        ([(0.9, 3.0), (0.0, 1.0)], [(0.0, 1.0), (1.0, 3.0)], [(0, 1), (1, 0)]),
        # no overlap at all: no pairs
        ([(5.0, 6.0)], [(0.0, 1.0)], []),
    ],
)
def test_match_intervals(counted, truth, pairs):
    assert match_intervals(counted, truth) == pairs


@pytest.mark.parametrize(
    ("counted", "truth", "phantoms"),
    [
        ([(0.0, 1.0), (5.0, 6.0)], [(0.5, 2.0)], [1]),
        ([(0.0, 1.0)], [], [0]),  # a reps: 0 clip: everything counted is a phantom
        ([], [], []),
        ([(1.0, 2.0)], [(2.0, 3.0)], [0]),  # touching only: phantom
        # a second rep inside the same labelled rep is a double count, not a phantom
        ([(0.0, 0.4), (0.5, 2.0)], [(0.0, 2.0)], []),
    ],
)
def test_phantom_indices(counted, truth, phantoms):
    assert phantom_indices(counted, truth) == phantoms


# --- holds -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counted", "truth", "per_hold", "extra", "error"),
    [
        ([CountedHold(3.2, 12.7, 9.5)], [(3.0, 12.7)], (0.2,), 0.0, 0.2),
        ([], [(3.0, 12.7)], (9.7,), 0.0, 9.7),  # hold never timed
        # a hold split by a tracking loss: both pieces count for the same labelled hold
        ([CountedHold(1.0, 4.0, 3.0), CountedHold(5.0, 8.0, 3.0)], [(1.0, 8.0)], (1.0,), 0.0, 1.0),
        # a hold timed where none was labelled: extra seconds
        ([CountedHold(0.0, 2.0, 2.0), CountedHold(20.0, 30.0, 10.0)], [(19.5, 30.0)], (0.5,), 2.0, 2.0),
        # two labelled holds, one missed entirely
        ([CountedHold(3.5, 14.0, 10.0)], [(3.5, 14.25), (16.75, 21.0)], (0.75, 4.25), 0.0, 4.25),
        # a counted hold overlapping two labelled holds goes to the one it overlaps most
        ([CountedHold(0.0, 10.0, 9.0)], [(0.0, 2.0), (3.0, 10.0)], (2.0, 2.0), 0.0, 2.0),
    ],
)
def test_score_holds(counted, truth, per_hold, extra, error):
    score = score_holds(counted, truth)
    assert score.per_hold_error_s == pytest.approx(per_hold)
    assert score.extra_s == pytest.approx(extra)
    assert score.error_s == pytest.approx(error)
    assert score.truth_s == pytest.approx(sum(e - s for s, e in truth))
    assert score.counted_s == pytest.approx(sum(h.seconds for h in counted))


# --- one clip --------------------------------------------------------------------------------------

SQUATS = ClipLabel("squat.mp4", "squat", 3, ((0.0, 2.0), (3.0, 5.0), (6.0, 8.0)))
PLANK = ClipLabel("plank.mp4", "plank", 0, (), ((1.0, 11.0),))
UNKNOWN = ClipLabel("tilt.mp4", "pelvic-tilt", None)


def test_score_clip_exact_with_timing_offsets():
    result = CountResult(3, ((0.5, 2.5), (3.5, 5.5), (6.5, 8.5)))
    s = score_clip(SQUATS, result)
    assert (s.count_error, s.exact, s.within_one, s.matched, s.phantoms) == (0, True, True, 3, 0)
    assert s.timing_agreement == pytest.approx(1.0)
    assert s.mean_start_offset_s == pytest.approx(0.5)
    assert s.mean_end_offset_s == pytest.approx(0.5)
    assert s.hold is None


def test_score_clip_phantom_while_walking_in_and_a_missed_rep():
    result = CountResult(3, ((-1.0, -0.5), (0.0, 2.0), (3.0, 5.0)))
    s = score_clip(SQUATS, result)
    assert s.count_error == 0  # the right number, for the wrong reasons...
    assert s.phantoms == 1  # ...which the phantom count shows
    assert s.phantom_times == ((-1.0, -0.5),)
    assert s.matched == 2
    assert s.timing_agreement == pytest.approx(2 / 3)


def test_score_clip_nothing_counted():
    s = score_clip(SQUATS, CountResult(0, ()))
    assert (s.count_error, s.within_one, s.matched, s.phantoms) == (-3, False, 0, 0)
    assert s.timing_agreement is None and s.mean_start_offset_s is None


def test_score_clip_hold_clip_counts_every_rep_as_phantom():
    result = CountResult(2, ((2.0, 3.0), (5.0, 6.0)), (CountedHold(1.0, 11.0, 9.8),))
    s = score_clip(PLANK, result)
    assert (s.count_error, s.phantoms) == (2, 2)
    assert s.hold is not None and s.hold.error_s == pytest.approx(0.2)


def test_score_clip_unknown_count_is_not_scored():
    s = score_clip(UNKNOWN, CountResult(4, ((0.0, 1.0),)))
    assert (s.count_error, s.exact, s.within_one, s.phantoms, s.matched) == (None, None, None, None, None)


def test_score_clip_reps_without_rep_times_scores_count_but_not_timing():
    label = ClipLabel("x.mp4", "squat", 2)
    s = score_clip(label, CountResult(2, ((0.0, 1.0), (1.0, 2.0))))
    assert s.count_error == 0
    assert s.phantoms is None and s.matched is None


# --- totals ----------------------------------------------------------------------------------------


def test_summarise_mae_obo_exact_phantoms():
    scores = [
        score_clip(SQUATS, CountResult(3, ((0.0, 2.0), (3.0, 5.0), (6.0, 8.0)))),  # exact
        score_clip(SQUATS, CountResult(2, ((0.0, 2.0), (3.0, 5.0)))),  # off by one: 1/3
        score_clip(SQUATS, CountResult(6, ((0.0, 2.0), (3.0, 5.0), (6.0, 8.0), (9, 10), (11, 12), (13, 14)))),  # 3/3
        score_clip(PLANK, CountResult(0, (), (CountedHold(1.0, 11.0, 9.0),))),  # exact, hold error 1
        score_clip(UNKNOWN, CountResult(7, ((0.0, 1.0),))),  # not scored
    ]
    t = summarise(scores)
    assert (t.clips, t.scored) == (5, 4)
    # MAE over clips with truth > 0 only (the plank's truth is 0): (0 + 1/3 + 1) / 3
    assert t.mae == pytest.approx((0 + 1 / 3 + 1) / 3)
    assert t.obo == pytest.approx(3 / 4)
    assert t.exact == pytest.approx(2 / 4)
    assert t.phantoms == 3  # the three extra squats overlap no labelled rep; UNKNOWN is not scored
    assert (t.hold_clips, t.mean_hold_error_s, t.max_hold_error_s) == (1, pytest.approx(1.0), pytest.approx(1.0))
    # timing: matched 3 + 2 + 3 of counted 3 + 2 + 6 (+0 on the plank)
    assert t.timing_agreement == pytest.approx(8 / 11)


def test_summarise_empty_and_only_zero_rep_clips():
    empty = summarise([])
    assert (empty.clips, empty.scored, empty.mae, empty.obo, empty.exact, empty.phantoms) == (0, 0, None, None, None, 0)
    only_holds = summarise([score_clip(PLANK, CountResult(0, ()))])
    assert only_holds.mae is None  # no clip with truth > 0
    assert only_holds.exact == 1.0 and only_holds.obo == 1.0


# --- labels ----------------------------------------------------------------------------------------


def test_parse_labels_reads_hold_holds_and_hold_times_and_ignores_extra_fields():
    labels = parse_labels(
        {
            "a.mp4": {"exercise": "plank", "reps": 0, "hold": [0.0, 13.0], "view": "side", "notes": "x"},
            "b.mp4": {"exercise": "knee-to-chest", "reps": 1, "rep_times": [[1, 2]], "holds": [[1.0, 1.5], [3, 4]]},
            "c.mp4": {"exercise": "pelvic-tilt", "reps": None, "rep_times": []},
            # the held stretch inside each rep, as labels.yaml gives seated_side_bend_01's
            "d.mp4": {"exercise": "seated-side-bend", "reps": 2, "rep_times": [[0.5, 7.5], [9, 16]], "hold_times": [[2.5, 6], [11, 15]]},
        }
    )
    assert [lb.clip for lb in labels] == ["a.mp4", "b.mp4", "c.mp4", "d.mp4"]
    assert labels[0].holds == ((0.0, 13.0),) and labels[0].hold_seconds == 13.0
    assert labels[1].holds == ((1.0, 1.5), (3.0, 4.0)) and labels[1].rep_times == ((1.0, 2.0),)
    assert labels[2].reps is None and labels[2].stem == "c"
    assert labels[3].holds == ((2.5, 6.0), (11.0, 15.0)) and labels[3].hold_seconds == 7.5


def test_the_committed_labels_time_the_side_bend_holds():
    side_bend = next(lb for lb in load_labels(Path(__file__).parent / "data" / "labels.yaml") if lb.clip == "seated_side_bend_01.mp4")
    assert side_bend.holds == ((2.5, 6.0), (11.0, 15.0))


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"reps": 1}, "exercise"),
        ({"exercise": "x", "reps": -1}, "reps"),
        ({"exercise": "x", "reps": 1, "rep_times": [[2.0, 1.0]]}, "rep_times[0]: expected 0 <= start < end"),
        ({"exercise": "x", "reps": 2, "rep_times": [[0.0, 1.0]]}, "reps is 2 but rep_times has 1"),
        ({"exercise": "x", "reps": 0, "hold": [1, 2], "holds": [[3, 4]]}, "one of hold, holds or hold_times, not hold and holds"),
        ({"exercise": "x", "reps": 0, "holds": [[1, 2]], "hold_times": [[3, 4]]}, "not holds and hold_times"),
        ({"exercise": "x", "reps": 1, "hold_times": [[4, 3]]}, "hold_times[0]: expected 0 <= start < end"),
        ({"exercise": "x", "reps": 0, "hold": [1, 2, 3]}, "hold"),
        ({"exercise": "x", "reps": 0, "holds": [[5, 4]]}, "holds[0]"),
    ],
)
def test_parse_labels_problems_name_the_clip_and_field(entry, problem):
    with pytest.raises(InputError) as info:
        parse_labels({"bad.mp4": entry}, "labels.yaml")
    message = str(info.value)
    assert message.startswith("labels.yaml: bad.mp4: ")
    assert problem in message


def test_parse_labels_rejects_a_non_mapping():
    with pytest.raises(InputError, match="expected a mapping"):
        parse_labels([1, 2], "labels.yaml")


def test_select_clips_by_name_or_stem():
    labels = [SQUATS, PLANK, UNKNOWN]
    assert select_clips(labels, None) == labels
    assert select_clips(labels, ["plank", "squat.mp4"]) == [SQUATS, PLANK]  # label order kept
    with pytest.raises(InputError, match="not in the labels: nope"):
        select_clips(labels, ["nope"])


LABELS = Path(__file__).parent / "data" / "labels.yaml"
SHARED_LABELS = SHARED_VIDEOS / "labels.yaml"


def test_committed_labels_parse():
    """The labels the accuracy tests use validate (the harness is useless if it cannot read them)."""
    labels = load_labels(LABELS)
    assert len(labels) >= 40
    assert len({lb.stem for lb in labels}) == len(labels)
    assert all(lb.reps is None or lb.reps >= 0 for lb in labels)


@pytest.mark.skipif(not SHARED_LABELS.is_file(), reason="the shared clip folder is not on this machine")
def test_committed_labels_are_a_copy_of_the_shared_ones():
    """tests/data/labels.yaml is a copy of the labels next to the clips: refresh it when they change."""
    assert LABELS.read_bytes() == SHARED_LABELS.read_bytes()


def test_a_counter_that_does_not_time_holds_is_not_scored_for_holds():
    s = score_clip(PLANK, CountResult(0, (), holds=None))
    assert s.hold is None and s.exact


def test_label_at_speed_divides_every_time():
    label = ClipLabel("k.mp4", "knee-to-chest", 1, ((1.5, 3.0),), ((1.5, 2.25),))
    fast = label.at_speed(1.5)
    assert fast.rep_times == (pytest.approx((1.0, 2.0)),)
    assert fast.holds == (pytest.approx((1.0, 1.5)),)
    assert (fast.reps, fast.clip, fast.exercise) == (1, "k.mp4", "knee-to-chest")
    assert label.at_speed(1.0) is label


def test_near_miss_label_expects_nothing_and_scores_every_timed_hold_second():
    near = SQUATS.as_near_miss("plank")
    assert (near.exercise, near.reps, near.rep_times, near.holds, near.near_miss_of) == ("plank", 0, (), (), "squat")
    assert SQUATS.as_near_miss("squat") is SQUATS
    s = score_clip(near, CountResult(1, ((0.0, 1.0),), (CountedHold(2.0, 5.0, 3.0),)))
    assert (s.count_error, s.phantoms) == (1, 1)
    assert s.hold is not None and s.hold.extra_s == pytest.approx(3.0) and s.hold.error_s == pytest.approx(3.0)


def test_timing_error_is_the_mean_absolute_offset_so_early_and_late_do_not_cancel():
    label = ClipLabel("x.mp4", "squat", 2, ((0.0, 2.0), (3.0, 5.0)))
    # First rep 0.5 s early at both ends, second 0.5 s late at the start and 1.5 s late at the end.
    score = score_clip(label, CountResult(2, ((-0.5, 1.5), (3.5, 6.5))))
    assert score.mean_start_offset_s == pytest.approx(0.0) and score.mean_end_offset_s == pytest.approx(0.5)
    assert score.mean_abs_start_error_s == pytest.approx(0.5) and score.mean_abs_end_error_s == pytest.approx(1.0)
    # Pooled over every matched rep: this clip's two reps weigh twice as much as a one-rep clip's.
    other = score_clip(ClipLabel("y.mp4", "squat", 1, ((0.0, 2.0),)), CountResult(1, ((0.0, 4.0),)))
    totals = summarise([score, other])
    assert totals.mean_abs_start_error_s == pytest.approx((0.5 * 2 + 0.0) / 3)
    assert totals.mean_abs_end_error_s == pytest.approx((1.0 * 2 + 2.0) / 3)


def test_no_timing_error_without_matched_reps():
    score = score_clip(ClipLabel("x.mp4", "squat", 1, ((0.0, 2.0),)), CountResult(1, ((5.0, 6.0),)))
    assert (score.mean_abs_start_error_s, score.mean_abs_end_error_s) == (None, None)
    assert summarise([score]).mean_abs_start_error_s is None
