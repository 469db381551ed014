//! `genosift predict`: input → pipeline → both rules → the calls table and the outputs asked for.

use std::time::Instant;

use anyhow::{bail, Result};

use crate::bundle::ModelBundle;
use crate::call::calibration::Calibration;
use crate::call::dosage;
use crate::call::karyotype::{self, Karyotype};
use crate::call::lr::{EvidenceCall, YEvidence};
use crate::check::SexCheck;
use crate::cli::{CallRule, PredictArgs};
use crate::config::{Job, PredictConfig};
use crate::input::Input;
use crate::output::groups::GroupsTable;
use crate::output::summary::{PredictSummary, RunInfo};
use crate::output::{calls, dosage_plot, mqc, summary};
use crate::pipeline::{self, Outcome};
use crate::score::{thread_pool, Scorer};

pub fn run(a: &PredictArgs) -> Result<()> {
    let config = crate::config::predict(a)?;
    let bundle = super::open_model(&a.common)?;
    bundle.warn_precision_mismatch();
    if !bundle.engine.has_head() {
        return Err(crate::error::ModelError::NoHead {
            dir: bundle.dir.clone(),
            command: "predict".into(),
        }
        .into());
    }
    let pool = thread_pool(config.threads)?;
    let summaries = match config.jobs.as_slice() {
        [job] => vec![predict_one(&config, job, &bundle, &pool)?],
        jobs => {
            // Samples side by side on the one pool; each is the same as on its own.
            use rayon::prelude::*;
            pool.install(|| {
                jobs.par_iter()
                    .map(|job| predict_one(&config, job, &bundle, &pool))
                    .collect::<Result<Vec<_>>>()
            })?
        }
    };
    let out = &config.outputs;
    if let Some(p) = &out.summary {
        summary::write(
            p,
            &run_info(&bundle, config.threads),
            &summaries,
            config.from_sheet,
        )?;
    }
    if let Some(p) = &out.mqc {
        mqc::write(p, &summaries)?;
    }
    if let Some(p) = &out.dosage_plot {
        dosage_plot::write(p, &summaries)?;
    }
    calls::write(out.calls.as_deref(), &summaries)?;
    let mismatches = summaries
        .iter()
        .filter(|s| s.sex_check == Some(SexCheck::Mismatch))
        .count();
    if config.fail_on_mismatch && mismatches > 0 {
        return Err(crate::error::SexMismatch(mismatches).into());
    }
    Ok(())
}

/// One sample: its input through the pipeline to both rules' decisions; `--groups` and
/// `--needles` (one sample only) are written here.
fn predict_one(
    config: &PredictConfig,
    job: &Job,
    bundle: &ModelBundle,
    pool: &rayon::ThreadPool,
) -> Result<PredictSummary> {
    let start = Instant::now();
    let (species, calibration) = resolve_calibration(bundle, job.species.as_deref())
        .map_err(|e| e.context(format!("sample {}", job.sample)))?;
    let detector = resolve_rule(config, calibration, bundle)?;
    // The X detector, for models with an X output (the karyotype also needs the Y dosage).
    let x_detector = calibration
        .and_then(|c| c.x_evidence.clone())
        .filter(|_| bundle.engine.has_x_classifier());
    let input = Input::open_all(&job.inputs, &config.reading)?;
    let mut groups = GroupsTable::create(config.outputs.groups.as_deref())?;
    let mut scorer = Scorer::new(bundle);
    let outcome = pipeline::run(
        &mut scorer,
        pool,
        input,
        detector,
        x_detector,
        &config.pipeline,
        &mut groups,
    )?;
    warn_long_records(bundle, &outcome);
    let s = summarize(config, job, species, calibration, &outcome, &scorer, start);
    groups.finish()?;
    if let Some(p) = &config.outputs.needles {
        outcome.needles.write(p)?;
    }
    log_summary(&s, bundle.settings.chunks);
    Ok(s)
}

/// The species and its calibration: `--species`, or the model's only one.
fn resolve_calibration<'a>(
    bundle: &'a ModelBundle,
    species: Option<&str>,
) -> Result<(String, Option<&'a Calibration>)> {
    let cal = &bundle.settings.calibration;
    let names = || cal.keys().cloned().collect::<Vec<_>>().join(", ");
    match species {
        Some(s) => match cal.get(s) {
            Some(c) => Ok((s.to_string(), Some(c))),
            None if cal.is_empty() => Ok((s.to_string(), None)),
            None => bail!(
                "--species {s}: the model is calibrated for {} only",
                names()
            ),
        },
        None => match cal.len() {
            0 => Ok(("NA".to_string(), None)),
            1 => {
                let (k, v) = cal.iter().next().expect("one entry");
                Ok((k.clone(), Some(v)))
            }
            _ => bail!(
                "the model is calibrated for several species ({}): choose one with --species",
                names()
            ),
        },
    }
}

/// The Y detector when the likelihood-ratio rule applies; errors for flags it cannot honour.
fn resolve_rule(
    config: &PredictConfig,
    calibration: Option<&Calibration>,
    bundle: &ModelBundle,
) -> Result<Option<YEvidence>> {
    let detector = calibration.and_then(|c| c.evidence.clone());
    let lr = match (config.rule, detector) {
        (CallRule::Paper, _) => None,
        (_, Some(d)) if bundle.engine.has_chunk_classifier() => Some(d),
        (CallRule::Auto, _) => None,
        (CallRule::Lr, _) => bail!(
            "--rule lr: {} has no calibrated per-chunk Y detector (train with \
             --chunk-loss-weight > 0, then run genosift calibrate); use --rule paper",
            bundle.dir.display()
        ),
    };
    let needs_lr = config.pipeline.stop_when_confident || config.outputs.needles.is_some();
    if lr.is_none() && needs_lr {
        bail!(
            "--stop-when-confident and --needles need the likelihood-ratio rule, and {} {}",
            bundle.dir.display(),
            if config.rule == CallRule::Paper {
                "was asked for --rule paper"
            } else {
                "has no calibrated per-chunk Y detector"
            }
        );
    }
    Ok(lr)
}

