#!/usr/bin/env bash
# Issue 5: the reads model. Continues the bundled demo model (test-data/models/demo) with one read
# per chunk, as `predict` then packs a read stream (chunk length 160 bp: one 150-bp read, never a
# second), on reads carrying 0.5% substitutions (--read-errors, as `simulate`'s reads), with the
# per-chunk Y loss on Y-enriched groups. Then calibrates (paper thresholds, single-threshold and
# graded Y evidence, on the validation genomes' reads with the same error rate) and measures
# accuracy vs reads on the test individuals' simulated reads (cohort seed 1, as train-demo.sh).
# Results stay in WORK_DIR; README ("How many reads") and BENCHMARKS.md ("Session 4") have them.
#
# Usage: scripts/train-reads-model.sh [WORK_DIR]   (default /tmp/genosift-reads; ≈ 45 min on
# 2 cores, training on one thread)
# Environment: STEPS (default 10000), SEED (cohort seed, default 1).
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/genosift-reads}
steps=${STEPS:-10000}
seed=${SEED:-1}
mkdir -p "$work"
cargo build --release --quiet
g=target/release/genosift
[ -f "$work/sim/samples.tsv" ] ||
  $g simulate --out "$work/sim" --seed "$seed" --short-reads 20000 --long-reads 20
[ -f "$work/model/model.safetensors" ] && [ -f "$work/train.log" ] ||
  $g train --samples "$work/sim/samples.tsv" --out "$work/model" --init test-data/models/demo \
    --chunks 16 --chunk-len 160 --reads 150 --read-errors 0.005 --chunk-loss-weight 1 \
    --y-boost 0.5 --lr 2e-4 --warmup 100 --batch 16 --grad-accum 1 --steps "$steps" \
    --eval-every 500 --patience 0 --valid-groups 192 --seed 146 --threads 1 2>&1 |
    tee "$work/train.log"
$g calibrate -m "$work/model" --samples "$work/sim/samples.tsv" --k 1,2,5,10,25,50,100,200 \
  --pool 1600 --read-errors 0.005 --repeats 200 -t 2 2>&1 | tee "$work/calibrate.log"
$g evaluate -m "$work/model" --samples "$work/sim/samples.tsv" --k 1 \
  --reads 100,200,300,500,700,1000,1500,2000,3000,5000,10000 --repeats 200 -t 2 \
  -o "$work/reads.tsv" --plot "$work/reads.png" 2>&1 | tee "$work/reads.log"
