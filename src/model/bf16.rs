//! bfloat16 matrix products for the native CPU encoder (issue 19): weights rounded to bf16 once at
//! load and packed for the CPU's bf16 dot products; activations rounded to bf16 per product; every
//! sum kept in f32. Two kernels: AMX tiles (`TDPBF16PS`, 16 × 16 outputs of 32-term dot products
//! per instruction; Intel Xeon from Sapphire Rapids) where the CPU and the OS allow them, else
//! AVX512-BF16 (`VDPBF16PS`, a dot product of bf16 pairs into each f32 lane; Zen 4, Cooper Lake).
//!
//! Packing: the weight matrix `w[k × n]` (row-major, as [`super::native`] keeps it) in panels of
//! [`PANEL`] columns; within a panel, for each pair of rows `(2q, 2q + 1)`, one 32-bit word per
//! column holding `w[2q][c]` in its low half and `w[2q + 1][c]` in its high half (zeros pad an odd
//! `k`, and the pairs run to a multiple of [`TILE_PAIRS`]). A row of the activations becomes the
//! same pairs ([`PackedRows`]: in little-endian memory, simply the row's bf16 values in order),
//! so lane `c` gains `a[2q]·w[2q][c] + a[2q+1]·w[2q+1][c]`; this is also the layout AMX reads
//! its right-hand tiles in. Each output element is one sum in a fixed order, whatever the
//! blocking or the thread count.

use std::marker::PhantomData;
use std::ops::Range;

use bytemuck::Pod;
use rayon::iter::{IndexedParallelIterator, ParallelExtend};

/// Columns per packed panel: two 16-lane registers, or two AMX tiles side by side.
pub const PANEL: usize = 32;

/// Row pairs per AMX tile (32 bf16 of a row: 64 bytes).
const TILE_PAIRS: usize = 16;

/// Fewest query rows for which the attention takes bf16 products, whose keys and values must be
/// packed for that one sequence and head: a third of an AMX row block, a set value (not tuned);
/// what it keeps in f32 is the last layer's one [CLS] row per sequence, and sequences shorter.
pub const MIN_ROWS: usize = 11;

/// `x` rounded to the nearest bfloat16 (ties to even), as its 16 bits.
#[inline(always)]
pub fn to_bf16(x: f32) -> u16 {
    let bits = x.to_bits();
    let rounded = (bits.wrapping_add(0x7fff + ((bits >> 16) & 1)) >> 16) as u16;
    let quiet_nan = ((bits >> 16) | 0x40) as u16;
    // A select, not a branch, so that loops over it vectorise.
    if x.is_nan() {
        quiet_nan
    } else {
        rounded
    }
}

/// The f32 value of a bfloat16.
pub fn from_bf16(b: u16) -> f32 {
    f32::from_bits(u32::from(b) << 16)
}

/// Two bf16 values as one 32-bit word, `lo` in the low half.
#[inline(always)]
fn pair(lo: f32, hi: f32) -> u32 {
    u32::from(to_bf16(lo)) | (u32::from(to_bf16(hi)) << 16)
}

/// One 64-byte cache line of words, on a 64-byte boundary.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([u32; 16]);

// SAFETY: sixteen words and no padding (size 64 equals the alignment); every bit pattern is a
// valid value.
unsafe impl bytemuck::Zeroable for Line {}
// SAFETY: as above; `Line` is `Copy` and `repr(C)`.
unsafe impl bytemuck::Pod for Line {}

/// Values of 4 bytes (words, floats) that start on a 64-byte boundary, as every operand of the
/// products here is kept: each row of a tile or panel (64 bytes) then fills one cache line, where
/// rows straddling two made the product's inner step 2.9× slower on the Xeon of BENCHMARKS.md
/// (`examples/amx_tile_loads.rs`).
#[derive(Clone, Default)]
pub struct Aligned<T> {
    lines: Vec<Line>,
    len: usize,
    values: PhantomData<T>,
}

/// bf16 pairs, aligned.
pub type Words = Aligned<u32>;

/// f32 values, aligned.
pub type Floats = Aligned<f32>;

impl<T: Pod> Aligned<T> {
    /// Values per line.
    const PER_LINE: usize = {
        assert!(std::mem::size_of::<T>() == 4, "4-byte values");
        16
    };

    /// `len` zeros, written on the rayon pool a megabyte per task (a batch's activations are
    /// tens of megabytes).
    pub fn zeroed(len: usize) -> Self {
        let n = len.div_ceil(Self::PER_LINE);
        let mut lines = Vec::with_capacity(n);
        lines.par_extend(rayon::iter::repeat_n(Line([0; 16]), n).with_min_len(1 << 14));
        Self {
            lines,
            len,
            values: PhantomData,
        }
    }

    /// A copy of `values`.
    pub fn from_slice(values: &[T]) -> Self {
        let mut a = Self::zeroed(values.len());
        a.copy_from_slice(values);
        a
    }

    /// Exactly `len` values, keeping the allocation and the values there (new ones are zero):
    /// a buffer reused without zeroing it again.
    pub fn set_len(&mut self, len: usize) {
        if len < self.len {
            self.lines.truncate(len.div_ceil(Self::PER_LINE));
            // The last line's values past `len` back to zero, as `grow` expects them.
            bytemuck::cast_slice_mut::<Line, T>(&mut self.lines)[len..].fill(T::zeroed());
            self.len = len;
        } else {
            self.grow(len);
        }
    }

    /// At least `len` values, keeping the allocation and the values there (new ones are zero).
    pub fn grow(&mut self, len: usize) {
        if len > self.len {
            self.lines
                .resize(len.div_ceil(Self::PER_LINE), Line([0; 16]));
            self.len = len;
        }
    }
}

