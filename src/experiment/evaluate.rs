//! `genosift calibrate` and `genosift evaluate`: the paper's thresholding and accuracy-vs-K
//! (GENA-LM.md §3.4).
//!
//! For every genome, a pool of groups is sampled with the training sampler (optionally with
//! chromosomes excluded or reweighted: the ablations) and scored once. For each K and each of
//! `repeats` resamples, K predictions are drawn from the pool with replacement and the fraction with
//! P(female) > 0.5 is taken. The pool holds at least the largest K predictions, so K is never
//! silently capped as in the paper's code.
//!
//! - calibrate (valid genomes, per species): the threshold for K is the median of all those
//!   fractions (the paper's rule) or their quantile at the male fraction of the validation set
//!   (`--rule quantile`, the authors' later rule); stored in the model's `genosift.json`.
//! - evaluate (test genomes): a genome is called female iff its fraction exceeds the threshold;
//!   accuracy over genomes per resample, then mean and standard deviation over resamples.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::metrics::{mean_sd, median, quantile};
use crate::bundle::ModelBundle;
use crate::call::calibration::Calibration;
use crate::call::dosage::XEvidence;
use crate::call::lr::{EvidenceCall, YEvidence};
use crate::call::Call;
use crate::cohort::sampler::{
    add_errors, cumulative, load_genomes, sample_group, Genome, Kind, Reweight, SampledChunk,
};
use crate::cohort::sheet::{read_sheet, Sex, Split};
use crate::output::Table;
use crate::score::{thread_pool, Scorer, EXPERIMENT_BATCH_GROUPS};

/// Options shared by calibrate and evaluate.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    pub ks: Vec<u64>,
    pub repeats: usize,
    /// Groups scored per genome (raised to the largest K when smaller).
    pub pool: usize,
    pub seed: u64,
    pub threads: usize,
    pub reweight: Vec<Reweight>,
    /// Posterior the likelihood-ratio rule must reach (evaluate).
    pub min_confidence: f64,
    /// Substitution rate applied to sampled chunks (sequencing errors).
    pub read_errors: f64,
}

/// One scored group of the pool.
#[derive(Debug, Clone)]
pub struct PoolGroup {
    pub p_female: f32,
    /// Per-chunk Y logits (empty without a chunk classifier) and whether each chunk holds Y.
    pub chunk_logits: Vec<f32>,
    pub chunk_y: Vec<bool>,
    /// Per-chunk X logits (empty without an X classifier).
    pub x_logits: Vec<f32>,
}

