//! `genosift train`: the paper's fine-tuning procedure (GENA-LM.md §3.3).
//!
//! Each step draws `batch` groups — species uniformly, a genome of that species uniformly, N
//! chromosomes by length, an L-bp substring of each — labels them male 0 / female 1 and takes one
//! AdamW step on the mean BCE (in `grad_accum` micro-batches, run side by side on the thread pool
//! and summed in order: the same model for any thread count). The learning rate rises linearly over
//! `warmup` steps, then stays constant. Every `eval_every` steps the model scores a fixed validation
//! set (groups of the `valid` genomes, every male group holding at least one Y chunk); the best
//! checkpoint so far ([`Selection`]: ROC-AUC, or the false-Y rate at a fixed sensitivity) is saved
//! as a complete model directory, replaced atomically, so an interrupted run leaves the last good
//! model; `patience` evaluations without improvement stop the run.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;

use super::metrics::{false_y_at, roc_auc, FalseY};
use crate::bundle::read_config;
use crate::bundle::settings::Settings;
use crate::cohort::sampler::{
    add_errors, by_species, cumulative, load_genomes, sample_group_boosted, sample_group_forced,
    Genome,
};
use crate::cohort::sheet::{read_sheet, Sex, Split};
use crate::model::config::BertConfig;
use crate::model::device::{run_autodiff, AutodiffTask, DeviceKind};
use crate::model::train::{ChunkLossWeights, MicroBatch, TrainState, ValidScores};
use crate::model::weights::{write_safetensors, RawTensor, WeightFile};
use crate::model::{init, load};
use crate::tokenize::{GenaTokenizer, TokenBatch, GENA_TOKENIZER_JSON};

#[derive(Debug, Clone)]
pub struct TrainOptions {
    pub samples: PathBuf,
    pub out: PathBuf,
    pub chunks: usize,
    pub chunk_len: usize,
    pub lr: f64,
    pub warmup: usize,
    /// After warm-up: constant (the paper's) or a cosine decay.
    pub schedule: Schedule,
    pub batch: usize,
    pub grad_accum: usize,
    pub steps: usize,
    pub eval_every: usize,
    pub patience: usize,
    pub init: Option<PathBuf>,
    pub config: String,
    pub seed: u64,
    pub threads: usize,
    pub device: DeviceKind,
    pub reads: Option<usize>,
    pub valid_groups: usize,
    /// Weight of the per-chunk Y loss (0: the paper's model, group labels only).
    pub chunk_loss_weight: f32,
    /// Weight of the per-chunk X loss (0: no X output).
    pub x_loss_weight: f32,
    /// Redraw male training groups until they hold a Y chunk (the paper forces this for
    /// validation only; off by default).
    pub force_y: bool,
    pub y_boost: f64,
    /// Substitution rate applied to training and validation chunks (sequencing errors).
    pub read_errors: f64,
    /// How a validation's checkpoint is judged.
    pub select: Selection,
}

/// Which checkpoint a run keeps: the best validation so far, judged by one of these.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Selection {
    /// The highest group ROC-AUC (the paper's), plus the chunk-level Y (and X) ROC-AUCs with
    /// those outputs.
    RocAuc,
    /// For the `lr` rule, whose reads to a call rest on the Y detector's false hits: the fewest
    /// hits among `negatives` chunks of the female valid genomes at the logit that keeps
    /// [`SELECT_SENSITIVITY`] of the validation set's Y chunks; on a tie, the highest share of Y
    /// chunks above every negative; then as `RocAuc`.
    FalseY { negatives: usize },
}

/// The share of validation Y chunks kept when [`Selection::FalseY`] counts false hits (about the
/// calibrated detectors' sensitivities: 0.985 and 0.999 in BENCHMARKS.md).
pub const SELECT_SENSITIVITY: f64 = 0.95;

/// What a run did.
#[derive(Debug, Clone)]
pub struct TrainReport {
    pub steps: usize,
    pub best_step: usize,
    pub best_auc: f64,
    /// (step, loss averaged since the previous evaluation, validation ROC-AUC).
    pub history: Vec<(usize, f64, f64)>,
    pub examples_per_second: f64,
}

