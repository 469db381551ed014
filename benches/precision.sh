#!/usr/bin/env bash
# bf16 against f32 weight products (issue 19, GENOSIFT_PRECISION) on a GENA-LM-base-shaped model
# with random weights (examples/random_model.rs: 12 layers, hidden 768; N = 16, L = 3,072):
#   1. `predict` on the first READS random 150-bp reads (as benches/e2e.sh makes them), f32 and
#      bf16 alternating, at 1 and 2 threads, ROUNDS rounds: wall time and bp/s;
#   2. the [CLS] vectors of 16 of those reads (`embed`), bf16 against f32: relative L2 error.
# Prints the CPU model and its bf16-related flags first.
#
# Usage: benches/precision.sh [READS] [ROUNDS]   (defaults 400 and 2)
set -euo pipefail
cd "$(dirname "$0")/.."
reads=${1:-400}
rounds=${2:-2}
cargo build --release --quiet
cargo build --release --quiet --example random_model
bin=$PWD/target/release/genosift
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
grep -m1 'model name' /proc/cpuinfo
echo "flags: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx512f|avx512_bf16|amx_bf16|amx_tile|amx_int8|avx512_vnni)$' | tr '\n' ' ')"
target/release/examples/random_model base "$work/model" 16 3072 1 2>/dev/null
python3 - "$reads" >"$work/reads.fq" <<'PY'
import random, sys
random.seed(1)
for n in range(int(sys.argv[1])):
    seq = "".join(random.choices("ACGT", k=150))
    print(f"@r{n}\n{seq}\n+\n{'I' * 150}")
PY
head -n 64 "$work/reads.fq" | awk 'NR % 4 == 1 { print ">" substr($0, 2) } NR % 4 == 2' >"$work/cls.fa"
for round in $(seq "$rounds"); do
  for t in 1 2; do
    for p in f32 bf16; do
      GENOSIFT_PRECISION=$p "$bin" predict -q -t "$t" -m "$work/model" --rule paper \
        --summary-json "$work/s.json" -o /dev/null "$work/reads.fq"
      python3 - "$round" "$t" "$p" "$work/s.json" <<'PY'
import json, sys
round_, t, p, path = sys.argv[1:]
s = json.load(open(path))
assert s["precision"] == p, s["precision"]
s = s["summary"]
print(f"round {round_}, {t} thread(s), {p}: {s['seconds']:.2f} s, {s['n_bp'] / s['seconds'] / 1e3:.2f} kbp/s")
PY
    done
  done
done
for p in f32 bf16; do
  GENOSIFT_PRECISION=$p "$bin" embed -q -m "$work/model" "$work/cls.fa" -o "$work/$p.tsv"
done
python3 - "$work/f32.tsv" "$work/bf16.tsv" <<'PY'
import math, sys
def load(path):
    rows = [l.rstrip("\n").split("\t") for l in open(path)][1:]
    return {r[0]: [float(x) for x in r[2].split(",")] for r in rows}
a, b = load(sys.argv[1]), load(sys.argv[2])
errs = [math.dist(a[n], b[n]) / math.hypot(*a[n]) for n in a]
print(f"[CLS] bf16 vs f32, {len(errs)} reads: relative L2 error mean {sum(errs) / len(errs):.2e}, max {max(errs):.2e}")
PY
