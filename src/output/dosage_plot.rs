//! The cohort picture (issue 18 item 4): X dosage against Y dosage, a point per sample with its
//! 95% intervals as bars, coloured by the reported sex — the plot peddy and somalier draw from
//! alignments. A sample whose call disagrees with the reported sex is ringed and named; one that
//! was not called is drawn hollow. `predict --dosage-plot FILE` draws it (PNG or SVG, by
//! [`crate::figure`]); [`super::mqc`] writes the same points as a MultiQC scatter plot.
//!
//! A model without an X output gives no X dosage: the x axis is then the reported sex, a column
//! each for female, male and not reported (the samples spread across their column in sheet
//! order), so a swapped sample still stands out at the other sex's Y dosage. Samples without a Y
//! dosage (the paper's rule) are left out and named in the log.

use std::path::Path;

use anyhow::Result;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::summary::PredictSummary;
use crate::call::dosage::Dosage;
use crate::call::Call;
use crate::check::SexCheck;
use crate::cohort::sheet::Sex;
use crate::figure::{self, plot_error, Figure};

/// What the x axis shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XAxis {
    /// Copies of X relative to the autosomes (models with an X output).
    XDosage,
    /// The reported sex, a column each (models without an X output).
    Reported,
}

impl XAxis {
    pub fn label(self) -> &'static str {
        match self {
            XAxis::XDosage => "X dosage (copies relative to autosomes; 2 = XX, 1 = XY)",
            XAxis::Reported => "reported sex (this model has no X output)",
        }
    }
}

/// The sex a sample is reported to have, as the plot colours it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reported {
    Female,
    Male,
    Unknown,
}

impl Reported {
    /// The columns of [`XAxis::Reported`], in order.
    pub const ALL: [Reported; 3] = [Reported::Female, Reported::Male, Reported::Unknown];

    fn of(sex: Option<Sex>) -> Self {
        match sex {
            Some(Sex::Female) => Reported::Female,
            Some(Sex::Male) => Reported::Male,
            None => Reported::Unknown,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Reported::Female => "reported female",
            Reported::Male => "reported male",
            Reported::Unknown => "sex not reported",
        }
    }

    /// Colour-blind-safe (Okabe–Ito vermillion and blue; grey).
    pub fn rgb(self) -> (u8, u8, u8) {
        match self {
            Reported::Female => (213, 94, 0),
            Reported::Male => (0, 114, 178),
            Reported::Unknown => (128, 128, 128),
        }
    }

    pub fn hex(self) -> String {
        let (r, g, b) = self.rgb();
        format!("#{r:02x}{g:02x}{b:02x}")
    }
}

/// One sample's point: x (X dosage or chunks) with its interval, the Y dosage with its interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Point<'a> {
    pub sample: &'a str,
    pub x: f64,
    pub x_interval: Option<(f64, f64)>,
    pub y: Dosage,
    pub reported: Reported,
    pub mismatch: bool,
    pub called: bool,
}

/// The cohort's points and the samples that have none.
#[derive(Debug, Clone, PartialEq)]
pub struct DosagePlot<'a> {
    pub axis: XAxis,
    pub points: Vec<Point<'a>>,
    pub left_out: Vec<&'a str>,
}

/// Every sample is named on the plot up to this many; beyond, only mismatches and no-calls.
const NAME_ALL_UP_TO: usize = 20;

impl<'a> DosagePlot<'a> {
    /// The points of `summaries` (one per sample with the dosages the axis needs).
    pub fn of(summaries: &'a [PredictSummary]) -> Self {
        let axis = if summaries.iter().any(|s| s.x_dosage.is_some()) {
            XAxis::XDosage
        } else {
            XAxis::Reported
        };
        let mut points = Vec::new();
        let mut left_out = Vec::new();
        for s in summaries {
            let x = match axis {
                XAxis::XDosage => s.x_dosage.map(|d| (d.estimate, Some((d.lo, d.hi)))),
                XAxis::Reported => Some((0.0, None)), // placed in its column below
            };
            match (x, s.y_dosage) {
                (Some((x, x_interval)), Some(y)) => points.push(Point {
                    sample: &s.sample,
                    x,
                    x_interval,
                    y,
                    reported: Reported::of(s.expected_sex),
                    mismatch: s.sex_check == Some(SexCheck::Mismatch),
                    called: s.call != Call::NoCall,
                }),
                _ => left_out.push(s.sample.as_str()),
            }
        }
        if axis == XAxis::Reported {
            spread_in_columns(&mut points);
        }
        Self {
            axis,
            points,
            left_out,
        }
    }

