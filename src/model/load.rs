//! Hugging Face state dict ↔ burn modules.
//!
//! The key table follows GENA-LM.md §1.3 (backbone) and §3.2 (head). Backbone keys may carry the
//! prefix `bert.` (BertForMaskedLM, the public checkpoint), `model.` (the paper's classifier as its
//! trainer saves it) or none (a bare BertModel). `cls.*` and `*.position_ids` are ignored; any
//! other key left over is reported. A missing or mis-shaped tensor is an error naming it and both
//! shapes. Torch `Linear.weight` is `[out, in]`; burn's is `[in, out]`: transposed here, once.

use std::collections::{BTreeMap, BTreeSet};

use burn::module::Param;
use burn::nn::{Dropout, DropoutConfig, Embedding, LayerNorm, LayerNormConfig, Linear};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};

use super::bert::{Bert, Embeddings, Layer};
use super::config::BertConfig;
use super::head::ChunkHead;
use super::weights::{RawTensor, WeightFile};
use crate::error::ModelError;

/// Backbone key prefixes we recognise, in order of detection.
const PREFIXES: [&str; 2] = ["bert.", "model."];
/// The prefix written when we save a classifier (as the paper's trainer does).
pub const SAVE_PREFIX: &str = "model.";

struct Loader<'a, B: Backend> {
    file: &'a WeightFile,
    prefix: String,
    used: BTreeSet<String>,
    device: &'a B::Device,
}

impl<'a, B: Backend> Loader<'a, B> {
    fn take(&mut self, key: &str, shape: &[usize]) -> Result<&'a RawTensor, ModelError> {
        let t = self
            .file
            .tensors
            .get(key)
            .ok_or_else(|| ModelError::MissingTensor {
                path: self.file.path.clone(),
                name: key.to_string(),
                expected: shape.to_vec(),
            })?;
        if t.shape != shape {
            return Err(ModelError::Shape {
                path: self.file.path.clone(),
                name: key.to_string(),
                found: t.shape.clone(),
                expected: shape.to_vec(),
            });
        }
        self.used.insert(key.to_string());
        Ok(t)
    }

    fn has(&self, key: &str) -> bool {
        self.file.tensors.contains_key(key)
    }

    fn tensor<const D: usize>(&self, t: &RawTensor) -> Tensor<B, D> {
        Tensor::from_data(
            TensorData::new(t.data.clone(), t.shape.clone()),
            self.device,
        )
    }

    fn param1(&mut self, key: &str, n: usize) -> Result<Param<Tensor<B, 1>>, ModelError> {
        let t = self.take(key, &[n])?;
        Ok(Param::from_tensor(self.tensor(t)))
    }

    fn linear(&mut self, base: &str, d_in: usize, d_out: usize) -> Result<Linear<B>, ModelError> {
        let w = self
            .take(&format!("{base}.weight"), &[d_out, d_in])?
            .transposed();
        let b = self.param1(&format!("{base}.bias"), d_out)?;
        Ok(Linear {
            weight: Param::from_tensor(self.tensor(&w)),
            bias: Some(b),
        })
    }

    /// LayerNorm under `base`, with `weight`/`bias` names or the old `gamma`/`beta`.
    fn layer_norm(&mut self, base: &str, d: usize, eps: f64) -> Result<LayerNorm<B>, ModelError> {
        let (w, b) = if self.has(&format!("{base}.gamma")) {
            ("gamma", "beta")
        } else {
            ("weight", "bias")
        };
        let mut ln = LayerNormConfig::new(d).with_epsilon(eps).init(self.device);
        ln.gamma = self.param1(&format!("{base}.{w}"), d)?;
        ln.beta = Some(self.param1(&format!("{base}.{b}"), d)?);
        Ok(ln)
    }

    fn embedding(&mut self, key: &str, rows: usize, d: usize) -> Result<Embedding<B>, ModelError> {
        let t = self.take(key, &[rows, d])?;
        Ok(Embedding {
            weight: Param::from_tensor(self.tensor(t)),
        })
    }
}

