"""``posecheck bench``: how fast the loop runs against the bare pose estimator, stage by stage.

- ``run``: :class:`~posecheck.bench.run.BenchConfig` and :func:`~posecheck.bench.run.run_bench`, which runs the parts;
- ``end_to_end``: the real session loop, timed; and the first-frame probe (``python -m posecheck.bench.end_to_end``);
- ``estimator``: the bare MediaPipe estimator on frames decoded beforehand;
- ``stages``: each stage of the loop alone; ``engine``: the engine alone on recorded traces;
- ``startup``: ``posecheck --help`` and the first analysed frame, each in a new process;
- ``rates``: frames per second and CPU share after a warm-up; ``machine``: what it ran on, memory;
- ``frames``: frames held in memory (preload, resize, write) and the memory check;
- ``report``: the report as text.
"""
