//! Cutting records into L-bp chunks.
//!
//! Rules (README "Chunking"):
//! - records are packed into chunks of at most L bytes, each joined to the previous one by a run of
//!   [`SEPARATOR_LEN`] N, which the GENA-LM tokenizer turns into one `-` token, so no BPE token
//!   spans two records; separators count towards L;
//! - a record either fits whole in the room left in the chunk (after its separator) or starts the
//!   next chunk, so a read is never split between two chunks, as the training sampler packs whole
//!   reads;
//! - a record of more than L bp thus starts a chunk and is cut into consecutive L-bp chunks; its
//!   tail (< L) stays in the buffer and is packed with what follows;
//! - at the end of input the last, partial chunk is kept if it holds any base.
//!
//! Records stream in pieces (FASTA lines), so a record's length is known only at its end: a record
//! that outgrows the room left is moved to the next chunk when it does.

use std::sync::Arc;

/// N run joining two records inside a chunk (the tokenizer maps runs of ≥ 10 N to `-`).
pub const SEPARATOR_LEN: usize = 10;

/// The complement of an upper-case IUPAC code (`R`↔`Y`, `K`↔`M`, `B`↔`V`, `D`↔`H`; `N`, `S`, `W`
/// and anything else map to themselves).
pub fn complement(b: u8) -> u8 {
    match b {
        b'A' => b'T',
        b'T' => b'A',
        b'C' => b'G',
        b'G' => b'C',
        b'R' => b'Y',
        b'Y' => b'R',
        b'K' => b'M',
        b'M' => b'K',
        b'B' => b'V',
        b'V' => b'B',
        b'D' => b'H',
        b'H' => b'D',
        other => other,
    }
}

/// The reverse complement of upper-case IUPAC sequence, as the other strand of a chunk reads.
pub fn reverse_complement(seq: &[u8]) -> Vec<u8> {
    seq.iter().rev().map(|&b| complement(b)).collect()
}

/// [`reverse_complement`] in place (a read stored on the other strand, turned back).
pub fn reverse_complement_in_place(seq: &mut [u8]) {
    seq.reverse();
    seq.iter_mut().for_each(|b| *b = complement(*b));
}

/// One chunk: at most L bytes of sequence, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Upper-case bases and separators.
    pub seq: Vec<u8>,
    /// Bases from the input (separators excluded).
    pub bp: usize,
    /// Name of the record holding the chunk's first base.
    pub first_record: Arc<str>,
    /// 0-based offset of the first base within that record.
    pub first_offset: u64,
    /// Number of records with bases in this chunk.
    pub n_records: u32,
    /// Names of those records, in order (for `predict --needles`).
    pub record_names: Vec<Arc<str>>,
}

/// Streaming chunker: feed records with [`Chunker::start`], [`Chunker::push`], then
/// [`Chunker::finish`]; full chunks go to the `emit` callback.
#[derive(Debug)]
pub struct Chunker {
    len: usize,
    buf: Vec<u8>,
    bp: usize,
    first_record: Option<(Arc<str>, u64)>,
    n_records: u32,
    record_names: Vec<Arc<str>>,
    /// Current record's name and the offset of the next base within it.
    record: Option<(Arc<str>, u64)>,
    /// Whether the current record already has bases in `buf`.
    record_in_buf: bool,
    /// Where the current record's bases start in `buf` (0: at the chunk's start).
    record_start: usize,
}

impl Chunker {
    pub fn new(len: usize) -> Self {
        assert!(
            len > SEPARATOR_LEN,
            "chunk length must exceed the separator"
        );
        Self {
            len,
            buf: Vec::with_capacity(len),
            bp: 0,
            first_record: None,
            n_records: 0,
            record_names: Vec::new(),
            record: None,
            record_in_buf: false,
            record_start: 0,
        }
    }

