//! Flags → each command's validated settings. Every problem the flags alone can show is collected
//! and reported at once, in one line; after this, no command checks a flag again.

use std::path::PathBuf;

use anyhow::Result;

use crate::cli::{
    CallRule, Compute, Device, EvaluateArgs, InputArgs, PoolArgs, PredictArgs, RecipeArg,
    ScheduleArg, SelectArg, TrainArgs,
};
use crate::cohort::sheet::Sex;
use crate::experiment::evaluate::{parse_ablation, parse_ks, PoolOptions};
use crate::experiment::reads_eval::ReadsEvalOptions;
use crate::experiment::recipe::{Recipe, RecipeOptions};
use crate::experiment::train::{Schedule, Selection, TrainOptions};
use crate::input::{InputOptions, ReadFilter, Source};
use crate::model::DeviceKind;
use crate::pipeline::PipelineOptions;

/// Problems found in the flags, reported together.
#[derive(Debug, Default)]
pub struct Problems(Vec<String>);

impl Problems {
    /// Records `problem` unless `ok`.
    pub fn check(&mut self, ok: bool, problem: impl FnOnce() -> String) {
        if !ok {
            self.0.push(problem());
        }
    }

    /// Takes the value of `r`, or records its error.
    pub fn take<T>(&mut self, r: Result<T>) -> Option<T> {
        r.map_err(|e| self.0.push(format!("{e:#}"))).ok()
    }

    /// `Ok` when nothing was found, else one error listing every problem.
    pub fn finish(self) -> Result<()> {
        match self.0.is_empty() {
            true => Ok(()),
            false => anyhow::bail!("{}", self.0.join("; ")),
        }
    }
}

/// `--threads`, defaulting to the available cores.
pub fn threads(c: &Compute) -> usize {
    c.threads.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |t| t.get(),
    )
}

pub fn device(d: Device) -> DeviceKind {
    match d {
        Device::Cpu => DeviceKind::Cpu,
        Device::Cuda => DeviceKind::Cuda,
    }
}

/// Where `predict` writes.
#[derive(Debug, Clone)]
pub struct Outputs {
    pub calls: Option<PathBuf>,
    pub groups: Option<PathBuf>,
    pub summary: Option<PathBuf>,
    pub mqc: Option<PathBuf>,
    pub dosage_plot: Option<PathBuf>,
    pub needles: Option<PathBuf>,
}

/// One sample of a `predict` run: its inputs, name and what is known of it.
#[derive(Debug, Clone)]
pub struct Job {
    /// One or more; several are read a record from each in turn.
    pub inputs: Vec<Source>,
    pub sample: String,
    pub species: Option<String>,
    /// The sex the sample is reported to have (`--expected-sex`, the sheet's `sex`).
    pub expected_sex: Option<Sex>,
}

/// A `predict` run, validated.
#[derive(Debug, Clone)]
pub struct PredictConfig {
    /// The samples: the inputs on the command line, or the rows of `--samples`.
    pub jobs: Vec<Job>,
    /// The jobs are a `--samples` sheet's (the summary JSON then lists them, even one).
    pub from_sheet: bool,
    pub reading: InputOptions,
    pub fail_on_mismatch: bool,
    pub rule: CallRule,
    pub threads: usize,
    pub pipeline: PipelineOptions,
    pub outputs: Outputs,
}

pub fn predict(a: &PredictArgs) -> Result<PredictConfig> {
    let mut p = Problems::default();
    p.check(a.min_confidence > 0.5 && a.min_confidence < 1.0, || {
        format!(
            "--min-confidence {}: expected a probability above 0.5 and below 1",
            a.min_confidence
        )
    });
    let jobs = match &a.samples {
        Some(sheet) => sheet_jobs(a, sheet, &mut p),
        None => {
            let inputs = sources(&a.inputs);
            check_inputs(&inputs, &a.input, &mut p);
            vec![Job {
                sample: a.sample.clone().unwrap_or_else(|| inputs[0].sample_name()),
                inputs,
                species: a.species.clone(),
                expected_sex: a.expected_sex,
            }]
        }
    };
    p.check(
        !a.fail_on_mismatch || jobs.iter().any(|j| j.expected_sex.is_some()),
        || {
            "--fail-on-mismatch needs an expected sex (--expected-sex, or the sheet's sex column)"
                .into()
        },
    );
    p.finish()?;
    let early_stop = a.stop_when_confident || a.max_groups.is_some();
    Ok(PredictConfig {
        jobs,
        from_sheet: a.samples.is_some(),
        reading: input_options(&a.input, early_stop, a.seed),
        fail_on_mismatch: a.fail_on_mismatch,
        rule: a.rule,
        threads: threads(&a.common.compute),
        pipeline: PipelineOptions {
            max_groups: a.max_groups.map(|m| m.get()),
            batch_groups: a.batch_groups.get(),
            stop_when_confident: a.stop_when_confident,
            min_confidence: a.min_confidence,
            needles_top: if a.needles.is_some() {
                a.needles_top
            } else {
                0
            },
        },
        outputs: Outputs {
            calls: a.output.clone(),
            groups: a.groups.clone(),
            summary: a.summary_json.clone(),
            mqc: a.mqc.clone(),
            dosage_plot: a.dosage_plot.clone(),
            needles: a.needles.clone(),
        },
    })
}

