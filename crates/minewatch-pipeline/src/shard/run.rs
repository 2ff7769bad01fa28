//! The commands of a sharded run: `plan`, `run --shard I`, `missing` and `merge`.

use super::objects::ShardObjects;
use super::plan::{
    params_digest, plan_path, settings_digest, sidecar_inputs, tile_grid, PairPlan, Plan, PlanBody,
    PlanInput, PLAN_FORMAT,
};
use super::store::{TileState, TileStore};
use super::{ranges, tile};
use crate::detect_run::{prepare, Prepared};
use crate::error::PipelineError;
use crate::params::DetectParams;
use crate::run_all::{run_all, RunRequest, RunSummary, RUN_WINDOW};
use crate::run_check::{check_inputs, validate_config};
use crate::run_config::{Resolved, ShardsStage};
use minewatch_core::{AcqDate, Window};
use minewatch_raster::reader::close_thread_handles;
use rayon::prelude::*;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Input hash records left by the shards for the merge (see `crate::file_hash`).
const HASHES_DIR: &str = "hashes";

/// Where a sharded command finds its run.
#[derive(Debug, Clone)]
pub struct ShardTarget {
    pub config: PathBuf,
    pub out: Option<PathBuf>,
    pub data_root: Option<PathBuf>,
}

struct Context {
    config: PathBuf,
    resolved: Resolved,
    params: DetectParams,
    dates: Option<Vec<AcqDate>>,
    shards: ShardsStage,
}

impl Context {
    /// The config as every shard command needs it (a shard task only detects, so it does
    /// not open the later stages' layers and tables; `plan` does, see [`plan`]).
    fn load(t: &ShardTarget) -> Result<Self, PipelineError> {
        let mut resolved = validate_config(&t.config, t.data_root.as_deref())?;
        if let Some(o) = &t.out {
            resolved.config.out = o.clone();
        }
        let c = &resolved.config;
        let params = c.detect_params()?;
        let dates = c.detect_dates();
        let shards = c.shards.clone().unwrap_or_default();
        Ok(Self {
            config: t.config.clone(),
            resolved,
            params,
            dates,
            shards,
        })
    }

    /// The store of the plan, tiles and hash records (`[shards] store`, else `OUT/shards`).
    fn objects(&self) -> Result<ShardObjects, PipelineError> {
        super::objects_of(Some(&self.shards), &self.resolved.config.out)
    }

    /// Take in the hashes of `inputs` that shards left in the store; returns how many.
    /// Best effort: a record that cannot be read only means its file is hashed again.
    fn load_hash_records(objects: &ShardObjects, inputs: &[PathBuf]) -> usize {
        inputs
            .par_iter()
            .filter_map(|p| {
                let name = format!("{HASHES_DIR}/{}", crate::file_hash::record_name(p)?);
                match objects.read(&name) {
                    Ok(b) => b,
                    Err(e) => {
                        eprintln!("warning: {e}; the input is hashed again");
                        None
                    }
                }
            })
            .filter(|b| crate::file_hash::take_record(b))
            .count()
    }

    fn params_json(&self) -> String {
        serde_json::to_string(&self.params).unwrap_or_default()
    }

    fn settings(&self, tile: usize) -> Result<String, PipelineError> {
        settings_digest(
            &self.resolved.images,
            &self.resolved.config.detect.dates,
            &self.params_json(),
            tile,
            RUN_WINDOW,
        )
    }

    /// The plan must be the one a launcher was emitted for (`--plan HASH`: its index range
    /// depends on it) and must have been made from this config, these images and this
    /// build; otherwise shards would compute, or the merge read, tiles of another run.
    fn check_plan(&self, store: &TileStore, expect: Option<&str>) -> Result<(), PipelineError> {
        let plan = &store.plan;
        let file = store.objects.describe(super::plan::PLAN_FILE);
        if let Some(h) = expect.filter(|h| *h != plan.plan_hash) {
            return Err(PipelineError::Input(format!(
                "{file}: the plan is {}, this task was launched for plan {h}; emit the launcher again for the current plan",
                plan.plan_hash
            )));
        }
        if self.settings(plan.body.tile)? != plan.body.settings {
            let what = self.what_changed(plan)?;
            return Err(PipelineError::Input(format!(
                "{file}: {what}; run `minewatch plan {}` again and rerun the shards",
                self.config.display()
            )));
        }
        Ok(())
    }

