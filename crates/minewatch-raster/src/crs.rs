//! Coordinate transforms from the imagery CRS to geographic coordinates, with the
//! traditional GIS axis order pinned (GDAL 3 otherwise gives latitude first for EPSG:4326
//! and EPSG:4490).

use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};

/// Transformer from one grid CRS to lon/lat on a geographic CRS (EPSG code).
pub struct LonLat {
    transform: CoordTransform,
}

impl LonLat {
    pub fn new(src_wkt: &str, epsg: u32) -> Result<Self, String> {
        let mut src =
            SpatialRef::from_wkt(src_wkt).map_err(|e| format!("CRS not understood: {e}"))?;
        src.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
        let mut dst = SpatialRef::from_epsg(epsg).map_err(|e| format!("EPSG:{epsg}: {e}"))?;
        dst.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
        let transform = CoordTransform::new(&src, &dst)
            .map_err(|e| format!("no transform to EPSG:{epsg}: {e}"))?;
        Ok(Self { transform })
    }

    /// Transform points in place (x = lon, y = lat on output).
    pub fn apply(&self, xs: &mut [f64], ys: &mut [f64]) -> Result<(), String> {
        let mut zs = vec![0.0; xs.len()];
        self.transform
            .transform_coords(xs, ys, &mut zs)
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utm50_to_wgs84_known_point() {
        let utm = SpatialRef::from_epsg(32650).unwrap().to_wkt().unwrap();
        let t = LonLat::new(&utm, 4326).unwrap();
        let (mut x, mut y) = ([500000.0], [3429601.934]);
        t.apply(&mut x, &mut y).unwrap();
        assert!((x[0] - 117.0).abs() < 1e-9, "{x:?}");
        assert!((y[0] - 31.0).abs() < 1e-7, "{y:?}");
    }

    #[test]
    fn cgcs2000_gk_to_4490_axis_order_is_lon_lat() {
        let gk = SpatialRef::from_epsg(4549).unwrap().to_wkt().unwrap();
        let t = LonLat::new(&gk, 4490).unwrap();
        let (mut x, mut y) = ([547752.418], [3431081.638]);
        t.apply(&mut x, &mut y).unwrap();
        assert!(
            (x[0] - 120.5).abs() < 1e-7 && (y[0] - 31.0).abs() < 1e-7,
            "{x:?} {y:?}"
        );
    }
}
