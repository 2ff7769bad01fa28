//! Input images on S3-compatible object storage, for tasks that share no file system
//! (Kubernetes Indexed Jobs, AWS Batch). A user writes `s3://BUCKET/KEY` (or GDAL's own
//! `/vsis3/BUCKET/KEY`); minewatch keeps the GDAL form, so GDAL reads the pixels with
//! ranged requests, and answers what GDAL cannot tell it — does the object exist, its
//! size and time (the plan's identity of an input), its sha256 (the manifests) — through
//! the same S3 client as the shard store, with the same `AWS_*` variables.
//!
//! Other GDAL virtual file systems (`/vsicurl/`, `/vsizip/`, …) are refused: minewatch
//! could read their pixels but not hash them.

use crate::error::PipelineError;
use crate::s3::{not_found, S3Bucket};
use object_store::path::Path as ObjPath;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

const VSIS3: &str = "/vsis3/";

/// The path minewatch works with for what a user wrote: `s3://B/K` becomes `/vsis3/B/K`;
/// anything else is returned as is.
pub fn from_user(p: &Path) -> PathBuf {
    match p.to_str().and_then(|s| s.strip_prefix("s3://")) {
        Some(rest) => PathBuf::from(format!("{VSIS3}{rest}")),
        None => p.to_path_buf(),
    }
}

/// Whether `p` names something GDAL reads through a virtual file system (`/vsi…/`)
/// rather than a file.
pub fn is_virtual(p: &Path) -> bool {
    p.to_str().is_some_and(|s| s.starts_with("/vsi"))
}

/// (bucket, key) of a `/vsis3/` path.
fn split(p: &Path) -> Option<(&str, &str)> {
    let rest = p.to_str()?.strip_prefix(VSIS3)?;
    let (bucket, key) = rest.split_once('/')?;
    (!bucket.is_empty() && !key.is_empty()).then_some((bucket, key))
}

/// The `s3://` URL of a `/vsis3/` path, for messages.
fn url(bucket: &str, key: &str) -> String {
    format!("s3://{bucket}/{key}")
}

/// Refuse a virtual path minewatch cannot hash or stat, naming what it accepts.
pub fn check_supported(p: &Path) -> Result<(), PipelineError> {
    if is_virtual(p) && split(p).is_none() {
        return Err(PipelineError::Input(format!(
            "{}: images on object storage are read as s3://BUCKET/KEY (or /vsis3/BUCKET/KEY); \
             other GDAL virtual file systems cannot be hashed for the manifest — copy the file to a local or shared folder",
            p.display()
        )));
    }
    Ok(())
}

/// An object's size and modification time (ns since the Unix epoch), or `None` when `p`
/// is not an object path. A missing object is an input error naming its URL.
pub fn stat(p: &Path) -> Result<Option<(u64, Option<u128>)>, PipelineError> {
    check_supported(p)?;
    let Some((bucket, key)) = split(p) else {
        return Ok(None);
    };
    let at = url(bucket, key);
    let b = S3Bucket::shared(bucket, &at)?;
    match b.rt.block_on(b.store.head(&ObjPath::from(key))) {
        Ok(m) => {
            let ns = m.last_modified.timestamp_nanos_opt().map(|n| n as u128);
            Ok(Some((m.size, ns)))
        }
        Err(e) if not_found(&e) => Err(PipelineError::Input(format!(
            "{at}: not found (no such object or no such bucket); check the URL — keys are case-sensitive"
        ))),
        Err(e) => Err(crate::s3::error(&at, "read it", e)),
    }
}

/// Bytes read per request while hashing.
const CHUNK: u64 = 8 << 20;

/// (size, sha256 hex) of an object, read in 8 MiB ranged requests; `cancel` stops between
/// them. `expect` is the size a `stat` saw: an object replaced meanwhile is an error.
pub fn sha256(
    p: &Path,
    expect: (u64, Option<u128>),
    cancel: &AtomicBool,
) -> Result<(u64, String), PipelineError> {
    let (bucket, key) = split(p)
        .ok_or_else(|| PipelineError::Internal(format!("{}: not an object path", p.display())))?;
    let at = url(bucket, key);
    let b = S3Bucket::shared(bucket, &at)?;
    let path = ObjPath::from(key);
    let mut h = Sha256::new();
    let mut at_byte = 0u64;
    while at_byte < expect.0 {
        if cancel.load(Ordering::Relaxed) {
            return Err(PipelineError::Internal("hashing cancelled".into()));
        }
        let end = (at_byte + CHUNK).min(expect.0);
        let got =
            b.rt.block_on(b.store.get_range(&path, at_byte..end))
                .map_err(|e| crate::s3::error(&at, "read it for hashing", e))?;
        if got.len() as u64 != end - at_byte {
            return Err(changed(&at));
        }
        h.update(&got);
        at_byte = end;
    }
    if stat(p)? != Some(expect) {
        return Err(changed(&at));
    }
    Ok((
        expect.0,
        h.finalize().iter().map(|b| format!("{b:02x}")).collect(),
    ))
}

fn changed(at: &str) -> PipelineError {
    PipelineError::Input(format!(
        "{at}: changed while it was being hashed; run again"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_paths_are_recognised_and_other_virtual_paths_refused() {
        assert_eq!(
            from_user(Path::new("s3://b/dir/a_20200101.tif")),
            PathBuf::from("/vsis3/b/dir/a_20200101.tif")
        );
        assert_eq!(
            from_user(Path::new("rel/a.tif")),
            PathBuf::from("rel/a.tif")
        );
        assert_eq!(split(Path::new("/vsis3/b/k/x.tif")), Some(("b", "k/x.tif")));
        assert_eq!(split(Path::new("/vsis3/b")), None);
        assert!(is_virtual(Path::new("/vsicurl/http://h/a.tif")));
        assert!(!is_virtual(Path::new("/data/vsis3.tif")));
        assert!(check_supported(Path::new("/vsis3/b/a.tif")).is_ok());
        assert!(check_supported(Path::new("/data/a.tif")).is_ok());
        let e = check_supported(Path::new("/vsicurl/http://h/a.tif")).unwrap_err();
        assert!(e.to_string().contains("s3://BUCKET/KEY"), "{e}");
        // Not an object: no answer, no request.
        assert_eq!(stat(Path::new("/data/a.tif")).unwrap(), None);
    }
}
