//! Groups of N consecutive chunks, in input order: group i holds chunks N·i … N·i+N−1.

use crate::chunk::Chunk;

/// N chunks and the group's position in the input, which orders all output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkGroup {
    /// 0-based group number in input order.
    pub seq_no: u64,
    pub chunks: Vec<Chunk>,
}

impl ChunkGroup {
    /// Input bases in the group (separators excluded).
    pub fn bp(&self) -> usize {
        self.chunks.iter().map(|c| c.bp).sum()
    }
}

/// Collects chunks into groups of `n`.
#[derive(Debug)]
pub struct Grouper {
    n: usize,
    next_seq_no: u64,
    pending: Vec<Chunk>,
}

impl Grouper {
    pub fn new(n: usize) -> Self {
        assert!(n > 0, "groups hold at least one chunk");
        Self {
            n,
            next_seq_no: 0,
            pending: Vec::with_capacity(n),
        }
    }

    /// Adds a chunk; returns a group when it completes one.
    pub fn push(&mut self, chunk: Chunk) -> Option<ChunkGroup> {
        self.pending.push(chunk);
        if self.pending.len() < self.n {
            return None;
        }
        let group = ChunkGroup {
            seq_no: self.next_seq_no,
            chunks: std::mem::replace(&mut self.pending, Vec::with_capacity(self.n)),
        };
        self.next_seq_no += 1;
        Some(group)
    }

    /// Chunks left over in an incomplete final group (dropped; reported in the summary).
    pub fn leftover(&self) -> &[Chunk] {
        &self.pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn chunk(i: u64) -> Chunk {
        Chunk {
            seq: vec![b'A'],
            bp: 1,
            first_record: Arc::from(format!("r{i}").as_str()),
            first_offset: 0,
            n_records: 1,
            record_names: vec![Arc::from(format!("r{i}").as_str())],
        }
    }

    #[test]
    fn groups_in_input_order_and_drops_partial() {
        let mut g = Grouper::new(3);
        let groups: Vec<ChunkGroup> = (0..8).filter_map(|i| g.push(chunk(i))).collect();
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[1].seq_no, 1);
        assert_eq!(&*groups[1].chunks[0].first_record, "r3");
        assert_eq!(g.leftover().len(), 2);
    }
}
