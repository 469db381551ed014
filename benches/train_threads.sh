#!/usr/bin/env bash
# Training throughput at 1 and 2 threads (issue 17 item 3): `genosift train` on a `simulate` cohort
# (seed 1) with the two shapes of the reads recipe: groups of 16 chunks × 512 bp (stage 1) and of
# 16 chunks × 160 bp, one read each (stages 2 and 3); batch 16 in 4 micro-batches, which run side by
# side on the thread pool. Runs alternate 1 and 2 threads for ROUNDS rounds; prints examples/s
# (time in training steps, validation left out) of each run, the medians and their ratio, the CPU
# model and its relevant flags, and checks that the model of every run is byte-identical whatever
# the thread count. Not part of CI (a few minutes).
#
# Usage: benches/train_threads.sh [ROUNDS] [STEPS]   (defaults 3 and 60)
# Environment: GENOSIFT (a genosift binary instead of building target/release/genosift),
# GRAD_ACCUM (micro-batches per step, default 4 as in the recipe).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
steps=${2:-60}
accum=${GRAD_ACCUM:-4}
if [ -n "${GENOSIFT:-}" ]; then
  g=$GENOSIFT
else
  cargo build --release --quiet
  g=${CARGO_TARGET_DIR:-target}/release/genosift
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores"
echo "flags: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|fma|avx512f|avx512_bf16|avx512_vnni|amx_bf16|amx_int8)$' | tr '\n' ' ')"
"$g" simulate --out "$work/sim" --seed 1 --short-reads 0 --long-reads 0 2>/dev/null

# shape NAME: the flags of one recipe shape.
shape() {
  case $1 in
    groups) echo "--chunks 16 --chunk-len 512 --reads 150 --lr 5e-4" ;;
    reads) echo "--chunks 16 --chunk-len 160 --reads 150 --read-errors 0.005 --lr 2e-4" ;;
  esac
}

for s in groups reads; do
  for t in 1 2; do : >"$work/$s-$t.eps"; done
  for r in $(seq "$rounds"); do
    for t in 1 2; do
      # shellcheck disable=SC2046 # the shape's flags are words
      "$g" train --samples "$work/sim/samples.tsv" --out "$work/$s-$t-$r" --config tiny \
        $(shape "$s") --chunk-loss-weight 1 --y-boost 0.5 --warmup 10 --batch 16 --grad-accum "$accum" \
        --steps "$steps" --eval-every "$steps" --patience 0 --valid-groups 32 --seed 142 \
        --threads "$t" 2>&1 | grep -o '[0-9.]* examples/s' | tail -n 1 | cut -d' ' -f1 >>"$work/$s-$t.eps"
      cmp -s "$work/$s-1-1/model.safetensors" "$work/$s-$t-$r/model.safetensors" ||
        { echo "$s: the model of $t threads (round $r) differs from 1 thread's" >&2; exit 1; }
    done
  done
  median() { sort -n "$1" | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
  m1=$(median "$work/$s-1.eps")
  m2=$(median "$work/$s-2.eps")
  echo "$s: 1 thread $(tr '\n' ' ' <"$work/$s-1.eps")examples/s (median $m1); 2 threads $(tr '\n' ' ' <"$work/$s-2.eps")(median $m2); ratio $(awk -v a="$m2" -v b="$m1" 'BEGIN {printf "%.2f", a/b}'); models identical"
done
