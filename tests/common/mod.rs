//! Helpers shared by the CLI tests: where the test data is, the binary, and TSV parsing.
// Each test crate uses some of these.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// A path under `test-data/`.
pub fn data(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("test-data")
        .join(p)
}

/// A path in the bundled demo model's directory.
pub fn demo(p: &str) -> PathBuf {
    data("models/demo").join(p)
}

/// The tiny random classifier (GENA-LM-shaped, with the authors' reference tensors).
pub fn classifier() -> PathBuf {
    data("gena-tiny/classifier")
}

/// The genosift binary under test.
pub fn genosift() -> Command {
    Command::cargo_bin("genosift").unwrap()
}

/// Runs `cmd`, which must succeed, and returns its standard output.
#[allow(dead_code)]
pub fn stdout_of(cmd: &mut Command) -> String {
    String::from_utf8(cmd.assert().success().get_output().stdout.clone()).unwrap()
}

/// A TSV's rows, split into fields.
pub fn tsv(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}
