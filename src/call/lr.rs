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
//! least [`MIN_FEMALE_PER_BIN`](crate::experiment::fit::MIN_FEMALE_PER_BIN) female validation chunks (bins above the threshold also leave that
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
//!
//! **Overdispersion (issue 17).** The rates above are the validation genomes' pooled rates, but
//! each individual has its own: a female whose false-Y rate is twice the calibrated one, summed
//! over thousands of chunks, would reach 0.99 for male under the rule above. So `calibrate` also
//! measures how much the hit rate varies between the validation genomes of each sex
//! ([`Overdispersion`]: the intra-genome correlation ρ of a beta-binomial, by moments, never below
//! the floor of a 10% coefficient of variation between individuals), and the chunks of a sample are
//! then a Dirichlet-multinomial draw over the bins, with concentration κ = 1/ρ − 1 around each
//! sex's calibrated rates. A chunk in bin `b`, with `c_b` chunks of the sample already there and `n`
//! in all, adds `ln((c_b + κ_m·p_m,b) / (n + κ_m)) − ln((c_b + κ_f·p_f,b) / (n + κ_f))`: the
//! same as the plain ratio while `n ≪ κ`, and bounded as `n` grows, because many chunks then only
//! pin down the sample's own rates, which both sexes' spreads may explain. The evidence has a limit:
//! at any depth a sample at a sex's mean rates gets at most the ratio of the two Dirichlet
//! densities there. When that limit, for a typical male or a typical female, is below
//! `--min-confidence`, the detector cannot separate the sexes at any depth and every call is
//! `no-call` (with that reason in the summary): a weak detector gives no-calls, never wrong
//! calls, however many reads arrive. Calibrations without an `overdispersion` entry keep the plain
//! ratio.

use serde::{Deserialize, Serialize};

use super::Call;

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
    /// How much the hit rate varies between individuals (absent: not modelled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overdispersion: Option<Overdispersion>,
}

/// The spread of the hit rate between the validation genomes of each sex: the intra-genome
/// correlation ρ of a beta-binomial (an individual's rate varies around the sex's mean `p` with
/// variance ρ·p·(1 − p)). Each ρ is in (0, 1); `genosift.json` is refused otherwise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overdispersion {
    pub rho_male: f64,
    pub rho_female: f64,
    /// Validation genomes measured.
    pub genomes_male: u64,
    pub genomes_female: u64,
}

/// Chunks with a Y logit above `above` (and not above the next bin's edge).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogitBin {
    pub above: f32,
    pub p_male: f64,
    pub p_female: f64,
}

/// What one chunk adds to the log likelihood ratio, by its Y logit (computed once per sample from a
/// [`YEvidence`], not per chunk). Categories: the bins, lowest first, then "below every edge".
#[derive(Debug, Clone)]
pub struct ChunkWeights {
    /// Bin edges, lowest first.
    edges: Vec<f32>,
    /// Each category's `ln(p_m / p_f)` (the plain ratio).
    log_lr: Vec<f64>,
    /// Each category's rate per sex, and the concentrations (infinite: the plain ratio).
    p_male: Vec<f64>,
    p_female: Vec<f64>,
    kappa_male: f64,
    kappa_female: f64,
}

impl ChunkWeights {
    /// The category of a chunk with this Y logit.
    pub fn category(&self, logit: f32) -> usize {
        self.edges
            .iter()
            .rposition(|&e| logit > e)
            .unwrap_or(self.edges.len())
    }

    /// The log likelihood ratio (male : female) one chunk with this Y logit adds under the plain
    /// ratio (no overdispersion).
    pub fn log_lr(&self, logit: f32) -> f64 {
        self.log_lr[self.category(logit)]
    }

    /// What a chunk in category `b` adds when the sample already has `c_b` chunks there and `n`
    /// in all.
    fn step(&self, b: usize, c_b: u64, n: u64) -> f64 {
        if self.kappa_male.is_infinite() {
            return self.log_lr[b];
        }
        let term = |p: f64, kappa: f64| ((c_b as f64 + kappa * p) / (n as f64 + kappa)).ln();
        term(self.p_male[b], self.kappa_male) - term(self.p_female[b], self.kappa_female)
    }

    /// The log likelihood ratio at any depth for a sample whose chunks fall in the categories
    /// with proportions `q`: the ratio of the two sexes' Dirichlet densities at `q`.
    fn limit(&self, q: &[f64]) -> f64 {
        let ln_dir = |p: &[f64], kappa: f64| {
            let mut s = libm::lgamma(kappa);
            for (&pb, &qb) in p.iter().zip(q) {
                let a = kappa * pb;
                s += (a - 1.0) * qb.ln() - libm::lgamma(a);
            }
            s
        };
        ln_dir(&self.p_male, self.kappa_male) - ln_dir(&self.p_female, self.kappa_female)
    }
}

