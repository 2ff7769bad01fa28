//! A site's footprint: the ground its patches cover, each square metre once. A growing
//! pit's patches are rings beside the old extent (sharing edges) and a re-detection lies
//! on the same ground: kept as separate parts of one MultiPolygon they make it invalid
//! (GEOS: self-intersection) and a GIS counts the shared ground twice.

use geo::BooleanOps;
use geo_types::MultiPolygon;

/// The union of `parts` (planar, in their CRS). Cost: one polygon union per part.
pub fn footprint<'a>(parts: impl IntoIterator<Item = &'a MultiPolygon<f64>>) -> MultiPolygon<f64> {
    parts
        .into_iter()
        .fold(MultiPolygon::<f64>::new(vec![]), |acc, g| acc.union(g))
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Area, Validation};
    use geo_types::{LineString, Polygon};

    fn square(x: f64, y: f64, s: f64) -> Polygon<f64> {
        Polygon::new(
            LineString::from(vec![(x, y), (x + s, y), (x + s, y + s), (x, y + s), (x, y)]),
            vec![],
        )
    }

    /// Review finding (revV F4): a growing pit's 2001 block, 2002 ring and 2003 ring were
    /// three parts of one MultiPolygon sharing edges (invalid), and a revegetated pit's dig
    /// and reversal two identical parts (its GIS area twice its ground).
    #[test]
    fn rings_and_repeats_dissolve_into_one_valid_footprint() {
        let block = MultiPolygon(vec![square(30.0, 30.0, 40.0)]);
        let ring = |outer: Polygon<f64>, inner: Polygon<f64>| {
            MultiPolygon(vec![Polygon::new(
                outer.exterior().clone(),
                vec![inner.exterior().clone()],
            )])
        };
        let r2002 = ring(square(20.0, 20.0, 60.0), square(30.0, 30.0, 40.0));
        let r2003 = ring(square(0.0, 0.0, 100.0), square(20.0, 20.0, 60.0));
        let parts = [&block, &r2002, &r2003, &block];
        let naive = MultiPolygon(parts.iter().flat_map(|g| g.0.clone()).collect());
        assert!(!naive.is_valid(), "the test's parts must overlap");
        let f = footprint(parts);
        assert!(f.is_valid(), "{:?}", f.validation_errors());
        assert_eq!(f.0.len(), 1);
        assert!((f.unsigned_area() - 10_000.0).abs() < 1e-6);
    }
}
