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
//! same pairs, so lane `c` gains `a[2q]·w[2q][c] + a[2q+1]·w[2q+1][c]`; this is also the layout
//! AMX reads its right-hand tiles in. Each output element is one sum in a fixed order, whatever
//! the blocking or the thread count.

use std::ops::Range;

/// Columns per packed panel: two 16-lane registers, or two AMX tiles side by side.
pub const PANEL: usize = 32;

/// Row pairs per AMX tile (32 bf16 of a row: 64 bytes).
const TILE_PAIRS: usize = 16;

/// `x` rounded to the nearest bfloat16 (ties to even), as its 16 bits.
pub fn to_bf16(x: f32) -> u16 {
    let bits = x.to_bits();
    if x.is_nan() {
        return ((bits >> 16) | 0x40) as u16;
    }
    let rounded = bits.wrapping_add(0x7fff + ((bits >> 16) & 1));
    (rounded >> 16) as u16
}

/// The f32 value of a bfloat16.
pub fn from_bf16(b: u16) -> f32 {
    f32::from_bits(u32::from(b) << 16)
}

/// Two bf16 values as one 32-bit word, `lo` in the low half.
fn pair(lo: f32, hi: f32) -> u32 {
    u32::from(to_bf16(lo)) | (u32::from(to_bf16(hi)) << 16)
}

/// A weight matrix `[k × n]` rounded to bf16 and packed in panels (module docs).
pub struct PackedBf16 {
    words: Vec<u32>,
    /// Row pairs: `k` halved, rounded up to a multiple of [`TILE_PAIRS`].
    pairs: usize,
    k: usize,
    n: usize,
}

