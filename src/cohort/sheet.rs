//! The sample sheet: TSV with header `sample  species  sex  split  fasta` (extra columns allowed;
//! `reads` and `karyotype` are read). `fasta` is one path or several joined by commas (haplotype files); paths are
//! relative to the sheet. Every bad row is reported at once, with its line number, before any work.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::call::karyotype::Karyotype;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    /// The paper's label: male 0, female 1.
    pub fn label(self) -> f32 {
        match self {
            Sex::Male => 0.0,
            Sex::Female => 1.0,
        }
    }
}

/// What a sample is by its sex chromosomes: column `karyotype` (`XX`, `XY`, `X0`, `XXX`, `XXY`,
/// `XYY`, `XX+XY` for a female sample with male DNA mixed in, `XY/X0` for a male with loss of Y in
/// part of his cells); `XX` or `XY` by `sex` when the column is absent, empty or `NA`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Constitution {
    Karyotype(Karyotype),
    MaleAdmixture,
    MosaicLossOfY,
}

impl Constitution {
    pub fn as_str(self) -> &'static str {
        match self {
            Constitution::Karyotype(k) => k.as_str(),
            Constitution::MaleAdmixture => "XX+XY",
            Constitution::MosaicLossOfY => "XY/X0",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "XX+XY" => Some(Constitution::MaleAdmixture),
            "XY/X0" => Some(Constitution::MosaicLossOfY),
            _ => Karyotype::parse(s).map(Constitution::Karyotype),
        }
    }

    /// The sex a sheet reports for it: male with a (germline) Y.
    pub fn sex(self) -> Sex {
        match self {
            Constitution::Karyotype(k) if !k.has_y() => Sex::Female,
            Constitution::MaleAdmixture => Sex::Female,
            _ => Sex::Male,
        }
    }

    /// Plain XX or XY: the samples the sex-call accuracy tables count.
    pub fn is_typical(self) -> bool {
        matches!(self, Constitution::Karyotype(Karyotype::XX | Karyotype::XY))
    }

    fn of_sex(sex: Sex) -> Self {
        Constitution::Karyotype(match sex {
            Sex::Female => Karyotype::XX,
            Sex::Male => Karyotype::XY,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Split {
    Train,
    Valid,
    Test,
}

#[derive(Debug, Clone)]
pub struct SampleRow {
    pub line: usize,
    pub sample: String,
    pub species: String,
    pub sex: Sex,
    pub split: Split,
    pub fasta: Vec<PathBuf>,
    /// Optional reads file (column `reads`; `NA` or empty for none).
    pub reads: Option<PathBuf>,
    pub constitution: Constitution,
}

/// Parses and checks a sheet; with `check_files`, every FASTA must exist.
pub fn read_sheet(path: &Path, check_files: bool) -> Result<Vec<SampleRow>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read sample sheet {}", path.display()))?;
    parse_sheet(&text, path, check_files)
}

/// A sheet field of one path or several joined by commas, each relative to the sheet's folder
/// `base` (blanks between them ignored).
pub fn path_list(field: &str, base: &Path) -> Vec<PathBuf> {
    field
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| base.join(s))
        .collect()
}

/// The positions of the required columns (sample, species, sex, split, fasta) and of the optional
/// `reads` and `karyotype`.
type Columns = ([usize; 5], Option<usize>, Option<usize>);

fn header_columns(header: &str, path: &Path) -> Result<Columns> {
    let cols: Vec<&str> = header.split('\t').map(str::trim).collect();
    let find = |name: &str| cols.iter().position(|c| *c == name);
    let mut missing = Vec::new();
    let mut idx = [0usize; 5];
    for (i, name) in ["sample", "species", "sex", "split", "fasta"]
        .iter()
        .enumerate()
    {
        match find(name) {
            Some(j) => idx[i] = j,
            None => missing.push(*name),
        }
    }
    if !missing.is_empty() {
        bail!(
            "{}: line 1: header lacks column(s) {} (need sample, species, sex, split, fasta)",
            path.display(),
            missing.join(", ")
        );
    }
    Ok((idx, find("reads"), find("karyotype")))
}

/// Parses sheet text (`path` names it in messages and anchors relative file names).
pub fn parse_sheet(text: &str, path: &Path, check_files: bool) -> Result<Vec<SampleRow>> {
    let base = path.parent().unwrap_or(Path::new("."));
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        bail!("{}: empty sample sheet", path.display());
    };
    let (idx, reads_col, karyotype_col) = header_columns(header, path)?;
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, line) in lines {
        let n = i + 1;
        let f: Vec<&str> = line.split('\t').map(str::trim).collect();
        let get = |j: usize| f.get(j).copied().unwrap_or("");
        let sample = get(idx[0]).to_string();
        let species = get(idx[1]).to_string();
        let mut bad = Vec::new();
        if sample.is_empty() {
            bad.push("empty sample".to_string());
        } else if !seen.insert(sample.clone()) {
            bad.push(format!("sample '{sample}' appears twice"));
        }
        if species.is_empty() {
            bad.push("empty species".to_string());
        }
        let sex = match get(idx[2]).to_ascii_lowercase().as_str() {
            "male" | "m" => Some(Sex::Male),
            "female" | "f" => Some(Sex::Female),
            other => {
                bad.push(format!("sex '{other}' is not male or female"));
                None
            }
        };
        let split = match get(idx[3]) {
            "train" => Some(Split::Train),
            "valid" => Some(Split::Valid),
            "test" => Some(Split::Test),
            other => {
                bad.push(format!("split '{other}' is not train, valid or test"));
                None
            }
        };
        let fasta = path_list(get(idx[4]), base);
        if fasta.is_empty() {
            bad.push("no fasta file".into());
        }
        if check_files {
            for p in &fasta {
                match std::fs::metadata(p) {
                    Ok(m) if m.len() == 0 => {
                        bad.push(format!("{} is empty (no records)", p.display()))
                    }
                    Ok(_) => {}
                    Err(_) => bad.push(format!("{} does not exist", p.display())),
                }
            }
        }
        let reads = reads_col
            .map(get)
            .filter(|s| !s.is_empty() && *s != "NA")
            .map(|s| base.join(s));
        let constitution = constitution(karyotype_col.map(get), sex, &mut bad);
        if bad.is_empty() {
            rows.push(SampleRow {
                line: n,
                sample,
                species,
                sex: sex.expect("checked"),
                split: split.expect("checked"),
                fasta,
                reads,
                constitution: constitution.expect("checked"),
            });
        } else {
            problems.push(format!("line {n}: {}", bad.join("; ")));
        }
    }
    if !problems.is_empty() {
        bail!("{}: {}", path.display(), problems.join(" | "));
    }
    if rows.is_empty() {
        bail!("{}: no samples", path.display());
    }
    Ok(rows)
}

