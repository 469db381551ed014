#!/usr/bin/env bash
# End-to-end `genosift predict` on a FASTQ file (issues 7, 19): wall time, bp/s, peak RSS, and where
# the time goes (the run's --summary-json: the model's forward passes, and the wall time outside
# them: waiting for tokens, reading, writing; tokenizing runs beside the model, on the same pool,
# so its seconds overlap the model's; start-up and model loading are reported apart). Two models:
#   A. the bundled demo model (tiny: 2 layers, hidden 32) on a MB-sized FASTQ: the pipeline's own
#      cost, since the model is nearly free;
#   B. a GENA-LM-base-shaped model with random weights (examples/random_model.rs: 12 layers, 768
#      hidden, the paper's head; N = 16, L = 3,072) on the first BASE_MB of the same FASTQ: the real
#      model's share. (The whole file would take hours on 2 cores at ~800 tokens/s.)
# Reads: random 150-bp sequences with qualities (python3, seeded).
#
# Usage: benches/e2e.sh [MB] [BASE_MB] [THREADS]   (defaults 100, 2 and 2)
set -euo pipefail
cd "$(dirname "$0")/.."
mb=${1:-100}
base_mb=${2:-2}
threads=${3:-2}
cargo build --release --quiet
cargo build --release --quiet --example random_model
bin=target/release/genosift
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

gen() { # MB
  python3 - "$1" <<'PY'
import random, sys
random.seed(1)
target = int(float(sys.argv[1]) * 1e6)
out = sys.stdout.buffer
qual = b"+\n" + b"I" * 150 + b"\n"
n = written = 0
while written < target:
    seq = "".join(random.choices("ACGT", k=150)).encode()
    rec = b"@r%d\n" % n + seq + b"\n" + qual
    out.write(rec)
    written += len(rec)
    n += 1
PY
}
gen "$mb" >"$work/reads.fq"
gen "$base_mb" >"$work/base.fq"
target/release/examples/random_model base "$work/base-model" 16 3072 1 2>/dev/null

run() { # label model fastq extra-args...
  local label=$1 model=$2 fq=$3
  shift 3
  /usr/bin/time -v "$bin" predict -q -t "$threads" -m "$model" "$@" "$fq" \
    --summary-json "$work/$label.json" -o "$work/$label.tsv" 2>"$work/$label.time"
  python3 - "$label" "$work/$label.json" "$work/$label.time" "$(stat -c %s "$fq")" <<'PY'
import json, re, sys
label, js, tm, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
s = json.load(open(js))
t = open(tm).read()
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024
clock = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (.+)", t).group(1).split(":")
process = sum(float(x) * 60 ** i for i, x in enumerate(reversed(clock)))
find = lambda k: s["summary"][k]
wall, model, tok = find("seconds"), find("model_seconds"), find("tokenize_seconds")
bp = find("n_bp")
outside = wall - model
print(f"{label}: {size / 1e6:.0f} MB FASTQ, {bp / 1e6:.1f} Mbp, {wall:.1f} s wall, "
      f"{bp / wall / 1e3:,.1f} kbp/s, peak RSS {rss:.0f} MB; model {100 * model / wall:.1f}%, "
      f"outside the model {100 * outside / wall:.1f}% ({outside:.2f} s); tokenizing "
      f"{tok:.1f} s, beside the model; start-up and model loading before that {process - wall:.1f} s")
PY
}
echo "predict, $threads threads, $(nproc) CPUs"
run demo test-data/models/demo "$work/reads.fq" --species human
run base "$work/base-model" "$work/base.fq" --rule paper
