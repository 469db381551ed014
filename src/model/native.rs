//! The CPU inference path: GENA-LM's encoder written directly on `f32` buffers and the `gemm`
//! crate (the same matrix kernels burn's Flex backend calls), without burn's tensor layer.
//!
//! Why a second implementation: on the CPU the backbone is the work (issue 7), and three things
//! burn 0.21 cannot express cost it a third of its speed against PyTorch:
//! - **No padding.** A batch is packed: each sequence keeps only its real tokens, and attention
//!   runs per sequence over its own keys. Padded rows are never computed (in burn or PyTorch a
//!   batch of 16 chunks pays for 16 × the longest).
//! - **Only what is read.** `predict` needs the [CLS] vector, so the last layer computes queries,
//!   the attention output and the FFN for the [CLS] rows alone (keys and values still for all).
//! - **Fused passes.** Q, K and V are one matrix product; the residual is accumulated into by the
//!   output products; the FFN runs 256 rows at a time (LayerNorm, product, bias + GELU, product)
//!   so its 4h-wide intermediate stays in cache; softmax and GELU use branch-free polynomial `exp`
//!   and `erf` that the compiler vectorises (AVX2 + FMA when the CPU has them).
//!
//! Reproducibility: matrix products are split into fixed 256-row blocks, and every reduction runs
//! in the same order whatever the thread count, so `--threads` never changes a bit of the output.
//! Training and CUDA stay on burn ([`super::bert`]); the parity tests check both paths against the
//! GENA-LM authors' tensors, and a unit test checks this one against burn on random models.

use burn::nn::{LayerNorm, Linear};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use rayon::prelude::*;

use super::bert::{Bert, Layer};
use super::bf16::{self, Floats, PackedBf16, PackedRows};
use super::weights::RawTensor;
use crate::tokenize::TokenBatch;

/// Rows per matrix-product task: fixed, so the split (and so the result) never depends on threads.
const ROW_BLOCK: usize = 256;

/// LayerNorm parameters.
struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

/// A linear layer, weight row-major `[d_in, d_out]` (burn's layout: `y = x W + b`).
struct Dense {
    w: Vec<f32>,
    b: Vec<f32>,
    d_in: usize,
    d_out: usize,
    /// `w` rounded to bf16 and packed, when the encoder runs in bf16 ([`NativeBert::use_bf16`]).
    bf16: Option<PackedBf16>,
}

struct EncoderLayer {
    pre_attention_ln: Option<Norm>,
    /// Q, K and V side by side: `[h, 3h]`.
    qkv: Dense,
    attention_out: Dense,
    attention_out_ln: Option<Norm>,
    post_attention_ln: Option<Norm>,
    intermediate: Dense,
    output: Dense,
    output_ln: Option<Norm>,
}

/// GENA-LM's BERT encoder for CPU inference.
pub struct NativeBert {
    hidden: usize,
    heads: usize,
    eps: f32,
    vocab: usize,
    max_positions: usize,
    word: Vec<f32>,
    position: Vec<f32>,
    token_type0: Vec<f32>,
    embeddings_ln: Norm,
    layers: Vec<EncoderLayer>,
    last_layer_ln: Option<Norm>,
    /// Every product in bf16 ([`NativeBert::use_bf16`]).
    bf16: bool,
}

fn values<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .into_vec::<f32>()
        .expect("float tensor")
}

fn norm<B: Backend>(ln: &LayerNorm<B>) -> Norm {
    Norm {
        gamma: values(ln.gamma.val()),
        beta: ln
            .beta
            .as_ref()
            .map_or_else(|| vec![0.0; ln.gamma.dims()[0]], |b| values(b.val())),
    }
}

fn dense<B: Backend>(l: &Linear<B>) -> Dense {
    let [d_in, d_out] = l.weight.dims();
    Dense {
        w: values(l.weight.val()),
        b: l.bias
            .as_ref()
            .map_or_else(|| vec![0.0; d_out], |b| values(b.val())),
        d_in,
        d_out,
        bf16: None,
    }
}

/// Q, K, V weights `[h, h]` each → one `[h, 3h]` (row r = q_r | k_r | v_r).
fn fused_qkv<B: Backend>(layer: &Layer<B>) -> Dense {
    let parts = [&layer.query, &layer.key, &layer.value].map(|l| dense(l));
    let h = parts[0].d_in;
    let mut w = Vec::with_capacity(h * 3 * h);
    for r in 0..h {
        for p in &parts {
            w.extend_from_slice(&p.w[r * p.d_out..(r + 1) * p.d_out]);
        }
    }
    let b = parts.iter().flat_map(|p| p.b.iter().copied()).collect();
    Dense {
        w,
        b,
        d_in: h,
        d_out: 3 * h,
        bf16: None,
    }
}

impl NativeBert {
    /// From now on, the encoder's matrix products run in bf16 with sums in f32 (see [`bf16`]):
    /// weights rounded once, here (their f32 copies are freed), activations per product; in the
    /// attention, queries, keys, values and the softmax's probabilities rounded per sequence
    /// and head. `false`, and nothing changes, where the CPU lacks AVX512-BF16 or the hidden
    /// size is not a multiple of the packing's panel (32 columns).
    pub fn use_bf16(&mut self) -> bool {
        if !bf16::available() || !self.hidden.is_multiple_of(bf16::PANEL) {
            return false;
        }
        for l in &mut self.layers {
            for d in [
                &mut l.qkv,
                &mut l.attention_out,
                &mut l.intermediate,
                &mut l.output,
            ] {
                d.bf16 = Some(PackedBf16::pack(&d.w, d.d_in, d.d_out));
                // Every product with this layer's weights starts at a multiple of the hidden
                // size, so at a panel's edge: the packing covers them all.
                d.w = Vec::new();
            }
        }
        self.bf16 = true;
        true
    }
}

/// One sequence of a packed batch: `rows` query rows from `start`, of which the first `keys` are
/// real tokens (the keys every row attends to). Packed: `rows == keys`; padded (as HF computes
/// it, for `hidden_states`): `rows` is the padded length.
#[derive(Clone, Copy)]
struct Seq {
    start: usize,
    rows: usize,
    keys: usize,
}

