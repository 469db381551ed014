//! End-to-end tests of the `genosift` binary: outputs, determinism across threads and input
//! forms, bad input, bad model directories, pipes.

mod common;

use common::{classifier, data, genosift, tsv};
use std::io::Write;
use std::path::Path;
use std::process::{Command as StdCommand, Stdio};

/// Reads a safetensors file of reference tensors through the library.
fn reference(p: &str) -> genosift::model::weights::WeightFile {
    genosift::model::weights::WeightFile::open(&data(p)).unwrap()
}

#[test]
fn embed_reproduces_reference_cls() {
    let out = genosift()
        .args(["embed", "-q", "-m"])
        .arg(data("gena-tiny"))
        .arg(data("gena-tiny/inputs.fa"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let rows = tsv(&String::from_utf8(out).unwrap());
    assert_eq!(rows[0], ["name", "n_tokens", "embedding"]);
    assert_eq!(rows.len(), 9);
    let want = &reference("gena-tiny/expected.safetensors").tensors["cls"];
    let h = want.shape[1];
    let mut max_err = 0f32;
    let scale = want.data.iter().fold(0f32, |m, v| m.max(v.abs()));
    for (i, row) in rows[1..].iter().enumerate() {
        let v: Vec<f32> = row[2].split(',').map(|x| x.parse().unwrap()).collect();
        assert_eq!(v.len(), h);
        for (a, b) in v.iter().zip(&want.data[i * h..(i + 1) * h]) {
            max_err = max_err.max((a - b).abs() / scale);
        }
    }
    assert!(max_err <= 1e-4, "relative error {max_err:e}");
    assert_eq!(rows[4][0], "read_150");
    assert_eq!(rows[6][1], "3", "all-N record is [CLS] - [SEP]");
}

#[test]
fn predict_prints_reference_probabilities() {
    let dir = tempfile::tempdir().unwrap();
    let groups = dir.path().join("groups.tsv");
    let out = genosift()
        .args(["predict", "-q", "-m"])
        .arg(classifier())
        .arg(data("gena-tiny/classifier/groups.fa"))
        .arg("--groups")
        .arg(&groups)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let calls = tsv(&String::from_utf8(out).unwrap());
    assert_eq!(
        calls[0],
        [
            "sample",
            "species",
            "n_records",
            "n_bp",
            "n_groups",
            "frac_female_groups",
            "threshold",
            "call",
            "posterior_male",
            "chunks_scored",
            "y_hits",
            "rule",
            "y_dosage",
            "y_dosage_lo",
            "y_dosage_hi",
            "flag",
            "expected_sex",
            "sex_check",
            "x_dosage",
            "x_dosage_lo",
            "x_dosage_hi",
            "karyotype"
        ]
    );
    assert_eq!(calls[1][0], "groups");
    assert_eq!(calls[1][2..5], ["48", "147456", "3"]);
    assert_eq!(
        calls[1][7], "no-call",
        "no calibration in the reference model"
    );
    let rows = tsv(&std::fs::read_to_string(&groups).unwrap());
    assert_eq!(rows.len(), 4);
    let want = &reference("gena-tiny/classifier/expected.safetensors").tensors["predictions"];
    for (i, row) in rows[1..].iter().enumerate() {
        assert_eq!(row[0], i.to_string());
        assert_eq!(row[1], "16");
        let p: f32 = row[3].parse().unwrap();
        assert!(
            (p - want.data[i]).abs() <= 1e-5,
            "group {i}: {p} vs {}",
            want.data[i]
        );
    }
}

/// The first `n` records of the bundled NA12878 reads, as plain FASTQ bytes.
fn small_fastq(n: usize) -> Vec<u8> {
    let recs = genosift::input::read_records(&genosift::input::Source::Path(data(
        "reads/ngsbits_Statistics_mapqc_wgs.NA12878.FEMALE.chr22.GRCh38.primary.fastq.gz",
    )))
    .unwrap();
    let mut out = Vec::new();
    for r in recs.iter().take(n) {
        out.extend_from_slice(format!("@{}\n", r.name).as_bytes());
        out.extend_from_slice(&r.seq);
        out.extend_from_slice(b"\n+\n");
        out.extend(std::iter::repeat_n(b'I', r.seq.len()));
        out.push(b'\n');
    }
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Runs predict; returns (calls, groups) text.
fn predict_run(args: &[&str], input: Option<&Path>, stdin: Option<Vec<u8>>) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let groups = dir.path().join("g.tsv");
    let mut cmd = genosift();
    cmd.args(["predict", "-q", "--sample", "s", "-m"])
        .arg(classifier())
        .args(args)
        .arg("--groups")
        .arg(&groups);
    if let Some(p) = input {
        cmd.arg(p);
    }
    if let Some(bytes) = stdin {
        cmd.write_stdin(bytes);
    }
    let out = cmd.assert().success().get_output().stdout.clone();
    (
        String::from_utf8(out).unwrap(),
        std::fs::read_to_string(groups).unwrap(),
    )
}

#[test]
fn identical_output_for_threads_stdin_file_gzip() {
    let fq = small_fastq(1200);
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("r.fq");
    let gz = dir.path().join("r.fq.gz");
    std::fs::write(&plain, &fq).unwrap();
    std::fs::write(&gz, gzip(&fq)).unwrap();
    let base = predict_run(&["--threads", "1"], Some(&plain), None);
    assert!(tsv(&base.1).len() >= 4, "several groups: {}", base.1);
    for (args, input, stdin) in [
        (vec!["--threads", "2"], Some(plain.as_path()), None),
        (vec!["--threads", "1"], Some(gz.as_path()), None),
        (vec!["--threads", "2"], Some(gz.as_path()), None),
        (vec!["--threads", "2"], None, Some(fq.clone())),
        (
            vec!["--threads", "1"],
            Some(Path::new("-")),
            Some(gzip(&fq)),
        ),
        (
            vec!["--threads", "2", "--batch-groups", "1"],
            None,
            Some(gzip(&fq)),
        ),
    ] {
        let got = predict_run(&args, input, stdin);
        assert_eq!(got, base, "{args:?} {input:?}");
    }
}

#[test]
fn max_groups_stops_early_and_counts_what_it_used() {
    let fq = small_fastq(1200);
    let (calls, groups) = predict_run(&["--max-groups", "2"], None, Some(fq.clone()));
    let g = tsv(&groups);
    assert_eq!(g.len(), 3);
    let c = tsv(&calls);
    assert_eq!(c[1][4], "2");
    let bp: u64 = g[1..].iter().map(|r| r[2].parse::<u64>().unwrap()).sum();
    assert_eq!(
        c[1][3],
        bp.to_string(),
        "n_bp is the bases of the groups used"
    );
    let (all_calls, all_groups) = predict_run(&[], None, Some(fq));
    assert!(tsv(&all_calls)[1][4].parse::<u64>().unwrap() > 2);
    assert!(all_groups.starts_with(&groups[..groups.len() - 1]));
}

#[test]
fn summary_json_counts_chunks_groups_and_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("s.json");
    // 50 records of exactly 3,072 bp: 50 chunks, 3 groups of 16, 2 chunks dropped.
    let mut fa = Vec::new();
    for i in 0..50 {
        fa.extend_from_slice(format!(">r{i}\n").as_bytes());
        fa.extend(std::iter::repeat_n(b"ACGT"[i % 4], 3072));
        fa.push(b'\n');
    }
    genosift()
        .args(["predict", "-q", "-m"])
        .arg(classifier())
        .arg("--summary-json")
        .arg(&json)
        .write_stdin(fa)
        .assert()
        .success();
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["schema_version"], 3);
    let s = &v["summary"];
    assert_eq!(s["n_records"], 50);
    assert_eq!(s["n_bp"], 50 * 3072);
    assert_eq!(s["n_chunks"], 50);
    assert_eq!(s["n_groups"], 3);
    assert_eq!(s["dropped_chunks"], 2);
    assert_eq!(s["call"], "no-call");
}

