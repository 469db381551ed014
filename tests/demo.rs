//! The bundled demo model (test-data/models/demo, made by scripts/train-demo.sh) on its demo reads:
//! the likelihood-ratio call, the sequential stop, needles, no-call on too little input, the
//! paper's rule beside it, and the MultiQC table.

mod common;

use common::{demo, genosift};
use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command as StdCommand, Stdio};

/// The calls row as column name → value.
fn calls(stdout: &[u8]) -> std::collections::HashMap<String, String> {
    let text = String::from_utf8(stdout.to_vec()).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let row: Vec<&str> = lines.next().unwrap().split('\t').collect();
    assert_eq!(header.len(), row.len());
    header
        .into_iter()
        .zip(row)
        .map(|(h, v)| (h.to_string(), v.to_string()))
        .collect()
}

fn predict(reads: &Path, extra: &[&str]) -> std::collections::HashMap<String, String> {
    let out = genosift()
        .args(["predict", "-q", "-t", "2", "--species", "human", "-m"])
        .arg(demo(""))
        .arg(reads)
        .args(extra)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    calls(&out)
}

/// Decompressed lines of a demo read file.
fn fastq_lines(name: &str) -> Vec<String> {
    let f = std::fs::File::open(demo(name)).unwrap();
    let mut text = String::new();
    gunzip(f, &mut text);
    text.lines().map(str::to_string).collect()
}

/// gunzip through the system's gzip (the test needs no gzip crate of its own).
fn gunzip(f: std::fs::File, out: &mut String) {
    let mut child = StdCommand::new("gzip")
        .arg("-dc")
        .stdin(f)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdout.take().unwrap().read_to_string(out).unwrap();
    assert!(child.wait().unwrap().success());
}

#[test]
fn demo_reads_are_called_with_confidence() {
    for (file, sex) in [("demo-male.fq.gz", "male"), ("demo-female.fq.gz", "female")] {
        let c = predict(&demo(file), &[]);
        assert_eq!(c["rule"], "lr");
        assert_eq!(c["call"], sex, "{file}: {c:?}");
        let p: f64 = c["posterior_male"].parse().unwrap();
        assert!(if sex == "male" { p >= 0.99 } else { p <= 0.01 }, "{c:?}");
        // The paper's rule is still there.
        let paper = predict(&demo(file), &["--rule", "paper"]);
        assert_eq!(paper["rule"], "paper");
        assert_eq!(paper["posterior_male"], "NA");
        assert!(["male", "female"].contains(&paper["call"].as_str()));
    }
}

#[test]
fn stop_when_confident_reads_less_and_keeps_the_call() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("s.json");
    for (file, sex) in [("demo-male.fq.gz", "male"), ("demo-female.fq.gz", "female")] {
        let all = predict(&demo(file), &[]);
        let early = predict(
            &demo(file),
            &[
                "--stop-when-confident",
                "--summary-json",
                json.to_str().unwrap(),
            ],
        );
        assert_eq!(early["call"], sex);
        let n_all: u64 = all["n_records"].parse().unwrap();
        let n_early: u64 = early["n_records"].parse().unwrap();
        assert!(n_early < n_all, "{n_early} vs {n_all}");
        let s: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(s["summary"]["stopped_early"], true);
        assert!(s["summary"]["posterior_male"].is_number());
    }
}

#[test]
fn a_producer_is_closed_early_and_nothing_is_said_about_it() {
    // An endless-looking stream on stdin (the male reads 50 times): genosift stops once
    // confident, exits 0, the writer sees a closed pipe, stderr stays empty.
    let lines = fastq_lines("demo-male.fq.gz");
    let mut child = StdCommand::new(env!("CARGO_BIN_EXE_genosift"))
        .args([
            "predict",
            "-q",
            "-t",
            "2",
            "--species",
            "human",
            "--stop-when-confident",
            "-m",
        ])
        .arg(demo(""))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let mut written = 0usize;
        for round in 0..50 {
            for (i, l) in lines.iter().enumerate() {
                // Unique names per round.
                let l = if i % 4 == 0 {
                    format!("{l}_{round}")
                } else {
                    l.clone()
                };
                if writeln!(stdin, "{l}").is_err() {
                    return (written, true);
                }
            }
            written += 1;
        }
        (written, false)
    });
    let out = child.wait_with_output().unwrap();
    let (_rounds, closed) = writer.join().unwrap();
    assert!(out.status.success());
    assert!(closed, "genosift read the whole stream");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert_eq!(calls(&out.stdout)["call"], "male");
}

