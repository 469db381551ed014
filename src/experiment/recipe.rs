//! `genosift train --recipe`: a staged training recipe run in one command, then calibrated.
//!
//! Every setting of a recipe is named here, in one table ([`stages`], [`calibration`]); docs/training.md
//! explains them. Amounts of data are counted in groups seen (steps × [`BATCH`]), so warm-up,
//! validation interval and length mean the same data whatever the batch; the validation set grows
//! with the cohort ([`Stage::valid_per_genome`] groups for each valid genome).
//!
//! Stages are written to `OUT.stages/NAME/`; a stage is done when `OUT.stages/NAME.done.json`
//! holds its key: its command after those of every stage before it and a digest of the sample
//! sheet (not of the FASTAs the sheet names, nor of an `--init` model's files). So a changed sheet,
//! seed or recipe runs the stages it changes; once a stage runs, every later step runs too. A run
//! that stops inside a stage starts that stage over on the next call. The last stage's model is
//! copied to `OUT.stages/final/`, calibrated there on the valid genomes and moved to `OUT` in one
//! rename: `OUT` is complete or absent.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::evaluate::{calibrate, PoolOptions};
use super::train::{train, Schedule, Selection, TrainOptions};
use crate::atomic::{replace_dir, write_atomic};
use crate::bundle::ModelBundle;
use crate::cohort::sheet::{read_sheet, Split};
use crate::model::DeviceKind;

/// Groups per optimizer step.
pub const BATCH: usize = 16;
/// Micro-batches per step: run side by side on up to 4 threads, summed in a fixed order.
pub const MICRO_BATCHES: usize = 4;
/// Chunks are packed with whole reads of this length (both strands), as `predict` packs a stream.
pub const READ_LEN: usize = 150;
/// Weight of the per-chunk Y loss beside the group loss.
pub const CHUNK_LOSS_WEIGHT: f32 = 1.0;
/// In male training groups each chunk holds a Y piece with this probability.
pub const Y_BOOST: f64 = 0.5;

/// Which recipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipe {
    /// Groups stage, reads stage, anneal: the model for read streams and the `lr` rule.
    Reads,
    /// The groups stage alone: the model for the paper's rule on groups of chunks.
    Groups,
}

/// One training stage.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    pub name: &'static str,
    /// Chunks per group (N) and their length in bp (L).
    pub chunks: usize,
    pub chunk_len: usize,
    /// Substitutions per base applied to the sampled reads.
    pub read_errors: f64,
    /// Peak learning rate (AdamW), reached after `warmup_groups`, then constant.
    pub lr: f64,
    pub warmup_groups: usize,
    /// The most groups the stage sees.
    pub max_groups: usize,
    /// Groups between validations; the best validation score is kept.
    pub eval_every_groups: usize,
    /// Validations without improvement before the stage stops (0: it runs to `max_groups`).
    pub patience: usize,
    /// Validation groups per valid genome.
    pub valid_per_genome: usize,
    /// Y-free chunks of the female valid genomes scored at each validation, per valid genome:
    /// the checkpoint kept is the one with the fewest false Y hits ([`Selection::FalseY`]);
    /// 0: the best group + chunk ROC-AUCs.
    pub negatives_per_genome: usize,
    /// Added to `--seed` for this stage's sampling.
    pub seed_offset: u64,
}

/// Stage 1: groups of 16 chunks × 512 bp, three whole reads each, from scratch (or `--init`).
const GROUPS_STAGE: Stage = Stage {
    name: "1-groups",
    chunks: 16,
    chunk_len: 512,
    read_errors: 0.0,
    lr: 5e-4,
    warmup_groups: 1_600,
    max_groups: 16_000,
    eval_every_groups: 1_600,
    patience: 6,
    valid_per_genome: 8,
    negatives_per_genome: 0,
    seed_offset: 0,
};

/// Stage 2: one 150-bp read per 160-bp chunk (no room for a second), with sequencing errors.
/// 320,000 groups (20,000 steps) at 4e-4: on real chrY the detector still improves at 160,000
/// groups, and learns faster at 4e-4 than at 2e-4 (BENCHMARKS.md, the euchromatic real cohort:
/// calibrated false-Y rate 0.35% → 0.050% at twice the steps, then sensitivity 0.65 → 0.76 at
/// twice the rate); 20 validations.
const READS_STAGE: Stage = Stage {
    name: "2-reads",
    chunks: 16,
    chunk_len: 160,
    read_errors: 0.005,
    lr: 4e-4,
    warmup_groups: 1_600,
    max_groups: 320_000,
    eval_every_groups: 16_000,
    patience: 0,
    valid_per_genome: 16,
    negatives_per_genome: 4_096,
    seed_offset: 4,
};

