//! The prefix cache: which prompt blocks the engine still holds, by the
//! chained hash of their tokens (a block's hash covers every token before it,
//! as vLLM's does), least recently used evicted first.

use std::collections::{BTreeMap, HashMap};

/// Chained hashes of the full `block`-token blocks of `tokens`.
pub(crate) fn block_hashes(tokens: &[u32], block: usize) -> Vec<u64> {
    let mut out = Vec::with_capacity(tokens.len() / block.max(1));
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for chunk in tokens.chunks_exact(block.max(1)) {
        for &t in chunk {
            // FNV-1a over the token ids, continuing from the previous block.
            for b in t.to_le_bytes() {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        }
        out.push(h);
    }
    out
}

/// Block hashes held, at most `capacity`.
#[derive(Debug)]
pub(crate) struct PrefixCache {
    capacity: usize,
    tick: u64,
    by_hash: HashMap<u64, u64>,
    by_tick: BTreeMap<u64, u64>,
}

impl PrefixCache {
    pub(crate) fn new(capacity: usize) -> Self {
        PrefixCache {
            capacity,
            tick: 0,
            by_hash: HashMap::new(),
            by_tick: BTreeMap::new(),
        }
    }

    /// How many leading blocks of `hashes` are held.
    pub(crate) fn peek(&self, hashes: &[u64]) -> u64 {
        hashes
            .iter()
            .take_while(|h| self.by_hash.contains_key(h))
            .count() as u64
    }

    /// Mark `hashes` as just used.
    pub(crate) fn touch(&mut self, hashes: &[u64]) {
        for &h in hashes {
            if let Some(old) = self.by_hash.get(&h).copied() {
                self.by_tick.remove(&old);
                self.tick += 1;
                self.by_hash.insert(h, self.tick);
                self.by_tick.insert(self.tick, h);
            }
        }
    }

    /// Hold `hashes` (computed blocks), evicting the least recently used.
    pub(crate) fn insert(&mut self, hashes: &[u64]) {
        for &h in hashes {
            self.tick += 1;
            if let Some(old) = self.by_hash.insert(h, self.tick) {
                self.by_tick.remove(&old);
            }
            self.by_tick.insert(self.tick, h);
        }
        while self.by_hash.len() > self.capacity {
            let Some((_, h)) = self.by_tick.pop_first() else {
                break;
            };
            self.by_hash.remove(&h);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_prefix_hits_block_by_block_and_old_blocks_are_evicted() {
        let a: Vec<u32> = (0..64).collect();
        let mut b = a.clone();
        b[40] = 999; // differs in the third 16-token block
        let (ha, hb) = (block_hashes(&a, 16), block_hashes(&b, 16));
        assert_eq!(ha.len(), 4);
        assert_eq!(ha[..2], hb[..2]);
        assert_ne!(ha[2], hb[2]);
        assert_ne!(ha[3], hb[3], "a block's hash covers the blocks before it");
        let mut c = PrefixCache::new(4);
        assert_eq!(c.peek(&hb), 0);
        c.insert(&ha);
        assert_eq!(c.peek(&hb), 2);
        assert_eq!(c.peek(&ha), 4);
        c.insert(&block_hashes(&[7; 32], 16));
        assert_eq!(c.peek(&ha), 0, "the oldest blocks were evicted");
    }
}
