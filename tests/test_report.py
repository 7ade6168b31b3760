"""Reports: the versioned dict, strict JSON and reps.csv from a session summary."""

from __future__ import annotations

import csv
import json

import pytest

from posecheck.engine.events import Cue, Diagnostic, Gap, HoldRecord, RepRecord, SessionSummary
from posecheck.errors import InputError
from posecheck.sinks.report import (
    CSV_COLUMNS,
    SCHEMA_VERSION,
    FrameStats,
    SourceDescription,
    build_report,
    to_json,
    why_not_counted,
    write_json,
    write_reps_csv,
)

#: The fields README.md promises (section "Report format").
DOCUMENTED_FIELDS = {
    "schema_version", "posecheck_version", "exercise", "exercise_title", "source", "fps", "frames",
    "frames_with_pose", "duration", "interrupted", "reps", "target_reps", "reps_by_side", "rep_list", "holds",
    "cues", "gaps", "not_counted", "asymmetry", "adaptive_range",
}


def _summary() -> SessionSummary:
    return SessionSummary(
        exercise="bird-dog",
        reps=3,
        reps_by_side={"left": 2, "right": 1},
        rep_list=[
            # counted at 1.8 s, closed at 3.0 s (reps.end_at: leave)
            RepRecord(1, "left", 0.5, 3.0, 41.23456, {"reach": 0.912345}, ("Keep your back level",), True, counted_at=1.8),
            RepRecord(2, "right", 3.5, 5.25, float("nan"), {}, (), False),
            RepRecord(3, "left", 6.0, 9.0, None, cut_by_end=True),
        ],
        holds=[HoldRecord("left", 1.0, 2.5, 1.4, 3.0), HoldRecord(None, 7.0, 8.0, 1.0, None)],
        cues=[Cue(1.2, "back_level", "Keep your back level", "warning")],
        gaps=[Gap(4.0, 4.5)],
        asymmetry=1 / 3,
        adaptive_range={"reach": (0.1, 0.95)},
        diagnostics=[
            Diagnostic("min_excursion", "2 reps moved too little to count.", seconds=4.25, count=2, measure="reach",
                       value=0.123456, required="at least 0.2 torso lengths", unit="torso"),
            Diagnostic("start", "Not in the start position.", advice="Kneel.", seconds=1.5, share=1.5 / 9.66666),
        ],
    )


def _report(**kwargs):
    stats = FrameStats(frames=300, frames_with_pose=290, fps=30.0, duration=10.0)
    source = SourceDescription("clip.mp4", "video", (720, 1280), {"name": "m.task", "sha256": "ab", "origin": "packaged"})
    return build_report(_summary(), stats, source, rom_unit="deg", target_reps=10, exercise_title="Bird-Dog", **kwargs)


def test_report_has_every_documented_field_and_the_schema_version():
    report = _report()
    assert set(report) == DOCUMENTED_FIELDS
    assert report["schema_version"] == SCHEMA_VERSION == 1
    assert report["source"] == {
        "path": "clip.mp4", "kind": "video", "width": 720, "height": 1280,
        "model": {"name": "m.task", "sha256": "ab", "origin": "packaged"}, "people": None,
    }
    assert (report["frames"], report["frames_with_pose"], report["fps"], report["duration"]) == (300, 290, 30.0, 10.0)


def test_reps_holds_cues_gaps_are_listed_with_seconds():
    report = _report()
    assert report["reps"] == 3 and report["reps_by_side"] == {"left": 2, "right": 1}
    first = report["rep_list"][0]
    assert first == {
        "index": 1, "side": "left", "start": 0.5, "end": 3.0, "duration": 2.5, "counted_at": 1.8, "rom": 41.23, "rom_unit": "deg",
        "peaks": {"reach": 0.91}, "tempo_ok": True, "cut_by_end": False, "cues": ["Keep your back level"],
    }
    assert report["rep_list"][2]["cut_by_end"] is True  # counted when the end cut off its return
    assert report["rep_list"][2]["counted_at"] is None  # a record made outside the engine
    assert report["rep_list"][1]["rom"] is None  # NaN is not JSON
    assert report["rep_list"][1]["duration"] == 1.75
    assert report["holds"][0] == {"side": "left", "start": 1.0, "end": 2.5, "seconds": 1.4, "target_seconds": 3.0, "target_met": False}
    assert report["holds"][1]["target_met"] is True
    assert report["cues"] == [{"t": 1.2, "rule": "back_level", "text": "Keep your back level", "severity": "warning"}]
    assert report["gaps"] == [{"start": 4.0, "end": 4.5, "duration": 0.5}]
    assert report["asymmetry"] == 0.333 and report["adaptive_range"] == {"reach": [0.1, 0.95]}


