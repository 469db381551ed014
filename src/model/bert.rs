//! GENA-LM's BERT encoder in burn.
//!
//! Mirrors `BertEmbeddings`, `BertLayer` and `BertEncoder` of the authors'
//! `src/gena_lm/modeling_bert.py` (GENA-LM.md §1.2 and §1.4). Both layer-norm placements are
//! supported: pre-LN (GENA-LM: `pre_attention_ln` before attention, `post_attention_ln` before the
//! FFN, optional `last_layer_ln`) and post-LN (original BERT: `attention.output.LayerNorm` and
//! `output.LayerNorm` after each residual).

use burn::module::Module;
use burn::nn::{Embedding, LayerNorm, Linear};
use burn::tensor::activation::{gelu, softmax};
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};

/// `BertEmbeddings`: word + position + token-type(0), then LayerNorm (applied in pre-LN mode too).
#[derive(Module, Debug)]
pub struct Embeddings<B: Backend> {
    pub word: Embedding<B>,
    pub position: Embedding<B>,
    pub token_type: Embedding<B>,
    pub layer_norm: LayerNorm<B>,
}

impl<B: Backend> Embeddings<B> {
    /// `ids` `[batch, seq]` → `[batch, seq, hidden]`. Position ids are `0..seq` (no padding
    /// offset), token types all 0 (GENA-LM.md §1.1).
    pub fn forward(&self, ids: Tensor<B, 2, Int>) -> Tensor<B, 3> {
        let [_, seq] = ids.dims();
        let words = self.word.forward(ids);
        let positions = self.position.weight.val().slice([0..seq]).unsqueeze::<3>();
        let types = self.token_type.weight.val().slice([0..1]).unsqueeze::<3>();
        self.layer_norm.forward(words + positions + types)
    }
}

/// One `BertLayer`.
#[derive(Module, Debug)]
pub struct Layer<B: Backend> {
    /// Pre-LN only: `pre_attention_ln`.
    pub pre_attention_ln: Option<LayerNorm<B>>,
    pub query: Linear<B>,
    pub key: Linear<B>,
    pub value: Linear<B>,
    /// `attention.output.dense`.
    pub attention_out: Linear<B>,
    /// Post-LN only: `attention.output.LayerNorm`.
    pub attention_out_ln: Option<LayerNorm<B>>,
    /// Pre-LN only: `post_attention_ln`, the LayerNorm *before* the FFN despite its name.
    pub post_attention_ln: Option<LayerNorm<B>>,
    /// `intermediate.dense`, followed by erf GELU.
    pub intermediate: Linear<B>,
    /// `output.dense`.
    pub output: Linear<B>,
    /// Post-LN only: `output.LayerNorm`.
    pub output_ln: Option<LayerNorm<B>>,
    pub num_heads: usize,
}

impl<B: Backend> Layer<B> {
    /// `x` `[b, t, h]`, `mask_bias` `[b, 1, 1, t]` (0 for tokens, `f32::MIN` for padding).
    pub fn forward(&self, x: Tensor<B, 3>, mask_bias: Tensor<B, 4>) -> Tensor<B, 3> {
        let attn_in = match &self.pre_attention_ln {
            Some(ln) => ln.forward(x.clone()),
            None => x.clone(),
        };
        let a = self.attention_out.forward(self.self_attention(attn_in, mask_bias));
        let mut h = x + a;
        if let Some(ln) = &self.attention_out_ln {
            h = ln.forward(h);
        }
        let ffn_in = match &self.post_attention_ln {
            Some(ln) => ln.forward(h.clone()),
            None => h.clone(),
        };
        let f = self
            .output
            .forward(gelu(self.intermediate.forward(ffn_in)));
        let mut out = h + f;
        if let Some(ln) = &self.output_ln {
            out = ln.forward(out);
        }
        out
    }

    /// `BertSelfAttention`: heads are contiguous slices of the projections, scores scaled by
    /// `1/sqrt(head_dim)`, additive mask, softmax over keys.
    fn self_attention(&self, x: Tensor<B, 3>, mask_bias: Tensor<B, 4>) -> Tensor<B, 3> {
        let [b, t, h] = x.dims();
        let nh = self.num_heads;
        let hd = h / nh;
        let split = |y: Tensor<B, 3>| y.reshape([b, t, nh, hd]).swap_dims(1, 2);
        let q = split(self.query.forward(x.clone()));
        let k = split(self.key.forward(x.clone()));
        let v = split(self.value.forward(x));
        let scores = q.matmul(k.transpose()) * (1.0 / (hd as f64).sqrt()) + mask_bias;
        let probs = softmax(scores, 3);
        probs.matmul(v).swap_dims(1, 2).reshape([b, t, h])
    }
}

/// `BertModel` without pooler: embeddings, layers, optional `last_layer_ln`.
#[derive(Module, Debug)]
pub struct Bert<B: Backend> {
    pub embeddings: Embeddings<B>,
    pub layers: Vec<Layer<B>>,
    pub last_layer_ln: Option<LayerNorm<B>>,
}

/// Additive attention-mask bias, as HF's `get_extended_attention_mask`:
/// `(1 - mask) * finfo(float32).min`.
pub fn mask_bias<B: Backend>(mask: Tensor<B, 2>) -> Tensor<B, 4> {
    let [b, t] = mask.dims();
    ((mask.neg() + 1.0) * f32::MIN as f64).reshape([b, 1, 1, t])
}

impl<B: Backend> Bert<B> {
    /// Every hidden state: the embeddings' output, then each layer's (the last one after
    /// `last_layer_ln` if the model has it), as HF's `output_hidden_states`.
    pub fn forward_all(&self, ids: Tensor<B, 2, Int>, mask: Tensor<B, 2>) -> Vec<Tensor<B, 3>> {
        let bias = mask_bias(mask);
        let mut x = self.embeddings.forward(ids);
        let mut states = vec![x.clone()];
        for layer in &self.layers {
            x = layer.forward(x, bias.clone());
            states.push(x.clone());
        }
        if let Some(ln) = &self.last_layer_ln {
            let last = states.pop().expect("at least the embeddings");
            states.push(ln.forward(last));
        }
        states
    }

    /// `last_hidden_state` `[b, t, h]`.
    pub fn forward(&self, ids: Tensor<B, 2, Int>, mask: Tensor<B, 2>) -> Tensor<B, 3> {
        let bias = mask_bias(mask);
        let mut x = self.embeddings.forward(ids);
        for layer in &self.layers {
            x = layer.forward(x, bias.clone());
        }
        match &self.last_layer_ln {
            Some(ln) => ln.forward(x),
            None => x,
        }
    }

    /// The [CLS] vectors `[b, h]` (token 0 of the last hidden state; no pooler).
    pub fn cls(&self, ids: Tensor<B, 2, Int>, mask: Tensor<B, 2>) -> Tensor<B, 2> {
        let x = self.forward(ids, mask);
        let [b, _, h] = x.dims();
        x.slice([0..b, 0..1, 0..h]).reshape([b, h])
    }
}
