#!/usr/bin/env bash
# Trains the bundled demo model (test-data/models/demo) from a `genosift simulate` cohort on a CPU,
# calibrates it (the paper's thresholds and the per-chunk Y detector), evaluates it (accuracy vs K
# with all chromosomes, without chrY, without chrX; accuracy vs reads) and bundles demo read files.
# Three training stages: the groups model (16 chunks of 512 bp, three reads each); from it, the
# reads model (one read per chunk); and a short anneal of that at a lower learning rate, which is
# the one bundled.
# About 65 minutes on 2 cores (session 5, seed 3, beside other work: simulate < 1, training ≈ 20 +
# 32 + 2 on one core, calibration ≈ 7 and evaluation ≈ 3 on both). Everything is seeded: the same
# commands give the same model.
#
# Usage: scripts/train-demo.sh [WORK_DIR]     (default: /tmp/genosift-demo)
# Environment: SEED (cohort seed, default 1), STEPS (stage 1, default 1000), READS_STEPS (stage 2,
# default 10000), BUNDLE (1: copy the result to test-data/models/demo, default 1; 0 for a check on
# a fresh cohort, e.g. SEED=2 BUNDLE=0), GENOSIFT (a genosift binary to use instead of building
# target/release/genosift).
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/genosift-demo}
seed=${SEED:-1}
steps=${STEPS:-1000}
reads_steps=${READS_STEPS:-10000}
bundle=${BUNDLE:-1}
out=test-data/models/demo
mkdir -p "$work"
if [ -n "${GENOSIFT:-}" ]; then
  g=$GENOSIFT
else
  cargo build --release --quiet
  g=target/release/genosift
fi

# A stage is done when its log is complete: the log is written as NAME.log.partial and renamed
# when the command succeeds, so an interrupted stage is run again rather than reused.
done_or_run() {
  local log=$1
  shift
  [ -f "$log" ] && return 0
  "$@" 2>&1 | tee "$log.partial"
  mv "$log.partial" "$log"
}

# 1. Cohort: two species (human-like Y share 0.64%, mouse-like 2.2%), 12 train / 6 valid / 6 test
#    individuals each, 20,000 150-bp reads (0.5% errors) for each test individual.
[ -f "$work/sim/samples.tsv" ] ||
  $g simulate --out "$work/sim" --seed "$seed" --short-reads 20000 --long-reads 20

# 2. Train, stage 1 (the groups model): tiny backbone from scratch with the GENA-LM tokenizer;
#    groups of 16 chunks of 512 bp packed with 150-bp reads (three whole reads per chunk); the
#    paper's group loss plus our per-chunk Y loss (weight 1) on Y-enriched groups (--y-boost 0.5:
#    half the chunks of a male training group hold a Y read); AdamW lr 5e-4 after 100 warm-up
#    steps, batch 16; validation every 100 steps. Training uses one thread (deterministic for a
#    seed and thread count).
done_or_run "$work/stage1.log" \
  $g train --samples "$work/sim/samples.tsv" --out "$work/stage1" --config tiny \
    --chunks 16 --chunk-len 512 --reads 150 --chunk-loss-weight 1 --y-boost 0.5 \
    --lr 5e-4 --warmup 100 --batch 16 --grad-accum 1 --steps "$steps" --eval-every 100 \
    --patience 6 --valid-groups 96 --seed 142 --threads 1

# 2b. Stage 2 (the reads model): continue with one read per chunk (chunk length 160 bp: one
#    150-bp read and no room for a second, so `predict` packs a read stream the same way), reads
#    with 0.5% substitutions (--read-errors, as simulate's), lr 2e-4, validation on 192 groups
#    every 500 steps, no early stop; the best validation score is kept.
done_or_run "$work/stage2.log" \
  $g train --samples "$work/sim/samples.tsv" --out "$work/stage2" --init "$work/stage1" \
    --chunks 16 --chunk-len 160 --reads 150 --read-errors 0.005 --chunk-loss-weight 1 \
    --y-boost 0.5 --lr 2e-4 --warmup 100 --batch 16 --grad-accum 1 --steps "$reads_steps" \
    --eval-every 500 --patience 0 --valid-groups 192 --seed 146 --threads 1