#[test]
fn too_few_reads_give_no_call() {
    // 10 reads: far too little Y evidence either way, and less than a group.
    let lines = fastq_lines("demo-male.fq.gz");
    let input = lines[..40].join("\n") + "\n";
    let out = genosift()
        .args(["predict", "-q", "--species", "human", "-m"])
        .arg(demo(""))
        .write_stdin(input)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let c = calls(&out);
    assert_eq!(c["call"], "no-call", "{c:?}");
    assert_eq!(c["n_groups"], "0");
    assert_ne!(
        c["chunks_scored"], "0",
        "a partial group's chunks are scored"
    );
}

#[test]
fn needles_name_real_reads_and_mqc_table() {
    let dir = tempfile::tempdir().unwrap();
    let needles = dir.path().join("needles.fa");
    let mqc = dir.path().join("demo_mqc.tsv");
    predict(
        &demo("demo-male.fq.gz"),
        &[
            "--needles",
            needles.to_str().unwrap(),
            "--needles-top",
            "5",
            "--mqc",
            mqc.to_str().unwrap(),
        ],
    );
    let names: HashSet<String> = fastq_lines("demo-male.fq.gz")
        .iter()
        .step_by(4)
        .map(|l| l[1..].split_whitespace().next().unwrap().to_string())
        .collect();
    let f = BufReader::new(std::fs::File::open(&needles).unwrap());
    let headers: Vec<String> = f
        .lines()
        .map(Result::unwrap)
        .filter(|l| l.starts_with('>'))
        .collect();
    assert_eq!(headers.len(), 5);
    let mut last = f64::INFINITY;
    for h in &headers {
        let logit: f64 = h
            .split("y_logit=")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(logit <= last, "best first");
        last = logit;
        let records = h.split("records=").nth(1).unwrap();
        for r in records.split(',') {
            assert!(names.contains(r), "{r} is not a read of the input");
        }
    }
    let text = std::fs::read_to_string(&mqc).unwrap();
    assert!(text.starts_with("# id: 'genosift'"));
    let row = text.lines().last().unwrap();
    assert!(row.starts_with("demo-male\tmale\tlr\t"), "{row}");
    assert!(
        text.contains("#     posterior_male:\n#         title: 'P(male)'"),
        "{text}"
    );
    // Beside it, the General Statistics columns.
    let stats = std::fs::read_to_string(dir.path().join("demo_stats_mqc.txt")).unwrap();
    assert!(stats.contains("# plot_type: 'generalstats'"), "{stats}");
    let mut lines = stats.lines().rev();
    let (row, header) = (lines.next().unwrap(), lines.next().unwrap());
    assert_eq!(header, "Sample\tcall\tposterior_male\ty_dosage\tsex_check");
    assert!(row.starts_with("demo-male\tmale\t1.000000\t"), "{row}");
}

#[test]
fn lr_rule_needs_a_calibrated_detector() {
    genosift()
        .args(["predict", "-q", "--rule", "lr", "-m"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("test-data/gena-tiny/classifier"))
        .arg(demo("demo-male.fq.gz"))
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "no calibrated per-chunk Y detector",
        ));
    genosift()
        .args([
            "predict",
            "-q",
            "--species",
            "human",
            "--min-confidence",
            "0.4",
            "-m",
        ])
        .arg(demo(""))
        .arg(demo("demo-male.fq.gz"))
        .assert()
        .code(1)
        .stderr(predicates::str::contains("--min-confidence 0.4"));
}

#[test]
fn records_longer_than_the_chunk_are_warned_about() {
    // The demo model was trained on 150-bp reads: a 2-kb fragment is cut into chunks the detector
    // was not calibrated on, which predict says (once) but does not refuse.
    let lines = fastq_lines("demo-male.fq.gz");
    let long: String = lines[1..400]
        .iter()
        .step_by(4)
        .map(String::as_str)
        .collect();
    assert!(long.len() > 2000);
    let input = format!(">long\n{}\n>read\n{}\n", &long[..2000], lines[1]);
    // predict's stderr (progress and warnings on) for `input` on stdin.
    let stderr = |input: String| {
        let out = genosift()
            .args(["predict", "--species", "human", "-m"])
            .arg(demo(""))
            .write_stdin(input)
            .assert()
            .success()
            .get_output()
            .clone();
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = stderr(input);
    assert!(
        err.contains("1 of 2 records are longer than the model's"),
        "{err}"
    );
    // Reads as trained: no such warning.
    let reads = lines[..400].join("\n") + "\n";
    assert!(!stderr(reads).contains("longer than"));
}

/// A copy of the demo model whose calibration says the detector's hit rates vary so much between
/// individuals (ρ = 0.2) that no depth separates the sexes.
fn demo_with_spread(rho: f64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(demo(f), dir.path().join(f)).unwrap();
    }
    std::fs::copy(demo("tokenizer.json"), dir.path().join("tokenizer.json")).unwrap();
    let mut settings: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(demo("genosift.json")).unwrap()).unwrap();
    for (_, c) in settings["calibration"].as_object_mut().unwrap() {
        c["evidence"]["overdispersion"] = serde_json::json!({
            "rho_male": rho, "rho_female": rho, "genomes_male": 3, "genomes_female": 3
        });
    }
    std::fs::write(dir.path().join("genosift.json"), settings.to_string()).unwrap();
    dir
}

