"""Tooling that measures posecheck's counting on labelled clips, in the order the data flows:

- ``labels``: labels.yaml -> :class:`~posecheck.evaluation.labels.ClipLabel`;
- ``runner``: a clip's poses and posecheck's result (replayed trace or decoded video), the engine loop;
- ``baseline``: the AIGym-style counter posecheck is compared with;
- ``variants``: robustness variants of a pose stream (mirrored, speed, noise, camera roll, camera views);
- ``views``: synthetic camera views of recorded poses (used by ``variants``);
- ``scoring``: counts, rep timing, phantoms and hold time against the labels, and totals;
- ``evaluate``: :func:`~posecheck.evaluation.evaluate.evaluate` and the Report; ``margin_report``;
- ``margins``: how close the clips come to every line a spec draws;
- ``tables``: the report as tables (CLI text, benchmarks/ACCURACY.md).
"""
