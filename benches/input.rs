//! Input-side throughput in bases per second (criterion reports elements/s; one element = one
//! base, so `Melem/s` reads Mbp/s): parsing + validating, chunking (L = 3,072), and tokenizing
//! with the real GENA-LM tokenizer, on 4 Mbp of generated FASTQ (150-bp reads, seeded).
//!
//! - `read_chunk/{plain,gzip}`: `Input` → `Chunker`, one thread (the pipeline's reader thread);
//! - `tokenize/t{1,2}`: the chunks tokenized 16 at a time (one group, as `predict` does with
//!   `--batch-groups 1`) on a rayon pool of 1 or 2 threads, by a fresh tokenizer each iteration
//!   (see [`fresh_tokenizer`]);
//! - `read_chunk_tokenize/t{1,2}`: both, one after the other, on that pool;
//! - `tokenize_reads/{fast,general}`: the 150-bp reads themselves (the reads model's chunks),
//!   256 at a time on one thread, by the fast path and by the `tokenizers` crate alone.
//!
//! `cargo bench --bench input` (BENCHMARKS.md, issue 7 section, has the figures).

use std::hint::black_box;
use std::io::{Cursor, Write};
use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use genosift::chunk::{Chunk, Chunker};
use genosift::input::{Input, RecordSink};
use genosift::tokenize::{GenaTokenizer, GENA_TOKENIZER_JSON};

const READ_LEN: usize = 150;
const READS: usize = 4_000_000 / READ_LEN;
const CHUNK_LEN: usize = 3072;
const GROUP: usize = 16;

/// Random 150-bp reads as FASTQ, from a fixed-seed xorshift (no dependency, same bytes each run).
fn fastq() -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut out = Vec::with_capacity(READS * (2 * READ_LEN + 20));
    let qual = vec![b'I'; READ_LEN];
    for i in 0..READS {
        writeln!(out, "@read{i}").unwrap();
        for _ in 0..READ_LEN {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            out.push(b"ACGT"[(state >> 32) as usize & 3]);
        }
        out.extend_from_slice(b"\n+\n");
        out.extend_from_slice(&qual);
        out.push(b'\n');
    }
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// Chunks what `Input` streams.
struct Sink {
    chunker: Chunker,
    chunks: Vec<Chunk>,
}

impl RecordSink for Sink {
    fn start(&mut self, name: &str) -> bool {
        self.chunker.start(name);
        true
    }
    fn bases(&mut self, bases: &[u8]) -> bool {
        let chunks = &mut self.chunks;
        self.chunker.push(bases, &mut |c| {
            chunks.push(c);
            true
        })
    }
    fn end(&mut self) -> bool {
        true
    }
}

fn read_chunk(bytes: &'static [u8]) -> Vec<Chunk> {
    let input =
        Input::from_reader("bench".into(), Box::new(Cursor::new(bytes))).expect("valid FASTQ");
    let mut sink = Sink {
        chunker: Chunker::new(CHUNK_LEN),
        chunks: Vec::new(),
    };
    input.stream(&mut sink).expect("valid FASTQ");
    let Sink {
        chunker,
        mut chunks,
    } = sink;
    chunks.extend(chunker.finish());
    chunks
}

/// Tokens of every chunk, a group at a time; returns the token count.
fn tokenize(tok: &GenaTokenizer, chunks: &[Chunk]) -> usize {
    chunks
        .chunks(GROUP)
        .map(|g| tok.batch(g.iter().map(|c| c.seq.as_slice())).ids.len())
        .sum()
}

/// A fresh tokenizer. The BPE model caches the tokens of up to 10,000 "words" (here: reads, split
/// at the `-` a separator becomes) and never evicts; a benchmark that re-tokenizes the same reads
/// with one tokenizer would hit that cache as a real run of unique reads never does. Each
/// iteration therefore gets a new one (built outside the timed part).
fn fresh_tokenizer() -> GenaTokenizer {
    GenaTokenizer::from_bytes(GENA_TOKENIZER_JSON, Path::new("tokenizer.json"), 512, 3)
        .expect("bundled tokenizer")
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
}

fn benches(c: &mut Criterion) {
    // Leaked once so that `Input` can read them without a copy per iteration.
    let plain: &'static [u8] = fastq().leak();
    let gz: &'static [u8] = gzip(plain).leak();
    let bp = (READS * READ_LEN) as u64;
    let tok = fresh_tokenizer();
    let chunks = read_chunk(plain);
    let tokens = tokenize(&tok, &chunks);
    eprintln!(
        "input: {} reads, {bp} bp, {} bytes FASTQ ({} gzipped), {} chunks, {tokens} token slots",
        READS,
        plain.len(),
        gz.len(),
        chunks.len()
    );

    let mut g = c.benchmark_group("read_chunk");
    g.throughput(Throughput::Elements(bp));
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.bench_function("plain", |b| b.iter(|| read_chunk(black_box(plain))));
    g.bench_function("gzip", |b| b.iter(|| read_chunk(black_box(gz))));
    g.finish();

    let mut g = c.benchmark_group("tokenize");
    g.throughput(Throughput::Elements(bp));
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    for threads in [1, 2] {
        let p = pool(threads);
        g.bench_function(format!("t{threads}"), |b| {
            b.iter_batched(
                fresh_tokenizer,
                // The tokenizer is returned, so that dropping it is not timed.
                |tok| (p.install(|| tokenize(&tok, black_box(&chunks))), tok),
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();

    let mut g = c.benchmark_group("read_chunk_tokenize");
    g.throughput(Throughput::Elements(bp));
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    for threads in [1, 2] {
        let p = pool(threads);
        g.bench_function(format!("t{threads}"), |b| {
            b.iter_batched(
                fresh_tokenizer,
                |tok| {
                    (
                        p.install(|| tokenize(&tok, &read_chunk(black_box(plain)))),
                        tok,
                    )
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();

    let reads: Vec<&[u8]> = plain.split(|&b| b == b'\n').skip(1).step_by(4).collect();
    let mut g = c.benchmark_group("tokenize_reads");
    g.throughput(Throughput::Elements(bp));
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    let p = pool(1);
    for (name, general) in [("fast", false), ("general", true)] {
        let make = || match general {
            true => fresh_tokenizer().general_only(),
            false => fresh_tokenizer(),
        };
        let run = |tok: &GenaTokenizer| -> usize {
            let batches = reads.chunks(256);
            batches
                .map(|b| tok.batch(b.iter().copied()).ids.len())
                .sum()
        };
        g.bench_function(name, |b| {
            b.iter_batched(
                make,
                |tok| (p.install(|| run(&tok)), tok),
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

criterion_group!(input, benches);
criterion_main!(input);
