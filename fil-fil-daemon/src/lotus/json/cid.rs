//! `{"/": "bafy…"}`: the IPLD JSON form of a CID that Lotus uses everywhere.

use cid::Cid;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A CID in Lotus JSON form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CidJson(pub Cid);

#[derive(Serialize, Deserialize)]
struct Link {
    #[serde(rename = "/")]
    slash: String,
}

impl Serialize for CidJson {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Link {
            slash: self.0.to_string(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for CidJson {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let link = Link::deserialize(d)?;
        Cid::try_from(link.slash.as_str())
            .map(CidJson)
            .map_err(|e| serde::de::Error::custom(format!("invalid CID {:?}: {e}", link.slash)))
    }
}

impl From<Cid> for CidJson {
    fn from(c: Cid) -> Self {
        CidJson(c)
    }
}

/// A tipset key: the list of its block CIDs (`[]` or `null` for the empty key).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct TipSetKeyJson(pub Vec<Cid>);

impl Serialize for TipSetKeyJson {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|c| CidJson(*c)))
    }
}

impl<'de> Deserialize<'de> for TipSetKeyJson {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let cids: Option<Vec<CidJson>> = Option::deserialize(d)?;
        Ok(TipSetKeyJson(
            cids.unwrap_or_default().into_iter().map(|c| c.0).collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        let text = r#"{"/":"bafy2bzacecnamqgqmifpluoeldx7zzglxcljo6oja4vrmtj7432rphldpdmm2"}"#;
        let c: CidJson = serde_json::from_str(text).expect("parse");
        assert_eq!(serde_json::to_string(&c).expect("ser"), text);
        assert!(serde_json::from_str::<CidJson>(r#"{"/":"nope"}"#).is_err());
        let k: TipSetKeyJson = serde_json::from_str("null").expect("null key");
        assert!(k.0.is_empty());
    }
}