def test_json_is_strict_and_round_trips(tmp_path):
    report = _report()
    text = to_json(report)
    assert "NaN" not in text
    assert json.loads(text) == report
    write_json(report, tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text()) == report


def test_reps_csv_has_one_row_per_rep(tmp_path):
    write_reps_csv(_report(), tmp_path / "reps.csv")
    with (tmp_path / "reps.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [r["index"] for r in rows] == ["1", "2", "3"]
    assert rows[0]["side"] == "left" and rows[0]["duration"] == "2.5" and rows[0]["rom"] == "41.23"
    assert rows[0]["cues"] == "Keep your back level" and rows[1]["rom"] == "" and rows[1]["tempo_ok"] == "False"
    assert [r["cut_by_end"] for r in rows] == ["False", "False", "True"]


def test_empty_session_gives_an_empty_but_valid_report(tmp_path):
    summary = SessionSummary("cat-cow", 0, {}, [], [], [], [])
    report = build_report(summary, FrameStats(0, 0, 30.0, 0.0, interrupted=True), SourceDescription("t.npz", "trace", (10, 10)))
    assert report["rep_list"] == [] and report["interrupted"] is True and report["source"]["model"] is None
    write_reps_csv(report, tmp_path / "reps.csv")
    assert (tmp_path / "reps.csv").read_text().strip() == ",".join(CSV_COLUMNS)


def test_unwritable_destination_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="cannot write"):
        write_json(_report(), tmp_path / "missing-folder" / "r.json")
    with pytest.raises(InputError, match="cannot write"):
        write_reps_csv(_report(), tmp_path / "missing-folder" / "reps.csv")


def test_not_counted_lists_each_reason_rounded():
    report = _report()
    assert report["not_counted"] == [
        {"kind": "min_excursion", "reason": "2 reps moved too little to count.", "advice": None, "seconds": 4.25,
         "share": None, "count": 2, "measure": "reach", "value": 0.123, "required": "at least 0.2 torso lengths",
         "unit": "torso", "phase": None, "side": None},
        {"kind": "start", "reason": "Not in the start position.", "advice": "Kneel.", "seconds": 1.5, "share": 0.155,
         "count": None, "measure": None, "value": None, "required": None, "unit": None, "phase": None, "side": None},
    ]
    json.loads(to_json(report))


@pytest.mark.parametrize(
    ("reps", "target", "holds", "kinds", "expected"),
    [
        (0, 10, [], ["view", "start", "visible"], ("Why no reps were counted:", ["view", "start"])),
        (0, 10, [], [], ("Why no reps were counted:", [])),  # never silent: the summary says it has no reason
        (0, None, [], ["view"], ("Why nothing was counted:", ["view"])),
        (0, None, [{"seconds": 5}], ["view"], None),  # a hold-only exercise that timed a hold
        (0, None, [], [], None),
        (3, 10, [], ["phase_blocked", "start"], None),  # some counted: brief refusals are left to the report
        (3, 10, [], ["start", "min_excursion", "cut_at_end", "max_seconds"], ("Not counted:", ["min_excursion", "cut_at_end"])),
    ],
)
def test_the_summary_says_why_when_nothing_was_counted_or_reps_were_refused(reps, target, holds, kinds, expected):
    entries = [{"kind": kind, "count": 1, "reason": kind} for kind in kinds]
    report = {"reps": reps, "target_reps": target, "holds": holds, "not_counted": entries}
    why = why_not_counted(report)
    assert (why if why is None else (why[0], [e["kind"] for e in why[1]])) == expected
