//! SAM, BAM and CRAM input (issue 16): a coordinate-sorted file never gives a confident wrong call.
//! With an index it is read in random order and an early stop calls right; without one (or on
//! stdin) an early stop is refused with one line and no output; read whole, it calls right. The
//! demo model and its bundled sorted BAMs (5,000 reads of two test individuals of the demo cohort)
//! make real calls; the CRAM cases use a cohort that `genosift simulate` writes here.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::{data, demo, genosift, tsv};

const MALE: &str = "demo-male.sorted.bam";
const FEMALE: &str = "demo-female.sorted.bam";

/// `predict` with the demo model; returns (exit code, calls rows, stderr).
fn predict(
    args: &[&str],
    inputs: &[&Path],
    stdin: Option<Vec<u8>>,
) -> (i32, Vec<Vec<String>>, String) {
    let mut cmd = genosift();
    cmd.args(["predict", "-q", "-m"])
        .arg(demo(""))
        .args(["--species", "human"])
        .args(args)
        .args(inputs);
    if let Some(bytes) = stdin {
        cmd.arg("-").write_stdin(bytes);
    }
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (
        out.status.code().unwrap_or(-1),
        tsv(&text),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The call column of a calls table.
fn call(rows: &[Vec<String>]) -> &str {
    let col = rows[0].iter().position(|c| c == "call").unwrap();
    &rows[1][col]
}

/// A BAM as SAM text (header included), written with noodles.
fn bam_to_sam(path: &Path) -> Vec<u8> {
    use noodles_sam::alignment::io::Write as _;
    let mut reader = noodles_bam::io::reader::Builder
        .build_from_path(path)
        .unwrap();
    let header = reader.read_header().unwrap();
    let mut writer = noodles_sam::io::Writer::new(Vec::new());
    writer.write_alignment_header(&header).unwrap();
    for r in reader.records() {
        writer.write_alignment_record(&header, &r.unwrap()).unwrap();
    }
    writer.into_inner()
}

/// Asserts a refusal: exit 1, one line naming `name` with `words`, nothing written.
fn assert_refused(code: i32, rows: &[Vec<String>], err: &str, name: &str, words: &[&str]) {
    assert_eq!(code, 1, "{err}");
    assert!(rows.is_empty(), "no calls table: {rows:?}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(
        err.starts_with(&format!("genosift: error: {name}")),
        "{err}"
    );
    for w in words {
        assert!(err.contains(w), "expected '{w}' in: {err}");
    }
}

#[test]
fn sorted_indexed_bam_stops_early_and_calls_right() {
    for (file, want) in [(MALE, "male"), (FEMALE, "female")] {
        let dir = tempfile::tempdir().unwrap();
        let summary = dir.path().join("s.json");
        let s = summary.to_str().unwrap();
        let (code, rows, err) = predict(
            &["--stop-when-confident", "--summary-json", s],
            &[&demo(file)],
            None,
        );
        assert_eq!(code, 0, "{err}");
        assert_eq!(call(&rows), want, "{file}");
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
        assert_eq!(json["summary"]["stopped_early"], true, "{file}");
        assert_eq!(json["summary"]["input"]["order"], "random", "{file}");
        let used = json["summary"]["n_records"].as_u64().unwrap();
        assert!(used < 5000, "{file}: stopped before the end ({used} reads)");
        // Read whole, in file order, the call is the same.
        let (code, rows, err) = predict(&[], &[&demo(file)], None);
        assert_eq!(code, 0, "{err}");
        assert_eq!(call(&rows), want, "{file} read whole");
        assert_eq!(rows[1][2], "5000", "{file}: every read");
    }
}

#[test]
fn random_order_depends_on_the_seed_not_the_threads() {
    let run = |seed: &str, threads: &str| {
        let (code, rows, err) = predict(
            &["--stop-when-confident", "--seed", seed, "-t", threads],
            &[&demo(FEMALE)],
            None,
        );
        assert_eq!(code, 0, "{err}");
        rows
    };
    let one = run("7", "1");
    assert_eq!(one, run("7", "3"), "same seed, any thread count");
    assert_ne!(
        one[1][2..],
        run("8", "1")[1][2..],
        "another seed, other reads"
    );
}

#[test]
fn sorted_input_without_an_index_refuses_an_early_stop() {
    let sam = bam_to_sam(&demo(MALE));
    for flags in [&["--stop-when-confident"][..], &["--max-groups", "5"]] {
        let (code, rows, err) = predict(flags, &[], Some(sam.clone()));
        assert_refused(
            code,
            &rows,
            &err,
            "stdin",
            &["SO:coordinate", "stdin", "samtools collate"],
        );
    }
    // The same SAM read whole: the call is valid.
    let (code, rows, err) = predict(&[], &[], Some(sam));
    assert_eq!(code, 0, "{err}");
    assert_eq!(call(&rows), "male");
    // A BAM file without its index.
    let dir = tempfile::tempdir().unwrap();
    let bam = dir.path().join("male.bam");
    std::fs::copy(demo(MALE), &bam).unwrap();
    let out = dir.path().join("calls.tsv");
    let (code, rows, err) = predict(
        &["--stop-when-confident", "-o", out.to_str().unwrap()],
        &[&bam],
        None,
    );
    assert_refused(
        code,
        &rows,
        &err,
        bam.to_str().unwrap(),
        &["no index", "samtools index"],
    );
    assert!(!out.exists(), "no output file");
    // --index names it (written after the BAM: an older index is refused, see below).
    let bai = dir.path().join("elsewhere.bai");
    std::fs::copy(demo(&format!("{MALE}.bai")), &bai).unwrap();
    let (code, rows, err) = predict(
        &["--stop-when-confident", "--index", bai.to_str().unwrap()],
        &[&bam],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(call(&rows), "male");
}

#[test]
fn stale_or_foreign_indexes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let bam = dir.path().join("male.bam");
    let bai = dir.path().join("male.bam.bai");
    std::fs::copy(demo(&format!("{MALE}.bai")), &bai).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::copy(demo(MALE), &bam).unwrap();
    let (code, rows, err) = predict(&["--stop-when-confident"], &[&bam], None);
    assert_refused(
        code,
        &rows,
        &err,
        bam.to_str().unwrap(),
        &["older than the file", "re-index"],
    );
    // The index of another BAM (the ngs-bits one has 93 references, the demo's 8).
    let real = dir.path().join("real.bam");
    std::fs::copy(data("reads/ngsbits_sry.MALE.Illumina.hg19.bam"), &real).unwrap();
    let wrong = dir.path().join("real.bam.bai");
    std::fs::copy(demo(&format!("{MALE}.bai")), &wrong).unwrap();
    // That BAM is sorted by coordinate (SO:coordinate), so it is read through the index.
    let (code, rows, err) = predict(&["--stop-when-confident"], &[&real], None);
    assert_refused(
        code,
        &rows,
        &err,
        real.to_str().unwrap(),
        &["93", "another file"],
    );
}

#[test]
fn bad_alignment_files_give_one_line_errors() {
    for (file, words) in [
        ("truncated.bam", &["record 197", "truncated"][..]),
        ("bad_magic.bam", &["bad BAM magic"]),
        (
            "header_mismatch.bam",
            &["record 2", "header/record mismatch", "#5"],
        ),
        (
            "header_mismatch.sam",
            &["record 2", "header/record mismatch"],
        ),
    ] {
        let path = data(&format!("bad/{file}"));
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("calls.tsv");
        let (code, rows, err) = predict(&["-o", out.to_str().unwrap()], &[&path], None);
        assert_refused(code, &rows, &err, path.to_str().unwrap(), words);
        assert!(!out.exists(), "{file}: no output file");
    }
}

/// A demo-like cohort (seed 1, as the demo model's) with sorted BAMs and CRAMs of its test
/// individuals, written once for the tests that need CRAM.
fn cohort() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("genosift-alignments-{}", std::process::id()));
        genosift()
            .args([
                "simulate",
                "--seed",
                "1",
                "--short-reads",
                "3000",
                "--long-reads",
                "1",
                "--out",
            ])
            .arg(&dir)
            .assert()
            .success();
        dir
    })
}

