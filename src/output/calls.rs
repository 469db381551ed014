//! The calls table: one row per sample (columns documented in README).

use std::path::Path;

use super::summary::PredictSummary;
use super::{fmt_prob, Table};
use crate::call::dosage::Dosage;
use crate::error::OutputError;

/// Columns of the calls table.
pub const CALLS_HEADER: [&str; 16] = [
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
];

/// Writes the table with the run's one row (to stdout when `path` is `None`).
pub fn write(path: Option<&Path>, s: &PredictSummary) -> Result<(), OutputError> {
    let mut calls = Table::create(path, &CALLS_HEADER)?;
    calls.row(row(s))?;
    calls.finish()
}

fn row(s: &PredictSummary) -> Vec<String> {
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
        dosage(s, |d| d.estimate),
        dosage(s, |d| d.lo),
        dosage(s, |d| d.hi),
        s.flag.unwrap_or("NA").to_string(),
    ]
}

fn dosage(s: &PredictSummary, part: fn(&Dosage) -> f64) -> String {
    s.y_dosage.as_ref().map_or("NA".into(), |d| format!("{:.4}", part(d)))
}
