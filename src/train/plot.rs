//! Accuracy vs K as the paper's Figure 3: one line per species and condition, a band of ±1 SD over
//! the resamples, K on a log axis. SVG (plotters' SVG backend needs no font library).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use plotters::prelude::*;

use super::evaluate::EvalRow;

pub fn accuracy_vs_k(path: &Path, rows: &[EvalRow]) -> Result<()> {
    let mut series: BTreeMap<(String, String), Vec<&EvalRow>> = BTreeMap::new();
    for r in rows {
        series
            .entry((r.species.clone(), r.condition.clone()))
            .or_default()
            .push(r);
    }
    let kmin = rows.iter().map(|r| r.k).min().unwrap_or(1).max(1) as f64;
    let kmax = rows.iter().map(|r| r.k).max().unwrap_or(10).max(2) as f64;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (720, 460)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "Sex-call accuracy vs K (groups per sample)",
                ("sans-serif", 20),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d((kmin..kmax).log_scale(), 0.0f64..1.02)?;
        chart
            .configure_mesh()
            .x_desc("K (groups of N chunks)")
            .y_desc("accuracy (mean ± SD over resamples)")
            .draw()?;
        for (i, ((species, condition), pts)) in series.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            let band: Vec<(f64, f64)> = pts
                .iter()
                .map(|r| (r.k as f64, (r.accuracy_mean + r.accuracy_sd).min(1.02)))
                .chain(
                    pts.iter()
                        .rev()
                        .map(|r| (r.k as f64, (r.accuracy_mean - r.accuracy_sd).max(0.0))),
                )
                .collect();
            chart.draw_series(std::iter::once(Polygon::new(band, color.mix(0.15))))?;
            chart
                .draw_series(LineSeries::new(
                    pts.iter().map(|r| (r.k as f64, r.accuracy_mean)),
                    color.stroke_width(2),
                ))?
                .label(format!("{species} ({condition})"))
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::LowerRight)
            .draw()?;
        root.present()?;
    }
    crate::io::output::write_atomic(path, svg.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}
