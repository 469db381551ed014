//! The burn side of training: a classifier on an autodiff backend, AdamW, data-parallel gradient
//! accumulation (micro-batches side by side on the rayon pool, summed in a fixed order),
//! BCE-with-logits on P(female), and evaluation on the inner (non-autodiff) backend.
//!
//! Deviation from the paper's fine-tuning: no dropout inside the backbone (burn's fused attention
//! has none, and for small CPU models it matters little); the head's two dropouts (0.1) are kept.

use std::collections::BTreeMap;

use burn::module::{AutodiffModule, Module};
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{AdamW, AdamWConfig, GradientsAccumulator, GradientsParams, Optimizer};
use burn::tensor::activation::relu;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rayon::prelude::*;

use super::config::BertConfig;
use super::load::{export, load};
use super::weights::{RawTensor, WeightFile};
use super::{batch_tensors, head_scores, to_vec, Classifier};
use crate::error::ModelError;
use crate::tokenize::TokenBatch;

/// A classifier being trained.
pub struct TrainState<B: AutodiffBackend> {
    model: Option<Classifier<B>>,
    optim: OptimizerAdaptor<AdamW, Classifier<B>, B>,
    accum: GradientsAccumulator<Classifier<B>>,
    device: B::Device,
}

/// Binary cross-entropy with logits, per element: `max(z,0) − z·y + log(1 + e^{−|z|})`.
fn bce_with_logits<B: Backend>(z: Tensor<B, 1>, labels: Tensor<B, 1>) -> Tensor<B, 1> {
    relu(z.clone()) - z.clone() * labels + (z.abs().neg().exp() + 1.0).log()
}

/// One micro-batch of whole groups, ready for the model.
pub struct MicroBatch {
    pub batch: TokenBatch,
    /// Per group: 1 female, 0 male.
    pub labels: Vec<f32>,
    /// Per chunk: 1 if it holds Y sequence.
    pub chunk_labels: Vec<f32>,
    /// Per chunk: 1 if it holds X sequence.
    pub x_labels: Vec<f32>,
    /// The micro-batch's share of the step (its groups / the step's groups).
    pub scale: f32,
    /// Seeds the head's dropout masks for this micro-batch.
    pub dropout_seed: u64,
}

/// The weights of the per-chunk losses beside the group loss.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChunkLossWeights {
    /// "This chunk holds Y sequence" (`train --chunk-loss-weight`).
    pub y: f32,
    /// "This chunk holds X sequence" (`train --x-loss-weight`).
    pub x: f32,
}

/// The loss of one micro-batch and its gradients, scaled by `mb.scale`, computed on a copy of
/// `model`'s parameters (fresh autodiff leaves, the same parameter ids). The loss is the group BCE
/// plus `weights.y` × the class-balanced per-chunk BCE against `chunk_labels` (1 = chunk from the
/// Y), when the head has a chunk classifier, and `weights.x` × the same against `x_labels`, when
/// it has an X classifier.
fn micro_gradients<B: AutodiffBackend>(
    model: &Classifier<B>,
    device: &B::Device,
    mb: &MicroBatch,
    weights: ChunkLossWeights,
    n_chunks: usize,
) -> (f32, GradientsParams) {
    let replica = model.clone().fork(device);
    let (ids, mask) = batch_tensors::<B>(&mb.batch, device);
    let cls = replica.bert.cls(ids, mask);
    let [rows, h] = cls.dims();
    let head = replica.head.as_ref().expect("head");
    let mut rng = StdRng::seed_from_u64(mb.dropout_seed);
    let out = head.forward_train(cls.reshape([rows / n_chunks, n_chunks, h]), Some(&mut rng));
    let n = mb.labels.len();
    let y = Tensor::<B, 1>::from_data(TensorData::new(mb.labels.clone(), [n]), device);
    let mut loss = bce_with_logits(out.logits, y).mean();
    let per_chunk = [
        (out.chunk_logits, &mb.chunk_labels, weights.y),
        (out.x_logits, &mb.x_labels, weights.x),
    ];
    for (logits, labels, weight) in per_chunk {
        if let (Some(cl), true) = (logits, weight > 0.0) {
            let n = labels.len();
            let w = chunk_weights(labels);
            let cy = Tensor::<B, 1>::from_data(TensorData::new(labels.clone(), [n]), device);
            let w = Tensor::<B, 1>::from_data(TensorData::new(w, [n]), device);
            let per = bce_with_logits(cl.reshape([n]), cy);
            loss = loss + (per * w).sum() * weight;
        }
    }
    let value = to_vec(loss.clone())[0];
    let grads = (loss * mb.scale).backward();
    (value, GradientsParams::from_grads(grads, &replica))
}

