//! The tiles of a planned run as `merge` reads them: every tile must be present and made
//! under the current plan; window rows stream out top to bottom, a tile row at a time.

use super::objects::ShardObjects;
use super::plan::{Plan, TileSpec};
use super::tile::{self, TileObject};
use crate::auto_run::AutoSetup;
use crate::compact::CompactWindow;
use crate::error::PipelineError;
use minewatch_core::{DatePair, Grid};
use rayon::prelude::*;
use std::path::PathBuf;

pub const TILES_DIR: &str = "tiles";

/// A tile the store does not hold finished under the current plan.
pub struct Unfinished<'a> {
    pub tile: &'a TileSpec,
    /// An object exists under the tile's name but is damaged: what is wrong with it.
    pub damaged: Option<String>,
}

/// Header requests in flight at once when `missing` or `plan` checks tiles on object storage.
const OBJECT_REQUESTS_IN_FLIGHT: usize = 32;

/// A tile as the store holds it (see [`TileStore::tile_state`]).
#[derive(Debug, Clone, PartialEq)]
pub enum TileState {
    Done,
    NotDone,
    /// An object is there under the tile's name but damaged: what is wrong with it.
    Damaged(String),
}

pub struct TileStore {
    pub objects: ShardObjects,
    pub plan: Plan,
    /// Streaming merge: wait for each tile row's tiles (checking this often) instead of
    /// requiring every tile up front, so the merge can run beside the shards.
    pub wait: Option<std::time::Duration>,
    /// What a waiting merge runs to compute a tile no shard will compute again.
    pub redo: Option<Redo>,
}

/// A waiting merge's own way to compute a tile: the run as its shards see it.
#[derive(Debug, Clone)]
pub struct Redo {
    pub target: super::run::ShardTarget,
    pub threads: usize,
}

/// Where `merge` reads the kernel's output from.
#[derive(Debug, Clone)]
pub struct ShardSource {
    /// The run's `[shards] store` (a folder or an s3:// URL), if the config names one.
    pub store: Option<String>,
    /// The default store: the folder holding `plan.json` and `tiles/`.
    pub dir: PathBuf,
    /// Stream: wait for tiles row by row (see [`TileStore::wait`]).
    pub wait: Option<std::time::Duration>,
    /// With `wait`: compute tiles set aside as damaged (see [`TileStore::wait_for`]).
    pub redo: Option<Redo>,
}

impl TileStore {
    /// Open the store and refuse while any tile is missing or stale.
    pub fn open(objects: ShardObjects) -> Result<Self, PipelineError> {
        let store = Self::open_partial(objects)?;
        store.require_complete()?;
        Ok(store)
    }

    /// Refuse (retry later: exit 75) while any tile is missing or stale. A damaged object
    /// (truncated, or a bad magic, header or length) is set aside as `.bad` first and named,
    /// as one failing its checksum is when read.
    pub fn require_complete(&self) -> Result<(), PipelineError> {
        let missing = self.missing_tiles()?;
        if !missing.is_empty() {
            let mut said = Vec::new();
            for m in &missing {
                if let Some(what) = &m.damaged {
                    said.push(self.set_aside(m.tile, &self.tile_name(m.tile), what)?);
                }
            }
            let shards: Vec<usize> = missing.iter().map(|m| m.tile.index).collect();
            said.push(format!(
                "{}: {} of {} tiles are not finished (tile indices {}); run them (`minewatch missing CONFIG`, then `minewatch run CONFIG --shard I`) before merging",
                self.objects.location(),
                missing.len(),
                self.plan.body.tiles.len(),
                super::ranges::compact(&shards)
            ));
            return Err(PipelineError::Incomplete(said.join("\n")));
        }
        Ok(())
    }

    /// Open without the completeness check (for `missing` and shards).
    pub fn open_partial(objects: ShardObjects) -> Result<Self, PipelineError> {
        Ok(Self {
            plan: Plan::load(&objects)?,
            objects,
            wait: None,
            redo: None,
        })
    }

