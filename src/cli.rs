//! Command-line flags (clap derive) and nothing else: every closed choice is a [`ValueEnum`], a
//! count that cannot be zero is a `NonZero`, and the flags every model command shares are one
//! [`Common`]. `crate::config` turns these into each command's validated settings.

use std::num::{NonZeroU64, NonZeroUsize};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::cohort::sheet::Sex;

#[derive(Debug, Parser)]
#[command(
    name = "genosift",
    version,
    about = "Call an organism's genetic sex from unaligned reads with a DNA language model",
    long_about = "Call an organism's genetic sex from unaligned reads or genome fragments with \
GENA-LM and a cross-attention head over chunk embeddings. No reference, no alignment: reads \
stream in (FASTA/FASTQ, plain or gzip; SAM/BAM/CRAM, their alignments ignored), are cut into L-bp chunks, grouped N at a time, and each \
group gets P(female); the sample's call compares the fraction of female groups with a calibrated \
threshold. Results are TSV on stdout; logs go to stderr."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Predict a sample's sex from reads or genome fragments.
    Predict(PredictArgs),
    /// Write the backbone's [CLS] embedding of each record.
    Embed(EmbedArgs),
    /// Write a synthetic mammal-like cohort: genomes, sample sheet, test reads.
    Simulate(SimulateArgs),
    /// Fine-tune (or train from scratch) a classifier with the paper's procedure.
    Train(TrainArgs),
    /// Calibrate per-species thresholds on the valid genomes (stored in genosift.json).
    Calibrate(CalibrateArgs),
    /// Accuracy vs K on the test genomes, with ablations.
    Evaluate(EvaluateArgs),
}

/// Where the model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Device {
    Cpu,
    /// Needs a build with `--features cuda`.
    #[value(alias = "gpu")]
    Cuda,
}

/// `predict`'s calling rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CallRule {
    /// lr when the species' calibration has a Y detector, else paper.
    Auto,
    /// Per-chunk Y evidence as a likelihood ratio.
    Lr,
    /// The paper's fraction of female groups vs the calibrated threshold.
    Paper,
}

/// How `calibrate` chooses the paper rule's thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ThresholdRule {
    /// The median of the validation fractions (the paper's).
    Median,
    /// Their quantile at the validation set's male share.
    Quantile,
}

impl ThresholdRule {
    /// The name `genosift.json` records.
    pub fn as_str(self) -> &'static str {
        match self {
            ThresholdRule::Median => "median",
            ThresholdRule::Quantile => "quantile",
        }
    }
}

/// The learning rate after warm-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScheduleArg {
    /// The paper's.
    Constant,
    /// A half-cosine decay from --lr to --min-lr at the last of --steps.
    Cosine,
}

/// Which checkpoint training keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SelectArg {
    /// The highest group ROC-AUC (the paper's), plus the chunk-level Y (and X) ROC-AUCs.
    Auc,
    /// The fewest false Y hits among --valid-negatives chunks of the female valid genomes, at
    /// the logit that keeps 95% of the validation Y chunks (for the lr rule).
    FalseY,
}

/// A backbone trained from scratch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Preset {
    Tiny,
    Small,
}

impl Preset {
    pub fn as_str(self) -> &'static str {
        match self {
            Preset::Tiny => "tiny",
            Preset::Small => "small",
        }
    }
}

/// A staged training recipe (`train --recipe`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RecipeArg {
    /// The reads model: groups stage, then one read per chunk, then an anneal; calibrated for the
    /// likelihood-ratio rule on read streams (what `predict` on reads wants).
    Reads,
    /// The groups model alone (16 chunks of 512 bp), calibrated for the paper's rule on groups.
    Groups,
}

/// Flags of every command that computes: threads, device, quiet.
#[derive(Debug, Args)]
pub struct Compute {
    /// Compute threads (one pool for tokenizing and the model). Default: available cores.
    #[arg(short = 't', long, value_name = "T")]
    pub threads: Option<NonZeroUsize>,

    /// Where the model runs (cuda needs a build with --features cuda).
    #[arg(long, value_enum, default_value_t = Device::Cpu, value_name = "DEVICE")]
    pub device: Device,