/// Per-chunk loss weights: Y chunks are rare (0.6–2% of a male genome), X chunks a few percent,
/// so each class weighs half.
fn chunk_weights(labels: &[f32]) -> Vec<f32> {
    let n = labels.len();
    let pos = labels.iter().filter(|&&y| y > 0.5).count();
    labels
        .iter()
        .map(|&y| match (pos, n - pos) {
            (0, neg) => 1.0 / neg as f32,
            (p, 0) => 1.0 / p as f32,
            (p, neg) => 0.5 / if y > 0.5 { p as f32 } else { neg as f32 },
        })
        .collect()
}

impl<B: AutodiffBackend> TrainState<B> {
    /// Builds the model from a state dict (pretrained backbone and/or initialised head).
    pub fn new(
        file: &WeightFile,
        config: &BertConfig,
        seed: u64,
        device: B::Device,
    ) -> Result<Self, ModelError> {
        B::seed(&device, seed);
        let l = load::<B>(file, config, &device)?;
        if l.head.is_none() {
            return Err(ModelError::Device("training needs a head".into()));
        }
        let optim = AdamWConfig::new()
            .with_weight_decay(0.0)
            .with_epsilon(1e-8)
            .init::<B, Classifier<B>>();
        Ok(Self {
            model: Some(Classifier {
                bert: l.bert,
                head: l.head,
            }),
            optim,
            accum: GradientsAccumulator::new(),
            device,
        })
    }

    fn model(&self) -> &Classifier<B> {
        self.model.as_ref().expect("model present between steps")
    }

    /// Forward + backward on the micro-batches of one step; their gradients, each scaled by its
    /// micro-batch's `scale`, are added to the step's in the order given. The micro-batches run
    /// side by side on the rayon pool (one per thread at a time), each on its own copy of the
    /// parameters (its own autodiff graph), so the sum, and the model, are the same for any
    /// number of threads.
    /// Returns each micro-batch's mean loss.
    pub fn accumulate(
        &mut self,
        micro: &[MicroBatch],
        weights: ChunkLossWeights,
        n_chunks: usize,
    ) -> Vec<f32> {
        let model = self.model.as_ref().expect("model present between steps");
        let device = &self.device;
        let mut losses = Vec::with_capacity(micro.len());
        // In waves of one micro-batch per thread: at most that many gradient sets are held at once.
        for wave in micro.chunks(rayon::current_num_threads().max(1)) {
            let done: Vec<(f32, GradientsParams)> = wave
                .par_iter()
                .map(|mb| micro_gradients(model, device, mb, weights, n_chunks))
                .collect();
            for (loss, grads) in done {
                self.accum.accumulate(model, grads);
                losses.push(loss);
            }
        }
        losses
    }

    /// One optimizer step with the accumulated gradients.
    pub fn apply(&mut self, lr: f64) {
        let grads = self.accum.grads();
        let model = self.model.take().expect("model present");
        self.model = Some(self.optim.step(lr, model, grads));
    }

    /// The current model without autodiff or dropout, for validation.
    pub fn validator(&self) -> Validator<B::InnerBackend> {
        Validator {
            model: self.model().valid(),
            device: self.device.clone(),
        }
    }

    /// The state dict in Hugging Face names.
    pub fn export(&self) -> BTreeMap<String, RawTensor> {
        let m = self.model();
        export(&m.bert, m.head.as_ref())
    }
}

/// The model being trained, frozen for a validation pass; it can score batches on many threads.
pub struct Validator<B: Backend> {
    model: Classifier<B>,
    device: B::Device,
}

/// A validation batch's scores.
pub struct ValidScores {
    /// Per group: P(female).
    pub p_female: Vec<f32>,
    /// Per chunk: the Y logit, when the head has a chunk classifier.
    pub chunk_logits: Option<Vec<f32>>,
    /// Per chunk: the X logit, when the head has an X classifier.
    pub x_logits: Option<Vec<f32>>,
    /// The fraction of `ReLU(chunk_embedding_proj)` units that are active (a collapse to 0 makes
    /// every group's output the same).
    pub active: f32,
}

impl<B: Backend> Validator<B> {
    /// Scores whole groups of `n_chunks` chunks.
    pub fn score(&self, batch: &TokenBatch, n_chunks: usize) -> ValidScores {
        let (ids, mask) = batch_tensors::<B>(batch, &self.device);
        let cls = self.model.bert.cls(ids, mask);
        let [rows, h] = cls.dims();
        let head = self.model.head.as_ref().expect("a head is present");
        let active = relu(head.chunk_embedding_proj.forward(cls.clone()))
            .greater_elem(0.0)
            .float()
            .mean();
        let active = to_vec(active)[0];
        let groups = head_scores(Some(head), cls.reshape([rows / n_chunks, n_chunks, h]))
            .expect("a head is present");
        ValidScores {
            p_female: groups.iter().map(|g| g.p_female).collect(),
            chunk_logits: head
                .chunk_classifier
                .is_some()
                .then(|| groups.iter().flat_map(|g| g.chunk_logits.clone()).collect()),
            x_logits: head
                .x_classifier
                .is_some()
                .then(|| groups.iter().flat_map(|g| g.x_logits.clone()).collect()),
            active,
        }
    }
}
