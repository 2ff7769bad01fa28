//! Shapes the ledger's tests draw (one definition for every module's tests).

use geo_types::{LineString, MultiPolygon, Polygon};

/// An axis-aligned square of side `s` with its lower left corner at (`x`, `y`).
pub fn square(x: f64, y: f64, s: f64) -> MultiPolygon<f64> {
    MultiPolygon(vec![Polygon::new(
        LineString::from(vec![(x, y), (x + s, y), (x + s, y + s), (x, y + s), (x, y)]),
        vec![],
    )])
}
