//! CRS handling for the overlay: every layer is reprojected once onto the work CRS (the
//! patches' CRS when it is projected in metres, else the UTM zone of the patches' centre),
//! with the traditional GIS axis order pinned on both sides: GDAL 3 otherwise reads
//! EPSG:4490 as (lat, lon) and the Gauss-Krüger zones 4513–4554 as (northing, easting).

use crate::error::ZonesError;
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

/// The CRS the overlay measures in. Planar areas there are only used as shares of a patch
/// (the patch's own area is ellipsoidal), and buffers and distances are metres on it.
#[derive(Debug, Clone)]
pub struct WorkCrs {
    pub wkt: String,
    /// True when the patches are already in it (no reprojection of patches).
    pub is_patch_crs: bool,
}

impl WorkCrs {
    /// Choose from the patches' CRS and their centre in lon/lat.
    pub fn choose(patch_wkt: &str, centre_lonlat: (f64, f64)) -> Result<Self, ZonesError> {
        let srs = from_wkt(patch_wkt)?;
        // Buffers and river distances are metres on the work CRS, so it must keep scale:
        // a transverse Mercator (UTM, Gauss-Krüger) does within its zone; Web Mercator
        // stretches 1 km to 1.18 km at 32° N, and conics or Albers by a few percent.
        let transverse_mercator = srs
            .get_attr_value("PROJECTION", 0)
            .ok()
            .flatten()
            .is_some_and(|p| p.eq_ignore_ascii_case("Transverse_Mercator"));
        if srs.is_projected() && transverse_mercator && (srs.linear_units() - 1.0).abs() < 1e-12 {
            return Ok(Self {
                wkt: patch_wkt.to_string(),
                is_patch_crs: true,
            });
        }
        let (lon, lat) = centre_lonlat;
        let zone = (((lon + 180.0) / 6.0).floor() as i64).clamp(0, 59) as u32 + 1;
        let code = if lat >= 0.0 { 32600 } else { 32700 } + zone;
        let wkt = from_epsg(code)?
            .to_wkt()
            .map_err(|e| ZonesError::Crs(e.to_string()))?;
        Ok(Self {
            wkt,
            is_patch_crs: false,
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

    #[test]
    fn work_crs_keeps_projected_patches_and_picks_utm_for_geographic() {
        let utm = from_epsg(32650).unwrap().to_wkt().unwrap();
        assert!(WorkCrs::choose(&utm, (117.0, 31.0)).unwrap().is_patch_crs);
        let wgs = from_epsg(4326).unwrap().to_wkt().unwrap();
        let w = WorkCrs::choose(&wgs, (114.2, 22.3)).unwrap();
        assert!(!w.is_patch_crs);
        assert_eq!(w.srs().unwrap().auth_code().unwrap(), 32650);
        // Gauss-Krüger (CGCS2000 3° zone 40) is kept too.
        let gk = from_epsg(4528).unwrap().to_wkt().unwrap();
        assert!(WorkCrs::choose(&gk, (120.0, 32.0)).unwrap().is_patch_crs);
        // Web Mercator and Albers are projected in metres but do not keep scale: a UTM
        // zone instead, so a 1 km corridor is 1 km on the ground.
        let albers = "+proj=aea +lat_1=25 +lat_2=47 +lat_0=0 +lon_0=105 +x_0=0 +y_0=0 +ellps=GRS80 +units=m +no_defs";
        for srs in [
            from_epsg(3857).unwrap(),
            SpatialRef::from_proj4(albers).unwrap(),
        ] {
            let w = WorkCrs::choose(&srs.to_wkt().unwrap(), (118.8, 32.0)).unwrap();
            assert!(!w.is_patch_crs, "{}", srs.to_wkt().unwrap());
            assert_eq!(w.srs().unwrap().auth_code().unwrap(), 32650);
        }
    }
}
