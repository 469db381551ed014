//! Property tests of the input → chunk → group stages and of `predict`'s determinism:
//!
//! - chunking neither loses nor invents a base: walking the chunks with the records beside them
//!   finds every base, in order, with exactly one run of `SEPARATOR_LEN` N between two records
//!   sharing a chunk and nothing else (README "Chunking");
//! - a chunk is short only where the rules allow it (the last one, or a record starting with no
//!   more than a separator's room left);
//! - how a record's bases are split into pieces (FASTA lines) does not change the chunks;
//! - FASTA (any line width, either case) and FASTQ read through `Input` chunk like the records;
//! - groups are consecutive chunks in input order;
//! - `genosift predict` writes byte-identical calls and groups tables with 1 and 2 threads, and
//!   its groups table follows the library's chunks in input order.

mod common;

use common::data;
use std::io::Cursor;
use std::path::Path;

use assert_cmd::Command;
use genosift::chunk::{Chunk, Chunker, SEPARATOR_LEN};
use genosift::group::Grouper;
use genosift::input::{Input, RecordSink};
use proptest::prelude::*;

/// Records as `(name, upper-case bases)`.
type Records = Vec<(String, Vec<u8>)>;

/// Sequences with N (so real N runs sit beside separators) and every length class: empty
/// records, reads shorter than a separator, and records longer than several chunks.
fn seqs(max_records: usize, max_len: usize) -> impl Strategy<Value = Vec<Vec<u8>>> {
    seqs_of(b"ACGTN", max_records, max_len)
}

/// As [`seqs`] without N.
fn seqs_acgt(max_records: usize, max_len: usize) -> impl Strategy<Value = Vec<Vec<u8>>> {
    seqs_of(b"ACGT", max_records, max_len)
}

fn seqs_of(
    alphabet: &'static [u8],
    max_records: usize,
    max_len: usize,
) -> impl Strategy<Value = Vec<Vec<u8>>> {
    let base = prop::sample::select(alphabet.to_vec());
    let len = prop_oneof![
        1 => Just(0usize),
        4 => 1..12usize,
        4 => 12..60usize,
        2 => 60..=max_len,
    ];
    let seq = len.prop_flat_map(move |n| prop::collection::vec(base.clone(), n));
    prop::collection::vec(seq, 0..=max_records)
}

fn named(seqs: Vec<Vec<u8>>) -> Records {
    seqs.into_iter()
        .enumerate()
        .map(|(i, s)| (format!("r{i}"), s))
        .collect()
}

/// Chunks records, each record's bases pushed in pieces whose sizes cycle through `pieces`
/// (empty: the whole record at once).
fn chunk_records(records: &Records, len: usize, pieces: &[usize]) -> Vec<Chunk> {
    let mut chunker = Chunker::new(len);
    let mut out = Vec::new();
    let mut sizes = pieces.iter().cycle();
    for (name, seq) in records {
        chunker.start(name);
        let mut rest = seq.as_slice();
        while !rest.is_empty() {
            let n = if pieces.is_empty() {
                rest.len()
            } else {
                (*sizes.next().expect("cycle")).min(rest.len())
            };
            let more = chunker.push(&rest[..n], &mut |c| {
                out.push(c);
                true
            });
            assert!(more, "emit never refuses here");
            rest = &rest[n..];
        }
    }
    out.extend(chunker.finish());
    out
}

