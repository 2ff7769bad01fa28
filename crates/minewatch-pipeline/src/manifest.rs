//! The run manifest: the process record of a run (tool and GDAL versions, inputs with
//! size and sha256, every parameter, counts per stage, timings). Data files carry no
//! timestamps; timings live only here.

use crate::error::PipelineError;
use crate::inputs::DatedImage;
use crate::params::DetectParams;
use minewatch_core::Grid;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(Debug, Clone, Serialize)]
pub struct InputRecord {
    pub path: PathBuf,
    pub bytes: u64,
    pub sha256: String,
    /// The hash came from the per-user cache of an earlier read of this very file
    /// (same path, size, inode and times; `MINEWATCH_HASH_CACHE=off` rereads every file).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sha256_from_cache: bool,
    pub date: String,
    pub date_source: minewatch_raster::DateSource,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_note: Option<String>,
    pub profile: String,
    pub bands: Vec<(String, usize)>,
    /// Which decode path read the pixels.
    pub decode: String,
    /// Warped onto the first date's grid by `--align` (bilinear).
    pub aligned: bool,
    /// The file's own validity mask, when it has one: `file mask` (an internal TIFF mask,
    /// a `.msk`, or the alpha band GDAL takes for the mask) and/or `alpha band K`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub own_mask: Option<String>,
}

