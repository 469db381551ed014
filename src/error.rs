//! Error types, one enum per boundary. Each message names the file and, where there is one, the
//! record, line or tensor; `main` prints the chain on one line.

use std::path::PathBuf;

use thiserror::Error;

/// Problems with sequence input: opening, decompressing, parsing, validating.
#[derive(Debug, Error)]
pub enum InputError {
    #[error("{source_name}: cannot open: {err}")]
    Open {
        source_name: String,
        err: std::io::Error,
    },
    #[error("{source_name}: {what}")]
    Format { source_name: String, what: String },
    #[error("{source_name}: record '{record}' (record {record_no}, line {line}): {what}")]
    Record {
        source_name: String,
        record: String,
        record_no: u64,
        line: u64,
        what: String,
    },
    #[error("{source_name}: record '{record}' (record {record_no}): {what}")]
    Alignment {
        source_name: String,
        record: String,
        record_no: u64,
        what: String,
    },
    #[error("{source_name}: read failed near line {line}: {err}")]
    Io {
        source_name: String,
        line: u64,
        err: std::io::Error,
    },
}

/// Problems with a model directory: config, tokenizer, weights, tensor names and shapes.
#[derive(Debug, Error)]
pub enum ModelError {
    #[error("model directory {}: missing {what}", dir.display())]
    Missing { dir: PathBuf, what: String },
    #[error("{}: {msg}", path.display())]
    Config { path: PathBuf, msg: String },
    #[error("{}: {msg}", path.display())]
    Weights { path: PathBuf, msg: String },
    #[error("{}: tensor '{name}' is missing (expected shape {expected:?})", path.display())]
    MissingTensor {
        path: PathBuf,
        name: String,
        expected: Vec<usize>,
    },
    #[error("{}: tensor '{name}' has shape {found:?}, expected {expected:?}", path.display())]
    Shape {
        path: PathBuf,
        name: String,
        found: Vec<usize>,
        expected: Vec<usize>,
    },
    #[error("{}: {msg}", path.display())]
    Tokenizer { path: PathBuf, msg: String },
    #[error("model directory {}: no classification head (query_vectors): a backbone can `embed` but not `{command}`", dir.display())]
    NoHead { dir: PathBuf, command: String },
    #[error("{0}")]
    Device(String),
}

/// Problems writing results.
#[derive(Debug, Error)]
pub enum OutputError {
    #[error("{}: cannot write: {err}", path.display())]
    Write { path: PathBuf, err: std::io::Error },
    #[error("broken pipe")]
    BrokenPipe,
    #[error("standard output: {0}")]
    Stdout(std::io::Error),
}

impl OutputError {
    /// Maps an I/O error on stdout, recognising a closed pipe (`| head`).
    pub fn from_stdout(err: std::io::Error) -> Self {
        if err.kind() == std::io::ErrorKind::BrokenPipe {
            OutputError::BrokenPipe
        } else {
            OutputError::Stdout(err)
        }
    }
}

/// `--fail-on-mismatch`: this many samples' inferred sex differs from the expected one (the run's
/// outputs are complete; the exit code is [`crate::check::MISMATCH_EXIT_CODE`]).
#[derive(Debug, Error)]
#[error("{0} sample(s) with an inferred sex that differs from the expected one (--fail-on-mismatch; see sex_check in the calls table)")]
pub struct SexMismatch(pub usize);
