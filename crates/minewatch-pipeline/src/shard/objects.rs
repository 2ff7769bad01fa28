//! Where a sharded run keeps what its tasks exchange — the plan, the tile objects and the
//! input-hash records: a folder (shared file system; the default is `OUT/shards`) or a
//! prefix on S3-compatible object storage (`s3://bucket/prefix`), for engines whose tasks
//! share no file system (Kubernetes Indexed Jobs, AWS Batch).
//!
//! Names are relative (`plan.json`, `tiles/t_r0_c0.mwt`, `hashes/….json`). A write is
//! atomic either way: temp file + rename in a folder, a single PUT on object storage (an
//! object appears whole or not at all), so an interrupted task never leaves an object that
//! looks finished.

use crate::error::PipelineError;
use crate::s3::{not_found, S3Bucket};
use object_store::path::Path as ObjPath;
use object_store::{GetOptions, GetRange, PutPayload};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The storage behind a sharded run.
pub enum ShardObjects {
    Dir(PathBuf),
    S3(S3Objects),
}

pub struct S3Objects {
    /// `s3://bucket/prefix`, for messages.
    url: String,
    prefix: String,
    bucket: S3Bucket,
}

impl std::fmt::Debug for ShardObjects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.location())
    }
}

/// The store a resolved config names: `store` is a folder (already resolved against the
/// config's folder) or an `s3://bucket/prefix` URL; none means `default_dir`.
pub fn open(store: Option<&str>, default_dir: &Path) -> Result<ShardObjects, PipelineError> {
    match store {
        None => Ok(ShardObjects::Dir(default_dir.to_path_buf())),
        Some(s) if s.starts_with("s3://") => S3Objects::open(s).map(ShardObjects::S3),
        Some(s) if s.contains("://") => Err(PipelineError::Input(format!(
            "[shards] store = \"{s}\": only folders and s3:// URLs are supported"
        ))),
        Some(s) => Ok(ShardObjects::Dir(PathBuf::from(s))),
    }
}

impl S3Objects {
    fn open(url: &str) -> Result<Self, PipelineError> {
        let rest = url.trim_start_matches("s3://").trim_end_matches('/');
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(PipelineError::Input(format!(
                "[shards] store = \"{url}\": no bucket; write s3://BUCKET/PREFIX"
            )));
        }
        Ok(Self {
            url: format!("s3://{rest}"),
            prefix: prefix.to_string(),
            bucket: S3Bucket::open(bucket, &format!("[shards] store = \"{url}\""))?,
        })
    }

    fn key(&self, name: &str) -> ObjPath {
        if self.prefix.is_empty() {
            ObjPath::from(name)
        } else {
            ObjPath::from(format!("{}/{name}", self.prefix))
        }
    }

    fn error(&self, name: &str, what: &str, e: object_store::Error) -> PipelineError {
        crate::s3::error(&format!("{}/{name}", self.url), what, e)
    }
}

/// A file that exists but cannot be read: perhaps a network file system's hiccup, so a
/// batch engine retries (75).
fn unreadable(path: &Path, e: std::io::Error) -> PipelineError {
    PipelineError::Incomplete(format!("{}: cannot read it ({e}); retry", path.display()))
}

impl ShardObjects {
    /// Where the store is, for messages and summaries.
    pub fn location(&self) -> String {
        match self {
            ShardObjects::Dir(d) => d.display().to_string(),
            ShardObjects::S3(s) => s.url.clone(),
        }
    }

    /// One object's full name, for messages.
    pub fn describe(&self, name: &str) -> String {
        match self {
            ShardObjects::Dir(d) => d.join(name).display().to_string(),
            ShardObjects::S3(s) => format!("{}/{name}", s.url),
        }
    }

