#!/usr/bin/env python3
"""Validates the module's meta.yml against nf-core's module schema (.ci/workflows.sh, issue 18).

    validate_meta.py [META_YML [SCHEMA_JSON]]

The schema is a copy of nf-core/modules' modules/meta-schema.json (commit 041fbd9, 2026-08-21;
MIT licence), committed beside this script as meta-schema.json. Besides the schema, genosift's
own rules: no empty strings anywhere (a field not known yet is left out, not left blank), and
the calls-table columns listed for the `calls` output are exactly those genosift writes
(`--columns`: the header of `genosift predict` on empty input, passed by CI)."""

import argparse
import json
import re
import sys
from pathlib import Path

import jsonschema
import yaml

HERE = Path(__file__).resolve().parent


def empty_strings(node, path=()):
    if isinstance(node, str) and not node.strip():
        yield "/".join(map(str, path))
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from empty_strings(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from empty_strings(v, path + (i,))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("meta", nargs="?", default=HERE.parent / "modules/genosift/predict/meta.yml")
    ap.add_argument("schema", nargs="?", default=HERE / "meta-schema.json")
    ap.add_argument("--columns", help="the calls table's header line (tab-separated)")
    a = ap.parse_args()
    meta = yaml.safe_load(Path(a.meta).read_text())
    schema = json.loads(Path(a.schema).read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    problems = [f"{'/'.join(map(str, e.path)) or '.'}: {e.message}" for e in validator.iter_errors(meta)]
    problems += [f"{p}: empty string" for p in empty_strings(meta)]
    if a.columns:
        # Whole words: `call` is not described by `no-call`, nor `y_dosage` by `y_dosage_lo`.
        words = set(re.findall(r"[A-Za-z0-9_]+", yaml.safe_dump(meta.get("output", {}).get("calls", ""))))
        problems += [f"calls: column {c} not described" for c in a.columns.split("\t") if c not in words]
    for p in problems:
        print(f"error: {a.meta}: {p}", file=sys.stderr)
    if not problems:
        print(f"{a.meta}: valid against {a.schema}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
