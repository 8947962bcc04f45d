//! The store's data behind its lock: digest index, side map for other CID forms,
//! spilled refcounts and the payload arena. Pure bookkeeping, no graph logic.

use ahash::AHashMap as HashMap;
use cid::Cid;

use super::arena::{Arena, ArenaFull};
use super::key::{Key, LinkKind, Word, RC_SPILLED};
use super::table::DigestTable;
use crate::ipld::{Child, ChildIds, GraphNode, LeafLen};

/// One block as the index sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) rc: u64,
    pub(crate) kind: LinkKind,
    /// Arena location: also the block's id in the id graph.
    pub(crate) loc: u64,
}

pub(crate) struct State {
    table: DigestTable,
    others: HashMap<Cid, Word>,
    /// True counts of entries whose inline 24-bit count is saturated.
    spilled: HashMap<Key, u64>,
    pub(crate) arena: Arena,
    payload: u64,
    /// Live pin guards by id, with the (non-identity) CIDs each holds.
    pub(crate) pins: HashMap<u64, Vec<Cid>>,
}

impl State {
    pub(crate) fn new(segment_bytes: usize) -> State {
        State {
            table: DigestTable::default(),
            others: HashMap::default(),
            spilled: HashMap::default(),
            arena: Arena::new(segment_bytes),
            payload: 0,
            pins: HashMap::default(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.table.len() + self.others.len()
    }

    pub(crate) fn payload_bytes(&self) -> u64 {
        self.payload
    }

    fn word(&self, key: &Key) -> Option<Word> {
        match key {
            Key::Digest(d) => self.table.get(d),
            Key::Other(c) => self.others.get(&**c).copied(),
        }
    }

    fn entry_of(&self, key: &Key, word: Word) -> Entry {
        let rc = match word.rc() {
            RC_SPILLED => self.spilled.get(key).copied().unwrap_or(RC_SPILLED),
            rc => rc,
        };
        Entry {
            rc,
            kind: word.kind(),
            loc: word.loc(),
        }
    }

    pub(crate) fn get(&self, key: &Key) -> Option<Entry> {
        self.word(key).map(|w| self.entry_of(key, w))
    }

    pub(crate) fn data(&self, entry: &Entry) -> &[u8] {
        self.arena.get(entry.loc)
    }

    fn put_word(&mut self, key: &Key, word: Word) {
        match key {
            Key::Digest(d) => self.table.insert(*d, word),
            Key::Other(c) => {
                self.others.insert(**c, word);
            }
        }
    }

    fn packed(&mut self, key: &Key, kind: LinkKind, rc: u64, loc: u64) -> Word {
        if rc >= RC_SPILLED {
            self.spilled.insert(key.clone(), rc);
            Word::new(kind, RC_SPILLED, loc)
        } else {
            self.spilled.remove(key);
            Word::new(kind, rc.max(1), loc)
        }
    }

    /// Stores a new block with count `rc` (≥ 1) and no child list.
    #[cfg(test)]
    pub(crate) fn insert(
        &mut self,
        key: &Key,
        kind: LinkKind,
        rc: u64,
        data: &[u8],
    ) -> Result<u64, ArenaFull> {
        let loc = self.alloc_record(data, None)?;
        self.index(key, kind, rc, loc);
        Ok(loc)
    }

    /// Puts a block's bytes in the arena with room for `children` child ids, not
    /// yet findable by key (see [`State::index`]).
    pub(crate) fn alloc_record(
        &mut self,
        data: &[u8],
        children: Option<usize>,
    ) -> Result<u64, ArenaFull> {
        self.arena.alloc(data, children)
    }

    /// Makes the record at `loc` the block `key`, with count `rc` (≥ 1).
    pub(crate) fn index(&mut self, key: &Key, kind: LinkKind, rc: u64, loc: u64) {
        let word = self.packed(key, kind, rc, loc);
        self.put_word(key, word);
        self.payload += self.arena.get(loc).len() as u64;
    }

    /// Writes the child list of the record at `loc`: each child's id, the
    /// offset of its CID in the record's bytes, and, if the child's own list is
    /// empty, its length (every child's record exists by now; it is only read
    /// here).
    pub(crate) fn set_children(
        &mut self,
        loc: u64,
        children: impl IntoIterator<Item = (u64, usize)>,
    ) {
        let children: Vec<Child> = children
            .into_iter()
            .map(|(id, cid_at)| {
                let (data, list) = self.arena.record(id);
                Child {
                    id,
                    cid_at,
                    leaf: list
                        .is_some_and(<[u8]>::is_empty)
                        .then(|| LeafLen::of(data.len())),
                }
            })
            .collect();
        if let Some(area) = self.arena.children_mut(loc) {
            for (out, child) in area.chunks_exact_mut(ChildIds::WIDTH).zip(children) {
                ChildIds::encode(child, out);
            }
        }
    }

    /// The data and child ids of a block by location.
    #[inline]
    pub(crate) fn node(&self, loc: u64) -> GraphNode<'_> {
        let (data, children) = self.arena.record(loc);
        GraphNode {
            data,
            children: children.map(ChildIds::new),
        }
    }

    /// Pulls the index slots of `keys` into cache together (see
    /// [`DigestTable::touch`]).
    pub(crate) fn touch<'k>(&self, keys: impl Iterator<Item = &'k Key>) {
        let mut acc = 0u64;
        for key in keys {
            if let Key::Digest(d) = key {
                acc ^= self.table.touch(d);
            }
        }
        std::hint::black_box(acc);
    }