    fn take(&mut self) -> Chunk {
        let (first_record, first_offset) = self
            .first_record
            .take()
            .expect("a chunk with bases has a first record");
        let chunk = Chunk {
            seq: std::mem::replace(&mut self.buf, Vec::with_capacity(self.len)),
            bp: self.bp,
            first_record,
            first_offset,
            n_records: self.n_records,
            record_names: std::mem::take(&mut self.record_names),
        };
        self.bp = 0;
        self.n_records = 0;
        self.record_in_buf = false;
        chunk
    }

    /// A new record starts.
    pub fn start(&mut self, name: &str) {
        self.record = Some((Arc::from(name), 0));
        self.record_in_buf = false;
    }

    /// Appends bases of the current record; calls `emit` for each chunk that fills up.
    /// Returns `false` as soon as `emit` does.
    pub fn push(&mut self, mut bases: &[u8], emit: &mut impl FnMut(Chunk) -> bool) -> bool {
        while !bases.is_empty() {
            if !self.record_in_buf {
                if !self.buf.is_empty() {
                    if self.len - self.buf.len() <= SEPARATOR_LEN {
                        let c = self.take();
                        if !emit(c) {
                            return false;
                        }
                    } else {
                        self.buf.extend(std::iter::repeat_n(b'N', SEPARATOR_LEN));
                    }
                }
                let (name, offset) = self.record.clone().expect("push after start");
                if self.first_record.is_none() {
                    self.first_record = Some((name.clone(), offset));
                }
                self.record_names.push(name);
                self.n_records += 1;
                self.record_in_buf = true;
                self.record_start = self.buf.len();
            }
            if self.buf.len() == self.len {
                // The current record goes on past a full chunk. If it started after other
                // records, it moves whole to the next chunk; otherwise it is cut here and goes on
                // in the next chunk without a separator (the loop's top sees an empty buffer).
                let c = if self.record_start > 0 {
                    self.move_record_out()
                } else {
                    self.take()
                };
                if !emit(c) {
                    return false;
                }
                continue;
            }
            let room = self.len - self.buf.len();
            let n = room.min(bases.len());
            self.buf.extend_from_slice(&bases[..n]);
            self.bp += n;
            if let Some((_, off)) = self.record.as_mut() {
                *off += n as u64;
            }
            bases = &bases[n..];
        }
        true
    }

    /// Closes the chunk before the current record, which started after other records and has
    /// outgrown the room left; its bases so far become the next chunk's start.
    fn move_record_out(&mut self) -> Chunk {
        let moved = self.buf.split_off(self.record_start);
        self.buf.truncate(self.record_start - SEPARATOR_LEN);
        let name = self
            .record_names
            .pop()
            .expect("the current record is named");
        self.n_records -= 1;
        self.bp -= moved.len();
        let chunk = self.take();
        self.first_record = Some((name.clone(), 0));
        self.record_names.push(name);
        self.n_records = 1;
        self.bp = moved.len();
        self.buf = moved;
        self.record_in_buf = true;
        self.record_start = 0;
        chunk
    }

