//! `--mqc`: a MultiQC custom-content table, one row per sample: the calls table's values, the
//! call first, under MultiQC's header block (section, table settings, and for every column a
//! title, a description and, for numbers, a format at the calls table's precision). Checked with
//! MultiQC itself in CI (workflows/multiqc/check_report.py). Beside it go the General Statistics
//! columns and the cohort's X-vs-Y dosage scatter plot ([`super::dosage_plot`]).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::calls::{self, CALLS_HEADER};
use super::dosage_plot::{DosagePlot, Reported, XAxis};
use super::summary::PredictSummary;

/// A column of the MultiQC table: its calls-table name, title, description and MultiQC display
/// settings (a Python format string, and a range and colour scale for numbers).
struct Column {
    name: &'static str,
    title: &'static str,
    description: &'static str,
    format: Option<&'static str>,
    range: Option<(f64, f64, &'static str)>,
}

const fn text(name: &'static str, title: &'static str, description: &'static str) -> Column {
    Column {
        name,
        title,
        description,
        format: None,
        range: None,
    }
}

const fn number(
    name: &'static str,
    title: &'static str,
    description: &'static str,
    format: &'static str,
    range: Option<(f64, f64, &'static str)>,
) -> Column {
    Column {
        name,
        title,
        description,
        format: Some(format),
        range,
    }
}

/// Probabilities and dosages keep the calls table's precision (MultiQC's default is one decimal).
const PROB: &str = "{:.6f}";
const DOSAGE: &str = "{:.4f}";
const COUNT: &str = "{:,.0f}";

/// The table's columns after `Sample`, the call first.
const COLUMNS: [Column; 20] = [
    text("call", "Sex", "Inferred genetic sex: male, female or no-call"),
    text("rule", "Rule", "Calling rule: lr (likelihood ratio of Y evidence) or paper"),
    number("posterior_male", "P(male)", "Posterior probability that the sample is male (lr rule)", PROB, Some((0.0, 1.0, "RdBu"))),
    number("y_hits", "Y hits", "Chunks the Y detector fired on", COUNT, None),
    number("chunks_scored", "Chunks", "Chunks scored by the model", COUNT, None),
    number("frac_female_groups", "Female groups", "Share of groups with P(female) > 0.5 (paper rule)", PROB, Some((0.0, 1.0, "RdBu"))),
    number("threshold", "Threshold", "Calibrated threshold on the female-group share (paper rule)", PROB, None),
    number("n_groups", "Groups", "Groups of chunks scored by the head", COUNT, None),
    number("n_records", "Reads", "Records read", COUNT, None),
    number("n_bp", "Bases", "Bases read", COUNT, None),
    number("y_dosage", "Y dosage", "Y signal relative to a normal male (1 = XY, 0 = XX)", DOSAGE, Some((0.0, 1.5, "PuOr"))),
    number("y_dosage_lo", "Y dosage lo", "Lower bound of the 95% interval of the Y dosage", DOSAGE, None),
    number("y_dosage_hi", "Y dosage hi", "Upper bound of the 95% interval of the Y dosage", DOSAGE, None),
    text("flag", "Flag", "y_partial: the Y dosage interval lies between the female and the male dosage (male contamination, mosaic loss of Y, a mixture; not called); y_excess: above 1.5 (two Y, as XYY); NA: none"),
    text("expected_sex", "Reported sex", "Sex given by --expected-sex or the sample sheet"),
    text("sex_check", "Sex check", "ok, mismatch (inferred differs from reported) or no-call"),
    number("x_dosage", "X dosage", "Copies of X relative to the autosomes (2 = XX, 1 = XY); models with an X output", DOSAGE, Some((0.0, 3.0, "PuOr"))),
    number("x_dosage_lo", "X dosage lo", "Lower bound of the 95% interval of the X dosage", DOSAGE, None),
    number("x_dosage_hi", "X dosage hi", "Upper bound of the 95% interval of the X dosage", DOSAGE, None),
    text("karyotype", "Karyotype", "XX, XY, X0, XXX, XXY or XYY when both dosage intervals pin whole copies; NA otherwise"),
];

/// The columns genosift adds to MultiQC's General Statistics table.
const GENERAL_STATS: [&str; 4] = ["call", "posterior_male", "y_dosage", "sex_check"];

/// The section's header block: its id, title, description and table settings.
fn section_header() -> String {
    format!(
        "# id: 'genosift'\n\
         # section_name: 'genosift: genetic sex'\n\
         # description: 'Genetic sex called from unaligned reads by genosift {}: the call, its \
         evidence (posterior, Y hits, Y dosage with a 95% interval) and the check against the \
         reported sex.'\n\
         # format: 'tsv'\n\
         # plot_type: 'table'\n\
         # pconfig:\n\
         #     id: 'genosift_calls'\n\
         #     title: 'genosift: sex calls'\n\
         #     namespace: 'genosift'\n",
        env!("CARGO_PKG_VERSION"),
    )
}

/// The General Statistics file's header block.
fn general_stats_header() -> String {
    "# id: 'genosift_general_stats'\n\
     # format: 'tsv'\n\
     # plot_type: 'generalstats'\n\
     # namespace: 'genosift'\n"
        .to_string()
}

/// The `headers:` block: for every column a title, a description and display settings.
fn column_headers(columns: &[&Column]) -> String {
    let mut h = String::from("# headers:\n");
    for c in columns {
        h.push_str(&format!(
            "#     {}:\n#         title: '{}'\n#         description: '{}'\n",
            c.name, c.title, c.description
        ));
        if let Some(f) = c.format {
            h.push_str(&format!("#         format: '{f}'\n"));
        }
        if let Some((min, max, scale)) = c.range {
            h.push_str(&format!(
                "#         min: {min}\n#         max: {max}\n#         scale: '{scale}'\n"
            ));
        }
    }
    h
}

/// Where the General Statistics file goes: beside `path`, `NAME_mqc.tsv` → `NAME_stats_mqc.txt`
/// (tab-separated; MultiQC finds both by their `_mqc` suffix, and the other extension keeps a
/// workflow's `*_mqc.tsv` glob to one file).
pub fn general_stats_path(path: &Path) -> PathBuf {
    beside(path, "_stats_mqc.txt")
}

/// Where the dosage scatter plot goes: beside `path`, `NAME_mqc.tsv` → `NAME_dosage_mqc.json`.
pub fn dosage_path(path: &Path) -> PathBuf {
    beside(path, "_dosage_mqc.json")
}

/// `path`'s name without `_mqc.tsv` (or `.tsv`), with `suffix`.
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let stem = name
        .strip_suffix("_mqc.tsv")
        .or_else(|| name.strip_suffix(".tsv"))
        .unwrap_or(&name);
    path.with_file_name(format!("{stem}{suffix}"))
}

/// The dosage plot as MultiQC custom content (JSON): a scatter plot, a point per sample coloured
/// by the reported sex (MultiQC's legend groups them), at full precision.
fn dosage_scatter(summaries: &[PredictSummary]) -> serde_json::Value {
    let plot = DosagePlot::of(summaries);
    let data: serde_json::Map<String, serde_json::Value> = plot
        .points
        .iter()
        .map(|p| {
            let point = serde_json::json!({
                "x": p.x,
                "y": p.y.estimate,
                "color": p.reported.hex(),
                "group": p.reported.label(),
            });
            (p.sample.to_string(), point)
        })
        .collect();
    let (xlab, categories) = match plot.axis {
        XAxis::XDosage => ("X dosage (2 = XX, 1 = XY)", None),
        XAxis::Reported => (
            "Reported sex (this model has no X output)",
            Some(Reported::ALL.map(Reported::label)),
        ),
    };
    serde_json::json!({
        "id": "genosift_dosage",
        "section_name": "genosift: X and Y dosage",
        "description": "Y dosage (1 = XY, 0 = XX) of each sample against its X dosage (copies \
            relative to the autosomes; XX females lie at (2, 0), XY males at (1, 1)) or, for a \
            model without an X output, against its reported sex; coloured by the reported sex. \
            The calls table gives each dosage's 95% interval.",
        "plot_type": "scatter",
        "pconfig": {
            "id": "genosift_dosage_plot",
            "title": "genosift: X and Y dosage",
            "xlab": xlab,
            "ylab": "Y dosage (1 = XY, 0 = XX)",
            "categories": categories,
            "ymin": 0,
        },
        "data": data,
    })
}

/// The table of `columns` under `header`, a row per sample.
fn table(header: String, columns: &[&Column], summaries: &[PredictSummary]) -> String {
    let names: Vec<&str> = columns.iter().map(|c| c.name).collect();
    let mut text = format!(
        "{header}{}Sample\t{}\n",
        column_headers(columns),
        names.join("\t")
    );
    let at = |name: &str| CALLS_HEADER.iter().position(|c| *c == name);
    let picks: Vec<usize> = std::iter::once("sample")
        .chain(names.iter().copied())
        .map(|c| at(c).expect("an mqc column is a calls column"))
        .collect();
    for s in summaries {
        let row = calls::row(s);
        let fields: Vec<&str> = picks.iter().map(|&i| row[i].as_str()).collect();
        text.push_str(&fields.join("\t"));
        text.push('\n');
    }
    text
}

/// Writes the section table to `path` and beside it the General Statistics columns
/// ([`general_stats_path`]) and the dosage scatter plot ([`dosage_path`]).
pub fn write(path: &Path, summaries: &[PredictSummary]) -> Result<()> {
    let all: Vec<&Column> = COLUMNS.iter().collect();
    let general: Vec<&Column> = GENERAL_STATS
        .iter()
        .map(|&n| {
            COLUMNS
                .iter()
                .find(|c| c.name == n)
                .expect("a table column")
        })
        .collect();
    let stats = general_stats_path(path);
    let dosage = dosage_path(path);
    for (p, text) in [
        (path, table(section_header(), &all, summaries)),
        (&stats, table(general_stats_header(), &general, summaries)),
        (&dosage, dosage_scatter(summaries).to_string()),
    ] {
        super::write_atomic(p, text.as_bytes())
            .with_context(|| format!("cannot write {}", p.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_column_is_a_calls_column() {
        for c in &COLUMNS {
            assert!(CALLS_HEADER.contains(&c.name), "{}", c.name);
            // Single quotes would end the YAML strings of the header.
            assert!(!c.title.contains('\'') && !c.description.contains('\''));
        }
        for n in GENERAL_STATS {
            assert!(COLUMNS.iter().any(|c| c.name == n), "{n}");
        }
    }

    #[test]
    fn general_stats_beside_the_table() {
        let p = |s: &str| general_stats_path(Path::new(s));
        assert_eq!(p("out/demo_mqc.tsv"), Path::new("out/demo_stats_mqc.txt"));
        assert_eq!(p("demo.tsv"), Path::new("demo_stats_mqc.txt"));
        assert_eq!(p("demo"), Path::new("demo_stats_mqc.txt"));
        assert_eq!(
            dosage_path(Path::new("out/demo_mqc.tsv")),
            Path::new("out/demo_dosage_mqc.json")
        );
    }

    #[test]
    fn the_dosage_scatter_holds_every_sample_with_a_dosage() {
        use crate::call::dosage::Dosage;
        use crate::call::Call;
        use crate::cohort::sheet::Sex;
        use crate::output::summary::example;
        let y = |e: f64| {
            Some(Dosage {
                estimate: e,
                lo: e - 0.1,
                hi: e + 0.1,
            })
        };
        let summaries = [
            example("F1", Some(Sex::Female), Call::Female, y(0.012345678), None),
            example("M1", None, Call::Male, y(0.987654321), None),
            example("P1", None, Call::Male, None, None),
        ];
        let v = dosage_scatter(&summaries);
        assert_eq!(v["plot_type"], "scatter");
        assert_eq!(v["pconfig"]["categories"][1], "reported male");
        let data = v["data"].as_object().unwrap();
        assert_eq!(data.len(), 2);
        // Full precision, and the reported sex as the colour group.
        assert_eq!(data["F1"]["y"], 0.012345678);
        assert_eq!(data["F1"]["x"], 0.0);
        assert_eq!(data["F1"]["group"], "reported female");
        assert_eq!(data["M1"]["group"], "sex not reported");
    }
}