    /// What differs between the plan and the config, images and build now, named for
    /// the operator: the build, the set or order of images, an image, a sidecar, the
    /// dates or the detect parameters.
    fn what_changed(&self, plan: &Plan) -> Result<String, PipelineError> {
        let body = &plan.body;
        let build = format!(
            "{} ({})",
            env!("CARGO_PKG_VERSION"),
            env!("MINEWATCH_GIT_REV")
        );
        if body.version != build {
            return Ok(format!(
                "the plan was made by minewatch {}, this is minewatch {build} (tiles of two builds are never mixed)",
                body.version
            ));
        }
        // Plans name images by their canonical paths.
        let now: Vec<PathBuf> = self.resolved.images.iter().map(|p| plan_path(p)).collect();
        let planned: Vec<&Path> = body.inputs.iter().map(|i| i.path.as_path()).collect();
        if let Some(p) = now.iter().find(|p| !planned.contains(&p.as_path())) {
            return Ok(format!(
                "{} is an image of the config but not of the plan",
                p.display()
            ));
        }
        if let Some(p) = planned.iter().find(|p| !now.iter().any(|n| n == *p)) {
            return Ok(format!(
                "{} is an image of the plan but no longer of the config",
                p.display()
            ));
        }
        if now.iter().map(|p| p.as_path()).ne(planned.iter().copied()) {
            return Ok("the images' order changed since `minewatch plan` (it decides which date is compared with which)".into());
        }
        for (now, planned) in self.resolved.images.iter().zip(&body.inputs) {
            let now = PlanInput::of(now)?;
            if now != *planned {
                // Say when only the time changed (a copy that did not keep times, a
                // `touch`): the tiles are fine then, but the plan cannot know without
                // reading the file.
                let what = if now.bytes == planned.bytes {
                    "its modification time changed, its size did not (copied without times, or touched? if its content is the same, restoring its time with cp -p or rsync -t is enough; otherwise)"
                } else {
                    "its size changed, it is another image now"
                };
                return Ok(format!(
                    "{} changed since `minewatch plan`: {what}",
                    now.path.display()
                ));
            }
        }
        let sidecars = sidecar_inputs(&self.resolved.images)?;
        for s in &sidecars {
            match body.sidecars.iter().find(|p| p.path == s.path) {
                None => {
                    return Ok(format!(
                        "{} appeared since `minewatch plan` (GDAL reads it with its image: NoData, scale, band names)",
                        s.path.display()
                    ))
                }
                Some(p) if p != s => {
                    return Ok(format!("{} changed since `minewatch plan`", s.path.display()))
                }
                Some(_) => {}
            }
        }
        if let Some(p) = body
            .sidecars
            .iter()
            .find(|p| !sidecars.iter().any(|s| s.path == p.path))
        {
            return Ok(format!(
                "{} was removed after `minewatch plan`",
                p.path.display()
            ));
        }
        if body.dates != self.resolved.config.detect.dates {
            return Ok(format!(
                "detect.dates changed since `minewatch plan` (plan: {:?}, config: {:?})",
                body.dates, self.resolved.config.detect.dates
            ));
        }
        if body.params != params_digest(&self.params_json()) {
            return Ok("the detect parameters changed since `minewatch plan`".into());
        }
        Ok("the config, its detect parameters or the minewatch build changed since `minewatch plan`".into())
    }

    fn prepare(&self) -> Result<Prepared, PipelineError> {
        prepare(
            &self.resolved.images,
            self.dates.as_deref(),
            &self.params,
            None,
            true,
        )
    }
}

fn pool(threads: usize) -> Result<rayon::ThreadPool, PipelineError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .thread_name(|i| format!("mw-worker-{i}"))
        .build()
        .map_err(|e| PipelineError::Internal(format!("thread pool: {e}")))
}

#[derive(Debug, Clone, Serialize)]
pub struct PlanSummary {
    /// Where the plan is: a file, or an object's URL.
    pub plan: String,
    pub plan_hash: String,
    /// `false` when an identical plan was already there (its finished tiles stay valid).
    pub changed: bool,
    pub tiles: usize,
    pub tile_px: usize,
    pub batch: usize,
    pub shards: usize,
    pub tiles_done: usize,
    pub seconds: f64,
}

