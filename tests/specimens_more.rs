//! More input specimens (issue 7): the files added to `test-data/bad` and `test-data/good` for it,
//! each bad one read from its path and from stdin, and inputs generated here because they are large
//! (a multi-megabase single-line record) or because they caught bugs in genosift (a bad base's
//! column in a long line, CR-only line ends, blank lines between FASTQ records: all fixed).

mod common;

use common::{classifier, data, genosift, tsv};
use std::path::Path;

/// The bad specimens added for issue 7 and the words each message must hold (besides the file).
const BAD: &[(&str, &[&str])] = &[
    ("utf8_bom.fa", &["byte-order mark", "EF BB BF", "sed"]),
    (
        "empty_name.fa",
        &["record 1", "line 1", "bad FASTA header", "missing name"],
    ),
    ("trailing_garbage.fa.gz", &["corrupt gzip", "line 5"]),
    ("gzip_magic_only.gz", &["gzip", "unexpected end of file"]),
    (
        "double_gzip.fa.gz.gz",
        &["gzip data inside gzip data", "decompress it once"],
    ),
    ("binary_in_gzip.gz", &["binary data", "byte 0x7f"]),
    (
        "empty_name.fq",
        &["record 1", "line 1", "bad FASTQ header", "missing name"],
    ),
    (
        "nul_in_name.fq",
        &["record 'read?1'", "record 1", "control character byte 0x00"],
    ),
];

/// Where `predict` reads from.
enum Feed<'a> {
    Path(&'a Path),
    Stdin(&'a [u8]),
}

/// Runs `predict` on `input` with `-o` and `--groups` in a fresh
/// directory; checks exit 1, one stderr line naming `name`, and that no file was left behind.
/// Returns the message.
fn predict_fails(model: &Path, input: Feed<'_>, name: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let calls = dir.path().join("calls.tsv");
    let groups = dir.path().join("groups.tsv");
    let mut cmd = genosift();
    cmd.args(["predict", "-q", "-m"]).arg(model);
    match input {
        Feed::Path(path) => {
            cmd.arg(path);
        }
        Feed::Stdin(bytes) => {
            cmd.arg("-").write_stdin(bytes.to_vec());
        }
    }
    let out = cmd
        .arg("-o")
        .arg(&calls)
        .arg("--groups")
        .arg(&groups)
        .assert()
        .code(1)
        .get_output()
        .clone();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "{name}: one line: {err}");
    assert!(err.starts_with("genosift: error: "), "{name}: {err}");
    assert!(err.contains(name), "{name}: names the input: {err}");
    assert!(out.stdout.is_empty(), "{name}: nothing on stdout");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "{name}: no output or temporary file left"
    );
    err
}

#[test]
fn more_bad_inputs_give_one_line_errors() {
    for (file, words) in BAD {
        let path = data(&format!("bad/{file}"));
        assert!(path.is_file(), "{file} exists");
        let err = predict_fails(&classifier(), Feed::Path(&path), file);
        for w in *words {
            assert!(err.contains(w), "{file}: expected '{w}' in: {err}");
        }
        // The same bytes through stdin: the same problem, named after stdin.
        let bytes = std::fs::read(&path).unwrap();
        let err = predict_fails(&classifier(), Feed::Stdin(&bytes), "stdin");
        assert!(err.starts_with("genosift: error: stdin: "), "{file}: {err}");
        for w in *words {
            assert!(err.contains(w), "{file} on stdin: expected '{w}' in: {err}");
        }
    }
}

/// The calls table of a successful, silent `predict`.
fn predict_ok(model: &Path, input: &Path, extra: &[&str]) -> Vec<Vec<String>> {
    let out = genosift()
        .args(["predict", "-q", "-m"])
        .arg(model)
        .arg(input)
        .args(extra)
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    tsv(&String::from_utf8_lossy(&out.stdout))
}

#[test]
fn more_good_inputs_read_as_documented() {
    // (file, records, bp)
    for (file, records, bp) in [
        ("empty_read.fq", 2, 4),
        ("header_only.fa.gz", 1, 0),
        ("invalid_utf8_name.fq", 1, 4),
        ("no_final_newline.fa", 2, 7),
        ("no_final_newline.fq", 2, 7),
        ("empty_member.gz", 0, 0),
        // SAM is read (issue 16): an unmapped record with a header, a mapped one without.
        ("sam_header.sam", 1, 4),
        ("sam_no_header.sam", 1, 10),
    ] {
        let c = predict_ok(&classifier(), &data(&format!("good/{file}")), &[]);
        assert_eq!(c.len(), 2, "{file}: header and one row");
        assert_eq!(c[1][2], records.to_string(), "{file}: records");
        assert_eq!(c[1][3], bp.to_string(), "{file}: bp");
        if records == 0 {
            assert_eq!(c[1][7], "no-call", "{file}");
        }
    }
}

