//! A model directory in the Hugging Face layout, opened and checked as a whole:
//! `config.json`, `model.safetensors` or `pytorch_model.bin`, `tokenizer.json`, and our optional
//! `genosift.json`.

use std::path::{Path, PathBuf};

use crate::chunk::reverse_complement;
use crate::error::ModelError;
use crate::model::config::BertConfig;
use crate::model::weights::WeightFile;
use crate::model::{DeviceKind, Engine, GroupScore};
use crate::settings::Settings;
use crate::tokenize::{GenaTokenizer, TokenBatch};

pub struct ModelBundle {
    pub dir: PathBuf,
    pub config: BertConfig,
    pub settings: Settings,
    pub tokenizer: GenaTokenizer,
    pub engine: Engine,
}

/// Chunks tokenized as the model scores them: as read, and with `both_strands` also reverse
/// complemented.
pub struct ChunkTokens {
    pub forward: TokenBatch,
    pub reverse: Option<TokenBatch>,
}

/// Reads and checks `config.json`.
pub fn read_config(dir: &Path) -> Result<BertConfig, ModelError> {
    let path = dir.join("config.json");
    if !path.is_file() {
        return Err(ModelError::Missing {
            dir: dir.to_path_buf(),
            what: "config.json".into(),
        });
    }
    let text = std::fs::read_to_string(&path).map_err(|e| ModelError::Config {
        path: path.clone(),
        msg: e.to_string(),
    })?;
    let config: BertConfig = serde_json::from_str(&text).map_err(|e| ModelError::Config {
        path: path.clone(),
        msg: format!("invalid model config: {e}"),
    })?;
    config
        .validate()
        .map_err(|msg| ModelError::Config { path, msg })?;
    Ok(config)
}

/// Loads `tokenizer.json` and checks it against the config.
pub fn read_tokenizer(dir: &Path, config: &BertConfig) -> Result<GenaTokenizer, ModelError> {
    let path = dir.join("tokenizer.json");
    if !path.is_file() {
        return Err(ModelError::Missing {
            dir: dir.to_path_buf(),
            what: "tokenizer.json".into(),
        });
    }
    let tok = GenaTokenizer::from_file(&path, config.max_position_embeddings, config.pad_token_id)?;
    if tok.vocab_size() > config.vocab_size {
        return Err(ModelError::Tokenizer {
            path,
            msg: format!(
                "vocabulary has {} tokens but config.json's vocab_size is {}",
                tok.vocab_size(),
                config.vocab_size
            ),
        });
    }
    Ok(tok)
}

impl ModelBundle {
    /// Opens a model directory on `device`.
    pub fn open(dir: &Path, device: DeviceKind) -> Result<Self, ModelError> {
        if !dir.is_dir() {
            return Err(ModelError::Missing {
                dir: dir.to_path_buf(),
                what: "the directory itself".into(),
            });
        }
        let config = read_config(dir)?;
        let settings = Settings::load(dir, config.n_chunks, config.chunk_len)?;
        let tokenizer = read_tokenizer(dir, &config)?;
        let weights = WeightFile::open_dir(dir)?;
        let (engine, unused) = Engine::load(&weights, &config, device)?;
        if !unused.is_empty() {
            tracing::warn!(
                "{}: {} tensor(s) not used by the model, e.g. '{}'",
                weights.path.display(),
                unused.len(),
                unused[0]
            );
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            config,
            settings,
            tokenizer,
            engine,
        })
    }

    /// Tokenizes chunk sequences (on the installed rayon pool), on both strands when the model's
    /// settings say so.
    pub fn tokenize<'a>(&self, seqs: impl IntoIterator<Item = &'a [u8]>) -> ChunkTokens {
        let seqs: Vec<&[u8]> = seqs.into_iter().collect();
        let forward = self.tokenizer.batch(seqs.iter().copied());
        let reverse = self.settings.both_strands.then(|| {
            let rc: Vec<Vec<u8>> = seqs.iter().map(|s| reverse_complement(s)).collect();
            self.tokenizer.batch(rc.iter().map(Vec::as_slice))
        });
        ChunkTokens { forward, reverse }
    }

    /// Scores whole groups (`n_chunks` consecutive chunks each); on both strands, the mean of the
    /// two readings.
    pub fn score(
        &self,
        tokens: &ChunkTokens,
        n_chunks: usize,
    ) -> Result<Vec<GroupScore>, ModelError> {
        let mut scores = self.engine.predict(&tokens.forward, n_chunks)?;
        if let Some(rev) = &tokens.reverse {
            for (s, r) in scores.iter_mut().zip(self.engine.predict(rev, n_chunks)?) {
                s.average_with(&r);
            }
        }
        Ok(scores)
    }

    /// Per-chunk Y logits alone (for chunks that make no whole group), averaged over both
    /// strands likewise; `None` without a chunk classifier.
    pub fn chunk_logits(&self, tokens: &ChunkTokens) -> Option<Vec<f32>> {
        let mut logits = self.engine.chunk_logits(&tokens.forward)?;
        if let Some(rev) = &tokens.reverse {
            for (l, r) in logits.iter_mut().zip(self.engine.chunk_logits(rev)?) {
                *l = 0.5 * (*l + r);
            }
        }
        Some(logits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            b.score(&b.tokenize(s.iter().map(Vec::as_slice)), n)
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
        let tokens = b.tokenize(fwd_seqs[..3].iter().map(Vec::as_slice));
        let alone = b.chunk_logits(&tokens).unwrap();
        for (i, l) in alone.iter().enumerate() {
            assert!(close(*l, both.chunk_logits[i]), "chunk {i} alone");
        }
    }
}
