"""posecheck: rep counting and form cues for back-care exercises."""

__version__ = "0.1.0"
