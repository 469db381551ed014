//! The paper's sampler (GENA-LM.md §3.3): species uniformly, a genome uniformly within it, N
//! chromosomes drawn with replacement weighted by length (ploidy-aware), an L-bp substring of each.
//!
//! Ploidy: a genome given as several FASTA files (haplotypes) counts each record once, so a diploid
//! set weights every copy by its own length. A genome given as one file is a haploid set, as the
//! paper's mouse strains: autosomes count twice, X twice in females and once in males, Y once.
//!
//! Read-like mode (`reads = Some(len)`): each chunk packs independent `len`-bp substrings, each from
//! a chromosome drawn by weight and from either strand, joined by 10 N as `predict` joins reads.

use std::collections::HashSet;

use anyhow::{bail, Context, Result};
use rand::rngs::StdRng;
use rand::Rng;

use super::kmer::{canonical_kmer, canonical_kmers, K};
use super::sheet::{SampleRow, Sex, Split};
use crate::chunk::SEPARATOR_LEN;
use crate::input::{read_records, Source};

/// What a chromosome is, for labels and ablations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Autosome,
    X,
    Y,
}

impl Kind {
    pub fn of(name: &str) -> Self {
        let n = name.strip_prefix("chr").unwrap_or(name);
        let n = n.split(['_', '.']).next().unwrap_or(n);
        match n {
            "X" | "x" => Kind::X,
            "Y" | "y" => Kind::Y,
            _ if name.contains("chrY") => Kind::Y,
            _ if name.contains("chrX") => Kind::X,
            _ => Kind::Autosome,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Chrom {
    pub name: String,
    pub kind: Kind,
    pub seq: Vec<u8>,
    /// Sampling weight: length × copies.
    pub weight: f64,
}

#[derive(Debug, Clone)]
pub struct Genome {
    pub sample: String,
    pub species: String,
    pub sex: Sex,
    pub split: Split,
    pub chroms: Vec<Chrom>,
    /// Canonical 32-mers of the X, for genomes with a Y: a Y piece whose k-mers are in the X is
    /// X–Y shared sequence (the pseudoautosomal regions), not male-specific.
    x_kmers: Option<HashSet<u64>>,
}

impl Genome {
    /// Loads a sheet row's FASTA file(s).
    pub fn load(row: &SampleRow) -> Result<Self> {
        let haploid = row.fasta.len() == 1;
        let mut chroms = Vec::new();
        for f in &row.fasta {
            let recs = read_records(&Source::Path(f.clone()))
                .with_context(|| format!("sample {} (sheet line {})", row.sample, row.line))?;
            for r in recs {
                let kind = Kind::of(&r.name);
                let copies = match (haploid, kind, row.sex) {
                    (false, _, _) => 1.0,
                    (true, Kind::Autosome, _) => 2.0,
                    (true, Kind::X, Sex::Female) => 2.0,
                    (true, Kind::X, Sex::Male) | (true, Kind::Y, _) => 1.0,
                };
                let weight = r.seq.len() as f64 * copies;
                chroms.push(Chrom {
                    name: r.name,
                    kind,
                    seq: r.seq,
                    weight,
                });
            }
        }
        if chroms.iter().all(|c| c.seq.is_empty()) {
            bail!(
                "sample {} (sheet line {}): no sequence in its FASTA",
                row.sample,
                row.line
            );
        }
        Ok(Self::from_chroms(
            &row.sample,
            &row.species,
            row.sex,
            row.split,
            chroms,
        ))
    }

    /// A genome of these chromosomes (the X's k-mers indexed when it has a Y).
    pub fn from_chroms(
        sample: &str,
        species: &str,
        sex: Sex,
        split: Split,
        chroms: Vec<Chrom>,
    ) -> Self {
        let x_kmers = chroms.iter().any(|c| c.kind == Kind::Y).then(|| {
            chroms
                .iter()
                .filter(|c| c.kind == Kind::X)
                .flat_map(|c| canonical_kmers(&c.seq).map(|(_, k)| k))
                .collect()
        });
        Self {
            sample: sample.to_string(),
            species: species.to_string(),
            sex,
            split,
            chroms,
            x_kmers,
        }
    }

    /// Whether a piece of this genome's Y is male-specific: fewer than two of its first, middle
    /// and last 32-mers occur in the X (the PARs are identical to the X up to SNPs; gametologs,
    /// 8–15% diverged, share few 32-mers).
    pub fn y_specific(&self, piece: &[u8]) -> bool {
        let Some(x) = &self.x_kmers else {
            return true;
        };
        if piece.len() < K {
            return true;
        }
        let last = piece.len() - K;
        let shared = [0, last / 2, last]
            .iter()
            .filter(|&&at| canonical_kmer(&piece[at..at + K]).is_some_and(|k| x.contains(&k)))
            .count();
        shared < 2
    }

    pub fn has_y(&self) -> bool {
        self.chroms
            .iter()
            .any(|c| c.kind == Kind::Y && c.weight > 0.0)
    }
}

/// Weight changes for ablations: `factor` multiplies the weight of chromosomes of `kind`.
#[derive(Debug, Clone, Copy)]
pub struct Reweight {
    pub kind: Kind,
    pub factor: f64,
}

/// One sampled chunk and where it came from.
#[derive(Debug, Clone)]
pub struct SampledChunk {
    pub seq: Vec<u8>,
    /// Kind of the chromosome (of the first piece, in read mode).
    pub kind: Kind,
    /// Whether any piece came from the male-specific Y (Y sequence not shared with the X: the
    /// PARs, which females carry too, do not count).
    pub has_y: bool,
    /// Whether any piece came from an X.
    pub has_x: bool,
}

/// Cumulative weights of a genome's chromosomes, after reweighting.
pub fn cumulative(genome: &Genome, reweight: &[Reweight]) -> Vec<f64> {
    let mut acc = 0.0;
    genome
        .chroms
        .iter()
        .map(|c| {
            let f: f64 = reweight
                .iter()
                .filter(|r| r.kind == c.kind)
                .map(|r| r.factor)
                .product();
            acc += c.weight * f;
            acc
        })
        .collect()
}

/// Draws a chromosome index by weight.
pub fn draw_chrom(cum: &[f64], rng: &mut StdRng) -> usize {
    let total = *cum.last().expect("chromosomes");
    let x = rng.random::<f64>() * total;
    cum.partition_point(|&c| c <= x).min(cum.len() - 1)
}

fn substring(seq: &[u8], len: usize, rng: &mut StdRng) -> Vec<u8> {
    if seq.len() <= len {
        return seq.to_vec();
    }
    let start = rng.random_range(0..=seq.len() - len);
    seq[start..start + len].to_vec()
}

/// Samples one group of `n` chunks of `len` bp from `genome`.
pub fn sample_group(
    genome: &Genome,
    cum: &[f64],
    n: usize,
    len: usize,
    reads: Option<usize>,
    rng: &mut StdRng,
) -> Vec<SampledChunk> {
    (0..n)
        .map(|_| sample_chunk(genome, cum, len, reads, None, rng))
        .collect()
}

/// Samples a group in which each chunk of a genome with a Y holds, with probability `y_rate`, a
/// piece drawn from the Y (one of its reads in read mode, the whole chunk otherwise). `y_rate` 0 is
/// the paper's sampler and draws nothing extra from `rng`. The Y-enriched training of
/// `train --y-boost`: it shows the per-chunk Y classifier many more positives per step.
pub fn sample_group_boosted(
    genome: &Genome,
    cum: &[f64],
    n: usize,
    len: usize,
    reads: Option<usize>,
    y_rate: f64,
    rng: &mut StdRng,
) -> Vec<SampledChunk> {
    let y_cum = (y_rate > 0.0 && genome.has_y()).then(|| y_only(genome, cum));
    (0..n)
        .map(|_| {
            let force = match &y_cum {
                Some(yc) if rng.random_bool(y_rate.min(1.0)) => Some(yc.as_slice()),
                _ => None,
            };
            sample_chunk(genome, cum, len, reads, force, rng)
        })
        .collect()
}

/// Cumulative weights with every chromosome but the Y at weight 0.
fn y_only(genome: &Genome, cum: &[f64]) -> Vec<f64> {
    let mut acc = 0.0;
    let mut prev = 0.0;
    genome
        .chroms
        .iter()
        .zip(cum)
        .map(|(c, &x)| {
            if c.kind == Kind::Y {
                acc += x - prev;
            }
            prev = x;
            acc
        })
        .collect()
}

/// One chunk; `first_from` (cumulative weights) draws the chromosome of one piece: the whole
/// chunk, or in read mode one read slot chosen at random.
fn sample_chunk(
    genome: &Genome,
    cum: &[f64],
    len: usize,
    reads: Option<usize>,
    first_from: Option<&[f64]>,
    rng: &mut StdRng,
) -> SampledChunk {
    let pick = |forced: bool, rng: &mut StdRng| {
        let from = if forced {
            first_from.unwrap_or(cum)
        } else {
            cum
        };
        &genome.chroms[draw_chrom(from, rng)]
    };
    match reads {
        None => {
            let c = pick(true, rng);
            let seq = substring(&c.seq, len, rng);
            SampledChunk {
                has_y: c.kind == Kind::Y && genome.y_specific(&seq),
                has_x: c.kind == Kind::X,
                seq,
                kind: c.kind,
            }
        }
        Some(read_len) => {
            let mut seq = Vec::with_capacity(len);
            let mut first = None;
            let (mut has_y, mut has_x) = (false, false);
            // The forced piece goes to a random one of the chunk's read slots, so that a model
            // cannot learn where in a chunk to look.
            let slots = ((len + SEPARATOR_LEN) / (read_len + SEPARATOR_LEN)).max(1);
            let forced_slot = match first_from {
                Some(_) => rng.random_range(0..slots),
                None => usize::MAX,
            };
            let mut slot = 0;
            while seq.len() + read_len <= len || seq.is_empty() {
                if !seq.is_empty() {
                    seq.extend(std::iter::repeat_n(b'N', SEPARATOR_LEN));
                }
                let c = pick(slot == forced_slot, rng);
                slot += 1;
                first.get_or_insert(c.kind);
                let mut r = substring(&c.seq, read_len, rng);
                has_y |= c.kind == Kind::Y && genome.y_specific(&r);
                has_x |= c.kind == Kind::X;
                if rng.random_bool(0.5) {
                    r = crate::chunk::reverse_complement(&r);
                }
                let room = len - seq.len();
                r.truncate(room);
                seq.extend_from_slice(&r);
                if seq.len() + SEPARATOR_LEN + 1 > len {
                    break;
                }
            }
            SampledChunk {
                seq,
                kind: first.unwrap_or(Kind::Autosome),
                has_y,
                has_x,
            }
        }
    }
}

/// Sequencing errors: substitutes the chunks' bases at `rate` (no draw from `rng` when it is 0).
pub fn add_errors(chunks: &mut [SampledChunk], rate: f64, rng: &mut StdRng) {
    if rate > 0.0 {
        for c in chunks {
            crate::cohort::simulate::substitute(rng, &mut c.seq, rate);
        }
    }
}

/// Samples a group, redrawing until it holds a Y chunk when `force_y` and the genome has a Y
/// (validation groups of males, as in the paper).
pub fn sample_group_forced(
    genome: &Genome,
    cum: &[f64],
    n: usize,
    len: usize,
    reads: Option<usize>,
    force_y: bool,
    rng: &mut StdRng,
) -> Vec<SampledChunk> {
    loop {
        let g = sample_group(genome, cum, n, len, reads, rng);
        if !force_y || !genome.has_y() || g.iter().any(|c| c.has_y) {
            return g;
        }
    }
}

/// Loads every genome of the sheet (all splits), in sheet order.
pub fn load_genomes(rows: &[SampleRow]) -> Result<Vec<Genome>> {
    rows.iter().map(Genome::load).collect()
}

/// Groups genomes of one split by species: `(species, genomes)` in name order.
pub fn by_species(genomes: &[Genome], split: Split) -> Vec<(String, Vec<&Genome>)> {
    let mut map: std::collections::BTreeMap<String, Vec<&Genome>> = Default::default();
    for g in genomes.iter().filter(|g| g.split == split) {
        map.entry(g.species.clone()).or_default().push(g);
    }
    map.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn genome(sex: Sex, haploid: bool) -> Genome {
        let mk = |name: &str, len: usize, copies: f64| Chrom {
            name: name.into(),
            kind: Kind::of(name),
            seq: vec![b'A'; len],
            weight: len as f64 * copies,
        };
        let a = if haploid { 2.0 } else { 1.0 };
        let mut chroms = vec![
            mk("chr1", 6000, a),
            mk("chr2", 3000, a),
            mk("chrX", 4000, 1.0),
        ];
        if sex == Sex::Male {
            chroms.push(mk("chrY", 1000, 1.0));
        }
        Genome {
            sample: "s".into(),
            species: "h".into(),
            sex,
            split: Split::Train,
            chroms,
            x_kmers: None,
        }
    }

    #[test]
    fn chromosome_frequencies_follow_length_weights() {
        let g = genome(Sex::Male, true);
        let cum = cumulative(&g, &[]);
        let total = *cum.last().unwrap();
        let mut rng = StdRng::seed_from_u64(7);
        let n = 200_000;
        let mut counts = vec![0usize; g.chroms.len()];
        for _ in 0..n {
            counts[draw_chrom(&cum, &mut rng)] += 1;
        }
        // Expected: chr1 12000, chr2 6000, chrX 4000, chrY 1000 of 23000. Tolerance: 4 binomial
        // standard deviations (< 1e-4 chance of a false failure per chromosome).
        for (c, &k) in g.chroms.iter().zip(&counts) {
            let p = c.weight / total;
            let sd = (n as f64 * p * (1.0 - p)).sqrt();
            let diff = (k as f64 - n as f64 * p).abs();
            assert!(diff < 4.0 * sd, "{}: {k} vs {}", c.name, n as f64 * p);
        }
    }

    #[test]
    fn ablation_removes_y() {
        let g = genome(Sex::Male, false);
        let cum = cumulative(
            &g,
            &[Reweight {
                kind: Kind::Y,
                factor: 0.0,
            }],
        );
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..2000 {
            assert_ne!(g.chroms[draw_chrom(&cum, &mut rng)].kind, Kind::Y);
        }
    }

    #[test]
    fn forced_validation_groups_hold_a_y_chunk() {
        let g = genome(Sex::Male, false);
        let cum = cumulative(&g, &[]);
        let mut rng = StdRng::seed_from_u64(3);
        for _ in 0..200 {
            let grp = sample_group_forced(&g, &cum, 4, 500, None, true, &mut rng);
            assert_eq!(grp.len(), 4);
            assert!(grp.iter().any(|c| c.kind == Kind::Y));
            assert!(grp.iter().all(|c| c.seq.len() == 500));
        }
        let f = genome(Sex::Female, false);
        let cum = cumulative(&f, &[]);
        let grp = sample_group_forced(&f, &cum, 4, 500, None, true, &mut rng);
        assert!(grp.iter().all(|c| c.kind != Kind::Y));
    }

    #[test]
    fn y_boost_enriches_y_chunks_in_males_only() {
        let m = genome(Sex::Male, false);
        let cum = cumulative(&m, &[]);
        let mut rng = StdRng::seed_from_u64(5);
        let n = 4000;
        let count = |g: &[SampledChunk]| g.iter().filter(|c| c.has_y).count();
        let plain = count(&sample_group(&m, &cum, n, 100, None, &mut rng));
        let boosted = count(&sample_group_boosted(&m, &cum, n, 100, None, 0.5, &mut rng));
        // Natural Y share 1000/14000 = 7.1%; boosted 0.5 + 0.5 × 7.1% = 53.6%. 4-SD tolerances.
        for (k, p) in [
            (plain, 1000.0 / 14000.0),
            (boosted, 0.5 + 0.5 * 1000.0 / 14000.0),
        ] {
            let sd = (n as f64 * p * (1.0 - p)).sqrt();
            assert!(
                (k as f64 - n as f64 * p).abs() < 4.0 * sd,
                "{k} vs {}",
                n as f64 * p
            );
        }
        let f = genome(Sex::Female, false);
        let cum = cumulative(&f, &[]);
        assert_eq!(
            count(&sample_group_boosted(
                &f,
                &cum,
                n,
                100,
                Some(30),
                0.5,
                &mut rng
            )),
            0
        );
    }

    #[test]
    fn par_pieces_are_not_male_specific() {
        let mut rng = StdRng::seed_from_u64(9);
        let x: Vec<u8> = (0..2000).map(|_| b"ACGT"[rng.random_range(0..4)]).collect();
        let own: Vec<u8> = (0..2000).map(|_| b"ACGT"[rng.random_range(0..4)]).collect();
        // Y = the X's first 500 bp (a PAR) then Y-only sequence.
        let y: Vec<u8> = x[..500].iter().chain(&own[500..]).copied().collect();
        let mut g = genome(Sex::Male, false);
        g.chroms[2].seq = x.clone();
        g.chroms[3].seq = y.clone();
        g.x_kmers = Some(
            x.windows(K)
                .filter_map(canonical_kmer)
                .collect::<HashSet<u64>>(),
        );
        assert!(!g.y_specific(&y[100..250]), "PAR");
        assert!(
            !g.y_specific(&crate::chunk::reverse_complement(&y[100..250])),
            "PAR, other strand"
        );
        assert!(g.y_specific(&y[1000..1150]), "Y-only");
    }

    #[test]
    fn read_mode_packs_reads_with_separators() {
        let g = genome(Sex::Female, false);
        let cum = cumulative(&g, &[]);
        let mut rng = StdRng::seed_from_u64(3);
        let grp = sample_group(&g, &cum, 2, 500, Some(150), &mut rng);
        for c in grp {
            assert!(c.seq.len() <= 500);
            // 150 + 10 + 150 + 10 + 150 = 470; a 4th read would not fit.
            assert_eq!(c.seq.len(), 470);
        }
        assert_eq!(Kind::of("h1_chrX"), Kind::X);
        assert_eq!(Kind::of("chrY_with_SNPs"), Kind::Y);
        assert_eq!(Kind::of("chr10"), Kind::Autosome);
    }
}
