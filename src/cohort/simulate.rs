//! `genosift simulate`: a synthetic cohort that looks like mammals where it matters for calling sex.
//!
//! # The genome model
//! Each species has its own random reference (GC 41%), built as:
//! - **Autosomes** `chr1…chrA`: background sequence with interspersed repeats — copies of a few
//!   species-wide repeat families (consensus 0.3–6 kb, like SINEs/LINEs/ERVs) at 8–18% divergence
//!   and random orientation, covering about 30% of each chromosome, plus short tandem repeats.
//! - **chrX**: the same construction (its own background), starting with the pseudo-autosomal
//!   region (PAR) and holding "genes": segments that have Y gametologs.
//! - **chrY** (males): the X's PAR copied identically at its start; gametologs, copies of X gene
//!   segments diverged by 8–15% (X–Y pairs that stopped recombining long ago); Y-specific
//!   ampliconic repeats, a Y-only unit copied into near-identical (0.1%) palindromic arrays; and a
//!   satellite array, a short Y-specific unit tandemly repeated at 2% divergence. Y also carries the
//!   genome-wide repeat families, so much of it looks autosomal, as in real genomes.
//!
//! Species differ in their Y share of a male diploid genome: `human`-like ≈ 0.6%, `mouse`-like
//! ≈ 2% (real: human 0.4–0.8%, mouse 1.5–3%).
//!
//! Individuals carry their own SNPs (1 per 1,000 bp per haplotype). Each writes two haplotype FASTAs:
//! females `h1 = autosomes + X`, `h2 = autosomes + X`; males `h1 = autosomes + X`,
//! `h2 = autosomes + Y` — records with the same name in both files are the two copies of one
//! chromosome, as `bcftools consensus -H 1/-H 2` writes them.
//!
//! The test split also holds one individual of each of [`ATYPICAL`] per species (sheet column
//! `karyotype`): X0, XXY and XYY (haplotype files as above with one X fewer or one X or Y more;
//! see [`individual_of`]), an `XX+XY` female whose reads are 10% a male's ([`MALE_ADMIXTURE`]:
//! contamination, a mixed-up sample) and an `XY/X0` male whose Y is lost in half his cells
//! ([`LOSS_OF_Y`]: mosaic loss of Y). Their FASTAs are the germline's (the female's, the male's);
//! only their reads carry the mixture.
//!
//! Reads (test individuals): 150-bp reads with 0.5% substitution errors, and long fragments of
//! 5–20 kb, from either strand, uniformly over the diploid genome. The short reads are also
//! written as a coordinate-sorted, indexed BAM and CRAM against the species' reference (see
//! [`super::aligned`]), as most real reads arrive.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::aligned;
use super::sampler::Kind;
use super::sheet::{Constitution, Sex};
use crate::call::karyotype::Karyotype;
use crate::chunk::reverse_complement;
use crate::input::{read_records, Source};

/// One species' genome geometry (haploid bp, before `--scale`).
#[derive(Debug, Clone)]
pub struct SpeciesSpec {
    pub name: &'static str,
    pub autosomes: usize,
    pub autosome_len: usize,
    pub x_len: usize,
    pub y_len: usize,
    pub par_len: usize,
}

/// The two simulated species.
pub fn species_specs() -> Vec<SpeciesSpec> {
    vec![
        // Male diploid = 2·6·300k + 150k + 24k = 3.774 Mb; Y share 0.64%.
        SpeciesSpec {
            name: "human",
            autosomes: 6,
            autosome_len: 300_000,
            x_len: 150_000,
            y_len: 24_000,
            par_len: 2_500,
        },
        // Male diploid = 2·5·300k + 150k + 70k = 3.22 Mb; Y share 2.2%.
        SpeciesSpec {
            name: "mouse",
            autosomes: 5,
            autosome_len: 300_000,
            x_len: 150_000,
            y_len: 70_000,
            par_len: 1_000,
        },
    ]
}

impl SpeciesSpec {
    pub fn scaled(&self, scale: f64) -> Self {
        let s = |v: usize| ((v as f64 * scale).round() as usize).max(5_000);
        Self {
            autosome_len: s(self.autosome_len),
            x_len: s(self.x_len),
            y_len: s(self.y_len),
            par_len: ((self.par_len as f64 * scale).round() as usize).max(200),
            ..self.clone()
        }
    }

