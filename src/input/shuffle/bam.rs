//! A sorted BAM's windows: stretches of [`WINDOW_BP`] of each reference (a read belongs to the one
//! holding its start) and the unplaced unmapped reads; weights from its BAI or CSI.

use std::fs::File;
use std::path::Path;

use noodles_bam as bam;
use noodles_bgzf as bgzf;
use noodles_core::{region::Interval, Position};
use noodles_csi::binning_index::index::reference_sequence::bin::Chunk;
use noodles_csi::binning_index::ReferenceSequence as _;
use noodles_csi::{self as csi, BinningIndex};
use noodles_sam as sam;

use super::{index_problem, Pool};
use crate::error::InputError;
use crate::input::alignment::{bgzf_problem, Emitter};

/// Window length: four BAI leaf bins.
pub const WINDOW_BP: u64 = 1 << 16;
/// Reads taken from a window per visit.
const BITE: usize = 16;
/// Uncompressed bytes per compressed byte, to weigh index chunks that span BGZF blocks.
const INFLATION: f64 = 3.0;
/// Records scanned per visit at most (a window of filtered records must not stall a bite).
const SCAN_LIMIT: u64 = 64 * BITE as u64;

/// One window of one reference (or the unplaced reads).
struct Window {
    /// `None`: the unplaced unmapped reads.
    reference: Option<usize>,
    start: u64,
    end: u64,
    /// Where to read on; `None` before the first visit.
    cursor: Option<bgzf::VirtualPosition>,
}

/// A sorted BAM, open for seeking, and its windows.
pub struct BamWindows {
    name: String,
    reader: bam::io::Reader<bgzf::io::Reader<File>>,
    index: bam::Index,
    windows: Vec<Window>,
    /// References in the header.
    references: usize,
}

impl BamWindows {
    /// Reads the index (BAI or CSI, by its magic) and plans the windows; returns their weights.
    pub fn open(
        path: &Path,
        index_path: &Path,
        header: &sam::Header,
        name: &str,
    ) -> Result<(Self, Vec<u64>), InputError> {
        let bad = |what: String| index_problem(name, index_path, &what);
        let magic = std::fs::read(index_path)
            .map(|b| b.get(..4).map(<[u8]>::to_vec).unwrap_or_default())
            .map_err(|e| bad(format!("cannot read: {e}")))?;
        let index = if magic == b"BAI\x01" {
            bam::bai::fs::read(index_path).map(bam::Index::Bai)
        } else {
            csi::fs::read(index_path).map(bam::Index::Csi)
        }
        .map_err(|e| bad(format!("not a BAI or CSI index ({e})")))?;
        let n = BinningIndex::reference_sequences(&index).count();
        if n != header.reference_sequences().len() {
            return Err(bad(format!(
                "has {n} reference sequences and the BAM header {}: it belongs to another file",
                header.reference_sequences().len()
            )));
        }
        let reader =
            File::open(path)
                .map(bam::io::Reader::new)
                .map_err(|err| InputError::Open {
                    source_name: name.to_string(),
                    err,
                })?;
        let (windows, weights) = plan(&index, header);
        let w = Self {
            name: name.to_string(),
            reader,
            index,
            windows,
            references: header.reference_sequences().len(),
        };
        Ok((w, weights))
    }

    /// Takes window `w`'s next reads into the pool; returns its weight left (0: done).
    pub fn bite(
        &mut self,
        w: usize,
        weight: u64,
        e: &mut Emitter,
        pool: &mut Pool,
    ) -> Result<u64, InputError> {
        let cursor = match self.windows[w].cursor {
            Some(c) => c,
            None => match self.first_chunk(w) {
                Some(c) => c,
                None => return Ok(0),
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
        while taken < BITE && scanned < SCAN_LIMIT {
            if self
                .reader
                .read_record(&mut rec)
                .map_err(|err| broken(e, err))?
                == 0
            {
                done = true;
                break;
            }
            e.check_reference(rec.reference_sequence_id(), self.references)?;
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
                    // No position on a placed reference: sorted first, read with window 0.
                    (Some(id), None) if id == r && win.start == 0 => {}
                    (Some(id), None) if id == r => continue,
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
            if e.take(name.as_deref(), rec.flags().bits(), |b| {
                b.extend(seq.iter())
            })? {
                pool.push(e.held());
                taken += 1;
            }
        }
        self.windows[w].cursor = Some(self.reader.get_ref().virtual_position());
        Ok(if done {
            0
        } else {
            weight.saturating_sub(scanned).max(1)
        })
    }

    /// Where a window's reads begin: the first chunk the index gives for it, but not before the
    /// first read that reaches the window's start (the linear index): chunks of large bins can
    /// start far before it.
    fn first_chunk(&self, w: usize) -> Option<bgzf::VirtualPosition> {
        let win = &self.windows[w];
        let r = win.reference?;
        let start = Position::new(win.start as usize + 1)?;
        let end = Position::new(win.end as usize)?;
        let chunks = self.index.query(r, Interval::from(start..=end)).ok()?;
        let first = chunks.iter().map(|c| c.start()).min()?;
        let (min_shift, depth) = (self.index.min_shift(), self.index.depth());
        let reaching = match &self.index {
            bam::Index::Bai(i) => i
                .reference_sequences()
                .get(r)
                .map(|rs| rs.min_offset(min_shift, depth, start)),
            bam::Index::Csi(i) => i
                .reference_sequences()
                .get(r)
                .map(|rs| rs.min_offset(min_shift, depth, start)),
        };
        Some(reaching.map_or(first, |m| first.max(m)))
    }
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
        let metadata = match index {
            bam::Index::Bai(i) => i.reference_sequences().get(r).and_then(|rs| rs.metadata()),
            bam::Index::Csi(i) => i.reference_sequences().get(r).and_then(|rs| rs.metadata()),
        };
        let records = metadata.map(|m| m.mapped_record_count() + m.unmapped_record_count());
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
            weights.push(if *b > 0.0 {
                reads.round().max(1.0) as u64
            } else {
                0
            });
        }
    }
    if let Some(unplaced) = index.unplaced_unmapped_record_count().filter(|&c| c > 0) {
        windows.push(Window {
            reference: None,
            start: 0,
            end: u64::MAX,
            // No placed reads: the unplaced ones start after the header (set in `open`).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bai_bin_spans() {
        // BAI: min_shift 14, depth 5; bin 0 spans 2^29, the first leaf is 4681.
        assert_eq!(bin_span(0, 14, 5), Some((0, 1 << 29)));
        assert_eq!(bin_span(1, 14, 5), Some((0, 1 << 26)));
        assert_eq!(bin_span(4681, 14, 5), Some((0, 1 << 14)));
        assert_eq!(bin_span(4682, 14, 5), Some((1 << 14, 1 << 14)));
        assert_eq!(bin_span(37448, 14, 5), Some(((32768 - 1) << 14, 1 << 14)));
        assert_eq!(bin_span(37449, 14, 5), None);
    }
}
