# genosift rules for Snakemake (>= 8): one genetic-sex call per sample, then one table.
#
# Include it from a Snakefile that defines, before the include,
#
#   GENOSIFT_SAMPLES = {"sample_id": ["reads.bam"], "other": ["r1.fq.gz", "r2.fq.gz"], ...}
#   GENOSIFT_SPECIES = {"other": "human"}       # optional: --species per sample
#
# and has a `genosift:` section in its config (keys below; all but model have a default). A
# sample's files make one plain-text stream into `genosift predict`, in the given order: BAM/CRAM/SAM
# through `samtools fastq -F 0x900` (primary reads), gzip/bgzip decompressed, FASTQ/FASTA as is.
#
# genosift:
#   executable: genosift          # path or command name of the genosift binary
#   model: MODEL_DIR              # required: the model directory
#   outdir: results               # where the per-sample files and the table go
#   threads: 4                    # genosift --threads (also the job's cores)
#   device: cpu                   # cpu, or cuda (a `cargo build --features cuda` build; asks for a GPU)
#   reference: ""                 # reference FASTA, needed to decode CRAM
#   extra: ""                     # more `genosift predict` options, e.g. "--max-groups 200"
#   samtools_extra: ""            # more `samtools fastq` options
#   mem_mb: 8000
#   runtime: 240                  # minutes
#   container: ""                 # e.g. docker://genosift/genosift:0.1.0 (with --sdm apptainer)
#
# Outputs per sample: {outdir}/genosift/{sample}.calls.tsv, .groups.tsv, .summary.json, _mqc.tsv
# (MultiQC custom content); the table: {outdir}/genosift_calls.tsv; logs: {outdir}/logs/genosift/.

import shlex
from pathlib import Path

GENOSIFT_DEFAULTS = {
    "executable": "genosift",
    "model": None,
    "outdir": "results",
    "threads": 4,
    "device": "cpu",
    "reference": "",
    "extra": "",
    "samtools_extra": "",
    "mem_mb": 8000,
    "runtime": 240,
    "container": "",
}
GENOSIFT = {**GENOSIFT_DEFAULTS, **(config.get("genosift") or {})}
if not GENOSIFT["model"]:
    raise ValueError("config: genosift.model (the model directory) is required")
if GENOSIFT["device"] not in ("cpu", "cuda"):
    raise ValueError(f"config: genosift.device must be cpu or cuda, not {GENOSIFT['device']!r}")
GENOSIFT_OUT = GENOSIFT["outdir"].rstrip("/")
try:
    GENOSIFT_SPECIES
except NameError:
    GENOSIFT_SPECIES = {}


rule genosift_predict:
    input:
        reads=lambda wildcards: GENOSIFT_SAMPLES[wildcards.sample],
        model=GENOSIFT["model"],
        reference=GENOSIFT["reference"] or [],
    output:
        calls=f"{GENOSIFT_OUT}/genosift/{{sample}}.calls.tsv",
        groups=f"{GENOSIFT_OUT}/genosift/{{sample}}.groups.tsv",
        summary=f"{GENOSIFT_OUT}/genosift/{{sample}}.summary.json",
        mqc=f"{GENOSIFT_OUT}/genosift/{{sample}}_mqc.tsv",
    log:
        f"{GENOSIFT_OUT}/logs/genosift/{{sample}}.log",
    wildcard_constraints:
        sample=r"[A-Za-z0-9._-]+",
    params:
        genosift=GENOSIFT["executable"],
        device=GENOSIFT["device"],
        reference=lambda wildcards, input: f"--reference {shlex.quote(str(input.reference))}" if input.reference else "",
        samtools_extra=GENOSIFT["samtools_extra"],
        species=lambda wildcards: f"--species {shlex.quote(GENOSIFT_SPECIES[wildcards.sample])}" if wildcards.sample in GENOSIFT_SPECIES else "",
        extra=GENOSIFT["extra"],
    threads: int(GENOSIFT["threads"])
    resources:
        mem_mb=int(GENOSIFT["mem_mb"]),
        runtime=int(GENOSIFT["runtime"]),
        gpu=1 if GENOSIFT["device"] == "cuda" else 0,
    # genosift is not on Bioconda yet: the conda environment brings samtools, genosift must be on
    # PATH (or set genosift.executable). The container has both.
    conda:
        "../wrappers/genosift/predict/environment.yaml"
    container:
        GENOSIFT["container"] or None
    shell:
        r"""
        # Exit status 141 (SIGPIPE) of the reader only means genosift stopped early (--max-groups).
        (
            ( (
                for f in {input.reads:q}; do
                    case "$f" in
                        *.bam|*.cram|*.sam) samtools fastq {params.samtools_extra} {params.reference} -F 0x900 "$f" ;;
                        *.gz|*.bgz) gzip -cd "$f" ;;
                        *) cat "$f" ;;
                    esac || exit $?
                done
            ) || [ $? -eq 141 ] ) \
            | {params.genosift:q} predict \
                --model {input.model:q} \
                --threads {threads} \
                --device {params.device} \
                --sample {wildcards.sample} \
                --output {output.calls:q} \
                --groups {output.groups:q} \
                --summary-json {output.summary:q} \
                --mqc {output.mqc:q} \
                {params.species} \
                {params.extra} \
                -
        ) 2> {log:q}
        """


rule genosift_table:
    input:
        expand(f"{GENOSIFT_OUT}/genosift/{{sample}}.calls.tsv", sample=sorted(GENOSIFT_SAMPLES)),
    output:
        f"{GENOSIFT_OUT}/genosift_calls.tsv",
    log:
        f"{GENOSIFT_OUT}/logs/genosift_table.log",
    localrule: True
    run:
        # The header once, then each sample's row, in sample order.
        tables = [Path(f).read_text().splitlines(keepends=True) for f in input]
        Path(output[0]).write_text("".join(tables[0][:1] + [row for t in tables for row in t[1:]]))
