//! An earlier run's output folder given as input. Every run publishes its files into the
//! folder one by one with its manifest last (`staging`), so a folder without its manifest
//! was left by a run that did not finish: its data files may be missing, half of them new,
//! or an older run's. Reading such a folder would score or rank 0 or stale patches and
//! still exit 0, so it is refused.

use crate::error::PipelineError;
use std::path::{Path, PathBuf};

/// The command whose output folder is expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Detect,
    Overlay,
    Rank,
}

impl Stage {
    fn command(self) -> &'static str {
        match self {
            Stage::Detect => "detect",
            Stage::Overlay => "overlay",
            Stage::Rank => "rank",
        }
    }

    /// The file the next stage reads.
    fn data_file(self) -> &'static str {
        match self {
            Stage::Detect => "patches.gpkg",
            Stage::Overlay => "findings.gpkg",
            Stage::Rank => "tasks.gpkg",
        }
    }

    fn manifest(self) -> &'static str {
        match self {
            Stage::Detect => "manifest.json",
            Stage::Overlay => "overlay_manifest.json",
            Stage::Rank => "rank_manifest.json",
        }
    }

    /// Every file the run publishes before its manifest: any of them, or the staging
    /// folder of a killed run, says the folder is that run's.
    fn outputs(self) -> Vec<&'static str> {
        match self {
            Stage::Detect => {
                let mut v = crate::detect_run::OUTPUT_FILES.to_vec();
                v.push("quicklook.png");
                v
            }
            Stage::Overlay => crate::overlay_run::OUTPUTS.to_vec(),
            Stage::Rank => crate::rank_run::OUTPUTS.to_vec(),
        }
    }
}

/// The data file of `path` when it is a finished `stage` output folder, `path` itself when
/// it is a file; an error saying what to do for an unfinished or a wrong folder.
pub fn data_file(path: &Path, stage: Stage) -> Result<PathBuf, PipelineError> {
    if !path.is_dir() {
        return Ok(path.to_path_buf());
    }
    let (cmd, data, manifest) = (stage.command(), stage.data_file(), stage.manifest());
    let has = |name: &str| path.join(name).exists();
    if has(manifest) && has(data) {
        return Ok(path.join(data));
    }
    if !has(manifest) && (stage.outputs().iter().any(|f| has(f)) || has_staging(path)) {
        return Err(PipelineError::Input(format!(
            "{}: no {manifest}: the `minewatch {cmd}` run that wrote this folder did not finish \
             (its manifest is written last, so the files here may be partial or an older run's); \
             run it again",
            path.display()
        )));
    }
    if stage == Stage::Overlay && has(Stage::Detect.manifest()) {
        return Err(PipelineError::Input(format!(
            "{}: this is a `minewatch detect` output; rank needs `minewatch overlay` output \
             folders: run `minewatch overlay {} --layers LAYERS.toml --out DIR` and give DIR",
            path.display(),
            path.display()
        )));
    }
    Err(PipelineError::Input(format!(
        "no {data} in {}; give a `minewatch {cmd}` output folder",
        path.display()
    )))
}

/// Refuse the same data file given twice (`given[i]` resolved to `files[i]`) under any
/// spelling: `ov`, `ov/`, `./ov`, a symlink, the folder and its data file. Compared by the
/// canonical path, not the string: a repeated input read twice counts every patch twice
/// and still exits 0.
pub fn refuse_repeats(given: &[PathBuf], files: &[PathBuf]) -> Result<(), PipelineError> {
    let mut seen: Vec<(PathBuf, usize)> = Vec::new();
    for (i, f) in files.iter().enumerate() {
        // A file that cannot be resolved is reported by its reader, by name.
        let key = std::fs::canonicalize(f).unwrap_or_else(|_| f.clone());
        if let Some(&(_, j)) = seen.iter().find(|(k, _)| *k == key) {
            return Err(PipelineError::Input(format!(
                "{} and {} are the same input ({}): its patches would count twice; give each output once",
                given[j].display(),
                given[i].display(),
                key.display()
            )));
        }
        seen.push((key, i));
    }
    Ok(())
}

