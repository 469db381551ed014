//! `genosift simulate`: a synthetic cohort (genomes, sample sheet, test reads).

use anyhow::Result;

use crate::cli::SimulateArgs;
use crate::cohort::simulate::{simulate, SimulateOptions};

pub fn run(a: &SimulateArgs) -> Result<()> {
    let sheet = simulate(&SimulateOptions {
        out: a.out.clone(),
        seed: a.seed,
        scale: a.scale,
        short_reads: a.short_reads,
        long_reads: a.long_reads,
        genomes: a.genome.clone(),
    })?;
    tracing::info!("wrote {}", sheet.display());
    Ok(())
}