/// What the learning rate does after warm-up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Schedule {
    /// Stays at the peak (the paper's).
    Constant,
    /// Falls from the peak along half a cosine to `min_lr` at the last step.
    Cosine { min_lr: f64 },
}

/// Learning rate at `step` (1-based) of `steps`: linear warm-up to `lr`, then as `schedule` says.
pub fn learning_rate(lr: f64, warmup: usize, step: usize, steps: usize, schedule: Schedule) -> f64 {
    if warmup > 0 && step < warmup {
        return lr * step as f64 / warmup as f64;
    }
    match schedule {
        Schedule::Constant => lr,
        Schedule::Cosine { min_lr } => {
            let span = steps.saturating_sub(warmup.max(1));
            if span == 0 {
                return lr;
            }
            let t = (step.saturating_sub(warmup.max(1)) as f64 / span as f64).min(1.0);
            min_lr + (lr - min_lr) * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())
        }
    }
}

/// A group ready for the model.
struct Example {
    seqs: Vec<Vec<u8>>,
    label: f32,
    /// Per chunk: 1 if it holds sequence from the Y.
    chunk_y: Vec<f32>,
    /// Per chunk: 1 if it holds sequence from an X.
    chunk_x: Vec<f32>,
}

fn example(chunks: Vec<crate::cohort::sampler::SampledChunk>, genome: &Genome) -> Example {
    Example {
        chunk_y: chunks
            .iter()
            .map(|c| f32::from(u8::from(c.has_y)))
            .collect(),
        chunk_x: chunks
            .iter()
            .map(|c| f32::from(u8::from(c.has_x)))
            .collect(),
        seqs: chunks.into_iter().map(|c| c.seq).collect(),
        label: genome.sex.label(),
    }
}

fn draw_training_group(
    species: &[(String, Vec<&Genome>)],
    cums: &[Vec<Vec<f64>>],
    opts: &TrainOptions,
    rng: &mut StdRng,
) -> Example {
    let s = rng.random_range(0..species.len());
    let g = rng.random_range(0..species[s].1.len());
    let genome = species[s].1[g];
    let cum = &cums[s][g];
    let mut chunks = loop {
        let chunks = sample_group_boosted(
            genome,
            cum,
            opts.chunks,
            opts.chunk_len,
            opts.reads,
            opts.y_boost,
            rng,
        );
        if !opts.force_y || !genome.has_y() || chunks.iter().any(|c| c.has_y) {
            break chunks;
        }
    };
    add_errors(&mut chunks, opts.read_errors, rng);
    example(chunks, genome)
}

/// A step's groups in micro-batches of `micro` (the last may be smaller), tokenized side by side;
/// each micro-batch's dropout seed comes from the run's seed, the step and its index, so it does
/// not depend on the thread that runs it.
fn micro_batches(
    tok: &GenaTokenizer,
    groups: &[Example],
    micro: usize,
    opts: &TrainOptions,
    step: usize,
) -> Vec<MicroBatch> {
    let parts: Vec<&[Example]> = groups.chunks(micro.max(1)).collect();
    parts
        .par_iter()
        .enumerate()
        .map(|(i, ex)| MicroBatch {
            batch: tokenize(tok, ex),
            labels: ex.iter().map(|e| e.label).collect(),
            chunk_labels: ex.iter().flat_map(|e| e.chunk_y.iter().copied()).collect(),
            x_labels: ex.iter().flat_map(|e| e.chunk_x.iter().copied()).collect(),
            scale: ex.len() as f32 / groups.len() as f32,
            dropout_seed: opts
                .seed
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                .wrapping_add(((step as u64) << 16) | i as u64),
        })
        .collect()
}

fn tokenize(tok: &GenaTokenizer, examples: &[Example]) -> TokenBatch {
    tok.batch(
        examples
            .iter()
            .flat_map(|e| e.seqs.iter().map(Vec::as_slice)),
    )
}

/// Everything the backend-generic loop needs.
struct Job<'a> {
    opts: &'a TrainOptions,
    config: BertConfig,
    weights: WeightFile,
    tokenizer: GenaTokenizer,
    tokenizer_json: Vec<u8>,
    train: Vec<(String, Vec<&'a Genome>)>,
    valid: Vec<Example>,
    /// Y-free chunks for [`Selection::FalseY`] (empty otherwise).
    negatives: Vec<Example>,
}

