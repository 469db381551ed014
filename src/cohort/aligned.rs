//! `simulate`'s short reads as an aligner and `samtools sort` would leave them: a
//! coordinate-sorted BAM with its BAI, and a CRAM with its CRAI, against the species' reference
//! (`genomes/SPECIES.reference.fa`, with its `.fai`). No aligner is needed: a read is placed where
//! it was drawn (the individuals differ from the reference by substitutions only), on the strand
//! it came from. The reference holds only the first half of chrY ([`Y_KEPT`]), so reads from the
//! rest are unmapped and unplaced, at the end of the file, as reads from the unassembled part of a
//! real chrY are.

use std::fs::File;
use std::io::BufWriter;
use std::num::NonZero;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use noodles_bam as bam;
use noodles_core::Position;
use noodles_cram as cram;
use noodles_fasta as fasta;
use noodles_sam::alignment::io::Write as _;
use noodles_sam::alignment::record::cigar::{op::Kind, Op};
use noodles_sam::alignment::record::{Flags, MappingQuality};
use noodles_sam::alignment::record_buf::{QualityScores, Sequence};
use noodles_sam::alignment::RecordBuf;
use noodles_sam::header::record::value::map::header::{sort_order, tag::SORT_ORDER};
use noodles_sam::header::record::value::map::{Header, ReferenceSequence};
use noodles_sam::header::record::value::Map;
use noodles_sam::{self as sam};

use super::sampler::Kind as ChromKind;
use super::simulate::{Reference, SampledRead};
use crate::chunk::reverse_complement;

/// The share of each chrY record the alignment reference keeps (from its start, the PAR included).
pub const Y_KEPT: f64 = 0.5;

/// A species' alignment reference: its chromosomes as the BAM header lists them.
pub struct AlignmentReference {
    records: Vec<fasta::Record>,
    header: sam::Header,
}

impl AlignmentReference {
    /// Writes the reference FASTA (and its `.fai`) and keeps it for the writers.
    pub fn write(path: &Path, reference: &Reference) -> Result<Self> {
        let chroms: Vec<(String, &[u8])> = reference
            .chroms
            .iter()
            .map(|(name, s)| {
                let kept = match ChromKind::of(name) {
                    ChromKind::Y => (s.len() as f64 * Y_KEPT) as usize,
                    _ => s.len(),
                };
                (name.clone(), &s[..kept])
            })
            .collect();
        let mut text = Vec::new();
        for (name, seq) in &chroms {
            text.extend_from_slice(format!(">{name}\n").as_bytes());
            for line in seq.chunks(80) {
                text.extend_from_slice(line);
                text.push(b'\n');
            }
        }
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
        let fai = fasta::fs::index(path)?;
        fasta::fai::fs::write(path.with_added_extension("fai"), &fai)?;
        let records = chroms
            .iter()
            .map(|(name, seq)| {
                fasta::Record::new(
                    fasta::record::Definition::new(name.as_str(), None),
                    fasta::record::Sequence::from(seq.to_vec()),
                )
            })
            .collect();
        let mut header = Map::<Header>::default();
        header
            .other_fields_mut()
            .insert(SORT_ORDER, sort_order::COORDINATE.into());
        let mut builder = sam::Header::builder().set_header(header);
        for (name, seq) in &chroms {
            let len = NonZero::new(seq.len()).context("an empty chromosome")?;
            builder =
                builder.add_reference_sequence(name.as_str(), Map::<ReferenceSequence>::new(len));
        }
        Ok(Self {
            records,
            header: builder.build(),
        })
    }

    /// The index of `chrom` in the header and whether a read from `start` (length `len`) fits on
    /// it.
    fn place(&self, chrom: &str, start: usize, len: usize) -> Option<usize> {
        let (i, _, rs) = self
            .header
            .reference_sequences()
            .get_full(chrom.as_bytes())?;
        (start + len <= rs.length().get()).then_some(i)
    }
}

