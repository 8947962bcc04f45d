//! Block payloads live in large arena segments instead of one heap allocation per
//! block: at 10^8 objects the allocator's per-allocation overhead alone would
//! exceed the whole index budget.
//!
//! A record is `len: u32 LE ‖ children: u32 LE ‖ child list ‖ bytes`, padded to
//! 8 bytes. The child list ([`ChildIds`], 8 bytes per child) holds the arena
//! locations of the block's children and where each child's CID sits in the
//! bytes, written once when the block is linked, so an export walk chases
//! locations instead of hashing CIDs or parsing CBOR; `children == NO_LIST` marks
//! a block without a list. The list comes first so that the walk, which needs
//! only the header and the list, finds both in the record's first cache lines;
//! the bytes are read by whoever copies them out. A location never moves while its record is live, so it doubles as the
//! block's id. Freed records go on an
//! intrusive free list per exact record size (the list link is written into the
//! freed record itself, so free space costs nothing to track); allocation reuses
//! an exact fit before bumping the tail. Chain churn frees and re-creates nodes of
//! the same shapes (HAMT/AMT nodes, messages), so exact fits are common; the
//! benchmark reports reserved vs live bytes after churn. A block larger than a
//! segment gets a dedicated segment that is released when the block is freed.

use std::collections::HashMap;

use super::key::LOC_BITS;
use super::memory::Region;
use crate::ipld::{prefetch, ChildIds};

/// Largest (and default) segment size: a location holds the in-segment offset in
/// 8-byte units in its low 23 bits.
pub const MAX_SEGMENT_BYTES: usize = 64 << 20;
const POS_BITS: u32 = 23;
const MAX_SEGMENTS: usize = 1 << (LOC_BITS - POS_BITS);
const HEADER: usize = 8;
/// Child count meaning "no child list kept".
const NO_LIST: u32 = u32::MAX;
/// How much of a record [`Arena::prefetch`] asks for.
const PREFETCH_BYTES: usize = 192;
/// Free-list terminator (location 0 is valid, so "none" is all ones).
const NO_NEXT: u64 = u64::MAX;

/// The arena cannot address more segments.
#[derive(Debug, Clone, Copy, thiserror::Error, PartialEq, Eq)]
#[error("arena full: {MAX_SEGMENTS} segments in use")]
pub struct ArenaFull;

pub(crate) struct Arena {
    segment_bytes: usize,
    segments: Vec<Option<Region>>,
    /// Segment and offset where the next bump allocation goes.
    tail: Option<(usize, usize)>,
    free: HashMap<usize, u64>,
    free_segments: Vec<usize>,
    reserved: usize,
    live: usize,
    child_ids: usize,
}

fn stride(len: usize) -> usize {
    (HEADER + len).div_ceil(8) * 8
}

/// Record body bytes: data plus packed child ids.
fn body_len(data: usize, children: Option<usize>) -> usize {
    data + children.unwrap_or(0) * ChildIds::WIDTH
}

fn split(loc: u64) -> (usize, usize) {
    (
        (loc >> POS_BITS) as usize,
        ((loc & ((1 << POS_BITS) - 1)) as usize) * 8,
    )
}

fn join(segment: usize, pos: usize) -> u64 {
    (segment as u64) << POS_BITS | (pos / 8) as u64
}

impl Arena {
    /// `segment_bytes` is clamped to `64..=MAX_SEGMENT_BYTES` and rounded to 8.
    pub(crate) fn new(segment_bytes: usize) -> Arena {
        Arena {
            segment_bytes: segment_bytes.clamp(64, MAX_SEGMENT_BYTES) / 8 * 8,
            segments: Vec::new(),
            tail: None,
            free: HashMap::new(),
            free_segments: Vec::new(),
            reserved: 0,
            live: 0,
            child_ids: 0,
        }
    }

    /// Bytes of segments allocated.
    pub(crate) fn reserved_bytes(&self) -> usize {
        self.reserved
    }

    /// Bytes of live records (payload plus headers and padding).
    pub(crate) fn live_bytes(&self) -> usize {
        self.live
    }

    /// Bytes of child ids in live records (part of [`Arena::live_bytes`]).
    pub(crate) fn child_id_bytes(&self) -> usize {
        self.child_ids
    }

    /// True if records totalling `bytes` can certainly be allocated: bump waste at
    /// segment ends is under half a segment per segment used.
    pub(crate) fn has_room_for(&self, bytes: usize) -> bool {
        let in_use = self.segments.len() - self.free_segments.len();
        in_use + 2 * bytes.div_ceil(self.segment_bytes) < MAX_SEGMENTS
    }