    /// Y share of a male diploid genome.
    pub fn y_share(&self) -> f64 {
        let total = 2 * self.autosomes * self.autosome_len + self.x_len + self.y_len;
        self.y_len as f64 / total as f64
    }
}

const BASES: &[u8; 4] = b"ACGT";

fn random_seq(rng: &mut StdRng, n: usize, gc: f64) -> Vec<u8> {
    (0..n)
        .map(|_| {
            let r: f64 = rng.random();
            if r < gc / 2.0 {
                b'G'
            } else if r < gc {
                b'C'
            } else if r < gc + (1.0 - gc) / 2.0 {
                b'A'
            } else {
                b'T'
            }
        })
        .collect()
}

/// Substitutes each base with probability `rate`.
fn mutate(rng: &mut StdRng, seq: &[u8], rate: f64) -> Vec<u8> {
    let mut out = seq.to_vec();
    substitute(rng, &mut out, rate);
    out
}

/// Replaces each A, C, G or T of `seq` with probability `rate` by one of the other three (one
/// draw per byte, N and separators included, which are left as they are).
pub fn substitute(rng: &mut StdRng, seq: &mut [u8], rate: f64) {
    for b in seq.iter_mut() {
        if rng.random::<f64>() < rate && BASES.contains(b) {
            let mut c = BASES[rng.random_range(0..4)];
            while c == *b {
                c = BASES[rng.random_range(0..4)];
            }
            *b = c;
        }
    }
}

/// Overwrites `seq[at..]` with `insert` (clipped to the end).
fn paste(seq: &mut [u8], at: usize, insert: &[u8]) {
    let end = (at + insert.len()).min(seq.len());
    seq[at..end].copy_from_slice(&insert[..end - at]);
}

struct Families {
    consensus: Vec<Vec<u8>>,
}

impl Families {
    fn new(rng: &mut StdRng) -> Self {
        let lens = [300, 320, 1_000, 2_500, 6_000];
        Self {
            consensus: lens.iter().map(|&n| random_seq(rng, n, 0.45)).collect(),
        }
    }

    /// Sprinkles diverged copies over `seq` until about `cover` of it is repeats.
    fn sprinkle(&self, rng: &mut StdRng, seq: &mut [u8], cover: f64) {
        let mut placed = 0usize;
        let target = (seq.len() as f64 * cover) as usize;
        while placed < target {
            let fam = &self.consensus[rng.random_range(0..self.consensus.len())];
            // Fragments of long families, as most LINE copies are 5'-truncated.
            let start = if fam.len() > 1_000 {
                rng.random_range(0..fam.len() / 2)
            } else {
                0
            };
            let div = rng.random_range(0.08..0.18);
            let mut copy = mutate(rng, &fam[start..], div);
            if rng.random_bool(0.5) {
                copy = reverse_complement(&copy);
            }
            if copy.len() >= seq.len() {
                break;
            }
            let at = rng.random_range(0..seq.len() - copy.len());
            paste(seq, at, &copy);
            placed += copy.len();
        }
        // Short tandem repeats.
        for _ in 0..seq.len() / 20_000 {
            let k = rng.random_range(2..7);
            let unit = random_seq(rng, k, 0.4);
            let n = rng.random_range(10..40);
            let tr: Vec<u8> = unit.iter().cycle().take(unit.len() * n).copied().collect();
            if tr.len() < seq.len() {
                let at = rng.random_range(0..seq.len() - tr.len());
                paste(seq, at, &tr);
            }
        }
    }
}

/// A species' reference chromosomes: autosomes first, then X and Y records (kinds from their names,
/// as the sampler reads them: `chrX…` and `chrY…` are X and Y).
pub struct Reference {
    pub species: String,
    pub chroms: Vec<(String, Vec<u8>)>,
}

impl Reference {
    /// A species from real sequence: every record of `path` (upper-cased, as every input), its kind
    /// from its name (`chrX…`, `chrY…`; anything else an autosome). Autosomes first, then X and Y.
    pub fn from_fasta(species: &str, path: &Path) -> Result<Self> {
        let records = read_records(&Source::Path(path.to_path_buf()))
            .with_context(|| format!("species {species}"))?;
        let mut chroms: Vec<(String, Vec<u8>)> = Vec::new();
        for r in records {
            if chroms.iter().any(|(n, _)| *n == r.name) {
                bail!("{}: record {} appears twice", path.display(), r.name);
            }
            if r.seq.is_empty() {
                bail!("{}: record {} has no sequence", path.display(), r.name);
            }
            chroms.push((r.name, r.seq));
        }
        chroms.sort_by_key(|(name, _)| Kind::of(name) != Kind::Autosome);
        let reference = Self {
            species: species.to_string(),
            chroms,
        };
        for (kind, what) in [
            (Kind::Autosome, "an autosome"),
            (Kind::X, "a chrX…"),
            (Kind::Y, "a chrY…"),
        ] {
            if reference.bp(kind) == 0 {
                bail!("{}: no {what} record (species {species})", path.display());
            }
        }
        Ok(reference)
    }