/// A copy of the tiny classifier whose groups are `chunks` chunks of `chunk_len` bp.
fn model_with(chunks: usize, chunk_len: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(classifier().join(f), dir.path().join(f)).unwrap();
    }
    std::fs::copy(
        data("gena-tiny/tokenizer.json"),
        dir.path().join("tokenizer.json"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("genosift.json"),
        format!("{{\"chunks\": {chunks}, \"chunk_len\": {chunk_len}}}\n"),
    )
    .unwrap();
    dir
}

/// A one-record FASTA whose sequence is a single line of `len` bases, with `bad` at 0-based
/// column `bad_at` if given.
fn single_line_fasta(path: &Path, len: usize, bad_at: Option<(usize, u8)>) {
    let mut seq: Vec<u8> = b"ACGTTGCA".iter().copied().cycle().take(len).collect();
    if let Some((at, b)) = bad_at {
        seq[at] = b;
    }
    let mut text = b">chr_single_line\n".to_vec();
    text.extend_from_slice(&seq);
    text.push(b'\n');
    std::fs::write(path, text).unwrap();
}

/// A chromosome on one line (as some assemblers write them; the 1 GB case is this at scale): it
/// streams in pieces of the read buffer, so records are not held whole. 3 Mbp here, into 3 chunks
/// of 1 Mbp (each truncated to 512 tokens), so the model's work stays small.
#[test]
fn single_line_record_of_megabases_streams() {
    let model = model_with(1, 1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let fa = dir.path().join("one_line.fa");
    single_line_fasta(&fa, 3_000_000, None);
    let c = predict_ok(model.path(), &fa, &[]);
    assert_eq!(c[1][2], "1", "records");
    assert_eq!(c[1][3], "3000000", "bp");
    assert_eq!(c[1][4], "3", "groups");
    // With the paper's N and L it stops after the groups asked for, mid-line.
    let c = predict_ok(&classifier(), &fa, &["--max-groups", "1"]);
    assert_eq!(
        c[1][3],
        (16 * 3072).to_string(),
        "bp through the first group"
    );
    assert_eq!(c[1][4], "1");
}

/// A bad base far into a long line is reported at its column in the line.
#[test]
fn bad_base_column_in_a_long_line() {
    let model = model_with(1, 1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let fa = dir.path().join("long_line_bad_base.fa");
    single_line_fasta(&fa, 200_000, Some((149_999, b'J')));
    let err = predict_fails(model.path(), Feed::Path(&fa), "long_line_bad_base.fa");
    assert!(
        err.contains("record 'chr_single_line'") && err.contains("line 2") && err.contains("'J'"),
        "{err}"
    );
    assert!(err.contains("column 150000"), "{err}");
}

/// Old Mac line ends (CR only): two records with 8 bases must not become one record of 0 bp.
#[test]
fn cr_only_line_ends_are_not_read_silently() {
    let dir = tempfile::tempdir().unwrap();
    let fa = dir.path().join("cr_only.fa");
    std::fs::write(&fa, b">r1\rACGT\r>r2\rGGGG\r").unwrap();
    let out = genosift()
        .args(["predict", "-q", "-m"])
        .arg(classifier())
        .arg(&fa)
        .output()
        .unwrap();
    if out.status.success() {
        let c = tsv(&String::from_utf8_lossy(&out.stdout));
        assert_eq!((c[1][2].as_str(), c[1][3].as_str()), ("2", "8"));
    } else {
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("cr_only.fa"), "{err}");
    }
}

/// README "Input rules": blank lines between records are fine — in FASTQ too.
#[test]
fn blank_lines_between_fastq_records_are_fine() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [
        ("between.fq", &b"@r1\nACGT\n+\nIIII\n\n@r2\nGG\n+\nII\n"[..]),
        (
            "trailing.fq",
            &b"@r1\nACGT\n+\nIIII\n@r2\nGG\n+\nII\n\n"[..],
        ),
    ] {
        let fq = dir.path().join(name);
        std::fs::write(&fq, text).unwrap();
        let c = predict_ok(&classifier(), &fq, &[]);
        assert_eq!((c[1][2].as_str(), c[1][3].as_str()), ("2", "6"), "{name}");
    }
}