#[test]
fn sorted_cram_needs_its_reference_and_calls_right() {
    let dir = cohort();
    let reference = dir.join("genomes/human.reference.fa");
    for (sample, want) in [("human_M22", "male"), ("human_F19", "female")] {
        let cram = dir.join(format!("reads/{sample}.sorted.cram"));
        let (code, rows, err) = predict(&["--stop-when-confident"], &[&cram], None);
        assert_refused(code, &rows, &err, cram.to_str().unwrap(), &["--reference"]);
        let r = reference.to_str().unwrap();
        let (code, rows, err) =
            predict(&["--stop-when-confident", "--reference", r], &[&cram], None);
        assert_eq!(code, 0, "{err}");
        assert_eq!(call(&rows), want, "{sample} CRAM, early stop");
        let (code, rows, err) = predict(&["--reference", r], &[&cram], None);
        assert_eq!(code, 0, "{err}");
        assert_eq!(call(&rows), want, "{sample} CRAM, whole");
        // The same reads as the BAM and the FASTQ, base for base (order aside).
        let bam = dir.join(format!("reads/{sample}.sorted.bam"));
        let fq = dir.join(format!("reads/{sample}.short.fq"));
        let (_, bam_rows, _) = predict(&[], &[&bam], None);
        let (_, fq_rows, _) = predict(&[], &[&fq], None);
        assert_eq!(
            rows[1][2..4],
            bam_rows[1][2..4],
            "{sample}: records and bases"
        );
        assert_eq!(
            rows[1][2..4],
            fq_rows[1][2..4],
            "{sample}: records and bases"
        );
    }
    // A reference without the CRAM's sequences.
    let cram = dir.join("reads/human_M22.sorted.cram");
    let other = dir.join("genomes/mouse.reference.fa");
    let (code, rows, err) = predict(&["--reference", other.to_str().unwrap()], &[&cram], None);
    assert_refused(
        code,
        &rows,
        &err,
        cram.to_str().unwrap(),
        &["no sequence 'chr6'"],
    );
}

