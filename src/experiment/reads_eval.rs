//! `genosift evaluate --reads N1,N2,…`: how many reads a call needs (issue 5's headline figure).
//!
//! For each `test` genome with a reads file (sheet column `reads`), the reads are shuffled once
//! (seeded), cut into chunks and groups exactly as `predict` cuts a stream, and every group is
//! scored once: P(female) and the per-chunk Y logits. A random subset of about N reads is then a
//! random set of those chunks (each chunk is a disjoint set of random reads), drawn without
//! replacement while their reads add up to at most N:
//! - `lr`: the chunks' Y hits → likelihood ratio → male, female or no-call at `--min-confidence`;
//! - `paper`: whole groups likewise, the fraction with P(female) > 0.5 against the calibrated
//!   threshold for that many groups (no-call below the smallest calibrated K, as `predict`);
//! - `ideal`: a detector that recognises every Y read and never mistakes another read for one:
//!   a male is called once one of his N reads is from the Y (probability `1 − (1 − y)^N`, with
//!   `y` the chrY share of the species' male test genomes, PAR included, which flatters the
//!   ideal), a female is always right.
//!
//! Accuracy counts no-calls as not correct; 200 subsets per N by default. Asking for more reads
//! than a genome's file holds is an error, not a silent cap.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Result};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::evaluate::{fmt_share, tally, Tally};
use super::metrics::mean_sd;
use crate::bundle::ModelBundle;
use crate::call::lr::{EvidenceCall, YEvidence};
use crate::call::paper::SampleCall;
use crate::call::Call;
use crate::chunk::Chunker;
use crate::cohort::sampler::{Genome, Kind};
use crate::cohort::sheet::{read_sheet, Sex, Split};
use crate::group::Grouper;
use crate::input::{read_records, Source};
use crate::output::Table;
use crate::score::{Scorer, EXPERIMENT_BATCH_GROUPS};

#[derive(Debug, Clone)]
pub struct ReadsEvalOptions {
    pub n_reads: Vec<u64>,
    pub repeats: usize,
    pub seed: u64,
    pub threads: usize,
    pub min_confidence: f64,
}

/// One row of the reads table.
#[derive(Debug, Clone)]
pub struct ReadsRow {
    pub species: String,
    pub n_reads: u64,
    pub rule: String,
    pub accuracy_mean: f64,
    pub accuracy_sd: f64,
    pub no_call_rate: f64,
    pub n_genomes: usize,
    /// Share of calls naming the wrong sex.
    pub wrong_call_rate: f64,
    /// Accuracy on the male and on the female genomes alone (`None` without one).
    pub male_accuracy: Option<f64>,
    pub female_accuracy: Option<f64>,
}

pub const READS_HEADER: [&str; 10] = [
    "species",
    "n_reads",
    "rule",
    "accuracy_mean",
    "accuracy_sd",
    "no_call_rate",
    "n_genomes",
    "wrong_call_rate",
    "accuracy_male",
    "accuracy_female",
];

/// Scored items (chunks or groups): reads in each and its score.
type Scored = Vec<(u64, f32)>;

/// A test genome's scored reads.
struct ScoredReads {
    sample: String,
    sex: Sex,
    /// Per chunk: reads in it and its Y logit.
    chunks: Scored,
    /// Per group: reads in it and P(female).
    groups: Scored,
}

fn score_reads(bundle: &ModelBundle, path: &Path, seed: u64) -> Result<(Scored, Scored)> {
    let mut records = read_records(&Source::Path(path.to_path_buf()))?;
    let mut rng = StdRng::seed_from_u64(seed);
    records.shuffle(&mut rng);
    let n = bundle.settings.chunks;
    let mut chunker = Chunker::new(bundle.settings.chunk_len);
    let mut grouper = Grouper::new(n);
    let mut groups = Vec::new();
    for r in &records {
        chunker.start(&r.name);
        chunker.push(&r.seq, &mut |c| {
            groups.extend(grouper.push(c));
            true
        });
    }
    if let Some(c) = chunker.finish() {
        groups.extend(grouper.push(c));
    }
    let mut chunks = Vec::new();
    let mut scored_groups = Vec::new();
    let mut scorer = Scorer::new(bundle);
    for batch in groups.chunks(EXPERIMENT_BATCH_GROUPS) {
        let seqs = batch
            .iter()
            .flat_map(|g| g.chunks.iter().map(|c| c.seq.as_slice()));
        for (g, s) in batch.iter().zip(scorer.groups(seqs)?) {
            let reads: Vec<u64> = g.chunks.iter().map(|c| c.n_records as u64).collect();
            scored_groups.push((reads.iter().sum(), s.p_female));
            chunks.extend(reads.into_iter().zip(s.chunk_logits));
        }
    }
    Ok((chunks, scored_groups))
}

