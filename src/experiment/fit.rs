//! Fitting the likelihood-ratio rule's Y detector on validation chunk logits (`calibrate`): the
//! hit threshold and the graded bins that [`crate::call::lr`] reads (its module text says how the
//! bins are chosen and why).

use crate::call::dosage::XEvidence;
use crate::call::lr::{kl, rate, LogitBin, Overdispersion, YEvidence};

/// Each bin of graded evidence holds at least this many female validation chunks.
pub const MIN_FEMALE_PER_BIN: usize = 10;

/// The least spread assumed between individuals: a coefficient of variation of the hit rate of
/// 10%, whatever a handful of validation genomes show (they cannot show how the genomes a model is
/// used on differ from them).
pub const MIN_RATE_CV: f64 = 0.1;

/// How much the hit rate (logit above `threshold`) varies between genomes of each sex: ρ by the
/// method of moments for a beta-binomial (Kleinman's estimator, the binomial part of the variance
/// removed), at least the floor of [`MIN_RATE_CV`]. `male` and `female` hold each validation
/// genome's chunk logits.
pub fn overdispersion(threshold: f32, male: &[Vec<f32>], female: &[Vec<f32>]) -> Overdispersion {
    let rho = |genomes: &[Vec<f32>]| {
        let counts: Vec<(f64, f64)> = genomes
            .iter()
            .filter(|g| !g.is_empty())
            .map(|g| {
                let hits = g.iter().filter(|&&l| l > threshold).count();
                (hits as f64, g.len() as f64)
            })
            .collect();
        let total: f64 = counts.iter().map(|c| c.1).sum();
        let p = (counts.iter().map(|c| c.0).sum::<f64>() + 0.5) / (total + 1.0);
        let floor = MIN_RATE_CV * MIN_RATE_CV * p / (1.0 - p);
        let j = counts.len() as f64;
        if j < 2.0 {
            return floor;
        }
        let s = counts
            .iter()
            .map(|&(h, n)| n * (h / n - p).powi(2))
            .sum::<f64>()
            / (j - 1.0);
        let n0 = (total - counts.iter().map(|c| c.1 * c.1).sum::<f64>() / total) / (j - 1.0);
        let moments = (s / (p * (1.0 - p)) - 1.0) / (n0 - 1.0);
        if n0 <= 1.0 || !moments.is_finite() {
            return floor;
        }
        moments.clamp(floor, 0.5)
    };
    Overdispersion {
        rho_male: rho(male),
        rho_female: rho(female),
        genomes_male: male.iter().filter(|g| !g.is_empty()).count() as u64,
        genomes_female: female.iter().filter(|g| !g.is_empty()).count() as u64,
    }
}

/// Chooses the X detector's hit threshold on validation chunk X logits, per genome, of XX (`xx`)
/// and XY (`xy`) genomes: among the pooled logits' percentiles, the one whose rates tell one X
/// copy from two best per chunk (the largest `(r_xx − r_xy)² / (r̄·(1 − r̄))`, `r̄` their mean),
/// and measures the rates and the spread between genomes (the larger sex's ρ). `None` when no
/// threshold gives XX chunks more hits than XY chunks.
pub fn fit_x_detector(xx: &[Vec<f32>], xy: &[Vec<f32>]) -> Option<XEvidence> {
    let pooled = |g: &[Vec<f32>]| -> Vec<f32> { g.iter().flatten().copied().collect() };
    let (f, m) = (pooled(xx), pooled(xy));
    if f.is_empty() || m.is_empty() {
        return None;
    }
    let mut all: Vec<f32> = f.iter().chain(&m).copied().collect();
    all.sort_by(f32::total_cmp);
    let hit_rate =
        |v: &[f32], t: f32| rate(v.iter().filter(|&&l| l > t).count() as u64, v.len() as u64);
    let separation = |t: f32| {
        let (rf, rm) = (hit_rate(&f, t), hit_rate(&m, t));
        let mean = 0.5 * (rf + rm);
        (rf > rm).then(|| (rf - rm).powi(2) / (mean * (1.0 - mean)))
    };
    let t = (1..100)
        .map(|p| all[(all.len() - 1) * p / 100])
        .filter_map(|t| separation(t).map(|s| (t, s)))
        .max_by(|a, b| a.1.total_cmp(&b.1))?
        .0;
    let o = overdispersion(t, xy, xx);
    Some(XEvidence {
        logit_threshold: t,
        p_hit_xx: hit_rate(&f, t),
        p_hit_xy: hit_rate(&m, t),
        chunks_xx: f.len() as u64,
        chunks_xy: m.len() as u64,
        rho: o.rho_male.max(o.rho_female),
    })
}

