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
}

impl PipelineError {
    pub fn exit_code(&self) -> i32 {
        match self {
            PipelineError::Internal(_) => 2,
            PipelineError::Zones(z) if z.is_internal() => 2,
            _ => 1,
        }
    }
}
