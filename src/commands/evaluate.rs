//! `genosift evaluate`: accuracy vs K on the test genomes (with ablations), or vs reads on their
//! read files.

use anyhow::Result;

use crate::cli::EvaluateArgs;
use crate::config::EvaluateConfig;
use crate::experiment::{evaluate, karyotypes, plot, reads_eval};

pub fn run(a: &EvaluateArgs) -> Result<()> {
    let config = crate::config::evaluate(a)?;
    let bundle = super::open_model(&a.pool.common)?;
    bundle.warn_precision_mismatch();
    match config {
        EvaluateConfig::Reads(opts) => {
            let test = reads_eval::score_test_reads(&bundle, &a.pool.samples, &opts)?;
            let rows = reads_eval::evaluate_reads(&bundle, &test, &opts)?;
            if let Some(path) = &a.karyotypes {
                let k = karyotypes::evaluate_karyotypes(&bundle, &test, &opts);
                if let Some(p) = &a.karyotype_plot {
                    karyotypes::plot_karyotypes(p, &k)?;
                }
                karyotypes::write_karyotypes(path, &k)?;
            }
            if let Some(p) = &a.plot {
                reads_eval::plot_reads(p, &rows)?;
            }
            reads_eval::write_reads_eval(a.output.as_deref(), &rows)
        }
        EvaluateConfig::Groups { pool, condition } => {
            let rows = evaluate::evaluate(&bundle, &a.pool.samples, &condition, &pool)?;
            if let Some(p) = &a.plot {
                plot::accuracy_vs_k(p, &rows)?;
            }
            evaluate::write_eval(a.output.as_deref(), &rows)
        }
    }
}
