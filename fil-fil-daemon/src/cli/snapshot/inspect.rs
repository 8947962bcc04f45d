//! `fil-fil snapshot inspect`: what a snapshot file holds, read in one streaming
//! pass with every block hash-verified.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use serde::Serialize;

use crate::chain::BlockHeader;
use crate::ipld::{CBOR, DAG_CBOR, RAW};
use crate::snapshot::import_into;

/// Arguments of `snapshot inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Snapshot file.
    file: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct Report {
    file: String,
    format: String,
    file_bytes: u64,
    roots: Vec<String>,
    snapshot_version: u64,
    f3_data: Option<String>,
    head: Vec<String>,
    head_height: Option<i64>,
    headers: u64,
    min_height: Option<i64>,
    blocks: u64,
    bytes: u64,
    codecs: BTreeMap<String, u64>,
}

impl InspectArgs {
    pub(super) fn run(self) -> anyhow::Result<()> {
        let mut heights = HashMap::new();
        let summary = import_into(&self.file, |cid, data| {
            // Headers are 16-element CBOR arrays; cheap to spot, cheap to decode.
            if cid.codec() == DAG_CBOR && data.first() == Some(&0x90) {
                if let Ok(header) = BlockHeader::decode(&data) {
                    heights.insert(cid, header.height);
                }
            }
            Ok(())
        })
        .with_context(|| format!("reading {}", self.file.display()))?;
        let file_bytes = std::fs::metadata(&self.file).map(|m| m.len()).unwrap_or(0);
        let report = Report {
            file: self.file.display().to_string(),
            format: summary.format.to_string(),
            file_bytes,
            roots: summary.roots.iter().map(ToString::to_string).collect(),
            snapshot_version: summary.metadata.as_ref().map_or(1, |m| m.version),
            f3_data: summary
                .metadata
                .as_ref()
                .and_then(|m| m.f3_data)
                .map(|c| c.to_string()),
            head: summary
                .head
                .cids()
                .iter()
                .map(ToString::to_string)
                .collect(),
            head_height: summary
                .head
                .cids()
                .first()
                .and_then(|c| heights.get(c))
                .copied(),
            headers: heights.len() as u64,
            min_height: heights.values().min().copied(),
            blocks: summary.blocks,
            bytes: summary.bytes,
            codecs: summary
                .codecs
                .iter()
                .map(|(code, n)| (codec_name(*code), *n))
                .collect(),
        };
        if self.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print_text(&report);
        }
        Ok(())
    }
}

fn codec_name(code: u64) -> String {
    match code {
        DAG_CBOR => "dag-cbor".into(),
        CBOR => "cbor".into(),
        RAW => "raw".into(),
        other => format!("{other:#x}"),
    }
}

fn print_text(r: &Report) {
    println!("file:        {} ({} bytes)", r.file, r.file_bytes);
    println!(
        "format:      {} (snapshot v{})",
        r.format, r.snapshot_version
    );
    println!("roots:       {}", r.roots.join(", "));
    println!("head:        {}", r.head.join(", "));
    match r.head_height {
        Some(h) => println!("head height: {h}"),
        None => println!("head height: unknown (head block not in file)"),
    }
    if let Some(f3) = &r.f3_data {
        println!("f3 data:     {f3}");
    }
    println!(
        "headers:     {} (lowest height {})",
        r.headers,
        r.min_height.map_or("-".into(), |h| h.to_string())
    );
    println!("blocks:      {} ({} payload bytes)", r.blocks, r.bytes);
    for (codec, n) in &r.codecs {
        println!("  {codec:<10} {n}");
    }
}
