"""posecheck's version, in a module of its own so that any module can read it without importing the package's
public API (``posecheck/__init__.py`` reaches `posecheck.api`, which reaches most of the package)."""

__version__ = "0.1.0"
