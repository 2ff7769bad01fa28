//! Zones, mining rights and admin divisions against patches: layers declared in a TOML
//! file and read once through GDAL/OGR (or the ministry's corner-coordinate text), then
//! reprojected onto each work CRS, lines and points buffered in metres, large polygons cut into
//! pieces under an R-tree, exact overlap areas, and per-patch findings (zone hits, licence
//! status, admin place, river distance). No patch I/O: the pipeline hands patches in.

pub mod admin;
pub mod area_of_use;
pub mod buffer;
pub mod crs;
pub mod error;
pub mod findings;
mod gdal_error;
pub mod guotu;
pub mod index;
pub mod mojibake;
pub mod ogr_layer;
pub mod overlap;
pub mod repair;
pub mod river;
pub mod scale;
pub mod source;
pub mod spec;
pub mod text_table;
pub mod unplaced;
pub mod validity;
pub mod zoneset;

pub use admin::AdminCodes;
pub use crs::{Reprojector, WorkCrs};
pub use error::ZonesError;
pub use findings::{Overlay, PatchInput};
pub use ogr_layer::check;
pub use overlap::PatchShape;
pub use source::{load, LoadOptions, ReadLayers};
pub use spec::{LayerSpec, LayersSpec};
pub use zoneset::{Right, Zone, ZoneSet};
