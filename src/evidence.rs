//! Calling sex from per-chunk Y evidence: a likelihood ratio, summed over chunks (issue 5).
//!
//! A model trained with `--chunk-loss-weight > 0` gives every chunk a logit "this chunk holds Y
//! sequence". `calibrate` turns it into a binary detector: a chunk is a *Y hit* when its logit is
//! above a threshold chosen on the validation genomes, and it measures, per species, the hit rate
//! in male chunks (`p_hit_male`: the Y share times the detector's sensitivity, plus false hits) and
//! in female chunks (`p_hit_female`: the false-Y rate). Chunks of a sample are then independent
//! Bernoulli draws, and `h` hits in `n` chunks give
//!
//! ```text
//! log LR(male : female) = h·ln(p_m / p_f) + (n − h)·ln((1 − p_m) / (1 − p_f))
//! ```
//!
//! With even prior odds, `posterior_male = 1 / (1 + e^(−log LR))`. The call is `male` when it
//! reaches `--min-confidence`, `female` when `1 − posterior_male` does, and `no-call` otherwise:
//! too few chunks give a no-call, not a guess. The rule's weak point is a false-Y rate above the
//! calibrated one (a female sample unlike the validation genomes): a female is still called
//! female while her hit rate stays below the logarithmic mean of `p_f` and `p_m`, which is why
//! the threshold is chosen to keep `p_f` well below `p_m`.
//!
//! **Graded evidence.** A chunk far above the threshold is stronger evidence than one just above
//! it, so `calibrate` also cuts the upper logit range into bins ([`LogitBin`]) and measures both
//! rates per bin; each chunk then adds `ln(p_m,b / p_f,b)` of its bin `b` (chunks below the lowest
//! bin add `ln((1 − Σ p_m) / (1 − Σ p_f))`). The threshold is always an edge, the others are upper
//! quantiles of the female logits, so the bins refine the single threshold rather than replace it:
//! every chunk that rule counts as a hit lands in a bin at or above the threshold, and the bin the
//! threshold opens has the female rate of the chunks above it, however few (the pseudo-count bound
//! below when there are none), as the single threshold's hit rate has. Every other bin holds at
//! least [`MIN_FEMALE_PER_BIN`] female validation chunks (bins above the threshold also leave that
//! many in the threshold's). Calibrations from before this rule drew the edges from the female
//! quantiles alone (they keep their bins): the top bin could start below the threshold, among the
//! highest female logits, and a test female's one read there weighed nearly as much as a clear Y
//! read. Adjacent bins whose ratios do not increase with the logit are merged (the one way the
//! threshold can stop being an edge). The
//! single-threshold rule above is the case of one bin, and models calibrated before bins existed
//! keep using it. `hits` stays the count above the threshold.
//!
//! Rates are estimated with half a pseudo-count, `(hits + 0.5) / (chunks + 1)`, so a detector that
//! never fired on the female validation chunks gets a small positive false-Y rate, not zero (one
//! hit would otherwise be infinite evidence).

use serde::{Deserialize, Serialize};

use crate::call::Call;

/// The calibrated Y detector of one species (stored in `genosift.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct YEvidence {
    /// A chunk is a Y hit when its Y logit is above this.
    pub logit_threshold: f32,
    /// P(hit) for a chunk of a male sample.
    pub p_hit_male: f64,
    /// P(hit) for a chunk of a female sample: the false-Y rate.
    pub p_hit_female: f64,
    /// Validation chunks the rates were measured on.
    pub male_chunks: u64,
    pub female_chunks: u64,
    /// Informative: the share of male validation chunks holding Y sequence, and the detector's
    /// sensitivity on them.
    pub y_chunk_share: f64,
    pub sensitivity: f64,
    /// Graded evidence: rates per logit bin, lowest first (empty: the single threshold only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bins: Vec<LogitBin>,
}

/// Chunks with a Y logit above `above` (and not above the next bin's edge).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogitBin {
    pub above: f32,
    pub p_male: f64,
    pub p_female: f64,
}

/// What one chunk adds to the log likelihood ratio, by its Y logit (computed once per sample from a
/// [`YEvidence`], not per chunk).
#[derive(Debug, Clone)]
pub struct ChunkWeights {
    /// Bin edges, lowest first, and each bin's `ln(p_m / p_f)`.
    edges: Vec<f32>,
    log_lr: Vec<f64>,
    /// `ln((1 − Σ p_m) / (1 − Σ p_f))` for a chunk below every edge.
    below: f64,
}

