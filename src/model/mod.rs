//! GENA-LM backbone and the paper's head: burn modules (training, CUDA, the head) and a native CPU
//! encoder for inference ([`native`], `GENOSIFT_CPU_KERNEL=burn` for burn's instead). Everything
//! model-specific lives in this folder.
//!
//! Outside, the model is an [`Engine`]: token batches ([`crate::tokenize::TokenBatch`]) in, plain
//! vectors out. Moving to another burn version touches only `model/`.

/// Runs `$body` compiled for AVX-512 or AVX2 + FMA when the CPU has them, else for the baseline
/// target. The loops in such bodies are written to auto-vectorise in fixed lanes, so every build
/// gives the same floats.
macro_rules! simd_dispatch {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),*) $body:block) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) {
            #[inline(always)]
            fn imp($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512bw,avx2,fma")]
                unsafe fn avx512($($arg: $ty),*) {
                    imp($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2($($arg: $ty),*) {
                    imp($($arg),*)
                }
                use std::arch::is_x86_feature_detected as has;
                if has!("avx2") && has!("fma") {
                    if has!("avx512f") && has!("avx512bw") {
                        // SAFETY: the CPU has the features `avx512` was compiled for.
                        return unsafe { avx512($($arg),*) };
                    }
                    // SAFETY: the CPU has the features `avx2` was compiled for.
                    return unsafe { avx2($($arg),*) };
                }
            }
            imp($($arg),*)
        }
    };
}

/// [`simd_dispatch`] for bodies that round 16 values at a time to bf16 pairs with `$round`
/// (`Fn(&[f32; 16], &mut [u32; 8])`): AVX512-BF16's rounding where the CPU has it (the body then
/// compiled for AVX-512 with it), else [`bf16::round16`] in [`simd_dispatch`]'s tiers. Either
/// rounds as [`bf16::round_pairs`] does on this CPU.
macro_rules! bf16_dispatch {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),*) |$round:ident| $body:block) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) {
            #[inline(always)]
            fn fused($($arg: $ty,)* $round: impl Fn(&[f32; 16], &mut [u32; 8])) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bf16,avx2,fma")]
                fn hardware($($arg: $ty),*) {
                    fused($($arg,)* |v, d| $crate::model::bf16::round16_hardware(v, d))
                }
                if $crate::model::bf16::hardware_rounding() {
                    // SAFETY: the CPU has the features `hardware` was compiled for.
                    return unsafe { hardware($($arg),*) };
                }
            }
            simd_dispatch! {
                fn soft($($arg: $ty),*) {
                    fused($($arg,)* $crate::model::bf16::round16)
                }
            }
            soft($($arg),*)
        }
    };
}

pub mod bert;
pub mod bf16;
pub mod config;
pub mod device;
pub mod head;
pub mod init;
pub mod load;
pub mod native;
pub mod train;
pub mod weights;

use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};

use self::bert::Bert;
use self::config::BertConfig;
pub use self::device::DeviceKind;
use self::head::ChunkHead;
use self::native::NativeBert;
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
    /// Per-chunk X logits, when the head has an X classifier (else empty).
    pub x_logits: Vec<f32>,
}

/// Per-chunk logits of chunks scored without their groups.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChunkLogits {
    /// Y logits.
    pub y: Vec<f32>,
    /// X logits (empty without an X classifier).
    pub x: Vec<f32>,
}

impl ChunkLogits {
    /// The mean of these logits and `other`'s (the same chunks read on the other strand).
    pub fn average_with(&mut self, other: &ChunkLogits) {
        mean_into(&mut self.y, &other.y);
        mean_into(&mut self.x, &other.x);
    }
}

/// `a[i] = (a[i] + b[i]) / 2`.
fn mean_into(a: &mut [f32], b: &[f32]) {
    for (x, &y) in a.iter_mut().zip(b) {
        *x = 0.5 * (*x + y);
    }
}