    /// The store a merge reads: complete now, or (streaming) completed as it goes.
    pub fn open_source(src: &ShardSource) -> Result<Self, PipelineError> {
        let objects = super::objects::open(src.store.as_deref(), &src.dir)?;
        match src.wait {
            None => Self::open(objects),
            Some(w) => Ok(Self {
                wait: Some(w),
                redo: src.redo.clone(),
                ..Self::open_partial(objects)?
            }),
        }
    }

    /// Block until every tile of `row` is done (streaming merge). Two things would make
    /// that wait last until the engine's deadline, so they end it instead:
    /// - a damaged tile (one this merge finds truncated or with a bad header, set aside
    ///   here, or one an earlier merge set aside as `.bad`, see [`Self::set_aside`]):
    ///   its shard succeeded, and a Kubernetes Indexed Job never runs a succeeded index
    ///   again, so the merge computes that tile itself, as its shard would;
    /// - a new plan in the store: the tiles the merge waits for (this plan's) will never
    ///   come, and the new plan's share their names, so this is permanent (65).
    fn wait_for(&self, row: &[TileSpec], every: std::time::Duration) -> Result<(), PipelineError> {
        let mut told = false;
        let mut first = true;
        // Tiles this merge computed: found damaged again, the storage is failing, and
        // the engine's retries (75) bound what computing them over and over would not.
        let mut redone_here: Vec<&str> = Vec::new();
        loop {
            let mut left = Vec::new();
            let mut set_aside = false;
            for t in row {
                match self.tile_state(t)? {
                    TileState::Done => {}
                    TileState::NotDone => left.push(t),
                    // Tiles are written whole under their name, so this one will not
                    // become whole by waiting (review S: the merge Job waited forever).
                    TileState::Damaged(what)
                        if self.redo.is_none() || redone_here.contains(&t.id.as_str()) =>
                    {
                        return Err(PipelineError::Incomplete(self.set_aside(
                            t,
                            &self.tile_name(t),
                            &what,
                        )?));
                    }
                    TileState::Damaged(what) => {
                        let bad = self.move_aside(&self.tile_name(t), &what)?;
                        eprintln!(
                            "merge: tile object {}: {what}; moved aside to {bad}",
                            self.objects.describe(&self.tile_name(t))
                        );
                        set_aside = true;
                        left.push(t);
                    }
                }
            }
            if left.is_empty() {
                return Ok(());
            }
            self.check_plan_unchanged()?;
            // A `.bad` appears beside a tile when a merge finds it damaged: an earlier
            // merge (looked for once per row) or this one just now.
            if std::mem::take(&mut first) || set_aside {
                if let Some(r) = &self.redo {
                    let mut redone = false;
                    for t in &left {
                        let bad = format!("{}.bad", self.tile_name(t));
                        if self.objects.head(&bad, 0)?.is_none() {
                            continue;
                        }
                        eprintln!(
                            "merge: tile {} was set aside as damaged ({}) and no shard will compute it again; computing it here (as shard {} of one tile)",
                            t.id,
                            self.objects.describe(&bad),
                            t.index
                        );
                        super::run::run_shard(
                            &r.target,
                            t.index,
                            Some(1),
                            Some(&self.plan.plan_hash),
                            r.threads,
                        )?;
                        redone_here.push(&t.id);
                        redone = true;
                    }
                    if redone {
                        continue;
                    }
                }
            }
            if !told {
                eprintln!(
                    "merge: waiting for {} tile(s) of tile row {} ({} …)",
                    left.len(),
                    row[0].row,
                    left[0].id
                );
                told = true;
            }
            std::thread::sleep(every);
        }
    }

