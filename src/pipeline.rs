//! `predict`'s stages in motion: reader thread → bounded channel → tokenize + model on one rayon
//! pool → both rules' evidence, in input order.
//!
//! The reader thread parses, chunks and groups; it blocks when the channel is full, so memory is
//! bounded by the channel's capacity whatever the input's length. The calling thread takes groups
//! in input order, `batch_groups` at a time, and scores them on the pool it is given, tokenizing
//! the next batch beside the model's forward passes on the same pool (the model never waits for
//! tokens while a thread of the pool is free). Batches are cut from the input order alone, so the
//! result does not depend on the thread count.

use std::thread;
use std::time::Instant;

use anyhow::{Context, Result};
use crossbeam_channel::{bounded, Receiver, Sender};

use crate::bundle::ModelBundle;
use crate::call::dosage::{XCount, XEvidence};
use crate::call::lr::{EvidenceCall, YEvidence};
use crate::call::paper::SampleCall;
use crate::call::Call;
use crate::chunk::{Chunk, Chunker};
use crate::error::InputError;
use crate::group::{ChunkGroup, Grouper};
use crate::input::{Input, InputStats, RecordSink};
use crate::model::{ChunkLogits, GroupScore};
use crate::output::groups::GroupsTable;
use crate::output::needles::Needles;
use crate::progress::Progress;
use crate::score::{self, ChunkTokens, Scorer};

/// How far to read and what to keep.
#[derive(Debug, Clone)]
pub struct PipelineOptions {
    /// Stop after this many complete groups.
    pub max_groups: Option<u64>,
    /// Groups per forward pass.
    pub batch_groups: usize,
    /// Stop once the likelihood-ratio call reaches `min_confidence`.
    pub stop_when_confident: bool,
    pub min_confidence: f64,
    /// Chunks with the strongest Y evidence to keep (0: none).
    pub needles_top: usize,
}

/// What the pipeline read and the evidence it gathered.
pub struct Outcome {
    /// The paper's rule: groups and female groups.
    pub groups: SampleCall,
    /// The likelihood-ratio rule, when the model has a calibrated Y detector.
    pub evidence: Option<EvidenceCall>,
    /// X hits, when the model has a calibrated X detector.
    pub x: Option<(XEvidence, XCount)>,
    pub needles: Needles,
    /// Chunks given a Y logit (complete groups and a final partial one).
    pub chunks_scored: u64,
    pub stopped_early: bool,
    /// Input used: up to the last group scored when the run stopped early, else all of it.
    pub n_records: u64,
    pub n_bp: u64,
    pub n_chunks: u64,
    /// Chunks in a final partial group (0 after an early stop).
    pub dropped_chunks: u64,
    /// Records longer than a chunk (cut into pieces).
    pub long_records: u64,
    /// What the reader went through: skipped alignment records, unmapped reads used, the order
    /// (after an early stop, the reader may have run a few batches past the last group used).
    pub input: InputStats,
}

/// A piece of the input as the reader sends it.
enum Piece {
    Whole(ChunkGroup),
    /// The final chunks that do not fill a group: only their Y logits are used.
    Partial(Vec<Chunk>),
}

/// A piece with the input position reached when it was cut.
struct GroupMsg {
    piece: Piece,
    records_through: u64,
    bp_through: u64,
}

impl GroupMsg {
    fn chunks(&self) -> &[Chunk] {
        match &self.piece {
            Piece::Whole(g) => &g.chunks,
            Piece::Partial(c) => c,
        }
    }
}

/// What the reader thread reports at the end.
#[derive(Default)]
struct ReaderEnd {
    stats: InputStats,
    chunks: u64,
    dropped_chunks: u64,
    long_records: u64,
}

/// Groups per channel slot: the reader may run this many batches ahead of the model.
const CHANNEL_BATCHES: usize = 2;