/// Stage 3: a short anneal of stage 2 at an eighth of its learning rate (fresh AdamW).
const ANNEAL_STAGE: Stage = Stage {
    name: "3-anneal",
    lr: 5e-5,
    max_groups: 8_000,
    eval_every_groups: 8_000,
    seed_offset: 5,
    ..READS_STAGE
};

/// The stages of `recipe`, in order.
pub fn stages(recipe: Recipe) -> Vec<Stage> {
    match recipe {
        Recipe::Reads => vec![GROUPS_STAGE, READS_STAGE, ANNEAL_STAGE],
        Recipe::Groups => vec![GROUPS_STAGE],
    }
}

/// The calibration that ends a recipe, on the valid genomes.
#[derive(Debug, Clone, PartialEq)]
pub struct CalibrationPlan {
    pub ks: Vec<u64>,
    /// Groups scored per valid genome (the Y detector's chunks: `pool` × 16).
    pub pool: usize,
    pub read_errors: f64,
    /// Score each chunk on both strands (recorded in genosift.json; predict does the same).
    pub both_strands: bool,
    pub repeats: usize,
    pub seed: u64,
}

/// The calibration of `recipe`: the reads model's Y detector rests on 256,000 reads per valid
/// genome; the groups model needs groups for the thresholds up to K = 200.
pub fn calibration(recipe: Recipe) -> CalibrationPlan {
    let (pool, read_errors, both_strands) = match recipe {
        Recipe::Reads => (16_000, 0.005, true),
        Recipe::Groups => (1_000, 0.0, false),
    };
    CalibrationPlan {
        ks: vec![1, 2, 5, 10, 25, 50, 100, 200],
        pool,
        read_errors,
        both_strands,
        repeats: 200,
        seed: 143,
    }
}

/// What `train --recipe` was asked.
#[derive(Debug, Clone)]
pub struct RecipeOptions {
    pub recipe: Recipe,
    pub samples: PathBuf,
    pub out: PathBuf,
    /// Backbone preset for a model from scratch (without `init`).
    pub config: String,
    /// A pretrained model directory the first stage starts from.
    pub init: Option<PathBuf>,
    pub seed: u64,
    pub threads: usize,
    pub device: DeviceKind,
    pub dry_run: bool,
    /// Every amount of data (groups seen, validation groups, calibration pool) × this; 1 is the
    /// recipe as documented, less gives a quick check of the whole run.
    pub scale: f64,
    /// Weight of the X loss in every stage (`--x-loss-weight`); 0: no X output.
    pub x_loss_weight: f32,
}

/// Where the stages of a run to `out` are kept: `OUT.stages` beside it.
pub fn stages_dir(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(".stages");
    out.with_file_name(name)
}

/// `n` × `scale`, at least 1.
fn scaled(n: usize, scale: f64) -> usize {
    ((n as f64 * scale).round() as usize).max(1)
}

/// The `train` options of `stage`, starting from `init`.
fn stage_options(
    stage: &Stage,
    opts: &RecipeOptions,
    init: Option<PathBuf>,
    valid_genomes: usize,
) -> TrainOptions {
    let steps = |groups: usize| scaled(groups, opts.scale).div_ceil(BATCH);
    TrainOptions {
        samples: opts.samples.clone(),
        out: stages_dir(&opts.out).join(stage.name),
        chunks: stage.chunks,
        chunk_len: stage.chunk_len,
        lr: stage.lr,
        warmup: steps(stage.warmup_groups),
        schedule: Schedule::Constant,
        batch: BATCH,
        grad_accum: MICRO_BATCHES,
        steps: steps(stage.max_groups),
        eval_every: steps(stage.eval_every_groups),
        patience: stage.patience,
        init,
        config: opts.config.clone(),
        seed: opts.seed.wrapping_add(stage.seed_offset),
        threads: opts.threads,
        device: opts.device,
        reads: Some(READ_LEN),
        valid_groups: scaled(stage.valid_per_genome, opts.scale) * valid_genomes,
        chunk_loss_weight: CHUNK_LOSS_WEIGHT,
        x_loss_weight: opts.x_loss_weight,
        force_y: false,
        y_boost: Y_BOOST,
        read_errors: stage.read_errors,
        select: match stage.negatives_per_genome {
            0 => Selection::RocAuc,
            n => Selection::FalseY {
                negatives: scaled(n, opts.scale) * valid_genomes,
            },
        },
    }
}

