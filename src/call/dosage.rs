//! Y dosage (issue 18): how much Y signal a sample carries relative to a normal male, with a 95%
//! interval, and the flag for a sample that is neither XX nor XY by its Y.
//!
//! With the calibrated single-threshold hit rates `p_f` (a female's chunks: false hits) and `p_m`
//! (a male's), a sample whose cells carry a Y in a share `d` of a normal male's has the hit rate
//! `p(d) = p_f + d·(p_m − p_f)`: `d = 0` is XX, `d = 1` XY, a female with 10% male DNA mixed in
//! `d ≈ 0.1`, a male with mosaic loss of Y in 30% of cells `d = 0.7`. From `h` hits in `n` chunks,
//! `d̂ = (h/n − p_f) / (p_m − p_f)` and the interval maps the Wilson 95% interval of the rate
//! through the same line (both clamped at 0: no sample has less Y than none).
//!
//! The rate also varies between individuals (the calibration's overdispersion ρ, the larger of
//! the two sexes', so the interval errs wide), so the binomial counts are deflated by the
//! beta-binomial design effect `1 + (n − 1)·ρ` before the interval is taken: at depth the interval
//! stops shrinking at the spread between individuals rather than pretending to a precision the
//! calibration does not have.
//!
//! **The flags.** `y_partial` when the interval lies wholly inside (`FLAG_FLOOR`, `FLAG_CEILING`):
//! more Y than a female's false hits explain and clearly less than a male's. The ceiling, 0.8,
//! keeps normal males whose hits fall short by chance from being flagged: with 1, a 95% interval
//! misses a normal male's dosage from above in about 2.5% of his read sets, and the demo
//! evaluation (`evaluate --reads`) lost up to 1.3% of its `lr` calls; with 0.8, at most 0.25%. A mosaic loss of Y in
//! more than about 20% of cells is flagged at depth, a smaller one is not. The floor, 0.02 of a male's Y signal,
//! sits above the spread of false-Y rates between test females seen so far (the highest, seed 2's
//! mouse_F20, had eight times the calibrated false-Y rate, 0.01 in dosage units), so a female with
//! a few more false hits than the validation females is not flagged; a 10% male admixture is, at
//! depth. A sample flagged `y_partial` is not called: `call` is `no-call` with the flag as its
//! reason. `y_excess` when the interval lies above [`EXCESS_FLOOR`] (1.5): two copies of the Y, as
//! in XYY; the sample is still called male.
//!
//! **A call the dosage contradicts.** The likelihood ratio weighs the sexes against each other,
//! so a sample whose Y hits fit neither (a false-Y rate far above the calibrated one, on a genome
//! unlike the calibration genomes) goes to the sex that explains it less badly: on a simulated
//! cohort of another seed (species genomes the demo model never saw), the demo model's `lr`
//! called every human female male at 50,000 reads, with Y dosages of 0.02. So a `male` call needs
//! a dosage interval that reaches [`FLAG_CEILING`] and a `female` call one that reaches down to
//! [`FLAG_FLOOR`]; otherwise the sample is `no-call` ([`MALE_WITHOUT_Y`], [`FEMALE_WITH_Y`]).

use super::lr::{EvidenceCall, YEvidence};
use super::Call;

/// Y dosage relative to a normal male (0 = XX, 1 = XY) and its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Dosage {
    pub estimate: f64,
    pub lo: f64,
    pub hi: f64,
}

/// The dosage below which a Y signal is not flagged (see the module docs).
pub const FLAG_FLOOR: f64 = 0.02;

/// The two-sided 95% normal quantile.
const Z95: f64 = 1.959_963_984_540_054;

/// What the dosage says about the sample, beside the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    /// The Y dosage interval lies between [`FLAG_FLOOR`] and [`FLAG_CEILING`]: male DNA in a
    /// female sample, mosaic loss of Y, a mixture. The sample is not called.
    YPartial,
    /// The Y dosage interval lies above [`EXCESS_FLOOR`]: two copies of the Y (XYY, or a
    /// duplicated Y; two males' DNA mixed would not raise it). The sample is still called male.
    YExcess,
}

/// The dosage above which the Y is flagged as more than one copy.
pub const EXCESS_FLOOR: f64 = 1.5;

impl Flag {
    pub fn as_str(self) -> &'static str {
        match self {
            Flag::YPartial => "y_partial",
            Flag::YExcess => "y_excess",
        }
    }

    /// Why a flagged sample is not called (`None`: it is called).
    pub fn reason(self) -> Option<&'static str> {
        match self {
            Flag::YPartial => Some(
                "Y dosage between a female's and a male's (flag y_partial: male DNA in a female sample, mosaic loss of Y or a mixture)",
            ),
            Flag::YExcess => None,
        }
    }
}

