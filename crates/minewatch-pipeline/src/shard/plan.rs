//! `plan.json`: the tile grid of a sharded run and everything a shard needs to compute a
//! tile exactly as the single-process run would (the fitted automatic setup per pair
//! included, so shards never refit), with a hash that every tile object carries.

use super::objects::ShardObjects;
use crate::auto_run::AutoSetup;
use crate::error::PipelineError;
use minewatch_core::{Grid, Window};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

pub const PLAN_FORMAT: &str = "minewatch-plan/1";
pub const PLAN_FILE: &str = "plan.json";

/// One tile: a rectangle of the run grid, named by its top-left pixel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TileSpec {
    pub index: usize,
    /// `t_r<row0>_c<col0>`: stable for a given grid and tile size.
    pub id: String,
    pub col: usize,
    pub row: usize,
    pub width: usize,
    pub height: usize,
}

impl TileSpec {
    pub fn rect(&self) -> Window {
        Window {
            col: self.col,
            row: self.row,
            width: self.width,
            height: self.height,
        }
    }

    /// The tile's windows, in rows, in grid coordinates.
    pub fn windows(&self, side: usize) -> Vec<Vec<Window>> {
        minewatch_core::grid::window_rows(self.width, self.height, side)
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .map(|w| Window {
                        col: w.col + self.col,
                        row: w.row + self.row,
                        ..w
                    })
                    .collect()
            })
            .collect()
    }

    pub fn file_name(&self) -> String {
        format!("{}.mwt", self.id)
    }
}

/// An input as the plan saw it. Contents are not hashed here (a national run has
/// terabytes of input; the merge's manifest records every sha256): size and modification
/// time stand for the content, as they do for make and rsync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanInput {
    pub path: PathBuf,
    pub bytes: u64,
    /// Modification time, nanoseconds since 1970 (0 when the file system has none).
    pub modified_ns: u128,
}