impl NativeBert {
    /// Takes the weights out of a loaded burn backbone (any backend), a layer at a time, so that
    /// the two copies never coexist whole (peak memory at load stays ≈ one model more).
    pub fn from_burn<B: Backend>(bert: Bert<B>, eps: f64) -> Self {
        let Bert {
            embeddings,
            layers,
            last_layer_ln,
        } = bert;
        let [vocab, hidden] = embeddings.word.weight.dims();
        let [max_positions, _] = embeddings.position.weight.dims();
        let token_type = values(embeddings.token_type.weight.val());
        let heads = layers.first().map_or(1, |l| l.num_heads);
        let layers = layers
            .into_iter()
            .map(|l| EncoderLayer {
                pre_attention_ln: l.pre_attention_ln.as_ref().map(norm),
                qkv: fused_qkv(&l),
                attention_out: dense(&l.attention_out),
                attention_out_ln: l.attention_out_ln.as_ref().map(norm),
                post_attention_ln: l.post_attention_ln.as_ref().map(norm),
                intermediate: dense(&l.intermediate),
                output: dense(&l.output),
                output_ln: l.output_ln.as_ref().map(norm),
            })
            .collect();
        Self {
            hidden,
            heads,
            eps: eps as f32,
            vocab,
            max_positions,
            word: values(embeddings.word.weight.val()),
            position: values(embeddings.position.weight.val()),
            token_type0: token_type[..hidden].to_vec(),
            embeddings_ln: norm(&embeddings.layer_norm),
            layers,
            last_layer_ln: last_layer_ln.as_ref().map(norm),
            bf16: false,
        }
    }

    /// Embeddings output for the sequences' rows.
    fn embed(&self, batch: &TokenBatch, seqs: &[Seq]) -> Floats {
        let h = self.hidden;
        let total = seqs.iter().map(|s| s.rows).sum::<usize>();
        let mut x = Floats::zeroed(total * h);
        for (i, s) in seqs.iter().enumerate() {
            let ids = &batch.ids[i * batch.seq_len..][..s.rows];
            for (p, &id) in ids.iter().enumerate() {
                // Both are checked when the model and tokenizer are loaded and when tokenizing.
                debug_assert!((id as usize) < self.vocab && p < self.max_positions);
                let id = (id as usize).min(self.vocab - 1);
                let p = p.min(self.max_positions - 1);
                let row = &mut x[(s.start + p) * h..][..h];
                let (w, pos) = (&self.word[id * h..][..h], &self.position[p * h..][..h]);
                for j in 0..h {
                    row[j] = w[j] + pos[j] + self.token_type0[j];
                }
            }
        }
        layer_norm(&mut x, h, &self.embeddings_ln, self.eps);
        x
    }

    fn seqs(batch: &TokenBatch, padded: bool) -> Vec<Seq> {
        let mut start = 0;
        batch
            .lengths
            .iter()
            .map(|&len| {
                let rows = if padded { batch.seq_len } else { len };
                let s = Seq {
                    start,
                    rows,
                    keys: len,
                };
                start += rows;
                s
            })
            .collect()
    }

    /// The [CLS] vectors, `[n_seqs × hidden]` row-major.
    pub fn cls(&self, batch: &TokenBatch) -> Vec<f32> {
        let n = batch.n_seqs();
        let h = self.hidden;
        if n == 0 {
            return Vec::new();
        }
        let seqs = Self::seqs(batch, false);
        let mut x = self.embed(batch, &seqs);
        let Some((last, rest)) = self.layers.split_last() else {
            let mut cls = gather_rows(&x, h, seqs.iter().map(|s| s.start)).to_vec();
            if let Some(ln) = &self.last_layer_ln {
                layer_norm(&mut cls, h, ln, self.eps);
            }
            return cls;
        };
        let mut ws = Workspace::default();
        for layer in rest {
            x = self.layer(layer, x, &seqs, false, &mut ws);
        }
        let mut cls = self.layer(last, x, &seqs, true, &mut ws).to_vec();
        if let Some(ln) = &self.last_layer_ln {
            layer_norm(&mut cls, h, ln, self.eps);
        }
        cls
    }

    /// Every hidden state as HF's `output_hidden_states` gives them (padded rows included, each
    /// `[n, seq_len, hidden]`; the last after `last_layer_ln` when the model has it).
    pub fn hidden_states(&self, batch: &TokenBatch) -> Vec<RawTensor> {
        let (n, t, h) = (batch.n_seqs(), batch.seq_len, self.hidden);
        let seqs = Self::seqs(batch, true);
        let mut x = self.embed(batch, &seqs);
        let shape = vec![n, t, h];
        let mut states = vec![RawTensor::new(shape.clone(), x.to_vec())];
        let mut ws = Workspace::default();
        for layer in &self.layers {
            x = self.layer(layer, x, &seqs, false, &mut ws);
            states.push(RawTensor::new(shape.clone(), x.to_vec()));
        }
        if let (Some(ln), Some(last)) = (&self.last_layer_ln, states.last_mut()) {
            layer_norm(&mut last.data, h, ln, self.eps);
        }
        states
    }

