//! Accuracy curves: accuracy vs K as the paper's Figure 3 (one line per species, condition and
//! rule, a band of ±1 SD over the resamples, log x axis), and accuracy vs reads (the headline
//! figure of `evaluate --reads`), written by [`crate::figure`] (PNG or SVG by the file name).

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

use super::evaluate::EvalRow;
use crate::figure::{self, plot_error, Figure};

/// One line of a plot: `(x, mean, sd)` points in x order.
pub type Series = Vec<(f64, f64, f64)>;

/// A plot's texts.
pub struct Labels<'a> {
    pub title: &'a str,
    pub x: &'a str,
    pub y: &'a str,
}

/// Points `(line name, (x, mean, sd))` gathered into lines, in the points' order.
pub fn series_of(
    points: impl IntoIterator<Item = (String, (f64, f64, f64))>,
) -> BTreeMap<String, Series> {
    let mut series: BTreeMap<String, Series> = BTreeMap::new();
    for (name, point) in points {
        series.entry(name).or_default().push(point);
    }
    series
}

/// Accuracy vs K from `evaluate`'s rows.
pub fn accuracy_vs_k(path: &Path, rows: &[EvalRow]) -> Result<()> {
    let series = series_of(rows.iter().map(|r| {
        let name = format!("{} ({}, {} rule)", r.species, r.condition, r.rule);
        (name, (r.k as f64, r.accuracy.mean, r.accuracy.sd))
    }));
    accuracy_curves(
        path,
        &series,
        &Labels {
            title: "Sex-call accuracy vs K (groups per sample)",
            x: "K (groups of N chunks)",
            y: "accuracy (mean ± SD over resamples)",
        },
    )
}

/// Draws the series to `path` (PNG or SVG by extension).
pub fn accuracy_curves(
    path: &Path,
    series: &BTreeMap<String, Series>,
    labels: &Labels,
) -> Result<()> {
    figure::render(path, (760, 480), &Curves { series, labels })
}

/// Accuracy lines with their ±1 SD bands, log x axis.
struct Curves<'a> {
    series: &'a BTreeMap<String, Series>,
    labels: &'a Labels<'a>,
}

impl Figure for Curves<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        draw_curves(root, self.series, self.labels)
    }
}

fn draw_curves<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    series: &BTreeMap<String, Series>,
    labels: &Labels,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let xs = series.values().flatten().map(|p| p.0);
    let xmin = xs.clone().fold(f64::INFINITY, f64::min).max(1.0);
    let xmax = xs.fold(1.0f64, f64::max).max(xmin * 2.0);
    let err = plot_error::<DrawingAreaErrorKind<DB::ErrorType>>;
    let mut chart = ChartBuilder::on(root)
        .caption(labels.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d((xmin..xmax).log_scale(), 0.0f64..1.02)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(labels.x)
        .y_desc(labels.y)
        .draw()
        .map_err(err)?;
    for (i, (name, pts)) in series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let band: Vec<(f64, f64)> = pts
            .iter()
            .map(|&(x, m, sd)| (x, (m + sd).min(1.02)))
            .chain(pts.iter().rev().map(|&(x, m, sd)| (x, (m - sd).max(0.0))))
            .collect();
        chart
            .draw_series(std::iter::once(Polygon::new(band, color.mix(0.15))))
            .map_err(err)?;
        chart
            .draw_series(LineSeries::new(
                pts.iter().map(|&(x, m, _)| (x, m)),
                color.stroke_width(2),
            ))
            .map_err(err)?
            .label(name.clone())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::LowerRight)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_and_svg_are_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = BTreeMap::new();
        s.insert(
            "human".to_string(),
            vec![(10.0, 0.6, 0.1), (100.0, 0.9, 0.05), (1000.0, 1.0, 0.0)],
        );
        let labels = Labels {
            title: "t",
            x: "x",
            y: "y",
        };
        let png = dir.path().join("a.png");
        accuracy_curves(&png, &s, &labels).unwrap();
        let bytes = std::fs::read(&png).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        let svg = dir.path().join("a.svg");
        accuracy_curves(&svg, &s, &labels).unwrap();
        let text = std::fs::read_to_string(&svg).unwrap();
        assert!(text.starts_with("<svg") && text.contains("human"));
    }
}