#[test]
fn empty_input_gives_no_call_row() {
    for stdin in [Vec::new(), b"\n\n".to_vec()] {
        let (calls, groups) = predict_run(&[], None, Some(stdin));
        let c = tsv(&calls);
        assert_eq!(c.len(), 2);
        assert_eq!(
            c[1],
            [
                "s", "NA", "0", "0", "0", "NA", "NA", "no-call", "NA", "0", "NA", "paper", "NA",
                "NA", "NA", "NA", "NA", "NA", "NA", "NA", "NA", "NA"
            ]
        );
        assert_eq!(tsv(&groups).len(), 1, "header only");
    }
}

#[test]
fn good_inputs_read_as_documented() {
    // (file, records, bp)
    for (file, records, bp) in [
        ("crlf.fa", 2, 12),
        ("crlf.fq", 1, 5),
        ("empty.fa", 0, 0),
        ("whitespace_only.fa", 0, 0),
        ("spaces_blank_lines_rna.fa", 2, 7),
        ("concatenated_members.fq.gz", 2, 6),
    ] {
        let (calls, _) = predict_run(&[], Some(&data(&format!("good/{file}"))), None);
        let c = tsv(&calls);
        assert_eq!(c[1][2], records.to_string(), "{file}");
        assert_eq!(c[1][3], bp.to_string(), "{file}");
    }
}