    /// No progress or summary on stderr (errors still go there).
    #[arg(short, long)]
    pub quiet: bool,
}

/// Flags of every command that opens a model.
#[derive(Debug, Args)]
pub struct Common {
    /// Model directory (Hugging Face layout: config.json, model.safetensors or
    /// pytorch_model.bin, tokenizer.json; optional genosift.json).
    #[arg(short, long, value_name = "DIR")]
    pub model: PathBuf,

    #[command(flatten)]
    pub compute: Compute,
}

/// How reads are taken from the inputs.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// The reference FASTA a CRAM was written against (its .fai beside it, or one is built).
    #[arg(long, value_name = "FASTA")]
    pub reference: Option<PathBuf>,

    /// Index of a BAM when it is not beside it (FILE.bai, FILE.csi); used to read a
    /// coordinate-sorted BAM in random order when reading may stop early.
    #[arg(long, value_name = "BAI|CSI")]
    pub index: Option<PathBuf>,

    /// Use both mates of a read pair (by default only the first: mates are not independent
    /// draws of the genome).
    #[arg(long)]
    pub both_mates: bool,

    /// Skip SAM/BAM/CRAM records with any of these flag bits (as `samtools view -F`): secondary,
    /// QC-failed, duplicate, supplementary. Decimal or 0x hexadecimal.
    #[arg(long, default_value = "0xF00", value_name = "FLAGS", value_parser = parse_flags)]
    pub exclude_flags: u16,
}

/// A SAM flag value: decimal or `0x` hexadecimal, as samtools takes it.
fn parse_flags(s: &str) -> Result<u16, String> {
    let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u16::from_str_radix(hex, 16),
        None => s.parse(),
    };
    parsed.map_err(|_| format!("expected a flag value such as 0xF00 or 3840, found '{s}'"))
}

#[derive(Debug, Args)]
pub struct PredictArgs {
    #[command(flatten)]
    pub common: Common,

    /// Reads of one sample: FASTA or FASTQ (plain or gzip/bgzip), SAM, BAM or CRAM; several are
    /// read a record from each in turn; `-` or none: stdin.
    #[arg(value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,

    #[command(flatten)]
    pub input: InputArgs,

    /// Seed of the random order in which an indexed, coordinate-sorted BAM is read when reading
    /// may stop early.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Calls table (TSV, one row). Default: stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Per-group table (TSV, one row per group in input order).
    #[arg(long, value_name = "FILE")]
    pub groups: Option<PathBuf>,

    /// Run summary as JSON (version, command, counts, call, timings).
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,

    /// Sample name in the calls table. Default: input file name without extensions, or `stdin`.
    #[arg(long, value_name = "NAME")]
    pub sample: Option<String>,

    /// Species whose calibrated thresholds to use (needed when the model has several).
    #[arg(long, value_name = "NAME")]
    pub species: Option<String>,

    /// Stop reading after K complete groups. Assumes reads in random order: a coordinate-sorted
    /// BAM is then read through its index in random order (and refused without one); FASTQ is
    /// taken as it comes, so shuffle a FASTQ made from a sorted BAM first
    /// (`samtools collate -u -O in.bam | samtools fastq -F 0x900 -`).
    #[arg(long, value_name = "K")]
    pub max_groups: Option<NonZeroU64>,

    /// Groups per model forward pass (memory grows with it; results do not depend on it beyond
    /// float rounding).
    #[arg(long, default_value = "1", value_name = "G")]
    pub batch_groups: NonZeroUsize,

    /// Calling rule: lr (per-chunk Y evidence as a likelihood ratio, for models calibrated with a
    /// chunk Y detector), paper (fraction of female groups vs the calibrated threshold), or auto
    /// (lr when the model has it, else paper).
    #[arg(long, value_enum, default_value_t = CallRule::Auto, value_name = "RULE")]
    pub rule: CallRule,

    /// Posterior probability an lr call must reach; below it the call is no-call.
    #[arg(long, default_value_t = 0.99, value_name = "P")]
    pub min_confidence: f64,

