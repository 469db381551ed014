//! `genosift embed`: the backbone's [CLS] vector of each record.

use anyhow::Result;

use crate::cli::EmbedArgs;
use crate::embed::{embed, EmbedOptions};
use crate::input::Source;

pub fn run(a: &EmbedArgs) -> Result<()> {
    let threads = crate::config::threads(&a.common.compute);
    let bundle = super::open_model(&a.common)?;
    let opts = EmbedOptions {
        input: Source::from_arg(a.input.as_deref()),
        reading: crate::config::input_options(&a.reads, false, 0),
        output: a.output.clone(),
        threads,
    };
    let n = embed(&bundle, &opts)?;
    tracing::info!("embedded {n} records");
    Ok(())
}
