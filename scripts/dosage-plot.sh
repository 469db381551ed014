#!/usr/bin/env bash
# Draws README's cohort picture (docs/images/dosage-plot.png): the bundled demo model on the 11
# human test individuals of a `simulate --seed 1` cohort (XX, XY, X0, XXY, XYY, a 10%-male-admixed
# female, a mosaic loss-of-Y male; 20,000 reads each), one male (human_M23) reported female, with
# `predict --samples … --dosage-plot … --mqc …`. About 2 min on 2 vCPUs.
#
# Usage: scripts/dosage-plot.sh [WORK_DIR]     (default: /tmp/genosift-dosage-plot)
# Environment: GENOSIFT (a genosift binary to use instead of building target/release/genosift),
# THREADS (default 2), OUT (the figure, default docs/images/dosage-plot.png).
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/genosift-dosage-plot}
threads=${THREADS:-2}
out=$PWD/${OUT:-docs/images/dosage-plot.png}
demo=$PWD/test-data/models/demo
mkdir -p "$work"
if [ -n "${GENOSIFT:-}" ]; then
  g=$GENOSIFT
else
  cargo build --release --quiet
  g=$PWD/target/release/genosift
fi
cd "$work"
[ -f sim/samples.tsv ] || $g simulate --out sim --seed 1 --short-reads 20000 --long-reads 1

# The human test individuals, their reported sex from the cohort sheet, one male swapped.
awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; print "sample\treads\tsex\tspecies"; next }
  $col["species"] == "human" && $col["split"] == "test" {
    sex = $col["sample"] == "human_M23" ? "female" : $col["sex"]
    print $col["sample"] "\tsim/" $col["reads"] "\t" sex "\thuman" }' sim/samples.tsv >sheet.tsv
$g predict -q -m "$demo" --samples sheet.tsv -t "$threads" -o calls.tsv \
  --dosage-plot "$out" --mqc cohort_mqc.tsv
cut -f1,8,13-18 calls.tsv