#[test]
fn bad_inputs_give_one_line_errors() {
    let expect: &[(&str, &[&str])] = &[
        ("bad_base.fa", &["record 'r2'", "line 5", "'J'"]),
        ("binary.bin", &["binary data"]),
        ("bzip2.fa.bz2", &["bzip2"]),
        ("corrupt.gz", &["gzip"]),
        ("digits.fa", &["record 'r1'", "line 2", "'1'"]),
        ("gap_in_read.fq", &["record 'r1'", "line 2", "'-'"]),
        ("invalid_utf8_sequence.fa", &["record 'r1'", "byte 0xc3"]),
        ("leading_blank.fa", &["blank"]),
        ("missing_plus.fq", &["record 1", "line 1"]),
        ("mixed_fastq_fasta.fq", &["record 2", "line 5"]),
        ("not_sequence.txt", &["not FASTA or FASTQ", "'h'"]),
        ("nul_in_sequence.fa", &["record 'r1'", "byte 0x00"]),
        ("only_header.fq", &["record 1", "incomplete"]),
        ("quality_length.fq", &["record 'r2'", "quality length 3"]),
        ("stop_codon.fa", &["record 'r2'", "'*'"]),
        ("truncated.fa.gz", &["truncated gzip"]),
        ("truncated_record.fq", &["record 'r1'", "quality length 0"]),
        ("xz.fa.xz", &["xz"]),
        ("zstd.fq.zst", &["zstd"]),
    ];
    // Specimens checked in tests/specimens_more.rs and (SAM/BAM) tests/alignments.rs.
    let elsewhere = [
        "bad_magic.bam",
        "header_mismatch.bam",
        "header_mismatch.sam",
        "truncated.bam",
        "binary_in_gzip.gz",
        "double_gzip.fa.gz.gz",
        "empty_name.fa",
        "empty_name.fq",
        "gzip_magic_only.gz",
        "nul_in_name.fq",
        "trailing_garbage.fa.gz",
        "utf8_bom.fa",
    ];
    let mut files: Vec<String> = std::fs::read_dir(data("bad"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "README.md" && !elsewhere.contains(&n.as_str()))
        .collect();
    files.sort();
    let listed: Vec<&str> = expect.iter().map(|(f, _)| *f).collect();
    assert_eq!(files, listed, "every specimen has an expectation");
    let dir = tempfile::tempdir().unwrap();
    for (file, words) in expect {
        let out_path = dir.path().join("calls.tsv");
        let groups = dir.path().join("groups.tsv");
        let out = genosift()
            .args(["predict", "-q", "-m"])
            .arg(classifier())
            .arg(data(&format!("bad/{file}")))
            .arg("-o")
            .arg(&out_path)
            .arg("--groups")
            .arg(&groups)
            .assert()
            .code(1)
            .get_output()
            .clone();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(err.lines().count(), 1, "{file}: one line: {err}");
        assert!(err.starts_with("genosift: error: "), "{file}: {err}");
        assert!(err.contains(file), "{file}: names the file: {err}");
        for w in *words {
            assert!(err.contains(w), "{file}: expected '{w}' in: {err}");
        }
        assert!(
            !out_path.exists() && !groups.exists(),
            "{file}: no output file"
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "{file}: no temp file"
        );
    }
}

/// A copy of the classifier directory to break.
fn model_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(classifier().join(f), dir.path().join(f)).unwrap();
    }
    std::fs::copy(
        data("gena-tiny/tokenizer.json"),
        dir.path().join("tokenizer.json"),
    )
    .unwrap();
    dir
}

fn model_error(model: &Path) -> String {
    let out = genosift()
        .args(["predict", "-q", "-m"])
        .arg(model)
        .write_stdin(">r\nACGT\n")
        .assert()
        .code(1)
        .get_output()
        .clone();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "{err}");
    err
}

