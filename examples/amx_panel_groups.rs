//! How the AMX product's loop order over 32-column weight panels and 32-row blocks costs (the
//! reason for `GROUP` in `model::bf16`): one 256-row task's product (the encoder's
//! `ROW_BLOCK`) at the GENA-LM-base shapes, its panels taken one at a time through every row block
//! (group 1, the order before) or in groups of G panels that each row block goes through while its
//! rows are in the L1 cache. The product's inner step is the library's (two activation tiles, two
//! weight tiles, four `TDPBF16PS` into a 32 × 32 block of sums), copied here because the kernel is
//! private. The orders alternate, 300 rounds; prints each one's median GFLOP/s and the median of
//! the rounds' speed ratios to group 1 (a busy host slows whole rounds, not one order). Needs AMX
//! (Intel Xeon from Sapphire Rapids); elsewhere it says so and exits.
//!
//! `cargo run --release --example amx_panel_groups`

#[cfg(target_arch = "x86_64")]
#[path = "common/amx.rs"]
mod amx;

#[cfg(target_arch = "x86_64")]
fn main() {
    if !amx::start() {
        println!("AMX is not usable on this machine");
        return;
    }
    // (rows, k, n): queries/keys/values, the FFN's two products, the attention's output.
    for (m, k, n) in [
        (256, 768, 2304),
        (256, 768, 3072),
        (256, 3072, 768),
        (256, 768, 768),
    ] {
        let pairs = k / 2;
        let product = Product::new(m, pairs, n);
        let groups = [1, 2, 4, 8, 16];
        let mut times = vec![Vec::new(); groups.len()];
        let mut outs = vec![vec![0f32; m * n]; groups.len()];
        for _ in 0..300 {
            for ((&g, t), out) in groups.iter().zip(&mut times).zip(&mut outs) {
                let start = std::time::Instant::now();
                product.run(g, out);
                t.push(start.elapsed().as_secs_f64());
            }
        }
        assert!(
            outs.iter().all(|o| *o == outs[0]),
            "the orders' sums differ"
        );
        let flops = 2.0 * (m * k * n) as f64;
        let median = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        print!("{m} x {k} x {n}:");
        for (&g, t) in groups.iter().zip(&times) {
            let speed = median(times[0].iter().zip(t).map(|(a, b)| a / b).collect());
            let gflops = flops / median(t.clone()) / 1e9;
            print!("  group {g}: {gflops:.0} GFLOP/s ({speed:.2}×)");
        }
        println!();
    }
    amx::stop();
}

/// Rows and panels of bf16 ones (0x3f80 pairs), each on a 64-byte boundary, as the library keeps
/// them: `m` rows of `pairs` words; `n / 32` panels of `pairs` × 32 words.
#[cfg(target_arch = "x86_64")]
struct Product {
    a: Vec<Line>,
    b: Vec<Line>,
    m: usize,
    pairs: usize,
    n: usize,
}

#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([u32; 16]);

#[cfg(target_arch = "x86_64")]
impl Product {
    fn new(m: usize, pairs: usize, n: usize) -> Self {
        let lines = |words: usize| vec![Line([0x3f80_3f80; 16]); words.div_ceil(16)];
        let (a, b) = (lines(m * pairs), lines(pairs * n));
        Self { a, b, m, pairs, n }
    }

    /// `out = a · b`, panels in groups of `group`.
    fn run(&self, group: usize, out: &mut [f32]) {
        let (m, pairs, n) = (self.m, self.pairs, self.n);
        assert!(m % 32 == 0 && n % 32 == 0 && pairs % 16 == 0 && out.len() == m * n);
        let (a, b) = (self.a.as_ptr().cast::<u32>(), self.b.as_ptr().cast::<u32>());
        let panels = n / 32;
        for g0 in (0..panels).step_by(group) {
            for r0 in (0..m).step_by(32) {
                for p in g0..(g0 + group).min(panels) {
                    // SAFETY: row block r0 and panel p lie inside `a` and `b`, the 32 × 32 sums
                    // inside `out` (the shapes asserted above).
                    unsafe {
                        block(
                            a.add(r0 * pairs),
                            b.add(p * pairs * 32),
                            pairs,
                            out.as_mut_ptr().add(r0 * n + p * 32),
                            n * 4,
                        )
                    };
                }
            }
        }
    }
}

/// One 32 × 32 block of sums over `pairs` row pairs, stored at `c` (rows `c_stride` bytes apart).
#[cfg(target_arch = "x86_64")]
unsafe fn block(a: *const u32, panel: *const u32, pairs: usize, c: *mut f32, c_stride: usize) {
    use std::arch::asm;
    asm!(
        "tilezero tmm0",
        "tilezero tmm1",
        "tilezero tmm2",
        "tilezero tmm3",
        options(nostack, nomem)
    );
    for q in (0..pairs).step_by(16) {
        let top = a.add(q);
        let b = panel.add(q * 32);
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
            sa = in(reg) pairs * 4,
            left = in(reg) b,
            right = in(reg) b.add(16),
            sb = in(reg) 128usize,
            options(nostack, readonly),
        );
    }
    let rows16 = 16 * c_stride / 4;
    asm!(
        "tilestored [{c0} + {sc}*1], tmm0",
        "tilestored [{c1} + {sc}*1], tmm1",
        "tilestored [{c2} + {sc}*1], tmm2",
        "tilestored [{c3} + {sc}*1], tmm3",
        c0 = in(reg) c,
        c1 = in(reg) c.add(16),
        c2 = in(reg) c.add(rows16),
        c3 = in(reg) c.add(rows16 + 16),
        sc = in(reg) c_stride,
        options(nostack),
    );
}

#[cfg(not(target_arch = "x86_64"))]
fn main() {
    println!("AMX is x86-64 only");
}
