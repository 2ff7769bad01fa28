//! The sha256 of input files, computed once per file and shared: a run hashes its images
//! for the stage fingerprints, the detect manifest and the run manifest, and a sharded
//! run's merge needs the hashes its shards could compute beside their tiles.
//!
//! Hashes are keyed by canonical path, size and modification time. A hash being computed
//! is shared too: a second caller waits for it instead of reading the file again (a run
//! starts hashing for its fingerprint and its detect stage at the same time). Records
//! made by [`records`] and taken in by [`take_record`] carry hashes between processes
//! (shards → merge, through the shard store); one whose file's size or time changed is ignored. Across
//! runs, the per-user cache of [`crate::hash_cache`] spares rereading unchanged files;
//! [`from_cache`] tells a manifest which hashes came from it.

use crate::error::PipelineError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

type HashKey = (PathBuf, u64, Option<SystemTime>);
/// A hash computed or being computed: `Err` holds why it failed (not kept for later).
type Cell = Arc<OnceLock<Result<String, Failure>>>;

/// Why a hash failed, cloneable for every caller that waited on it.
#[derive(Debug, Clone)]
enum Failure {
    Input(String),
    Internal(String),
    /// A store that did not answer: retry.
    Incomplete(String),
}

static HASHES: Mutex<Option<HashMap<HashKey, Cell>>> = Mutex::new(None);
/// Canonical paths whose hash this process took from the per-user cache.
static CACHED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Whether `path` is something [`sha256`] can hash: a file, or an image on object storage
/// (never a file to `std::fs`, so a plain `is_file` test would drop it from fingerprints
/// and manifests).
pub fn hashable(path: &Path) -> bool {
    path.is_file() || crate::object_image::is_virtual(path)
}

/// Whether the hash this process has for `path` came from the per-user cache
/// ([`crate::hash_cache`]) rather than from reading the file.
pub fn from_cache(path: &Path) -> bool {
    let p = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    CACHED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains(&p)
}

fn key_of(path: &Path) -> std::io::Result<(std::fs::File, HashKey)> {
    let f = std::fs::File::open(path)?;
    let meta = f.metadata()?;
    let key = (
        path.canonicalize().unwrap_or_else(|_| path.to_path_buf()),
        meta.len(),
        meta.modified().ok(),
    );
    Ok((f, key))
}

/// An object's identity (`None` for a file), from one request to the store.
fn object_key(path: &Path) -> Result<Option<HashKey>, PipelineError> {
    Ok(crate::object_image::stat(path)?.map(|(bytes, ns)| {
        let time = ns.map(|ns| SystemTime::UNIX_EPOCH + std::time::Duration::from_nanos(ns as u64));
        (path.to_path_buf(), bytes, time)
    }))
}

/// The identity of a file or an object as it is now; `None` when it cannot be had.
fn current_key(path: &Path) -> Option<HashKey> {
    match object_key(path) {
        Ok(Some(key)) => Some(key),
        Ok(None) => key_of(path).ok().map(|(_, key)| key),
        Err(_) => None,
    }
}

fn cell(key: &HashKey) -> Cell {
    let mut m = HASHES.lock().unwrap_or_else(|p| p.into_inner());
    m.get_or_insert_with(HashMap::new)
        .entry(key.clone())
        .or_default()
        .clone()
}

fn forget(key: &HashKey) {
    let mut m = HASHES.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(m) = m.as_mut() {
        m.remove(key);
    }
}

/// (size, sha256 hex) of `path`; reads it unless this process already has (or is
/// computing) the hash of the file as it is now. `cancel` stops the read between 1 MiB
/// chunks.
pub fn sha256(path: &Path, cancel: &AtomicBool) -> Result<(u64, String), PipelineError> {
    if let Some(key) = object_key(path)? {
        let c = cell(&key);
        let got = c.get_or_init(|| {
            crate::object_image::sha256(path, (key.1, nanos(key.2)), cancel)
                .map(|(_, hex)| hex)
                .map_err(|e| match e {
                    PipelineError::Input(m) => Failure::Input(m),
                    PipelineError::Incomplete(m) => Failure::Incomplete(m),
                    e => Failure::Internal(e.to_string()),
                })
        });
        return settle(&key, got);
    }
    let msg = |e: std::io::Error| format!("{}: cannot read for hashing: {e}", path.display());
    let (mut f, key) = key_of(path).map_err(|e| PipelineError::Input(msg(e)))?;
    let c = cell(&key);
    let got = c.get_or_init(|| {
        let cache = crate::hash_cache::dir();
        let before = f
            .metadata()
            .ok()
            .and_then(|m| crate::hash_cache::Identity::of(&m));
        if let (Some(dir), Some(id)) = (&cache, &before) {
            if let Some(hex) = crate::hash_cache::lookup(dir, &key.0, id) {
                let mut c = CACHED.lock().unwrap_or_else(|e| e.into_inner());
                if !c.contains(&key.0) {
                    c.push(key.0.clone());
                }
                return Ok(hex);
            }
        }
        let started = crate::hash_cache::now_ns();
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut n = 0u64;
        loop {
            if cancel.load(Ordering::Relaxed) {
                return Err(Failure::Internal("hashing cancelled".into()));
            }
            let k = f.read(&mut buf).map_err(|e| Failure::Input(msg(e)))?;
            if k == 0 {
                break;
            }
            n += k as u64;
            h.update(&buf[..k]);
        }
        // A file that changed while it was read has no hash to share.
        if n != key.1 || f.metadata().ok().and_then(|m| m.modified().ok()) != key.2 {
            return Err(Failure::Input(format!(
                "{}: changed while it was being hashed; run again",
                path.display()
            )));
        }
        let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        if let (Some(dir), Some(before)) = (&cache, &before) {
            let after = f
                .metadata()
                .ok()
                .and_then(|m| crate::hash_cache::Identity::of(&m));
            if let Some(after) = after {
                crate::hash_cache::store(dir, &key.0, before, &after, started, &hex);
            }
        }
        Ok(hex)
    });
    settle(&key, got)
}

