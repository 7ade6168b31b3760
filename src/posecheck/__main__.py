"""``python -m posecheck`` and the ``posecheck`` script.

The stop signals are handled before the rest of posecheck is imported (which takes a moment): a Ctrl-C or
SIGTERM in the first half second then says what happened and exits with its code, instead of a traceback
(see `posecheck.stopping`).
"""

import sys

from posecheck import stopping


def main() -> None:
    stopping.install()
    try:
        from posecheck.cli import main as cli_main

        cli_main()
    except KeyboardInterrupt:  # before the command line took over (which says more, see cli.LazyGroup)
        sys.stderr.write(f"Interrupted ({stopping.describe()}) while starting: nothing was done.\n")
        sys.exit(stopping.exit_code())


if __name__ == "__main__":
    main()