    /// Stop reading as soon as the lr call reaches --min-confidence (a sequential probability
    /// ratio test); a producer piping into genosift is then closed early. Assumes reads in random
    /// order: a coordinate-sorted BAM is read through its index in random order (and refused
    /// without one); FASTQ is taken as it comes, in sequencer order, so shuffle one made from a
    /// sorted BAM first (`samtools collate -u -O`).
    #[arg(long)]
    pub stop_when_confident: bool,

    /// FASTA of the chunks with the strongest Y evidence (read names and Y logit in the header).
    #[arg(long, value_name = "FILE")]
    pub needles: Option<PathBuf>,

    /// Chunks written to --needles.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub needles_top: usize,

    /// MultiQC custom content: the section table (name it NAME_mqc.tsv) and, beside it,
    /// NAME_stats_mqc.txt with the General Statistics columns.
    #[arg(long, value_name = "FILE")]
    pub mqc: Option<PathBuf>,

    /// The cohort's sex-chromosome plot: X dosage against Y dosage (chunks scored against Y
    /// dosage for a model without an X output), a point per sample with its 95% intervals,
    /// coloured by the reported sex, mismatches ringed. PNG for a `.png` name, SVG otherwise.
    #[arg(long, value_name = "FILE")]
    pub dosage_plot: Option<PathBuf>,

    /// The sex the sample is reported to have (male or female): the calls table then says
    /// whether the inferred sex agrees (`sex_check`: ok, mismatch or no-call).
    #[arg(long, value_name = "SEX", value_parser = crate::check::parse_expected_sex)]
    pub expected_sex: Option<Sex>,

    /// Call every sample of a sheet (TSV: sample, reads, sex; optional species), several at a
    /// time on the one thread pool, into one calls table (a row per sample, sheet order).
    #[arg(long, value_name = "SHEET")]
    pub samples: Option<PathBuf>,

    /// Exit with code 3 (after writing every output) when a sample's inferred sex differs from the
    /// expected one.
    #[arg(long)]
    pub fail_on_mismatch: bool,
}

#[derive(Debug, Args)]
pub struct EmbedArgs {
    #[command(flatten)]
    pub common: Common,

    /// FASTA or FASTQ (plain or gzip/bgzip), SAM, BAM or CRAM; `-` or absent: stdin.
    #[arg(value_name = "INPUT")]
    pub input: Option<PathBuf>,

    #[command(flatten)]
    pub reads: InputArgs,

    /// Output TSV. Default: stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Output directory (genomes/, reads/, samples.tsv, species.tsv).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Multiplies every chromosome length (1.0: 3.2–3.8 Mb male genomes).
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// 150-bp reads per test individual.
    #[arg(long, default_value_t = 20_000)]
    pub short_reads: usize,
    /// Long fragments (5–20 kb) per test individual.
    #[arg(long, default_value_t = 100)]
    pub long_reads: usize,
    /// Build species NAME from the real sequence of FASTA instead of the two random genomes
    /// (records named chrX… are X, chrY… Y, the rest autosomes; individuals differ by SNPs);
    /// repeatable. `--scale` does not apply.
    #[arg(long, value_name = "NAME=FASTA", value_parser = parse_genome)]
    pub genome: Vec<(String, PathBuf)>,
}

