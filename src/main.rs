//! Thin entry point: parse flags, run, map the result to an exit code (0 ok, 1 error, 2 usage).
//! A closed stdout (`genosift … | head`) ends the run quietly with 0.

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

use genosift::bundle::ModelBundle;
use genosift::cli::{Cli, Command, Common};
use genosift::embed::{embed, EmbedOptions};
use genosift::error::OutputError;
use genosift::io::input::Source;
use genosift::model::DeviceKind;
use genosift::pipeline::{predict, PredictOptions};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let quiet = match &cli.command {
        Command::Predict(a) => a.common.quiet,
        Command::Embed(a) => a.common.quiet,
    };
    init_logging(quiet);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("genosift: error: {}", one_line(&e));
            ExitCode::from(1)
        }
    }
}

fn init_logging(quiet: bool) {
    let level = if quiet {
        tracing::Level::ERROR
    } else {
        tracing::Level::INFO
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

fn one_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let s = cause.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ").replace('\n', " ")
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<OutputError>(),
            Some(OutputError::BrokenPipe)
        ) || c
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn threads(common: &Common) -> Result<usize> {
    match common.threads {
        Some(0) => anyhow::bail!("--threads must be at least 1"),
        Some(t) => Ok(t),
        None => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
    }
}

fn open_model(common: &Common) -> Result<ModelBundle> {
    let device: DeviceKind = common.device.parse().map_err(anyhow::Error::msg)?;
    Ok(ModelBundle::open(&common.model, device)?)
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Predict(a) => {
            let threads = threads(&a.common)?;
            if a.batch_groups == 0 {
                anyhow::bail!("--batch-groups must be at least 1");
            }
            if a.max_groups == Some(0) {
                anyhow::bail!("--max-groups must be at least 1");
            }
            let input = Source::from_arg(a.input.as_deref());
            let opts = PredictOptions {
                sample: a.sample.clone().unwrap_or_else(|| input.sample_name()),
                input,
                species: a.species.clone(),
                max_groups: a.max_groups,
                threads,
                batch_groups: a.batch_groups,
                calls_out: a.output.clone(),
                groups_out: a.groups.clone(),
                quiet: a.common.quiet,
            };
            let bundle = open_model(&a.common)?;
            let s = predict(&bundle, &opts)?;
            tracing::info!(
                "{}: {} records, {} bp → {} chunks, {} groups of {} ({} chunk(s) in a final partial group dropped){}; call {} (fraction female {}, threshold {}); {:.1} s: model {:.0}%, tokenizer {:.0}%",
                s.sample,
                s.n_records,
                s.n_bp,
                s.n_chunks,
                s.n_groups,
                bundle.settings.chunks,
                s.dropped_chunks,
                if s.stopped_early { ", stopped at --max-groups" } else { "" },
                s.call.as_str(),
                s.fraction.map_or("NA".into(), |f| format!("{f:.4}")),
                s.threshold.map_or("NA".into(), |t| format!("{t:.4}")),
                s.seconds,
                100.0 * s.model_seconds / s.seconds.max(1e-9),
                100.0 * s.tokenize_seconds / s.seconds.max(1e-9),
            );
            Ok(())
        }
        Command::Embed(a) => {
            let threads = threads(&a.common)?;
            let bundle = open_model(&a.common)?;
            let n = embed(
                &bundle,
                &EmbedOptions {
                    input: Source::from_arg(a.input.as_deref()),
                    output: a.output.clone(),
                    threads,
                },
            )?;
            tracing::info!("embedded {n} records");
            Ok(())
        }
    }
}
