//! CRS handling for the overlay: every layer is reprojected once onto the work CRS (the
//! patches' CRS when it is a transverse Mercator in metres that keeps scale over them,
//! else the UTM zone of the patches' centre),
//! with the traditional GIS axis order pinned on both sides: GDAL 3 otherwise reads
//! EPSG:4490 as (lat, lon) and the Gauss-Krüger zones 4513–4554 as (northing, easting).

use crate::error::ZonesError;
use crate::scale::{max_scale_error, max_scale_errors};
use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};
use gdal::vector::Geometry;

/// A spatial reference with x = easting / longitude, y = northing / latitude.
pub fn traditional(mut srs: SpatialRef) -> SpatialRef {
    srs.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    srs
}

pub fn from_wkt(wkt: &str) -> Result<SpatialRef, ZonesError> {
    SpatialRef::from_wkt(wkt)
        .map(traditional)
        .map_err(|e| ZonesError::Crs(format!("CRS not understood: {e}")))
}

pub fn from_epsg(code: u32) -> Result<SpatialRef, ZonesError> {
    SpatialRef::from_epsg(code)
        .map(traditional)
        .map_err(|e| ZonesError::Crs(format!("EPSG:{code}: {e}")))
}

/// The largest scale error the patches' own CRS may have over them to be measured in:
/// 0.1 %, what a Gauss-Krüger zone keeps within about 285 km of its central meridian (and
/// UTM within its 6° zone). Beyond it, a 5 km corridor or a river distance drifts by more
/// than a 1:10,000 map is drawn to, and the findings would depend on the CRS the patches
/// happen to be in.
pub const MAX_SCALE_ERROR: f64 = 1e-3;

/// The CRS the overlay measures in. Planar areas there are only used as shares of a patch
/// (the patch's own area is ellipsoidal), and buffers and distances are metres on it.
#[derive(Debug, Clone)]
pub struct WorkCrs {
    pub wkt: String,
    /// True when the patches are already in it (no reprojection of patches).
    pub is_patch_crs: bool,
    /// Which CRS this is and why it was chosen, for the run's manifest.
    pub reason: String,
}

/// A scale error as a percentage with enough digits to tell 0.04 % from 0.1 %.
fn percent(e: f64) -> String {
    format!("{:.3} %", 100.0 * e)
}

/// The UTM zone (EPSG code, WGS 84) of a point.
pub fn utm_code(lon: f64, lat: f64) -> u32 {
    let zone = (((lon + 180.0) / 6.0).floor() as i64).clamp(0, 59) as u32 + 1;
    (if lat >= 0.0 { 32600 } else { 32700 }) + zone
}

/// Why the patches' own CRS was not kept: whether it can measure anywhere at all (decides
/// whether per-patch scale errors are worth computing), and the words for the manifest.
#[derive(Debug, Clone, PartialEq)]
enum NotKept {
    /// Not a transverse Mercator in metres: no patch can be measured in it.
    Unusable(String),
    /// A transverse Mercator in metres, but not true enough over all the patches together:
    /// some of them may still be measured in it.
    OffScale(String),
}

impl NotKept {
    fn why(&self) -> &str {
        match self {
            NotKept::Unusable(w) | NotKept::OffScale(w) => w,
        }
    }
}

/// The smallest extent holding all of `extents` (west, south, east, north; or any boxes
/// of min x, min y, max x, max y).
pub(crate) fn union(extents: &[[f64; 4]]) -> [f64; 4] {
    extents
        .iter()
        .fold([f64::MAX, f64::MAX, f64::MIN, f64::MIN], |a, b| {
            [
                a[0].min(b[0]),
                a[1].min(b[1]),
                a[2].max(b[2]),
                a[3].max(b[3]),
            ]
        })
}

impl WorkCrs {
    /// Choose from the patches' CRS and their extent in lon/lat (west, south, east, north).
    pub fn choose(patch_wkt: &str, extent_lonlat: [f64; 4]) -> Result<Self, ZonesError> {
        let srs = from_wkt(patch_wkt)?;
        match Self::patch_crs(&srs, patch_wkt, extent_lonlat)? {
            Ok(w) => Ok(w),
            Err(why_not) => {
                let [w, s, e, n] = extent_lonlat;
                let code = utm_code(0.5 * (w + e), 0.5 * (s + n));
                Self::utm(
                    code,
                    &srs,
                    extent_lonlat,
                    "the UTM zone of the patches' centre",
                    why_not.why(),
                )
            }
        }
    }