impl AutodiffTask for Job<'_> {
    type Output = Result<TrainReport>;

    fn run<B: burn::tensor::backend::AutodiffBackend>(
        self,
        device: B::Device,
    ) -> Result<TrainReport> {
        let opts = self.opts;
        let mut state = TrainState::<B>::new(&self.weights, &self.config, opts.seed, device)?;
        let cums: Vec<Vec<Vec<f64>>> = self
            .train
            .iter()
            .map(|(_, gs)| gs.iter().map(|g| cumulative(g, &[])).collect())
            .collect();
        let mut rng = StdRng::seed_from_u64(opts.seed);
        let micro = opts.batch.div_ceil(opts.grad_accum);
        let mut report = TrainReport {
            steps: 0,
            best_step: 0,
            best_auc: f64::NEG_INFINITY,
            history: Vec::new(),
            examples_per_second: 0.0,
        };
        let mut tracker = Tracker::default();
        // Seconds in training steps (validation and saving left out): the examples/s figure.
        let mut train_time = 0.0f64;
        let mut examples = 0usize;
        let weights = ChunkLossWeights {
            y: opts.chunk_loss_weight,
            x: opts.x_loss_weight,
        };
        let first_draw = Instant::now();
        // A step's micro-batches, drawn in step order from the one generator.
        let mut draw = |step: usize| {
            let groups: Vec<Example> = (0..opts.batch)
                .map(|_| draw_training_group(&self.train, &cums, opts, &mut rng))
                .collect();
            micro_batches(&self.tokenizer, &groups, micro, opts, step)
        };
        let mut parts = draw(1);
        train_time += first_draw.elapsed().as_secs_f64();
        for step in 1..=opts.steps {
            let lr = learning_rate(opts.lr, opts.warmup, step, opts.steps, opts.schedule);
            let step_start = Instant::now();
            let losses = state.accumulate(&parts, weights, opts.chunks);
            for (loss, mb) in losses.iter().zip(&parts) {
                tracker.loss_sum += *loss as f64 * mb.labels.len() as f64;
                tracker.loss_n += mb.labels.len();
            }
            examples += opts.batch;
            // The optimizer's step runs on one thread: the next step's groups are drawn and
            // tokenized beside it (the same draws, in the same order, as one after the other).
            let (_, next) = rayon::join(
                || state.apply(lr),
                || (step < opts.steps).then(|| draw(step + 1)),
            );
            parts = next.unwrap_or_default();
            train_time += step_start.elapsed().as_secs_f64();
            report.steps = step;
            if step % opts.eval_every == 0 || step == opts.steps {
                let eps = examples as f64 / train_time.max(1e-9);
                if self.checkpoint(&state, step, lr, eps, &mut tracker, &mut report)? {
                    break;
                }
            }
        }
        Ok(report)
    }
}

/// Where a run stands between validations.
struct Tracker {
    /// The best checkpoint's standing ([`Validation::standing`]) and validations since it.
    best: [f64; 3],
    since_best: usize,
    /// The training loss since the last validation: summed over groups, and their number.
    loss_sum: f64,
    loss_n: usize,
}

impl Default for Tracker {
    fn default() -> Self {
        Self {
            best: [f64::NEG_INFINITY; 3],
            since_best: 0,
            loss_sum: 0.0,
            loss_n: 0,
        }
    }
}

