//! Patch writers: GeoJSON (RFC 7946, lon/lat), CSV, GeoPackage (imagery CRS). All write
//! patches in one order (pair, then first pixel) with fixed precision, so files are
//! byte-identical for the same inputs.

pub mod csv;
pub mod formula_guard;
pub mod geojson;
pub mod gpkg;
pub mod quicklook;
pub mod table;

use crate::georef::GeoPatch;

/// Round to `d` decimals (the nearest double prints with at most `d` decimals).
pub fn round(x: f64, d: i32) -> f64 {
    let f = 10f64.powi(d);
    // + 0.0 turns -0.0 into 0.0: a growth of -1e-14 % (float noise on equal areas) printed
    // as "-0".
    (x * f).round() / f + 0.0
}

/// The attribute columns shared by every writer, in order.
pub fn attributes(p: &GeoPatch, stats: &[String]) -> Vec<(String, Attr)> {
    let r = &p.record;
    let mut v: Vec<(String, Attr)> = vec![
        ("id".into(), Attr::Text(r.id.clone())),
        ("date_before".into(), Attr::Text(r.pair.before.to_string())),
        ("date_after".into(), Attr::Text(r.pair.after.to_string())),
        ("pixels".into(), Attr::Int(r.pixels as i64)),
        ("area_m2".into(), Attr::Real(round(p.area_m2, 2))),
        ("area_mu".into(), Attr::Real(round(p.area_mu, 4))),
        (
            "grid_area_m2".into(),
            p.grid_area_m2
                .map_or(Attr::Null, |a| Attr::Real(round(a, 4))),
        ),
        ("centroid_lon".into(), Attr::Real(round(p.centroid.0, 7))),
        ("centroid_lat".into(), Attr::Real(round(p.centroid.1, 7))),
        ("first_row".into(), Attr::Int(r.first_pixel.0 as i64)),
        ("first_col".into(), Attr::Int(r.first_pixel.1 as i64)),
        ("parts".into(), Attr::Int(r.geometry.polygons.len() as i64)),
        ("change_type".into(), Attr::Text(p.change_type.to_string())),
        ("confidence".into(), Attr::Text(p.confidence.to_string())),
        ("reasons".into(), Attr::Text(p.reasons.clone())),
    ];
    for name in stats {
        let s = r.stats.iter().find(|s| &s.name == name);
        let f = |x: f64| {
            if x.is_finite() {
                Attr::Real(round(x, 5))
            } else {
                Attr::Null
            }
        };
        v.push((format!("mean_{name}"), s.map_or(Attr::Null, |s| f(s.mean))));
        v.push((format!("max_{name}"), s.map_or(Attr::Null, |s| f(s.max))));
    }
    v
}

/// Owned typed columns from a static list.
pub fn columns(list: &[(&str, Kind)]) -> Vec<(String, Kind)> {
    list.iter().map(|(n, k)| (n.to_string(), *k)).collect()
}

/// Column type of an attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Int,
    Real,
}

/// Names and types of the attribute columns, in `attributes` order: writers create their
/// schema from this, so an empty result still has every column.
pub fn schema(stats: &[String]) -> Vec<(String, Kind)> {
    use Kind::*;
    let mut v: Vec<(String, Kind)> = [
        ("id", Text),
        ("date_before", Text),
        ("date_after", Text),
        ("pixels", Int),
        ("area_m2", Real),
        ("area_mu", Real),
        ("grid_area_m2", Real),
        ("centroid_lon", Real),
        ("centroid_lat", Real),
        ("first_row", Int),
        ("first_col", Int),
        ("parts", Int),
        ("change_type", Text),
        ("confidence", Text),
        ("reasons", Text),
    ]
    .iter()
    .map(|(n, k)| (n.to_string(), *k))
    .collect();
    for s in stats {
        v.push((format!("mean_{s}"), Real));
        v.push((format!("max_{s}"), Real));
    }
    v
}

#[derive(Debug, Clone, PartialEq)]
pub enum Attr {
    Text(String),
    Int(i64),
    Real(f64),
    Null,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_follow_attributes() {
        let stats = vec!["ndvi_drop".to_string()];
        let names: Vec<String> = schema(&stats).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names.len(), 17);
        assert_eq!(names[15], "mean_ndvi_drop");
        assert_eq!(names[16], "max_ndvi_drop");
    }

    /// Float noise below the printed precision is 0, never "-0": a site's growth of
    /// −1e−14 % (equal areas summed in another order) printed as "-0" in tasks.csv.
    #[test]
    fn rounding_noise_prints_as_zero_not_minus_zero() {
        for x in [-1e-14, -0.0, -0.004] {
            assert_eq!(format!("{}", round(x, 2)), "0", "{x}");
        }
        assert_eq!(format!("{}", round(-0.005, 2)), "-0.01");
        assert_eq!(format!("{}", round(-12.3456, 2)), "-12.35");
    }
}