    /// A whole object into `buf` (its old contents replaced, its capacity reused); false
    /// when it does not exist.
    pub fn read_into(&self, name: &str, buf: &mut Vec<u8>) -> Result<bool, PipelineError> {
        use std::io::Read;
        buf.clear();
        match self {
            ShardObjects::Dir(d) => {
                let path = d.join(name);
                let mut f = match std::fs::File::open(&path) {
                    Ok(f) => f,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
                    Err(e) => return Err(unreadable(&path, e)),
                };
                let len = f.metadata().map(|m| m.len() as usize).unwrap_or(0);
                buf.reserve(len);
                f.read_to_end(buf).map_err(|e| unreadable(&path, e))?;
                Ok(true)
            }
            ShardObjects::S3(_) => match self.read(name)? {
                Some(b) => {
                    buf.extend_from_slice(&b);
                    Ok(true)
                }
                None => Ok(false),
            },
        }
    }

    /// A whole object; `None` when it does not exist.
    pub fn read(&self, name: &str) -> Result<Option<Vec<u8>>, PipelineError> {
        match self {
            ShardObjects::Dir(d) => match std::fs::read(d.join(name)) {
                Ok(b) => Ok(Some(b)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(unreadable(&d.join(name), e)),
            },
            ShardObjects::S3(s) => {
                let key = s.key(name);
                let got = s.bucket.rt.block_on(async {
                    match s.bucket.store.get(&key).await {
                        Ok(r) => r.bytes().await.map(Some),
                        Err(e) if not_found(&e) => Ok(None),
                        Err(e) => Err(e),
                    }
                });
                got.map(|b| b.map(|b| b.to_vec()))
                    .map_err(|e| s.error(name, "read it", e))
            }
        }
    }

    /// An object's size and its first `want` bytes (fewer if it is shorter); `None` when
    /// it does not exist (or is empty). A store that cannot be asked is an error, never
    /// "not there": that would make finished tiles look missing.
    pub fn head(&self, name: &str, want: u64) -> Result<Option<(u64, Vec<u8>)>, PipelineError> {
        match self {
            ShardObjects::Dir(d) => {
                let path = d.join(name);
                let f = match std::fs::File::open(&path) {
                    Ok(f) => f,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(unreadable(&path, e)),
                };
                let total = f.metadata().map(|m| m.len()).unwrap_or(0);
                let mut b = Vec::new();
                f.take(want)
                    .read_to_end(&mut b)
                    .map_err(|e| unreadable(&path, e))?;
                Ok(Some((total, b)))
            }
            ShardObjects::S3(s) => {
                let key = s.key(name);
                let ranged = s.bucket.rt.block_on(async {
                    let opts = GetOptions {
                        range: Some(GetRange::Bounded(0..want.max(1))),
                        ..Default::default()
                    };
                    let r = s.bucket.store.get_opts(&key, opts).await?;
                    let total = r.meta.size;
                    Ok::<_, object_store::Error>((total, r.bytes().await?.to_vec()))
                });
                match ranged {
                    Ok(got) => Ok(Some(got)),
                    Err(e) if not_found(&e) => Ok(None),
                    // Some S3-compatible servers answer a range with the whole object, or
                    // refuse a range on an empty one: ask for the size, then the bytes.
                    Err(_) => s.bucket.rt.block_on(async {
                        let meta = match s.bucket.store.head(&key).await {
                            Ok(m) => m,
                            Err(e) if not_found(&e) => return Ok(None),
                            Err(e) => return Err(s.error(name, "read it", e)),
                        };
                        if meta.size == 0 {
                            return Ok(None);
                        }
                        let b = s
                            .bucket
                            .store
                            .get_range(&key, 0..want.min(meta.size))
                            .await
                            .map_err(|e| s.error(name, "read it", e))?;
                        Ok(Some((meta.size, b.to_vec())))
                    }),
                }
            }
        }
    }

    /// Bytes `range` of an object (`None` when it is missing or shorter).
    pub fn read_range(
        &self,
        name: &str,
        range: std::ops::Range<u64>,
    ) -> Result<Option<Vec<u8>>, PipelineError> {
        let n = range.end - range.start;
        match self {
            ShardObjects::Dir(d) => {
                use std::io::{Seek, SeekFrom};
                let path = d.join(name);
                let mut f = match std::fs::File::open(&path) {
                    Ok(f) => f,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(unreadable(&path, e)),
                };
                f.seek(SeekFrom::Start(range.start))
                    .map_err(|e| unreadable(&path, e))?;
                let mut b = Vec::new();
                f.take(n)
                    .read_to_end(&mut b)
                    .map_err(|e| unreadable(&path, e))?;
                Ok((b.len() as u64 == n).then_some(b))
            }
            ShardObjects::S3(s) => {
                let key = s.key(name);
                match s
                    .bucket
                    .rt
                    .block_on(s.bucket.store.get_range(&key, range.clone()))
                {
                    Ok(b) => Ok((b.len() as u64 == n).then(|| b.to_vec())),
                    Err(e) if not_found(&e) => Ok(None),
                    // A range past the end of the object: it is shorter than its header says.
                    Err(object_store::Error::Generic { .. }) if n > 0 => {
                        match s.bucket.rt.block_on(s.bucket.store.head(&key)) {
                            Ok(m) if m.size < range.end => Ok(None),
                            _ => Err(PipelineError::Incomplete(format!(
                                "{}/{name}: cannot read bytes {}..{}; retry",
                                s.url, range.start, range.end
                            ))),
                        }
                    }
                    Err(e) => Err(s.error(name, "read it", e)),
                }
            }
        }
    }

    /// Write an object whole, atomically.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<(), PipelineError> {
        match self {
            ShardObjects::Dir(d) => {
                let path = d.join(name);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| PipelineError::Output {
                        path: parent.to_path_buf(),
                        msg: format!("cannot create it: {e}"),
                    })?;
                }
                super::tile::write_atomic(&path, bytes)
            }
            ShardObjects::S3(s) => {
                let key = s.key(name);
                let payload = PutPayload::from(bytes.to_vec());
                s.bucket
                    .rt
                    .block_on(s.bucket.store.put(&key, payload))
                    .map(|_| ())
                    .map_err(|e| s.error(name, "write it", e))
            }
        }
    }

    /// Move an object aside (a damaged tile, so that `missing` lists it again).
    pub fn rename(&self, from: &str, to: &str) -> Result<(), PipelineError> {
        match self {
            ShardObjects::Dir(d) => {
                std::fs::rename(d.join(from), d.join(to)).map_err(|e| PipelineError::Output {
                    path: d.join(from),
                    msg: format!("cannot rename it to {to}: {e}"),
                })
            }
            ShardObjects::S3(s) => s
                .bucket
                .rt
                .block_on(s.bucket.store.rename(&s.key(from), &s.key(to)))
                .map_err(|e| s.error(from, &format!("rename it to {to}"), e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_store_reads_whole_partial_missing_and_unreadable_objects() {
        let d = tempfile::tempdir().unwrap();
        let o = ShardObjects::Dir(d.path().to_path_buf());
        o.write("tiles/a.bin", b"0123456789").unwrap();
        assert_eq!(o.read("tiles/a.bin").unwrap().unwrap(), b"0123456789");
        assert_eq!(o.read("tiles/none.bin").unwrap(), None);
        assert_eq!(
            o.head("tiles/a.bin", 4).unwrap(),
            Some((10, b"0123".to_vec()))
        );
        assert_eq!(o.head("tiles/none.bin", 4).unwrap(), None);
        assert_eq!(
            o.read_range("tiles/a.bin", 2..5).unwrap(),
            Some(b"234".to_vec())
        );
        // Shorter than asked: not there yet (a truncated object), not an error.
        assert_eq!(o.read_range("tiles/a.bin", 8..12).unwrap(), None);
        assert_eq!(o.read_range("tiles/none.bin", 0..1).unwrap(), None);
        // Something that exists but cannot be read (here a folder) is a retryable error,
        // never "missing" or "damaged".
        let e = o.read("tiles").unwrap_err();
        assert!(matches!(e, PipelineError::Incomplete(_)), "{e}");
        assert_eq!(e.engine_exit_code(), 75);
        o.rename("tiles/a.bin", "tiles/a.bin.bad").unwrap();
        assert_eq!(o.read("tiles/a.bin").unwrap(), None);
        assert!(d.path().join("tiles/a.bin.bad").is_file());
        assert_eq!(o.describe("plan.json"), s(&d.path().join("plan.json")));
    }

    fn s(p: &Path) -> String {
        p.display().to_string()
    }
}
