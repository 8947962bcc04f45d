//! The digest index: 32-byte blake2b digests → packed [`Word`]s, sized for ~10^8
//! entries at ≤ 48 bytes each including unused capacity.
//!
//! Why not `HashMap`: a 40-byte entry in a power-of-two table sits between 7/16 and
//! 7/8 full, i.e. 47–94 bytes per object, and a resize rehashes everything at once
//! (seconds of stalled ingestion at 10^8). Instead the digest (already uniformly
//! random, so it is its own hash) picks one of [`SHARDS`] small tables, each an
//! *ordered* linear-probing table (Amble–Knuth): entries sorted by hash, so misses
//! stop early and deletion is a backward shift with no tombstones. Each shard grows
//! by only [`GROWTH`] and shards are staggered along the growth curve, which keeps
//! the average fill near 85% whatever the object count, and bounds a resize to one
//! shard (1/1024 of the index).

use super::key::Word;

/// Number of independently growing shards (selected by the digest's first 10 bits).
pub(crate) const SHARDS: usize = 1024;
const GROWTH: f64 = 1.125;
const MAX_LOAD: f64 = 0.9;
const MIN_CAPACITY: f64 = 8.0;
/// Slots past the last home position, so probe runs need no wrap-around.
const TAIL: usize = 24;

#[derive(Clone, Copy)]
struct Slot {
    digest: [u8; 32],
    word: u64,
}

const EMPTY: Slot = Slot {
    digest: [0; 32],
    word: 0,
};

/// Bytes one slot occupies (for memory accounting).
pub(crate) const SLOT_BYTES: usize = std::mem::size_of::<Slot>();

impl Slot {
    fn is_empty(&self) -> bool {
        self.word == 0
    }
}

/// Hash bits independent of the shard selector.
fn hash_of(digest: &[u8; 32]) -> u64 {
    let mut h = [0u8; 8];
    h.copy_from_slice(&digest[8..16]);
    u64::from_be_bytes(h)
}

fn shard_of(digest: &[u8; 32]) -> usize {
    (usize::from(digest[0]) << 2 | usize::from(digest[1] >> 6)) % SHARDS
}

#[derive(Default)]
struct Shard {
    slots: Vec<Slot>,
    /// Home positions are `0..homes`; `slots.len() == homes + TAIL` once allocated.
    homes: usize,
    len: usize,
    level: u32,
}

impl Shard {
    fn home(&self, h: u64) -> usize {
        ((u128::from(h) * self.homes as u128) >> 64) as usize
    }

    /// Index of `digest`, or `Err(position where it would be inserted)`.
    fn find(&self, digest: &[u8; 32]) -> Result<usize, usize> {
        let h = hash_of(digest);
        let mut i = self.home(h);
        while let Some(slot) = self.slots.get(i) {
            if slot.is_empty() {
                return Err(i);
            }
            let sh = hash_of(&slot.digest);
            if sh > h {
                return Err(i);
            }
            if sh == h && slot.digest == *digest {
                return Ok(i);
            }
            i += 1;
        }
        Err(i)
    }

    fn capacity_for(level: u32, stagger: f64) -> usize {
        (MIN_CAPACITY * GROWTH.powf(f64::from(level) + stagger)).ceil() as usize
    }

    /// Inserts a digest known to be absent.
    fn insert(&mut self, digest: [u8; 32], word: u64, stagger: f64) {
        if self.slots.is_empty() || (self.len + 1) as f64 > MAX_LOAD * self.homes as f64 {
            self.grow(stagger);
        }
        loop {
            if let Err(at) = self.find(&digest) {
                let free = self.slots[at.min(self.slots.len())..]
                    .iter()
                    .position(Slot::is_empty)
                    .map(|off| at + off);
                if let Some(free) = free {
                    self.slots.copy_within(at..free, at + 1);
                    self.slots[at] = Slot { digest, word };
                    self.len += 1;
                    return;
                }
            }
            // The probe run reached the end of the tail: rare, fixed by growing.
            self.grow(stagger);
        }
    }

    fn remove_at(&mut self, mut i: usize) {
        // Backward shift: pull displaced successors one step towards their homes.
        while let Some(next) = self.slots.get(i + 1).copied() {
            if next.is_empty() || self.home(hash_of(&next.digest)) > i {
                break;
            }
            self.slots[i] = next;
            i += 1;
        }
        self.slots[i] = EMPTY;
        self.len -= 1;
    }

    fn grow(&mut self, stagger: f64) {
        let mut level = if self.slots.is_empty() {
            self.level
        } else {
            self.level + 1
        };
        loop {
            let homes = Self::capacity_for(level, stagger).max(self.homes + 1);
            if let Some(slots) = self.rebuilt(homes) {
                self.slots = slots;
                self.homes = homes;
                self.level = level;
                return;
            }
            level += 1;
        }
    }