impl GroupScore {
    /// The mean of this score and `other`'s (the same group read on the other strand): logits,
    /// attention and chunk Y and X logits averaged, P(female) from the mean logit.
    pub fn average_with(&mut self, other: &GroupScore) {
        self.logit = 0.5 * (self.logit + other.logit);
        self.p_female = 1.0 / (1.0 + (-self.logit).exp());
        mean_into(&mut self.scores, &other.scores);
        mean_into(&mut self.attention, &other.attention);
        mean_into(&mut self.chunk_logits, &other.chunk_logits);
        mean_into(&mut self.x_logits, &other.x_logits);
    }
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

/// The head's outputs on [CLS] vectors `[groups, chunks, hidden]`, as plain vectors.
fn head_scores<B: Backend>(
    head: Option<&ChunkHead<B>>,
    cls: Tensor<B, 3>,
) -> Result<Vec<GroupScore>, ModelError> {
    let head = head.ok_or_else(no_head)?;
    let [g, n, _] = cls.dims();
    let out = head.forward(cls);
    let nq = out.scores.dims()[1];
    let probs = to_vec(out.probabilities());
    let logits = to_vec(out.logits);
    let attn = to_vec(burn::tensor::activation::softmax(out.scores.clone(), 2));
    let scores = to_vec(out.scores);
    let chunk = out.chunk_logits.map(to_vec);
    let x = out.x_logits.map(to_vec);
    let of_group = |v: &Option<Vec<f32>>, i: usize| {
        v.as_ref()
            .map_or(Vec::new(), |c| c[i * n..(i + 1) * n].to_vec())
    };
    let w = nq * n;
    Ok((0..g)
        .map(|i| GroupScore {
            logit: logits[i],
            p_female: probs[i],
            scores: scores[i * w..(i + 1) * w].to_vec(),
            attention: attn[i * w..(i + 1) * w].to_vec(),
            chunk_logits: of_group(&chunk, i),
            x_logits: of_group(&x, i),
        })
        .collect())
}

fn no_head() -> ModelError {
    ModelError::Device("this model has no classification head (query_vectors)".into())
}

/// Plain `[rows × h]` vectors → a backend tensor `[rows / n, n, h]` of groups.
fn grouped<B: Backend>(
    cls: Vec<f32>,
    n_chunks: usize,
    h: usize,
    device: &B::Device,
) -> Tensor<B, 3> {
    let rows = cls.len() / h;
    assert_eq!(rows % n_chunks, 0, "batch rows are whole groups");
    Tensor::from_data(TensorData::new(cls, [rows / n_chunks, n_chunks, h]), device)
}

/// The per-chunk Y (and X) logits of `[n × h]` [CLS] vectors; `None` without a Y classifier.
fn chunk_logits_of<B: Backend>(
    head: Option<&ChunkHead<B>>,
    cls: Tensor<B, 2>,
) -> Option<ChunkLogits> {
    let head = head?;
    let classifier = head.chunk_classifier.as_ref()?;
    let n = cls.dims()[0];
    let x = head
        .x_classifier
        .as_ref()
        .map_or(Vec::new(), |x| to_vec(x.forward(cls.clone()).reshape([n])));
    Some(ChunkLogits {
        y: to_vec(classifier.forward(cls).reshape([n])),
        x,
    })
}

impl<B: Backend> Classifier<B> {
    fn cls(&self, batch: &TokenBatch, device: &B::Device) -> Tensor<B, 2> {
        let (ids, mask) = batch_tensors::<B>(batch, device);
        self.bert.cls(ids, mask)
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
        head_scores(
            self.head.as_ref(),
            cls.reshape([rows / n_chunks, n_chunks, h]),
        )
    }
}

/// The native CPU encoder with the paper's head (on burn's Flex).
struct NativeCpu {
    bert: NativeBert,
    head: Option<ChunkHead<device::Cpu>>,
}

/// Which implementation runs the model.
enum Inner {
    /// CPU: the encoder in [`native`] (packed, no padding), the small head on burn's Flex.
    Native(Box<NativeCpu>),
    /// CPU, burn's Flex backend throughout (`GENOSIFT_CPU_KERNEL=burn`; kept for comparison).
    Cpu(Box<Classifier<device::Cpu>>),
    #[cfg(feature = "cuda")]
    Cuda(Box<Classifier<device::Cuda>>),
}

/// A loaded model on its device.
pub struct Engine {
    inner: Inner,
    pub config: BertConfig,
    precision: Precision,
}

/// The environment variable that picks the CPU encoder: `native` (the default) or `burn`
/// (burn's Flex backend; for comparisons and as a fallback).
pub const CPU_KERNEL_ENV: &str = "GENOSIFT_CPU_KERNEL";

/// Which implementation runs the encoder on the CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CpuKernel {
    /// [`native`]: packed sequences, gemm, fused passes.
    #[default]
    Native,
    /// burn's Flex backend, as training uses.
    Burn,
}

