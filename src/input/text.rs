//! FASTA and FASTQ (plain or gzip/bgzip, as `mod.rs` found them), sniffed from the first byte,
//! parsed with noodles, bases validated and upper-cased.
//!
//! Records stream into a [`RecordSink`] piece by piece: a FASTA record's sequence is handed over a
//! line at a time, so a chromosome-sized record needs no more memory than its line. Accepted bases:
//! the IUPAC nucleotide codes `ACGTNRYSWKMBDHV` in either case (upper-cased; GENA-LM's vocabulary
//! has no lowercase) and `U`, read as `T`. Spaces and tabs inside sequence lines are skipped. Any
//! other byte is an error naming the record, its number and the line.

use std::io::{self, BufRead, BufReader, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use flate2::bufread::MultiGzDecoder;

use super::{clean_bases, describe_byte, InputStats, RecordSink, BUF_SIZE};
use crate::error::InputError;

/// The sequence format found in the first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Fasta,
    Fastq,
    /// No bytes at all (or only whitespace).
    Empty,
}

/// An opened FASTA or FASTQ input.
pub struct TextInput {
    name: String,
    format: Format,
    gzip: bool,
    reader: LineCounter<Box<dyn BufRead + Send>>,
    lines: Arc<AtomicU64>,
}

/// Counts the newlines consumed through it, so errors can name lines.
struct LineCounter<R> {
    inner: R,
    lines: Arc<AtomicU64>,
}

impl<R: BufRead> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = {
            let src = self.inner.fill_buf()?;
            let n = src.len().min(buf.len());
            buf[..n].copy_from_slice(&src[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for LineCounter<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        if let Ok(buf) = self.inner.fill_buf() {
            let n = memchr::memchr_iter(b'\n', &buf[..amt.min(buf.len())]).count();
            self.lines.fetch_add(n as u64, Ordering::Relaxed);
        }
        self.inner.consume(amt);
    }
}

impl TextInput {
    /// Sniffs FASTA or FASTQ in an opened byte stream whose compression `mod.rs` has looked at.
    pub(super) fn from_buffered(
        name: String,
        buffered: BufReader<Box<dyn Read + Send>>,
        gzip: bool,
    ) -> Result<Self, InputError> {
        let io_err = |err: io::Error| InputError::Io {
            source_name: name.clone(),
            line: 1,
            err,
        };
        let fmt_err = |what: String| InputError::Format {
            source_name: name.clone(),
            what,
        };
        let mut reader: Box<dyn BufRead + Send> = if gzip {
            Box::new(BufReader::with_capacity(
                BUF_SIZE,
                MultiGzDecoder::new(buffered),
            ))
        } else {
            Box::new(buffered)
        };
        let first = {
            let head = reader
                .fill_buf()
                .map_err(|e| fmt_err(format!("cannot decompress gzip data: {e}")))?;
            if let Some(hint) = known_not_reads(head, gzip) {
                return Err(fmt_err(hint));
            }
            head.iter().copied().find(|b| !b.is_ascii_whitespace())
        };
        let format = match first {
            None => {
                // Only whitespace in the first buffer: check the rest is whitespace too.
                let mut rest = Vec::new();
                reader
                    .read_to_end(&mut rest)
                    .map_err(|e| fmt_err(format!("read failed: {e}")))?;
                match rest.iter().find(|b| !b.is_ascii_whitespace()) {
                    None => Format::Empty,
                    Some(&b) => {
                        return Err(fmt_err(format!(
                            "not FASTA or FASTQ: expected '>' or '@' at the start, found {}",
                            describe_byte(b)
                        )))
                    }
                }
            }
            Some(b'>') => Format::Fasta,
            Some(b'@') => Format::Fastq,
            Some(b) => {
                let head = reader.fill_buf().unwrap_or(&[]);
                let binary = head
                    .iter()
                    .take(512)
                    .any(|&c| c == 0 || (c < 0x20 && !c.is_ascii_whitespace()));
                let kind = if binary { "binary data" } else { "text" };
                return Err(fmt_err(format!(
                    "not FASTA or FASTQ ({kind}): expected '>' or '@' at the start, found {}",
                    describe_byte(b)
                )));
            }
        };
        // Leading blank lines are not FASTA/FASTQ; noodles would reject them with a vague error.
        if format != Format::Empty {
            let head = reader.fill_buf().map_err(io_err)?;
            if head.first().is_some_and(|b| b.is_ascii_whitespace()) {
                return Err(fmt_err(
                    "input starts with blank space before the first record".into(),
                ));
            }
        }
        let lines = Arc::new(AtomicU64::new(0));
        Ok(Self {
            name,
            format,
            gzip,
            reader: LineCounter {
                inner: reader,
                lines: lines.clone(),
            },
            lines,
        })
    }