impl Job<'_> {
    /// The validation at `step`: logged and recorded in `report`, the model saved when it beats the
    /// best so far. Returns whether the run stops (`patience` validations without improvement).
    fn checkpoint<B: burn::tensor::backend::AutodiffBackend>(
        &self,
        state: &TrainState<B>,
        step: usize,
        lr: f64,
        eps: f64,
        t: &mut Tracker,
        report: &mut TrainReport,
    ) -> Result<bool> {
        let opts = self.opts;
        let v = validate(state, &self.tokenizer, [&self.valid, &self.negatives], opts);
        let loss = t.loss_sum / t.loss_n.max(1) as f64;
        (t.loss_sum, t.loss_n) = (0.0, 0);
        report.history.push((step, loss, v.auc));
        report.examples_per_second = eps;
        let standing = v.standing(opts.select);
        let improved = improves(standing, t.best);
        if improved {
            (t.best, t.since_best) = (standing, 0);
            report.best_auc = v.auc;
            report.best_step = step;
            let tensors = state.export();
            save_model_dir(
                &opts.out,
                &self.config,
                &tensors,
                &self.tokenizer_json,
                opts,
            )?;
        } else {
            t.since_best += 1;
        }
        tracing::info!(
            "step {step}: loss {loss:.4}, lr {lr:.2e}, valid ROC-AUC {:.4}{}, {eps:.1} examples/s; {}",
            v.auc,
            if improved { " (best, saved)" } else { "" },
            v.text
        );
        let stop = opts.patience > 0 && t.since_best >= opts.patience;
        if stop {
            tracing::info!("no improvement in {} evaluations: stopping", opts.patience);
        }
        Ok(stop)
    }
}

/// What one validation measured.
struct Validation {
    /// Group ROC-AUC.
    auc: f64,
    /// The chunk-level Y and X ROC-AUCs, for the outputs the head has.
    chunk_auc: Vec<f64>,
    /// With negatives: the Y detector's false hits at [`SELECT_SENSITIVITY`].
    false_y: Option<FalseY>,
    /// For the log: the above and the share of active head ReLU units.
    text: String,
}

impl Validation {
    /// The checkpoint's standing under `select`: larger is better, compared in order.
    fn standing(&self, select: Selection) -> [f64; 3] {
        let aucs = self.auc + self.chunk_auc.iter().sum::<f64>();
        match (select, self.false_y) {
            (Selection::FalseY { .. }, Some(f)) => [-f.rate(), f.clean_sensitivity, aucs],
            _ => [aucs, 0.0, 0.0],
        }
    }
}

/// Whether a validation's standing beats the best so far: compared in order, a tie keeps the
/// earlier checkpoint.
fn improves(standing: [f64; 3], best: [f64; 3]) -> bool {
    standing > best
}

/// Validation on the fixed set (`sets[0]`) and, for [`Selection::FalseY`], the Y-free chunks
/// (`sets[1]`); micro-batches are scored side by side.
fn validate<B: burn::tensor::backend::AutodiffBackend>(
    state: &TrainState<B>,
    tok: &GenaTokenizer,
    [examples, negatives]: [&[Example]; 2],
    opts: &TrainOptions,
) -> Validation {
    let validator = state.validator();
    let micro = opts.batch.div_ceil(opts.grad_accum).max(1);
    let score = |set: &[Example]| -> Vec<ValidScores> {
        set.par_chunks(micro)
            .map(|ex| validator.score(&tokenize(tok, ex), opts.chunks))
            .collect()
    };
    let parts = score(examples);
    let probs: Vec<f32> = parts
        .iter()
        .flat_map(|p| p.p_female.iter().copied())
        .collect();
    let group_labels: Vec<bool> = examples.iter().map(|e| e.label > 0.5).collect();
    let auc = roc_auc(&probs, &group_labels).unwrap_or(0.5);
    // Per chunk: the logits of one output, flattened, and their labels.
    let chunk_scores = |scores: &dyn Fn(&ValidScores) -> Option<&Vec<f32>>,
                        label: fn(&Example) -> &[f32]| {
        let logits: Vec<f32> = parts.iter().filter_map(scores).flatten().copied().collect();
        let labels: Vec<bool> = examples
            .iter()
            .flat_map(|e| label(e).iter().map(|&y| y > 0.5))
            .collect();
        (logits.len() == labels.len()).then_some((logits, labels))
    };
    let y = chunk_scores(&|p| p.chunk_logits.as_ref(), |e| &e.chunk_y);
    let x = chunk_scores(&|p| p.x_logits.as_ref(), |e| &e.chunk_x);
    let y_auc = y.as_ref().and_then(|(s, l)| roc_auc(s, l));
    let x_auc = x.as_ref().and_then(|(s, l)| roc_auc(s, l));
    let false_y = y.filter(|_| !negatives.is_empty()).and_then(|(s, l)| {
        let pos: Vec<f32> = s
            .iter()
            .zip(&l)
            .filter(|(_, &l)| l)
            .map(|(&s, _)| s)
            .collect();
        let neg: Vec<f32> = score(negatives)
            .iter()
            .filter_map(|p| p.chunk_logits.as_ref())
            .flatten()
            .copied()
            .collect();
        false_y_at(&pos, &neg, SELECT_SENSITIVITY)
    });
    let active = parts.iter().map(|p| p.active).sum::<f32>() / parts.len().max(1) as f32;
    let fmt = |a: Option<f64>| a.map_or("NA".to_string(), |a| format!("{a:.4}"));
    let mut text = format!(
        "chunk Y ROC-AUC {}, chunk X ROC-AUC {}, active head units {:.1}%",
        fmt(y_auc),
        fmt(x_auc),
        100.0 * active
    );
    if let Some(f) = false_y {
        text += &format!(
            ", false-Y {}/{} at sensitivity {SELECT_SENSITIVITY} (logit {:.2}), sensitivity with none {:.3}",
            f.hits, f.negatives, f.threshold, f.clean_sensitivity
        );
    }
    Validation {
        auc,
        chunk_auc: y_auc.into_iter().chain(x_auc).collect(),
        false_y,
        text,
    }
}

