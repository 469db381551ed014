//! A sorted CRAM's windows: its slices, as the CRAI lists them, weighed by their records (each
//! container header's record count, shared among its slices by their bytes). A slice is
//! decoded whole when first drawn; its used reads, shuffled, wait in a cache of [`CACHED`] slices
//! and each visit takes [`BITE`] of them. A slice pushed out of the cache is decoded again when it
//! is drawn next, its reads shuffled the same way, those already taken skipped.

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::path::Path;

use noodles_cram as cram;
use noodles_fasta as fasta;
use noodles_sam::{self as sam, alignment::Record as _};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::{index_problem, Pool};
use crate::error::InputError;
use crate::input::alignment::{reference_repository, Emitter, Held};
use crate::input::InputOptions;

/// Reads taken from a slice per visit.
const BITE: usize = 32;
/// Decoded slices kept, and the bases they may hold (long-read slices are large).
const CACHED: usize = 32;
const CACHED_BP: usize = 1 << 28;

/// One slice: where it is, its bytes, and how many of its reads were taken.
struct Slice {
    offset: u64,
    landmark: u64,
    taken: usize,
    decoded: bool,
}

/// A sorted CRAM, open for seeking, and its slices.
pub struct CramSlices {
    name: String,
    reader: File,
    header: sam::Header,
    repo: fasta::Repository,
    slices: Vec<Slice>,
    /// Decoded slices' reads not yet taken, oldest first, and their bases.
    cache: VecDeque<(usize, Vec<Held>)>,
    cached_bp: usize,
    seed: u64,
}

impl CramSlices {
    /// Reads the CRAI and lists the slices; returns their weights (bytes).
    pub fn open(
        path: &Path,
        index_path: &Path,
        header: &sam::Header,
        name: &str,
        opts: &InputOptions,
    ) -> Result<(Self, Vec<u64>), InputError> {
        let bad = |what: String| index_problem(name, index_path, &what);
        let crai =
            cram::crai::fs::read(index_path).map_err(|e| bad(format!("not a CRAM index ({e})")))?;
        let refs = header.reference_sequences().len();
        if crai
            .iter()
            .any(|r| r.reference_sequence_id().is_some_and(|id| id >= refs))
        {
            return Err(bad(format!(
                "names reference sequences the CRAM header (with {refs}) does not have: it \
                 belongs to another file"
            )));
        }
        let mut by_slice: BTreeMap<(u64, u64), u64> = BTreeMap::new();
        for r in &crai {
            by_slice.insert((r.offset(), r.landmark()), r.slice_length().max(1));
        }
        let mut reader = File::open(path).map_err(|err| InputError::Open {
            source_name: name.to_string(),
            err,
        })?;
        // Records per container, from its header; its slices share them by their bytes.
        let mut container_bytes: BTreeMap<u64, u64> = BTreeMap::new();
        for (&(offset, _), &bytes) in &by_slice {
            *container_bytes.entry(offset).or_default() += bytes;
        }
        let mut records = BTreeMap::new();
        for &offset in container_bytes.keys() {
            let n = container_records(&mut reader, offset).map_err(|e| {
                bad(format!(
                    "cannot read the container it places at byte {offset} ({e})"
                ))
            })?;
            records.insert(offset, n);
        }
        let (slices, weights) = by_slice
            .into_iter()
            .map(|((offset, landmark), bytes)| {
                let s = Slice {
                    offset,
                    landmark,
                    taken: 0,
                    decoded: false,
                };
                let share =
                    records[&offset] as f64 * bytes as f64 / container_bytes[&offset] as f64;
                (s, share.round().max(1.0) as u64)
            })
            .unzip();
        let (repo, _) = reference_repository(name, opts.reference.as_deref())?;
        let s = Self {
            name: name.to_string(),
            reader,
            header: header.clone(),
            repo,
            slices,
            cache: VecDeque::new(),
            cached_bp: 0,
            seed: opts.seed,
        };
        Ok((s, weights))
    }

    /// Takes slice `w`'s next reads into the pool; returns its weight left (0: done).
    pub fn bite(
        &mut self,
        w: usize,
        weight: u64,
        e: &mut Emitter,
        pool: &mut Pool,
    ) -> Result<u64, InputError> {
        let at = match self.cache.iter().position(|(i, _)| *i == w) {
            Some(at) => at,
            None => {
                let reads = self.decode(w, e)?;
                self.cached_bp += bases(&reads);
                self.cache.push_back((w, reads));
                while self.cache.len() > 1
                    && (self.cache.len() > CACHED || self.cached_bp > CACHED_BP)
                {
                    let (_, old) = self.cache.pop_front().expect("a cached slice");
                    self.cached_bp -= bases(&old);
                }
                self.cache.len() - 1
            }
        };
        let reads = &mut self.cache[at].1;
        let before = reads.len();
        let n = BITE.min(before);
        for r in reads.drain(before - n..) {
            self.cached_bp -= r.bases.len();
            pool.push(r);
        }
        self.slices[w].taken += n;
        let left = reads.len();
        if left == 0 {
            self.cache.remove(at);
            return Ok(0);
        }
        Ok((weight as u128 * left as u128 / before as u128).max(1) as u64)
    }