    /// Reads every record into `sink`.
    pub fn stream(self, sink: &mut impl RecordSink) -> Result<InputStats, InputError> {
        match self.format {
            Format::Empty => Ok(InputStats::default()),
            Format::Fasta => self.stream_fasta(sink),
            Format::Fastq => self.stream_fastq(sink),
        }
    }

    fn line(&self) -> u64 {
        self.lines.load(Ordering::Relaxed) + 1
    }

    fn io_error(&self, err: io::Error) -> InputError {
        io_error_at(&self.name, self.gzip, self.line(), err)
    }

    fn record_error(&self, record: &str, record_no: u64, line: u64, what: String) -> InputError {
        InputError::Record {
            source_name: self.name.clone(),
            record: record.to_string(),
            record_no,
            line,
            what,
        }
    }

    fn stream_fasta(mut self, sink: &mut impl RecordSink) -> Result<InputStats, InputError> {
        use noodles_fasta::record::Definition;
        let lines = self.lines.clone();
        let name = self.name.clone();
        let gzip = self.gzip;
        let line_now = || lines.load(Ordering::Relaxed) + 1;
        let mut stats = InputStats::default();
        let mut reader = noodles_fasta::io::Reader::new(&mut self.reader);
        let mut def = Definition::default();
        let mut clean = Vec::with_capacity(BUF_SIZE);
        loop {
            let def_line = line_now();
            let n = match reader.read_definition(&mut def) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                    return Err(InputError::Record {
                        source_name: name,
                        record: "?".into(),
                        record_no: stats.records + 1,
                        line: def_line,
                        what: format!("bad FASTA header: {e}"),
                    })
                }
                Err(e) => return Err(io_error_at(&name, gzip, def_line, e)),
            };
            if n == 0 {
                break;
            }
            stats.records += 1;
            let rec_name = String::from_utf8_lossy(def.name()).into_owned();
            if let Some((record, what)) = definition_problem(&def, &rec_name) {
                return Err(InputError::Record {
                    source_name: name,
                    record,
                    record_no: stats.records,
                    line: def_line,
                    what,
                });
            }
            if !sink.start(&rec_name) {
                stats.stopped_early = true;
                return Ok(stats);
            }
            let mut seq = reader.sequence_reader();
            // A long line comes in several buffers: the column counts from the line's start.
            let (mut col_line, mut col) = (0u64, 0usize);
            loop {
                let buf = match seq.fill_buf() {
                    Ok(b) => b,
                    Err(e) => return Err(io_error_at(&name, gzip, line_now(), e)),
                };
                // After fill_buf: it consumes the previous line's newline first.
                let line = line_now();
                if buf.is_empty() {
                    break;
                }
                let len = buf.len();
                if line != col_line {
                    (col_line, col) = (line, 0);
                }
                clean.clear();
                if let Err(at) = clean_bases(buf, &mut clean) {
                    return Err(InputError::Record {
                        source_name: name,
                        record: rec_name,
                        record_no: stats.records,
                        line,
                        what: format!(
                            "invalid base {} at column {} (expected IUPAC nucleotide codes)",
                            describe_byte(buf[at]),
                            col + at + 1
                        ),
                    });
                }
                seq.consume(len);
                col += len;
                stats.bp += clean.len() as u64;
                if !clean.is_empty() && !sink.bases(&clean) {
                    stats.stopped_early = true;
                    return Ok(stats);
                }
            }
            if !sink.end() {
                stats.stopped_early = true;
                return Ok(stats);
            }
        }
        Ok(stats)
    }

    fn stream_fastq(mut self, sink: &mut impl RecordSink) -> Result<InputStats, InputError> {
        let mut stats = InputStats::default();
        let mut record = noodles_fastq::Record::default();
        let mut clean = Vec::new();
        loop {
            // Blank lines between records (and after the last) are fine, as in FASTA.
            loop {
                let skip = match self.reader.fill_buf() {
                    Ok([b'\n', ..]) => 1,
                    Ok([b'\r', b'\n', ..]) => 2,
                    Ok(_) => break,
                    Err(e) => return Err(self.io_error(e)),
                };
                self.reader.consume(skip);
            }
            let line = self.line();
            let read = {
                let mut reader = noodles_fastq::io::Reader::new(&mut self.reader);
                reader.read_record(&mut record)
            };
            let n = match read {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                    return Err(self.record_error(
                        "?",
                        stats.records + 1,
                        line,
                        format!("bad FASTQ record: {e}"),
                    ))
                }
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof && !self.gzip => {
                    return Err(self.record_error(
                        "?",
                        stats.records + 1,
                        line,
                        "incomplete FASTQ record at end of input".into(),
                    ))
                }
                Err(e) => return Err(self.io_error(e)),
            };
            if n == 0 {
                break;
            }
            stats.records += 1;
            let rec_name = String::from_utf8_lossy(record.name()).into_owned();
            if let Some(what) = name_problem(record.name(), "FASTQ") {
                return Err(self.record_error(&printable(&rec_name), stats.records, line, what));
            }
            let seq = record.sequence();
            if record.quality_scores().len() != seq.len() {
                return Err(self.record_error(
                    &rec_name,
                    stats.records,
                    line,
                    format!(
                        "quality length {} differs from sequence length {}",
                        record.quality_scores().len(),
                        seq.len()
                    ),
                ));
            }
            clean.clear();
            if let Err(at) = clean_bases(seq, &mut clean) {
                return Err(self.record_error(
                    &rec_name,
                    stats.records,
                    line + 1,
                    format!(
                        "invalid base {} at column {} (expected IUPAC nucleotide codes)",
                        describe_byte(seq[at]),
                        at + 1
                    ),
                ));
            }
            stats.bp += clean.len() as u64;
            let go =
                sink.start(&rec_name) && (clean.is_empty() || sink.bases(&clean)) && sink.end();
            if !go {
                stats.stopped_early = true;
                break;
            }
        }
        Ok(stats)
    }
}

