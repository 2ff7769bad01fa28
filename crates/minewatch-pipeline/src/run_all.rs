//! `minewatch run CONFIG`: every configured stage in order (detect → overlay → rank →
//! package → sample), each into its own sub-folder, with resume: a stage whose fingerprint
//! (its resolved settings, the sha256 of its input files and its upstream stages'
//! fingerprints) matches the recorded one, and whose recorded outputs are all still there
//! as they were (`stage_outputs`), is skipped; once a stage runs, the later ones run too.
//! Stages write through staging folders, so a killed run leaves only whole stage outputs
//! (and the staging folder, which the next run removes); the state file is replaced
//! atomically after each stage. The run manifest is the process record.

use crate::error::PipelineError;
use crate::manifest::HashJob;
use crate::overlay_run::{run_overlay, Header, OverlayRequest};
use crate::package_run::{run_package, PackageRequest};
use crate::rank_run::{run_rank, RankRequest};
pub use crate::run_check::validate;
use crate::stage_outputs::{self, Check, StageRecord};
use crate::verify_run::{run_sample, SampleRequest};
use crate::{run_detect, DetectRequest};
use minewatch_verify::sample::{Allocation, Size};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct RunRequest {
    pub config: PathBuf,
    /// Replaces the config's `out`.
    pub out: Option<PathBuf>,
    pub data_root: Option<PathBuf>,
    pub threads: usize,
    pub progress: bool,
    pub command: String,
    /// Read detection from the tiles of a sharded run (`minewatch merge`).
    pub from_shards: bool,
    /// With `from_shards`: stream, waiting for each tile row this often.
    pub shard_wait: Option<std::time::Duration>,
}

/// Window side of a run's detection (results do not depend on it; memory does).
pub const RUN_WINDOW: usize = 512;

#[derive(Debug, Clone, Serialize)]
pub struct StageReport {
    pub stage: String,
    pub status: String,
    pub seconds: f64,
    pub out: PathBuf,
    pub fingerprint: String,
    pub summary: serde_json::Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub name: String,
    pub out: PathBuf,
    pub stages: Vec<StageReport>,
}

