//! What AMX tile loads cost when their rows are or are not aligned to cache lines (the reason
//! `model::bf16::Aligned` exists): the inner step of the bf16 product (two activation tiles, two
//! weight tiles, four `TDPBF16PS`) over a few kilobytes that stay in the L1 cache, its rows 64
//! bytes apart, once from a 64-byte boundary and once 16 bytes past one; and the four
//! `TDPBF16PS` alone, the ceiling. Prints ns per step and the multiply-adds per second.
//! Needs AMX (Intel Xeon from Sapphire Rapids); elsewhere it says so and exits.
//!
//! `cargo run --release --example amx_tile_loads`

#[cfg(target_arch = "x86_64")]
#[path = "common/amx.rs"]
mod amx;

#[cfg(target_arch = "x86_64")]
fn main() {
    use std::arch::asm;
    use std::time::Instant;

    if !amx::start() {
        println!("AMX is not usable on this machine");
        return;
    }
    // 16 KB of bf16 ones (0x3f80 pairs), and room to start 0–63 bytes past a line.
    let buffer = vec![0x3f80_3f80u32; 4096 + 16];
    let aligned = buffer
        .as_ptr()
        .wrapping_add((16 - (buffer.as_ptr() as usize / 4) % 16) % 16);
    let steps = 2_000_000usize;
    let report = |name: &str, start: Instant| {
        let dt = start.elapsed().as_secs_f64();
        let macs = (steps * 4 * 16 * 16 * 32) as f64;
        println!(
            "{name}: {:.1} ns a step, {:.0} G multiply-adds/s",
            dt / steps as f64 * 1e9,
            macs / dt / 1e9
        );
    };
    for (name, offset) in [("aligned rows", 0usize), ("rows 16 bytes past a line", 4)] {
        let base = aligned.wrapping_add(offset);
        let start = Instant::now();
        for i in 0..steps {
            // Two 2 KB blocks (activations, weights) among four in 16 KB.
            let a = base.wrapping_add((i % 2) * 512);
            let b = base.wrapping_add(2048 + (i % 2) * 512);
            // SAFETY: each tile load reads 16 rows of 64 bytes, 64 (activations) or 128
            // (weights) bytes apart, from 2 KB inside `buffer`.
            unsafe {
                asm!(
                    "tileloadd tmm4, [{a} + {s}*1]",
                    "tileloadd tmm5, [{a} + {s}*1 + 1024]",
                    "tileloadd tmm6, [{b} + {s2}*1]",
                    "tileloadd tmm7, [{b} + {s2}*1 + 64]",
                    "tdpbf16ps tmm0, tmm4, tmm6",
                    "tdpbf16ps tmm1, tmm4, tmm7",
                    "tdpbf16ps tmm2, tmm5, tmm6",
                    "tdpbf16ps tmm3, tmm5, tmm7",
                    a = in(reg) a,
                    b = in(reg) b,
                    s = in(reg) 64usize,
                    s2 = in(reg) 128usize,
                    options(nostack, readonly),
                )
            };
        }
        report(name, start);
    }
    let start = Instant::now();
    for _ in 0..steps {
        // SAFETY: products of the tiles already loaded; no memory is touched.
        unsafe {
            asm!(
                "tdpbf16ps tmm0, tmm4, tmm6",
                "tdpbf16ps tmm1, tmm4, tmm7",
                "tdpbf16ps tmm2, tmm5, tmm6",
                "tdpbf16ps tmm3, tmm5, tmm7",
                options(nostack, nomem),
            )
        };
    }
    report("products alone", start);
    amx::stop();
}

#[cfg(not(target_arch = "x86_64"))]
fn main() {
    println!("AMX is x86-64 only");
}
