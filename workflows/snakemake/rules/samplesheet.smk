# The example workflow's helpers: its default settings, and its sample sheet (TSV, header
# required): sample, reads[, index][, species]. Several rows of one sample make one sample (lanes,
# mates), in sheet order; `index` is the row's BAM/CRAM index (.bai/.csi/.crai), if any; relative
# paths are relative to the sheet. Every bad row is reported at once, with its line number.
import csv
import os
import re

import yaml
from snakemake.utils import update_config


def apply_example_defaults(config, path, folder):
    """Put the settings in PATH under CONFIG (what --configfile and --config gave wins, key by
    key); relative paths in PATH (samples, genosift.model, genosift.reference) are relative to
    FOLDER, so the workflow runs from any directory."""
    with open(path) as fh:
        defaults = yaml.safe_load(fh)

    def in_folder(value):
        return os.path.join(folder, value) if value and not os.path.isabs(value) else value

    defaults["samples"] = in_folder(defaults["samples"])
    for key in ("model", "reference"):
        defaults["genosift"][key] = in_folder(defaults["genosift"].get(key))
    given = dict(config)
    config.clear()
    config.update(defaults)
    update_config(config, given)


def read_sample_sheet(path):
    """sample -> reads files, sample -> species, sample -> index files, sample -> reported sex
    (the optional `sex` column: male/female, M/F or 1/2; genosift checks the value)."""
    base = os.path.dirname(os.path.abspath(path))
    samples, species, index, sex, errors = {}, {}, {}, {}, []
    with open(path, newline="") as fh:
        rows = csv.DictReader((line for line in fh if line.strip() and not line.startswith("#")), delimiter="\t")
        if not rows.fieldnames or not {"sample", "reads"} <= set(rows.fieldnames):
            raise ValueError(f"{path}: the header must have the columns sample and reads (tab-separated)")
        for line, row in enumerate(rows, start=2):
            sample, reads = (row.get("sample") or "").strip(), (row.get("reads") or "").strip()
            if not re.fullmatch(r"[A-Za-z0-9._-]+", sample):
                errors.append(f"line {line}: sample {sample!r} must use only A-Z a-z 0-9 . _ -")
                continue
            if not reads:
                errors.append(f"line {line}: sample {sample} has no reads")
                continue
            samples.setdefault(sample, []).append(os.path.normpath(os.path.join(base, reads)))
            if (row.get("index") or "").strip():
                index.setdefault(sample, []).append(os.path.normpath(os.path.join(base, row["index"].strip())))
            if (row.get("species") or "").strip():
                species[sample] = row["species"].strip()
            if (row.get("sex") or "").strip():
                sex[sample] = row["sex"].strip()
    if errors:
        raise ValueError(f"{path}:\n  " + "\n  ".join(errors))
    if not samples:
        raise ValueError(f"{path}: no samples")
    return samples, species, index, sex