/// Which backbone prefix a weight file uses.
pub fn detect_prefix(file: &WeightFile) -> String {
    let probe = "embeddings.word_embeddings.weight";
    for p in PREFIXES {
        if file.tensors.contains_key(&format!("{p}{probe}")) {
            return p.to_string();
        }
    }
    String::new()
}

/// Whether a weight file holds the paper's head.
pub fn has_head(file: &WeightFile) -> bool {
    file.tensors.contains_key("query_vectors")
}

/// The paper head's parameter names.
const HEAD_KEYS: [&str; 13] = [
    "query_vectors",
    "chunk_embedding_proj",
    "query_layer",
    "key_layer",
    "value_layer",
    "ln_q",
    "ln_kv",
    "ln_mlp",
    "dense1",
    "dense2",
    "classifier",
    "chunk_classifier",
    "x_classifier",
];

fn is_head_key(key: &str) -> bool {
    HEAD_KEYS
        .iter()
        .any(|h| key == *h || key.strip_prefix(h).is_some_and(|r| r.starts_with('.')))
}

/// A checkpoint's tensors under the names we save: backbone keys re-prefixed `model.`, head keys
/// as they are, `cls.*` and `position_ids` dropped.
pub fn rekey_for_saving(file: WeightFile) -> BTreeMap<String, RawTensor> {
    let prefix = detect_prefix(&file);
    file.tensors
        .into_iter()
        .filter(|(k, _)| !is_ignored(k))
        .filter_map(|(k, v)| {
            if is_head_key(&k) {
                Some((k, v))
            } else {
                k.strip_prefix(prefix.as_str())
                    .map(|rest| (format!("{SAVE_PREFIX}{rest}"), v))
            }
        })
        .collect()
}

fn is_ignored(key: &str) -> bool {
    key.starts_with("cls.") || key.ends_with("position_ids")
}

/// What [`load`] builds from a weight file.
pub struct Loaded<B: Backend> {
    pub bert: Bert<B>,
    pub head: Option<ChunkHead<B>>,
    /// Keys that were neither used nor ignorable.
    pub unused: Vec<String>,
}

/// Builds the backbone (and the head, if the file has one) from a weight file.
pub fn load<B: Backend>(
    file: &WeightFile,
    cfg: &BertConfig,
    device: &B::Device,
) -> Result<Loaded<B>, ModelError> {
    let mut l = Loader::<B> {
        file,
        prefix: detect_prefix(file),
        used: BTreeSet::new(),
        device,
    };
    let h = cfg.hidden_size;
    let eps = cfg.layer_norm_eps;
    let p = l.prefix.clone();
    let embeddings = Embeddings {
        word: l.embedding(
            &format!("{p}embeddings.word_embeddings.weight"),
            cfg.vocab_size,
            h,
        )?,
        position: l.embedding(
            &format!("{p}embeddings.position_embeddings.weight"),
            cfg.max_position_embeddings,
            h,
        )?,
        token_type: l.embedding(
            &format!("{p}embeddings.token_type_embeddings.weight"),
            cfg.type_vocab_size,
            h,
        )?,
        layer_norm: l.layer_norm(&format!("{p}embeddings.LayerNorm"), h, eps)?,
    };
    let layers = (0..cfg.num_hidden_layers)
        .map(|i| load_layer(&mut l, cfg, i))
        .collect::<Result<Vec<_>, _>>()?;
    let last_layer_ln = if cfg.final_layer_norm() {
        Some(l.layer_norm(&format!("{p}encoder.last_layer_ln"), h, eps)?)
    } else {
        None
    };
    let bert = Bert {
        embeddings,
        layers,
        last_layer_ln,
    };

    let head = if has_head(file) {
        Some(load_head(&mut l, cfg)?)
    } else {
        None
    };

    let unused = file
        .tensors
        .keys()
        .filter(|k| !l.used.contains(*k) && !is_ignored(k))
        .cloned()
        .collect();
    Ok(Loaded { bert, head, unused })
}