impl<T: Pod> std::ops::Deref for Aligned<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        &bytemuck::cast_slice(&self.lines)[..self.len]
    }
}

impl<T: Pod> std::ops::DerefMut for Aligned<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut bytemuck::cast_slice_mut(&mut self.lines)[..self.len]
    }
}

/// A weight matrix `[k × n]` rounded to bf16 and packed in panels (module docs).
pub struct PackedBf16 {
    words: Words,
    /// Row pairs: `k` halved, rounded up to a multiple of [`TILE_PAIRS`].
    pairs: usize,
    n: usize,
}

impl PackedBf16 {
    /// Packs the row-major `w[k × n]`.
    pub fn pack(w: &[f32], k: usize, n: usize) -> Self {
        assert_eq!(w.len(), k * n, "weight shape");
        Self::pack_rows_of(k, n, |r| &w[r * n..(r + 1) * n])
    }

    /// Packs the `k × n` matrix whose row `r` is `row(r)` (`n` values).
    pub fn pack_rows_of<'a>(k: usize, n: usize, row: impl Fn(usize) -> &'a [f32]) -> Self {
        let mut p = Self::zeroed(k, n);
        let zeros = vec![0f32; n];
        for q in 0..k.div_ceil(2) {
            let lo = row(2 * q);
            let hi = if 2 * q + 1 < k {
                row(2 * q + 1)
            } else {
                &zeros
            };
            assert!(
                lo.len() >= n && hi.len() >= n,
                "row {} shorter than {n}",
                2 * q
            );
            for (c0, (lo, hi)) in lo[..n].chunks(PANEL).zip(hi[..n].chunks(PANEL)).enumerate() {
                let at = (c0 * p.pairs + q) * PANEL;
                interleave(lo, hi, &mut p.words[at..at + lo.len()]);
            }
        }
        p
    }

    /// Packs the `k × n` matrix whose column `c` is `column(c)` (`k` values): a transposed view,
    /// such as the attention's keys.
    pub fn pack_columns_of<'a>(k: usize, n: usize, column: impl Fn(usize) -> &'a [f32]) -> Self {
        let mut p = Self::zeroed(k, n);
        let mut pairs = vec![0u32; k.div_ceil(2)];
        for c in 0..n {
            round_pairs(&column(c)[..k], 1.0, &mut pairs);
            let (panel, j) = (c / PANEL, c % PANEL);
            let words = &mut p.words[panel * p.pairs * PANEL..];
            for (q, &w) in pairs.iter().enumerate() {
                words[q * PANEL + j] = w;
            }
        }
        p
    }

    fn zeroed(k: usize, n: usize) -> Self {
        let pairs = k.div_ceil(2).next_multiple_of(TILE_PAIRS);
        let words = Words::zeroed(n.div_ceil(PANEL) * pairs * PANEL);
        Self { words, pairs, n }
    }

    /// Whether products over `cols` can use the packing (they start at a panel's edge).
    pub fn covers(&self, cols: &Range<usize>) -> bool {
        cols.start.is_multiple_of(PANEL) && cols.end <= self.n
    }

    fn panel(&self, p: usize) -> &[u32] {
        &self.words[p * self.pairs * PANEL..(p + 1) * self.pairs * PANEL]
    }
}

/// The bf16 kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// AMX tiles.
    Amx,
    /// AVX512-BF16 registers.
    Avx512,
}

impl Kernel {
    /// The best kernel this CPU (and the OS, for AMX's tile state) runs, if any.
    pub fn best() -> Option<Kernel> {
        if amx::usable() {
            Some(Kernel::Amx)
        } else if avx512_usable() {
            Some(Kernel::Avx512)
        } else {
            None
        }
    }
}

/// Whether this CPU runs the bf16 products.
pub fn available() -> bool {
    Kernel::best().is_some()
}

/// Whether [`round_pairs`] and [`round16_hardware`] round with AVX512-BF16's instruction here.
pub fn hardware_rounding() -> bool {
    avx512_usable()
}

/// 16 values rounded to bf16 pairs with [`to_bf16`] (the rounding of [`round_pairs`] on CPUs
/// without AVX512-BF16), for loops that make a row's values 16 at a time ([`split_row`]).
#[inline(always)]
pub fn round16(v: &[f32; 16], dst: &mut [u32; 8]) {
    for (d, p) in dst.iter_mut().zip(v.chunks_exact(2)) {
        *d = pair(p[0], p[1]);
    }
}

/// [`round16`] with `VCVTNEPS2BF16` (as [`round_pairs`] where the CPU has it: denormal values
/// become zeros), for callers compiled with these features.
///
/// # Safety
///
/// Callers not compiled with AVX512F, AVX512VL and AVX512-BF16 must have checked that the CPU
/// has them ([`hardware_rounding`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512bf16")]
#[inline]
pub fn round16_hardware(v: &[f32; 16], dst: &mut [u32; 8]) {
    use std::arch::x86_64::*;
    // SAFETY: the load reads `v`'s 16 values and the store writes `dst`'s 8 words (32 bytes);
    // the conversion's 16 bf16 values are those 32 bytes.
    unsafe {
        let h: __m256i = std::mem::transmute(_mm512_cvtneps_pbh(_mm512_loadu_ps(v.as_ptr())));
        _mm256_storeu_si256(dst.as_mut_ptr().cast(), h);
    }
}

/// A row of bf16 pairs for `len` values made 16 at a time: the words of the whole chunks (8
/// each, to fill with [`round16`] or [`round16_hardware`]) and the rest, for [`finish_row`].
#[inline(always)]
pub fn split_row(dst: &mut [u32], len: usize) -> (std::slice::ChunksExactMut<'_, u32>, &mut [u32]) {
    assert!(2 * dst.len() >= len, "too few pairs for a row");
    let (whole, rest) = dst.split_at_mut(len / 16 * 8);
    (whole.chunks_exact_mut(8), rest)
}

