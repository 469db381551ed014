//! A sorted BAM's windows: stretches of the file, each holding one reference's reads from about
//! [`WINDOW_BP`] of it — from the first read that reaches the stretch's start (the index's linear
//! offset) to the next window's — and the unplaced unmapped reads at the end. They partition the
//! file, so every read belongs to one window; weights from the BAI's or CSI's record counts per
//! reference, spread over its windows by their bytes.

use std::fs::File;
use std::io::BufRead;
use std::path::Path;

use noodles_bam as bam;
use noodles_bgzf as bgzf;
use noodles_core::Position;
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

/// One window: a stretch of the file.
struct Window {
    /// `None`: the unplaced unmapped reads.
    reference: Option<usize>,
    /// Where to read on, and where the window ends (`None`: the end of the file).
    cursor: bgzf::VirtualPosition,
    end: Option<bgzf::VirtualPosition>,
}

/// A sorted BAM, open for seeking, and its windows.
pub struct BamWindows {
    name: String,
    reader: bam::io::Reader<bgzf::io::Reader<File>>,
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
        let mut reader =
            File::open(path)
                .map(bam::io::Reader::new)
                .map_err(|err| InputError::Open {
                    source_name: name.to_string(),
                    err,
                })?;
        reader
            .read_header()
            .map_err(|e| bad(format!("cannot read the BAM header again: {e}")))?;
        let first_record = reader.get_ref().virtual_position();
        let (windows, weights) = plan(&index, header, first_record).map_err(&bad)?;
        let w = Self {
            name: name.to_string(),
            reader,
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
        let broken = |e: &Emitter, err: std::io::Error| InputError::Format {
            source_name: self.name.clone(),
            what: format!(
                "after record {}: {} (does the index belong to this BAM? re-index it with \
                 `samtools index FILE`)",
                e.record_no,
                bgzf_problem(&err)
            ),
        };
        let (reference, cursor, end) = {
            let win = &self.windows[w];
            (win.reference, win.cursor, win.end)
        };
        self.reader
            .get_mut()
            .seek(cursor)
            .map_err(|err| broken(e, err))?;
        let (mut taken, mut scanned, mut done) = (0, 0u64, false);
        let mut rec = bam::Record::default();
        while taken < BITE && scanned < SCAN_LIMIT {
            // Load the next block when this one is used up, so that the position compares with
            // an index offset written either way (end of a block, or start of the next).
            self.reader
                .get_mut()
                .fill_buf()
                .map_err(|err| broken(e, err))?;
            if end.is_some_and(|end| self.reader.get_ref().virtual_position() >= end) {
                done = true;
                break;
            }
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
            let id = rec.reference_sequence_id().transpose().ok().flatten();
            match reference {
                // Inside a reference's stretch every read is its own; past it, the window ends.
                Some(r) if id != Some(r) => {
                    done = true;
                    break;
                }
                // The unplaced window starts at the last placed bin: skip what is placed.
                None if id.is_some() => continue,
                _ => {}
            }
            scanned += 1;
            let name = rec.name().map(|n| -> &[u8] { n.as_ref() });
            let seq = rec.sequence();
            if e.take(name, rec.flags().bits(), |b| b.extend(seq.iter()))? {
                pool.push(e.held());
                taken += 1;
            }
        }
        self.windows[w].cursor = self.reader.get_ref().virtual_position();
        Ok(if done {
            0
        } else {
            weight.saturating_sub(scanned).max(1)
        })
    }
}

