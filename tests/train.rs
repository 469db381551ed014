//! End to end: simulate → train → calibrate → evaluate → predict, on a tiny cohort and model.

mod common;

use common::{genosift, stdout_of};
use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;

fn simulate(dir: &Path, seed: &str) {
    genosift()
        .args([
            "simulate",
            "--scale",
            "0.05",
            "--short-reads",
            "300",
            "--long-reads",
            "2",
            "--seed",
            seed,
            "--out",
        ])
        .arg(dir)
        .assert()
        .success();
}

fn train(sheet: &Path, out: &Path, seed: &str, threads: &str) {
    train_cmd(sheet, out, seed, threads)
        .arg("-q")
        .assert()
        .success();
}

/// `genosift train` on a tiny model, a few steps.
fn train_cmd(sheet: &Path, out: &Path, seed: &str, threads: &str) -> Command {
    let mut c = genosift();
    c.args(["train", "--samples"])
        .arg(sheet)
        .arg("--out")
        .arg(out)
        .args([
            "--chunks",
            "4",
            "--chunk-len",
            "256",
            "--batch",
            "4",
            "--grad-accum",
            "2",
            "--steps",
            "3",
            "--eval-every",
            "2",
            "--lr",
            "1e-3",
            "--warmup",
            "1",
            "--valid-groups",
            "8",
            "--chunk-loss-weight",
            "1",
            "--y-boost",
            "0.3",
            "--reads",
            "100",
            "--read-errors",
            "0.01",
            "--seed",
            seed,
            "--threads",
            threads,
        ]);
    c
}

/// `evaluate --karyotypes`: per species with a Y detector and N, a row for each of the seven
/// constitutions of the test split, whose outcomes add up to 1.
fn check_karyotype_table(path: &Path, detectors: usize) {
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "species\tn_reads\tconstitution\texpected\tn_genomes\tright\tnot_called\twrong\t\
         flagged\ty_dosage_mean\tx_dosage_mean"
    );
    assert_eq!(lines.len(), 1 + detectors * 2 * 7, "{text}");
    for l in &lines[1..] {
        let f: Vec<&str> = l.split('\t').collect();
        let v = |i: usize| f[i].parse::<f64>().unwrap();
        assert!((v(5) + v(6) + v(7) - 1.0).abs() < 2e-4, "{l}");
        let (genomes, expected) = match f[2] {
            "XX" | "XY" => ("3", f[2]),
            "XX+XY" | "XY/X0" => ("1", "y_partial"),
            k => ("1", k),
        };
        assert_eq!((f[4], f[3]), (genomes, expected), "{l}");
    }
}

