//! The zones of one run, in the work CRS: polygons with their identity, carried
//! attributes and, for rights and divisions, what the findings need.

use crate::spec::LayerSpec;
use geo_types::{LineString, MultiPolygon};
use minewatch_core::AcqDate;

/// A right's standing on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RightState {
    Valid,
    Expired,
    NotYetValid,
}

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
    /// Whether the right was in force on `day` (the later image's date), ended before
    /// it, or was granted after it. Without a day (a patch file without dates) every
    /// right counts as valid; the overlay says so in its notes.
    pub fn state_on(&self, day: Option<AcqDate>) -> RightState {
        let Some(d) = day else {
            return RightState::Valid;
        };
        if self.valid_from.is_some_and(|f| d < f) {
            RightState::NotYetValid
        } else if self.valid_to.is_some_and(|t| t < d) {
            RightState::Expired
        } else {
            RightState::Valid
        }
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