/// Writes a complete model directory atomically: built beside `out`, then swapped in.
pub fn save_model_dir(
    out: &Path,
    config: &BertConfig,
    tensors: &std::collections::BTreeMap<String, RawTensor>,
    tokenizer_json: &[u8],
    opts: &TrainOptions,
) -> Result<()> {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent)?;
    let tmp = tempfile::Builder::new()
        .prefix(".genosift-model-")
        .tempdir_in(&parent)
        .with_context(|| format!("cannot create a directory in {}", parent.display()))?;
    let mut cfg = config.clone();
    cfg.n_chunks = Some(opts.chunks);
    cfg.chunk_len = Some(opts.chunk_len);
    std::fs::write(
        tmp.path().join("config.json"),
        serde_json::to_string_pretty(&cfg)? + "\n",
    )?;
    write_safetensors(&tmp.path().join("model.safetensors"), tensors)?;
    std::fs::write(tmp.path().join("tokenizer.json"), tokenizer_json)?;
    // Keep the calibration of an earlier model only if it is this run's (it is not): start clean.
    let settings = Settings {
        chunks: opts.chunks,
        chunk_len: opts.chunk_len,
        read_len: opts.reads,
        ..Settings::default()
    };
    settings.save(tmp.path())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))?;
        for f in ["config.json", "tokenizer.json"] {
            std::fs::set_permissions(tmp.path().join(f), std::fs::Permissions::from_mode(0o644))?;
        }
    }
    Ok(crate::atomic::replace_dir(&tmp.keep(), out)?)
}

/// Runs training end to end.
/// Trains on the cohort of `opts.samples` (flags validated by `crate::config::train`).
pub fn train(opts: &TrainOptions) -> Result<TrainReport> {
    let rows = read_sheet(&opts.samples, true)?;
    let rows: Vec<_> = rows
        .into_iter()
        .filter(|r| matches!(r.split, Split::Train | Split::Valid))
        .collect();
    let genomes = load_genomes(&rows)?;
    let train = by_species(&genomes, Split::Train);
    let valid = by_species(&genomes, Split::Valid);
    need_both_sexes(opts, &train, &valid)?;
    let (config, weights, tokenizer, tokenizer_json) = initial_model(opts)?;
    let vset = validation_set(&valid, opts);
    let negatives = negative_set(&valid, opts);
    tracing::info!(
        "training on {} genomes ({} species), validating on {} groups of {} × {} bp; config {}",
        train.iter().map(|(_, g)| g.len()).sum::<usize>(),
        train.len(),
        vset.len(),
        opts.chunks,
        opts.chunk_len,
        if opts.init.is_some() {
            "from --init"
        } else {
            &opts.config
        }
    );
    let pool = crate::score::thread_pool(opts.threads)?;
    let job = Job {
        opts,
        config,
        weights,
        tokenizer,
        tokenizer_json,
        train,
        valid: vset,
        negatives,
    };
    pool.install(|| run_autodiff(opts.device, job))?
}

