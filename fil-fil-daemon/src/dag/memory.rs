//! Large zeroed memory regions for the store's arena segments and index, backed
//! by transparent huge pages where the kernel offers them. An export walks
//! gigabytes of records and index slots in an order unrelated to where they sit,
//! so nearly every access misses the TLB; with 4 KiB pages (and a hypervisor's
//! nested page tables) each miss is a page walk that costs as much as the cache
//! miss itself. 2 MiB pages cut the walks to a few hundred entries per gigabyte.
//!
//! Linux's default THP mode is `madvise`: a region gets huge pages only when
//! asked, hence `MADV_HUGEPAGE` on every mapping. The advice is a hint; where it
//! (or the mapping) is refused, the region is plain heap memory.

use std::ops::{Deref, DerefMut};

use memmap2::{Advice, MmapMut};

/// Regions below this stay on the heap: a huge page would not fit in them.
const MAPPED_MIN_BYTES: usize = 2 << 20;

/// A zero-initialised byte region, huge-page backed if possible.
pub(crate) enum Region {
    Mapped(MmapMut),
    Heap(Box<[u8]>),
}

impl Region {
    /// `bytes` zeroed bytes; pages are committed only when first written.
    pub(crate) fn zeroed(bytes: usize) -> Region {
        if bytes >= MAPPED_MIN_BYTES {
            if let Ok(map) = MmapMut::map_anon(bytes) {
                #[cfg(target_os = "linux")]
                let _ = map.advise(Advice::HugePage);
                return Region::Mapped(map);
            }
        }
        Region::Heap(vec![0u8; bytes].into_boxed_slice())
    }
}

impl Deref for Region {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Region::Mapped(map) => map,
            Region::Heap(heap) => heap,
        }
    }
}

impl DerefMut for Region {
    fn deref_mut(&mut self) -> &mut [u8] {
        match self {
            Region::Mapped(map) => map,
            Region::Heap(heap) => heap,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_start_zeroed_and_hold_writes() {
        for bytes in [0, 100, MAPPED_MIN_BYTES, 3 * MAPPED_MIN_BYTES + 5] {
            let mut region = Region::zeroed(bytes);
            assert_eq!(region.len(), bytes);
            assert!(region.iter().all(|b| *b == 0));
            if let Some(last) = region.last_mut() {
                *last = 7;
                assert_eq!(region[bytes - 1], 7);
            }
        }
    }
}
