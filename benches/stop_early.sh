#!/usr/bin/env bash
# `predict --stop-when-confident` on a long stream: the demo male reads repeated (with unique
# names) into a FASTQ stream of SIZE_MB megabytes (default 1024) on a pipe, as `samtools fastq |
# genosift` would be. Prints the reads and bases the call used, the bytes the producer wrote before
# its pipe was closed, genosift's wall time and peak RSS.
#
# Usage: benches/stop_early.sh [SIZE_MB]     (needs a release build: cargo build --release)
set -euo pipefail
cd "$(dirname "$0")/.."
size_mb=${1:-1024}
g=target/release/genosift
model=test-data/models/demo
[ -x "$g" ] || { echo "build first: cargo build --release" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The producer: writes SIZE_MB of FASTQ, records how much it wrote before its pipe closed.
cat >"$work/produce.py" <<'PY'
import gzip, sys
limit = int(sys.argv[1]) * 1024 * 1024
lines = gzip.open("test-data/models/demo/demo-male.fq.gz", "rt").read().splitlines()
written = 0
r = 0
try:
    while written < limit:
        out = [f"{l}_{r}" if i % 4 == 0 else l for i, l in enumerate(lines)]
        block = ("\n".join(out) + "\n").encode()
        sys.stdout.buffer.write(block)
        written += len(block)
        r += 1
    sys.stdout.flush()
except BrokenPipeError:
    pass
open(sys.argv[2], "w").write(str(written))
PY

echo "stream: ${size_mb} MB of FASTQ on a pipe, --stop-when-confident"
/usr/bin/time -f "%e s wall, %M kB peak RSS (genosift)" -o "$work/time" \
  "$g" predict -q -t 2 -m "$model" --species human --stop-when-confident \
  --summary-json "$work/s.json" -o "$work/calls.tsv" \
  < <(python3 "$work/produce.py" "$size_mb" "$work/produced" 2>/dev/null)
sleep 1
cat "$work/calls.tsv"
python3 - "$work/s.json" "$work/produced" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
produced = int(open(sys.argv[2]).read())
print(f"used {s['n_records']} reads, {s['n_bp']} bp; call {s['call']} "
      f"(posterior_male {s['posterior_male']:.6f}); stopped_early {s['stopped_early']}; "
      f"the producer wrote {produced / 1e6:.1f} MB before its pipe closed")
PY
cat "$work/time"