/// Chooses the hit threshold on validation chunk logits and measures the rates.
///
/// `male` holds `(logit, has_y)` for chunks of male genomes, `female` the logits of female
/// genomes' chunks. Candidates are the male logits' and the upper female logits' quantiles; the
/// one that minimises the chunks needed for a 0.99 call either way wins (ties: the higher
/// threshold, the lower false-Y rate). `None` without chunks of both sexes.
pub fn fit_detector(male: &[(f32, bool)], female: &[f32]) -> Option<YEvidence> {
    if male.is_empty() || female.is_empty() {
        return None;
    }
    let mut m: Vec<f32> = male.iter().map(|&(l, _)| l).collect();
    let mut f = female.to_vec();
    m.sort_by(f32::total_cmp);
    f.sort_by(f32::total_cmp);
    let above =
        |sorted: &[f32], t: f32| (sorted.len() - sorted.partition_point(|&x| x <= t)) as u64;
    let q = |sorted: &[f32], p: f64| sorted[((sorted.len() - 1) as f64 * p).round() as usize];
    let mut candidates: Vec<f32> = (0..=200)
        .map(|i| q(&m, 0.5 + 0.5 * i as f64 / 200.0))
        .chain((0..=200).map(|i| q(&f, 0.9 + 0.1 * i as f64 / 200.0)))
        .collect();
    candidates.sort_by(f32::total_cmp);
    candidates.dedup();
    let (nm, nf) = (m.len() as u64, f.len() as u64);
    let mut best: Option<(f64, f32)> = None;
    for &t in &candidates {
        let pm = rate(above(&m, t), nm);
        let pf = rate(above(&f, t), nf);
        if pm <= pf {
            continue;
        }
        let info = kl(pm, pf).min(kl(pf, pm));
        if best.is_none_or(|(b, _)| info >= b) {
            best = Some((info, t));
        }
    }
    let (_, t) = best?;
    let y_chunks = male.iter().filter(|&&(_, y)| y).count() as u64;
    let y_hits = male.iter().filter(|&&(l, y)| y && l > t).count() as u64;
    Some(YEvidence {
        logit_threshold: t,
        p_hit_male: rate(above(&m, t), nm),
        p_hit_female: rate(above(&f, t), nf),
        male_chunks: nm,
        female_chunks: nf,
        y_chunk_share: y_chunks as f64 / nm as f64,
        sensitivity: if y_chunks > 0 {
            y_hits as f64 / y_chunks as f64
        } else {
            0.0
        },
        bins: graded_bins(&m, &f, t),
        overdispersion: None,
    })
}