impl CpuKernel {
    /// From `GENOSIFT_CPU_KERNEL` (unset: native).
    pub fn from_env() -> Result<Self, ModelError> {
        match std::env::var(CPU_KERNEL_ENV).as_deref() {
            Err(_) | Ok("") | Ok("native") => Ok(Self::Native),
            Ok("burn") => Ok(Self::Burn),
            Ok(other) => Err(ModelError::Device(format!(
                "{CPU_KERNEL_ENV}={other}: expected native or burn"
            ))),
        }
    }
}

/// The environment variable that picks the arithmetic of the native CPU encoder's products: `f32` (the default), `bf16` (AMX tiles, else AVX512-BF16; an error where the CPU has
/// neither) or `auto` (bf16 where the CPU has AMX, else f32).
pub const PRECISION_ENV: &str = "GENOSIFT_PRECISION";

/// The arithmetic of the encoder's products.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    #[default]
    F32,
    /// bf16 products, f32 sums ([`bf16`]).
    Bf16,
}

impl Precision {
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
        }
    }
}

/// What `GENOSIFT_PRECISION` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PrecisionWish {
    Exactly(Precision),
    /// bf16 where the CPU has it.
    Auto,
}

impl PrecisionWish {
    fn from_env() -> Result<Self, ModelError> {
        match std::env::var(PRECISION_ENV).as_deref() {
            Err(_) | Ok("") | Ok("f32") => Ok(Self::Exactly(Precision::F32)),
            Ok("bf16") => Ok(Self::Exactly(Precision::Bf16)),
            Ok("auto") => Ok(Self::Auto),
            Ok(other) => Err(ModelError::Device(format!(
                "{PRECISION_ENV}={other}: expected f32, bf16 or auto"
            ))),
        }
    }
}

