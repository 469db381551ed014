//! GENA-LM's BPE tokenizer (the real `tokenizer.json`, via the `tokenizers` crate) and
//! [`TokenBatch`], the plain-integer batch that crosses into `model/`.
//!
//! The tokenizer's own normalizer turns runs of ≥ 10 N into one `-` and its post-processor adds
//! `[CLS]`/`[SEP]`; we upper-case before (the tokenizer has no lowercase symbols) and truncate to
//! `max_position_embeddings` tokens (510 content tokens + CLS/SEP), as the authors' pipelines do.

use std::path::Path;

use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use crate::error::ModelError;

/// Token ids of several sequences, padded to the longest with `pad_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenBatch {
    /// Row-major `[n_seqs, seq_len]`.
    pub ids: Vec<u32>,
    /// Real (unpadded) length of each row; the attention mask is `pos < len`.
    pub lengths: Vec<usize>,
    pub seq_len: usize,
}

impl TokenBatch {
    pub fn n_seqs(&self) -> usize {
        self.lengths.len()
    }

    /// Pads `rows` to the longest one.
    pub fn from_rows(rows: &[Vec<u32>], pad_id: u32) -> Self {
        let seq_len = rows.iter().map(Vec::len).max().unwrap_or(0);
        let mut ids = Vec::with_capacity(rows.len() * seq_len);
        for r in rows {
            ids.extend_from_slice(r);
            ids.extend(std::iter::repeat_n(pad_id, seq_len - r.len()));
        }
        Self {
            ids,
            lengths: rows.iter().map(Vec::len).collect(),
            seq_len,
        }
    }

    /// Row `i`'s ids, without padding.
    pub fn row(&self, i: usize) -> &[u32] {
        &self.ids[i * self.seq_len..i * self.seq_len + self.lengths[i]]
    }
}

/// The real GENA-LM tokenizer (`t2t_1000h_multi_32k`, MIT), built into the binary so that
/// `train --config tiny|small` works anywhere.
pub const GENA_TOKENIZER_JSON: &[u8] = include_bytes!("../test-data/gena-tiny/tokenizer.json");

/// The GENA-LM tokenizer with the truncation the model needs.
pub struct GenaTokenizer {
    inner: Tokenizer,
    pad_id: u32,
}

impl GenaTokenizer {
    /// Loads `tokenizer.json`; `max_len` is the model's `max_position_embeddings`.
    pub fn from_file(path: &Path, max_len: usize, pad_id: u32) -> Result<Self, ModelError> {
        let bytes = std::fs::read(path).map_err(|e| ModelError::Tokenizer {
            path: path.to_path_buf(),
            msg: format!("cannot read: {e}"),
        })?;
        Self::from_bytes(&bytes, path, max_len, pad_id)
    }

    /// Loads a tokenizer from JSON bytes; `path` names it in errors.
    pub fn from_bytes(
        bytes: &[u8],
        path: &Path,
        max_len: usize,
        pad_id: u32,
    ) -> Result<Self, ModelError> {
        let err = |msg: String| ModelError::Tokenizer {
            path: path.to_path_buf(),
            msg,
        };
        let mut inner =
            Tokenizer::from_bytes(bytes).map_err(|e| err(format!("cannot load: {e}")))?;
        inner
            .with_truncation(Some(TruncationParams {
                max_length: max_len,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
                direction: TruncationDirection::Right,
            }))
            .map_err(|e| err(format!("cannot set truncation: {e}")))?;
        inner.with_padding(None);
        for tok in ["[CLS]", "[SEP]"] {
            if inner.token_to_id(tok).is_none() {
                return Err(err(format!("vocabulary has no {tok} token")));
            }
        }
        match inner.token_to_id("[PAD]") {
            Some(id) if id == pad_id => {}
            Some(id) => {
                return Err(err(format!(
                    "[PAD] has id {id} but the model's pad_token_id is {pad_id}"
                )))
            }
            None => return Err(err("vocabulary has no [PAD] token".into())),
        }
        Ok(Self { inner, pad_id })
    }

    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    pub fn pad_id(&self) -> u32 {
        self.pad_id
    }

    /// Ids of one upper-cased sequence, `[CLS] … [SEP]`, truncated.
    pub fn encode(&self, seq: &[u8]) -> Vec<u32> {
        // Input bytes are validated ASCII (IUPAC letters, '-', N) by the reader.
        let text = std::str::from_utf8(seq).expect("sequence bytes are ASCII");
        let enc = self
            .inner
            .encode(text, true)
            .expect("BPE encoding of validated ASCII cannot fail");
        enc.get_ids().to_vec()
    }

    /// Tokenizes (in parallel, on the current rayon pool) and pads several sequences, in order.
    pub fn batch<'a>(&self, seqs: impl IntoIterator<Item = &'a [u8]>) -> TokenBatch {
        use rayon::prelude::*;
        let seqs: Vec<&[u8]> = seqs.into_iter().collect();
        let rows: Vec<Vec<u32>> = seqs.par_iter().map(|s| self.encode(s)).collect();
        TokenBatch::from_rows(&rows, self.pad_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_to_longest() {
        let b = TokenBatch::from_rows(&[vec![1, 5, 2], vec![1, 2]], 3);
        assert_eq!(b.seq_len, 3);
        assert_eq!(b.ids, vec![1, 5, 2, 1, 2, 3]);
        assert_eq!(b.row(1), &[1, 2]);
        assert_eq!(b.n_seqs(), 2);
    }
}