    /// Sequences of the chromosomes of `kind`, in order.
    pub fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &[u8]> {
        self.chroms
            .iter()
            .filter(move |(name, _)| Kind::of(name) == kind)
            .map(|(_, s)| s.as_slice())
    }

    /// Total bp of the chromosomes of `kind`.
    pub fn bp(&self, kind: Kind) -> usize {
        self.of_kind(kind).map(<[u8]>::len).sum()
    }

    /// Y share of a male diploid genome.
    pub fn y_share(&self) -> f64 {
        let [a, x, y] = [Kind::Autosome, Kind::X, Kind::Y].map(|k| self.bp(k));
        y as f64 / (2 * a + x + y) as f64
    }

    pub fn build(spec: &SpeciesSpec, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let fam = Families::new(&mut rng);
        let autosomes: Vec<Vec<u8>> = (0..spec.autosomes)
            .map(|_| {
                let mut s = random_seq(&mut rng, spec.autosome_len, 0.41);
                fam.sprinkle(&mut rng, &mut s, 0.3);
                s
            })
            .collect();
        let mut x = random_seq(&mut rng, spec.x_len, 0.40);
        fam.sprinkle(&mut rng, &mut x, 0.3);
        // X "genes" (gametolog sources) after the PAR.
        let n_genes = 6;
        let gene_len = (spec.y_len / 12).clamp(500, 5_000);
        let gene_starts: Vec<usize> = (0..n_genes)
            .map(|i| spec.par_len + (i + 1) * (spec.x_len - spec.par_len) / (n_genes + 1))
            .collect();

        // Y: PAR = X's first par_len bp, identical.
        let mut y = random_seq(&mut rng, spec.y_len, 0.39);
        fam.sprinkle(&mut rng, &mut y, 0.25);
        y[..spec.par_len].copy_from_slice(&x[..spec.par_len]);
        let mut at = spec.par_len;
        // Gametologs.
        for &g in &gene_starts {
            let src = &x[g..(g + gene_len).min(x.len())];
            let div = rng.random_range(0.08..0.15);
            let copy = mutate(&mut rng, src, div);
            if at + copy.len() < y.len() {
                paste(&mut y, at, &copy);
                at += copy.len() + rng.random_range(200..1_000);
            }
        }
        // Ampliconic palindromes: a Y-only unit in near-identical inverted pairs.
        let unit = random_seq(&mut rng, (spec.y_len / 16).clamp(400, 6_000), 0.42);
        let free = y.len().saturating_sub(at);
        let n_pal = (free / 4 / (2 * unit.len())).max(1);
        for _ in 0..n_pal {
            let arm = mutate(&mut rng, &unit, 0.001);
            let mut pal = arm.clone();
            pal.extend(reverse_complement(&mutate(&mut rng, &unit, 0.001)));
            if at + pal.len() < y.len() {
                paste(&mut y, at, &pal);
                at += pal.len() + 100;
            }
        }
        // Satellite array: a short Y-specific unit, tandem copies at 2% divergence.
        let sat_unit = random_seq(&mut rng, 171, 0.38);
        let sat_len = (y.len().saturating_sub(at)) / 3;
        let mut sat = Vec::with_capacity(sat_len + 171);
        while sat.len() < sat_len {
            sat.extend(mutate(&mut rng, &sat_unit, 0.02));
        }
        if at + sat.len() <= y.len() {
            paste(&mut y, at, &sat);
        }
        let mut chroms: Vec<(String, Vec<u8>)> = autosomes
            .into_iter()
            .enumerate()
            .map(|(i, s)| (format!("chr{}", i + 1), s))
            .collect();
        chroms.push(("chrX".into(), x));
        chroms.push(("chrY".into(), y));
        Self {
            species: spec.name.to_string(),
            chroms,
        }
    }
}

