# genosift rules for Snakemake (>= 8): one genetic-sex call per sample, then one table.
#
# Include it from a Snakefile that defines, before the include,
#
#   GENOSIFT_SAMPLES = {"sample_id": ["reads.bam"], "other": ["r1.fq.gz", "r2.fq.gz"], ...}
#   GENOSIFT_SPECIES = {"other": "human"}                 # optional: --species per sample
#   GENOSIFT_INDEX = {"sample_id": ["reads.bam.bai"]}     # optional: BAM/CRAM indexes per sample
#   GENOSIFT_SEX = {"sample_id": "female"}                # optional: reported sex (--expected-sex)
#
# With a reported sex, the calls get expected_sex and sex_check (ok / mismatch / no-call); add
# --fail-on-mismatch to genosift.extra to fail the job of a mismatching sample (exit code 3).
#
# and has a `genosift:` section in its config (keys below; all but model have a default). A
# sample's files are the arguments of one `genosift predict`, which reads BAM, CRAM, SAM and
# FASTQ/FASTA (plain or gzipped) itself: no samtools, no pipe. The indexes are inputs of the job
# (so a rule that makes them runs first); with one file and one index the index is passed as
# --index, with several files each index must lie beside its file (x.bam.bai, x.bam.csi, x.bai;
# x.cram.crai, x.crai). An index lets genosift read a coordinate-sorted BAM/CRAM in random order
# under --stop-when-confident / --max-groups (without one, a sorted file is then refused).
#
# genosift:
#   executable: genosift          # path or command name of the genosift binary
#   model: MODEL_DIR              # required: the model directory
#   outdir: results               # where the per-sample files and the table go
#   threads: 4                    # genosift --threads (also the job's cores)
#   device: cpu                   # cpu, or cuda (a `cargo build --features cuda` build; asks for a GPU)
#   reference: ""                 # reference FASTA (its .fai beside it), needed to decode CRAM
#   extra: ""                     # more `genosift predict` options, e.g. "--stop-when-confident"
#   mem_mb: 8000
#   runtime: 240                  # minutes
#   container: ""                 # e.g. docker://genosift/genosift:0.1.0 (with --sdm apptainer)
#
# Outputs per sample: {outdir}/genosift/{sample}.calls.tsv, .groups.tsv, .summary.json, _mqc.tsv,
# _stats_mqc.txt and _dosage_mqc.json (MultiQC custom content: the section table, General
# Statistics columns, the X-vs-Y dosage scatter plot); the table: {outdir}/genosift_calls.tsv;
# logs: {outdir}/logs/genosift/.

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
    "mem_mb": 8000,
    "runtime": 240,
    "container": "",
}
GENOSIFT = {**GENOSIFT_DEFAULTS, **(config.get("genosift") or {})}
if set(GENOSIFT) - set(GENOSIFT_DEFAULTS):
    raise ValueError(f"config: unknown genosift keys {sorted(set(GENOSIFT) - set(GENOSIFT_DEFAULTS))} (known: {sorted(GENOSIFT_DEFAULTS)})")
if not GENOSIFT["model"]:
    raise ValueError("config: genosift.model (the model directory) is required")
if GENOSIFT["device"] not in ("cpu", "cuda"):
    raise ValueError(f"config: genosift.device must be cpu or cuda, not {GENOSIFT['device']!r}")
GENOSIFT_OUT = GENOSIFT["outdir"].rstrip("/")
try:
    GENOSIFT_SPECIES
except NameError:
    GENOSIFT_SPECIES = {}
try:
    GENOSIFT_INDEX
except NameError:
    GENOSIFT_INDEX = {}
try:
    GENOSIFT_SEX
except NameError:
    GENOSIFT_SEX = {}


rule genosift_predict:
    input:
        reads=lambda wildcards: GENOSIFT_SAMPLES[wildcards.sample],
        index=lambda wildcards: GENOSIFT_INDEX.get(wildcards.sample, []),
        model=GENOSIFT["model"],
        reference=GENOSIFT["reference"] or [],
    output:
        calls=f"{GENOSIFT_OUT}/genosift/{{sample}}.calls.tsv",
        groups=f"{GENOSIFT_OUT}/genosift/{{sample}}.groups.tsv",
        summary=f"{GENOSIFT_OUT}/genosift/{{sample}}.summary.json",
        mqc=f"{GENOSIFT_OUT}/genosift/{{sample}}_mqc.tsv",
        mqc_stats=f"{GENOSIFT_OUT}/genosift/{{sample}}_stats_mqc.txt",
        mqc_dosage=f"{GENOSIFT_OUT}/genosift/{{sample}}_dosage_mqc.json",
    log:
        f"{GENOSIFT_OUT}/logs/genosift/{{sample}}.log",
    wildcard_constraints:
        sample=r"[A-Za-z0-9._-]+",
    params:
        genosift=GENOSIFT["executable"],
        device=GENOSIFT["device"],
        reference=lambda wildcards, input: f"--reference {shlex.quote(str(input.reference))}" if input.reference else "",
        # One file and one index: --index; with several files, genosift looks beside each.
        index=lambda wildcards, input: f"--index {shlex.quote(str(input.index[0]))}" if len(input.reads) == 1 and len(input.index) == 1 else "",
        species=lambda wildcards: f"--species {shlex.quote(GENOSIFT_SPECIES[wildcards.sample])}" if wildcards.sample in GENOSIFT_SPECIES else "",
        expected_sex=lambda wildcards: f"--expected-sex {shlex.quote(GENOSIFT_SEX[wildcards.sample])}" if wildcards.sample in GENOSIFT_SEX else "",
        extra=GENOSIFT["extra"],
    threads: int(GENOSIFT["threads"])
    resources:
        mem_mb=int(GENOSIFT["mem_mb"]),
        runtime=int(GENOSIFT["runtime"]),
        gpu=1 if GENOSIFT["device"] == "cuda" else 0,
    # genosift is not on Bioconda yet: with conda it must be on PATH (or set genosift.executable);
    # the container has it.
    conda:
        "../wrappers/genosift/predict/environment.yaml"
    container:
        GENOSIFT["container"] or None
    shell:
        r"""
        {params.genosift:q} predict \
            --model {input.model:q} \
            --threads {threads} \
            --device {params.device} \
            --sample {wildcards.sample} \
            --output {output.calls:q} \
            --groups {output.groups:q} \
            --summary-json {output.summary:q} \
            --mqc {output.mqc:q} \
            {params.reference} \
            {params.index} \
            {params.species} \
            {params.expected_sex} \
            {params.extra} \
            {input.reads:q} \
            2> {log:q}
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
