//! The calls table: one row per sample (columns documented in README).

use std::path::Path;

use super::summary::PredictSummary;
use super::{fmt_prob, Table};
use crate::call::dosage::Dosage;
use crate::error::OutputError;

/// Columns of the calls table.
pub const CALLS_HEADER: [&str; 22] = [
    "sample",
    "species",
    "n_records",
    "n_bp",
    "n_groups",
    "frac_female_groups",
    "threshold",
    "call",
    "posterior_male",
    "chunks_scored",
    "y_hits",
    "rule",
    "y_dosage",
    "y_dosage_lo",
    "y_dosage_hi",
    "flag",
    "expected_sex",
    "sex_check",
    "x_dosage",
    "x_dosage_lo",
    "x_dosage_hi",
    "karyotype",
];

/// Writes the table, a row per sample (to stdout when `path` is `None`).
pub fn write(path: Option<&Path>, summaries: &[PredictSummary]) -> Result<(), OutputError> {
    let mut calls = Table::create(path, &CALLS_HEADER)?;
    for s in summaries {
        calls.row(row(s))?;
    }
    calls.finish()
}

pub(super) fn row(s: &PredictSummary) -> Vec<String> {
    vec![
        s.sample.clone(),
        s.species.clone(),
        s.n_records.to_string(),
        s.n_bp.to_string(),
        s.n_groups.to_string(),
        s.fraction.map_or("NA".into(), fmt_prob),
        s.threshold.map_or("NA".into(), fmt_prob),
        s.call.as_str().to_string(),
        s.posterior_male.map_or("NA".into(), fmt_prob),
        s.chunks_scored.to_string(),
        s.y_hits.map_or("NA".into(), |h| h.to_string()),
        s.rule.to_string(),
        dosage(&s.y_dosage, |d| d.estimate),
        dosage(&s.y_dosage, |d| d.lo),
        dosage(&s.y_dosage, |d| d.hi),
        s.flag.unwrap_or("NA").to_string(),
        s.expected_sex
            .map_or("NA", crate::check::sex_str)
            .to_string(),
        s.sex_check.map_or("NA", |c| c.as_str()).to_string(),
        dosage(&s.x_dosage, |d| d.estimate),
        dosage(&s.x_dosage, |d| d.lo),
        dosage(&s.x_dosage, |d| d.hi),
        s.karyotype.unwrap_or("NA").to_string(),
    ]
}

fn dosage(d: &Option<Dosage>, part: fn(&Dosage) -> f64) -> String {
    d.as_ref()
        .map_or("NA".into(), |d| format!("{:.4}", part(d)))
}
