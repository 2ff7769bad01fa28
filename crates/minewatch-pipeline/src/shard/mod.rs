//! Scale-out on a batch engine: `plan` cuts the grid into tiles, `run --shard I` computes
//! the kernel for a few tiles and stores each as one checksummed object, `missing` lists
//! what is left as compact index ranges, `merge` streams the finished tiles through the
//! same sieve → label → polygon → writer path a single-process run takes (so the outputs
//! are byte-identical), then runs the global stages; `emit` prints launchers for Slurm and
//! Kubernetes. See docs/decisions/0002-scale-out-design.md.

pub mod emit;
pub mod objects;
pub mod plan;
pub mod ranges;
pub mod run;
pub mod store;
pub mod tile;

pub use objects::ShardObjects;
pub use plan::{Plan, TileSpec};
pub use store::TileStore;

use std::path::{Path, PathBuf};

/// The folder of a run's plan and tiles, inside the run's output folder.
pub fn shards_dir(out: &Path) -> PathBuf {
    out.join("shards")
}

/// The store of a resolved run config whose outputs go to `out`.
pub fn objects_of(
    shards: Option<&crate::run_config::ShardsStage>,
    out: &Path,
) -> Result<ShardObjects, crate::error::PipelineError> {
    objects::open(shards.and_then(|s| s.store.as_deref()), &shards_dir(out))
}
