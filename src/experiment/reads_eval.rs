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
//! - `ideal` and `ideal-unique`: detectors that never mistake another read for a Y read and
//!   recognise every read from the male-specific Y (`ideal`), or only those that also carry a
//!   k-mer found on no other chromosome of the cohort (`ideal-unique`; see [`super::ideal`]): a
//!   male is called once one of his N reads is recognised (probability `1 − (1 − y)^N`, `y` the
//!   share of such reads in the species' male test genomes), a female is always right. Neither
//!   counts sequence that chrY shares with chrX (the pseudo-autosomal regions).
//!
//! Accuracy counts no-calls as not correct; 200 subsets per N by default. Asking for more reads
//! than a genome's file holds is an error, not a silent cap.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Result};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::evaluate::{fmt_share, tally, Accuracy, Tally};
use super::ideal::{self, IdealShares};
use super::metrics::mean_sd;
use crate::bundle::ModelBundle;
use crate::call::calibration::Calibration;
use crate::call::dosage;
use crate::call::karyotype::Karyotype;
use crate::call::lr::{EvidenceCall, YEvidence};
use crate::call::paper::SampleCall;
use crate::call::Call;
use crate::chunk::Chunker;
use crate::cohort::sampler::Genome;
use crate::cohort::sheet::{read_sheet, Constitution, SampleRow, Sex, Split};
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
    /// Score the test split's other constitutions too (`--karyotypes`).
    pub karyotypes: bool,
}

/// One row of the reads table.
#[derive(Debug, Clone)]
pub struct ReadsRow {
    pub species: String,
    pub n_reads: u64,
    pub rule: String,
    pub accuracy: Accuracy,
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
pub type Scored = Vec<(u64, f32)>;

/// A test genome's scored reads.
pub struct ScoredReads {
    pub sample: String,
    pub sex: Sex,
    pub constitution: Constitution,
    /// Per chunk: reads in it and its Y logit.
    pub chunks: Scored,
    /// Per chunk, the same order: its X logit (empty without an X classifier).
    pub x_logits: Vec<f32>,
    /// Per group: reads in it and P(female).
    pub groups: Scored,
}

/// A reads file's scored chunks (reads and Y logit; X logits beside) and groups.
struct ReadScores {
    chunks: Scored,
    x_logits: Vec<f32>,
    groups: Scored,
    /// Mean read length.
    read_len: usize,
}

/// Scored chunks and groups of a reads file, and its mean read length.
fn score_reads(bundle: &ModelBundle, path: &Path, seed: u64) -> Result<ReadScores> {
    let mut records = read_records(&Source::Path(path.to_path_buf()))?;
    let bases: usize = records.iter().map(|r| r.seq.len()).sum();
    let mean_len = bases / records.len().max(1);
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
    let mut x_logits = Vec::new();
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
            x_logits.extend(s.x_logits);
        }
    }
    Ok(ReadScores {
        chunks,
        x_logits,
        groups: scored_groups,
        read_len: mean_len,
    })
}

