//! GENA-LM's BPE without the general machinery: the same ids as the `tokenizers` crate, several
//! times faster on reads.
//!
//! `tokenizers` runs every sequence through its general pipeline: a normalized string with an
//! alignment per character, a regex, a pre-tokenizer, token strings and offsets, then the merge
//! loop. For GENA-LM's `tokenizer.json` (strip, `N{10,}` → `-`, split on `-`, BPE, `[CLS]`/`[SEP]`)
//! all of that reduces to: split the bytes into words at `-` and at runs of ten or more N, merge
//! each word, join, truncate. [`DnaBpe`] does that on plain byte slices.
//!
//! The merge order is `tokenizers`' (`Word::merge_all`, tokenizers 0.23): it pops the smallest
//! (rank, position) from a queue of every adjacent pair with a merge and skips entries whose pair
//! no longer merges into the queued token. When no two merge lines make the same token (checked
//! at load), that is: merge the leftmost pair of the lowest rank, again and again. [`merge_word`]
//! does exactly that without a queue: it keeps each pair's rank at the position of its left
//! symbol (merged-away positions hold `NO_MERGE`) and the minimum of every block of
//! [`BLOCK`] positions, so finding the next merge reads the block minima, and a merge rescans at
//! most three blocks. Profiling a `predict` run showed the queue's pops as most
//! of `tokenizers`' time.
//!
//! It is built only when the `tokenizer.json` has exactly this shape ([`DnaBpe::from_json`]), and
//! it encodes only sequences made of single-character tokens of the vocabulary and `-`, in words
//! of at most [`MAX_WORD`] bases; anything else (other layouts, letters outside the vocabulary,
//! lower case, whitespace, longer words) goes to `tokenizers` itself. Tests compare the two on
//! random, repetitive and real sequences.
//!
//! [`merge_word`]: DnaBpe::merge_word

use std::cell::RefCell;

use serde_json::{json, Value};

/// Marks a byte the fast path does not encode.
const SLOW: u32 = u32::MAX;
/// A run of this many N or more becomes one `-` (the normalizer's `N{10,}`).
const N_RUN: usize = 10;
/// The rank of a pair that does not merge (and of a position merged away).
const NO_MERGE: u32 = u32::MAX;
/// Positions per block minimum. A merge rescans up to three blocks and the next one scans every
/// block's minimum; 8 against 16 is within noise on `benches/input.rs` (`tokenize_reads`, see
/// BENCHMARKS.md), 4 scans too many minima.
const BLOCK: usize = 8;
// A key keeps `position % BLOCK` in its low 4 bits.
const _: () = assert!(BLOCK <= 16);
/// No neighbour.
const NONE: u32 = u32::MAX;
/// The longest word the fast path merges. Finding a merge scans every block's minimum, so a
/// word costs O(n² / BLOCK) against `tokenizers`' O(n log n): far below it on reads, about even
/// on the base model's 3,072-bp chunks (a scratch timing); longer words (a model with chunks of
/// megabases) go to `tokenizers`.
const MAX_WORD: usize = 4096;

/// The BPE merges of a vocabulary whose ids are below 0xFFFF, keyed by the pair of token ids.
struct MergeTable {
    /// `(left << 16 | right) << 32 | rank`, or `EMPTY`: open addressing, one slot read per
    /// probe.
    slots: Vec<u64>,
    shift: u32,
    /// The new token of each merge line, by rank.
    new_ids: Vec<u32>,
}

const EMPTY: u64 = u64::MAX;

impl MergeTable {
    fn with_capacity(n: usize) -> Self {
        let slots = (2 * n.max(8)).next_power_of_two();
        Self {
            slots: vec![EMPTY; slots],
            shift: 64 - slots.trailing_zeros(),
            new_ids: Vec::with_capacity(n),
        }
    }

    #[inline]
    fn key(a: u32, b: u32) -> u64 {
        u64::from(a << 16 | b)
    }

