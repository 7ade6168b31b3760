"""``python -m posecheck`` and the ``posecheck`` script.

The stop signals are handled before the rest of posecheck is imported (which takes a moment): a Ctrl-C or
SIGTERM in the first half second then says what happened and exits with its code, instead of a traceback
(see `posecheck.runtime.stopping`).
"""

import sys

from posecheck.runtime import stopping


def _quiet_interrupted_destructors(unraisable) -> None:
    """``sys.unraisablehook``: drops the one destructor error an interrupt leaves behind in mediapipe 1.x.

    A stop signal becomes a KeyboardInterrupt that can land inside ``mediapipe...Image.__init__``, before it has
    set ``_image_ptr``; the half-made image's ``__del__`` then reads that attribute, and Python prints its
    AttributeError as "Exception ignored in ... Traceback" on stderr, after the report was saved. It is noise
    about an image that was never used, so it is dropped; every other unraisable error goes to the default hook.
    """
    obj = getattr(unraisable.object, "__qualname__", "") or ""
    module = getattr(unraisable.object, "__module__", "") or ""
    if (
        isinstance(unraisable.exc_value, AttributeError)
        and module.startswith("mediapipe")
        and obj.endswith("__del__")
        and stopping.received() is not None
    ):
        return
    sys.__unraisablehook__(unraisable)


def main() -> None:
    stopping.install()
    sys.unraisablehook = _quiet_interrupted_destructors
    try:
        from posecheck.cli.app import main as cli_main

        cli_main()
    except KeyboardInterrupt:  # before the command line took over (which says more, see cli.LazyGroup)
        sys.stderr.write(f"Interrupted ({stopping.describe()}) while starting: nothing was done.\n")
        sys.exit(stopping.exit_code())


if __name__ == "__main__":
    main()
