//! `--mqc`: a MultiQC custom-content table, one row per sample.

use std::path::Path;

use anyhow::{Context, Result};

use super::fmt_prob;
use super::summary::PredictSummary;

/// The table's columns after `Sample`.
const COLUMNS: &str = "call\trule\tposterior_male\ty_hits\tchunks_scored\tfrac_female_groups\tthreshold\tn_groups\tn_records\tn_bp\ty_dosage\ty_dosage_lo\ty_dosage_hi\tflag\texpected_sex\tsex_check";

pub fn write(path: &Path, summaries: &[PredictSummary]) -> Result<()> {
    let mut text = format!(
        "# id: 'genosift'\n\
         # section_name: 'genosift sex calls'\n\
         # description: 'Genetic sex called from unaligned reads by genosift {}'\n\
         # format: 'tsv'\n\
         # plot_type: 'table'\n\
         Sample\t{COLUMNS}\n",
        env!("CARGO_PKG_VERSION"),
    );
    for s in summaries {
        text.push_str(&row(s).join("\t"));
        text.push('\n');
    }
    super::write_atomic(path, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

fn row(s: &PredictSummary) -> Vec<String> {
    let opt = |v: Option<f64>| v.map_or("NA".to_string(), fmt_prob);
    let dosage = |f: fn(&crate::call::dosage::Dosage) -> f64| opt(s.y_dosage.as_ref().map(f));
    vec![
        s.sample.clone(),
        s.call.as_str().to_string(),
        s.rule.to_string(),
        opt(s.posterior_male),
        s.y_hits.map_or("NA".to_string(), |h| h.to_string()),
        s.chunks_scored.to_string(),
        opt(s.fraction),
        opt(s.threshold),
        s.n_groups.to_string(),
        s.n_records.to_string(),
        s.n_bp.to_string(),
        dosage(|d| d.estimate),
        dosage(|d| d.lo),
        dosage(|d| d.hi),
        s.flag.unwrap_or("NA").to_string(),
        s.expected_sex
            .map_or("NA", crate::check::sex_str)
            .to_string(),
        s.sex_check.map_or("NA", |c| c.as_str()).to_string(),
    ]
}