/// Runs `$native` with `$bert`, `$head` and `$dev` bound for the native CPU path, or `$body` with
/// `$m` bound to the burn classifier and `$dev` to its device, whatever the backend.
macro_rules! with_model {
    ($self:expr, native($bert:ident, $head:ident, $ndev:ident) => $native:expr,
     burn($m:ident, $dev:ident) => $body:expr) => {
        match &$self.inner {
            Inner::Native(native) => {
                let ($bert, $head) = (&native.bert, &native.head);
                let $ndev = &burn::tensor::Device::<device::Cpu>::default();
                $native
            }
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

/// Sets the native encoder's arithmetic as `wish` asks: bf16 forced on a CPU without it is an
/// error naming the variable.
fn native_precision(bert: &mut NativeBert, wish: PrecisionWish) -> Result<Precision, ModelError> {
    match wish {
        PrecisionWish::Exactly(Precision::F32) => Ok(Precision::F32),
        // The AVX512-BF16 kernel was slower than f32 where measured (BENCHMARKS.md): auto takes
        // bf16 with AMX only.
        PrecisionWish::Auto => Ok(
            if bf16::Kernel::best() == Some(bf16::Kernel::Amx) && bert.use_bf16() {
                Precision::Bf16
            } else {
                Precision::F32
            },
        ),
        PrecisionWish::Exactly(Precision::Bf16) => {
            if bert.use_bf16() {
                Ok(Precision::Bf16)
            } else {
                Err(ModelError::Device(format!(
                    "{PRECISION_ENV}=bf16: this CPU has no AVX512-BF16 (or the model's hidden \
                     size is not a multiple of 32); use f32 or auto"
                )))
            }
        }
    }
}

impl Engine {
    /// The arithmetic of the encoder's products in this run.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// Builds the model from a weight file (the CPU encoder as `GENOSIFT_CPU_KERNEL` says).
    /// Returns it with the keys that were left unused.
    pub fn load(
        file: &WeightFile,
        config: &BertConfig,
        kind: DeviceKind,
    ) -> Result<(Self, Vec<String>), ModelError> {
        Self::load_with(file, config, kind, CpuKernel::from_env()?)
    }

    /// [`Engine::load`] with the CPU encoder given.
    pub fn load_with(
        file: &WeightFile,
        config: &BertConfig,
        kind: DeviceKind,
        cpu_kernel: CpuKernel,
    ) -> Result<(Self, Vec<String>), ModelError> {
        device::check_available(kind)?;
        let mut precision = Precision::F32;
        let wish = PrecisionWish::from_env()?;
        if wish == PrecisionWish::Exactly(Precision::Bf16)
            && (kind != DeviceKind::Cpu || cpu_kernel != CpuKernel::Native)
        {
            return Err(ModelError::Device(format!(
                "{PRECISION_ENV}=bf16: only the native CPU encoder has bf16 products"
            )));
        }
        let (inner, unused) = match kind {
            DeviceKind::Cpu => {
                let dev = Default::default();
                let l = load::load::<device::Cpu>(file, config, &dev)?;
                let inner = match cpu_kernel {
                    CpuKernel::Burn => Inner::Cpu(Box::new(Classifier {
                        bert: l.bert,
                        head: l.head,
                    })),
                    CpuKernel::Native => {
                        let mut bert = NativeBert::from_burn(l.bert, config.layer_norm_eps);
                        precision = native_precision(&mut bert, wish)?;
                        Inner::Native(Box::new(NativeCpu { bert, head: l.head }))
                    }
                };
                (inner, l.unused)
            }
            #[cfg(feature = "cuda")]
            DeviceKind::Cuda => {
                let dev = Default::default();
                let l = load::load::<device::Cuda>(file, config, &dev)?;
                (
                    Inner::Cuda(Box::new(Classifier {
                        bert: l.bert,
                        head: l.head,
                    })),
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
                precision,
            },
            unused,
        ))
    }

    pub fn has_head(&self) -> bool {
        with_model!(self,
            native(_bert, head, _dev) => head.is_some(),
            burn(m, _dev) => m.head.is_some())
    }

    /// Whether the head has the per-chunk Y classifier (`train --chunk-loss-weight`).
    pub fn has_chunk_classifier(&self) -> bool {
        with_model!(self,
            native(_bert, head, _dev) => head.as_ref().is_some_and(|h| h.chunk_classifier.is_some()),
            burn(m, _dev) => m.head.as_ref().is_some_and(|h| h.chunk_classifier.is_some()))
    }

    /// Whether the head has the per-chunk X classifier (`train --x-loss-weight`).
    pub fn has_x_classifier(&self) -> bool {
        with_model!(self,
            native(_bert, head, _dev) => head.as_ref().is_some_and(|h| h.x_classifier.is_some()),
            burn(m, _dev) => m.head.as_ref().is_some_and(|h| h.x_classifier.is_some()))
    }

    /// Per-chunk Y (and X) logits of any number of chunks (no group needed), when the head has a
    /// chunk classifier.
    pub fn chunk_logits(&self, batch: &TokenBatch) -> Option<ChunkLogits> {
        let h = self.config.hidden_size;
        with_model!(self,
        native(bert, head, dev) => {
            head.as_ref()?.chunk_classifier.as_ref()?;
            let cls = bert.cls(batch);
            let n = cls.len() / h;
            chunk_logits_of(head.as_ref(), Tensor::from_data(TensorData::new(cls, [n, h]), dev))
        },
        burn(m, dev) => {
            m.head.as_ref()?.chunk_classifier.as_ref()?;
            chunk_logits_of(m.head.as_ref(), m.cls(batch, dev))
        })
    }

    /// [CLS] vectors, `[n_seqs × hidden]` row-major.
    pub fn cls(&self, batch: &TokenBatch) -> Vec<f32> {
        with_model!(self,
            native(bert, _head, _dev) => bert.cls(batch),
            burn(m, dev) => to_vec(m.cls(batch, dev)))
    }

    /// Every hidden state (embeddings output, then each layer), as `[n, t, h]` tensors.
    pub fn hidden_states(&self, batch: &TokenBatch) -> Vec<RawTensor> {
        with_model!(self,
        native(bert, _head, _dev) => bert.hidden_states(batch),
        burn(m, dev) => {
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
        let h = self.config.hidden_size;
        with_model!(self,
            native(bert, head, dev) => {
                let head = head.as_ref().ok_or_else(no_head)?;
                head_scores(Some(head), grouped(bert.cls(batch), n_chunks, h, dev))
            },
            burn(m, dev) => m.predict(batch, n_chunks, dev))
    }

    /// The head alone on given [CLS] vectors `[groups, chunks, hidden]`.
    pub fn head_only(&self, cls: &RawTensor) -> Result<Vec<GroupScore>, ModelError> {
        let data = || TensorData::new(cls.data.clone(), cls.shape.clone());
        with_model!(self,
            native(_bert, head, dev) => head_scores(head.as_ref(), Tensor::from_data(data(), dev)),
            burn(m, dev) => head_scores(m.head.as_ref(), Tensor::from_data(data(), dev)))
    }
}