    #[inline]
    fn home(&self, key: u64) -> usize {
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    /// Adds the next merge line, `a b` → `new_id`; a later line for the same pair replaces the
    /// earlier one in the lookup, as in `tokenizers`. `None` when an id is 0xFFFF or more.
    fn push(&mut self, a: u32, b: u32, new_id: u32) -> Option<()> {
        // Below 0xFFFF: a pair of 0xFFFF would read as an empty slot's key.
        if a >= 0xFFFF || b >= 0xFFFF || new_id >= 0xFFFF {
            return None;
        }
        // Ranks below 2²⁸ - 1: a key is `rank << 4 | position % BLOCK`, and `NO_MERGE >> 4` is
        // above every rank.
        let rank = u32::try_from(self.new_ids.len())
            .ok()
            .filter(|&r| r < (1 << 28) - 1)?;
        self.new_ids.push(new_id);
        let key = Self::key(a, b);
        let mask = self.slots.len() - 1;
        let mut i = self.home(key);
        while self.slots[i] != EMPTY && self.slots[i] >> 32 != key {
            i = (i + 1) & mask;
        }
        self.slots[i] = key << 32 | u64::from(rank);
        Some(())
    }

    /// The rank of the merge of `(a, b)`, or `NO_MERGE`.
    #[inline]
    fn rank(&self, a: u32, b: u32) -> u32 {
        let key = Self::key(a, b);
        let mask = self.slots.len() - 1;
        let mut i = self.home(key);
        loop {
            let slot = self.slots[i];
            if slot >> 32 == key {
                return slot as u32;
            }
            if slot == EMPTY {
                return NO_MERGE;
            }
            i = (i + 1) & mask;
        }
    }
}

/// Reused buffers of one thread's merge loop, by position in the word.
#[derive(Default)]
struct Scratch {
    ids: Vec<u32>,
    /// `rank << 4 | position % BLOCK` of the pair that starts at each position, so that the
    /// lowest key of a block is its leftmost pair of the lowest rank; `NO_MERGE` past the end
    /// and where merged away.
    keys: Vec<u32>,
    /// Minimum of `keys` over each block of `BLOCK` positions.
    mins: Vec<u32>,
    prev: Vec<u32>,
    next: Vec<u32>,
}

impl Scratch {
    /// The minimum of block `b`'s keys.
    #[inline]
    fn scan(&self, b: usize) -> u32 {
        let block = &self.keys[b * BLOCK..(b + 1) * BLOCK];
        block.iter().fold(NO_MERGE, |m, &k| m.min(k))
    }

    /// Sets the rank of the pair at `pos`; its block's minimum is rescanned only when the old
    /// key was it and the new one is higher.
    #[inline]
    fn set_rank(&mut self, pos: usize, rank: u32) {
        let key = key(rank, pos);
        let old = std::mem::replace(&mut self.keys[pos], key);
        let b = pos / BLOCK;
        if key <= self.mins[b] {
            self.mins[b] = key;
        } else if old == self.mins[b] {
            self.mins[b] = self.scan(b);
        }
    }