impl PackedBf16 {
    /// Packs the row-major `w[k × n]`.
    pub fn pack(w: &[f32], k: usize, n: usize) -> Self {
        assert_eq!(w.len(), k * n, "weight shape");
        let pairs = k.div_ceil(2).next_multiple_of(TILE_PAIRS);
        let panels = n.div_ceil(PANEL);
        let mut words = vec![0u32; panels * pairs * PANEL];
        let at = |r: usize, c: usize| if r < k && c < n { w[r * n + c] } else { 0.0 };
        for p in 0..panels {
            for q in 0..pairs {
                let base = (p * pairs + q) * PANEL;
                for j in 0..PANEL {
                    let c = p * PANEL + j;
                    words[base + j] = pair(at(2 * q, c), at(2 * q + 1, c));
                }
            }
        }
        Self { words, pairs, k, n }
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

fn avx512_usable() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bf16")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The rows of `a[m × k]` as bf16 pairs, `pairs` words a row, then zero rows up to `rows`.
fn pack_rows(a: &[f32], k: usize, pairs: usize, rows: usize) -> Vec<u32> {
    let mut out = Vec::with_capacity(rows * pairs);
    for row in a.chunks_exact(k) {
        for q in 0..pairs {
            let at = |i: usize| row.get(i).copied().unwrap_or(0.0);
            out.push(pair(at(2 * q), at(2 * q + 1)));
        }
    }
    out.resize(rows * pairs, 0);
    out
}

/// `out[m × cols.len()] (+)= a[m × k] · w[:, cols]` in bf16 products with f32 sums, on this
/// thread, with the best kernel. Needs [`available`] and [`PackedBf16::covers`]`(cols)`.
pub fn gemm(a: &[f32], w: &PackedBf16, cols: Range<usize>, out: &mut [f32], accumulate: bool) {
    let kernel = Kernel::best().expect("bf16 products need AVX512-BF16 or AMX");
    gemm_with(kernel, a, w, cols, out, accumulate);
}

/// [`gemm`] with the kernel given (it must be usable here).
pub fn gemm_with(
    kernel: Kernel,
    a: &[f32],
    w: &PackedBf16,
    cols: Range<usize>,
    out: &mut [f32],
    accumulate: bool,
) {
    let k = w.k;
    let n = cols.len();
    assert!(w.covers(&cols), "columns {cols:?} do not start at a panel");
    assert_eq!(a.len() % k.max(1), 0, "activation shape");
    let m = a.len().checked_div(k).unwrap_or(0);
    assert_eq!(out.len(), m * n, "output shape");
    if m == 0 || n == 0 {
        return;
    }
    match kernel {
        Kernel::Amx => {
            assert!(amx::usable(), "AMX is not usable here");
            let rows = pack_rows(a, k, w.pairs, m.next_multiple_of(amx::ROWS));
            amx::product(&rows, w, cols, m, out, accumulate);
        }
        Kernel::Avx512 => {
            assert!(avx512_usable(), "AVX512-BF16 is not usable here");
            let rows = pack_rows(a, k, w.pairs, m);
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the CPU has AVX512-BF16 (asserted); `product` checks the shapes.
            unsafe {
                x86::product(&rows, w, cols, m, out, accumulate);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;
    use std::ops::Range;

    use super::{PackedBf16, PANEL};

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
        assert_eq!(rows.len(), m * pairs);
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
/// 16 row pairs = 64 bytes a row), 6–7 the panel's two halves (16 row pairs × 16 columns).
mod amx {
    #[cfg(target_arch = "x86_64")]
    use std::arch::asm;
    use std::ops::Range;

    use super::PackedBf16;
    #[cfg(target_arch = "x86_64")]
    use super::{PANEL, TILE_PAIRS};

    /// Output rows per block (the activation rows are padded to a multiple).
    pub(super) const ROWS: usize = 32;

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
        assert_eq!(rows.len(), m.next_multiple_of(ROWS) * pairs, "padded rows");
        assert!(pairs.is_multiple_of(TILE_PAIRS) && out.len() == m * n);
        let config = TileConfig::new();
        let mut block = [0f32; ROWS * PANEL];
        // SAFETY: the process may use the tile state (`usable`); the configuration is 64 bytes.
        unsafe { asm!("ldtilecfg [{}]", in(reg) config.0.as_ptr(), options(nostack, readonly)) };
        for (p, c0) in (cols.start..cols.end).step_by(PANEL).enumerate() {
            let panel = w.panel(cols.start / PANEL + p);
            let width = (cols.end - c0).min(PANEL);
            for r0 in (0..m).step_by(ROWS) {
                // SAFETY: rows r0..r0 + 32 of `rows` exist (padded) with `pairs` words each, and
                // the panel holds `pairs` × 32 words; every tile load stays inside them; the
                // stores write the 32 × 32 floats of `block`.
                unsafe { sum_block(&rows[r0 * pairs..], panel, pairs, &mut block) };
                for i in 0..(m - r0).min(ROWS) {
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
        // SAFETY: releases the tile state this thread configured.
        unsafe { asm!("tilerelease", options(nostack, nomem)) };
    }

    /// One 32-row × 32-column block's sums over every row pair, into `block` (row-major).
    #[cfg(target_arch = "x86_64")]
    unsafe fn sum_block(a: &[u32], panel: &[u32], pairs: usize, block: &mut [f32; ROWS * PANEL]) {
        assert!(a.len() >= ROWS * pairs && panel.len() >= pairs * PANEL);
        let (a_stride, b_stride, c_stride) = (pairs * 4, PANEL * 4, PANEL * 4);
        asm!(
            "tilezero tmm0",
            "tilezero tmm1",
            "tilezero tmm2",
            "tilezero tmm3",
            options(nostack, nomem)
        );
        for q in (0..pairs).step_by(TILE_PAIRS) {
            let (top, b) = (a.as_ptr().add(q), panel.as_ptr().add(q * PANEL));
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
        let c = block.as_mut_ptr();
        asm!(
            "tilestored [{c0} + {sc}*1], tmm0",
            "tilestored [{c1} + {sc}*1], tmm1",
            "tilestored [{c2} + {sc}*1], tmm2",
            "tilestored [{c3} + {sc}*1], tmm3",
            c0 = in(reg) c,
            c1 = in(reg) c.add(16),
            c2 = in(reg) c.add(16 * PANEL),
            c3 = in(reg) c.add(16 * PANEL + 16),
            sc = in(reg) c_stride,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(seed: u64) -> impl FnMut() -> f32 {
        let mut x = seed;
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
        }
    }

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
                gemm_with(kernel, &a, &packed, cols.clone(), &mut out, accumulate);
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

    #[test]
    fn packing_covers_only_panel_starts() {
        let p = PackedBf16::pack(&[0.0; 6 * 70], 6, 70);
        assert!(p.covers(&(0..70)) && p.covers(&(32..64)));
        assert!(!p.covers(&(16..48)) && !p.covers(&(0..71)));
        assert_eq!(p.k, 6);
    }
}
