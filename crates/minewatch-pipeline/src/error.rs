//! Pipeline errors and the exit code each maps to (1: the user can fix the input or
//! configuration; 2: an internal error).

use minewatch_raster::RasterError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Raster(#[from] RasterError),
    #[error(transparent)]
    Zones(#[from] minewatch_zones::ZonesError),
    #[error("{path}: {msg}")]
    Params { path: PathBuf, msg: String },
    #[error("{0}")]
    Input(String),
    #[error("output folder {path}: {msg}; choose a folder you can write to with --out")]
    Output { path: PathBuf, msg: String },
    #[error("internal error: {0}")]
    Internal(String),
    /// Work that is not finished yet (a merge before every shard is done): retry later.
    #[error("{0}")]
    Incomplete(String),
}

impl PipelineError {
    pub fn exit_code(&self) -> i32 {
        match self {
            PipelineError::Internal(_) => 2,
            PipelineError::Zones(z) if z.is_internal() => 2,
            _ => 1,
        }
    }

    /// The exit code a batch engine acts on: 75 (EX_TEMPFAIL) for what a retry can fix —
    /// an output that could not be written, a read that failed midway, work not yet
    /// finished (or a damaged tile set aside for recomputation) — and 65 (EX_DATAERR)
    /// for everything a retry would only repeat.
    pub fn engine_exit_code(&self) -> i32 {
        match self {
            PipelineError::Output { .. } | PipelineError::Incomplete(_) => 75,
            // A read that failed midway (a network file system, object storage) may work
            // on the next attempt; a file that is missing or not a raster will not.
            PipelineError::Raster(minewatch_raster::RasterError::Read { .. }) => 75,
            _ => 65,
        }
    }
}
