//! A CRAM index (CRAI) made with the reference at hand. noodles-cram's own indexer decodes slices
//! that hold several references without a reference and then stops the program; this one decodes
//! every slice with the reference the CRAM was written against.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::path::Path;

use noodles_cram as cram;
use noodles_fasta as fasta;
use noodles_sam::alignment::Record as _;

/// One CRAI record per slice and reference.
pub fn index(path: &Path, repo: &fasta::Repository) -> io::Result<cram::crai::Index> {
    let mut reader = File::open(path).map(cram::io::Reader::new)?;
    let header = reader.read_header()?;
    let mut index = Vec::new();
    let mut container = cram::io::reader::Container::default();
    let mut offset = reader.position()?;
    loop {
        let len = match reader.read_container(&mut container)? {
            0 => break,
            n => n,
        };
        let compression = container.compression_header()?;
        let landmarks = container.header().landmarks().to_vec();
        for (i, slice) in container.slices().enumerate() {
            let slice = slice?;
            let landmark = landmarks[i];
            let slice_len = landmarks.get(i + 1).copied().unwrap_or(len) - landmark;
            let (core, external) = slice.decode_blocks()?;
            let records = slice.records(repo.clone(), &header, &compression, &core, &external)?;
            let mut ranges: BTreeMap<Option<usize>, (usize, usize)> = BTreeMap::new();
            for r in &records {
                let id = r.reference_sequence_id(&header).transpose()?;
                let start = r.alignment_start().transpose()?.map_or(0, usize::from);
                let end = r.alignment_end().transpose()?.map_or(start, usize::from);
                let e = ranges.entry(id).or_insert((start, end));
                e.0 = e.0.min(start);
                e.1 = e.1.max(end);
            }
            let spans = ranges.into_iter().map(|(id, (s, e))| match id {
                Some(_) => (id, s, e + 1 - s),
                None => (None, 0, 0),
            });
            for (id, start, span) in spans {
                index.push(cram::crai::Record::new(
                    id,
                    noodles_core::Position::new(start),
                    span,
                    offset,
                    landmark as u64,
                    slice_len as u64,
                ));
            }
        }
        offset = reader.position()?;
    }
    Ok(index)
}