/// One haplotype's chromosomes: (name, sequence).
pub type Haplotype = Vec<(String, Vec<u8>)>;

/// An individual's two haplotypes: the reference with SNPs (0.1% of bases on each), `h1` the
/// autosomes and X, `h2` the autosomes and Y in a male, X in a female.
pub fn individual(reference: &Reference, male: bool, seed: u64) -> [Haplotype; 2] {
    let karyotype = if male { Karyotype::XY } else { Karyotype::XX };
    individual_of(reference, karyotype, seed)
}

/// An individual of any karyotype: `h1` the autosomes and one X, `h2` the autosomes and the other
/// sex chromosomes (none in X0; copies beyond the first of a kind in one haplotype are named
/// `chrX_2`, `chrY_2`). XX and XY draw exactly as [`individual`] always has.
pub fn individual_of(reference: &Reference, karyotype: Karyotype, seed: u64) -> [Haplotype; 2] {
    let mut rng = StdRng::seed_from_u64(seed);
    let snp = 0.001;
    let (x, y) = karyotype.copies();
    let h2_copies = |kind: Kind| match kind {
        Kind::Autosome => 1,
        Kind::X => x.saturating_sub(1),
        Kind::Y => y,
    };
    let mut hap = |copies: &dyn Fn(Kind) -> u32| -> Haplotype {
        let mut h = Haplotype::new();
        for (name, s) in &reference.chroms {
            for c in 0..copies(Kind::of(name)) {
                let name = if c == 0 {
                    name.clone()
                } else {
                    format!("{name}_{}", c + 1)
                };
                h.push((name, mutate(&mut rng, s, snp)));
            }
        }
        h
    };
    let h1 = hap(&|k| u32::from(k != Kind::Y));
    let h2 = hap(&h2_copies);
    [h1, h2]
}

/// The X0 cells of a mosaic: `haps` without their Y records.
fn without_y(haps: &[Haplotype; 2]) -> [Haplotype; 2] {
    haps.clone().map(|h| {
        h.into_iter()
            .filter(|(n, _)| Kind::of(n) != Kind::Y)
            .collect()
    })
}

fn write_fasta(path: &Path, hap: &Haplotype) -> Result<()> {
    let mut w = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
    );
    for (name, seq) in hap {
        writeln!(w, ">{name}")?;
        for line in seq.chunks(80) {
            w.write_all(line)?;
            w.write_all(b"\n")?;
        }
    }
    w.flush()?;
    Ok(())
}

/// A simulated read and where it came from.
#[derive(Debug, Clone)]
pub struct SampledRead {
    /// The reference chromosome it copies (a haplotype's `chrX_2` is a copy of `chrX`) and the
    /// 0-based start of the fragment on it.
    pub chrom: String,
    pub start: usize,
    /// The read is the fragment's reverse complement.
    pub reverse: bool,
    /// The bases as sequenced (errors included, on the read's strand).
    pub seq: Vec<u8>,
}

