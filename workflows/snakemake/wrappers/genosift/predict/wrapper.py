"""Snakemake wrapper for `genosift predict`.

The input files are the arguments of one `genosift predict`, which reads BAM, CRAM, SAM and
FASTQ/FASTA (plain or gzip/bgzip) itself: several files are one sample. A BAM/CRAM index given as
input `index` is passed as --index when there is one reads file; with several, each index must lie
beside its file. CRAM needs input `reference`.
"""

__author__ = "genosift developers"
__license__ = "MIT"

import os
import shlex

from snakemake.shell import shell


def as_list(value):
    if not value:
        return []
    return [value] if isinstance(value, str) else list(value)


reads = as_list(snakemake.input.get("reads", snakemake.input[0]))
index = as_list(snakemake.input.get("index"))
model = snakemake.input.get("model")
if not model:
    raise ValueError("genosift predict wrapper: input 'model' (the model directory) is required")
reference = snakemake.input.get("reference", "")

calls = snakemake.output.get("calls", snakemake.output[0])
sample = snakemake.params.get("sample", "")
if not sample:
    name = os.path.basename(calls)
    sample = name[: -len(".calls.tsv")] if name.endswith(".calls.tsv") else os.path.splitext(name)[0]

extra = snakemake.params.get("extra", "")
device = snakemake.params.get("device", "cpu")
genosift = snakemake.params.get("genosift", "genosift")
log = snakemake.log_fmt_shell(stdout=False, stderr=True)

options = []
for key, flag in (("groups", "--groups"), ("summary", "--summary-json"), ("mqc", "--mqc")):
    path = snakemake.output.get(key)
    if path:
        options += [flag, shlex.quote(path)]
if reference:
    options += ["--reference", shlex.quote(str(reference))]
if len(reads) == 1 and len(index) == 1:
    options += ["--index", shlex.quote(str(index[0]))]

shell(
    "{genosift} predict"
    " --model {model_q}"
    " --threads {snakemake.threads}"
    " --device {device}"
    " --sample {sample_q}"
    " --output {calls_q}"
    " {options}"
    " {extra}"
    " {reads_q}"
    " {log}",
    genosift=shlex.quote(genosift),
    model_q=shlex.quote(model),
    sample_q=shlex.quote(sample),
    calls_q=shlex.quote(calls),
    options=" ".join(options),
    reads_q=" ".join(shlex.quote(str(r)) for r in reads),
)