    /// One encoder layer, `x` updated in place (its buffer becomes the output). `cls_only`: return
    /// only each sequence's first row (`[n, h]`), computing queries, attention output and FFN for
    /// those rows alone.
    fn layer(
        &self,
        l: &EncoderLayer,
        x: Floats,
        seqs: &[Seq],
        cls_only: bool,
        ws: &mut Workspace,
    ) -> Floats {
        let h = self.hidden;
        let total = x.len() / h;
        let ln = l.pre_attention_ln.as_ref();
        let (mut out, ctx) = if cls_only {
            let resid = gather_rows(&x, h, seqs.iter().map(|s| s.start));
            let a_cls = self.acts(&resid, ln, &mut PackedRows::default());
            let a = self.acts(&x, ln, &mut ws.rows);
            let n = seqs.len();
            let mut q = vec![0f32; n * h];
            matmul(&a_cls, h, &l.qkv, 0..h, &mut q, false);
            let mut kv = vec![0f32; total * 2 * h];
            matmul(&a, h, &l.qkv, h..3 * h, &mut kv, false);
            ws.recycle(a);
            let spans: Vec<Span> = seqs
                .iter()
                .enumerate()
                .map(|(i, s)| Span {
                    q_start: i,
                    q_rows: 1,
                    k_start: s.start,
                    keys: s.keys,
                })
                .collect();
            let qv = QkvView {
                q: &q,
                q_stride: h,
                k: &kv,
                v: &kv[h..],
                kv_stride: 2 * h,
            };
            let ctx = self.attention(&qv, &spans, n, &mut ws.ctx, &mut ws.rows);
            (resid, ctx)
        } else {
            let a = self.acts(&x, ln, &mut ws.rows);
            let qkv = &mut ws.qkv;
            qkv.set_len(total * 3 * h);
            matmul(&a, h, &l.qkv, 0..3 * h, qkv, false);
            ws.recycle(a);
            let qkv = &ws.qkv;
            let spans: Vec<Span> = seqs
                .iter()
                .map(|s| Span {
                    q_start: s.start,
                    q_rows: s.rows,
                    k_start: s.start,
                    keys: s.keys,
                })
                .collect();
            let qv = QkvView {
                q: qkv,
                q_stride: 3 * h,
                k: &qkv[h..],
                v: &qkv[2 * h..],
                kv_stride: 3 * h,
            };
            let ctx = self.attention(&qv, &spans, total, &mut ws.ctx, &mut ws.rows);
            (x, ctx)
        };
        // out = resid + ctx W_o + b_o; the context rows' buffer back to `ws` after.
        matmul(&ctx, h, &l.attention_out, 0..h, &mut out, true);
        match ctx {
            Acts::F32(buffer) => ws.ctx = buffer,
            bf16 => ws.recycle(bf16),
        }
        if let Some(ln) = &l.attention_out_ln {
            layer_norm(&mut out, h, ln, self.eps);
        }
        self.feed_forward(l, &mut out);
        if let Some(ln) = &l.output_ln {
            layer_norm(&mut out, h, ln, self.eps);
        }
        out
    }

    /// The rows of `x` through `ln` (as they are without one), ready for products with weights:
    /// in bf16 mode rounded once here, for every product that reads them, into `spare`'s buffer
    /// (taken; [`Workspace::recycle`] gives it back).
    fn acts(&self, x: &[f32], ln: Option<&Norm>, spare: &mut PackedRows) -> Acts {
        let h = self.hidden;
        if !self.bf16 {
            let mut x = Floats::from_slice(x);
            if let Some(ln) = ln {
                layer_norm(&mut x, h, ln, self.eps);
            }
            return Acts::F32(x);
        }
        let mut rows = std::mem::take(spare);
        // Every row is written whole below.
        rows.reset(x.len() / h, h);
        let pairs = rows.pairs();
        x.par_chunks(EW_ROWS * h)
            .zip(rows.words_mut().par_chunks_mut(EW_ROWS * pairs))
            .for_each(|(x, d)| layer_norm_bf16(x, h, ln, self.eps, d, pairs));
        Acts::Bf16(rows)
    }

    /// `x += W2 GELU(W1 LN(x) + b1) + b2` (no LN in post-LN models), a block of rows at a time
    /// so that the 4h-wide intermediate of a block stays in cache (a whole batch's would not:
    /// 16 × 512 rows × 3,072 × 4 bytes = 100 MB).
    fn feed_forward(&self, l: &EncoderLayer, x: &mut [f32]) {
        let h = self.hidden;
        let ffn = l.intermediate.d_out;
        let ln = l.post_attention_ln.as_ref();
        let scratch = || {
            (
                Floats::default(),
                PackedRows::default(),
                PackedRows::default(),
            )
        };
        x.par_chunks_mut(ROW_BLOCK * h)
            .for_each_init(scratch, |(inter, f, g), xb| {
                let rows = xb.len() / h;
                // Overwritten whole by the first product (never read before).
                inter.grow(rows * ffn);
                let inter = &mut inter[..rows * ffn];
                match (&l.intermediate.bf16, &l.output.bf16) {
                    (Some(w1), Some(w2)) => {
                        f.reset(rows, h);
                        let pairs = f.pairs();
                        layer_norm_bf16(xb, h, ln, self.eps, f.words_mut(), pairs);
                        bf16::gemm_rows(f.view(), w1, 0..ffn, inter, false);
                        g.reset(rows, ffn);
                        let pairs = g.pairs();
                        bias_gelu_bf16(inter, &l.intermediate.b, g.words_mut(), pairs);
                        bf16::gemm_rows(g.view(), w2, 0..h, xb, true);
                    }
                    _ => {
                        let mut f = xb.to_vec();
                        if let Some(ln) = ln {
                            layer_norm_seq(&mut f, h, &ln.gamma, &ln.beta, self.eps);
                        }
                        gemm_block(&f, h, &l.intermediate, 0..ffn, inter, false);
                        bias_gelu_seq(inter, &l.intermediate.b);
                        gemm_block(inter, ffn, &l.output, 0..h, xb, true);
                    }
                }
                add_bias_seq(xb, &l.output.b);
            });
    }

    /// Multi-head attention of each span's query rows over its keys: the context rows
    /// `[q_total, h]` (heads side by side, as HF's `context_layer`), ready for the output
    /// product. In f32 mode they are `ctx`'s buffer (taken), overwritten whole; in bf16 mode they
    /// go straight into `spare`'s rows (taken) rounded, with no f32 context rows in memory.
    fn attention(
        &self,
        qkv: &QkvView,
        spans: &[Span],
        q_total: usize,
        ctx: &mut Floats,
        spare: &mut PackedRows,
    ) -> Acts {
        let h = self.hidden;
        let nh = self.heads;
        let hd = h / nh;
        let blocks: Vec<Floats> = (0..spans.len() * nh)
            .into_par_iter()
            .map(|task| {
                let (s, head) = (&spans[task / nh], task % nh);
                if s.q_rows == 0 || s.keys == 0 {
                    return Floats::zeroed(s.q_rows * hd);
                }
                let view = HeadView::of(qkv, s, head * hd, hd);
                // A [CLS]-only query row gains too little from bf16 tiles to pay for packing.
                if self.bf16 && s.q_rows >= bf16::MIN_ROWS {
                    view.context_bf16()
                } else {
                    view.context_f32()
                }
            })
            .collect();
        // Each query row's span and its row there.
        let mut owner = vec![None; q_total];
        for (i, s) in spans.iter().enumerate() {
            for r in 0..s.q_rows {
                owner[s.q_start + r] = Some((i, r));
            }
        }
        let context_row = |row: &mut [f32], owner: &Option<(usize, usize)>| {
            let Some((i, r)) = *owner else {
                row.fill(0.0);
                return;
            };
            for (head, dst) in row.chunks_exact_mut(hd).enumerate() {
                dst.copy_from_slice(&blocks[i * nh + head][r * hd..][..hd]);
            }
        };
        if self.bf16 {
            let mut rows = std::mem::take(spare);
            // Every row is written whole below.
            rows.reset(q_total, h);
            let pairs = rows.pairs();
            rows.words_mut()
                .par_chunks_mut(pairs)
                .zip(&owner)
                .for_each_init(
                    || vec![0f32; h],
                    |row, (d, owner)| {
                        context_row(row, owner);
                        bf16::round_pairs(row, 1.0, d);
                    },
                );
            return Acts::Bf16(rows);
        }
        let mut ctx = std::mem::take(ctx);
        ctx.set_len(q_total * h);
        ctx.par_chunks_mut(h)
            .zip(&owner)
            .for_each(|(row, owner)| context_row(row, owner));
        Acts::F32(ctx)
    }
}

