#!/usr/bin/env bash
# Runs two genosift binaries on the same small jobs and says whether their outputs are
# byte-identical: the check for a change that must not change behaviour (a refactor).
#
# Usage: scripts/same-outputs.sh OLD_BINARY NEW_BINARY [WORK_DIR]
#
# Compared, for each binary: `simulate` (a small seed-1 cohort: every FASTA, FASTQ and sheet),
# `predict` on the demo model's male and female reads (calls, groups, needles, MultiQC table, the
# summary JSON less its timings and command line; lr and paper rules, --stop-when-confident,
# --max-groups, 1 and 2 threads, stdin), `embed`, `train` (a few steps: weights and settings),
# `calibrate` (genosift.json, one strand and both), `evaluate` (accuracy vs K with and without
# chrY, and accuracy vs reads: tables and plots).
set -euo pipefail
cd "$(dirname "$0")/.."
old=$(realpath "$1")
new=$(realpath "$2")
work=${3:-$(mktemp -d)}
demo=test-data/models/demo

run_jobs() {
  local g=$1 out=$2
  rm -rf "$out"
  mkdir -p "$out"
  "$g" simulate --out "$out/sim" --seed 1 --scale 0.2 --short-reads 3000 --long-reads 5 2>/dev/null
  local sheet=$out/sim/samples.tsv
  for sex in male female; do
    local reads=$demo/demo-$sex.fq.gz
    "$g" predict -q -m $demo --species human "$reads" -o "$out/$sex.calls.tsv" \
      --groups "$out/$sex.groups.tsv" --needles "$out/$sex.needles.fa" \
      --mqc "$out/$sex.mqc.tsv" --summary-json "$out/$sex.summary.json" -t 2
    "$g" predict -q -m $demo --species human --stop-when-confident -t 1 - <"$reads" \
      >"$out/$sex.stop.tsv"
    "$g" predict -q -m $demo --species human --rule paper --max-groups 40 --batch-groups 3 \
      "$reads" >"$out/$sex.paper.tsv"
    jq 'del(.command, .summary.seconds, .summary.model_seconds, .summary.tokenize_seconds)' \
      "$out/$sex.summary.json" >"$out/$sex.summary.stable.json"
    rm "$out/$sex.summary.json"
  done
  (zcat $demo/demo-male.fq.gz || true) | head -n 40 >"$out/ten.fq"
  "$g" embed -q -m $demo "$out/ten.fq" >"$out/embed.tsv"
  "$g" train -q --samples "$sheet" --out "$out/trained" --config tiny --chunks 4 --chunk-len 160 \
    --reads 150 --chunk-loss-weight 1 --y-boost 0.5 --lr 5e-4 --warmup 2 --batch 4 \
    --grad-accum 2 --steps 4 --eval-every 2 --valid-groups 8 --seed 5 --threads 1
  for strands in one both; do
    cp -rL $demo "$out/cal-$strands"
    local flag=()
    [ $strands = both ] && flag=(--both-strands)
    "$g" calibrate -q -m "$out/cal-$strands" --samples "$sheet" --k 1,2,5 --pool 60 \
      --read-errors 0.005 --repeats 20 -t 2 "${flag[@]}"
  done
  "$g" evaluate -q -m "$out/cal-both" --samples "$sheet" --k 1,2,5 --pool 20 --repeats 20 -t 2 \
    --read-errors 0.005 -o "$out/eval-all.tsv" --plot "$out/eval-all.svg"
  "$g" evaluate -q -m "$out/cal-both" --samples "$sheet" --k 1,2,5 --pool 20 --repeats 20 -t 1 \
    --exclude-chrom chrY -o "$out/eval-chrY.tsv"
  "$g" evaluate -q -m $demo --samples "$sheet" --k 1 --reads 100,300,1000 --repeats 20 -t 2 \
    -o "$out/reads.tsv" --plot "$out/reads.svg"
  # The copied demo models' unchanged files are not outputs.
  for d in "$out"/cal-*; do
    find "$d" -mindepth 1 ! -name genosift.json -delete
  done
}

echo "old: $old"
run_jobs "$old" "$work/old"
echo "new: $new"
run_jobs "$new" "$work/new"
n=$(cd "$work/old" && find . -type f | wc -l)
if diff -r "$work/old" "$work/new" >"$work/diff.txt"; then
  echo "identical: $n files in $work/old and $work/new"
else
  echo "DIFFERENT (see $work/diff.txt):"
  head -n 40 "$work/diff.txt"
  exit 1
fi
