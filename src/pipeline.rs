//! `predict`: reader thread → bounded channel → tokenize + model on one rayon pool → ordered
//! output.
//!
//! The reader thread parses, chunks and groups; it blocks when the channel is full, so memory is
//! bounded by the channel's capacity whatever the input's length. The main thread takes groups in
//! input order, `batch_groups` at a time, tokenizes their chunks in parallel and runs the model,
//! both on the one pool sized by `--threads`. Batches are cut from the input order alone, so the
//! output does not depend on the thread count.

use std::path::PathBuf;
use std::thread;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use crossbeam_channel::{bounded, Receiver, Sender};

use crate::bundle::ModelBundle;
use crate::call::{Call, SampleCall};
use crate::chunk::{Chunk, Chunker};
use crate::group::{ChunkGroup, Grouper};
use crate::io::input::{Input, InputStats, RecordSink, Source};
use crate::io::output::{fmt_prob, Table, CALLS_HEADER, GROUPS_HEADER};
use crate::model::GroupScore;
use crate::progress::Progress;
use crate::settings::Calibration;
use crate::tokenize::TokenBatch;

/// Resolved settings of one `predict` run.
#[derive(Debug, Clone)]
pub struct PredictOptions {
    pub input: Source,
    pub sample: String,
    pub species: Option<String>,
    pub max_groups: Option<u64>,
    pub threads: usize,
    pub batch_groups: usize,
    pub calls_out: Option<PathBuf>,
    pub groups_out: Option<PathBuf>,
    /// Run summary as JSON (counts, call, timings), for MultiQC and workflow logs.
    pub summary_out: Option<PathBuf>,
    pub quiet: bool,
}

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
    #[serde(serialize_with = "call_str")]
    pub call: Call,
    pub stopped_early: bool,
    pub seconds: f64,
    /// Time in the model's forward passes.
    pub model_seconds: f64,
    /// Time tokenizing chunks.
    pub tokenize_seconds: f64,
}

fn call_str<S: serde::Serializer>(c: &Call, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(c.as_str())
}

/// A complete group with the input position reached when it completed.
struct GroupMsg {
    group: ChunkGroup,
    records_through: u64,
    bp_through: u64,
}

/// What the reader thread reports at the end.
struct ReaderEnd {
    stats: InputStats,
    chunks: u64,
    dropped_chunks: u64,
}

/// The reader thread's sink: chunks records, groups chunks, sends groups.
struct GroupSender {
    chunker: Chunker,
    feed: GroupFeed,
}

/// Everything downstream of the chunker, split out so the chunker's callback can borrow it.
struct GroupFeed {
    grouper: Grouper,
    tx: Sender<GroupMsg>,
    records: u64,
    /// Bases in all chunks emitted so far (input order, so: bases up to the last chunk's end).
    emitted_bp: u64,
    chunks: u64,
}

impl GroupFeed {
    /// Takes one chunk; sends a group when it completes one. `false` once the receiver is gone.
    fn chunk(&mut self, chunk: Chunk) -> bool {
        self.chunks += 1;
        self.emitted_bp += chunk.bp as u64;
        match self.grouper.push(chunk) {
            Some(group) => self
                .tx
                .send(GroupMsg {
                    group,
                    records_through: self.records,
                    bp_through: self.emitted_bp,
                })
                .is_ok(),
            None => true,
        }
    }
}

impl RecordSink for GroupSender {
    fn start(&mut self, name: &str) -> bool {
        self.feed.records += 1;
        self.chunker.start(name);
        true
    }

    fn bases(&mut self, bases: &[u8]) -> bool {
        let feed = &mut self.feed;
        self.chunker.push(bases, &mut |chunk| feed.chunk(chunk))
    }

    fn end(&mut self) -> bool {
        true
    }
}

