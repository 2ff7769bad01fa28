//! Buffers in metres: lines and points become zones (a river corridor, a road's no-mining
//! strip). Done by GEOS through GDAL in the work CRS, which is projected in metres, so a
//! distance is a distance and never degrees. A dissolved layer is buffered as one
//! collection, which unions all its lines first: both banks of a double-line river give one
//! corridor, not overlapping strips counted twice.

use gdal::vector::{Geometry, OGRwkbGeometryType};

/// Segments per quarter circle of round joins and caps: the area of a round end is then
/// within 0.2 % of the true disc (a 64-gon).
const QUAD_SEGS: u32 = 16;

pub fn buffer(g: &Geometry, distance_m: f64) -> Result<Geometry, String> {
    g.buffer(distance_m, QUAD_SEGS)
        .map_err(|e| format!("buffer of {distance_m} m failed: {e}"))
}

/// Union of all geometries, grown by `distance_m` (0: plain union of polygons).
pub fn dissolve(parts: &[Geometry], distance_m: f64) -> Result<Geometry, String> {
    let mut c =
        Geometry::empty(OGRwkbGeometryType::wkbGeometryCollection).map_err(|e| e.to_string())?;
    for p in parts {
        c.add_geometry(p.clone()).map_err(|e| e.to_string())?;
    }
    buffer(&c, distance_m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn straight_line_buffer_is_a_stadium() {
        // 10 km line, 1 km buffer: 2·d·L + π·d².
        let l = Geometry::from_wkt("LINESTRING (500000 3400000, 510000 3400000)").unwrap();
        let b = buffer(&l, 1000.0).unwrap();
        let exact = 2.0 * 1000.0 * 10_000.0 + std::f64::consts::PI * 1e6;
        assert!((b.area() - exact).abs() / exact < 1e-3, "{}", b.area());
    }

    #[test]
    fn both_banks_give_one_corridor_not_two_strips() {
        // Two parallel banks 400 m apart buffered by 1 km overlap; the dissolved corridor
        // counts the shared strip once.
        let a = Geometry::from_wkt("LINESTRING (0 0, 10000 0)").unwrap();
        let b = Geometry::from_wkt("LINESTRING (0 400, 10000 400)").unwrap();
        let one = dissolve(&[a.clone(), b.clone()], 1000.0).unwrap();
        let sum = buffer(&a, 1000.0).unwrap().area() + buffer(&b, 1000.0).unwrap().area();
        // End caps lie between a half disc and a half stadium at each end.
        let lo = 2400.0 * 10_000.0 + std::f64::consts::PI * 1e6 * 0.998;
        let hi = 2400.0 * 10_000.0 + std::f64::consts::PI * 1e6 + 2.0 * 400.0 * 1000.0;
        assert!(one.area() > lo && one.area() < hi, "{}", one.area());
        assert!(one.area() < 0.8 * sum, "the shared strip counts once");
    }
}
