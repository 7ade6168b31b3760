"""Session sinks and the outputs made from them beside report.json: history, measures.csv, report.html.

`posecheck.sinks.outputs.SessionOutputs` is the one hook `analyze` and `live` call; the modules behind it
(`history`, `measures`, `html_report`) do not depend on the CLI.
"""
