//! Repairing polygons read from files (zone layers, patches from other tools) so that they
//! cover the ground as drawn: unclosed rings closed, every part of a multi-part polygon
//! kept (overlapping parts unioned), holes subtracted, and holes drawn outside their outer
//! ring found so that they can be said.
//!
//! GEOS's default repair ("linework") rebuilds polygons from the noded rings by parity, so
//! ground covered by two overlapping parts of a MultiPolygon comes out as a hole: a
//! licence of two overlapping parcels lost its shared ground (review revY F1). The
//! "structure" method (GEOS ≥ 3.10) unions the parts and subtracts the holes instead.

use crate::source::collect_polygons;
use gdal::cpl::CslStringList;
use gdal::vector::{geometry_type_flatten, Geometry, OGRwkbGeometryType, ToGdal};
use geo::coordinate_position::{CoordPos, CoordinatePosition};
use geo_types::{Coord, LineString, MultiPolygon, Polygon};

/// The ends of a ring that is not closed: its first and its last point.
pub type OpenEnds = ((f64, f64), (f64, f64));

/// The first ring of `g` (a polygon, multi-polygon or collection of them) whose last point
/// is not its first, if any.
pub fn unclosed_ring(g: &Geometry) -> Option<OpenEnds> {
    match geometry_type_flatten(g.geometry_type()) {
        OGRwkbGeometryType::wkbPolygon => (0..g.geometry_count()).find_map(|i| {
            let ring = g.get_geometry(i);
            let n = ring.point_count();
            if n == 0 {
                return None;
            }
            let (a, b) = (ring.get_point(0), ring.get_point(n as i32 - 1));
            ((a.0, a.1) != (b.0, b.1)).then_some(((a.0, a.1), (b.0, b.1)))
        }),
        OGRwkbGeometryType::wkbMultiPolygon | OGRwkbGeometryType::wkbGeometryCollection => {
            (0..g.geometry_count()).find_map(|i| unclosed_ring(&g.get_geometry(i)))
        }
        _ => None,
    }
}

/// Close every ring of `g` by repeating its first point where it is not closed; the ends
/// of the first ring that was not, if any (GEOS refuses such a ring outright).
#[allow(unsafe_code)]
pub fn close_rings(g: &mut Geometry) -> Option<OpenEnds> {
    let open = unclosed_ring(g)?;
    // SAFETY: `g` owns a valid OGR geometry, which OGR_G_CloseRings edits in place.
    unsafe { gdal_sys::OGR_G_CloseRings(g.c_geometry()) };
    Some(open)
}

/// A hole drawn (partly) outside its polygon's outer ring: the polygon's number among the
/// parts and the ring's number (1 = the outer ring, 2+ = holes), both from 1, as the
/// corner-coordinate files number rings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StrayHole {
    pub polygon: usize,
    pub ring: usize,
}

/// The holes of `g` with a vertex outside their polygon's outer ring. A repair cannot tell
/// whether such a ring was meant as excluded ground or as another parcel; [`make_valid`]
/// keeps it out of the polygon, and the caller says so.
pub fn stray_holes(g: &Geometry) -> Vec<StrayHole> {
    let Ok(geo) = g.to_geo() else {
        return Vec::new();
    };
    let mut polygons: Vec<Polygon<f64>> = Vec::new();
    collect_polygons(geo, &mut polygons);
    let mut out = Vec::new();
    for (pi, p) in polygons.iter().enumerate() {
        let shell = Polygon::new(p.exterior().clone(), Vec::new());
        for (hi, hole) in p.interiors().iter().enumerate() {
            if outside(&shell, hole) {
                out.push(StrayHole {
                    polygon: pi + 1,
                    ring: hi + 2,
                });
            }
        }
    }
    out
}

fn outside(shell: &Polygon<f64>, hole: &LineString<f64>) -> bool {
    hole.0
        .iter()
        .any(|c: &Coord<f64>| shell.coordinate_position(c) == CoordPos::Outside)
}

