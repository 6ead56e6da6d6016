#!/usr/bin/env python3
"""Records what jq 1.7.1 answers for each case in cases.txt.

Dev-time only: needs the PyPI package `jq` (1.7.0 bundles jq 1.7.1); the
test (tests/jq_compat.rs) reads the recorded expected.json and needs
neither Python nor jq. Each output is taken through `tojson` inside jq, so
the recorded bytes are jq's own compact printing, not Python's.

cases.txt: blocks separated by blank lines; `# name` line, `program` line,
optional `input` line (JSON text, default null). Expected errors are
recorded as {"error": message}.
"""
import json
import sys

import jq

cases = []
block = []
for line in open(sys.argv[1] if len(sys.argv) > 1 else "cases.txt", encoding="utf-8"):
    line = line.rstrip("\n")
    if not line.strip():
        if block:
            cases.append(block)
        block = []
        continue
    block.append(line)
if block:
    cases.append(block)

recorded = []
for block in cases:
    name = block[0].lstrip("# ").strip()
    program = block[1]
    input_text = block[2] if len(block) > 2 else "null"
    entry = {"name": name, "program": program, "input": input_text}
    try:
        outputs = jq.compile(f"({program}) | tojson").input_text(input_text).all()
        entry["outputs"] = outputs
    except ValueError as error:
        entry["error"] = str(error).splitlines()[0]
    recorded.append(entry)

json.dump(recorded, sys.stdout, indent="\t", ensure_ascii=False)
sys.stdout.write("\n")