    /// Work CRSs local to the patches, so that no patch's findings depend on the others in
    /// the batch: the patches' CRS when it keeps scale over all of them (`whole`, their
    /// extent; one CRS, as [`WorkCrs::choose`]), else for each patch the patches' CRS when
    /// it keeps scale over that patch, or the UTM zone of its centre. `extents` gives each
    /// patch's lon/lat extent (only asked for when one CRS will not do). Returns the CRSs
    /// (the patches' own first, then by EPSG code) and each patch's index into them.
    pub fn choose_local(
        patch_wkt: &str,
        whole: [f64; 4],
        extents: impl FnOnce() -> Result<Vec<[f64; 4]>, ZonesError>,
    ) -> Result<(Vec<Self>, Vec<usize>), ZonesError> {
        let srs = from_wkt(patch_wkt)?;
        let why_not = match Self::patch_crs(&srs, patch_wkt, whole)? {
            Ok(w) => return Ok((vec![w], Vec::new())),
            Err(why) => why,
        };
        let extents = extents()?;
        if extents.is_empty() {
            return Ok((vec![Self::choose(patch_wkt, whole)?], Vec::new()));
        }
        // Each patch's scale error in its own CRS (None: not a usable CRS at all).
        let errors = match why_not {
            NotKept::Unusable(_) => vec![None; extents.len()],
            NotKept::OffScale(_) => max_scale_errors(&srs, &extents)?,
        };
        // 0 stands for the patches' own CRS.
        let keys: Vec<u32> = extents
            .iter()
            .zip(&errors)
            .map(|(&[w, s, e, n], err)| match err {
                Some(x) if *x <= MAX_SCALE_ERROR => 0,
                _ => utm_code(0.5 * (w + e), 0.5 * (s + n)),
            })
            .collect();
        let mut groups: std::collections::BTreeMap<u32, Vec<usize>> = Default::default();
        for (i, &k) in keys.iter().enumerate() {
            groups.entry(k).or_default().push(i);
        }
        let mut works = Vec::with_capacity(groups.len());
        let mut of = vec![0; extents.len()];
        let name = srs.name().unwrap_or_else(|| "unnamed".into());
        for (g, (&key, members)) in groups.iter().enumerate() {
            let ext: Vec<[f64; 4]> = members.iter().map(|&i| extents[i]).collect();
            let mut w = if key == 0 {
                let worst = members
                    .iter()
                    .filter_map(|&i| errors[i])
                    .fold(0.0, f64::max);
                Self {
                    wkt: patch_wkt.to_string(),
                    is_patch_crs: true,
                    reason: format!(
                        "the patches' CRS ({name}), {} off true scale at each of these patches at most",
                        percent(worst)
                    ),
                }
            } else {
                Self::utm(
                    key,
                    &srs,
                    union(&ext),
                    "the UTM zone of these patches' centres",
                    why_not.why(),
                )?
            };
            if groups.len() > 1 {
                w.reason = format!("{} patch(es): {}", members.len(), w.reason);
            }
            works.push(w);
            for &i in members {
                of[i] = g;
            }
        }
        Ok((works, of))
    }

    /// The patches' CRS when it is a transverse Mercator in metres within the scale bound
    /// over `extent_lonlat`; else why not.
    fn patch_crs(
        srs: &SpatialRef,
        patch_wkt: &str,
        extent_lonlat: [f64; 4],
    ) -> Result<Result<Self, NotKept>, ZonesError> {
        let name = srs.name().unwrap_or_else(|| "unnamed".into());
        // Buffers and river distances are metres on the work CRS, so it must keep scale
        // over the patches: a transverse Mercator (UTM, Gauss-Krüger) does near its central
        // meridian only (0.26 % off 4.8° of longitude away at 32° N, 24 % off 44° away); Web
        // Mercator stretches 1 km to 1.18 km at 32° N, and conics or Albers by a few
        // percent (and not alike in every direction, which two steps would not show).
        let transverse_mercator = srs
            .get_attr_value("PROJECTION", 0)
            .ok()
            .flatten()
            .is_some_and(|p| p.eq_ignore_ascii_case("Transverse_Mercator"));
        let unusable = |w: &str| Ok(Err(NotKept::Unusable(w.to_string())));
        if !srs.is_projected() {
            return unusable("is not projected");
        }
        if !transverse_mercator {
            return unusable(
                "is not a transverse Mercator (its scale is not true enough for metres)",
            );
        }
        if (srs.linear_units() - 1.0).abs() >= 1e-12 {
            return unusable("is not in metres");
        }
        Ok(Err(NotKept::OffScale(
            match max_scale_error(srs, extent_lonlat)? {
                Some(e) if e <= MAX_SCALE_ERROR => {
                    return Ok(Ok(Self {
                        wkt: patch_wkt.to_string(),
                        is_patch_crs: true,
                        reason: format!(
                            "the patches' CRS ({name}): a transverse Mercator in metres, {} off true scale over the patches at most",
                            percent(e)
                        ),
                    }));
                }
                Some(e) => format!(
                    "is {} off true scale over the patches (more than {}): its central meridian is far from them",
                    percent(e),
                    percent(MAX_SCALE_ERROR)
                ),
                None => "cannot place every patch (they lie beyond its domain)".to_string(),
            },
        )))
    }

