//! SAM, BAM and CRAM with noodles. Alignment is never used for the call: a record is its bases,
//! reverse-complemented back when flag 0x10 says it was aligned to the reverse strand.
//!
//! By default a record is skipped (and counted) when it is secondary or supplementary (0x900),
//! QC-failed (0x200), a duplicate (0x400), or the second mate of a pair (mates are not
//! independent draws: a Y fragment would count twice). Unmapped records are used: they are where a
//! sample's non-reference sequence, and much of a real chrY, lives.

use std::collections::HashSet;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use flate2::bufread::MultiGzDecoder;
use noodles_bam as bam;
use noodles_bgzf as bgzf;
use noodles_cram as cram;
use noodles_fasta as fasta;
use noodles_sam as sam;
use serde::Serialize;

use super::shuffle::{self, Shuffled};
use super::{clean_bases, describe_byte, InputOptions, InputStats, RecordSink, Source, BUF_SIZE};
use crate::chunk::reverse_complement_in_place;
use crate::error::InputError;

/// Which alignment format the first bytes showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Sam { gzip: bool },
    Bam,
    Cram,
}

/// Which alignment records are used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadFilter {
    /// Records with any of these flag bits are skipped (`--exclude-flags`, as `samtools -F`).
    pub exclude: u16,
    /// Use both mates of a pair (`--both-mates`); by default only the first.
    pub both_mates: bool,
}

impl Default for ReadFilter {
    fn default() -> Self {
        Self {
            exclude: DEFAULT_EXCLUDE,
            both_mates: false,
        }
    }
}

/// Secondary, QC-failed, duplicate, supplementary.
pub const DEFAULT_EXCLUDE: u16 = 0xF00;

const PAIRED: u16 = 0x1;
const UNMAPPED: u16 = 0x4;
const REVERSE: u16 = 0x10;
const FIRST_SEGMENT: u16 = 0x40;

/// Alignment records not used, by the first reason that applies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// Flag 0x100 or 0x800.
    pub secondary_supplementary: u64,
    /// Flag 0x200.
    pub qc_fail: u64,
    /// Flag 0x400.
    pub duplicate: u64,
    /// Other bits of `--exclude-flags`.
    pub other_flags: u64,
    /// Paired and not the first segment (without `--both-mates`).
    pub second_mate: u64,
    /// No bases stored (SEQ `*`).
    pub no_sequence: u64,
}

impl Skipped {
    pub fn add(&mut self, o: &Skipped) {
        self.secondary_supplementary += o.secondary_supplementary;
        self.qc_fail += o.qc_fail;
        self.duplicate += o.duplicate;
        self.other_flags += o.other_flags;
        self.second_mate += o.second_mate;
        self.no_sequence += o.no_sequence;
    }

    pub fn total(&self) -> u64 {
        self.secondary_supplementary
            + self.qc_fail
            + self.duplicate
            + self.other_flags
            + self.second_mate
            + self.no_sequence
    }
}

impl ReadFilter {
    /// `true` to use a record with `flags`; otherwise the reason is counted in `skipped`.
    pub fn keep(&self, flags: u16, skipped: &mut Skipped) -> bool {
        let excluded = flags & self.exclude;
        let counter = if excluded & 0x900 != 0 {
            &mut skipped.secondary_supplementary
        } else if excluded & 0x200 != 0 {
            &mut skipped.qc_fail
        } else if excluded & 0x400 != 0 {
            &mut skipped.duplicate
        } else if excluded != 0 {
            &mut skipped.other_flags
        } else if !self.both_mates && flags & PAIRED != 0 && flags & FIRST_SEGMENT == 0 {
            &mut skipped.second_mate
        } else {
            return true;
        };
        *counter += 1;
        false
    }
}

type Buffered = BufReader<Box<dyn Read + Send>>;

/// The record reader: in file order, or through the index in random order.
enum Reader {
    Sam(sam::io::Reader<Box<dyn BufRead + Send>>),
    Bam(bam::io::Reader<bgzf::io::Reader<Buffered>>),
    Cram(Box<cram::io::Reader<Buffered>>),
    Shuffled(Box<Shuffled>),
}

/// An opened SAM, BAM or CRAM: its header read, its order decided.
pub struct AlignmentInput {
    name: String,
    header: sam::Header,
    reader: Reader,
    filter: ReadFilter,
}