/// Encoder layer `i` (pre- or post-layer-norm, as the config says).
fn load_layer<B: Backend>(
    l: &mut Loader<B>,
    cfg: &BertConfig,
    i: usize,
) -> Result<Layer<B>, ModelError> {
    let (h, eps, p) = (cfg.hidden_size, cfg.layer_norm_eps, l.prefix.clone());
    let b = format!("{p}encoder.layer.{i}");
    let pre = cfg.pre_layer_norm;
    Ok(Layer {
        pre_attention_ln: if pre {
            Some(l.layer_norm(&format!("{b}.pre_attention_ln"), h, eps)?)
        } else {
            None
        },
        query: l.linear(&format!("{b}.attention.self.query"), h, h)?,
        key: l.linear(&format!("{b}.attention.self.key"), h, h)?,
        value: l.linear(&format!("{b}.attention.self.value"), h, h)?,
        attention_out: l.linear(&format!("{b}.attention.output.dense"), h, h)?,
        attention_out_ln: if pre {
            None
        } else {
            Some(l.layer_norm(&format!("{b}.attention.output.LayerNorm"), h, eps)?)
        },
        post_attention_ln: if pre {
            Some(l.layer_norm(&format!("{b}.post_attention_ln"), h, eps)?)
        } else {
            None
        },
        intermediate: l.linear(&format!("{b}.intermediate.dense"), h, cfg.intermediate_size)?,
        output: l.linear(&format!("{b}.output.dense"), cfg.intermediate_size, h)?,
        output_ln: if pre {
            None
        } else {
            Some(l.layer_norm(&format!("{b}.output.LayerNorm"), h, eps)?)
        },
        num_heads: cfg.num_attention_heads,
    })
}

/// The paper's cross-attention head (and our chunk classifier, when the file has it).
fn load_head<B: Backend>(l: &mut Loader<B>, cfg: &BertConfig) -> Result<ChunkHead<B>, ModelError> {
    let h = cfg.hidden_size;
    let q = cfg.num_query_vectors;
    let e = cfg.head_layer_norm_eps;
    let qv = l.take("query_vectors", &[q, h])?;
    let query_vectors = Param::from_tensor(l.tensor(qv));
    Ok(ChunkHead {
        query_vectors,
        chunk_embedding_proj: l.linear("chunk_embedding_proj", h, h)?,
        query_layer: l.linear("query_layer", h, h)?,
        key_layer: l.linear("key_layer", h, h)?,
        value_layer: l.linear("value_layer", h, h)?,
        ln_q: l.layer_norm("ln_q", h, e)?,
        ln_kv: l.layer_norm("ln_kv", h, e)?,
        ln_mlp: l.layer_norm("ln_mlp", q * h, e)?,
        dense1: l.linear("dense1", q * h, h)?,
        dense2: l.linear("dense2", h, h / 2)?,
        classifier: l.linear("classifier", h / 2, 1)?,
        chunk_classifier: if l.has("chunk_classifier.weight") {
            Some(l.linear("chunk_classifier", h, 1)?)
        } else {
            None
        },
        x_classifier: if l.has("x_classifier.weight") {
            Some(l.linear("x_classifier", h, 1)?)
        } else {
            None
        },
        dropout: head_dropout(),
    })
}

/// The head's dropout (0.1 after each MLP layer, as the paper's code).
pub fn head_dropout() -> Dropout {
    DropoutConfig::new(0.1).init()
}

fn raw<B: Backend, const D: usize>(t: Tensor<B, D>) -> RawTensor {
    let shape = t.dims().to_vec();
    let data = t
        .into_data()
        .convert::<f32>()
        .into_vec::<f32>()
        .expect("float tensor");
    RawTensor::new(shape, data)
}

