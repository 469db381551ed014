//! Figures written as PNG or SVG: the file name picks the format (`.png`: a bitmap, text drawn
//! with the bundled DejaVu Sans; anything else SVG, its text kept as text). A figure is complete or
//! absent: both formats are written beside the target and renamed over it. Used by `evaluate`'s
//! accuracy curves and `predict`'s cohort dosage plot.

use std::path::Path;
use std::sync::Once;

use anyhow::{Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Something drawn on a plotters drawing area, whatever the backend.
pub trait Figure {
    /// Draws the figure on `root` (already white) and presents it.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static;
}

/// A plotters drawing error as an error of this crate.
pub fn plot_error<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow::anyhow!("plot: {e:?}")
}

static FONT: Once = Once::new();

/// Draws `figure` to `path` (PNG or SVG by extension) at `size` pixels.
pub fn render(path: &Path, size: (u32, u32), figure: &impl Figure) -> Result<()> {
    let png = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    // Both backends measure text with this font.
    FONT.call_once(|| {
        // The font is valid (tests draw with it): a failure here would surface as a plot error.
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            include_bytes!("../assets/fonts/DejaVuSans.ttf"),
        );
    });
    if png {
        write_png(path, size, figure)
    } else {
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
            root.fill(&WHITE).map_err(plot_error)?;
            figure.draw(&root)?;
        }
        crate::atomic::write_atomic(path, svg.as_bytes()).map_err(Into::into)
    }
    .with_context(|| format!("cannot write {}", path.display()))
}

/// plotters' PNG encoder writes a file: draw into a temporary PNG beside the target, then rename
/// it.
fn write_png(path: &Path, size: (u32, u32), figure: &impl Figure) -> Result<()> {
    let tmp = tempfile::Builder::new()
        .prefix(".genosift-plot-")
        .suffix(".png")
        .tempfile_in(crate::atomic::parent_dir(path))?;
    {
        let root = BitMapBackend::new(tmp.path(), size).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        figure.draw(&root)?;
    }
    crate::atomic::make_readable(tmp.as_file())?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Dot;

    impl Figure for Dot {
        fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
        where
            DB::ErrorType: 'static,
        {
            root.draw(&Circle::new((10, 10), 4, RED.filled()))
                .map_err(plot_error)?;
            root.draw(&Text::new("dot", (20, 10), ("sans-serif", 12)))
                .map_err(plot_error)?;
            root.present().map_err(plot_error)
        }
    }

    #[test]
    fn png_and_svg_are_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        let png = dir.path().join("a.png");
        render(&png, (40, 30), &Dot).unwrap();
        assert_eq!(&std::fs::read(&png).unwrap()[1..4], b"PNG");
        let svg = dir.path().join("a.svg");
        render(&svg, (40, 30), &Dot).unwrap();
        let text = std::fs::read_to_string(&svg).unwrap();
        assert!(text.starts_with("<svg") && text.contains("dot"));
        // Nothing but the two figures is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn an_unwritable_path_is_an_error_naming_it() {
        let err = render(Path::new("/nonexistent-dir/a.png"), (40, 30), &Dot).unwrap_err();
        assert!(format!("{err:#}").contains("/nonexistent-dir/a.png"));
    }
}
