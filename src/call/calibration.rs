//! What `genosift.json` stores per species: the paper's thresholds by K and, for models with a
//! per-chunk Y output, the calibrated Y detector. Data only: fitting lives in
//! `crate::experiment::fit`, calling in `paper` and `lr`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::dosage::XEvidence;
use super::lr::YEvidence;

/// The calibration of one species: for each K (groups seen), the threshold on the fraction of
/// groups with P(female) > 0.5 above which the sample is called female.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// How the thresholds were chosen (`median` as in the paper, or `quantile`).
    pub rule: String,
    pub thresholds: BTreeMap<u64, f64>,
    /// For each K of `thresholds`: how often the threshold called the validation genomes'
    /// resampled fractions right (balanced: the mean of the male and the female share). The
    /// paper's rule says `no-call` at a K whose accuracy is below `--min-confidence`. Empty in
    /// calibrations made before it was recorded.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub validation_accuracy: BTreeMap<u64, f64>,
    /// The per-chunk Y detector of the likelihood-ratio rule, for models with a chunk classifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<YEvidence>,
    /// The per-chunk X detector (X dosage and karyotype), for models with an X classifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x_evidence: Option<XEvidence>,
}

impl Calibration {
    /// The threshold for `k` groups: that of the largest calibrated K ≤ `k`, if any.
    pub fn threshold_for(&self, k: u64) -> Option<(u64, f64)> {
        self.thresholds
            .range(..=k)
            .next_back()
            .map(|(&kk, &t)| (kk, t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_is_largest_k_at_or_below() {
        let c = Calibration {
            rule: "median".into(),
            thresholds: [(25, 0.7), (100, 0.6), (1000, 0.5)].into_iter().collect(),
            validation_accuracy: BTreeMap::new(),
            evidence: None,
            x_evidence: None,
        };
        assert_eq!(c.threshold_for(10), None);
        assert_eq!(c.threshold_for(25), Some((25, 0.7)));
        assert_eq!(c.threshold_for(999), Some((100, 0.6)));
        assert_eq!(c.threshold_for(5000), Some((1000, 0.5)));
    }
}
