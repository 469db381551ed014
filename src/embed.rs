//! `embed`: one [CLS] vector per record, each record one sequence (truncated by the tokenizer to
//! `max_position_embeddings` tokens), written as `name  n_tokens  embedding` with the vector as
//! comma-separated floats in shortest round-trip form (every digit f32 holds).

use anyhow::{Context, Result};

use crate::bundle::ModelBundle;
use crate::io::input::{Input, RecordSink, Source};
use crate::io::output::{fmt_f32, Table, EMBED_HEADER};

/// Bases of a record kept for embedding: far more than 512 tokens of ≤ 64 bp can use, so the
/// truncated tokenization is that of the whole record, while a chromosome-sized record costs 1 MB.
pub const EMBED_MAX_BP: usize = 1 << 20;

/// Records per forward pass.
const BATCH: usize = 16;

pub struct EmbedOptions {
    pub input: Source,
    pub output: Option<std::path::PathBuf>,
    pub threads: usize,
}

struct Records {
    batch: Vec<(String, Vec<u8>)>,
}

impl RecordSink for Records {
    fn start(&mut self, name: &str) -> bool {
        self.batch.push((name.to_string(), Vec::new()));
        true
    }
    fn bases(&mut self, bases: &[u8]) -> bool {
        let seq = &mut self.batch.last_mut().expect("inside a record").1;
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
    let input = Input::open(&opts.input)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads)
        .build()
        .context("cannot start the thread pool")?;
    let mut table = Table::create(opts.output.as_deref(), &EMBED_HEADER)?;
    let h = bundle.config.hidden_size;
    let mut n = 0u64;
    // Records are collected by a sink and flushed in batches from inside it, so memory holds
    // one batch whatever the input's length.
    struct Batched<'a> {
        inner: Records,
        bundle: &'a ModelBundle,
        table: &'a mut Table,
        h: usize,
        n: &'a mut u64,
        error: Option<anyhow::Error>,
    }
    impl Batched<'_> {
        fn flush(&mut self) -> Result<()> {
            let batch = std::mem::take(&mut self.inner.batch);
            if batch.is_empty() {
                return Ok(());
            }
            let tokens = self
                .bundle
                .tokenizer
                .batch(batch.iter().map(|(_, s)| s.as_slice()));
            let cls = self.bundle.engine.cls(&tokens);
            for (i, (name, _)) in batch.iter().enumerate() {
                let v: Vec<String> = cls[i * self.h..(i + 1) * self.h]
                    .iter()
                    .map(|&x| fmt_f32(x))
                    .collect();
                self.table
                    .row([name.clone(), tokens.lengths[i].to_string(), v.join(",")])?;
                *self.n += 1;
            }
            Ok(())
        }
    }
    impl RecordSink for Batched<'_> {
        fn start(&mut self, name: &str) -> bool {
            if self.inner.batch.len() >= BATCH {
                if let Err(e) = self.flush() {
                    self.error = Some(e);
                    return false;
                }
            }
            self.inner.start(name)
        }
        fn bases(&mut self, bases: &[u8]) -> bool {
            self.inner.bases(bases)
        }
        fn end(&mut self) -> bool {
            true
        }
    }
    pool.install(|| -> Result<()> {
        let mut sink = Batched {
            inner: Records { batch: Vec::new() },
            bundle,
            table: &mut table,
            h,
            n: &mut n,
            error: None,
        };
        input.stream(&mut sink)?;
        if let Some(e) = sink.error.take() {
            return Err(e);
        }
        sink.flush()
    })?;
    table.finish()?;
    Ok(n)
}
