//! From overlaps to findings: zone hits with areas and shares, the licence status under
//! 法释〔2016〕25号 (outside the licensed area counts as unlicensed), project and special-land
//! flags, the admin place from the division holding the largest part, the distance to the
//! nearest river, and the ≥ 10 亩 provincial-check flag.
//!
//! Areas: overlaps are measured in the work CRS and reported as shares of the patch times
//! the patch's own ellipsoidal area, so a finding's m² are on the ellipsoid like the patch's.

use crate::admin::AdminCodes;
use crate::index::ZoneIndex;
use crate::overlap::{zone_overlaps, PatchShape};
use crate::river::RiverIndex;
use crate::zoneset::{RightState, ZoneSet};
use geo::{Area, BooleanOps};
use geo_types::MultiPolygon;
use minewatch_core::units::M2_PER_MU;
use minewatch_core::{AcqDate, AdminLevel, AdminPlace, Finding, LicenceStatus, ZoneHit, ZoneKind};
use rayon::prelude::*;
use std::collections::BTreeMap;

/// Area of the patch inside the union of each kind's zones, m² on the ellipsoid, keyed by
/// the kind's name (`custom` for every custom kind): zones of one kind that overlap each
/// other count once. Kinds the patch does not meet are absent.
pub type KindAreas = BTreeMap<String, f64>;

/// One patch to place.
#[derive(Debug, Clone)]
pub struct PatchInput {
    pub id: String,
    pub shape: PatchShape,
    /// Area on the ellipsoid, m².
    pub area_m2: f64,
    /// The later image date: rights are judged valid or expired on it.
    pub date: Option<AcqDate>,
    /// The earlier image date: a right granted after it may postdate the works.
    pub date_before: Option<AcqDate>,
}

/// A division at one level: the part of the patch it holds (planar), its code and its
/// features' overlaps.
type Candidate<'c> = (f64, &'c str, &'c [(usize, f64)]);

pub struct Overlay<'a> {
    set: &'a ZoneSet,
    index: ZoneIndex,
    rivers: RiverIndex,
    admin: Option<&'a AdminCodes>,
    inside_tolerance_pct: f64,
    /// The set has a rights layer (`spec::screens_rights`); else every status is
    /// `not_checked`.
    screened: bool,
}

impl<'a> Overlay<'a> {
    pub fn new(set: &'a ZoneSet, admin: Option<&'a AdminCodes>, inside_tolerance_pct: f64) -> Self {
        let geoms: Vec<&MultiPolygon<f64>> = set.zones.iter().map(|z| &z.geom).collect();
        Self {
            index: ZoneIndex::build(&geoms),
            rivers: RiverIndex::new(&set.river_lines, &set.river_areas),
            screened: crate::spec::screens_rights(&set.layers),
            set,
            admin,
            inside_tolerance_pct,
        }
    }

    pub fn pieces(&self) -> usize {
        self.index.pieces.len()
    }

    /// Findings and overlap areas by kind for every patch, in input order, computed in
    /// parallel.
    pub fn run(&self, patches: &[PatchInput]) -> Vec<(Finding, KindAreas)> {
        patches.par_iter().map(|p| self.assess(p)).collect()
    }

    /// Planar overlaps in the work CRS (zone number, m²): the raw measure, for checks
    /// against other tools.
    pub fn planar_overlaps(&self, shape: &PatchShape) -> Vec<(u32, f64)> {
        zone_overlaps(shape, &self.index)
    }

    /// Planar area of the patch inside the union of `zones` (zone, overlap): the patch is
    /// cut by each zone and the pieces united (polygon parts only), so adjoining or
    /// overlapping zones — two licences over one pit, a red line drawn twice — are
    /// measured once.
    fn covered(&self, p: &PatchInput, zones: &[(usize, f64)]) -> f64 {
        let planar = p.shape.area;
        // The same polygon drawn twice is measured as drawn once: through the union its
        // area differs from the single zone's exact clip in the last bits, which decided
        // a patch exactly half in special land (50 % drawn twice, 49.99…% once).
        let mut distinct: Vec<(usize, f64)> = Vec::with_capacity(zones.len());
        for &(z, a) in zones {
            let geom = &self.set.zones[z].geom;
            if !distinct
                .iter()
                .any(|&(d, _)| self.set.zones[d].geom == *geom)
            {
                distinct.push((z, a));
            }
        }
        match distinct.as_slice() {
            [] => 0.0,
            [(_, a)] => *a,
            // One zone holds the whole patch (the exact fast path said so): so does the union.
            _ if distinct.iter().any(|&(_, a)| a >= planar) => planar,
            _ => {
                let mut u: Option<MultiPolygon<f64>> = None;
                for &(z, _) in &distinct {
                    let piece = p.shape.geom.intersection(&self.set.zones[z].geom);
                    u = Some(match u {
                        None => piece,
                        Some(u) => u.union(&piece),
                    });
                }
                u.map_or(0.0, |u| u.unsigned_area()).min(planar)
            }
        }
    }