/// The X output end to end on a tiny model: trained (`--x-loss-weight`), scored on the
/// validation genomes by `calibrate`, counted by `predict` under a given X detector, and
/// reported as `x_dosage` (its accuracy is a matter for a trained model: BENCHMARKS.md).
#[test]
fn an_x_output_is_trained_and_its_hits_reach_the_x_dosage() {
    let dir = tempfile::tempdir().unwrap();
    let sim = dir.path().join("sim");
    simulate(&sim, "11");
    let sheet = sim.join("samples.tsv");
    let m = dir.path().join("m");
    train_cmd(&sheet, &m, "9", "2")
        .args(["--x-loss-weight", "1"])
        .assert()
        .success()
        .stderr(predicates::str::is_match("chunk X ROC-AUC [01]\\.[0-9]{4}").unwrap());
    let weights = std::fs::read(m.join("model.safetensors")).unwrap();
    let has = |name: &str| weights.windows(name.len()).any(|w| w == name.as_bytes());
    assert!(has("x_classifier.weight") && has("chunk_classifier.weight"));
    genosift()
        .args(["calibrate", "-q", "--k", "2", "--repeats", "4", "-m"])
        .arg(&m)
        .arg("--samples")
        .arg(&sheet)
        .assert()
        .success();
    // Whatever calibrate found after 3 steps, give each species a Y and an X detector that fire
    // on every chunk's logit above a fixed threshold, so that the counts are what matters.
    let json = m.join("genosift.json");
    let mut settings: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let y = serde_json::json!({
        "logit_threshold": -1.0e9, "p_hit_male": 0.9, "p_hit_female": 0.1,
        "male_chunks": 1, "female_chunks": 1, "y_chunk_share": 0.0, "sensitivity": 0.0
    });
    let x = serde_json::json!({
        "logit_threshold": -1.0e9, "p_hit_xx": 0.6, "p_hit_xy": 0.3,
        "chunks_xx": 1, "chunks_xy": 1, "rho": 0.0
    });
    // Rewrites every species' calibration, then calls the test female's reads.
    let reads = sim.join("reads/human_F19.short.fq");
    let mut predict_with = |edit: &dyn Fn(&mut serde_json::Value)| {
        for cal in settings["calibration"]
            .as_object_mut()
            .unwrap()
            .values_mut()
        {
            edit(cal);
        }
        std::fs::write(&json, serde_json::to_string(&settings).unwrap()).unwrap();
        stdout_of(
            genosift()
                .args(["predict", "-q", "--species", "human", "-m"])
                .arg(&m)
                .arg(&reads),
        )
    };
    // Every chunk is an X hit: rate 1, X dosage 1 + (1 − 0.3) / 0.3 = 3.3333.
    let text = predict_with(&|cal| {
        cal["evidence"] = y.clone();
        cal["x_evidence"] = x.clone();
    });
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    let col = |name: &str| rows[1][rows[0].iter().position(|c| *c == name).unwrap()];
    assert_eq!(col("x_dosage"), "3.3333", "{text}");
    assert!(col("x_dosage_lo").parse::<f64>().unwrap() > 3.0, "{text}");
    // Y: every chunk a hit too (dosage (1 − 0.1) / 0.8 = 1.125). Three X and one Y (XXXY) is no
    // karyotype genosift names: NA.
    assert_eq!(col("y_dosage"), "1.1250", "{text}");
    assert_eq!(col("karyotype"), "NA", "{text}");
    // Without the X detector, no X dosage.
    let text = predict_with(&|cal| {
        cal.as_object_mut().unwrap().remove("x_evidence");
    });
    assert!(
        text.lines().nth(1).unwrap().ends_with("\tNA\tNA\tNA\tNA"),
        "{text}"
    );
}

#[test]
fn simulate_writes_the_atypical_individuals() {
    let dir = tempfile::tempdir().unwrap();
    let sim = dir.path().join("sim");
    simulate(&sim, "8");
    let sheet = std::fs::read_to_string(sim.join("samples.tsv")).unwrap();
    let rows: Vec<Vec<&str>> = sheet.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows[0][6], "karyotype");
    let human: Vec<&Vec<&str>> = rows.iter().filter(|r| r[1] == "human").collect();
    let of = |k: &str| {
        human
            .iter()
            .filter(|r| r[6] == k)
            .map(|r| (r[2], r[3]))
            .collect::<Vec<_>>()
    };
    assert_eq!(of("XX").len() + of("XY").len(), 24);
    assert_eq!(of("X0"), [("female", "test")]);
    assert_eq!(of("XXY"), [("male", "test")]);
    assert_eq!(of("XYY"), [("male", "test")]);
    assert_eq!(of("XX+XY"), [("female", "test")]);
    assert_eq!(of("XY/X0"), [("male", "test")]);
    // Haplotypes: XXY's second copy holds an X and the Y; XYY's two Y.
    let names = |r: &Vec<&str>, h: usize| -> Vec<String> {
        let fa = r[4].split(',').nth(h).unwrap();
        std::fs::read_to_string(sim.join(fa))
            .unwrap()
            .lines()
            .filter_map(|l| l.strip_prefix('>').map(str::to_string))
            .filter(|n| !n.starts_with("chr") || n.contains('X') || n.contains('Y'))
            .collect()
    };
    let row = |k: &str| *human.iter().find(|r| r[6] == k).unwrap();
    assert_eq!(names(row("XXY"), 1), ["chrX", "chrY"]);
    assert_eq!(names(row("XYY"), 1), ["chrY", "chrY_2"]);
    assert!(names(row("X0"), 1).is_empty());
    // Every test individual has reads and a sorted BAM.
    for r in human.iter().filter(|r| r[3] == "test") {
        assert!(sim.join(r[5]).exists(), "{r:?}");
        let bam = r[5].replace(".short.fq", ".sorted.bam");
        assert!(sim.join(bam).exists(), "{r:?}");
    }
}

