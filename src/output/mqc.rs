//! `--mqc`: a MultiQC custom-content table, one row for this sample.

use std::path::Path;

use anyhow::{Context, Result};

use super::fmt_prob;
use super::summary::PredictSummary;

pub fn write(path: &Path, s: &PredictSummary) -> Result<()> {
    let opt = |v: Option<f64>| v.map_or("NA".to_string(), fmt_prob);
    let text = format!(
        "# id: 'genosift'\n\
         # section_name: 'genosift sex calls'\n\
         # description: 'Genetic sex called from unaligned reads by genosift {}'\n\
         # format: 'tsv'\n\
         # plot_type: 'table'\n\
         Sample\tcall\trule\tposterior_male\ty_hits\tchunks_scored\tfrac_female_groups\tthreshold\tn_groups\tn_records\tn_bp\n\
         {}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
        env!("CARGO_PKG_VERSION"),
        s.sample,
        s.call.as_str(),
        s.rule,
        opt(s.posterior_male),
        s.y_hits.map_or("NA".to_string(), |h| h.to_string()),
        s.chunks_scored,
        opt(s.fraction),
        opt(s.threshold),
        s.n_groups,
        s.n_records,
        s.n_bp,
    );
    super::write_atomic(path, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}