    fn named(&self, p: &Point) -> bool {
        self.points.len() <= NAME_ALL_UP_TO || p.mismatch || !p.called
    }

    /// The x range: X dosage from 0 to past XXX; the three reported-sex columns.
    fn x_range(&self) -> (f64, f64) {
        match self.axis {
            XAxis::XDosage => {
                let xs = self
                    .points
                    .iter()
                    .map(|p| p.x_interval.map_or(p.x, |i| i.1));
                (0.0, xs.fold(3.4, f64::max) + 0.1)
            }
            XAxis::Reported => (-0.5, 2.5),
        }
    }

    fn y_range(&self) -> (f64, f64) {
        let hi = self.points.iter().map(|p| p.y.hi).fold(2.4, f64::max);
        (-0.1, hi + 0.1)
    }
}

/// Half the width a reported-sex column's points spread over.
const COLUMN_HALF_WIDTH: f64 = 0.35;

/// Puts each point in its reported sex's column (0 female, 1 male, 2 not reported), spread evenly
/// across it in sheet order.
fn spread_in_columns(points: &mut [Point]) {
    for (column, reported) in Reported::ALL.into_iter().enumerate() {
        let n = points.iter().filter(|p| p.reported == reported).count();
        let members = points.iter_mut().filter(|p| p.reported == reported);
        for (k, p) in members.enumerate() {
            let offset = if n > 1 {
                -COLUMN_HALF_WIDTH + 2.0 * COLUMN_HALF_WIDTH * k as f64 / (n - 1) as f64
            } else {
                0.0
            };
            p.x = column as f64 + offset;
        }
    }
}

/// Writes the plot of `summaries` to `path` (PNG or SVG by extension).
pub fn write(path: &Path, summaries: &[PredictSummary]) -> Result<()> {
    let plot = DosagePlot::of(summaries);
    if !plot.left_out.is_empty() {
        tracing::warn!(
            "{}: no {} for {} (left out)",
            path.display(),
            match plot.axis {
                XAxis::XDosage => "X and Y dosage",
                XAxis::Reported => "Y dosage (the lr rule gives one)",
            },
            plot.left_out.join(", ")
        );
    }
    figure::render(path, (720, 600), &plot)
}

impl Figure for DosagePlot<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let (x0, x1) = self.x_range();
        let (y0, y1) = self.y_range();
        let title = match self.axis {
            XAxis::XDosage => "Sex chromosomes per sample: X and Y dosage",
            XAxis::Reported => "Y dosage per sample, by reported sex",
        };
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(plot_error)?;
        draw_on(&mut chart, self)?;
        root.present().map_err(plot_error)
    }
}

/// The plot's chart: both axes plain numbers.
type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Axes, the expected positions, the samples and the legend on `chart`.
fn draw_on<'a, DB>(chart: &mut Chart<'a, DB>, plot: &DosagePlot) -> Result<()>
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
{
    // The reported-sex columns are named at their whole x; nothing between them.
    let column_name = |x: &f64| match plot.axis {
        XAxis::XDosage => format!("{x:.1}"),
        XAxis::Reported if (x - x.round()).abs() < 1e-9 && *x >= 0.0 => Reported::ALL
            .get(x.round() as usize)
            .map_or_else(String::new, |r| r.label().to_string()),
        XAxis::Reported => String::new(),
    };
    chart
        .configure_mesh()
        .x_labels(match plot.axis {
            XAxis::XDosage => 10,
            XAxis::Reported => 4,
        })
        .x_label_formatter(&column_name)
        .light_line_style(WHITE)
        .x_desc(plot.axis.label())
        .y_desc("Y dosage (1 = XY, 0 = XX; 95% intervals)")
        .draw()
        .map_err(plot_error)?;
    draw_expected(chart, plot)?;
    draw_samples(chart, plot)?;
    draw_marks(chart, plot)?;
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(plot_error)
}