/// The windows and their estimated reads, from the index alone; `first_record` is where the
/// unplaced reads start when no read is placed.
fn plan(
    index: &bam::Index,
    header: &sam::Header,
    first_record: bgzf::VirtualPosition,
) -> Result<(Vec<Window>, Vec<u64>), String> {
    let (min_shift, depth) = (index.min_shift(), index.depth());
    let mut windows = Vec::new();
    let mut weights = Vec::new();
    // Where the placed reads end: the unplaced ones follow.
    let mut placed_end: Option<bgzf::VirtualPosition> = None;
    for (r, (_, rs)) in header.reference_sequences().iter().enumerate() {
        let n = (rs.length().get() as u64).div_ceil(WINDOW_BP) as usize;
        let spans = match index {
            bam::Index::Bai(i) => stretches(i.reference_sequences().get(r), min_shift, depth, n),
            bam::Index::Csi(i) => stretches(i.reference_sequences().get(r), min_shift, depth, n),
        }
        .map_err(|()| {
            format!("has bins but no record counts for reference #{r} (an old indexer?)")
        })?;
        let Some((starts, end, records)) = spans else {
            continue;
        };
        placed_end = placed_end.max(Some(end));
        let ends: Vec<_> = starts.iter().skip(1).copied().chain([end]).collect();
        let bytes: Vec<f64> = starts
            .iter()
            .zip(&ends)
            .map(|(&s, &e)| span_bytes(s, e))
            .collect();
        let total: f64 = bytes.iter().sum();
        for ((&start, &stop), &b) in starts.iter().zip(&ends).zip(&bytes) {
            windows.push(Window {
                reference: Some(r),
                cursor: start,
                end: Some(stop),
            });
            let reads = records as f64 * b / total.max(1.0);
            weights.push(if stop > start {
                reads.round().max(1.0) as u64
            } else {
                0
            });
        }
    }
    if let Some(unplaced) = index.unplaced_unmapped_record_count().filter(|&c| c > 0) {
        windows.push(Window {
            reference: None,
            cursor: placed_end
                .or(index.last_first_record_start_position())
                .unwrap_or(first_record),
            end: None,
        });
        weights.push(unplaced);
    }
    Ok((windows, weights))
}

/// One reference's `n` window starts in the file (the linear offset of each window's first
/// position, never going back), the end of its reads, and their count; `None` without reads,
/// `Err` with bins but no record counts.
#[allow(clippy::type_complexity)]
fn stretches<I>(
    rs: Option<&csi::binning_index::index::ReferenceSequence<I>>,
    min_shift: u8,
    depth: u8,
    n: usize,
) -> Result<Option<(Vec<bgzf::VirtualPosition>, bgzf::VirtualPosition, u64)>, ()>
where
    I: csi::binning_index::index::reference_sequence::Index,
{
    let Some(rs) = rs else { return Ok(None) };
    let Some(m) = rs.metadata() else {
        return if rs.bins().is_empty() {
            Ok(None)
        } else {
            Err(())
        };
    };
    let records = m.mapped_record_count() + m.unmapped_record_count();
    if records == 0 {
        return Ok(None);
    }
    let (first, end) = (m.start_position(), m.end_position());
    let mut running = first;
    let mut starts = Vec::with_capacity(n);
    for w in 0..n {
        let at = Position::new(w * WINDOW_BP as usize + 1).expect("a position above 0");
        running = running.max(rs.min_offset(min_shift, depth, at)).min(end);
        starts.push(running);
    }
    Ok(Some((starts, end, records)))
}

/// Bytes between two positions of the file, uncompressed (estimated across blocks).
fn span_bytes(s: bgzf::VirtualPosition, e: bgzf::VirtualPosition) -> f64 {
    if e <= s {
        return 0.0;
    }
    let compressed = e.compressed().saturating_sub(s.compressed()) as f64;
    (compressed * INFLATION + e.uncompressed() as f64 - s.uncompressed() as f64).max(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn span_bytes_within_and_across_blocks() {
        let vp = |c: u64, u: u16| bgzf::VirtualPosition::new(c, u).unwrap();
        assert_eq!(span_bytes(vp(100, 10), vp(100, 110)), 100.0);
        assert_eq!(span_bytes(vp(100, 10), vp(100, 10)), 0.0);
        assert_eq!(span_bytes(vp(200, 0), vp(100, 10)), 0.0);
        // Across blocks: compressed bytes inflated, the offsets inside the blocks taken off;
        // never below one byte.
        assert_eq!(
            span_bytes(vp(100, 100), vp(300, 0)),
            200.0 * INFLATION - 100.0
        );
        assert_eq!(span_bytes(vp(100, 60_000), vp(101, 0)), 1.0);
    }
}