/// `pool` groups of `genome`, scored.
fn score_pool(
    bundle: &ModelBundle,
    genome: &Genome,
    opts: &PoolOptions,
    seed: u64,
) -> Vec<PoolGroup> {
    let n = bundle.settings.chunks;
    let len = bundle.settings.chunk_len;
    let reads = bundle.settings.read_len;
    let cum = cumulative(genome, &opts.reweight);
    let mut rng = StdRng::seed_from_u64(seed);
    let pool = opts
        .pool
        .max(opts.ks.iter().copied().max().unwrap_or(1) as usize);
    // Sample every group first (sequential RNG: reproducible), then score in batches.
    let mut groups: Vec<Vec<SampledChunk>> = (0..pool)
        .map(|_| sample_group(genome, &cum, n, len, reads, &mut rng))
        .collect();
    // Errors from a stream of their own: the same pieces are drawn with or without them.
    let mut error_rng = StdRng::seed_from_u64(seed ^ 0x5eed_e770);
    for g in &mut groups {
        add_errors(g, opts.read_errors, &mut error_rng);
    }
    let mut scorer = Scorer::new(bundle);
    groups
        .chunks(EXPERIMENT_BATCH_GROUPS)
        .flat_map(|batch| {
            let scores = scorer
                .groups(batch.iter().flatten().map(|c| c.seq.as_slice()))
                .expect("score_split checked the head");
            batch
                .iter()
                .zip(scores)
                .map(|(g, s)| PoolGroup {
                    p_female: s.p_female,
                    chunk_logits: s.chunk_logits,
                    chunk_y: g.iter().map(|c| c.has_y).collect(),
                    x_logits: s.x_logits,
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// For each K: `repeats` fractions of P(female) > 0.5 among K draws with replacement.
pub fn resampled_fractions(
    pool: &[PoolGroup],
    ks: &[u64],
    repeats: usize,
    rng: &mut StdRng,
) -> Vec<Vec<f64>> {
    ks.iter()
        .map(|&k| {
            (0..repeats)
                .map(|_| {
                    let hits = (0..k)
                        .filter(|_| pool[rng.random_range(0..pool.len())].p_female > 0.5)
                        .count();
                    hits as f64 / k as f64
                })
                .collect()
        })
        .collect()
}

/// Threshold from validation fractions: `median` (the paper's) or `quantile` at the male share.
pub fn threshold(rule: &str, fractions: &[f64], male_share: f64) -> Option<f64> {
    match rule {
        "median" => median(fractions),
        "quantile" => quantile(fractions, male_share),
        _ => None,
    }
}

struct Scored<'a> {
    genome: &'a Genome,
    pool: Vec<PoolGroup>,
}

fn score_split<'a>(
    bundle: &ModelBundle,
    genomes: &'a [Genome],
    split: Split,
    opts: &PoolOptions,
) -> Result<Vec<Scored<'a>>> {
    let pool = thread_pool(opts.threads)?;
    if !bundle.engine.has_head() {
        return Err(crate::error::ModelError::NoHead {
            dir: bundle.dir.clone(),
            command: "calibrate or evaluate".into(),
        }
        .into());
    }
    let chosen: Vec<&Genome> = genomes.iter().filter(|g| g.split == split).collect();
    if chosen.is_empty() {
        bail!("no genomes in the {split:?} split");
    }
    let mut out = Vec::new();
    for (i, g) in chosen.iter().enumerate() {
        let t = std::time::Instant::now();
        let scores = pool
            .install(|| score_pool(bundle, g, opts, opts.seed ^ ((i as u64 + 1) * 0x9e37_79b9)));
        tracing::info!(
            "{} ({} {:?}): {} groups scored in {:.1} s, {:.1}% with P(female) > 0.5",
            g.sample,
            g.species,
            g.sex,
            scores.len(),
            t.elapsed().as_secs_f64(),
            100.0 * scores.iter().filter(|p| p.p_female > 0.5).count() as f64 / scores.len() as f64
        );
        out.push(Scored {
            genome: g,
            pool: scores,
        });
    }
    Ok(out)
}

/// One genome's resampled fractions `[k][repeat]`, and with a Y detector its resampled
/// likelihood-ratio calls `[k][repeat]`.
struct Resampled {
    sex: Sex,
    fractions: Vec<Vec<f64>>,
    pool: Vec<PoolGroup>,
}

/// Loads the `split` genomes of the sheet, scores their pools and resamples them, by species.
fn resample_split(
    bundle: &ModelBundle,
    sheet: &Path,
    split: Split,
    opts: &PoolOptions,
) -> Result<BTreeMap<String, Vec<Resampled>>> {
    // XX and XY only: the accuracy tables count sex calls (`evaluate --reads --karyotypes`
    // measures the other constitutions).
    let rows: Vec<_> = read_sheet(sheet, true)?
        .into_iter()
        .filter(|r| r.split == split && r.constitution.is_typical())
        .collect();
    let genomes = load_genomes(&rows)?;
    let scored = score_split(bundle, &genomes, split, opts)?;
    let mut rng = StdRng::seed_from_u64(opts.seed);
    let mut by_species: BTreeMap<String, Vec<Resampled>> = BTreeMap::new();
    for s in scored {
        by_species
            .entry(s.genome.species.clone())
            .or_default()
            .push(Resampled {
                sex: s.genome.sex,
                fractions: resampled_fractions(&s.pool, &opts.ks, opts.repeats, &mut rng),
                pool: s.pool,
            });
    }
    Ok(by_species)
}

/// Calibrates thresholds per species from the `valid` genomes and stores them in the model's
/// `genosift.json`. Returns the calibration.
pub fn calibrate(
    model_dir: &Path,
    bundle: &mut ModelBundle,
    sheet: &Path,
    rule: &str,
    opts: &PoolOptions,
) -> Result<BTreeMap<String, Calibration>> {
    if !matches!(rule, "median" | "quantile") {
        bail!("--rule {rule}: expected median or quantile");
    }
    bundle.calibrate_at_run_precision();
    let mut result = BTreeMap::new();
    for (species, set) in resample_split(bundle, sheet, Split::Valid, opts)? {
        let male_share =
            set.iter().filter(|s| s.sex == Sex::Male).count() as f64 / set.len() as f64;
        let mut thresholds = BTreeMap::new();
        let mut validation_accuracy = BTreeMap::new();
        for (ki, &k) in opts.ks.iter().enumerate() {
            let all: Vec<f64> = set
                .iter()
                .flat_map(|g| g.fractions[ki].iter().copied())
                .collect();
            let t = threshold(rule, &all, male_share).expect("fractions present");
            thresholds.insert(k, t);
            if let Some(a) = balanced_accuracy(&set, ki, t) {
                validation_accuracy.insert(k, a);
            }
        }
        tracing::info!(
            "{species}: the paper's thresholds by K (validation accuracy): {}",
            thresholds
                .iter()
                .map(|(k, t)| match validation_accuracy.get(k) {
                    Some(a) => format!("{k}: {t:.3} ({a:.3})"),
                    None => format!("{k}: {t:.3}"),
                })
                .collect::<Vec<_>>()
                .join(", ")
        );
        let evidence = fit_evidence(&set);
        let x_evidence = fit_x_evidence(&set);
        log_detectors(&species, bundle, evidence.as_ref(), x_evidence.as_ref());
        result.insert(
            species,
            Calibration {
                rule: rule.to_string(),
                thresholds,
                validation_accuracy,
                evidence,
                x_evidence,
            },
        );
    }
    for (k, v) in &result {
        bundle.settings.calibration.insert(k.clone(), v.clone());
    }
    bundle.settings.save(model_dir)?;
    Ok(result)
}

/// Logs what `calibrate` found for `species`: the Y detector (rates, spread, graded bins) and the
/// X detector, or why there is none.
fn log_detectors(
    species: &str,
    bundle: &ModelBundle,
    evidence: Option<&YEvidence>,
    x_evidence: Option<&XEvidence>,
) {
    match evidence {
        Some(e) => tracing::info!(
            "{species}: Y detector: logit > {:.3}; hit rate {:.5} in male chunks ({:.2}% hold Y, sensitivity {:.3}), {:.6} in female chunks (false-Y rate); ≈ {:.0} chunks for a 0.99 call",
            e.logit_threshold,
            e.p_hit_male,
            100.0 * e.y_chunk_share,
            e.sensitivity,
            e.p_hit_female,
            e.chunks_for(0.99)
        ),
        None if bundle.engine.has_chunk_classifier() => tracing::warn!(
            "{species}: the chunk Y logits do not separate the sexes: no likelihood-ratio rule"
        ),
        None => {}
    }
    if let Some(o) = evidence.and_then(|e| e.overdispersion.as_ref()) {
        tracing::info!(
            "{species}: hit-rate spread between validation genomes: ρ {:.3e} over {} male, {:.3e} over {} female genomes; a typical sample reaches at most {:.6} at any depth",
            o.rho_male,
            o.genomes_male,
            o.rho_female,
            o.genomes_female,
            evidence.map_or(1.0, |e| e.max_confidence())
        );
    }
    if let Some(e) = evidence.filter(|e| !e.bins.is_empty()) {
        let bins: Vec<String> = e
            .bins
            .iter()
            .map(|b| format!("> {:.2}: LR {:.2}", b.above, b.p_male / b.p_female))
            .collect();
        tracing::info!("{species}: graded Y evidence, {}", bins.join("; "));
    }
    if let Some(x) = x_evidence {
        tracing::info!(
            "{species}: X detector: logit > {:.3}; hit rate {:.5} in XX chunks, {:.5} in XY chunks; ρ {:.3e}",
            x.logit_threshold,
            x.p_hit_xx,
            x.p_hit_xy,
            x.rho
        );
    } else if bundle.engine.has_x_classifier() {
        tracing::warn!("{species}: the chunk X logits do not separate XX from XY: no X dosage");
    }
}

/// How often threshold `t` calls the resampled fractions at K index `ki` right: the mean of the
/// male genomes' share at or below it and the female genomes' share above it (`None` without a
/// genome of each sex).
fn balanced_accuracy(set: &[Resampled], ki: usize, t: f64) -> Option<f64> {
    let share = |sex: Sex, right: &dyn Fn(f64) -> bool| {
        let f: Vec<f64> = set
            .iter()
            .filter(|g| g.sex == sex)
            .flat_map(|g| g.fractions[ki].iter().copied())
            .collect();
        (!f.is_empty()).then(|| f.iter().filter(|&&x| right(x)).count() as f64 / f.len() as f64)
    };
    let male = share(Sex::Male, &|f| f <= t)?;
    let female = share(Sex::Female, &|f| f > t)?;
    Some((male + female) / 2.0)
}

/// The Y detector from one species' validation pools (chunks of male vs female genomes), with
/// the spread of its hit rate between the genomes.
fn fit_evidence(set: &[Resampled]) -> Option<YEvidence> {
    let mut male = Vec::new();
    let mut female = Vec::new();
    let (mut male_genomes, mut female_genomes) = (Vec::new(), Vec::new());
    for g in set {
        let logits: Vec<f32> = g
            .pool
            .iter()
            .flat_map(|p| p.chunk_logits.iter().copied())
            .collect();
        match g.sex {
            Sex::Male => {
                for p in &g.pool {
                    male.extend(
                        p.chunk_logits
                            .iter()
                            .copied()
                            .zip(p.chunk_y.iter().copied()),
                    );
                }
                male_genomes.push(logits);
            }
            Sex::Female => {
                female.extend(logits.iter().copied());
                female_genomes.push(logits);
            }
        }
    }
    let mut e = super::fit::fit_detector(&male, &female)?;
    e.overdispersion = Some(super::fit::overdispersion(
        e.logit_threshold,
        &male_genomes,
        &female_genomes,
    ));
    Some(e)
}

/// The X detector from one species' validation pools (XX female vs XY male genomes).
fn fit_x_evidence(set: &[Resampled]) -> Option<XEvidence> {
    let of_sex = |sex: Sex| -> Vec<Vec<f32>> {
        set.iter()
            .filter(|g| g.sex == sex)
            .map(|g| {
                g.pool
                    .iter()
                    .flat_map(|p| p.x_logits.iter().copied())
                    .collect()
            })
            .collect()
    };
    super::fit::fit_x_detector(&of_sex(Sex::Female), &of_sex(Sex::Male))
}

/// Likelihood-ratio calls for `repeats` resamples of K groups (with replacement) from `pool`.
fn resampled_lr_calls(
    pool: &[PoolGroup],
    evidence: &YEvidence,
    k: u64,
    repeats: usize,
    min_confidence: f64,
    rng: &mut StdRng,
) -> Vec<Call> {
    (0..repeats)
        .map(|_| {
            let mut e = EvidenceCall::new(evidence.clone());
            for _ in 0..k {
                for &l in &pool[rng.random_range(0..pool.len())].chunk_logits {
                    e.add(l);
                }
            }
            crate::call::dosage::verdict(&e, min_confidence).call
        })
        .collect()
}

/// A rule's accuracy over resampled calls of a set of genomes: what both evaluation tables report.
#[derive(Debug, Clone, PartialEq)]
pub struct Accuracy {
    /// Mean and standard deviation over the repeats of the share of genomes called right.
    pub mean: f64,
    pub sd: f64,
    pub n_genomes: usize,
    /// Mean share of no-calls (counted as not correct in the accuracy).
    pub no_call_rate: f64,
    /// Mean share of calls naming the wrong sex.
    pub wrong_call_rate: f64,
    /// Accuracy on the male and on the female genomes alone (`None` without one).
    pub male: Option<f64>,
    pub female: Option<f64>,
}

impl From<Tally> for Accuracy {
    fn from(t: Tally) -> Self {
        let (mean, sd) = mean_sd(&t.accuracy);
        Self {
            mean,
            sd,
            n_genomes: t.genomes,
            no_call_rate: t.no_call_rate,
            wrong_call_rate: t.wrong_call_rate,
            male: t.male_accuracy,
            female: t.female_accuracy,
        }
    }
}

/// One row of the evaluation table.
#[derive(Debug, Clone)]
pub struct EvalRow {
    pub species: String,
    pub k: u64,
    pub condition: String,
    /// `paper` or `lr`.
    pub rule: String,
    pub accuracy: Accuracy,
}

impl EvalRow {
    fn new(species: &str, k: u64, condition: &str, rule: &str, t: Tally) -> Self {
        Self {
            species: species.to_string(),
            k,
            condition: condition.to_string(),
            rule: rule.to_string(),
            accuracy: t.into(),
        }
    }
}

/// Accuracy vs K on the `test` genomes with the model's calibrated thresholds.
pub fn evaluate(
    bundle: &ModelBundle,
    sheet: &Path,
    condition: &str,
    opts: &PoolOptions,
) -> Result<Vec<EvalRow>> {
    if bundle.settings.calibration.is_empty() {
        bail!("the model has no calibration: run genosift calibrate first");
    }
    let mut out = Vec::new();
    for (species, set) in resample_split(bundle, sheet, Split::Test, opts)? {
        let cal = bundle.settings.calibration.get(&species).with_context(|| {
            format!("the model has no calibration for species '{species}': run genosift calibrate first")
        })?;
        let sexes: Vec<Sex> = set.iter().map(|g| g.sex).collect();
        for (ki, &k) in opts.ks.iter().enumerate() {
            let Some((_, thr)) = cal.threshold_for(k) else {
                bail!("species '{species}': no threshold calibrated at or below K = {k}");
            };
            let calls: Vec<Vec<Call>> = set
                .iter()
                .map(|g| {
                    g.fractions[ki]
                        .iter()
                        .map(|&f| if f > thr { Call::Female } else { Call::Male })
                        .collect()
                })
                .collect();
            out.push(EvalRow::new(
                &species,
                k,
                condition,
                "paper",
                tally(&sexes, &calls, opts.repeats),
            ));
        }
        let Some(ev) = cal.evidence.as_ref() else {
            continue;
        };
        let mut rng = StdRng::seed_from_u64(opts.seed ^ 0x5eed);
        for &k in &opts.ks {
            let calls: Vec<Vec<Call>> = set
                .iter()
                .map(|g| {
                    resampled_lr_calls(&g.pool, ev, k, opts.repeats, opts.min_confidence, &mut rng)
                })
                .collect();
            out.push(EvalRow::new(
                &species,
                k,
                condition,
                "lr",
                tally(&sexes, &calls, opts.repeats),
            ));
        }
    }
    Ok(out)
}

/// Calls scored against the truth (`calls[genome][repeat]` against the genomes' `sexes`; a no-call
/// is not correct).
#[derive(Debug, Clone, PartialEq)]
pub struct Tally {
    pub genomes: usize,
    /// Per repeat: the share of genomes called right.
    pub accuracy: Vec<f64>,
    /// Shares of all calls that are no-calls, and that name the wrong sex.
    pub no_call_rate: f64,
    pub wrong_call_rate: f64,
    /// Shares of the male and of the female genomes' calls that are right (`None` without a
    /// genome of that sex).
    pub male_accuracy: Option<f64>,
    pub female_accuracy: Option<f64>,
}

pub fn tally(sexes: &[Sex], calls: &[Vec<Call>], repeats: usize) -> Tally {
    let accuracy = (0..repeats)
        .map(|r| {
            sexes
                .iter()
                .zip(calls)
                .filter(|(&sex, c)| c[r] == expected_call(sex))
                .count() as f64
                / sexes.len() as f64
        })
        .collect();
    let all = (sexes.len() * repeats).max(1) as f64;
    let count = |keep: &dyn Fn(Sex, Call) -> bool| {
        sexes
            .iter()
            .zip(calls)
            .map(|(&sex, c)| c.iter().filter(|&&c| keep(sex, c)).count())
            .sum::<usize>()
    };
    let of_sex = |want: Sex| {
        let n = sexes.iter().filter(|&&s| s == want).count() * repeats;
        (n > 0).then(|| count(&|sex, c| sex == want && c == expected_call(sex)) as f64 / n as f64)
    };
    Tally {
        genomes: sexes.len(),
        accuracy,
        no_call_rate: count(&|_, c| c == Call::NoCall) as f64 / all,
        wrong_call_rate: count(&|sex, c| c != Call::NoCall && c != expected_call(sex)) as f64 / all,
        male_accuracy: of_sex(Sex::Male),
        female_accuracy: of_sex(Sex::Female),
    }
}

/// `NA` or the value with 4 decimals, for the tables.
pub fn fmt_share(v: Option<f64>) -> String {
    v.map_or_else(|| "NA".to_string(), |v| format!("{v:.4}"))
}

pub fn expected_call(sex: Sex) -> Call {
    match sex {
        Sex::Male => Call::Male,
        Sex::Female => Call::Female,
    }
}

pub const EVAL_HEADER: [&str; 11] = [
    "species",
    "k",
    "accuracy_mean",
    "accuracy_sd",
    "n_genomes",
    "condition",
    "rule",
    "no_call_rate",
    "wrong_call_rate",
    "accuracy_male",
    "accuracy_female",
];

pub fn write_eval(path: Option<&Path>, rows: &[EvalRow]) -> Result<()> {
    let mut t = Table::create(path, &EVAL_HEADER)?;
    for r in rows {
        let a = &r.accuracy;
        t.row([
            r.species.clone(),
            r.k.to_string(),
            format!("{:.4}", a.mean),
            format!("{:.4}", a.sd),
            a.n_genomes.to_string(),
            r.condition.clone(),
            r.rule.clone(),
            format!("{:.4}", a.no_call_rate),
            format!("{:.4}", a.wrong_call_rate),
            fmt_share(a.male),
            fmt_share(a.female),
        ])?;
    }
    t.finish()?;
    Ok(())
}

/// `--exclude-chrom chrY` and `--only-chrom-weight chrX=0` → reweights and a condition label.
pub fn parse_ablation(exclude: &[String], weights: &[String]) -> Result<(Vec<Reweight>, String)> {
    let mut rw = Vec::new();
    let mut label = Vec::new();
    for e in exclude {
        rw.push(Reweight {
            kind: chrom_kind(e)?,
            factor: 0.0,
        });
        label.push(format!("no-{e}"));
    }
    for w in weights {
        let (name, f) = w
            .split_once('=')
            .with_context(|| format!("--only-chrom-weight {w}: expected NAME=FACTOR"))?;
        let factor: f64 = f
            .parse()
            .with_context(|| format!("--only-chrom-weight {w}: bad factor"))?;
        rw.push(Reweight {
            kind: chrom_kind(name)?,
            factor,
        });
        label.push(format!("{name}x{f}"));
    }
    let label = if label.is_empty() {
        "all".to_string()
    } else {
        label.join(",")
    };
    Ok((rw, label))
}

fn chrom_kind(name: &str) -> Result<Kind> {
    match Kind::of(name) {
        Kind::Autosome => bail!("'{name}': only chrX and chrY can be excluded or reweighted"),
        k => Ok(k),
    }
}

/// Parses `25,50,100`.
pub fn parse_ks(s: &str) -> Result<Vec<u64>> {
    let mut ks: Vec<u64> = s
        .split(',')
        .map(|x| {
            x.trim()
                .parse::<u64>()
                .with_context(|| format!("--k: '{x}' is not a number"))
        })
        .collect::<Result<_>>()?;
    ks.sort_unstable();
    ks.dedup();
    if ks.is_empty() || ks[0] == 0 {
        bail!("--k: give positive group counts, e.g. 25,50,100");
    }
    Ok(ks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tally_by_hand() {
        use Call::*;
        // Two males, one female, two repeats: repeat 0 all right; repeat 1 a male no-call and
        // the female called male.
        let sexes = [Sex::Male, Sex::Male, Sex::Female];
        let calls = vec![vec![Male, Male], vec![Male, NoCall], vec![Female, Male]];
        let t = tally(&sexes, &calls, 2);
        assert_eq!(t.accuracy, vec![1.0, 1.0 / 3.0]);
        assert_eq!(t.no_call_rate, 1.0 / 6.0);
        assert_eq!(t.wrong_call_rate, 1.0 / 6.0);
        assert_eq!(t.male_accuracy, Some(0.75));
        assert_eq!(t.female_accuracy, Some(0.5));
        assert_eq!(t.genomes, 3);
        let only_males = tally(&sexes[..2], &calls[..2], 2);
        assert_eq!(only_males.female_accuracy, None);
        assert_eq!(fmt_share(only_males.female_accuracy), "NA");
    }

    #[test]
    fn balanced_accuracy_by_hand() {
        let genome = |sex, f: &[f64]| Resampled {
            sex,
            fractions: vec![f.to_vec()],
            pool: Vec::new(),
        };
        // Males at or below 0.5 in 3 of 4 subsets, females above it in 1 of 2: (0.75 + 0.5) / 2.
        let set = [
            genome(Sex::Male, &[0.2, 0.5]),
            genome(Sex::Male, &[0.4, 0.9]),
            genome(Sex::Female, &[0.9, 0.5]),
        ];
        assert_eq!(balanced_accuracy(&set, 0, 0.5), Some(0.625));
        // Both sexes' groups all look female: threshold 1, nothing above it, accuracy one half.
        let weak = [genome(Sex::Male, &[1.0]), genome(Sex::Female, &[1.0])];
        assert_eq!(balanced_accuracy(&weak, 0, 1.0), Some(0.5));
        assert_eq!(balanced_accuracy(&set[..2], 0, 0.5), None);
    }

    #[test]
    fn threshold_rules_by_hand() {
        let f = [0.2, 0.8, 0.3, 0.7];
        assert_eq!(threshold("median", &f, 0.5), Some(0.5));
        // Quantile at the male share 0.25 of [0.2, 0.3, 0.7, 0.8]: pos 0.75 → 0.2 + 0.75·0.1.
        assert!((threshold("quantile", &f, 0.25).unwrap() - 0.275).abs() < 1e-12);
        assert_eq!(threshold("mean", &f, 0.5), None);
    }

    #[test]
    fn resampling_is_with_replacement_and_seeded() {
        let g = |p| PoolGroup {
            p_female: p,
            chunk_logits: vec![],
            chunk_y: vec![],
            x_logits: vec![],
        };
        let pool = [g(0.9f32), g(0.1)];
        let mut a = StdRng::seed_from_u64(1);
        let mut b = StdRng::seed_from_u64(1);
        let fa = resampled_fractions(&pool, &[1, 1000], 50, &mut a);
        let fb = resampled_fractions(&pool, &[1, 1000], 50, &mut b);
        assert_eq!(fa, fb);
        assert!(fa[0].iter().all(|&x| x == 0.0 || x == 1.0));
        let (m, _) = mean_sd(&fa[1]);
        assert!((m - 0.5).abs() < 0.02, "{m}");
    }

    #[test]
    fn ablation_flags() {
        let (rw, label) = parse_ablation(&["chrY".into()], &["chrX=0.5".into()]).unwrap();
        assert_eq!(rw.len(), 2);
        assert_eq!(label, "no-chrY,chrXx0.5");
        assert!(parse_ablation(&["chr1".into()], &[]).is_err());
        assert_eq!(parse_ks("100,25,50,25").unwrap(), vec![25, 50, 100]);
        assert!(parse_ks("0").is_err());
    }
}