    /// Stores `data` with room for `children` child entries (zeroed until
    /// [`Arena::children_mut`] fills them; `None`, or data over
    /// [`ChildIds::MAX_DATA_LEN`], keeps no list).
    pub(crate) fn alloc(&mut self, data: &[u8], children: Option<usize>) -> Result<u64, ArenaFull> {
        let len = u32::try_from(data.len()).map_err(|_| ArenaFull)?;
        let children = children.filter(|_| data.len() <= ChildIds::MAX_DATA_LEN);
        let count = match children {
            None => NO_LIST,
            Some(n) => u32::try_from(n)
                .ok()
                .filter(|n| *n != NO_LIST)
                .ok_or(ArenaFull)?,
        };
        let body = body_len(data.len(), children);
        let size = stride(body);
        let loc = if size > self.segment_bytes {
            let segment = self.new_segment(size)?;
            join(segment, 0)
        } else if let Some(loc) = self.pop_free(size) {
            loc
        } else {
            self.bump(size)?
        };
        let (segment, pos) = split(loc);
        let data_at = pos + HEADER + (body - data.len());
        if let Some(Some(seg)) = self.segments.get_mut(segment) {
            seg[pos..pos + 4].copy_from_slice(&len.to_le_bytes());
            seg[pos + 4..pos + HEADER].copy_from_slice(&count.to_le_bytes());
            seg[pos + HEADER..data_at].fill(0);
            seg[data_at..data_at + data.len()].copy_from_slice(data);
        }
        self.live += size;
        self.child_ids += body - data.len();
        Ok(loc)
    }

    /// Segment, record position, data length and child count (`None`: no list)
    /// of a live record.
    fn header(&self, loc: u64) -> Option<(&[u8], usize, usize, Option<usize>)> {
        let (segment, pos) = split(loc);
        let seg = self.segments.get(segment)?.as_deref()?;
        let h = seg.get(pos..pos + HEADER)?;
        let len = u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize;
        let count = match u32::from_le_bytes([h[4], h[5], h[6], h[7]]) {
            NO_LIST => None,
            n => Some(n as usize),
        };
        Some((seg, pos, len, count))
    }

    /// The bytes stored at `loc` (empty if `loc` is not a live record, which the
    /// index never hands out).
    pub(crate) fn get(&self, loc: u64) -> &[u8] {
        self.record(loc).0
    }

    /// The bytes and packed child ids stored at `loc`.
    #[inline]
    pub(crate) fn record(&self, loc: u64) -> (&[u8], Option<&[u8]>) {
        let Some((seg, pos, len, count)) = self.header(loc) else {
            debug_assert!(false, "dangling arena location");
            return (&[], None);
        };
        let start = pos + HEADER;
        let list = count.unwrap_or(0) * ChildIds::WIDTH;
        let data = seg.get(start + list..start + list + len).unwrap_or(&[]);
        let children = count.and_then(|_| seg.get(start..start + list));
        (data, children)
    }

    /// The child-id area of the record at `loc`, for filling in.
    pub(crate) fn children_mut(&mut self, loc: u64) -> Option<&mut [u8]> {
        let (_, pos, _, count) = self.header(loc)?;
        let (segment, _) = split(loc);
        let start = pos + HEADER;
        let end = start + count? * ChildIds::WIDTH;
        self.segments
            .get_mut(segment)?
            .as_mut()?
            .get_mut(start..end)
    }

    /// Starts loading the first [`PREFETCH_BYTES`] of the record at `loc`:
    /// the whole of a small record (header, child list and bytes), which a walk
    /// reads and copies. Callers ask for a few records at a time, never a
    /// node's whole child list at once: that filled the core's miss buffers,
    /// and the walk stalled on its own prefetches.
    #[inline]
    pub(crate) fn prefetch(&self, loc: u64) {
        let (segment, pos) = split(loc);
        if let Some(Some(seg)) = self.segments.get(segment) {
            let end = seg.len().min(pos + PREFETCH_BYTES);
            if let Some(head) = seg.get(pos..end) {
                for line in head.chunks(64) {
                    prefetch(&line[0]);
                }
                // The last line, when the record does not start on a line.
                if let Some(last) = head.last() {
                    prefetch(last);
                }
            }
        }
    }

    /// One past the largest location an allocation can currently return.
    pub(crate) fn loc_bound(&self) -> u64 {
        join(self.segments.len(), 0)
    }

    pub(crate) fn free(&mut self, loc: u64) {
        let Some((_, _, len, count)) = self.header(loc) else {
            return;
        };
        let size = stride(body_len(len, count));
        let (segment, pos) = split(loc);
        self.live -= size;
        self.child_ids -= body_len(len, count) - len;
        if size > self.segment_bytes {
            if let Some(slot) = self.segments.get_mut(segment) {
                if slot.take().is_some() {
                    self.reserved -= size;
                    self.free_segments.push(segment);
                }
            }
            return;
        }
        self.push_free(segment, pos, size);
    }