impl AlignmentInput {
    /// Reads the header. When reading may stop early and the header says `SO:coordinate`, the
    /// records are read in random order through the index, or refused when there is none.
    pub(super) fn open(
        source: &Source,
        name: String,
        buffered: Buffered,
        format: Format,
        opts: &InputOptions,
    ) -> Result<Self, InputError> {
        let bad = |what: String| InputError::Format {
            source_name: name.clone(),
            what,
        };
        let (header, mut reader) = match format {
            Format::Sam { gzip } => {
                open_sam(buffered, gzip).map_err(|e| bad(format!("bad SAM header: {e}")))?
            }
            Format::Bam => {
                let mut r = bam::io::Reader::new(buffered);
                let h = r
                    .read_header()
                    .map_err(|e| bad(format!("bad BAM header: {}", bgzf_problem(&e))))?;
                (h, Reader::Bam(r))
            }
            Format::Cram => open_cram(buffered, &name, opts)?,
        };
        if opts.early_stop && is_coordinate_sorted(&header) {
            let s = shuffle::open(source, &name, format, &header, opts)?;
            reader = Reader::Shuffled(Box::new(s));
        }
        Ok(Self {
            name,
            header,
            reader,
            filter: opts.filter,
        })
    }

    /// Hands every used record to `sink` (until it asks to stop).
    pub fn stream(self, sink: &mut impl RecordSink) -> Result<InputStats, InputError> {
        let mut e = Emitter::new(self.name, self.filter);
        let header = &self.header;
        match self.reader {
            Reader::Bam(r) => stream_bam(r, header, &mut e, sink)?,
            Reader::Sam(r) => stream_sam(r, header, &mut e, sink)?,
            Reader::Cram(mut r) => {
                for result in r.records(header) {
                    let rec = result.map_err(|err| e.broken(&err))?;
                    let name = rec.name().map(|n| -> &[u8] { n.as_ref() });
                    let kept = e.take(name, rec.flags().bits(), |buf| {
                        buf.extend_from_slice(rec.sequence().as_ref())
                    })?;
                    if kept && !e.send_taken(sink) {
                        break;
                    }
                }
            }
            Reader::Shuffled(s) => {
                e.stats.random_order = true;
                s.stream(&mut e, sink)?;
            }
        }
        Ok(e.stats)
    }
}

fn stream_bam(
    mut r: bam::io::Reader<bgzf::io::Reader<Buffered>>,
    header: &sam::Header,
    e: &mut Emitter,
    sink: &mut impl RecordSink,
) -> Result<(), InputError> {
    let mut rec = bam::Record::default();
    loop {
        match r.read_record(&mut rec) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(err) => return Err(e.broken(&err)),
        }
        e.check_reference(
            rec.reference_sequence_id(),
            header.reference_sequences().len(),
        )?;
        let name = rec.name().map(|n| -> &[u8] { n.as_ref() });
        let seq = rec.sequence();
        let kept = e.take(name, rec.flags().bits(), |buf| buf.extend(seq.iter()))?;
        if kept && !e.send_taken(sink) {
            return Ok(());
        }
    }
}

fn stream_sam(
    mut r: sam::io::Reader<Box<dyn BufRead + Send>>,
    header: &sam::Header,
    e: &mut Emitter,
    sink: &mut impl RecordSink,
) -> Result<(), InputError> {
    let mut rec = sam::Record::default();
    // A SAM without @SQ lines (`samtools view` without -h) names references it cannot check.
    let check = !header.reference_sequences().is_empty();
    loop {
        match r.read_record(&mut rec) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(err) => return Err(e.broken(&err)),
        }
        if check {
            e.check_reference(
                rec.reference_sequence_id(header),
                header.reference_sequences().len(),
            )?;
        }
        let flags = rec.flags().map_err(|err| e.broken(&err))?.bits();
        let seq = rec.sequence();
        let name = rec.name().map(|n| -> &[u8] { n.as_ref() });
        let kept = e.take(name, flags, |buf| buf.extend_from_slice(seq.as_ref()))?;
        if kept && !e.send_taken(sink) {
            return Ok(());
        }
    }
}

fn open_sam(buffered: Buffered, gzip: bool) -> io::Result<(sam::Header, Reader)> {
    let inner: Box<dyn BufRead + Send> = if gzip {
        Box::new(BufReader::with_capacity(
            BUF_SIZE,
            MultiGzDecoder::new(buffered),
        ))
    } else {
        Box::new(buffered)
    };
    let mut r = sam::io::Reader::new(inner);
    let h = r.read_header()?;
    Ok((h, Reader::Sam(r)))
}