impl ChunkWeights {
    /// The log likelihood ratio (male : female) one chunk with this Y logit adds.
    pub fn log_lr(&self, logit: f32) -> f64 {
        match self.edges.iter().rposition(|&e| logit > e) {
            Some(i) => self.log_lr[i],
            None => self.below,
        }
    }
}

/// Each bin of graded evidence holds at least this many female validation chunks.
pub const MIN_FEMALE_PER_BIN: usize = 10;

/// `(hits + 0.5) / (n + 1)`.
pub fn rate(hits: u64, n: u64) -> f64 {
    (hits as f64 + 0.5) / (n as f64 + 1.0)
}

/// Kullback–Leibler divergence between Bernoulli(p) and Bernoulli(q), in nats.
fn kl(p: f64, q: f64) -> f64 {
    p * (p / q).ln() + (1.0 - p) * ((1.0 - p) / (1.0 - q)).ln()
}

impl YEvidence {
    /// The per-chunk log likelihood ratios, looked up by logit: the graded bins, or the single
    /// threshold as one bin.
    pub fn weights(&self) -> ChunkWeights {
        let single = [LogitBin {
            above: self.logit_threshold,
            p_male: self.p_hit_male,
            p_female: self.p_hit_female,
        }];
        let bins: &[LogitBin] = if self.bins.is_empty() {
            &single
        } else {
            &self.bins
        };
        let pm: f64 = bins.iter().map(|b| b.p_male).sum();
        let pf: f64 = bins.iter().map(|b| b.p_female).sum();
        ChunkWeights {
            edges: bins.iter().map(|b| b.above).collect(),
            log_lr: bins.iter().map(|b| (b.p_male / b.p_female).ln()).collect(),
            below: ((1.0 - pm) / (1.0 - pf)).ln(),
        }
    }

    /// Expected chunks for the evidence to reach `confidence` either way (per-chunk information
    /// of the weaker direction). Informative only.
    pub fn chunks_for(&self, confidence: f64) -> f64 {
        let need = (confidence / (1.0 - confidence)).ln();
        let (pm, pf) = (self.p_hit_male, self.p_hit_female);
        need / kl(pm, pf).min(kl(pf, pm))
    }

    /// Chooses the hit threshold on validation chunk logits and measures the rates.
    ///
    /// `male` holds `(logit, has_y)` for chunks of male genomes, `female` the logits of female
    /// genomes' chunks. Candidates are the male logits' and the upper female logits' quantiles; the
    /// one that minimises the chunks needed for a 0.99 call either way wins (ties: the higher
    /// threshold, the lower false-Y rate). `None` without chunks of both sexes.
    pub fn fit(male: &[(f32, bool)], female: &[f32]) -> Option<Self> {
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
        Some(Self {
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
        })
    }
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

/// Accumulates chunk logits of one sample and decides.
#[derive(Debug, Clone)]
pub struct EvidenceCall {
    pub evidence: YEvidence,
    weights: ChunkWeights,
    pub chunks: u64,
    pub hits: u64,
    log_lr: f64,
}

impl EvidenceCall {
    pub fn new(evidence: YEvidence) -> Self {
        Self {
            weights: evidence.weights(),
            evidence,
            chunks: 0,
            hits: 0,
            log_lr: 0.0,
        }
    }

    /// Whether `logit` is a Y hit.
    pub fn is_hit(&self, logit: f32) -> bool {
        logit > self.evidence.logit_threshold
    }

    pub fn add(&mut self, logit: f32) {
        self.chunks += 1;
        if self.is_hit(logit) {
            self.hits += 1;
        }
        self.log_lr += self.weights.log_lr(logit);
    }

    /// Log likelihood ratio (male : female) of the chunks so far.
    pub fn log_lr(&self) -> f64 {
        self.log_lr
    }

    /// P(male | chunks) with even prior odds.
    pub fn posterior_male(&self) -> f64 {
        1.0 / (1.0 + (-self.log_lr()).exp())
    }