/// An image as the plan names it: a file by its canonical path, so that a plan made
/// with the config spelled `pipelines/x.toml` and one made with its absolute path (as
/// the emitted launchers do) are the same plan; an object by its URL.
pub fn plan_path(path: &Path) -> PathBuf {
    if crate::object_image::is_virtual(path) {
        return path.to_path_buf();
    }
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

impl PlanInput {
    /// A store that cannot be asked is an error (retry, exit 75), never zeros: a plan or
    /// a shard's check made from zeros would refuse every task for good.
    pub fn of(path: &Path) -> Result<Self, PipelineError> {
        let path = &plan_path(path);
        if let Some((bytes, ns)) = crate::object_image::stat(path)? {
            return Ok(Self {
                path: path.to_path_buf(),
                bytes,
                modified_ns: ns.unwrap_or(0),
            });
        }
        let m = std::fs::metadata(path).ok();
        Ok(Self {
            path: path.to_path_buf(),
            bytes: m.as_ref().map_or(0, |m| m.len()),
            modified_ns: m
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos()),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairPlan {
    pub key: String,
    pub before: PathBuf,
    pub after: PathBuf,
    /// The automatic method's fitted normalisation and threshold (`None` under a rule).
    pub setup: Option<AutoSetup>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanBody {
    pub format: String,
    pub version: String,
    pub name: String,
    /// Digest of the settings that decide a tile's content (see `settings_digest`);
    /// a shard refuses a plan whose digest differs from its config's.
    pub settings: String,
    pub inputs: Vec<PlanInput>,
    /// The images' sidecars (`.aux.xml`, ENVI headers) as the plan saw them.
    pub sidecars: Vec<PlanInput>,
    /// The config's `detect.dates` (empty: dates from the files).
    pub dates: Vec<String>,
    /// sha256 of the detect parameters (to say which setting changed).
    pub params: String,
    pub width: usize,
    pub height: usize,
    pub transform: [f64; 6],
    pub crs_wkt: String,
    pub tile: usize,
    pub window: usize,
    /// Pixels read around each window beyond the tile (the automatic score's neighbourhood);
    /// tiles overlap by this much on input and not at all on output.
    pub halo: usize,
    /// The sieve threshold (pixels; 0 without a sieve): tiles keep statistic values only
    /// where they can end in a patch (see `compact::CompactWindow::new`).
    pub sieve_px: usize,
    pub channels: usize,
    pub pairs: Vec<PairPlan>,
    pub tiles: Vec<TileSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub plan_hash: String,
    pub body: PlanBody,
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Digest of the things that decide a tile's content, cheap to recompute in every shard:
/// the images' and their sidecars' names, sizes and modification times (copy inputs with their times, e.g.
/// `cp -p` or `rsync -t`, or plan again), the dates, the detect parameters and the tiling.
pub fn settings_digest(
    images: &[PathBuf],
    dates: &[String],
    params_json: &str,
    tile: usize,
    window: usize,
) -> Result<String, PipelineError> {
    let mut h = Sha256::new();
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    // The revision too: a changed kernel under the same version must not mix tiles.
    h.update(env!("MINEWATCH_GIT_REV").as_bytes());
    for p in images {
        let name = p.file_name().map(|n| n.to_string_lossy().to_string());
        let i = PlanInput::of(p)?;
        h.update(format!("{name:?}:{}:{}\0", i.bytes, i.modified_ns).as_bytes());
        for s in crate::sidecar::sidecars(p) {
            let name = s.file_name().map(|n| n.to_string_lossy().to_string());
            let i = PlanInput::of(&s)?;
            h.update(format!("sidecar {name:?}:{}:{}\0", i.bytes, i.modified_ns).as_bytes());
        }
    }
    h.update(format!("{dates:?}\0{params_json}\0{tile}\0{window}").as_bytes());
    Ok(hex(&h.finalize()))
}

/// The sidecars of `images` as a plan records them.
pub fn sidecar_inputs(images: &[PathBuf]) -> Result<Vec<PlanInput>, PipelineError> {
    images
        .iter()
        .flat_map(|p| crate::sidecar::sidecars(p))
        .map(|s| PlanInput::of(&s))
        .collect()
}

/// The digest of the detect parameters a plan records.
pub fn params_digest(params_json: &str) -> String {
    hex(&Sha256::digest(params_json.as_bytes()))
}

/// Tiles of `side` pixels over the grid, row-major.
pub fn tile_grid(width: usize, height: usize, side: usize) -> Vec<TileSpec> {
    let mut v = Vec::new();
    for row in (0..height).step_by(side.max(1)) {
        for col in (0..width).step_by(side.max(1)) {
            v.push(TileSpec {
                index: v.len(),
                id: format!("t_r{row}_c{col}"),
                col,
                row,
                width: side.min(width - col),
                height: side.min(height - row),
            });
        }
    }
    v
}

impl Plan {
    pub fn new(body: PlanBody) -> Self {
        let plan_hash = Self::hash_of(&body);
        Self { plan_hash, body }
    }

    fn hash_of(body: &PlanBody) -> String {
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        hex(&Sha256::digest(&bytes))
    }

    pub fn grid(&self) -> Grid {
        Grid {
            width: self.body.width,
            height: self.body.height,
            transform: self.body.transform,
            crs_wkt: self.body.crs_wkt.clone(),
        }
    }

    /// Number of array tasks with `batch` tiles each.
    pub fn shard_count(&self, batch: usize) -> usize {
        self.body.tiles.len().div_ceil(batch.max(1))
    }

    /// The tiles of array task `shard`.
    pub fn shard_tiles(&self, shard: usize, batch: usize) -> &[TileSpec] {
        let b = batch.max(1);
        let n = self.body.tiles.len();
        let lo = (shard * b).min(n);
        &self.body.tiles[lo..(lo + b).min(n)]
    }

    pub fn save(&self, objects: &ShardObjects) -> Result<(), PipelineError> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| PipelineError::Internal(e.to_string()))?;
        objects.write(PLAN_FILE, (text + "\n").as_bytes())
    }

    /// Read and check a plan; a missing, unreadable or edited plan is an input problem.
    pub fn load(objects: &ShardObjects) -> Result<Self, PipelineError> {
        let path = objects.describe(PLAN_FILE);
        let bytes = objects.read(PLAN_FILE)?.ok_or_else(|| {
            PipelineError::Input(format!(
                "{path}: no plan there; run `minewatch plan CONFIG` first (with the same --out and --data-root as this command)"
            ))
        })?;
        let plan: Plan = serde_json::from_slice(&bytes).map_err(|e| {
            PipelineError::Input(format!(
                "{path}: not a minewatch plan ({e}); run `minewatch plan CONFIG` again"
            ))
        })?;
        if plan.body.format != PLAN_FORMAT {
            return Err(PipelineError::Input(format!(
                "{path}: plan format {} (this minewatch reads {PLAN_FORMAT}); run `minewatch plan CONFIG` again",
                plan.body.format
            )));
        }
        if Self::hash_of(&plan.body) != plan.plan_hash {
            return Err(PipelineError::Input(format!(
                "{path}: the plan's content does not match its plan_hash (edited by hand?); run `minewatch plan CONFIG` again"
            )));
        }
        Ok(plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_cover_the_grid_once_with_stable_ids() {
        let t = tile_grid(1000, 700, 256);
        assert_eq!(t.len(), 4 * 3);
        let area: usize = t.iter().map(|x| x.width * x.height).sum();
        assert_eq!(area, 1000 * 700);
        assert_eq!(t[5].id, "t_r256_c256");
        assert_eq!((t[11].width, t[11].height), (1000 - 768, 700 - 512));
        assert!(t.iter().enumerate().all(|(i, x)| x.index == i));
    }

    #[test]
    fn windows_stay_inside_their_tile() {
        let t = &tile_grid(1000, 700, 300)[4];
        let ws: Vec<Window> = t.windows(128).into_iter().flatten().collect();
        let px: usize = ws.iter().map(|w| w.len()).sum();
        assert_eq!(px, t.width * t.height);
        assert!(ws.iter().all(|w| w.col >= t.col
            && w.row >= t.row
            && w.col + w.width <= t.col + t.width
            && w.row + w.height <= t.row + t.height));
    }

    #[test]
    fn shards_split_tiles_by_batch() {
        let body = PlanBody {
            format: PLAN_FORMAT.into(),
            version: "x".into(),
            name: "n".into(),
            settings: "s".into(),
            inputs: vec![],
            sidecars: vec![],
            dates: vec![],
            params: String::new(),
            width: 10,
            height: 10,
            transform: [0.0, 1.0, 0.0, 10.0, 0.0, -1.0],
            crs_wkt: String::new(),
            tile: 3,
            window: 3,
            halo: 0,
            sieve_px: 0,
            channels: 1,
            pairs: vec![],
            tiles: tile_grid(10, 10, 3),
        };
        let p = Plan::new(body);
        assert_eq!(p.body.tiles.len(), 16);
        assert_eq!(p.shard_count(5), 4);
        assert_eq!(p.shard_tiles(3, 5).len(), 1);
        assert_eq!(p.shard_tiles(3, 5)[0].index, 15);
        assert!(p.shard_tiles(4, 5).is_empty());
        // The hash survives a JSON round trip (the plan is re-read by every shard).
        let back: Plan = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(Plan::hash_of(&back.body), p.plan_hash);
    }
}