fn parse_genome(s: &str) -> Result<(String, PathBuf), String> {
    match s.split_once('=') {
        Some((name, path)) if !name.is_empty() && !path.is_empty() => {
            Ok((name.to_string(), PathBuf::from(path)))
        }
        _ => Err(format!("expected NAME=FASTA, got {s:?}")),
    }
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Sample sheet (sample, species, sex, split, fasta).
    #[arg(long, value_name = "SHEET")]
    pub samples: PathBuf,
    /// Model directory to write (replaced atomically at each improvement; with --recipe, once,
    /// trained and calibrated).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Run a whole staged recipe (training stages, then calibration on the valid genomes) with
    /// its documented settings: reads or groups (docs/training.md). Stages are kept in
    /// OUT.stages/; a rerun resumes after the last finished stage. The sampling and optimizer
    /// flags below are the recipe's then; --config, --init, --seed, --threads and --device apply.
    #[arg(long, value_enum, value_name = "RECIPE", conflicts_with_all = RECIPE_SETS)]
    pub recipe: Option<RecipeArg>,
    /// With --recipe: print the command of each stage and of the calibration, and run nothing.
    #[arg(long, requires = "recipe")]
    pub dry_run: bool,
    /// With --recipe: every amount of data (groups seen, validation groups, calibration pool)
    /// times F; 1 is the documented recipe, less a quick check of the whole run.
    #[arg(long, default_value_t = 1.0, value_name = "F", requires = "recipe")]
    pub recipe_scale: f64,
    /// Chunks per group (N).
    #[arg(long, default_value_t = 16)]
    pub chunks: usize,
    /// Chunk length in bp (L).
    #[arg(long, default_value_t = 3072)]
    pub chunk_len: usize,
    /// Peak learning rate (AdamW).
    #[arg(long, default_value_t = 1e-5)]
    pub lr: f64,
    /// Linear warm-up steps, then constant.
    #[arg(long, default_value_t = 1000)]
    pub warmup: usize,
    /// After warm-up: constant (the paper's) or cosine (a half-cosine decay from --lr to
    /// --min-lr at the last of --steps).
    #[arg(long, value_enum, default_value_t = ScheduleArg::Constant)]
    pub schedule: ScheduleArg,
    /// The learning rate a cosine schedule ends at.
    #[arg(long, default_value_t = 0.0)]
    pub min_lr: f64,
    /// Groups per optimizer step.
    #[arg(long, default_value_t = 128)]
    pub batch: usize,
    /// Micro-batches per step, run side by side on the threads (one per thread at a time) and
    /// summed in a fixed order, so the model is the same for any --threads (with 1, a step's
    /// parallelism is only inside the model's operations).
    #[arg(long, default_value_t = 8)]
    pub grad_accum: usize,
    /// Maximum optimizer steps.
    #[arg(long, default_value_t = 100_000)]
    pub steps: usize,
    /// Steps between validation evaluations.
    #[arg(long, default_value_t = 250)]
    pub eval_every: usize,
    /// Evaluations without improvement before stopping (0: never stop early).
    #[arg(long, default_value_t = 20)]
    pub patience: usize,
    /// Start from this pretrained model directory (e.g. gena-lm-bert-base-t2t).
    #[arg(long, value_name = "HF_DIR", conflicts_with = "config")]
    pub init: Option<PathBuf>,
    /// A backbone from scratch with the GENA-LM tokenizer.
    #[arg(long, value_enum, default_value_t = Preset::Tiny)]
    pub config: Preset,
    /// Read-like sampling: each chunk packs independent reads of this length (both strands).
    #[arg(long, value_name = "LEN")]
    pub reads: Option<usize>,
    /// Validation groups (spread over the valid genomes).
    #[arg(long, default_value_t = 128)]
    pub valid_groups: usize,
    /// Which validation's model to keep: auc (group + chunk ROC-AUCs) or false-y (the Y
    /// detector's false hits at a fixed sensitivity; needs --chunk-loss-weight > 0).
    #[arg(long, value_enum, default_value_t = SelectArg::Auc)]
    pub select: SelectArg,
    /// With --select false-y: Y-free chunks of the female valid genomes scored at each validation.
    #[arg(long, default_value_t = 16_384, value_name = "N")]
    pub valid_negatives: usize,
    /// Weight of an auxiliary per-chunk loss "this chunk is from the Y" (0: the paper's model).
    #[arg(long, default_value_t = 0.0)]
    pub chunk_loss_weight: f32,
    /// Weight of a second per-chunk loss "this chunk is from the X" (ours, issue 18: the X
    /// dosage and the karyotype); 0: no X output. With --recipe, every stage trains it.
    #[arg(long, default_value_t = 0.0, value_name = "W")]
    pub x_loss_weight: f32,
    /// Redraw male training groups until they hold a Y chunk (the paper does this for validation
    /// groups only).
    #[arg(long)]
    pub force_y: bool,
    /// Y-enriched training (ours): in male training groups each chunk holds, with this
    /// probability, a piece drawn from the Y, so the per-chunk Y loss sees many positives per
    /// step (0: the paper's sampler).
    #[arg(long, default_value_t = 0.0, value_name = "RATE")]
    pub y_boost: f64,
    /// Substitution rate applied to the sampled chunks, so the model learns reads as a sequencer
    /// gives them (`simulate` makes short reads with 0.005).
    #[arg(long, default_value_t = 0.0, value_name = "RATE")]
    pub read_errors: f64,
    #[arg(long, default_value_t = 142)]
    pub seed: u64,
    #[command(flatten)]
    pub compute: Compute,
}

