"""What a run writes.

* :mod:`~rfprobe.output.answer` — the short answer block per subject (the default console).
* :mod:`~rfprobe.output.report` — per-layer, edge and summary tables (``--verbose``).
* :mod:`~rfprobe.output.report_json` — the JSON report, schema v1 (``schema/report.schema.json``).
* :mod:`~rfprobe.output.plots` — the receptive-field and edge pictures.
* :mod:`~rfprobe.output.files` — checked paths and atomic writes.
"""
