//! How far a projected CRS is from true scale over an area: the largest |k − 1| of its
//! point scale along the parallel and the meridian, at the area's corners, edge midpoints
//! and centre. Measured rather than derived from the projection's parameters, so it holds
//! for any ellipsoid, false easting or Gauss-Krüger zone prefix GDAL knows: a short step
//! each way is projected, and its length in the plane is divided by its geodesic (Karney)
//! length. For a transverse Mercator the error grows with the distance from the central
//! meridian and is largest at a corner, which is sampled.

use crate::crs::{from_epsg, traditional};
use crate::error::ZonesError;
use gdal::spatial_ref::{CoordTransform, SpatialRef};
use geo::{Distance, Geodesic, Point};

/// Half the step, in degrees (≈ 110 m): long enough that the plane length keeps ten
/// digits at projected magnitudes, short enough that the scale does not change along it.
const HALF_STEP_DEG: f64 = 1e-3;

/// The largest |k − 1| of `srs` over `lonlat` (west, south, east, north, degrees), or
/// `None` when a sample point has no place in it (beyond the projection's domain).
pub fn max_scale_error(srs: &SpatialRef, lonlat: [f64; 4]) -> Result<Option<f64>, ZonesError> {
    Ok(max_scale_errors(srs, &[lonlat])?[0])
}

/// [`max_scale_error`] of each extent, through one transform (a patch's own, for
/// thousands of patches).
pub fn max_scale_errors(
    srs: &SpatialRef,
    extents: &[[f64; 4]],
) -> Result<Vec<Option<f64>>, ZonesError> {
    let ll = from_epsg(4326)?;
    let ct = CoordTransform::new(&ll, &traditional(srs.clone()))
        .map_err(|e| ZonesError::Crs(format!("no transform from lon/lat: {e}")))?;
    // Away from the poles, where a step north would leave the globe.
    let lat = |y: f64| y.clamp(-89.0, 89.0);
    let unit = srs.linear_units();
    let mut out = Vec::with_capacity(extents.len());
    for &[w, s, e, n] in extents {
        let mut steps: Vec<(Point, Point)> = Vec::with_capacity(18);
        for x in [w, 0.5 * (w + e), e] {
            for y in [s, 0.5 * (s + n), n].map(lat) {
                let h = HALF_STEP_DEG;
                steps.push((Point::new(x - h, y), Point::new(x + h, y)));
                steps.push((Point::new(x, y - h), Point::new(x, y + h)));
            }
        }
        let (mut xs, mut ys): (Vec<f64>, Vec<f64>) =
            steps.iter().flat_map(|(a, b)| [a.x_y(), b.x_y()]).unzip();
        let mut zs = vec![0.0; xs.len()];
        if ct.transform_coords(&mut xs, &mut ys, &mut zs).is_err()
            || xs.iter().chain(&ys).any(|v| !v.is_finite())
        {
            out.push(None);
            continue;
        }
        let worst = steps
            .iter()
            .enumerate()
            .map(|(i, (a, b))| {
                let plane = (xs[2 * i + 1] - xs[2 * i]).hypot(ys[2 * i + 1] - ys[2 * i]) * unit;
                (plane / Geodesic.distance(*a, *b) - 1.0).abs()
            })
            .fold(0.0, f64::max);
        out.push(Some(worst));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: u32, lonlat: [f64; 4]) -> f64 {
        max_scale_error(&from_epsg(code).unwrap(), lonlat)
            .unwrap()
            .unwrap()
    }

    /// Gauss-Krüger (scale 1 on the central meridian): k − 1 ≈ x² / 2R² near it, so 0 at
    /// the meridian, 1.1e-4 at 1° east at 32° N (x ≈ 94.5 km), and about 24 % at 43.8° off
    /// (CM 75° E for Nanjing).
    #[test]
    fn gauss_kruger_scale_grows_with_distance_from_the_central_meridian() {
        assert!(err(4548, [117.0, 32.0, 117.0, 32.0]) < 1e-8);
        let one_degree = err(4548, [118.0, 32.0, 118.0, 32.0]);
        assert!((one_degree - 1.105e-4).abs() < 2e-6, "{one_degree}");
        let far = err(4534, [118.8, 32.0, 118.8, 32.0]);
        assert!((far - 0.237).abs() < 0.005, "{far}");
        // The corner farthest from the meridian sets it.
        let wide = err(4548, [117.0, 32.0, 119.0, 32.1]);
        assert!((wide - err(4548, [119.0, 32.0, 119.0, 32.0])).abs() < 1e-9);
    }

    /// UTM (0.9996 on the central meridian) stays within 1e-3 over its whole zone.
    #[test]
    fn utm_within_its_zone_and_web_mercator_far_off() {
        let e = err(32650, [117.0, 32.0, 117.0, 32.0]);
        assert!((e - 4e-4).abs() < 1e-8, "{e}");
        assert!(err(32650, [114.0, 0.0, 120.0, 40.0]) < 1e-3);
        // Web Mercator: 1 / cos 32° − 1 ≈ 17.9 % along the parallel, 18.4 % along the
        // meridian (spherical formulas on ellipsoidal latitudes are not conformal).
        let m = err(3857, [118.8, 32.0, 118.8, 32.0]);
        assert!((m - 0.184).abs() < 0.001, "{m}");
    }

    /// Across the globe from the central meridian PROJ still places points (its
    /// transverse Mercator spans the globe) or fails: either way not within the bound.
    #[test]
    fn the_far_side_of_the_globe_is_never_true_scale() {
        let r = max_scale_error(&from_epsg(4534).unwrap(), [-165.0, 10.0, -164.0, 11.0]);
        assert!(!matches!(r, Ok(Some(e)) if e <= 1e-3), "{r:?}");
    }
}
