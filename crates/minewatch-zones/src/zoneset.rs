//! The zones of one run, in the work CRS: polygons with their identity, carried
//! attributes and, for rights and divisions, what the findings need.

use crate::spec::LayerSpec;
use geo_types::{LineString, MultiPolygon, Polygon};
use minewatch_core::{AcqDate, ZoneKind};
use std::collections::BTreeMap;

/// Ids named in one warning: enough to find them in a file, the rest counted.
pub const SHOWN: usize = 5;

/// `a, b, c and 7 more`: the first `shown` of `ids`, in the order given.
pub fn some_ids(ids: &[String], shown: usize) -> String {
    let more = ids.len().saturating_sub(shown);
    let mut s = ids[..ids.len().min(shown)].join(", ");
    if more > 0 {
        s.push_str(&format!(" and {more} more"));
    }
    s
}

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
    /// Whether the right was first granted after `day`: only when every date known for
    /// it says so — its validity start, and the year and month of issue in a mining
    /// licence's number (`C` + the six-digit division code + YYYYMM + …, 采矿许可证号). A
    /// renewal (延续) or change (变更) moves the start that registers list but keeps the
    /// number; an old licence given a new-format number keeps its start. A number of
    /// `day`'s own month counts as after (the field check dates it rather than miss it).
    /// Nothing known: not granted after.
    pub fn granted_after(&self, day: AcqDate) -> bool {
        let by_start = self.valid_from.map(|f| f > day);
        let by_number = first_issue(&self.licence).map(|ym| ym >= (day.year, day.month));
        match (by_start, by_number) {
            (Some(s), Some(n)) => s && n,
            (Some(x), None) | (None, Some(x)) => x,
            (None, None) => false,
        }
    }

    /// Whether the right has a validity period to judge a date against.
    pub fn validity_known(&self) -> bool {
        self.valid_from.is_some() || self.valid_to.is_some()
    }

    /// Whether anything says when the right was granted (its start date or its number).
    pub fn grant_known(&self) -> bool {
        self.valid_from.is_some() || first_issue(&self.licence).is_some()
    }

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
    /// The feature it was made from, as its index among its layer's features as read:
    /// the same in every work CRS, so a feature near the patches of two CRSs is one
    /// feature, not two. `None` for a dissolved layer's one zone.
    pub feature: Option<usize>,
}

/// Everything loaded for an overlay.
#[derive(Debug, Clone, Default)]
pub struct ZoneSet {
    pub layers: Vec<LayerSpec>,
    pub zones: Vec<Zone>,
    /// River lines of corridor layers, for the distance to the nearest river.
    pub river_lines: Vec<LineString<f64>>,
    /// Rivers drawn as polygons in corridor layers, as drawn (before `buffer_m` grows
    /// them), for the same distance: 0 inside one.
    pub river_areas: Vec<Polygon<f64>>,
    /// What was repaired or skipped while loading, one line each, for the manifest.
    pub notes: Vec<String>,
    /// The notes the user must see at once (also on stderr): what was guessed or could
    /// not be checked, and changes the findings if wrong.
    pub warnings: Vec<String>,
    /// Features read per layer, in layer order.
    pub features_read: Vec<usize>,
    /// Layers (indexes into `layers`) with no features at all under their filter, not just
    /// none near the patches; each also has a note.
    pub empty_layers: Vec<usize>,
    /// Features left out because their geometry could not be repaired: (layer index, id).
    /// Each also has a warning.
    pub skipped: Vec<(usize, String)>,
}

impl ZoneSet {
    /// A note that is also said on stderr.
    pub fn warn(&mut self, w: String) {
        self.notes.push(w.clone());
        self.warnings.push(w);
    }

    /// Warns when one id names several zones of layer `li` among `self.zones[from..]` (the
    /// layer's, just loaded): each stays its own zone, listed apart in the hits, which
    /// reads like two red lines where the file may mean one drawn in parts, or an id field
    /// that is not one. Not for admin divisions, whose parts are one division by design.
    pub fn warn_duplicate_ids(&mut self, li: usize, from: usize) {
        let l = &self.layers[li];
        if l.kind == ZoneKind::AdminDivision {
            return;
        }
        let mut count: BTreeMap<&str, usize> = BTreeMap::new();
        let mut order: Vec<&str> = Vec::new();
        for z in &self.zones[from..] {
            let n = count.entry(z.id.as_str()).or_insert(0);
            if *n == 0 {
                order.push(z.id.as_str());
            }
            *n += 1;
        }
        let twice: Vec<String> = order
            .into_iter()
            .filter(|id| count[id] > 1)
            .map(|id| format!("{id} ({} features)", count[id]))
            .collect();
        if twice.is_empty() {
            return;
        }
        let w = format!(
            "layer `{}` ({}): {} zone id(s) name more than one feature near the patches: {}; each feature stays its own zone (its own hit in zone_hits.csv, its overlap counted once in the areas by kind) — if they are one zone, merge them; if not, check `id_field`",
            l.name,
            l.path.display(),
            twice.len(),
            some_ids(&twice, SHOWN)
        );
        self.warn(w);
    }
}

/// Year and month of first issue from a mining licence number (`C` and 22 digits: the
/// division code, then YYYYMM), or `None` when the number has another form.
fn first_issue(licence: &str) -> Option<(u16, u8)> {
    let l = licence.trim().as_bytes();
    if l.len() != 23 || l[0] != b'C' || !l[1..].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let num = |a: usize, b: usize| std::str::from_utf8(&l[a..b]).ok()?.parse::<u16>().ok();
    let (year, month) = (num(7, 11)?, num(11, 13)?);
    ((1949..=2100).contains(&year) && (1..=12).contains(&month)).then_some((year, month as u8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_listed_first_few_then_counted() {
        let ids: Vec<String> = (1..=7).map(|k| format!("C{k}")).collect();
        assert_eq!(some_ids(&ids, 5), "C1, C2, C3, C4, C5 and 2 more");
        assert_eq!(some_ids(&ids[..2], 5), "C1, C2");
    }
}
