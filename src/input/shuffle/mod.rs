//! A coordinate-sorted BAM or CRAM read in a seeded random order through its index, so that reading
//! can stop early (`--stop-when-confident`, `--max-groups`) on a uniform sample of its reads.
//!
//! The file is cut into windows, each read belonging to one (so a read is used at most once): for a
//! BAM, stretches of the file holding about [`bam::WINDOW_BP`] of one reference each (from the
//! index's linear offsets), plus the unplaced unmapped reads at the end; for a CRAM, its slices, as
//! the CRAI lists them. A window's share of the reads is estimated from the index (for a BAM, the
//! index's exact record count per reference spread over the reference's windows by their bytes;
//! for a CRAM, each container's record count shared among its slices by their bytes).
//! Each step draws a window with probability proportional to its remaining reads and takes its next
//! reads (a BAM: one seek, one or two BGZF blocks; a CRAM: the slice, decoded once and kept while
//! there is room). Bites go into a pool of up to [`POOL_READS`] reads, out of which reads are
//! handed on in random order, so that the reads packed into one chunk come from different places,
//! as they do from a sequencer. A seed gives the same order on every run.
//!
//! A sorted file that cannot be read this way (no index, stdin, SAM) is refused when reading may
//! stop early: its first reads would all be chr1's.

mod bam;
mod cram;

use std::path::{Path, PathBuf};

use noodles_sam as sam;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::alignment::{Emitter, Format, Held};
use super::{InputOptions, RecordSink, Source};
use crate::error::InputError;

/// Reads (and bases) pooled before handing one on at random.
const POOL_READS: usize = 16_384;
const POOL_BP: usize = 1 << 26;

/// The reads waiting for their turn.
#[derive(Default)]
struct Pool {
    reads: Vec<Held>,
    bp: usize,
}

impl Pool {
    fn push(&mut self, r: Held) {
        self.bp += r.bases.len();
        self.reads.push(r);
    }

    fn full(&self) -> bool {
        self.reads.len() >= POOL_READS || self.bp >= POOL_BP
    }
}

/// The windows of one file and how to take reads from them.
enum Windows {
    Bam(bam::BamWindows),
    Cram(Box<cram::CramSlices>),
}

/// The random-order reader.
pub struct Shuffled {
    windows: Windows,
    weights: Fenwick,
    rng: StdRng,
    pool: Pool,
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
                "pass the file itself with its index, or shuffle it first \
                 (`samtools collate -u -O FILE | genosift predict … -`)",
            ))
        }
        Source::Path(p) => p,
    };
    let ext = match format {
        Format::Bam => ["bai", "csi"],
        Format::Cram => ["crai", ""],
        Format::Sam { .. } => {
            return Err(refuse(
                "SAM is read in file order only",
                "convert it to an indexed BAM (`samtools view -b -o x.bam FILE && samtools \
                 index x.bam`), or shuffle it (`samtools collate -u -O FILE`)",
            ))
        }
    };
    let Some(index) = index_path(path, opts.index.as_deref(), ext) else {
        return Err(refuse(
            &format!(
                "has no index (.{} beside it, or --index)",
                ext.join(" or .")
            ),
            "index it (`samtools index FILE`) and genosift reads it in random order",
        ));
    };
    let is_older = |p: &Path| modified(p) < modified(path);
    if is_older(&index) {
        return Err(index_problem(
            name,
            &index,
            "is older than the file it indexes, so it may describe an earlier one (if it is \
             current and only its file time is old, as after a copy, `touch` it)",
        ));
    }
    let (windows, weights) = match format {
        Format::Bam => {
            let (w, weights) = bam::BamWindows::open(path, &index, header, name)?;
            (Windows::Bam(w), weights)
        }
        _ => {
            let (w, weights) = cram::CramSlices::open(path, &index, header, name, opts)?;
            (Windows::Cram(Box::new(w)), weights)
        }
    };
    Ok(Shuffled {
        windows,
        weights: Fenwick::new(&weights),
        rng: StdRng::seed_from_u64(opts.seed),
        pool: Pool::default(),
    })
}

fn modified(p: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// A problem with an index, as one line with the fix.
fn index_problem(name: &str, index: &Path, what: &str) -> InputError {
    InputError::Format {
        source_name: name.to_string(),
        what: format!(
            "index {}: {what}; re-index it (`samtools index FILE`)",
            index.display()
        ),
    }
}

/// `--index`, or `FILE.EXT` for each of `exts`, or `FILE` with its extension replaced.
fn index_path(file: &Path, given: Option<&Path>, exts: [&str; 2]) -> Option<PathBuf> {
    if let Some(p) = given {
        return Some(p.to_path_buf());
    }
    let mut candidates: Vec<PathBuf> = exts
        .iter()
        .filter(|e| !e.is_empty())
        .map(|e| file.with_added_extension(e))
        .collect();
    candidates.push(file.with_extension(exts[0]));
    candidates.into_iter().find(|p| p.exists())
}

impl Shuffled {
    /// Hands the reads on in random order until they run out or the sink asks to stop.
    pub(super) fn stream(
        mut self: Box<Self>,
        e: &mut Emitter,
        sink: &mut impl RecordSink,
    ) -> Result<(), InputError> {
        loop {
            while !self.pool.full() && self.weights.total() > 0 {
                let w = self
                    .weights
                    .find(self.rng.random_range(0..self.weights.total()));
                let weight = self.weights.get(w);
                let left = match &mut self.windows {
                    Windows::Bam(b) => b.bite(w, weight, e, &mut self.pool)?,
                    Windows::Cram(c) => c.bite(w, weight, e, &mut self.pool)?,
                };
                self.weights.set(w, left);
            }
            if self.pool.reads.is_empty() {
                return Ok(());
            }
            let i = self.rng.random_range(0..self.pool.reads.len());
            let r = self.pool.reads.swap_remove(i);
            self.pool.bp -= r.bases.len();
            if !e.send(&r.name, &r.bases, r.unmapped, sink) {
                return Ok(());
            }
        }
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
}