/// `minewatch plan CONFIG`: the tile grid, the fitted automatic setup per pair and the
/// inputs' identity, written as `plan.json` to the shard store (`OUT/shards` by default).
pub fn plan(
    t: &ShardTarget,
    tile_px: Option<usize>,
    threads: usize,
) -> Result<PlanSummary, PipelineError> {
    let t0 = Instant::now();
    let ctx = Context::load(t)?;
    // Before an array of shards is launched: a merge must not fail on a layer or table.
    check_inputs(&ctx.resolved)?;
    let tile_px = tile_px.unwrap_or(ctx.shards.tile);
    if tile_px < 64 {
        return Err(PipelineError::Input(format!(
            "--tile {tile_px}: a tile must be at least 64 pixels on a side"
        )));
    }
    let prep = ctx.prepare()?;
    let pool = pool(threads)?;
    let pairs = prep.pairs();
    let mut planned = Vec::new();
    for (k, pair) in pairs.iter().enumerate() {
        let setup = pool.install(|| prep.fit(k, &ctx.params))?;
        planned.push(PairPlan {
            key: pair.key(),
            before: plan_path(&prep.images[k].source),
            after: plan_path(&prep.images[k + 1].source),
            setup,
        });
    }
    pool.broadcast(|_| close_thread_handles());
    let grid = prep.images[0].info.grid.clone();
    let (mmu_sieve, _) = ctx.params.sieve_split();
    let body = PlanBody {
        format: PLAN_FORMAT.into(),
        version: format!(
            "{} ({})",
            env!("CARGO_PKG_VERSION"),
            env!("MINEWATCH_GIT_REV")
        ),
        name: ctx.resolved.config.name.clone(),
        settings: ctx.settings(tile_px)?,
        inputs: prep
            .images
            .iter()
            .map(|i| PlanInput::of(&i.source))
            .collect::<Result<_, _>>()?,
        sidecars: sidecar_inputs(&ctx.resolved.images)?,
        dates: ctx.resolved.config.detect.dates.clone(),
        params: params_digest(&ctx.params_json()),
        width: grid.width,
        height: grid.height,
        transform: grid.transform,
        crs_wkt: grid.crs_wkt.clone(),
        tile: tile_px,
        window: RUN_WINDOW,
        halo: planned
            .iter()
            .filter_map(|p| p.setup.as_ref().map(|s| s.halo()))
            .max()
            .unwrap_or(0),
        sieve_px: mmu_sieve as usize,
        channels: prep.n_channels(),
        pairs: planned,
        tiles: tile_grid(grid.width, grid.height, tile_px),
    };
    let plan = Plan::new(body);
    let objects = ctx.objects()?;
    let changed = Plan::load(&objects).map_or(true, |old| old.plan_hash != plan.plan_hash);
    if changed {
        plan.save(&objects)?;
    }
    let store = TileStore::open_partial(objects)?;
    let missing = pool.install(|| store.missing_tiles())?.len();
    let batch = ctx.shards.batch;
    Ok(PlanSummary {
        plan: store.objects.describe(super::plan::PLAN_FILE),
        plan_hash: plan.plan_hash.clone(),
        changed,
        tiles: plan.body.tiles.len(),
        tile_px,
        batch,
        shards: plan.shard_count(batch),
        tiles_done: plan.body.tiles.len() - missing,
        seconds: crate::write::round(t0.elapsed().as_secs_f64(), 3),
    })
}

/// The array index of this task: the flag, else the batch engine's variable.
pub fn shard_index(flag: Option<usize>) -> Result<usize, PipelineError> {
    if let Some(i) = flag {
        return Ok(i);
    }
    for var in [
        "SLURM_ARRAY_TASK_ID",
        "JOB_COMPLETION_INDEX",
        "AWS_BATCH_JOB_ARRAY_INDEX",
        "PBS_ARRAY_INDEX",
    ] {
        if let Ok(v) = std::env::var(var) {
            return v
                .trim()
                .parse()
                .map_err(|_| PipelineError::Input(format!("{var}={v:?} is not a shard index")));
        }
    }
    Err(PipelineError::Input(
        "no shard index: pass --shard I, or run under a job array (SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX or PBS_ARRAY_INDEX)".into(),
    ))
}

