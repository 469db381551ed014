//! One file per subcommand, each wiring the stages together; [`run`] picks the one asked for.

mod calibrate;
mod embed;
mod evaluate;
mod predict;
mod simulate;
mod train;

use anyhow::Result;

use crate::bundle::ModelBundle;
use crate::cli::{Cli, Command, Common};

/// Runs the subcommand.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Predict(a) => predict::run(&a),
        Command::Embed(a) => embed::run(&a),
        Command::Calibrate(a) => calibrate::run(&a),
        Command::Evaluate(a) => evaluate::run(&a),
        Command::Simulate(a) => simulate::run(&a),
        Command::Train(a) => train::run(&a),
    }
}

/// Whether the command was asked to keep stderr to errors (`--quiet`).
pub fn quiet(cli: &Cli) -> bool {
    match &cli.command {
        Command::Predict(a) => a.common.compute.quiet,
        Command::Embed(a) => a.common.compute.quiet,
        Command::Simulate(_) => false,
        Command::Train(a) => a.compute.quiet,
        Command::Calibrate(a) => a.pool.common.compute.quiet,
        Command::Evaluate(a) => a.pool.common.compute.quiet,
    }
}

/// Opens `--model` on `--device`.
fn open_model(common: &Common) -> Result<ModelBundle> {
    let device = crate::config::device(common.compute.device);
    Ok(ModelBundle::open(&common.model, device)?)
}