/// A CRAM with its reference: refused without one, or when the reference lacks a sequence the
/// header lists (noodles-cram stops the program on a reference sequence it cannot find).
fn open_cram(
    buffered: Buffered,
    name: &str,
    opts: &InputOptions,
) -> Result<(sam::Header, Reader), InputError> {
    let bad = |what: String| InputError::Format {
        source_name: name.to_string(),
        what,
    };
    let (repo, names) = reference_repository(name, opts.reference.as_deref())?;
    let mut r = cram::io::reader::Builder::default()
        .set_reference_sequence_repository(repo)
        .build_from_reader(buffered);
    let h = r
        .read_header()
        .map_err(|e| bad(format!("bad CRAM header: {e}")))?;
    if h.reference_sequences().is_empty() {
        return Ok((h, Reader::Cram(Box::new(r))));
    }
    if opts.reference.is_none() {
        return Err(bad(
            "CRAM needs the reference it was written against to decode its reads: pass \
             --reference FASTA (with its .fai beside it, or one is built)"
                .into(),
        ));
    }
    if let Some(missing) = h
        .reference_sequences()
        .keys()
        .find(|n| !names.contains(&n.to_vec()))
    {
        return Err(bad(format!(
            "--reference has no sequence '{missing}', which the CRAM header lists: pass the \
             reference the CRAM was written against"
        )));
    }
    Ok((h, Reader::Cram(Box::new(r))))
}

/// A used record, as the random order holds it until its turn.
pub(super) struct Held {
    pub name: String,
    pub bases: Vec<u8>,
    pub unmapped: bool,
}

/// Filters, cleans and reverse-complements records and hands them on, counting as it goes.
pub(super) struct Emitter {
    pub name: String,
    filter: ReadFilter,
    pub stats: InputStats,
    /// Records seen (used or not), for messages.
    pub record_no: u64,
    raw: Vec<u8>,
    clean: Vec<u8>,
    taken_name: String,
    taken_unmapped: bool,
}

impl Emitter {
    pub fn new(name: String, filter: ReadFilter) -> Self {
        Self {
            name,
            filter,
            stats: InputStats::default(),
            record_no: 0,
            raw: Vec::new(),
            clean: Vec::new(),
            taken_name: String::new(),
            taken_unmapped: false,
        }
    }

    /// Counts a record; if the filter keeps it, fills its bases (`fill`), validates them and
    /// turns them to the read's strand. `Ok(true)`: the record is ready to send.
    pub fn take(
        &mut self,
        name: Option<&[u8]>,
        flags: u16,
        fill: impl FnOnce(&mut Vec<u8>),
    ) -> Result<bool, InputError> {
        self.record_no += 1;
        if !self.filter.keep(flags, &mut self.stats.skipped) {
            return Ok(false);
        }
        self.raw.clear();
        fill(&mut self.raw);
        if self.raw.is_empty() || self.raw == b"*" {
            self.stats.skipped.no_sequence += 1;
            return Ok(false);
        }
        let name = String::from_utf8_lossy(name.unwrap_or(b"*"));
        self.clean.clear();
        if let Err(at) = clean_bases(&self.raw, &mut self.clean) {
            return Err(InputError::Alignment {
                source_name: self.name.clone(),
                record: name
                    .chars()
                    .map(|c| if c.is_control() { '?' } else { c })
                    .collect(),
                record_no: self.record_no,
                what: format!(
                    "invalid base {} at position {} of SEQ (expected IUPAC nucleotide codes)",
                    describe_byte(self.raw[at]),
                    at + 1
                ),
            });
        }
        if flags & REVERSE != 0 {
            reverse_complement_in_place(&mut self.clean);
        }
        self.taken_name.clear();
        self.taken_name.push_str(&name);
        self.taken_unmapped = flags & UNMAPPED != 0;
        Ok(true)
    }

    /// The record `take` prepared, to hold for later.
    pub fn held(&self) -> Held {
        Held {
            name: self.taken_name.clone(),
            bases: self.clean.clone(),
            unmapped: self.taken_unmapped,
        }
    }

    /// Sends the record `take` prepared; `false` when the sink asks to stop.
    pub fn send_taken(&mut self, sink: &mut impl RecordSink) -> bool {
        let (name, bases) = (
            std::mem::take(&mut self.taken_name),
            std::mem::take(&mut self.clean),
        );
        let go = self.send(&name, &bases, self.taken_unmapped, sink);
        (self.taken_name, self.clean) = (name, bases);
        go
    }

