//! `--summary-json`: what a run read and decided, with the tool's version, command line and
//! settings.

use std::path::Path;

use anyhow::{Context, Result};

use crate::call::dosage::Dosage;
use crate::call::Call;
use crate::check::SexCheck;
use crate::cohort::sheet::Sex;
use crate::input::{InputStats, Skipped};

/// What a run read and decided (also `--summary-json`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct PredictSummary {
    pub sample: String,
    pub species: String,
    pub n_records: u64,
    pub n_bp: u64,
    pub n_chunks: u64,
    pub n_groups: u64,
    pub dropped_chunks: u64,
    #[serde(rename = "frac_female_groups")]
    pub fraction: Option<f64>,
    pub threshold: Option<f64>,
    /// The rule that made `call`: `lr` or `paper`.
    pub rule: &'static str,
    /// Chunks given a Y logit (complete groups and a final partial one), Y hits among them, the
    /// log likelihood ratio male : female and the posterior (likelihood-ratio rule only).
    pub chunks_scored: u64,
    pub y_hits: Option<u64>,
    pub log_lr: Option<f64>,
    pub posterior_male: Option<f64>,
    pub min_confidence: f64,
    /// The best posterior a typical sample can reach at any depth with this detector (lr rule
    /// with overdispersion; 1 without).
    pub max_confidence: Option<f64>,
    #[serde(serialize_with = "call_str")]
    pub call: Call,
    /// Why the call is `no-call`, when it is.
    pub no_call_reason: Option<&'static str>,
    /// Y signal relative to a normal male (0 = XX, 1 = XY) with its 95% interval (lr rule).
    pub y_dosage: Option<Dosage>,
    /// What the dosage says beside the call (`y_partial`, `y_excess`), when anything.
    pub flag: Option<&'static str>,
    /// Copies of X relative to the autosomes (2 = XX, 1 = XY) with its 95% interval, for models
    /// with a calibrated X output.
    pub x_dosage: Option<Dosage>,
    /// The karyotype both dosages pin down (`XX`, `XY`, `X0`, `XXX`, `XXY`, `XYY`), when they do.
    pub karyotype: Option<&'static str>,
    /// The reported sex and whether the call agrees with it.
    #[serde(serialize_with = "sex_str")]
    pub expected_sex: Option<Sex>,
    #[serde(serialize_with = "check_str")]
    pub sex_check: Option<SexCheck>,
    pub stopped_early: bool,
    pub seconds: f64,
    /// Time in the model's forward passes.
    pub model_seconds: f64,
    /// Time tokenizing chunks (beside the model's passes, on the same pool: the two overlap, and
    /// their sum can exceed `seconds`).
    pub tokenize_seconds: f64,
    /// How the input was read.
    pub input: InputSummary,
}

/// How the input was read: its order, what was skipped, unmapped reads used.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InputSummary {
    /// `file` (as it came) or `random` (a sorted BAM through its index, seeded).
    pub order: &'static str,
    /// Records the reader handed on (it may run a little past an early stop).
    pub records_read: u64,
    /// Unmapped reads among them (flag 0x4).
    pub unmapped: u64,
    /// Alignment records not used, by reason.
    pub skipped: Skipped,
}

impl From<&InputStats> for InputSummary {
    fn from(s: &InputStats) -> Self {
        Self {
            order: if s.random_order { "random" } else { "file" },
            records_read: s.records,
            unmapped: s.unmapped,
            skipped: s.skipped,
        }
    }
}

fn call_str<S: serde::Serializer>(c: &Call, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(c.as_str())
}

fn sex_str<S: serde::Serializer>(v: &Option<Sex>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(x) => s.serialize_str(crate::check::sex_str(*x)),
        None => s.serialize_none(),
    }
}

fn check_str<S: serde::Serializer>(v: &Option<SexCheck>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(x) => s.serialize_str(x.as_str()),
        None => s.serialize_none(),
    }
}

/// Version of the summary JSON's layout: 2 added `schema_version`, `y_dosage`, `flag`,
/// `expected_sex`, `sex_check`, and `samples` (a list) for `--samples`; 3 added `x_dosage` and
/// `karyotype`.
pub const SCHEMA_VERSION: u32 = 3;

/// The run's settings the summary reports beside its counts.
pub struct RunInfo {
    pub model: String,
    pub chunks_per_group: usize,
    pub chunk_len: usize,
    pub both_strands: bool,
    pub threads: usize,
    /// The arithmetic of the encoder's products (`f32`, `bf16`).
    pub precision: &'static str,
}

/// Writes the summary JSON (complete or absent): one sample's under `summary`, a sheet's
/// (`as_list`) as the list `samples`.
pub fn write(
    path: &Path,
    run: &RunInfo,
    summaries: &[PredictSummary],
    as_list: bool,
) -> Result<()> {
    let mut value = serde_json::json!({
        "tool": "genosift",
        "schema_version": SCHEMA_VERSION,
        "version": env!("CARGO_PKG_VERSION"),
        "command": std::env::args().collect::<Vec<_>>().join(" "),
        "model": run.model,
        "chunks_per_group": run.chunks_per_group,
        "chunk_len": run.chunk_len,
        "both_strands": run.both_strands,
        "threads": run.threads,
        "precision": run.precision,
    });
    match summaries {
        [one] if !as_list => value["summary"] = serde_json::to_value(one)?,
        all => value["samples"] = serde_json::to_value(all)?,
    }
    let text = serde_json::to_string_pretty(&value)? + "\n";
    super::write_atomic(path, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// A called sample's summary for the output modules' tests: `sample`, reported `expected`,
/// called `call`, with the Y dosage `y` (and an X dosage `x` when given).
#[cfg(test)]
pub(crate) fn example(
    sample: &str,
    expected: Option<Sex>,
    call: Call,
    y: Option<Dosage>,
    x: Option<Dosage>,
) -> PredictSummary {
    PredictSummary {
        sample: sample.into(),
        species: "human".into(),
        n_records: 1000,
        n_bp: 150_000,
        n_chunks: 1000,
        n_groups: 63,
        dropped_chunks: 0,
        fraction: None,
        threshold: None,
        rule: "lr",
        chunks_scored: 1000,
        y_hits: Some(5),
        log_lr: Some(0.0),
        posterior_male: Some(0.5),
        min_confidence: 0.99,
        max_confidence: Some(1.0),
        call,
        no_call_reason: None,
        y_dosage: y,
        flag: None,
        x_dosage: x,
        karyotype: None,
        expected_sex: expected,
        sex_check: expected.map(|e| SexCheck::of(call, e)),
        stopped_early: false,
        seconds: 1.0,
        model_seconds: 0.5,
        tokenize_seconds: 0.1,
        input: InputSummary {
            order: "file",
            records_read: 1000,
            unmapped: 0,
            skipped: Skipped::default(),
        },
    }
}
