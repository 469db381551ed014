#!/usr/bin/env python3
"""Prints the accuracy-vs-reads table of `genosift evaluate --reads … -o reads.tsv` as Markdown,
one table per species (accuracy; no-call rate in brackets when it is at least 0.5%), the rows in
ideals first, then `lr` and its variants, then the rest. Usage: scripts/reads-table.py reads.tsv"""
import csv
import sys
from collections import OrderedDict


def cell(row):
    acc = float(row["accuracy_mean"])
    no_call = float(row["no_call_rate"])
    return f"{acc:.3f}" + (f" ({no_call:.2f})" if no_call >= 0.005 else "")


ORDER = ["ideal", "ideal-unique", "lr", "lr-plain", "lr-hits", "paper"]


def main(path):
    tables = OrderedDict()
    with open(path, newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            rules = tables.setdefault(row["species"], OrderedDict())
            rules.setdefault(row["rule"], OrderedDict())[int(row["n_reads"])] = cell(row)
    for species, rules in tables.items():
        ns = sorted({n for cells in rules.values() for n in cells})
        print(f"**{species}** (accuracy; no-call rate in brackets)\n")
        print("| reads | " + " | ".join(f"{n:,}" for n in ns) + " |")
        print("|---" * (len(ns) + 1) + "|")
        order = sorted(rules, key=lambda r: ORDER.index(r) if r in ORDER else len(ORDER))
        for rule in order:
            cells = rules[rule]
            print(f"| {rule} | " + " | ".join(cells.get(n, "") for n in ns) + " |")
        print()


if __name__ == "__main__":
    main(sys.argv[1])
