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

/// The staging folders this process has open, for `remove_open` (a Ctrl-C, or a batch
/// engine's SIGTERM at its time limit, skips every `Drop`).
static OPEN: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

fn open_list() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    OPEN.lock().unwrap_or_else(|p| p.into_inner())
}

/// Remove every staging folder this process has open and return them: called when the
/// process is told to stop, just before it exits. The folders hold only unfinished
/// outputs; finished ones were renamed out of them.
pub fn remove_open() -> Vec<PathBuf> {
    let dirs = std::mem::take(&mut *open_list());
    // A worker may still be writing into a folder while it goes: try again.
    dirs.into_iter()
        .filter(|d| (0..3).any(|_| std::fs::remove_dir_all(d).is_ok() || !d.exists()))
        .collect()
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
        open_list().push(dir.clone());
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
        // What would make a rename fail halfway is looked for before anything moves: a
        // folder where this run writes a file of that name.
        for name in names {
            let to = self.out.join(name);
            if self.dir.join(name).is_file() && to.is_dir() {
                return Err(PipelineError::Output {
                    path: to,
                    msg: format!(
                        "is a folder, and this run writes its file {name} there: move or rename the folder, then run again"
                    ),
                });
            }
        }
        // A previous run's manifest must not sit beside this run's half-moved files.
        for old in names.last().into_iter().chain(stale) {
            let _ = std::fs::remove_file(self.out.join(old));
        }
        for (i, name) in names.iter().enumerate() {
            if let Err(e) = std::fs::rename(self.dir.join(name), self.out.join(name)) {
                // Take back what this run already moved: a part of a run must not sit in
                // the folder as if it were a whole one.
                for moved in &names[..i] {
                    let to = self.out.join(moved);
                    let _ = std::fs::remove_file(&to).or_else(|_| std::fs::remove_dir_all(&to));
                }
                return Err(PipelineError::Output {
                    path: self.out.clone(),
                    msg: format!(
                        "cannot move {name} into place: {e}; none of this run's files were left there"
                    ),
                });
            }
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
        open_list().retain(|d| *d != self.dir);
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
/// told, and every process counts as alive. A zombie is not: a run killed by `timeout -s
/// KILL` (which kills itself too) stays one until its new parent reaps it, and its staging
/// folder outlived the rerun that came right after (a reviewer's case). Nor is a thread of
/// another process that happens to have the number (`/proc/TID` exists, unlisted).
fn alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return true;
    }
    let Ok(status) = std::fs::read_to_string(proc.join(pid.to_string()).join("status")) else {
        return false;
    };
    let field = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .map(str::trim)
            .unwrap_or("")
    };
    // "State:\tZ (zombie)", "X (dead)"; "Tgid:" is the process a thread belongs to.
    let state = field("State:");
    let tgid = field("Tgid:");
    let thread_of_another = !tgid.is_empty() && tgid != pid.to_string();
    !(state.starts_with('Z') || state.starts_with('X') || thread_of_another)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zombie_or_a_thread_number_is_not_a_live_run() {
        assert!(alive(std::process::id()));
        // A child that has exited but is not reaped yet: a zombie.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        let status = Path::new("/proc").join(pid.to_string()).join("status");
        let t0 = std::time::Instant::now();
        while !std::fs::read_to_string(&status)
            .unwrap_or_default()
            .contains("State:\tZ")
        {
            assert!(t0.elapsed().as_secs() < 10, "the child never ended");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(!alive(pid), "a zombie counts as ended");
        child.wait().unwrap();
        assert!(!alive(pid), "a reaped process is gone");
        // A thread of this process has its own number under /proc, unlisted.
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let h = std::thread::spawn(move || {
            tx.send(std::fs::read_link("/proc/thread-self").unwrap())
                .unwrap();
            let _ = stop_rx.recv();
        });
        let tid: u32 = rx
            .recv()
            .unwrap()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_ne!(tid, std::process::id());
        assert!(Path::new("/proc").join(tid.to_string()).exists());
        assert!(!alive(tid), "a thread's number is not a process");
        stop_tx.send(()).unwrap();
        h.join().unwrap();
    }

    /// Review finding (session 22): a folder where a run writes a file failed the commit
    /// halfway and left the files moved before it in the output folder.
    #[test]
    fn a_commit_that_cannot_finish_moves_nothing() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        let st = Staging::new(&out).unwrap();
        for f in ["a.geojson", "b.gpkg", "manifest.json"] {
            std::fs::write(st.path(f), f).unwrap();
        }
        std::fs::create_dir(out.join("b.gpkg")).unwrap();
        let e = st
            .commit(&["a.geojson", "b.gpkg", "manifest.json"], &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("b.gpkg") && e.contains("is a folder"), "{e}");
        assert!(!out.join("a.geojson").exists(), "nothing moved");
        assert!(!out.join("manifest.json").exists());
        // Nothing of the staging folder is left either.
        let left: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("b.gpkg")]);
    }

    #[test]
    fn sweep_removes_a_dead_run_s_folder_and_keeps_a_live_one() {
        let d = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let gone = d.path().join(format!("{PREFIX}{dead}"));
        let mine = d.path().join(format!("{PREFIX}{}", std::process::id()));
        for f in [&gone, &mine] {
            std::fs::create_dir(f).unwrap();
            std::fs::write(f.join(HOST_FILE), host()).unwrap();
        }
        sweep(d.path());
        assert!(!gone.exists());
        assert!(mine.exists());
    }
}