/// One head of one span: its query rows, keys and values (`hd` columns each, at their strides).
struct HeadView<'a> {
    q: Strided<'a>,
    k: Strided<'a>,
    v: Strided<'a>,
    rows: usize,
    keys: usize,
    hd: usize,
}

impl<'a> HeadView<'a> {
    fn of(qkv: &QkvView<'a>, s: &Span, col: usize, hd: usize) -> Self {
        let kv_at = s.k_start * qkv.kv_stride + col;
        Self {
            q: Strided::rows(&qkv.q[s.q_start * qkv.q_stride + col..], qkv.q_stride),
            k: Strided::rows(&qkv.k[kv_at..], qkv.kv_stride),
            v: Strided::rows(&qkv.v[kv_at..], qkv.kv_stride),
            rows: s.q_rows,
            keys: s.keys,
            hd,
        }
    }

    fn scale(&self) -> f32 {
        1.0 / (self.hd as f32).sqrt()
    }

    /// `softmax(q kᵀ / √hd) v`, `[rows, hd]`, in f32.
    fn context_f32(&self) -> Floats {
        let (m, keys, hd) = (self.rows, self.keys, self.hd);
        // Kᵀ: element (d, j) is K's row j, column d.
        let kt = Strided {
            data: self.k.data,
            rs: 1,
            cs: self.k.rs,
        };
        let mut scores = vec![0f32; m * keys];
        gemm_into(
            m,
            keys,
            hd,
            &mut scores,
            keys,
            self.q,
            kt,
            self.scale(),
            false,
        );
        softmax_rows(&mut scores, keys);
        let mut out = Floats::zeroed(m * hd);
        let p = Strided::rows(&scores, keys);
        gemm_into(m, hd, keys, &mut out, hd, p, self.v, 1.0, false);
        out
    }

    /// [`Self::context_f32`] with bf16 products: keys and values packed once, then a block of
    /// query rows at a time (scaled queries, scores, exponentials, exponentials · values, scaled
    /// by the softmax's normaliser), so that a block's scores stay in cache. The keys are padded
    /// with zeros to whole panels, so that every row of scores starts on a cache line (the
    /// padding's scores are left out of the softmax).
    fn context_bf16(&self) -> Floats {
        let (m, keys, hd) = (self.rows, self.keys, self.hd);
        let (q, k, v) = (self.q, self.k, self.v);
        let width = keys.next_multiple_of(bf16::PANEL);
        let zeros = vec![0f32; hd];
        let kt = PackedBf16::pack_columns_of(hd, width, |j| {
            if j < keys {
                &k.data[j * k.rs..][..hd]
            } else {
                &zeros
            }
        });
        let vp = PackedBf16::pack_rows_of(keys, hd, |j| &v.data[j * v.rs..][..hd]);
        let scale = self.scale();
        let mut out = Floats::zeroed(m * hd);
        // Each block's products and softmax overwrite the buffers whole: no zeroing between.
        let mut scores = Floats::zeroed(ATTENTION_ROWS.min(m) * width);
        let (mut qb, mut p) = (PackedRows::default(), PackedRows::default());
        let mut inv = [0f32; ATTENTION_ROWS];
        for (b, o) in out.chunks_mut(ATTENTION_ROWS * hd).enumerate() {
            let (r0, rows) = (b * ATTENTION_ROWS, o.len() / hd);
            qb.reset(rows, hd);
            for i in 0..rows {
                let src = &q.data[(r0 + i) * q.rs..][..hd];
                bf16::round_pairs(src, scale, qb.row_mut(i));
            }
            let scores = &mut scores[..rows * width];
            bf16::gemm_rows(qb.view(), &kt, 0..width, scores, false);
            p.reset(rows, keys);
            let pairs = p.pairs();
            let inv = &mut inv[..rows];
            exp_rows_bf16(scores, keys, width, p.words_mut(), pairs, inv);
            bf16::gemm_rows(p.view(), &vp, 0..hd, o, false);
            for (o, &inv) in o.chunks_exact_mut(hd).zip(inv.iter()) {
                o.iter_mut().for_each(|v| *v *= inv);
            }
        }
        out
    }
}

/// Query rows per block of [`HeadView::context_bf16`] (two AMX row blocks).
const ATTENTION_ROWS: usize = 64;

/// The query rows of one sequence and the keys they attend to.
struct Span {
    q_start: usize,
    q_rows: usize,
    k_start: usize,
    keys: usize,
}

/// Where Q, K and V live: row `r` of each at `r * stride` (they may share one buffer).
struct QkvView<'a> {
    q: &'a [f32],
    q_stride: usize,
    k: &'a [f32],
    v: &'a [f32],
    kv_stride: usize,
}

fn gather_rows(x: &[f32], h: usize, rows: impl ExactSizeIterator<Item = usize>) -> Floats {
    let mut out = Floats::zeroed(rows.len() * h);
    for (dst, r) in out.chunks_exact_mut(h).zip(rows) {
        dst.copy_from_slice(&x[r * h..(r + 1) * h]);
    }
    out
}

/// Buffers a forward pass reuses from layer to layer instead of allocating and zeroing them
/// anew (tens of megabytes a layer for a batch of the base model); each is overwritten whole
/// before it is read.
#[derive(Default)]
struct Workspace {
    /// The queries, keys and values of every row, `[rows, 3h]`.
    qkv: Floats,
    /// The attention's context rows.
    ctx: Floats,
    /// Rows rounded to bf16 for a product (the queries', keys' and values', then the context's).
    rows: PackedRows,
}