fn sha(parts: &[String]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn file_hashes(paths: &[PathBuf]) -> Result<Vec<String>, PipelineError> {
    let files: Vec<PathBuf> = paths
        .iter()
        .filter(|p| crate::file_hash::hashable(p))
        .cloned()
        .collect();
    let h = HashJob::start(files)?.finish()?;
    // Content only: the same files named by another path are the same inputs.
    Ok(h.into_iter().map(|(n, s)| format!("{n}:{s}")).collect())
}

/// Input files a layers file refers to (so an edited layer re-runs the overlay).
fn layer_files(layers: &Path) -> Vec<PathBuf> {
    let mut v = vec![layers.to_path_buf()];
    if let Ok(s) = minewatch_zones::LayersSpec::from_file(layers) {
        for l in s.layers {
            // A Shapefile's attributes, index, CRS and encoding live in sidecar files.
            for ext in ["dbf", "shx", "prj", "cpg"] {
                let side = l.path.with_extension(ext);
                if side != l.path && side.is_file() {
                    v.push(side);
                }
            }
            v.push(l.path);
            v.extend(l.attributes);
        }
        if let Some(d) = s.admin_codes {
            v.extend(["provinces.csv", "cities.csv", "areas.csv"].map(|f| d.join(f)));
        }
    }
    v
}

fn gdal_proj_versions() -> (String, String) {
    let gdal = gdal::version::version_info("RELEASE_NAME");
    let build = gdal::version::version_info("BUILD_INFO");
    let proj = build
        .lines()
        .find_map(|l| {
            l.strip_prefix("PROJ_RUNTIME_VERSION=")
                .or_else(|| l.strip_prefix("PROJ_BUILD_VERSION="))
        })
        .unwrap_or("unknown")
        .to_string();
    (gdal, proj)
}

pub fn run_all(req: &RunRequest) -> Result<RunSummary, PipelineError> {
    let t0 = Instant::now();
    // The images are checked by the detect stage itself (which would only repeat the
    // warnings about their dates); everything else before any stage runs.
    let mut r = crate::run_check::validate_config(&req.config, req.data_root.as_deref())?;
    crate::run_check::check_inputs(&r)?;
    if let Some(o) = &req.out {
        r.config.out = o.clone();
    }
    let r = r;
    let c = &r.config;
    std::fs::create_dir_all(&c.out).map_err(|e| PipelineError::Output {
        path: c.out.clone(),
        msg: format!("cannot create it: {e}"),
    })?;
    // One run writes a folder at a time: two started into one folder both exited 0 and
    // left one's packages beside the other's ranking (a reviewer's case). The OS's file
    // lock goes with the process, killed or not, so a crash leaves nothing to clean up.
    // `run --shard` does not take it: shards and a waiting merge share the folder.
    let lock_path = c.out.join(".minewatch-run.lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| PipelineError::Output {
            path: lock_path.clone(),
            msg: format!("cannot create the run's lock file: {e}"),
        })?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(PipelineError::Input(format!(
                "{}: another minewatch run or merge is writing this folder (it holds {}); wait for it to finish, or give another --out",
                c.out.display(),
                lock_path.display()
            )))
        }
        Err(std::fs::TryLockError::Error(e)) => {
            eprintln!(
                "run: warning: cannot lock {} ({e}); two runs into this folder at once would not be stopped",
                lock_path.display()
            );
        }
    }
    let _lock = lock;
    // The run manifest says the folder's outputs are one finished run: an earlier run's
    // must not outlive this one being killed or failing (it kept saying every stage was
    // done, with the earlier image list, after a run failed on a new image).
    let manifest_path = c.out.join("run_manifest.json");
    match std::fs::remove_file(&manifest_path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(PipelineError::Output {
                path: manifest_path,
                msg: format!("cannot replace the earlier run's manifest: {e}"),
            })
        }
        _ => {}
    }
    let state_path = c.out.join("run_state.json");
    let mut state = load_state(&state_path);
    let mut reports: Vec<StageReport> = Vec::new();
    let mut prev = sha(&[format!("{:?}", c.name)]);
    let threads = req.threads;

    // One closure per stage: (name, out folder, manifest file, input files, settings, run).
    type Job<'a> = Box<dyn Fn() -> Result<serde_json::Value, PipelineError> + 'a>;
    let det = c.out.join("detect");
    let ov = c.out.join("overlay");
    let rk = c.out.join("rank");
    let pk = c.out.join("packages");
    let sp = c.out.join("sample");
    let dates = c.detect_dates();
    /// One stage: name, output folder, the manifest that proves it finished, input files,
    /// settings that change its output, and the work.
    struct Stage<'a>(&'a str, PathBuf, &'a str, Vec<PathBuf>, String, Job<'a>);
    let mut stages: Vec<Stage> = Vec::new();
    let mut det_inputs = r.images.clone();
    // Sidecars GDAL reads with an image (NoData, scale and band names in `.aux.xml`, an
    // ENVI header): editing one changes the detection, so it is an input too.
    det_inputs.extend(r.images.iter().flat_map(|p| crate::sidecar::sidecars(p)));
    det_inputs.extend(c.detect.params.clone());
    stages.push(Stage(
        "detect",
        det.clone(),
        "manifest.json",
        det_inputs,
        format!(
            "images {} dates {:?} params {} quicklook {}",
            r.images.len(),
            c.detect.dates,
            c.detect.params.is_some(),
            c.detect.quicklook
        ),
        Box::new(|| {
            let params = c.detect_params()?;
            let s = run_detect(&DetectRequest {
                images: r.images.clone(),
                dates: dates.clone(),
                params,
                out: det.clone(),
                threads,
                window: RUN_WINDOW,
                progress: req.progress,
                quicklook: c.detect.quicklook,
                align: false,
                mask: None,
                shards: req.from_shards.then(|| crate::shard::store::ShardSource {
                    store: c.shards.as_ref().and_then(|s| s.store.clone()),
                    dir: crate::shard::shards_dir(&c.out),
                    wait: req.shard_wait,
                    redo: req.shard_wait.map(|_| crate::shard::store::Redo {
                        target: crate::shard::run::ShardTarget {
                            config: req.config.clone(),
                            out: req.out.clone(),
                            data_root: req.data_root.clone(),
                        },
                        threads,
                    }),
                }),
            })?;
            Ok(serde_json::json!({"patches": s.patches, "total_area_m2": s.total_area_m2}))
        }),
    ));
    if let Some(o) = &c.overlay {
        stages.push(Stage(
            "overlay",
            ov.clone(),
            "overlay_manifest.json",
            layer_files(&o.layers),
            String::new(),
            Box::new(|| {
                let s = run_overlay(&OverlayRequest {
                    patches: det.clone(),
                    layers: o.layers.clone(),
                    out: ov.clone(),
                    threads: Some(threads),
                    header: Header::En,
                    command: req.command.clone(),
                })?;
                Ok(serde_json::to_value(&s).unwrap_or_default())
            }),
        ));
    }
    if let Some(x) = &c.rank {
        let files: Vec<PathBuf> = [&x.policy, &x.history, &x.penalties, &x.prices, &x.ledger]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        stages.push(Stage(
            "rank",
            rk.clone(),
            "rank_manifest.json",
            files,
            format!(
                "policy {} history {} penalties {} prices {} ledger {}",
                x.policy.is_some(),
                x.history.is_some(),
                x.penalties.is_some(),
                x.prices.is_some(),
                x.ledger.is_some()
            ),
            Box::new(|| {
                let s = run_rank(&RankRequest {
                    findings: vec![ov.clone()],
                    policy: x.policy.clone(),
                    history: x.history.clone(),
                    penalties: x.penalties.clone(),
                    prices: x.prices.clone(),
                    ledger: x.ledger.clone(),
                    out: rk.clone(),
                    threads: Some(threads),
                    header: Header::En,
                    command: req.command.clone(),
                })?;
                Ok(serde_json::to_value(&s).unwrap_or_default())
            }),
        ));
    }
    if let Some(p) = &c.package {
        let layers = p
            .layers
            .clone()
            .or_else(|| c.overlay.as_ref().map(|o| o.layers.clone()));
        let files = layers.as_deref().map(layer_files).unwrap_or_default();
        stages.push(Stage(
            "package",
            pk.clone(),
            "package_manifest.json",
            files,
            format!("layers {}", p.layers.is_some()),
            Box::new(|| {
                let s = run_package(&PackageRequest {
                    tasks: rk.clone(),
                    imagery: r.images.clone(),
                    // Undated files were dated for detect by detect.dates: the same here
                    // (the package stage failed on them, with no key to fix it).
                    dates: dates.clone(),
                    params: c.detect_params()?,
                    layers: p
                        .layers
                        .clone()
                        .or_else(|| c.overlay.as_ref().map(|o| o.layers.clone())),
                    out: pk.clone(),
                    threads: Some(threads),
                    font: None,
                    command: req.command.clone(),
                })?;
                Ok(serde_json::to_value(&s).unwrap_or_default())
            }),
        ));
    }
    if let Some(s) = &c.sample {
        stages.push(Stage(
            "sample",
            sp.clone(),
            "sample_manifest.json",
            Vec::new(),
            format!("{s:?}"),
            Box::new(|| {
                let size = match (s.rate, s.count) {
                    (Some(x), _) => Size::Rate(x),
                    (_, Some(n)) => Size::Count(n),
                    _ => Size::Rate(0.1),
                };
                let out = run_sample(&SampleRequest {
                    input: rk.clone(),
                    id_column: "site_id".into(),
                    strata: s.strata.clone(),
                    must: s.must.clone(),
                    size,
                    allocation: Allocation::Proportional,
                    neyman_by: None,
                    min_per_stratum: s.min_per_stratum,
                    seed: s.seed,
                    out: sp.clone(),
                    command: req.command.clone(),
                })?;
                Ok(serde_json::to_value(&out).unwrap_or_default())
            }),
        ));
    }

    // A killed run's staging folders go even from stages that are skipped now.
    for Stage(_, out, ..) in &stages {
        crate::staging::sweep(out);
    }
    // The stage being worked on, for the manifest of a run that fails.
    let mut current = String::from("setup");
    let mut run_stages = || -> Result<(), PipelineError> {
        // A stage taken out of the config must not leave its last outputs behind: packages
        // of an earlier ranking beside a new one would go out as if current.
        let configured: Vec<&str> = stages.iter().map(|Stage(name, ..)| *name).collect();
        let dropped: Vec<String> = state
            .keys()
            .filter(|k| !configured.contains(&k.as_str()))
            .cloned()
            .collect();
        for name in dropped {
            let dir = c.out.join(stage_dir(&name));
            if let Some(rec) = state.get(&name).filter(|_| dir.is_dir()) {
                keep_edits(&c.out, &name, &dir, rec)?;
                retire(&dir, rec)?;
                eprintln!(
                "run: {name}: no longer in the config; its outputs of an earlier run were removed from {}",
                dir.display()
            );
            }
            state.remove(&name);
            save_state(&state_path, &state)?;
        }
        // Once a stage runs, every later one runs too: its inputs were just rewritten.
        let mut upstream_ran = false;
        for Stage(name, out, manifest, inputs, settings, job) in &stages {
            current = name.to_string();
            let t = Instant::now();
            let mut parts = vec![prev.clone(), name.to_string(), settings.clone()];
            // The inputs' hashes are needed first only to tell whether an earlier run did this
            // stage; otherwise they are read beside the stage (which shares the reads).
            let files: Vec<PathBuf> = inputs
                .iter()
                .filter(|p| crate::file_hash::hashable(p))
                .cloned()
                .collect();
            let hashing = HashJob::start(files)?;
            let mut fp = String::new();
            let mut fingerprint = |hashing: HashJob| -> Result<String, PipelineError> {
                // Content only: the same files named by another path are the same inputs.
                parts.extend(
                    hashing
                        .finish()?
                        .into_iter()
                        .map(|(n, s)| format!("{n}:{s}")),
                );
                Ok(sha(&parts))
            };
            let mut hashing = Some(hashing);
            let mut kept = None;
            match state.get(*name) {
                Some(before) if !upstream_ran => {
                    fp = fingerprint(hashing.take().expect("started"))?;
                    if before.fingerprint == fp && out.join(manifest).is_file() {
                        match stage_outputs::check(out, before)? {
                            Check::Intact(rec) => kept = Some(rec),
                            Check::Changed(why) => {
                                eprintln!("run: {name}: {why}; running it again");
                            }
                        }
                    }
                }
                _ => {}
            }
            let (status, summary) = if let Some(rec) = &kept {
                eprintln!("run: {name}: done earlier, skipped");
                // What the stage produced when it ran (null from state files of older versions).
                ("skipped", rec.summary.clone())
            } else {
                eprintln!("run: {name} …");
                upstream_ran = true;
                // Outputs edited since the stage wrote them (a form filled in place) are moved
                // aside first: running the stage again must not destroy a user's work.
                if let Some(before) = state.get(*name) {
                    keep_edits(&c.out, name, out, before)?;
                }
                // A stage re-runs whole: its old outputs must not survive beside new ones.
                state.remove(*name);
                save_state(&state_path, &state)?;
                (("done"), job()?)
            };
            if let Some(h) = hashing {
                fp = fingerprint(h)?;
            }
            let rec = match kept {
                Some(rec) => rec,
                None => StageRecord {
                    summary: summary.clone(),
                    ..stage_outputs::record(out, &fp)?
                },
            };
            state.insert(name.to_string(), rec);
            save_state(&state_path, &state)?;
            reports.push(StageReport {
                stage: name.to_string(),
                status: status.into(),
                seconds: crate::write::round(t.elapsed().as_secs_f64(), 3),
                out: out.clone(),
                fingerprint: fp.clone(),
                summary,
            });
            prev = fp;
        }
        Ok(())
    };
    let outcome = run_stages();
    let (gdal, proj) = gdal_proj_versions();
    // A failed run still records what it did and why it stopped; the hashes of images
    // it could not read are left out rather than hiding the stage's error.
    let hashes = match &outcome {
        Ok(()) => file_hashes(&r.images)?,
        Err(_) => file_hashes(&r.images).unwrap_or_default(),
    };
    let inputs: Vec<serde_json::Value> = r
        .images
        .iter()
        .enumerate()
        .map(|(i, p)| serde_json::json!({"path": p, "bytes_sha256": hashes.get(i)}))
        .collect();
    let failures: Vec<serde_json::Value> = match &outcome {
        Ok(()) => Vec::new(),
        Err(e) => vec![serde_json::json!({
            "stage": current,
            "error": e.to_string(),
            "exit_code": e.exit_code(),
        })],
    };
    let m = serde_json::json!({
        "status": if outcome.is_ok() { "done" } else { "failed" },
        "tool": "minewatch run",
        "version": env!("CARGO_PKG_VERSION"),
        "gdal": gdal,
        "proj": proj,
        "command": req.command,
        "config": r.source,
        // Relative paths in `resolved` and `images` are relative to this folder.
        "working_dir": std::env::current_dir().ok(),
        "resolved": r.config,
        "images": inputs,
        "threads": threads,
        "stages": reports,
        "failures": failures,
        "seconds": crate::write::round(t0.elapsed().as_secs_f64(), 3),
    });
    let written = crate::manifest::write_replacing(&manifest_path, &m);
    outcome?;
    written?;
    Ok(RunSummary {
        name: c.name.clone(),
        out: c.out.clone(),
        stages: reports,
    })
}

