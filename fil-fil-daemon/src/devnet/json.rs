//! Converts the devnet's chain values into the Lotus JSON shapes of `lotus::json`.

use crate::ipld::block_cid;
use crate::lotus::json::{
    address_to_string, bigint_bytes_to_decimal, ApiMessageJson, BlockHeaderJson, CidJson,
    HeadChange, HeadChangeType, JsonConvertError, MessageJson, TipSetJson,
};

use super::index::{Change, ChangeKind};
use super::objects::Message;
use super::tipset::Tipset;

/// Why a value could not be rendered (malformed address or big int in a header).
#[derive(Debug, thiserror::Error)]
#[error("rendering Lotus JSON: {0}")]
pub struct RenderError(String);

impl From<JsonConvertError> for RenderError {
    fn from(e: JsonConvertError) -> Self {
        RenderError(e.to_string())
    }
}

/// `{Cids, Blocks, Height}`.
pub fn tipset_json(ts: &Tipset) -> Result<TipSetJson, RenderError> {
    Ok(TipSetJson {
        cids: ts.cids.iter().map(|c| CidJson(*c)).collect(),
        blocks: ts
            .blocks
            .iter()
            .map(BlockHeaderJson::try_from)
            .collect::<Result<_, _>>()?,
        height: ts.height,
    })
}

/// `{Type, Val}`.
pub fn change_json(change: &Change) -> Result<HeadChange, RenderError> {
    Ok(HeadChange {
        kind: match change.kind {
            ChangeKind::Current => HeadChangeType::Current,
            ChangeKind::Revert => HeadChangeType::Revert,
            ChangeKind::Apply => HeadChangeType::Apply,
        },
        val: tipset_json(&change.tipset)?,
    })
}

/// `{Cid, Message}` with the message's own `CID` field.
pub fn message_json(cid: cid::Cid, msg: &Message) -> Result<ApiMessageJson, RenderError> {
    let addr = |b: &[u8]| address_to_string(b).map_err(|e| RenderError(e.to_string()));
    let int = |b: &[u8]| bigint_bytes_to_decimal(b).map_err(RenderError);
    let own = fvm_ipld_encoding::to_vec(msg).map_err(|e| RenderError(e.to_string()))?;
    Ok(ApiMessageJson {
        cid: CidJson(cid),
        message: MessageJson {
            version: msg.version,
            to: addr(&msg.to)?,
            from: addr(&msg.from)?,
            nonce: msg.nonce,
            value: int(&msg.value)?,
            gas_limit: msg.gas_limit,
            gas_fee_cap: int(&msg.gas_fee_cap)?,
            gas_premium: int(&msg.gas_premium)?,
            method: msg.method,
            params: msg.params.clone(),
            cid: CidJson(block_cid(&own)),
        },
    })
}