    /// Sends one read; `false` when the sink asks to stop.
    pub fn send(
        &mut self,
        name: &str,
        bases: &[u8],
        unmapped: bool,
        sink: &mut impl RecordSink,
    ) -> bool {
        self.stats.records += 1;
        self.stats.bp += bases.len() as u64;
        self.stats.unmapped += u64::from(unmapped);
        let go = sink.start(name) && sink.bases(bases) && sink.end();
        if !go {
            self.stats.stopped_early = true;
        }
        go
    }

    /// A record whose reference the header does not list: the file is not what its header says.
    pub fn check_reference(
        &self,
        id: Option<io::Result<usize>>,
        n: usize,
    ) -> Result<(), InputError> {
        let what = match id {
            None => return Ok(()),
            Some(Ok(id)) if id < n => return Ok(()),
            Some(Ok(id)) => format!("reference sequence #{id}, and the header lists {n}"),
            Some(Err(err)) => format!("a reference sequence the header does not list ({err})"),
        };
        Err(InputError::Format {
            source_name: self.name.clone(),
            what: format!(
                "record {}: header/record mismatch: the record names {what}",
                self.record_no + 1
            ),
        })
    }

    /// A read error after `record_no` records, as one line.
    pub fn broken(&self, err: &io::Error) -> InputError {
        InputError::Format {
            source_name: self.name.clone(),
            what: format!("record {}: {}", self.record_no + 1, bgzf_problem(err)),
        }
    }
}

/// Says what a noodles read error means for a user: truncated or corrupt BGZF, or the message.
pub(super) fn bgzf_problem(err: &io::Error) -> String {
    match err.kind() {
        io::ErrorKind::UnexpectedEof => {
            "truncated data (the file ends inside a record or a BGZF block)".into()
        }
        _ => format!("cannot read: {err}"),
    }
}

/// The header says `SO:coordinate`.
pub fn is_coordinate_sorted(header: &sam::Header) -> bool {
    use sam::header::record::value::map::header::{sort_order::COORDINATE, tag::SORT_ORDER};
    header
        .header()
        .and_then(|h| h.other_fields().get(&SORT_ORDER))
        .is_some_and(|so| so == COORDINATE)
}

/// The CRAM reference: an indexed FASTA (its `.fai` read, or built when missing), and the names
/// of its sequences.
pub(super) fn reference_repository(
    input: &str,
    reference: Option<&Path>,
) -> Result<(fasta::Repository, HashSet<Vec<u8>>), InputError> {
    let Some(path) = reference else {
        return Ok((fasta::Repository::default(), HashSet::new()));
    };
    let problem = |e: io::Error| InputError::Format {
        source_name: input.to_string(),
        what: format!("--reference {}: {e}", path.display()),
    };
    let index = match fasta::fs::read_associated_index(path) {
        Ok(i) => i,
        Err(e) if e.kind() == io::ErrorKind::NotFound => fasta::fs::index(path).map_err(problem)?,
        Err(e) => return Err(problem(e)),
    };
    let names = index.as_ref().iter().map(|r| r.name().to_vec()).collect();
    let reader = fasta::io::indexed_reader::Builder::default()
        .set_index(index)
        .build_from_path(path)
        .map_err(problem)?;
    let repo = fasta::Repository::new(fasta::repository::adapters::IndexedReader::new(reader));
    Ok((repo, names))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_counts_the_first_reason() {
        let f = ReadFilter::default();
        let mut s = Skipped::default();
        assert!(f.keep(0, &mut s));
        assert!(f.keep(PAIRED | FIRST_SEGMENT | REVERSE, &mut s));
        assert!(f.keep(UNMAPPED, &mut s));
        assert!(!f.keep(0x100, &mut s));
        assert!(!f.keep(0x800 | 0x400, &mut s));
        assert!(!f.keep(0x200 | 0x400, &mut s));
        assert!(!f.keep(0x400, &mut s));
        assert!(!f.keep(PAIRED | 0x80, &mut s));
        assert_eq!(
            s,
            Skipped {
                secondary_supplementary: 2,
                qc_fail: 1,
                duplicate: 1,
                second_mate: 1,
                ..Skipped::default()
            }
        );
        let both = ReadFilter {
            exclude: 0x900,
            both_mates: true,
        };
        assert!(both.keep(PAIRED | 0x80 | 0x400, &mut s));
    }
}