/// The samples of a `--samples` sheet; the flags that name one sample's inputs or outputs are
/// problems beside it.
fn sheet_jobs(a: &PredictArgs, sheet: &std::path::Path, p: &mut Problems) -> Vec<Job> {
    let one_sample = [
        (!a.inputs.is_empty(), "INPUT files"),
        (a.sample.is_some(), "--sample"),
        (a.expected_sex.is_some(), "--expected-sex"),
        (a.groups.is_some(), "--groups"),
        (a.needles.is_some(), "--needles"),
        (a.input.index.is_some(), "--index"),
    ];
    for (given, flag) in one_sample {
        p.check(!given, || {
            format!(
                "--samples {}: {flag} names one sample; give it in the sheet or drop it",
                sheet.display()
            )
        });
    }
    let rows = p
        .take(crate::check::read_samples(sheet))
        .unwrap_or_default();
    rows.into_iter()
        .map(|r| Job {
            inputs: r.reads.iter().map(|f| Source::from_arg(Some(f))).collect(),
            sample: r.sample,
            species: r.species.or_else(|| a.species.clone()),
            expected_sex: r.sex,
        })
        .collect()
}

/// The inputs named on the command line; none means stdin.
fn sources(paths: &[PathBuf]) -> Vec<Source> {
    if paths.is_empty() {
        return vec![Source::Stdin];
    }
    paths.iter().map(|p| Source::from_arg(Some(p))).collect()
}

fn check_inputs(inputs: &[Source], a: &InputArgs, p: &mut Problems) {
    let stdin = inputs.iter().filter(|s| **s == Source::Stdin).count();
    p.check(stdin <= 1, || "stdin (`-`) can be read once only".into());
    p.check(a.index.is_none() || inputs.len() == 1, || {
        "--index names the index of one BAM: with several inputs, put each index beside its BAM"
            .into()
    });
}

/// How reads are taken, from `InputArgs` (and whether reading may stop early).
pub fn input_options(a: &InputArgs, early_stop: bool, seed: u64) -> InputOptions {
    InputOptions {
        reference: a.reference.clone(),
        index: a.index.clone(),
        filter: ReadFilter {
            exclude: a.exclude_flags,
            both_mates: a.both_mates,
        },
        early_stop,
        seed,
    }
}

/// `calibrate`'s and `evaluate`'s sampling, with `reweight` from evaluate's ablation flags.
fn pool(a: &PoolArgs, p: &mut Problems) -> Option<Vec<u64>> {
    p.check((0.0..0.5).contains(&a.read_errors), || {
        format!(
            "--read-errors {}: expected a rate in [0, 0.5)",
            a.read_errors
        )
    });
    p.take(parse_ks(&a.k))
}

fn pool_options(
    a: &PoolArgs,
    ks: Vec<u64>,
    reweight: Vec<crate::cohort::sampler::Reweight>,
) -> PoolOptions {
    PoolOptions {
        ks,
        repeats: a.repeats.max(1),
        pool: a.pool,
        seed: a.seed,
        threads: threads(&a.common.compute),
        reweight,
        min_confidence: a.min_confidence,
        read_errors: a.read_errors,
    }
}

pub fn calibrate(a: &PoolArgs) -> Result<PoolOptions> {
    let mut p = Problems::default();
    let ks = pool(a, &mut p);
    p.finish()?;
    Ok(pool_options(a, ks.expect("checked"), Vec::new()))
}

/// An `evaluate` run: by groups (accuracy vs K, with the ablation named `condition`) or by reads.
pub enum EvaluateConfig {
    Groups {
        pool: PoolOptions,
        condition: String,
    },
    Reads(ReadsEvalOptions),
}

pub fn evaluate(a: &EvaluateArgs) -> Result<EvaluateConfig> {
    let mut p = Problems::default();
    let ks = pool(&a.pool, &mut p);
    let ablation = p.take(parse_ablation(&a.exclude_chrom, &a.only_chrom_weight));
    let reads = a
        .reads
        .as_ref()
        .and_then(|r| p.take(parse_ks(r).map_err(|e| anyhow::anyhow!("{e:#}").context("--reads"))));
    if let (Some((_, condition)), Some(_)) = (&ablation, &a.reads) {
        p.check(condition == "all", || {
            "--reads evaluates whole reads files: no chromosome ablations".into()
        });
    }
    p.finish()?;
    let (reweight, condition) = ablation.expect("checked");
    let pool = pool_options(&a.pool, ks.expect("checked"), reweight);
    Ok(match reads {
        Some(n_reads) => EvaluateConfig::Reads(ReadsEvalOptions {
            n_reads,
            repeats: pool.repeats,
            seed: pool.seed,
            threads: pool.threads,
            min_confidence: pool.min_confidence,
            karyotypes: a.karyotypes.is_some(),
        }),
        None => EvaluateConfig::Groups { pool, condition },
    })
}

