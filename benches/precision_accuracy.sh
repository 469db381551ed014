#!/usr/bin/env bash
# What bf16 costs in accuracy (issue 19 item 2): the bundled demo model recalibrated at bf16
# (GENOSIFT_PRECISION=bf16, the recipe's calibration command) and its accuracy vs reads on the
# demo cohort's test genomes, beside the same evaluation at f32 with the bundled calibration
# (made by the same command at f32). Needs a CPU with bf16 products (AMX or AVX512-BF16).
#
# Usage: benches/precision_accuracy.sh [WORK_DIR] [THREADS]   (defaults /tmp/genosift-precision, 2)
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/genosift-precision}
threads=${2:-2}
cargo build --release --quiet
g=$PWD/target/release/genosift
mkdir -p "$work"
[ -f "$work/sim/samples.tsv" ] ||
  $g simulate --out "$work/sim" --seed 1 --short-reads 20000 --long-reads 20
rm -rf "$work/model-bf16"
cp -rL test-data/models/demo "$work/model-bf16"
GENOSIFT_PRECISION=bf16 $g calibrate -m "$work/model-bf16" --samples "$work/sim/samples.tsv" \
  --k 1,2,5,10,25,50,100,200 --pool 16000 --read-errors 0.005 --both-strands --repeats 200 -t "$threads"
reads=100,200,300,500,534,700,1000,1500,1839,2000,3000,5000,10000
for p in f32 bf16; do
  model=test-data/models/demo
  [ "$p" = bf16 ] && model=$work/model-bf16
  GENOSIFT_PRECISION=$p $g evaluate -m "$model" --samples "$work/sim/samples.tsv" --k 1 \
    --reads $reads --repeats 200 -t "$threads" -o "$work/reads-$p.tsv" 2>&1 | tee "$work/reads-$p.log"
done
echo "tables: $work/reads-f32.tsv, $work/reads-bf16.tsv"