#[test]
fn bad_model_directories_are_named() {
    let err = model_error(Path::new("/nonexistent/model"));
    assert!(err.contains("/nonexistent/model"), "{err}");

    let d = model_copy();
    std::fs::remove_file(d.path().join("tokenizer.json")).unwrap();
    assert!(model_error(d.path()).contains("missing tokenizer.json"));

    let d = model_copy();
    let w = d.path().join("model.safetensors");
    let bytes = std::fs::read(&w).unwrap();
    std::fs::write(&w, &bytes[..bytes.len() / 3]).unwrap();
    let err = model_error(d.path());
    assert!(
        err.contains("model.safetensors") && err.contains("not a valid safetensors"),
        "{err}"
    );

    // A config that disagrees with the weights: the tensor and both shapes are named.
    let d = model_copy();
    let cfg = std::fs::read_to_string(d.path().join("config.json")).unwrap();
    std::fs::write(
        d.path().join("config.json"),
        cfg.replace("\"intermediate_size\": 64", "\"intermediate_size\": 48"),
    )
    .unwrap();
    let err = model_error(d.path());
    assert!(
        err.contains("model.encoder.layer.0.intermediate.dense.weight")
            && err.contains("[64, 32]")
            && err.contains("[48, 32]"),
        "{err}"
    );

    // A weight file missing a tensor.
    let d = model_copy();
    let mut wf =
        genosift::model::weights::WeightFile::open(&d.path().join("model.safetensors")).unwrap();
    wf.tensors.remove("ln_mlp.bias");
    genosift::model::weights::write_safetensors(&d.path().join("model.safetensors"), &wf.tensors)
        .unwrap();
    let err = model_error(d.path());
    assert!(
        err.contains("'ln_mlp.bias' is missing") && err.contains("[128]"),
        "{err}"
    );

    // A tokenizer larger than the model's vocabulary.
    let d = model_copy();
    std::fs::write(
        d.path().join("config.json"),
        cfg.replace("\"vocab_size\": 32000", "\"vocab_size\": 1000"),
    )
    .unwrap();
    let err = model_error(d.path());
    assert!(
        err.contains("tokenizer.json") && err.contains("vocab_size is 1000"),
        "{err}"
    );

    // Broken JSON.
    let d = model_copy();
    std::fs::write(d.path().join("config.json"), "{ not json").unwrap();
    assert!(model_error(d.path()).contains("config.json"));

    // A backbone without head cannot predict.
    let err = model_error(&data("gena-tiny"));
    assert!(err.contains("no classification head"), "{err}");
}

#[test]
fn closed_stdout_pipe_exits_quietly() {
    // Many records so that output outlives `head`.
    let mut fa = Vec::new();
    for i in 0..400 {
        fa.extend_from_slice(format!(">r{i}\nACGTACGTTTGACCA\n").as_bytes());
    }
    let bin = assert_cmd::cargo::cargo_bin("genosift");
    let mut child = StdCommand::new("bash")
        .arg("-c")
        .arg(format!(
            "'{}' embed -q -m '{}' | head -n 2 >/dev/null; echo \"rc=${{PIPESTATUS[0]}}\"",
            bin.display(),
            data("gena-tiny").display()
        ))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&fa).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.is_empty(),
        "nothing printed about the pipe: {stderr}"
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "rc=0");
}

#[test]
fn version_is_one_line() {
    let out = genosift()
        .arg("--version")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        format!("genosift {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[cfg(unix)]
#[test]
fn special_files_are_written_in_place() {
    use std::os::unix::fs::FileTypeExt;
    genosift()
        .args([
            "predict",
            "-q",
            "-o",
            "/dev/null",
            "--groups",
            "/dev/null",
            "-m",
        ])
        .arg(classifier())
        .arg(data(
            "reads/ngsbits_sry.MALE.Illumina.hg19.primary.fastq.gz",
        ))
        .assert()
        .success();
    let m = std::fs::metadata("/dev/null").unwrap();
    assert!(
        m.file_type().is_char_device(),
        "/dev/null is still a device"
    );
}

#[test]
fn flag_problems_are_reported_together_and_choices_listed() {
    use predicates::prelude::*;
    genosift()
        .args(["evaluate", "-q", "-m"])
        .arg(classifier())
        .args([
            "--samples",
            "nowhere.tsv",
            "--read-errors",
            "0.7",
            "--k",
            "1,x",
        ])
        .assert()
        .code(1)
        .stderr(
            predicates::str::contains("--read-errors 0.7").and(predicates::str::contains("'x'")),
        );
    genosift()
        .args(["predict", "-q", "--rule", "bogus", "-m"])
        .arg(classifier())
        .assert()
        .code(2)
        .stderr(predicates::str::contains("auto").and(predicates::str::contains("paper")));
}