#[derive(Debug, Clone, Serialize)]
pub struct TileReport {
    pub tile: String,
    pub status: String,
    pub bytes: u64,
    pub seconds: f64,
    /// Reading, the kernel and encoding each window / assembling and hashing the object /
    /// writing it.
    pub compute_s: f64,
    pub encode_s: f64,
    pub write_s: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ShardSummary {
    pub shard: usize,
    pub shards: usize,
    pub batch: usize,
    pub plan_hash: String,
    pub tiles: Vec<TileReport>,
}

/// `minewatch run CONFIG --shard I`: compute the tiles of array task I (skipping those
/// already done under this plan), each written atomically.
pub fn run_shard(
    t: &ShardTarget,
    shard: usize,
    batch: Option<usize>,
    expect_plan: Option<&str>,
    threads: usize,
) -> Result<ShardSummary, PipelineError> {
    let ctx = Context::load(t)?;
    let store = TileStore::open_partial(ctx.objects()?)?;
    let plan = &store.plan;
    ctx.check_plan(&store, expect_plan)?;
    let batch = batch.unwrap_or(ctx.shards.batch).max(1);
    let shards = plan.shard_count(batch);
    if shard >= shards {
        return Err(PipelineError::Input(format!(
            "shard {shard} does not exist: the plan has {} tiles, {shards} shard(s) of {batch} (indices 0-{})",
            plan.body.tiles.len(),
            shards.saturating_sub(1)
        )));
    }
    let prep = ctx.prepare()?;
    let grid = &prep.images[0].info.grid;
    if (grid.width, grid.height, grid.transform)
        != (plan.body.width, plan.body.height, plan.body.transform)
    {
        return Err(PipelineError::Input(format!(
            "{}: the images' grid differs from the plan's; run `minewatch plan` again",
            store.objects.describe(super::plan::PLAN_FILE)
        )));
    }
    // The merge's manifests need every input's sha256, which would otherwise be read
    // after the last shard: shard j hashes the inputs i with i mod shards = j beside its
    // tiles (as a single run hashes beside its windows) and leaves a record.
    let mine: Vec<PathBuf> = prep
        .images
        .iter()
        .enumerate()
        .filter(|(i, _)| i % shards == shard)
        .map(|(_, d)| d.source.clone())
        .collect();
    Context::load_hash_records(&store.objects, &mine);
    let hashing = crate::manifest::HashJob::start(mine.clone())?;
    let pool = pool(threads)?;
    let mut reports = Vec::new();
    for spec in plan.shard_tiles(shard, batch) {
        let t0 = Instant::now();
        let name = store.tile_name(spec);
        let state = store.tile_state(spec)?;
        if let TileState::Damaged(what) = &state {
            // Written whole under its name, so damaged since: replace it (atomically).
            eprintln!(
                "shard {shard}: tile object {}: {what}; computing it again",
                store.objects.describe(&name)
            );
        }
        if state == TileState::Done {
            reports.push(TileReport {
                tile: spec.id.clone(),
                status: "skipped".into(),
                bytes: store.objects.head(&name, 0)?.map_or(0, |(n, _)| n),
                seconds: 0.0,
                compute_s: 0.0,
                encode_s: 0.0,
                write_s: 0.0,
            });
            continue;
        }
        let windows: Vec<_> = spec
            .windows(plan.body.window)
            .into_iter()
            .flatten()
            .collect();
        // Each window is computed and encoded in one worker; only the small encoded
        // blocks are kept until the tile is written.
        let sieve_px = plan.body.sieve_px;
        let mut pairs: Vec<Vec<(Window, Vec<u8>)>> = Vec::new();
        for (k, pp) in plan.body.pairs.iter().enumerate() {
            let blocks: Vec<(Window, Vec<u8>)> = pool.install(|| {
                windows
                    .par_iter()
                    .map(|w| {
                        let o = prep.compute_window(k, pp.setup.as_ref(), w)?;
                        let cw = crate::compact::CompactWindow::new(&o, sieve_px);
                        o.give_back();
                        let block = tile::encode_compact(&cw);
                        cw.recycle();
                        Ok((*w, block))
                    })
                    .collect::<Result<_, PipelineError>>()
            })?;
            pairs.push(blocks);
        }
        let compute_s = t0.elapsed().as_secs_f64();
        let bytes = tile::assemble(&plan.plan_hash, &spec.id, plan.body.channels, &pairs);
        let encode_s = t0.elapsed().as_secs_f64() - compute_s;
        store.objects.write(&name, &bytes)?;
        let write_s = t0.elapsed().as_secs_f64() - compute_s - encode_s;
        eprintln!(
            "shard {shard}: tile {} done ({} bytes, {:.2} s)",
            spec.id,
            bytes.len(),
            t0.elapsed().as_secs_f64()
        );
        reports.push(TileReport {
            tile: spec.id.clone(),
            status: "done".into(),
            bytes: bytes.len() as u64,
            seconds: crate::write::round(t0.elapsed().as_secs_f64(), 3),
            compute_s: crate::write::round(compute_s, 3),
            encode_s: crate::write::round(encode_s, 3),
            write_s: crate::write::round(write_s, 3),
        });
    }
    pool.broadcast(|_| close_thread_handles());
    hashing.finish()?;
    for (name, rec) in crate::file_hash::records(&mine) {
        store.objects.write(&format!("{HASHES_DIR}/{name}"), &rec)?;
    }
    Ok(ShardSummary {
        shard,
        shards,
        batch,
        plan_hash: plan.plan_hash.clone(),
        tiles: reports,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct MissingSummary {
    pub plan_hash: String,
    pub batch: usize,
    pub shards: usize,
    pub tiles: usize,
    pub tiles_missing: usize,
    pub missing_shards: Vec<usize>,
    /// `missing_shards` as compact ranges, ready for `sbatch --array=`.
    pub ranges: String,
}

/// Whether the plan in the run's store is the one the config makes now (what every shard
/// checks first): a launcher pinning a stale plan would start tasks that all fail.
pub fn check_current(t: &ShardTarget) -> Result<(), PipelineError> {
    let ctx = Context::load(t)?;
    let store = TileStore::open_partial(ctx.objects()?)?;
    ctx.check_plan(&store, None)
}

/// `minewatch missing CONFIG`: the shards with at least one unfinished tile.
pub fn missing(t: &ShardTarget, batch: Option<usize>) -> Result<MissingSummary, PipelineError> {
    let ctx = Context::load(t)?;
    let store = TileStore::open_partial(ctx.objects()?)?;
    // Ranges of a plan the shards would refuse are no answer: say so here (a review found
    // `missing` listing shards of a stale plan, each of which then failed with 65).
    ctx.check_plan(&store, None)?;
    let batch = batch.unwrap_or(ctx.shards.batch).max(1);
    let tiles = store.missing_tiles()?;
    // Listed like an absent tile (its shard replaces it); named, as the merge would.
    for m in &tiles {
        if let Some(what) = &m.damaged {
            eprintln!(
                "missing: tile object {}: {what}; listed (shard {}), which writes it again",
                store.objects.describe(&store.tile_name(m.tile)),
                m.tile.index / batch
            );
        }
    }
    let mut shards: Vec<usize> = tiles.iter().map(|m| m.tile.index / batch).collect();
    shards.dedup();
    Ok(MissingSummary {
        plan_hash: store.plan.plan_hash.clone(),
        batch,
        shards: store.plan.shard_count(batch),
        tiles: store.plan.body.tiles.len(),
        tiles_missing: tiles.len(),
        ranges: ranges::compact(&shards),
        missing_shards: shards,
    })
}

/// `minewatch merge CONFIG`: refuse while tiles are missing, then run every stage with
/// detection read from the tiles; with `wait`, start at once and stream, waiting for each
/// tile row's tiles (checked every `wait`), so the merge runs beside the shards and ends
/// soon after the last one.
pub fn merge(
    req: &RunRequest,
    wait: Option<std::time::Duration>,
    expect_plan: Option<&str>,
) -> Result<RunSummary, PipelineError> {
    let ctx = Context::load(&ShardTarget {
        config: req.config.clone(),
        out: req.out.clone(),
        data_root: req.data_root.clone(),
    })?;
    // The plan first: a stale or foreign plan is permanent (65), missing tiles only a
    // reason to retry (75), which would send a scheduler round a merge that cannot work.
    let store = TileStore::open_partial(ctx.objects()?)?;
    ctx.check_plan(&store, expect_plan)?;
    if wait.is_none() {
        store.require_complete()?;
    }
    // Input hashes the shards left (still valid for the files as they are now).
    let n = Context::load_hash_records(&store.objects, &ctx.resolved.images);
    eprintln!(
        "merge: {n} of {} input hash(es) from the shards' records",
        ctx.resolved.images.len()
    );
    let mut req = req.clone();
    req.from_shards = true;
    req.shard_wait = wait;
    run_all(&req)
}
