//! Lotus JSON encodings (as `lotus_json` in Forest): CIDs as `{"/": "…"}`, bytes as
//! base64 (null when empty, as Go marshals a nil slice), big ints as decimal strings,
//! addresses as `f…`/`t…` strings, PascalCase field names.

mod address;
mod bigint;
mod bytes;
mod cid;
mod head_change;
mod message;
mod tipset;

pub use address::{address_from_string, address_to_string, AddressError, Network};
pub use bigint::{bigint_bytes_to_decimal, decimal_to_bigint_bytes};
pub use bytes::{base64_bytes, base64_bytes_opt};
pub use cid::{CidJson, TipSetKeyJson};
pub use head_change::{HeadChange, HeadChangeType};
pub use message::{ApiMessageJson, MessageJson};
pub use tipset::{BlockHeaderJson, JsonConvertError, SignatureJson, TipSetJson};