/// `--select false-y`: the step kept is one with the fewest false Y hits among the validations
/// (then the highest sensitivity with none), as each validation's log line gives them, and the
/// model is the same on 1 and 2 threads.
fn check_false_y_selection(sheet: &Path, dir: &Path) {
    let run = |out: &str, threads: &str| {
        let a = train_cmd(sheet, &dir.join(out), "9", threads)
            .args(["--select", "false-y", "--valid-negatives", "64"])
            .assert()
            .success();
        String::from_utf8(a.get_output().stderr.clone()).unwrap()
    };
    let log = run("f2", "2");
    run("f1", "1");
    let w = |m: &str| std::fs::read(dir.join(m).join("model.safetensors")).unwrap();
    assert_eq!(w("f2"), w("f1"), "same model on 1 and 2 threads");
    let after = |l: &str, key: &str, end: char| -> Option<String> {
        Some(l.split(key).nth(1)?.split(end).next()?.trim().to_string())
    };
    // (step, false Y hits, sensitivity with none) of each validation.
    let seen: Vec<(usize, usize, f64)> = log
        .lines()
        .filter_map(|l| {
            Some((
                after(l, "step ", ':')?.parse().ok()?,
                after(l, "false-Y ", '/')?.parse().ok()?,
                after(l, "sensitivity with none ", ',')?.parse().ok()?,
            ))
        })
        .collect();
    assert_eq!(seen.len(), 2, "validations at steps 2 and 3: {log}");
    assert!(seen.iter().all(|v| v.1 <= 64), "{seen:?}");
    let kept: usize = log
        .lines()
        .find_map(|l| after(l, "kept step ", ' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{log}"));
    assert!(
        log.contains(&format!("kept step {kept} by --select false-y")),
        "{log}"
    );
    let k = seen.iter().find(|v| v.0 == kept).expect("a validated step");
    assert!(
        seen.iter().all(|v| (k.1, -k.2) <= (v.1, -v.2)),
        "kept {k:?} of {seen:?}"
    );
}

#[test]
fn simulate_train_calibrate_evaluate_predict() {
    let dir = tempfile::tempdir().unwrap();
    let sim = dir.path().join("sim");
    simulate(&sim, "5");
    let sheet = sim.join("samples.tsv");
    let text = std::fs::read_to_string(&sheet).unwrap();
    assert_eq!(text.lines().count(), 1 + 2 * (24 + 5));
    let species = std::fs::read_to_string(sim.join("species.tsv")).unwrap();
    assert!(species.contains("human") && species.contains("mouse"));

    // Deterministic for a seed whatever the thread count (the micro-batches run side by side and
    // are summed in order); a different seed gives a different model.
    let m1 = dir.path().join("m1");
    let m2 = dir.path().join("m2");
    let m3 = dir.path().join("m3");
    train(&sheet, &m1, "9", "2");
    train(&sheet, &m2, "9", "1");
    train(&sheet, &m3, "10", "2");
    let w = |m: &Path| std::fs::read(m.join("model.safetensors")).unwrap();
    assert_eq!(w(&m1), w(&m2), "same seed, same model on 1 and 2 threads");
    let m1t3 = dir.path().join("m1-3-threads");
    train(&sheet, &m1t3, "9", "3");
    assert_eq!(w(&m1), w(&m1t3), "same seed, same model on 3 threads");
    assert_ne!(w(&m1), w(&m3), "another seed, another model");
    for f in ["config.json", "tokenizer.json", "genosift.json"] {
        assert!(m1.join(f).is_file(), "{f}");
    }
    // A cosine schedule: the last step runs at --min-lr (warm-up 1, peak 1e-3, 3 steps).
    let m4 = dir.path().join("m4");
    train_cmd(&sheet, &m4, "9", "2")
        .args(["--schedule", "cosine", "--min-lr", "1e-4"])
        .assert()
        .success()
        .stderr(predicates::str::contains("step 3: ").and(predicates::str::contains("lr 1.00e-4")));
    assert_ne!(w(&m1), w(&m4), "another schedule, another model");
    train_cmd(&sheet, &dir.path().join("m5"), "9", "2")
        .args(["--schedule", "cosine", "--min-lr", "1e-2"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("--min-lr 0.01"));
    // An X output, and a checkpoint chosen by false Y hits, need the Y output: both reported.
    genosift()
        .args(["train", "-q", "--samples"])
        .arg(&sheet)
        .arg("--out")
        .arg(dir.path().join("m6"))
        .args(["--x-loss-weight", "1", "--select", "false-y"])
        .assert()
        .code(1)
        .stderr(
            predicates::str::contains("--x-loss-weight needs --chunk-loss-weight").and(
                predicates::str::contains("--select false-y needs --chunk-loss-weight > 0"),
            ),
        );
    check_false_y_selection(&sheet, dir.path());

    genosift()
        .args(["calibrate", "-q", "--k", "2,4", "--repeats", "10"])
        .args(["--read-errors", "0.005", "-m"])
        .arg(&m1)
        .arg("--samples")
        .arg(&sheet)
        .assert()
        .success();
    genosift()
        .args(["calibrate", "-q", "--k", "2", "--read-errors", "0.7", "-m"])
        .arg(&m1)
        .arg("--samples")
        .arg(&sheet)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("--read-errors 0.7"));
    // A backbone without head: an error naming the directory, not a panic.
    genosift()
        .args(["calibrate", "-q", "--k", "2", "--repeats", "2", "-m"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("test-data/gena-tiny"))
        .arg("--samples")
        .arg(&sheet)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("no classification head"));
    // Both strands: recorded in genosift.json; switching back drops the calibration it made.
    let calibrate_m2 = |both: bool| {
        let mut c = genosift();
        c.args(["calibrate", "--k", "2", "--repeats", "2", "-m"])
            .arg(&m2)
            .arg("--samples")
            .arg(&sheet);
        if both {
            c.arg("--both-strands");
        }
        c.assert().success()
    };
    let json = |m: &Path| std::fs::read_to_string(m.join("genosift.json")).unwrap();
    calibrate_m2(true);
    assert!(
        json(&m2).contains("\"both_strands\": true"),
        "{}",
        json(&m2)
    );
    calibrate_m2(false).stderr(predicates::str::contains(
        "scoring changes to one strand: the earlier calibration (human, mouse) is dropped",
    ));
    assert!(!json(&m2).contains("both_strands"), "{}", json(&m2));
    let settings = std::fs::read_to_string(m1.join("genosift.json")).unwrap();
    assert!(
        settings.contains("\"human\"") && settings.contains("\"4\""),
        "{settings}"
    );

    let table = dir.path().join("eval.tsv");
    let plot = dir.path().join("eval.svg");
    genosift()
        .args([
            "evaluate",
            "-q",
            "--k",
            "2,4",
            "--repeats",
            "10",
            "--exclude-chrom",
            "chrY",
            "-m",
        ])
        .arg(&m1)
        .arg("--samples")
        .arg(&sheet)
        .arg("-o")
        .arg(&table)
        .arg("--plot")
        .arg(&plot)
        .assert()
        .success();
    let rows: Vec<String> = std::fs::read_to_string(&table)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(
        rows[0],
        "species\tk\taccuracy_mean\taccuracy_sd\tn_genomes\tcondition\trule\tno_call_rate\t\
         wrong_call_rate\taccuracy_male\taccuracy_female"
    );
    // The paper's rule for both species and both K; the likelihood-ratio rule too for each
    // species whose calibration found a Y detector.
    let detectors = settings.matches("\"evidence\"").count();
    assert_eq!(rows.len(), 1 + 4 + 2 * detectors, "{rows:?}");
    assert!(
        rows[1].starts_with("human\t2\t") && rows[1].contains("\t6\tno-chrY\tpaper\t0.0000\t"),
        "{}",
        rows[1]
    );
    assert!(std::fs::read_to_string(&plot).unwrap().starts_with("<svg"));

    // Accuracy vs reads on the test samples' reads files, with a PNG plot.
    let reads_table = dir.path().join("reads.tsv");
    let reads_plot = dir.path().join("reads.png");
    let karyotypes = dir.path().join("karyotypes.tsv");
    genosift()
        .args(["evaluate", "-q", "--reads", "40,80", "--repeats", "5", "-m"])
        .arg(&m1)
        .arg("--samples")
        .arg(&sheet)
        .arg("-o")
        .arg(&reads_table)
        .arg("--plot")
        .arg(&reads_plot)
        .arg("--karyotypes")
        .arg(&karyotypes)
        .assert()
        .success();
    check_karyotype_table(&karyotypes, detectors);
    let text = std::fs::read_to_string(&reads_table).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "species\tn_reads\trule\taccuracy_mean\taccuracy_sd\tno_call_rate\tn_genomes\t\
         wrong_call_rate\taccuracy_male\taccuracy_female"
    );
    // Every call is right, wrong or a no-call; with as many male as female test genomes
    // (3 + 3 per species), the accuracy is the mean of the two sexes' accuracies.
    for l in &lines[1..] {
        let f: Vec<&str> = l.split('\t').collect();
        let v = |i: usize| f[i].parse::<f64>().unwrap();
        assert!((v(3) + v(5) + v(7) - 1.0).abs() < 2e-4, "{l}");
        assert!((v(3) - (v(8) + v(9)) / 2.0).abs() < 2e-4, "{l}");
        if f[2].starts_with("ideal") {
            assert_eq!((f[5], f[9]), ("0.0000", "1.0000"), "{l}");
        }
    }
    // Per species and N: paper, the two ideals, and lr where calibrated (and lr-hits where graded,
    // lr-plain where the calibration has the spread between individuals, as every new one has).
    let graded = lines.iter().filter(|l| l.contains("\tlr-hits\t")).count();
    assert!(graded <= 2 * detectors, "{text}");
    let plain = lines.iter().filter(|l| l.contains("\tlr-plain\t")).count();
    assert_eq!(plain, 2 * detectors, "{text}");
    assert_eq!(
        lines.len(),
        1 + 2 * 2 * 3 + 2 * detectors + graded + plain,
        "{text}"
    );
    assert!(text.contains("human\t40\tideal\t"), "{text}");
    // A read the unique ideal recognises the other does too.
    let acc = |rule: &str| -> f64 {
        let row = lines
            .iter()
            .find(|l| l.starts_with(&format!("human\t40\t{rule}\t")))
            .unwrap();
        row.split('\t').nth(3).unwrap().parse().unwrap()
    };
    assert!(acc("ideal-unique") <= acc("ideal"), "{text}");
    assert_eq!(&std::fs::read(&reads_plot).unwrap()[1..4], b"PNG");
    // More reads than a file holds: an error, not a silent cap.
    genosift()
        .args([
            "evaluate",
            "-q",
            "--reads",
            "1000000",
            "--repeats",
            "2",
            "-m",
        ])
        .arg(&m1)
        .arg("--samples")
        .arg(&sheet)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("--reads 1000000 but"));

    // The trained directory is a model predict loads as is, with its calibration.
    let reads = std::fs::read_dir(sim.join("reads"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.to_string_lossy().contains("human_M") && p.to_string_lossy().ends_with(".short.fq")
        })
        .unwrap();
    let summary = dir.path().join("paper.json");
    let out = genosift()
        .args([
            "predict",
            "-q",
            "--species",
            "human",
            "--rule",
            "paper",
            "-m",
        ])
        .arg(&m1)
        .arg(&reads)
        .arg("--summary-json")
        .arg(&summary)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    let row: Vec<&str> = out.lines().nth(1).unwrap().split('\t').collect();
    assert_eq!(row[1], "human");
    assert_ne!(row[6], "NA", "a calibrated threshold is used: {out}");
    assert_eq!(row[11], "paper");
    // A model this small may not separate the sexes at this K: then the paper rule abstains,
    // and says why, rather than calling every sample male.
    if row[7] == "no-call" {
        let json = std::fs::read_to_string(&summary).unwrap();
        assert!(
            json.contains("validation subsets") || json.contains("threshold is 1"),
            "{json}"
        );
    } else {
        assert!(["male", "female"].contains(&row[7]), "{out}");
    }
    // Several species calibrated: predict without --species is an error.
    genosift()
        .args(["predict", "-q", "-m"])
        .arg(&m1)
        .arg(&reads)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("choose one with --species"));
}