/// Each reported sex's points (filled when called, hollow when not) with their interval bars.
fn draw_samples<'a, DB>(chart: &mut Chart<'a, DB>, plot: &DosagePlot) -> Result<()>
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
{
    for reported in Reported::ALL {
        let (r, g, b) = reported.rgb();
        let color = RGBColor(r, g, b);
        let group: Vec<&Point> = plot
            .points
            .iter()
            .filter(|p| p.reported == reported)
            .collect();
        if group.is_empty() {
            continue;
        }
        chart
            .draw_series(group.iter().flat_map(|p| interval_bars(p, color)))
            .map_err(plot_error)?;
        chart
            .draw_series(group.iter().map(|p| {
                let style = if p.called {
                    color.filled()
                } else {
                    color.stroke_width(2)
                };
                Circle::new((p.x, p.y.estimate), 5, style)
            }))
            .map_err(plot_error)?
            .label(reported.label())
            .legend(move |(x, y)| Circle::new((x + 9, y), 5, color.filled()));
    }
    Ok(())
}

/// Rings round the mismatches, the legend's entry for hollow points, and the samples' names
/// (beside their points).
fn draw_marks<'a, DB>(chart: &mut Chart<'a, DB>, plot: &DosagePlot) -> Result<()>
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
{
    let ringed = plot.points.iter().filter(|p| p.mismatch);
    let rings = chart
        .draw_series(ringed.map(|p| Circle::new((p.x, p.y.estimate), 9, BLACK.stroke_width(2))))
        .map_err(plot_error)?;
    if plot.points.iter().any(|p| p.mismatch) {
        rings
            .label("call differs from reported sex")
            .legend(|(x, y)| Circle::new((x + 9, y), 7, BLACK.stroke_width(2)));
    }
    if plot.points.iter().any(|p| !p.called) {
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
            .map_err(plot_error)?
            .label("no-call (hollow)")
            .legend(|(x, y)| Circle::new((x + 9, y), 5, BLACK.stroke_width(2)));
    }
    // Names above and below their points in turn, so neighbours' names do not overlap.
    let font = ("sans-serif", 12).into_font().color(&BLACK);
    let named = plot.points.iter().filter(|p| plot.named(p));
    let names = named.enumerate().map(|(i, p)| {
        let offset = if i % 2 == 0 { (8, -16) } else { (8, 4) };
        EmptyElement::at((p.x, p.y.estimate))
            + Text::new(p.sample.to_string(), offset, font.clone())
    });
    chart.draw_series(names).map_err(plot_error)?;
    Ok(())
}

/// A point's 95% intervals as thin bars: Y always, X when the axis is a dosage.
fn interval_bars(p: &Point, color: RGBColor) -> Vec<PathElement<(f64, f64)>> {
    let style = color.mix(0.6).stroke_width(1);
    let mut bars = vec![PathElement::new([(p.x, p.y.lo), (p.x, p.y.hi)], style)];
    if let Some((lo, hi)) = p.x_interval {
        bars.push(PathElement::new(
            [(lo, p.y.estimate), (hi, p.y.estimate)],
            style,
        ));
    }
    bars
}

