//! `genosift evaluate --reads … --karyotypes FILE`: how often each constitution of the test split
//! is told right after N reads (issue 18).
//!
//! On the same scored chunks and random subsets as [`super::reads_eval`], per species, N and
//! constitution (sheet column `karyotype`): a pure karyotype (XX, XY, X0, XXY, XYY, XXX) is right
//! when `karyotype` names it, wrong when it names another, not called when it is `NA`; a mixture
//! (`XX+XY`, a female with male DNA) or a mosaic (`XY/X0`, loss of Y) is right when flagged
//! `y_partial`, wrong when it gets a sex call without that flag (the mixture hidden) or is flagged
//! `y_excess`, not called otherwise. `flagged` counts either flag. A model without an X output leaves every karyotype `NA` (the flags still work).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::reads_eval::{subset, ReadsEvalOptions, ScoredReads, ScoredTest};
use crate::bundle::ModelBundle;
use crate::call::dosage::{self, Flag, Verdict, XCount, XEvidence};
use crate::call::karyotype::{self, Karyotype};
use crate::call::lr::{EvidenceCall, YEvidence};
use crate::call::Call;
use crate::cohort::sheet::Constitution;
use crate::output::Table;

/// One row of the karyotype table: a constitution's outcomes over its genomes × subsets.
#[derive(Debug, Clone, PartialEq)]
pub struct KaryotypeRow {
    pub species: String,
    pub n_reads: u64,
    pub constitution: Constitution,
    pub n_genomes: usize,
    pub right: f64,
    pub not_called: f64,
    pub wrong: f64,
    /// Share flagged (`y_partial` or `y_excess`).
    pub flagged: f64,
    /// Mean Y dosage estimate (NA without one).
    pub y_dosage: Option<f64>,
    /// Mean X dosage estimate (NA without an X output).
    pub x_dosage: Option<f64>,
}

pub const KARYOTYPE_HEADER: [&str; 11] = [
    "species",
    "n_reads",
    "constitution",
    "expected",
    "n_genomes",
    "right",
    "not_called",
    "wrong",
    "flagged",
    "y_dosage_mean",
    "x_dosage_mean",
];

