//! Atomic outputs: everything is written into a hidden staging folder inside the output
//! folder and renamed into place only when the whole run succeeded. An interrupted or
//! failed run leaves no file that looks complete (the staging folder is removed on
//! error, and a leftover one from a killed run is recognisable by its name).

use crate::error::PipelineError;
use std::path::{Path, PathBuf};

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
        let dir = out.join(format!(".minewatch-staging-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).map_err(|e| oe(format!("cannot write into it: {e}")))?;
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