    /// The patch's admin place, finest level first: the division holding the largest
    /// part at the finest level present decides, and each coarser level takes the largest
    /// of its divisions whose code contains the finer one (GB/T 2260: a county's first four
    /// digits are its prefecture's, the first two its province's). Layers of different
    /// scales disagree along borders by hundreds of metres, and a record reading 天津市 /
    /// 唐山市 / 遵化市 files the patch under the wrong province. When a coarser layer holds
    /// more of the patch in another division, its code comes from the finer one's and
    /// the disagreement is returned ("province layer `p` puts it in 120000 天津市").
    fn place(
        &self,
        p: &PatchInput,
        divisions: &[BTreeMap<String, Vec<(usize, f64)>>; 3],
    ) -> (AdminPlace, Vec<String>) {
        let mut admin = AdminPlace::default();
        let mut overruled = Vec::new();
        let mut finer: Option<String> = None;
        for lvl in (0..3).rev() {
            let codes = &divisions[lvl];
            let digits = [2, 4, 6][lvl];
            let fits = |code: &str| {
                finer.as_deref().is_none_or(|f| {
                    f.len() != 6 || (code.len() == 6 && code[..digits] == f[..digits])
                })
            };
            // The division (code) holding the largest part wins, its features taken
            // together; a tie goes to the smaller code (the map is in code order), not to
            // load order.
            let mut best: Option<Candidate> = None;
            let mut best_fit: Option<Candidate> = None;
            for (code, zones) in codes {
                let a = self.covered(p, zones);
                if best.is_none_or(|(ba, _, _)| a > ba) {
                    best = Some((a, code, zones));
                }
                if fits(code) && best_fit.is_none_or(|(ba, _, _)| a > ba) {
                    best_fit = Some((a, code, zones));
                }
            }
            let Some((_, best_code, best_zones)) = best else {
                continue;
            };
            // Its name from the first of its features that has one.
            let named = |zones: &[(usize, f64)]| {
                let z = zones
                    .iter()
                    .map(|&(z, _)| z)
                    .find(|&z| !self.set.zones[z].name.is_empty())
                    .unwrap_or(zones[0].0);
                let zone = &self.set.zones[z];
                (
                    zone.admin_code.clone(),
                    (!zone.name.is_empty()).then(|| zone.name.clone()),
                )
            };
            let (code, name) = match best_fit {
                Some((_, _, zones)) => named(zones),
                // No division of this layer contains the finer one: its parent by code.
                None => (
                    finer.as_deref().map(|f| format!("{:0<6}", &f[..digits])),
                    None,
                ),
            };
            if best_fit.is_none_or(|(_, c, _)| c != best_code) {
                let (_, bname) = named(best_zones);
                let layer = &self.set.layers[self.set.zones[best_zones[0].0].layer].name;
                let word = ["province", "prefecture", "county"][lvl];
                overruled.push(format!(
                    "{word} layer `{layer}` puts most of it in {best_code}{}",
                    bname.map(|n| format!(" {n}")).unwrap_or_default()
                ));
            }
            if finer.is_none() {
                finer = code.clone();
            }
            match lvl {
                0 => (admin.province_code, admin.province_name) = (code, name),
                1 => (admin.prefecture_code, admin.prefecture_name) = (code, name),
                _ => (admin.county_code, admin.county_name) = (code, name),
            }
        }
        (admin, overruled)
    }

    pub fn finding(&self, p: &PatchInput) -> Finding {
        self.assess(p).0
    }