/// The reference chromosome a haplotype record copies: `chrX_2` → `chrX` (see [`individual_of`]).
fn copied_chrom(name: &str) -> &str {
    match name.rsplit_once('_') {
        Some((base, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => base,
        _ => name,
    }
}

/// Reads sampled uniformly over a diploid genome (by length), from either strand.
pub fn sample_reads(
    haps: &[Haplotype; 2],
    n: usize,
    len_range: (usize, usize),
    error: f64,
    rng: &mut StdRng,
) -> Vec<SampledRead> {
    let chroms: Vec<&(String, Vec<u8>)> = haps.iter().flat_map(|h| h.iter()).collect();
    let total: usize = chroms.iter().map(|(_, s)| s.len()).sum();
    (0..n)
        .map(|_| {
            let len = rng.random_range(len_range.0..=len_range.1);
            let mut pick = rng.random_range(0..total);
            let mut chrom = chroms[0];
            for c in &chroms {
                if pick < c.1.len() {
                    chrom = c;
                    break;
                }
                pick -= c.1.len();
            }
            let (name, seq) = chrom;
            let len = len.min(seq.len());
            let start = rng.random_range(0..=seq.len() - len);
            let mut r = mutate(rng, &seq[start..start + len], error);
            let reverse = rng.random_bool(0.5);
            if reverse {
                r = reverse_complement(&r);
            }
            SampledRead {
                chrom: copied_chrom(name).to_string(),
                start,
                reverse,
                seq: r,
            }
        })
        .collect()
}

/// Individuals per species and split: (split, females, males).
pub const SPLITS: [(&str, usize, usize); 3] = [("train", 6, 6), ("valid", 3, 3), ("test", 3, 3)];

pub struct SimulateOptions {
    pub out: PathBuf,
    pub seed: u64,
    pub scale: f64,
    /// Short reads per test individual.
    pub short_reads: usize,
    /// Long fragments per test individual.
    pub long_reads: usize,
    /// Species built from real sequence instead of the two random ones: (name, FASTA).
    pub genomes: Vec<(String, PathBuf)>,
}

/// The species' references: the given FASTAs, or the two random genomes.
fn references(opts: &SimulateOptions) -> Result<Vec<Reference>> {
    if !opts.genomes.is_empty() {
        return opts
            .genomes
            .iter()
            .map(|(name, path)| Reference::from_fasta(name, path))
            .collect();
    }
    Ok(species_specs()
        .iter()
        .enumerate()
        .map(|(si, spec)| {
            let spec = spec.scaled(opts.scale);
            Reference::build(&spec, opts.seed.wrapping_mul(1_000).wrapping_add(si as u64))
        })
        .collect())
}

/// Writes the cohort; returns the sample sheet's path.
pub fn simulate(opts: &SimulateOptions) -> Result<PathBuf> {
    let genomes = opts.out.join("genomes");
    let reads = opts.out.join("reads");
    std::fs::create_dir_all(&genomes)
        .with_context(|| format!("cannot create {}", genomes.display()))?;
    std::fs::create_dir_all(&reads)?;
    let mut sheet = String::from("sample\tspecies\tsex\tsplit\tfasta\treads\tkaryotype\n");
    let mut species_tsv =
        String::from("species\tautosomes\tautosome_bp\tx_bp\ty_bp\ty_share_male\n");
    for (si, reference) in references(opts)?.iter().enumerate() {
        species_tsv.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{:.5}\n",
            reference.species,
            reference.of_kind(Kind::Autosome).count(),
            reference.bp(Kind::Autosome),
            reference.bp(Kind::X),
            reference.bp(Kind::Y),
            reference.y_share()
        ));
        write_species(opts, si as u64, reference, &mut sheet)?;
    }
    let sheet_path = opts.out.join("samples.tsv");
    std::fs::write(&sheet_path, sheet)?;
    std::fs::write(opts.out.join("species.tsv"), species_tsv)?;
    Ok(sheet_path)
}

/// Writes one species' individuals (haplotype FASTAs; reads, BAM and CRAM for the test split)
/// and appends their sheet rows: the splits' females and males, then the test split's
/// [`ATYPICAL`] individuals.
fn write_species(
    opts: &SimulateOptions,
    si: u64,
    reference: &Reference,
    sheet: &mut String,
) -> Result<()> {
    let species = Species {
        si,
        reference,
        aligned: aligned::AlignmentReference::write(
            &opts
                .out
                .join(format!("genomes/{}.reference.fa", reference.species)),
            reference,
        )?,
    };
    let mut k = 0u64;
    let mut individuals = Vec::new();
    for (split, females, males) in SPLITS {
        for i in 0..females + males {
            let karyotype = if i >= females {
                Karyotype::XY
            } else {
                Karyotype::XX
            };
            individuals.push((split, Constitution::Karyotype(karyotype)));
        }
    }
    individuals.extend(ATYPICAL.map(|c| ("test", c)));
    for (split, constitution) in individuals {
        k += 1;
        sheet.push_str(&write_individual(opts, &species, k, split, constitution)?);
    }
    Ok(())
}

/// Test individuals beyond XX and XY, one of each per species (issue 18).
pub const ATYPICAL: [Constitution; 5] = [
    Constitution::Karyotype(Karyotype::X0),
    Constitution::Karyotype(Karyotype::Xxy),
    Constitution::Karyotype(Karyotype::Xyy),
    Constitution::MaleAdmixture,
    Constitution::MosaicLossOfY,
];

/// The share of an `XX+XY` sample's reads that come from another individual, a male.
pub const MALE_ADMIXTURE: f64 = 0.10;

/// The share of an `XY/X0` male's cells (and reads) that lost the Y.
pub const LOSS_OF_Y: f64 = 0.5;

/// What every individual of a species is written against.
struct Species<'a> {
    si: u64,
    reference: &'a Reference,
    aligned: aligned::AlignmentReference,
}

