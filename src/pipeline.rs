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

use crate::bundle::{ChunkTokens, ModelBundle};
use crate::call::{Call, SampleCall};
use crate::chunk::{Chunk, Chunker};
use crate::evidence::EvidenceCall;
use crate::group::{ChunkGroup, Grouper};
use crate::io::input::{Input, InputStats, RecordSink, Source};
use crate::io::output::{fmt_prob, Table, CALLS_HEADER, GROUPS_HEADER};
use crate::model::GroupScore;
use crate::progress::Progress;
use crate::settings::Calibration;

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
    /// MultiQC custom-content table (`*_mqc.tsv`).
    pub mqc_out: Option<PathBuf>,
    pub rule: Rule,
    /// Posterior a likelihood-ratio call must reach (else no-call).
    pub min_confidence: f64,
    /// Stop reading once the likelihood-ratio call is confident.
    pub stop_when_confident: bool,
    /// FASTA of the chunks with the strongest Y evidence.
    pub needles_out: Option<PathBuf>,
    pub needles_top: usize,
    pub quiet: bool,
}

/// Which calling rule `predict` applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// The likelihood ratio when the species' calibration has a Y detector, else the paper's.
    Auto,
    /// Per-chunk Y evidence summed as a likelihood ratio (`crate::evidence`).
    Lr,
    /// The paper's fraction of female groups vs a calibrated threshold (`crate::call`).
    Paper,
}

impl Rule {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(Rule::Auto),
            "lr" => Ok(Rule::Lr),
            "paper" => Ok(Rule::Paper),
            _ => bail!("--rule {s}: expected auto, lr or paper"),
        }
    }
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
    /// The rule that made `call`: `lr` or `paper`.
    pub rule: &'static str,
    /// Chunks given a Y logit (complete groups and a final partial one), Y hits among them, the
    /// log likelihood ratio male : female and the posterior (likelihood-ratio rule only).
    pub chunks_scored: u64,
    pub y_hits: Option<u64>,
    pub log_lr: Option<f64>,
    pub posterior_male: Option<f64>,
    pub min_confidence: f64,
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
    /// The final chunks that do not fill a group: only their Y logits are used.
    partial: bool,
    records_through: u64,
    bp_through: u64,
}

/// What the reader thread reports at the end.
struct ReaderEnd {
    stats: InputStats,
    chunks: u64,
    dropped_chunks: u64,
    /// Records longer than L (cut into several chunks).
    long_records: u64,
}

/// The reader thread's sink: chunks records, groups chunks, sends groups.
struct GroupSender {
    chunker: Chunker,
    feed: GroupFeed,
    /// Chunk length, the current record's length so far, and records longer than L.
    len: usize,
    record_len: usize,
    long_records: u64,
}

/// Everything downstream of the chunker, split out so the chunker's callback can borrow it.
struct GroupFeed {
    grouper: Grouper,
    tx: Sender<GroupMsg>,
    /// Records with bases in the chunks emitted so far (a record cut across chunks counts once).
    emitted_records: u64,
    /// Bases in all chunks emitted so far (input order, so: bases up to the last chunk's end).
    emitted_bp: u64,
    chunks: u64,
}

impl GroupFeed {
    /// Takes one chunk; sends a group when it completes one. `false` once the receiver is gone.
    fn chunk(&mut self, chunk: Chunk) -> bool {
        self.chunks += 1;
        self.emitted_bp += chunk.bp as u64;
        self.emitted_records += u64::from(chunk.n_records) - u64::from(chunk.first_offset > 0);
        match self.grouper.push(chunk) {
            Some(group) => self
                .tx
                .send(GroupMsg {
                    group,
                    partial: false,
                    records_through: self.emitted_records,
                    bp_through: self.emitted_bp,
                })
                .is_ok(),
            None => true,
        }
    }
}

impl RecordSink for GroupSender {
    fn start(&mut self, name: &str) -> bool {
        self.chunker.start(name);
        self.record_len = 0;
        true
    }

    fn bases(&mut self, bases: &[u8]) -> bool {
        self.record_len += bases.len();
        let feed = &mut self.feed;
        self.chunker.push(bases, &mut |chunk| feed.chunk(chunk))
    }

