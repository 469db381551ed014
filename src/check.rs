//! The sex check (issue 18): the sex a sample sheet reports against the sex genosift infers, as
//! users run it to catch sample swaps. `predict --expected-sex` checks one sample;
//! `predict --samples SHEET` calls every sample of a sheet and writes one table for the cohort;
//! `--fail-on-mismatch` then exits with [`MISMATCH_EXIT_CODE`] when any sample disagrees.
//!
//! The sheet is TSV with a header: `sample`, `reads` (one path or several joined by commas, read as
//! one sample, relative to the sheet) and `sex` (`male`/`female`, also `M`/`F` and PLINK's `1`/`2`;
//! `NA`, `unknown`, `0` or empty: not reported), optionally `species`; other columns are ignored.
//! Every bad row is reported at once, with its line number, before any work.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::call::Call;
use crate::cohort::sheet::{path_list, Sex};

/// The exit code of a run with `--fail-on-mismatch` in which a sample's inferred sex differs from
/// the expected one (its outputs are complete).
pub const MISMATCH_EXIT_CODE: u8 = 3;

/// Inferred against expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SexCheck {
    Ok,
    Mismatch,
    /// No sex inferred (a `no-call`): nothing to compare.
    NoCall,
}

impl SexCheck {
    pub fn of(call: Call, expected: Sex) -> Self {
        match (call, expected) {
            (Call::NoCall, _) => SexCheck::NoCall,
            (Call::Male, Sex::Male) | (Call::Female, Sex::Female) => SexCheck::Ok,
            _ => SexCheck::Mismatch,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SexCheck::Ok => "ok",
            SexCheck::Mismatch => "mismatch",
            SexCheck::NoCall => "no-call",
        }
    }
}

pub fn sex_str(s: Sex) -> &'static str {
    match s {
        Sex::Male => "male",
        Sex::Female => "female",
    }
}

/// A reported sex: `Some` for male/female, `None` for not reported.
pub fn parse_sex(s: &str) -> Result<Option<Sex>, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "male" | "m" | "1" => Ok(Some(Sex::Male)),
        "female" | "f" | "2" => Ok(Some(Sex::Female)),
        "" | "na" | "unknown" | "0" | "." => Ok(None),
        other => Err(format!(
            "sex {other:?}: expected male, female (M/F, 1/2) or NA"
        )),
    }
}

/// `--expected-sex`: male or female only.
pub fn parse_expected_sex(s: &str) -> Result<Sex, String> {
    parse_sex(s)?.ok_or_else(|| format!("--expected-sex {s:?}: expected male or female"))
}

/// One sample of a `--samples` sheet.
#[derive(Debug, Clone, PartialEq)]
pub struct SheetSample {
    pub sample: String,
    pub reads: Vec<PathBuf>,
    pub sex: Option<Sex>,
    pub species: Option<String>,
}

/// Reads and checks a `--samples` sheet (see the module docs).
pub fn read_samples(path: &Path) -> Result<Vec<SheetSample>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the sample sheet {}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    parse_samples(&text, base).with_context(|| format!("sample sheet {}", path.display()))
}

fn parse_samples(text: &str, base: &Path) -> Result<Vec<SheetSample>> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        bail!("empty: expected a header with sample, reads and sex");
    };
    let cols: Vec<&str> = header.split('\t').map(str::trim).collect();
    let col = |name: &str| cols.iter().position(|c| *c == name);
    let (Some(c_sample), Some(c_reads), Some(c_sex)) = (col("sample"), col("reads"), col("sex"))
    else {
        bail!("the header needs columns sample, reads and sex (tab-separated), got {header:?}");
    };
    let c_species = col("species");
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for (i, line) in lines {
        let f: Vec<&str> = line.split('\t').map(str::trim).collect();
        let get = |c: usize| f.get(c).copied().unwrap_or("");
        let mut bad = |what: String| problems.push(format!("line {}: {what}", i + 1));
        let sample = get(c_sample).to_string();
        if sample.is_empty() {
            bad("no sample name".into());
        } else if rows.iter().any(|r: &SheetSample| r.sample == sample) {
            bad(format!("sample {sample} appears twice"));
        }
        let reads = path_list(get(c_reads), base);
        if reads.is_empty() {
            bad(format!("sample {sample}: no reads file"));
        }
        for r in reads.iter().filter(|r| !r.exists()) {
            bad(format!("sample {sample}: {} does not exist", r.display()));
        }
        let sex = parse_sex(get(c_sex)).unwrap_or_else(|e| {
            bad(format!("sample {sample}: {e}"));
            None
        });
        let species = c_species
            .map(get)
            .filter(|s| !s.is_empty() && !s.eq_ignore_ascii_case("na"))
            .map(str::to_string);
        rows.push(SheetSample {
            sample,
            reads,
            sex,
            species,
        });
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("; "));
    }
    if rows.is_empty() {
        bail!("no sample rows");
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_compare_the_call_with_the_expected_sex() {
        assert_eq!(SexCheck::of(Call::Male, Sex::Male), SexCheck::Ok);
        assert_eq!(SexCheck::of(Call::Female, Sex::Male), SexCheck::Mismatch);
        assert_eq!(SexCheck::of(Call::Male, Sex::Female), SexCheck::Mismatch);
        assert_eq!(SexCheck::of(Call::NoCall, Sex::Female), SexCheck::NoCall);
    }

    #[test]
    fn reported_sex_spellings() {
        for s in ["male", "M", "1", " Male "] {
            assert_eq!(parse_sex(s), Ok(Some(Sex::Male)), "{s}");
        }
        for s in ["female", "f", "2"] {
            assert_eq!(parse_sex(s), Ok(Some(Sex::Female)), "{s}");
        }
        for s in ["", "NA", "unknown", "0"] {
            assert_eq!(parse_sex(s), Ok(None), "{s}");
        }
        assert!(parse_sex("xx").is_err());
        assert!(parse_expected_sex("NA").is_err());
    }

    #[test]
    fn every_bad_row_is_reported_at_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.fq"), "@r\nACGT\n+\nIIII\n").unwrap();
        let text = "sample\treads\tsex\tspecies\n\
                    s1\ta.fq\tmale\thuman\n\
                    s2\ta.fq,missing.fq\tfemale\tNA\n\
                    s1\ta.fq\tboth\t\n\
                    s4\t\tNA\n";
        let e = parse_samples(text, dir.path()).unwrap_err().to_string();
        for want in [
            "line 3: sample s2: ",
            "missing.fq does not exist",
            "line 4: sample s1 appears twice",
            "line 4: sample s1: sex \"both\"",
            "line 5: sample s4: no reads file",
        ] {
            assert!(e.contains(want), "{want} in {e}");
        }
        let ok = parse_samples("sample\tsex\treads\ns1\tF\ta.fq\n", dir.path()).unwrap();
        assert_eq!(ok[0].sex, Some(Sex::Female));
        assert_eq!(ok[0].reads, vec![dir.path().join("a.fq")]);
        assert_eq!(ok[0].species, None);
        assert!(parse_samples("sample\treads\n", dir.path()).is_err());
    }
}
