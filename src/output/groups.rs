//! `--groups`: one row per complete group, in input order.

use std::path::Path;

use super::{fmt_prob, Table};
use crate::error::OutputError;
use crate::group::ChunkGroup;
use crate::model::GroupScore;

/// Columns of the per-group table.
pub const GROUPS_HEADER: [&str; 9] = [
    "group",
    "n_chunks",
    "bp",
    "p_female",
    "logit",
    "top_chunk",
    "top_attention",
    "top_record",
    "top_offset",
];

/// The per-group table, when asked for.
pub struct GroupsTable(Option<Table>);

impl GroupsTable {
    pub fn create(path: Option<&Path>) -> Result<Self, OutputError> {
        Ok(Self(match path {
            Some(p) => Some(Table::create(Some(p), &GROUPS_HEADER)?),
            None => None,
        }))
    }

    pub fn row(&mut self, group: &ChunkGroup, score: &GroupScore) -> Result<(), OutputError> {
        match self.0.as_mut() {
            Some(t) => t.row(row(group, score)),
            None => Ok(()),
        }
    }

    pub fn finish(self) -> Result<(), OutputError> {
        self.0.map_or(Ok(()), Table::finish)
    }
}

fn row(group: &ChunkGroup, score: &GroupScore) -> Vec<String> {
    let n = group.chunks.len();
    let nq = score.attention.len() / n.max(1);
    // The chunk with the largest attention weight, averaged over the queries.
    let mean_attn: Vec<f32> = (0..n)
        .map(|j| (0..nq).map(|q| score.attention[q * n + j]).sum::<f32>() / nq as f32)
        .collect();
    let (top, top_w) = mean_attn
        .iter()
        .enumerate()
        .fold(
            (0, f32::NEG_INFINITY),
            |acc, (j, &w)| if w > acc.1 { (j, w) } else { acc },
        );
    let chunk = &group.chunks[top];
    vec![
        group.seq_no.to_string(),
        n.to_string(),
        group.bp().to_string(),
        fmt_prob(score.p_female as f64),
        format!("{:.6}", score.logit),
        top.to_string(),
        format!("{top_w:.6}"),
        chunk.first_record.to_string(),
        chunk.first_offset.to_string(),
    ]
}