/// The `train` flags a recipe sets itself.
const RECIPE_SETS: [&str; 19] = [
    "chunks",
    "chunk_len",
    "lr",
    "warmup",
    "schedule",
    "min_lr",
    "batch",
    "grad_accum",
    "steps",
    "eval_every",
    "patience",
    "reads",
    "valid_groups",
    "select",
    "valid_negatives",
    "chunk_loss_weight",
    "force_y",
    "y_boost",
    "read_errors",
];

#[derive(Debug, Args)]
pub struct PoolArgs {
    #[command(flatten)]
    pub common: Common,
    /// Sample sheet.
    #[arg(long, value_name = "SHEET")]
    pub samples: PathBuf,
    /// Group counts K.
    #[arg(long, default_value = "25,50,100,200,500,1000")]
    pub k: String,
    /// Resamples per K.
    #[arg(long, default_value_t = 200)]
    pub repeats: usize,
    /// Groups scored per genome (at least the largest K).
    #[arg(long, default_value_t = 0)]
    pub pool: usize,
    /// Posterior the likelihood-ratio rule must reach (evaluate; as predict's).
    #[arg(long, default_value_t = 0.99, value_name = "P")]
    pub min_confidence: f64,
    /// Substitution rate applied to the sampled reads, so the Y detector's rates are measured on
    /// reads as a sequencer gives them (`simulate` makes short reads with 0.005).
    #[arg(long, default_value_t = 0.0, value_name = "RATE")]
    pub read_errors: f64,
    #[arg(long, default_value_t = 143)]
    pub seed: u64,
}

#[derive(Debug, Args)]
pub struct CalibrateArgs {
    #[command(flatten)]
    pub pool: PoolArgs,
    /// How the paper rule's thresholds are chosen.
    #[arg(long, value_enum, default_value_t = ThresholdRule::Median)]
    pub rule: ThresholdRule,
    /// Score every chunk on both strands and average (about twice the model time in calibrate,
    /// evaluate and predict, which all follow the model's setting); recorded in genosift.json.
    #[arg(long)]
    pub both_strands: bool,
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    #[command(flatten)]
    pub pool: PoolArgs,
    /// Leave a chromosome out of sampling (chrY or chrX): the paper's ablations.
    #[arg(long, value_name = "CHROM")]
    pub exclude_chrom: Vec<String>,
    /// Scale a chromosome's sampling weight, e.g. chrX=0.5.
    #[arg(long, value_name = "CHROM=FACTOR")]
    pub only_chrom_weight: Vec<String>,
    /// Output table (TSV). Default: stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Plot of accuracy vs K (or vs reads with --reads): PNG if the name ends in .png, else SVG.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Evaluate on the test samples' reads files instead (sheet column `reads`): accuracy after
    /// N1, N2, … random reads, by rule, next to two ideal Y-read detectors (`ideal`, `ideal-unique`).
    #[arg(long, value_name = "N1,N2,…")]
    pub reads: Option<String>,
    /// With --reads: how often each constitution of the test split (sheet column `karyotype`:
    /// XX, XY, X0, XXY, XYY, XX+XY, XY/X0) is told right after N reads (its karyotype; the flag
    /// y_partial for a mixture or mosaic), as TSV.
    #[arg(long, value_name = "FILE", requires = "reads")]
    pub karyotypes: Option<PathBuf>,
    /// Plot of the --karyotypes table: PNG if the name ends in .png, else SVG.
    #[arg(long, value_name = "FILE", requires = "karyotypes")]
    pub karyotype_plot: Option<PathBuf>,
}