/// Walks `chunks` against `records`; panics (with the chunk's index) at the first base lost,
/// invented, reordered, or separator out of place.
fn check_chunks(records: &Records, len: usize, chunks: &[Chunk]) {
    let sep = vec![b'N'; SEPARATOR_LEN];
    // Cursor: record index and offset of its next unconsumed base.
    let (mut ri, mut off) = (0usize, 0usize);
    let skip_done = |ri: &mut usize, off: &mut usize| {
        while *ri < records.len() && *off == records[*ri].1.len() {
            *ri += 1;
            *off = 0;
        }
    };
    for (k, c) in chunks.iter().enumerate() {
        skip_done(&mut ri, &mut off);
        assert!(ri < records.len(), "chunk {k}: no input bases left for it");
        assert!(
            c.seq.len() <= len,
            "chunk {k}: {} bytes > L = {len}",
            c.seq.len()
        );
        assert_eq!(*c.first_record, *records[ri].0, "chunk {k}: first record");
        assert_eq!(c.first_offset, off as u64, "chunk {k}: first offset");
        let (mut pos, mut bp, mut n_records) = (0usize, 0usize, 0u32);
        let mut names: Vec<&str> = Vec::new();
        loop {
            let rec = &records[ri].1;
            let m = (rec.len() - off).min(c.seq.len() - pos);
            assert!(m > 0, "chunk {k}: no base after position {pos}");
            assert_eq!(
                &c.seq[pos..pos + m],
                &rec[off..off + m],
                "chunk {k}: bases of {} at {off}",
                records[ri].0
            );
            pos += m;
            off += m;
            bp += m;
            n_records += 1;
            names.push(&records[ri].0);
            if pos == c.seq.len() {
                break;
            }
            // More bytes in the chunk: the record ended, a separator and the next record follow.
            assert_eq!(off, rec.len(), "chunk {k}: record cut inside a chunk");
            skip_done(&mut ri, &mut off);
            assert!(ri < records.len(), "chunk {k}: bytes after the last base");
            assert!(
                c.seq[pos..].starts_with(&sep),
                "chunk {k}: no separator at {pos}"
            );
            pos += SEPARATOR_LEN;
        }
        assert_eq!(c.bp, bp, "chunk {k}: bp");
        assert_eq!(c.n_records, n_records, "chunk {k}: n_records");
        let listed: Vec<&str> = c.record_names.iter().map(|n| &**n).collect();
        assert_eq!(listed, names, "chunk {k}: record names");
        assert_eq!(
            c.first_offset % len as u64,
            0,
            "chunk {k}: starts inside a record, not at a multiple of L"
        );
        if k + 1 < chunks.len() && c.seq.len() < len {
            // Closed short: at a record's end, and only when the next record would not fit whole
            // after a separator (a record shorter than L is never split).
            assert_eq!(off, records[ri].1.len(), "chunk {k}: short mid-record");
            let room = len - c.seq.len();
            let next = records[ri + 1..]
                .iter()
                .find(|r| !r.1.is_empty())
                .expect("a later chunk has bases");
            assert!(
                room <= SEPARATOR_LEN || next.1.len() > room - SEPARATOR_LEN,
                "chunk {k} closed with {room} bytes of room before a {}-bp record",
                next.1.len()
            );
        }
    }
    skip_done(&mut ri, &mut off);
    assert_eq!(ri, records.len(), "bases left over after the last chunk");
}

/// A sink that chunks what `Input` streams.
struct ChunkSink {
    chunker: Option<Chunker>,
    chunks: Vec<Chunk>,
    records: Records,
}

impl RecordSink for ChunkSink {
    fn start(&mut self, name: &str) -> bool {
        self.records.push((name.to_string(), Vec::new()));
        self.chunker.as_mut().expect("open").start(name);
        true
    }
    fn bases(&mut self, bases: &[u8]) -> bool {
        self.records
            .last_mut()
            .expect("in a record")
            .1
            .extend_from_slice(bases);
        let chunks = &mut self.chunks;
        self.chunker.as_mut().expect("open").push(bases, &mut |c| {
            chunks.push(c);
            true
        })
    }
    fn end(&mut self) -> bool {
        true
    }
}

fn read_and_chunk(bytes: Vec<u8>, len: usize) -> (Records, Vec<Chunk>) {
    let input = Input::from_reader("prop".into(), Box::new(Cursor::new(bytes))).expect("sniffs");
    let mut sink = ChunkSink {
        chunker: Some(Chunker::new(len)),
        chunks: Vec::new(),
        records: Vec::new(),
    };
    input.stream(&mut sink).expect("valid input");
    let last = sink.chunker.take().expect("open").finish();
    sink.chunks.extend(last);
    (sink.records, sink.chunks)
}

