//! A per-user cache of input sha256s across processes, so a rerun — a run resumed after a
//! crash, the next quarter's run over the same archive, an analyst trying parameters —
//! does not read gigabytes of imagery again only to hash them.
//!
//! An entry is trusted only for the very same file as it was when it was hashed: same
//! canonical path, size, device, inode, modification time and status-change time (ctime,
//! which no user tool can set back; any write, rename over or `touch` moves it). Like
//! git's "racily clean" index entries, a file whose times lie within [`RACY_NS`] of the
//! moment its hash was started is never cached: on file systems with coarse time stamps
//! (FAT, some network mounts: 1–2 s) it could change again without its times moving.
//!
//! Where: `$MINEWATCH_HASH_CACHE` (a folder, or `off`), else
//! `$XDG_CACHE_HOME/minewatch/sha256`, else `~/.cache/minewatch/sha256`. One small JSON
//! file per input path, written atomically; errors only mean the file is hashed again.
//! Entries of files that no longer exist are pruned once the folder holds more than
//! [`PRUNE_ABOVE`] of them.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::Metadata;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The environment variable naming the cache folder, or `off` to hash every time.
pub const ENV: &str = "MINEWATCH_HASH_CACHE";
/// Times this close to the start of hashing (or later) make an entry untrustworthy.
pub const RACY_NS: i128 = 2_000_000_000;
/// Prune stale entries when the folder holds more than this many.
pub const PRUNE_ABOVE: usize = 4096;

/// What identifies a file's content without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub bytes: u64,
    pub dev: u64,
    pub ino: u64,
    pub mtime_ns: i128,
    pub ctime_ns: i128,
}

impl Identity {
    #[cfg(unix)]
    pub fn of(m: &Metadata) -> Option<Self> {
        use std::os::unix::fs::MetadataExt;
        let ns = |s: i64, n: i64| s as i128 * 1_000_000_000 + n as i128;
        Some(Self {
            bytes: m.len(),
            dev: m.dev(),
            ino: m.ino(),
            mtime_ns: ns(m.mtime(), m.mtime_nsec()),
            ctime_ns: ns(m.ctime(), m.ctime_nsec()),
        })
    }

    /// Without inodes and status-change times a file's identity is too weak to skip
    /// reading it.
    #[cfg(not(unix))]
    pub fn of(_: &Metadata) -> Option<Self> {
        None
    }

    /// Changed too close to `hashed_at_ns` (or after it) to be trusted.
    fn racy(&self, hashed_at_ns: i128) -> bool {
        self.mtime_ns > hashed_at_ns - RACY_NS || self.ctime_ns > hashed_at_ns - RACY_NS
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Entry {
    path: PathBuf,
    // Not flattened: serde's flattening cannot carry the i128 times.
    identity: Identity,
    /// When the read that produced the hash began, nanoseconds since the Unix epoch.
    hashed_at_ns: i128,
    sha256: String,
}

/// The cache folder from the environment; `None` when switched off or no home is known.
pub fn dir() -> Option<PathBuf> {
    match std::env::var_os(ENV) {
        Some(v) if v.is_empty() || v == "off" || v == "0" => None,
        Some(v) => Some(PathBuf::from(v)),
        None => std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME")
                    .filter(|v| !v.is_empty())
                    .map(|h| PathBuf::from(h).join(".cache"))
            })
            .map(|c| c.join("minewatch").join("sha256")),
    }
}

pub fn now_ns() -> i128 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128)
}

fn entry_path(dir: &Path, canonical: &Path) -> PathBuf {
    let name: String = Sha256::digest(canonical.as_os_str().as_encoded_bytes())
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    dir.join(format!("{name}.json"))
}

fn read_entry(path: &Path) -> Option<Entry> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The cached sha256 of `canonical`, if it was hashed as the file now is.
pub fn lookup(dir: &Path, canonical: &Path, now: &Identity) -> Option<String> {
    let e = read_entry(&entry_path(dir, canonical))?;
    (e.path == canonical
        && e.identity == *now
        && !now.racy(e.hashed_at_ns)
        && is_sha256_hex(&e.sha256))
    .then_some(e.sha256)
}