/// Bins for graded evidence over sorted male and female logits, given the single threshold `t`.
///
/// Edges: `t`, always; and of the female logits' 97% and 99% quantiles and the female logits with
/// 100, 30 and [`MIN_FEMALE_PER_BIN`] chunks above them, those at or above the 97% quantile whose
/// bins hold at least [`MIN_FEMALE_PER_BIN`] female chunks (an edge above `t` must also leave that
/// many in the bin `t` opens). Then adjacent bins whose likelihood ratio does not increase are
/// merged.
fn graded_bins(m: &[f32], f: &[f32], t: f32) -> Vec<LogitBin> {
    let nf = f.len();
    if nf < 2 * MIN_FEMALE_PER_BIN {
        return Vec::new();
    }
    let q = |p: f64| f[((nf - 1) as f64 * p).round() as usize];
    let from_top = |k: usize| f[nf - 1 - k.min(nf - 1)];
    let floor = q(0.97);
    let mut edges: Vec<f32> = [q(0.97), q(0.99), from_top(100), from_top(30)]
        .into_iter()
        .chain([from_top(MIN_FEMALE_PER_BIN)])
        .filter(|&e| e >= floor && e != t)
        .collect();
    edges.sort_by(f32::total_cmp);
    edges.dedup();
    let above = |sorted: &[f32], e: f32| sorted.len() - sorted.partition_point(|&x| x <= e);
    let at_t = above(f, t);
    // Keep an edge only if the bin it opens (up to the next kept edge, or the top) holds enough
    // female chunks: walk from the top down, first above `t`, then below it.
    let enough = |n: usize| n >= MIN_FEMALE_PER_BIN;
    let mut upper: Vec<f32> = Vec::new();
    let mut beyond = 0;
    for &e in edges.iter().rev().filter(|&&e| e > t) {
        if enough(above(f, e) - beyond) && enough(at_t - above(f, e)) {
            upper.push(e);
            beyond = above(f, e);
        }
    }
    let mut kept: Vec<f32> = vec![t];
    let mut beyond = at_t;
    for &e in edges.iter().rev().filter(|&&e| e < t) {
        if enough(above(f, e) - beyond) {
            kept.push(e);
            beyond = above(f, e);
        }
    }
    kept.reverse();
    kept.extend(upper.iter().rev());
    // Counts per bin: (edge, male, female).
    let mut bins: Vec<(f32, usize, usize)> = kept
        .iter()
        .enumerate()
        .map(|(i, &e)| {
            let next = kept.get(i + 1);
            let count = |s: &[f32]| above(s, e) - next.map_or(0, |&n| above(s, n));
            (e, count(m), count(f))
        })
        .collect();
    let ratio =
        |b: &(f32, usize, usize)| rate(b.1 as u64, m.len() as u64) / rate(b.2 as u64, nf as u64);
    // Pool adjacent violators: merge a bin into the one below while its ratio is not larger.
    let mut i = 1;
    while i < bins.len() {
        if ratio(&bins[i]) <= ratio(&bins[i - 1]) {
            let b = bins.remove(i);
            bins[i - 1].1 += b.1;
            bins[i - 1].2 += b.2;
            i = i.saturating_sub(1).max(1);
        } else {
            i += 1;
        }
    }
    bins.into_iter()
        .map(|(above, bm, bf)| LogitBin {
            above,
            p_male: rate(bm as u64, m.len() as u64),
            p_female: rate(bf as u64, nf as u64),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x_detector_by_hand() {
        // XX genomes: 600 of 10,000 chunks at logit 2 (X reads), the rest at −2 or −1; XY
        // genomes: 300. The threshold falls between −1 and 2: rates (600.5, 300.5) / 10,001.
        let genome = |x: usize| {
            let mut g: Vec<f32> = (0..10_000)
                .map(|i| if i % 2 == 0 { -2.0 } else { -1.0 })
                .collect();
            g[..x].iter_mut().for_each(|l| *l = 2.0);
            g
        };
        let xx = [genome(600), genome(600)];
        let xy = [genome(300), genome(300)];
        let e = fit_x_detector(&xx, &xy).unwrap();
        assert!((-1.0..2.0).contains(&e.logit_threshold), "{e:?}");
        assert!((e.p_hit_xx - 1_200.5 / 20_001.0).abs() < 1e-12, "{e:?}");
        assert!((e.p_hit_xy - 600.5 / 20_001.0).abs() < 1e-12, "{e:?}");
        assert_eq!((e.chunks_xx, e.chunks_xy), (20_000, 20_000));
        // Same rates in both: no detector.
        assert_eq!(fit_x_detector(&xy, &xy), None);
        assert_eq!(fit_x_detector(&[], &xy), None);
    }

    #[test]
    fn overdispersion_by_moments_with_a_floor() {
        // Three genomes of 100,000 chunks each with the same rate 1%: binomial spread only, so ρ
        // is the floor: CV² · p / (1 − p).
        let genome = |hits: usize| {
            let mut g = vec![0.0f32; 100_000];
            g[..hits].iter_mut().for_each(|l| *l = 1.0);
            g
        };
        let same = vec![genome(1000), genome(1000), genome(1000)];
        let o = overdispersion(0.5, &same, &same);
        let p = 3000.5 / 300_001.0;
        let floor = MIN_RATE_CV * MIN_RATE_CV * p / (1.0 - p);
        assert!((o.rho_male - floor).abs() < 1e-12, "{o:?}");
        // Rates 0.5%, 1%, 1.5%: sd 0.5% between genomes, ρ ≈ 0.005² / (0.01 · 0.99) ≈ 0.0025.
        let spread = vec![genome(500), genome(1000), genome(1500)];
        let o = overdispersion(0.5, &spread, &same);
        assert!((o.rho_male - 0.0025).abs() < 0.0002, "{o:?}");
        assert_eq!((o.genomes_male, o.genomes_female), (3, 3));
    }

    /// `n` logits spread evenly over [−4, 4), ascending.
    fn spread(n: usize) -> Vec<f32> {
        (0..n).map(|i| -4.0 + 8.0 * i as f32 / n as f32).collect()
    }

    /// Female logits in bin `i` (above its edge, not above the next one).
    fn females_in_bin(bins: &[LogitBin], i: usize, female: &[f32]) -> usize {
        let hi = bins.get(i + 1).map_or(f32::INFINITY, |n| n.above);
        female
            .iter()
            .filter(|&&l| l > bins[i].above && l <= hi)
            .count()
    }

    #[test]
    fn fitted_bins_have_female_support_and_rising_ratios() {
        // Females: logits 0..10 000 spread over [−4, 4); males the same plus 2% Y chunks whose
        // logits rise from 2 to 8.
        let female = spread(10_000);
        let mut male: Vec<(f32, bool)> = female.iter().map(|&l| (l, false)).collect();
        male.extend((0..200).map(|i| (2.0 + 6.0 * i as f32 / 200.0, true)));
        let e = fit_detector(&male, &female).unwrap();
        assert!(e.bins.len() >= 2, "{:?}", e.bins);
        for w in e.bins.windows(2) {
            assert!(w[0].above < w[1].above);
            assert!(w[0].p_male / w[0].p_female < w[1].p_male / w[1].p_female);
        }
        assert!(
            e.bins.iter().any(|b| b.above == e.logit_threshold),
            "the threshold is an edge: {:?}",
            e.bins
        );
        for (i, b) in e.bins.iter().enumerate() {
            let n = females_in_bin(&e.bins, i, &female);
            assert_eq!(b.p_female, rate(n as u64, 10_000));
            if b.above != e.logit_threshold {
                assert!(n >= MIN_FEMALE_PER_BIN, "bin {i}: {n} female chunks");
            } else if n == 0 {
                // A third of the Y logits are above every female one: the threshold's bin lies
                // beyond the females, and it is the top one.
                assert_eq!(i, e.bins.len() - 1, "{:?}", e.bins);
                assert!(b.above >= female[10_000 - 1]);
            }
        }
    }

    #[test]
    fn the_threshold_opens_a_bin_however_few_females_are_above_it() {
        // Females: 100 000 chunks over [−4, 4); males the same plus 950 Y chunks at 9..11 and 50
        // at the 5th-highest female logit. A threshold with 5 female chunks above it: too few for
        // a bin of their own, but the single-threshold rule's hits all the same.
        let female = spread(100_000);
        let t = female[100_000 - 6];
        let mut male = female.clone();
        male.extend((0..950).map(|i| 9.0 + 2.0 * i as f32 / 950.0));
        male.extend((0..50).map(|_| female[100_000 - 5]));
        male.sort_by(f32::total_cmp);
        let bins = graded_bins(&male, &female, t);
        let at = bins
            .iter()
            .position(|b| b.above == t)
            .expect("t is an edge");
        assert_eq!(
            at,
            bins.len() - 1,
            "no bin above t can hold 10 females: {bins:?}"
        );
        assert_eq!(bins[at].p_female, rate(5, 100_000));
        assert_eq!(
            bins[at].p_male,
            rate(1005, 101_000),
            "Y chunks and 5 others"
        );
        assert!(at > 0, "{bins:?}");
        for i in 0..at {
            let n = females_in_bin(&bins, i, &female);
            assert!(n >= MIN_FEMALE_PER_BIN, "bin {i}: {n} female chunks");
        }
        // The highest female logits below t weigh far less than a hit.
        let e = YEvidence {
            logit_threshold: t,
            p_hit_male: rate(1005, 101_000),
            p_hit_female: rate(5, 100_000),
            male_chunks: 101_000,
            female_chunks: 100_000,
            y_chunk_share: 1000.0 / 101_000.0,
            sensitivity: 1.0,
            bins,
            overdispersion: None,
        };
        let w = e.weights();
        let (below, hit) = (w.log_lr(female[100_000 - 7]), w.log_lr(10.0));
        assert!(hit > 5.0 && below < hit - 3.0, "{below} {hit}");
    }

    #[test]
    fn a_clean_detector_gets_a_bin_beyond_the_females() {
        // Females: 100 000 chunks over [−4, 4); males the same plus 1% Y chunks, 95% of them at
        // logits 9..11 and 5% among the 100 highest female logits.
        let female = spread(100_000);
        let mut male: Vec<(f32, bool)> = female.iter().map(|&l| (l, false)).collect();
        male.extend((0..950).map(|i| (9.0 + 2.0 * i as f32 / 950.0, true)));
        male.extend((0..50).map(|_| (3.995, true)));
        let e = fit_detector(&male, &female).unwrap();
        assert!(e.logit_threshold >= female[99_999], "{e:?}");
        let top = e.bins.last().unwrap();
        assert_eq!(top.above, e.logit_threshold, "{:?}", e.bins);
        assert_eq!(top.p_female, rate(0, 100_000), "the pseudo-count bound");
        assert_eq!(top.p_male, rate(950, 101_000));
        // Below it, the highest female logits share a bin with the 50 Y chunks among them: a
        // female read there weighs far less than a read beyond the females.
        let w = e.weights();
        let (high_female, y_read) = (w.log_lr(3.999), w.log_lr(10.0));
        assert!(high_female < 2.5 && y_read > 7.0, "{high_female} {y_read}");
        for i in 0..e.bins.len() - 1 {
            let n = females_in_bin(&e.bins, i, &female);
            assert!(n >= MIN_FEMALE_PER_BIN, "bin {i}: {n} female chunks");
        }
    }

    #[test]
    fn fit_separates_a_clean_detector() {
        // Males: 10% of chunks are Y with logit 5, the rest −3..−1; females −3..−1 and one
        // outlier at 2: the threshold lands between 2 and 5.
        let mut male: Vec<(f32, bool)> = (0..900)
            .map(|i| (-3.0 + 2.0 * i as f32 / 900.0, false))
            .collect();
        male.extend((0..100).map(|_| (5.0, true)));
        let mut female: Vec<f32> = (0..999).map(|i| -3.0 + 2.0 * i as f32 / 999.0).collect();
        female.push(2.0);
        let e = fit_detector(&male, &female).unwrap();
        assert!(e.logit_threshold >= 2.0 && e.logit_threshold < 5.0, "{e:?}");
        assert_eq!(e.p_hit_male, rate(100, 1000));
        assert_eq!(e.p_hit_female, rate(0, 1000));
        assert_eq!(e.sensitivity, 1.0);
        assert_eq!(e.y_chunk_share, 0.1);
        assert!(fit_detector(&[], &female).is_none());
        // A detector that does not separate the sexes has no threshold.
        assert!(fit_detector(&[(0.0, false); 10], &[1.0; 10]).is_none());
    }
}