impl InputRecord {
    pub fn new(img: &DatedImage, bytes: u64, sha256: String) -> Self {
        Self {
            path: img.source.clone(),
            decode: img.info.decode.clone(),
            aligned: img.aligned,
            own_mask: {
                let mut parts = Vec::new();
                if img.info.dataset_mask {
                    parts.push("file mask".to_string());
                }
                if let Some(k) = img.info.alpha_band {
                    parts.push(format!("alpha band {k}"));
                }
                (!parts.is_empty()).then(|| parts.join(", "))
            },
            bytes,
            sha256_from_cache: crate::file_hash::from_cache(&img.source),
            sha256,
            date: img.info.date.to_string(),
            date_source: img.info.date_source,
            date_note: img.info.date_note.clone(),
            profile: img.profile.name.clone(),
            bands: img
                .profile
                .bands
                .iter()
                .map(|(r, b)| (r.to_string(), *b))
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct GridRecord {
    pub width: usize,
    pub height: usize,
    pub transform: [f64; 6],
    pub crs_wkt: String,
}

impl From<&Grid> for GridRecord {
    fn from(g: &Grid) -> Self {
        Self {
            width: g.width,
            height: g.height,
            transform: g.transform,
            crs_wkt: g.crs_wkt.clone(),
        }
    }
}

/// A patch the cloud screen removed.
#[derive(Debug, Clone, Serialize)]
pub struct ScreenedPatch {
    pub id: String,
    /// `cloud` (or snow, or haze over water) or `cloud_shadow`.
    pub reason: &'static str,
    /// The date it was seen at: `before` or `after`.
    pub date: &'static str,
    pub pixels: u64,
}

/// Counts per stage for one date pair.
#[derive(Debug, Clone, Serialize)]
pub struct PairCounts {
    pub pair: String,
    pub before: PathBuf,
    pub after: PathBuf,
    /// Assessed pixels: data on both dates, not masked by the user, not in the moat the
    /// cloud screen puts around clouds.
    pub valid_pixels: u64,
    /// Pixels where every rule condition held.
    pub rule_pixels: u64,
    /// Change pixels after the minimum mapping unit.
    pub sieved_pixels: u64,
    pub sieve_flipped_regions: u64,
    pub dropped_small_patches: u64,
    /// Patches (and their pixels) dropped as clouds or snow, and as cloud shadows, by the
    /// automatic method's screen (`minewatch_detect::cloud`).
    pub screened_cloud_patches: u64,
    pub screened_cloud_pixels: u64,
    pub screened_shadow_patches: u64,
    pub screened_shadow_pixels: u64,
    /// The patches the screen removed, with the id they would have had.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub screened_patches: Vec<ScreenedPatch>,
    /// The automatic method's fitted normalisation and threshold, when used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto: Option<crate::auto_run::AutoSetup>,
    pub patches: usize,
    pub detect_s: f64,
    pub georef_s: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Timings {
    pub resolve: f64,
    pub detect: f64,
    pub write: f64,
    pub total: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    pub tool: String,
    pub version: String,
    pub gdal: String,
    pub command: String,
    /// The folder detect ran in. Input and mask paths are recorded as typed; relative ones
    /// are relative to this folder, which is how `eval` finds the images again from any
    /// other (it reads them to leave out pixels the detection could not assess).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<PathBuf>,
    pub inputs: Vec<InputRecord>,
    pub params: DetectParams,
    pub resolved_rule: Vec<String>,
    pub statistics: Vec<String>,
    pub skipped_statistics: Vec<String>,
    pub grid: GridRecord,
    /// The user mask, when given (as typed, like the inputs' paths).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mask: Option<PathBuf>,
    /// Its size: `eval` leaves masked pixels out only while the file is the one detect read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mask_bytes: Option<u64>,
    pub threads: usize,
    pub window: usize,
    /// The plan hash when the kernel's output was read from a sharded run's tiles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_plan: Option<String>,
    pub pairs: Vec<PairCounts>,
    pub patches: usize,
    pub total_area_m2: f64,
    pub timings_s: Timings,
    pub outputs: Vec<String>,
}

/// Input hashing on a side thread. Dropping the job (any early return of a run) cancels
/// it between 1 MiB reads and joins the thread, so no thread outlives its run.
/// (size in bytes, sha256 hex) per input file.
pub type FileHashes = Vec<(u64, String)>;

pub struct HashJob {
    handle: Option<std::thread::JoinHandle<Result<FileHashes, PipelineError>>>,
    cancel: Arc<AtomicBool>,
}

impl HashJob {
    pub fn start(paths: Vec<PathBuf>) -> Result<Self, PipelineError> {
        let cancel = Arc::new(AtomicBool::new(false));
        let c = cancel.clone();
        let handle = std::thread::Builder::new()
            .name("mw-hash".into())
            .spawn(move || paths.iter().map(|p| hash_file(p, &c)).collect())
            .map_err(|e| PipelineError::Internal(format!("hash thread: {e}")))?;
        Ok(Self {
            handle: Some(handle),
            cancel,
        })
    }

    /// (size, sha256 hex) of each file, in order.
    pub fn finish(mut self) -> Result<FileHashes, PipelineError> {
        let h = self.handle.take().expect("joined once");
        h.join()
            .map_err(|_| PipelineError::Internal("hash thread panicked".into()))?
    }
}

impl Drop for HashJob {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            self.cancel.store(true, Ordering::Relaxed);
            let _ = h.join();
        }
    }
}

fn hash_file(path: &Path, cancel: &AtomicBool) -> Result<(u64, String), PipelineError> {
    crate::file_hash::sha256(path, cancel)
}

/// Pretty JSON with a final newline: every run's manifest (into a staging folder).
pub fn write<T: Serialize + ?Sized>(path: &Path, m: &T) -> Result<(), PipelineError> {
    let text =
        serde_json::to_string_pretty(m).map_err(|e| PipelineError::Internal(e.to_string()))?;
    std::fs::write(path, text + "\n").map_err(|e| PipelineError::Output {
        path: path.to_path_buf(),
        msg: e.to_string(),
    })
}

/// The same, for a file outside any staging folder: written beside it, then renamed over
/// it, so a reader never sees half of it.
pub fn write_replacing<T: Serialize + ?Sized>(path: &Path, m: &T) -> Result<(), PipelineError> {
    let tmp = path.with_extension("json.tmp");
    write(&tmp, m)?;
    std::fs::rename(&tmp, path).map_err(|e| PipelineError::Output {
        path: path.to_path_buf(),
        msg: e.to_string(),
    })
}
