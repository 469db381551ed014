//! Input (sequence files and stdin) and output (TSV tables, atomic files).

pub mod input;
pub mod output;