/// `g` (invalid) repaired so that it covers the ground of every part: GEOS's "structure"
/// method, which unions the parts' outer rings and subtracts their holes (a self-crossing
/// ring keeps every lobe). A hole with ground outside its outer ring ([`stray_holes`]),
/// which that method would turn into another part, only takes away what it covers of its
/// polygon: excluded ground never becomes zone. Rings must be closed first
/// ([`close_rings`]).
pub fn make_valid(g: &Geometry) -> Result<Geometry, String> {
    if stray_holes(g).is_empty() {
        return structure(g);
    }
    let geo = g
        .to_geo()
        .map_err(|e| format!("geometry conversion: {e}"))?;
    let mut polygons = Vec::new();
    collect_polygons(geo, &mut polygons);
    let mut whole: Option<Geometry> = None;
    for p in polygons {
        let shell = structure(&to_gdal(&Polygon::new(p.exterior().clone(), Vec::new()))?)?;
        let part = if p.interiors().is_empty() {
            shell
        } else {
            let holes = MultiPolygon(
                p.interiors()
                    .iter()
                    .map(|h| Polygon::new(h.clone(), Vec::new()))
                    .collect(),
            );
            let holes = structure(&to_gdal(&holes)?)?;
            shell
                .difference(&holes)
                .ok_or("GEOS could not subtract the holes from the outer ring")?
        };
        whole = Some(match whole {
            None => part,
            Some(w) => w
                .union(&part)
                .ok_or("GEOS could not union the polygon's parts")?,
        });
    }
    whole.ok_or_else(|| "no polygon".to_string())
}

/// GEOS's "structure" repair (a valid geometry comes back as it is).
fn structure(g: &Geometry) -> Result<Geometry, String> {
    let mut opts = CslStringList::new();
    opts.set_name_value("METHOD", "STRUCTURE")
        .map_err(|e| e.to_string())?;
    g.make_valid(&opts).map_err(|e| e.to_string())
}

fn to_gdal(g: &impl ToGdal) -> Result<Geometry, String> {
    g.to_gdal().map_err(|e| format!("geometry conversion: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repaired_area(wkt: &str) -> f64 {
        let g = Geometry::from_wkt(wkt).unwrap();
        assert!(!g.is_valid(), "the test's geometry must be invalid: {wkt}");
        make_valid(&g).unwrap().area()
    }

    /// Two overlapping 200 × 200 squares of one MultiPolygon cover 300 × 200; GEOS's
    /// default repair left 2 × 100 × 200 (the shared square became a hole).
    #[test]
    fn overlapping_parts_are_unioned() {
        let a = repaired_area(
            "MULTIPOLYGON (((0 0,200 0,200 200,0 200,0 0)),((100 0,300 0,300 200,100 200,100 0)))",
        );
        assert!((a - 60_000.0).abs() < 1e-6, "{a}");
        // Nearly collinear shared edges, as after reprojection.
        let a = repaired_area(
            "MULTIPOLYGON (((0 0,200 0,200 200,0 200,0 0)),((100 0.000001,300 0,300 200,100.0000003 200,100 0.000001)))",
        );
        assert!((a - 60_000.0).abs() < 0.01, "{a}");
    }

    /// A bow tie keeps both lobes.
    #[test]
    fn a_bow_tie_keeps_both_triangles() {
        let a = repaired_area("POLYGON ((0 0,200 200,200 0,0 200,0 0))");
        assert!((a - 20_000.0).abs() < 1e-6, "{a}");
    }

    /// A hole drawn outside its outer ring is found and adds no ground.
    #[test]
    fn a_hole_outside_its_outer_ring_is_found_and_adds_nothing() {
        let wkt = "POLYGON ((0 0,1000 0,1000 1000,0 1000,0 0),(2000 0,3000 0,3000 1000,2000 1000,2000 0))";
        let g = Geometry::from_wkt(wkt).unwrap();
        assert_eq!(
            stray_holes(&g),
            [StrayHole {
                polygon: 1,
                ring: 2
            }]
        );
        let a = repaired_area(wkt);
        assert!((a - 1_000_000.0).abs() < 1e-6, "{a}");
        let inside =
            "POLYGON ((0 0,1000 0,1000 1000,0 1000,0 0),(200 200,400 200,400 400,200 200))";
        assert!(stray_holes(&Geometry::from_wkt(inside).unwrap()).is_empty());
        // Partly outside: what it covers of the outer ring is taken away, nothing added.
        let partly =
            "POLYGON ((0 0,1000 0,1000 1000,0 1000,0 0),(500 0,1500 0,1500 1000,500 1000,500 0))";
        let a = repaired_area(partly);
        assert!((a - 500_000.0).abs() < 1e-6, "{a}");
    }

    /// An unclosed ring is found, named by its ends, and closed.
    #[test]
    fn an_unclosed_ring_is_closed() {
        let mut g = Geometry::from_wkt("POLYGON ((0 0,100 0,100 100,0 100))").unwrap();
        assert_eq!(close_rings(&mut g), Some(((0.0, 0.0), (0.0, 100.0))));
        assert_eq!(unclosed_ring(&g), None);
        assert!(g.is_valid());
        assert!((g.area() - 10_000.0).abs() < 1e-9);
    }
}
