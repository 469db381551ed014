//! Progress on stderr: a live line when stderr is a terminal, a log line every
//! [`LOG_EVERY`] otherwise (pipelines keep their logs readable), nothing with `--quiet`.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// Interval between log lines when stderr is not a terminal.
pub const LOG_EVERY: Duration = Duration::from_secs(30);

pub struct Progress {
    bar: Option<ProgressBar>,
    log: bool,
    unit: &'static str,
    start: Instant,
    last_log: Instant,
    bp: u64,
    count: u64,
}

impl Progress {
    pub fn new(unit: &'static str) -> Self {
        // `--quiet` sets the log level to errors only: no progress then.
        let quiet = !tracing::enabled!(tracing::Level::INFO);
        let terminal = std::io::stderr().is_terminal();
        let bar = (!quiet && terminal).then(|| {
            let b = ProgressBar::new_spinner();
            b.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                    .expect("valid template"),
            );
            b.enable_steady_tick(Duration::from_millis(200));
            b
        });
        Self {
            bar,
            log: !quiet && !terminal,
            unit,
            start: Instant::now(),
            last_log: Instant::now(),
            bp: 0,
            count: 0,
        }
    }

    /// `count` items done so far; `bp` more bases processed.
    pub fn tick(&mut self, count: u64, bp: u64) {
        self.count = count;
        self.bp += bp;
        let secs = self.start.elapsed().as_secs_f64().max(1e-9);
        let msg = format!(
            "{} {}, {:.2} Mbp, {:.1} kbp/s",
            self.count,
            self.unit,
            self.bp as f64 / 1e6,
            self.bp as f64 / 1e3 / secs
        );
        if let Some(b) = &self.bar {
            b.set_message(msg);
        } else if self.log && self.last_log.elapsed() >= LOG_EVERY {
            self.last_log = Instant::now();
            tracing::info!("{msg}");
        }
    }

    pub fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}
