#!/usr/bin/env python3
"""Records what jq 1.7.1 answers for each case in cases.txt.

Dev-time only: runs the peer binary (`$JQ`, else
../shared/peers/jq-1.7.1/jq from the crate root); the test
(tests/jq_compat.rs) reads the recorded expected.json and needs neither
Python nor jq. Each output is taken through `tojson` inside jq, so the
recorded bytes are jq's own compact printing, not Python's.

cases.txt: blocks separated by blank lines; `# name` line, `program` line,
optional `input` line (JSON text; without one, jq runs with -n). Expected errors are
recorded as {"error": message}: the first line jq prints, without its
`jq: error (at ...): ` prefix.

Usage (from testdata/jq-compat): ./generate.py cases.txt > expected.json
"""
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
JQ = os.environ.get("JQ") or os.path.join(HERE, "..", "..", "..", "shared", "peers", "jq-1.7.1", "jq")

cases = []
block = []
for line in open(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "cases.txt"), encoding="utf-8"):
    line = line.rstrip("\n")
    if not line.strip():
        if block:
            cases.append(block)
        block = []
        continue
    block.append(line)
if block:
    cases.append(block)

PREFIX = re.compile(r"^jq: error(?: \(at [^)]*\))?: ")

recorded = []
for block in cases:
    name = block[0].lstrip("# ").strip()
    program = block[1]
    input_text = block[2] if len(block) > 2 else "null"
    entry = {"name": name, "program": program, "input": input_text}
    # Without an input line, the input is jq's -n null (no stdin to name).
    null_input = ["-n"] if len(block) <= 2 else []
    run = subprocess.run(
        [JQ, "-c", *null_input, f"({program}) | tojson"],
        input=b"" if null_input else input_text.encode("utf-8"),
        capture_output=True,
        env={**os.environ, "TZ": "UTC", "LC_ALL": "C"},
    )
    if run.returncode == 0:
        entry["outputs"] = [json.loads(line) for line in run.stdout.decode("utf-8").split("\n")[:-1]]
    else:
        lines = run.stderr.decode("utf-8", "replace").splitlines()
        first = next((line for line in lines if line.startswith("jq: error")), lines[0] if lines else "")
        entry["error"] = PREFIX.sub("", first)
    recorded.append(entry)

json.dump(recorded, sys.stdout, indent="\t", ensure_ascii=False)
sys.stdout.write("\n")
