"""``python -m posecheck``: the same as the ``posecheck`` command."""

from posecheck.cli import main

if __name__ == "__main__":
    main()
