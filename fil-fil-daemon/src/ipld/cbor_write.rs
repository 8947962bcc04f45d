//! Minimal CBOR writing for the few blocks we build by hand (snapshot metadata,
//! synthetic chains): canonical (shortest-form) headers, as cbor-gen writes them.

/// Appends a CBOR header of `major` type carrying `value` in its shortest form.
pub fn write_cbor_header(out: &mut Vec<u8>, major: u8, value: u64) {
    let m = major << 5;
    match value {
        0..=23 => out.push(m | value as u8),
        24..=0xff => out.extend([m | 24, value as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend((value as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(m | 26);
            out.extend((value as u32).to_be_bytes());
        }
        _ => {
            out.push(m | 27);
            out.extend(value.to_be_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortest_forms() {
        let enc = |major, v| {
            let mut out = vec![];
            write_cbor_header(&mut out, major, v);
            out
        };
        assert_eq!(enc(0, 23), [0x17]);
        assert_eq!(enc(0, 24), [0x18, 24]);
        assert_eq!(enc(2, 256), [0x59, 1, 0]);
        assert_eq!(enc(4, 65536), [0x9a, 0, 1, 0, 0]);
        assert_eq!(
            enc(0, u64::MAX),
            [0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        );
    }
}
