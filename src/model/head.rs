//! The paper's multi-chunk head, `GenderChunkedClassifier` (GENA-LM.md §3.2).
//!
//! Per group of N chunk [CLS] vectors: `ReLU(chunk_embedding_proj)`, LayerNorm, then Q learned
//! queries cross-attend over the chunks (single head, full-width dot product scaled by
//! `1/sqrt(hidden)`, no chunk mask), the Q outputs are concatenated, LayerNorm'd, passed through two
//! ReLU layers and one logit. Dropout is identity at inference; training applies it with masks
//! drawn from a generator the caller seeds per micro-batch (not the backend's global one), so that
//! micro-batches computed side by side on several threads get the same masks in any order.

use burn::module::{Module, Param};
use burn::nn::{Dropout, LayerNorm, Linear};
use burn::tensor::activation::{relu, sigmoid, softmax};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use rand::rngs::StdRng;
use rand::Rng;

#[derive(Module, Debug)]
pub struct ChunkHead<B: Backend> {
    /// `query_vectors` `[Q, H]`.
    pub query_vectors: Param<Tensor<B, 2>>,
    pub chunk_embedding_proj: Linear<B>,
    pub query_layer: Linear<B>,
    pub key_layer: Linear<B>,
    pub value_layer: Linear<B>,
    pub ln_q: LayerNorm<B>,
    pub ln_kv: LayerNorm<B>,
    pub ln_mlp: LayerNorm<B>,
    pub dense1: Linear<B>,
    pub dense2: Linear<B>,
    pub classifier: Linear<B>,
    /// Ours, not the paper's: a per-chunk logit "this chunk holds Y sequence", trained with the
    /// sampler's chromosome labels (`train --chunk-loss-weight`); absent in the paper's checkpoints.
    pub chunk_classifier: Option<Linear<B>>,
    /// Ours (issue 18): a per-chunk logit "this chunk holds X sequence", trained likewise
    /// (`train --x-loss-weight`); it gives the X dosage and the karyotype.
    pub x_classifier: Option<Linear<B>>,
    pub dropout: Dropout,
}

/// The head's outputs for a batch of groups.
#[derive(Debug, Clone)]
pub struct HeadOutput<B: Backend> {
    /// `[groups]` logits (P(female) = sigmoid).
    pub logits: Tensor<B, 1>,
    /// `[groups, Q, N]` pre-softmax attention scores.
    pub scores: Tensor<B, 3>,
    /// `[groups, N]` per-chunk Y logits, when the head has a chunk classifier.
    pub chunk_logits: Option<Tensor<B, 2>>,
    /// `[groups, N]` per-chunk X logits, when the head has an X classifier.
    pub x_logits: Option<Tensor<B, 2>>,
}

impl<B: Backend> ChunkHead<B> {
    /// `cls` `[groups, N, H]` → logits and attention scores (no dropout).
    pub fn forward(&self, cls: Tensor<B, 3>) -> HeadOutput<B> {
        self.forward_train(cls, None)
    }

    /// As [`Self::forward`], with the two dropouts applied when `dropout` gives their generator.
    pub fn forward_train(
        &self,
        cls: Tensor<B, 3>,
        mut dropout: Option<&mut StdRng>,
    ) -> HeadOutput<B> {
        let [g, n, h] = cls.dims();
        let per_chunk = |l: &Linear<B>| l.forward(cls.clone()).reshape([g, n]);
        let chunk_logits = self.chunk_classifier.as_ref().map(per_chunk);
        let x_logits = self.x_classifier.as_ref().map(per_chunk);
        let c = relu(self.chunk_embedding_proj.forward(cls));
        let c = self.ln_kv.forward(c);
        let qv = self.ln_q.forward(self.query_vectors.val());
        let q = self.query_layer.forward(qv).unsqueeze::<3>(); // [1, Q, H]
        let k = self.key_layer.forward(c.clone()); // [g, N, H]
        let v = self.value_layer.forward(c);
        let nq = q.dims()[1];
        let scores = q.expand([g, nq, h]).matmul(k.transpose()) * (1.0 / (h as f64).sqrt());
        let attn = softmax(scores.clone(), 2);
        let pooled = attn.matmul(v).reshape([g, nq * h]);
        let x = self.ln_mlp.forward(pooled);
        let mut drop = |x: Tensor<B, 2>| match dropout.as_deref_mut() {
            Some(rng) => apply_dropout(x, self.dropout.prob, rng),
            None => x,
        };
        let x = drop(relu(self.dense1.forward(x)));
        let x = drop(relu(self.dense2.forward(x)));
        let logits = self.classifier.forward(x).reshape([g]);
        HeadOutput {
            logits,
            scores,
            chunk_logits,
            x_logits,
        }
    }
}

/// Inverted dropout: each element kept with probability `1 − prob` and scaled by `1 / (1 − prob)`.
fn apply_dropout<B: Backend>(x: Tensor<B, 2>, prob: f64, rng: &mut StdRng) -> Tensor<B, 2> {
    if prob <= 0.0 {
        return x;
    }
    let keep = 1.0 - prob;
    let [rows, cols] = x.dims();
    let mask: Vec<f32> = (0..rows * cols)
        .map(|_| {
            if rng.random::<f64>() < keep {
                (1.0 / keep) as f32
            } else {
                0.0
            }
        })
        .collect();
    let mask = Tensor::<B, 2>::from_data(TensorData::new(mask, [rows, cols]), &x.device());
    x * mask
}

impl<B: Backend> HeadOutput<B> {
    pub fn probabilities(&self) -> Tensor<B, 1> {
        sigmoid(self.logits.clone())
    }
}
