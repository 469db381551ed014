//! Fresh parameters as a Hugging Face state dict (then built by `load`, like any checkpoint):
//! BERT's initialisation — weights N(0, 0.02), biases 0, LayerNorm 1/0 — from a seeded RNG, so the
//! same seed gives the same model on any machine.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};

use super::config::BertConfig;
use super::load::SAVE_PREFIX;
use super::weights::RawTensor;

struct Init {
    rng: StdRng,
    normal: Normal<f32>,
    out: BTreeMap<String, RawTensor>,
}

impl Init {
    fn normal(&mut self, key: String, shape: Vec<usize>) {
        let n = shape.iter().product();
        let data = (0..n).map(|_| self.normal.sample(&mut self.rng)).collect();
        self.out.insert(key, RawTensor::new(shape, data));
    }
    fn constant(&mut self, key: String, n: usize, v: f32) {
        self.out.insert(key, RawTensor::new(vec![n], vec![v; n]));
    }
    fn linear(&mut self, base: &str, d_in: usize, d_out: usize) {
        self.normal(format!("{base}.weight"), vec![d_out, d_in]);
        self.constant(format!("{base}.bias"), d_out, 0.0);
    }
    fn layer_norm(&mut self, base: &str, d: usize) {
        self.constant(format!("{base}.weight"), d, 1.0);
        self.constant(format!("{base}.bias"), d, 0.0);
    }
}

fn new_init(seed: u64) -> Init {
    Init {
        rng: StdRng::seed_from_u64(seed),
        normal: Normal::new(0.0, 0.02).expect("valid normal"),
        out: BTreeMap::new(),
    }
}

/// A fresh backbone (pre-LN GENA-LM layout, keys under `model.`).
pub fn backbone(cfg: &BertConfig, seed: u64) -> BTreeMap<String, RawTensor> {
    let mut i = new_init(seed);
    let p = SAVE_PREFIX;
    let h = cfg.hidden_size;
    i.normal(
        format!("{p}embeddings.word_embeddings.weight"),
        vec![cfg.vocab_size, h],
    );
    i.normal(
        format!("{p}embeddings.position_embeddings.weight"),
        vec![cfg.max_position_embeddings, h],
    );
    i.normal(
        format!("{p}embeddings.token_type_embeddings.weight"),
        vec![cfg.type_vocab_size, h],
    );
    i.layer_norm(&format!("{p}embeddings.LayerNorm"), h);
    for l in 0..cfg.num_hidden_layers {
        let b = format!("{p}encoder.layer.{l}");
        if cfg.pre_layer_norm {
            i.layer_norm(&format!("{b}.pre_attention_ln"), h);
            i.layer_norm(&format!("{b}.post_attention_ln"), h);
        } else {
            i.layer_norm(&format!("{b}.attention.output.LayerNorm"), h);
            i.layer_norm(&format!("{b}.output.LayerNorm"), h);
        }
        for q in ["query", "key", "value"] {
            i.linear(&format!("{b}.attention.self.{q}"), h, h);
        }
        i.linear(&format!("{b}.attention.output.dense"), h, h);
        i.linear(&format!("{b}.intermediate.dense"), h, cfg.intermediate_size);
        i.linear(&format!("{b}.output.dense"), cfg.intermediate_size, h);
    }
    if cfg.final_layer_norm() {
        i.layer_norm(&format!("{p}encoder.last_layer_ln"), h);
    }
    i.out
}

/// A fresh paper head for hidden size `h` (as `GenderChunkedClassifier.__init__`), plus our
/// per-chunk Y classifier when `chunk_classifier`.
pub fn head(cfg: &BertConfig, seed: u64, chunk_classifier: bool) -> BTreeMap<String, RawTensor> {
    let mut i = new_init(seed ^ 0x5eed_4ead);
    let h = cfg.hidden_size;
    let q = cfg.num_query_vectors;
    i.normal("query_vectors".into(), vec![q, h]);
    for name in [
        "chunk_embedding_proj",
        "query_layer",
        "key_layer",
        "value_layer",
    ] {
        i.linear(name, h, h);
    }
    i.layer_norm("ln_q", h);
    i.layer_norm("ln_kv", h);
    i.layer_norm("ln_mlp", q * h);
    i.linear("dense1", q * h, h);
    i.linear("dense2", h, h / 2);
    i.linear("classifier", h / 2, 1);
    if chunk_classifier {
        i.linear("chunk_classifier", h, 1);
    }
    i.out
}

/// A fresh per-chunk X classifier (`x_classifier.*`), from a seed stream of its own so that adding
/// it changes no other initial weight.
pub fn x_head(cfg: &BertConfig, seed: u64) -> BTreeMap<String, RawTensor> {
    let mut i = new_init(seed ^ 0x0c40_0c40);
    i.linear("x_classifier", cfg.hidden_size, 1);
    i.out
}
