#!/usr/bin/env bash
# Sorted, indexed BAM/CRAM input (issue 16), two measures:
#
#  accuracy  `predict --stop-when-confident` on the coordinate-sorted, indexed BAM (and CRAM) of
#            each of the 12 test individuals of the demo cohort (`genosift simulate --seed 1`,
#            20,000 reads each, the cohort the demo model was trained on; its test individuals were
#            never seen in training), with SEEDS random orders each: calls, accuracy, reads used.
#  flat      time, memory and bytes read to a confident call on a sorted, indexed BAM as it grows:
#            the 20,000-read male BAM merged with itself into ~100 MB and ~2 GB BAMs (samtools
#            merge; every read repeated, so the sample is the same), indexed, then
#            `predict --stop-when-confident` on each; bytes read are the sum of read() calls on the
#            BAM's file descriptor (strace).
#
# Needs samtools and strace (Debian packages). Usage:
#   bash benches/sorted_bam.sh [accuracy|flat|all]      (env: GENOSIFT, SEEDS=5, WORK=dir)
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
g=${GENOSIFT:-target/release/genosift}
[ -x "$g" ] || cargo build --release --locked
work=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/genosift-sorted.XXXXXX")}
seeds=${SEEDS:-5}
model=test-data/models/demo
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); cores: $(nproc); genosift $("$g" --version); work: $work"

[ -f "$work/sim/samples.tsv" ] ||
  "$g" simulate --out "$work/sim" --seed 1 --short-reads 20000 --long-reads 1 2>/dev/null

accuracy() {
  printf 'format\tsample\tspecies\tsex\tseed\tcall\tposterior_male\treads_used\tseconds\n' >"$work/accuracy.tsv"
  awk -F'\t' '$4=="test" {print $1, $2, $3}' "$work/sim/samples.tsv" | while read -r s sp sex; do
    for fmt in bam cram; do
      for seed in $(seq 1 "$seeds"); do
        "$g" predict -q -m "$model" --species "$sp" --stop-when-confident --seed "$seed" \
          --reference "$work/sim/genomes/$sp.reference.fa" --summary-json "$work/s.json" \
          "$work/sim/reads/$s.sorted.$fmt" >"$work/c.tsv"
        python3 - "$fmt" "$s" "$sp" "$sex" "$seed" "$work" >>"$work/accuracy.tsv" <<'PY'
import json, sys
fmt, s, sp, sex, seed, work = sys.argv[1:]
j = json.load(open(f"{work}/s.json"))["summary"]
print("\t".join([fmt, s, sp, sex, seed, j["call"], f'{j["posterior_male"]:.6f}', str(j["n_records"]), f'{j["seconds"]:.2f}']))
PY
      done
    done
  done
  python3 - "$work/accuracy.tsv" <<'PY'
import csv, sys, statistics as st
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
print(f"\nper format and species ({len(rows)} runs):")
print("format\tspecies\truns\tcorrect\twrong\tno-call\treads used: median [min, max]\tseconds: median")
for fmt in ("bam", "cram"):
    for sp in ("human", "mouse"):
        r = [x for x in rows if x["format"] == fmt and x["species"] == sp]
        if not r:
            continue
        ok = sum(x["call"] == x["sex"] for x in r)
        nc = sum(x["call"] == "no-call" for x in r)
        used = [int(x["reads_used"]) for x in r]
        secs = [float(x["seconds"]) for x in r]
        print(f"{fmt}\t{sp}\t{len(r)}\t{ok}\t{len(r) - ok - nc}\t{nc}\t{st.median(used):.0f} [{min(used)}, {max(used)}]\t{st.median(secs):.2f}")
print("\nper sample (bam; reads used over the seeds):")
for s in sorted({x["sample"] for x in rows}):
    r = [x for x in rows if x["sample"] == s and x["format"] == "bam"]
    calls = ",".join(sorted({x["call"] for x in r}))
    print(f'{s}\t{r[0]["sex"]}\t{calls}\t{" ".join(x["reads_used"] for x in r)}')
PY
}

# Bytes read from files whose name ends in .bam by one run, from an strace of its read calls.
bytes_read() {
  strace -f -qq -e trace=openat,read,pread64 -o "$work/trace" "$@" >/dev/null
  python3 - "$work/trace" <<'PY'
import re, sys
fds, total = {}, 0
for line in open(sys.argv[1]):
    m = re.search(r'openat\(.*"([^"]+)".*\) = (\d+)$', line)
    if m:
        fds[m.group(2)] = m.group(1).endswith(".bam")
        continue
    m = re.search(r'(?:pread64|read)\((\d+),.*\) = (\d+)$', line)
    if m and fds.get(m.group(1)):
        total += int(m.group(2))
print(total)
PY
}

flat() {
  local male
  male=$(awk -F'\t' '$4=="test" && $2=="human" && $3=="male" {print $1; exit}' "$work/sim/samples.tsv")
  local one="$work/sim/reads/$male.sorted.bam"
  local copies10="$work/x10.bam"
  local ten=()
  for _ in $(seq 10); do ten+=("$one"); done
  [ -f "$copies10" ] || samtools merge -@2 -f -o "$copies10" "${ten[@]}"
  for target in 100 2000; do
    local big="$work/male.$target.bam"
    if [ ! -f "$big.bai" ]; then
      local per10 n
      per10=$(stat -c %s "$copies10")
      n=$(( (target * 1000000 + per10 - 1) / per10 ))
      local many=()
      for _ in $(seq "$n"); do many+=("$copies10"); done
      samtools merge -@2 -f -o "$big" "${many[@]}"
      samtools index "$big"
    fi
    local size reads secs rss bytes
    size=$(stat -c %s "$big")
    reads=$(samtools idxstats "$big" | awk '{s += $3 + $4} END {print s}')
    /usr/bin/time -f '%e %M' -o "$work/time" "$g" predict -q -m "$model" --species human \
      --stop-when-confident --summary-json "$work/s.json" "$big" >"$work/c.tsv"
    read -r secs rss <"$work/time"
    bytes=$(bytes_read "$g" predict -q -m "$model" --species human --stop-when-confident "$big")
    python3 - "$size" "$reads" "$secs" "$rss" "$bytes" "$work/s.json" <<'PY'
import json, sys
size, reads, secs, rss, nbytes, summary = sys.argv[1:]
j = json.load(open(summary))["summary"]
print(f"BAM {int(size)/1e6:.0f} MB, {int(reads):,} reads: call {j['call']} after {j['n_records']} reads; "
      f"{float(secs):.2f} s wall, max RSS {int(rss)/1024:.0f} MB, {int(nbytes)/1e6:.1f} MB read from the BAM "
      f"({100*int(nbytes)/int(size):.2f}% of it)")
PY
  done
}

case $what in
  accuracy) accuracy ;;
  flat) flat ;;
  all) accuracy; flat ;;
  *) echo "usage: $0 [accuracy|flat|all]" >&2; exit 2 ;;
esac