    /// A waiting merge's plan must still be the store's (see [`Self::wait_for`]).
    fn check_plan_unchanged(&self) -> Result<(), PipelineError> {
        let now = Plan::load(&self.objects)?;
        if now.plan_hash != self.plan.plan_hash {
            return Err(PipelineError::Input(format!(
                "{}: this merge was started for plan {}, the store now holds plan {} (`minewatch plan` ran again while it waited); its tiles will not come: start the merge again for the current plan (on Kubernetes: `minewatch emit k8s` again and apply)",
                self.objects.describe(super::plan::PLAN_FILE),
                self.plan.plan_hash,
                now.plan_hash
            )));
        }
        Ok(())
    }

    /// A tile object's name in the store.
    pub fn tile_name(&self, t: &TileSpec) -> String {
        format!("{TILES_DIR}/{}", t.file_name())
    }

    /// Whether a tile object exists, is whole, and belongs to this plan.
    pub fn is_done(&self, t: &TileSpec) -> Result<bool, PipelineError> {
        Ok(matches!(self.tile_state(t)?, TileState::Done))
    }

    /// What the store holds for a tile: done (whole, this plan's), not done (absent, or
    /// another plan's or format's), or damaged.
    pub fn tile_state(&self, t: &TileSpec) -> Result<TileState, PipelineError> {
        Ok(match tile::peek(&self.objects, &self.tile_name(t))? {
            tile::Peek::Whole(h)
                if h.plan_hash == self.plan.plan_hash
                    && h.tile == t.id
                    && h.pairs.len() == self.plan.body.pairs.len() =>
            {
                TileState::Done
            }
            tile::Peek::Damaged(what) => TileState::Damaged(what),
            _ => TileState::NotDone,
        })
    }

