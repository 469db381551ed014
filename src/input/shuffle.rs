//! A coordinate-sorted BAM read in a seeded random order through its index, so that reading can
//! stop early (`--stop-when-confident`, `--max-groups`) on a uniform sample of its reads.
//!
//! The references are cut into windows of [`WINDOW_BP`]; each read belongs to the window holding
//! its start (the unplaced unmapped reads at the end of the file form one more window), so a read
//! is used at most once. A window's share of the reads is estimated from the index: the index's
//! exact record count per reference (mapped and unmapped), spread over the reference's windows in
//! proportion to the bytes its bins point at. Each step draws a window with probability
//! proportional to its remaining reads and takes the next [`BITE`] reads from where it stopped
//! (one seek, one or two BGZF blocks). Bites go into a pool of up to [`POOL_READS`] reads, out of
//! which reads are handed on in random order, so that the reads packed into one chunk come from
//! different places, as they do from a sequencer. A seed gives the same order on every run.
//!
//! A sorted file that cannot be read this way (no index, stdin, SAM, CRAM) is refused when
//! reading may stop early: the first reads would all be chr1's.

use std::fs::File;
use std::path::{Path, PathBuf};

use noodles_bam as bam;
use noodles_bgzf as bgzf;
use noodles_core::{region::Interval, Position};
use noodles_csi::binning_index::index::reference_sequence::bin::Chunk;
use noodles_csi::{self as csi, BinningIndex};
use noodles_sam as sam;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::alignment::{bgzf_problem, Emitter, Format, Held};
use super::{InputOptions, RecordSink, Source};
use crate::error::InputError;

/// Window length: four BAI leaf bins.
const WINDOW_BP: u64 = 1 << 16;
/// Reads taken from a window per visit.
const BITE: usize = 16;
/// Reads (and bases) pooled before handing one on at random.
const POOL_READS: usize = 16_384;
const POOL_BP: usize = 1 << 26;
/// Uncompressed bytes per compressed byte, to weigh index chunks that span BGZF blocks.
const INFLATION: f64 = 3.0;
/// Records scanned per visit at most (a window of filtered records must not stall a bite).
const SCAN_LIMIT: usize = 64 * BITE;

/// One window of one reference (or the unplaced reads).
struct Window {
    /// `None`: the unplaced unmapped reads.
    reference: Option<usize>,
    start: u64,
    end: u64,
    /// Where to read on; `None` before the first visit.
    cursor: Option<bgzf::VirtualPosition>,
}

/// The random-order reader.
pub struct Shuffled {
    name: String,
    reader: bam::io::Reader<bgzf::io::Reader<File>>,
    index: bam::Index,
    windows: Vec<Window>,
    weights: Fenwick,
    rng: StdRng,
    pool: Vec<Held>,
    pool_bp: usize,
}

/// Decides how a coordinate-sorted input that may stop early is read: through its index, or
/// refused with what to do.
pub(super) fn open(
    source: &Source,
    name: &str,
    format: Format,
    header: &sam::Header,
    opts: &InputOptions,
) -> Result<Shuffled, InputError> {
    let refuse = |why: &str, fix: &str| InputError::Format {
        source_name: name.to_string(),
        what: format!(
            "sorted by coordinate (SO:coordinate) and {why}: --stop-when-confident and \
             --max-groups need reads in random order (a sorted file gives chr1 first and chrY \
             last, so an early stop can be confidently wrong); {fix}, or drop those flags to \
             read it all"
        ),
    };
    let path = match source {
        Source::Stdin => {
            return Err(refuse(
                "read from stdin, which cannot be read in random order",
                "pass the BAM itself with its index, or shuffle it first \
                 (`samtools collate -u -O FILE | genosift predict … -`)",
            ))
        }
        Source::Path(p) => p,
    };
    if format != Format::Bam {
        return Err(refuse(
            &format!("{} is read in file order only", format.as_str()),
            "convert it to an indexed BAM (`samtools view -b -o x.bam FILE && samtools index \
             x.bam`), or shuffle it (`samtools collate -u -O FILE`)",
        ));
    }
    let index = read_index(path, opts.index.as_deref(), name).map_err(|e| match e {
        IndexProblem::Missing => refuse(
            "has no index (.bai or .csi beside it, or --index)",
            "index it (`samtools index FILE`) and genosift reads it in random order",
        ),
        IndexProblem::Bad(e) => e,
    })?;
    check_index(path, opts.index.as_deref(), &index, header, name)?;
    let reader = File::open(path)
        .map(bam::io::Reader::new)
        .map_err(|err| InputError::Open {
            source_name: name.to_string(),
            err,
        })?;
    let (windows, weights) = plan(&index, header);
    Ok(Shuffled {
        name: name.to_string(),
        reader,
        index,
        windows,
        weights: Fenwick::new(&weights),
        rng: StdRng::seed_from_u64(opts.seed),
        pool: Vec::new(),
        pool_bp: 0,
    })
}

