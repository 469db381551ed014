//! Metrics and the calibration arithmetic: ROC-AUC (Mann–Whitney, ties count one half), median and
//! numpy's linear-interpolation quantile.

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
    fn quantiles_by_hand() {
        assert_eq!(median(&[0.3, 0.1, 0.2]), Some(0.2));
        assert_eq!(median(&[0.1, 0.2, 0.3, 0.4]), Some(0.25));
        // numpy.quantile([1, 2, 3, 4, 5], 0.3) = 2.2
        assert!((quantile(&[5.0, 1.0, 4.0, 2.0, 3.0], 0.3).unwrap() - 2.2).abs() < 1e-12);
        assert_eq!(mean_sd(&[1.0, 3.0]), (2.0, 1.0));
    }
}