/// A whole record, for callers that need records entire (embedding tests, genome FASTAs).
fn io_error_at(name: &str, gzip: bool, line: u64, err: io::Error) -> InputError {
    if gzip && err.kind() == io::ErrorKind::UnexpectedEof {
        InputError::Format {
            source_name: name.to_string(),
            what: format!("truncated gzip data (near line {line})"),
        }
    } else if gzip && err.kind() == io::ErrorKind::InvalidInput {
        InputError::Format {
            source_name: name.to_string(),
            what: format!("corrupt gzip data (near line {line}): {err}"),
        }
    } else {
        InputError::Io {
            source_name: name.to_string(),
            line,
            err,
        }
    }
}

/// What is wrong with a FASTA header line, if anything: a carriage return inside it (CR-only line
/// ends), or a bad name; with the record as the message names it.
fn definition_problem(
    def: &noodles_fasta::record::Definition,
    rec_name: &str,
) -> Option<(String, String)> {
    let has_cr = |b: &[u8]| b.contains(&b'\r');
    if has_cr(def.name()) || def.description().is_some_and(|d| has_cr(d)) {
        return Some((
            rec_name.split('\r').next().unwrap_or("").to_string(),
            "carriage return inside a line: CR-only (classic Mac) line ends are not supported; \
             convert them with tr '\\r' '\\n'"
                .into(),
        ));
    }
    name_problem(def.name(), "FASTA").map(|what| (printable(rec_name), what))
}

/// What is wrong with a record name, if anything: empty, or holding a control character (a NUL
/// or other byte below 0x20, or DEL), which would end up in the tables and needle headers.
fn name_problem(name: &[u8], format: &str) -> Option<String> {
    if name.is_empty() {
        return Some(format!("bad {format} header: missing name"));
    }
    name.iter()
        .find(|b| b.is_ascii_control())
        .map(|&b| format!("control character {} in the record name", describe_byte(b)))
}

