//! Composes the stages into runs: resolves inputs and parameters, streams windows
//! through the raster reader and the detection kernel on a rayon pool, stitches rows
//! into patches, georeferences them and writes every output atomically with a manifest.

pub mod auto_run;
pub mod classify;
pub mod compact;
pub mod compared_pairs;
pub mod detect_run;
pub mod error;
pub mod eval_run;
pub mod eval_scope;
pub mod eval_validity;
pub mod file_hash;
pub mod georef;
pub mod hash_cache;
pub mod inputs;
pub mod manifest;
pub mod object_image;
pub mod overlay_run;
pub mod package_run;
mod package_text;
pub mod params;
pub mod patch_table;
pub mod rank_run;
pub mod returned;
mod returned_folder;
pub mod run_all;
pub mod run_check;
pub mod run_config;
pub mod run_folder;
pub mod s3;
pub mod screen;
pub mod shard;
pub mod sidecar;
pub mod stage_outputs;
pub mod staging;
pub mod table_read;
pub mod verify_run;
pub mod write;
mod xlsx_merges;

pub use detect_run::{run_detect, DetectRequest, DetectSummary};
pub use error::PipelineError;
pub use eval_run::{run_eval, EvalReport, EvalRequest};
pub use overlay_run::{run_overlay, Header, OverlayRequest, OverlaySummary};
pub use params::{DetectParams, Method, MmuMode};
pub use rank_run::{run_rank, RankRequest, RankSummary};
pub use verify_run::{
    run_audit, run_sample, AuditRequest, AuditSummary, SampleRequest, SampleSummary,
};

/// Process-wide settings (GDAL cache bound, deterministic GeoPackages). Call once at start.
pub fn configure() {
    minewatch_raster::configure_gdal(128);
}