/// Indices of a random subset of `items` whose read counts add up to at most `n`.
fn subset(items: &[(u64, f32)], n: u64, rng: &mut StdRng) -> Vec<usize> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.shuffle(rng);
    let mut used = 0;
    let mut out = Vec::new();
    for i in order {
        if used + items[i].0 > n {
            // Items hold about the same number of reads: stop at the first that overshoots.
            break;
        }
        used += items[i].0;
        out.push(i);
    }
    out
}

/// The accuracy-vs-reads table for the `test` genomes of `sheet`.
pub fn evaluate_reads(
    bundle: &ModelBundle,
    sheet: &Path,
    opts: &ReadsEvalOptions,
) -> Result<Vec<ReadsRow>> {
    if !bundle.engine.has_head() {
        return Err(crate::error::ModelError::NoHead {
            dir: bundle.dir.clone(),
            command: "evaluate --reads".into(),
        }
        .into());
    }
    let rows: Vec<_> = read_sheet(sheet, true)?
        .into_iter()
        .filter(|r| r.split == Split::Test)
        .collect();
    if rows.iter().all(|r| r.reads.is_none()) {
        bail!(
            "{}: no test sample has a reads file (column `reads`)",
            sheet.display()
        );
    }
    let pool = crate::score::thread_pool(opts.threads)?;
    let mut by_species: BTreeMap<String, Vec<ScoredReads>> = BTreeMap::new();
    let mut y_share: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (i, row) in rows.iter().enumerate() {
        if row.sex == Sex::Male {
            let g = Genome::load(row)?;
            let total: f64 = g.chroms.iter().map(|c| c.weight).sum();
            let y: f64 = g
                .chroms
                .iter()
                .filter(|c| c.kind == Kind::Y)
                .map(|c| c.weight)
                .sum();
            y_share
                .entry(row.species.clone())
                .or_default()
                .push(y / total);
        }
        let Some(path) = &row.reads else {
            continue;
        };
        let t = std::time::Instant::now();
        let (chunks, groups) =
            pool.install(|| score_reads(bundle, path, opts.seed ^ ((i as u64 + 1) * 0x9e37_79b9)))?;
        let total: u64 = chunks.iter().map(|c| c.0).sum();
        let want = opts.n_reads.iter().copied().max().unwrap_or(0);
        if want > total {
            bail!(
                "{}: --reads {want} but {} holds {total} reads (in whole chunks)",
                row.sample,
                path.display()
            );
        }
        tracing::info!(
            "{} ({} {:?}): {} reads → {} chunks, {} groups scored in {:.1} s",
            row.sample,
            row.species,
            row.sex,
            total,
            chunks.len(),
            groups.len(),
            t.elapsed().as_secs_f64()
        );
        by_species
            .entry(row.species.clone())
            .or_default()
            .push(ScoredReads {
                sample: row.sample.clone(),
                sex: row.sex,
                chunks,
                groups,
            });
    }

    let mut out = Vec::new();
    let mut rng = StdRng::seed_from_u64(opts.seed);
    for (species, set) in &by_species {
        let cal = bundle.settings.calibration.get(species);
        let evidence = cal.and_then(|c| c.evidence.clone());
        if let Some(g) = set.iter().find(|g| g.chunks.is_empty()) {
            bail!("{}: its reads file gave no chunk", g.sample);
        }
        let y = y_share.get(species).map(|v| mean_sd(v).0);
        let sexes: Vec<Sex> = set.iter().map(|g| g.sex).collect();
        for &n in &opts.n_reads {
            let mut push = |rule: &str, t: Tally| {
                let (m, sd) = mean_sd(&t.accuracy);
                out.push(ReadsRow {
                    species: species.clone(),
                    n_reads: n,
                    rule: rule.to_string(),
                    accuracy_mean: m,
                    accuracy_sd: sd,
                    no_call_rate: t.no_call_rate,
                    n_genomes: t.genomes,
                    wrong_call_rate: t.wrong_call_rate,
                    male_accuracy: t.male_accuracy,
                    female_accuracy: t.female_accuracy,
                });
            };
            // One pass of `repeats` subsets per genome for each rule.
            // `lr` as `predict` calls it (graded when calibrated so), and with graded evidence
            // also the single-threshold rule (`lr-hits`) on the same subsets, for comparison.
            let variants = evidence.iter().flat_map(|ev| {
                let single = YEvidence {
                    bins: Vec::new(),
                    ..ev.clone()
                };
                std::iter::once(("lr", ev.clone()))
                    .chain((!ev.bins.is_empty()).then_some(("lr-hits", single)))
            });
            for (rule, ev) in variants {
                let mut rng = StdRng::seed_from_u64(opts.seed ^ n);
                let calls: Vec<Vec<Call>> = set
                    .iter()
                    .map(|g| {
                        (0..opts.repeats)
                            .map(|_| {
                                let mut e = EvidenceCall::new(ev.clone());
                                for i in subset(&g.chunks, n, &mut rng) {
                                    e.add(g.chunks[i].1);
                                }
                                e.decide(opts.min_confidence)
                            })
                            .collect()
                    })
                    .collect();
                push(rule, tally(&sexes, &calls, opts.repeats));
            }
            if let Some(cal) = cal {
                let calls: Vec<Vec<Call>> = set
                    .iter()
                    .map(|g| {
                        (0..opts.repeats)
                            .map(|_| {
                                let mut c = SampleCall::default();
                                for i in subset(&g.groups, n, &mut rng) {
                                    c.add(g.groups[i].1);
                                }
                                c.decide(Some(cal)).1
                            })
                            .collect()
                    })
                    .collect();
                push("paper", tally(&sexes, &calls, opts.repeats));
            }
            if let Some(y) = y {
                // Males called with probability 1 − (1 − y)^N, females always right.
                let p_male = 1.0 - (1.0 - y).powf(n as f64);
                let n_male = sexes.iter().filter(|&&s| s == Sex::Male).count();
                let n_female = set.len() - n_male;
                out.push(ReadsRow {
                    species: species.clone(),
                    n_reads: n,
                    rule: "ideal".into(),
                    accuracy_mean: (n_male as f64 * p_male + n_female as f64) / set.len() as f64,
                    accuracy_sd: 0.0,
                    no_call_rate: 0.0,
                    n_genomes: set.len(),
                    wrong_call_rate: n_male as f64 * (1.0 - p_male) / set.len() as f64,
                    male_accuracy: (n_male > 0).then_some(p_male),
                    female_accuracy: (n_female > 0).then_some(1.0),
                });
            }
        }
        if let Some(y) = y {
            tracing::info!(
                "{species}: ideal Y-read detector needs {:.0} reads for 0.99 (Y share {:.4}%)",
                (50f64).ln() / -(1.0 - y).ln(),
                100.0 * y
            );
        }
    }
    Ok(out)
}

