//! Sex-chromosome karyotypes (issue 18): the constitutions a sex check tells apart, and the call
//! from X and Y dosages.
//!
//! A karyotype is called only when both dosages are pinned to a whole number of copies: the 95%
//! interval of each lies inside that number ± 0.5 (the X dosage counts X copies relative to the
//! autosomes, 2 in XX; the Y dosage counts Y relative to a normal male, 1 in XY). An interval that
//! reaches across a half (too few reads, a weak detector, a mixture or a mosaic) gives `NA`, never
//! a guess; so does a model without an X output.

use super::dosage::{Dosage, Verdict};
use super::Call;

/// A sex-chromosome constitution by its copies of X and Y.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Karyotype {
    /// Turner syndrome (45,X).
    X0,
    XX,
    /// Triple X (47,XXX).
    Xxx,
    XY,
    /// Klinefelter syndrome (47,XXY).
    Xxy,
    /// 47,XYY.
    Xyy,
}

impl Karyotype {
    pub const ALL: [Karyotype; 6] = [
        Karyotype::X0,
        Karyotype::XX,
        Karyotype::Xxx,
        Karyotype::XY,
        Karyotype::Xxy,
        Karyotype::Xyy,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Karyotype::X0 => "X0",
            Karyotype::XX => "XX",
            Karyotype::Xxx => "XXX",
            Karyotype::XY => "XY",
            Karyotype::Xxy => "XXY",
            Karyotype::Xyy => "XYY",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        let s = s.to_ascii_uppercase().replace('O', "0");
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Copies of X and of Y.
    pub fn copies(self) -> (u32, u32) {
        match self {
            Karyotype::X0 => (1, 0),
            Karyotype::XX => (2, 0),
            Karyotype::Xxx => (3, 0),
            Karyotype::XY => (1, 1),
            Karyotype::Xxy => (2, 1),
            Karyotype::Xyy => (1, 2),
        }
    }

    pub fn from_copies(x: u32, y: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.copies() == (x, y))
    }

    /// Whether the constitution has a Y (the sex a sample sheet reports for it).
    pub fn has_y(self) -> bool {
        self.copies().1 > 0
    }
}

/// The whole number of copies a dosage interval pins down: `n` when `[lo, hi]` lies inside
/// `(n − 0.5, n + 0.5)`.
pub fn copies(d: &Dosage) -> Option<u32> {
    let n = d.estimate.round().max(0.0);
    (d.lo > n - 0.5 && d.hi < n + 0.5).then_some(n as u32)
}

/// The karyotype both dosages pin down, if any (see the module docs).
pub fn call(x: Option<&Dosage>, y: Option<&Dosage>) -> Option<Karyotype> {
    Karyotype::from_copies(copies(x?)?, copies(y?)?)
}

/// The karyotype of a sample the Y evidence called: none for a `no-call` (a `y_partial` flag: no
/// pure karyotype describes it; a call the Y dosage contradicts: neither dosage can be trusted;
/// too little evidence), nor one whose Y copies disagree with the call.
pub fn of_verdict(v: &Verdict, x: Option<&Dosage>) -> Option<Karyotype> {
    let k = call(x, v.dosage.as_ref())?;
    match v.call {
        Call::Male if k.has_y() => Some(k),
        Call::Female if !k.has_y() => Some(k),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(estimate: f64, lo: f64, hi: f64) -> Dosage {
        Dosage { estimate, lo, hi }
    }

    #[test]
    fn names_round_trip() {
        for k in Karyotype::ALL {
            assert_eq!(Karyotype::parse(k.as_str()), Some(k));
        }
        assert_eq!(Karyotype::parse("xo"), Some(Karyotype::X0));
        assert_eq!(Karyotype::parse("XXXY"), None);
    }

    #[test]
    fn calls_only_what_both_intervals_pin() {
        let x2 = d(1.9, 1.6, 2.3);
        let x1 = d(1.1, 0.8, 1.4);
        let y0 = d(0.0, 0.0, 0.03);
        let y1 = d(0.97, 0.8, 1.2);
        let y2 = d(2.05, 1.7, 2.4);
        assert_eq!(call(Some(&x2), Some(&y0)), Some(Karyotype::XX));
        assert_eq!(call(Some(&x1), Some(&y1)), Some(Karyotype::XY));
        assert_eq!(call(Some(&x1), Some(&y0)), Some(Karyotype::X0));
        assert_eq!(call(Some(&x2), Some(&y1)), Some(Karyotype::Xxy));
        assert_eq!(call(Some(&x1), Some(&y2)), Some(Karyotype::Xyy));
        // An interval across a half: no call.
        assert_eq!(call(Some(&d(1.5, 1.2, 1.8)), Some(&y0)), None);
        assert_eq!(call(Some(&x2), Some(&d(0.45, 0.3, 0.6))), None);
        // No X output, or no Y detector: no call.
        assert_eq!(call(None, Some(&y1)), None);
        assert_eq!(call(Some(&x1), None), None);
        // Copies no karyotype here names (XXYY): no call.
        assert_eq!(call(Some(&x2), Some(&y2)), None);
        assert_eq!(call(Some(&d(0.1, 0.0, 0.3)), Some(&y1)), None);
    }

    #[test]
    fn only_a_called_sample_gets_a_karyotype() {
        use crate::call::dosage::Flag;
        let verdict = |call, y: Dosage, flag| Verdict {
            call,
            no_call_reason: None,
            dosage: Some(y),
            flag,
        };
        let x1 = d(1.0, 0.8, 1.2);
        let y0 = d(0.0, 0.0, 0.03);
        let y2 = d(2.0, 1.8, 2.2);
        let female = verdict(Call::Female, y0, None);
        assert_eq!(of_verdict(&female, Some(&x1)), Some(Karyotype::X0));
        let xyy = verdict(Call::Male, y2, Some(Flag::YExcess));
        assert_eq!(of_verdict(&xyy, Some(&x1)), Some(Karyotype::Xyy));
        // A no-call (a contradiction, too little evidence, a flag) and a call its Y copies
        // disagree with get none.
        assert_eq!(
            of_verdict(&verdict(Call::NoCall, y0, None), Some(&x1)),
            None
        );
        assert_eq!(of_verdict(&verdict(Call::Male, y0, None), Some(&x1)), None);
        assert_eq!(of_verdict(&female, None), None);
    }
}
