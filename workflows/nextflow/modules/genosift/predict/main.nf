process GENOSIFT_PREDICT {
    tag "${meta.id}"
    label 'process_medium'

    // genosift is not on Bioconda yet: with -profile conda the environment brings samtools, and
    // genosift must already be on PATH (cargo install). Containers: see containers/ in the repository.
    conda "${moduleDir}/environment.yml"
    container 'genosift/genosift:0.1.0'

    input:
    tuple val(meta), path(reads)
    path model
    tuple val(meta2), path(fasta)

    output:
    tuple val(meta), path("*.calls.tsv"), emit: calls
    tuple val(meta), path("*.groups.tsv"), emit: groups
    tuple val(meta), path("*.summary.json"), emit: summary
    tuple val(meta), path("*_mqc.tsv"), emit: mqc
    tuple val("${task.process}"), val('genosift'), eval("genosift --version | sed 's/^genosift //'"), topic: versions, emit: versions_genosift
    tuple val("${task.process}"), val('samtools'), eval("samtools version | sed '1!d; s/^samtools //'"), topic: versions, emit: versions_samtools

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def args2 = task.ext.args2 ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    def reference = fasta ? "--reference ${fasta}" : ''
    """
    set -o pipefail

    # One plain-text stream of all the sample's files (lanes, mates), in order: BAM/CRAM/SAM
    # through samtools fastq (primary reads only), gzip/bgzip decompressed, FASTQ/FASTA as is.
    # Exit status 141 (SIGPIPE) only means genosift stopped reading early (--max-groups).
    ( (
        for f in ${reads}; do
            case "\$f" in
                *.bam|*.cram|*.sam) samtools fastq ${args2} ${reference} -F 0x900 "\$f" ;;
                *.gz|*.bgz) gzip -cd "\$f" ;;
                *) cat "\$f" ;;
            esac || exit \$?
        done
    ) || [ \$? -eq 141 ] ) \\
    | genosift predict \\
        --model ${model} \\
        --threads ${task.cpus} \\
        --sample ${meta.id} \\
        --output ${prefix}.calls.tsv \\
        --groups ${prefix}.groups.tsv \\
        --summary-json ${prefix}.summary.json \\
        --mqc ${prefix}_mqc.tsv \\
        ${args} \\
        -
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
    """
}
