//! Canonical 32-mers: the X–Y shared-sequence test of the sampler and the ideal detectors of
//! `evaluate --reads` (a Y read is recognisable when it carries a k-mer found nowhere else).

/// k-mer length (2 bits a base: one `u64`).
pub const K: usize = 32;

fn code(b: u8) -> Option<u64> {
    match b {
        b'A' | b'a' => Some(0),
        b'C' | b'c' => Some(1),
        b'G' | b'g' => Some(2),
        b'T' | b't' => Some(3),
        _ => None,
    }
}

/// 2-bit code of a k-mer and of its reverse complement, the smaller of the two; `None` with a
/// base other than ACGT.
pub fn canonical_kmer(seq: &[u8]) -> Option<u64> {
    let (mut fwd, mut rev) = (0u64, 0u64);
    for (i, &b) in seq.iter().enumerate() {
        let c = code(b)?;
        fwd = (fwd << 2) | c;
        rev |= (3 - c) << (2 * i);
    }
    Some(fwd.min(rev))
}

/// Every canonical k-mer of `seq` with its start, skipping windows with a base other than ACGT;
/// one pass (rolling), the same values as [`canonical_kmer`] on each window.
pub fn canonical_kmers(seq: &[u8]) -> impl Iterator<Item = (usize, u64)> + '_ {
    let (mut fwd, mut rev, mut valid) = (0u64, 0u64, 0usize);
    seq.iter().enumerate().filter_map(move |(i, &b)| {
        let Some(c) = code(b) else {
            valid = 0;
            return None;
        };
        fwd = (fwd << 2) | c;
        rev = (rev >> 2) | ((3 - c) << (2 * (K - 1)));
        valid += 1;
        (valid >= K).then(|| (i + 1 - K, fwd.min(rev)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolling_equals_window_by_window() {
        let seq = b"ACGTTGCAAGGCTTACGATCGATCGGATCCATGCANACGTACGTACGTTTGACCAGTAGCATGCATGCAAACGT";
        let rolled: Vec<_> = canonical_kmers(seq).collect();
        let direct: Vec<_> = seq
            .windows(K)
            .enumerate()
            .filter_map(|(i, w)| canonical_kmer(w).map(|k| (i, k)))
            .collect();
        assert_eq!(rolled, direct);
        // The N at 35 removes every window over it: windows 4..=35 are gone.
        assert!(rolled.iter().all(|&(i, _)| !(4..=35).contains(&i)));
        assert!(!rolled.is_empty());
    }

    #[test]
    fn a_kmer_and_its_reverse_complement_are_one() {
        let s = b"ACGTTGCAAGGCTTACGATCGATCGGATCCAT";
        let rc = crate::chunk::reverse_complement(s);
        assert_eq!(canonical_kmer(s), canonical_kmer(&rc));
        assert_eq!(canonical_kmer(b"NACGTACGTACGTACGTACGTACGTACGTACG"), None);
    }
}
