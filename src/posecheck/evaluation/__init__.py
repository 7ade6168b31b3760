"""Tooling that measures posecheck: synthetic views of recorded poses (views)."""