/// Records longer than the chunks of a read-trained model get Y evidence it was not calibrated on.
fn warn_long_records(bundle: &ModelBundle, o: &Outcome) {
    if let (Some(read_len), true) = (bundle.settings.read_len, o.long_records > 0) {
        tracing::warn!(
            "{} of {} records are longer than the model's {}-bp chunks and were cut into \
             pieces; the model was trained and calibrated on {read_len}-bp reads, so its Y \
             evidence on them is not calibrated",
            o.long_records,
            o.input.records,
            bundle.settings.chunk_len
        );
    }
}

/// Both rules' decisions; the likelihood ratio's is the call when the model has it.
fn summarize(
    config: &PredictConfig,
    job: &Job,
    species: String,
    calibration: Option<&Calibration>,
    o: &Outcome,
    scorer: &Scorer,
    start: Instant,
) -> PredictSummary {
    let min_confidence = config.pipeline.min_confidence;
    let paper = o.groups.decide(calibration, min_confidence);
    let lr = o
        .evidence
        .as_ref()
        .map(|e| dosage::verdict(e, min_confidence));
    let x_dosage =
        o.x.as_ref()
            .and_then(|(ev, count)| dosage::x_dosage(*count, ev));
    let karyotype = lr
        .as_ref()
        .and_then(|v| karyotype::of_verdict(v, x_dosage.as_ref()))
        .map(Karyotype::as_str);
    let (rule, call, no_call_reason) = match &lr {
        Some(v) => ("lr", v.call, v.no_call_reason),
        None => ("paper", paper.call, paper.no_call_reason),
    };
    PredictSummary {
        sample: job.sample.clone(),
        species,
        n_records: o.n_records,
        n_bp: o.n_bp,
        n_chunks: o.n_chunks,
        n_groups: o.groups.n_groups,
        dropped_chunks: o.dropped_chunks,
        fraction: o.groups.fraction(),
        threshold: paper.threshold,
        rule,
        chunks_scored: o.chunks_scored,
        y_hits: o.evidence.as_ref().map(|e| e.hits),
        log_lr: o.evidence.as_ref().map(EvidenceCall::log_lr),
        posterior_male: o.evidence.as_ref().map(EvidenceCall::posterior_male),
        min_confidence,
        max_confidence: o.evidence.as_ref().map(|e| e.max_confidence),
        call,
        no_call_reason,
        y_dosage: lr.and_then(|v| v.dosage),
        flag: lr.and_then(|v| v.flag).map(dosage::Flag::as_str),
        x_dosage,
        karyotype,
        expected_sex: job.expected_sex,
        sex_check: job.expected_sex.map(|e| SexCheck::of(call, e)),
        stopped_early: o.stopped_early,
        seconds: start.elapsed().as_secs_f64(),
        model_seconds: scorer.timings.model,
        tokenize_seconds: scorer.timings.tokenize,
        input: (&o.input).into(),
    }
}

fn run_info(bundle: &ModelBundle, threads: usize) -> RunInfo {
    RunInfo {
        model: bundle.dir.display().to_string(),
        chunks_per_group: bundle.settings.chunks,
        chunk_len: bundle.settings.chunk_len,
        both_strands: bundle.settings.both_strands,
        threads,
        precision: bundle.engine.precision().as_str(),
    }
}

fn log_summary(s: &PredictSummary, chunks_per_group: usize) {
    let opt = |v: Option<f64>, digits: usize| v.map_or("NA".into(), |x| format!("{x:.digits$}"));
    tracing::info!(
        "{}: {} records, {} bp → {} chunks, {} groups of {} ({} chunk(s) in a final partial group){}; call {} by the {} rule (posterior male {}, {} Y hits in {} chunks; fraction female {}, threshold {}); {:.1} s: model {:.0}%, tokenizer {:.0}%",
        s.sample,
        s.n_records,
        s.n_bp,
        s.n_chunks,
        s.n_groups,
        chunks_per_group,
        s.dropped_chunks,
        if s.stopped_early { ", stopped early" } else { "" },
        s.call.as_str(),
        s.rule,
        opt(s.posterior_male, 6),
        s.y_hits.map_or("NA".into(), |h| h.to_string()),
        s.chunks_scored,
        opt(s.fraction, 4),
        opt(s.threshold, 4),
        s.seconds,
        100.0 * s.model_seconds / s.seconds.max(1e-9),
        100.0 * s.tokenize_seconds / s.seconds.max(1e-9),
    );
    if let Some(reason) = s.no_call_reason {
        tracing::info!("{}: no-call: {reason}", s.sample);
    }
    let i = &s.input;
    if i.skipped.total() > 0 || i.unmapped > 0 || i.order == "random" {
        let k = &i.skipped;
        tracing::info!(
            "{}: reads in {} order; {} unmapped reads used; skipped {} secondary/supplementary, {} QC-failed, {} duplicate, {} second-mate, {} other-flag, {} without bases",
            s.sample,
            i.order,
            i.unmapped,
            k.secondary_supplementary,
            k.qc_fail,
            k.duplicate,
            k.second_mate,
            k.other_flags,
            k.no_sequence
        );
    }
}
