//! Bytes → input sniffing and parsing → chunking → tokenizing, checking the documented rules on
//! the way (see fuzz/README.md).

#![no_main]

use std::io::Cursor;
use std::path::Path;
use std::sync::OnceLock;

use genosift::chunk::{Chunk, Chunker, SEPARATOR_LEN};
use genosift::input::{Input, RecordSink};
use genosift::tokenize::{GenaTokenizer, GENA_TOKENIZER_JSON};
use libfuzzer_sys::fuzz_target;

/// Bytes a chunk may hold: the upper-cased IUPAC codes (`U` is read as `T`; separators are N).
const CHUNK_BYTES: &[u8] = b"ACGTNRYSWKMBDHV";
const MAX_TOKENS: usize = 512;

fn load() -> GenaTokenizer {
    GenaTokenizer::from_bytes(
        GENA_TOKENIZER_JSON,
        Path::new("tokenizer.json"),
        MAX_TOKENS,
        3,
    )
    .expect("the bundled tokenizer loads")
}

fn tokenizer() -> &'static GenaTokenizer {
    static TOK: OnceLock<GenaTokenizer> = OnceLock::new();
    TOK.get_or_init(load)
}

/// The same tokenizer without its fast path: the `tokenizers` crate's ids, to compare with.
fn general() -> &'static GenaTokenizer {
    static TOK: OnceLock<GenaTokenizer> = OnceLock::new();
    TOK.get_or_init(|| load().general_only())
}

struct Sink {
    chunker: Chunker,
    chunks: Vec<Chunk>,
    records: u64,
}

impl RecordSink for Sink {
    fn start(&mut self, name: &str) -> bool {
        self.records += 1;
        self.chunker.start(name);
        true
    }
    fn bases(&mut self, bases: &[u8]) -> bool {
        assert!(!bases.is_empty(), "empty bases handed to the sink");
        assert!(
            bases.iter().all(|b| CHUNK_BYTES.contains(b)),
            "reader let through {bases:?}"
        );
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

fuzz_target!(|data: &[u8]| {
    // L from the input's length, so that seeds keep their meaning and every L in 11..=138 is met.
    let len = SEPARATOR_LEN + 1 + data.len() % 128;
    let input = match Input::from_reader("fuzz".into(), Box::new(Cursor::new(data.to_vec()))) {
        Ok(i) => i,
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.contains('\n'), "multi-line error: {msg:?}");
            return;
        }
    };
    let mut sink = Sink {
        chunker: Chunker::new(len),
        chunks: Vec::new(),
        records: 0,
    };
    let stats = match input.stream(&mut sink) {
        Ok(s) => s,
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.contains('\n'), "multi-line error: {msg:?}");
            return;
        }
    };
    let Sink {
        chunker,
        mut chunks,
        records,
    } = sink;
    chunks.extend(chunker.finish());
    assert_eq!(stats.records, records, "records counted vs started");
    assert!(!stats.stopped_early);
    let bp: u64 = chunks.iter().map(|c| c.bp as u64).sum();
    assert_eq!(bp, stats.bp, "bases in chunks vs bases read");
    let tok = tokenizer();
    let empty = tok.encode(b"");
    let (cls, sep) = (empty[0], empty[empty.len() - 1]);
    for c in &chunks {
        assert!(
            c.bp > 0 && c.seq.len() <= len,
            "chunk of {} bytes, L {len}",
            c.seq.len()
        );
        assert!(c.seq.iter().all(|b| CHUNK_BYTES.contains(b)));
        assert_eq!(
            c.seq.len() - c.bp,
            (c.n_records as usize - 1) * SEPARATOR_LEN,
            "separator bytes"
        );
        let ids = tok.encode(&c.seq);
        assert!(
            ids.len() >= 3 && ids.len() <= MAX_TOKENS,
            "{} tokens",
            ids.len()
        );
        assert_eq!((ids[0], ids[ids.len() - 1]), (cls, sep));
        assert_eq!(ids, general().encode(&c.seq), "fast path vs tokenizers");
    }
});