enum IndexProblem {
    Missing,
    Bad(InputError),
}

/// `--index`, or `FILE.bai`, `FILE.csi`, or `FILE` with `.bam` replaced by `.bai`.
fn index_path(bam: &Path, given: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = given {
        return Some(p.to_path_buf());
    }
    let mut candidates = vec![
        bam.with_added_extension("bai"),
        bam.with_added_extension("csi"),
    ];
    if bam.extension().is_some_and(|e| e == "bam") {
        candidates.push(bam.with_extension("bai"));
    }
    candidates.into_iter().find(|p| p.exists())
}

fn read_index(bam: &Path, given: Option<&Path>, name: &str) -> Result<bam::Index, IndexProblem> {
    let path = index_path(bam, given).ok_or(IndexProblem::Missing)?;
    let bad = |e: std::io::Error| {
        IndexProblem::Bad(InputError::Format {
            source_name: name.to_string(),
            what: format!("index {}: not a BAI or CSI index: {e}", path.display()),
        })
    };
    let head = std::fs::read(&path)
        .map(|b| b.into_iter().take(4).collect::<Vec<u8>>())
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                IndexProblem::Missing
            } else {
                bad(e)
            }
        })?;
    if head == b"BAI\x01" {
        bam::bai::fs::read(&path).map(bam::Index::Bai).map_err(bad)
    } else {
        csi::fs::read(&path).map(bam::Index::Csi).map_err(bad)
    }
}

/// An index older than its BAM, or with another number of references, describes another file.
fn check_index(
    bam: &Path,
    given: Option<&Path>,
    index: &bam::Index,
    header: &sam::Header,
    name: &str,
) -> Result<(), InputError> {
    let path = index_path(bam, given).unwrap_or_default();
    let bad = |what: String| InputError::Format {
        source_name: name.to_string(),
        what: format!("index {}: {what}; re-index it (`samtools index FILE`)", path.display()),
    };
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if let (Some(b), Some(i)) = (modified(bam), modified(&path)) {
        if i < b {
            return Err(bad("is older than the BAM, so it may describe an earlier file".into()));
        }
    }
    let n = index.reference_sequences().count();
    if n != header.reference_sequences().len() {
        return Err(bad(format!(
            "has {n} reference sequences and the BAM header {}: it belongs to another file",
            header.reference_sequences().len()
        )));
    }
    Ok(())
}

/// The windows and their estimated reads, from the index alone.
fn plan(index: &bam::Index, header: &sam::Header) -> (Vec<Window>, Vec<u64>) {
    let (min_shift, depth) = (index.min_shift(), index.depth());
    let mut windows = Vec::new();
    let mut weights = Vec::new();
    for (r, (_, rs)) in header.reference_sequences().iter().enumerate() {
        let len = rs.length().get() as u64;
        let n = len.div_ceil(WINDOW_BP) as usize;
        let bytes = match index {
            bam::Index::Bai(i) => window_bytes(i.reference_sequences().get(r), min_shift, depth, n),
            bam::Index::Csi(i) => window_bytes(i.reference_sequences().get(r), min_shift, depth, n),
        };
        let records = BinningIndex::reference_sequences(index)
            .nth(r)
            .and_then(|rs| rs.metadata())
            .map(|m| m.mapped_record_count() + m.unmapped_record_count());
        let total_bytes: f64 = bytes.iter().sum();
        for (w, b) in bytes.iter().enumerate() {
            let reads = match records {
                Some(c) if total_bytes > 0.0 => c as f64 * b / total_bytes,
                _ => b / BYTES_PER_READ,
            };
            windows.push(Window {
                reference: Some(r),
                start: w as u64 * WINDOW_BP,
                end: ((w as u64 + 1) * WINDOW_BP).min(len),
                cursor: None,
            });
            weights.push(if *b > 0.0 { reads.round().max(1.0) as u64 } else { 0 });
        }
    }
    if let Some(unplaced) = index.unplaced_unmapped_record_count().filter(|&c| c > 0) {
        windows.push(Window {
            reference: None,
            start: 0,
            end: u64::MAX,
            cursor: index.last_first_record_start_position(),
        });
        weights.push(unplaced);
    }
    (windows, weights)
}

