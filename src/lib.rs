//! genosift: call an organism's genetic sex from unaligned reads with GENA-LM and the paper's
//! cross-attention head.
//!
//! Data flows one way through one module per stage:
//! [`io::input`] (records) → [`chunk`] ([`chunk::Chunk`]) → [`group`] ([`group::ChunkGroup`]) →
//! [`tokenize`] ([`tokenize::TokenBatch`]) → [`model`] ([`model::GroupScore`]) → [`call`]
//! ([`call::SampleCall`], the paper's rule) and [`evidence`] ([`evidence::EvidenceCall`], the
//! likelihood ratio) → [`io::output`] (TSV). [`pipeline`] wires them with a reader thread and a
//! bounded channel.

pub mod bundle;
pub mod call;
pub mod chunk;
pub mod cli;
pub mod embed;
pub mod error;
pub mod evidence;
pub mod group;
pub mod io;
pub mod model;
pub mod pipeline;
pub mod progress;
pub mod settings;
pub mod tokenize;
pub mod train;