fn fasta(records: &Records, width: usize, lowercase: &[bool]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, (name, seq)) in records.iter().enumerate() {
        out.extend_from_slice(format!(">{name} some description\n").as_bytes());
        for line in seq.chunks(width) {
            if lowercase.get(i).copied().unwrap_or(false) {
                out.extend(line.iter().map(u8::to_ascii_lowercase));
            } else {
                out.extend_from_slice(line);
            }
            out.push(b'\n');
        }
    }
    out
}

fn fastq(records: &Records) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, seq) in records {
        out.extend_from_slice(format!("@{name}\n").as_bytes());
        out.extend_from_slice(seq);
        out.extend_from_slice(b"\n+\n");
        out.extend(std::iter::repeat_n(b'I', seq.len()));
        out.push(b'\n');
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn chunking_keeps_every_base_in_order(s in seqs(40, 300), len in 11usize..120) {
        let records = named(s);
        let chunks = chunk_records(&records, len, &[]);
        check_chunks(&records, len, &chunks);
        let total: usize = records.iter().map(|r| r.1.len()).sum();
        prop_assert_eq!(chunks.iter().map(|c| c.bp).sum::<usize>(), total);
        let seps: usize = chunks.iter().map(|c| c.seq.len() - c.bp).sum();
        prop_assert_eq!(
            seps,
            chunks.iter().map(|c| (c.n_records as usize - 1) * SEPARATOR_LEN).sum::<usize>()
        );
    }

    #[test]
    fn chunks_joined_minus_separators_are_the_input(s in seqs_acgt(40, 300), len in 11usize..120) {
        // Without N in the input, every N in a chunk is a separator's.
        let records = named(s);
        let chunks = chunk_records(&records, len, &[]);
        let joined: Vec<u8> = chunks.iter().flat_map(|c| c.seq.iter().copied()).collect();
        let stripped: Vec<u8> = joined.iter().copied().filter(|&b| b != b'N').collect();
        let input: Vec<u8> = records.iter().flat_map(|r| r.1.iter().copied()).collect();
        prop_assert_eq!(&stripped, &input);
        let separators = chunks.iter().map(|c| c.n_records as usize - 1).sum::<usize>();
        prop_assert_eq!(joined.len() - stripped.len(), separators * SEPARATOR_LEN);
    }

    #[test]
    fn pieces_do_not_change_chunks(
        s in seqs(20, 300),
        len in 11usize..120,
        pieces in prop::collection::vec(1usize..40, 1..8),
    ) {
        let records = named(s);
        let whole = chunk_records(&records, len, &[]);
        let pieced = chunk_records(&records, len, &pieces);
        prop_assert_eq!(whole, pieced);
    }

    #[test]
    fn fasta_and_fastq_chunk_like_their_records(
        s in seqs(20, 300),
        len in 11usize..120,
        width in 1usize..80,
        lowercase in prop::collection::vec(any::<bool>(), 20),
    ) {
        let records = named(s);
        let want = chunk_records(&records, len, &[]);
        let (read, chunks) = read_and_chunk(fasta(&records, width, &lowercase), len);
        prop_assert_eq!(&read, &records);
        prop_assert_eq!(&chunks, &want);
        let (read, chunks) = read_and_chunk(fastq(&records), len);
        prop_assert_eq!(&read, &records);
        prop_assert_eq!(&chunks, &want);
    }

    #[test]
    fn groups_are_consecutive_chunks_in_input_order(
        s in seqs(40, 200),
        len in 11usize..60,
        n in 1usize..6,
    ) {
        let chunks = chunk_records(&named(s), len, &[]);
        let mut grouper = Grouper::new(n);
        let groups: Vec<_> = chunks.iter().cloned().filter_map(|c| grouper.push(c)).collect();
        prop_assert_eq!(groups.len(), chunks.len() / n);
        for (i, g) in groups.iter().enumerate() {
            prop_assert_eq!(g.seq_no, i as u64);
            prop_assert_eq!(&g.chunks[..], &chunks[i * n..(i + 1) * n]);
        }
        prop_assert_eq!(grouper.leftover(), &chunks[groups.len() * n..]);
    }
}