/// Without the index's record counts, a read's share of the bytes.
const BYTES_PER_READ: f64 = 300.0;

/// Bytes each window's reads take, from the bins of one reference: a bin's chunks spread over
/// the windows its span covers.
fn window_bytes<I>(
    rs: Option<&csi::binning_index::index::ReferenceSequence<I>>,
    min_shift: u8,
    depth: u8,
    n: usize,
) -> Vec<f64>
where
    I: csi::binning_index::index::reference_sequence::Index,
{
    let mut bytes = vec![0.0; n];
    let Some(rs) = rs else { return bytes };
    for (&id, bin) in rs.bins() {
        let Some((start, span)) = bin_span(id, min_shift, depth) else {
            continue;
        };
        let size: f64 = bin.chunks().iter().map(chunk_bytes).sum();
        let first = (start / WINDOW_BP) as usize;
        let last = ((start + span - 1) / WINDOW_BP) as usize;
        if first >= n {
            continue;
        }
        let last = last.min(n - 1);
        let share = size / (last - first + 1) as f64;
        for b in &mut bytes[first..=last] {
            *b += share;
        }
    }
    bytes
}

/// A bin's first position (0-based) and length.
fn bin_span(id: usize, min_shift: u8, depth: u8) -> Option<(u64, u64)> {
    let mut first = 0usize;
    for level in 0..=depth as u32 {
        let count = 1usize << (3 * level);
        if id < first + count {
            let span = 1u64 << (min_shift as u32 + 3 * (depth as u32 - level));
            return Some(((id - first) as u64 * span, span));
        }
        first += count;
    }
    None
}

fn chunk_bytes(c: &Chunk) -> f64 {
    let (s, e) = (c.start(), c.end());
    let compressed = e.compressed().saturating_sub(s.compressed()) as f64;
    (compressed * INFLATION + e.uncompressed() as f64 - s.uncompressed() as f64).max(1.0)
}

impl Shuffled {
    /// Hands the reads on in random order until they run out or the sink asks to stop.
    pub(super) fn stream(
        mut self: Box<Self>,
        e: &mut Emitter,
        sink: &mut impl RecordSink,
    ) -> Result<(), InputError> {
        loop {
            while self.pool.len() < POOL_READS
                && self.pool_bp < POOL_BP
                && self.weights.total() > 0
            {
                self.bite(e)?;
            }
            if self.pool.is_empty() {
                return Ok(());
            }
            let r = self.pool.swap_remove(self.rng.random_range(0..self.pool.len()));
            self.pool_bp -= r.bases.len();
            if !e.send(&r.name, &r.bases, r.unmapped, sink) {
                return Ok(());
            }
        }
    }

    /// Draws a window and takes its next reads into the pool.
    fn bite(&mut self, e: &mut Emitter) -> Result<(), InputError> {
        let w = self.weights.find(self.rng.random_range(0..self.weights.total()));
        let cursor = match self.windows[w].cursor {
            Some(c) => c,
            None => match self.first_chunk(w) {
                Some(c) => c,
                None => {
                    self.weights.set(w, 0);
                    return Ok(());
                }
            },
        };
        let broken = |e: &Emitter, err: std::io::Error| InputError::Format {
            source_name: self.name.clone(),
            what: format!(
                "after record {}: {} (does the index belong to this BAM? re-index it with \
                 `samtools index FILE`)",
                e.record_no,
                bgzf_problem(&err)
            ),
        };
        self.reader
            .get_mut()
            .seek(cursor)
            .map_err(|err| broken(e, err))?;
        let win = &self.windows[w];
        let (mut taken, mut scanned, mut done) = (0, 0u64, false);
        let mut rec = bam::Record::default();
        while taken < BITE && scanned < SCAN_LIMIT as u64 {
            if self.reader.read_record(&mut rec).map_err(|err| broken(e, err))? == 0 {
                done = true;
                break;
            }
            let reference = rec.reference_sequence_id().transpose().ok().flatten();
            let start = rec
                .alignment_start()
                .transpose()
                .ok()
                .flatten()
                .map(|p| p.get() as u64 - 1);
            match win.reference {
                Some(r) => match (reference, start) {
                    (Some(id), Some(s)) if id == r && s < win.start => continue,
                    (Some(id), Some(s)) if id == r && s < win.end => {}
                    (Some(id), _) if id < r => continue,
                    _ => {
                        done = true;
                        break;
                    }
                },
                None if reference.is_some() => continue,
                None => {}
            }
            scanned += 1;
            let name = rec.name().map(|n| n.to_vec());
            let seq = rec.sequence();
            if e.take(name.as_deref(), rec.flags().bits(), |b| b.extend(seq.iter()))? {
                let held = e.held();
                self.pool_bp += held.bases.len();
                self.pool.push(held);
                taken += 1;
            }
        }
        self.windows[w].cursor = Some(self.reader.get_ref().virtual_position());
        let left = self.weights.get(w).saturating_sub(scanned);
        self.weights.set(w, if done { 0 } else { left.max(1) });
        Ok(())
    }

