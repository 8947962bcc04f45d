//! Byte strings as Go's `encoding/json` writes them: standard base64 with padding,
//! and `null` for the nil slice cbor-gen produces when decoding an empty byte string.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Deserializer, Serializer};

/// `#[serde(with = "base64_bytes")]` for `Vec<u8>` fields (empty ⇄ `null`).
pub mod base64_bytes {
    use super::*;

    /// Serializes bytes as base64, empty as `null`.
    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        if bytes.is_empty() {
            s.serialize_none()
        } else {
            s.serialize_str(&STANDARD.encode(bytes))
        }
    }

    /// Accepts a base64 string or `null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        match text {
            None => Ok(Vec::new()),
            Some(t) => STANDARD
                .decode(t.as_bytes())
                .map_err(|e| serde::de::Error::custom(format!("invalid base64: {e}"))),
        }
    }
}

/// `#[serde(with = "base64_bytes_opt")]` for `Option<Vec<u8>>` (always a string when set).
pub mod base64_bytes_opt {
    use super::*;

    /// Serializes `Some` as base64 (even when empty), `None` as `null`.
    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => s.serialize_str(&STANDARD.encode(b)),
            None => s.serialize_none(),
        }
    }

    /// Accepts a base64 string or `null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        text.map(|t| {
            STANDARD
                .decode(t.as_bytes())
                .map_err(|e| serde::de::Error::custom(format!("invalid base64: {e}")))
        })
        .transpose()
    }
}
