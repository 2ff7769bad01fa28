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

/// Appends `round(x, 7)` as `{}` prints it, without the float formatter: a lon/lat
/// vertex pair per polygon corner made float printing the largest single cost of writing
/// GeoJSON. The double nearest to n / 10⁷ prints as that decimal, trailing zeros trimmed,
/// as long as n / 10⁷ is far above the double's spacing (|x| < 10⁸ here); anything else
/// takes the formatter.
pub fn push_round7(out: &mut String, x: f64) {
    const F: f64 = 1e7;
    let n = (x * F).round();
    if n.is_nan() || n.abs() >= 1e15 {
        let _ = std::fmt::Write::write_fmt(out, format_args!("{}", round(x, 7)));
        return;
    }
    let n = n as i64;
    let a = n.unsigned_abs();
    let (mut int, mut frac) = (a / 10_000_000, a % 10_000_000);
    // Digits right to left into a stack buffer: sign, ≤ 8 integer digits, '.', 7 decimals.
    let mut buf = [0u8; 24];
    let mut i = buf.len();
    if frac != 0 {
        let mut digits = 7;
        while frac % 10 == 0 {
            frac /= 10;
            digits -= 1;
        }
        for _ in 0..digits {
            i -= 1;
            buf[i] = b'0' + (frac % 10) as u8;
            frac /= 10;
        }
        i -= 1;
        buf[i] = b'.';
    }
    loop {
        i -= 1;
        buf[i] = b'0' + (int % 10) as u8;
        int /= 10;
        if int == 0 {
            break;
        }
    }
    if n < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    // Only ASCII digits, '.' and '-' were written.
    out.push_str(std::str::from_utf8(&buf[i..]).unwrap_or_default());
}

/// Appends a GeoJSON position `[lon,lat]` at 7 decimals (about 1 cm).
pub fn push_position(out: &mut String, x: f64, y: f64) {
    out.push('[');
    push_round7(out, x);
    out.push(',');
    push_round7(out, y);
    out.push(']');
}

/// Appends a GeoJSON MultiPolygon's `coordinates` (`polys`: shells followed by holes, in
/// lon/lat) at 7 decimals, each polygon wound as RFC 7946 §3.1.6 asks: shell
/// counter-clockwise, holes clockwise. Every GeoJSON writer goes through here, so no
/// output repeats the winding its input happened to have (a Shapefile's clockwise shells,
/// the holes of a `geo` union): renderers that fill by signed area or the non-zero rule
/// (MapLibre, d3-geo, canvas) would fill the holes or draw the world minus the polygon.
/// The winding is taken of the rounded vertices, the ones written. Returns the bbox
/// `[west, south, east, north]` of what was written.
pub fn push_multipolygon(out: &mut String, polys: &[Vec<Vec<(f64, f64)>>]) -> [f64; 4] {
    use geo::orient::{Direction, Orient};
    let mut bbox = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    let ring = |r: &Vec<(f64, f64)>| {
        geo::LineString::from(
            r.iter()
                .map(|&(x, y)| (round(x, 7), round(y, 7)))
                .collect::<Vec<_>>(),
        )
    };
    out.push('[');
    for (k, rings) in polys.iter().enumerate() {
        out.push_str(if k == 0 { "[" } else { ",[" });
        let Some((shell, holes)) = rings.split_first() else {
            out.push(']');
            continue;
        };
        let p = geo::Polygon::new(ring(shell), holes.iter().map(ring).collect())
            .orient(Direction::Default);
        for (j, r) in std::iter::once(p.exterior())
            .chain(p.interiors())
            .enumerate()
        {
            out.push_str(if j == 0 { "[" } else { ",[" });
            for (n, c) in r.0.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                bbox = [
                    bbox[0].min(c.x),
                    bbox[1].min(c.y),
                    bbox[2].max(c.x),
                    bbox[3].max(c.y),
                ];
                push_position(out, c.x, c.y);
            }
            out.push(']');
        }
        out.push(']');
    }
    out.push(']');
    bbox
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
    /// A calendar date, its values `Attr::Text` in `YYYY-MM-DD` (or `Attr::Null`): a
    /// GeoPackage declares it `DATE` (OGR `OFTDate`), so QGIS and `ogrinfo` filter and sort
    /// it as a date; GeoJSON (RFC 7946 has no date type) and CSV write the text. Only for
    /// columns that hold nothing but dates: date-times and free text stay `Text`.
    Date,
}

/// Names and types of the attribute columns, in `attributes` order: writers create their
/// schema from this, so an empty result still has every column.
pub fn schema(stats: &[String]) -> Vec<(String, Kind)> {
    use Kind::*;
    let mut v: Vec<(String, Kind)> = [
        ("id", Text),
        ("date_before", Date),
        ("date_after", Date),
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

    fn printed(x: f64) -> String {
        let mut s = String::new();
        push_round7(&mut s, x);
        s
    }

    #[test]
    fn positions_print_as_the_rounded_double_does() {
        // Lon/lat-sized values, tiny ones, halves at the 8th decimal, integers, signs,
        // and values past the fast path.
        let mut cases = vec![
            0.0,
            -0.0,
            1e-8,
            -1e-8,
            4e-8,
            5e-8,
            -5e-8,
            6e-8,
            1e-7,
            -1e-7,
            0.5,
            118.0,
            -118.0,
            118.00000005,
            118.12345675,
            31.99999999,
            32.000000049,
            179.9999999,
            -179.99999995,
            89.99999999,
            1e8,
            123456789.123,
            -5e9,
            1e300,
            f64::NAN,
            f64::INFINITY,
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let u = (state >> 11) as f64 / (1u64 << 53) as f64;
            let scale = [1.0, 180.0, 1e-6, 1e4, 1e8][(state % 5) as usize];
            cases.push((u * 2.0 - 1.0) * scale);
        }
        for x in cases {
            assert_eq!(printed(x), format!("{}", round(x, 7)), "x = {x:e}");
        }
    }

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

    /// revZ2 F2: a Shapefile's winding (shell clockwise, hole counter-clockwise) is
    /// written the RFC 7946 way round, and RFC input is written as it came.
    #[test]
    fn multipolygons_are_written_with_rfc7946_winding() {
        let shell_cw = vec![(0.0, 0.0), (0.0, 1.0), (1.0, 1.0), (1.0, 0.0), (0.0, 0.0)];
        let hole_ccw = vec![(0.2, 0.2), (0.8, 0.2), (0.8, 0.8), (0.2, 0.8), (0.2, 0.2)];
        let rev = |r: &Vec<(f64, f64)>| r.iter().rev().copied().collect::<Vec<_>>();
        let want = "[[[[0,0],[1,0],[1,1],[0,1],[0,0]],[[0.2,0.2],[0.2,0.8],[0.8,0.8],[0.8,0.2],[0.2,0.2]]]]";
        for polys in [
            vec![vec![shell_cw.clone(), hole_ccw.clone()]],
            vec![vec![rev(&shell_cw), rev(&hole_ccw)]],
        ] {
            let mut g = String::new();
            let bbox = push_multipolygon(&mut g, &polys);
            assert_eq!(g, want);
            assert_eq!(bbox, [0.0, 0.0, 1.0, 1.0]);
        }
    }
}
