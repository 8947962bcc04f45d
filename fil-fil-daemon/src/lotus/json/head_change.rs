//! `HeadChange`: one element of a `Filecoin.ChainNotify` channel batch.

use serde::{Deserialize, Serialize};

use super::TipSetJson;

/// Kind of head change, as Lotus spells it on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HeadChangeType {
    /// The first message of a channel: the current head.
    Current,
    /// A tipset was applied (became part of the heaviest chain).
    Apply,
    /// A tipset was reverted (left the heaviest chain).
    Revert,
}

/// `{"Type": "apply", "Val": TipSet}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HeadChange {
    /// What happened.
    #[serde(rename = "Type")]
    pub kind: HeadChangeType,
    /// The tipset it happened to.
    pub val: TipSetJson,
}
