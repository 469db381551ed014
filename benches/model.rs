//! The model at GENA-LM base shapes (12 layers, hidden 768, 12 heads, FFN 3,072, vocabulary
//! 32,000), random weights from `genosift::model::init` (seeded): the backbone's forward to the
//! [CLS] vectors for batches of 1 and 16 sequences of 512 tokens (64 with
//! `GENOSIFT_BENCH_B64=1`: about a minute per iteration on 2 cores), and the paper's head alone on
//! 1 and 16 groups of 16 [CLS] vectors. CPU backend (burn Flex) on a rayon pool of
//! `GENOSIFT_BENCH_THREADS` threads (default 2). Throughput: tokens/s (backbone), groups/s (head).
//!
//! `cargo bench --bench model` (BENCHMARKS.md, issue 7 section, has the figures).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use genosift::model::config::BertConfig;
use genosift::model::weights::{RawTensor, WeightFile};
use genosift::model::{init, DeviceKind, Engine};
use genosift::tokenize::TokenBatch;

const TOKENS: usize = 512;
const CHUNKS: usize = 16;

fn threads() -> usize {
    std::env::var("GENOSIFT_BENCH_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2)
}

/// `n` rows of 512 ids, `[CLS] … [SEP]` with random vocabulary ids between (a fixed LCG).
fn batch(n: usize, vocab: usize) -> TokenBatch {
    let mut state: u64 = 12345;
    let rows: Vec<Vec<u32>> = (0..n)
        .map(|_| {
            let mut r = vec![1u32];
            r.extend((0..TOKENS - 2).map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                5 + ((state >> 33) as usize % (vocab - 5)) as u32
            }));
            r.push(2);
            r
        })
        .collect();
    TokenBatch::from_rows(&rows, 3)
}

fn benches(c: &mut Criterion) {
    let cfg = BertConfig::preset("base", 32000).expect("base preset");
    let mut tensors = init::backbone(&cfg, 1);
    tensors.extend(init::head(&cfg, 1, false));
    let file = WeightFile {
        path: PathBuf::from("random-base"),
        tensors,
    };
    let (engine, unused) = Engine::load(&file, &cfg, DeviceKind::Cpu).expect("loads");
    assert!(unused.is_empty(), "unused tensors: {unused:?}");
    drop(file);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads())
        .build()
        .unwrap();
    eprintln!(
        "model: GENA-LM base shapes, random weights, {} threads",
        threads()
    );

    let mut sizes = vec![1usize, 16];
    if std::env::var_os("GENOSIFT_BENCH_B64").is_some() {
        sizes.push(64);
    }
    let mut g = c.benchmark_group("backbone_base");
    // Seconds per iteration: criterion's minimum of 10 samples, one iteration each.
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(20));
    for n in sizes {
        let b = batch(n, cfg.vocab_size);
        g.throughput(Throughput::Elements((n * TOKENS) as u64));
        g.bench_function(format!("b{n}x{TOKENS}"), |bench| {
            bench.iter(|| pool.install(|| engine.cls(black_box(&b))))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("head_base");
    g.sample_size(30).measurement_time(Duration::from_secs(5));
    for groups in [1usize, 16] {
        let n = groups * CHUNKS * cfg.hidden_size;
        let data = (0..n).map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5);
        let cls = RawTensor::new(vec![groups, CHUNKS, cfg.hidden_size], data.collect());
        g.throughput(Throughput::Elements(groups as u64));
        g.bench_function(format!("g{groups}x{CHUNKS}"), |bench| {
            bench.iter(|| pool.install(|| engine.head_only(black_box(&cls)).expect("head")))
        });
    }
    g.finish();
}

criterion_group!(model, benches);
criterion_main!(model);
