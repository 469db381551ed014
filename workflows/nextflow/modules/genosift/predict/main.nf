process GENOSIFT_PREDICT {
    tag "${meta.id}"
    label 'process_medium'

    // genosift is not on Bioconda yet: with -profile conda it must already be on PATH (cargo
    // install). Containers: see containers/ in the repository.
    conda "${moduleDir}/environment.yml"
    container 'genosift/genosift:0.1.0'

    input:
    tuple val(meta), path(reads), path(index)
    path model
    tuple val(meta2), path(fasta), path(fai)

    output:
    tuple val(meta), path("*.calls.tsv"), emit: calls
    tuple val(meta), path("*.groups.tsv"), emit: groups
    tuple val(meta), path("*.summary.json"), emit: summary
    tuple val(meta), path("*_mqc.tsv"), emit: mqc
    tuple val(meta), path("*_stats_mqc.txt"), emit: mqc_stats
    tuple val(meta), path("*_dosage_mqc.json"), emit: mqc_dosage
    tuple val("${task.process}"), val('genosift'), eval("genosift --version | sed 's/^genosift //'"), topic: versions, emit: versions_genosift

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    def reference = fasta ? "--reference ${fasta}" : ''
    // The sex the sample sheet reports (meta.sex: male/female, M/F or 1/2): calls.tsv gets
    // expected_sex and sex_check; ext.args '--fail-on-mismatch' then fails the task (exit 3).
    def expected_sex = meta.sex ? "--expected-sex ${meta.sex}" : ''
    // genosift reads BAM/CRAM/SAM and FASTQ/FASTA (plain or gzipped) itself, several files as one
    // sample. The BAM indexes are staged beside their BAMs, where genosift looks for them, and the
    // .fai beside the FASTA.
    """
    genosift predict \\
        --model ${model} \\
        --threads ${task.cpus} \\
        --sample ${meta.id} \\
        --output ${prefix}.calls.tsv \\
        --groups ${prefix}.groups.tsv \\
        --summary-json ${prefix}.summary.json \\
        --mqc ${prefix}_mqc.tsv \\
        ${reference} \\
        ${expected_sex} \\
        ${args} \\
        ${reads}
    """

    stub:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    echo ${args}
    touch ${prefix}.calls.tsv
    touch ${prefix}.groups.tsv
    touch ${prefix}.summary.json
    touch ${prefix}_mqc.tsv
    touch ${prefix}_stats_mqc.txt
    touch ${prefix}_dosage_mqc.json
    """
}