/// The rest of a row from [`split_row`]: the last, partial chunk's values (`len % 16` of them in
/// `last`, zeros after) rounded by `round`, then zeros. The row then holds the words
/// [`round_pairs`] would give for its values with scale 1.
#[inline(always)]
pub fn finish_row(
    last: &[f32; 16],
    len: usize,
    rest: &mut [u32],
    round: impl Fn(&[f32; 16], &mut [u32; 8]),
) {
    let live = (len % 16).div_ceil(2);
    if live > 0 {
        let mut words = [0u32; 8];
        round(last, &mut words);
        rest[..live].copy_from_slice(&words[..live]);
    }
    rest[live..].fill(0);
}

/// Whether the CPU has AVX512-BF16 and the AVX-512 parts its kernel and rounding use (read once:
/// [`round_pairs`] asks for every row).
fn avx512_usable() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        static USABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *USABLE.get_or_init(|| {
            has!("avx512f") && has!("avx512bw") && has!("avx512vl") && has!("avx512bf16")
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

simd_dispatch! {
    /// `dst[c] = (lo[c], hi[c])` as a bf16 pair.
    fn interleave(lo: &[f32], hi: &[f32], dst: &mut [u32]) {
        for ((d, &l), &h) in dst.iter_mut().zip(lo).zip(hi) {
            *d = pair(l, h);
        }
    }
}

/// `src · scale` as bf16 pairs into `dst` (zero past the end of `src`), with AVX512-BF16's
/// conversion (`VCVTNEPS2BF16`) where the CPU has it, else [`to_bf16`]. Both round to nearest
/// even and keep NaNs quiet; the instruction also takes denormal values (below 2⁻¹²⁶ in
/// magnitude) as zeros, which [`to_bf16`] rounds to bf16 denormals.
pub fn round_pairs(src: &[f32], scale: f32, dst: &mut [u32]) {
    #[cfg(target_arch = "x86_64")]
    if avx512_usable() {
        // SAFETY: the CPU has AVX512F, BW, VL and BF16 (checked).
        return unsafe { x86::round_pairs(src, scale, dst) };
    }
    round_pairs_soft(src, scale, dst);
}

simd_dispatch! {
    /// [`round_pairs`] with [`to_bf16`], on any CPU.
    fn round_pairs_soft(src: &[f32], scale: f32, dst: &mut [u32]) {
        round_pairs_inline(src, scale, dst)
    }
}

/// [`round_pairs_soft`] to inline into a caller compiled for wider vectors.
#[inline(always)]
fn round_pairs_inline(src: &[f32], scale: f32, dst: &mut [u32]) {
    assert!(2 * dst.len() >= src.len(), "too few pairs for a row");
    // A pair's low half holds the even element: in memory (little-endian), the row's bf16
    // values in order.
    let halves: &mut [u16] = bytemuck::cast_slice_mut(dst);
    let (row, rest) = halves.split_at_mut(src.len());
    for (h, &x) in row.iter_mut().zip(src) {
        *h = to_bf16(x * scale);
    }
    rest.fill(0);
}

/// Activations rounded to bf16 for [`gemm_rows`]: `m` rows of `pairs` words, then rows that pad
/// the last AMX block (zeros, or after [`PackedRows::reset`] whatever they held: no product lets
/// a padding row reach its output).
#[derive(Default)]
pub struct PackedRows {
    words: Words,
    m: usize,
    pairs: usize,
}

impl PackedRows {
    /// `m` rows of `k` zeros, for the products with a [`PackedBf16`] of inner dimension `k`.
    pub fn zeroed(m: usize, k: usize) -> Self {
        let pairs = k.div_ceil(2).next_multiple_of(TILE_PAIRS);
        let words = Words::zeroed(m.next_multiple_of(amx::ROWS) * pairs);
        Self { words, m, pairs }
    }

    /// Makes these `m` rows for products of inner dimension `k`, keeping the allocation: every
    /// row must then be written whole ([`round_pairs`] fills a row to its end).
    pub fn reset(&mut self, m: usize, k: usize) {
        self.pairs = k.div_ceil(2).next_multiple_of(TILE_PAIRS);
        self.m = m;
        let len = m.next_multiple_of(amx::ROWS) * self.pairs;
        self.words.grow(len);
    }

    /// The rows of `a[m × k]`.
    pub fn of(a: &[f32], k: usize) -> Self {
        let m = a.len().checked_div(k).unwrap_or(0);
        let mut rows = Self::zeroed(m, k);
        if k > 0 {
            for (i, src) in a.chunks_exact(k).enumerate() {
                round_pairs(src, 1.0, rows.row_mut(i));
            }
        }
        rows
    }

    /// Row `i`'s words, to fill with [`round_pairs`].
    pub fn row_mut(&mut self, i: usize) -> &mut [u32] {
        assert!(i < self.m, "row {i} of {}", self.m);
        &mut self.words[i * self.pairs..(i + 1) * self.pairs]
    }

    /// All the rows, for [`gemm_rows`].
    pub fn view(&self) -> RowsView<'_> {
        self.block(0, self.m)
    }

    /// Rows `r0..r0 + m`, `r0` at an AMX row block's start (the rows after them pad the view).
    pub fn block(&self, r0: usize, m: usize) -> RowsView<'_> {
        assert!(
            r0.is_multiple_of(amx::ROWS) && r0 + m <= self.m,
            "rows {r0}+{m} of {}",
            self.m
        );
        RowsView {
            words: &self.words[r0 * self.pairs..],
            m,
            pairs: self.pairs,
        }
    }

    /// The `m` rows' words, [`Self::pairs`] a row.
    pub fn words_mut(&mut self) -> &mut [u32] {
        &mut self.words[..self.m * self.pairs]
    }

    /// Words a row.
    pub fn pairs(&self) -> usize {
        self.pairs
    }
}

