//! `embed`: one [CLS] vector per record, each record one sequence (truncated by the tokenizer to
//! `max_position_embeddings` tokens), written as `name  n_tokens  embedding` with the vector as
//! comma-separated floats in shortest round-trip form (every digit f32 holds).

use anyhow::Result;

use crate::bundle::ModelBundle;
use crate::input::{Input, InputOptions, RecordSink, SeqRecord, Source};
use crate::output::{fmt_f32, Table};

/// Bases of a record kept for embedding: far more than 512 tokens of ≤ 64 bp can use, so the
/// truncated tokenization is that of the whole record, while a chromosome-sized record costs 1 MB.
pub const EMBED_MAX_BP: usize = 1 << 20;

/// Columns of `genosift embed`.
pub const EMBED_HEADER: [&str; 3] = ["name", "n_tokens", "embedding"];

/// Records per forward pass.
const BATCH: usize = 16;

pub struct EmbedOptions {
    pub input: Source,
    pub reading: InputOptions,
    pub output: Option<std::path::PathBuf>,
    pub threads: usize,
}

/// The sink: collects up to [`BATCH`] records, then embeds and writes them, so memory holds one
/// batch whatever the input's length.
struct Embedder<'a> {
    bundle: &'a ModelBundle,
    table: Table,
    batch: Vec<SeqRecord>,
    written: u64,
    /// A write error met inside the sink (which can only say stop).
    error: Option<anyhow::Error>,
}

impl Embedder<'_> {
    fn flush(&mut self) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        let tokens = self
            .bundle
            .tokenizer
            .batch(batch.iter().map(|r| r.seq.as_slice()));
        let cls = self.bundle.engine.cls(&tokens);
        let h = self.bundle.config.hidden_size;
        for (i, (rec, v)) in batch.iter().zip(cls.chunks(h)).enumerate() {
            let v: Vec<String> = v.iter().map(|&x| fmt_f32(x)).collect();
            self.table
                .row([rec.name.clone(), tokens.lengths[i].to_string(), v.join(",")])?;
            self.written += 1;
        }
        Ok(())
    }
}

impl RecordSink for Embedder<'_> {
    fn start(&mut self, name: &str) -> bool {
        if self.batch.len() >= BATCH {
            if let Err(e) = self.flush() {
                self.error = Some(e);
                return false;
            }
        }
        self.batch.push(SeqRecord {
            name: name.to_string(),
            seq: Vec::new(),
        });
        true
    }
    fn bases(&mut self, bases: &[u8]) -> bool {
        let seq = &mut self.batch.last_mut().expect("inside a record").seq;
        let room = EMBED_MAX_BP.saturating_sub(seq.len());
        seq.extend_from_slice(&bases[..room.min(bases.len())]);
        true
    }
    fn end(&mut self) -> bool {
        true
    }
}

/// Runs `embed`: returns the number of records written.
pub fn embed(bundle: &ModelBundle, opts: &EmbedOptions) -> Result<u64> {
    let input = Input::open(&opts.input, &opts.reading)?;
    let pool = crate::score::thread_pool(opts.threads)?;
    let mut sink = Embedder {
        bundle,
        table: Table::create(opts.output.as_deref(), &EMBED_HEADER)?,
        batch: Vec::new(),
        written: 0,
        error: None,
    };
    pool.install(|| -> Result<()> {
        input.stream(&mut sink)?;
        if let Some(e) = sink.error.take() {
            return Err(e);
        }
        sink.flush()
    })?;
    let written = sink.written;
    sink.table.finish()?;
    Ok(written)
}
