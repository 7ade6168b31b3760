"""Sample clips: the manifest, fetching from a mirror or a URL with checksum checks, and the CLI commands."""

from __future__ import annotations

import hashlib
import shutil

import pytest
import yaml
from typer.testing import CliRunner

from posecheck import samples
from posecheck.cli.app import app
from posecheck.errors import InputError
from posecheck.samples import Manifest, Sample, fetch, load_manifest

from conftest import SHARED_VIDEOS, requires_shared_videos

runner = CliRunner()
#: Sample names as published in shared/videos/SOURCES.md ("Redistributable samples").
POLYBAG_CLIPS = {
    "cat_cow_01", "bird_dog_01", "childs_pose_01", "pelvic_tilt_01", "seated_cat_cow_01",
    "seated_side_bend_01", "thoracic_rotation_01",
}


def _sample(tmp_path, content: bytes = b"fake video bytes", *, url: str | None = None, sha: str | None = None) -> Sample:
    original = tmp_path / "origin" / "clip.mp4"
    original.parent.mkdir(exist_ok=True)
    original.write_bytes(content)
    return Sample(
        name="clip",
        exercise="cat-cow",
        url=url or original.as_uri(),
        sha256=sha or hashlib.sha256(content).hexdigest(),
        bytes=len(content),
        expected_reps=2,
    )


def test_manifest_lists_the_polybag_clips_with_pinned_urls_and_checksums():
    manifest = load_manifest()
    assert {s.name for s in manifest.samples} == POLYBAG_CLIPS
    assert "MIT" in manifest.license
    for sample in manifest.samples:
        assert sample.url.startswith("https://raw.githubusercontent.com/HonzaCzSk/polybag/74fbb9d365cee434538f8c88eedb88fa0da12d32/")
        assert sample.mirror_sha256 and sample.mirror_sha256 != sample.sha256
    cat_cow = manifest.select(["cat_cow_01"])[0]
    assert (cat_cow.exercise, cat_cow.expected_reps) == ("cat-cow", 2)
    with pytest.raises(InputError, match="unknown sample nope"):
        manifest.select(["nope"])


def test_manifest_has_no_footage_beside_it():
    folder = samples.MANIFEST_PATH.parent
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.yaml"]


@requires_shared_videos
def test_mirror_copies_match_the_manifest_checksums():
    for sample in load_manifest().samples:
        assert samples.sha256_of(SHARED_VIDEOS / sample.filename) == sample.mirror_sha256


def test_download_checks_the_checksum(tmp_path):
    sample = _sample(tmp_path)
    [result] = fetch([sample], tmp_path / "dest")
    assert result.how == "download" and result.path.read_bytes() == b"fake video bytes"
    [again] = fetch([sample], tmp_path / "dest")
    assert again.how == "present"


def test_download_with_a_wrong_checksum_keeps_nothing(tmp_path):
    sample = _sample(tmp_path, sha="0" * 64)
    with pytest.raises(InputError, match="clip: downloaded file has sha256 .* expected 000000000000"):
        fetch([sample], tmp_path / "dest")
    assert list((tmp_path / "dest").iterdir()) == []


def test_unreachable_url_is_one_clear_line(tmp_path):
    sample = _sample(tmp_path, url="http://127.0.0.1:9/clip.mp4")  # port 9 (discard): refused at once
    with pytest.raises(InputError) as info:
        fetch([sample], tmp_path / "dest")
    message = str(info.value)
    assert "\n" not in message and "clip: download from http://127.0.0.1:9/clip.mp4 failed" in message
    assert "--mirror" in message


def test_mirror_copy_accepts_either_checksum(tmp_path):
    content = b"re-encoded copy"
    sample = _sample(tmp_path).model_copy(update={"mirror_sha256": hashlib.sha256(content).hexdigest()})
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "clip.mp4").write_bytes(content)
    [result] = fetch([sample], tmp_path / "dest", mirror=mirror)
    assert result.how == "mirror" and result.path.read_bytes() == content
    (mirror / "clip.mp4").write_bytes(b"fake video bytes")  # the original is fine too
    [result] = fetch([sample], tmp_path / "dest2", mirror=mirror)
    assert result.how == "mirror"


def test_named_mirror_with_a_bad_copy_is_an_error_but_a_found_one_falls_back(tmp_path):
    sample = _sample(tmp_path)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "clip.mp4").write_bytes(b"something else")
    with pytest.raises(InputError, match="matches neither known checksum"):
        fetch([sample], tmp_path / "dest", mirror=mirror)
    [result] = fetch([sample], tmp_path / "dest", mirror=mirror, mirror_optional=True)
    assert result.how == "download"
    with pytest.raises(InputError, match="not found in the mirror"):
        fetch([sample], tmp_path / "dest3", mirror=tmp_path / "empty-mirror")


def test_cli_samples_list():
    result = runner.invoke(app, ["samples", "list"])
    assert result.exit_code == 0, result.output
    for name in POLYBAG_CLIPS:
        assert name in result.output
    assert "cat-cow" in result.output


@requires_shared_videos
def test_cli_fetch_from_the_mirror(tmp_path):
    result = runner.invoke(app, ["samples", "fetch", "cat_cow_01", "--mirror", str(SHARED_VIDEOS), "--dest", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "cat_cow_01" in result.output and "copied from the mirror" in result.output
    assert samples.sha256_of(tmp_path / "cat_cow_01.mp4") == load_manifest().select(["cat_cow_01"])[0].mirror_sha256
    again = runner.invoke(app, ["samples", "fetch", "cat_cow_01", "--dest", str(tmp_path)])
    assert again.exit_code == 0 and "already there" in again.output


@requires_shared_videos
def test_cli_finds_the_shared_mirror_by_itself(tmp_path):
    assert samples.find_mirror() == SHARED_VIDEOS
    result = runner.invoke(app, ["samples", "fetch", "seated_side_bend_01", "--dest", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "copied from the mirror" in result.output


def test_cli_download_failure_is_one_error_line(tmp_path, monkeypatch):
    manifest = yaml.safe_load(samples.MANIFEST_PATH.read_text())
    manifest["samples"] = [dict(manifest["samples"][0], url="http://127.0.0.1:9/kocici_hrbet.mp4")]
    path = tmp_path / "manifest.yaml"
    path.write_text(yaml.safe_dump(manifest))
    monkeypatch.setattr(samples, "MANIFEST_PATH", path)
    result = runner.invoke(app, ["samples", "fetch", "--no-mirror", "--dest", str(tmp_path / "dest")])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: cat_cow_01: download from http://127.0.0.1:9/")


def test_cli_unknown_sample_and_missing_mirror(tmp_path):
    result = runner.invoke(app, ["samples", "fetch", "nope", "--dest", str(tmp_path)])
    assert result.exit_code == 2 and result.stderr.startswith("Error: unknown sample nope")
    result = runner.invoke(app, ["samples", "fetch", "--mirror", str(tmp_path / "nowhere"), "--dest", str(tmp_path)])
    assert result.exit_code == 2 and "mirror folder" in result.stderr


def test_manifest_is_validated(tmp_path):
    bad = tmp_path / "m.yaml"
    bad.write_text("schema_version: 1\nlicense: x\nsamples:\n  - name: a\n    surprise: 1\n")
    with pytest.raises(InputError, match="invalid sample manifest"):
        load_manifest(bad)
    assert isinstance(load_manifest(), Manifest)
    shutil.copyfile(samples.MANIFEST_PATH, tmp_path / "copy.yaml")
    assert load_manifest(tmp_path / "copy.yaml") == load_manifest()
