//! What a finished stage of `minewatch run` left in its folder, as recorded in
//! `run_state.json`, and whether it is all still there: resume skips a stage only when every
//! file it wrote is present with the size and sha256 it had when the stage finished (a
//! deleted, truncated or edited output makes the stage run again).
//!
//! Hashing every output on each resume would reread gigabytes of chips and GeoPackages, so
//! a file whose identity (size, device, inode, modification and status-change times) is
//! the one recorded is taken as unchanged without reading it, as git does for its index;
//! only a file whose identity moved (copied, touched, rewritten in place) is hashed again.
//! Times within [`crate::hash_cache::RACY_NS`] of the recording are not trusted (coarse
//! file-system clocks could hide a later write).

use crate::error::PipelineError;
use crate::hash_cache::{now_ns, Identity, RACY_NS};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// One output file of a finished stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputFile {
    /// Relative to the stage folder, `/`-separated.
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
    /// Identity when recorded; `None` where the platform has none, or in a package
    /// manifest, which stays free of inode numbers and times (always hashed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Identity>,
}

/// A finished stage as `run_state.json` keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageRecord {
    pub fingerprint: String,
    /// When the outputs were recorded, nanoseconds since the Unix epoch.
    pub recorded_ns: i128,
    pub outputs: Vec<OutputFile>,
    /// The stage's summary (counts) when it ran, so the run manifest of a resumed run
    /// still says what a skipped stage produced. Absent in state files of older versions.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub summary: serde_json::Value,
}

/// What a check of a recorded stage found.
pub enum Check {
    /// Every output is as recorded; the record, with identities of files that were read
    /// again and found unchanged brought up to date (so the next check need not read them).
    Intact(StageRecord),
    /// Why the stage must run again, naming the file.
    Changed(String),
}

/// Record every file in `dir` (hidden entries, such as staging folders of other runs,
/// excluded) after its stage finished.
pub fn record(dir: &Path, fingerprint: &str) -> Result<StageRecord, PipelineError> {
    let recorded_ns = now_ns();
    let mut files = Vec::new();
    list(dir, dir, &mut files).map_err(|e| PipelineError::Output {
        path: dir.to_path_buf(),
        msg: format!("cannot list the stage's outputs: {e}"),
    })?;
    let outputs = files
        .par_iter()
        .map(|rel| {
            let p = dir.join(rel);
            let before = meta(&p)?;
            let (bytes, sha256) = sha256(&p)?;
            Ok(OutputFile {
                path: rel.clone(),
                bytes,
                sha256,
                identity: Identity::of(&before),
            })
        })
        .collect::<Result<Vec<_>, PipelineError>>()?;
    Ok(StageRecord {
        fingerprint: fingerprint.to_string(),
        recorded_ns,
        outputs,
        summary: serde_json::Value::Null,
    })
}

/// Outputs `rec` lists that are still in `dir` but no longer as the stage wrote them: a
/// user's edits (a county filling its form in place), which a re-run must not overwrite.
pub fn edited(dir: &Path, rec: &StageRecord) -> Vec<String> {
    rec.outputs
        .par_iter()
        .filter(|o| {
            let p = dir.join(&o.path);
            let Ok(m) = std::fs::metadata(&p) else {
                return false;
            };
            if !m.is_file() {
                return false;
            }
            if m.len() != o.bytes {
                return true;
            }
            // Same identity as recorded: untouched (the check above reads it otherwise).
            if Identity::of(&m).is_some() && Identity::of(&m) == o.identity {
                return false;
            }
            sha256(&p).is_ok_and(|(_, sha)| sha != o.sha256)
        })
        .map(|o| o.path.clone())
        .collect()
}

/// Files in `dir` (hidden entries excluded) that the stage did not write: added since it
/// finished (a county's photos beside its package), `/`-separated and relative to `dir`.
pub fn added(dir: &Path, rec: &StageRecord) -> Vec<String> {
    let mut files = Vec::new();
    if list(dir, dir, &mut files).is_err() {
        return Vec::new();
    }
    let known: std::collections::BTreeSet<&str> =
        rec.outputs.iter().map(|o| o.path.as_str()).collect();
    files.retain(|f| !known.contains(f.as_str()));
    files
}

/// A file [`keep_edits`] moved aside.
#[derive(Debug, Clone)]
pub struct KeptFile {
    /// Relative to the folder it was in, `/`-separated.
    pub rel: String,
    /// Edited since it was written (else: not written by the stage).
    pub edited: bool,
    /// Where it is now.
    pub to: PathBuf,
}