    /// The used reads of slice `w` not yet taken, in the slice's shuffled order. Skipped records
    /// are counted on the first decoding only.
    fn decode(&mut self, w: usize, e: &mut Emitter) -> Result<Vec<Held>, InputError> {
        let (offset, landmark, again) = {
            let s = &self.slices[w];
            (s.offset, s.landmark, s.decoded)
        };
        let counted = (e.stats, e.record_no);
        let mut reads = self
            .slice_reads(offset, landmark, e)
            .map_err(|err| self.broken(offset, err))??;
        if again {
            (e.stats, e.record_no) = counted;
        }
        self.slices[w].decoded = true;
        let mut rng = StdRng::seed_from_u64(self.seed ^ offset.rotate_left(17) ^ landmark);
        reads.shuffle(&mut rng);
        reads.truncate(reads.len() - self.slices[w].taken.min(reads.len()));
        Ok(reads)
    }

    /// Decodes one slice; the outer error is the file's, the inner a record's.
    fn slice_reads(
        &mut self,
        offset: u64,
        landmark: u64,
        e: &mut Emitter,
    ) -> std::io::Result<Result<Vec<Held>, InputError>> {
        self.reader.seek(SeekFrom::Start(offset))?;
        let mut container = cram::io::reader::Container::default();
        let mut r = cram::io::Reader::new(&mut self.reader);
        if r.read_container(&mut container)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let compression = container.compression_header()?;
        let i = container
            .header()
            .landmarks()
            .iter()
            .position(|&l| l as u64 == landmark)
            .ok_or(std::io::ErrorKind::InvalidData)?;
        let slice = container
            .slices()
            .nth(i)
            .ok_or(std::io::ErrorKind::InvalidData)??;
        let (core, external) = slice.decode_blocks()?;
        let records = slice.records(
            self.repo.clone(),
            &self.header,
            &compression,
            &core,
            &external,
        )?;
        let mut reads = Vec::with_capacity(records.len());
        for rec in &records {
            let flags = rec.flags()?.bits();
            let name = rec.name().map(|n| -> &[u8] { n.as_ref() });
            match e.take(name, flags, |b| b.extend(rec.sequence().iter())) {
                Ok(true) => reads.push(e.held()),
                Ok(false) => {}
                Err(err) => return Ok(Err(err)),
            }
        }
        Ok(Ok(reads))
    }

    fn broken(&self, offset: u64, err: std::io::Error) -> InputError {
        InputError::Format {
            source_name: self.name.clone(),
            what: format!(
                "cannot read the slice the index places at byte {offset}: {err} (does the index \
                 belong to this CRAM? re-index it with `samtools index FILE`)"
            ),
        }
    }
}

fn bases(reads: &[Held]) -> usize {
    reads.iter().map(|r| r.bases.len()).sum()
}

/// The record count in the header of the CRAM 3 container at `offset`: after its length (int32),
/// the ITF8 reference id, start, span, then the record count.
fn container_records(file: &mut File, offset: u64) -> std::io::Result<u64> {
    use std::io::Read;
    file.seek(SeekFrom::Start(offset))?;
    let mut head = [0u8; 4 + 4 * 5];
    let n = file.read(&mut head)?;
    let mut at = 4;
    let mut value = 0;
    for _ in 0..4 {
        (value, at) = itf8(&head[..n], at).ok_or(std::io::ErrorKind::UnexpectedEof)?;
    }
    Ok(u64::from(value))
}

/// One ITF8 integer of `buf` at `at`: the value and where the next one starts.
fn itf8(buf: &[u8], at: usize) -> Option<(u32, usize)> {
    let b0 = u32::from(*buf.get(at)?);
    let extra = (b0 as u8).leading_ones() as usize;
    let bytes = buf.get(at + 1..at + 1 + extra.min(4))?;
    let mut v = match extra {
        0 => b0,
        1..=3 => b0 & (0xff >> (extra + 1)),
        _ => b0 & 0x0f,
    };
    for (i, &b) in bytes.iter().enumerate() {
        v = if extra >= 4 && i == 3 {
            (v << 4) | u32::from(b & 0x0f)
        } else {
            (v << 8) | u32::from(b)
        };
    }
    Some((v, at + 1 + extra.min(4)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn itf8_lengths() {
        assert_eq!(itf8(&[0x7f], 0), Some((127, 1)));
        assert_eq!(itf8(&[0x80, 0xff], 0), Some((255, 2)));
        assert_eq!(itf8(&[0xc0, 0x40, 0x00], 0), Some((0x4000, 3)));
        assert_eq!(itf8(&[0xe0, 0x20, 0x00, 0x00], 0), Some((0x20_0000, 4)));
        assert_eq!(
            itf8(&[0xf0, 0x12, 0x34, 0x56, 0x07], 0),
            Some((0x0123_4567, 5))
        );
        assert_eq!(
            itf8(&[0xff, 0xff, 0xff, 0xff, 0x0f], 0),
            Some((u32::MAX, 5))
        );
        assert_eq!(itf8(&[0x80], 0), None);
    }
}
