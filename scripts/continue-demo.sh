#!/usr/bin/env bash
# Issue 5 experiment: does more training of the demo model's chunk Y detector cut its false-Y rate?
# Continues test-data/models/demo for 1,200 steps (lr 2e-4 after 100 warm-up steps, fresh AdamW,
# sampling seed 143, everything else as scripts/train-demo.sh), then calibrates and evaluates
# accuracy vs reads on the demo cohort (simulate --seed 1, as train-demo.sh makes it). The bundled
# model is only read. Results stay in WORK_DIR; BENCHMARKS.md ("Session 3") has the figures.
#
# Usage: scripts/continue-demo.sh [WORK_DIR]     (default: /tmp/genosift-continue; ≈ 25 min on
# 2 cores, mostly training on one thread)
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/genosift-continue}
mkdir -p "$work"
cargo build --release --quiet
g=target/release/genosift
[ -f "$work/sim/samples.tsv" ] ||
  $g simulate --out "$work/sim" --seed 1 --short-reads 20000 --long-reads 20
$g train --samples "$work/sim/samples.tsv" --out "$work/model" --init test-data/models/demo \
  --chunks 16 --chunk-len 512 --reads 150 --chunk-loss-weight 1 --y-boost 0.5 \
  --lr 2e-4 --warmup 100 --batch 16 --grad-accum 1 --steps 1200 --eval-every 200 \
  --patience 5 --valid-groups 96 --seed 143 --threads 1 2>&1 | tee "$work/train.log"
$g calibrate -m "$work/model" --samples "$work/sim/samples.tsv" --k 1,2,5,10,25,50,100,200 \
  --pool 400 --repeats 200 -t 2 2>&1 | tee "$work/calibrate.log"
$g evaluate -m "$work/model" --samples "$work/sim/samples.tsv" --k 1 \
  --reads 50,100,200,300,500,700,1000,1500,2000,3000,5000,10000 --repeats 200 -t 2 \
  -o "$work/reads.tsv" --plot "$work/reads.png" 2>&1 | tee "$work/reads.log"
