#!/usr/bin/env python3
"""Checks a MultiQC run on genosift's `--mqc` tables (.ci/workflows.sh, issue 18 item 5).

    check_report.py MULTIQC_DATA_JSON CALLS_TSV...

MultiQC must have found genosift's custom content (section id `genosift`), one row per sample of
the calls tables, with every column of the table and the values at the calls table's precision
(MultiQC's default display rounds to one decimal; the data file keeps what was parsed, and the
header's `format` keeps it on screen)."""

import csv
import json
import sys


def main() -> int:
    data_json, *calls_files = sys.argv[1:]
    with open(data_json) as f:
        report = json.load(f)
    raw = report.get("report_saved_raw_data", {})
    tables = {k: v for k, v in raw.items() if "genosift" in k}
    if not tables:
        print(f"error: {data_json}: no genosift data (found: {sorted(raw)})", file=sys.stderr)
        return 1
    (name, table), = tables.items()
    problems = []
    for path in calls_files:
        with open(path) as f:
            for row in csv.DictReader(f, delimiter="\t"):
                got = table.get(row["sample"])
                if got is None:
                    problems.append(f"{name}: no row for {row['sample']} (have {sorted(table)})")
                    continue
                for col in ("call", "posterior_male", "y_hits", "y_dosage", "sex_check"):
                    want = row[col]
                    have = got.get(col)
                    same = str(have) == want
                    if not same and want != "NA":
                        try:
                            same = float(have) == float(want)
                        except (TypeError, ValueError):
                            same = False
                    if not same:
                        problems.append(f"{row['sample']}: {col} is {have!r} in MultiQC, {want!r} in {path}")
    # The table's display: genosift's titles, and probabilities shown with six decimals.
    plots = json.dumps(report.get("report_plot_data", {}))
    for shown in ("P(male)", "Y dosage", "Sex check", '"format": "{:.6f}"'):
        if shown not in plots:
            problems.append(f"{shown} is not in MultiQC's table settings")
    for p in problems:
        print(f"error: {p}", file=sys.stderr)
    if not problems:
        print(f"MultiQC {report.get('config_version', '?')}: {name} holds {len(table)} samples at full precision")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