/// Writes individual `k`'s haplotypes (and reads, in the test split); returns its sheet row.
fn write_individual(
    opts: &SimulateOptions,
    sp: &Species,
    k: u64,
    split: &str,
    constitution: Constitution,
) -> Result<String> {
    let name = &sp.reference.species;
    let sex = constitution.sex();
    let sample = match constitution {
        Constitution::Karyotype(Karyotype::XX) => format!("{name}_F{k:02}"),
        Constitution::Karyotype(Karyotype::XY) => format!("{name}_M{k:02}"),
        Constitution::Karyotype(karyotype) => format!("{name}_{}_{k:02}", karyotype.as_str()),
        Constitution::MaleAdmixture => format!("{name}_FplusM_{k:02}"),
        Constitution::MosaicLossOfY => format!("{name}_MlossY_{k:02}"),
    };
    let seed = |k: u64| opts.seed ^ ((sp.si * 7919 + k) * 104_729);
    let germline = match constitution {
        Constitution::Karyotype(karyotype) => karyotype,
        Constitution::MaleAdmixture => Karyotype::XX,
        Constitution::MosaicLossOfY => Karyotype::XY,
    };
    let haps = individual_of(sp.reference, germline, seed(k));
    let mut files = Vec::new();
    for (h, hap) in haps.iter().enumerate() {
        let f = format!("genomes/{sample}.h{}.fa", h + 1);
        write_fasta(&opts.out.join(&f), hap)?;
        files.push(f);
    }
    let mut read_file = "NA".to_string();
    if split == "test" {
        // The other cells' (or individual's) genome and their share of the reads.
        let other = match constitution {
            Constitution::MaleAdmixture => Some((
                individual_of(sp.reference, Karyotype::XY, seed(k + 1_000)),
                MALE_ADMIXTURE,
            )),
            Constitution::MosaicLossOfY => Some((without_y(&haps), LOSS_OF_Y)),
            Constitution::Karyotype(_) => None,
        };
        let sources: Vec<(&[Haplotype; 2], f64)> = match &other {
            Some((o, share)) => vec![(&haps, 1.0 - share), (o, *share)],
            None => vec![(&haps, 1.0)],
        };
        let mut rng = StdRng::seed_from_u64(opts.seed ^ (k * 31 + sp.si));
        let short = sample_mixture(&sources, opts.short_reads, (150, 150), 0.005, &mut rng);
        read_file = format!("reads/{sample}.short.fq");
        write_fastq(&opts.out.join(&read_file), &sample, &short)?;
        let sorted = opts.out.join(format!("reads/{sample}.sorted"));
        aligned::write_sorted(&sorted, &sp.aligned, &sample, &short)?;
        let long = sample_mixture(&sources, opts.long_reads, (5_000, 20_000), 0.01, &mut rng);
        let long_file = opts.out.join(format!("reads/{sample}.long.fq"));
        write_fastq(&long_file, &sample, &long)?;
    }
    let sex = if sex == Sex::Male { "male" } else { "female" };
    let fasta = files.join(",");
    let karyotype = constitution.as_str();
    Ok(format!(
        "{sample}\t{name}\t{sex}\t{split}\t{fasta}\t{read_file}\t{karyotype}\n"
    ))
}

/// Reads from several genomes (cells or individuals), `round(n × share)` from each but the first,
/// which gives the rest, in random order. One source draws exactly as [`sample_reads`].
fn sample_mixture(
    sources: &[(&[Haplotype; 2], f64)],
    n: usize,
    len_range: (usize, usize),
    error: f64,
    rng: &mut StdRng,
) -> Vec<SampledRead> {
    let others: Vec<usize> = sources[1..]
        .iter()
        .map(|(_, share)| (n as f64 * share).round() as usize)
        .collect();
    let first = n.saturating_sub(others.iter().sum());
    let mut reads = sample_reads(sources[0].0, first, len_range, error, rng);
    if others.is_empty() {
        return reads;
    }
    for ((haps, _), m) in sources[1..].iter().zip(others) {
        reads.extend(sample_reads(haps, m, len_range, error, rng));
    }
    reads.shuffle(rng);
    reads
}