/// Rows of a [`PackedRows`] going into a product.
#[derive(Clone, Copy)]
pub struct RowsView<'a> {
    words: &'a [u32],
    m: usize,
    pairs: usize,
}

/// `out[m × cols.len()] (+)= a[m × k] · w[:, cols]`, `a` the rows rounded to bf16, with f32
/// sums, on this thread, with the best kernel. Needs [`available`] and
/// [`PackedBf16::covers`]`(cols)`.
pub fn gemm_rows(
    rows: RowsView,
    w: &PackedBf16,
    cols: Range<usize>,
    out: &mut [f32],
    accumulate: bool,
) {
    let kernel = Kernel::best().expect("bf16 products need AVX512-BF16 or AMX");
    gemm_with(kernel, rows, w, cols, out, accumulate);
}

/// [`gemm_rows`] with the kernel given (it must be usable here).
pub fn gemm_with(
    kernel: Kernel,
    rows: RowsView,
    w: &PackedBf16,
    cols: Range<usize>,
    out: &mut [f32],
    accumulate: bool,
) {
    let (m, n) = (rows.m, cols.len());
    assert!(w.covers(&cols), "columns {cols:?} do not start at a panel");
    assert_eq!(rows.pairs, w.pairs, "inner dimensions");
    assert_eq!(out.len(), m * n, "output shape");
    if m == 0 || n == 0 {
        return;
    }
    match kernel {
        Kernel::Amx => {
            assert!(amx::usable(), "AMX is not usable here");
            amx::product(rows.words, w, cols, m, out, accumulate);
        }
        Kernel::Avx512 => {
            assert!(avx512_usable(), "AVX512-BF16 is not usable here");
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the CPU has AVX512-BF16 (asserted); `product` checks the shapes.
            unsafe {
                x86::product(rows.words, w, cols, m, out, accumulate);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;
    use std::ops::Range;

    use super::{PackedBf16, PANEL};

    /// [`super::round_pairs`] with `VCVTNEPS2BF16`, 16 values at a time (the last ones masked).
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512bf16")]
    pub(super) unsafe fn round_pairs(src: &[f32], scale: f32, dst: &mut [u32]) {
        assert!(2 * dst.len() >= src.len(), "too few pairs for a row");
        let halves: &mut [u16] = bytemuck::cast_slice_mut(dst);
        let (row, rest) = halves.split_at_mut(src.len());
        let scale = _mm512_set1_ps(scale);
        let round = |v: __m512| -> __m256i {
            // SAFETY: the same 32 bytes, read as 16 words.
            unsafe { std::mem::transmute(_mm512_cvtneps_pbh(_mm512_mul_ps(v, scale))) }
        };
        let mut xs = src.chunks_exact(16);
        let mut hs = row.chunks_exact_mut(16);
        for (x, h) in (&mut xs).zip(&mut hs) {
            // SAFETY: the load reads the chunk's 16 values, the store writes its 16 words.
            _mm256_storeu_si256(h.as_mut_ptr().cast(), round(_mm512_loadu_ps(x.as_ptr())));
        }
        let (x, h) = (xs.remainder(), hs.into_remainder());
        let mask = ((1u32 << x.len()) - 1) as u16;
        // SAFETY: the masked load reads and the masked store writes only the tail's values.
        let v = _mm512_maskz_loadu_ps(mask, x.as_ptr());
        _mm256_mask_storeu_epi16(h.as_mut_ptr().cast(), mask, round(v));
        rest.fill(0);
    }

    /// Output rows per kernel call: 8 rows × 2 registers = 16 accumulators.
    const ROWS: usize = 8;

    /// Row pairs per pass over the panels: a panel's slice of them (16 KB) stays in the L1 cache
    /// while every block of rows goes by.
    const DEPTH: usize = 128;

    /// Every slice of row pairs, every panel of `cols`, every block of rows. Each output element
    /// gains one slice's sum at a time, slices in order.
    #[target_feature(enable = "avx512f,avx512bf16")]
    pub(super) unsafe fn product(
        rows: &[u32],
        w: &PackedBf16,
        cols: Range<usize>,
        m: usize,
        out: &mut [f32],
        accumulate: bool,
    ) {
        let n = cols.len();
        let pairs = w.pairs;
        assert!(rows.len() >= m * pairs);
        for q0 in (0..pairs).step_by(DEPTH) {
            let depth = (pairs - q0).min(DEPTH);
            for (p, c0) in (cols.start..cols.end).step_by(PANEL).enumerate() {
                let panel = &w.panel(cols.start / PANEL + p)[q0 * PANEL..(q0 + depth) * PANEL];
                let tile = Tile {
                    depth,
                    a_stride: pairs,
                    width: (cols.end - c0).min(PANEL),
                    out_stride: n,
                    accumulate: accumulate || q0 > 0,
                };
                let mut r = 0;
                while r < m {
                    let block = (m - r).min(ROWS);
                    let a = &rows[r * pairs + q0..];
                    let o = &mut out[r * n + p * PANEL..];
                    // SAFETY: `kernel` checks that `a`, `panel` and `o` hold what it reads and
                    // writes.
                    match block {
                        8 => kernel::<8>(a, panel, o, tile),
                        7 => kernel::<7>(a, panel, o, tile),
                        6 => kernel::<6>(a, panel, o, tile),
                        5 => kernel::<5>(a, panel, o, tile),
                        4 => kernel::<4>(a, panel, o, tile),
                        3 => kernel::<3>(a, panel, o, tile),
                        2 => kernel::<2>(a, panel, o, tile),
                        _ => kernel::<1>(a, panel, o, tile),
                    }
                    r += block;
                }
            }
        }
    }

    /// A kernel's share: `depth` row pairs (words `a_stride` apart between rows of `a`), and
    /// where its tile of the output goes.
    #[derive(Clone, Copy)]
    struct Tile {
        depth: usize,
        a_stride: usize,
        /// Columns of the panel in use (≤ [`PANEL`]).
        width: usize,
        out_stride: usize,
        accumulate: bool,
    }

    /// `R` rows × one panel: the sums over the tile's row pairs, then stored (added to `o` when
    /// accumulating), masked to the tile's width.
    #[target_feature(enable = "avx512f,avx512bf16")]
    unsafe fn kernel<const R: usize>(a: &[u32], panel: &[u32], o: &mut [f32], t: Tile) {
        assert!(a.len() >= (R - 1) * t.a_stride + t.depth && panel.len() >= t.depth * PANEL);
        assert!(o.len() >= (R - 1) * t.out_stride + t.width);
        let mut acc = [[_mm512_setzero_ps(); 2]; R];
        for q in 0..t.depth {
            let b = panel.as_ptr().add(q * PANEL);
            let b0: __m512bh = std::mem::transmute(_mm512_loadu_si512(b.cast()));
            let b1: __m512bh = std::mem::transmute(_mm512_loadu_si512(b.add(16).cast()));
            for (r, acc) in acc.iter_mut().enumerate() {
                let word = *a.get_unchecked(r * t.a_stride + q);
                let av: __m512bh = std::mem::transmute(_mm512_set1_epi32(word as i32));
                acc[0] = _mm512_dpbf16_ps(acc[0], av, b0);
                acc[1] = _mm512_dpbf16_ps(acc[1], av, b1);
            }
        }
        let mask = |half: usize| -> __mmask16 {
            let live = t.width.saturating_sub(half * 16).min(16);
            ((1u32 << live) - 1) as __mmask16
        };
        for (r, acc) in acc.iter().enumerate() {
            for (half, &v) in acc.iter().enumerate() {
                let k = mask(half);
                if k == 0 {
                    continue;
                }
                let dst = o.as_mut_ptr().add(r * t.out_stride + half * 16);
                let v = if t.accumulate {
                    _mm512_add_ps(_mm512_maskz_loadu_ps(k, dst), v)
                } else {
                    v
                };
                _mm512_mask_storeu_ps(dst, k, v);
            }
        }
    }
}

/// AMX tiles through inline assembly (the AMX intrinsics are not stable Rust). Tiles 0–3 hold a
/// 32 × 32 block of sums (four 16 × 16 f32 tiles), 4–5 the block's 32 activation rows (16 each,
/// 16 row pairs = 64 bytes a row, read in place from [`PackedRows`]), 6–7 the panel's two halves
/// (16 row pairs × 16 columns). Every tile row read is one aligned cache line ([`Words`]).
mod amx {
    #[cfg(target_arch = "x86_64")]
    use std::arch::asm;
    use std::ops::Range;

    use super::PackedBf16;
    #[cfg(target_arch = "x86_64")]
    use super::{Line, PANEL, TILE_PAIRS};

    /// Output rows per block (the activation rows are padded to a multiple).
    pub(super) const ROWS: usize = 32;

    /// Panels per group in [`product`]: of 1, 2, 4, 8 and 16, the one that was faster than one
    /// panel at a time on each of the base model's four products (256-row tasks; 1.02–1.36× in
    /// four runs of `cargo run --release --example amx_panel_groups`, BENCHMARKS.md).
    #[cfg(target_arch = "x86_64")]
    const GROUP: usize = 4;

    /// Whether the CPU has AMX-BF16 and AMX-TILE (CPUID leaf 7) and Linux lets this process use
    /// the tile state (`arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)`, asked once).
    pub(super) fn usable() -> bool {
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        {
            static USABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
            *USABLE.get_or_init(|| {
                #[allow(unused_unsafe)]
                // SAFETY: CPUID is always available on x86-64; on a CPU without leaf 7 the bits
                // read as zero or garbage, and the kernel then refuses the tile state.
                let leaf = unsafe { std::arch::x86_64::__cpuid_count(7, 0) };
                let cpu = leaf.edx & (1 << 22) != 0 && leaf.edx & (1 << 24) != 0;
                cpu && request_tile_state()
            })
        }
        #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
        {
            false
        }
    }

    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    fn request_tile_state() -> bool {
        const SYS_ARCH_PRCTL: i64 = 158;
        const ARCH_REQ_XCOMP_PERM: i64 = 0x1023;
        const XFEATURE_XTILEDATA: i64 = 18;
        let ret: i64;
        // SAFETY: the arch_prctl system call with these arguments only changes which extended
        // states the process may use; it reads and writes no memory of ours.
        unsafe {
            asm!(
                "syscall",
                inlateout("rax") SYS_ARCH_PRCTL => ret,
                in("rdi") ARCH_REQ_XCOMP_PERM,
                in("rsi") XFEATURE_XTILEDATA,
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack),
            );
        }
        ret == 0
    }

    /// The tile configuration: palette 1, tiles 0–7 all 16 rows × 64 bytes.
    #[cfg(target_arch = "x86_64")]
    #[repr(C, align(64))]
    struct TileConfig([u8; 64]);

    #[cfg(target_arch = "x86_64")]
    impl TileConfig {
        fn new() -> Self {
            let mut c = [0u8; 64];
            c[0] = 1;
            for t in 0..8 {
                c[16 + 2 * t] = 64;
                c[48 + t] = 16;
            }
            Self(c)
        }
    }

    /// Every panel of `cols`, every 32-row block: sums over all row pairs in the tiles, then
    /// stored (added to `out` when accumulating) for the rows and columns in use. Needs
    /// [`usable`]; `rows` padded to a multiple of [`ROWS`] rows.
    #[cfg(target_arch = "x86_64")]
    pub(super) fn product(
        rows: &[u32],
        w: &PackedBf16,
        cols: Range<usize>,
        m: usize,
        out: &mut [f32],
        accumulate: bool,
    ) {
        let (n, pairs) = (cols.len(), w.pairs);
        assert!(usable());
        assert!(
            rows.len() >= m.next_multiple_of(ROWS) * pairs,
            "padded rows"
        );
        assert!(pairs.is_multiple_of(TILE_PAIRS) && out.len() == m * n);
        let config = TileConfig::new();
        // The partial blocks' sums, aligned as the rows.
        let mut lines = [Line([0; 16]); ROWS * PANEL / 16];
        let block: &mut [f32] = bytemuck::cast_slice_mut(&mut lines);
        // SAFETY: the process may use the tile state (`usable`); the configuration is 64 bytes.
        unsafe { asm!("ldtilecfg [{}]", in(reg) config.0.as_ptr(), options(nostack, readonly)) };
        // Panels in groups: each block of rows goes through a group's panels one after the
        // other while its rows are in the L1 cache, and the group's panels stay in L2.
        let panels = n.div_ceil(PANEL);
        for g0 in (0..panels).step_by(GROUP) {
            for r0 in (0..m).step_by(ROWS) {
                for p in g0..(g0 + GROUP).min(panels) {
                    let panel = w.panel(cols.start / PANEL + p);
                    let width = (n - p * PANEL).min(PANEL);
                    let a = &rows[r0 * pairs..];
                    let live = (m - r0).min(ROWS);
                    if live == ROWS && width == PANEL {
                        // A whole block: the tiles start from (and go back to) `out` itself.
                        let dst = &mut out[r0 * n + p * PANEL..];
                        assert!(dst.len() >= (ROWS - 1) * n + PANEL);
                        let c = Sums {
                            at: dst.as_mut_ptr(),
                            stride: n * 4,
                            load: accumulate,
                        };
                        // SAFETY: `rows` holds rows r0..r0 + 32 (padded), `pairs` words each,
                        // and the panel `pairs` × 32 words; every tile load stays inside them;
                        // the 32 × 32 sums read and written lie in `dst` (asserted).
                        unsafe { sum_block(a, panel, pairs, c) };
                        continue;
                    }
                    let c = Sums {
                        at: block.as_mut_ptr(),
                        stride: PANEL * 4,
                        load: false,
                    };
                    // SAFETY: as above; the sums go to the 32 × 32 floats of `block`.
                    unsafe { sum_block(a, panel, pairs, c) };
                    for i in 0..live {
                        let dst = &mut out[(r0 + i) * n + p * PANEL..][..width];
                        let src = &block[i * PANEL..][..width];
                        if accumulate {
                            dst.iter_mut().zip(src).for_each(|(d, s)| *d += s);
                        } else {
                            dst.copy_from_slice(src);
                        }
                    }
                }
            }
        }
        // SAFETY: releases the tile state this thread configured.
        unsafe { asm!("tilerelease", options(nostack, nomem)) };
    }

    /// Where a block's 32 × 32 sums live: row-major from `at`, rows `stride` bytes apart; `load`:
    /// start from the values there (else from zero).
    #[cfg(target_arch = "x86_64")]
    struct Sums {
        at: *mut f32,
        stride: usize,
        load: bool,
    }

    /// One 32-row × 32-column block's sums over every row pair, stored at `c`; `a`: the block's
    /// rows, `pairs` words each.
    #[cfg(target_arch = "x86_64")]
    unsafe fn sum_block(a: &[u32], panel: &[u32], pairs: usize, c: Sums) {
        assert!(a.len() >= ROWS * pairs && panel.len() >= pairs * PANEL);
        let (a_stride, b_stride) = (pairs * 4, PANEL * 4);
        let rows16 = 16 * c.stride / 4;
        let (c0, c1, c2, c3) = (c.at, c.at.add(16), c.at.add(rows16), c.at.add(rows16 + 16));
        if c.load {
            asm!(
                "tileloadd tmm0, [{c0} + {sc}*1]",
                "tileloadd tmm1, [{c1} + {sc}*1]",
                "tileloadd tmm2, [{c2} + {sc}*1]",
                "tileloadd tmm3, [{c3} + {sc}*1]",
                c0 = in(reg) c0,
                c1 = in(reg) c1,
                c2 = in(reg) c2,
                c3 = in(reg) c3,
                sc = in(reg) c.stride,
                options(nostack, readonly),
            );
        } else {
            asm!(
                "tilezero tmm0",
                "tilezero tmm1",
                "tilezero tmm2",
                "tilezero tmm3",
                options(nostack, nomem)
            );
        }
        for q in (0..pairs).step_by(TILE_PAIRS) {
            let top = a.as_ptr().add(q);
            let b = panel.as_ptr().add(q * PANEL);
            asm!(
                "tileloadd tmm4, [{top} + {sa}*1]",
                "tileloadd tmm5, [{bottom} + {sa}*1]",
                "tileloadd tmm6, [{left} + {sb}*1]",
                "tileloadd tmm7, [{right} + {sb}*1]",
                "tdpbf16ps tmm0, tmm4, tmm6",
                "tdpbf16ps tmm1, tmm4, tmm7",
                "tdpbf16ps tmm2, tmm5, tmm6",
                "tdpbf16ps tmm3, tmm5, tmm7",
                top = in(reg) top,
                bottom = in(reg) top.add(16 * pairs),
                sa = in(reg) a_stride,
                left = in(reg) b,
                right = in(reg) b.add(16),
                sb = in(reg) b_stride,
                options(nostack, readonly),
            );
        }
        asm!(
            "tilestored [{c0} + {sc}*1], tmm0",
            "tilestored [{c1} + {sc}*1], tmm1",
            "tilestored [{c2} + {sc}*1], tmm2",
            "tilestored [{c3} + {sc}*1], tmm3",
            c0 = in(reg) c0,
            c1 = in(reg) c1,
            c2 = in(reg) c2,
            c3 = in(reg) c3,
            sc = in(reg) c.stride,
            options(nostack),
        );
    }

    #[cfg(not(target_arch = "x86_64"))]
    pub(super) fn product(
        _: &[u32],
        _: &PackedBf16,
        _: Range<usize>,
        _: usize,
        _: &mut [f32],
        _: bool,
    ) {
        unreachable!("AMX is x86-64 only");
    }
}

/// A seeded stream of floats uniform in [−1, 1) (xorshift), for the model's unit tests.
#[cfg(test)]
pub(crate) fn test_stream(seed: u64) -> impl FnMut() -> f32 {
    let mut x = seed;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::test_stream as stream;

    #[test]
    fn rounding_is_to_nearest_even() {
        assert_eq!(from_bf16(to_bf16(1.0)), 1.0);
        // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: ties to the even (1).
        assert_eq!(from_bf16(to_bf16(1.0 + 1.0 / 256.0)), 1.0);
        assert_eq!(from_bf16(to_bf16(1.0 + 3.0 / 256.0)), 1.0 + 4.0 / 256.0);
        assert_eq!(from_bf16(to_bf16(-2.5)), -2.5);
        assert!(from_bf16(to_bf16(f32::NAN)).is_nan());
        for v in [0.1f32, -3.7, 1e-3, 123.456] {
            assert!(((from_bf16(to_bf16(v)) - v) / v).abs() <= 1.0 / 256.0);
        }
    }

    /// The bf16 product against f64 sums of the same rounded inputs (only the f32 sums differ)
    /// and of the f32 inputs (the stated tolerance: the rounding of both operands), on ragged
    /// shapes: odd k, widths off the panel, every row-block remainder, accumulation.
    #[test]
    fn products_match_f64_on_ragged_shapes() {
        let kernels: Vec<Kernel> = [
            (Kernel::Amx, amx::usable()),
            (Kernel::Avx512, avx512_usable()),
        ]
        .into_iter()
        .filter_map(|(k, usable)| usable.then_some(k))
        .collect();
        if kernels.is_empty() {
            eprintln!("this CPU has neither AMX nor AVX512-BF16: no bf16 kernel is tested here");
        }
        for kernel in kernels {
            check_kernel(kernel);
        }
    }

    fn check_kernel(kernel: Kernel) {
        let mut next = stream(0x2545_f491_4f6c_dd1d);
        for &(m, k, n, c0) in &[
            (1, 1, 1, 0),
            (3, 7, 33, 0),
            (8, 64, 32, 0),
            (9, 33, 70, 32),
            (17, 129, 96, 64),
            (13, 40, 100, 0),
            (10, 601, 40, 0),
            (45, 70, 64, 0),
            // AMX: 5 panels, two groups (`GROUP`), a partial row block, a partial panel.
            (33, 300, 150, 0),
        ] {
            let a: Vec<f32> = (0..m * k).map(|_| next()).collect();
            let w: Vec<f32> = (0..k * n).map(|_| next()).collect();
            let packed = PackedBf16::pack(&w, k, n);
            let cols = c0..n;
            let width = cols.len();
            for accumulate in [false, true] {
                let start: Vec<f32> = (0..m * width).map(|_| next()).collect();
                let mut out = if accumulate {
                    start.clone()
                } else {
                    vec![7.0; m * width]
                };
                let rows = PackedRows::of(&a, k);
                gemm_with(
                    kernel,
                    rows.view(),
                    &packed,
                    cols.clone(),
                    &mut out,
                    accumulate,
                );
                for i in 0..m {
                    for j in 0..width {
                        let c = c0 + j;
                        let (mut rounded, mut exact, mut scale) = (0f64, 0f64, 0f64);
                        for r in 0..k {
                            let (x, y) = (a[i * k + r], w[r * n + c]);
                            let rx = from_bf16(to_bf16(x)) as f64;
                            let ry = from_bf16(to_bf16(y)) as f64;
                            rounded += rx * ry;
                            exact += x as f64 * y as f64;
                            scale += (x as f64 * y as f64).abs();
                        }
                        let base = if accumulate {
                            start[i * width + j] as f64
                        } else {
                            0.0
                        };
                        let got = out[i * width + j] as f64 - base;
                        let shape = format!("{kernel:?}: m {m} k {k} n {n} c0 {c0} ({i}, {j})");
                        assert!((got - rounded).abs() <= 1e-5 * (1.0 + scale), "{shape}");
                        // Each operand rounds by at most 2^-9: the product by about 2^-8.
                        assert!(
                            (got - exact).abs() <= 2f64.powi(-7) * scale + 1e-5,
                            "{shape}"
                        );
                    }
                }
            }
        }
    }

    /// The transposed and row-by-row packings give the very words of [`PackedBf16::pack`].
    #[test]
    fn packings_of_views_match_the_plain_packing() {
        let mut next = stream(7);
        for &(k, n) in &[(1, 1), (7, 33), (64, 70), (33, 5)] {
            let w: Vec<f32> = (0..k * n).map(|_| next()).collect();
            let plain = PackedBf16::pack(&w, k, n);
            let wt: Vec<f32> = (0..n * k).map(|i| w[(i % k) * n + i / k]).collect();
            let by_columns = PackedBf16::pack_columns_of(k, n, |c| &wt[c * k..(c + 1) * k]);
            assert_eq!(*by_columns.words, *plain.words, "k {k} n {n}");
            let by_rows = PackedBf16::pack_rows_of(k, n, |r| &w[r * n..(r + 1) * n]);
            assert_eq!(*by_rows.words, *plain.words, "k {k} n {n}");
        }
    }

    /// AVX512-BF16's conversion (where the CPU has it) gives `to_bf16`'s words, short and long
    /// rows, ties and special values included.
    #[test]
    fn hardware_rounding_matches_to_bf16() {
        let mut next = stream(7);
        let mut values: Vec<f32> = (0..1000).map(|_| next() * 1e3).collect();
        // Ties (both parities), the largest finite values, infinities, NaNs, signed zeros.
        let bits = [
            0x3f80_8000u32,
            0x3f81_8000,
            0x7f7f_ffff,
            0xff7f_ffff,
            0x7f80_0000,
        ];
        values.extend(bits.iter().map(|&b| f32::from_bits(b)));
        values.extend([f32::NEG_INFINITY, f32::NAN, -f32::NAN, 0.0, -0.0]);
        for len in [0, 1, 15, 16, 17, values.len()] {
            let mut want = vec![u32::MAX; len.div_ceil(2) + 3];
            let mut got = want.clone();
            round_pairs_soft(&values[..len], 0.5, &mut want);
            round_pairs(&values[..len], 0.5, &mut got);
            assert_eq!(got, want, "{len} values");
        }
    }

    /// Rows made 16 values at a time ([`split_row`], [`finish_row`]) hold what [`round_pairs`]
    /// gives, with either rounding of 16 values.
    #[test]
    fn rows_made_in_sixteens_round_as_round_pairs() {
        let mut next = stream(11);
        let values: Vec<f32> = (0..70).map(|_| next() * 3.0).collect();
        for len in [0, 1, 15, 16, 17, 33, 70] {
            let src = &values[..len];
            let mut want = vec![u32::MAX; len.div_ceil(2) + 5];
            round_pairs(src, 1.0, &mut want);
            let fill = |round: &dyn Fn(&[f32; 16], &mut [u32; 8])| {
                let mut got = vec![u32::MAX; want.len()];
                let (words, rest) = split_row(&mut got, len);
                for (i, w) in words.enumerate() {
                    round(
                        src[16 * i..][..16].try_into().unwrap(),
                        w.try_into().unwrap(),
                    );
                }
                let mut last = [0f32; 16];
                let tail = &src[len / 16 * 16..];
                last[..tail.len()].copy_from_slice(tail);
                finish_row(&last, len, rest, round);
                got
            };
            let mut soft = want.clone();
            round_pairs_soft(src, 1.0, &mut soft);
            assert_eq!(fill(&round16), soft, "{len} values, software rounding");
            #[cfg(target_arch = "x86_64")]
            if hardware_rounding() {
                // SAFETY: the CPU has AVX512-BF16 (checked).
                let hardware = |v: &[f32; 16], d: &mut [u32; 8]| unsafe { round16_hardware(v, d) };
                assert_eq!(fill(&hardware), want, "{len} values, VCVTNEPS2BF16");
            }
        }
    }

    /// Rows rounded in place of pairs: the even element low, a zero after an odd length, zeros
    /// to the end; scaled first.
    #[test]
    fn round_pairs_fills_rows_as_pairs() {
        let mut words = [u32::MAX; 4];
        round_pairs(&[1.0, -2.0, 3.0], 0.5, &mut words);
        assert_eq!(words, [pair(0.5, -1.0), pair(1.5, 0.0), 0, 0]);
        let rows = PackedRows::of(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3);
        assert_eq!(rows.pairs(), TILE_PAIRS);
        assert_eq!(rows.words.len(), amx::ROWS * TILE_PAIRS);
        assert_eq!(
            &rows.words[TILE_PAIRS..TILE_PAIRS + 2],
            &[pair(4.0, 5.0), pair(6.0, 0.0)]
        );
    }

    /// A product over a block of a [`PackedRows`] equals the product of those rows alone, bit
    /// for bit (the rows after the block pad it and never reach the output).
    #[test]
    fn products_over_row_blocks_match_whole_products() {
        let Some(kernel) = Kernel::best() else {
            eprintln!("this CPU has no bf16 kernel: not tested here");
            return;
        };
        let mut next = stream(11);
        let (m, k, n) = (77, 40, 64);
        let a: Vec<f32> = (0..m * k).map(|_| next()).collect();
        let w: Vec<f32> = (0..k * n).map(|_| next()).collect();
        let packed = PackedBf16::pack(&w, k, n);
        let all = PackedRows::of(&a, k);
        for (r0, rows) in [(0, 32), (32, 45), (64, 13)] {
            let mut got = vec![0f32; rows * n];
            gemm_with(kernel, all.block(r0, rows), &packed, 0..n, &mut got, false);
            let alone = PackedRows::of(&a[r0 * k..(r0 + rows) * k], k);
            let mut want = vec![0f32; rows * n];
            gemm_with(kernel, alone.view(), &packed, 0..n, &mut want, false);
            assert_eq!(got, want, "rows {r0}+{rows}");
        }
    }

    #[test]
    fn packing_covers_only_panel_starts() {
        let p = PackedBf16::pack(&[0.0; 6 * 70], 6, 70);
        assert!(p.covers(&(0..70)) && p.covers(&(32..64)));
        assert!(!p.covers(&(16..48)) && !p.covers(&(0..71)));
        assert_eq!(p.pairs, TILE_PAIRS, "6 rows: 3 pairs, padded to a tile");
    }
}