/// `(hits + 0.5) / (n + 1)`.
pub fn rate(hits: u64, n: u64) -> f64 {
    (hits as f64 + 0.5) / (n as f64 + 1.0)
}

/// Kullback–Leibler divergence between Bernoulli(p) and Bernoulli(q), in nats.
pub fn kl(p: f64, q: f64) -> f64 {
    p * (p / q).ln() + (1.0 - p) * ((1.0 - p) / (1.0 - q)).ln()
}

impl Overdispersion {
    /// Both ρ in (0, 1).
    pub fn is_valid(&self) -> bool {
        [self.rho_male, self.rho_female]
            .iter()
            .all(|r| r.is_finite() && *r > 0.0 && *r < 1.0)
    }
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
        let mut log_lr: Vec<f64> = bins.iter().map(|b| (b.p_male / b.p_female).ln()).collect();
        log_lr.push(((1.0 - pm) / (1.0 - pf)).ln());
        let with_below = |rates: Vec<f64>, sum: f64| [rates, vec![1.0 - sum]].concat();
        let kappa = |rho: f64| 1.0 / rho - 1.0;
        let (kappa_male, kappa_female) = match self.overdispersion.as_ref().filter(|o| o.is_valid())
        {
            Some(o) => (kappa(o.rho_male), kappa(o.rho_female)),
            None => (f64::INFINITY, f64::INFINITY),
        };
        ChunkWeights {
            edges: bins.iter().map(|b| b.above).collect(),
            log_lr,
            p_male: with_below(bins.iter().map(|b| b.p_male).collect(), pm),
            p_female: with_below(bins.iter().map(|b| b.p_female).collect(), pf),
            kappa_male,
            kappa_female,
        }
    }

    /// The highest posterior a typical sample (one at its sex's mean rates) can reach at any
    /// depth, the weaker sex's: 1 without overdispersion.
    pub fn max_confidence(&self) -> f64 {
        let w = self.weights();
        if w.kappa_male.is_infinite() {
            return 1.0;
        }
        let male = 1.0 / (1.0 + (-w.limit(&w.p_male)).exp());
        let female = 1.0 / (1.0 + w.limit(&w.p_female).exp());
        male.min(female)
    }

    /// Expected chunks for the evidence to reach `confidence` either way (per-chunk information
    /// of the weaker direction). Informative only.
    pub fn chunks_for(&self, confidence: f64) -> f64 {
        let need = (confidence / (1.0 - confidence)).ln();
        let (pm, pf) = (self.p_hit_male, self.p_hit_female);
        need / kl(pm, pf).min(kl(pf, pm))
    }
}

/// Accumulates chunk logits of one sample and decides.
#[derive(Debug, Clone)]
pub struct EvidenceCall {
    pub evidence: YEvidence,
    weights: ChunkWeights,
    /// The best posterior a typical sample reaches at any depth ([`YEvidence::max_confidence`]).
    pub max_confidence: f64,
    pub chunks: u64,
    pub hits: u64,
    /// Chunks per category (bins, then below every edge).
    counts: Vec<u64>,
    log_lr: f64,
}

/// Why a call is `no-call`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoCallReason {
    /// The evidence so far is below `--min-confidence` (more reads may get there).
    TooLittleEvidence,
    /// The detector cannot reach `--min-confidence` at any depth, given how much its rates vary
    /// between individuals.
    WeakDetector,
}

impl NoCallReason {
    pub fn as_str(self) -> &'static str {
        match self {
            NoCallReason::TooLittleEvidence => "evidence below --min-confidence",
            NoCallReason::WeakDetector => {
                "the Y detector cannot reach --min-confidence at any depth (its hit rates vary too much between individuals)"
            }
        }
    }
}

