//! Sequence input: files or stdin, sniffed from their first bytes, handed on as records.
//!
//! - FASTA and FASTQ, plain or gzip/bgzip ([`text`]);
//! - SAM, BAM and CRAM ([`alignment`]): a record is its bases (reverse-complemented back when it
//!   was aligned to the reverse strand); secondary, supplementary, QC-failed and duplicate records
//!   and second mates are skipped by default and counted;
//! - a coordinate-sorted BAM with an index, when reading may stop early, is read in a seeded random
//!   order ([`shuffle`]);
//! - several inputs are read in turn, a record from each ([`interleave`]).
//!
//! Records stream into a [`RecordSink`] piece by piece: a FASTA record's sequence is handed over a
//! line at a time, so a chromosome-sized record needs no more memory than its line. Accepted bases:
//! the IUPAC nucleotide codes `ACGTNRYSWKMBDHV` in either case (upper-cased; GENA-LM's vocabulary
//! has no lowercase) and `U`, read as `T`. Spaces and tabs inside sequence lines are skipped. Any
//! other byte is an error naming the file, the record and where it is.

mod alignment;
pub mod crai;
mod interleave;
mod shuffle;
mod text;

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::bufread::MultiGzDecoder;

use self::alignment::AlignmentInput;
pub use self::alignment::{ReadFilter, Skipped};
use self::text::TextInput;
use crate::error::InputError;

/// Where sequence comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Stdin,
    Path(PathBuf),
}

impl Source {
    /// `None` or `-` means stdin.
    pub fn from_arg(arg: Option<&Path>) -> Self {
        match arg {
            None => Source::Stdin,
            Some(p) if p.as_os_str() == "-" => Source::Stdin,
            Some(p) => Source::Path(p.to_path_buf()),
        }
    }

    /// The name used in messages and as the default sample name.
    pub fn display_name(&self) -> String {
        match self {
            Source::Stdin => "stdin".to_string(),
            Source::Path(p) => p.display().to_string(),
        }
    }

    /// Default sample name: the file name without `.gz` and the FASTA/FASTQ extension, or `stdin`.
    pub fn sample_name(&self) -> String {
        match self {
            Source::Stdin => "stdin".to_string(),
            Source::Path(p) => {
                let mut name = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "sample".into());
                for ext in [
                    ".gz", ".bgz", ".fastq", ".fq", ".fasta", ".fa", ".fna", ".fas", ".bam",
                    ".cram", ".sam",
                ] {
                    if let Some(stem) = name.strip_suffix(ext) {
                        if !stem.is_empty() {
                            name = stem.to_string();
                        }
                    }
                }
                name
            }
        }
    }
}

/// Receives records piece by piece. Each method returns `false` to stop reading early.
pub trait RecordSink {
    /// A record starts; `name` is its identifier (up to the first whitespace).
    fn start(&mut self, name: &str) -> bool;
    /// Validated, upper-cased bases of the current record.
    fn bases(&mut self, bases: &[u8]) -> bool;
    /// The current record ended.
    fn end(&mut self) -> bool;
}

/// What was read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InputStats {
    /// Records handed to the sink, and their bases.
    pub records: u64,
    pub bp: u64,
    /// Reading stopped because the sink asked to, before the end of input.
    pub stopped_early: bool,
    /// Alignment records not used, by reason.
    pub skipped: Skipped,
    /// Records used that are unmapped (flag 0x4): a sample's non-reference sequence.
    pub unmapped: u64,
    /// Some input was read in a seeded random order through its index.
    pub random_order: bool,
}

impl InputStats {
    /// Adds another input's counts (several inputs, one call).
    pub fn add(&mut self, o: &InputStats) {
        self.records += o.records;
        self.bp += o.bp;
        self.stopped_early |= o.stopped_early;
        self.skipped.add(&o.skipped);
        self.unmapped += o.unmapped;
        self.random_order |= o.random_order;
    }
}

/// Buffer size for file and stdin reads; large enough to amortise syscalls and decompression.
pub(crate) const BUF_SIZE: usize = 1 << 17;