/// Runs the input through the model on `pool`; writes `--groups` rows as groups are scored.
pub fn run(
    scorer: &mut Scorer,
    pool: &rayon::ThreadPool,
    input: Input,
    detector: Option<YEvidence>,
    x_detector: Option<XEvidence>,
    opts: &PipelineOptions,
    groups_table: &mut GroupsTable,
) -> Result<Outcome> {
    let n = scorer.bundle.settings.chunks;
    let len = scorer.bundle.settings.chunk_len;
    let batch_groups = opts.batch_groups.max(1);
    let (tx, rx) = bounded::<GroupMsg>(batch_groups * CHANNEL_BATCHES);
    let reader = spawn_reader(input, n, len, tx)?;
    let mut books = Books {
        groups: SampleCall::default(),
        evidence: detector.map(EvidenceCall::new),
        x: x_detector.map(|d| (d, XCount::default())),
        needles: Needles::new(opts.needles_top),
        chunks_scored: 0,
        last_pos: (0, 0),
    };
    let mut progress = Progress::new("groups");
    let consumed =
        pool.install(|| score_all(scorer, &rx, opts, &mut books, groups_table, &mut progress));
    // Stop the reader (if still running) before looking at its result.
    drop(rx);
    let reader_end = reader
        .join()
        .map_err(|_| anyhow::anyhow!("the reader thread panicked"))?;
    progress.finish();
    let confident = consumed?;
    // After an early stop, a problem the reader met beyond the last group used (it runs a few
    // batches ahead) did not touch the result, and whether it got there depends on timing.
    let stopped = confident || opts.max_groups.is_some_and(|m| books.groups.n_groups >= m);
    let reader_end = match reader_end {
        Err(_) if stopped => ReaderEnd::default(),
        r => r?,
    };
    Ok(books.outcome(confident, opts.max_groups, n as u64, reader_end))
}

/// The evidence so far.
struct Books {
    groups: SampleCall,
    evidence: Option<EvidenceCall>,
    x: Option<(XEvidence, XCount)>,
    needles: Needles,
    chunks_scored: u64,
    /// Records and bases up to the last piece scored.
    last_pos: (u64, u64),
}

impl Books {
    /// Y and X logits of `chunks` (of group `group`, or of the partial one).
    fn add_chunks(&mut self, group: Option<u64>, chunks: &[Chunk], logits: &[f32], x: &[f32]) {
        if let Some(e) = self.evidence.as_mut() {
            for (j, (&l, chunk)) in logits.iter().zip(chunks).enumerate() {
                e.add(l);
                self.needles.offer(l, group, j, chunk);
            }
        }
        if let Some((ev, count)) = self.x.as_mut() {
            x.iter().for_each(|&l| count.add(l, ev));
        }
        self.chunks_scored += logits.len() as u64;
    }

    /// The call is settled: confident (the verdict calls: the ratio is confident and the Y dosage
    /// agrees), or a detector that cannot reach `min_confidence` at any depth (more reads cannot
    /// change its no-call).
    fn confident(&self, min_confidence: f64) -> bool {
        self.evidence.as_ref().is_some_and(|e| {
            crate::call::dosage::verdict(e, min_confidence).call != Call::NoCall
                || e.max_confidence < min_confidence
        })
    }

    fn outcome(self, confident: bool, max_groups: Option<u64>, n: u64, r: ReaderEnd) -> Outcome {
        // Reaching --max-groups reports the input up to the last group used, whether or not the
        // reader had got further (which depends on timing): output stays deterministic.
        let stopped_early = confident || max_groups.is_some_and(|m| self.groups.n_groups >= m);
        let (n_records, n_bp, n_chunks, dropped_chunks) = if stopped_early {
            let chunks = self.chunks_scored.max(self.groups.n_groups * n);
            (self.last_pos.0, self.last_pos.1, chunks, 0)
        } else {
            (r.stats.records, r.stats.bp, r.chunks, r.dropped_chunks)
        };
        Outcome {
            groups: self.groups,
            evidence: self.evidence,
            x: self.x,
            needles: self.needles,
            chunks_scored: self.chunks_scored,
            stopped_early,
            n_records,
            n_bp,
            n_chunks,
            dropped_chunks,
            long_records: r.long_records,
            input: r.stats,
        }
    }
}

/// A batch taken from the channel and tokenized, ready for the model: whole groups and, at the
/// end of the input, the partial group (tokenized only when its Y logits are used).
struct Ready {
    whole: Vec<GroupMsg>,
    tokens: ChunkTokens,
    partial: Option<(GroupMsg, Option<ChunkTokens>)>,
}

impl Ready {
    fn is_empty(&self) -> bool {
        self.whole.is_empty() && self.partial.is_none()
    }
}

/// Splits the partial piece (the input's last) off `batch` and tokenizes both; with the seconds
/// it took.
fn tokenize_batch(
    bundle: &ModelBundle,
    mut batch: Vec<GroupMsg>,
    partial_logits: bool,
) -> (Ready, f64) {
    let t = Instant::now();
    let partial = matches!(batch.last(), Some(m) if matches!(m.piece, Piece::Partial(_)))
        .then(|| batch.pop().expect("a last message"));
    let seqs = batch
        .iter()
        .flat_map(|m| m.chunks().iter().map(|c| c.seq.as_slice()));
    let tokens = score::tokenize(bundle, seqs);
    let partial = partial.map(|m| {
        let tokens = partial_logits
            .then(|| score::tokenize(bundle, m.chunks().iter().map(|c| c.seq.as_slice())));
        (m, tokens)
    });
    let ready = Ready {
        whole: batch,
        tokens,
        partial,
    };
    (ready, t.elapsed().as_secs_f64())
}

