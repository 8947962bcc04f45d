//! `DagStore::link_in_parts` (bootstrap's bounded-memory link) leaves exactly
//! the blocks and counts one `link_many` would, with or without part of the DAG
//! held already, and a failure leaves the store as it was.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use cid::Cid;
use fil_fil::dag::{DagConfig, DagStore, LinkKind};
use fil_fil::ipld::{block_cid, write_cbor_header};

type Blocks = HashMap<Cid, Vec<u8>>;

/// A dag-cbor block `[tag, links...]`.
fn node(blocks: &mut Blocks, tag: u64, links: &[Cid]) -> Cid {
    let mut out = Vec::new();
    write_cbor_header(&mut out, 4, 1 + links.len() as u64);
    write_cbor_header(&mut out, 0, tag);
    for link in links {
        let raw = link.to_bytes();
        out.extend([0xd8, 0x2a]);
        write_cbor_header(&mut out, 2, raw.len() as u64 + 1);
        out.push(0);
        out.extend(raw);
    }
    let cid = block_cid(&out);
    blocks.insert(cid, out);
    cid
}

/// root → 40 mids → 10 leaves each; every 7th leaf is shared by two mids.
fn wide_dag(blocks: &mut Blocks) -> (Cid, Vec<Cid>) {
    let mut mids = Vec::new();
    for m in 0..40u64 {
        let leaves: Vec<Cid> = (0..10u64)
            .map(|l| {
                let tag = if l % 7 == 0 { 1_000 + l } else { m * 100 + l };
                node(blocks, tag, &[])
            })
            .collect();
        mids.push(node(blocks, 10_000 + m, &leaves));
    }
    (node(blocks, 99_999, &mids), mids)
}

fn store() -> DagStore {
    DagStore::new(DagConfig {
        batch_size: 16,
        max_in_flight: 3,
        ..DagConfig::default()
    })
}

fn entries(store: &DagStore) -> Vec<(Cid, u64, LinkKind)> {
    let mut e = store.entries();
    e.sort_by_key(|x| x.0.to_bytes());
    e
}

#[tokio::test]
async fn parts_end_like_one_link() {
    let mut blocks = Blocks::new();
    let (root, mids) = wide_dag(&mut blocks);
    let roots = [(root, LinkKind::Dag)];
    let whole = store();
    whole.link_many(&roots, &blocks).await.unwrap();

    let parts = store();
    let stats = parts.link_in_parts(&roots, &blocks, 16).await.unwrap();
    assert_eq!(entries(&parts), entries(&whole));
    assert_eq!(stats.fetched as usize, whole.len());
    parts.check_integrity().unwrap();

    // Part of the DAG already held by another root: counts still add up.
    let held = store();
    held.link(mids[3], LinkKind::Dag, &blocks).await.unwrap();
    held.link_in_parts(&roots, &blocks, 16).await.unwrap();
    held.unlink(mids[3]).await.unwrap();
    assert_eq!(entries(&held), entries(&whole));
    held.check_integrity().unwrap();
}

#[tokio::test]
async fn a_failed_part_leaves_the_store_unchanged() {
    let mut blocks = Blocks::new();
    let (root, mids) = wide_dag(&mut blocks);
    let other = node(&mut blocks, 7, &[]);
    let s = store();
    s.link(other, LinkKind::Dag, &blocks).await.unwrap();
    let before = entries(&s);
    // A leaf under the last mid is missing: earlier parts link, then it fails.
    let last_mid = blocks[&mids[39]].clone();
    let missing = *blocks
        .keys()
        .find(|c| {
            let raw = c.to_bytes();
            last_mid.windows(raw.len()).any(|w| w == raw.as_slice())
                && blocks[*c].len() < 10
                && **c != other
        })
        .unwrap();
    blocks.remove(&missing);
    assert!(s
        .link_in_parts(&[(root, LinkKind::Dag)], &blocks, 16)
        .await
        .is_err());
    assert_eq!(entries(&s), before);
    s.check_integrity().unwrap();
}
