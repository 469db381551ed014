"""Snakemake wrapper for `genosift predict`.

The input files make one plain-text stream, in order: BAM/CRAM/SAM through `samtools fastq -F 0x900`
(primary reads), gzip/bgzip decompressed, FASTQ/FASTA as they are.
"""

__author__ = "genosift developers"
__license__ = "MIT"

import os
import shlex

from snakemake.shell import shell

ALIGNED = (".bam", ".cram", ".sam")

reads = snakemake.input.get("reads", snakemake.input[0])
reads = [reads] if isinstance(reads, str) else list(reads)
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
samtools_extra = snakemake.params.get("samtools_extra", "")
device = snakemake.params.get("device", "cpu")
genosift = snakemake.params.get("genosift", "genosift")
log = snakemake.log_fmt_shell(stdout=False, stderr=True)

optional = []
for key, flag in (("groups", "--groups"), ("summary", "--summary-json"), ("mqc", "--mqc")):
    path = snakemake.output.get(key)
    if path:
        optional += [flag, shlex.quote(path)]

readers = []
for path in reads:
    if path.endswith(ALIGNED):
        ref = f"--reference {shlex.quote(reference)}" if reference else ""
        readers.append(f"samtools fastq {samtools_extra} {ref} -F 0x900 {shlex.quote(path)}")
    elif path.endswith((".gz", ".bgz")):
        readers.append(f"gzip -cd {shlex.quote(path)}")
    else:
        readers.append(f"cat {shlex.quote(path)}")

# Exit status 141 (SIGPIPE) of the reader only means genosift stopped early (--max-groups).
shell(
    "( ( ( {readers} ) || [ $? -eq 141 ] )"
    " | {genosift} predict"
    " --model {model_q}"
    " --threads {snakemake.threads}"
    " --device {device}"
    " --sample {sample_q}"
    " --output {calls_q}"
    " {optional}"
    " {extra}"
    " -) {log}",
    readers=" && ".join(readers),
    genosift=shlex.quote(genosift),
    model_q=shlex.quote(model),
    sample_q=shlex.quote(sample),
    calls_q=shlex.quote(calls),
    optional=" ".join(optional),
)
