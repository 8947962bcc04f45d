//! `join`: rebuild the original snapshot from the parts a manifest lists.
//!
//! Every part is parsed as a CAR (so a stray or damaged file fails loudly), its
//! header must equal the first part's, and sizes and SHA-256s are checked against
//! the manifest before the output is renamed into place.

use std::path::Path;

use sha2::{Digest, Sha256};

use super::manifest::{Manifest, MANIFEST_FILE};
use super::raw::{AtomicFile, CarFile};
use super::PartsError;

/// Join the parts listed in `dir/manifest.json` into `output`.
pub fn join(dir: &Path, output: &Path) -> Result<Manifest, PartsError> {
    let manifest = read_manifest(dir)?;
    let mut out = AtomicFile::create(output)?;
    let mut whole = Sha256::new();
    let mut total = 0u64;
    let mut first_header: Option<Vec<u8>> = None;
    let mut section = Vec::new();

    for entry in &manifest.parts {
        let path = dir.join(&entry.file);
        let mut car = CarFile::open(&path)?;
        let mut sha = Sha256::new();
        sha.update(&car.raw_header);
        let mut size = car.raw_header.len() as u64;
        match &first_header {
            None => {
                out.write_all(&car.raw_header)?;
                whole.update(&car.raw_header);
                total += size;
                first_header = Some(car.raw_header.clone());
            }
            Some(h) if *h != car.raw_header => return Err(PartsError::HeaderMismatch { path }),
            Some(_) => {}
        }
        while car.next_section(&mut section)?.is_some() {
            sha.update(&section);
            whole.update(&section);
            out.write_all(&section)?;
            size += section.len() as u64;
            total += section.len() as u64;
        }
        check(&path, "size", size, entry.size)?;
        check(
            &path,
            "sha256",
            hex::encode(sha.finalize()),
            entry.sha256.clone(),
        )?;
    }
    check(output, "joined size", total, manifest.total_size)?;
    check(
        output,
        "joined sha256",
        hex::encode(whole.finalize()),
        manifest.sha256.clone(),
    )?;
    out.commit()?;
    Ok(manifest)
}

fn check<T: PartialEq + ToString>(
    path: &Path,
    what: &'static str,
    got: T,
    want: T,
) -> Result<(), PartsError> {
    if got == want {
        return Ok(());
    }
    Err(PartsError::Mismatch {
        path: path.to_path_buf(),
        what,
        got: got.to_string(),
        want: want.to_string(),
    })
}

fn read_manifest(dir: &Path) -> Result<Manifest, PartsError> {
    let path = dir.join(MANIFEST_FILE);
    let bad = |reason: String| PartsError::BadManifest {
        path: path.clone(),
        reason,
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            bad("not found; is this a directory written by `fil-fil snapshot split`?".into())
        } else {
            bad(e.to_string())
        }
    })?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    if manifest.parts.is_empty() {
        return Err(bad("lists no parts".into()));
    }
    // Part names come from a file anyone can edit: keep them inside `dir`.
    for part in &manifest.parts {
        let mut comps = Path::new(&part.file).components();
        let plain = matches!(
            (comps.next(), comps.next()),
            (Some(std::path::Component::Normal(_)), None)
        );
        if !plain {
            return Err(bad(format!(
                "part file {:?} is not a plain file name",
                part.file
            )));
        }
    }
    Ok(manifest)
}