    /// `male`/`female` once the posterior reaches `min_confidence`, else `no-call`.
    pub fn decide(&self, min_confidence: f64) -> Call {
        let p = self.posterior_male();
        if p >= min_confidence {
            Call::Male
        } else if 1.0 - p >= min_confidence {
            Call::Female
        } else {
            Call::NoCall
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(pm: f64, pf: f64) -> YEvidence {
        YEvidence {
            logit_threshold: 0.0,
            p_hit_male: pm,
            p_hit_female: pf,
            male_chunks: 0,
            female_chunks: 0,
            y_chunk_share: 0.0,
            sensitivity: 0.0,
            bins: Vec::new(),
        }
    }

    #[test]
    fn likelihood_ratio_by_hand() {
        // p_m = 0.02, p_f = 0.001. One hit in 100 chunks:
        // ln(20) + 99·ln(0.98/0.999) = 2.995732 − 1.901018 = 1.094714.
        let e = ev(0.02, 0.001);
        let of = |logits: &mut dyn Iterator<Item = f32>| {
            let mut c = EvidenceCall::new(e.clone());
            logits.for_each(|l| c.add(l));
            c.log_lr()
        };
        let one_hit = of(&mut (0..100).map(|i| if i == 0 { 1.0 } else { -1.0 }));
        assert!((one_hit - 1.094714).abs() < 1e-5, "{one_hit}");
        // No hit in 500 chunks: 500·ln(0.98/0.999) = −9.601.
        assert!((of(&mut (0..500).map(|_| -1.0)) + 9.601103).abs() < 1e-5);
        let mut c = EvidenceCall::new(e);
        for l in [1.0, -1.0, -2.0] {
            c.add(l);
        }
        assert_eq!((c.hits, c.chunks), (1, 3));
        // 3 chunks, 1 hit: ln 20 + 2·ln(0.98/0.999) = 2.957328; posterior 0.950609.
        assert!(
            (c.posterior_male() - 0.950609).abs() < 1e-5,
            "{}",
            c.posterior_male()
        );
        assert_eq!(c.decide(0.99), Call::NoCall);
        assert_eq!(c.decide(0.95), Call::Male);
        let mut c = EvidenceCall::new(ev(0.02, 0.001));
        (0..100).for_each(|_| c.add(-1.0));
        assert_eq!(c.decide(0.99), Call::NoCall); // posterior_male 0.1278
        (0..400).for_each(|_| c.add(-1.0));
        assert_eq!(c.decide(0.99), Call::Female); // 6.8e-5
    }

    #[test]
    fn graded_likelihood_ratio_by_hand() {
        let mut e = ev(0.02, 0.001);
        e.bins = vec![
            LogitBin {
                above: 2.0,
                p_male: 0.02,
                p_female: 0.01,
            },
            LogitBin {
                above: 5.0,
                p_male: 0.01,
                p_female: 0.0005,
            },
        ];
        // Below 2: ln(0.97 / 0.9895) = −0.019904; (2, 5]: ln 2; above 5: ln 20.
        let w = e.weights();
        assert!((w.log_lr(1.0) + 0.019904).abs() < 1e-6);
        assert!(
            (w.log_lr(2.0) + 0.019904).abs() < 1e-6,
            "edges are exclusive"
        );
        assert!((w.log_lr(3.0) - 2f64.ln()).abs() < 1e-12);
        assert!((w.log_lr(9.0) - 20f64.ln()).abs() < 1e-12);
        let mut c = EvidenceCall::new(e);
        for l in [9.0, 3.0, 0.0, 0.0] {
            c.add(l);
        }
        // ln 20 + ln 2 − 2·0.019904 = 3.649072; hits count the single threshold (logit > 0).
        assert!((c.log_lr() - 3.649072).abs() < 1e-5, "{}", c.log_lr());
        assert_eq!((c.hits, c.chunks), (2, 4));
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
        let e = YEvidence::fit(&male, &female).unwrap();
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
        let e = YEvidence::fit(&male, &female).unwrap();
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
    fn pseudo_counts_keep_rates_inside_zero_one() {
        assert_eq!(rate(0, 999), 0.0005);
        assert_eq!(rate(10, 10), 10.5 / 11.0);
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
        let e = YEvidence::fit(&male, &female).unwrap();
        assert!(e.logit_threshold >= 2.0 && e.logit_threshold < 5.0, "{e:?}");
        assert_eq!(e.p_hit_male, rate(100, 1000));
        assert_eq!(e.p_hit_female, rate(0, 1000));
        assert_eq!(e.sensitivity, 1.0);
        assert_eq!(e.y_chunk_share, 0.1);
        assert!(YEvidence::fit(&[], &female).is_none());
        // A detector that does not separate the sexes has no threshold.
        assert!(YEvidence::fit(&[(0.0, false); 10], &[1.0; 10]).is_none());
    }
}
