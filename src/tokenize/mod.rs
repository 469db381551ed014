//! GENA-LM's BPE tokenizer (the real `tokenizer.json`, via the `tokenizers` crate, with a fast
//! path of the same ids for GENA-LM's layout in [`bpe`]) and [`TokenBatch`], the plain-integer
//! batch that crosses into `model/`.
//!
//! The tokenizer's own normalizer turns runs of ≥ 10 N into one `-` and its post-processor adds
//! `[CLS]`/`[SEP]`; we upper-case before (the tokenizer has no lowercase symbols) and truncate to
//! `max_position_embeddings` tokens (510 content tokens + CLS/SEP), as the authors' pipelines do.

mod bpe;

use std::path::Path;

use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use crate::error::ModelError;
use bpe::DnaBpe;

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
pub const GENA_TOKENIZER_JSON: &[u8] = include_bytes!("../../test-data/gena-tiny/tokenizer.json");

/// The GENA-LM tokenizer with the truncation the model needs.
pub struct GenaTokenizer {
    inner: Tokenizer,
    /// The same ids as `inner` for sequences of vocabulary letters, when the JSON has GENA-LM's
    /// layout.
    fast: Option<DnaBpe>,
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
        let fast = DnaBpe::from_json(bytes, max_len);
        Ok(Self {
            inner,
            fast,
            pad_id,
        })
    }

    /// This tokenizer without its fast path: every sequence through the `tokenizers` crate (for
    /// benchmarks and tests that compare the two).
    pub fn general_only(mut self) -> Self {
        self.fast = None;
        self
    }

    /// Whether sequences of vocabulary letters take the fast path.
    pub fn has_fast_path(&self) -> bool {
        self.fast.is_some()
    }

    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    pub fn pad_id(&self) -> u32 {
        self.pad_id
    }

    /// Ids of one upper-cased sequence, `[CLS] … [SEP]`, truncated.
    pub fn encode(&self, seq: &[u8]) -> Vec<u32> {
        if let Some(ids) = self.fast.as_ref().and_then(|f| f.encode(seq)) {
            return ids;
        }
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
    use std::io::BufRead;

    fn gena(max_len: usize) -> GenaTokenizer {
        GenaTokenizer::from_bytes(GENA_TOKENIZER_JSON, Path::new("t.json"), max_len, 3).unwrap()
    }

    /// The `tokenizers` crate's ids, whatever path `tok` would take.
    fn general(tok: &GenaTokenizer, seq: &[u8]) -> Vec<u32> {
        let text = std::str::from_utf8(seq).unwrap();
        tok.inner.encode(text, true).unwrap().get_ids().to_vec()
    }

    /// Asserts that the fast path encodes `seq`, to the `tokenizers` crate's ids.
    fn assert_same(tok: &GenaTokenizer, seq: &[u8]) {
        let fast = tok.fast.as_ref().expect("GENA-LM layout has the fast path");
        let ids = fast
            .encode(seq)
            .expect("vocabulary letters take the fast path");
        assert_eq!(ids, general(tok, seq), "{}", String::from_utf8_lossy(seq));
    }

    /// Sequences built from pieces that stress BPE's order of merges: random bases, homopolymers,
    /// short tandem repeats (overlapping equal pairs), copies of earlier pieces, other vocabulary
    /// letters, N runs either side of ten, `-`.
    fn stress_seq(next: &mut impl FnMut() -> u64) -> Vec<u8> {
        let mut seq = Vec::new();
        for _ in 0..next() % 12 {
            let len = 1 + next() as usize % 80;
            match next() % 8 {
                0 | 1 => seq.extend((0..len).map(|_| b"ACGT"[next() as usize % 4])),
                2 => seq.extend(std::iter::repeat_n(b"ACGT"[next() as usize % 4], len)),
                3 => {
                    let unit: Vec<u8> = (0..1 + next() % 6)
                        .map(|_| b"ACGT"[next() as usize % 4])
                        .collect();
                    seq.extend(unit.iter().cycle().take(len));
                }
                4 if !seq.is_empty() => {
                    let from = next() as usize % seq.len();
                    let piece = seq[from..].iter().take(len).copied().collect::<Vec<_>>();
                    seq.extend(piece);
                }
                5 => seq.extend(std::iter::repeat_n(b'N', 5 + next() as usize % 10)),
                6 => seq.extend((0..1 + len / 8).map(|_| b"BKMRSWYN-"[next() as usize % 9])),
                _ => seq.push(b'-'),
            }
        }
        seq
    }

    #[test]
    fn fast_path_gives_the_tokenizers_ids_on_stress_sequences() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state >> 11
        };
        // 40: truncation inside most sequences; 512: the model's.
        for tok in [gena(512), gena(40)] {
            for _ in 0..4000 {
                assert_same(&tok, &stress_seq(&mut next));
            }
            for edge in [
                &b""[..],
                b"-",
                b"--",
                b"NNNNNNNNN",
                b"NNNNNNNNNN",
                b"ANNNNNNNNNNNA-",
            ] {
                assert_same(&tok, edge);
            }
        }
    }

    /// Real Illumina reads (test-data/reads, both sexes' files) and their reverse complements.
    #[test]
    fn fast_path_gives_the_tokenizers_ids_on_real_reads() {
        let tok = gena(512);
        let mut n = 0;
        for file in [
            "ngsbits_sry.MALE.Illumina.hg19.primary.fastq.gz",
            "ngsbits_Statistics_mapqc_wgs.NA12878.FEMALE.chr22.GRCh38.primary.fastq.gz",
        ] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("test-data/reads")
                .join(file);
            let gz = flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap());
            for line in std::io::BufReader::new(gz)
                .lines()
                .skip(1)
                .step_by(4)
                .take(1500)
            {
                let read = line.unwrap().into_bytes();
                assert_same(&tok, &read);
                assert_same(&tok, &crate::chunk::reverse_complement(&read));
                n += 1;
            }
        }
        assert!(n >= 1500, "{n} reads");
    }

    #[test]
    fn other_bytes_and_layouts_go_to_the_tokenizers_crate() {
        let tok = gena(512);
        let fast = tok.fast.as_ref().unwrap();
        for seq in [&b"ACGTD"[..], b"acgt", b" ACGT", b"AC GT", b"AC[CLS]GT"] {
            assert!(fast.encode(seq).is_none());
            assert_eq!(tok.encode(seq), general(&tok, seq));
        }
        // Words past the fast path's longest go to the crate; one at the limit does not.
        let mut state = 0x853c_49e6_748f_ea9bu64;
        let long: Vec<u8> = (0..5000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                b"ACGT"[(state >> 40) as usize % 4]
            })
            .collect();
        let at_limit = [&long[..4096], b"-", &long[..2000]].concat();
        assert_same(&tok, &at_limit);
        for seq in [&long[..], &[&long[..100], b"-", &long[..]].concat()] {
            assert!(fast.encode(seq).is_none());
            assert_eq!(tok.encode(seq), general(&tok, seq));
        }
        let json = std::str::from_utf8(GENA_TOKENIZER_JSON).unwrap();
        let other_layouts = [
            json.replace("N{10,}", "N{5,}"),
            json.replace("\"content\": \"[MASK]\"", "\"content\": \"ACGT\""),
            json.replace("\"Isolated\"", "\"MergedWithNext\""),
        ];
        for (i, json) in other_layouts.iter().enumerate() {
            assert_ne!(
                json,
                std::str::from_utf8(GENA_TOKENIZER_JSON).unwrap(),
                "layout {i}"
            );
            let tok = GenaTokenizer::from_bytes(json.as_bytes(), Path::new("t.json"), 512, 3);
            assert!(!tok.unwrap().has_fast_path(), "layout {i}");
        }
    }

    #[test]
    fn pads_to_longest() {
        let b = TokenBatch::from_rows(&[vec![1, 5, 2], vec![1, 2]], 3);
        assert_eq!(b.seq_len, 3);
        assert_eq!(b.ids, vec![1, 5, 2, 1, 2, 3]);
        assert_eq!(b.row(1), &[1, 2]);
        assert_eq!(b.n_seqs(), 2);
    }
}
