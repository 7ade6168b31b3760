"""Generated command lines: whatever is typed, posecheck answers with an exit code from the README's table and,
on failure, ``Error:`` lines only; never a traceback, never exit 1 (a bug).

Commands that would open a camera, run the pose model or download (live, bench, eval, samples fetch, models
without --model) are only generated with command-line mistakes, which fail before any of that; the rest run
for real on a tiny trace, a damaged one, a still image and assorted wrong paths. Seeded (derandomize), so CI
sees the same 200 cases every run.
"""

from __future__ import annotations

import contextlib
import os
import re

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from posecheck.cli.app import app
from posecheck.core.trace import Trace

from conftest import trace_path
from test_specs import VALID

runner = CliRunner()
#: The README's exit codes, without 1 (a bug) and 130 (Ctrl-C, which nothing here presses).
EXIT_CODES = {0, 2, 3, 4, 5}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """Files the generated command lines point at."""
    root = tmp_path_factory.mktemp("cli-fuzz")
    trace = Trace.load(trace_path("cat_cow_01"))
    # 40 frames on a 64 x 48 canvas: an annotated video of it takes milliseconds to write.
    Trace(trace.timestamps[:40], trace.landmarks[:40], trace.world[:40], (64, 48), trace.fps, trace.meta).save(root / "tiny.npz")
    with (root / "broken.npz").open("wb") as fh:
        np.savez(fh, format=np.array("posecheck-trace"), version=np.array(1), fps=np.array(0.0))
    cv2.imwrite(str(root / "still.png"), np.full((48, 64, 3), 90, np.uint8))
    (root / "a-file").write_text("not a folder\n")
    (root / "empty").mkdir()
    (root / "specs-ok").mkdir()
    (root / "specs-ok" / "lift.yaml").write_text(VALID)
    (root / "specs-broken").mkdir()
    (root / "specs-broken" / "cat-cow.yaml").write_bytes(b"id: cat-cow\ntitle: \x07\n")
    (root / "model.task").write_text("not a model\n")
    return root


IDS = ["cat-cow", "plank", "lift", "catcow", "Cat-Cow", "", "nope", "../etc", "x" * 200, "cat-cow\n", "ü"]
CLIPS = ["{w}/tiny.npz", "{w}/broken.npz", "{w}/still.png", "{w}/missing.mp4", "{w}/empty", "{w}/a-file", "", "-"]
SPECS = ["{w}/specs-ok", "{w}/specs-broken", "{w}/empty", "{w}/a-file", "{w}/missing", ""]
OUTS = ["{w}/out", "{w}/a-file", "{w}/a-file/out", ""]
JSONS = ["-", "{w}/report.json", "{w}/a-file/x.json", "{w}/empty", ""]
MODELS = ["{w}/model.task", "{w}/missing.task", "{w}/empty"]
NUMBERS = ["0", "-1", "1", "2", "abc", "1e3", "9" * 30, "", "nan"]
NOISE = ["--bogus", "-z", "--", "-", "", "ü", "x" * 300, "--json", "-e", "--specs", "--out", "-v", "-h", "--version"]

#: command -> (positional values or None, {option: values, or None for a flag})
RUNNABLE = {
    ("analyze",): (CLIPS, {"-e": IDS, "--exercise": IDS, "--out": OUTS, "-o": OUTS, "--json": JSONS, "--specs": SPECS,
                           "--model": MODELS, "--save-trace": ["{w}/t.npz", "{w}/a-file/t.npz", "{w}/empty"], "--jobs": NUMBERS,
                           "--no-video": None, "--video": None}),
    ("exercises", "list"): (None, {"--specs": SPECS}),
    ("exercises", "show"): (IDS, {"--specs": SPECS}),
    ("exercises", "validate"): (SPECS + ["{w}/specs-ok/lift.yaml", "{w}/specs-broken/cat-cow.yaml", "{w}/tiny.npz"], {"--strict": None}),
    ("exercises", "schema"): (None, {"-o": ["{w}/schema.json", "{w}/a-file/s.json", "{w}/empty"]}),
    ("samples", "list"): (None, {"--dest": ["{w}/empty", "{w}/a-file", "{w}/missing"]}),
    ("models",): (None, {"--model": MODELS}),  # --model always given (below): no model is built
}
#: Only ever generated with a mistake that stops them before they start.
MISTAKES_ONLY = {
    ("live",): ["--camera abc", "--bogus", "--width -", "cat-cow --camera", "", "cat-cow --specs"],
    ("bench",): ["--frames abc", "--bogus", "--frames"],
    ("eval",): ["", "--bogus", "labels.yaml --traces"],
    ("samples", "fetch"): ["--bogus", "--dest", "--mirror"],
    ("exercises",): [""],
    ("samples",): ["--nope"],
    (): ["", "--bogus", "nope", "--version", "-v", "-vv"],
}


@st.composite
def command_line(draw) -> list[str]:
    if draw(st.integers(0, 4)) == 0:
        command = draw(st.sampled_from(sorted(MISTAKES_ONLY)))
        return [*command, *draw(st.sampled_from(MISTAKES_ONLY[command])).split()]
    command = draw(st.sampled_from(sorted(RUNNABLE)))
    positionals, options = RUNNABLE[command]
    argv: list[str] = []
    if positionals is not None and draw(st.integers(0, 5)) > 0:
        argv.append(draw(st.sampled_from(positionals)))
    chosen = draw(st.lists(st.sampled_from(sorted(options)), max_size=4))
    if command == ("models",) and "--model" not in chosen:
        chosen.append("--model")
    for option in chosen:
        argv.append(option)
        if options[option] is not None and draw(st.integers(0, 9)) > 0:  # now and then the value is missing
            argv.append(draw(st.sampled_from(options[option])))
    if draw(st.integers(0, 3)) == 0:
        argv.insert(draw(st.integers(0, len(argv))), draw(st.sampled_from(NOISE)))
    if command == ("analyze",) and "--out" not in argv and "-o" not in argv:
        argv += ["--out", "{w}/out"]  # never the default ./posecheck-out
    return [*command, *argv]


@contextlib.contextmanager
def _inside(folder):
    before = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


@settings(max_examples=200, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(argv=command_line())
def test_any_command_line_gets_a_documented_exit_code_and_only_error_lines(workdir, argv):
    argv = [arg.replace("{w}", str(workdir)) for arg in argv]
    with _inside(workdir):  # anything written to a relative path stays in the fixture's folder
        result = runner.invoke(app, argv, prog_name="posecheck", env={"COLUMNS": "120", "POSECHECK_SPECS": ""})
    described = f"posecheck {' '.join(argv)!r} -> {result.exit_code}\nstdout: {result.stdout[-500:]}\nstderr: {result.stderr}"
    assert result.exit_code in EXIT_CODES, described
    assert result.exception is None or isinstance(result.exception, SystemExit), described
    assert "Traceback" not in result.output, described
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    if result.exit_code == 0:
        assert not errors, described
    elif errors:
        # Error lines, warnings and log records (WARNING ...) only: no usage box, no stray text.
        for line in result.stderr.splitlines():
            assert re.match(r"^(Error: |Warning: |WARNING |\s)", line) or not line.strip(), described
    else:  # a group called without its command shows its help, as typer does
        assert result.exit_code == 2 and "Usage:" in result.stdout, described