/// `0` = invalid byte, `1` = skip (space, tab), anything else = the base to emit.
const fn base_table() -> [u8; 256] {
    let mut t = [0u8; 256];
    let codes = b"ACGTNRYSWKMBDHV";
    let mut i = 0;
    while i < codes.len() {
        t[codes[i] as usize] = codes[i];
        t[codes[i].to_ascii_lowercase() as usize] = codes[i];
        i += 1;
    }
    t[b'U' as usize] = b'T';
    t[b'u' as usize] = b'T';
    t[b' ' as usize] = 1;
    t[b'\t' as usize] = 1;
    t
}
static BASES: [u8; 256] = base_table();

/// Validates and upper-cases `src` into `dst`; on a bad byte returns its offset in `src`.
pub fn clean_bases(src: &[u8], dst: &mut Vec<u8>) -> Result<(), usize> {
    dst.reserve(src.len());
    for (i, &b) in src.iter().enumerate() {
        match BASES[b as usize] {
            0 => return Err(i),
            1 => {}
            c => dst.push(c),
        }
    }
    Ok(())
}

pub(crate) fn describe_byte(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("'{}'", b as char)
    } else {
        format!("byte 0x{b:02x}")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeqRecord {
    pub name: String,
    pub seq: Vec<u8>,
}

/// Collects whole records.
#[derive(Debug, Default)]
pub struct RecordCollector(pub Vec<SeqRecord>);

impl RecordSink for RecordCollector {
    fn start(&mut self, name: &str) -> bool {
        self.0.push(SeqRecord {
            name: name.to_string(),
            seq: Vec::new(),
        });
        true
    }
    fn bases(&mut self, bases: &[u8]) -> bool {
        if let Some(r) = self.0.last_mut() {
            r.seq.extend_from_slice(bases);
        }
        true
    }
    fn end(&mut self) -> bool {
        true
    }
}

/// Reads every record of `source` into memory (validated, upper-cased; alignment records
/// filtered as by default).
pub fn read_records(source: &Source) -> Result<Vec<SeqRecord>, InputError> {
    read_records_with(source, &InputOptions::default())
}

/// Reads every record of `source` into memory, as `opts` say.
pub fn read_records_with(
    source: &Source,
    opts: &InputOptions,
) -> Result<Vec<SeqRecord>, InputError> {
    let mut c = RecordCollector::default();
    Input::open(source, opts)?.stream(&mut c)?;
    Ok(c.0)
}
/// How to read inputs, beyond what their bytes say.
#[derive(Debug, Clone, Default)]
pub struct InputOptions {
    /// The reference a CRAM was written against (`--reference`).
    pub reference: Option<PathBuf>,
    /// The index of the (one) alignment input, when it is not beside it (`--index`).
    pub index: Option<PathBuf>,
    pub filter: ReadFilter,
    /// Reading may stop before the end (`--stop-when-confident`, `--max-groups`), so the records
    /// must come in random order: a sorted BAM is then read through its index, and a sorted
    /// input that cannot be is refused.
    pub early_stop: bool,
    /// Seed of the random order.
    pub seed: u64,
}

/// An opened, sniffed input (or several).
pub enum Input {
    Text(TextInput),
    Alignment(Box<AlignmentInput>),
    /// Several inputs, read a record from each in turn.
    Many(Vec<Input>),
}

impl Input {
    /// Opens every source (several are read in turn, one record from each).
    pub fn open_all(sources: &[Source], opts: &InputOptions) -> Result<Self, InputError> {
        let mut inputs = Vec::with_capacity(sources.len());
        for (i, source) in sources.iter().enumerate() {
            let opts = InputOptions {
                seed: opts.seed.wrapping_add(i as u64),
                ..opts.clone()
            };
            inputs.push(Self::open(source, &opts)?);
        }
        Ok(match inputs.len() {
            1 => inputs.pop().expect("one input"),
            _ => Input::Many(inputs),
        })
    }

    /// Opens `source`, sniffing compression and format.
    pub fn open(source: &Source, opts: &InputOptions) -> Result<Self, InputError> {
        let name = source.display_name();
        let raw: Box<dyn Read + Send> = match source {
            Source::Stdin => Box::new(io::stdin()),
            Source::Path(p) => Box::new(File::open(p).map_err(|err| InputError::Open {
                source_name: name.clone(),
                err,
            })?),
        };
        Self::sniff(source, name, raw, opts)
    }

    /// Sniffs an already opened byte stream (used by `open` and by tests).
    pub fn from_reader(name: String, raw: Box<dyn Read + Send>) -> Result<Self, InputError> {
        Self::sniff(&Source::Stdin, name, raw, &InputOptions::default())
    }

    fn sniff(
        source: &Source,
        name: String,
        raw: Box<dyn Read + Send>,
        opts: &InputOptions,
    ) -> Result<Self, InputError> {
        let mut buffered = BufReader::with_capacity(BUF_SIZE, raw);
        let head = buffered.fill_buf().map_err(|err| InputError::Io {
            source_name: name.clone(),
            line: 1,
            err,
        })?;
        if let Some(kind) = unsupported_compression(head) {
            return Err(InputError::Format {
                source_name: name,
                what: format!("{kind}-compressed input is not supported; decompress it first (gzip and bgzip are read directly)"),
            });
        }
        let gzip = head.starts_with(&[0x1f, 0x8b]);
        let inner = if gzip {
            gunzip_prefix(head)
        } else {
            head.to_vec()
        };
        if inner.starts_with(b"BAM") && !inner.starts_with(b"BAM\x01") {
            return Err(InputError::Format {
                source_name: name,
                what: "bad BAM magic: expected 'BAM\\1' after decompression".into(),
            });
        }
        let format = if head.starts_with(b"CRAM") {
            Some(alignment::Format::Cram)
        } else if inner.starts_with(b"BAM\x01") {
            Some(alignment::Format::Bam)
        } else if looks_like_sam(&inner) {
            Some(alignment::Format::Sam { gzip })
        } else {
            None
        };
        match format {
            Some(format) => AlignmentInput::open(source, name, buffered, format, opts)
                .map(|a| Input::Alignment(Box::new(a))),
            None => TextInput::from_buffered(name, buffered, gzip).map(Input::Text),
        }
    }

    /// Reads every record into `sink` (until it asks to stop).
    pub fn stream(self, sink: &mut impl RecordSink) -> Result<InputStats, InputError> {
        match self {
            Input::Text(t) => t.stream(sink),
            Input::Alignment(a) => a.stream(sink),
            Input::Many(inputs) => interleave::stream(inputs, sink),
        }
    }
}

/// The first bytes of gzip data, decompressed (as many as the head holds, up to 512).
fn gunzip_prefix(head: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    let _ = MultiGzDecoder::new(head).take(512).read_to_end(&mut out);
    out
}

/// SAM: a header line (`@HD`, `@SQ`, …) or a first line of ≥ 11 tab-separated fields whose
/// second (FLAG) and fourth (POS) are numbers.
fn looks_like_sam(head: &[u8]) -> bool {
    const SAM_TAGS: [&[u8]; 5] = [b"@HD\t", b"@SQ\t", b"@RG\t", b"@PG\t", b"@CO\t"];
    if SAM_TAGS.iter().any(|t| head.starts_with(t)) {
        return true;
    }
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let fields: Vec<&[u8]> = line.split(|&b| b == b'\t').collect();
    let number = |f: &[u8]| !f.is_empty() && f.iter().all(u8::is_ascii_digit);
    fields.len() >= 11 && number(fields[1]) && number(fields[3])
}

/// Names compressed formats we do not read, from their magic bytes.
fn unsupported_compression(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(b"BZh") {
        Some("bzip2")
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some("zstd")
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        Some("xz")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &'static [u8]) -> Result<(Vec<SeqRecord>, InputStats), InputError> {
        let mut c = RecordCollector::default();
        let stats = Input::from_reader("t".into(), Box::new(bytes))?.stream(&mut c)?;
        Ok((c.0, stats))
    }

    #[test]
    fn sample_names() {
        let s = Source::from_arg(Some(Path::new("/x/NA12878.fastq.gz")));
        assert_eq!(s.sample_name(), "NA12878");
        let s = Source::from_arg(Some(Path::new("/x/NA12878.cram")));
        assert_eq!(s.sample_name(), "NA12878");
        assert_eq!(Source::from_arg(Some(Path::new("-"))), Source::Stdin);
    }

    #[test]
    fn sam_records_are_their_read_bases() {
        let sam = b"@HD\tVN:1.6\tSO:unsorted\n@SQ\tSN:chr1\tLN:100\n\
r1\t99\tchr1\t5\t60\t4M\t=\t20\t19\tAACG\tIIII\n\
r1\t147\tchr1\t20\t60\t4M\t=\t5\t-19\tTTTT\tIIII\n\
r2\t16\tchr1\t9\t60\t4M\t*\t0\t0\tAACG\tIIII\n\
r3\t256\tchr1\t9\t0\t4M\t*\t0\t0\t*\t*\n\
r4\t1024\tchr1\t9\t60\t4M\t*\t0\t0\tACGT\tIIII\n\
r5\t4\t*\t0\t0\t*\t*\t0\t0\tGGGN\tIIII\n";
        let (recs, stats) = read(sam).unwrap();
        let got: Vec<(&str, &[u8])> = recs.iter().map(|r| (r.name.as_str(), &r.seq[..])).collect();
        assert_eq!(
            got,
            [("r1", &b"AACG"[..]), ("r2", b"CGTT"), ("r5", b"GGGN")]
        );
        assert_eq!(stats.skipped.second_mate, 1);
        assert_eq!(stats.skipped.secondary_supplementary, 1);
        assert_eq!(stats.skipped.duplicate, 1);
        assert_eq!(stats.unmapped, 1);
        // A header alone is an empty input; a headerless SAM is still SAM.
        assert!(read(b"@HD\tVN:1.6\n@SQ\tSN:chr1\tLN:10\n")
            .unwrap()
            .0
            .is_empty());
        let (recs, _) = read(b"r1\t0\tchr1\t5\t60\t4M\t*\t0\t0\tACGT\tIIII\n").unwrap();
        assert_eq!(recs[0].seq, b"ACGT");
    }

    #[test]
    fn sorted_sam_on_stdin_is_refused_when_reading_may_stop_early() {
        let sam: &'static [u8] = b"@HD\tVN:1.6\tSO:coordinate\n@SQ\tSN:chr1\tLN:100\n";
        let opts = InputOptions {
            early_stop: true,
            ..InputOptions::default()
        };
        let Err(e) = Input::sniff(&Source::Stdin, "stdin".into(), Box::new(sam), &opts) else {
            panic!("a sorted SAM on stdin with an early stop must be refused");
        };
        let e = e.to_string();
        assert!(e.contains("SO:coordinate") && e.contains("stdin"), "{e}");
        assert!(!e.contains('\n'), "one line: {e}");
        assert!(Input::sniff(
            &Source::Stdin,
            "stdin".into(),
            Box::new(sam),
            &InputOptions::default()
        )
        .is_ok());
    }

    #[test]
    fn several_inputs_take_turns_record_by_record() {
        let a: &'static [u8] = b">a1\nAC\n>a2\nGG\n>a3\nT\n";
        let b: &'static [u8] = b"@b1\nTT\n+\nII\n";
        let many = Input::Many(vec![
            Input::from_reader("a".into(), Box::new(a)).unwrap(),
            Input::from_reader("b".into(), Box::new(b)).unwrap(),
        ]);
        let mut c = RecordCollector::default();
        let stats = many.stream(&mut c).unwrap();
        let names: Vec<&str> = c.0.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["a1", "b1", "a2", "a3"]);
        assert_eq!((stats.records, stats.bp), (4, 7));
        // A bad record in either input is that input's error.
        let bad: &'static [u8] = b">x\nAJ\n";
        let many = Input::Many(vec![
            Input::from_reader("a".into(), Box::new(a)).unwrap(),
            Input::from_reader("bad".into(), Box::new(bad)).unwrap(),
        ]);
        let e = many
            .stream(&mut RecordCollector::default())
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("bad: record 'x'"), "{e}");
    }
}
