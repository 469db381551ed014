//! `genosift calibrate`: per-species thresholds and the Y detector on the valid genomes, stored in
//! the model's genosift.json.

use anyhow::Result;

use crate::bundle::ModelBundle;
use crate::cli::CalibrateArgs;
use crate::experiment::evaluate::calibrate;

pub fn run(a: &CalibrateArgs) -> Result<()> {
    let opts = crate::config::calibrate(&a.pool)?;
    let mut bundle = super::open_model(&a.pool.common)?;
    set_strands(&mut bundle, a.both_strands);
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

/// Scores on one strand or both from now on; a calibration made under the other scoring no longer
/// holds, so it is dropped (with a warning naming its species).
fn set_strands(bundle: &mut ModelBundle, both_strands: bool) {
    let settings = &mut bundle.settings;
    if settings.both_strands == both_strands {
        return;
    }
    if !settings.calibration.is_empty() {
        let species: Vec<&str> = settings.calibration.keys().map(String::as_str).collect();
        tracing::warn!(
            "scoring changes to {}: the earlier calibration ({}) is dropped",
            if both_strands {
                "both strands"
            } else {
                "one strand"
            },
            species.join(", ")
        );
    }
    settings.calibration.clear();
    settings.both_strands = both_strands;
}
