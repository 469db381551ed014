//! The paper's sampler (GENA-LM.md §3.3): species uniformly, a genome uniformly within it, N
//! chromosomes drawn with replacement weighted by length (ploidy-aware), an L-bp substring of each.
//!
//! Ploidy: a genome given as several FASTA files (haplotypes) counts each record once, so a diploid
//! set weights every copy by its own length. A genome given as one file is a haploid set, as the
//! paper's mouse strains: autosomes count twice, X twice in females and once in males, Y once.
//!
//! Read-like mode (`reads = Some(len)`): each chunk packs independent `len`-bp substrings, each from
//! a chromosome drawn by weight and from either strand, joined by 10 N as `predict` joins reads.

use anyhow::{bail, Context, Result};
use rand::rngs::StdRng;
use rand::Rng;

use super::sheet::{SampleRow, Sex, Split};
use crate::chunk::SEPARATOR_LEN;
use crate::io::input::{read_records, Source};

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
        Ok(Self {
            sample: row.sample.clone(),
            species: row.species.clone(),
            sex: row.sex,
            split: row.split,
            chroms,
        })
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
    /// Whether any piece came from the Y.
    pub has_y: bool,
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
        .map(|_| match reads {
            None => {
                let c = &genome.chroms[draw_chrom(cum, rng)];
                SampledChunk {
                    seq: substring(&c.seq, len, rng),
                    kind: c.kind,
                    has_y: c.kind == Kind::Y,
                }
            }
            Some(read_len) => {
                let mut seq = Vec::with_capacity(len);
                let mut first = None;
                let mut has_y = false;
                while seq.len() + read_len <= len || seq.is_empty() {
                    if !seq.is_empty() {
                        seq.extend(std::iter::repeat_n(b'N', SEPARATOR_LEN));
                    }
                    let c = &genome.chroms[draw_chrom(cum, rng)];
                    first.get_or_insert(c.kind);
                    has_y |= c.kind == Kind::Y;
                    let mut r = substring(&c.seq, read_len, rng);
                    if rng.random_bool(0.5) {
                        r = crate::train::simulate::revcomp(&r);
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
                }
            }
        })
        .collect()
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