/// A record name fit for a one-line message: control characters shown as '?'.
fn printable(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// Text that is not reads, recognised from its first bytes (after gzip), with what to do
/// instead: gzip inside gzip, a UTF-8 byte-order mark.
fn known_not_reads(head: &[u8], gzip: bool) -> Option<String> {
    if gzip && head.starts_with(&[0x1f, 0x8b]) {
        Some("gzip data inside gzip data (compressed twice?): decompress it once, e.g. `gzip -dc FILE | genosift predict -m MODEL -`".into())
    } else if head.starts_with(&[0xef, 0xbb, 0xbf]) {
        Some("the input starts with a UTF-8 byte-order mark (bytes EF BB BF, as some Windows editors write); remove it, e.g. `sed '1s/^\\xEF\\xBB\\xBF//' FILE`".into())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Input, RecordCollector};
    use crate::error::InputError;

    fn read(bytes: &'static [u8]) -> Result<Vec<(String, Vec<u8>)>, InputError> {
        let input = Input::from_reader("t".into(), Box::new(bytes))?;
        let mut c = RecordCollector::default();
        input.stream(&mut c)?;
        Ok(c.0.into_iter().map(|r| (r.name, r.seq)).collect())
    }

    #[test]
    fn fasta_multiline_crlf_lowercase() {
        let r = read(b">a desc\r\nacgt\r\nNNry\r\n>b\nu\n").unwrap();
        assert_eq!(r[0], ("a".to_string(), b"ACGTNNRY".to_vec()));
        assert_eq!(r[1], ("b".to_string(), b"T".to_vec()));
    }

    #[test]
    fn fastq_basic() {
        let r = read(b"@r1 x\nACGT\n+\nIIII\n@r2\nnn\n+\n##\n").unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].1, b"NN");
    }

    #[test]
    fn bad_base_names_record_and_line() {
        let e = read(b">a\nACGT\n>b\nAC\nAXG\n").unwrap_err().to_string();
        assert!(
            e.contains("record 'b'") && e.contains("line 5") && e.contains("'X'"),
            "{e}"
        );
        let e = read(b"@r1\nACGT\n+\nIIII\n@r2\nAC1T\n+\nIIII\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("record 'r2'") && e.contains("line 6"), "{e}");
    }

    #[test]
    fn quality_length_mismatch() {
        let e = read(b"@r1\nACGT\n+\nIII\n").unwrap_err().to_string();
        assert!(e.contains("quality length 3"), "{e}");
    }

    #[test]
    fn empty_and_binary() {
        assert!(read(b"").unwrap().is_empty());
        assert!(read(b"\n\n").unwrap().is_empty());
        let e = read(b"\x00\x01\x02garbage").unwrap_err().to_string();
        assert!(e.contains("binary"), "{e}");
        let e = read(b"BZh91AY&SY").unwrap_err().to_string();
        assert!(e.contains("bzip2"), "{e}");
    }

    #[test]
    fn known_wrong_inputs_say_what_to_do() {
        use flate2::write::GzEncoder;
        use std::io::Write;
        let gz = |data: &[u8]| -> Vec<u8> {
            let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(data).unwrap();
            enc.finish().unwrap()
        };
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"\xef\xbb\xbf>a\nACGT\n".to_vec(), "byte-order mark"),
            (b"CRAM\x03\x00rest".to_vec(), "bad CRAM header"),
            (gz(b"BAM\x01\x00\x00\x00\x00"), "bad BAM header"),
            (gz(&gz(b">a\nACGT\n")), "gzip data inside gzip data"),
        ];
        for (bytes, want) in cases {
            let leaked: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            let e = read(leaked).unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
            assert!(!e.contains('\n'), "one line: {e}");
        }
        for (bytes, want) in [
            (
                &b"@\nACGT\n+\nIIII\n"[..],
                "record 1, line 1): bad FASTQ header: missing name",
            ),
            (
                b">a\nAC\n>b\x00c\nGT\n",
                "record 'b?c' (record 2, line 3): control character byte 0x00",
            ),
            (
                b"@r\x1b1\nACGT\n+\nIIII\n",
                "control character byte 0x1b in the record name",
            ),
        ] {
            let e = read(bytes).unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
        }
        // A FASTQ record whose name merely starts like a SAM tag is still FASTQ.
        assert_eq!(read(b"@HDx\nACGT\n+\nIIII\n").unwrap().len(), 1);
    }

    #[test]
    fn gzip_round_trip_and_truncation() {
        use flate2::write::GzEncoder;
        use std::io::Write;
        let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(b">a\nACGT\n").unwrap();
        let mut gz = enc.finish().unwrap();
        // A second member, as bgzip and `cat a.gz b.gz` make.
        let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(b">b\nGG\n").unwrap();
        gz.extend(enc.finish().unwrap());
        let leaked: &'static [u8] = Box::leak(gz.clone().into_boxed_slice());
        let r = read(leaked).unwrap();
        assert_eq!(r.len(), 2);
        let cut: &'static [u8] = Box::leak(gz[..gz.len() / 2 - 3].to_vec().into_boxed_slice());
        let e = read(cut).unwrap_err().to_string();
        assert!(e.contains("gzip"), "{e}");
    }
}
