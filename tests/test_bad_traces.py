"""Malformed landmark traces: every field is checked on load, and each problem is one ``Error:`` line, exit 2.

The table holds the cases that once escaped as a bug (frame_size 0, meta not a mapping) or were analysed as
if fine (fps 0 or NaN, no frames, timestamps reversed or NaN: "duration": -5.07); the fuzz test mutates a
real trace's fields and bytes at random (seeded) and accepts only a loaded trace or a TraceError.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from posecheck.cli.app import app
from posecheck.errors import TraceError
from posecheck.core.trace import Trace

from conftest import trace_path

runner = CliRunner()


def _fields(frames: int = 90) -> dict[str, np.ndarray]:
    """The arrays of a valid trace: the first ``frames`` frames of cat_cow_01."""
    with np.load(trace_path("cat_cow_01")) as data:
        fields = {key: data[key] for key in data.files}
    for key in ("timestamps", "landmarks", "world"):
        fields[key] = fields[key][:frames]
    return fields


def _write(path: Path, fields: dict) -> Path:
    with path.open("wb") as fh:
        np.savez(fh, **fields)
    return path


def _with(**changes) -> dict:
    fields = _fields()
    for key, value in changes.items():
        if value is None:
            del fields[key]
        else:
            fields[key] = np.asarray(value)
    return fields


def _timestamps(edit) -> np.ndarray:
    times = _fields()["timestamps"].copy()
    edit(times)
    return times


def _landmarks(edit) -> np.ndarray:
    values = _fields()["landmarks"].copy()
    edit(values)
    return values


BAD = [
    pytest.param(_with(fps=0.0), "fps must be a positive number, got 0.0", id="fps-0"),
    pytest.param(_with(fps=-30.0), "fps must be a positive number, got -30.0", id="fps-negative"),
    pytest.param(_with(fps=np.nan), "fps must be a positive number, got nan", id="fps-nan"),
    pytest.param(_with(fps=np.inf), "fps must be a positive number, got inf", id="fps-inf"),
    pytest.param(_with(fps=[30.0, 30.0]), "fps: expected 0 dimension(s)", id="fps-not-a-single-value"),
    pytest.param(_with(fps="fast"), "fps must hold numbers", id="fps-text"),
    pytest.param(_with(frame_size=[0, 0]), "frame_size must be a width and a height of 1-16384 pixels, got 0 x 0", id="frame-size-0"),
    pytest.param(_with(frame_size=[-640, 480]), "got -640 x 480", id="frame-size-negative"),
    pytest.param(_with(frame_size=[10**6, 480]), "1-16384 pixels", id="frame-size-huge"),
    pytest.param(_with(frame_size=np.array(640)), "frame_size: expected 1 dimension(s)", id="frame-size-scalar"),
    pytest.param(_with(frame_size=[640, 480, 3]), "frame_size must be a width and a height, got shape (3,)", id="frame-size-three"),
    pytest.param(_with(frame_size=[640.5, 480.0]), "frame_size must hold integers", id="frame-size-floats"),
    pytest.param(_with(meta=json.dumps([1, 2])), "meta must be a mapping (a JSON object), got list", id="meta-a-list"),
    pytest.param(_with(meta=json.dumps("text")), "meta must be a mapping", id="meta-a-string"),
    pytest.param(_with(meta="{not json"), "meta is not valid JSON", id="meta-not-json"),
    pytest.param(_with(meta=np.array([1, 2])), "meta must be a text", id="meta-not-text"),
    pytest.param(
        _with(timestamps=np.zeros(0), landmarks=np.zeros((0, 33, 5), np.float32), world=np.zeros((0, 33, 3), np.float32)),
        "the trace holds no frames", id="empty",
    ),
    pytest.param(_with(timestamps=_timestamps(lambda t: t.__setitem__(slice(None), t[::-1]))), "timestamps must increase", id="timestamps-reversed"),
    pytest.param(_with(timestamps=_timestamps(lambda t: t.__setitem__(5, t[4]))), "frame 5 is at", id="timestamps-repeated"),
    pytest.param(_with(timestamps=_timestamps(lambda t: t.__setitem__(7, np.nan))), "frame 7 has no valid time (nan)", id="timestamps-nan"),
    pytest.param(_with(timestamps=_timestamps(lambda t: t.__setitem__(0, -np.inf))), "frame 0 has no valid time (-inf)", id="timestamps-inf"),
    pytest.param(_with(timestamps=_fields()["timestamps"][:-1]), "expected shape (89, 33, 5), got (90, 33, 5)", id="fewer-timestamps-than-frames"),
    pytest.param(_with(landmarks=_fields()["landmarks"][:, :20]), "expected shape (90, 33, 5)", id="landmarks-wrong-shape"),
    pytest.param(_with(landmarks=_fields()["landmarks"][0]), "landmarks: expected 3 dimension(s)", id="landmarks-one-frame-shape"),
    pytest.param(_with(world=_fields()["world"][..., :2]), "world landmarks: expected shape (90, 33, 3)", id="world-wrong-shape"),
    pytest.param(_with(landmarks=_landmarks(lambda v: v.__setitem__((3, 5, 0), np.inf))), "landmarks: frame 3 mixes numbers", id="landmark-inf"),
    pytest.param(_with(landmarks=_landmarks(lambda v: v.__setitem__((4, 5, 1), np.nan))), "landmarks: frame 4 mixes numbers", id="landmark-partly-nan"),
    pytest.param(_with(landmarks=_fields()["landmarks"].astype(bool)), "landmarks must hold numbers, got bool", id="landmarks-bool"),
    pytest.param(_with(landmarks=None), "missing landmarks", id="landmarks-missing"),
    pytest.param(_with(version=None), "missing version", id="version-missing"),
    pytest.param(_with(version=2), "trace version 2 is not supported", id="version-2"),
    pytest.param(_with(format="something-else"), "not a posecheck trace", id="wrong-format"),
]


@pytest.mark.parametrize(("fields", "fragment"), BAD)
def test_a_malformed_trace_is_one_trace_error(tmp_path, fields, fragment):
    path = _write(tmp_path / "bad.npz", fields)
    with pytest.raises(TraceError) as caught:
        Trace.load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and fragment in message, message
    assert "\n" not in message


@pytest.mark.parametrize(("fields", "fragment"), BAD[:3] + BAD[6:7] + BAD[12:13] + BAD[16:18] + BAD[19:20])
def test_analyze_says_what_is_wrong_with_a_trace_in_one_line_and_exits_2(tmp_path, fields, fragment):
    path = _write(tmp_path / "bad.npz", fields)
    result = runner.invoke(app, ["analyze", str(path), "-e", "cat-cow", "--no-video", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [f"Error: {path}: " + result.stderr.split(f"{path}: ", 1)[1].rstrip("\n")]
    assert fragment in result.stderr
    assert not (tmp_path / "out" / "report.json").exists()  # no report of a "duration": -5.07


def test_damaged_archives_are_trace_errors(tmp_path):
    good = io.BytesIO()
    np.savez_compressed(good, **_fields())
    raw = good.getvalue()
    for name, content in {
        "truncated": raw[: len(raw) // 2],
        "header-only": raw[:30],
        "flipped": raw[:200] + bytes(b ^ 0xFF for b in raw[200:400]) + raw[400:],
        "empty": b"",
        "text": b"hello\n" * 50,
    }.items():
        path = tmp_path / f"{name}.npz"
        path.write_bytes(content)
        with pytest.raises(TraceError, match=rf"^{path}: "):
            Trace.load(path)


def test_a_single_array_file_named_npz_is_a_trace_error(tmp_path):
    path = tmp_path / "array.npz"
    with path.open("wb") as fh:
        np.save(fh, np.zeros(3))
    with pytest.raises(TraceError, match="not an .npz archive"):
        Trace.load(path)


def test_a_folder_named_npz_is_a_folder_not_a_trace(tmp_path):
    folder = tmp_path / "folder.npz"
    folder.mkdir()
    with pytest.raises(TraceError, match="is a folder, not a trace file"):
        Trace.load(folder)


def test_every_committed_trace_passes_the_checks():
    for path in sorted(trace_path("cat_cow_01").parent.glob("*.npz")):
        assert len(Trace.load(path)) > 0


# ------------------------------------------------------------------------------------------------ fuzzing

BASE = _fields(60)
_NASTY_VALUES = [
    np.array(np.nan), np.array(np.inf), np.array(-1.0), np.array(0), np.array(10**18), np.array("text"), np.array(True),
    np.zeros(0), np.zeros((0, 33, 5)), np.array([np.nan, np.inf]), np.full(60, np.nan), np.arange(60)[::-1].astype(float),
    np.zeros((60, 33, 5), np.float32), np.full((60, 33, 3), np.inf, np.float32), np.zeros((60, 33), np.float32),
    np.array([1, 2]), np.array([0, 480]), np.array(["a", "b"]), np.array('{"a": 1}'), np.array("[]"), np.array("null"),
    np.zeros((2, 2), np.complex64), np.array(b"bytes"), np.zeros(60, np.float16),
]


@st.composite
def mutated_trace(draw) -> bytes:
    fields = dict(BASE)
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(sorted(BASE) + ["extra"]))
        how = draw(st.sampled_from(["replace", "delete", "poke", "slice"]))
        if how == "replace" or key not in fields:
            fields[key] = draw(st.sampled_from(_NASTY_VALUES))
        elif how == "delete":
            del fields[key]
        elif how == "poke" and fields[key].size and fields[key].dtype.kind == "f":
            values = fields[key].copy()
            flat = values.reshape(-1)
            flat[draw(st.integers(0, flat.size - 1))] = draw(st.sampled_from([np.nan, np.inf, -np.inf, -1e30, 0.0]))
            fields[key] = values
        elif how == "slice" and fields[key].ndim:
            fields[key] = fields[key][: draw(st.integers(0, fields[key].shape[0]))]
    out = io.BytesIO()
    np.savez(out, **fields)
    raw = out.getvalue()
    if draw(st.integers(0, 9)) == 0:  # now and then, damage the archive itself
        at = draw(st.integers(0, len(raw) - 1))
        raw = raw[:at] + bytes([raw[at] ^ draw(st.integers(1, 255))]) + raw[at + 1 :]
    return raw


@settings(max_examples=250, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(content=mutated_trace())
def test_any_mutation_of_a_trace_loads_or_is_a_trace_error(tmp_path_factory, content):
    path = Path(tmp_path_factory.getbasetemp()) / "fuzz.npz"
    path.write_bytes(content)
    try:
        trace = Trace.load(path)
    except TraceError as exc:
        assert str(exc).startswith(f"{path}: ") and "\n" not in str(exc)
    else:
        trace.check()
        assert len(trace) > 0 and trace.fps > 0
        assert (np.diff(trace.timestamps) > 0).all()