/// Indices of a random subset of `items` whose read counts add up to at most `n`.
pub fn subset(items: &[(u64, f32)], n: u64, rng: &mut StdRng) -> Vec<usize> {
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

/// The test samples' scored reads by species (every constitution), and the ideals' shares of
/// each species' XY test genomes.
pub struct ScoredTest {
    pub by_species: BTreeMap<String, Vec<ScoredReads>>,
    shares: BTreeMap<String, Vec<IdealShares>>,
}

/// The accuracy-vs-reads table for the XX and XY `test` genomes (see [`super::karyotypes`] for
/// the others).
pub fn evaluate_reads(
    bundle: &ModelBundle,
    test: &ScoredTest,
    opts: &ReadsEvalOptions,
) -> Result<Vec<ReadsRow>> {
    let mut out = Vec::new();
    // The paper rule's subsets come from one stream across species and N.
    let mut rng = StdRng::seed_from_u64(opts.seed);
    for (species, all) in &test.by_species {
        let set: Vec<&ScoredReads> = all.iter().filter(|g| g.constitution.is_typical()).collect();
        if set.is_empty() {
            continue;
        }
        let set = set.as_slice();
        let ideals = test.shares.get(species).map(|v| {
            let mean = |f: fn(&IdealShares) -> f64| mean_sd(&v.iter().map(f).collect::<Vec<_>>()).0;
            [
                ("ideal", mean(|s| s.specific)),
                ("ideal-unique", mean(|s| s.unique)),
            ]
        });
        let cal = bundle.settings.calibration.get(species);
        for &n in &opts.n_reads {
            let row = |rule: &str, accuracy: Accuracy| ReadsRow {
                species: species.clone(),
                n_reads: n,
                rule: rule.to_string(),
                accuracy,
            };
            for (rule, t) in lr_tallies(set, cal, n, opts) {
                out.push(row(rule, t.into()));
            }
            if let Some(cal) = cal {
                out.push(row(
                    "paper",
                    paper_tally(set, cal, n, opts, &mut rng).into(),
                ));
            }
            for (rule, y) in ideals.iter().flatten() {
                out.push(row(rule, ideal(set, *y, n)));
            }
        }
        for (rule, y) in ideals.iter().flatten() {
            tracing::info!(
                "{species}: {rule} Y-read detector needs {:.0} reads for 0.99 (share of male reads {:.4}%)",
                (50f64).ln() / -(1.0 - y).ln(),
                100.0 * y
            );
        }
    }
    Ok(out)
}

/// Scores every test sample's reads file (shuffled with a seed of its own) on the one pool.
pub fn score_test_reads(
    bundle: &ModelBundle,
    sheet: &Path,
    opts: &ReadsEvalOptions,
) -> Result<ScoredTest> {
    if !bundle.engine.has_head() {
        return Err(crate::error::ModelError::NoHead {
            dir: bundle.dir.clone(),
            command: "evaluate --reads".into(),
        }
        .into());
    }
    let all = read_sheet(sheet, true)?;
    // XX and XY first, in sheet order (their shuffle seeds are those of a sheet without the
    // others), then, for `--karyotypes`, the other constitutions.
    let test = |typical: bool| {
        all.iter()
            .filter(move |r| r.split == Split::Test && r.constitution.is_typical() == typical)
    };
    let rows: Vec<&SampleRow> = test(true)
        .chain(test(false).filter(|_| opts.karyotypes))
        .collect();
    if rows.iter().all(|r| r.reads.is_none()) {
        bail!(
            "{}: no test sample has a reads file (column `reads`)",
            sheet.display()
        );
    }
    let pool = crate::score::thread_pool(opts.threads)?;
    let mut by_species: BTreeMap<String, Vec<ScoredReads>> = BTreeMap::new();
    let mut males: BTreeMap<String, Vec<(Genome, usize)>> = BTreeMap::new();
    for (i, row) in rows.iter().enumerate() {
        let Some(path) = &row.reads else {
            continue;
        };
        let seed = opts.seed ^ ((i as u64 + 1) * 0x9e37_79b9);
        let (scored, read_len) = pool.install(|| score_row(bundle, row, path, seed, opts))?;
        if row.constitution == Constitution::Karyotype(Karyotype::XY) {
            let g = Genome::load(row)?;
            males
                .entry(row.species.clone())
                .or_default()
                .push((g, read_len));
        }
        by_species
            .entry(row.species.clone())
            .or_default()
            .push(scored);
    }
    let mut shares = BTreeMap::new();
    for (species, males) in males {
        shares.insert(species.clone(), ideal_shares(&all, &species, &males)?);
    }
    Ok(ScoredTest { by_species, shares })
}

/// One test sample's reads file scored (shuffled with `seed`), checked to hold the most reads
/// asked for; with its mean read length.
fn score_row(
    bundle: &ModelBundle,
    row: &SampleRow,
    path: &Path,
    seed: u64,
    opts: &ReadsEvalOptions,
) -> Result<(ScoredReads, usize)> {
    let t = std::time::Instant::now();
    let r = score_reads(bundle, path, seed)?;
    if r.chunks.is_empty() {
        bail!("{}: its reads file gave no chunk", row.sample);
    }
    let total: u64 = r.chunks.iter().map(|c| c.0).sum();
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
        r.chunks.len(),
        r.groups.len(),
        t.elapsed().as_secs_f64()
    );
    let scored = ScoredReads {
        sample: row.sample.clone(),
        sex: row.sex,
        constitution: row.constitution,
        chunks: r.chunks,
        x_logits: r.x_logits,
        groups: r.groups,
    };
    Ok((scored, r.read_len))
}

/// The ideals' shares of each male's reads; `ideal-unique`'s k-mers are checked against every XX
/// and XY genome of the species in the sheet, whatever its split.
fn ideal_shares(
    all: &[SampleRow],
    species: &str,
    males: &[(Genome, usize)],
) -> Result<Vec<IdealShares>> {
    let t = std::time::Instant::now();
    let mut unique = ideal::y_kmers(males.iter().map(|(g, _)| g));
    for row in all
        .iter()
        .filter(|r| r.species == species && r.constitution.is_typical())
    {
        ideal::remove_found_elsewhere(&mut unique, &Genome::load(row)?);
    }
    tracing::info!(
        "{species}: {} chrY k-mers found on no other chromosome of the cohort ({:.1} s)",
        unique.len(),
        t.elapsed().as_secs_f64()
    );
    Ok(males
        .iter()
        .map(|(g, len)| ideal::shares(g, *len, &unique))
        .collect())
}