impl EvidenceCall {
    pub fn new(evidence: YEvidence) -> Self {
        let weights = evidence.weights();
        Self {
            counts: vec![0; weights.edges.len() + 1],
            max_confidence: evidence.max_confidence(),
            weights,
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
        if self.is_hit(logit) {
            self.hits += 1;
        }
        let b = self.weights.category(logit);
        self.log_lr += self.weights.step(b, self.counts[b], self.chunks);
        self.counts[b] += 1;
        self.chunks += 1;
    }

    /// Log likelihood ratio (male : female) of the chunks so far.
    pub fn log_lr(&self) -> f64 {
        self.log_lr
    }

    /// P(male | chunks) with even prior odds.
    pub fn posterior_male(&self) -> f64 {
        1.0 / (1.0 + (-self.log_lr()).exp())
    }

    /// `male`/`female` once the posterior reaches `min_confidence`, else `no-call`; always
    /// `no-call` when the detector cannot reach it at any depth.
    pub fn decide(&self, min_confidence: f64) -> Call {
        let p = self.posterior_male();
        if self.max_confidence < min_confidence {
            Call::NoCall
        } else if p >= min_confidence {
            Call::Male
        } else if 1.0 - p >= min_confidence {
            Call::Female
        } else {
            Call::NoCall
        }
    }

    /// Why [`Self::decide`] says `no-call` (`None` when it calls).
    pub fn no_call_reason(&self, min_confidence: f64) -> Option<NoCallReason> {
        if self.max_confidence < min_confidence {
            Some(NoCallReason::WeakDetector)
        } else if self.decide(min_confidence) == Call::NoCall {
            Some(NoCallReason::TooLittleEvidence)
        } else {
            None
        }
    }
}

/// A single-threshold detector (threshold logit 0) with these rates, for tests.
#[cfg(test)]
pub(crate) fn test_evidence(p_hit_male: f64, p_hit_female: f64) -> YEvidence {
    YEvidence {
        logit_threshold: 0.0,
        p_hit_male,
        p_hit_female,
        male_chunks: 0,
        female_chunks: 0,
        y_chunk_share: 0.0,
        sensitivity: 0.0,
        bins: Vec::new(),
        overdispersion: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(pm: f64, pf: f64) -> YEvidence {
        test_evidence(pm, pf)
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

    /// A sample of `n` chunks whose hit rate is `rate` (hits spread evenly).
    fn sample(e: &YEvidence, n: u64, rate: f64) -> EvidenceCall {
        let mut c = EvidenceCall::new(e.clone());
        let mut acc = 0.0;
        for _ in 0..n {
            acc += rate;
            c.add(if acc >= 1.0 { 1.0 } else { -1.0 });
            if acc >= 1.0 {
                acc -= 1.0;
            }
        }
        c
    }

    fn with_spread(mut e: YEvidence, cv: f64) -> YEvidence {
        let rho = |p: f64| cv * cv * p / (1.0 - p);
        e.overdispersion = Some(Overdispersion {
            rho_male: rho(e.p_hit_male),
            rho_female: rho(e.p_hit_female),
            genomes_male: 3,
            genomes_female: 3,
        });
        e
    }

    #[test]
    fn a_weak_detector_gives_no_calls_however_many_reads() {
        // The real-DNA detector of issue 17: hits in 3.65% of male chunks, 3.35% of female ones.
        let plain = ev(0.0365, 0.0335);
        // A female whose own false-Y rate is 9% above the calibrated one: the plain ratio, summed
        // over 100,000 chunks, calls her male with confidence.
        let c = sample(&plain, 100_000, 0.0365);
        assert_eq!(c.decide(0.99), Call::Male);
        // With a 10% spread between individuals the evidence is bounded: no depth reaches 0.99.
        let spread = with_spread(plain, 0.1);
        assert!(
            spread.max_confidence() < 0.99,
            "{}",
            spread.max_confidence()
        );
        for n in [1_000, 10_000, 100_000, 1_000_000] {
            for rate in [0.0335, 0.0365, 0.04] {
                let c = sample(&spread, n, rate);
                assert_eq!(c.decide(0.99), Call::NoCall, "{n} chunks at {rate}");
                assert_eq!(c.no_call_reason(0.99), Some(NoCallReason::WeakDetector));
            }
        }
    }

    #[test]
    fn a_strong_detector_still_calls_and_its_evidence_is_bounded() {
        // The demo model's human detector, roughly: 0.5% of male chunks, 0.005% of female ones.
        let e = with_spread(ev(0.005, 0.00005), 0.1);
        assert!(e.max_confidence() > 0.9999, "{}", e.max_confidence());
        assert_eq!(sample(&e, 2_000, 0.005).decide(0.99), Call::Male);
        assert_eq!(sample(&e, 2_000, 0.0).decide(0.99), Call::Female);
        let few = sample(&e, 100, 0.0);
        assert_eq!(
            few.no_call_reason(0.99),
            Some(NoCallReason::TooLittleEvidence)
        );
        // While n ≪ κ the evidence is the plain ratio's; for large n it saturates.
        let plain = ev(0.005, 0.00005);
        let (a, b) = (sample(&e, 200, 0.005), sample(&plain, 200, 0.005));
        assert!(
            (a.log_lr() - b.log_lr()).abs() < 0.05 * b.log_lr().abs(),
            "{} {}",
            a.log_lr(),
            b.log_lr()
        );
        let huge = sample(&e, 10_000_000, 0.005).log_lr();
        let plain_huge = sample(&plain, 10_000_000, 0.005).log_lr();
        assert!(huge < plain_huge / 10.0, "{huge} vs {plain_huge}");
    }

    #[test]
    fn pseudo_counts_keep_rates_inside_zero_one() {
        assert_eq!(rate(0, 999), 0.0005);
        assert_eq!(rate(10, 10), 10.5 / 11.0);
    }
}
