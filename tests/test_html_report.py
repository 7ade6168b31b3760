"""report.html, measures.csv and the words for people: what a person opening the files sees.

The screenshot test opens report.html in headless Chromium (Debian's package) with no network and checks
that every plot area in the picture has something drawn in it. It is skipped when chromium is missing,
except under CI (CI=true), where .ci/run installs it and a missing browser is an error.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import trace_path
from posecheck.cli.app import app
from posecheck.sinks.html_report import PLOT_FACE
from posecheck.specs import load_spec_by_id
from posecheck.specs.labels import measure_heading, measure_label, phase_label, unit_label
from posecheck.specs.schema import ExerciseSpec

runner = CliRunner()
_IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="module")
def bird_dog_outputs(tmp_path_factory) -> Path:
    """analyze of an alternating exercise's trace (every plot has something to show)."""
    out = tmp_path_factory.mktemp("bird_dog")
    result = runner.invoke(app, ["analyze", str(trace_path("bird_dog_01")), "-e", "bird-dog", "--no-video",
                                 "--no-history", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_report_html_is_self_contained_and_private(bird_dog_outputs):
    html = (bird_dog_outputs / "report.html").read_text()
    report = json.loads((bird_dog_outputs / "report.json").read_text())
    assert "default-src 'none'" in html  # the browser itself refuses any request
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert len(re.findall(r'<img alt="[^"]+" src="data:image/svg\+xml;base64,', html)) == 3  # over time, L/R, per rep
    assert f"<b>{report['reps']} of {report['target_reps']}</b>" in html
    for name in ("report.html", "report.json", "reps.csv", "measures.csv"):
        assert stat.S_IMODE((bird_dog_outputs / name).stat().st_mode) == 0o600, name


def test_measures_csv_has_one_row_per_frame_with_headers_for_people(bird_dog_outputs):
    report = json.loads((bird_dog_outputs / "report.json").read_text())
    with (bird_dog_outputs / "measures.csv").open() as fh:
        rows = list(csv.reader(fh))
    spec = load_spec_by_id("bird-dog")
    header = rows[0]
    assert header[:3] == ["time (s)", "phase", "side"]
    assert len(rows) - 1 == report["frames"]
    assert measure_heading(spec, spec.phases.measure + ".left") in header or measure_heading(spec, spec.phases.measure) in header
    times = [float(row[0]) for row in rows[1:]]
    assert times == sorted(times) and times[0] == 0.0
    phases = {row[1] for row in rows[1:]} - {""}
    assert phases and phases <= {phase_label(spec, name) for name in spec.phases.ranges}


def _plot_areas(image: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Bounding boxes (x, y, w, h) of the regions painted in the plots' axes colour."""
    face = np.array([int(PLOT_FACE[i:i + 2], 16) for i in (5, 3, 1)])  # BGR
    mask = (np.abs(image.astype(int) - face).max(axis=2) <= 2).astype(np.uint8)
    # The grid's white lines cut an axes into cells: closing bridges them (and thin data lines), so each
    # axes is one region.
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((7, 7), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
    return [tuple(stats[i, :4]) for i in range(1, count) if stats[i, cv2.CC_STAT_AREA] > 3000]


def test_report_html_shows_its_plots_in_headless_chromium(bird_dog_outputs, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        if _IN_CI:
            pytest.fail("chromium is missing in CI (.ci/run installs it)")
        pytest.skip("chromium not installed (apt-get install chromium)")
    shot = tmp_path / "report.png"
    subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
         "--host-resolver-rules=MAP * ~NOTFOUND", "--window-size=1100,4200", f"--screenshot={shot}",
         (bird_dog_outputs / "report.html").resolve().as_uri()],
        capture_output=True, timeout=120, check=True, env={**os.environ, "HOME": str(tmp_path)},
    )
    image = cv2.imread(str(shot))
    areas = _plot_areas(image)
    # Over time: one panel per measure (6 at most; the reps' shading splits each into pieces) + the phase
    # strip; left/right: 3; per rep: 2. No plot drawn means no region at all; an empty axes a blank region.
    assert len(areas) >= 12, f"only {len(areas)} plot areas found in the screenshot"
    face = np.array([int(PLOT_FACE[i:i + 2], 16) for i in (5, 3, 1)])
    # The reps' shading cuts an over-time panel into slices side by side; a slice may hold no data (the line
    # runs along its edge there), so the check is per panel: the slices in one row with the same height.
    panels: dict[tuple[int, int], list[tuple[int, int, int, int]]] = {}
    for area in areas:
        x, y, w, h = area
        key = next((k for k in panels if abs(k[0] - y) <= 6 and abs(k[1] - h) <= 6), (y, h))
        panels.setdefault(key, []).append(area)
    for slices in panels.values():
        drawn_px = total_px = 0
        for x, y, w, h in slices:
            region = image[y:y + h, x:x + w].astype(int)
            background = (np.abs(region - face).max(axis=2) <= 2) | (region.min(axis=2) >= 250)  # face or grid
            drawn_px += int((~background).sum())
            total_px += background.size
        x, y, w, h = slices[0]
        assert drawn_px / total_px > 0.01, f"plot panel at {x},{y} ({len(slices)} slices) is blank ({drawn_px / total_px:.1%} drawn)"


# ------------------------------------------------------------------------------------------------ words


def _spec_with_labels() -> ExerciseSpec:
    spec = load_spec_by_id("cat-cow")
    data = spec.model_dump(by_alias=True, exclude_none=True)
    main = spec.phases.measure
    data["measures"][main]["label"] = "head height above the shoulders"
    data["measures"][main]["unit"] = "torso lengths"
    first_phase = next(iter(data["phases"]["ranges"]))
    data["phases"]["ranges"][first_phase]["label"] = "back rounded"
    return ExerciseSpec.model_validate(data), main, first_phase


def _spec_without_labels() -> ExerciseSpec:
    """cat-cow with its labels and unit texts taken out, to check the fallbacks (the shipped specs have them all)."""
    data = load_spec_by_id("cat-cow").model_dump(by_alias=True, exclude_none=True)
    for measure in data["measures"].values():
        measure.pop("label", None)
        measure.pop("unit", None)
    for phase_range in data["phases"]["ranges"].values():
        phase_range.pop("label", None)
    return ExerciseSpec.model_validate(data)


def test_labels_come_from_the_spec_with_fallbacks():
    spec, main, first_phase = _spec_with_labels()
    assert measure_label(spec, main) == "head height above the shoulders"
    assert measure_heading(spec, main) == "head height above the shoulders (torso lengths)"
    assert phase_label(spec, first_phase) == "back rounded"
    plain = _spec_without_labels()
    # No label: the description up to ";" without its "(unit)"; no description: the name with spaces.
    other = next(name for name, m in plain.measures.items() if name != main and m.description)
    assert measure_label(plain, other) == re.sub(r"\s*\([^()]*\)\s*$", "", plain.measures[other].description.split(";")[0]).strip()
    assert phase_label(plain, "cow_or_flat") == "cow or flat"
    assert measure_label(None, "knee_angle.left") == "knee angle (left)"
    assert unit_label(plain, "no_such_measure") is None
    assert unit_label(plain, other) in ("deg", "torso lengths")


def test_measures_csv_uses_the_labels(tmp_path):
    spec, main, first_phase = _spec_with_labels()
    from posecheck.sinks.measures import MeasureFrames, write_measures_csv

    frames = MeasureFrames(t=np.array([0.0, 0.5]), phase=[None, first_phase], side=[None, None],
                           values={main: np.array([0.1, np.nan])})
    write_measures_csv(frames, tmp_path / "m.csv", spec)
    lines = (tmp_path / "m.csv").read_text().splitlines()
    assert lines == ["time (s),phase,side,head height above the shoulders (torso lengths)", "0.000,,,0.1",
                     "0.500,back rounded,,"]


def test_annotated_video_is_h264_that_browsers_play(tmp_path):
    import av

    out = tmp_path / "out"
    result = runner.invoke(app, ["analyze", str(trace_path("cat_cow_01")), "-e", "cat-cow", "--no-history", "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    with av.open(str(out / "annotated.mp4")) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
        assert sum(1 for _ in container.decode(stream)) == report["frames"]
    assert '<video controls preload="metadata" src="annotated.mp4">' in (out / "report.html").read_text()
    assert stat.S_IMODE((out / "annotated.mp4").stat().st_mode) == 0o600


def test_the_overlay_panel_uses_the_labels():
    from posecheck.engine.events import EngineState
    from posecheck.sinks.render import panel_lines

    spec, main, first_phase = _spec_with_labels()
    state = EngineState(t=1.0, tracking=True, ready=True, not_ready_reason=None, phase=first_phase, side=None, reps=2,
                        reps_by_side={}, target_reps=10, hold_seconds=None, hold_target=None,
                        measures={main: 0.123, "no_such": None}, cue=None)
    assert panel_lines(state, spec) == [spec.title, "Reps 2 / 10", "Phase: back rounded",
                                        "head height above the shoulders: 0.12 torso lengths"]
