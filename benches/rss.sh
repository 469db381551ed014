#!/usr/bin/env bash
# Peak memory of `genosift predict` on a FASTQ stream of 10 MB and of 1 GB (issue: memory must stay
# flat however long the stream). The FASTQ is generated on the fly and piped in, so the 1 GB
# stream needs no disk. Model: the bundled tiny classifier with L = 512 (genosift.json in a temp
# copy) so that 1 GB runs in minutes on 2 cores; memory behaviour is the pipeline's, not the
# model's size.
#
# Usage: benches/rss.sh [SMALL_MB] [LARGE_MB]   (defaults 10 and 1000)
set -euo pipefail
cd "$(dirname "$0")/.."
small=${1:-10}
large=${2:-1000}
cargo build --release --quiet
bin=target/release/genosift
model=$(mktemp -d)
trap 'rm -rf "$model"' EXIT
cp test-data/gena-tiny/classifier/{config.json,model.safetensors} "$model"/
cp test-data/gena-tiny/tokenizer.json "$model"/
printf '{"chunks": 16, "chunk_len": 512}\n' >"$model/genosift.json"

# Random 150-bp reads with qualities: ~ 2 x 150 + 30 bytes each.
gen() { # MB
  python3 - "$1" <<'PY'
import random, sys
random.seed(1)
target = int(float(sys.argv[1]) * 1e6)
out = sys.stdout.buffer
qual = b"I" * 150 + b"\n"
n = 0
i = 0
while n < target:
    seq = "".join(random.choices("ACGT", k=150)).encode()
    rec = b"@read%d\n%s\n+\n%s" % (i, seq, qual)
    out.write(rec)
    n += len(rec)
    i += 1
PY
}

measure() { # MB
  local log
  log=$(mktemp)
  gen "$1" | /usr/bin/time -v "$bin" predict -q -t 2 -m "$model" - >/dev/null 2>"$log"
  local rss wall
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log")
  rm -f "$log"
  echo "$rss $wall"
}

read -r rss_s wall_s < <(measure "$small")
read -r rss_l wall_l < <(measure "$large")
printf 'stream\tpeak_rss_kb\twall\n%s MB\t%s\t%s\n%s MB\t%s\t%s\n' "$small" "$rss_s" "$wall_s" "$large" "$rss_l" "$wall_l"
awk -v a="$rss_s" -v b="$rss_l" 'BEGIN { printf "ratio large/small peak RSS: %.3f (target <= 1.10)\n", b / a }'