    /// The finding of one patch and its overlap area by zone kind.
    pub fn assess(&self, p: &PatchInput) -> (Finding, KindAreas) {
        let overlaps = zone_overlaps(&p.shape, &self.index);
        let planar = p.shape.area;
        let scale = if planar > 0.0 {
            p.area_m2 / planar
        } else {
            1.0
        };
        let mut hits = Vec::new();
        // Admin overlaps per level and division code: a county stored as several features
        // (an exclave, a layer cut at a map sheet) is one county.
        let mut divisions: [BTreeMap<String, Vec<(usize, f64)>>; 3] = Default::default();
        let mut valid_mining: Vec<(usize, f64)> = Vec::new();
        // Valid exploration rights and expired rights the patch overlaps: they name the
        // patch's status only where they hold most of it (below).
        let mut exploration: Vec<(usize, f64)> = Vec::new();
        let mut expired: Vec<(usize, f64)> = Vec::new();
        let (mut restoration, mut construction) = (false, false);
        // Overlaps by kind, united below: zones of one kind may overlap each other.
        let mut by_kind: BTreeMap<String, Vec<(usize, f64)>> = BTreeMap::new();
        // (licence, holder, mineral) of every right the patch meets.
        let mut licences: Vec<String> = Vec::new();
        let mut holders: Vec<String> = Vec::new();
        let mut minerals: Vec<String> = Vec::new();
        // Whether every right met was judged on the patch's date (None: no right met).
        let mut validity_checked: Option<bool> = None;
        for &(z, a) in &overlaps {
            let z = z as usize;
            let zone = &self.set.zones[z];
            let layer = &self.set.layers[zone.layer];
            if layer.kind == ZoneKind::AdminDivision {
                let lvl = match layer.level {
                    Some(AdminLevel::Province) => 0,
                    Some(AdminLevel::Prefecture) => 1,
                    _ => 2,
                };
                divisions[lvl]
                    .entry(zone.admin_code.clone().unwrap_or_default())
                    .or_default()
                    .push((z, a));
                continue;
            }
            // A right's own type decides its kind: an exploration right (探矿权) in a
            // mining-rights layer is an exploration right in its hit and its area column,
            // not counted as mining-right area beside the patch's area outside every valid
            // mining right (which together made up to twice the patch).
            let kind = if zone.right.as_ref().is_some_and(|r| r.exploration) {
                ZoneKind::ExplorationRight
            } else {
                layer.kind.clone()
            };
            match &layer.kind {
                ZoneKind::MiningRight | ZoneKind::ExplorationRight => {
                    if let Some(r) = &zone.right {
                        licences.push(r.licence.clone());
                        holders.push(r.holder.clone());
                        minerals.push(r.mineral.clone());
                        let judged = p.date.is_some() && r.validity_known();
                        validity_checked = Some(validity_checked.unwrap_or(true) && judged);
                        match (r.exploration, r.state_on(p.date)) {
                            (false, RightState::Valid) => valid_mining.push((z, a)),
                            (true, RightState::Valid) => exploration.push((z, a)),
                            (_, RightState::Expired) => expired.push((z, a)),
                            // Granted after the image: no right on that date (无证 then);
                            // the licence is still listed.
                            (_, RightState::NotYetValid) => {}
                        }
                    }
                }
                ZoneKind::RestorationProject => restoration = true,
                ZoneKind::ConstructionProject => construction = true,
                _ => {}
            }
            let key = match &kind {
                ZoneKind::Custom(_) => "custom".to_string(),
                k => k.name(),
            };
            by_kind.entry(key).or_default().push((z, a));
            hits.push(ZoneHit {
                layer: layer.name.clone(),
                kind,
                zone_id: zone.id.clone(),
                zone_name: zone.name.clone(),
                overlap_m2: a * scale,
                grid_overlap_m2: a,
                overlap_pct: if planar > 0.0 {
                    100.0 * a / planar
                } else {
                    0.0
                },
                attrs: zone.attrs.clone(),
            });
        }
        let covered = self.covered(p, &valid_mining);
        let outside_planar = (planar - covered).max(0.0);
        let kind_planar: BTreeMap<String, f64> = by_kind
            .iter()
            .map(|(k, zones)| (k.clone(), self.covered(p, zones)))
            .collect();
        // How precisely a pixel patch meets a drawn line: a share of the patch, but never
        // more than 1 亩 (a large patch cannot hide a real excursion outside its licence
        // inside the tolerance). "Inside" is within it of the whole patch, "at least half"
        // within it of half, so an exact half never turns on float rounding.
        let tol = (self.inside_tolerance_pct / 100.0 * planar).min(M2_PER_MU / scale.max(1e-12));
        let holds_half = |a: f64| planar > 0.0 && a >= 0.5 * planar - tol;
        // Special land decides a patch only when it holds at least half of it: a sliver of
        // military land along an edge must not cancel the check of the rest. Measured on
        // the union of the special-land zones: the same barracks drawn twice is not twice
        // the land.
        let special_planar = kind_planar.get("special_land").copied().unwrap_or(0.0);
        let special = holds_half(special_planar);
        let outside_m2 = outside_planar * scale;
        // Valid mining rights name the patch by the tolerance rule the other rights follow:
        // covering it within the tolerance → inside; a sliver (at most the tolerance)
        // along a licence line pins nothing on that licensee; more than a sliver → 越界,
        // unless an exploration right or an expired licence holds at least half of a
        // patch the valid rights do not (the larger share names the patch, as between
        // those two).
        let (by_expl, by_expired) = (self.covered(p, &exploration), self.covered(p, &expired));
        let other_half = holds_half(by_expl) || holds_half(by_expired);
        // Without any rights layer nothing was screened: no patch is 无证 for want of it.
        let screened = self.screened;
        let licence_status = if !screened {
            LicenceStatus::NotChecked
        } else if !valid_mining.is_empty() && outside_planar <= tol {
            LicenceStatus::Inside
        } else if covered > tol && (holds_half(covered) || !other_half) {
            LicenceStatus::PartlyOutside
        } else {
            // Without a valid mining right the patch is unlicensed (无证) however it is
            // named; an exploration right (以探代采) or an expired licence names it only
            // where it holds at least half of the patch, so a sliver along a licence line
            // does not pin the case on that right's holder. When both do, the larger wins;
            // within the tolerance of each other (half each) the exploration right, which
            // is in force on the date: its holder answers for the works now.
            match (holds_half(by_expl), holds_half(by_expired)) {
                (true, true) if by_expired > by_expl + tol => LicenceStatus::Expired,
                (true, _) => LicenceStatus::ExplorationOnly,
                (false, true) => LicenceStatus::Expired,
                (false, false) => LicenceStatus::OutsideAllRights,
            }
        };
        // Licences sorted; holders and minerals distinct, in the order of their licences,
        // so the lists line up (the first holder is the first licence's).
        let mut rights: Vec<(String, String, String)> = licences
            .into_iter()
            .zip(holders)
            .zip(minerals)
            .map(|((l, h), m)| (l, h, m))
            .collect();
        rights.sort();
        let mut licences: Vec<String> = Vec::new();
        let mut holders: Vec<String> = Vec::new();
        let mut minerals: Vec<String> = Vec::new();
        for (l, h, m) in rights {
            for (v, x) in [(&mut licences, l), (&mut holders, h), (&mut minerals, m)] {
                if !x.is_empty() && !v.contains(&x) {
                    v.push(x);
                }
            }
        }
        let (mut admin, admin_overruled) = self.place(p, &divisions);
        if let Some(t) = self.admin {
            t.complete(&mut admin);
        }
        let illegal = licence_status.suspect();
        // Part of the patch is covered only by rights granted after the earlier image: the
        // change there may have begun before the grant (先采后批), so the check must date
        // it. Renewals and touching neighbours do not count (`Right::granted_after`, the
        // inside tolerance). `None` unless both dates are known and in order.
        let licence_granted_in_pair = match (p.date_before, p.date) {
            (Some(b), Some(a)) if b < a => {
                let held: Vec<(usize, f64)> = valid_mining
                    .iter()
                    .copied()
                    .filter(|&(z, _)| {
                        self.set.zones[z]
                            .right
                            .as_ref()
                            .is_some_and(|r| !r.granted_after(b))
                    })
                    .collect();
                Some(held.len() < valid_mining.len() && covered - self.covered(p, &held) > tol)
            }
            _ => None,
        };
        let kind_m2: KindAreas = kind_planar
            .into_iter()
            .map(|(k, a)| (k, (a * scale).min(p.area_m2)))
            .collect();
        let finding = Finding {
            patch_id: p.id.clone(),
            area_m2: p.area_m2,
            hits,
            licence_status,
            outside_licence_m2: if screened { outside_m2 } else { 0.0 },
            licence_granted_in_pair,
            licence_validity_checked: validity_checked,
            licences,
            holders,
            minerals,
            in_restoration_project: restoration,
            in_construction_project: construction,
            special_land: special,
            admin,
            admin_overruled,
            river_distance_m: self.rivers.distance(&p.shape),
            over_10_mu_illegal: illegal && !special && outside_m2 >= 10.0 * M2_PER_MU,
        };
        (finding, kind_m2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::rect_polygon;
    use crate::spec::LayersSpec;
    use crate::zoneset::{Right, Zone};
    use std::path::Path;

    fn spec() -> LayersSpec {
        LayersSpec::from_str(
            r#"
[[layer]]
name = "rights"
path = "r.gpkg"
kind = "mining_right"
[[layer]]
name = "explore"
path = "e.gpkg"
kind = "exploration_right"
[[layer]]
name = "army"
path = "s.gpkg"
kind = "special_land"
[[layer]]
name = "counties"
path = "c.gpkg"
kind = "admin_division"
level = "county"
code_field = "code"
[[layer]]
name = "restore"
path = "r.gpkg"
kind = "restoration_project"
[[layer]]
name = "build"
path = "b.gpkg"
kind = "construction_project"
"#,
            Path::new("l.toml"),
            Path::new("."),
        )
        .unwrap()
    }

    fn zone(layer: usize, id: &str, b: [f64; 4], right: Option<Right>) -> Zone {
        Zone {
            layer,
            id: id.into(),
            name: format!("name {id}"),
            attrs: vec![],
            geom: MultiPolygon(vec![rect_polygon(b)]),
            right,
            admin_code: (layer == 3).then(|| id.to_string()),
            feature: None,
        }
    }

    fn right(id: &str, to: Option<AcqDate>) -> Option<Right> {
        Some(Right {
            licence: id.into(),
            holder: "h".into(),
            mineral: "煤".into(),
            exploration: false,
            valid_from: None,
            valid_to: to,
        })
    }

    fn patch(b: [f64; 4]) -> PatchInput {
        let shape = PatchShape::new(MultiPolygon(vec![rect_polygon(b)])).unwrap();
        PatchInput {
            id: "p".into(),
            area_m2: shape.area * 1.001,
            shape,
            date: AcqDate::new(2024, 6, 1),
            date_before: AcqDate::new(2023, 6, 1),
        }
    }

    /// Review finding (revY F3): a layers file without any rights layer (the shipped
    /// Nanjing demo) made every patch 无证 and ≥ 10 亩 suspected illegal, and rank added
    /// the 无证 term and a provincial check to every site.
    #[test]
    fn without_a_rights_layer_nothing_is_unlicensed() {
        let mut layers = spec().layers;
        layers[0].kind = ZoneKind::NatureReserve;
        layers[1].kind = ZoneKind::NatureReserve;
        let set = ZoneSet {
            layers,
            zones: vec![zone(0, "N1", [0.0, 0.0, 100.0, 100.0], None)],
            ..Default::default()
        };
        let ov = Overlay::new(&set, None, 1.0);
        for b in [[500.0, 500.0, 600.0, 600.0], [0.0, 0.0, 100.0, 100.0]] {
            let f = ov.finding(&patch(b));
            assert_eq!(f.licence_status, LicenceStatus::NotChecked);
            assert!(!f.licence_status.suspect());
            assert!(!f.over_10_mu_illegal, "10000 m², but nothing was screened");
            assert_eq!(f.outside_licence_m2, 0.0);
        }
        // One rights layer, even with no right near the patch, screens it.
        let mut set = set;
        set.layers[1].kind = ZoneKind::MiningRight;
        let f = Overlay::new(&set, None, 1.0).finding(&patch([500.0, 500.0, 600.0, 600.0]));
        assert_eq!(f.licence_status, LicenceStatus::OutsideAllRights);
        assert!(f.over_10_mu_illegal);
    }

    #[test]
    fn licence_status_follows_the_law() {
        let d2020 = AcqDate::new(2020, 1, 1);
        let set = ZoneSet {
            layers: spec().layers,
            zones: vec![
                zone(0, "L1", [0.0, 0.0, 100.0, 100.0], right("L1", None)),
                zone(0, "L2", [100.0, 0.0, 200.0, 100.0], right("L2", None)),
                zone(0, "OLD", [1000.0, 0.0, 1100.0, 100.0], right("OLD", d2020)),
                zone(1, "E1", [2000.0, 0.0, 2100.0, 100.0], None),
                zone(2, "S1", [3000.0, 0.0, 3100.0, 100.0], None),
                zone(3, "320115", [-5000.0, -5000.0, 2050.0, 5000.0], None),
                zone(3, "320116", [2050.0, -5000.0, 9000.0, 5000.0], None),
                zone(4, "R1", [4000.0, 0.0, 4100.0, 100.0], None),
                zone(0, "L3", [5000.0, 0.0, 5300.0, 300.0], right("L3", None)),
                zone(2, "S2", [6000.0, 0.0, 6001.0, 100.0], None),
                zone(5, "B1", [4050.0, 0.0, 4150.0, 100.0], None),
            ],
            ..Default::default()
        };
        let mut set = set;
        set.zones[3].right = Some(Right {
            exploration: true,
            ..right("E1", None).unwrap()
        });
        let ov = Overlay::new(&set, None, 1.0);
        // Across two adjoining valid licences: inside.
        let f = ov.finding(&patch([50.0, 10.0, 150.0, 90.0]));
        assert_eq!(f.licence_status, LicenceStatus::Inside);
        assert_eq!(f.licences, vec!["L1", "L2"]);
        assert!(f.outside_licence_m2 < 1e-6);
        // Half outside: 越界 with the outside area (ellipsoidal scale applied).
        let f = ov.finding(&patch([150.0, 0.0, 250.0, 100.0]));
        assert_eq!(f.licence_status, LicenceStatus::PartlyOutside);
        assert!((f.outside_licence_m2 - 5000.0 * 1.001).abs() < 1e-6);
        assert!(!f.over_10_mu_illegal, "5000 m² is under 10 亩");
        // Only an expired licence; only an exploration right; nothing.
        let f = ov.finding(&patch([1010.0, 10.0, 1020.0, 20.0]));
        assert_eq!(f.licence_status, LicenceStatus::Expired);
        let f = ov.finding(&patch([2010.0, 10.0, 2020.0, 20.0]));
        assert_eq!(f.licence_status, LicenceStatus::ExplorationOnly);
        let f = ov.finding(&patch([500.0, 500.0, 600.0, 600.0]));
        assert_eq!(f.licence_status, LicenceStatus::OutsideAllRights);
        assert!(f.over_10_mu_illegal, "10000 m² outside any right");
        // Special land: false change by rule, never a provincial check.
        let f = ov.finding(&patch([3000.0, 0.0, 3100.0, 100.0]));
        assert!(f.special_land && !f.over_10_mu_illegal);
        // 0.9 % outside a big licence is 810 m² > 1 亩: not hidden by the 1 % tolerance.
        let f = ov.finding(&patch([4997.3, 0.0, 5297.3, 300.0]));
        assert_eq!(f.licence_status, LicenceStatus::PartlyOutside);
        // A 1 m sliver of special land does not cancel a 30 亩 unlicensed patch.
        let f = ov.finding(&patch([6000.0, 0.0, 6200.0, 100.0]));
        assert!(!f.special_land && f.over_10_mu_illegal);
        assert!(f.hits.iter().any(|h| h.kind == ZoneKind::SpecialLand));
        // Mining in the name of restoration or construction: flagged, still unlicensed.
        let f = ov.finding(&patch([4060.0, 10.0, 4090.0, 90.0]));
        assert!(f.in_restoration_project && f.in_construction_project);
        assert_eq!(f.licence_status, LicenceStatus::OutsideAllRights);
        let f = ov.finding(&patch([4110.0, 10.0, 4140.0, 90.0]));
        assert!(!f.in_restoration_project && f.in_construction_project);
        // The county holding the larger part wins.
        let f = ov.finding(&patch([2000.0, 0.0, 2200.0, 10.0]));
        assert_eq!(f.admin.county_code.as_deref(), Some("320116"));
        let f = ov.finding(&patch([1950.0, 0.0, 2100.0, 10.0]));
        assert_eq!(f.admin.county_code.as_deref(), Some("320115"));
        // Admin divisions are not listed as zone hits.
        assert!(f.hits.iter().all(|h| h.kind != ZoneKind::AdminDivision));
        // A 0.5 % sliver of an exploration right or of an expired licence does not name
        // the patch: it is unlicensed, and the right is still listed.
        let f = ov.finding(&patch([2099.5, 0.0, 2199.5, 100.0]));
        assert_eq!(f.licence_status, LicenceStatus::OutsideAllRights);
        assert_eq!(f.licences, vec!["E1"]);
        let f = ov.finding(&patch([1099.5, 0.0, 1199.5, 100.0]));
        assert_eq!(f.licence_status, LicenceStatus::OutsideAllRights);
        assert_eq!(f.licences, vec!["OLD"]);
        // Mostly inside it, the right names the patch.
        let f = ov.finding(&patch([2040.0, 0.0, 2140.0, 100.0]));
        assert_eq!(f.licence_status, LicenceStatus::ExplorationOnly);
    }

    /// Province, prefecture and county layers of different scales disagree along borders:
    /// the finest level decides and its parents follow by code, with the disagreement
    /// returned (review revT finding 4: 天津市 / 唐山市 / 遵化市 in one record).
    #[test]
    fn the_finest_admin_level_decides_its_parents() {
        let spec = LayersSpec::from_str(
            r#"
[[layer]]
name = "prov"
path = "p.gpkg"
kind = "admin_division"
level = "province"
code_field = "code"
[[layer]]
name = "city"
path = "c.gpkg"
kind = "admin_division"
level = "prefecture"
code_field = "code"
[[layer]]
name = "county"
path = "x.gpkg"
kind = "admin_division"
level = "county"
code_field = "code"
"#,
            Path::new("l.toml"),
            Path::new("."),
        )
        .unwrap();
        let div = |layer: usize, code: &str, name: &str, b: [f64; 4]| Zone {
            layer,
            id: code.into(),
            name: name.into(),
            attrs: vec![],
            geom: MultiPolygon(vec![rect_polygon(b)]),
            right: None,
            admin_code: Some(code.into()),
            feature: None,
        };
        // The coarse layers put the border at x = 1000, the county layer at x = 700.
        let set = ZoneSet {
            layers: spec.layers,
            zones: vec![
                div(0, "120000", "天津市", [0.0, 0.0, 1000.0, 1000.0]),
                div(0, "130000", "河北省", [1000.0, 0.0, 3000.0, 1000.0]),
                div(1, "120100", "市辖区", [0.0, 0.0, 1000.0, 1000.0]),
                div(1, "130200", "唐山市", [1000.0, 0.0, 3000.0, 1000.0]),
                div(2, "120225", "蓟州区", [0.0, 0.0, 700.0, 1000.0]),
                div(2, "130281", "遵化市", [700.0, 0.0, 3000.0, 1000.0]),
            ],
            ..Default::default()
        };
        let ov = Overlay::new(&set, None, 1.0);
        let f = ov.finding(&patch([750.0, 0.0, 850.0, 100.0]));
        let a = &f.admin;
        assert_eq!(a.county_code.as_deref(), Some("130281"));
        assert_eq!(a.prefecture_code.as_deref(), Some("130200"));
        assert_eq!(a.province_code.as_deref(), Some("130000"));
        assert_eq!(a.county_name.as_deref(), Some("遵化市"));
        assert_eq!(f.admin_overruled.len(), 2, "{:?}", f.admin_overruled);
        assert!(f.admin_overruled[1].contains("province layer `prov`"));
        assert!(f.admin_overruled[1].contains("120000 天津市"));
        // Where the layers agree, every level is its own layer's, and nothing is said.
        let f = ov.finding(&patch([1100.0, 0.0, 1200.0, 100.0]));
        let a = &f.admin;
        assert_eq!(a.province_name.as_deref(), Some("河北省"));
        assert_eq!(a.prefecture_name.as_deref(), Some("唐山市"));
        assert!(f.admin_overruled.is_empty());
        // A patch across the coarse border, mostly in 天津 by the coarse layers but in a
        // county of 河北: the province among those containing the county wins.
        let f = ov.finding(&patch([900.0, 0.0, 1040.0, 100.0]));
        assert_eq!(f.admin.province_name.as_deref(), Some("河北省"));
        assert_eq!(f.admin_overruled.len(), 2);
        let w = crate::unplaced::overruled_warning(&[f]).unwrap();
        assert!(w.contains("1 of 1 patch(es)") && w.contains("p ("), "{w}");
    }

    /// A sliver of a valid mining licence (within the inside tolerance) along its line does
    /// not make a patch 越界: a patch held by an exploration right stays 以探代采, one
    /// outside every right stays 无证 (review finding 5). A patch mostly inside a licence
    /// with a real part outside, or a licensee's pit running out into no right, is 越界.
    #[test]
    fn a_sliver_of_a_mining_licence_does_not_decide() {
        let mut set = ZoneSet {
            layers: spec().layers,
            zones: vec![
                zone(0, "M", [0.0, 0.0, 100.0, 100.0], right("M", None)),
                zone(1, "E", [100.0, 0.0, 200.0, 100.0], right("E", None)),
            ],
            ..Default::default()
        };
        set.zones[1].right.as_mut().unwrap().exploration = true;
        let ov = Overlay::new(&set, None, 1.0);
        let status = |b| ov.finding(&patch(b)).licence_status;
        // 0.5 % in the licence, the rest in the exploration right / in no right.
        assert_eq!(
            status([99.5, 0.0, 199.5, 100.0]),
            LicenceStatus::ExplorationOnly
        );
        assert_eq!(
            status([-99.5, 0.0, 0.5, 100.0]),
            LicenceStatus::OutsideAllRights
        );
        let f = ov.finding(&patch([-99.5, 0.0, 0.5, 100.0]));
        assert_eq!(f.licences, vec!["M"], "the licence is still listed");
        // Genuine 越界: 80 % inside with 20 % outside; 30 % inside, the rest in no right.
        assert_eq!(
            status([-20.0, 0.0, 80.0, 100.0]),
            LicenceStatus::PartlyOutside
        );
        assert_eq!(
            status([-70.0, 0.0, 30.0, 100.0]),
            LicenceStatus::PartlyOutside
        );
        assert_eq!(
            status([20.0, 0.0, 120.0, 100.0]),
            LicenceStatus::PartlyOutside
        );
        // Inside within the tolerance.
        assert_eq!(status([0.5, 0.0, 100.5, 100.0]), LicenceStatus::Inside);
    }

    /// Zones of one kind that overlap each other count once: the same military polygon
    /// drawn twice is not twice the special land (27.5 % + 27.5 % is no majority), the
    /// per-kind area is the patch inside their union, and a licence with an excluded area
    /// (hole) under a second licence gives a mining-right area that adds up with the area
    /// outside every licence.
    #[test]
    fn overlapping_zones_of_one_kind_count_once() {
        // A licence at x 2000 with an excluded area, and a second licence over its east half.
        let mut holed = rect_polygon([2000.0, 0.0, 2100.0, 100.0]);
        holed.interiors_push(
            rect_polygon([2020.0, 20.0, 2040.0, 40.0])
                .exterior()
                .clone(),
        );
        let set = ZoneSet {
            layers: spec().layers,
            zones: vec![
                zone(2, "S1", [0.0, 0.0, 27.5, 100.0], None),
                zone(2, "S1bis", [0.0, 0.0, 27.5, 100.0], None),
                zone(2, "S2", [1027.5, 0.0, 1055.0, 100.0], None),
                zone(2, "S2bis", [1000.0, 0.0, 1027.5, 100.0], None),
                Zone {
                    geom: MultiPolygon(vec![holed]),
                    ..zone(0, "HOLE", [0.0; 4], right("HOLE", None))
                },
                zone(0, "NEXT", [2050.0, 0.0, 2150.0, 100.0], right("NEXT", None)),
            ],
            ..Default::default()
        };
        let ov = Overlay::new(&set, None, 1.0);
        let p = patch([0.0, 0.0, 100.0, 100.0]);
        let (f, kinds) = ov.assess(&p);
        assert!(!f.special_land, "twice 27.5 % is 27.5 %");
        assert!((kinds["special_land"] - 0.275 * p.area_m2).abs() < 1e-6 * p.area_m2);
        assert_eq!(f.hits.len(), 2, "both zones are still listed");
        // Two adjoining zones holding 55 % together: special land.
        let (f, kinds) = ov.assess(&patch([1000.0, 0.0, 1100.0, 100.0]));
        assert!(f.special_land);
        assert!((kinds["special_land"] - 0.55 * 10_000.0 * 1.001).abs() < 1e-3);
        // 6400 m² patch: 400 m² in the hole, 6000 m² licensed (3200 m² of it under both
        // licences): mining_right area 6000, outside 400, adding up to the patch.
        let p = patch([2010.0, 10.0, 2090.0, 90.0]);
        let (f, kinds) = ov.assess(&p);
        assert_eq!(f.licence_status, LicenceStatus::PartlyOutside);
        let s = p.area_m2 / 6400.0;
        assert!(
            (f.outside_licence_m2 - 400.0 * s).abs() < 1e-6,
            "{}",
            f.outside_licence_m2
        );
        assert!(
            (kinds["mining_right"] - 6000.0 * s).abs() < 1e-6,
            "{kinds:?}"
        );
        assert!((kinds["mining_right"] + f.outside_licence_m2 - p.area_m2).abs() < 1e-6);
    }

    /// An exploration right (探矿权 by its right type) in a mining-rights layer is an
    /// exploration right in the areas by kind and in its hit: its area is not
    /// `mining_right`'s, so mining-right area and the area outside valid mining rights
    /// add up to the patch (they added up to twice the patch).
    #[test]
    fn an_exploration_right_in_a_mining_layer_counts_as_exploration() {
        let set = ZoneSet {
            layers: spec().layers,
            zones: vec![
                zone(
                    0,
                    "T1",
                    [0.0, 0.0, 100.0, 100.0],
                    Some(Right {
                        exploration: true,
                        ..right("T1", None).unwrap()
                    }),
                ),
                zone(0, "C1", [100.0, 0.0, 200.0, 100.0], right("C1", None)),
            ],
            ..Default::default()
        };
        let ov = Overlay::new(&set, None, 1.0);
        let p = patch([10.0, 10.0, 90.0, 90.0]);
        let (f, kinds) = ov.assess(&p);
        assert_eq!(f.licence_status, LicenceStatus::ExplorationOnly);
        assert!(!kinds.contains_key("mining_right"), "{kinds:?}");
        assert!((kinds["exploration_right"] - p.area_m2).abs() < 1e-6);
        assert!((f.outside_licence_m2 - p.area_m2).abs() < 1e-6);
        assert_eq!(f.hits[0].kind, ZoneKind::ExplorationRight);
        // Half in each: each its own column, together the patch.
        let p = patch([50.0, 10.0, 150.0, 90.0]);
        let (f, kinds) = ov.assess(&p);
        assert_eq!(f.licence_status, LicenceStatus::PartlyOutside);
        assert!((kinds["mining_right"] - 0.5 * p.area_m2).abs() < 1e-6);
        assert!((kinds["exploration_right"] - 0.5 * p.area_m2).abs() < 1e-6);
        assert!((kinds["mining_right"] + f.outside_licence_m2 - p.area_m2).abs() < 1e-6);
        assert_eq!(f.hits[1].kind, ZoneKind::MiningRight);
    }

    /// "At least half" is half within the inside tolerance (1 % of the patch, at most
    /// 1 亩), as "inside" is the whole patch within it: 49.5 % special land is half, 48.9 %
    /// is not. Expired and exploration rights holding half each: the exploration right
    /// wins the tie, and only a larger part by more than the tolerance names the patch
    /// expired.
    #[test]
    fn half_is_half_within_the_tolerance_and_a_tie_goes_to_exploration() {
        let d2020 = AcqDate::new(2020, 1, 1);
        let explore = |id: &str| {
            Some(Right {
                exploration: true,
                ..right(id, None).unwrap()
            })
        };
        let mut zones = vec![
            zone(2, "S1", [0.0, 0.0, 100.0, 49.5], None),
            zone(2, "S2", [1000.0, 0.0, 1100.0, 48.9], None),
        ];
        // Expired licence west, exploration right east, split at x.
        for (k, split) in [50.0, 50.4, 49.6, 51.0, 55.0].into_iter().enumerate() {
            let x0 = 2000.0 + 1000.0 * k as f64;
            let id = |p: &str| format!("{p}{k}");
            zones.push(zone(
                0,
                &id("OLD"),
                [x0, 0.0, x0 + split, 100.0],
                right(&id("OLD"), d2020),
            ));
            zones.push(zone(
                1,
                &id("E"),
                [x0 + split, 0.0, x0 + 100.0, 100.0],
                explore(&id("E")),
            ));
        }
        let set = ZoneSet {
            layers: spec().layers,
            zones,
            ..Default::default()
        };
        let ov = Overlay::new(&set, None, 1.0);
        assert!(ov.finding(&patch([0.0, 0.0, 100.0, 100.0])).special_land);
        assert!(
            !ov.finding(&patch([1000.0, 0.0, 1100.0, 100.0]))
                .special_land
        );
        let status = |k: usize| {
            let x0 = 2000.0 + 1000.0 * k as f64;
            ov.finding(&patch([x0, 0.0, x0 + 100.0, 100.0]))
                .licence_status
        };
        use LicenceStatus::*;
        // 50/50, 50.4/49.6 and 49.6/50.4 are ties; 51/49 and 55/45 are not.
        assert_eq!(
            (0..5).map(status).collect::<Vec<_>>(),
            vec![
                ExplorationOnly,
                ExplorationOnly,
                ExplorationOnly,
                Expired,
                Expired
            ]
        );
        // Without a tolerance, the larger part wins and an exact half is half.
        let strict = Overlay::new(&set, None, 0.0);
        let f = strict.finding(&patch([3000.0, 0.0, 3100.0, 100.0]));
        assert_eq!(f.licence_status, Expired);
        assert!(
            !strict
                .finding(&patch([0.0, 0.0, 100.0, 100.0]))
                .special_land
        );
    }

    /// A county stored as two features is one county: its parts are added before the
    /// largest is chosen (30 % + 30 % beats a one-feature neighbour's 40 %).
    #[test]
    fn a_county_in_several_features_counts_as_one() {
        let set = ZoneSet {
            layers: spec().layers,
            zones: vec![
                zone(3, "320111", [0.0, 0.0, 30.0, 100.0], None),
                zone(3, "320106", [60.0, 0.0, 100.0, 100.0], None),
                Zone {
                    name: String::new(),
                    ..zone(3, "320111", [30.0, 0.0, 60.0, 100.0], None)
                },
            ],
            ..Default::default()
        };
        let ov = Overlay::new(&set, None, 1.0);
        let f = ov.finding(&patch([0.0, 0.0, 100.0, 100.0]));
        assert_eq!(f.admin.county_code.as_deref(), Some("320111"));
        assert_eq!(f.admin.county_name.as_deref(), Some("name 320111"));
        // Equal parts: the smaller code, whatever the load order.
        let f = ov.finding(&patch([20.0, 0.0, 100.0, 100.0]));
        assert_eq!(f.admin.county_code.as_deref(), Some("320106"));
    }

    /// Holders and minerals come in the order of the licences, so they line up: the first
    /// holder is the first licence's (not sorted on their own); a holder of two licences
    /// is listed once.
    #[test]
    fn holders_and_minerals_follow_the_licence_order() {
        let r = |l: &str, h: &str, m: &str| {
            Some(Right {
                holder: h.into(),
                mineral: m.into(),
                ..right(l, None).unwrap()
            })
        };
        let set = ZoneSet {
            layers: spec().layers,
            zones: vec![
                zone(0, "C3", [200.0, 0.0, 300.0, 100.0], r("C3", "甲", "煤")),
                zone(
                    0,
                    "C2",
                    [100.0, 0.0, 200.0, 100.0],
                    r("C2", "乙", "建筑用砂"),
                ),
                zone(0, "C1", [0.0, 0.0, 100.0, 100.0], r("C1", "甲", "石灰岩")),
            ],
            ..Default::default()
        };
        let ov = Overlay::new(&set, None, 1.0);
        let f = ov.finding(&patch([50.0, 10.0, 250.0, 90.0]));
        assert_eq!(f.licences, vec!["C1", "C2", "C3"]);
        assert_eq!(f.holders, vec!["甲", "乙"]);
        assert_eq!(f.minerals, vec!["石灰岩", "建筑用砂", "煤"]);
    }

    /// A licence granted after the later image was no right on that date: the patch is
    /// unlicensed, not "expired"; one that ended before it is expired.
    #[test]
    fn a_licence_granted_after_the_image_is_not_expired() {
        let later = Right {
            valid_from: AcqDate::new(2025, 1, 1),
            ..right("NEW", None).unwrap()
        };
        let set = ZoneSet {
            layers: spec().layers,
            zones: vec![
                zone(0, "NEW", [0.0, 0.0, 100.0, 100.0], Some(later.clone())),
                zone(
                    0,
                    "OLD",
                    [200.0, 0.0, 300.0, 100.0],
                    right("OLD", AcqDate::new(2024, 5, 31)),
                ),
            ],
            ..Default::default()
        };
        let ov = Overlay::new(&set, None, 1.0);
        let f = ov.finding(&patch([10.0, 10.0, 90.0, 90.0]));
        assert_eq!(f.licence_status, LicenceStatus::OutsideAllRights);
        assert_eq!(f.licences, vec!["NEW"]);
        let f = ov.finding(&patch([210.0, 10.0, 290.0, 90.0]));
        assert_eq!(f.licence_status, LicenceStatus::Expired);
        // The day it comes into force and the day it ends are both inside it.
        assert_eq!(later.state_on(AcqDate::new(2025, 1, 1)), RightState::Valid);
        assert_eq!(
            later.state_on(AcqDate::new(2024, 12, 31)),
            RightState::NotYetValid
        );
    }

    /// Part of a patch covered only by a licence granted between the image dates is flagged
    /// (the works may predate it); not a licence held since before the earlier image, a
    /// sliver of a new neighbour within the inside tolerance, or a renewal (first issue in
    /// the licence number before the earlier date, new validity dates in the register);
    /// unknown without the earlier date.
    #[test]
    fn a_licence_granted_between_the_dates_is_flagged() {
        let granted = |licence: &str, from| Right {
            valid_from: from,
            ..right(licence, None).unwrap()
        };
        let set = ZoneSet {
            layers: spec().layers,
            zones: vec![
                zone(
                    0,
                    "MID",
                    [0.0, 0.0, 100.0, 100.0],
                    Some(granted("MID", AcqDate::new(2024, 1, 1))),
                ),
                zone(
                    0,
                    "OLD",
                    [100.0, 0.0, 200.0, 100.0],
                    Some(granted("OLD", AcqDate::new(2020, 1, 1))),
                ),
                zone(
                    0,
                    "REN",
                    [300.0, 0.0, 400.0, 100.0],
                    Some(granted("C3200002009011120001234", AcqDate::new(2024, 1, 1))),
                ),
            ],
            ..Default::default()
        };
        let ov = Overlay::new(&set, None, 1.0);
        let flag = |b: [f64; 4]| {
            let f = ov.finding(&patch(b));
            (f.licence_status, f.licence_granted_in_pair)
        };
        assert_eq!(
            flag([10.0, 10.0, 90.0, 90.0]),
            (LicenceStatus::Inside, Some(true))
        );
        assert_eq!(
            flag([110.0, 10.0, 190.0, 90.0]),
            (LicenceStatus::Inside, Some(false))
        );
        // Half in the new licence, half in the old: the new half is flagged.
        assert_eq!(
            flag([60.0, 10.0, 140.0, 90.0]),
            (LicenceStatus::Inside, Some(true))
        );
        // 0.6 % of the patch in the new licence: within the 1 % tolerance.
        assert_eq!(
            flag([99.5, 10.0, 179.5, 90.0]),
            (LicenceStatus::Inside, Some(false))
        );
        assert_eq!(
            flag([310.0, 10.0, 390.0, 90.0]),
            (LicenceStatus::Inside, Some(false))
        );
        assert_eq!(
            flag([500.0, 10.0, 580.0, 90.0]),
            (LicenceStatus::OutsideAllRights, Some(false))
        );
        let undated = PatchInput {
            date_before: None,
            ..patch([10.0, 10.0, 90.0, 90.0])
        };
        assert_eq!(ov.finding(&undated).licence_granted_in_pair, None);
        // Without the later date every right counts as valid; no flag either.
        let no_after = PatchInput {
            date: None,
            ..patch([10.0, 10.0, 90.0, 90.0])
        };
        assert_eq!(ov.finding(&no_after).licence_granted_in_pair, None);
    }

    #[test]
    fn first_issue_comes_from_a_mining_licence_number_only() {
        let r = |licence: &str| Right {
            valid_from: AcqDate::new(2024, 1, 1),
            ..right(licence, None).unwrap()
        };
        let day = AcqDate::new(2023, 6, 1).unwrap();
        // A renewal: the start (2024) moved, the number (2009-01) did not.
        assert!(!r("C3200002009011120001234").granted_after(day));
        assert!(r("C3200002023071120001234").granted_after(day));
        // An old licence with a new-format number: its start (1999) says it was held.
        let renumbered = Right {
            valid_from: AcqDate::new(1999, 1, 1),
            ..r("C3200002023071120001234")
        };
        assert!(!renumbered.granted_after(day));
        // Exploration (T…), short, non-numeric, month 13 or multibyte numbers say nothing:
        // the start date decides.
        for other in [
            "T3200002009011120001234",
            "C32000020090111",
            "C320000200901112000123x",
            "C3200002009131120001234",
            "C3200002009011120001三",
        ] {
            assert!(r(other).granted_after(day), "{other}");
            let old = Right {
                valid_from: AcqDate::new(2001, 1, 1),
                ..r(other)
            };
            assert!(!old.granted_after(day), "{other}");
        }
        // Same month: the start date decides; without one, it counts as granted after.
        assert!(!Right {
            valid_from: AcqDate::new(2023, 6, 1),
            ..r("C3200002023061120001234")
        }
        .granted_after(day));
        assert!(Right {
            valid_from: None,
            ..r("C3200002023061120001234")
        }
        .granted_after(day));
        // A register without dates: the number alone.
        let undated = |n: &str| Right {
            valid_from: None,
            ..r(n)
        };
        assert!(undated("C3200002024011120001234").granted_after(day));
        assert!(!undated("C3200002009011120001234").granted_after(day));
        assert!(!undated("L1").granted_after(day));
    }
}
