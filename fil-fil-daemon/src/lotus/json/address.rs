//! Filecoin addresses: chain bytes (protocol byte ‖ payload) ⇄ the `f…`/`t…` strings
//! Lotus JSON uses. ID addresses print their LEB128 id in decimal; secp256k1, actor
//! and BLS addresses print base32(payload ‖ blake2b-32 checksum); delegated (f4)
//! addresses print `f4<namespace>f<base32(subaddress ‖ checksum)>`.

use std::sync::atomic::{AtomicU8, Ordering};

/// Network whose prefix addresses are printed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// Mainnet: `f`.
    Mainnet,
    /// Any test network (calibnet, devnets): `t`.
    Testnet,
}

static NETWORK: AtomicU8 = AtomicU8::new(b't');

impl Network {
    /// Sets the prefix used by [`address_to_string`] process-wide (Lotus does the same
    /// with `address.CurrentNetwork`).
    pub fn set_current(self) {
        NETWORK.store(self.prefix(), Ordering::Relaxed);
    }

    fn prefix(self) -> u8 {
        match self {
            Network::Mainnet => b'f',
            Network::Testnet => b't',
        }
    }
}

/// Why an address could not be converted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AddressError {
    /// Empty or unknown protocol.
    #[error("unknown address protocol in {0:?}")]
    UnknownProtocol(String),
    /// Payload of the wrong length or a malformed number.
    #[error("malformed address {0:?}")]
    Malformed(String),
    /// The checksum does not match.
    #[error("bad checksum in address {0:?}")]
    Checksum(String),
}

const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

fn checksum(bytes: &[u8]) -> [u8; 4] {
    let h = blake2b_simd::Params::new().hash_length(4).hash(bytes);
    let mut out = [0u8; 4];
    out.copy_from_slice(h.as_bytes());
    out
}

fn base32_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in data {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (5 - bits)) & 31) as usize] as char);
    }
    out
}

fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = ALPHABET.iter().position(|&a| a == c)? as u32;
        acc = (acc << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

fn read_leb128(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

fn write_leb128(mut v: u64, out: &mut Vec<u8>) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// Renders address bytes with the current network prefix.
pub fn address_to_string(bytes: &[u8]) -> Result<String, AddressError> {
    let prefix = NETWORK.load(Ordering::Relaxed) as char;
    let malformed = || AddressError::Malformed(hex::encode(bytes));
    let (&protocol, payload) = bytes
        .split_first()
        .ok_or_else(|| AddressError::UnknownProtocol(String::new()))?;
    match protocol {
        0 => {
            let (id, n) = read_leb128(payload).ok_or_else(malformed)?;
            if n != payload.len() {
                return Err(malformed());
            }
            Ok(format!("{prefix}0{id}"))
        }
        1..=3 => {
            let want = if protocol == 3 { 48 } else { 20 };
            if payload.len() != want {
                return Err(malformed());
            }
            let body = [payload, &checksum(bytes)].concat();
            Ok(format!("{prefix}{protocol}{}", base32_encode(&body)))
        }
        4 => {
            let (ns, n) = read_leb128(payload).ok_or_else(malformed)?;
            let sub = &payload[n..];
            let body = [sub, &checksum(bytes)].concat();
            Ok(format!("{prefix}4{ns}f{}", base32_encode(&body)))
        }
        _ => Err(AddressError::UnknownProtocol(hex::encode(bytes))),
    }
}

/// Parses an `f…`/`t…` address string into chain bytes, verifying checksums.
pub fn address_from_string(text: &str) -> Result<Vec<u8>, AddressError> {
    let malformed = || AddressError::Malformed(text.to_owned());
    let rest = text
        .strip_prefix('f')
        .or_else(|| text.strip_prefix('t'))
        .ok_or_else(|| AddressError::UnknownProtocol(text.to_owned()))?;
    let (proto, body) = rest.split_at_checked(1).ok_or_else(malformed)?;
    let mut out = Vec::with_capacity(64);
    match proto {
        "0" => {
            let id: u64 = body.parse().map_err(|_| malformed())?;
            out.push(0);
            write_leb128(id, &mut out);
            return Ok(out);
        }
        "1" | "2" | "3" => {
            let protocol = proto.as_bytes()[0] - b'0';
            let raw = base32_decode(body).ok_or_else(malformed)?;
            let want = if protocol == 3 { 48 } else { 20 };
            if raw.len() != want + 4 {
                return Err(malformed());
            }
            out.push(protocol);
            out.extend_from_slice(&raw[..want]);
            if checksum(&out) != raw[want..] {
                return Err(AddressError::Checksum(text.to_owned()));
            }
        }
        "4" => {
            let (ns, sub) = body.split_once('f').ok_or_else(malformed)?;
            let ns: u64 = ns.parse().map_err(|_| malformed())?;
            let raw = base32_decode(sub).ok_or_else(malformed)?;
            let split = raw.len().checked_sub(4).ok_or_else(malformed)?;
            out.push(4);
            write_leb128(ns, &mut out);
            out.extend_from_slice(&raw[..split]);
            if checksum(&out) != raw[split..] {
                return Err(AddressError::Checksum(text.to_owned()));
            }
        }
        _ => return Err(AddressError::UnknownProtocol(text.to_owned())),
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_addresses() {
        // Mainnet ID and a well-known secp address (Lotus address tests), printed with `t`.
        let id = address_from_string("f01234").expect("id");
        assert_eq!(id, vec![0, 0xd2, 0x09]);
        assert_eq!(address_to_string(&id).expect("render"), "t01234");
        let secp = "t15ihq5ibzwki2b4ep2f46avlkrqzhpqgtga7pdrq";
        let bytes = address_from_string(secp).expect("secp");
        assert_eq!(address_to_string(&bytes).expect("render"), secp);
        let bad = "t15ihq5ibzwki2b4ep2f46avlkrqzhpqgtga7pdra";
        assert!(matches!(
            address_from_string(bad),
            Err(AddressError::Checksum(_))
        ));
        assert!(address_from_string("x0").is_err());
        assert!(address_to_string(&[9, 1]).is_err());
    }
}
