//! Thin entry point: parse flags, run, map the result to an exit code (0 ok, 1 error, 2 usage,
//! 3 a sex mismatch with `--fail-on-mismatch`).
//! A closed stdout (`genosift … | head`) ends the run quietly with 0.

use std::process::ExitCode;

use clap::Parser;

use genosift::check::MISMATCH_EXIT_CODE;
use genosift::cli::Cli;
use genosift::commands;
use genosift::error::{OutputError, SexMismatch};

/// mimalloc keeps freed pages for reuse: the model's tensors are allocated and freed many times a
/// second, and the system allocator returns large blocks to the kernel each time (a page fault per
/// 4 KiB on the next use, and TLB shoot-downs that stall the other threads).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(commands::quiet(&cli));
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) if e.downcast_ref::<SexMismatch>().is_some() => {
            eprintln!("genosift: {e}");
            ExitCode::from(MISMATCH_EXIT_CODE)
        }
        Err(e) => {
            eprintln!("genosift: error: {}", one_line(&e));
            ExitCode::from(1)
        }
    }
}

fn init_logging(quiet: bool) {
    let level = if quiet {
        tracing::Level::ERROR
    } else {
        tracing::Level::INFO
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

fn one_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let s = cause.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ").replace('\n', " ")
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<OutputError>(),
            Some(OutputError::BrokenPipe)
        ) || c
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
