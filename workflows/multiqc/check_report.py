#!/usr/bin/env python3
"""Checks a MultiQC run on genosift's `--mqc` output (.ci/workflows.sh, issue 18 item 5).

    check_report.py MULTIQC_DATA_JSON CALLS_TSV...

MultiQC must have found genosift's three custom-content files for every sample of the calls
tables: the section table (`id: genosift`, every column) and the General Statistics columns
(`call`, `posterior_male`, `y_dosage`, `sex_check`), with the values at the calls table's
precision and the display formats that keep it on screen (MultiQC's default shows one decimal,
so 0.96 and 0.995 both read "1.0"); and the dosage scatter plot (`genosift_dosage_plot`), the
samples' points merged into one plot, y the Y dosage, grouped by the reported sex."""

import csv
import json
import sys

GENERAL_STATS = ("call", "posterior_male", "y_dosage", "sex_check")
TABLE = GENERAL_STATS + ("rule", "y_hits", "y_dosage_lo", "y_dosage_hi", "flag", "expected_sex")
FORMATS = {"posterior_male": "{:.6f}", "y_dosage": "{:.4f}"}


def same(have, want: str) -> bool:
    if str(have) == want:
        return True
    try:
        return float(have) == float(want)
    except (TypeError, ValueError):
        return False


def compare(where: str, got: dict, row: dict, columns, problems: list) -> None:
    for col in columns:
        if col not in got and row[col] == "NA":
            continue  # MultiQC drops empty cells
        if not same(got.get(col), row[col]):
            problems.append(f"{where}: {row['sample']} {col} is {got.get(col)!r}, calls.tsv {row[col]!r}")


def general_stats(report: dict, problems: list):
    """genosift's General Statistics data and headers (MultiQC keys them by module)."""
    data, headers = {}, {}
    for module, h in report.get("report_general_stats_headers", {}).items():
        if any("genosift" in str(v.get("namespace", "")) for v in h.values()):
            headers.update(h)
            data.update(report["report_general_stats_data"].get(module, {}))
    if not headers:
        problems.append("General Statistics: no genosift columns")
    for col in GENERAL_STATS:
        if col not in headers:
            problems.append(f"General Statistics: no {col} column")
    for col, fmt in FORMATS.items():
        if headers.get(col, {}).get("format") != fmt:
            problems.append(f"General Statistics: {col} shown as {headers.get(col, {}).get('format')!r}, not {fmt!r}")
    return data


def scatter(report: dict, rows: list, problems: list) -> None:
    """The X-vs-Y dosage plot: a point per sample with a Y dosage, in the reported sex's group."""
    raw = report.get("report_saved_raw_data", {})
    points = raw.get("multiqc_genosift_dosage_plot", {})
    if not points:
        problems.append(f"no genosift dosage scatter plot (data: {sorted(raw)})")
        return
    for row in rows:
        if row["y_dosage"] == "NA":
            continue
        point = points.get(row["sample"])
        if point is None:
            problems.append(f"dosage plot: no point for {row['sample']} (have {sorted(points)})")
            continue
        if abs(float(point["y"]) - float(row["y_dosage"])) > 5e-5:
            problems.append(f"dosage plot: {row['sample']} y is {point['y']}, calls.tsv y_dosage {row['y_dosage']}")
        group = {"male": "reported male", "female": "reported female"}.get(row["expected_sex"], "sex not reported")
        if point.get("group") != group:
            problems.append(f"dosage plot: {row['sample']} is in {point.get('group')!r}, not {group!r}")


def main() -> int:
    data_json, *calls_files = sys.argv[1:]
    with open(data_json) as f:
        report = json.load(f)
    problems = []
    raw = report.get("report_saved_raw_data", {})
    tables = [v for k, v in raw.items() if k.endswith("genosift_calls")]
    table = tables[0] if len(tables) == 1 else {}
    if not table:
        problems.append(f"no genosift section table (data: {sorted(raw)})")
    plots = json.dumps(report.get("report_plot_data", {}).get("genosift_calls", {}))
    for shown in ("P(male)", "Y dosage", "Sex check", '"format": "{:.6f}"'):
        if shown not in plots:
            problems.append(f"section table: {shown} is not in its settings")
    stats = general_stats(report, problems)
    rows = [r for p in calls_files for r in csv.DictReader(open(p), delimiter="\t")]
    for row in rows:
        for where, data, columns in (("section table", table, TABLE), ("General Statistics", stats, GENERAL_STATS)):
            got = data.get(row["sample"])
            if got is None:
                problems.append(f"{where}: no row for {row['sample']} (have {sorted(data)})")
            else:
                compare(where, got, row, columns, problems)
    scatter(report, rows, problems)
    for p in problems:
        print(f"error: {p}", file=sys.stderr)
    if problems:
        return 1
    print(f"MultiQC {report.get('config_version', '?')}: genosift's table, General Statistics "
          f"and dosage plot hold {len(rows)} samples at full precision")
    return 0


if __name__ == "__main__":
    sys.exit(main())