    /// The last, partial chunk, if it holds any base.
    pub fn finish(mut self) -> Option<Chunk> {
        (self.bp > 0).then(|| self.take())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverse_complement_in_place_is_an_involution_on_iupac() {
        let mut s = b"ACGTRYKMBVDHNSW".to_vec();
        reverse_complement_in_place(&mut s);
        assert_eq!(s, b"WSNDHBVKMRYACGT");
        assert_eq!(reverse_complement(b"ACGTRYKMBVDHNSW"), s);
        reverse_complement_in_place(&mut s);
        assert_eq!(s, b"ACGTRYKMBVDHNSW");
    }

    #[test]
    fn reverse_complement_of_iupac() {
        assert_eq!(reverse_complement(b"ACGTNNRYKMBVDHSW"), b"WSDHBVKMRYNNACGT");
        assert_eq!(reverse_complement(b""), b"");
        let s = b"GATTACANNNNNNNNNNCCRA";
        assert_eq!(reverse_complement(&reverse_complement(s)), s);
    }

    fn run(len: usize, records: &[(&str, &[u8])]) -> Vec<Chunk> {
        let mut c = Chunker::new(len);
        let mut out = Vec::new();
        for (name, seq) in records {
            c.start(name);
            c.push(seq, &mut |ch| {
                out.push(ch);
                true
            });
        }
        out.extend(c.finish());
        out
    }

    #[test]
    fn exact_records_are_their_own_chunks() {
        let a = vec![b'A'; 20];
        let g = vec![b'G'; 20];
        let out = run(20, &[("a", &a), ("g", &g)]);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].seq, a);
        assert_eq!(&*out[1].first_record, "g");
        assert_eq!(out[1].n_records, 1);
    }

    #[test]
    fn long_record_tail_packs_with_next() {
        let long = vec![b'A'; 50];
        let out = run(20, &[("long", &long), ("r", b"CCCC")]);
        // 20 + 20, then tail 10 A + 10 N separator… the 4 C no longer fit after a separator that
        // would leave room 0: chunk closes at 10 A, then C's start a new chunk.
        assert_eq!(out[0].seq.len(), 20);
        assert_eq!(out[1].first_offset, 20);
        assert_eq!(out[2].seq, b"AAAAAAAAAA".to_vec());
        assert_eq!(out[3].seq, b"CCCC".to_vec());
        let bp: usize = out.iter().map(|c| c.bp).sum();
        assert_eq!(bp, 54);
    }

    #[test]
    fn reads_are_joined_by_separators_and_never_split() {
        let out = run(
            30,
            &[("r1", b"ACGT"), ("r2", b"TTTT"), ("r3", b"GGGGGGGGGGGG")],
        );
        let mut want = b"ACGT".to_vec();
        want.extend(b"NNNNNNNNNN");
        want.extend(b"TTTT");
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].seq, want);
        assert_eq!(out[0].n_records, 2);
        assert_eq!(out[0].bp, 8);
        let names: Vec<&str> = out[0].record_names.iter().map(|n| &**n).collect();
        assert_eq!(names, ["r1", "r2"]);
        // r3 (12 bp) did not fit in the 12 bytes left after a separator: it starts chunk 2, whole.
        assert_eq!(&*out[1].first_record, "r3");
        assert_eq!(out[1].first_offset, 0);
        assert_eq!(out[1].seq, vec![b'G'; 12]);
        assert_eq!(out[1].n_records, 1);
    }

    #[test]
    fn a_read_that_fits_exactly_stays() {
        // 9 + 10 + 11 = 30 = L.
        let out = run(30, &[("a", &[b'A'; 9]), ("c", &[b'C'; 11]), ("g", b"GG")]);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].seq.len(), 30);
        assert_eq!(out[0].n_records, 2);
        assert_eq!(&*out[1].first_record, "g");
    }

    #[test]
    fn a_long_record_after_reads_starts_its_own_chunk() {
        let long = [b'T'; 45];
        let mut c = Chunker::new(20);
        let mut out = Vec::new();
        for (name, seq) in [("r", &b"ACG"[..]), ("long", &long[..])] {
            c.start(name);
            // FASTA-like: the long record arrives in 7-bp lines.
            for piece in seq.chunks(7) {
                assert!(c.push(piece, &mut |ch| {
                    out.push(ch);
                    true
                }));
            }
        }
        out.extend(c.finish());
        let lens: Vec<usize> = out.iter().map(|c| c.seq.len()).collect();
        assert_eq!(lens, [3, 20, 20, 5]);
        assert_eq!(out[1].first_offset, 0);
        assert_eq!(out[2].first_offset, 20);
        assert_eq!(out[3].first_offset, 40);
        assert!(out[1..].iter().all(|c| &*c.first_record == "long"));
    }
}
