//! `genosift train`: fine-tune or train a classifier on a cohort, one run or a staged recipe.

use anyhow::Result;
use clap::ValueEnum;

use crate::cli::TrainArgs;
use crate::experiment::recipe;
use crate::experiment::train::train;

pub fn run(a: &TrainArgs) -> Result<()> {
    if let Some(r) = a.recipe {
        return recipe::run(&crate::config::recipe(a, r)?);
    }
    let r = train(&crate::config::train(a)?)?;
    if r.best_step == 0 {
        anyhow::bail!("no evaluation ran: nothing was saved");
    }
    tracing::info!(
        "trained {} steps; kept step {} by --select {} (its valid ROC-AUC {:.4}; saved in {}); {:.1} examples/s",
        r.steps,
        r.best_step,
        a.select.to_possible_value().expect("not skipped").get_name(),
        r.best_auc,
        a.out.display(),
        r.examples_per_second
    );
    Ok(())
}