# 2c. Stage 3: 500 more steps at lr 5e-5 (a short anneal; fresh AdamW, sampling seed 147).
done_or_run "$work/train.log" \
  $g train --samples "$work/sim/samples.tsv" --out "$work/model" --init "$work/stage2" \
    --chunks 16 --chunk-len 160 --reads 150 --read-errors 0.005 --chunk-loss-weight 1 \
    --y-boost 0.5 --lr 5e-5 --warmup 100 --batch 16 --grad-accum 1 --steps 500 \
    --eval-every 500 --patience 0 --valid-groups 192 --seed 147 --threads 1

# 3. Calibrate on the valid genomes: the paper's median thresholds for each K and the Y detector
#    of the likelihood-ratio rule (16,000 groups = 256,000 reads per genome, with 0.5% errors, so
#    the false-Y rate rests on 768,000 female reads per species), every read scored on both
#    strands (--both-strands: predict and evaluate then do the same).
ks=1,2,5,10,25,50,100,200
$g calibrate -m "$work/model" --samples "$work/sim/samples.tsv" --k $ks --pool 16000 \
  --read-errors 0.005 --both-strands --repeats 200 -t 2 2>&1 | tee "$work/calibrate.log"

# 4. Evaluate on the test genomes: accuracy vs K (both rules; all, no chrY, no chrX) and accuracy
#    vs reads on their read files (both rules and the ideal Y-read detector).
for cond in all chrY chrX; do
  extra=()
  [ "$cond" != all ] && extra=(--exclude-chrom "$cond")
  $g evaluate -q -m "$work/model" --samples "$work/sim/samples.tsv" --k $ks --pool 200 \
    --read-errors 0.005 --repeats 200 -t 2 "${extra[@]}" -o "$work/eval-$cond.tsv" \
    --plot "$work/eval-$cond.png"
done
{ cat "$work/eval-all.tsv"; tail -n +2 "$work/eval-chrY.tsv"; tail -n +2 "$work/eval-chrX.tsv"; } >"$work/evaluation.tsv"
$g evaluate -m "$work/model" --samples "$work/sim/samples.tsv" --k 1 \
  --reads 100,200,300,500,534,700,1000,1500,1839,2000,3000,5000,10000 --repeats 200 -t 2 \
  -o "$work/reads.tsv" --plot "$work/reads.png" 2>&1 | tee "$work/reads.log"

[ "$bundle" = 1 ] || { echo "results in $work (not bundled)"; exit 0; }

# 5. Bundle: model, calibration, evaluations and plots, logs, demo reads (the first 5,000 reads of
#    one male and one female human-like test individual, as FASTQ and as the coordinate-sorted,
#    indexed BAM that `simulate --short-reads 5000` writes of the same reads).
rm -rf "$out"
mkdir -p "$out"
cp "$work/model"/{config.json,model.safetensors,genosift.json} "$out/"
ln -s ../../gena-tiny/tokenizer.json "$out/tokenizer.json"
cp "$work"/{evaluation.tsv,eval-all.png,eval-chrY.png,eval-chrX.png,reads.tsv,reads.png} "$out/"
cp "$work"/{stage1.log,stage2.log,train.log,calibrate.log,reads.log} "$out/"
male=$(awk -F'\t' '$2=="human" && $3=="male" && $4=="test" {print $6; exit}' "$work/sim/samples.tsv")
female=$(awk -F'\t' '$2=="human" && $3=="female" && $4=="test" {print $6; exit}' "$work/sim/samples.tsv")
head -n 20000 "$work/sim/$male" | gzip -9 -n >"$out/demo-male.fq.gz"
head -n 20000 "$work/sim/$female" | gzip -9 -n >"$out/demo-female.fq.gz"
[ -f "$work/sim5000/samples.tsv" ] ||
  $g simulate --out "$work/sim5000" --seed "$seed" --short-reads 5000 --long-reads 1
for sex in male female; do
  f=${male%.short.fq}
  [ $sex = female ] && f=${female%.short.fq}
  cp "$work/sim5000/$f.sorted.bam" "$out/demo-$sex.sorted.bam"
  cp "$work/sim5000/$f.sorted.bam.bai" "$out/demo-$sex.sorted.bam.bai"
done
echo "demo model in $out"