impl Workspace {
    /// Keeps the buffer of bf16 activations a product has read, for the next.
    fn recycle(&mut self, acts: Acts) {
        if let Acts::Bf16(rows) = acts {
            self.rows = rows;
        }
    }
}

/// Activations going into products with weights: f32 rows, or rows rounded to bf16 once.
enum Acts {
    F32(Floats),
    Bf16(PackedRows),
}

/// `out[rows × cols.len()] (+)= a[rows × k] · w[:, cols]`, then `+ w.b[cols]`, in fixed blocks of
/// rows run in parallel: each block's bias added right after its product, while the block is in
/// cache (the same sums in the same order as a pass over the whole output after).
fn matmul(
    a: &Acts,
    k: usize,
    w: &Dense,
    cols: std::ops::Range<usize>,
    out: &mut [f32],
    accumulate: bool,
) {
    let n = cols.len();
    if n == 0 || k == 0 {
        return;
    }
    let bias = &w.b[cols.clone()];
    let blocks = out.par_chunks_mut(ROW_BLOCK * n);
    match a {
        Acts::F32(a) => blocks.zip(a.par_chunks(ROW_BLOCK * k)).for_each(|(o, a)| {
            gemm_block(a, k, w, cols.clone(), o, accumulate);
            add_bias_seq(o, bias);
        }),
        Acts::Bf16(rows) => {
            let packed = w.bf16.as_ref().expect("bf16 activations meet bf16 weights");
            assert!(packed.covers(&cols), "bf16 weights cover columns {cols:?}");
            blocks.enumerate().for_each(|(b, o)| {
                let a = rows.block(b * ROW_BLOCK, o.len() / n);
                bf16::gemm_rows(a, packed, cols.clone(), o, accumulate);
                add_bias_seq(o, bias);
            });
        }
    }
}

/// [`matmul`] on one block of rows of f32 activations, on this thread.
fn gemm_block(
    a: &[f32],
    k: usize,
    w: &Dense,
    cols: std::ops::Range<usize>,
    out: &mut [f32],
    accumulate: bool,
) {
    assert_eq!(k, w.d_in, "inner dimensions");
    assert!(cols.end <= w.d_out);
    let n = cols.len();
    let m = a.len() / k;
    assert_eq!(a.len(), m * k);
    assert_eq!(out.len(), m * n);
    if m == 0 || n == 0 {
        return;
    }
    // In bf16 mode the f32 weights are gone and every product takes `Acts::Bf16` instead.
    assert!(w.bf16.is_none(), "an f32 product with bf16 weights");
    let rhs = Strided::rows(&w.w[cols.start..], w.d_out);
    gemm_into(m, n, k, out, n, Strided::rows(a, k), rhs, 1.0, accumulate);
}

/// A matrix in a slice: element `(i, j)` at `data[i * rs + j * cs]`.
#[derive(Clone, Copy)]
struct Strided<'a> {
    data: &'a [f32],
    rs: usize,
    cs: usize,
}

impl<'a> Strided<'a> {
    /// Row-major with row stride `rs`.
    fn rows(data: &'a [f32], rs: usize) -> Self {
        Self { data, rs, cs: 1 }
    }

    /// Whether every element of an `r × c` matrix lies inside `data`.
    fn holds(&self, r: usize, c: usize) -> bool {
        r == 0 || c == 0 || (r - 1) * self.rs + (c - 1) * self.cs < self.data.len()
    }
}

/// `out[m × n]` (row stride `out_rs`) `= scale · lhs[m × k] · rhs[k × n]`, or `+=` with
/// `accumulate`; one `gemm` call on this thread. The one `unsafe` block of the encoder: every
/// element it touches is bounds-checked first.
#[allow(clippy::too_many_arguments)]
fn gemm_into(
    m: usize,
    n: usize,
    k: usize,
    out: &mut [f32],
    out_rs: usize,
    lhs: Strided,
    rhs: Strided,
    scale: f32,
    accumulate: bool,
) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(k > 0, "empty inner dimension");
    assert!((m - 1) * out_rs + n <= out.len(), "output out of bounds");
    assert!(lhs.holds(m, k), "left operand out of bounds");
    assert!(rhs.holds(k, n), "right operand out of bounds");
    // SAFETY: the asserts bound every element read (lhs m × k, rhs k × n at their strides) and
    // written (out m × n at row stride out_rs); `out` is borrowed mutably, so nothing aliases it.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            out_rs as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.cs as isize,
            lhs.rs as isize,
            rhs.data.as_ptr(),
            rhs.cs as isize,
            rhs.rs as isize,
            1.0,
            scale,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// Rows per element-wise task.
const EW_ROWS: usize = 64;

simd_dispatch! {
    fn add_bias_seq(x: &mut [f32], b: &[f32]) {
        for row in x.chunks_exact_mut(b.len()) {
            for (v, &bj) in row.iter_mut().zip(b) {
                *v += bj;
            }
        }
    }
}

simd_dispatch! {
    fn bias_gelu_seq(x: &mut [f32], b: &[f32]) {
        for row in x.chunks_exact_mut(b.len()) {
            bias_gelu_row(row, b);
        }
    }
}

bf16_dispatch! {
    /// [`bias_gelu_seq`] of the rows of `x` rounded to bf16 pairs into `dst` (`pairs` words a
    /// row) as they are made, 16 values at a time; `x` is left as it is.
    fn bias_gelu_bf16(x: &[f32], b: &[f32], dst: &mut [u32], pairs: usize) |round| {
        let n = b.len();
        for (row, d) in x.chunks_exact(n).zip(dst.chunks_exact_mut(pairs)) {
            let (words, rest) = bf16::split_row(d, n);
            let (mut values, mut bias) = (row.chunks_exact(16), b.chunks_exact(16));
            for ((v, b), w) in (&mut values).zip(&mut bias).zip(words) {
                let g: [f32; 16] = std::array::from_fn(|j| gelu(v[j] + b[j]));
                round(&g, w.try_into().expect("8 words"));
            }
            let mut last = [0f32; 16];
            for ((g, &v), &b) in last.iter_mut().zip(values.remainder()).zip(bias.remainder()) {
                *g = gelu(v + b);
            }
            bf16::finish_row(&last, n, rest, &round);
        }
    }
}