/// `predict` with `model` (human) on a demo read file: the calls row and the summary JSON.
fn predict_with_summary(
    model: &Path,
    reads: &str,
) -> (std::collections::HashMap<String, String>, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("s.json");
    let out = genosift()
        .args(["predict", "-q", "--species", "human", "-m"])
        .arg(model)
        .arg(demo(reads))
        .arg("--summary-json")
        .arg(&summary)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let json = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    (calls(&out), json)
}

#[test]
fn a_detector_too_weak_for_any_depth_gives_no_calls_with_the_reason() {
    let model = demo_with_spread(0.2);
    for reads in ["demo-male.fq.gz", "demo-female.fq.gz"] {
        let (row, s) = predict_with_summary(model.path(), reads);
        assert_eq!(row["call"], "no-call", "{reads}");
        let reason = s["summary"]["no_call_reason"].as_str().unwrap();
        assert!(reason.contains("at any depth"), "{reads}: {reason}");
        assert!(
            s["summary"]["max_confidence"].as_f64().unwrap() < 0.99,
            "{reads}"
        );
    }
    // The bundled calibration (its fitted spread) still calls, and says nothing of a reason.
    let (row, s) = predict_with_summary(&demo(""), "demo-male.fq.gz");
    assert_eq!(row["call"], "male");
    assert!(s["summary"]["no_call_reason"].is_null());
    assert!(s["summary"]["max_confidence"].as_f64().unwrap() > 0.99);
}

#[test]
fn a_female_with_male_reads_mixed_in_is_flagged_not_called() {
    // 40,000 female reads (the demo female's 5,000, eight times over) and 4,000 of the demo
    // male's: 9% of the reads male, as a female sample contaminated by male DNA.
    let dir = tempfile::tempdir().unwrap();
    let male = dir.path().join("male4000.fq");
    std::fs::write(
        &male,
        fastq_lines("demo-male.fq.gz")[..16_000].join("\n") + "\n",
    )
    .unwrap();
    let mut cmd = genosift();
    cmd.args(["predict", "-q", "-t", "2", "--species", "human", "-m"])
        .arg(demo(""));
    for _ in 0..8 {
        cmd.arg(demo("demo-female.fq.gz"));
    }
    let out = cmd
        .arg(&male)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let row = calls(&out);
    let value = |c: &str| row[c].parse::<f64>().unwrap();
    assert_eq!(row["chunks_scored"], "44000");
    assert_eq!(row["flag"], "y_partial", "{row:?}");
    assert_eq!(row["call"], "no-call", "{row:?}");
    assert!(
        value("y_dosage_lo") > 0.02 && value("y_dosage_hi") < 1.0,
        "{row:?}"
    );
    assert!((0.03..0.3).contains(&value("y_dosage")), "{row:?}");
    // The pure samples: dosage intervals around 0 and 1, no flag.
    for (reads, lo, hi) in [
        ("demo-female.fq.gz", 0.0, 0.0),
        ("demo-male.fq.gz", 1.0, 1.0),
    ] {
        let row = predict(&demo(reads), &[]);
        let value = |c: &str| row[c].parse::<f64>().unwrap();
        assert_eq!(row["flag"], "NA", "{reads}: {row:?}");
        assert!(
            value("y_dosage_lo") <= lo && value("y_dosage_hi") >= hi,
            "{reads}: {row:?}"
        );
    }
}

