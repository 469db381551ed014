//! Command-line flags (clap derive). No logic here: `main` resolves these into run options.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "genosift",
    version,
    about = "Call an organism's genetic sex from unaligned reads with a DNA language model",
    long_about = "Call an organism's genetic sex from unaligned reads or genome fragments with \
GENA-LM and a cross-attention head over chunk embeddings. No reference, no alignment: reads \
stream in (FASTA/FASTQ, plain or gzip), are cut into L-bp chunks, grouped N at a time, and each \
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
}

#[derive(Debug, Args)]
pub struct Common {
    /// Model directory (Hugging Face layout: config.json, model.safetensors or
    /// pytorch_model.bin, tokenizer.json; optional genosift.json).
    #[arg(short, long, value_name = "DIR")]
    pub model: PathBuf,

    /// Compute threads (one pool for tokenizing and the model). Default: available cores.
    #[arg(short = 't', long, value_name = "T")]
    pub threads: Option<usize>,

    /// Where the model runs: cpu, or cuda (needs a build with --features cuda).
    #[arg(long, default_value = "cpu", value_name = "DEVICE")]
    pub device: String,

    /// No progress or summary on stderr (errors still go there).
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct PredictArgs {
    #[command(flatten)]
    pub common: Common,

    /// FASTA or FASTQ, plain or gzip/bgzip; `-` or absent: stdin.
    #[arg(value_name = "INPUT")]
    pub input: Option<PathBuf>,

    /// Calls table (TSV, one row). Default: stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Per-group table (TSV, one row per group in input order).
    #[arg(long, value_name = "FILE")]
    pub groups: Option<PathBuf>,

    /// Sample name in the calls table. Default: input file name without extensions, or `stdin`.
    #[arg(long, value_name = "NAME")]
    pub sample: Option<String>,

    /// Species whose calibrated thresholds to use (needed when the model has several).
    #[arg(long, value_name = "NAME")]
    pub species: Option<String>,

    /// Stop reading after K complete groups.
    #[arg(long, value_name = "K")]
    pub max_groups: Option<u64>,

    /// Groups per model forward pass (memory grows with it; results do not depend on it beyond
    /// float rounding).
    #[arg(long, default_value_t = 1, value_name = "G")]
    pub batch_groups: usize,
}

#[derive(Debug, Args)]
pub struct EmbedArgs {
    #[command(flatten)]
    pub common: Common,

    /// FASTA or FASTQ, plain or gzip/bgzip; `-` or absent: stdin.
    #[arg(value_name = "INPUT")]
    pub input: Option<PathBuf>,

    /// Output TSV. Default: stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}