/// Remember `sha256` for `canonical`, read from `hashed_at_ns` on while its identity was
/// `before` and is still `after`. Best effort: a failure to write only costs a rehash.
pub fn store(
    dir: &Path,
    canonical: &Path,
    before: &Identity,
    after: &Identity,
    hashed_at_ns: i128,
    sha256: &str,
) {
    if before != after || before.racy(hashed_at_ns) || !is_sha256_hex(sha256) {
        return;
    }
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let entry = Entry {
        path: canonical.to_path_buf(),
        identity: *before,
        hashed_at_ns,
        sha256: sha256.to_string(),
    };
    let Ok(text) = serde_json::to_vec_pretty(&entry) else {
        return;
    };
    let path = entry_path(dir, canonical);
    let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
    if std::fs::write(&tmp, text).is_err() || std::fs::rename(&tmp, &path).is_err() {
        let _ = std::fs::remove_file(&tmp);
        return;
    }
    prune(dir);
}

/// Drop entries whose file is gone or changed, once there are more than [`PRUNE_ABOVE`].
fn prune(dir: &Path) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    if entries.len() <= PRUNE_ABOVE {
        return;
    }
    for p in entries {
        let stale = match read_entry(&p) {
            None => p.extension().is_some_and(|x| x == "json"),
            Some(e) => {
                std::fs::metadata(&e.path)
                    .ok()
                    .and_then(|m| Identity::of(&m))
                    != Some(e.identity)
            }
        };
        if stale {
            let _ = std::fs::remove_file(&p);
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn ident(p: &Path) -> Identity {
        Identity::of(&std::fs::metadata(p).unwrap()).unwrap()
    }

    const HEX: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn an_entry_serves_the_same_file_only() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = tmp.path().join("cache");
        std::fs::write(tmp.path().join("a.tif"), b"abc").unwrap();
        let f = tmp.path().join("a.tif").canonicalize().unwrap();
        let id = ident(&f);
        // Hashed "later" than the racy margin after the file's last change.
        let at = id.ctime_ns.max(id.mtime_ns) + RACY_NS + 1;
        store(&cache, &f, &id, &id, at, HEX);
        assert_eq!(lookup(&cache, &f, &id).as_deref(), Some(HEX));
        // Another path, or the same path with another size, time or inode: no hit.
        assert_eq!(lookup(&cache, &tmp.path().join("b.tif"), &id), None);
        for changed in [
            Identity { bytes: 4, ..id },
            Identity {
                mtime_ns: id.mtime_ns + 1,
                ..id
            },
            Identity {
                ctime_ns: id.ctime_ns + 1,
                ..id
            },
            Identity {
                ino: id.ino + 1,
                ..id
            },
        ] {
            assert_eq!(lookup(&cache, &f, &changed), None, "{changed:?}");
        }
        // Rewritten in place: the real metadata no longer matches.
        std::fs::write(&f, b"abd").unwrap();
        assert_eq!(lookup(&cache, &f, &ident(&f)), None);
    }

    #[test]
    fn racy_or_changed_files_are_not_stored() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = tmp.path().join("cache");
        let f = tmp.path().join("a.tif");
        std::fs::write(&f, b"abc").unwrap();
        let f = f.canonicalize().unwrap();
        let id = ident(&f);
        // Hashing began right after the last change: could change again unseen.
        store(&cache, &f, &id, &id, id.ctime_ns + RACY_NS / 2, HEX);
        assert_eq!(lookup(&cache, &f, &id), None);
        // Changed while it was read.
        let later = id.ctime_ns + 2 * RACY_NS;
        store(&cache, &f, &id, &Identity { bytes: 9, ..id }, later, HEX);
        assert_eq!(lookup(&cache, &f, &id), None);
        // Not a sha256.
        store(&cache, &f, &id, &id, later, "abc");
        assert_eq!(lookup(&cache, &f, &id), None);
    }

    #[test]
    fn stale_entries_are_pruned_past_the_limit() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = tmp.path().join("cache");
        std::fs::create_dir_all(&cache).unwrap();
        let f = tmp.path().join("kept.tif");
        std::fs::write(&f, b"abc").unwrap();
        let f = f.canonicalize().unwrap();
        let id = ident(&f);
        for k in 0..PRUNE_ABOVE {
            let gone = tmp.path().join(format!("gone{k}.tif"));
            let e = Entry {
                path: gone.clone(),
                identity: id,
                hashed_at_ns: 0,
                sha256: HEX.into(),
            };
            std::fs::write(entry_path(&cache, &gone), serde_json::to_vec(&e).unwrap()).unwrap();
        }
        store(&cache, &f, &id, &id, id.ctime_ns + 2 * RACY_NS, HEX);
        let left = std::fs::read_dir(&cache).unwrap().count();
        assert_eq!(left, 1);
        assert_eq!(lookup(&cache, &f, &id).as_deref(), Some(HEX));
    }
}
