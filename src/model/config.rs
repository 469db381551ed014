//! The Hugging Face `config.json` of a GENA-LM model directory.
//!
//! Only what the forward pass needs is read; unknown fields are ignored so that configs written by
//! any transformers version load. The paper's classifier adds `num_query_vectors` and
//! `head_layer_norm_eps` (its trainer's keyword arguments); both have the paper's defaults.

use serde::{Deserialize, Serialize};

/// Backbone (BERT) geometry and flags, as in `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BertConfig {
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub vocab_size: usize,
    pub max_position_embeddings: usize,
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: usize,
    #[serde(default = "default_bert_eps")]
    pub layer_norm_eps: f64,
    #[serde(default = "default_pad")]
    pub pad_token_id: u32,
    /// GENA-LM's flag: LayerNorm before attention and before the FFN (GENA-LM.md §1.2).
    #[serde(default)]
    pub pre_layer_norm: bool,
    /// GENA-LM's flag: a final LayerNorm after the last layer. The authors' code defaults it to
    /// `pre_layer_norm` when absent; [`BertConfig::final_layer_norm`] does the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_layer_norm: Option<bool>,
    #[serde(default = "default_act")]
    pub hidden_act: String,
    /// Head: number of trainable query vectors (paper: 4).
    #[serde(default = "default_queries")]
    pub num_query_vectors: usize,
    /// Head: LayerNorm epsilon of `ln_q`, `ln_kv`, `ln_mlp` (paper: 1e-5).
    #[serde(default = "default_head_eps")]
    pub head_layer_norm_eps: f64,
    /// Chunks per group as the paper's trainer records it (`genosift.json` takes precedence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_chunks: Option<usize>,
    /// Chunk length in bp as the paper's trainer records it (`genosift.json` takes precedence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk_len: Option<usize>,
}

fn default_type_vocab() -> usize {
    2
}
fn default_bert_eps() -> f64 {
    1e-12
}
fn default_pad() -> u32 {
    3
}
fn default_act() -> String {
    "gelu".to_string()
}
fn default_queries() -> usize {
    4
}
fn default_head_eps() -> f64 {
    1e-5
}

impl BertConfig {
    /// Whether the encoder ends with `encoder.last_layer_ln` (GENA-LM.md §1.2).
    pub fn final_layer_norm(&self) -> bool {
        self.pre_layer_norm && self.last_layer_norm.unwrap_or(self.pre_layer_norm)
    }

    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }

    /// Checks what the forward pass relies on; returns the first problem found.
    pub fn validate(&self) -> Result<(), String> {
        if self.hidden_size == 0 || self.num_attention_heads == 0 || self.num_hidden_layers == 0 {
            return Err(
                "hidden_size, num_attention_heads and num_hidden_layers must be > 0".into(),
            );
        }
        if !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return Err(format!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            ));
        }
        if self.hidden_act != "gelu" {
            return Err(format!(
                "hidden_act '{}' is not supported (GENA-LM uses the exact erf 'gelu')",
                self.hidden_act
            ));
        }
        if self.max_position_embeddings < 3 {
            return Err("max_position_embeddings must be at least 3 ([CLS] x [SEP])".into());
        }
        if self.type_vocab_size == 0 {
            return Err("type_vocab_size must be > 0".into());
        }
        if self.num_query_vectors == 0 {
            return Err("num_query_vectors must be > 0".into());
        }
        Ok(())
    }

    /// A GENA-LM-shaped backbone from scratch, for training small models on a CPU.
    pub fn preset(name: &str, vocab_size: usize) -> Option<Self> {
        let (hidden, layers, heads, inter) = match name {
            "tiny" => (32, 2, 4, 128),
            "small" => (64, 4, 4, 256),
            "base" => (768, 12, 12, 3072),
            _ => return None,
        };
        Some(Self {
            hidden_size: hidden,
            num_hidden_layers: layers,
            num_attention_heads: heads,
            intermediate_size: inter,
            vocab_size,
            max_position_embeddings: 512,
            type_vocab_size: 2,
            layer_norm_eps: 1e-12,
            pad_token_id: 3,
            pre_layer_norm: true,
            last_layer_norm: Some(false),
            hidden_act: "gelu".into(),
            num_query_vectors: 4,
            head_layer_norm_eps: 1e-5,
            n_chunks: None,
            chunk_len: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_layer_norm_defaults_to_pre_layer_norm() {
        let mut c = BertConfig::preset("tiny", 32000).unwrap();
        c.last_layer_norm = None;
        assert!(c.final_layer_norm());
        c.last_layer_norm = Some(false);
        assert!(!c.final_layer_norm());
        c.pre_layer_norm = false;
        c.last_layer_norm = Some(true);
        assert!(!c.final_layer_norm(), "post-LN BERT has no last_layer_ln");
    }

    #[test]
    fn rejects_bad_geometry() {
        let mut c = BertConfig::preset("tiny", 32000).unwrap();
        c.num_attention_heads = 3;
        assert!(c.validate().unwrap_err().contains("multiple"));
        let mut c = BertConfig::preset("tiny", 32000).unwrap();
        c.hidden_act = "relu".into();
        assert!(c.validate().is_err());
    }
}