/// Move the outputs of `stage` (in `dir`) edited since it finished, and the files added
/// to its folder since (a stage that runs again replaces its folder: photos a county put
/// beside its package were lost), to `OUT/kept-edits/STAGE/PATH`, and say so.
fn keep_edits(out: &Path, stage: &str, dir: &Path, rec: &StageRecord) -> Result<(), PipelineError> {
    let kept = out.join("kept-edits").join(stage);
    for k in stage_outputs::keep_edits(dir, rec, &kept, true, &format!("the {stage} stage"))? {
        eprintln!(
            "run: {stage}: {} {} since the stage wrote its folder; kept as {} before running the stage again",
            k.rel,
            if k.edited { "was edited" } else { "was added" },
            k.to.display()
        );
    }
    Ok(())
}

/// The folder under OUT a stage writes (`package` writes `packages/`).
fn stage_dir(stage: &str) -> &str {
    match stage {
        "package" => "packages",
        other => other,
    }
}

/// Remove the files a finished stage wrote (as recorded) from `dir`, and the folders
/// left empty; `dir` itself goes when nothing else is in it.
fn retire(dir: &Path, rec: &StageRecord) -> Result<(), PipelineError> {
    for o in &rec.outputs {
        let p = dir.join(&o.path);
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(PipelineError::Output {
                    path: p,
                    msg: format!(
                        "an output of a stage no longer in the config; cannot remove it: {e}"
                    ),
                })
            }
        }
        // Empty parents up to and including `dir` (remove_dir fails on a non-empty one).
        let mut parent = p.parent();
        while let Some(d) = parent {
            if !d.starts_with(dir) || std::fs::remove_dir(d).is_err() {
                break;
            }
            parent = d.parent();
        }
    }
    Ok(())
}

/// `run_state.json`: each finished stage's record. Entries that do not parse (a state file
/// of an older version held fingerprints only, which cannot tell whether the outputs are
/// still there) are dropped, so their stages run again.
fn load_state(path: &Path) -> BTreeMap<String, StageRecord> {
    let raw: BTreeMap<String, serde_json::Value> = std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    raw.into_iter()
        .filter_map(|(k, v)| Some((k, serde_json::from_value(v).ok()?)))
        .collect()
}

fn save_state(path: &Path, state: &BTreeMap<String, StageRecord>) -> Result<(), PipelineError> {
    crate::manifest::write_replacing(path, state)
}