/// The Wilson score interval (95%) of a binomial rate from `hits` of `n` (real-valued counts).
pub fn wilson(hits: f64, n: f64) -> (f64, f64) {
    if n <= 0.0 {
        return (0.0, 1.0);
    }
    let p = hits / n;
    let z2 = Z95 * Z95;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / (1.0 + z2 / n);
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// The Y dosage of `hits` in `chunks` under the calibrated detector; `None` without chunks or
/// when the detector does not separate the sexes (`p_m ≤ p_f`).
pub fn y_dosage(hits: u64, chunks: u64, ev: &YEvidence) -> Option<Dosage> {
    let (pm, pf) = (ev.p_hit_male, ev.p_hit_female);
    if chunks == 0 || pm <= pf {
        return None;
    }
    let rho = ev
        .overdispersion
        .as_ref()
        .filter(|o| o.is_valid())
        .map_or(0.0, |o| o.rho_male.max(o.rho_female));
    Some(dosage(hits, chunks, rho, |rate| (rate - pf) / (pm - pf)))
}

/// A dosage from `hits` in `chunks`: `line` maps a hit rate to the dosage (increasing), applied to
/// the rate and to its Wilson interval after the design effect `1 + (n − 1)·rho`; clamped at 0.
fn dosage(hits: u64, chunks: u64, rho: f64, line: impl Fn(f64) -> f64) -> Dosage {
    let n = chunks as f64;
    let design = 1.0 + (n - 1.0) * rho;
    let (lo, hi) = wilson(hits as f64 / design, n / design);
    let d = |rate: f64| line(rate).max(0.0);
    Dosage {
        estimate: d(hits as f64 / n),
        lo: d(lo),
        hi: d(hi),
    }
}

/// The calibrated X detector of one species (`genosift.json`, for models with an X output): a
/// chunk is an X hit when its X logit is above `logit_threshold`; its hit rates in XX (female)
/// and XY (male) validation chunks, and how much the rate varies between individuals.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct XEvidence {
    pub logit_threshold: f32,
    /// P(hit) for a chunk of an XX sample.
    pub p_hit_xx: f64,
    /// P(hit) for a chunk of an XY sample.
    pub p_hit_xy: f64,
    /// Validation chunks the rates were measured on.
    pub chunks_xx: u64,
    pub chunks_xy: u64,
    /// The intra-genome correlation ρ of the hit rate (the larger of the two sexes'), as the Y
    /// detector's [`Overdispersion`](super::lr::Overdispersion); 0 when not measured.
    pub rho: f64,
}

/// X hits in a sample's chunks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct XCount {
    pub hits: u64,
    pub chunks: u64,
}

impl XCount {
    pub fn add(&mut self, logit: f32, ev: &XEvidence) {
        self.hits += u64::from(logit > ev.logit_threshold);
        self.chunks += 1;
    }
}

/// Copies of X relative to the autosomes (2 = XX, 1 = XY) from `count` under `ev`: the line
/// through the XY and XX hit rates, `1 + (rate − p_xy) / (p_xx − p_xy)` (the X share of a
/// genome is nearly linear in its X copies: the X is a few percent of it); `None` without chunks
/// or when the detector does not separate XX from XY.
pub fn x_dosage(count: XCount, ev: &XEvidence) -> Option<Dosage> {
    let (xx, xy) = (ev.p_hit_xx, ev.p_hit_xy);
    if count.chunks == 0 || xx <= xy {
        return None;
    }
    let rho = if ev.rho.is_finite() && (0.0..1.0).contains(&ev.rho) {
        ev.rho
    } else {
        0.0
    };
    Some(dosage(count.hits, count.chunks, rho, |rate| {
        1.0 + (rate - xy) / (xx - xy)
    }))
}

/// The dosage above which a Y deficit is not flagged (see the module docs).
pub const FLAG_CEILING: f64 = 0.8;

/// The flag the dosage raises, if any.
pub fn flag(d: &Dosage) -> Option<Flag> {
    if d.lo > FLAG_FLOOR && d.hi < FLAG_CEILING {
        Some(Flag::YPartial)
    } else if d.lo > EXCESS_FLOOR {
        Some(Flag::YExcess)
    } else {
        None
    }
}

