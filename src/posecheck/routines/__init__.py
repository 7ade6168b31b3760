"""Guided routines: routine files (schema, loader, registry), running them step by step (runner, scripted keys)
and the routine's report. See README.md, section posecheck routine."""
