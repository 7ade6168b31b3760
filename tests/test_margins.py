"""Margins (posecheck.evaluation.margins): how close real traces come to a spec's lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from posecheck.evaluation.labels import load_labels
from posecheck.evaluation.margins import MarginCase, is_thin, lines_of, margin_rows, margins
from posecheck.specs import load_spec_by_id
from posecheck.core.trace import Trace

DATA = Path(__file__).parent / "data"
LABELS = {label.clip: label for label in load_labels(DATA / "labels.yaml")}


def poses(stem: str):
    return list(Trace.load(DATA / "traces" / f"{stem}.npz").poses())


def by_what(found):
    return {m.line.what: m for m in found}


def test_every_kind_of_line_of_a_spec_is_listed_with_its_unit():
    spec = load_spec_by_id("glute-bridge")
    lines = {line.what: line for line in lines_of(spec)}
    assert lines["phases.up"].kind == "reach" and lines["phases.up"].unit == "range"
    assert lines["phases.down"].kind == "return"
    hip = spec.phases.ranges["up"].also["hip_angle"]
    assert lines["phases.up.also.hip_angle"].unit == "deg" and lines["phases.up.also.hip_angle"].bound == f"min {hip.min:g}"
    start = spec.setup.start.when["hip_angle"]
    assert lines["setup.start.hip_angle"].bound == f"{start.min:g}..{start.max:g}"
    gated = spec.model_copy(update={"setup": spec.setup.model_copy(update={"view": "side", "view_ratio": 0.7})})
    view = {line.what: line for line in lines_of(gated)}["setup.view_ratio"]
    assert view.kind == "view" and view.bound == "max 0.7"
    assert ("setup.view_ratio" in lines) is (spec.setup.view != "any")


def test_moving_a_bound_moves_the_margin_by_as_much():
    """The margin is a signed distance in the measure's unit: raise a min bound by 10 deg, lose 10 deg."""
    label = LABELS["glute_bridge_01.mp4"]
    spec = load_spec_by_id("glute-bridge")
    stream = poses(label.stem)
    before = by_what(margins(spec, stream, label.rep_times, label.holds))
    up = spec.phases.ranges["up"]
    raised_also = {**up.also, "hip_angle": up.also["hip_angle"].model_copy(update={"min": up.also["hip_angle"].min + 10})}
    ranges = {**spec.phases.ranges, "up": up.model_copy(update={"also": raised_also})}
    raised = spec.model_copy(update={"phases": spec.phases.model_copy(update={"ranges": ranges})})
    after = by_what(margins(raised, stream, label.rep_times, label.holds))
    assert before["phases.up.also.hip_angle"].value > 10  # the bridges open the hip well past the bound
    assert after["phases.up.also.hip_angle"].value == pytest.approx(before["phases.up.also.hip_angle"].value - 10, abs=1e-6)


def test_a_line_no_clip_reaches_has_a_negative_margin_and_is_flagged():
    label = LABELS["glute_bridge_01.mp4"]
    spec = load_spec_by_id("glute-bridge")
    up = spec.phases.ranges["up"]
    # No bridge opens the hip past 190 deg: the also condition fails on every rep, by at least 5 deg.
    impossible = {**up.also, "hip_angle": up.also["hip_angle"].model_copy(update={"min": 190.0})}
    ranges = {**spec.phases.ranges, "up": up.model_copy(update={"also": impossible})}
    spec = spec.model_copy(update={"phases": spec.phases.model_copy(update={"ranges": ranges})})
    also = by_what(margins(spec, poses(label.stem), label.rep_times, label.holds))["phases.up.also.hip_angle"]
    assert also.value < -5 and is_thin(also.line, also.value)


def test_rows_keep_the_worst_clip_and_the_worst_variant_apart():
    spec_of = {"push-up": load_spec_by_id("push-up")}.get
    cases = []
    for clip in ("push_up_01.mp4", "push_up_02.mp4"):
        label = LABELS[clip]
        stream = poses(label.stem)
        cases.append(MarginCase(label.exercise, clip, "", stream, label.rep_times, label.holds))
    label = LABELS["push_up_01.mp4"]
    # A mirrored person does the same push-ups: the variant's margin is push_up_01's own, and it is reported as
    # the variant's, not mixed into the clips as filmed.
    flipped = [(t, None if p is None else p.mirrored()) for t, p in poses(label.stem)]
    cases.append(MarginCase(label.exercise, label.clip, "mirrored", flipped, label.rep_times, label.holds))
    rows = {r.line.what: r for r in margin_rows(cases, spec_of)}
    reach = rows["phases.up"]
    assert reach.clips == 2 and reach.worst_clip in ("push_up_01.mp4", "push_up_02.mp4")
    assert reach.median >= reach.worst
    own = by_what(margins(spec_of("push-up"), poses(label.stem), label.rep_times, label.holds))["phases.up"].value
    assert reach.worst_variant_case == "mirrored push_up_01.mp4"
    assert reach.worst_variant == pytest.approx(own, abs=0.5)
