"""A progress bar as a session sink: one step per frame, on a rich console (the CLI gives it stderr).

Progress bars belong to the caller, never to the engine or the loop: ``posecheck analyze`` adds this sink when
stderr is a terminal; the library's `posecheck.analyze` shows none unless given one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console


class ProgressSink:
    """A progress bar advanced once per frame ("Analysing 120/300 frames", time left when the total is known).

    Args:
        console: where to draw it (a ``rich.console.Console``; the bar is removed when the session ends).
    """

    def __init__(self, console: "Console") -> None:
        self.console = console
        self._progress = None
        self._task = None

    def on_start(self, info) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("Analysing"), BarColumn(), MofNCompleteColumn(), TextColumn("frames"), TimeRemainingColumn(),
            console=self.console, transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task("analyse", total=info.frame_count or None)

    def on_frame(self, frame_bgr, pose, state, events) -> None:
        self._progress.advance(self._task)

    def on_finish(self, summary) -> None:
        if self._progress is not None:
            self._progress.stop()