fn has_staging(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(crate::staging::PREFIX)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_is_read_only_when_its_manifest_is_there() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        let msg = |r: Result<PathBuf, PipelineError>| r.unwrap_err().to_string();
        assert!(msg(data_file(p, Stage::Detect)).contains("no patches.gpkg in"));
        std::fs::write(p.join("patches.geojson"), "{}").unwrap();
        assert!(msg(data_file(p, Stage::Detect)).contains("did not finish"));
        std::fs::write(p.join("patches.gpkg"), "").unwrap();
        assert!(msg(data_file(p, Stage::Detect)).contains("did not finish"));
        std::fs::write(p.join("manifest.json"), "{}").unwrap();
        assert_eq!(data_file(p, Stage::Detect).unwrap(), p.join("patches.gpkg"));
        // A detect folder where an overlay folder is expected.
        assert!(msg(data_file(p, Stage::Overlay)).contains("needs `minewatch overlay`"));
        let f = p.join("patches.gpkg");
        assert_eq!(data_file(&f, Stage::Detect).unwrap(), f);
    }

    /// Review finding: `rank ov ov/` read ov twice (14 sites for 7, duplicate patch ids in
    /// the ledger), as did `ov/findings.gpkg ov/findings.gpkg`.
    #[test]
    fn one_input_under_two_spellings_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let ov = d.path().join("ov");
        std::fs::create_dir(&ov).unwrap();
        std::fs::write(ov.join("findings.gpkg"), "").unwrap();
        std::fs::write(ov.join("overlay_manifest.json"), "{}").unwrap();
        let other = d.path().join("ov2");
        std::fs::create_dir(&other).unwrap();
        std::fs::write(other.join("findings.gpkg"), "").unwrap();
        std::fs::write(other.join("overlay_manifest.json"), "{}").unwrap();
        let check = |given: &[PathBuf]| {
            let files: Vec<PathBuf> = given
                .iter()
                .map(|g| data_file(g, Stage::Overlay).unwrap())
                .collect();
            refuse_repeats(given, &files)
        };
        let slash = PathBuf::from(format!("{}/", ov.display()));
        let dot = d.path().join(".").join("ov");
        let link = d.path().join("link");
        #[cfg(unix)]
        std::os::unix::fs::symlink(&ov, &link).unwrap();
        #[cfg(not(unix))]
        let link = dot.clone();
        for twin in [
            ov.clone(),
            slash,
            dot,
            link,
            ov.join("findings.gpkg"),
            ov.join("..").join("ov"),
        ] {
            let e = check(&[ov.clone(), twin.clone()]).unwrap_err().to_string();
            assert!(e.contains("same input"), "{}: {e}", twin.display());
        }
        assert!(check(&[ov.clone(), other]).is_ok());
    }

    /// Review finding (session 22): a rank killed while publishing left a new tasks.csv
    /// beside the previous run's tasks.gpkg, and package, sample and audit read it.
    #[test]
    fn a_rank_folder_without_its_manifest_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        std::fs::write(p.join("tasks.csv"), "").unwrap();
        std::fs::write(p.join("tasks.gpkg"), "").unwrap();
        let e = data_file(p, Stage::Rank).unwrap_err().to_string();
        assert!(
            e.contains("rank_manifest.json")
                && e.contains("minewatch rank")
                && e.contains("did not finish"),
            "{e}"
        );
        std::fs::write(p.join("rank_manifest.json"), "{}").unwrap();
        assert_eq!(data_file(p, Stage::Rank).unwrap(), p.join("tasks.gpkg"));
    }

    #[test]
    fn a_killed_runs_staging_folder_marks_the_folder_unfinished() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join(".minewatch-staging-123")).unwrap();
        let e = data_file(d.path(), Stage::Overlay).unwrap_err().to_string();
        assert!(
            e.contains("overlay_manifest.json") && e.contains("did not finish"),
            "{e}"
        );
    }
}