    fn push_free(&mut self, segment: usize, pos: usize, size: usize) {
        let next = self.free.get(&size).copied().unwrap_or(NO_NEXT);
        if let Some(Some(seg)) = self.segments.get_mut(segment) {
            seg[pos..pos + 8].copy_from_slice(&next.to_le_bytes());
            self.free.insert(size, join(segment, pos));
        }
    }

    fn pop_free(&mut self, size: usize) -> Option<u64> {
        let head = *self.free.get(&size)?;
        let (segment, pos) = split(head);
        let seg = self.segments.get(segment)?.as_ref()?;
        let mut next = [0u8; 8];
        next.copy_from_slice(&seg[pos..pos + 8]);
        match u64::from_le_bytes(next) {
            NO_NEXT => self.free.remove(&size),
            next => self.free.insert(size, next),
        };
        Some(head)
    }

    fn bump(&mut self, size: usize) -> Result<u64, ArenaFull> {
        if let Some((segment, pos)) = self.tail {
            if pos + size <= self.segment_bytes {
                self.tail = Some((segment, pos + size));
                return Ok(join(segment, pos));
            }
            // Keep the unused end of the full segment as a free record.
            let rest = self.segment_bytes - pos;
            if rest >= 8 {
                self.push_free(segment, pos, rest);
            }
        }
        let segment = self.new_segment(self.segment_bytes)?;
        self.tail = Some((segment, size));
        Ok(join(segment, 0))
    }

    fn new_segment(&mut self, bytes: usize) -> Result<usize, ArenaFull> {
        // Pages are only committed once written.
        let memory = Region::zeroed(bytes);
        self.reserved += bytes;
        if let Some(segment) = self.free_segments.pop() {
            self.segments[segment] = Some(memory);
            return Ok(segment);
        }
        if self.segments.len() >= MAX_SEGMENTS {
            self.reserved -= bytes;
            return Err(ArenaFull);
        }
        self.segments.push(Some(memory));
        Ok(self.segments.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_reuses_and_spills_big_blocks() {
        let mut arena = Arena::new(256);
        let a = arena.alloc(b"hello", None).expect("alloc");
        let big = vec![7u8; 1000];
        let b = arena.alloc(&big, None).expect("alloc");
        let empty = arena.alloc(b"", None).expect("alloc");
        assert_eq!(arena.get(a), b"hello");
        assert_eq!(arena.get(b), &big[..]);
        assert_eq!(arena.get(empty), b"");
        let reserved = arena.reserved_bytes();
        arena.free(b);
        assert_eq!(arena.reserved_bytes(), reserved - stride(1000));
        arena.free(a);
        let c = arena.alloc(b"world", None).expect("alloc");
        assert_eq!(c, a, "exact-size free record is reused");
        assert_eq!(arena.get(c), b"world");
        arena.free(c);
        arena.free(empty);
        assert_eq!(arena.live_bytes(), 0);
    }

    #[test]
    fn child_ids_live_after_the_data() {
        let mut arena = Arena::new(4096);
        let a = arena.alloc(b"abc", Some(2)).expect("alloc");
        assert_eq!(arena.record(a), (&b"abc"[..], Some(&[0u8; 16][..])));
        let ids = arena.children_mut(a).expect("list");
        let child = |id, cid_at| crate::ipld::Child {
            id,
            cid_at,
            leaf: None,
        };
        ChildIds::encode(child(7, 1), &mut ids[..8]);
        ChildIds::encode(child(1 << 37, 2), &mut ids[8..]);
        let (data, children) = arena.record(a);
        assert_eq!(data, b"abc");
        let list = ChildIds::new(children.expect("list"));
        assert_eq!(list.ids().collect::<Vec<_>>(), vec![7, 1 << 37]);
        assert_eq!(list.get(1), Some(child(1 << 37, 2)));
        assert_eq!(arena.child_id_bytes(), 16);
        let empty = arena.alloc(b"", Some(0)).expect("alloc");
        assert_eq!(arena.record(empty), (&b""[..], Some(&[][..])));
        assert!(arena.loc_bound() > a.max(empty));
        arena.free(a);
        arena.free(empty);
        assert_eq!(arena.live_bytes(), 0);
        let again = arena.alloc(&[1; 19], None).expect("alloc");
        assert_eq!(again, a, "same stride reused");
        assert_eq!(arena.record(again), (&[1u8; 19][..], None));
    }

    #[test]
    fn fills_many_segments() {
        let mut arena = Arena::new(64);
        let locs: Vec<_> = (0..100u8)
            .map(|i| arena.alloc(&[i; 20], None).expect("alloc"))
            .collect();
        for (i, loc) in locs.iter().enumerate() {
            assert_eq!(arena.get(*loc), &[i as u8; 20]);
        }
        for loc in locs {
            arena.free(loc);
        }
        assert_eq!(arena.live_bytes(), 0);
    }
}