/// `train --recipe reads` at a small scale: three stages, then a calibrated model in one rename; a
/// rerun keeps what is done; a lost stage is run again, to the same model.
#[test]
fn recipe_trains_every_stage_calibrates_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let sim = dir.path().join("sim");
    simulate(&sim, "6");
    let sheet = sim.join("samples.tsv");
    let out = dir.path().join("model");
    let stages = dir.path().join("model.stages");
    let recipe = || {
        let mut c = genosift();
        c.args([
            "train",
            "--recipe",
            "reads",
            "--recipe-scale",
            "0.003",
            "-t",
            "2",
        ])
        .arg("--samples")
        .arg(&sheet)
        .arg("--out")
        .arg(&out);
        c
    };
    recipe()
        .assert()
        .success()
        .stderr(predicates::str::contains(
            "stage 3/3 3-anneal: genosift train",
        ));
    let json = std::fs::read_to_string(out.join("genosift.json")).unwrap();
    assert!(
        json.contains("\"both_strands\": true") && json.contains("\"mouse\""),
        "{json}"
    );
    for f in ["config.json", "model.safetensors", "tokenizer.json"] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let read = |p: &Path| std::fs::read(p).unwrap();
    let (weights, settings) = (read(&out.join("model.safetensors")), json.clone());

    // Everything done: nothing runs again.
    recipe().assert().success().stderr(
        predicates::str::contains("stage 1/3 1-groups: done before, kept")
            .and(predicates::str::contains(
                "stage 3/3 3-anneal: done before, kept",
            ))
            .and(predicates::str::contains("calibration: done before")),
    );
    // The last stage lost (as if interrupted): only it and the calibration run, to the same model.
    std::fs::remove_file(stages.join("3-anneal.done.json")).unwrap();
    recipe().assert().success().stderr(
        predicates::str::contains("stage 2/3 2-reads: done before, kept")
            .and(predicates::str::contains(
                "stage 3/3 3-anneal: genosift train",
            ))
            .and(predicates::str::contains("calibration: genosift calibrate")),
    );
    assert_eq!(read(&out.join("model.safetensors")), weights, "same model");
    assert_eq!(
        std::fs::read_to_string(out.join("genosift.json")).unwrap(),
        settings
    );

    // --dry-run prints the run as shell lines; a recipe's own flag is refused.
    let dry = recipe().arg("--dry-run").assert().success();
    let text = String::from_utf8(dry.get_output().stdout.clone()).unwrap();
    let first: Vec<&str> = text.lines().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(
        first,
        ["genosift", "genosift", "genosift", "cp", "genosift", "mv"],
        "{text}"
    );
    // An X output is trained in every stage.
    let dry_x = recipe()
        .args(["--x-loss-weight", "1", "--dry-run"])
        .assert()
        .success();
    let text = String::from_utf8(dry_x.get_output().stdout.clone()).unwrap();
    let trains: Vec<&str> = text.lines().filter(|l| l.contains(" train ")).collect();
    assert_eq!(trains.len(), 3, "{text}");
    assert!(
        trains.iter().all(|l| l.contains(" --x-loss-weight 1 ")),
        "{text}"
    );
    recipe()
        .args(["--lr", "1e-3"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("cannot be used with"));
    // Bad values are reported together, before anything runs.
    genosift()
        .args([
            "train",
            "--recipe",
            "reads",
            "--recipe-scale",
            "0",
            "--x-loss-weight=-1",
            "--out",
            "..",
        ])
        .arg("--samples")
        .arg(&sheet)
        .assert()
        .code(1)
        .stderr(
            predicates::str::contains("--recipe-scale 0")
                .and(predicates::str::contains("--x-loss-weight -1"))
                .and(predicates::str::contains(
                    "--out ..: a recipe needs a directory name",
                )),
        );
}

#[test]
fn bad_sheet_reports_all_rows() {
    let dir = tempfile::tempdir().unwrap();
    let sheet = dir.path().join("s.tsv");
    std::fs::write(
        &sheet,
        "sample\tspecies\tsex\tsplit\tfasta\na\th\tmale\ttrain\tmissing.fa\nb\th\tx\ttrain\tb.fa\n",
    )
    .unwrap();
    genosift()
        .args(["train", "-q", "--samples"])
        .arg(&sheet)
        .arg("--out")
        .arg(dir.path().join("m"))
        .assert()
        .code(1)
        .stderr(predicates::str::contains("line 2").and(predicates::str::contains("line 3")));
}