/// The row's constitution: its `karyotype` field, which must agree with its sex, or XX/XY by sex.
fn constitution(
    field: Option<&str>,
    sex: Option<Sex>,
    bad: &mut Vec<String>,
) -> Option<Constitution> {
    let sex = sex?;
    let Some(field) = field.filter(|s| !s.is_empty() && *s != "NA") else {
        return Some(Constitution::of_sex(sex));
    };
    match Constitution::parse(field) {
        None => {
            bad.push(format!(
                "karyotype '{field}' is not one of X0, XX, XXX, XY, XXY, XYY, XX+XY, XY/X0"
            ));
            None
        }
        Some(c) if c.sex() != sex => {
            bad.push(format!(
                "karyotype '{field}' disagrees with sex {}",
                if sex == Sex::Male { "male" } else { "female" }
            ));
            None
        }
        c => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_every_bad_row_with_line_numbers() {
        let text = "sample\tspecies\tsex\tsplit\tfasta\n\
                    a\thuman\tmale\ttrain\ta.fa\n\
                    b\thuman\tunknown\ttrain\tb.fa\n\
                    c\thuman\tfemale\tholdout\t\n\
                    a\tmouse\tfemale\ttest\tx.fa\n";
        let e = parse_sheet(text, Path::new("s.tsv"), false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3: sex 'unknown'"), "{e}");
        assert!(
            e.contains("line 4: split 'holdout'") && e.contains("no fasta file"),
            "{e}"
        );
        assert!(e.contains("line 5: sample 'a' appears twice"), "{e}");
        assert!(!e.contains("line 2"), "{e}");
    }

    #[test]
    fn missing_files_and_header() {
        let e = parse_sheet("sample\tsex\n", Path::new("s.tsv"), false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("species") && e.contains("fasta"), "{e}");
        let text = "sample\tspecies\tsex\tsplit\tfasta\na\th\tF\tvalid\tnope1.fa,nope2.fa\n";
        let e = parse_sheet(text, Path::new("/tmp/s.tsv"), true)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 2") && e.contains("nope1.fa does not exist") && e.contains("nope2.fa"),
            "{e}"
        );
    }

    #[test]
    fn relative_paths_and_haplotypes() {
        let text =
            "sample\tspecies\tsex\tsplit\tfasta\treads\na\th\tm\ttest\tg/a1.fa, g/a2.fa\tNA\n";
        let rows = parse_sheet(text, Path::new("/data/s.tsv"), false).unwrap();
        assert_eq!(
            rows[0].fasta,
            vec![
                PathBuf::from("/data/g/a1.fa"),
                PathBuf::from("/data/g/a2.fa")
            ]
        );
        assert_eq!(rows[0].sex, Sex::Male);
        assert!(rows[0].reads.is_none());
        assert_eq!(rows[0].constitution, Constitution::Karyotype(Karyotype::XY));
    }

    #[test]
    fn karyotype_column() {
        let text = "sample\tspecies\tsex\tsplit\tfasta\tkaryotype\n\
                    a\th\tmale\ttest\ta.fa\tXXY\n\
                    b\th\tfemale\ttest\tb.fa\tXX+XY\n\
                    c\th\tfemale\ttest\tc.fa\tNA\n\
                    d\th\tmale\ttest\td.fa\tXY/X0\n";
        let rows = parse_sheet(text, Path::new("s.tsv"), false).unwrap();
        let got: Vec<_> = rows.iter().map(|r| r.constitution.as_str()).collect();
        assert_eq!(got, ["XXY", "XX+XY", "XX", "XY/X0"]);
        assert!(!rows[0].constitution.is_typical() && rows[2].constitution.is_typical());
        let text = "sample\tspecies\tsex\tsplit\tfasta\tkaryotype\n\
                    a\th\tfemale\ttest\ta.fa\tXXY\n\
                    b\th\tmale\ttest\tb.fa\tXXYY\n";
        let e = parse_sheet(text, Path::new("s.tsv"), false)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 2: karyotype 'XXY' disagrees with sex female"),
            "{e}"
        );
        assert!(e.contains("line 3: karyotype 'XXYY' is not one of"), "{e}");
    }
}
