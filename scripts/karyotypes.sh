#!/usr/bin/env bash
# Measures karyotypes and flags on simulated X0, XXY, XYY, admixed and mosaic individuals
# (BENCHMARKS.md, "Karyotypes and flags on simulated individuals"):
#   1. the bundled demo model (no X output: flags and Y dosage only), about 5 min;
#   2. the demo model fine-tuned with an X output (two `train --init` runs, about 17 min on 2
#      vCPUs), calibrated as `train --recipe reads` calibrates, then evaluated (about 13 min).
# Everything is seeded: the same commands give the same tables, whatever the thread count.
#
# Usage: scripts/karyotypes.sh [WORK_DIR]     (default: /tmp/genosift-karyotypes)
# Environment: GENOSIFT (a genosift binary to use instead of building target/release/genosift),
# THREADS (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/genosift-karyotypes}
threads=${THREADS:-2}
demo=$PWD/test-data/models/demo
mkdir -p "$work"
if [ -n "${GENOSIFT:-}" ]; then
  g=$GENOSIFT
else
  cargo build --release --quiet
  g=$PWD/target/release/genosift
fi
cd "$work"

# The seed-1 species (the demo model's), 100,000 reads per test individual.
[ -f k1/samples.tsv ] ||
  $g simulate --out k1 --seed 1 --short-reads 100000 --long-reads 10
reads=(--reads "2000,10000,50000" --pool 200 -t "$threads")

# 1. The bundled demo model.
$g evaluate -m "$demo" --samples k1/samples.tsv "${reads[@]}" \
  --karyotypes k1-kary2.tsv -o k1-reads2.tsv

# 2. The demo model with an X output: the recipe's reads-stage shape and Y loss, an X loss of
#    weight 1; 2,500 steps at 1e-4, then 6,000 at 2e-4 (the kept step is the best validation sum
#    of group, chunk Y and chunk X ROC-AUCs).
shape=(--samples k1/samples.tsv --chunks 16 --chunk-len 160 --reads 150 --read-errors 0.005
  --chunk-loss-weight 1 --x-loss-weight 1 --y-boost 0.5 --warmup 100 --batch 16 --grad-accum 4
  --valid-groups 96 -t "$threads")
[ -f xmodel/model.safetensors ] ||
  $g train --init "$demo" --out xmodel "${shape[@]}" --lr 1e-4 --steps 2500 --eval-every 250 --seed 7
[ -f xmodel2/model.safetensors ] ||
  $g train --init xmodel --out xmodel2 "${shape[@]}" --lr 2e-4 --steps 6000 --eval-every 500 --seed 8
$g calibrate -m xmodel2 --samples k1/samples.tsv --k 1,2,5,10,25,50,100,200 --pool 16000 \
  --read-errors 0.005 --both-strands --repeats 200 --seed 143 -t "$threads"
$g evaluate -m xmodel2 --samples k1/samples.tsv "${reads[@]}" \
  --karyotypes x-kary2.tsv --karyotype-plot x-kary2.png -o x-reads2.tsv
echo "tables in $work: k1-kary2.tsv, k1-reads2.tsv (bundled model), x-kary2.tsv, x-reads2.tsv (X output)"
