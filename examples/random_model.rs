//! Writes a complete genosift model directory with random weights (seeded), for benchmarks:
//! `config.json` (a preset's shapes, N and L), `model.safetensors` (backbone, the paper's head and
//! the per-chunk Y classifier), the GENA-LM `tokenizer.json` and a `genosift.json` without
//! calibration. Its calls mean nothing; its cost is a real model's.
//!
//! Usage: `cargo run --release --example random_model -- PRESET OUT_DIR [CHUNKS] [CHUNK_LEN] [SEED]`
//! with PRESET tiny, small or base (GENA-LM base shapes: 12 layers, 768 hidden, 12 heads).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use genosift::bundle::settings::Settings;
use genosift::model::config::BertConfig;
use genosift::model::init;
use genosift::model::weights::write_safetensors;
use genosift::tokenize::GENA_TOKENIZER_JSON;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 || args.len() > 5 {
        bail!("usage: random_model PRESET OUT_DIR [CHUNKS] [CHUNK_LEN] [SEED]");
    }
    let arg = |i: usize, default: usize| -> Result<usize> {
        args.get(i).map_or(Ok(default), |v| {
            v.parse().with_context(|| format!("bad number '{v}'"))
        })
    };
    let (chunks, chunk_len, seed) = (arg(2, 16)?, arg(3, 3072)?, arg(4, 1)? as u64);
    let mut cfg = BertConfig::preset(&args[0], 32_000)
        .with_context(|| format!("unknown preset '{}' (tiny, small or base)", args[0]))?;
    cfg.n_chunks = Some(chunks);
    cfg.chunk_len = Some(chunk_len);
    let out = PathBuf::from(&args[1]);
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut tensors = init::backbone(&cfg, seed);
    tensors.extend(init::head(&cfg, seed, true));
    write_safetensors(&out.join("model.safetensors"), &tensors)?;
    std::fs::write(
        out.join("config.json"),
        serde_json::to_string_pretty(&cfg)? + "\n",
    )?;
    std::fs::write(out.join("tokenizer.json"), GENA_TOKENIZER_JSON)?;
    Settings {
        chunks,
        chunk_len,
        ..Settings::default()
    }
    .save(&out)?;
    eprintln!(
        "wrote {} ({} preset, N = {chunks}, L = {chunk_len})",
        out.display(),
        args[0]
    );
    Ok(())
}
