"""The benchmark report as plain text for a terminal."""

from __future__ import annotations

from typing import Any


def format_report(report: dict[str, Any]) -> str:
    """The report as plain text for a terminal."""
    m = report["machine"]
    src = report["source"]
    lines = [
        f"posecheck bench - {src['path']} ({src['width']}x{src['height']}), {src['frames']} frames "
        f"({src['warmup']} warm-up), exercise {src['exercise']}",
        f"machine: {m['cpu']}, {m['cores']} cores, load {m['load_1min']:.1f}; python {m['python']}, "
        f"mediapipe {m['mediapipe']}, opencv {m['opencv']}; commit {m['commit']}; {m['date']}"
        if m.get("load_1min") is not None else f"machine: {m['cpu']}, {m['cores']} cores",
        f"model: {report['model']['path']} ({report['model']['origin']})",
        "",
        f"bare estimator     {report['estimator_fps']:7.1f} fps  (CPU {report['estimator_cpu_share']:.2f} cores)"
        + (f"  [as scheduled {report['estimator_unpinned_fps']:.1f}, on one core {report['estimator_pinned_fps']:.1f}]"
           if report.get("estimator_pinned_fps") else ""),
        f"end to end         {report['end_to_end_fps']:7.1f} fps  = {report['ratio']:.2f} x estimator"
        f"  (CPU {report['cpu_share']:.2f} cores)",
        f"serial loop        {report['serial_fps']:7.1f} fps  = {report['serial_ratio']:.2f} x estimator",
        f"latency per frame  median {report['latency_ms']['median']:.1f} ms, p95 {report['latency_ms']['p95']:.1f} ms"
        f"  (read -> written)",
        f"peak memory        {report['peak_rss_mb']:.0f} MB",
        f"engine in the loop median {report['engine_in_loop_ms']['median_ms']:.3f} ms, "
        f"mean {report['engine_in_loop_ms']['mean_ms']:.3f} ms = {100 * report['engine_share']:.2f} % of the frame time",
    ]
    if "stages" in report:
        lines += ["", "stage (alone)      median ms   p95 ms"]
        for name, s in report["stages"].items():
            lines.append(f"  {name:<16} {s['median_ms']:9.3f} {s['p95_ms']:8.3f}")
        lines += [f"  ({note})" for note in report.get("stage_notes", [])]
        if "engine_share_alone" in report:
            lines.append(f"engine alone against the loop's frame time: {100 * report['engine_share_alone']:.2f} %")
    if report.get("engine"):
        lines += ["", "engine alone       frames    fps       us/frame"]
        for name, e in report["engine"].items():
            lines.append(f"  {name:<16} {e['frames']:6d} {e['fps']:9.0f} {e['us_per_frame']:9.1f}")
    startup = report.get("startup")
    if startup and "help_s" in startup:
        first, second = startup["first_frame_runs"]
        lines += ["", f"posecheck --help   {startup['help_s'] * 1000:.0f} ms",
                  f"first frame        {first['total_s']:.2f} s in a new process "
                  f"(model {first['model_origin']}, found and checked in {first['resolve_model_s'] * 1000:.0f} ms), "
                  f"{second['total_s']:.2f} s the second time; "
                  f"import {second['import_s']:.2f} s, open estimator {second['open_estimator_s']:.2f} s, "
                  f"first estimate {second['first_frame_s'] * 1000:.0f} ms"]
    return "\n".join(lines) + "\n"
