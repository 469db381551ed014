//! `predict` on real Illumina and Nanopore reads (random-weight model: the call means nothing;
//! what is checked is that every record is read, chunked and counted). Record and base counts are
//! computed independently of noodles (line counting of the decompressed FASTQ).

mod common;

use common::data;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command as StdCommand, Stdio};

use assert_cmd::Command;

/// (records, bases) of a 4-line FASTQ, gzip or plain, by counting lines.
fn count_fastq(bytes: &[u8]) -> (u64, u64) {
    let reader: Box<dyn std::io::Read> = if bytes.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::MultiGzDecoder::new(bytes))
    } else {
        Box::new(bytes)
    };
    let (mut n, mut bp) = (0, 0);
    for (i, line) in BufReader::new(reader).lines().enumerate() {
        if i % 4 == 1 {
            n += 1;
            bp += line.unwrap().trim_end().len() as u64;
        }
    }
    (n, bp)
}

/// Runs predict on `bytes` through stdin; returns the calls row.
fn predict_stdin(bytes: Vec<u8>) -> Vec<String> {
    let out = Command::cargo_bin("genosift")
        .unwrap()
        .args(["predict", "-q", "-m"])
        .arg(data("gena-tiny/classifier"))
        .write_stdin(bytes)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let row = text.lines().nth(1).expect("a calls row").to_string();
    row.split('\t').map(str::to_string).collect()
}

fn check_counts(name: &str, bytes: Vec<u8>) {
    let (n, bp) = count_fastq(&bytes);
    assert!(n > 0, "{name}: no records");
    let row = predict_stdin(bytes);
    assert_eq!(row[2], n.to_string(), "{name}: records");
    assert_eq!(row[3], bp.to_string(), "{name}: bases");
    // Every full group of 16 × 3,072 bp was formed (separators take room, so allow for them).
    let groups: u64 = row[4].parse().unwrap();
    assert!(
        groups >= bp / (16 * 3072) / 2,
        "{name}: {groups} groups for {bp} bp"
    );
}

#[test]
fn bundled_illumina_reads_are_all_counted() {
    for f in [
        "reads/ngsbits_sry.MALE.Illumina.hg19.primary.fastq.gz",
        "reads/ngsbits_Statistics_mapqc_wgs.NA12878.FEMALE.chr22.GRCh38.primary.fastq.gz",
    ] {
        check_counts(f, std::fs::read(data(f)).unwrap());
    }
}

/// Every FASTQ of the project's shared real-read set, where the checkout has it beside it.
#[test]
fn shared_real_reads_are_all_counted() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/real-reads");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("skipped: {} not present (a user's clone)", dir.display());
        return;
    };
    let mut n = 0;
    for e in entries {
        let p = e.unwrap().path();
        if p.to_string_lossy().ends_with(".fastq.gz") {
            check_counts(&p.display().to_string(), std::fs::read(&p).unwrap());
            n += 1;
        }
    }
    assert!(n >= 4, "expected the 4 FASTQ files, found {n}");
}

/// `samtools fastq BAM | genosift predict` (the users' pipeline). samtools must be installed in
/// CI (`.ci/run` installs it); elsewhere the test says it is skipped.
#[test]
fn samtools_fastq_pipe() {
    if StdCommand::new("samtools")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(std::env::var_os("CI").is_none(), "CI must install samtools");
        eprintln!("skipped: samtools not installed");
        return;
    }
    let mut bams = vec![data("reads/ngsbits_sry.MALE.Illumina.hg19.bam")];
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../shared/data/real-reads/ngsbits_Statistics_mapqc_wgs.NA12878.FEMALE.chr22.GRCh38.bam",
    );
    if shared.is_file() {
        bams.push(shared);
    }
    let bin = assert_cmd::cargo::cargo_bin("genosift");
    for bam in bams {
        let fq = StdCommand::new("samtools")
            .args(["fastq", "-F", "0x900"])
            .arg(&bam)
            .stderr(Stdio::null())
            .output()
            .unwrap()
            .stdout;
        let (n, bp) = count_fastq(&fq);
        // A real pipe, as users run it.
        let mut child = StdCommand::new("bash")
            .arg("-c")
            .arg(format!(
                "set -o pipefail; samtools fastq -F 0x900 '{}' 2>/dev/null | '{}' predict -q -m '{}' -",
                bam.display(),
                bin.display(),
                data("gena-tiny/classifier").display()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = String::new();
        std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut out).unwrap();
        assert!(child.wait().unwrap().success(), "{}", bam.display());
        let row: Vec<&str> = out.lines().nth(1).unwrap().split('\t').collect();
        assert_eq!(row[0], "stdin");
        assert_eq!(row[2], n.to_string(), "{}", bam.display());
        assert_eq!(row[3], bp.to_string(), "{}", bam.display());
        let _ = std::io::stderr().flush();
    }
}

/// The records genosift reads from the bundled real BAMs, with the filter `samtools fastq -F 0x900`
/// applies (both mates, duplicates kept), equal the FASTQ that command made, name for name and
/// base for base (samtools adds `/1` and `/2` to mates' names and writes the first mate first
/// when two mates are adjacent, so the records are compared as sorted lists).
#[test]
fn bam_records_equal_samtools_fastq() {
    use genosift::input::{read_records_with, InputOptions, ReadFilter, Source};
    for stem in [
        "ngsbits_sry.MALE.Illumina.hg19",
        "ngsbits_Statistics_mapqc_wgs.NA12878.FEMALE.chr22.GRCh38",
    ] {
        let opts = InputOptions {
            filter: ReadFilter {
                exclude: 0x900,
                both_mates: true,
            },
            ..InputOptions::default()
        };
        let bam =
            read_records_with(&Source::Path(data(&format!("reads/{stem}.bam"))), &opts).unwrap();
        let fq = genosift::input::read_records(&Source::Path(data(&format!(
            "reads/{stem}.primary.fastq.gz"
        ))))
        .unwrap();
        assert_eq!(bam.len(), fq.len(), "{stem}: records");
        let mut bam: Vec<(String, Vec<u8>)> = bam.into_iter().map(|r| (r.name, r.seq)).collect();
        let mut fq: Vec<(String, Vec<u8>)> = fq
            .into_iter()
            .map(|r| {
                let name = r.name.trim_end_matches("/1").trim_end_matches("/2");
                (name.to_string(), r.seq)
            })
            .collect();
        bam.sort();
        fq.sort();
        for (b, f) in bam.iter().zip(&fq) {
            assert_eq!(b, f, "{stem}");
        }
    }
}