fn settle(key: &HashKey, got: &Result<String, Failure>) -> Result<(u64, String), PipelineError> {
    match got {
        Ok(hex) => Ok((key.1, hex.clone())),
        Err(e) => {
            // Failures are not remembered: the next caller reads the file again.
            forget(key);
            Err(match e.clone() {
                Failure::Input(m) => PipelineError::Input(m),
                Failure::Internal(m) => PipelineError::Internal(m),
                Failure::Incomplete(m) => PipelineError::Incomplete(m),
            })
        }
    }
}

/// A hash as written between processes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HashRecord {
    pub path: PathBuf,
    pub bytes: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub modified_ns: Option<u128>,
    pub sha256: String,
}

fn nanos(t: Option<SystemTime>) -> Option<u128> {
    t.and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
}

/// What this process knows of `paths`' hashes, as records to hand to another process:
/// (a file name unique to the input, the record's JSON); files not hashed here are skipped.
pub fn records(paths: &[PathBuf]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for p in paths {
        let Some(key) = current_key(p) else { continue };
        let Some(Ok(hex)) = cell(&key).get().cloned() else {
            continue;
        };
        let name = name_of(&key.0);
        let rec = HashRecord {
            path: key.0,
            bytes: key.1,
            modified_ns: nanos(key.2),
            sha256: hex,
        };
        if let Ok(json) = serde_json::to_vec_pretty(&rec) {
            out.push((name, json));
        }
    }
    out
}

/// The name of `path`'s record (from its canonical path), so a reader fetches the records
/// it needs by name instead of listing them.
pub fn record_name(path: &Path) -> Option<String> {
    current_key(path).map(|key| name_of(&key.0))
}

fn name_of(canonical: &Path) -> String {
    let hex: String = Sha256::digest(canonical.to_string_lossy().as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{hex}.json")
}

/// Take in one record if its file is unchanged (same size and time); returns whether it
/// was taken. An unreadable record is no error: the hash is computed.
pub fn take_record(bytes: &[u8]) -> bool {
    let Ok(rec) = serde_json::from_slice::<HashRecord>(bytes) else {
        return false;
    };
    let Some(key) = current_key(&rec.path) else {
        return false;
    };
    if key.1 == rec.bytes && nanos(key.2) == rec.modified_ns && rec.modified_ns.is_some() {
        let _ = cell(&key).set(Ok(rec.sha256));
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_read_per_file_records_carry_over_and_a_change_is_noticed() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.bin");
        std::fs::write(&f, b"abc").unwrap();
        let no = AtomicBool::new(false);
        let (n, h) = sha256(&f, &no).unwrap();
        // sha256("abc"), the FIPS 180-2 example.
        assert_eq!(
            (n, h.as_str()),
            (
                3,
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
            )
        );
        // Remembered: a cancelled reader still gets it without reading.
        let yes = AtomicBool::new(true);
        assert_eq!(sha256(&f, &yes).unwrap().1, h);
        // Records: made, read back as valid for the same file.
        let recs = records(std::slice::from_ref(&f));
        assert_eq!(recs.len(), 1);
        assert_eq!(record_name(&f).as_deref(), Some(recs[0].0.as_str()));
        assert!(take_record(&recs[0].1));
        assert!(!take_record(b"not json"));
        // A record of a file that changed since is not taken.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&f, b"abcd").unwrap();
        assert!(!take_record(&recs[0].1));
        assert_ne!(sha256(&f, &no).unwrap().1, h);
    }
}
