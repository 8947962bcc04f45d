//! Block header decoding: arbitrary bytes either fail or decode to a header
//! whose re-encoding decodes to the same header (Lotus CIDs depend on it).
#![no_main]

use fil_fil::chain::BlockHeader;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(header) = BlockHeader::decode(data) {
        let again = BlockHeader::decode(&header.encode()).expect("re-encoded header decodes");
        assert_eq!(header, again);
    }
});