#[test]
fn a_sheet_with_one_swapped_sample_gives_one_mismatch_and_exit_code_3() {
    let dir = tempfile::tempdir().unwrap();
    let sheet = dir.path().join("samples.tsv");
    let rows = [
        ("m1", "demo-male.fq.gz", "male"),
        ("swapped", "demo-female.fq.gz", "M"),
        ("f1", "demo-female.sorted.bam", "female"),
        ("unknown", "demo-male.sorted.bam", "NA"),
    ];
    let mut text = String::from("sample\tsex\treads\tspecies\n");
    for (s, reads, sex) in rows {
        text += &format!("{s}\t{sex}\t{}\thuman\n", demo(reads).display());
    }
    std::fs::write(&sheet, text).unwrap();
    let table = dir.path().join("calls.tsv");
    let json = dir.path().join("summary.json");
    let plot = dir.path().join("cohort.svg");
    let mqc = dir.path().join("cohort_mqc.tsv");
    let run = |fail: bool| {
        let mut cmd = genosift();
        cmd.args(["predict", "-q", "-t", "2", "-m"])
            .arg(demo(""))
            .arg("--samples")
            .arg(&sheet)
            .arg("-o")
            .arg(&table)
            .arg("--summary-json")
            .arg(&json)
            .arg("--dosage-plot")
            .arg(&plot)
            .arg("--mqc")
            .arg(&mqc);
        if fail {
            cmd.arg("--fail-on-mismatch");
        }
        cmd.assert()
    };
    run(false).success();
    let out = run(true).code(3);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["schema_version"], 3);
    let checks: Vec<&str> = v["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sex_check"].as_str().unwrap_or("null"))
        .collect();
    assert_eq!(checks, ["ok", "mismatch", "ok", "null"]);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("1 sample(s)"), "{stderr}");
    // The table is complete either way: a row per sample, in sheet order.
    let t = common::tsv(&std::fs::read_to_string(&table).unwrap());
    let col = |name: &str| t[0].iter().position(|c| c == name).unwrap();
    let got: Vec<(&str, &str, &str, &str)> = t[1..]
        .iter()
        .map(|r| {
            let f = |c: &str| r[col(c)].as_str();
            (f("sample"), f("call"), f("expected_sex"), f("sex_check"))
        })
        .collect();
    assert_eq!(
        got,
        [
            ("m1", "male", "male", "ok"),
            ("swapped", "female", "male", "mismatch"),
            ("f1", "female", "female", "ok"),
            ("unknown", "male", "NA", "NA"),
        ]
    );
    // The cohort picture: every sample named, the swap ringed; the same points for MultiQC,
    // coloured by the reported sex (the demo model has no X output: x is the reported sex).
    let svg = std::fs::read_to_string(&plot).unwrap();
    for name in [
        "m1",
        "swapped",
        "f1",
        "unknown",
        "call differs from reported sex",
    ] {
        assert!(svg.contains(name), "{name} not in the plot");
    }
    let scatter: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("cohort_dosage_mqc.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(scatter["plot_type"], "scatter");
    let groups: Vec<&str> = ["m1", "swapped", "f1", "unknown"]
        .iter()
        .map(|s| scatter["data"][s]["group"].as_str().unwrap())
        .collect();
    assert_eq!(
        groups,
        [
            "reported male",
            "reported male",
            "reported female",
            "sex not reported"
        ]
    );
    // One sample: --expected-sex, and the same exit code.
    genosift()
        .args(["predict", "-q", "-m"])
        .arg(demo(""))
        .args([
            "--species",
            "human",
            "--expected-sex",
            "female",
            "--fail-on-mismatch",
        ])
        .arg(demo("demo-male.fq.gz"))
        .assert()
        .code(3)
        .stdout(predicates::str::contains(
            "\tfemale\tmismatch\tNA\tNA\tNA\tNA\n",
        ));
}

/// `GENOSIFT_PRECISION`: a bad value is one clear error; bf16 (where the CPU has it) is named in
/// the summary JSON and warned about against the demo model's f32 calibration.
#[test]
fn precision_is_chosen_named_and_checked_against_the_calibration() {
    genosift()
        .env("GENOSIFT_PRECISION", "f16")
        .args(["predict", "-q", "--species", "human", "-m"])
        .arg(demo(""))
        .arg(demo("demo-male.fq.gz"))
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "GENOSIFT_PRECISION=f16: expected f32, bf16 or auto",
        ));
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("s.json");
    let out = genosift()
        .env("GENOSIFT_PRECISION", "auto")
        .args(["predict", "--species", "human", "--summary-json"])
        .arg(&json)
        .arg("-m")
        .arg(demo(""))
        .arg(demo("demo-male.fq.gz"))
        .assert()
        .success();
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    match v["precision"].as_str().unwrap() {
        "bf16" => assert!(
            stderr.contains("calibrated with f32 weight products, this run uses bf16"),
            "{stderr}"
        ),
        "f32" => assert!(!stderr.contains("calibrated with"), "{stderr}"),
        other => panic!("precision {other}"),
    }
}
