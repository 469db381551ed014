//! The burn side of training: a classifier on an autodiff backend, AdamW, gradient accumulation,
//! BCE-with-logits on P(female), and evaluation on the inner (non-autodiff) backend.
//!
//! Deviation from the paper's fine-tuning: no dropout inside the backbone (burn's fused attention
//! has none, and for small CPU models it matters little); the head's two dropouts (0.1) are kept.

use std::collections::BTreeMap;

use burn::module::AutodiffModule;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{AdamW, AdamWConfig, GradientsAccumulator, GradientsParams, Optimizer};
use burn::tensor::activation::relu;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};

use super::config::BertConfig;
use super::load::{export, load};
use super::weights::{RawTensor, WeightFile};
use super::{batch_tensors, Classifier};
use crate::error::ModelError;
use crate::tokenize::TokenBatch;

/// A classifier being trained.
pub struct TrainState<B: AutodiffBackend> {
    model: Option<Classifier<B>>,
    optim: OptimizerAdaptor<AdamW, Classifier<B>, B>,
    accum: GradientsAccumulator<Classifier<B>>,
    device: B::Device,
}

/// Mean binary cross-entropy with logits: `max(z,0) − z·y + log(1 + e^{−|z|})`.
fn bce_with_logits<B: Backend>(logits: Tensor<B, 1>, labels: Tensor<B, 1>) -> Tensor<B, 1> {
    let z = logits;
    let loss = relu(z.clone()) - z.clone() * labels + (z.abs().neg().exp() + 1.0).log();
    loss.mean()
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

    /// Forward + backward on one micro-batch of whole groups; gradients are accumulated, scaled
    /// by `scale` (the micro-batch's share of the step). The loss is the group BCE plus
    /// `chunk_weight` × the mean per-chunk BCE against `chunk_labels` (1 = chunk from the Y), when
    /// the head has a chunk classifier. Returns the micro-batch's mean loss.
    pub fn accumulate(
        &mut self,
        batch: &TokenBatch,
        labels: &[f32],
        chunk_labels: &[f32],
        chunk_weight: f32,
        n_chunks: usize,
        scale: f32,
    ) -> f32 {
        let model = self.model.as_ref().expect("model present between steps");
        let (ids, mask) = batch_tensors::<B>(batch, &self.device);
        let cls = model.bert.cls(ids, mask);
        let [rows, h] = cls.dims();
        let head = model.head.as_ref().expect("head");
        let out = head.forward(cls.reshape([rows / n_chunks, n_chunks, h]));
        let y = Tensor::<B, 1>::from_data(
            TensorData::new(labels.to_vec(), [labels.len()]),
            &self.device,
        );
        let mut loss = bce_with_logits(out.logits, y);
        if let (Some(cl), true) = (out.chunk_logits, chunk_weight > 0.0) {
            // Y chunks are rare (0.6–2% of a male genome): weight the classes equally.
            let n = chunk_labels.len();
            let pos = chunk_labels.iter().filter(|&&y| y > 0.5).count();
            let w: Vec<f32> = chunk_labels
                .iter()
                .map(|&y| match (pos, n - pos) {
                    (0, neg) => 1.0 / neg as f32,
                    (p, 0) => 1.0 / p as f32,
                    (p, neg) => 0.5 / if y > 0.5 { p as f32 } else { neg as f32 },
                })
                .collect();
            let dev = &self.device;
            let cy = Tensor::<B, 1>::from_data(TensorData::new(chunk_labels.to_vec(), [n]), dev);
            let w = Tensor::<B, 1>::from_data(TensorData::new(w, [n]), dev);
            let z = cl.reshape([n]);
            let per = relu(z.clone()) - z.clone() * cy + (z.abs().neg().exp() + 1.0).log();
            loss = loss + (per * w).sum() * chunk_weight;
        }
        let value = loss
            .clone()
            .into_data()
            .convert::<f32>()
            .into_vec::<f32>()
            .expect("float")[0];
        let grads = (loss * scale).backward();
        let grads = GradientsParams::from_grads(grads, model);
        self.accum.accumulate(model, grads);
        value
    }

    /// One optimizer step with the accumulated gradients.
    pub fn apply(&mut self, lr: f64) {
        let grads = self.accum.grads();
        let model = self.model.take().expect("model present");
        self.model = Some(self.optim.step(lr, model, grads));
    }

    /// P(female) for whole groups, without autodiff or dropout.
    pub fn predict(&self, batch: &TokenBatch, n_chunks: usize) -> Vec<f32> {
        let valid = self.model().valid();
        let scores = valid
            .predict(batch, n_chunks, &self.device)
            .expect("a head is present");
        scores.into_iter().map(|s| s.p_female).collect()
    }

    /// Diagnostics on whole groups: per-chunk Y logits (when the head has a chunk classifier) and
    /// the fraction of `ReLU(chunk_embedding_proj)` units that are active (a collapse to 0 makes
    /// every group's output the same).
    pub fn diagnose(&self, batch: &TokenBatch) -> (Option<Vec<f32>>, f32) {
        let valid = self.model().valid();
        let (ids, mask) = batch_tensors(batch, &self.device);
        let cls = valid.bert.cls(ids, mask);
        let head = valid.head.as_ref().expect("a head is present");
        let active = relu(head.chunk_embedding_proj.forward(cls.clone()))
            .greater_elem(0.0)
            .float()
            .mean();
        let active = active
            .into_data()
            .convert::<f32>()
            .into_vec::<f32>()
            .expect("float")[0];
        let chunk = head.chunk_classifier.as_ref().map(|c| {
            let n = batch.n_seqs();
            c.forward(cls)
                .reshape([n])
                .into_data()
                .convert::<f32>()
                .into_vec::<f32>()
                .expect("float")
        });
        (chunk, active)
    }

    /// The state dict in Hugging Face names.
    pub fn export(&self) -> BTreeMap<String, RawTensor> {
        let m = self.model();
        export(&m.bert, m.head.as_ref())
    }
}