fn write_fastq(path: &Path, sample: &str, reads: &[SampledRead]) -> Result<()> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    for (i, r) in reads.iter().enumerate() {
        writeln!(w, "@{sample}_r{i}")?;
        w.write_all(&r.seq)?;
        w.write_all(b"\n+\n")?;
        w.write_all(&vec![b'I'; r.seq.len()])?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitute_changes_bases_only_at_its_rate() {
        let mut rng = StdRng::seed_from_u64(7);
        let orig: Vec<u8> = b"ACGT"
            .repeat(5_000)
            .into_iter()
            .chain([b'N'; 100])
            .collect();
        let mut s = orig.clone();
        substitute(&mut rng, &mut s, 0.01);
        let changed = s.iter().zip(&orig).filter(|(a, b)| a != b).count();
        assert!((140..=260).contains(&changed), "{changed} of 20 000 at 1%");
        assert!(s[20_000..].iter().all(|&b| b == b'N'), "N is left alone");
        assert!(s.iter().all(|b| b"ACGTN".contains(b)));
        let mut same = orig.clone();
        substitute(&mut rng, &mut same, 0.0);
        assert_eq!(same, orig);
    }

    #[test]
    fn mixtures_draw_their_shares() {
        let spec = species_specs()[0].scaled(0.05);
        let r = Reference::build(&spec, 4);
        let female = individual_of(&r, Karyotype::XX, 1);
        let male = individual_of(&r, Karyotype::XY, 2);
        let reads = |sources: &[(&[Haplotype; 2], f64)]| {
            sample_mixture(
                sources,
                10_000,
                (50, 50),
                0.0,
                &mut StdRng::seed_from_u64(5),
            )
        };
        // One source draws as sample_reads.
        let alone = reads(&[(&female, 1.0)]);
        let plain = sample_reads(
            &female,
            10_000,
            (50, 50),
            0.0,
            &mut StdRng::seed_from_u64(5),
        );
        assert!(alone
            .iter()
            .zip(&plain)
            .all(|(a, b)| a.seq == b.seq && a.chrom == b.chrom));
        // 10% from the male: 1,000 reads (a 2.6% Y share at this scale: about 26 Y reads),
        // shuffled in.
        let mixed = reads(&[(&female, 0.9), (&male, 0.1)]);
        assert_eq!(mixed.len(), 10_000);
        let y = mixed.iter().filter(|r| r.chrom == "chrY").count();
        assert!((8..60).contains(&y), "{y} Y reads of 1,000 male ones");
        let first_y = mixed.iter().position(|r| r.chrom == "chrY").unwrap();
        assert!(first_y < 9_000, "shuffled: {first_y}");
        // Copies of a chromosome are read as the reference's: XXX's chrX_2 places on chrX.
        let xxx = individual_of(&r, Karyotype::Xxx, 3);
        assert_eq!(xxx[1].last().unwrap().0, "chrX_2");
        let x = sample_reads(&xxx, 3_000, (50, 50), 0.0, &mut StdRng::seed_from_u64(6));
        assert!(x.iter().all(|r| !r.chrom.ends_with("_2")));
    }

    #[test]
    fn y_shares_are_mammal_like() {
        let specs = species_specs();
        let h = specs[0].y_share();
        let m = specs[1].y_share();
        assert!((0.004..=0.008).contains(&h), "human-like {h}");
        assert!((0.015..=0.03).contains(&m), "mouse-like {m}");
    }

    #[test]
    fn y_has_x_par_and_diverged_gametologs() {
        let spec = species_specs()[0].scaled(0.2);
        let r = Reference::build(&spec, 3);
        let (x, y) = (
            r.of_kind(Kind::X).next().unwrap(),
            r.of_kind(Kind::Y).next().unwrap(),
        );
        assert_eq!(x[..spec.par_len], y[..spec.par_len]);
        assert_eq!(y.len(), spec.y_len);
        assert!((r.y_share() - spec.y_share()).abs() < 1e-12);
        let [h1, h2] = individual(&r, true, 9);
        assert_eq!(h1.last().unwrap().0, "chrX");
        assert_eq!(h2.last().unwrap().0, "chrY");
        let [f1, f2] = individual(&r, false, 9);
        assert_eq!(f1.last().unwrap().0, "chrX");
        assert_eq!(f2.last().unwrap().0, "chrX");
        // SNPs: individuals differ from the reference at about 0.1%.
        let d = f1[0]
            .1
            .iter()
            .zip(&r.chroms[0].1)
            .filter(|(a, b)| a != b)
            .count();
        let rate = d as f64 / r.chroms[0].1.len() as f64;
        assert!((0.0005..0.002).contains(&rate), "{rate}");
    }
}