struct Exporter {
    out: BTreeMap<String, RawTensor>,
}

impl Exporter {
    fn linear<B: Backend>(&mut self, base: &str, l: &Linear<B>) {
        self.out
            .insert(format!("{base}.weight"), raw(l.weight.val()).transposed());
        if let Some(b) = &l.bias {
            self.out.insert(format!("{base}.bias"), raw(b.val()));
        }
    }
    fn layer_norm<B: Backend>(&mut self, base: &str, ln: &LayerNorm<B>) {
        self.out
            .insert(format!("{base}.weight"), raw(ln.gamma.val()));
        if let Some(b) = &ln.beta {
            self.out.insert(format!("{base}.bias"), raw(b.val()));
        }
    }
}

/// The state dict in Hugging Face names (backbone under `model.`, head keys bare), as the
/// paper's trainer saves a classifier: what `load` reads back.
pub fn export<B: Backend>(
    bert: &Bert<B>,
    head: Option<&ChunkHead<B>>,
) -> BTreeMap<String, RawTensor> {
    let mut e = Exporter {
        out: BTreeMap::new(),
    };
    let p = SAVE_PREFIX;
    let emb = &bert.embeddings;
    e.out.insert(
        format!("{p}embeddings.word_embeddings.weight"),
        raw(emb.word.weight.val()),
    );
    e.out.insert(
        format!("{p}embeddings.position_embeddings.weight"),
        raw(emb.position.weight.val()),
    );
    e.out.insert(
        format!("{p}embeddings.token_type_embeddings.weight"),
        raw(emb.token_type.weight.val()),
    );
    e.layer_norm(&format!("{p}embeddings.LayerNorm"), &emb.layer_norm);
    for (i, layer) in bert.layers.iter().enumerate() {
        let b = format!("{p}encoder.layer.{i}");
        if let Some(ln) = &layer.pre_attention_ln {
            e.layer_norm(&format!("{b}.pre_attention_ln"), ln);
        }
        e.linear(&format!("{b}.attention.self.query"), &layer.query);
        e.linear(&format!("{b}.attention.self.key"), &layer.key);
        e.linear(&format!("{b}.attention.self.value"), &layer.value);
        e.linear(&format!("{b}.attention.output.dense"), &layer.attention_out);
        if let Some(ln) = &layer.attention_out_ln {
            e.layer_norm(&format!("{b}.attention.output.LayerNorm"), ln);
        }
        if let Some(ln) = &layer.post_attention_ln {
            e.layer_norm(&format!("{b}.post_attention_ln"), ln);
        }
        e.linear(&format!("{b}.intermediate.dense"), &layer.intermediate);
        e.linear(&format!("{b}.output.dense"), &layer.output);
        if let Some(ln) = &layer.output_ln {
            e.layer_norm(&format!("{b}.output.LayerNorm"), ln);
        }
    }
    if let Some(ln) = &bert.last_layer_ln {
        e.layer_norm(&format!("{p}encoder.last_layer_ln"), ln);
    }
    if let Some(h) = head {
        e.out
            .insert("query_vectors".to_string(), raw(h.query_vectors.val()));
        e.linear("chunk_embedding_proj", &h.chunk_embedding_proj);
        e.linear("query_layer", &h.query_layer);
        e.linear("key_layer", &h.key_layer);
        e.linear("value_layer", &h.value_layer);
        e.layer_norm("ln_q", &h.ln_q);
        e.layer_norm("ln_kv", &h.ln_kv);
        e.layer_norm("ln_mlp", &h.ln_mlp);
        e.linear("dense1", &h.dense1);
        e.linear("dense2", &h.dense2);
        e.linear("classifier", &h.classifier);
        if let Some(c) = &h.chunk_classifier {
            e.linear("chunk_classifier", c);
        }
        if let Some(c) = &h.x_classifier {
            e.linear("x_classifier", c);
        }
    }
    e.out
}