/// Genomes of one split, by species.
type BySpecies<'a> = Vec<(String, Vec<&'a Genome>)>;

/// Each split needs genomes of both sexes.
fn need_both_sexes(opts: &TrainOptions, train: &BySpecies, valid: &BySpecies) -> Result<()> {
    for (name, set) in [("train", &train), ("valid", &valid)] {
        let sexes: std::collections::BTreeSet<Sex> = set
            .iter()
            .flat_map(|(_, gs)| gs.iter().map(|g| g.sex))
            .collect();
        if sexes.len() < 2 {
            bail!(
                "{}: the {name} split needs both sexes",
                opts.samples.display()
            );
        }
    }

    Ok(())
}

/// The model to start from: `--init`'s, or a fresh backbone with the GENA-LM tokenizer; a head
/// (and chunk classifier) added where it has none.
fn initial_model(opts: &TrainOptions) -> Result<(BertConfig, WeightFile, GenaTokenizer, Vec<u8>)> {
    // Backbone and tokenizer: pretrained, or fresh with the GENA-LM tokenizer.
    let (config, mut tensors, tokenizer_json) = match &opts.init {
        Some(dir) => {
            let config = read_config(dir)?;
            let w = WeightFile::open_dir(dir)?;
            let tok_path = dir.join("tokenizer.json");
            let bytes = std::fs::read(&tok_path)
                .with_context(|| format!("cannot read {}", tok_path.display()))?;
            (config, load::rekey_for_saving(w), bytes)
        }
        None => {
            let config = BertConfig::preset(&opts.config, 32_000)
                .with_context(|| format!("--config {}: expected tiny or small", opts.config))?;
            let t = init::backbone(&config, opts.seed);
            (config, t, GENA_TOKENIZER_JSON.to_vec())
        }
    };
    if !tensors.contains_key("query_vectors") {
        tensors.extend(init::head(&config, opts.seed, opts.chunk_loss_weight > 0.0));
    } else if opts.chunk_loss_weight > 0.0 && !tensors.contains_key("chunk_classifier.weight") {
        let fresh = init::head(&config, opts.seed, true);
        for k in ["chunk_classifier.weight", "chunk_classifier.bias"] {
            tensors.insert(k.to_string(), fresh[k].clone());
        }
    }
    if opts.x_loss_weight > 0.0 && !tensors.contains_key("x_classifier.weight") {
        tensors.extend(init::x_head(&config, opts.seed));
    }
    let tokenizer = GenaTokenizer::from_bytes(
        &tokenizer_json,
        Path::new("tokenizer.json"),
        config.max_position_embeddings,
        config.pad_token_id,
    )?;
    let weights = WeightFile {
        path: PathBuf::from("initial weights"),
        tensors,
    };
    Ok((config, weights, tokenizer, tokenizer_json))
}

/// `per` groups of each of `genomes`, males forced to hold a Y chunk when `force_y`, with the run's
/// sequencing errors: the fixed sets that validation scores.
fn fixed_groups(
    genomes: &[&Genome],
    per: usize,
    force_y: bool,
    opts: &TrainOptions,
    rng: &mut StdRng,
) -> Vec<Example> {
    let mut set = Vec::with_capacity(per * genomes.len());
    for g in genomes {
        let cum = cumulative(g, &[]);
        for _ in 0..per {
            let mut chunks = sample_group_forced(
                g,
                &cum,
                opts.chunks,
                opts.chunk_len,
                opts.reads,
                force_y,
                rng,
            );
            add_errors(&mut chunks, opts.read_errors, rng);
            set.push(example(chunks, g));
        }
    }
    set
}

/// The fixed validation set: `valid_groups` spread over the valid genomes, males forced to a Y.
fn validation_set(valid: &BySpecies, opts: &TrainOptions) -> Vec<Example> {
    let genomes: Vec<&Genome> = valid
        .iter()
        .flat_map(|(_, gs)| gs.iter().copied())
        .collect();
    let per = opts.valid_groups.div_ceil(genomes.len()).max(1);
    let mut rng = StdRng::seed_from_u64(opts.seed.wrapping_add(1));
    fixed_groups(&genomes, per, true, opts, &mut rng)
}

