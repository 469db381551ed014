#!/usr/bin/env bash
# Trains the bundled demo model (test-data/models/demo) from a `genosift simulate` cohort on a CPU,
# calibrates it, evaluates it (all chromosomes, without chrY, without chrX) and bundles two demo read
# files. About 25 minutes on 2 cores. Everything is seeded: the same commands give the same model.
#
# Usage: scripts/train-demo.sh [WORK_DIR]     (default: /tmp/genosift-demo)
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/genosift-demo}
out=test-data/models/demo
mkdir -p "$work"
cargo build --release --quiet
g=target/release/genosift

# 1. Cohort: two species (human-like Y share 0.64%, mouse-like 2.2%), 12 train / 6 valid / 6 test
#    individuals each, 150-bp reads for the test individuals.
[ -f "$work/sim/samples.tsv" ] || $g simulate --out "$work/sim" --seed 1 --short-reads 5000 --long-reads 20

# 2. Train: tiny backbone from scratch with the GENA-LM tokenizer, groups of 16 chunks of 512 bp
#    packed with 150-bp reads (what predict is fed), the paper's group loss plus our per-chunk Y
#    loss (weight 1), male training groups forced to hold a Y chunk, AdamW lr 5e-4 after 100
#    warm-up steps, batch 16, up to 1200 steps, validation every 100.
$g train --samples "$work/sim/samples.tsv" --out "$work/model" --config tiny \
  --chunks 16 --chunk-len 512 --reads 150 --chunk-loss-weight 1 --force-y \
  --lr 5e-4 --warmup 100 --batch 16 --grad-accum 1 --steps 1200 --eval-every 100 --patience 6 \
  --valid-groups 96 --seed 142 --threads 2 2>&1 | tee "$work/train.log"

# 3. Calibrate on the valid genomes (the paper's median rule), then evaluate on the test genomes.
ks=5,10,25,50,100,200
$g calibrate -m "$work/model" --samples "$work/sim/samples.tsv" --k $ks --repeats 200 -t 2
for cond in all chrY chrX; do
  extra=()
  [ "$cond" != all ] && extra=(--exclude-chrom "$cond")
  $g evaluate -q -m "$work/model" --samples "$work/sim/samples.tsv" --k $ks --repeats 200 -t 2 \
    "${extra[@]}" -o "$work/eval-$cond.tsv"
done
{ cat "$work/eval-all.tsv"; tail -n +2 "$work/eval-chrY.tsv"; tail -n +2 "$work/eval-chrX.tsv"; } >"$work/eval.tsv"

# 4. Bundle: model, evaluation, training log, demo reads (one male, one female human-like sample).
rm -rf "$out"
mkdir -p "$out"
cp "$work/model"/{config.json,model.safetensors,genosift.json} "$out/"
ln -s ../../gena-tiny/tokenizer.json "$out/tokenizer.json"
cp "$work/eval.tsv" "$out/evaluation.tsv"
cp "$work/train.log" "$out/train.log"
male=$(awk -F'\t' '$2=="human" && $3=="male" && $4=="test" {print $6; exit}' "$work/sim/samples.tsv")
female=$(awk -F'\t' '$2=="human" && $3=="female" && $4=="test" {print $6; exit}' "$work/sim/samples.tsv")
gzip -9 -n -c "$work/sim/$male" >"$out/demo-male.fq.gz"
gzip -9 -n -c "$work/sim/$female" >"$out/demo-female.fq.gz"
echo "demo model in $out"
