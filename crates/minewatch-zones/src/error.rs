//! Zone errors. Every variant names the layer (its label in the layers file) and the file,
//! so a user knows which entry to fix; all but `Internal` are the user's to fix (exit 1).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ZonesError {
    #[error("layers file {path}: {msg}")]
    Spec { path: PathBuf, msg: String },
    #[error("layer `{layer}` ({path}): {msg}")]
    Layer {
        layer: String,
        path: PathBuf,
        msg: String,
    },
    #[error("layer `{layer}` ({path}): no field `{field}` (declared as {role}); the layer has: {available}")]
    Field {
        layer: String,
        path: PathBuf,
        field: String,
        role: String,
        available: String,
    },
    #[error("layer `{layer}` ({path}), feature {feature}: {msg}")]
    Feature {
        layer: String,
        path: PathBuf,
        feature: String,
        msg: String,
    },
    #[error("corner-coordinate file {path}: {source}")]
    Corners {
        path: PathBuf,
        #[source]
        source: crate::guotu::GuotuError,
    },
    #[error("admin-code table {path}: {msg}")]
    AdminCodes { path: PathBuf, msg: String },
    #[error("CRS: {0}")]
    Crs(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ZonesError {
    pub fn is_internal(&self) -> bool {
        matches!(self, ZonesError::Internal(_))
    }
}