/// The model's scores of a ready batch: its whole groups and the partial group's logits.
type Scored = (Vec<GroupScore>, Option<ChunkLogits>);

fn score_ready(scorer: &mut Scorer, ready: &Ready) -> Result<Scored> {
    let scores = if ready.whole.is_empty() {
        Vec::new()
    } else {
        scorer.groups_of(&ready.tokens)?
    };
    let partial = match &ready.partial {
        Some((_, Some(tokens))) => scorer.chunk_logits_of(tokens),
        _ => None,
    };
    Ok((scores, partial))
}

/// Scores batches until the input ends, `--max-groups` is reached or (returning `true`) the call
/// is confident. The next batch is taken from the channel (the reader thread runs ahead, so it is
/// usually there already) and tokenized while the model scores this one, side by side on the pool,
/// so the pool's threads take up tokenizing whenever the model leaves them idle; batches are cut
/// from the input order and `--max-groups` alone.
fn score_all(
    scorer: &mut Scorer,
    rx: &Receiver<GroupMsg>,
    opts: &PipelineOptions,
    books: &mut Books,
    groups_table: &mut GroupsTable,
    progress: &mut Progress,
) -> Result<bool> {
    let bundle = scorer.bundle;
    let partial_logits = books.evidence.is_some();
    let want = |scored: u64| {
        opts.max_groups.map_or(opts.batch_groups, |m| {
            (m - scored).min(opts.batch_groups as u64) as usize
        })
    };
    let (mut ready, secs) = tokenize_batch(
        bundle,
        next_batch(rx, want(books.groups.n_groups)),
        partial_logits,
    );
    scorer.timings.tokenize += secs;
    while !ready.is_empty() {
        let after = books.groups.n_groups + ready.whole.len() as u64;
        let next = if ready.partial.is_some() {
            Vec::new() // the input has ended
        } else {
            next_batch(rx, want(after))
        };
        let (scored, (next, secs)) = rayon::join(
            || score_ready(scorer, &ready),
            || tokenize_batch(bundle, next, partial_logits),
        );
        scorer.timings.tokenize += secs;
        book(books, &ready, scored?, groups_table)?;
        let bp = ready
            .whole
            .iter()
            .flat_map(|m| m.chunks())
            .map(|c| c.bp as u64);
        progress.tick(books.groups.n_groups, bp.sum());
        if opts.stop_when_confident && books.confident(opts.min_confidence) {
            return Ok(true);
        }
        ready = next;
    }
    Ok(false)
}

/// Enters a scored batch in the books and its groups in `--groups`.
fn book(
    books: &mut Books,
    ready: &Ready,
    scored: Scored,
    groups_table: &mut GroupsTable,
) -> Result<()> {
    let (scores, partial) = scored;
    for (msg, score) in ready.whole.iter().zip(&scores) {
        let Piece::Whole(group) = &msg.piece else {
            unreachable!("only the last message is partial")
        };
        books.groups.add(score.p_female);
        books.add_chunks(
            Some(group.seq_no),
            &group.chunks,
            &score.chunk_logits,
            &score.x_logits,
        );
        groups_table.row(group, score)?;
        books.last_pos = (msg.records_through, msg.bp_through);
    }
    // The partial group's chunks were tokenized only when the books keep Y evidence.
    if let Some((msg, Some(_))) = &ready.partial {
        let logits = partial.unwrap_or_default();
        books.add_chunks(None, msg.chunks(), &logits.y, &logits.x);
        books.last_pos = (msg.records_through, msg.bp_through);
    }
    Ok(())
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

type ReaderHandle = thread::JoinHandle<Result<ReaderEnd, InputError>>;

/// The reader thread: parses, chunks (`len` bp) and groups (`n` chunks), sends the groups and at
/// the end the partial group.
fn spawn_reader(input: Input, n: usize, len: usize, tx: Sender<GroupMsg>) -> Result<ReaderHandle> {
    thread::Builder::new()
        .name("genosift-reader".into())
        .spawn(move || {
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
                    piece: Piece::Partial(leftover),
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
        .context("cannot start the reader thread")
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
                    piece: Piece::Whole(group),
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
