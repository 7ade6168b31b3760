"""Many clips on a Dask cluster (issue 17): a real scheduler and two workers, each a separate process on
localhost, analyse a folder of clips through the scheduler's address; every report must equal a local
`posecheck.analyze` of the same clip. A worker killed mid-run loses nothing: its clips run on the other one.
Also: resuming, the local cluster, and the one-line errors (no Dask, a bad address, --save-trace).

Landmark traces keep it fast (no model); one real short clip checks the pose model in a worker.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import posecheck
from posecheck.cli.app import app
from posecheck.runtime import cluster

from conftest import _IN_CI, TRACES, shared_clip

if _IN_CI:
    import distributed  # scripts/setup.sh installs the cluster extra: missing in CI is a setup error, not a skip
else:
    distributed = pytest.importorskip("distributed", reason="the cluster extra is not installed (pip install '.[cluster]')")

runner = CliRunner()
#: Traces of several exercises, analysed as cat-cow: reps for some, a refusal with a reason for others.
TRACE_NAMES = ["cat_cow_01", "cat_cow_03", "cat_cow_32", "bird_dog_01", "childs_pose_01", "dead_bug_01",
               "glute_bridge_01", "plank_01", "push_up_01", "crunch_01", "cobra_11", "pelvic_tilt_01"]


def _start(args: list[str], log: Path) -> subprocess.Popen:
    # Its own session, so that the whole process group (a worker's nanny and the worker) can be killed at once.
    return subprocess.Popen([sys.executable, "-m", *args], stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})


class LocalhostCluster:
    """`dask scheduler` and two `dask worker` processes, started by their command-line entry points."""

    def __init__(self, folder: Path):
        self.folder = folder
        scheduler_file = folder / "scheduler.json"
        self.scheduler = _start(["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
                                 "--no-dashboard", "--scheduler-file", str(scheduler_file)], folder / "scheduler.log")
        deadline = time.monotonic() + 60
        while not scheduler_file.is_file() or not scheduler_file.read_text().strip():
            assert self.scheduler.poll() is None, (folder / "scheduler.log").read_text()
            assert time.monotonic() < deadline, "the scheduler did not start within 60 s"
            time.sleep(0.2)
        time.sleep(0.2)  # the file is written in one go, but let it be complete
        self.address = json.loads(scheduler_file.read_text())["address"]
        self.workers = {
            name: _start(["distributed.cli.dask_worker", self.address, "--nthreads", "1", "--nworkers", "1",
                          "--name", name, "--no-dashboard", "--memory-limit", "0"], folder / f"{name}.log")
            for name in ("w1", "w2")
        }
        with distributed.Client(self.address, timeout=30) as client:
            client.wait_for_workers(2, timeout=90)
            self.worker_addresses = {info["name"]: address for address, info in client.scheduler_info()["workers"].items()}

    def kill(self, name: str) -> None:
        os.killpg(self.workers[name].pid, signal.SIGKILL)
        self.workers[name].wait(timeout=30)

    def close(self) -> None:
        for process in [*self.workers.values(), self.scheduler]:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in [*self.workers.values(), self.scheduler]:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
def localhost_cluster(tmp_path):
    started = LocalhostCluster(tmp_path)
    yield started
    started.close()


def _trace_folder(folder: Path, names=TRACE_NAMES) -> Path:
    folder.mkdir()
    for name in names:
        shutil.copy(TRACES / f"{name}.npz", folder / f"{name}.npz")
    return folder


def _local_report(clip: Path, exercise: str = "cat-cow") -> dict:
    return posecheck.analyze(clip.absolute(), exercise).to_dict()


def test_a_folder_through_a_scheduler_address_gives_the_local_reports(localhost_cluster, tmp_path):
    clips = _trace_folder(tmp_path / "clips", TRACE_NAMES[:5])
    shutil.copy(shared_clip("cat_cow_03.mp4"), clips / "cat_cow_03_video.mp4")  # the pose model in a worker
    out = tmp_path / "out"
    result = runner.invoke(app, ["analyze", str(clips), "-e", "cat-cow", "--scheduler", localhost_cluster.address,
                                 "-o", str(out), "--json", str(tmp_path / "all.json")])
    assert result.exit_code == 0, result.output
    listed = json.loads((tmp_path / "all.json").read_text())
    assert [Path(entry["clip"]).name for entry in listed] == sorted(p.name for p in clips.iterdir())
    workers = set()
    for entry in listed:
        clip = Path(entry["clip"])
        assert entry["status"] == "done", entry
        written = json.loads((out / clip.stem / "report.json").read_text())
        assert written == entry["report"] == _local_report(clip), clip.name
        assert (out / clip.stem / "reps.csv").is_file()
        made_from = json.loads((out / clip.stem / cluster.INPUT_FILE).read_text())
        assert made_from["input"] == str(clip) and made_from["exercise"] == "cat-cow"
        workers.add(entry["worker"])
    assert workers <= set(localhost_cluster.worker_addresses.values())
    assert len(workers) == 2, "both workers should have taken clips"
    assert "6 clips on the Dask cluster at" in result.output and "(6 done;" in result.output


def test_a_worker_killed_mid_run_loses_no_clip(localhost_cluster, tmp_path):
    # Thirty traces: several seconds of work for two workers, so that w2 is killed with clips left to do.
    names = sorted(path.stem for path in TRACES.glob("*.npz"))[:30]
    clips = sorted(_trace_folder(tmp_path / "clips", names).iterdir())
    victim = localhost_cluster.worker_addresses["w2"]
    killed: dict = {}

    def connected(client):
        killed["client"] = client

    def on_progress(progress):
        # The first time w2 is seen holding a clip, with clips still to do, it is killed (nanny and worker).
        client = killed.get("client")
        if client is None or "keys" in killed or client.status != "running":
            return
        held = client.processing().get(victim, ())
        if held and progress.done < progress.total:
            killed["keys"], killed["done_before"] = set(held), progress.done
            localhost_cluster.kill("w2")

    results = cluster.run_clips_on_cluster(clips, posecheck.load_spec("cat-cow"), tmp_path / "out",
                                           scheduler=localhost_cluster.address, on_progress=on_progress,
                                           on_connected=connected)
    assert killed.get("keys"), "w2 was never seen holding a clip: the test proved nothing"
    assert killed["done_before"] < len(clips)
    assert localhost_cluster.workers["w2"].poll() is not None
    assert [result.status for result in results] == ["done"] * len(clips)
    for result in results:
        assert result.report == _local_report(result.clip), result.clip.name
        assert json.loads((result.out_dir / "report.json").read_text()) == result.report
    # The clips w2 held when it died were finished by w1.
    held_stems = {key.split("-")[1] for key in killed["keys"]}  # posecheck-<stem>-<random>
    finished_by = {result.clip.stem: result.worker for result in results}
    survivor = localhost_cluster.worker_addresses["w1"]
    assert held_stems and all(finished_by[stem] == survivor for stem in held_stems), (held_stems, finished_by)


def test_a_rerun_skips_finished_clips_and_redoes_changed_ones(tmp_path):
    clips = _trace_folder(tmp_path / "clips", TRACE_NAMES[:3])
    out = tmp_path / "out"
    args = ["analyze", str(clips), "-e", "cat-cow", "--cluster", "-j", "2", "-o", str(out), "--json", "-"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    # One clip changed since (a new recording under the same name), one report lost its input.json (a run
    # stopped while writing it): those two are analysed again, the third is taken as it is.
    changed = clips / "cat_cow_03.npz"
    os.utime(changed, ns=(changed.stat().st_atime_ns, changed.stat().st_mtime_ns + 10**9))
    (out / "cat_cow_32" / cluster.INPUT_FILE).unlink()
    second = runner.invoke(app, args)
    assert second.exit_code == 0, second.output
    statuses = {Path(entry["clip"]).stem: entry["status"] for entry in json.loads(second.stdout)}
    assert statuses == {"cat_cow_01": "skipped", "cat_cow_03": "done", "cat_cow_32": "done"}
    third = runner.invoke(app, [*args[:-2], "--no-resume", "--json", "-"])
    assert third.exit_code == 0, third.output
    assert {entry["status"] for entry in json.loads(third.stdout)} == {"done"}


def test_another_spec_is_not_taken_for_a_finished_one(tmp_path):
    clip = TRACES / "cat_cow_01.npz"
    cat_cow, bridge = posecheck.load_spec("cat-cow"), posecheck.load_spec("glute-bridge")
    folder = tmp_path / "cat_cow_01"
    cluster._write_outputs(folder, _local_report(clip), cluster.fingerprint(clip, cat_cow, None))
    assert cluster.finished_report(folder, cluster.fingerprint(clip, cat_cow, None)) == _local_report(clip)
    assert cluster.finished_report(folder, cluster.fingerprint(clip, bridge, None)) is None
    edited = cat_cow.model_copy(update={"title": "Cat-Cow, edited"})
    assert cluster.finished_report(folder, cluster.fingerprint(clip, edited, None)) is None


def _one_error_line(result, *fragments: str) -> None:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    errors = [line for line in lines if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    for fragment in fragments:
        assert fragment in errors[0], result.output


@pytest.mark.parametrize("address, says", [
    ("tcp://127.0.0.1:9", "cannot reach the Dask scheduler at tcp://127.0.0.1:9"),
    ("no-port", "no-port is not a Dask scheduler address"),
])
def test_an_unusable_scheduler_address_is_one_error_line(tmp_path, address, says, monkeypatch):
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 2.0)
    result = runner.invoke(app, ["analyze", str(TRACES / "cat_cow_01.npz"), "-e", "cat-cow", "--scheduler", address,
                                 "-o", str(tmp_path / "out")])
    _one_error_line(result, says)


@pytest.mark.parametrize("option", [["--cluster"], ["--scheduler", "tcp://127.0.0.1:8786"]])
def test_without_dask_the_cluster_options_say_what_to_install(tmp_path, monkeypatch, option):
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` raises ImportError
    result = runner.invoke(app, ["analyze", str(TRACES / "cat_cow_01.npz"), "-e", "cat-cow", *option,
                                 "-o", str(tmp_path / "out")])
    _one_error_line(result, f"{option[0]} needs Dask", "posecheck-coach[cluster]")


@pytest.mark.parametrize("options, says", [
    (["--cluster", "--save-trace", "{tmp}/t"], "--save-trace cannot be used with --cluster"),
    (["--scheduler", "tcp://127.0.0.1:9", "--jobs", "2"], "--jobs sets the workers of --cluster's local cluster"),
])
def test_options_that_do_not_apply_are_refused(tmp_path, options, says):
    options = [option.format(tmp=tmp_path) for option in options]
    result = runner.invoke(app, ["analyze", str(TRACES / "cat_cow_01.npz"), "-e", "cat-cow", *options,
                                 "-o", str(tmp_path / "out")])
    _one_error_line(result, says)