/// For [`Selection::FalseY`]: its `negatives` chunks (rounded up to whole groups) from the
/// female valid genomes, sampled as the validation set is; empty for other selections.
fn negative_set(valid: &BySpecies, opts: &TrainOptions) -> Vec<Example> {
    let Selection::FalseY { negatives } = opts.select else {
        return Vec::new();
    };
    let females: Vec<&Genome> = valid
        .iter()
        .flat_map(|(_, gs)| gs.iter().copied())
        .filter(|g| g.sex == Sex::Female)
        .collect();
    let groups = negatives.div_ceil(opts.chunks.max(1));
    let per = groups.div_ceil(females.len().max(1));
    let mut rng = StdRng::seed_from_u64(opts.seed.wrapping_add(2));
    fixed_groups(&females, per, false, opts, &mut rng)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_rank_by_the_selection() {
        let v = |auc: f64, hits: usize, clean: f64| Validation {
            auc,
            chunk_auc: vec![auc],
            false_y: Some(FalseY {
                threshold: 0.0,
                hits,
                negatives: 100,
                clean_sensitivity: clean,
            }),
            text: String::new(),
        };
        let by_false_y = Selection::FalseY { negatives: 100 };
        let (fewer_hits, higher_auc) = (v(0.90, 2, 0.1), v(0.99, 3, 0.9));
        assert!(fewer_hits.standing(by_false_y) > higher_auc.standing(by_false_y));
        assert!(fewer_hits.standing(Selection::RocAuc) < higher_auc.standing(Selection::RocAuc));
        // Equal hits: the higher sensitivity with no false hit, then the ROC-AUCs.
        assert!(v(0.9, 0, 0.8).standing(by_false_y) > v(0.99, 0, 0.7).standing(by_false_y));
        assert!(v(0.99, 0, 0.8).standing(by_false_y) > v(0.9, 0, 0.8).standing(by_false_y));
        // An equal standing is no improvement: the earlier checkpoint stays.
        let a = v(0.9, 0, 0.8).standing(by_false_y);
        assert!(!improves(a, v(0.9, 0, 0.8).standing(by_false_y)));
        assert!(improves(a, v(0.9, 0, 0.7).standing(by_false_y)));
        assert!(
            improves(a, [f64::NEG_INFINITY; 3]),
            "the first validation is kept"
        );
    }

    #[test]
    fn warmup_is_linear_then_constant() {
        let c = Schedule::Constant;
        assert_eq!(learning_rate(1e-5, 1000, 500, 10_000, c), 5e-6);
        assert_eq!(learning_rate(1e-5, 1000, 1000, 10_000, c), 1e-5);
        assert_eq!(learning_rate(1e-5, 1000, 5000, 10_000, c), 1e-5);
        assert_eq!(learning_rate(1e-5, 0, 1, 10_000, c), 1e-5);
    }

    #[test]
    fn cosine_falls_from_the_peak_to_the_floor() {
        let c = Schedule::Cosine { min_lr: 1e-5 };
        let lr = |step| learning_rate(1e-4, 100, step, 1100, c);
        assert_eq!(lr(50), 5e-5, "warm-up as before");
        assert_eq!(lr(100), 1e-4);
        // Half-way through the decay: the mean of peak and floor.
        assert!((lr(600) - 5.5e-5).abs() < 1e-12, "{}", lr(600));
        assert!((lr(1100) - 1e-5).abs() < 1e-12, "{}", lr(1100));
        let steps: Vec<f64> = (100..=1100).map(lr).collect();
        assert!(steps.windows(2).all(|w| w[1] <= w[0]), "never rises");
        // A run shorter than its warm-up, or without one, stays finite and at most the peak.
        assert_eq!(learning_rate(1e-4, 0, 1, 1, c), 1e-4);
        assert!(learning_rate(1e-4, 0, 5, 10, c) <= 1e-4);
    }
}