/// Why a sample the likelihood ratio calls male is not called: its Y dosage interval lies below
/// [`FLAG_CEILING`] (and reaches down to a female's, or it would be flagged). The ratio can favour
/// male for a sample whose hits fit neither sex: a false-Y rate far above the calibrated one (a
/// genome unlike the calibration genomes) is still far closer to a female's rate than a male's.
pub const MALE_WITHOUT_Y: &str =
    "the likelihood ratio favours male but the Y dosage is below a male's (the Y hits fit neither sex: a genome unlike the calibration genomes?)";

/// Why a sample the likelihood ratio calls female is not called: its Y dosage interval lies above
/// [`FLAG_FLOOR`] (and reaches up to a male's, or it would be flagged).
pub const FEMALE_WITH_Y: &str =
    "the likelihood ratio favours female but the Y dosage is above a female's (the Y hits fit neither sex)";

/// The likelihood-ratio rule's decision with what the dosage says: a flagged sample is not called,
/// nor one whose dosage contradicts the ratio's call (a male call needs a dosage interval that
/// reaches [`FLAG_CEILING`], a female call one that reaches down to [`FLAG_FLOOR`]).
/// `predict` and both evaluations decide through this, so they count the same calls.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    pub call: Call,
    pub no_call_reason: Option<&'static str>,
    pub dosage: Option<Dosage>,
    pub flag: Option<Flag>,
}