#[test]
fn several_inputs_make_one_call() {
    let (code, rows, err) = predict(&[], &[&demo(MALE), &demo("demo-male.fq.gz")], None);
    assert_eq!(code, 0, "{err}");
    assert_eq!(rows.len(), 2, "one row");
    assert_eq!(
        rows[1][0], "demo-male.sorted",
        "named after the first input"
    );
    assert_eq!(rows[1][2], "10000", "both inputs read");
    assert_eq!(call(&rows), "male");
    let (code, _, err) = predict(&["--index", "x.bai"], &[&demo(MALE), &demo(FEMALE)], None);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("--index"), "{err}");
}

/// Read to the end in random order (reading may stop early, but nothing stops it), a sorted BAM
/// or CRAM gives every read exactly once: the same multiset of records as in file order,
/// unplaced unmapped reads included.
#[test]
fn random_order_read_to_the_end_uses_every_read_once() {
    use genosift::input::{read_records_with, InputOptions, Source};
    let dir = cohort();
    let reference = dir.join("genomes/human.reference.fa");
    for ext in ["bam", "cram"] {
        let path = Source::Path(dir.join(format!("reads/human_M22.sorted.{ext}")));
        let read = |early_stop: bool| {
            let opts = InputOptions {
                reference: Some(reference.clone()),
                early_stop,
                seed: 3,
                ..InputOptions::default()
            };
            let mut recs: Vec<(String, Vec<u8>)> = read_records_with(&path, &opts)
                .unwrap()
                .into_iter()
                .map(|r| (r.name, r.seq))
                .collect();
            let order: Vec<String> = recs.iter().map(|r| r.0.clone()).collect();
            recs.sort();
            (recs, order)
        };
        let (in_file, file_order) = read(false);
        let (shuffled, random_order) = read(true);
        assert_eq!(in_file.len(), 3000, "{ext}");
        assert_eq!(in_file, shuffled, "{ext}: the same reads");
        assert_ne!(file_order, random_order, "{ext}: in another order");
    }
}

/// A sorted BAM that holds only unplaced unmapped reads (as `samtools view -b x.bam '*'` writes
/// it): read in random order from just after its header.
#[test]
fn a_sorted_bam_of_unplaced_reads_only_is_read_in_random_order() {
    use noodles_sam::alignment::io::Write as _;
    let mut reader = noodles_bam::io::reader::Builder
        .build_from_path(demo(MALE))
        .unwrap();
    let header = reader.read_header().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bam = dir.path().join("unplaced.bam");
    let mut writer = noodles_bam::io::Writer::new(std::fs::File::create(&bam).unwrap());
    writer.write_alignment_header(&header).unwrap();
    let mut n = 0;
    for r in reader.records() {
        let r = r.unwrap();
        if r.reference_sequence_id().is_none() {
            writer.write_alignment_record(&header, &r).unwrap();
            n += 1;
        }
    }
    writer.try_finish().unwrap();
    drop(writer);
    assert!(n > 0, "the demo male BAM has unplaced reads");
    match noodles_bam::fs::index(&bam).unwrap() {
        noodles_bam::Index::Bai(i) => {
            noodles_bam::bai::fs::write(bam.with_added_extension("bai"), &i).unwrap()
        }
        noodles_bam::Index::Csi(_) => unreachable!("short references give a BAI"),
    }
    let s = dir.path().join("s.json");
    let (code, rows, err) = predict(
        &[
            "--max-groups",
            "1000",
            "--summary-json",
            s.to_str().unwrap(),
        ],
        &[&bam],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(rows[1][2], n.to_string(), "every unplaced read");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&s).unwrap()).unwrap();
    assert_eq!(json["summary"]["input"]["order"], "random");
    assert_eq!(json["summary"]["input"]["unmapped"], n);
}