    /// UTM zone `code`, with its scale error over `extent_lonlat` and why the patches'
    /// CRS was not used.
    fn utm(
        code: u32,
        patch_srs: &SpatialRef,
        extent_lonlat: [f64; 4],
        which: &str,
        why_not: &str,
    ) -> Result<Self, ZonesError> {
        let name = patch_srs.name().unwrap_or_else(|| "unnamed".into());
        let utm = from_epsg(code)?;
        let wkt = utm.to_wkt().map_err(|e| ZonesError::Crs(e.to_string()))?;
        // Said too when the patches span more than a zone, so that a scale error over the
        // bound is seen rather than assumed away.
        let own = match max_scale_error(&utm, extent_lonlat)? {
            Some(e) => format!("{} off true scale over the patches at most", percent(e)),
            None => "the patches reach beyond its domain".to_string(),
        };
        Ok(Self {
            wkt,
            is_patch_crs: false,
            reason: format!(
                "EPSG:{code} ({}), {which}, {own}: the patches' CRS ({name}) {why_not}",
                utm.name().unwrap_or_default()
            ),
        })
    }

    pub fn srs(&self) -> Result<SpatialRef, ZonesError> {
        from_wkt(&self.wkt)
    }
}

/// Reprojects GDAL geometries from one CRS to another (a no-op between equal CRSs).
pub struct Reprojector {
    ct: Option<CoordTransform>,
}

impl Reprojector {
    pub fn new(from: &SpatialRef, to: &SpatialRef) -> Result<Self, ZonesError> {
        let (from, to) = (traditional(from.clone()), traditional(to.clone()));
        if from == to {
            return Ok(Self { ct: None });
        }
        let ct = CoordTransform::new(&from, &to)
            .map_err(|e| ZonesError::Crs(format!("no transform between the CRSs: {e}")))?;
        Ok(Self { ct: Some(ct) })
    }

    pub fn apply(&self, g: &mut Geometry) -> Result<(), String> {
        match &self.ct {
            None => Ok(()),
            Some(ct) => g.transform_inplace(ct).map_err(|e| e.to_string()),
        }
    }

    /// Transform a rectangle (min x, min y, max x, max y), densified along its edges.
    pub fn bounds(&self, b: [f64; 4]) -> Result<[f64; 4], String> {
        match &self.ct {
            None => Ok(b),
            Some(ct) => ct.transform_bounds(&b, 21).map_err(|e| e.to_string()),
        }
    }

