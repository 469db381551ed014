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
}

/// `(hits + 0.5) / (n + 1)`.
pub fn rate(hits: u64, n: u64) -> f64 {
    (hits as f64 + 0.5) / (n as f64 + 1.0)
}

/// Kullback–Leibler divergence between Bernoulli(p) and Bernoulli(q), in nats.
fn kl(p: f64, q: f64) -> f64 {
    p * (p / q).ln() + (1.0 - p) * ((1.0 - p) / (1.0 - q)).ln()
}

impl YEvidence {
    /// Log likelihood ratio (male : female, natural log) of `hits` Y hits in `n` chunks.
    pub fn log_lr(&self, hits: u64, n: u64) -> f64 {
        let (pm, pf) = (self.p_hit_male, self.p_hit_female);
        hits as f64 * (pm / pf).ln() + (n - hits) as f64 * ((1.0 - pm) / (1.0 - pf)).ln()
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
        })
    }
}

/// Accumulates chunk logits of one sample and decides.
#[derive(Debug, Clone)]
pub struct EvidenceCall {
    pub evidence: YEvidence,
    pub chunks: u64,
    pub hits: u64,
}

impl EvidenceCall {
    pub fn new(evidence: YEvidence) -> Self {
        Self {
            evidence,
            chunks: 0,
            hits: 0,
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
    }

    pub fn log_lr(&self) -> f64 {
        self.evidence.log_lr(self.hits, self.chunks)
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
        }
    }

    #[test]
    fn likelihood_ratio_by_hand() {
        // p_m = 0.02, p_f = 0.001. One hit in 100 chunks:
        // ln(20) + 99·ln(0.98/0.999) = 2.995732 − 1.901018 = 1.094714.
        let e = ev(0.02, 0.001);
        assert!(
            (e.log_lr(1, 100) - 1.094714).abs() < 1e-5,
            "{}",
            e.log_lr(1, 100)
        );
        // No hit in 500 chunks: 500·ln(0.98/0.999) = −9.601.
        assert!((e.log_lr(0, 500) + 9.601103).abs() < 1e-5);
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
