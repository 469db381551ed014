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
        Command::Simulate(_) => false,
        Command::Train(a) => a.quiet,
        Command::Calibrate(a) => a.pool.common.quiet,
        Command::Evaluate(a) => a.pool.common.quiet,
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
    resolve_threads(common.threads)
}

fn resolve_threads(t: Option<usize>) -> Result<usize> {
    match t {
        Some(0) => anyhow::bail!("--threads must be at least 1"),
        Some(t) => Ok(t),
        None => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
    }
}

fn open_model(common: &Common) -> Result<ModelBundle> {
    let device: DeviceKind = common.device.parse().map_err(anyhow::Error::msg)?;
    Ok(ModelBundle::open(&common.model, device)?)
}

fn pool_options(
    a: &genosift::cli::PoolArgs,
    reweight: Vec<genosift::train::sampler::Reweight>,
) -> Result<genosift::train::evaluate::PoolOptions> {
    if !(0.0..0.5).contains(&a.read_errors) {
        anyhow::bail!(
            "--read-errors {}: expected a rate in [0, 0.5)",
            a.read_errors
        );
    }
    Ok(genosift::train::evaluate::PoolOptions {
        ks: genosift::train::evaluate::parse_ks(&a.k)?,
        repeats: a.repeats.max(1),
        pool: a.pool,
        seed: a.seed,
        threads: threads(&a.common)?,
        reweight,
        min_confidence: a.min_confidence,
        read_errors: a.read_errors,
        quiet: a.common.quiet,
    })
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
                summary_out: a.summary_json.clone(),
                mqc_out: a.mqc.clone(),
                rule: genosift::pipeline::Rule::parse(&a.rule)?,
                min_confidence: a.min_confidence,
                stop_when_confident: a.stop_when_confident,
                needles_out: a.needles.clone(),
                needles_top: a.needles_top,
                quiet: a.common.quiet,
            };
            let bundle = open_model(&a.common)?;
            let s = predict(&bundle, &opts)?;
            tracing::info!(
                "{}: {} records, {} bp → {} chunks, {} groups of {} ({} chunk(s) in a final partial group){}; call {} by the {} rule (posterior male {}, {} Y hits in {} chunks; fraction female {}, threshold {}); {:.1} s: model {:.0}%, tokenizer {:.0}%",
                s.sample,
                s.n_records,
                s.n_bp,
                s.n_chunks,
                s.n_groups,
                bundle.settings.chunks,
                s.dropped_chunks,
                if s.stopped_early { ", stopped early" } else { "" },
                s.call.as_str(),
                s.rule,
                s.posterior_male.map_or("NA".into(), |p| format!("{p:.6}")),
                s.y_hits.map_or("NA".into(), |h| h.to_string()),
                s.chunks_scored,
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
        Command::Calibrate(a) => {
            let opts = pool_options(&a.pool, Vec::new())?;
            let mut bundle = open_model(&a.pool.common)?;
            if bundle.settings.both_strands != a.both_strands {
                // Thresholds measured under the other scoring would no longer hold.
                if !bundle.settings.calibration.is_empty() {
                    tracing::warn!(
                        "scoring changes to {}: the earlier calibration ({}) is dropped",
                        if a.both_strands {
                            "both strands"
                        } else {
                            "one strand"
                        },
                        bundle
                            .settings
                            .calibration
                            .keys()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                }
                bundle.settings.calibration.clear();
                bundle.settings.both_strands = a.both_strands;
            }
            let cal = genosift::train::evaluate::calibrate(
                &a.pool.common.model,
                &mut bundle,
                &a.pool.samples,
                &a.rule,
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
        Command::Evaluate(a) => {
            let (rw, condition) =
                genosift::train::evaluate::parse_ablation(&a.exclude_chrom, &a.only_chrom_weight)?;
            let opts = pool_options(&a.pool, rw)?;
            let bundle = open_model(&a.pool.common)?;
            if let Some(reads) = &a.reads {
                use genosift::train::reads_eval as re;
                if condition != "all" {
                    anyhow::bail!("--reads evaluates whole reads files: no chromosome ablations");
                }
                let ropts = re::ReadsEvalOptions {
                    n_reads: genosift::train::evaluate::parse_ks(reads)
                        .map_err(|e| anyhow::anyhow!("{e:#}").context("--reads"))?,
                    repeats: opts.repeats,
                    seed: opts.seed,
                    threads: opts.threads,
                    min_confidence: opts.min_confidence,
                    quiet: opts.quiet,
                };
                let rows = re::evaluate_reads(&bundle, &a.pool.samples, &ropts)?;
                if let Some(p) = &a.plot {
                    re::plot_reads(p, &rows)?;
                }
                re::write_reads_eval(a.output.as_deref(), &rows)?;
                return Ok(());
            }
            let rows =
                genosift::train::evaluate::evaluate(&bundle, &a.pool.samples, &condition, &opts)?;
            if let Some(p) = &a.plot {
                genosift::train::plot::accuracy_vs_k(p, &rows)?;
            }
            genosift::train::evaluate::write_eval(a.output.as_deref(), &rows)?;
            Ok(())
        }
        Command::Simulate(a) => {
            let sheet =
                genosift::train::simulate::simulate(&genosift::train::simulate::SimulateOptions {
                    out: a.out.clone(),
                    seed: a.seed,
                    scale: a.scale,
                    short_reads: a.short_reads,
                    long_reads: a.long_reads,
                })?;
            tracing::info!("wrote {}", sheet.display());
            Ok(())
        }
        Command::Train(a) => {
            let opts = genosift::train::trainer::TrainOptions {
                samples: a.samples.clone(),
                out: a.out.clone(),
                chunks: a.chunks,
                chunk_len: a.chunk_len,
                lr: a.lr,
                warmup: a.warmup,
                schedule: match a.schedule.as_str() {
                    "cosine" => genosift::train::trainer::Schedule::Cosine { min_lr: a.min_lr },
                    _ => genosift::train::trainer::Schedule::Constant,
                },
                batch: a.batch,
                grad_accum: a.grad_accum,
                steps: a.steps,
                eval_every: a.eval_every,
                patience: a.patience,
                init: a.init.clone(),
                config: a.config.clone(),
                seed: a.seed,
                threads: resolve_threads(a.threads)?,
                device: a.device.parse().map_err(anyhow::Error::msg)?,
                reads: a.reads,
                valid_groups: a.valid_groups,
                chunk_loss_weight: a.chunk_loss_weight,
                force_y: a.force_y,
                y_boost: a.y_boost,
                read_errors: a.read_errors,
                quiet: a.quiet,
            };
            let r = genosift::train::trainer::train(&opts)?;
            if r.best_step == 0 {
                anyhow::bail!("no evaluation ran: nothing was saved");
            }
            tracing::info!(
                "trained {} steps; best valid ROC-AUC {:.4} at step {} (saved in {}); {:.1} examples/s",
                r.steps,
                r.best_auc,
                r.best_step,
                a.out.display(),
                r.examples_per_second
            );
            Ok(())
        }
    }
}
