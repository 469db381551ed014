//! GENA-LM backbone and the paper's head in burn: everything burn-specific lives in this folder.
//!
//! Outside, the model is an [`Engine`]: token batches ([`crate::tokenize::TokenBatch`]) in, plain
//! vectors out. Moving to another burn version touches only `model/`.

pub mod bert;
pub mod config;
pub mod device;
pub mod head;
pub mod init;
pub mod load;
pub mod train;
pub mod weights;

use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};

use self::bert::Bert;
use self::config::BertConfig;
pub use self::device::DeviceKind;
use self::head::ChunkHead;
use self::weights::{RawTensor, WeightFile};
use crate::error::ModelError;
use crate::tokenize::TokenBatch;

/// Backbone plus (optionally) the paper's head.
#[derive(Module, Debug)]
pub struct Classifier<B: Backend> {
    pub bert: Bert<B>,
    pub head: Option<ChunkHead<B>>,
}

/// One group's prediction.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupScore {
    pub logit: f32,
    /// sigmoid(logit) = P(female).
    pub p_female: f32,
    /// Pre-softmax attention scores, `[queries, chunks]` row-major.
    pub scores: Vec<f32>,
    /// Softmax of `scores` over chunks, per query, same layout.
    pub attention: Vec<f32>,
    /// Per-chunk Y logits, when the head has a chunk classifier (else empty).
    pub chunk_logits: Vec<f32>,
}

/// Token batch → backend tensors (`ids`, float `mask`).
pub fn batch_tensors<B: Backend>(
    batch: &TokenBatch,
    device: &B::Device,
) -> (Tensor<B, 2, Int>, Tensor<B, 2>) {
    let (n, t) = (batch.n_seqs(), batch.seq_len);
    let ids: Vec<i64> = batch.ids.iter().map(|&i| i as i64).collect();
    let mut mask = vec![0f32; n * t];
    for (i, &len) in batch.lengths.iter().enumerate() {
        mask[i * t..i * t + len].fill(1.0);
    }
    (
        Tensor::from_data(TensorData::new(ids, [n, t]), device),
        Tensor::from_data(TensorData::new(mask, [n, t]), device),
    )
}

fn to_vec<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .into_vec::<f32>()
        .expect("float tensor")
}

impl<B: Backend> Classifier<B> {
    fn cls(&self, batch: &TokenBatch, device: &B::Device) -> Tensor<B, 2> {
        let (ids, mask) = batch_tensors::<B>(batch, device);
        self.bert.cls(ids, mask)
    }

    fn head_scores(&self, cls: Tensor<B, 3>) -> Result<Vec<GroupScore>, ModelError> {
        let head = self.head.as_ref().ok_or_else(|| {
            ModelError::Device("this model has no classification head (query_vectors)".into())
        })?;
        let [g, n, _] = cls.dims();
        let out = head.forward(cls);
        let nq = out.scores.dims()[1];
        let probs = to_vec(out.probabilities());
        let logits = to_vec(out.logits);
        let attn = to_vec(burn::tensor::activation::softmax(out.scores.clone(), 2));
        let scores = to_vec(out.scores);
        let chunk = out.chunk_logits.map(to_vec);
        let w = nq * n;
        Ok((0..g)
            .map(|i| GroupScore {
                logit: logits[i],
                p_female: probs[i],
                scores: scores[i * w..(i + 1) * w].to_vec(),
                attention: attn[i * w..(i + 1) * w].to_vec(),
                chunk_logits: chunk
                    .as_ref()
                    .map_or(Vec::new(), |c| c[i * n..(i + 1) * n].to_vec()),
            })
            .collect())
    }

    fn predict(
        &self,
        batch: &TokenBatch,
        n_chunks: usize,
        device: &B::Device,
    ) -> Result<Vec<GroupScore>, ModelError> {
        let cls = self.cls(batch, device);
        let [rows, h] = cls.dims();
        assert_eq!(rows % n_chunks, 0, "batch rows are whole groups");
        self.head_scores(cls.reshape([rows / n_chunks, n_chunks, h]))
    }
}

enum Inner {
    Cpu(Classifier<device::Cpu>),
    #[cfg(feature = "cuda")]
    Cuda(Classifier<device::Cuda>),
}

