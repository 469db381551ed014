//! `--mqc`: a MultiQC custom-content table, one row per sample: the calls table's values, the
//! call first.

use std::path::Path;

use anyhow::{Context, Result};

use super::calls::{self, CALLS_HEADER};
use super::summary::PredictSummary;

/// The table's columns after `Sample`, by their calls-table names.
const COLUMNS: [&str; 16] = [
    "call",
    "rule",
    "posterior_male",
    "y_hits",
    "chunks_scored",
    "frac_female_groups",
    "threshold",
    "n_groups",
    "n_records",
    "n_bp",
    "y_dosage",
    "y_dosage_lo",
    "y_dosage_hi",
    "flag",
    "expected_sex",
    "sex_check",
];

pub fn write(path: &Path, summaries: &[PredictSummary]) -> Result<()> {
    let mut text = format!(
        "# id: 'genosift'\n\
         # section_name: 'genosift sex calls'\n\
         # description: 'Genetic sex called from unaligned reads by genosift {}'\n\
         # format: 'tsv'\n\
         # plot_type: 'table'\n\
         Sample\t{}\n",
        env!("CARGO_PKG_VERSION"),
        COLUMNS.join("\t"),
    );
    let at = |name: &str| CALLS_HEADER.iter().position(|c| *c == name);
    let picks: Vec<usize> = std::iter::once("sample")
        .chain(COLUMNS)
        .map(|c| at(c).expect("an mqc column is a calls column"))
        .collect();
    for s in summaries {
        let row = calls::row(s);
        let fields: Vec<&str> = picks.iter().map(|&i| row[i].as_str()).collect();
        text.push_str(&fields.join("\t"));
        text.push('\n');
    }
    super::write_atomic(path, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_column_is_a_calls_column() {
        for c in COLUMNS {
            assert!(CALLS_HEADER.contains(&c), "{c}");
        }
    }
}
