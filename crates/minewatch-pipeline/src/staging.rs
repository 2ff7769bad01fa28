//! Atomic outputs: everything is written into a hidden staging folder inside the output
//! folder and renamed into place only when the whole run succeeded. An interrupted or
//! failed run leaves no file that looks complete (the staging folder is removed on
//! error, and a leftover one from a killed run is recognisable by its name and removed by
//! the next run that stages into the same folder).

use crate::error::PipelineError;
use std::path::{Path, PathBuf};

/// A staging folder is named this and the id of the process writing it.
pub(crate) const PREFIX: &str = ".minewatch-staging-";
/// Inside a staging folder: the host that made it. Output folders live on shared file
/// systems, and a process id says nothing about another machine's processes.
const HOST_FILE: &str = ".host";

pub struct Staging {
    out: PathBuf,
    dir: PathBuf,
    done: bool,
}

impl Staging {
    pub fn new(out: &Path) -> Result<Self, PipelineError> {
        let oe = |msg: String| PipelineError::Output {
            path: out.to_path_buf(),
            msg,
        };
        std::fs::create_dir_all(out).map_err(|e| oe(format!("cannot create it: {e}")))?;
        sweep(out);
        let dir = out.join(format!("{PREFIX}{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        // Made under a name `sweep` ignores and renamed once it holds its host, so a
        // sweep on another machine never sees it without one (and takes it for its own).
        let fresh = out.join(format!("{PREFIX}{}.new", std::process::id()));
        let _ = std::fs::remove_dir_all(&fresh);
        std::fs::create_dir(&fresh).map_err(|e| oe(format!("cannot write into it: {e}")))?;
        std::fs::write(fresh.join(HOST_FILE), host())
            .and_then(|()| std::fs::rename(&fresh, &dir))
            .map_err(|e| {
                let _ = std::fs::remove_dir_all(&fresh);
                oe(format!("cannot write into it: {e}"))
            })?;
        Ok(Self {
            out: out.to_path_buf(),
            dir,
            done: false,
        })
    }

    /// Path of a file being staged.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Move the staged files into the output folder; the manifest (named last) goes last,
    /// so its presence means the run finished. `stale` names optional outputs of an earlier
    /// run that this run did not make and that must not survive beside it.
    pub fn commit(mut self, names: &[&str], stale: &[&str]) -> Result<(), PipelineError> {
        // A previous run's manifest must not sit beside this run's half-moved files.
        for old in names.last().into_iter().chain(stale) {
            let _ = std::fs::remove_file(self.out.join(old));
        }
        for name in names {
            std::fs::rename(self.dir.join(name), self.out.join(name)).map_err(|e| {
                PipelineError::Output {
                    path: self.out.clone(),
                    msg: format!("cannot move {name} into place: {e}"),
                }
            })?;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        self.done = true;
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Remove the staging folders in `out` left by processes that no longer exist (a run
/// killed with SIGKILL cannot remove its own). Kept: this process's, those of live
/// processes (another run may be writing into the same folder), those made on another
/// host, and every one whose owner cannot be told (a process id reused since is one: it
/// only leaves a folder behind). Best effort: a folder that cannot be removed stays.
pub fn sweep(out: &Path) {
    let Ok(entries) = std::fs::read_dir(out) else {
        return;
    };
    let me = host();
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(PREFIX))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let dir = e.path();
        if pid == std::process::id() || !dir.is_dir() || alive(pid) {
            continue;
        }
        // Folders of older versions carry no host: taken to be this host's.
        match std::fs::read_to_string(dir.join(HOST_FILE)) {
            Ok(h) if h != me => continue,
            _ => {}
        }
        if std::fs::remove_dir_all(&dir).is_ok() {
            eprintln!(
                "{}: removed the staging folder of process {pid}, which ended without finishing",
                out.display()
            );
        }
    }
}

/// This machine's name (the kernel's, else `$HOSTNAME`), as written into staging folders.
fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// Whether process `pid` may still be running on this host. Without `/proc` nothing can be
/// told, and every process counts as alive.
fn alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.join("self").exists() || proc.join(pid.to_string()).exists()
}