/// `path` as one shell word.
fn quoted(path: &Path) -> String {
    let text = path.display().to_string();
    let plain = |c: char| c.is_ascii_alphanumeric() || "_./,=+-:@".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        text
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// `o` as the `genosift train` command that runs it (threads and device left out: the result does
/// not depend on them).
pub fn train_command(o: &TrainOptions) -> String {
    let start = match &o.init {
        Some(dir) => format!("--init {}", quoted(dir)),
        None => format!("--config {}", o.config),
    };
    let reads = o.reads.map_or(String::new(), |r| format!(" --reads {r}"));
    let x = if o.x_loss_weight > 0.0 {
        format!(" --x-loss-weight {}", o.x_loss_weight)
    } else {
        String::new()
    };
    let select = match o.select {
        Selection::RocAuc => String::new(),
        Selection::FalseY { negatives } => {
            format!(" --select false-y --valid-negatives {negatives}")
        }
    };
    format!(
        "genosift train --samples {} --out {} {start} --chunks {} --chunk-len {}{reads} \
         --read-errors {} --chunk-loss-weight {}{x} --y-boost {} --lr {:e} --warmup {} --batch {} \
         --grad-accum {} --steps {} --eval-every {} --patience {} --valid-groups {}{select} --seed {}",
        quoted(&o.samples),
        quoted(&o.out),
        o.chunks,
        o.chunk_len,
        o.read_errors,
        o.chunk_loss_weight,
        o.y_boost,
        o.lr,
        o.warmup,
        o.batch,
        o.grad_accum,
        o.steps,
        o.eval_every,
        o.patience,
        o.valid_groups,
        o.seed
    )
}

/// `plan` as the `genosift calibrate` command that runs it on `model`.
fn calibrate_command(plan: &CalibrationPlan, model: &Path, samples: &Path) -> String {
    let ks: Vec<String> = plan.ks.iter().map(u64::to_string).collect();
    format!(
        "genosift calibrate -m {} --samples {} --k {} --pool {} --read-errors {} --repeats {} \
         --seed {}{}",
        quoted(model),
        quoted(samples),
        ks.join(","),
        plan.pool,
        plan.read_errors,
        plan.repeats,
        plan.seed,
        if plan.both_strands {
            " --both-strands"
        } else {
            ""
        }
    )
}

/// FNV-1a of the sheet's bytes: a stable digest (the same in every build), so that a changed sheet
/// runs the recipe again.
fn digest(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A finished step: its key and what training reported (zeros for the calibration).
#[derive(Debug, Default, Serialize, Deserialize)]
struct StepDone {
    /// The step's command after the keys of every step before it and the sheet's digest.
    key: String,
    steps: usize,
    best_step: usize,
    best_auc: f64,
    examples_per_second: f64,
}

/// Everything a run does, worked out before it starts.
struct Plan {
    /// Each stage's name, options and key.
    stages: Vec<(&'static str, TrainOptions, String)>,
    calibration: CalibrationPlan,
    /// Where the last stage's model is calibrated before it becomes `OUT`.
    final_dir: PathBuf,
    calibration_key: String,
}

fn plan(opts: &RecipeOptions) -> Result<Plan> {
    let sheet = std::fs::read(&opts.samples)
        .with_context(|| format!("cannot read {}", opts.samples.display()))?;
    let rows = read_sheet(&opts.samples, true)?;
    let valid_genomes = rows.iter().filter(|r| r.split == Split::Valid).count();
    if valid_genomes == 0 {
        bail!("{}: no genome in the valid split", opts.samples.display());
    }
    let mut key = format!("sheet {:016x}", digest(&sheet));
    let mut init = opts.init.clone();
    let mut planned = Vec::new();
    for stage in stages(opts.recipe) {
        let o = stage_options(&stage, opts, init.clone(), valid_genomes);
        key = format!("{key}\n{}", train_command(&o));
        init = Some(o.out.clone());
        planned.push((stage.name, o, key.clone()));
    }
    let mut calibration = calibration(opts.recipe);
    calibration.pool = scaled(calibration.pool, opts.scale);
    let final_dir = stages_dir(&opts.out).join("final");
    // The precision asked for changes the calibration (not the training, which is f32).
    let precision = std::env::var(crate::model::PRECISION_ENV).unwrap_or_default();
    let calibration_key = format!(
        "{key}\n{}\nprecision {precision}",
        calibrate_command(&calibration, &final_dir, &opts.samples)
    );
    Ok(Plan {
        stages: planned,
        calibration,
        final_dir,
        calibration_key,
    })
}

fn done_marker(opts: &RecipeOptions, name: &str) -> PathBuf {
    stages_dir(&opts.out).join(format!("{name}.done.json"))
}

/// Whether the step `name` finished with `key` (the model directory it made still there).
fn is_done(opts: &RecipeOptions, name: &str, key: &str, dir: &Path) -> bool {
    let Ok(bytes) = std::fs::read(done_marker(opts, name)) else {
        return false;
    };
    let done: Option<StepDone> = serde_json::from_slice(&bytes).ok();
    done.is_some_and(|d| d.key == key) && dir.join("model.safetensors").is_file()
}

/// Forgets that step `name` finished (before it runs, or when a step before it ran again).
fn forget(opts: &RecipeOptions, name: &str) -> Result<()> {
    match std::fs::remove_file(done_marker(opts, name)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}

/// What `--dry-run` prints: each stage's command, then the calibration's, as shell lines.
fn print_plan(opts: &RecipeOptions, plan: &Plan) {
    for (_, o, _) in &plan.stages {
        println!("{}", train_command(o));
    }
    let last = &plan.stages.last().expect("a recipe has stages").1.out;
    println!("cp -r {} {}", quoted(last), quoted(&plan.final_dir));
    println!(
        "{}",
        calibrate_command(&plan.calibration, &plan.final_dir, &opts.samples)
    );
    println!("mv {} {}", quoted(&plan.final_dir), quoted(&opts.out));
}

/// Runs the recipe: every stage not yet done (and every one after a stage that runs), then the
/// calibration, then `OUT` in one rename.
pub fn run(opts: &RecipeOptions) -> Result<()> {
    let plan = plan(opts)?;
    if opts.dry_run {
        print_plan(opts, &plan);
        return Ok(());
    }
    std::fs::create_dir_all(stages_dir(&opts.out))
        .with_context(|| format!("cannot create {}", stages_dir(&opts.out).display()))?;
    let n = plan.stages.len();
    let mut ran = false;
    for (i, (name, o, key)) in plan.stages.iter().enumerate() {
        if !ran && is_done(opts, name, key, &o.out) {
            tracing::info!(
                "stage {}/{n} {name}: done before, kept ({})",
                i + 1,
                o.out.display()
            );
            continue;
        }
        if !ran {
            // From here on every step runs: forget what later steps did before.
            for (later, _, _) in &plan.stages[i..] {
                forget(opts, later)?;
            }
            forget(opts, "calibrate")?;
            ran = true;
        }
        tracing::info!("stage {}/{n} {name}: {}", i + 1, train_command(o));
        let r = train(o)?;
        if r.best_step == 0 {
            bail!("stage {name}: no evaluation ran: nothing was saved");
        }
        let done = StepDone {
            key: key.clone(),
            steps: r.steps,
            best_step: r.best_step,
            best_auc: r.best_auc,
            examples_per_second: r.examples_per_second,
        };
        write_atomic(&done_marker(opts, name), &serde_json::to_vec_pretty(&done)?)?;
    }
    if is_done(opts, "calibrate", &plan.calibration_key, &opts.out) {
        tracing::info!(
            "calibration: done before; the model is in {}",
            opts.out.display()
        );
        return Ok(());
    }
    finish(opts, &plan)?;
    let done = StepDone {
        key: plan.calibration_key.clone(),
        ..StepDone::default()
    };
    write_atomic(
        &done_marker(opts, "calibrate"),
        &serde_json::to_vec_pretty(&done)?,
    )?;
    tracing::info!("recipe done: model in {}", opts.out.display());
    Ok(())
}

/// Copies the last stage's model to the final directory, calibrates it there and moves it to
/// `OUT`.
fn finish(opts: &RecipeOptions, plan: &Plan) -> Result<()> {
    let (last, final_dir, cal) = (
        &plan.stages.last().expect("a recipe has stages").1.out,
        &plan.final_dir,
        &plan.calibration,
    );
    tracing::info!(
        "calibration: {}",
        calibrate_command(cal, final_dir, &opts.samples)
    );
    let _ = std::fs::remove_dir_all(final_dir);
    std::fs::create_dir_all(final_dir)?;
    for f in [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "genosift.json",
    ] {
        let (from, to) = (last.join(f), final_dir.join(f));
        std::fs::copy(&from, &to)
            .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
    }
    let mut bundle = ModelBundle::open(final_dir, opts.device)?;
    bundle.set_both_strands(cal.both_strands);
    let pool = PoolOptions {
        ks: cal.ks.clone(),
        repeats: cal.repeats,
        pool: cal.pool,
        seed: cal.seed,
        threads: opts.threads,
        reweight: Vec::new(),
        min_confidence: 0.99,
        read_errors: cal.read_errors,
    };
    calibrate(final_dir, &mut bundle, &opts.samples, "median", &pool)?;
    Ok(replace_dir(final_dir, &opts.out)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(recipe: Recipe, scale: f64) -> RecipeOptions {
        RecipeOptions {
            recipe,
            samples: PathBuf::from("sim/samples.tsv"),
            out: PathBuf::from("runs/model"),
            config: "tiny".into(),
            init: None,
            seed: 142,
            threads: 2,
            device: DeviceKind::Cpu,
            dry_run: false,
            scale,
            x_loss_weight: 0.0,
        }
    }

    #[test]
    fn the_reads_recipe_is_the_documented_one() {
        let opts = options(Recipe::Reads, 1.0);
        let o: Vec<TrainOptions> = stages(Recipe::Reads)
            .iter()
            .map(|s| stage_options(s, &opts, None, 12))
            .collect();
        let steps: Vec<_> = o
            .iter()
            .map(|o| (o.warmup, o.steps, o.eval_every))
            .collect();
        assert_eq!(
            steps,
            [(100, 1000, 100), (100, 20_000, 1000), (100, 500, 500)]
        );
        let lrs: Vec<f64> = o.iter().map(|o| o.lr).collect();
        assert_eq!(lrs, [5e-4, 4e-4, 5e-5]);
        let seeds: Vec<u64> = o.iter().map(|o| o.seed).collect();
        assert_eq!(seeds, [142, 146, 147]);
        let valid: Vec<usize> = o.iter().map(|o| o.valid_groups).collect();
        assert_eq!(valid, [96, 192, 192], "8 and 16 groups per valid genome");
        let select: Vec<Selection> = o.iter().map(|o| o.select).collect();
        let by_false_y = Selection::FalseY { negatives: 49_152 };
        assert_eq!(
            select,
            [Selection::RocAuc, by_false_y, by_false_y],
            "4,096 Y-free chunks per valid genome in the reads stages"
        );
        assert!(train_command(&o[1]).contains(" --select false-y --valid-negatives 49152 "));
        assert_eq!(o[0].out, PathBuf::from("runs/model.stages/1-groups"));
        assert_eq!(stages(Recipe::Groups), vec![GROUPS_STAGE]);
        // Scaled: every amount shrinks, none to nothing.
        let small = stage_options(&READS_STAGE, &options(Recipe::Reads, 0.001), None, 12);
        assert_eq!((small.warmup, small.steps, small.valid_groups), (1, 20, 12));
        assert!(o.iter().all(|o| o.x_loss_weight == 0.0));
    }

    #[test]
    fn an_x_loss_weight_goes_to_every_stage_and_its_command() {
        let opts = RecipeOptions {
            x_loss_weight: 0.5,
            ..options(Recipe::Reads, 1.0)
        };
        for stage in stages(Recipe::Reads) {
            let o = stage_options(&stage, &opts, None, 12);
            assert_eq!(o.x_loss_weight, 0.5);
            assert!(train_command(&o).contains(" --x-loss-weight 0.5 "));
        }
    }

    #[test]
    fn commands_quote_what_the_shell_would_split() {
        assert_eq!(
            quoted(Path::new("runs/m-1.stages/final")),
            "runs/m-1.stages/final"
        );
        assert_eq!(quoted(Path::new("my runs/it's")), r"'my runs/it'\''s'");
        let opts = options(Recipe::Reads, 1.0);
        let o = stage_options(&ANNEAL_STAGE, &opts, Some(PathBuf::from("a b")), 12);
        let c = train_command(&o);
        assert!(
            c.contains("--init 'a b' ") && c.ends_with("--seed 147"),
            "{c}"
        );
    }

    #[test]
    fn stages_dir_sits_beside_out() {
        assert_eq!(stages_dir(Path::new("m")), PathBuf::from("m.stages"));
        assert_eq!(
            stages_dir(Path::new("runs/m/")),
            PathBuf::from("runs/m.stages")
        );
    }

    #[test]
    fn the_sheet_digest_is_fnv1a() {
        // Published FNV-1a 64 test vectors: stable across builds, unlike std's hasher.
        assert_eq!(digest(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(digest(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
