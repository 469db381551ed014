//! genosift: call an organism's genetic sex from unaligned reads with GENA-LM and the paper's
//! cross-attention head.
//!
//! Data flows one way through one module per stage:
//! [`input`] (records) → [`chunk`] ([`chunk::Chunk`]) → [`group`] ([`group::ChunkGroup`]) →
//! [`tokenize`] ([`tokenize::TokenBatch`]) → [`score`] ([`model::GroupScore`], per-chunk Y logits)
//! → [`call`] (the paper's [`call::paper::SampleCall`], the likelihood ratio's
//! [`call::lr::EvidenceCall`]) → [`output`] (TSV, FASTA, JSON, MultiQC). [`pipeline`] runs them
//! with a reader thread and a bounded channel; [`commands`] wires one subcommand each, from the
//! flags of [`cli`] validated by [`config`]. [`bundle`] opens a model directory; [`model`] holds
//! every burn line; [`figure`] draws PNG and SVG figures. [`cohort`] and [`experiment`] are the
//! training side: sample sheets, sampling and `simulate`; training, calibration fitting,
//! evaluation and plots.

pub mod atomic;
pub mod bundle;
pub mod call;
pub mod check;
pub mod chunk;
pub mod cli;
pub mod cohort;
pub mod commands;
pub mod config;
pub mod embed;
pub mod error;
pub mod experiment;
pub mod figure;
pub mod group;
pub mod input;
pub mod model;
pub mod output;
pub mod pipeline;
pub mod progress;
pub mod score;
pub mod tokenize;