    /// The tiles not done, in plan order, each with what is wrong if it is damaged.
    pub fn missing_tiles(&self) -> Result<Vec<Unfinished<'_>>, PipelineError> {
        let check = || -> Result<Vec<TileState>, PipelineError> {
            self.plan
                .body
                .tiles
                .par_iter()
                .map(|t| self.tile_state(t))
                .collect()
        };
        // On object storage each check is a request that mostly waits on the network:
        // many in flight at once (a national plan has ~23,000 tiles).
        let done = match &self.objects {
            ShardObjects::Dir(_) => check(),
            ShardObjects::S3(_) => match rayon::ThreadPoolBuilder::new()
                .num_threads(OBJECT_REQUESTS_IN_FLIGHT)
                .thread_name(|i| format!("mw-peek-{i}"))
                .build()
            {
                Ok(p) => p.install(check),
                Err(_) => check(),
            },
        }?;
        Ok(self
            .plan
            .body
            .tiles
            .iter()
            .zip(done)
            .filter_map(|(tile, d)| match d {
                TileState::Done => None,
                TileState::NotDone => Some(Unfinished {
                    tile,
                    damaged: None,
                }),
                TileState::Damaged(what) => Some(Unfinished {
                    tile,
                    damaged: Some(what),
                }),
            })
            .collect())
    }

    /// The plan must describe this pair on this grid with this fitted setup; otherwise the
    /// inputs or settings changed after `plan`.
    pub fn check_pair(
        &self,
        k: usize,
        pair: DatePair,
        setup: Option<&AutoSetup>,
        grid: &Grid,
    ) -> Result<(), PipelineError> {
        let stale = |what: String| {
            PipelineError::Input(format!(
                "{}: the plan no longer matches the run ({what}); run `minewatch plan CONFIG` again and rerun the shards",
                self.objects.location()
            ))
        };
        let b = &self.plan.body;
        let p = b
            .pairs
            .get(k)
            .ok_or_else(|| stale(format!("no pair {} in the plan", pair.key())))?;
        if p.key != pair.key() {
            return Err(stale(format!("pair {} planned as {}", pair.key(), p.key)));
        }
        if p.setup.as_ref() != setup {
            return Err(stale(format!(
                "the automatic method's fit for {} differs from the planned one",
                p.key
            )));
        }
        let g = self.plan.grid();
        if g.width != grid.width || g.height != grid.height || g.transform != grid.transform {
            return Err(stale("the grid changed".into()));
        }
        Ok(())
    }

    /// A damaged tile object is moved out of the way (`.bad`), so `missing` lists its
    /// shard again and a rerun recomputes it (a waiting merge's retry computes it itself);
    /// the merge then fails as retryable (the message, for that error). When it cannot be
    /// moved, the user is asked to delete it (the error).
    fn set_aside(&self, t: &TileSpec, name: &str, what: &str) -> Result<String, PipelineError> {
        let bad = self.move_aside(name, what)?;
        Ok(format!(
            "tile object {}: {what}; moved aside to {bad}, so `minewatch missing CONFIG` now lists its shard (tile index {}): {}",
            self.objects.describe(name),
            t.index,
            if self.redo.is_some() {
                "a waiting merge started again (the engine's retry of this exit 75) computes it itself"
            } else {
                "run that shard again, then merge"
            }
        ))
    }

    /// Rename a damaged object to `NAME.bad`; its full new name, or an error asking for
    /// its deletion when it cannot be moved.
    fn move_aside(&self, name: &str, what: &str) -> Result<String, PipelineError> {
        let bad = format!("{name}.bad");
        match self.objects.rename(name, &bad) {
            Ok(()) => Ok(self.objects.describe(&bad)),
            Err(_) => Err(PipelineError::Input(format!(
                "tile object {}: {what}; delete it and run its shard again",
                self.objects.describe(name)
            ))),
        }
    }

    /// Stream pair `k`'s window rows in raster order. `send` returns false to stop.
    pub fn stream_pair(
        &self,
        k: usize,
        n_ch: usize,
        send: &mut dyn FnMut(Vec<CompactWindow>) -> bool,
    ) -> Result<(), PipelineError> {
        let tiles = &self.plan.body.tiles;
        let mut i = 0;
        while i < tiles.len() {
            let row0 = tiles[i].row;
            let j = i + tiles[i..].iter().take_while(|t| t.row == row0).count();
            let row_tiles = &tiles[i..j];
            if let Some(w) = self.wait {
                self.wait_for(row_tiles, w)?;
            }
            let objs: Vec<(String, TileObject)> = row_tiles
                .par_iter()
                .map(|t| {
                    let name = self.tile_name(t);
                    let at = self.objects.describe(&name);
                    // Only a damaged object is set aside; a failed read is retried.
                    let o = match tile::read_checked(&self.objects, &name)? {
                        Ok(o) => o,
                        Err(what) => {
                            return Err(PipelineError::Incomplete(self.set_aside(t, &name, &what)?))
                        }
                    };
                    if o.header.plan_hash != self.plan.plan_hash || o.header.channels != n_ch {
                        return Err(PipelineError::Input(format!(
                            "tile object {at}: made under another plan; run its shard again"
                        )));
                    }
                    Ok((at, o))
                })
                .collect::<Result<_, PipelineError>>()?;
            // Every tile of a tile row has the same window rows (same height).
            let first = &objs[0].1.header.pairs[k];
            let mut rows: Vec<usize> = first.iter().map(|e| e.row).collect();
            rows.dedup();
            for r in rows {
                let wanted: Vec<(usize, usize)> = objs
                    .iter()
                    .enumerate()
                    .flat_map(|(ti, (_, o))| {
                        o.header.pairs[k]
                            .iter()
                            .enumerate()
                            .filter(move |(_, e)| e.row == r)
                            .map(move |(wi, _)| (ti, wi))
                    })
                    .collect();
                let outs: Vec<CompactWindow> = wanted
                    .par_iter()
                    .map(|&(ti, wi)| objs[ti].1.window(k, wi, &objs[ti].0))
                    .collect::<Result<_, _>>()?;
                if !send(outs) {
                    return Ok(());
                }
            }
            objs.into_iter().for_each(|(_, o)| o.recycle());
            i = j;
        }
        Ok(())
    }
}
