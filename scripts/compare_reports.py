"""Compare two runs' JSON reports, timings, paths and machine lines aside: behaviour unchanged
means no differing line.

    python scripts/compare_reports.py BEFORE_DIR AFTER_DIR   # each with probe.json and zoo.json
"""

import json
import sys
import difflib


def strip(o):
    if isinstance(o, dict):
        return {
            k: strip(v)
            for k, v in o.items()
            if not any(t in k for t in ("seconds", "wall_s", "peak_memory", "total_s", "source_path", "machine"))
        }
    if isinstance(o, list):
        return [strip(v) for v in o]
    return o


for name in ("probe.json", "zoo.json"):
    a, b = strip(json.load(open(f"{sys.argv[1]}/{name}"))), strip(json.load(open(f"{sys.argv[2]}/{name}")))
    sa, sb = json.dumps(a, sort_keys=True, indent=1).splitlines(), json.dumps(b, sort_keys=True, indent=1).splitlines()
    d = list(difflib.unified_diff(sa, sb, lineterm="", n=0))
    print(name, "differing lines:", len(d))
    print("\n".join(d[:30]))