// ---------------------------------------------------------------------------------------------
// The binary: byte-identical output across thread counts.

/// The tiny classifier with N and L set by `genosift.json`.
fn model_with(dir: &Path, chunks: usize, chunk_len: usize) {
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(data("gena-tiny/classifier").join(f), dir.join(f)).unwrap();
    }
    std::fs::copy(data("gena-tiny/tokenizer.json"), dir.join("tokenizer.json")).unwrap();
    std::fs::write(
        dir.join("genosift.json"),
        format!("{{\"chunks\": {chunks}, \"chunk_len\": {chunk_len}}}\n"),
    )
    .unwrap();
}

/// `(calls.tsv, groups.tsv)` bytes of one `predict` run.
fn predict(model: &Path, input: &Path, threads: usize, batch_groups: usize) -> (Vec<u8>, Vec<u8>) {
    let out = tempfile::tempdir().unwrap();
    let groups = out.path().join("groups.tsv");
    let calls = Command::cargo_bin("genosift")
        .unwrap()
        .args(["predict", "-q", "-m"])
        .arg(model)
        .arg(input)
        .args(["-t", &threads.to_string()])
        .args(["--batch-groups", &batch_groups.to_string()])
        .arg("--groups")
        .arg(&groups)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    (calls, std::fs::read(&groups).unwrap())
}

proptest! {
    // Each case runs the binary twice; 8 cases keep this test to seconds.
    #![proptest_config(ProptestConfig::with_cases(8))]

    #[test]
    fn predict_is_identical_for_one_and_two_threads(
        s in seqs(60, 700),
        len in prop::sample::select(vec![64usize, 200, 512]),
        n in 1usize..5,
        batch_groups in 1usize..4,
        width in 20usize..100,
    ) {
        let records = named(s);
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("model");
        std::fs::create_dir(&model).unwrap();
        model_with(&model, n, len);
        let input = dir.path().join("reads.fa");
        std::fs::write(&input, fasta(&records, width, &[])).unwrap();

        let one = predict(&model, &input, 1, batch_groups);
        let two = predict(&model, &input, 2, batch_groups);
        prop_assert_eq!(&one.0, &two.0, "calls.tsv differs");
        prop_assert_eq!(&one.1, &two.1, "groups.tsv differs");

        // Rows follow the library's chunks in input order: group i holds chunks N·i … N·i+N−1,
        // its bp is theirs and its top chunk's record and offset are one of theirs.
        let chunks = chunk_records(&records, len, &[]);
        let text = String::from_utf8(one.1).unwrap();
        let rows: Vec<Vec<&str>> = text.lines().skip(1).map(|l| l.split('\t').collect()).collect();
        prop_assert_eq!(rows.len(), chunks.len() / n);
        for (i, row) in rows.iter().enumerate() {
            let group = &chunks[i * n..(i + 1) * n];
            prop_assert_eq!(row[0], i.to_string());
            prop_assert_eq!(row[1], n.to_string());
            prop_assert_eq!(row[2], group.iter().map(|c| c.bp).sum::<usize>().to_string());
            let top: usize = row[5].parse().unwrap();
            prop_assert_eq!(row[7], &*group[top].first_record);
            prop_assert_eq!(row[8], group[top].first_offset.to_string());
        }
    }
}

#[test]
fn check_chunks_catches_a_lost_base() {
    // The walker itself must fail on a damaged chunking, or the properties above prove nothing.
    let records = named(vec![b"ACGTACGT".to_vec(), b"GG".to_vec()]);
    let mut chunks = chunk_records(&records, 30, &[]);
    chunks[0].seq.remove(3);
    chunks[0].bp -= 1;
    let damaged = std::panic::catch_unwind(|| check_chunks(&records, 30, &chunks));
    assert!(damaged.is_err());
    let mut extra = chunk_records(&records, 30, &[]);
    extra[0].seq.push(b'A');
    extra[0].bp += 1;
    assert!(std::panic::catch_unwind(|| check_chunks(&records, 30, &extra)).is_err());
    let fine = chunk_records(&records, 30, &[]);
    check_chunks(&records, 30, &fine);
}
