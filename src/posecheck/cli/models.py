"""``posecheck models``: which pose model is used (file, sha256, size, origin), and a check that it runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from posecheck.cli.common import quiet_native_stderr


def models(
    model: Annotated[Path | None, typer.Option("--model", help="Describe this .task file instead of the default model.")] = None,
    check: Annotated[bool, typer.Option("--check", help="Also load the model and run it once on a blank frame.")] = False,
) -> None:
    """Show which pose model is used: file, sha256, size and where it came from. Nothing is downloaded.

    Without --model (or $POSECHECK_MODEL), posecheck uses the BlazePose model shipped inside it (built from
    the mediapipe 0.10.21 wheel's tflite files, Apache-2.0) after checking its sha256.

    Example: posecheck models --check
    """
    from importlib.metadata import version

    from posecheck.estimators.model import MODEL_ENV_VAR, resolve_model

    info = resolve_model(model)
    origins = {
        "user": f"given by you (--model or ${MODEL_ENV_VAR})",
        "packaged": "shipped with posecheck, checksum verified (BlazePose full, Apache-2.0; see NOTICE.md beside it)",
    }
    rows = [
        ("model", str(info.path)),
        ("origin", origins.get(info.origin, info.origin)),
        ("sha256", info.sha256),
        ("size", f"{info.size_bytes / 1e6:.1f} MB"),
        ("mediapipe", version("mediapipe")),
    ]
    if check:
        rows.append(("check", _check_model(info.path)))
    # Plain lines, never wrapped or cut: paths and checksums must stay whole to be copied.
    for key, value in rows:
        typer.echo(f"{key + ':':<14}{value}")


def _check_model(path: Path) -> str:
    import numpy as np

    from posecheck.estimators.mediapipe_backend import MediaPipeEstimator

    with quiet_native_stderr(), MediaPipeEstimator(path) as estimator:
        estimator.estimate(np.zeros((256, 256, 3), dtype=np.uint8), 0.0)
    return "loads and runs"
