"""Fingerprints of the engine's events on every spec x trace pair, to prove that a refactor changed nothing.

Every built-in spec is run on every landmark trace in ``tests/data/traces`` (also the traces of other
exercises: a spec must behave the same on poses it was not written for). For each pair the script hashes the
``repr`` of every event, of the state after every frame, and of the final summary, so any change in a count, a
time, a cue, a diagnostic or a measured value shows up.

    python scripts/events_fingerprint.py --write before.json     # on the commit before the refactor
    python scripts/events_fingerprint.py --compare before.json   # after it: exit 1 and the pairs that differ

The file is a record of one commit's behaviour, not test data: make it again whenever behaviour is meant to
change.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path

from posecheck.engine.engine import Engine
from posecheck.specs import SpecRegistry

TRACES = Path(__file__).resolve().parents[1] / "tests" / "data" / "traces"


def pair_fingerprint(spec, trace) -> str:
    """sha256 over the events, the state after each frame and the summary of one spec on one trace."""
    digest = hashlib.sha256()
    engine = Engine(spec)
    t_last = 0.0
    for t, pose in trace.poses():
        for event in engine.update(t, pose):
            digest.update(repr(event).encode())
        digest.update(repr(engine.state).encode())
        t_last = t
    for event in engine.end(t_last):
        digest.update(repr(event).encode())
    digest.update(repr(engine.finish(t_last)).encode())
    return digest.hexdigest()


def fingerprints(traces_dir: Path = TRACES) -> dict[str, str]:
    from posecheck.core.trace import Trace

    registry = SpecRegistry.default()
    specs = [registry.load(exercise) for exercise in sorted(registry.ids())]
    traces = sorted(traces_dir.glob("*.npz"))
    result = {}
    for path in traces:
        trace = Trace.load(path)
        for spec in specs:
            result[f"{spec.id} x {path.stem}"] = pair_fingerprint(spec, trace)
    return result


def write_or_compare(description: str, make: Callable[[], dict[str, str]], what: str) -> int:
    """The command line of a fingerprint script: ``--write FILE`` saves ``make()``, ``--compare FILE`` prints
    the keys whose fingerprint changed and returns 1 when any did."""
    parser = argparse.ArgumentParser(description=description)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", type=Path, help="write the fingerprints to this JSON file")
    mode.add_argument("--compare", type=Path, help="compare with fingerprints written before")
    args = parser.parse_args()
    now = make()
    if args.write:
        args.write.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n")
        print(f"{len(now)} {what} written to {args.write}")
        return 0
    before = json.loads(args.compare.read_text())
    differ = sorted(k for k in before.keys() | now.keys() if before.get(k) != now.get(k))
    for key in differ:
        print(f"differs: {key}")
    print(f"{len(now)} {what}, {len(differ)} differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(write_or_compare(__doc__.split("\n\n")[0], fingerprints, "pairs"))
