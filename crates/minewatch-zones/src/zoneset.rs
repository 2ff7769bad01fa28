//! The zones of one run, in the work CRS: polygons with their identity, carried
//! attributes and, for rights and divisions, what the findings need.

use crate::spec::LayerSpec;
use geo_types::{LineString, MultiPolygon};
use minewatch_core::AcqDate;

/// A mining or exploration right.
#[derive(Debug, Clone, PartialEq)]
pub struct Right {
    pub licence: String,
    pub holder: String,
    pub mineral: String,
    pub exploration: bool,
    pub valid_from: Option<AcqDate>,
    pub valid_to: Option<AcqDate>,
}

impl Right {
    /// Valid on `day` (no date known: valid).
    pub fn valid_on(&self, day: Option<AcqDate>) -> bool {
        let Some(d) = day else { return true };
        self.valid_from.is_none_or(|f| f <= d) && self.valid_to.is_none_or(|t| d <= t)
    }
}

/// One zone: a feature of a layer (or a whole dissolved layer).
#[derive(Debug, Clone)]
pub struct Zone {
    /// Index of its layer in `ZoneSet::layers`.
    pub layer: usize,
    pub id: String,
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub geom: MultiPolygon<f64>,
    pub right: Option<Right>,
    /// GB/T 2260 code of an admin division, six digits.
    pub admin_code: Option<String>,
}

/// Everything loaded for an overlay.
#[derive(Debug, Clone, Default)]
pub struct ZoneSet {
    pub layers: Vec<LayerSpec>,
    pub zones: Vec<Zone>,
    /// River lines of corridor layers, for the distance to the nearest river.
    pub river_lines: Vec<LineString<f64>>,
    /// What was repaired or skipped while loading, one line each, for the manifest.
    pub notes: Vec<String>,
    /// Features read per layer, in layer order.
    pub features_read: Vec<usize>,
}
