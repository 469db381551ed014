//! The one batched scorer: chunk sequences → tokens (on both strands when the model's settings
//! say so) → the model's group scores or per-chunk Y logits, with the time spent in each. Used by
//! `predict` ([`crate::pipeline`]), `calibrate` and `evaluate` ([`crate::experiment`]), all on the
//! one rayon pool that [`thread_pool`] builds.

use std::time::Instant;

use anyhow::{Context, Result};

use crate::bundle::ModelBundle;
use crate::chunk::reverse_complement;
use crate::error::ModelError;
use crate::model::{ChunkLogits, GroupScore};
use crate::tokenize::TokenBatch;

/// Groups per forward pass in `calibrate` and `evaluate` (`predict` takes `--batch-groups`).
pub const EXPERIMENT_BATCH_GROUPS: usize = 4;

/// The run's one pool for tokenizing and the model, `threads` wide.
pub fn thread_pool(threads: usize) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("genosift-{i}"))
        .build()
        .context("cannot start the thread pool")
}

/// Chunks tokenized as the model scores them: as read, and with `both_strands` also reverse
/// complemented.
pub struct ChunkTokens {
    pub forward: TokenBatch,
    pub reverse: Option<TokenBatch>,
}

/// Seconds spent tokenizing and in the model's forward passes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timings {
    pub tokenize: f64,
    pub model: f64,
}

/// Scores chunks with one model, keeping the time each part takes.
pub struct Scorer<'a> {
    pub bundle: &'a ModelBundle,
    pub timings: Timings,
}

impl<'a> Scorer<'a> {
    pub fn new(bundle: &'a ModelBundle) -> Self {
        Self {
            bundle,
            timings: Timings::default(),
        }
    }

    /// Whole groups: `seqs` holds the model's N chunks of each group, one group after another.
    /// On both strands, the mean of the two readings.
    pub fn groups<'s>(
        &mut self,
        seqs: impl IntoIterator<Item = &'s [u8]>,
    ) -> Result<Vec<GroupScore>, ModelError> {
        let tokens = self.tokenize(seqs);
        self.groups_of(&tokens)
    }

    /// [`Scorer::groups`] of chunks already tokenized (by [`tokenize`]).
    pub fn groups_of(&mut self, tokens: &ChunkTokens) -> Result<Vec<GroupScore>, ModelError> {
        let t = Instant::now();
        let scores = score_groups(self.bundle, tokens);
        self.timings.model += t.elapsed().as_secs_f64();
        scores
    }

    /// Per-chunk Y (and X) logits alone of chunks already tokenized (by [`tokenize`]), for
    /// chunks that make no whole group (averaged over both strands likewise); `None` without a
    /// chunk classifier.
    pub fn chunk_logits_of(&mut self, tokens: &ChunkTokens) -> Option<ChunkLogits> {
        let t = Instant::now();
        let logits = chunk_logits(self.bundle, tokens);
        self.timings.model += t.elapsed().as_secs_f64();
        logits
    }

    fn tokenize<'s>(&mut self, seqs: impl IntoIterator<Item = &'s [u8]>) -> ChunkTokens {
        let t = Instant::now();
        let tokens = tokenize(self.bundle, seqs);
        self.timings.tokenize += t.elapsed().as_secs_f64();
        tokens
    }
}

/// Tokenizes chunk sequences (on the installed rayon pool), on both strands when the model's
/// settings say so.
pub fn tokenize<'s>(bundle: &ModelBundle, seqs: impl IntoIterator<Item = &'s [u8]>) -> ChunkTokens {
    let seqs: Vec<&[u8]> = seqs.into_iter().collect();
    let forward = bundle.tokenizer.batch(seqs.iter().copied());
    let reverse = bundle.settings.both_strands.then(|| {
        let rc: Vec<Vec<u8>> = seqs.iter().map(|s| reverse_complement(s)).collect();
        bundle.tokenizer.batch(rc.iter().map(Vec::as_slice))
    });
    ChunkTokens { forward, reverse }
}

fn score_groups(bundle: &ModelBundle, tokens: &ChunkTokens) -> Result<Vec<GroupScore>, ModelError> {
    let n = bundle.settings.chunks;
    let mut scores = bundle.engine.predict(&tokens.forward, n)?;
    if let Some(rev) = &tokens.reverse {
        for (s, r) in scores.iter_mut().zip(bundle.engine.predict(rev, n)?) {
            s.average_with(&r);
        }
    }
    Ok(scores)
}

fn chunk_logits(bundle: &ModelBundle, tokens: &ChunkTokens) -> Option<ChunkLogits> {
    let mut logits = bundle.engine.chunk_logits(&tokens.forward)?;
    if let Some(rev) = &tokens.reverse {
        logits.average_with(&bundle.engine.chunk_logits(rev)?);
    }
    Some(logits)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::model::DeviceKind;

    /// 16 reads of 150 bp from a fixed pseudo-random stream.
    fn reads() -> Vec<Vec<u8>> {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        (0..16)
            .map(|_| {
                (0..150)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        b"ACGT"[(x >> 33) as usize % 4]
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn both_strands_is_the_mean_of_the_two_readings() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("test-data/models/demo");
        let mut b = ModelBundle::open(&dir, DeviceKind::Cpu).unwrap();
        b.settings.both_strands = false;
        let n = b.settings.chunks;
        let fwd_seqs = reads();
        let rev_seqs: Vec<Vec<u8>> = fwd_seqs.iter().map(|s| reverse_complement(s)).collect();
        let score = |b: &ModelBundle, s: &[Vec<u8>]| {
            Scorer::new(b)
                .groups(s.iter().map(Vec::as_slice))
                .unwrap()
                .remove(0)
        };
        let fwd = score(&b, &fwd_seqs);
        let rev = score(&b, &rev_seqs);
        assert!(
            fwd.chunk_logits
                .iter()
                .zip(&rev.chunk_logits)
                .any(|(a, b)| (a - b).abs() > 1e-3),
            "the strands read differently, or this test shows nothing"
        );
        b.settings.both_strands = true;
        let both = score(&b, &fwd_seqs);
        let close = |a: f32, b: f32| (a - b).abs() <= 1e-5 * (1.0 + b.abs());
        assert_eq!(both.chunk_logits.len(), n);
        for i in 0..n {
            let mean = 0.5 * (fwd.chunk_logits[i] + rev.chunk_logits[i]);
            assert!(close(both.chunk_logits[i], mean), "chunk {i}");
        }
        assert!(close(both.logit, 0.5 * (fwd.logit + rev.logit)));
        assert!(close(both.p_female, 1.0 / (1.0 + (-both.logit).exp())));
        for (q, a) in both.attention.iter().enumerate() {
            assert!(close(*a, 0.5 * (fwd.attention[q] + rev.attention[q])));
        }
        // Chunks outside whole groups: the same average.
        let alone = Scorer::new(&b)
            .chunk_logits_of(&tokenize(&b, fwd_seqs[..3].iter().map(Vec::as_slice)))
            .unwrap();
        for (i, l) in alone.y.iter().enumerate() {
            assert!(close(*l, both.chunk_logits[i]), "chunk {i} alone");
        }
    }
}
