//! Calling a sample from its groups: the paper's rule. The fraction of groups with
//! P(female) > 0.5 is compared with the species' calibrated threshold for K groups; above it the
//! sample is female, at or below it male. No calibrated threshold, or no complete group: no-call.

use super::calibration::Calibration;
use super::Call;

/// Accumulates group probabilities and decides.
#[derive(Debug, Clone, Default)]
pub struct SampleCall {
    pub n_groups: u64,
    pub n_female_groups: u64,
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

    /// The threshold in force and the call.
    pub fn decide(&self, calibration: Option<&Calibration>) -> (Option<f64>, Call) {
        let threshold = calibration
            .and_then(|c| c.threshold_for(self.n_groups))
            .map(|(_, t)| t);
        let call = match (self.fraction(), threshold) {
            (Some(f), Some(t)) if f > t => Call::Female,
            (Some(_), Some(_)) => Call::Male,
            _ => Call::NoCall,
        };
        (threshold, call)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_rule_by_hand() {
        let cal = Calibration {
            rule: "median".into(),
            thresholds: [(2, 0.5), (4, 0.7)].into_iter().collect(),
            evidence: None,
        };
        let mut s = SampleCall::default();
        assert_eq!(s.decide(Some(&cal)), (None, Call::NoCall));
        s.add(0.9);
        // 1 group: below the smallest calibrated K → no threshold.
        assert_eq!(s.decide(Some(&cal)), (None, Call::NoCall));
        s.add(0.2);
        // 2 groups, fraction 0.5, threshold 0.5: not above → male.
        assert_eq!(s.decide(Some(&cal)), (Some(0.5), Call::Male));
        s.add(0.51);
        s.add(0.5); // exactly 0.5 is not > 0.5
                    // 4 groups, fraction 2/4 = 0.5 vs 0.7 → male.
        assert_eq!(s.fraction(), Some(0.5));
        assert_eq!(s.decide(Some(&cal)), (Some(0.7), Call::Male));
        s.add(0.99);
        s.add(0.99);
        s.add(0.99);
        s.add(0.99);
        // 8 groups, 6/8 = 0.75 > 0.7 → female.
        assert_eq!(s.decide(Some(&cal)), (Some(0.7), Call::Female));
        assert_eq!(s.decide(None).1, Call::NoCall);
    }
}