pub fn verdict(e: &EvidenceCall, min_confidence: f64) -> Verdict {
    let dosage = y_dosage(e.hits, e.chunks, &e.evidence);
    let flag = dosage.as_ref().and_then(flag);
    let (call, no_call_reason) = match (flag.and_then(Flag::reason), e.decide(min_confidence)) {
        (Some(reason), _) => (Call::NoCall, Some(reason)),
        (None, Call::Male) if dosage.is_some_and(|d| d.hi < FLAG_CEILING) => {
            (Call::NoCall, Some(MALE_WITHOUT_Y))
        }
        (None, Call::Female) if dosage.is_some_and(|d| d.lo > FLAG_FLOOR) => {
            (Call::NoCall, Some(FEMALE_WITH_Y))
        }
        (None, call) => (call, e.no_call_reason(min_confidence).map(|r| r.as_str())),
    };
    Verdict {
        call,
        no_call_reason,
        dosage,
        flag,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::lr::{test_evidence as ev, Overdispersion};

    #[test]
    fn dosage_interval_by_hand() {
        // 20 hits in 10,000 chunks, p_m = 0.004, p_f = 0.0001 (no overdispersion).
        // p̂ = 0.002, z² = 3.841459; centre = (0.002 + 3.841459/20,000) / (1 + 3.841459/10,000)
        // = 0.00219207 / 1.00038415 = 0.00219123; half = 1.959964 · √(0.002·0.998/10,000 +
        // 3.841459/(4·10⁸)) / 1.00038415 = 1.959964 · 0.000457388 / 1.00038415 = 0.00089612;
        // rate interval (0.00129511, 0.00308735). Dosage = (rate − 0.0001) / 0.0039:
        // d̂ = 0.0019/0.0039 = 0.487179, lo = 0.306439, hi = 0.765987.
        let d = y_dosage(20, 10_000, &ev(0.004, 0.0001)).unwrap();
        assert!((d.estimate - 0.487179).abs() < 1e-6, "{d:?}");
        assert!((d.lo - 0.306439).abs() < 1e-5, "{d:?}");
        assert!((d.hi - 0.765987).abs() < 1e-5, "{d:?}");
        assert_eq!(flag(&d), Some(Flag::YPartial));
    }

    #[test]
    fn x_dosage_by_hand() {
        // p_xx = 0.06, p_xy = 0.03, no spread; 450 hits in 10,000 chunks: rate 0.045, dosage
        // 1 + 0.015/0.03 = 1.5. Wilson: z² = 3.841459; centre = (0.045 + 0.000192073) / 1.00038415
        // = 0.0451747; half = 1.959964 · √(0.045·0.955/10,000 + 3.841459/(4·10⁸)) / 1.00038415
        // = 1.959964 · 0.00207536 / 1.00038415 = 0.00406606; rate interval (0.0411087, 0.0492408)
        // → dosage (1.370289, 1.641359).
        let ev = XEvidence {
            logit_threshold: 0.0,
            p_hit_xx: 0.06,
            p_hit_xy: 0.03,
            chunks_xx: 0,
            chunks_xy: 0,
            rho: 0.0,
        };
        let d = x_dosage(
            XCount {
                hits: 450,
                chunks: 10_000,
            },
            &ev,
        )
        .unwrap();
        assert!((d.estimate - 1.5).abs() < 1e-9, "{d:?}");
        assert!((d.lo - 1.370289).abs() < 1e-5, "{d:?}");
        assert!((d.hi - 1.641359).abs() < 1e-5, "{d:?}");
        let xx = x_dosage(
            XCount {
                hits: 600,
                chunks: 10_000,
            },
            &ev,
        )
        .unwrap();
        assert!((xx.estimate - 2.0).abs() < 1e-9);
        assert_eq!(x_dosage(XCount { hits: 1, chunks: 0 }, &ev), None);
        let flat = XEvidence {
            p_hit_xx: 0.03,
            ..ev.clone()
        };
        assert_eq!(
            x_dosage(
                XCount {
                    hits: 300,
                    chunks: 10_000
                },
                &flat
            ),
            None
        );
        let mut c = XCount::default();
        for l in [0.5, -0.5, 2.0] {
            c.add(l, &ev);
        }
        assert_eq!(c, XCount { hits: 2, chunks: 3 });
    }

    #[test]
    fn normal_samples_are_not_flagged() {
        let e = ev(0.004, 0.0001);
        // A female: no hits; a male at his expected rate.
        let f = y_dosage(0, 40_000, &e).unwrap();
        assert_eq!((f.estimate, f.lo), (0.0, 0.0));
        assert!(f.hi < 0.05 && flag(&f).is_none(), "{f:?}");
        let m = y_dosage(160, 40_000, &e).unwrap();
        assert!(m.lo < 1.0 && m.hi > 1.0 && flag(&m).is_none(), "{m:?}");
        // A female with a few false hits more than calibrated stays below the floor.
        let f = y_dosage(12, 40_000, &e).unwrap();
        assert!(flag(&f).is_none(), "{f:?}");
        // Two Y: flagged, still a male.
        let two = y_dosage(320, 40_000, &e).unwrap();
        assert_eq!(flag(&two), Some(Flag::YExcess), "{two:?}");
        // Not separable: no dosage.
        assert_eq!(y_dosage(5, 100, &ev(0.001, 0.001)), None);
        assert_eq!(y_dosage(0, 0, &e), None);
    }

    #[test]
    fn a_call_the_dosage_contradicts_is_a_no_call() {
        use crate::call::lr::{EvidenceCall, LogitBin};
        // Graded evidence as the demo model's: a bin below the hit threshold (logit 0) whose
        // chunks are 100 times likelier in a male, then the threshold's bin.
        let mut e = ev(0.005, 0.000_001);
        e.bins = vec![
            LogitBin {
                above: -1.0,
                p_male: 0.001,
                p_female: 0.000_01,
            },
            LogitBin {
                above: 0.0,
                p_male: 0.005,
                p_female: 0.000_001,
            },
        ];
        let with = |low: u64, hits: u64, n: u64| {
            let mut c = EvidenceCall::new(e.clone());
            (0..n).for_each(|i| {
                c.add(match i {
                    i if i < hits => 1.0,
                    i if i < hits + low => -0.5,
                    _ => -2.0,
                })
            });
            (c.decide(0.99), verdict(&c, 0.99))
        };
        // 200 chunks in the lower bin of 50,000 (4 times a male's share there) and no hit: the
        // ratio says male, the Y dosage (0 hits) says female: a sample unlike either.
        let (lr, v) = with(200, 0, 50_000);
        assert_eq!(lr, Call::Male);
        assert!(
            v.flag.is_none() && v.dosage.unwrap().hi < FLAG_CEILING,
            "{v:?}"
        );
        assert_eq!(
            (v.call, v.no_call_reason),
            (Call::NoCall, Some(MALE_WITHOUT_Y))
        );
        // A male at his rates and a female without hits are called.
        assert_eq!(with(50, 250, 50_000).1.call, Call::Male);
        assert_eq!(with(0, 0, 50_000).1.call, Call::Female);
    }

    #[test]
    fn overdispersion_widens_the_interval_at_depth() {
        let mut e = ev(0.004, 0.0001);
        let plain = y_dosage(1_600, 400_000, &e).unwrap();
        e.overdispersion = Some(Overdispersion {
            rho_male: 4.0e-5,
            rho_female: 1.0e-8,
            genomes_male: 3,
            genomes_female: 3,
        });
        let spread = y_dosage(1_600, 400_000, &e).unwrap();
        assert_eq!(plain.estimate, spread.estimate);
        assert!(
            spread.hi - spread.lo > 3.0 * (plain.hi - plain.lo),
            "{plain:?} {spread:?}"
        );
    }
}