/// The smallest N of the table at which `rule` reaches `accuracy` for `species`.
pub fn reads_for(rows: &[ReadsRow], species: &str, rule: &str, accuracy: f64) -> Option<u64> {
    rows.iter()
        .filter(|r| r.species == species && r.rule == rule && r.accuracy_mean >= accuracy)
        .map(|r| r.n_reads)
        .min()
}

pub fn write_reads_eval(path: Option<&Path>, rows: &[ReadsRow]) -> Result<()> {
    let mut t = Table::create(path, &READS_HEADER)?;
    for r in rows {
        t.row([
            r.species.clone(),
            r.n_reads.to_string(),
            r.rule.clone(),
            format!("{:.4}", r.accuracy_mean),
            format!("{:.4}", r.accuracy_sd),
            format!("{:.4}", r.no_call_rate),
            r.n_genomes.to_string(),
            format!("{:.4}", r.wrong_call_rate),
            fmt_share(r.male_accuracy),
            fmt_share(r.female_accuracy),
        ])?;
    }
    t.finish()?;
    Ok(())
}

/// Accuracy vs reads, one line per species and rule.
pub fn plot_reads(path: &Path, rows: &[ReadsRow]) -> Result<()> {
    let mut series: BTreeMap<String, super::plot::Series> = BTreeMap::new();
    for r in rows {
        series
            .entry(format!("{} ({})", r.species, r.rule))
            .or_default()
            .push((r.n_reads as f64, r.accuracy_mean, r.accuracy_sd));
    }
    super::plot::accuracy_curves(
        path,
        &series,
        &super::plot::Labels {
            title: "Sex-call accuracy vs reads",
            x: "reads (150 bp)",
            y: "accuracy (no-call = not correct)",
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subsets_stay_within_the_read_budget() {
        let items: Vec<(u64, f32)> = (0..100).map(|i| (3, i as f32)).collect();
        let mut rng = StdRng::seed_from_u64(1);
        let s = subset(&items, 31, &mut rng);
        assert_eq!(s.len(), 10);
        let mut sorted = s.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 10, "without replacement");
        assert!(subset(&items, 2, &mut rng).is_empty());
        assert_eq!(subset(&items, 1000, &mut rng).len(), 100);
    }

    #[test]
    fn reads_needed_is_the_smallest_n_reaching_the_accuracy() {
        let row = |n, rule: &str, a| ReadsRow {
            species: "h".into(),
            n_reads: n,
            rule: rule.into(),
            accuracy_mean: a,
            accuracy_sd: 0.0,
            no_call_rate: 0.0,
            n_genomes: 2,
            wrong_call_rate: 0.0,
            male_accuracy: None,
            female_accuracy: None,
        };
        let rows = [
            row(100, "lr", 0.9),
            row(200, "lr", 0.995),
            row(400, "lr", 0.99),
            row(100, "ideal", 0.999),
        ];
        assert_eq!(reads_for(&rows, "h", "lr", 0.99), Some(200));
        assert_eq!(reads_for(&rows, "h", "ideal", 0.99), Some(100));
        assert_eq!(reads_for(&rows, "h", "paper", 0.99), None);
    }
}
