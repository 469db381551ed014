//! The model at GENA-LM base shapes (12 layers, hidden 768, 12 heads, FFN 3,072, vocabulary
//! 32,000), random weights from `genosift::model::init` (seeded): the backbone's forward to the
//! [CLS] vectors for batches of 1 and 16 sequences of 512 tokens (64 with
//! `GENOSIFT_BENCH_B64=1`: about a minute per iteration on 2 cores), and the paper's head alone on
//! 1 and 16 groups of 16 [CLS] vectors. The backbone twice, with each CPU encoder: `native`
//! (src/model/native.rs, the default) and `burn` (burn's Flex backend), on a rayon pool of
//! `GENOSIFT_BENCH_THREADS` threads (default 2). Throughput: tokens/s (backbone), groups/s (head).
//! All sequences of a batch have the same length, so the native encoder's saving on padding does
//! not show here (its [CLS]-only last layer does).
//!
//! Last, `gemm_ffn_512x768x3072`: the encoder's largest matrix product in f32 and in f16 (the
//! `gemm` crate's half-precision kernels), to see whether half precision pays on this CPU
//! (throughput in FLOP/s; the f16 result's error is printed).
//!
//! `cargo bench --bench model` (BENCHMARKS.md, issue 7 section, has the figures).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use genosift::model::config::BertConfig;
use genosift::model::weights::{RawTensor, WeightFile};
use genosift::model::{init, CpuKernel, DeviceKind, Engine};
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
    let load = |kernel| {
        let (engine, unused) =
            Engine::load_with(&file, &cfg, DeviceKind::Cpu, kernel).expect("loads");
        assert!(unused.is_empty(), "unused tensors: {unused:?}");
        engine
    };
    let engines = [
        ("native", load(CpuKernel::Native)),
        ("burn", load(CpuKernel::Burn)),
    ];
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
        for (kernel, engine) in &engines {
            g.bench_function(format!("{kernel}/b{n}x{TOKENS}"), |bench| {
                bench.iter(|| pool.install(|| engine.cls(black_box(&b))))
            });
        }
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
            bench.iter(|| pool.install(|| engines[0].1.head_only(black_box(&cls)).expect("head")))
        });
    }
    g.finish();
}

/// `out[m × n] = a[m × k] · b[k × n]`, row-major, one gemm call on the rayon pool.
fn gemm_rm<T: 'static + Copy>(
    m: usize,
    n: usize,
    k: usize,
    a: &[T],
    b: &[T],
    out: &mut [T],
    one: T,
) {
    assert!(a.len() == m * k && b.len() == k * n && out.len() == m * n);
    // SAFETY: the slices hold m × k, k × n and m × n elements (asserted), row-major.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            1,
            k as isize,
            b.as_ptr(),
            1,
            n as isize,
            one,
            one,
            false,
            false,
            false,
            gemm::Parallelism::Rayon(0),
        )
    }
}

/// f32 against f16 for the encoder's largest product (the FFN's `[512 × 768] · [768 × 3072]`):
/// does half precision pay on this CPU, and what error does it cost?
fn precision(c: &mut Criterion) {
    use half::f16;
    let (m, k, n) = (TOKENS, 768, 3072);
    let val = |i: usize| ((i * 7919 % 2003) as f32 / 2003.0 - 0.5) * 0.2;
    let a: Vec<f32> = (0..m * k).map(val).collect();
    let b: Vec<f32> = (0..k * n).map(|i| val(i + 17)).collect();
    let (a16, b16): (Vec<f16>, Vec<f16>) = (
        a.iter().map(|&v| f16::from_f32(v)).collect(),
        b.iter().map(|&v| f16::from_f32(v)).collect(),
    );
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads())
        .build()
        .unwrap();
    let mut out = vec![0f32; m * n];
    let mut out16 = vec![f16::ZERO; m * n];
    pool.install(|| {
        gemm_rm(m, n, k, &a, &b, &mut out, 1.0);
        gemm_rm(m, n, k, &a16, &b16, &mut out16, f16::ONE);
    });
    let scale = out.iter().fold(0f32, |s, v| s.max(v.abs()));
    let err = out
        .iter()
        .zip(&out16)
        .fold(0f32, |e, (x, y)| e.max((x - y.to_f32()).abs()));
    eprintln!(
        "f16 product: max |f16 - f32| / max |f32| = {:.2e}",
        err / scale
    );
    let mut g = c.benchmark_group("gemm_ffn_512x768x3072");
    g.sample_size(20)
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements((2 * m * k * n) as u64));
    g.bench_function("f32", |bench| {
        bench.iter(|| pool.install(|| gemm_rm(m, n, k, &a, &b, &mut out, 1.0)))
    });
    g.bench_function("f16", |bench| {
        bench.iter(|| pool.install(|| gemm_rm(m, n, k, &a16, &b16, &mut out16, f16::ONE)))
    });
    g.finish();
}

criterion_group!(model, benches, precision);
criterion_main!(model);
