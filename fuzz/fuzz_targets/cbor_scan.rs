//! cbor-gen link scanning over arbitrary bytes: errors are fine, panics and
//! runaway allocation are not. Every reported link must be a parseable CID.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut links = 0usize;
    let _ = fil_fil::ipld::scan_links(data, |cid| {
        links += 1;
        assert!(cid.to_bytes().len() <= 100);
    });
    // A scan visits at most one link per 4 input bytes (tag + header + prefix).
    assert!(links <= data.len());
});
