//! Metrics and the calibration arithmetic: ROC-AUC (Mann–Whitney, ties count one half), the
//! false-Y rate at a fixed sensitivity, median and numpy's linear-interpolation quantile.

/// ROC-AUC of `scores` for binary `labels` (true = positive). `None` if a class is absent.
pub fn roc_auc(scores: &[f32], labels: &[bool]) -> Option<f64> {
    assert_eq!(scores.len(), labels.len());
    let pos = labels.iter().filter(|&&l| l).count();
    let neg = labels.len() - pos;
    if pos == 0 || neg == 0 {
        return None;
    }
    // Rank-sum with average ranks for ties.
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum_pos = 0.0;
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            if labels[k] {
                rank_sum_pos += avg;
            }
        }
        i = j + 1;
    }
    let u = rank_sum_pos - (pos * (pos + 1)) as f64 / 2.0;
    Some(u / (pos * neg) as f64)
}

/// A Y detector's false positives at a fixed sensitivity (what the `lr` rule's reads to a call rest
/// on, where ROC-AUC saturates first).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FalseY {
    /// The highest logit threshold at which at least the asked share of Y chunks score at or
    /// above it.
    pub threshold: f32,
    /// Negative (Y-free) chunks at or above `threshold`, and all of them.
    pub hits: usize,
    pub negatives: usize,
    /// The share of Y chunks above every negative: the sensitivity with no false-Y at all.
    pub clean_sensitivity: f64,
}

impl FalseY {
    pub fn rate(&self) -> f64 {
        self.hits as f64 / self.negatives.max(1) as f64
    }
}

/// The false-Y rate of `negatives` at the threshold that keeps `sensitivity` of the `positives`
/// (Y chunks' logits). `None` if either set is empty.
pub fn false_y_at(positives: &[f32], negatives: &[f32], sensitivity: f64) -> Option<FalseY> {
    if positives.is_empty() || negatives.is_empty() {
        return None;
    }
    let mut pos = positives.to_vec();
    pos.sort_by(f32::total_cmp);
    // The k-th highest positive, k = ⌈sensitivity · n⌉: at least that share at or above it.
    let keep = ((sensitivity.clamp(0.0, 1.0) * pos.len() as f64).ceil() as usize).max(1);
    let threshold = pos[pos.len() - keep];
    let top = negatives.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    Some(FalseY {
        threshold,
        hits: negatives.iter().filter(|&&v| v >= threshold).count(),
        negatives: negatives.len(),
        clean_sensitivity: pos.iter().filter(|&&v| v > top).count() as f64 / pos.len() as f64,
    })
}

/// Quantile `q` ∈ [0, 1] with linear interpolation (numpy's default).
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    Some(v[lo] + (v[hi] - v[lo]) * (pos - lo as f64))
}

pub fn median(values: &[f64]) -> Option<f64> {
    quantile(values, 0.5)
}

/// Mean and (population) standard deviation.
pub fn mean_sd(values: &[f64]) -> (f64, f64) {
    let n = values.len().max(1) as f64;
    let m = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / n;
    (m, var.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_by_hand() {
        // Positives 0.9, 0.4; negatives 0.5, 0.1. Pairs (pos > neg): (0.9,0.5) (0.9,0.1) (0.4,0.1)
        // = 3 of 4.
        let s = [0.9, 0.5, 0.4, 0.1];
        let l = [true, false, true, false];
        assert_eq!(roc_auc(&s, &l), Some(0.75));
        // A tie between a positive and a negative counts one half: (0.5 vs 0.5) → 0.5 + 1 = 1.5/2.
        assert_eq!(roc_auc(&[0.5, 0.5, 0.7], &[true, false, false]), Some(0.25));
        assert_eq!(roc_auc(&[0.5], &[true]), None);
        assert_eq!(roc_auc(&[1.0, 0.0], &[true, false]), Some(1.0));
    }

    #[test]
    fn false_y_by_hand() {
        let pos = [3.0, 1.0, 2.0, 4.0];
        let neg = [0.5, 1.5, 2.0, -1.0, 0.0];
        // Sensitivity 0.75 keeps 3 of 4 positives: threshold 2.0; negatives ≥ 2.0: one (a tie
        // counts as a hit). Above the top negative (2.0): 3.0 and 4.0, half the positives.
        let f = false_y_at(&pos, &neg, 0.75).unwrap();
        assert_eq!((f.threshold, f.hits, f.negatives), (2.0, 1, 5));
        assert_eq!((f.rate(), f.clean_sensitivity), (0.2, 0.5));
        // 0.7 also needs 3 positives (⌈2.8⌉); 1.0 needs all: threshold 1.0, hits 1.5 and 2.0.
        assert_eq!(false_y_at(&pos, &neg, 0.7).unwrap().threshold, 2.0);
        assert_eq!(false_y_at(&pos, &neg, 1.0).unwrap().hits, 2);
        // Sensitivity 0 still keeps the top positive.
        assert_eq!(false_y_at(&pos, &neg, 0.0).unwrap().threshold, 4.0);
        assert_eq!(false_y_at(&[], &neg, 0.5), None);
        assert_eq!(false_y_at(&pos, &[], 0.5), None);
    }

    #[test]
    fn quantiles_by_hand() {
        assert_eq!(median(&[0.3, 0.1, 0.2]), Some(0.2));
        assert_eq!(median(&[0.1, 0.2, 0.3, 0.4]), Some(0.25));
        // numpy.quantile([1, 2, 3, 4, 5], 0.3) = 2.2
        assert!((quantile(&[5.0, 1.0, 4.0, 2.0, 3.0], 0.3).unwrap() - 2.2).abs() < 1e-12);
        assert_eq!(mean_sd(&[1.0, 3.0]), (2.0, 1.0));
    }
}
