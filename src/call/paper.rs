//! Calling a sample from its groups: the paper's rule. The fraction of groups with
//! P(female) > 0.5 is compared with the species' calibrated threshold for K groups; above it the
//! sample is female, at or below it male. No-call when there is no calibrated threshold or no
//! complete group, and — unlike the paper — when the rule cannot be trusted at this K: the
//! threshold was right on fewer than `min_confidence` of the validation subsets, or (calibrations
//! without that record) the threshold is 1, so that no sample could ever be called female.

use super::calibration::Calibration;
use super::Call;

/// Accumulates group probabilities and decides.
#[derive(Debug, Clone, Default)]
pub struct SampleCall {
    pub n_groups: u64,
    pub n_female_groups: u64,
}

/// The paper's rule's decision: the threshold in force, the call, and why it is a no-call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PaperDecision {
    pub threshold: Option<f64>,
    pub call: Call,
    pub no_call_reason: Option<&'static str>,
}

impl SampleCall {
    pub fn add(&mut self, p_female: f32) {
        self.n_groups += 1;
        if p_female > 0.5 {
            self.n_female_groups += 1;
        }
    }

    /// Fraction of groups with P(female) > 0.5, if any group was seen.
    pub fn fraction(&self) -> Option<f64> {
        (self.n_groups > 0).then(|| self.n_female_groups as f64 / self.n_groups as f64)
    }

    /// The threshold in force and the call; `min_confidence` is the validation accuracy the
    /// threshold must have reached.
    pub fn decide(&self, calibration: Option<&Calibration>, min_confidence: f64) -> PaperDecision {
        let found = calibration.and_then(|c| c.threshold_for(self.n_groups).map(|kt| (c, kt)));
        let (Some((cal, (k, threshold))), Some(f)) = (found, self.fraction()) else {
            return no_call(None, "no calibrated threshold or group");
        };
        let untrusted = match cal.validation_accuracy.get(&k) {
            Some(&accuracy) => (accuracy < min_confidence).then_some(
                "the paper's threshold for this many groups was right on fewer validation \
                 subsets than --min-confidence",
            ),
            None => (threshold >= 1.0).then_some(
                "the paper's calibrated threshold is 1: no sample could be called female",
            ),
        };
        if let Some(reason) = untrusted {
            return no_call(Some(threshold), reason);
        }
        let call = if f > threshold {
            Call::Female
        } else {
            Call::Male
        };
        PaperDecision {
            threshold: Some(threshold),
            call,
            no_call_reason: None,
        }
    }
}

fn no_call(threshold: Option<f64>, reason: &'static str) -> PaperDecision {
    PaperDecision {
        threshold,
        call: Call::NoCall,
        no_call_reason: Some(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calibration(accuracy: &[(u64, f64)]) -> Calibration {
        Calibration {
            rule: "median".into(),
            thresholds: [(2, 0.5), (4, 0.7)].into_iter().collect(),
            validation_accuracy: accuracy.iter().copied().collect(),
            evidence: None,
            x_evidence: None,
        }
    }

    fn calls(s: &SampleCall, cal: Option<&Calibration>) -> (Option<f64>, Call) {
        let d = s.decide(cal, 0.99);
        (d.threshold, d.call)
    }

    #[test]
    fn paper_rule_by_hand() {
        let cal = calibration(&[]);
        let cal = Some(&cal);
        let mut s = SampleCall::default();
        assert_eq!(calls(&s, cal), (None, Call::NoCall));
        s.add(0.9);
        // 1 group: below the smallest calibrated K → no threshold.
        assert_eq!(calls(&s, cal), (None, Call::NoCall));
        s.add(0.2);
        // 2 groups, fraction 0.5, threshold 0.5: not above → male.
        assert_eq!(calls(&s, cal), (Some(0.5), Call::Male));
        s.add(0.51);
        s.add(0.5); // exactly 0.5 is not > 0.5
                    // 4 groups, fraction 2/4 = 0.5 vs 0.7 → male.
        assert_eq!(s.fraction(), Some(0.5));
        assert_eq!(calls(&s, cal), (Some(0.7), Call::Male));
        for _ in 0..4 {
            s.add(0.99);
        }
        // 8 groups, 6/8 = 0.75 > 0.7 → female.
        assert_eq!(calls(&s, cal), (Some(0.7), Call::Female));
        assert_eq!(calls(&s, None).1, Call::NoCall);
    }

    #[test]
    fn untrusted_thresholds_give_no_calls() {
        let mut s = SampleCall::default();
        for p in [0.9, 0.2, 0.9, 0.9] {
            s.add(p);
        }
        // Validation accuracy 0.98 at K = 4 is below 0.99: no-call with the reason, the
        // threshold still reported; at K = 2 (0.995) the rule calls.
        let cal = calibration(&[(2, 0.995), (4, 0.98)]);
        let d = s.decide(Some(&cal), 0.99);
        assert_eq!((d.threshold, d.call), (Some(0.7), Call::NoCall));
        assert!(d.no_call_reason.unwrap().contains("validation"));
        assert_eq!(s.decide(Some(&cal), 0.95).call, Call::Female);
        let two = SampleCall {
            n_groups: 2,
            n_female_groups: 2,
        };
        assert_eq!(two.decide(Some(&cal), 0.99).call, Call::Female);
        // Without recorded accuracies, a threshold of 1 (nothing can be above it) is untrusted.
        let mut degenerate = calibration(&[]);
        degenerate.thresholds.insert(4, 1.0);
        let d = s.decide(Some(&degenerate), 0.99);
        assert_eq!(d.call, Call::NoCall);
        assert!(d.no_call_reason.unwrap().contains("is 1"));
    }
}
