#!/usr/bin/env bash
# Trains the bundled demo model (test-data/models/demo) from a `genosift simulate` cohort on a CPU,
# calibrates it (the paper's thresholds and the per-chunk Y detector), evaluates it (accuracy vs K
# with all chromosomes, without chrY, without chrX; accuracy vs reads) and bundles demo read files.
# Training and calibration are one command, `genosift train --recipe reads`.
# Everything is seeded: the same commands give the same model, whatever the thread count.
#
# Usage: scripts/train-demo.sh [WORK_DIR]     (default: /tmp/genosift-demo)
# Environment: SEED (cohort seed, default 1), BUNDLE (1: copy the result to test-data/models/demo,
# default 1; 0 for a check on a fresh cohort, e.g. SEED=2 BUNDLE=0), GENOSIFT (a genosift binary to
# use instead of building target/release/genosift).
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/genosift-demo}
seed=${SEED:-1}
bundle=${BUNDLE:-1}
out=test-data/models/demo
mkdir -p "$work"
if [ -n "${GENOSIFT:-}" ]; then
  g=$GENOSIFT
else
  cargo build --release --quiet
  g=target/release/genosift
fi

# 1. Cohort: two species (human-like Y share 0.64%, mouse-like 2.2%), 12 train / 6 valid / 6 test
#    individuals each, 20,000 150-bp reads (0.5% errors) for each test individual.
[ -f "$work/sim/samples.tsv" ] ||
  $g simulate --out "$work/sim" --seed "$seed" --short-reads 20000 --long-reads 20

# 2. Train and calibrate: `genosift train --recipe reads` runs the three stages (the groups model:
#    16 chunks of 512 bp packed with 150-bp reads; from it the reads model, one read per 160-bp
#    chunk with 0.5% errors; a short anneal) and calibrates the result on the valid genomes (both
#    strands, 16,000 groups per genome). Settings: src/experiment/recipe.rs and docs/training.md;
#    `--dry-run` prints each stage's command. Stages are kept in $work/model.stages and a rerun
#    resumes after the last finished one (the log is appended to). The same seed gives the same
#    model for any --threads.
$g train --recipe reads --samples "$work/sim/samples.tsv" --out "$work/model" --seed 142 -t 2 \
  2>&1 | tee -a "$work/train.log"

# 3. Evaluate on the test genomes: accuracy vs K (both rules; all, no chrY, no chrX) and accuracy
#    vs reads on their read files (both rules and the ideal Y-read detector).
ks=1,2,5,10,25,50,100,200
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

# 4. Bundle: model, calibration, evaluations and plots, logs, demo reads (the first 5,000 reads of
#    one male and one female human-like test individual, as FASTQ and as the coordinate-sorted,
#    indexed BAM that `simulate --short-reads 5000` writes of the same reads).
rm -rf "$out"
mkdir -p "$out"
cp "$work/model"/{config.json,model.safetensors,genosift.json} "$out/"
ln -s ../../gena-tiny/tokenizer.json "$out/tokenizer.json"
cp "$work"/{evaluation.tsv,eval-all.png,eval-chrY.png,eval-chrX.png,reads.tsv,reads.png} "$out/"
cp "$work"/{train.log,reads.log} "$out/"
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
