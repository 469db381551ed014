//! `--needles`: the chunks with the strongest Y evidence, best first, as FASTA (read names and Y
//! logit in each header).

use std::path::Path;

use anyhow::{Context, Result};

use crate::chunk::Chunk;

/// The chunks with the highest Y logits so far.
pub struct Needles {
    top: usize,
    kept: Vec<Needle>,
}

struct Needle {
    logit: f32,
    /// The group's number; `None` for the final chunks that make no whole group.
    group: Option<u64>,
    index: usize,
    chunk: Chunk,
}

impl Needles {
    /// Keeps the `top` best (0: keeps nothing).
    pub fn new(top: usize) -> Self {
        Self {
            top,
            kept: Vec::new(),
        }
    }

    /// Keeps chunk `index` of `group` if its logit is among the `top` best so far (ties: earlier).
    pub fn offer(&mut self, logit: f32, group: Option<u64>, index: usize, chunk: &Chunk) {
        if self.top == 0 {
            return;
        }
        if self.kept.len() == self.top && logit <= self.kept[self.top - 1].logit {
            return;
        }
        let at = self.kept.partition_point(|k| k.logit >= logit);
        self.kept.insert(
            at,
            Needle {
                logit,
                group,
                index,
                chunk: chunk.clone(),
            },
        );
        self.kept.truncate(self.top);
    }

    /// FASTA: one record per needle, 80 bases a line.
    pub fn write(&self, path: &Path) -> Result<()> {
        let mut out = String::new();
        for (rank, k) in self.kept.iter().enumerate() {
            let group = k.group.map_or("partial".to_string(), |g| g.to_string());
            let names: Vec<&str> = k.chunk.record_names.iter().map(|n| &**n).collect();
            out.push_str(&format!(
                ">needle{} y_logit={:.4} group={} chunk={} records={}\n",
                rank + 1,
                k.logit,
                group,
                k.index,
                names.join(",")
            ));
            for line in k.chunk.seq.chunks(80) {
                out.push_str(std::str::from_utf8(line).unwrap_or(""));
                out.push('\n');
            }
        }
        super::write_atomic(path, out.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))
    }
}
