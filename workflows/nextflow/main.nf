#!/usr/bin/env nextflow
/*
 * genosift example pipeline: one genetic-sex call per sample, from a sample sheet of BAM, CRAM,
 * SAM, FASTQ or FASTA files (plain or gzipped), each passed to `genosift predict` as it is.
 *
 *   nextflow run workflows/nextflow -profile test,docker
 *   nextflow run workflows/nextflow --input samples.csv --model MODEL_DIR -profile slurm,singularity
 *
 * Sample sheet (CSV, header required): sample,reads[,index][,species]
 *   sample   id used for file names and the calls table ([A-Za-z0-9._-]+)
 *   reads    path or URL of one reads file; several rows with the same sample make one sample
 *            (lanes, mates). Relative paths are relative to the sample sheet.
 *   index    optional: the row's BAM/CRAM index (.bai, .csi, .crai), staged beside it; lets
 *            genosift read a coordinate-sorted file in random order with --stop-when-confident
 *            or --max-groups (a sorted BAM/CRAM without one is then refused)
 *   species  optional: passed as --species (needed when the model is calibrated for several)
 *
 * Outputs under --outdir: genosift_calls.tsv (one row per sample), genosift/ (per-sample calls,
 * groups, JSON summary, MultiQC table), pipeline_info/software_versions.tsv.
 */

include { GENOSIFT_PREDICT } from './modules/genosift/predict/main'

params.input = null
params.model = null
params.fasta = null
params.outdir = 'results'

// A sample-sheet path: URLs and absolute paths as they are, others relative to the sheet.
def sheetFile(sheet, String value) {
    if (value ==~ /^[A-Za-z][A-Za-z0-9+.-]*:\/\/.+/ || value.startsWith('/')) {
        return file(value, checkIfExists: true)
    }
    return file("${sheet.parent}/${value}", checkIfExists: true)
}

workflow {
    if (!params.input) {
        error "Missing --input: a CSV sample sheet with columns sample,reads[,index][,species]"
    }
    if (!params.model) {
        error "Missing --model: a genosift model directory (config.json, model.safetensors, tokenizer.json, genosift.json)"
    }
    def sheet = file(params.input, checkIfExists: true)

    ch_reads = channel.fromPath(params.input, checkIfExists: true)
        .splitCsv(header: true, strip: true)
        .map { row ->
            if (!row.sample || !(row.sample ==~ /[A-Za-z0-9._-]+/)) {
                error "${sheet}: sample '${row.sample}' must be non-empty and use only A-Z a-z 0-9 . _ -"
            }
            if (!row.reads) {
                error "${sheet}: sample '${row.sample}' has no reads"
            }
            def meta = row.species ? [id: row.sample, species: row.species] : [id: row.sample]
            [meta, sheetFile(sheet, row.reads), row.index ? [sheetFile(sheet, row.index)] : []]
        }
        .groupTuple()
        // [meta, [reads...], [indexes...]]: a row without an index adds none.
        .map { meta, reads, indexes -> [meta, reads, indexes.collectMany { index -> index }] }

    ch_model = channel.value(file(params.model, type: 'dir', checkIfExists: true))
    // CRAM input needs the reference, and its .fai when there is one beside it; other inputs get
    // an empty placeholder.
    def fai = params.fasta ? file("${params.fasta}.fai") : null
    ch_fasta = channel.value(
        params.fasta ? [[id: 'reference'], file(params.fasta, checkIfExists: true), fai.exists() ? fai : []] : [[:], [], []]
    )

    GENOSIFT_PREDICT(ch_reads, ch_model, ch_fasta)

    // One table: the header once, then one row per sample, ordered by sample id.
    GENOSIFT_PREDICT.out.calls
        .map { _meta, calls -> calls }
        .collectFile(name: 'genosift_calls.tsv', keepHeader: true, skip: 1, sort: { it.name }, storeDir: params.outdir)

    channel.topic('versions')
        .unique()
        .map { proc_name, tool, version -> "${proc_name.tokenize(':').last()}\t${tool}\t${version}" }
        .collectFile(name: 'software_versions.tsv', newLine: true, sort: true, storeDir: "${params.outdir}/pipeline_info")
}