    /// Adds `delta` to a held block's count with a single index probe, unless the
    /// count would drop to zero (then nothing changes and the caller removes the
    /// block). Returns the entry as it was, or `None` if not held.
    pub(crate) fn bump(&mut self, key: &Key, delta: i64) -> Option<Entry> {
        let slot = match key {
            Key::Digest(d) => self.table.get_mut(d)?,
            Key::Other(c) => &mut self.others.get_mut(&**c)?.0,
        };
        let word = Word(*slot);
        let rc = match word.rc() {
            RC_SPILLED => self.spilled.get(key).copied().unwrap_or(RC_SPILLED),
            rc => rc,
        };
        let before = Entry {
            rc,
            kind: word.kind(),
            loc: word.loc(),
        };
        let new = rc.saturating_add_signed(delta);
        if new == 0 {
            return Some(before);
        }
        if new >= RC_SPILLED {
            self.spilled.insert(key.clone(), new);
            *slot = Word::new(word.kind(), RC_SPILLED, word.loc()).0;
        } else {
            if rc >= RC_SPILLED {
                self.spilled.remove(key);
            }
            *slot = Word::new(word.kind(), new, word.loc()).0;
        }
        Some(before)
    }

    /// Drops a block and frees its payload.
    pub(crate) fn remove(&mut self, key: &Key) -> Option<Entry> {
        let word = match key {
            Key::Digest(d) => self.table.remove(d),
            Key::Other(c) => self.others.remove(&**c),
        }?;
        let entry = self.entry_of(key, word);
        self.spilled.remove(key);
        self.payload -= self.arena.get(entry.loc).len() as u64;
        self.arena.free(entry.loc);
        Some(entry)
    }

    /// Every block with its entry.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Key, Entry)> + '_ {
        let digests = self.table.iter().map(|(d, w)| (Key::Digest(*d), w));
        let others = self
            .others
            .iter()
            .map(|(c, w)| (Key::Other(Box::new(*c)), *w));
        digests.chain(others).map(|(k, w)| {
            let e = self.entry_of(&k, w);
            (k, e)
        })
    }

    /// Index bytes: digest table slots (all capacity), side maps by capacity.
    pub(crate) fn index_bytes(&self) -> usize {
        let other_slot = std::mem::size_of::<(Cid, Word)>() + 1;
        let spill_slot = std::mem::size_of::<(Key, u64)>() + 1;
        self.table.heap_bytes()
            + self.others.capacity() * other_slot
            + self.spilled.capacity() * spill_slot
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipld::block_cid;

    #[test]
    fn counts_beyond_the_inline_width_spill_and_come_back() {
        let mut state = State::new(1024);
        let key = Key::of(&block_cid(b"\x01"));
        state
            .insert(&key, LinkKind::Dag, 1, b"\x01")
            .expect("insert");
        state.bump(&key, RC_SPILLED as i64 + 9);
        assert_eq!(state.get(&key).map(|e| e.rc), Some(RC_SPILLED + 10));
        state.bump(&key, -(RC_SPILLED as i64 + 7));
        assert_eq!(state.get(&key).map(|e| e.rc), Some(3));
        assert!(state.spilled.is_empty());
        assert_eq!(
            state.bump(&key, -3).map(|e| e.rc),
            Some(3),
            "zero is left to remove"
        );
        assert_eq!(state.get(&key).map(|e| e.rc), Some(3));
        state.bump(&key, RC_SPILLED as i64 - 3);
        assert_eq!(state.get(&key).map(|e| e.rc), Some(RC_SPILLED));
        let entry = state.remove(&key).expect("present");
        assert_eq!(entry.rc, RC_SPILLED);
        assert!(state.spilled.is_empty());
        assert_eq!((state.len(), state.payload_bytes()), (0, 0));
    }
}
