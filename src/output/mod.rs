//! Output: TSV tables with a constant header, to stdout or to a file that appears only when
//! complete (written to a temporary file beside it, renamed at the end). Each of `predict`'s
//! outputs has its own file here, its header (or layout) beside the code that writes its rows.

pub mod calls;
pub mod dosage_plot;
pub mod groups;
pub mod mqc;
pub mod needles;
pub mod summary;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

pub use crate::atomic::write_atomic;
use crate::atomic::{is_special, make_readable, parent_dir};
use crate::error::OutputError;

enum Target {
    Stdout,
    /// A special file written in place.
    Special(PathBuf),
    File {
        tmp: tempfile::NamedTempFile,
        path: PathBuf,
    },
}

/// A TSV table being written. Nothing reaches a file path until [`Table::finish`].
pub struct Table {
    writer: csv::Writer<Box<dyn Write + Send>>,
    target: Target,
}

impl Table {
    /// A table to `path`, or stdout for `None` / `-`, starting with `header`.
    pub fn create(path: Option<&Path>, header: &[&str]) -> Result<Self, OutputError> {
        let (sink, target): (Box<dyn Write + Send>, Target) = match path {
            None => (Box::new(BufWriter::new(io::stdout())), Target::Stdout),
            Some(p) if p.as_os_str() == "-" => {
                (Box::new(BufWriter::new(io::stdout())), Target::Stdout)
            }
            Some(p) if is_special(p) => {
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(p)
                    .map_err(|err| OutputError::Write {
                        path: p.to_path_buf(),
                        err,
                    })?;
                (
                    Box::new(BufWriter::new(file)),
                    Target::Special(p.to_path_buf()),
                )
            }
            Some(p) => {
                let err = |err| OutputError::Write {
                    path: p.to_path_buf(),
                    err,
                };
                let tmp = tempfile::Builder::new()
                    .prefix(".genosift-")
                    .tempfile_in(parent_dir(p))
                    .map_err(err)?;
                let file: File = tmp.reopen().map_err(err)?;
                (
                    Box::new(BufWriter::with_capacity(1 << 16, file)),
                    Target::File {
                        tmp,
                        path: p.to_path_buf(),
                    },
                )
            }
        };
        let writer = csv::WriterBuilder::new()
            .delimiter(b'\t')
            .quote_style(csv::QuoteStyle::Never)
            .has_headers(false)
            .from_writer(sink);
        let mut t = Self { writer, target };
        t.row(header)?;
        Ok(t)
    }

    fn map_err(&self, err: io::Error) -> OutputError {
        match &self.target {
            Target::Stdout => OutputError::from_stdout(err),
            Target::Special(path) | Target::File { path, .. } => OutputError::Write {
                path: path.clone(),
                err,
            },
        }
    }

    /// Writes one row.
    pub fn row<I, T>(&mut self, fields: I) -> Result<(), OutputError>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        self.writer.write_record(fields).map_err(|e| {
            let io = match e.into_kind() {
                csv::ErrorKind::Io(io) => io,
                other => io::Error::other(format!("{other:?}")),
            };
            self.map_err(io)
        })
    }

    /// Flushes and, for a file, moves it into place.
    pub fn finish(mut self) -> Result<(), OutputError> {
        self.writer.flush().map_err(|e| self.map_err(e))?;
        let Table { writer, target } = self;
        drop(writer);
        if let Target::File { tmp, path } = target {
            let err = |err| OutputError::Write {
                path: path.clone(),
                err,
            };
            tmp.as_file().sync_all().map_err(err)?;
            make_readable(tmp.as_file()).map_err(err)?;
            tmp.persist(&path).map_err(|e| err(e.error))?;
        }
        Ok(())
    }
}

/// Formats an f32 in its shortest exact (round-trip) decimal form.
pub fn fmt_f32(v: f32) -> String {
    format!("{v}")
}

/// Formats a probability with 6 decimals (absolute precision 5e-7).
pub fn fmt_prob(v: f64) -> String {
    format!("{v:.6}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_appears_only_when_finished() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.tsv");
        let mut t = Table::create(Some(&path), &["a", "b"]).unwrap();
        t.row(["1", "2"]).unwrap();
        assert!(!path.exists());
        t.finish().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a\tb\n1\t2\n");

        let path2 = dir.path().join("dropped.tsv");
        let t = Table::create(Some(&path2), &["a"]).unwrap();
        drop(t);
        assert!(!path2.exists());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left"
        );
    }
}
