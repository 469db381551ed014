//! `genosift calibrate`: per-species thresholds and the Y detector on the valid genomes, stored in
//! the model's genosift.json.

use anyhow::Result;

use crate::cli::CalibrateArgs;
use crate::experiment::evaluate::calibrate;

pub fn run(a: &CalibrateArgs) -> Result<()> {
    let opts = crate::config::calibrate(&a.pool)?;
    let mut bundle = super::open_model(&a.pool.common)?;
    bundle.set_both_strands(a.both_strands);
    let cal = calibrate(
        &a.pool.common.model,
        &mut bundle,
        &a.pool.samples,
        a.rule.as_str(),
        &opts,
    )?;
    for (species, c) in &cal {
        let t: Vec<String> = c
            .thresholds
            .iter()
            .map(|(k, t)| format!("K={k}: {t:.4}"))
            .collect();
        tracing::info!("{species} ({} rule): {}", c.rule, t.join(", "));
    }
    Ok(())
}