    /// Re-lays the (sorted) entries into `homes` home slots in one linear pass, or
    /// `None` if they would spill past the tail.
    fn rebuilt(&self, homes: usize) -> Option<Vec<Slot>> {
        let mut slots = vec![EMPTY; homes + TAIL];
        let probe = Shard {
            slots: Vec::new(),
            homes,
            len: 0,
            level: 0,
        };
        let mut next_free = 0;
        for slot in self.slots.iter().filter(|s| !s.is_empty()) {
            let at = probe.home(hash_of(&slot.digest)).max(next_free);
            *slots.get_mut(at)? = *slot;
            next_free = at + 1;
        }
        Some(slots)
    }
}

/// Sharded ordered linear-probing map from digest to [`Word`].
pub(crate) struct DigestTable {
    shards: Vec<Shard>,
    len: usize,
}

impl Default for DigestTable {
    fn default() -> Self {
        DigestTable {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
            len: 0,
        }
    }
}

fn stagger(shard: usize) -> f64 {
    shard as f64 / SHARDS as f64
}

impl DigestTable {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn get(&self, digest: &[u8; 32]) -> Option<Word> {
        let shard = &self.shards[shard_of(digest)];
        shard.find(digest).ok().map(|i| Word(shard.slots[i].word))
    }

    /// Reads the home slot of `digest` and returns a value depending on it. Callers
    /// touch a batch of keys before looking them up so the cache misses overlap
    /// instead of being paid one after another (safe-code stand-in for prefetch).
    pub(crate) fn touch(&self, digest: &[u8; 32]) -> u64 {
        let shard = &self.shards[shard_of(digest)];
        let home = shard.home(hash_of(digest));
        shard.slots.get(home).map_or(0, |s| s.word)
    }

    /// The word of a present digest, for in-place update (must stay non-zero).
    pub(crate) fn get_mut(&mut self, digest: &[u8; 32]) -> Option<&mut u64> {
        let shard = &mut self.shards[shard_of(digest)];
        let i = shard.find(digest).ok()?;
        Some(&mut shard.slots[i].word)
    }

    /// Inserts or overwrites.
    pub(crate) fn insert(&mut self, digest: [u8; 32], word: Word) {
        debug_assert!(word.0 != 0);
        let index = shard_of(&digest);
        let shard = &mut self.shards[index];
        if let Ok(i) = shard.find(&digest) {
            shard.slots[i].word = word.0;
            return;
        }
        shard.insert(digest, word.0, stagger(index));
        self.len += 1;
    }

    pub(crate) fn remove(&mut self, digest: &[u8; 32]) -> Option<Word> {
        let shard = &mut self.shards[shard_of(digest)];
        let i = shard.find(digest).ok()?;
        let word = Word(shard.slots[i].word);
        shard.remove_at(i);
        self.len -= 1;
        Some(word)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&[u8; 32], Word)> + '_ {
        self.shards
            .iter()
            .flat_map(|s| s.slots.iter())
            .filter(|s| !s.is_empty())
            .map(|s| (&s.digest, Word(s.word)))
    }

    /// Heap bytes held, counting every allocated slot.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.slots.capacity() * SLOT_BYTES)
            .sum::<usize>()
            + self.shards.capacity() * std::mem::size_of::<Shard>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dag::key::LinkKind;
    use std::collections::HashMap;

    fn digest(n: u64) -> [u8; 32] {
        let cid = crate::ipld::block_cid(&n.to_le_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(cid.hash().digest());
        out
    }

    #[test]
    fn behaves_like_a_map_under_churn() {
        let mut table = DigestTable::default();
        let mut model = HashMap::new();
        for round in 0..6u64 {
            for n in 0..3000u64 {
                let key = n * 7 + round;
                if (key + round) % 3 == 0 {
                    assert_eq!(
                        table.remove(&digest(key)).is_some(),
                        model.remove(&key).is_some()
                    );
                } else {
                    let word = Word::new(LinkKind::Dag, 1 + key % 5, key);
                    table.insert(digest(key), word);
                    model.insert(key, word);
                }
            }
            assert_eq!(table.len(), model.len());
            for (k, w) in &model {
                assert_eq!(table.get(&digest(*k)), Some(*w));
            }
            assert_eq!(table.iter().count(), model.len());
        }
        for k in model.keys() {
            assert!(table.remove(&digest(*k)).is_some());
        }
        assert_eq!(table.len(), 0);
        assert_eq!(table.get(&digest(1)), None);
    }

    #[test]
    fn colliding_hash_bits_are_told_apart() {
        let mut table = DigestTable::default();
        let mut a = [1u8; 32];
        let mut b = [1u8; 32];
        a[31] = 2;
        b[31] = 3;
        table.insert(a, Word::new(LinkKind::Dag, 1, 1));
        table.insert(b, Word::new(LinkKind::Dag, 2, 2));
        assert_eq!(table.get(&a).map(|w| w.rc()), Some(1));
        assert_eq!(table.get(&b).map(|w| w.rc()), Some(2));
        table.remove(&a);
        assert_eq!(table.get(&b).map(|w| w.rc()), Some(2));
        assert_eq!(table.get(&a), None);
    }
}