    pub fn is_identity(&self) -> bool {
        self.ct.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(x: f64, y: f64) -> Geometry {
        Geometry::from_wkt(&format!("POINT ({x} {y})")).unwrap()
    }

    /// Known coordinates (PROJ 9.1.1, checked in `../shared/docs/stack.md`): CGCS2000
    /// (120.5 E, 31 N) in the 3-degree GK zone with CM 120E, without and with the zone prefix.
    #[test]
    fn cgcs2000_to_gauss_kruger_known_point() {
        let geo = from_epsg(4490).unwrap();
        for (code, e0) in [(4549, 547_752.418), (4528, 40_547_752.418)] {
            let r = Reprojector::new(&geo, &from_epsg(code).unwrap()).unwrap();
            let mut p = point(120.5, 31.0);
            r.apply(&mut p).unwrap();
            let (x, y, _) = p.get_point(0);
            assert!((x - e0).abs() < 1e-3, "EPSG:{code} easting {x}");
            assert!((y - 3_431_081.638).abs() < 1e-3, "EPSG:{code} northing {y}");
            // and back: axis order pinned on the geographic side too
            let back = Reprojector::new(&from_epsg(code).unwrap(), &geo).unwrap();
            back.apply(&mut p).unwrap();
            let (lon, lat, _) = p.get_point(0);
            assert!((lon - 120.5).abs() < 1e-9 && (lat - 31.0).abs() < 1e-9);
        }
    }

    #[test]
    fn every_cgcs2000_gk_zone_puts_its_central_meridian_at_500_km() {
        let geo = from_epsg(4490).unwrap();
        for code in 4534..=4554u32 {
            let cm = 75.0 + 3.0 * (code - 4534) as f64;
            let r = Reprojector::new(&geo, &from_epsg(code).unwrap()).unwrap();
            let mut p = point(cm, 30.0);
            r.apply(&mut p).unwrap();
            let (x, y, _) = p.get_point(0);
            assert!((x - 500_000.0).abs() < 1e-6, "EPSG:{code}: {x}");
            // Meridian arc to 30°N on GRS80 at scale 1: 3,320,113.398 m.
            assert!((y - 3_320_113.398).abs() < 0.01, "EPSG:{code}: {y}");
        }
        for code in 4513..=4533u32 {
            let zone = 25 + (code - 4513);
            let r = Reprojector::new(&geo, &from_epsg(code).unwrap()).unwrap();
            let mut p = point(3.0 * zone as f64, 30.0);
            r.apply(&mut p).unwrap();
            let (x, _, _) = p.get_point(0);
            assert!(
                (x - (zone as f64 * 1e6 + 500_000.0)).abs() < 1e-6,
                "EPSG:{code}: {x}"
            );
        }
    }

    /// A point's extent (west, south, east, north).
    fn at(lon: f64, lat: f64) -> [f64; 4] {
        [lon, lat, lon, lat]
    }

    /// Patches far apart are each measured in the UTM zone of their own centre (or in
    /// their own CRS where it keeps scale at them), never in one zone for the batch.
    #[test]
    fn far_apart_patches_get_local_crss() {
        let wgs = from_epsg(4326).unwrap().to_wkt().unwrap();
        let ext = vec![at(120.6, 32.0), at(104.7, 28.8), at(120.9, 31.0)];
        let (works, of) =
            WorkCrs::choose_local(&wgs, [104.7, 28.8, 120.9, 32.0], || Ok(ext.clone())).unwrap();
        assert_eq!(works.len(), 2);
        assert_eq!(of, [1, 0, 1]);
        assert!(
            works[0].reason.contains("EPSG:32648"),
            "{}",
            works[0].reason
        );
        assert!(
            works[1].reason.contains("EPSG:32651"),
            "{}",
            works[1].reason
        );
        // A GK zone that keeps scale at the Nantong patches but not at Yibin.
        let gk = from_epsg(4549).unwrap().to_wkt().unwrap();
        let (works, of) =
            WorkCrs::choose_local(&gk, [104.7, 28.8, 120.9, 32.0], || Ok(ext.clone())).unwrap();
        assert_eq!(of, [0, 1, 0]);
        assert!(works[0].is_patch_crs && !works[1].is_patch_crs);
        // One CRS that keeps scale over all: no per-patch extents asked for.
        let (works, of) =
            WorkCrs::choose_local(&gk, [120.5, 31.0, 120.9, 32.0], || panic!("not needed"))
                .unwrap();
        assert!(works.len() == 1 && of.is_empty() && works[0].is_patch_crs);
    }

    /// Whether per-patch scale errors are looked at hangs on the kind of reason, not on
    /// its wording: a CRS that cannot measure at all, or one only too far from some patches.
    #[test]
    fn the_patch_crs_is_unusable_or_off_scale_by_kind() {
        let far = [104.7, 28.8, 120.9, 32.0];
        let kind = |srs: SpatialRef| {
            let wkt = srs.to_wkt().unwrap();
            match WorkCrs::patch_crs(&srs, &wkt, far).unwrap() {
                Ok(_) => "kept",
                Err(NotKept::Unusable(_)) => "unusable",
                Err(NotKept::OffScale(_)) => "off scale",
            }
        };
        assert_eq!(kind(from_epsg(4326).unwrap()), "unusable");
        assert_eq!(kind(from_epsg(3857).unwrap()), "unusable");
        let feet =
            "+proj=tmerc +lon_0=120 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=us-ft +no_defs";
        assert_eq!(kind(SpatialRef::from_proj4(feet).unwrap()), "unusable");
        assert_eq!(kind(from_epsg(4549).unwrap()), "off scale");
        assert_eq!(kind(from_epsg(32651).unwrap()), "off scale");
    }

    #[test]
    fn work_crs_keeps_projected_patches_and_picks_utm_for_geographic() {
        let utm = from_epsg(32650).unwrap().to_wkt().unwrap();
        assert!(WorkCrs::choose(&utm, at(117.0, 31.0)).unwrap().is_patch_crs);
        let wgs = from_epsg(4326).unwrap().to_wkt().unwrap();
        let w = WorkCrs::choose(&wgs, at(114.2, 22.3)).unwrap();
        assert!(!w.is_patch_crs);
        assert_eq!(w.srs().unwrap().auth_code().unwrap(), 32650);
        assert!(w.reason.contains("is not projected"), "{}", w.reason);
        // Gauss-Krüger (CGCS2000 3° zone 40) is kept too.
        let gk = from_epsg(4528).unwrap().to_wkt().unwrap();
        assert!(WorkCrs::choose(&gk, at(120.0, 32.0)).unwrap().is_patch_crs);
        // Web Mercator and Albers are projected in metres but do not keep scale: a UTM
        // zone instead, so a 1 km corridor is 1 km on the ground.
        let albers = "+proj=aea +lat_1=25 +lat_2=47 +lat_0=0 +lon_0=105 +x_0=0 +y_0=0 +ellps=GRS80 +units=m +no_defs";
        for srs in [
            from_epsg(3857).unwrap(),
            SpatialRef::from_proj4(albers).unwrap(),
        ] {
            let w = WorkCrs::choose(&srs.to_wkt().unwrap(), at(118.8, 32.0)).unwrap();
            assert!(!w.is_patch_crs, "{}", srs.to_wkt().unwrap());
            assert_eq!(w.srs().unwrap().auth_code().unwrap(), 32650);
            assert!(
                w.reason.contains("not a transverse Mercator"),
                "{}",
                w.reason
            );
        }
    }

    /// A transverse Mercator is kept only near its central meridian: patches around
    /// Nanjing (118.4–119.2° E) in the CGCS2000 3° GK zones with CM 117° E (4548) and 120° E
    /// (4549) are measured there; with CM 75° E (4534) or 114° E (4547, 4.4–5.2° away,
    /// 0.2–0.3 % off) they are measured in UTM 50N, as if they had come in lon/lat.
    #[test]
    fn a_transverse_mercator_far_from_the_patches_gives_way_to_utm() {
        let nanjing = [118.4, 31.8, 119.2, 32.4];
        for (code, kept) in [
            (4548, true),
            (4549, true),
            (32650, true),
            (4547, false),
            (4534, false),
            (32649, false),
            (4528, true),
            (4513, false),
        ] {
            let wkt = from_epsg(code).unwrap().to_wkt().unwrap();
            let w = WorkCrs::choose(&wkt, nanjing).unwrap();
            assert_eq!(w.is_patch_crs, kept, "EPSG:{code}: {}", w.reason);
            if !kept {
                assert_eq!(w.srs().unwrap().auth_code().unwrap(), 32650);
                assert!(
                    w.reason.starts_with("EPSG:32650 (WGS 84 / UTM zone 50N)")
                        && w.reason
                            .contains("off true scale over the patches (more than 0.100 %)"),
                    "EPSG:{code}: {}",
                    w.reason
                );
            }
        }
        // One Gauss-Krüger zone does not reach from Nanjing to Shanghai (121.5° E) within
        // the bound; UTM 51N's scale error is then said, not assumed.
        let gk = from_epsg(4548).unwrap().to_wkt().unwrap();
        let w = WorkCrs::choose(&gk, [118.4, 31.0, 121.5, 32.4]).unwrap();
        assert!(!w.is_patch_crs, "{}", w.reason);
        assert!(
            w.reason.contains("off true scale over the patches at most"),
            "{}",
            w.reason
        );
    }
}
