//! A sorted CRAM's windows: its slices, as the CRAI lists them, weighed by their bytes. A slice is
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
/// Decoded slices kept.
const CACHED: usize = 32;

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
    /// Decoded slices' reads not yet taken, oldest first.
    cache: VecDeque<(usize, Vec<Held>)>,
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
        let (slices, weights) = by_slice
            .into_iter()
            .map(|((offset, landmark), bytes)| {
                let s = Slice {
                    offset,
                    landmark,
                    taken: 0,
                    decoded: false,
                };
                (s, bytes)
            })
            .unzip();
        let (repo, _) = reference_repository(name, opts.reference.as_deref())?;
        let reader = File::open(path).map_err(|err| InputError::Open {
            source_name: name.to_string(),
            err,
        })?;
        let s = Self {
            name: name.to_string(),
            reader,
            header: header.clone(),
            repo,
            slices,
            cache: VecDeque::new(),
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
                self.cache.push_back((w, reads));
                if self.cache.len() > CACHED {
                    self.cache.pop_front();
                }
                self.cache.len() - 1
            }
        };
        let reads = &mut self.cache[at].1;
        let before = reads.len();
        let n = BITE.min(before);
        for r in reads.drain(before - n..) {
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