/// What a sample of `constitution` should get.
pub fn expected(constitution: Constitution) -> &'static str {
    match constitution {
        Constitution::Karyotype(k) => k.as_str(),
        Constitution::MaleAdmixture | Constitution::MosaicLossOfY => Flag::YPartial.as_str(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Right,
    NotCalled,
    Wrong,
}

fn outcome(truth: Constitution, v: &Verdict, k: Option<Karyotype>) -> Outcome {
    match truth {
        Constitution::Karyotype(t) => match k {
            Some(k) if k == t => Outcome::Right,
            Some(_) => Outcome::Wrong,
            None => Outcome::NotCalled,
        },
        Constitution::MaleAdmixture | Constitution::MosaicLossOfY => match (v.flag, v.call) {
            (Some(Flag::YPartial), _) => Outcome::Right,
            (Some(Flag::YExcess), _) | (None, Call::Male | Call::Female) => Outcome::Wrong,
            (None, Call::NoCall) => Outcome::NotCalled,
        },
    }
}

/// The table for every species with a calibrated Y detector, every N and constitution.
pub fn evaluate_karyotypes(
    bundle: &ModelBundle,
    test: &ScoredTest,
    opts: &ReadsEvalOptions,
) -> Vec<KaryotypeRow> {
    let mut out = Vec::new();
    for (species, all) in &test.by_species {
        let cal = bundle.settings.calibration.get(species);
        let x_ev = cal.and_then(|c| c.x_evidence.as_ref());
        let Some(ev) = cal.and_then(|c| c.evidence.as_ref()) else {
            tracing::warn!("{species}: no calibrated Y detector: no karyotype rows");
            continue;
        };
        let mut by_class: BTreeMap<Constitution, Vec<&ScoredReads>> = BTreeMap::new();
        for g in all {
            by_class.entry(g.constitution).or_default().push(g);
        }
        for &n in &opts.n_reads {
            for (&constitution, set) in &by_class {
                let mut rng = StdRng::seed_from_u64(opts.seed ^ n ^ 0x6b61_7279);
                let detectors = (ev, x_ev);
                out.push(class_row(
                    species,
                    n,
                    constitution,
                    set,
                    detectors,
                    opts,
                    &mut rng,
                ));
            }
        }
    }
    out
}

fn class_row(
    species: &str,
    n: u64,
    constitution: Constitution,
    set: &[&ScoredReads],
    (ev, x_ev): (&YEvidence, Option<&XEvidence>),
    opts: &ReadsEvalOptions,
    rng: &mut StdRng,
) -> KaryotypeRow {
    let mut counts = [0usize; 3];
    let (mut flagged, mut dosages, mut x_dosages) = (0usize, Vec::new(), Vec::new());
    for g in set {
        let x_ev = x_ev.filter(|_| g.x_logits.len() == g.chunks.len());
        for _ in 0..opts.repeats {
            let mut e = EvidenceCall::new(ev.clone());
            let mut x = XCount::default();
            for i in subset(&g.chunks, n, rng) {
                e.add(g.chunks[i].1);
                if let Some(x_ev) = x_ev {
                    x.add(g.x_logits[i], x_ev);
                }
            }
            let v = dosage::verdict(&e, opts.min_confidence);
            let xd = x_ev.and_then(|x_ev| dosage::x_dosage(x, x_ev));
            let k = karyotype::of_verdict(&v, xd.as_ref());
            counts[outcome(constitution, &v, k) as usize] += 1;
            flagged += usize::from(v.flag.is_some());
            dosages.extend(v.dosage.map(|d| d.estimate));
            x_dosages.extend(xd.map(|d| d.estimate));
        }
    }
    let all = (set.len() * opts.repeats).max(1) as f64;
    KaryotypeRow {
        species: species.to_string(),
        n_reads: n,
        constitution,
        n_genomes: set.len(),
        right: counts[Outcome::Right as usize] as f64 / all,
        not_called: counts[Outcome::NotCalled as usize] as f64 / all,
        wrong: counts[Outcome::Wrong as usize] as f64 / all,
        flagged: flagged as f64 / all,
        y_dosage: mean(&dosages),
        x_dosage: mean(&x_dosages),
    }
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

pub fn write_karyotypes(path: &Path, rows: &[KaryotypeRow]) -> Result<()> {
    let mut t = Table::create(Some(path), &KARYOTYPE_HEADER)?;
    for r in rows {
        t.row([
            r.species.clone(),
            r.n_reads.to_string(),
            r.constitution.as_str().to_string(),
            expected(r.constitution).to_string(),
            r.n_genomes.to_string(),
            format!("{:.4}", r.right),
            format!("{:.4}", r.not_called),
            format!("{:.4}", r.wrong),
            format!("{:.4}", r.flagged),
            super::evaluate::fmt_share(r.y_dosage),
            super::evaluate::fmt_share(r.x_dosage),
        ])?;
    }
    t.finish()?;
    Ok(())
}

/// Share right vs reads, one line per species and constitution.
pub fn plot_karyotypes(path: &Path, rows: &[KaryotypeRow]) -> Result<()> {
    let series = super::plot::series_of(rows.iter().map(|r| {
        let name = format!("{} {}", r.species, r.constitution.as_str());
        (name, (r.n_reads as f64, r.right, 0.0))
    }));
    super::plot::accuracy_curves(
        path,
        &series,
        &super::plot::Labels {
            title: "Karyotype and flag accuracy vs reads",
            x: "reads (150 bp)",
            y: "share told right (karyotype, or y_partial for mixtures)",
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::dosage::Dosage;

    fn verdict(call: Call, flag: Option<Flag>) -> Verdict {
        Verdict {
            call,
            no_call_reason: None,
            dosage: Some(Dosage {
                estimate: 0.1,
                lo: 0.05,
                hi: 0.2,
            }),
            flag,
        }
    }

    #[test]
    fn outcomes() {
        let xxy = Constitution::Karyotype(Karyotype::Xxy);
        let v = verdict(Call::Male, None);
        assert_eq!(outcome(xxy, &v, Some(Karyotype::Xxy)), Outcome::Right);
        assert_eq!(outcome(xxy, &v, Some(Karyotype::XY)), Outcome::Wrong);
        assert_eq!(outcome(xxy, &v, None), Outcome::NotCalled);
        let mix = Constitution::MaleAdmixture;
        let flagged = verdict(Call::NoCall, Some(Flag::YPartial));
        assert_eq!(outcome(mix, &flagged, None), Outcome::Right);
        assert_eq!(
            outcome(mix, &verdict(Call::Female, None), None),
            Outcome::Wrong
        );
        let quiet = verdict(Call::NoCall, None);
        assert_eq!(
            outcome(Constitution::MosaicLossOfY, &quiet, None),
            Outcome::NotCalled
        );
        assert_eq!(expected(mix), "y_partial");
        assert_eq!(expected(xxy), "XXY");
    }
}