    fn end(&mut self) -> bool {
        if self.record_len > self.len {
            self.long_records += 1;
        }
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

/// The Y detector when the likelihood-ratio rule applies; errors for flags it cannot honour.
fn resolve_rule(
    opts: &PredictOptions,
    calibration: Option<&Calibration>,
    bundle: &ModelBundle,
) -> Result<Option<crate::evidence::YEvidence>> {
    if !(opts.min_confidence > 0.5 && opts.min_confidence < 1.0) {
        bail!(
            "--min-confidence {}: expected a probability above 0.5 and below 1",
            opts.min_confidence
        );
    }
    let detector = calibration.and_then(|c| c.evidence.clone());
    let lr = match (opts.rule, detector) {
        (Rule::Paper, _) => None,
        (_, Some(d)) if bundle.engine.has_chunk_classifier() => Some(d),
        (Rule::Auto, _) => None,
        (Rule::Lr, _) => bail!(
            "--rule lr: {} has no calibrated per-chunk Y detector (train with \
             --chunk-loss-weight > 0, then run genosift calibrate); use --rule paper",
            bundle.dir.display()
        ),
    };
    if lr.is_none() && (opts.stop_when_confident || opts.needles_out.is_some()) {
        bail!(
            "--stop-when-confident and --needles need the likelihood-ratio rule, and {} {}",
            bundle.dir.display(),
            if opts.rule == Rule::Paper {
                "was asked for --rule paper"
            } else {
                "has no calibrated per-chunk Y detector"
            }
        );
    }
    Ok(lr)
}

/// The chunks with the highest Y logits (`--needles`), best first.
struct Needles {
    top: usize,
    kept: Vec<Needle>,
}

struct Needle {
    logit: f32,
    group: u64,
    index: usize,
    chunk: crate::chunk::Chunk,
}

impl Needles {
    fn new(top: usize) -> Self {
        Self {
            top,
            kept: Vec::new(),
        }
    }

    /// Keeps chunk `j` of `group` if its logit is among the `top` best so far (ties: earlier).
    fn offer(&mut self, logit: f32, group: &ChunkGroup, j: usize) {
        if self.top == 0 {
            return;
        }
        if self.kept.len() == self.top && logit <= self.kept[self.top - 1].logit {
            return;
        }
        let at = self.kept.partition_point(|k| k.logit >= logit);
        self.kept.insert(
            at,
            Needle {
                logit,
                group: group.seq_no,
                index: j,
                chunk: group.chunks[j].clone(),
            },
        );
        self.kept.truncate(self.top);
    }

    /// FASTA: one record per needle, separators cut out (each read piece its own line group).
    fn write(&self, path: &std::path::Path) -> Result<()> {
        let mut out = String::new();
        for (rank, k) in self.kept.iter().enumerate() {
            let group = if k.group == u64::MAX {
                "partial".to_string()
            } else {
                k.group.to_string()
            };
            let names: Vec<&str> = k.chunk.record_names.iter().map(|n| &**n).collect();
            out.push_str(&format!(
                ">needle{} y_logit={:.4} group={} chunk={} records={}\n",
                rank + 1,
                k.logit,
                group,
                k.index,
                names.join(",")
            ));
            for line in k.chunk.seq.chunks(80) {
                out.push_str(std::str::from_utf8(line).unwrap_or(""));
                out.push('\n');
            }
        }
        crate::io::output::write_atomic(path, out.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))
    }
}

/// `--mqc`: a MultiQC custom-content table, one row for this sample.
fn write_mqc(path: &std::path::Path, s: &PredictSummary) -> Result<()> {
    let opt = |v: Option<f64>| v.map_or("NA".to_string(), fmt_prob);
    let text = format!(
        "# id: 'genosift'\n\
         # section_name: 'genosift sex calls'\n\
         # description: 'Genetic sex called from unaligned reads by genosift {}'\n\
         # format: 'tsv'\n\
         # plot_type: 'table'\n\
         Sample\tcall\trule\tposterior_male\ty_hits\tchunks_scored\tfrac_female_groups\tthreshold\tn_groups\tn_records\tn_bp\n\
         {}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
        env!("CARGO_PKG_VERSION"),
        s.sample,
        s.call.as_str(),
        s.rule,
        opt(s.posterior_male),
        s.y_hits.map_or("NA".to_string(), |h| h.to_string()),
        s.chunks_scored,
        opt(s.fraction),
        opt(s.threshold),
        s.n_groups,
        s.n_records,
        s.n_bp,
    );
    crate::io::output::write_atomic(path, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
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
    let lr = resolve_rule(opts, calibration, bundle)?;
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
                len,
                record_len: 0,
                long_records: 0,
                chunker: Chunker::new(len),
                feed: GroupFeed {
                    grouper: Grouper::new(n),
                    tx,
                    emitted_records: 0,
                    emitted_bp: 0,
                    chunks: 0,
                },
            };
            let stats = input.stream(&mut sink)?;
            let GroupSender {
                chunker,
                mut feed,
                long_records,
                ..
            } = sink;
            if !stats.stopped_early {
                if let Some(last) = chunker.finish() {
                    feed.chunk(last);
                }
            }
            let leftover = feed.grouper.leftover().to_vec();
            let dropped_chunks = leftover.len() as u64;
            if !stats.stopped_early && !leftover.is_empty() {
                // The receiver may be gone (--max-groups, a confident stop): nothing to do then.
                let _ = feed.tx.send(GroupMsg {
                    group: ChunkGroup {
                        seq_no: u64::MAX,
                        chunks: leftover,
                    },
                    partial: true,
                    records_through: stats.records,
                    bp_through: feed.emitted_bp,
                });
            }
            Ok(ReaderEnd {
                stats,
                chunks: feed.chunks,
                dropped_chunks,
                long_records,
            })
        })
        .context("cannot start the reader thread")?;

    let mut progress = Progress::new(opts.quiet, "groups");
    let mut call = SampleCall::default();
    let mut evidence = lr.map(EvidenceCall::new);
    let mut needles = Needles::new(if opts.needles_out.is_some() {
        opts.needles_top
    } else {
        0
    });
    let mut chunks_scored = 0u64;
    let mut confident = false;
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
            let mut batch = next_batch(&rx, want);
            if batch.is_empty() {
                return Ok(());
            }
            let partial = batch
                .last()
                .is_some_and(|m| m.partial)
                .then(|| batch.pop().expect("a last message"));
            if !batch.is_empty() {
                let t0 = Instant::now();
                let tokens = tokenize_groups(bundle, &batch);
                let t1 = Instant::now();
                let scores = bundle.score(&tokens, n)?;
                tokenize_seconds += (t1 - t0).as_secs_f64();
                model_seconds += t1.elapsed().as_secs_f64();
                for (msg, score) in batch.iter().zip(&scores) {
                    call.add(score.p_female);
                    if let Some(e) = evidence.as_mut() {
                        for (j, &l) in score.chunk_logits.iter().enumerate() {
                            e.add(l);
                            needles.offer(l, &msg.group, j);
                        }
                    }
                    chunks_scored += score.chunk_logits.len() as u64;
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
            if let (Some(msg), Some(e)) = (partial, evidence.as_mut()) {
                let t0 = Instant::now();
                let tokens = tokenize_groups(bundle, std::slice::from_ref(&msg));
                let t1 = Instant::now();
                let logits = bundle.chunk_logits(&tokens).unwrap_or_default();
                tokenize_seconds += (t1 - t0).as_secs_f64();
                model_seconds += t1.elapsed().as_secs_f64();
                for (j, &l) in logits.iter().enumerate() {
                    e.add(l);
                    needles.offer(l, &msg.group, j);
                }
                chunks_scored += logits.len() as u64;
                last_pos = (msg.records_through, msg.bp_through);
            }
            if opts.stop_when_confident
                && evidence
                    .as_ref()
                    .is_some_and(|e| e.decide(opts.min_confidence) != Call::NoCall)
            {
                confident = true;
                return Ok(());
            }
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
    if let (Some(read_len), true) = (bundle.settings.read_len, reader_end.long_records > 0) {
        if !opts.quiet {
            tracing::warn!(
                "{} of {} records are longer than the model's {len}-bp chunks and were cut into \
                 pieces; the model was trained and calibrated on {read_len}-bp reads, so its Y \
                 evidence on them is not calibrated",
                reader_end.long_records,
                reader_end.stats.records
            );
        }
    }

    // Reaching --max-groups reports the input up to the last group used, whether or not the
    // reader had got further (which depends on timing): output stays deterministic.
    let stopped_early = confident || opts.max_groups.is_some_and(|m| call.n_groups >= m);
    let (n_records, n_bp, n_chunks, dropped) = if stopped_early {
        (
            last_pos.0,
            last_pos.1,
            chunks_scored.max(call.n_groups * n as u64),
            0,
        )
    } else {
        (
            reader_end.stats.records,
            reader_end.stats.bp,
            reader_end.chunks,
            reader_end.dropped_chunks,
        )
    };
    let (threshold, paper_call) = call.decide(calibration);
    let (rule, decision) = match &evidence {
        Some(e) => ("lr", e.decide(opts.min_confidence)),
        None => ("paper", paper_call),
    };
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
        rule,
        chunks_scored,
        y_hits: evidence.as_ref().map(|e| e.hits),
        log_lr: evidence.as_ref().map(EvidenceCall::log_lr),
        posterior_male: evidence.as_ref().map(EvidenceCall::posterior_male),
        min_confidence: opts.min_confidence,
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
    if let Some(p) = &opts.needles_out {
        needles.write(p)?;
    }
    if let Some(p) = &opts.mqc_out {
        write_mqc(p, &summary)?;
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
fn tokenize_groups(bundle: &ModelBundle, batch: &[GroupMsg]) -> ChunkTokens {
    bundle.tokenize(
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
        s.posterior_male.map_or("NA".into(), fmt_prob),
        s.chunks_scored.to_string(),
        s.y_hits.map_or("NA".into(), |h| h.to_string()),
        s.rule.to_string(),
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
        "both_strands": bundle.settings.both_strands,
        "threads": opts.threads,
        "summary": summary,
    });
    let text = serde_json::to_string_pretty(&value)? + "\n";
    crate::io::output::write_atomic(path, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}