    /// The position of the leftmost pair of the lowest rank, and that rank, if any merges.
    #[inline]
    fn next_merge(&self) -> Option<(usize, u32)> {
        let (mut low, mut at) = (NO_MERGE, 0);
        for (b, &m) in self.mins.iter().enumerate() {
            // Ranks compared, not keys (a key's low bits are its position in its block);
            // strictly lower, so that the leftmost block wins a tie.
            let lower = m >> 4 < low >> 4;
            low = if lower { m } else { low };
            at = if lower { b } else { at };
        }
        (low != NO_MERGE).then(|| (at * BLOCK + (low & 15) as usize, low >> 4))
    }
}

/// The key of a pair of rank `rank` at `pos` (see [`Scratch::keys`]).
#[inline]
fn key(rank: u32, pos: usize) -> u32 {
    match rank {
        NO_MERGE => NO_MERGE,
        r => r << 4 | (pos % BLOCK) as u32,
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// GENA-LM's tokenizer for sequences of vocabulary letters (see the module's doc).
pub(super) struct DnaBpe {
    /// Token id of each byte's one-character token, or `SLOW`.
    byte_id: [u32; 256],
    dash_id: u32,
    cls_id: u32,
    sep_id: u32,
    merges: MergeTable,
    /// Content tokens kept, between `[CLS]` and `[SEP]`.
    max_content: usize,
}

impl DnaBpe {
    /// Builds the fast path from a `tokenizer.json` that has GENA-LM's layout, or `None` when it
    /// differs in anything the fast path does not mirror. `max_len` counts `[CLS]` and `[SEP]`.
    pub(super) fn from_json(bytes: &[u8], max_len: usize) -> Option<Self> {
        let v: Value = serde_json::from_slice(bytes).ok()?;
        let normalizer = json!({"type": "Sequence", "normalizers": [
            {"type": "Strip", "strip_left": true, "strip_right": true},
            {"type": "Replace", "pattern": {"Regex": "N{10,}"}, "content": "-"}]});
        let pre_tokenizer = json!({"type": "Split", "pattern": {"String": "-"},
            "behavior": "Isolated", "invert": false});
        if v["normalizer"] != normalizer || v["pre_tokenizer"] != pre_tokenizer {
            return None;
        }
        let post = &v["post_processor"];
        if post["type"] != "BertProcessing" {
            return None;
        }
        let cls_id = u32::try_from(post["cls"][1].as_u64()?).ok()?;
        let sep_id = u32::try_from(post["sep"][1].as_u64()?).ok()?;
        let model = &v["model"];
        let off = |key: &str| model[key].is_null() || model[key] == false;
        let plain = model["type"] == "BPE"
            && ["dropout", "continuing_subword_prefix", "end_of_word_suffix"]
                .iter()
                .all(|k| model[*k].is_null())
            && ["fuse_unk", "byte_fallback", "ignore_merges"]
                .iter()
                .all(|k| off(k));
        if !plain || max_len < 2 {
            return None;
        }
        let vocab = model["vocab"].as_object()?;
        let id_of = |tok: &str| vocab.get(tok)?.as_u64().and_then(|i| u32::try_from(i).ok());
        let dash_id = id_of("-")?;
        let byte_id = Self::byte_ids(&v, &id_of, dash_id)?;
        let merges = Self::merge_table(model["merges"].as_array()?, &id_of)?;
        Some(Self {
            byte_id,
            dash_id,
            cls_id,
            sep_id,
            merges,
            max_content: max_len - 2,
        })
    }

    /// The one-character tokens the fast path encodes: printable ASCII other than `-`, and only
    /// where no added token is made of such bytes alone (`tokenizers` matches added tokens in
    /// the raw input first). GENA-LM's added `-` is allowed: it splits the input where the
    /// pre-tokenizer would, into the same token.
    fn byte_ids(
        v: &Value,
        id_of: &impl Fn(&str) -> Option<u32>,
        dash_id: u32,
    ) -> Option<[u32; 256]> {
        let mut byte_id = [SLOW; 256];
        for b in b'!'..=b'~' {
            if b != b'-' {
                byte_id[b as usize] = id_of(std::str::from_utf8(&[b]).ok()?).unwrap_or(SLOW);
            }
        }
        let added = v["added_tokens"].as_array()?;
        let hidden = added.iter().any(|t| {
            let content = t["content"].as_str().unwrap_or("");
            let dash = content == "-" && t["id"].as_u64() == Some(dash_id.into());
            let ours = content
                .bytes()
                .all(|b| b == b'-' || byte_id[b as usize] != SLOW);
            !dash && ours
        });
        // Their ids go into 16-bit halves of the merge table's keys.
        let wide = byte_id.iter().any(|&id| id != SLOW && id >= 0xFFFF);
        (!hidden && !wide).then_some(byte_id)
    }

    /// The merge table from the `merges` list (`"a b"` strings or `["a", "b"]` pairs), rank =
    /// line number, as `tokenizers` builds it.
    fn merge_table(lines: &[Value], id_of: &impl Fn(&str) -> Option<u32>) -> Option<MergeTable> {
        let mut table = MergeTable::with_capacity(lines.len());
        for line in lines {
            let (a, b) = match line {
                Value::String(s) => s.split_once(' ')?,
                Value::Array(p) if p.len() == 2 => (p[0].as_str()?, p[1].as_str()?),
                _ => return None,
            };
            let new_id = id_of(&format!("{a}{b}"))?;
            table.push(id_of(a)?, id_of(b)?, new_id)?;
        }
        // Two lines making one token would let `tokenizers`' stale-entry test differ from "the
        // leftmost pair of the lowest rank" (module doc).
        let mut made = vec![false; 1 << 16];
        for &id in &table.new_ids {
            if std::mem::replace(&mut made[id as usize], true) {
                return None;
            }
        }
        Some(table)
    }

    /// `[CLS] ids [SEP]` of `seq`, or `None` when `seq` holds a byte, or a word longer than
    /// [`MAX_WORD`], that the fast path leaves to `tokenizers`.
    pub(super) fn encode(&self, seq: &[u8]) -> Option<Vec<u32>> {
        if seq
            .iter()
            .any(|&b| b != b'-' && self.byte_id[b as usize] == SLOW)
        {
            return None;
        }
        let mut out = Vec::with_capacity(seq.len() / 4 + 2);
        out.push(self.cls_id);
        let limit = self.max_content + 1;
        let merged = SCRATCH.with(|s| {
            let mut s = s.borrow_mut();
            let mut start = 0;
            let mut i = 0;
            while i < seq.len() && out.len() < limit {
                let end = match seq[i] {
                    b'-' => i + 1,
                    b'N' => i + seq[i..].iter().take_while(|&&b| b == b'N').count(),
                    _ => {
                        i += 1;
                        continue;
                    }
                };
                if seq[i] == b'N' && end - i < N_RUN {
                    i = end;
                    continue;
                }
                self.merge_word(&seq[start..i], &mut s, &mut out)?;
                out.push(self.dash_id);
                (start, i) = (end, end);
            }
            if out.len() < limit {
                self.merge_word(&seq[start..], &mut s, &mut out)?;
            }
            Some(())
        });
        merged?;
        out.truncate(limit);
        out.push(self.sep_id);
        Some(out)
    }

    /// Appends the BPE ids of one word (no `-`, no long N run) to `out`: the leftmost pair of the
    /// lowest rank merged until none merges (module doc).
    /// `None`, with nothing appended, for a word longer than [`MAX_WORD`].
    fn merge_word(&self, word: &[u8], s: &mut Scratch, out: &mut Vec<u32>) -> Option<()> {
        let n = word.len();
        if n > MAX_WORD {
            return None;
        }
        if n == 0 {
            return Some(());
        }
        let padded = n.next_multiple_of(BLOCK);
        s.ids.clear();
        s.ids.extend(word.iter().map(|&b| self.byte_id[b as usize]));
        s.keys.clear();
        s.keys.resize(padded, NO_MERGE);
        for pos in 0..n - 1 {
            let rank = self.merges.rank(s.ids[pos], s.ids[pos + 1]);
            s.keys[pos] = key(rank, pos);
        }
        s.prev.clear();
        s.prev.extend((0..n as u32).map(|i| i.wrapping_sub(1)));
        s.next.clear();
        s.next
            .extend((1..=n as u32).map(|i| if i == n as u32 { NONE } else { i }));
        s.mins.clear();
        for b in 0..padded / BLOCK {
            let min = s.scan(b);
            s.mins.push(min);
        }
        while let Some((pos, rank)) = s.next_merge() {
            self.merge_at(s, pos, rank);
        }
        let mut pos = 0;
        while pos != NONE {
            out.push(s.ids[pos as usize]);
            pos = s.next[pos as usize];
        }
        Some(())
    }

    /// Merges the pair at `pos` (rank `rank`) into its token and updates the ranks of the pairs
    /// the new token forms with its neighbours.
    fn merge_at(&self, s: &mut Scratch, pos: usize, rank: u32) {
        let new_id = self.merges.new_ids[rank as usize];
        let right = s.next[pos] as usize;
        let after = s.next[right];
        s.ids[pos] = new_id;
        s.next[pos] = after;
        s.set_rank(right, NO_MERGE);
        let with_after = match after {
            NONE => NO_MERGE,
            a => {
                s.prev[a as usize] = pos as u32;
                self.merges.rank(new_id, s.ids[a as usize])
            }
        };
        s.set_rank(pos, with_after);
        let before = s.prev[pos];
        if before != NONE {
            let with_before = self.merges.rank(s.ids[before as usize], new_id);
            s.set_rank(before as usize, with_before);
        }
    }
}