fn resolve_calibration<'a>(
    bundle: &'a ModelBundle,
    species: Option<&str>,
) -> Result<(String, Option<&'a Calibration>)> {
    let cal = &bundle.settings.calibration;
    match species {
        Some(s) => match cal.get(s) {
            Some(c) => Ok((s.to_string(), Some(c))),
            None if cal.is_empty() => Ok((s.to_string(), None)),
            None => bail!(
                "--species {s}: the model is calibrated for {} only",
                cal.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        },
        None => match cal.len() {
            0 => Ok(("NA".to_string(), None)),
            1 => {
                let (k, v) = cal.iter().next().expect("one entry");
                Ok((k.clone(), Some(v)))
            }
            _ => bail!(
                "the model is calibrated for several species ({}): choose one with --species",
                cal.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        },
    }
}

/// Groups per channel slot: the reader may run this many batches ahead of the model.
const CHANNEL_BATCHES: usize = 2;

/// Runs `predict` end to end.
pub fn predict(bundle: &ModelBundle, opts: &PredictOptions) -> Result<PredictSummary> {
    let start = Instant::now();
    let (species, calibration) = resolve_calibration(bundle, opts.species.as_deref())?;
    if !bundle.engine.has_head() {
        return Err(crate::error::ModelError::NoHead {
            dir: bundle.dir.clone(),
            command: "predict".into(),
        }
        .into());
    }
    let n = bundle.settings.chunks;
    let len = bundle.settings.chunk_len;
    let input = Input::open(&opts.input)?;
    let mut groups_table = match &opts.groups_out {
        Some(p) => Some(Table::create(Some(p), &GROUPS_HEADER)?),
        None => None,
    };

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads)
        .thread_name(|i| format!("genosift-{i}"))
        .build()
        .context("cannot start the thread pool")?;

    let batch_groups = opts.batch_groups.max(1);
    let (tx, rx) = bounded::<GroupMsg>(batch_groups * CHANNEL_BATCHES);
    let reader = thread::Builder::new()
        .name("genosift-reader".into())
        .spawn(move || -> Result<ReaderEnd, crate::error::InputError> {
            let mut sink = GroupSender {
                chunker: Chunker::new(len),
                feed: GroupFeed {
                    grouper: Grouper::new(n),
                    tx,
                    records: 0,
                    emitted_bp: 0,
                    chunks: 0,
                },
            };
            let stats = input.stream(&mut sink)?;
            let GroupSender { chunker, mut feed } = sink;
            if !stats.stopped_early {
                if let Some(last) = chunker.finish() {
                    feed.chunk(last);
                }
            }
            Ok(ReaderEnd {
                stats,
                chunks: feed.chunks,
                dropped_chunks: feed.grouper.leftover().len() as u64,
            })
        })
        .context("cannot start the reader thread")?;

    let mut progress = Progress::new(opts.quiet, "groups");
    let mut call = SampleCall::default();
    let mut model_seconds = 0.0;
    let mut tokenize_seconds = 0.0;
    let mut last_pos = (0u64, 0u64);
    let consumed = pool.install(|| -> Result<()> {
        loop {
            let remaining = opts.max_groups.map(|m| m - call.n_groups);
            if remaining == Some(0) {
                return Ok(());
            }
            let want = remaining.map_or(batch_groups, |r| r.min(batch_groups as u64) as usize);
            let batch = next_batch(&rx, want);
            if batch.is_empty() {
                return Ok(());
            }
            let t0 = Instant::now();
            let tokens = tokenize_groups(bundle, &batch);
            let t1 = Instant::now();
            let scores = bundle.engine.predict(&tokens, n)?;
            tokenize_seconds += (t1 - t0).as_secs_f64();
            model_seconds += t1.elapsed().as_secs_f64();
            for (msg, score) in batch.iter().zip(&scores) {
                call.add(score.p_female);
                if let Some(t) = groups_table.as_mut() {
                    t.row(group_row(&msg.group, score))?;
                }
                last_pos = (msg.records_through, msg.bp_through);
            }
            progress.tick(
                call.n_groups,
                batch.iter().map(|m| m.group.bp() as u64).sum(),
            );
        }
    });
    // Stop the reader (if still running) before looking at its result.
    drop(rx);
    let reader_end = reader
        .join()
        .map_err(|_| anyhow::anyhow!("the reader thread panicked"))?;
    progress.finish();
    let reader_end = reader_end?;
    consumed?;

    // Reaching --max-groups reports the input up to the last group used, whether or not the
    // reader had got further (which depends on timing): output stays deterministic.
    let stopped_early = opts.max_groups.is_some_and(|m| call.n_groups >= m);
    let (n_records, n_bp, n_chunks, dropped) = if stopped_early {
        (last_pos.0, last_pos.1, call.n_groups * n as u64, 0)
    } else {
        (
            reader_end.stats.records,
            reader_end.stats.bp,
            reader_end.chunks,
            reader_end.dropped_chunks,
        )
    };
    let (threshold, decision) = call.decide(calibration);
    let summary = PredictSummary {
        sample: opts.sample.clone(),
        species,
        n_records,
        n_bp,
        n_chunks,
        n_groups: call.n_groups,
        dropped_chunks: dropped,
        fraction: call.fraction(),
        threshold,
        call: decision,
        stopped_early,
        seconds: start.elapsed().as_secs_f64(),
        model_seconds,
        tokenize_seconds,
    };
    if let Some(t) = groups_table {
        t.finish()?;
    }
    if let Some(p) = &opts.summary_out {
        write_summary_json(p, bundle, opts, &summary)?;
    }
    let mut calls = Table::create(opts.calls_out.as_deref(), &CALLS_HEADER)?;
    calls.row(calls_row(&summary))?;
    calls.finish()?;
    Ok(summary)
}

/// Up to `want` groups: blocks for the first, then takes what completes the batch.
fn next_batch(rx: &Receiver<GroupMsg>, want: usize) -> Vec<GroupMsg> {
    let mut batch = Vec::with_capacity(want);
    while batch.len() < want {
        match rx.recv() {
            Ok(m) => batch.push(m),
            Err(_) => break,
        }
    }
    batch
}

/// Tokenizes every chunk of the batch (in parallel on the installed pool), in order.
fn tokenize_groups(bundle: &ModelBundle, batch: &[GroupMsg]) -> TokenBatch {
    bundle.tokenizer.batch(
        batch
            .iter()
            .flat_map(|m| m.group.chunks.iter().map(|c| c.seq.as_slice())),
    )
}

fn group_row(group: &ChunkGroup, score: &GroupScore) -> Vec<String> {
    let n = group.chunks.len();
    let nq = score.attention.len() / n.max(1);
    // The chunk with the largest attention weight, averaged over the queries.
    let mean_attn: Vec<f32> = (0..n)
        .map(|j| (0..nq).map(|q| score.attention[q * n + j]).sum::<f32>() / nq as f32)
        .collect();
    let (top, top_w) = mean_attn
        .iter()
        .enumerate()
        .fold(
            (0, f32::NEG_INFINITY),
            |acc, (j, &w)| if w > acc.1 { (j, w) } else { acc },
        );
    let chunk = &group.chunks[top];
    vec![
        group.seq_no.to_string(),
        n.to_string(),
        group.bp().to_string(),
        fmt_prob(score.p_female as f64),
        format!("{:.6}", score.logit),
        top.to_string(),
        format!("{top_w:.6}"),
        chunk.first_record.to_string(),
        chunk.first_offset.to_string(),
    ]
}

fn calls_row(s: &PredictSummary) -> Vec<String> {
    vec![
        s.sample.clone(),
        s.species.clone(),
        s.n_records.to_string(),
        s.n_bp.to_string(),
        s.n_groups.to_string(),
        s.fraction.map_or("NA".into(), fmt_prob),
        s.threshold.map_or("NA".into(), fmt_prob),
        s.call.as_str().to_string(),
    ]
}

/// `--summary-json`: the summary with the tool's version, command line and settings.
fn write_summary_json(
    path: &std::path::Path,
    bundle: &ModelBundle,
    opts: &PredictOptions,
    summary: &PredictSummary,
) -> Result<()> {
    let value = serde_json::json!({
        "tool": "genosift",
        "version": env!("CARGO_PKG_VERSION"),
        "command": std::env::args().collect::<Vec<_>>().join(" "),
        "model": bundle.dir.display().to_string(),
        "chunks_per_group": bundle.settings.chunks,
        "chunk_len": bundle.settings.chunk_len,
        "threads": opts.threads,
        "summary": summary,
    });
    let text = serde_json::to_string_pretty(&value)? + "\n";
    crate::io::output::write_atomic(path, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}