#[inline(always)]
fn gelu(y: f32) -> f32 {
    0.5 * y * (1.0 + erf(y * std::f32::consts::FRAC_1_SQRT_2))
}

#[inline(always)]
fn bias_gelu_row(row: &mut [f32], b: &[f32]) {
    for (v, &bj) in row.iter_mut().zip(b) {
        *v = gelu(*v + bj);
    }
}

fn layer_norm(x: &mut [f32], h: usize, ln: &Norm, eps: f32) {
    x.par_chunks_mut(EW_ROWS * h)
        .for_each(|c| layer_norm_seq(c, h, &ln.gamma, &ln.beta, eps));
}

simd_dispatch! {
    fn layer_norm_seq(x: &mut [f32], h: usize, gamma: &[f32], beta: &[f32], eps: f32) {
        for row in x.chunks_exact_mut(h) {
            norm_row(row, gamma, beta, eps);
        }
    }
}

simd_dispatch! {
    /// The rows of `x` through `ln` (as they are without one), each rounded to bf16 pairs into
    /// `dst` (`pairs` words a row); `x` is left as it is.
    fn layer_norm_bf16(x: &[f32], h: usize, ln: Option<&Norm>, eps: f32, dst: &mut [u32], pairs: usize) {
        let mut row = vec![0f32; h];
        for (src, d) in x.chunks_exact(h).zip(dst.chunks_exact_mut(pairs)) {
            // Without a layer norm the rows are rounded where they are (no copy).
            let Some(ln) = ln else {
                bf16::round_pairs(src, 1.0, d);
                continue;
            };
            row.copy_from_slice(src);
            norm_row(&mut row, &ln.gamma, &ln.beta, eps);
            bf16::round_pairs(&row, 1.0, d);
        }
    }
}

#[inline(always)]
fn norm_row(row: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    let h = row.len();
    let mean = lane_sum(row, |v| v) / h as f32;
    let var = lane_sum(row, |v| (v - mean) * (v - mean)) / h as f32;
    let inv = 1.0 / (var + eps).sqrt();
    for ((v, &g), &b) in row.iter_mut().zip(gamma).zip(beta) {
        *v = (*v - mean) * inv * g + b;
    }
}

simd_dispatch! {
    fn softmax_rows(x: &mut [f32], n: usize) {
        for row in x.chunks_exact_mut(n) {
            let max = lane_max(row);
            for v in row.iter_mut() {
                *v = exp(*v - max);
            }
            let inv = 1.0 / lane_sum(row, |v| v);
            for v in row.iter_mut() {
                *v *= inv;
            }
        }
    }
}

bf16_dispatch! {
    /// The softmax of the first `n` values of each row of `x` (`stride` values a row), in two
    /// parts: `e^(v − max)` rounded to bf16 pairs into `dst` (`pairs` words a row) as they are
    /// made, and the row's `1 / Σ e^(v − max)` (f32 sums) into `inv`, to scale the product with
    /// the values by.
    fn exp_rows_bf16(x: &[f32], n: usize, stride: usize, dst: &mut [u32], pairs: usize, inv: &mut [f32]) |round| {
        let rows = x.chunks_exact(stride).zip(dst.chunks_exact_mut(pairs));
        for ((row, d), inv) in rows.zip(inv) {
            let row = &row[..n];
            let max = lane_max(row);
            // 16 partial sums over the whole chunks, then the last chunk's values in order.
            let mut acc = [0f32; 2 * LANES];
            let (words, rest) = bf16::split_row(d, n);
            let mut values = row.chunks_exact(2 * LANES);
            for (v, w) in (&mut values).zip(words) {
                let e: [f32; 2 * LANES] = std::array::from_fn(|j| exp_coarse(v[j] - max));
                acc = std::array::from_fn(|j| acc[j] + e[j]);
                round(&e, w.try_into().expect("8 words"));
            }
            let (mut last, mut tail) = ([0f32; 16], 0.0);
            for (e, &v) in last.iter_mut().zip(values.remainder()) {
                *e = exp_coarse(v - max);
                tail += *e;
            }
            bf16::finish_row(&last, n, rest, &round);
            *inv = 1.0 / acc.iter().fold(tail, |s, &a| s + a);
        }
    }
}

/// Partial sums (or maxima) a reduction keeps side by side: a plain fold over floats is one
/// serial chain the compiler may not reorder, so it runs a lane at a time; [`LANES`] chains in a
/// fixed order vectorise and give the same result on every run and thread count.
const LANES: usize = 8;

/// The sum of `f(v)` over `xs`: [`LANES`] interleaved partial sums, then the tail, then the lanes
/// in order.
#[inline(always)]
fn lane_sum(xs: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut acc = [0f32; LANES];
    let mut chunks = xs.chunks_exact(LANES);
    for c in &mut chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += f(v);
        }
    }
    let tail = chunks.remainder().iter().fold(0.0, |s, &v| s + f(v));
    acc.iter().fold(tail, |s, &a| s + a)
}

/// The maximum of `xs` (−∞ for none; NaNs are passed over), in lanes as [`lane_sum`] (the
/// maximum does not depend on their order), twice as many to fill wider vectors.
#[inline(always)]
fn lane_max(xs: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; 2 * LANES];
    let mut chunks = xs.chunks_exact(2 * LANES);
    for c in &mut chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            // A plain compare (not `f32::max`, which orders NaNs) compiles to one instruction.
            *a = if v > *a { v } else { *a };
        }
    }
    let tail = chunks
        .remainder()
        .iter()
        .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m });
    acc.iter().fold(tail, |m, &a| if a > m { a } else { m })
}

/// `e^x` for `x ≤ 0` down to −87 (softmax after subtracting the row maximum): Cephes' `expf`
/// (range reduction by ln 2, degree-6 polynomial, exponent bits), ≤ 2 ulp; branch-free so loops
/// over it vectorise.
#[inline(always)]
fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let n = (x * std::f32::consts::LOG2_E + 0.5).floor();
    let r = n * 2.121_944_4e-4 + (n * -0.693_359_4 + x);
    let p = [
        1.398_199_9e-3,
        8.333_452e-3,
        4.166_579_6e-2,
        1.666_666_5e-1,
        0.5,
    ]
    .iter()
    .fold(1.987_569_1e-4, |p, &c| p * r + c);
    let y = p * r * r + r + 1.0;
    // 2^n from its exponent bits. `n + 127` is a whole number in [2, 254], so adding 2^23 puts it
    // in the low mantissa bits; unlike `n as i32` (a saturating conversion, one lane at a time),
    // these are plain integer operations that vectorise.
    let biased = (n + (127.0 + 8_388_608.0)).to_bits() - 0x4b00_0000;
    y * f32::from_bits(biased << 23)
}