/// Where each karyotype lies: grey crosses with their names on the X-dosage axis; lines at the XX
/// and XY Y dosages across the reported-sex columns.
fn draw_expected<'a, DB>(chart: &mut Chart<'a, DB>, plot: &DosagePlot) -> Result<()>
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
{
    let grey = RGBColor(150, 150, 150);
    let font = ("sans-serif", 12).into_font().color(&grey);
    match plot.axis {
        XAxis::XDosage => {
            let places = crate::call::karyotype::Karyotype::ALL.map(|k| {
                let (x, y) = k.copies();
                (k.as_str(), x as f64, y as f64)
            });
            chart
                .draw_series(places.iter().map(|&(_, x, y)| Cross::new((x, y), 6, grey)))
                .map_err(plot_error)?;
            chart
                .draw_series(
                    places
                        .iter()
                        .map(|&(name, x, y)| Text::new(name, (x + 0.06, y - 0.06), font.clone())),
                )
                .map_err(plot_error)?;
        }
        XAxis::Reported => {
            let (x0, x1) = plot.x_range();
            for (name, y) in [("XX", 0.0), ("XY", 1.0)] {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        [(x0, y), (x1, y)],
                        grey.stroke_width(1),
                    )))
                    .map_err(plot_error)?;
                chart
                    .draw_series(std::iter::once(Text::new(
                        name,
                        (x0 + 0.02, y + 0.04),
                        font.clone(),
                    )))
                    .map_err(plot_error)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::summary::example;

    fn d(estimate: f64, lo: f64, hi: f64) -> Option<Dosage> {
        Some(Dosage { estimate, lo, hi })
    }

    /// A female, a male reported female (a swap) and a no-call without a reported sex.
    fn cohort(x: bool) -> Vec<PredictSummary> {
        let x = |e: f64| if x { d(e, e - 0.3, e + 0.3) } else { None };
        vec![
            example(
                "F1",
                Some(Sex::Female),
                Call::Female,
                d(0.0, 0.0, 0.01),
                x(2.0),
            ),
            example(
                "M1",
                Some(Sex::Female),
                Call::Male,
                d(1.0, 0.9, 1.1),
                x(1.0),
            ),
            example("U1", None, Call::NoCall, d(0.4, 0.2, 0.6), x(1.5)),
            example("P1", Some(Sex::Male), Call::Male, None, x(1.0)),
        ]
    }

    #[test]
    fn points_carry_dosages_reported_sex_and_mismatches() {
        let summaries = cohort(true);
        let plot = DosagePlot::of(&summaries);
        assert_eq!(plot.axis, XAxis::XDosage);
        assert_eq!(plot.left_out, ["P1"]);
        let m1 = &plot.points[1];
        assert_eq!(
            (m1.sample, m1.x, m1.x_interval),
            ("M1", 1.0, Some((0.7, 1.3)))
        );
        assert_eq!(m1.y.estimate, 1.0);
        assert!(m1.mismatch && m1.called && m1.reported == Reported::Female);
        let u1 = &plot.points[2];
        assert!(!u1.mismatch && !u1.called && u1.reported == Reported::Unknown);
        assert!(!plot.points[0].mismatch);
    }

    #[test]
    fn without_an_x_output_the_x_axis_is_the_reported_sex() {
        let mut summaries = cohort(false);
        summaries.push(example(
            "F2",
            Some(Sex::Female),
            Call::Female,
            d(0.0, 0.0, 0.01),
            None,
        ));
        let plot = DosagePlot::of(&summaries);
        assert_eq!(plot.axis, XAxis::Reported);
        let xs: Vec<(&str, f64)> = plot.points.iter().map(|p| (p.sample, p.x)).collect();
        // Females (F1, the swapped M1, F2) across column 0 in sheet order; U1 alone in column 2.
        assert_eq!(xs, [("F1", -0.35), ("M1", 0.0), ("U1", 2.0), ("F2", 0.35)]);
        assert!(plot.points.iter().all(|p| p.x_interval.is_none()));
    }

    #[test]
    fn both_axes_draw_as_png_and_svg() {
        let dir = tempfile::tempdir().unwrap();
        for x in [true, false] {
            let summaries = cohort(x);
            let svg = dir.path().join(format!("{x}.svg"));
            write(&svg, &summaries).unwrap();
            let text = std::fs::read_to_string(&svg).unwrap();
            // Every plotted sample named (a small cohort), the one without a dosage not.
            for name in ["F1", "M1", "U1", "reported female", "call differs"] {
                assert!(text.contains(name), "{name} missing");
            }
            assert!(!text.contains("P1"));
            let png = dir.path().join(format!("{x}.png"));
            write(&png, &summaries).unwrap();
            assert_eq!(&std::fs::read(&png).unwrap()[1..4], b"PNG");
        }
    }

    #[test]
    fn an_empty_cohort_still_draws() {
        let dir = tempfile::tempdir().unwrap();
        let svg = dir.path().join("empty.svg");
        write(&svg, &[]).unwrap();
        assert!(std::fs::read_to_string(&svg).unwrap().starts_with("<svg"));
    }
}
