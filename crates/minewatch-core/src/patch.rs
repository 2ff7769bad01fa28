//! Patch records: one suspected change patch (疑似变化图斑) of one date pair, in grid
//! pixel coordinates plus the georeferenced facts computed when it is written.

use crate::date::DatePair;
use serde::{Deserialize, Serialize};

/// A closed ring of pixel-corner coordinates (col, row); first point repeated at the end.
pub type PixelRing = Vec<(i64, i64)>;

/// Polygons of a patch in pixel-corner coordinates: each polygon is a shell followed by
/// its holes. Shells are counter-clockwise and holes clockwise in map space (y up).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PatchGeometry {
    pub polygons: Vec<Vec<PixelRing>>,
}

/// Mean and maximum of one per-pixel quantity over a patch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelStat {
    pub name: String,
    pub mean: f64,
    pub max: f64,
}

/// One patch as detection hands it on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchRecord {
    /// `<before>_<after>_r<row>c<col>` of the patch's first pixel in raster order: depends on
    /// the data only, never on processing order.
    pub id: String,
    pub pair: DatePair,
    /// First pixel in raster order (row, col).
    pub first_pixel: (u32, u32),
    pub pixels: u64,
    /// Pixel bounding box: min col, min row, max col (exclusive), max row (exclusive).
    pub bbox_px: (u32, u32, u32, u32),
    pub stats: Vec<ChannelStat>,
    pub geometry: PatchGeometry,
}

impl PatchRecord {
    pub fn make_id(pair: &DatePair, row: u32, col: u32) -> String {
        format!("{}_r{row}c{col}", pair.key())
    }
}