/// Writes `STEM.bam` (+ `.bai`) and `STEM.cram` (+ `.crai`) of `reads`, sorted by position,
/// the unplaced reads last.
pub fn write_sorted(
    stem: &Path,
    reference: &AlignmentReference,
    sample: &str,
    reads: &[SampledRead],
) -> Result<()> {
    let records = sorted_records(reference, sample, reads)?;
    let header = &reference.header;
    let bam_path = stem.with_added_extension("bam");
    let mut w = bam::io::Writer::new(BufWriter::new(create(&bam_path)?));
    w.write_alignment_header(header)?;
    for r in &records {
        w.write_alignment_record(header, r)?;
    }
    w.try_finish()?;
    drop(w);
    match bam::fs::index(&bam_path)? {
        bam::Index::Bai(index) => {
            bam::bai::fs::write(bam_path.with_added_extension("bai"), &index)?
        }
        bam::Index::Csi(index) => {
            noodles_csi::fs::write(bam_path.with_added_extension("csi"), &index)?
        }
    }

    let cram_path: PathBuf = stem.with_added_extension("cram");
    let repo = fasta::Repository::new(reference.records.clone());
    let mut w = cram::io::writer::Builder::default()
        .set_reference_sequence_repository(repo)
        .build_from_writer(BufWriter::new(create(&cram_path)?));
    w.write_alignment_header(header)?;
    for r in &records {
        w.write_alignment_record(header, r)?;
    }
    w.try_finish(header)?;
    drop(w);
    let repo = fasta::Repository::new(reference.records.clone());
    let crai = crate::input::crai::index(&cram_path, &repo)?;
    cram::crai::fs::write(cram_path.with_added_extension("crai"), &crai)?;
    Ok(())
}

fn create(path: &Path) -> Result<File> {
    File::create(path).with_context(|| format!("cannot create {}", path.display()))
}

/// Each read as an alignment record, in coordinate order.
fn sorted_records(
    reference: &AlignmentReference,
    sample: &str,
    reads: &[SampledRead],
) -> Result<Vec<RecordBuf>> {
    let mut placed: Vec<(usize, usize, RecordBuf)> = Vec::new();
    let mut unplaced = Vec::new();
    for (i, r) in reads.iter().enumerate() {
        let name = format!("{sample}_r{i}");
        let quals = QualityScores::from(vec![40u8; r.seq.len()]);
        match reference.place(&r.chrom, r.start, r.seq.len()) {
            Some(id) => {
                // SAM stores the reference strand: a reverse read is stored reverse-complemented.
                let seq = if r.reverse {
                    reverse_complement(&r.seq)
                } else {
                    r.seq.clone()
                };
                let flags = if r.reverse {
                    Flags::REVERSE_COMPLEMENTED
                } else {
                    Flags::empty()
                };
                let rec = RecordBuf::builder()
                    .set_name(name.as_str())
                    .set_flags(flags)
                    .set_reference_sequence_id(id)
                    .set_alignment_start(Position::new(r.start + 1).context("position 0")?)
                    .set_mapping_quality(MappingQuality::new(60).context("MAPQ")?)
                    .set_cigar([Op::new(Kind::Match, seq.len())].into_iter().collect())
                    .set_sequence(Sequence::from(seq))
                    .set_quality_scores(quals)
                    .build();
                placed.push((id, r.start, rec));
            }
            None => unplaced.push(
                RecordBuf::builder()
                    .set_name(name.as_str())
                    .set_flags(Flags::UNMAPPED)
                    .set_sequence(Sequence::from(r.seq.clone()))
                    .set_quality_scores(quals)
                    .build(),
            ),
        }
    }
    placed.sort_by_key(|(id, start, _)| (*id, *start));
    Ok(placed
        .into_iter()
        .map(|(_, _, r)| r)
        .chain(unplaced)
        .collect())
}
