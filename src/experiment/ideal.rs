//! The two ideal Y-read detectors `evaluate --reads` sets beside the rules, as the share of a male's
//! reads each can recognise:
//! - `ideal`: every read from the male-specific Y. A read from sequence that chrY shares with chrX
//!   (the pseudo-autosomal regions; [`Genome::y_specific`]) is not counted: females carry it too.
//! - `ideal-unique`: a male-specific Y read that also carries at least one k-mer found nowhere else
//!   in the cohort, on no autosome and no X of any genome of the species in the sheet. Reads of Y
//!   repeats that occur elsewhere can be told from nothing but their depth, which no read-level
//!   detector sees; on real chrY this ideal is the one that bounds what a detector can reach.
//!
//! Both count reads by the male's sampling weights, with every start of a read of the sample's mean
//! read length on chrY equally likely, as `simulate` samples reads.

use std::collections::HashSet;

use crate::cohort::kmer::{canonical_kmers, K};
use crate::cohort::sampler::{Genome, Kind};

/// The shares of a male genome's reads that the two ideal detectors recognise.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IdealShares {
    pub specific: f64,
    pub unique: f64,
}

/// Canonical k-mers of the genomes' chrY (to be thinned by [`remove_found_elsewhere`]).
pub fn y_kmers<'a>(males: impl IntoIterator<Item = &'a Genome>) -> HashSet<u64> {
    males
        .into_iter()
        .flat_map(|g| g.chroms.iter().filter(|c| c.kind == Kind::Y))
        .flat_map(|c| canonical_kmers(&c.seq).map(|(_, k)| k))
        .collect()
}

/// Removes from `set` every k-mer that occurs on one of `g`'s autosomes or X chromosomes.
pub fn remove_found_elsewhere(set: &mut HashSet<u64>, g: &Genome) {
    for c in g.chroms.iter().filter(|c| c.kind != Kind::Y) {
        for (_, k) in canonical_kmers(&c.seq) {
            set.remove(&k);
        }
    }
}

/// The shares of `g`'s reads of `read_len` bp that the ideals recognise; `unique` holds the
/// k-mers found on no other chromosome of the cohort.
pub fn shares(g: &Genome, read_len: usize, unique: &HashSet<u64>) -> IdealShares {
    let total: f64 = g.chroms.iter().map(|c| c.weight).sum();
    let (mut specific, mut with_unique) = (0.0, 0.0);
    for c in g
        .chroms
        .iter()
        .filter(|c| c.kind == Kind::Y && !c.seq.is_empty())
    {
        let (s, u) = read_fractions(g, &c.seq, read_len, unique);
        specific += c.weight * s;
        with_unique += c.weight * u;
    }
    IdealShares {
        specific: specific / total,
        unique: with_unique / total,
    }
}

/// Of the reads of `read_len` bp starting anywhere on `y`: the fraction that is male-specific, and
/// the fraction that is male-specific and holds a k-mer of `unique`.
fn read_fractions(g: &Genome, y: &[u8], read_len: usize, unique: &HashSet<u64>) -> (f64, f64) {
    let len = read_len.clamp(1, y.len());
    // hits[i]: unique k-mers starting before i.
    let mut hits = vec![0u32; y.len() + 1];
    for (at, k) in canonical_kmers(y) {
        hits[at + 1] = u32::from(unique.contains(&k));
    }
    for i in 0..y.len() {
        hits[i + 1] += hits[i];
    }
    let starts = y.len() - len + 1;
    let (mut specific, mut with_unique) = (0usize, 0usize);
    for s in 0..starts {
        if !g.y_specific(&y[s..s + len]) {
            continue;
        }
        specific += 1;
        // k-mers wholly inside the read start at s ..= s + len − K.
        let last = (s + len + 1).saturating_sub(K).max(s);
        if hits[last] > hits[s] {
            with_unique += 1;
        }
    }
    (
        specific as f64 / starts as f64,
        with_unique as f64 / starts as f64,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cohort::sampler::Chrom;
    use crate::cohort::sheet::{Sex, Split};
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn random(rng: &mut StdRng, n: usize) -> Vec<u8> {
        (0..n).map(|_| b"ACGT"[rng.random_range(0..4)]).collect()
    }

    fn chrom(name: &str, seq: Vec<u8>) -> Chrom {
        Chrom {
            name: name.into(),
            kind: Kind::of(name),
            weight: seq.len() as f64,
            seq,
        }
    }

    /// chr1 (8 kb), chrX (2 kb), chrY (2 kb) = a 1 kb PAR (the X's first 1 kb), 500 bp copied from
    /// chr1, then 500 bp of Y-only sequence.
    fn male() -> Genome {
        let mut rng = StdRng::seed_from_u64(3);
        let a = random(&mut rng, 8_000);
        let x = random(&mut rng, 2_000);
        let mut y = x[..1_000].to_vec();
        y.extend_from_slice(&a[4_000..4_500]);
        y.extend(random(&mut rng, 500));
        Genome::from_chroms(
            "m",
            "human",
            Sex::Male,
            Split::Test,
            vec![chrom("chr1", a), chrom("chrX", x), chrom("chrY", y)],
        )
    }

    #[test]
    fn par_is_not_y_and_shared_repeats_are_not_unique() {
        let g = male();
        let mut unique = y_kmers([&g]);
        remove_found_elsewhere(&mut unique, &g);
        let read = 100;
        let s = shares(&g, read, &unique);
        let starts = (2_000 - read + 1) as f64;
        let y_weight = 2_000.0 / 12_000.0;
        // Male-specific: fewer than two of a read's first, middle (+34) and last (+68) k-mers lie
        // whole in the PAR, so the starts from 935 (935 + 34 + 32 > 1,000) to 1,900: 966.
        let specific = s.specific / y_weight * starts;
        assert!((specific - 966.0).abs() < 0.01, "{specific}");
        // Unique k-mers: those across the PAR/copy border (starting at 969..=999) and from 1,469 on
        // (the copy's k-mers are on chr1). Male-specific reads holding one: starts 935..=999 (65)
        // and 1,401..=1,900 (500, their last k-mer starts at ≥ 1,469).
        let unique = s.unique / y_weight * starts;
        assert!((unique - 565.0).abs() < 0.01, "{unique}");
    }

    #[test]
    fn a_female_has_no_ideal_share() {
        let mut g = male();
        g.chroms.retain(|c| c.kind != Kind::Y);
        let s = shares(&g, 100, &HashSet::new());
        assert_eq!((s.specific, s.unique), (0.0, 0.0));
    }
}