    /// Where a window's reads begin: the first chunk the index gives for it.
    fn first_chunk(&self, w: usize) -> Option<bgzf::VirtualPosition> {
        let win = &self.windows[w];
        let r = win.reference?;
        let start = Position::new(win.start as usize + 1)?;
        let end = Position::new(win.end as usize)?;
        let chunks = self
            .index
            .query(r, Interval::from(start..=end))
            .ok()?;
        chunks.iter().map(|c| c.start()).min()
    }
}

/// Integer weights with O(log n) prefix sums, updates and draws.
struct Fenwick {
    tree: Vec<u64>,
    values: Vec<u64>,
}

impl Fenwick {
    fn new(values: &[u64]) -> Self {
        let mut f = Fenwick {
            tree: vec![0; values.len() + 1],
            values: vec![0; values.len()],
        };
        for (i, &v) in values.iter().enumerate() {
            f.set(i, v);
        }
        f
    }

    fn get(&self, i: usize) -> u64 {
        self.values[i]
    }

    fn set(&mut self, i: usize, v: u64) {
        let old = self.values[i];
        self.values[i] = v;
        let mut j = i + 1;
        while j < self.tree.len() {
            self.tree[j] = self.tree[j].wrapping_add(v).wrapping_sub(old);
            j += j & j.wrapping_neg();
        }
    }

    fn total(&self) -> u64 {
        let mut j = self.values.len();
        let mut s = 0u64;
        while j > 0 {
            s = s.wrapping_add(self.tree[j]);
            j -= j & j.wrapping_neg();
        }
        s
    }

    /// The index whose cumulative range holds `u` (< total).
    fn find(&self, mut u: u64) -> usize {
        let mut pos = 0;
        let mut step = self.tree.len().next_power_of_two();
        while step > 0 {
            let next = pos + step;
            if next < self.tree.len() && self.tree[next] <= u {
                u -= self.tree[next];
                pos = next;
            }
            step >>= 1;
        }
        pos
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fenwick_draws_by_weight() {
        let mut f = Fenwick::new(&[3, 0, 2, 5]);
        assert_eq!(f.total(), 10);
        let picks: Vec<usize> = (0..10).map(|u| f.find(u)).collect();
        assert_eq!(picks, [0, 0, 0, 2, 2, 3, 3, 3, 3, 3]);
        f.set(3, 0);
        assert_eq!(f.total(), 5);
        assert_eq!(f.find(4), 2);
    }

    #[test]
    fn bai_bin_spans() {
        // BAI: min_shift 14, depth 5; bin 0 spans 2^29, the first leaf is 4681.
        assert_eq!(bin_span(0, 14, 5), Some((0, 1 << 29)));
        assert_eq!(bin_span(1, 14, 5), Some((0, 1 << 26)));
        assert_eq!(bin_span(4681, 14, 5), Some((0, 1 << 14)));
        assert_eq!(bin_span(4682, 14, 5), Some((1 << 14, 1 << 14)));
        assert_eq!(bin_span(37449, 14, 5), Some(((32768 - 1) << 14, 1 << 14)));
        assert_eq!(bin_span(37450, 14, 5), None);
    }
}