/// `e^x` for `x ≤ 0` down to −87, to 7.5 × 10⁻⁵ relative, for values rounded to bf16 next (whose
/// own rounding is up to 2⁻⁹ relative) in about half [`exp`]'s instructions: `2^(x log₂e)` as
/// `2^n · 2^f` with `f` in [−½, ½], `2^f` by a cubic fitted for relative error on that interval
/// (the test below holds the bound); fused multiply-adds, for callers compiled with FMA.
#[inline(always)]
fn exp_coarse(x: f32) -> f32 {
    let t = x.clamp(-87.0, 0.0) * std::f32::consts::LOG2_E;
    let n = (t + 0.5).floor();
    let f = t - n;
    let p = f.mul_add(
        f.mul_add(f.mul_add(0.055_171_55, 0.242_611_05), 0.693_260_97),
        0.999_928_06,
    );
    // 2^n from its exponent bits, as in `exp`; n is in [−125, 0].
    let biased = (n + (127.0 + 8_388_608.0)).to_bits() - 0x4b00_0000;
    p * f32::from_bits(biased << 23)
}

/// `erf(x)` in float precision: a rational approximation on [−4, 4] (odd degree-13 over even
/// degree-8 polynomial, the one Eigen and XLA use), clamped to ±1; branch-free.
#[inline(always)]
fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = -2.726_142_3e-10_f32;
    p = p * x2 + 2.770_681_4e-8;
    p = p * x2 - 2.101_024e-6;
    p = p * x2 - 5.692_506_4e-5;
    p = p * x2 - 7.349_906_3e-4;
    p = p * x2 - 2.954_6e-3;
    p = p * x2 - 1.609_603_3e-2;
    let mut q = -1.456_607_2e-5_f32;
    q = q * x2 - 2.133_740_6e-4;
    q = q * x2 - 1.682_827e-3;
    q = q * x2 - 7.373_329e-3;
    q = q * x2 - 1.426_474e-2;
    (x * p / q).clamp(-1.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::config::BertConfig;
    use crate::model::device::Cpu;
    use crate::model::{init, load, weights::WeightFile};

    /// erf by its Taylor series in f64 (exact enough for |x| ≤ 4: ≤ 1e-9 after cancellation).
    fn erf_series(x: f64) -> f64 {
        let (mut term, mut sum, mut n) = (x, x, 0.0);
        while term.abs() > 1e-17 {
            n += 1.0;
            term *= -x * x / n;
            sum += term / (2.0 * n + 1.0);
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }

    #[test]
    fn lane_reductions_and_softmax_match_f64_on_ragged_rows() {
        let mut uniform = bf16::test_stream(0x9e37_79b9_7f4a_7c15);
        let mut next = || uniform() * 10.0;
        for n in 0..=41 {
            let row: Vec<f32> = (0..n).map(|_| next()).collect();
            let sum: f64 = row.iter().map(|&v| v as f64).sum();
            assert!((lane_sum(&row, |v| v) as f64 - sum).abs() <= 1e-5 * (1.0 + sum.abs()));
            let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
            assert_eq!(lane_max(&row), max, "n {n}");
            if n == 0 {
                continue;
            }
            let mut soft = row.clone();
            softmax_rows(&mut soft, n);
            let z: f64 = row.iter().map(|&v| (v as f64 - max as f64).exp()).sum();
            for (&s, &v) in soft.iter().zip(&row) {
                let want = (v as f64 - max as f64).exp() / z;
                assert!((s as f64 - want).abs() <= 1e-6, "n {n}: {s} vs {want}");
            }
        }
    }

    /// The bf16 forms of softmax, layer norm and GELU round exactly what the f32 forms give.
    #[test]
    fn fused_roundings_round_the_f32_results() {
        let mut uniform = bf16::test_stream(0x2545_f491_4f6c_dd1d);
        let mut next = || uniform() * 4.0;
        let (rows, n) = (3usize, 37usize);
        // Rows padded past their values (to be zeros there).
        let pairs = n.div_ceil(2) + 5;
        let src: Vec<f32> = (0..rows * n).map(|_| next()).collect();
        let rounded = |f: &[f32]| -> Vec<u32> {
            let mut words = vec![0u32; rows * pairs];
            for (r, w) in f.chunks_exact(n).zip(words.chunks_exact_mut(pairs)) {
                bf16::round_pairs(r, 1.0, w);
            }
            words
        };
        // The softmax's exponentials of the first n values of rows n + 3 apart, and normalisers.
        let stride = n + 3;
        let wide: Vec<f32> = (0..rows * stride).map(|_| next()).collect();
        let mut got = vec![u32::MAX; rows * pairs];
        let mut inv = vec![0f32; rows];
        exp_rows_bf16(&wide, n, stride, &mut got, pairs, &mut inv);
        for (r, row) in wide.chunks_exact(stride).enumerate() {
            let row = &row[..n];
            let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
            let e: Vec<f32> = row.iter().map(|&v| exp_coarse(v - max)).collect();
            let mut want = vec![0u32; pairs];
            bf16::round_pairs(&e, 1.0, &mut want);
            assert_eq!(got[r * pairs..][..pairs], want, "exponentials, row {r}");
            let sum: f64 = e.iter().map(|&v| f64::from(v)).sum();
            assert!(
                (f64::from(inv[r]) * sum - 1.0).abs() < 1e-6,
                "normaliser, row {r}"
            );
        }

        let norm = Norm {
            gamma: (0..n).map(|_| next()).collect(),
            beta: (0..n).map(|_| next()).collect(),
        };
        let mut want = src.clone();
        layer_norm_seq(&mut want, n, &norm.gamma, &norm.beta, 1e-12);
        got.fill(u32::MAX);
        layer_norm_bf16(&src, n, Some(&norm), 1e-12, &mut got, pairs);
        assert_eq!(got, rounded(&want), "layer norm");
        layer_norm_bf16(&src, n, None, 1e-12, &mut got, pairs);
        assert_eq!(got, rounded(&src), "no layer norm");

        let mut want = src.clone();
        bias_gelu_seq(&mut want, &norm.beta);
        got.fill(u32::MAX);
        bias_gelu_bf16(&src, &norm.beta, &mut got, pairs);
        assert_eq!(got, rounded(&want), "GELU");
    }

    #[test]
    fn erf_and_exp_are_float_accurate() {
        for i in -600..=600 {
            let x = (i as f64 / 100.0) as f32 as f64;
            let want = if x.abs() > 5.0 {
                x.signum()
            } else {
                erf_series(x)
            };
            let got = erf(x as f32) as f64;
            assert!((got - want).abs() < 3e-7, "erf({x}) = {got}, want {want}");
        }
        for i in 0..=8700 {
            let x = -(i as f64) / 100.0;
            let want = (x as f32 as f64).exp();
            let got = f64::from(exp(x as f32));
            assert!(
                ((got - want) / want).abs() < 3e-7,
                "exp({x}) = {got}, want {want}"
            );
            let got = f64::from(exp_coarse(x as f32));
            assert!(
                ((got - want) / want).abs() < 8e-5,
                "exp_coarse({x}) = {got}, want {want}"
            );
        }
    }

    fn random_model(cfg: &BertConfig, seed: u64) -> (super::super::bert::Bert<Cpu>, NativeBert) {
        let file = WeightFile {
            path: "random".into(),
            tensors: init::backbone(cfg, seed),
        };
        let burn = load::load::<Cpu>(&file, cfg, &Default::default())
            .expect("random weights load")
            .bert;
        let native = NativeBert::from_burn(burn.clone(), cfg.layer_norm_eps);
        (burn, native)
    }

    fn batch(lengths: &[usize], vocab: u32, seed: u64) -> TokenBatch {
        let mut state = seed;
        let rows: Vec<Vec<u32>> = lengths
            .iter()
            .map(|&len| {
                (0..len)
                    .map(|_| {
                        state = state
                            .wrapping_mul(6_364_136_223_846_793_005)
                            .wrapping_add(1_442_695_040_888_963_407);
                        (state >> 33) as u32 % vocab
                    })
                    .collect()
            })
            .collect();
        TokenBatch::from_rows(&rows, 3)
    }

    fn max_rel(got: &[f32], want: &[f32]) -> f32 {
        assert_eq!(got.len(), want.len());
        let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
        got.iter()
            .zip(want)
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()))
            / scale
    }

    /// Both layer-norm placements, ragged lengths (one sequence of a single token, one longer
    /// than a row block): the native path equals burn's at every layer, padded rows included.
    #[test]
    fn native_matches_burn() {
        for (pre, last) in [(true, Some(true)), (true, Some(false)), (false, None)] {
            let mut cfg = BertConfig::preset("tiny", 600).expect("tiny preset");
            cfg.pre_layer_norm = pre;
            cfg.last_layer_norm = last;
            cfg.max_position_embeddings = cfg.max_position_embeddings.max(300);
            let (burn, native) = random_model(&cfg, 7);
            let b = batch(&[5, 1, 300, 37], 600, 11);
            let dev = Default::default();
            let (ids, mask) = super::super::batch_tensors::<Cpu>(&b, &dev);
            let want = burn.forward_all(ids.clone(), mask.clone());
            let got = native.hidden_states(&b);
            assert_eq!(got.len(), want.len());
            for (i, (g, w)) in got.iter().zip(want).enumerate() {
                assert_eq!(g.shape, w.dims().to_vec());
                let e = max_rel(&g.data, &values(w));
                assert!(e < 1e-5, "pre {pre} last {last:?}: state {i} error {e:e}");
            }
            let want_cls = values(burn.cls(ids, mask));
            let e = max_rel(&native.cls(&b), &want_cls);
            assert!(e < 1e-5, "pre {pre} last {last:?}: cls error {e:e}");
        }
    }

    /// The [CLS] vector of a sequence does not depend on what it is batched with, nor on the
    /// thread count (fixed row blocks), to the bit.
    fn pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool")
    }

    #[test]
    fn cls_is_independent_of_batch_and_threads() {
        let cfg = BertConfig::preset("tiny", 600).expect("tiny preset");
        let (_, native) = random_model(&cfg, 3);
        let b = batch(&[40, 300, 7, 120], 600, 5);
        let one = pool(1).install(|| native.cls(&b));
        let two = pool(3).install(|| native.cls(&b));
        assert_eq!(one, two);
        let h = cfg.hidden_size;
        let single = native.cls(&TokenBatch::from_rows(
            &[b.ids[b.seq_len..][..300].to_vec()],
            3,
        ));
        assert!(max_rel(&single, &one[h..2 * h]) < 1e-6);
    }

    /// bf16 weight products (where the CPU has them): [CLS] within the stated tolerance of f32
    /// (each product's operands rounded to 8 significant bits, sums in f32: 2% of the vector's
    /// norm, measured 0.3% on GENA-LM base shapes), and still the same for any thread count.
    #[test]
    fn bf16_cls_is_close_to_f32_and_independent_of_threads() {
        let cfg = BertConfig::preset("tiny", 600).expect("tiny preset");
        let (_, mut native) = random_model(&cfg, 3);
        let b = batch(&[40, 300, 7, 120], 600, 5);
        let f32_cls = native.cls(&b);
        if !native.use_bf16() {
            eprintln!("this CPU has no bf16 products: not tested here");
            return;
        }
        let one = pool(1).install(|| native.cls(&b));
        let three = pool(3).install(|| native.cls(&b));
        assert_eq!(one, three);
        assert_ne!(one, f32_cls, "bf16 products should round");
        let h = cfg.hidden_size;
        for (x, y) in one.chunks(h).zip(f32_cls.chunks(h)) {
            let err: f32 = x
                .iter()
                .zip(y)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f32>()
                .sqrt();
            let norm: f32 = y.iter().map(|v| v * v).sum::<f32>().sqrt();
            assert!(err <= 0.02 * norm, "relative error {}", err / norm);
        }
    }

    #[test]
    fn empty_batch_gives_nothing() {
        let cfg = BertConfig::preset("tiny", 600).expect("tiny preset");
        let (_, native) = random_model(&cfg, 3);
        assert!(native.cls(&TokenBatch::from_rows(&[], 3)).is_empty());
    }
}