/// `lr` as `predict` calls it (graded when calibrated so) and, on the same subsets, with graded
/// evidence the single-threshold rule (`lr-hits`) and with overdispersion the plain ratio without
/// it (`lr-plain`): `repeats` subsets of `n` reads per genome.
fn lr_tallies(
    set: &[&ScoredReads],
    cal: Option<&Calibration>,
    n: u64,
    opts: &ReadsEvalOptions,
) -> Vec<(&'static str, Tally)> {
    let Some(ev) = cal.and_then(|c| c.evidence.as_ref()) else {
        return Vec::new();
    };
    let single = YEvidence {
        bins: Vec::new(),
        ..ev.clone()
    };
    let plain = YEvidence {
        overdispersion: None,
        ..ev.clone()
    };
    let variants = std::iter::once(("lr", ev.clone()))
        .chain((!ev.bins.is_empty()).then_some(("lr-hits", single)))
        .chain(ev.overdispersion.is_some().then_some(("lr-plain", plain)));
    variants
        .map(|(rule, ev)| {
            let mut rng = StdRng::seed_from_u64(opts.seed ^ n);
            let calls = resampled_calls(set, opts.repeats, |g| {
                let mut e = EvidenceCall::new(ev.clone());
                for i in subset(&g.chunks, n, &mut rng) {
                    e.add(g.chunks[i].1);
                }
                dosage::verdict(&e, opts.min_confidence).call
            });
            (rule, tally(&sexes(set), &calls, opts.repeats))
        })
        .collect()
}

/// The paper's rule on `repeats` subsets of `n` reads' groups per genome.
fn paper_tally(
    set: &[&ScoredReads],
    cal: &Calibration,
    n: u64,
    opts: &ReadsEvalOptions,
    rng: &mut StdRng,
) -> Tally {
    let calls = resampled_calls(set, opts.repeats, |g| {
        let mut c = SampleCall::default();
        for i in subset(&g.groups, n, rng) {
            c.add(g.groups[i].1);
        }
        c.decide(Some(cal), opts.min_confidence).call
    });
    tally(&sexes(set), &calls, opts.repeats)
}

/// `calls[genome][repeat]`, genome after genome.
fn resampled_calls(
    set: &[&ScoredReads],
    repeats: usize,
    mut call: impl FnMut(&ScoredReads) -> Call,
) -> Vec<Vec<Call>> {
    set.iter()
        .map(|g| (0..repeats).map(|_| call(g)).collect())
        .collect()
}

fn sexes(set: &[&ScoredReads]) -> Vec<Sex> {
    set.iter().map(|g| g.sex).collect()
}

/// The ideal Y-read detector, in closed form: males called with probability 1 − (1 − y)^N,
/// females always right.
fn ideal(set: &[&ScoredReads], y: f64, n: u64) -> Accuracy {
    let p_male = 1.0 - (1.0 - y).powf(n as f64);
    let n_male = set.iter().filter(|g| g.sex == Sex::Male).count();
    let n_female = set.len() - n_male;
    Accuracy {
        mean: (n_male as f64 * p_male + n_female as f64) / set.len() as f64,
        sd: 0.0,
        n_genomes: set.len(),
        no_call_rate: 0.0,
        wrong_call_rate: n_male as f64 * (1.0 - p_male) / set.len() as f64,
        male: (n_male > 0).then_some(p_male),
        female: (n_female > 0).then_some(1.0),
    }
}

/// The smallest N of the table at which `rule` reaches `accuracy` for `species`.
pub fn reads_for(rows: &[ReadsRow], species: &str, rule: &str, accuracy: f64) -> Option<u64> {
    rows.iter()
        .filter(|r| r.species == species && r.rule == rule && r.accuracy.mean >= accuracy)
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
            format!("{:.4}", r.accuracy.mean),
            format!("{:.4}", r.accuracy.sd),
            format!("{:.4}", r.accuracy.no_call_rate),
            r.accuracy.n_genomes.to_string(),
            format!("{:.4}", r.accuracy.wrong_call_rate),
            fmt_share(r.accuracy.male),
            fmt_share(r.accuracy.female),
        ])?;
    }
    t.finish()?;
    Ok(())
}

/// Accuracy vs reads, one line per species and rule.
pub fn plot_reads(path: &Path, rows: &[ReadsRow]) -> Result<()> {
    let series = super::plot::series_of(rows.iter().map(|r| {
        let name = format!("{} ({})", r.species, r.rule);
        (name, (r.n_reads as f64, r.accuracy.mean, r.accuracy.sd))
    }));
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
            accuracy: Accuracy {
                mean: a,
                sd: 0.0,
                n_genomes: 2,
                no_call_rate: 0.0,
                wrong_call_rate: 0.0,
                male: None,
                female: None,
            },
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