/// Move the outputs `rec` lists that were edited since they were written (in `dir`), and
/// with `added_too` the files in `dir` that `rec` does not list, to `kept/REL` (a free
/// name: `.1`, `.2` … appended), so that writing the folder again destroys no user's work
/// (a county's form filled in place, its photos beside it). `who` names the writer for the
/// error of a file that cannot be moved (`the package stage`).
pub fn keep_edits(
    dir: &Path,
    rec: &StageRecord,
    kept: &Path,
    added_too: bool,
    who: &str,
) -> Result<Vec<KeptFile>, PipelineError> {
    let edited = edited(dir, rec);
    let added = if added_too {
        added(dir, rec)
    } else {
        Vec::new()
    };
    let mut moved = Vec::new();
    for (rel, was_edited) in edited
        .into_iter()
        .map(|r| (r, true))
        .chain(added.into_iter().map(|r| (r, false)))
    {
        let base = kept.join(&rel);
        let mut dest = base.clone();
        let mut n = 0;
        while dest.exists() {
            n += 1;
            dest = PathBuf::from(format!("{}.{n}", base.display()));
        }
        dest.parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|_| std::fs::rename(dir.join(&rel), &dest))
            .map_err(|e| PipelineError::Output {
                path: dir.join(&rel),
                msg: format!(
                    "{} since {who} wrote its folder, and it cannot be kept at {} before it is written again: {e}",
                    if was_edited { "edited" } else { "added" },
                    dest.display()
                ),
            })?;
        moved.push(KeptFile {
            rel,
            edited: was_edited,
            to: dest,
        });
    }
    Ok(moved)
}

/// Whether the outputs `rec` lists are still in `dir` as they were.
pub fn check(dir: &Path, rec: &StageRecord) -> Result<Check, PipelineError> {
    if rec.outputs.is_empty() {
        return Ok(Check::Changed("no outputs were recorded".into()));
    }
    // Every output is vouched for as of now: trusted ones were unchanged since an earlier
    // check, the others are read below. Recording this time lets the next resume trust
    // files whose times were too close to the first recording (the rename that published
    // them sets their ctime) instead of reading them again on every resume.
    let checked_ns = now_ns();
    let found = rec
        .outputs
        .par_iter()
        .map(|o| -> Result<Result<OutputFile, String>, PipelineError> {
            let p = dir.join(&o.path);
            let Ok(m) = std::fs::metadata(&p) else {
                return Ok(Err(format!("{} is missing", o.path)));
            };
            if !m.is_file() || m.len() != o.bytes {
                return Ok(Err(format!(
                    "{} has {} bytes, {} when the stage finished",
                    o.path,
                    m.len(),
                    o.bytes
                )));
            }
            let now = Identity::of(&m);
            let trusted = now.is_some_and(|id| {
                Some(id) == o.identity
                    && id.mtime_ns <= rec.recorded_ns - RACY_NS
                    && id.ctime_ns <= rec.recorded_ns - RACY_NS
            });
            if trusted {
                return Ok(Ok(o.clone()));
            }
            let Ok((_, sha)) = sha256(&p) else {
                return Ok(Err(format!("{} cannot be read", o.path)));
            };
            if sha != o.sha256 {
                return Ok(Err(format!("{} changed since the stage finished", o.path)));
            }
            Ok(Ok(OutputFile {
                identity: now,
                ..o.clone()
            }))
        })
        .collect::<Result<Vec<_>, PipelineError>>()?;
    let mut outputs = Vec::with_capacity(found.len());
    for f in found {
        match f {
            Ok(o) => outputs.push(o),
            Err(why) => return Ok(Check::Changed(why)),
        }
    }
    Ok(Check::Intact(StageRecord {
        outputs,
        recorded_ns: checked_ns,
        ..rec.clone()
    }))
}

fn list(root: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for p in entries {
        if p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        {
            continue;
        }
        if p.is_dir() {
            list(root, &p, out)?;
        } else if p.is_file() {
            let rel = p.strip_prefix(root).unwrap_or(&p);
            let parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push(parts.join("/"));
        }
    }
    Ok(())
}

fn meta(p: &Path) -> Result<std::fs::Metadata, PipelineError> {
    std::fs::metadata(p).map_err(|e| PipelineError::Output {
        path: p.to_path_buf(),
        msg: format!("cannot read it back: {e}"),
    })
}

/// (size, sha256 hex) read straight from the file: outputs stay out of the per-user cache
/// of input hashes, which they would only crowd.
fn sha256(p: &Path) -> Result<(u64, String), PipelineError> {
    let err = |e: std::io::Error| PipelineError::Output {
        path: p.to_path_buf(),
        msg: format!("cannot read it back: {e}"),
    };
    let mut f = std::fs::File::open(p).map_err(err)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf).map_err(err)?;
        if k == 0 {
            break;
        }
        n += k as u64;
        h.update(&buf[..k]);
    }
    Ok((n, h.finalize().iter().map(|b| format!("{b:02x}")).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_vouches_for_the_outputs_as_of_its_own_time() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a.csv"), b"id\n1\n").unwrap();
        let rec = record(d.path(), "fp").unwrap();
        assert_eq!(rec.outputs.len(), 1);
        // Right after publishing, the files' times are too close to the recording to be
        // trusted; a check reads them and records its own time, so a later check can
        // trust them without reading.
        std::thread::sleep(std::time::Duration::from_millis(5));
        let Check::Intact(again) = check(d.path(), &rec).unwrap() else {
            panic!("unchanged outputs must be intact");
        };
        assert!(again.recorded_ns > rec.recorded_ns);
        assert_eq!(again.outputs[0].sha256, rec.outputs[0].sha256);
        std::fs::write(d.path().join("a.csv"), b"id\n2\n").unwrap();
        assert!(matches!(
            check(d.path(), &again).unwrap(),
            Check::Changed(_)
        ));
    }
}