/// A loaded model on its device.
pub struct Engine {
    inner: Inner,
    pub config: BertConfig,
}

/// Runs `$body` with `$m` bound to the classifier and `$dev` to its device, whatever the backend.
macro_rules! with_model {
    ($self:expr, $m:ident, $dev:ident => $body:expr) => {
        match &$self.inner {
            Inner::Cpu($m) => {
                let $dev = &burn::tensor::Device::<device::Cpu>::default();
                $body
            }
            #[cfg(feature = "cuda")]
            Inner::Cuda($m) => {
                let $dev = &burn::tensor::Device::<device::Cuda>::default();
                $body
            }
        }
    };
}

impl Engine {
    /// Builds the model from a weight file. Returns it with the keys that were left unused.
    pub fn load(
        file: &WeightFile,
        config: &BertConfig,
        kind: DeviceKind,
    ) -> Result<(Self, Vec<String>), ModelError> {
        device::check_available(kind)?;
        let (inner, unused) = match kind {
            DeviceKind::Cpu => {
                let dev = Default::default();
                let l = load::load::<device::Cpu>(file, config, &dev)?;
                (
                    Inner::Cpu(Classifier {
                        bert: l.bert,
                        head: l.head,
                    }),
                    l.unused,
                )
            }
            #[cfg(feature = "cuda")]
            DeviceKind::Cuda => {
                let dev = Default::default();
                let l = load::load::<device::Cuda>(file, config, &dev)?;
                (
                    Inner::Cuda(Classifier {
                        bert: l.bert,
                        head: l.head,
                    }),
                    l.unused,
                )
            }
            #[cfg(not(feature = "cuda"))]
            DeviceKind::Cuda => unreachable!("check_available refuses CUDA without the feature"),
        };
        Ok((
            Self {
                inner,
                config: config.clone(),
            },
            unused,
        ))
    }

    pub fn has_head(&self) -> bool {
        with_model!(self, m, _dev => m.head.is_some())
    }

    /// Whether the head has the per-chunk Y classifier (`train --chunk-loss-weight`).
    pub fn has_chunk_classifier(&self) -> bool {
        with_model!(self, m, _dev => m.head.as_ref().is_some_and(|h| h.chunk_classifier.is_some()))
    }

    /// Per-chunk Y logits of any number of chunks (no group needed), when the head has a chunk
    /// classifier.
    pub fn chunk_logits(&self, batch: &TokenBatch) -> Option<Vec<f32>> {
        with_model!(self, m, dev => {
            let classifier = m.head.as_ref()?.chunk_classifier.as_ref()?;
            let n = batch.n_seqs();
            Some(to_vec(classifier.forward(m.cls(batch, dev)).reshape([n])))
        })
    }

    /// [CLS] vectors, `[n_seqs × hidden]` row-major.
    pub fn cls(&self, batch: &TokenBatch) -> Vec<f32> {
        with_model!(self, m, dev => to_vec(m.cls(batch, dev)))
    }

    /// Every hidden state (embeddings output, then each layer), as `[n, t, h]` tensors.
    pub fn hidden_states(&self, batch: &TokenBatch) -> Vec<RawTensor> {
        with_model!(self, m, dev => {
            let (ids, mask) = batch_tensors(batch, dev);
            m.bert
                .forward_all(ids, mask)
                .into_iter()
                .map(|t| {
                    let shape = t.dims().to_vec();
                    RawTensor::new(shape, to_vec(t))
                })
                .collect()
        })
    }

    /// Group predictions for a batch of whole groups (`n_chunks` consecutive rows each).
    pub fn predict(
        &self,
        batch: &TokenBatch,
        n_chunks: usize,
    ) -> Result<Vec<GroupScore>, ModelError> {
        with_model!(self, m, dev => m.predict(batch, n_chunks, dev))
    }

    /// The head alone on given [CLS] vectors `[groups, chunks, hidden]`.
    pub fn head_only(&self, cls: &RawTensor) -> Result<Vec<GroupScore>, ModelError> {
        with_model!(self, m, dev => {
            let t = Tensor::from_data(TensorData::new(cls.data.clone(), cls.shape.clone()), dev);
            m.head_scores(t)
        })
    }
}
