//! Any byte string given to the CAR opener (v1, v2, zstd detection) and block
//! reader must end in blocks or a located error, never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let input = std::io::Cursor::new(data.to_vec());
    if let Ok((_format, reader)) = fil_fil::car::open_car(input) {
        for block in reader.take(10_000) {
            if block.is_err() {
                break;
            }
        }
    }
    // The FRC-0108 metadata decoder sees the first block of every v2 file.
    let _ = fil_fil::snapshot::SnapshotMetadata::decode(data);
});
