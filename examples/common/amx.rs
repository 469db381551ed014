//! What the AMX examples share (`#[path]`-included by each; not an example itself): setting up
//! this thread's tiles as the library's kernel does, and giving them back.

use std::arch::asm;

use genosift::model::bf16::{self, Kernel, PackedBf16, PackedRows};

/// Loads the library kernel's tile configuration (palette 1; tiles 0–7 all 16 rows × 64 bytes)
/// on this thread, after one product through the library, which asks Linux for the tile state.
/// False, having done nothing, where AMX is not usable.
pub fn start() -> bool {
    if Kernel::best() != Some(Kernel::Amx) {
        return false;
    }
    let rows = PackedRows::of(&[0.5; 32 * 32], 32);
    let mut out = vec![0f32; 32 * 32];
    let w = PackedBf16::pack(&[0.5; 32 * 32], 32, 32);
    bf16::gemm_rows(rows.view(), &w, 0..32, &mut out, false);

    #[repr(C, align(64))]
    struct Config([u8; 64]);
    let mut config = Config([0; 64]);
    config.0[0] = 1;
    for t in 0..8 {
        config.0[16 + 2 * t] = 64;
        config.0[48 + t] = 16;
    }
    // SAFETY: the configuration is 64 bytes and the process may use the tile state.
    unsafe { asm!("ldtilecfg [{}]", in(reg) config.0.as_ptr()) };
    true
}

/// Releases the tile state [`start`] configured.
pub fn stop() {
    // SAFETY: releases this thread's tile state.
    unsafe { asm!("tilerelease") };
}