fn check_x_loss_weight(w: f32, p: &mut Problems) {
    p.check(w.is_finite() && w >= 0.0, || {
        format!("--x-loss-weight {w}: expected a weight ≥ 0")
    });
}

/// `train --recipe`: the recipe and the flags that still apply (the rest are the recipe's; clap
/// refuses them beside `--recipe`).
pub fn recipe(a: &TrainArgs, recipe: RecipeArg) -> Result<RecipeOptions> {
    let mut p = Problems::default();
    check_x_loss_weight(a.x_loss_weight, &mut p);
    p.check(a.recipe_scale > 0.0 && a.recipe_scale <= 100.0, || {
        format!(
            "--recipe-scale {}: expected a factor in (0, 100]",
            a.recipe_scale
        )
    });
    p.check(a.out.file_name().is_some(), || {
        format!(
            "--out {}: a recipe needs a directory name (its stages go beside it, NAME.stages)",
            a.out.display()
        )
    });
    p.finish()?;
    Ok(RecipeOptions {
        recipe: match recipe {
            RecipeArg::Reads => Recipe::Reads,
            RecipeArg::Groups => Recipe::Groups,
        },
        samples: a.samples.clone(),
        out: a.out.clone(),
        config: a.config.as_str().to_string(),
        init: a.init.clone(),
        seed: a.seed,
        threads: threads(&a.compute),
        device: device(a.compute.device),
        dry_run: a.dry_run,
        scale: a.recipe_scale,
        x_loss_weight: a.x_loss_weight,
    })
}

pub fn train(a: &TrainArgs) -> Result<TrainOptions> {
    let mut p = Problems::default();
    check_x_loss_weight(a.x_loss_weight, &mut p);
    p.check(a.x_loss_weight <= 0.0 || a.chunk_loss_weight > 0.0, || {
        "--x-loss-weight needs --chunk-loss-weight > 0 (the X dosage and karyotype sit beside the per-chunk Y output)".into()
    });
    let sep = crate::chunk::SEPARATOR_LEN;
    p.check(a.chunks > 0 && a.chunk_len > sep, || {
        format!("--chunks must be ≥ 1 and --chunk-len > {sep}")
    });
    p.check(
        a.batch > 0 && a.grad_accum > 0 && a.grad_accum <= a.batch,
        || "--batch and --grad-accum must be ≥ 1, with --grad-accum ≤ --batch".into(),
    );
    p.check((0.0..0.5).contains(&a.read_errors), || {
        format!(
            "--read-errors {}: expected a rate in [0, 0.5)",
            a.read_errors
        )
    });
    p.check((0.0..=1.0).contains(&a.y_boost), || {
        "--y-boost must be between 0 and 1".into()
    });
    p.check(
        a.schedule == ScheduleArg::Constant || (0.0..=a.lr).contains(&a.min_lr),
        || format!("--min-lr {}: expected a rate in [0, --lr]", a.min_lr),
    );
    p.check(a.eval_every > 0, || "--eval-every must be ≥ 1".into());
    let select = match a.select {
        SelectArg::Auc => Selection::RocAuc,
        SelectArg::FalseY => Selection::FalseY {
            negatives: a.valid_negatives,
        },
    };
    p.check(
        a.select == SelectArg::Auc || (a.chunk_loss_weight > 0.0 && a.valid_negatives > 0),
        || {
            "--select false-y needs --chunk-loss-weight > 0 (a Y output) and --valid-negatives ≥ 1"
                .into()
        },
    );
    p.finish()?;
    Ok(TrainOptions {
        samples: a.samples.clone(),
        out: a.out.clone(),
        chunks: a.chunks,
        chunk_len: a.chunk_len,
        lr: a.lr,
        warmup: a.warmup,
        schedule: match a.schedule {
            ScheduleArg::Cosine => Schedule::Cosine { min_lr: a.min_lr },
            ScheduleArg::Constant => Schedule::Constant,
        },
        batch: a.batch,
        grad_accum: a.grad_accum,
        steps: a.steps,
        eval_every: a.eval_every,
        patience: a.patience,
        init: a.init.clone(),
        config: a.config.as_str().to_string(),
        seed: a.seed,
        threads: threads(&a.compute),
        device: device(a.compute.device),
        reads: a.reads,
        valid_groups: a.valid_groups,
        chunk_loss_weight: a.chunk_loss_weight,
        x_loss_weight: a.x_loss_weight,
        force_y: a.force_y,
        y_boost: a.y_boost,
        read_errors: a.read_errors,
        select,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_reported_in_one_line() {
        let mut p = Problems::default();
        p.check(true, || "never".into());
        p.check(false, || "first".into());
        assert!(p.take(parse_ks("5,x")).is_none());
        let e = p.finish().unwrap_err().to_string();
        assert!(e.starts_with("first; "), "{e}");
        assert!(
            e.contains('x') && !e.contains("never") && !e.contains('\n'),
            "{e}"
        );
        assert!(Problems::default().finish().is_ok());
    }
}
