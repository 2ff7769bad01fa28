//! GeoPackage in the imagery CRS through GDAL/OGR, one `patches` layer of MultiPolygons.
//! Coordinates are exact pixel corners of the grid.

use super::{attributes, schema, Attr, Kind};
use crate::error::PipelineError;
use crate::georef::GeoPatch;
use gdal::spatial_ref::SpatialRef;
use gdal::vector::{
    Feature, FieldValue, Geometry, LayerAccess, LayerOptions, OGRFieldType, OGRwkbGeometryType,
};
use gdal::DriverManager;
use minewatch_core::Grid;
use std::path::Path;

pub fn write(
    path: &Path,
    grid: &Grid,
    patches: &[GeoPatch],
    stats: &[String],
) -> Result<(), PipelineError> {
    let err = |msg: String| PipelineError::Output {
        path: path.to_path_buf(),
        msg,
    };
    let drv = DriverManager::get_driver_by_name("GPKG").map_err(|e| err(e.to_string()))?;
    let mut ds = drv
        .create_vector_only(path)
        .map_err(|e| err(e.to_string()))?;
    let srs = SpatialRef::from_wkt(&grid.crs_wkt).map_err(|e| err(format!("imagery CRS: {e}")))?;
    let layer_opts = LayerOptions {
        name: "patches",
        srs: Some(&srs),
        ty: OGRwkbGeometryType::wkbMultiPolygon,
        options: Some(&["FID=fid", "SPATIAL_INDEX=YES"]),
    };
    let mut txn = ds.start_transaction().map_err(|e| err(e.to_string()))?;
    let layer = txn
        .create_layer(layer_opts)
        .map_err(|e| err(e.to_string()))?;
    let cols = schema(stats);
    layer
        .create_defn_fields(&ogr_fields(&cols))
        .map_err(|e| err(e.to_string()))?;
    for p in patches {
        let geom = Geometry::from_wkb(&wkb(&p.map_polygons))
            .map_err(|e| err(format!("patch {}: {e}", p.record.id)))?;
        let mut f = Feature::new(layer.defn()).map_err(|e| err(e.to_string()))?;
        for (i, ((_, v), (name, kind))) in attributes(p, stats).iter().zip(&cols).enumerate() {
            set_attr(&mut f, i, *kind, v)
                .map_err(|e| err(format!("patch {}, field `{name}`: {e}", p.record.id)))?;
        }
        f.set_geometry(geom).map_err(|e| err(e.to_string()))?;
        f.create(&layer)
            .map_err(|e| err(format!("patch {}: {e}", p.record.id)))?;
    }
    txn.commit().map_err(|e| err(e.to_string()))?;
    Ok(())
}

/// OGR field definitions of typed columns.
pub(crate) fn ogr_fields(cols: &[(String, Kind)]) -> Vec<(&str, OGRFieldType::Type)> {
    cols.iter()
        .map(|(k, kind)| {
            let ty = match kind {
                Kind::Text => OGRFieldType::OFTString,
                Kind::Int => OGRFieldType::OFTInteger64,
                Kind::Real => OGRFieldType::OFTReal,
                Kind::Date => OGRFieldType::OFTDate,
            };
            (k.as_str(), ty)
        })
        .collect()
}

/// Set field `i` of `f`, a column of `kind`, to `v`. A date column takes its text only
/// when it is a `YYYY-MM-DD` day, which GDAL stores as that text under the declared type
/// `DATE`: anything else would be parsed by OGR in its own way or dropped with a warning,
/// so it is refused here, naming the value. An empty text is no date (null).
pub(crate) fn set_attr(f: &mut Feature, i: usize, kind: Kind, v: &Attr) -> Result<(), String> {
    let r = match (v, kind) {
        (Attr::Text(s), Kind::Date) if s.is_empty() => f.set_field_null(i),
        (Attr::Text(s), Kind::Date) => {
            if !is_iso_date(s) {
                return Err(format!("`{s}` is not a YYYY-MM-DD date"));
            }
            f.set_field_string(i, s)
        }
        (Attr::Text(s), _) => f.set_field_string(i, s),
        (Attr::Int(n), _) => f.set_field(i, &FieldValue::Integer64Value(*n)),
        (Attr::Real(x), _) => f.set_field(i, &FieldValue::RealValue(*x)),
        (Attr::Null, _) => f.set_field_null(i),
    };
    r.map_err(|e| e.to_string())
}

/// `YYYY-MM-DD` with a month 01–12 and a day that month has (leap years counted).
pub(crate) fn is_iso_date(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 10
        || b[4] != b'-'
        || b[7] != b'-'
        || !digits(0..4)
        || !digits(5..7)
        || !digits(8..10)
    {
        return false;
    }
    let n = |r: std::ops::Range<usize>| s[r].parse::<u32>().unwrap_or(0);
    minewatch_core::date::is_calendar_day(n(0..4), n(5..7), n(8..10))
}

/// Little-endian WKB MultiPolygon: GDAL parses it several times faster than WKT text.
pub(crate) fn wkb(polys: &[Vec<Vec<(f64, f64)>>]) -> Vec<u8> {
    let n_pts: usize = polys.iter().flatten().map(|r| r.len()).sum();
    let mut b = Vec::with_capacity(9 + polys.len() * 9 + n_pts * 16 + 64);
    b.push(1);
    b.extend_from_slice(&6u32.to_le_bytes());
    b.extend_from_slice(&(polys.len() as u32).to_le_bytes());
    for rings in polys {
        b.push(1);
        b.extend_from_slice(&3u32.to_le_bytes());
        b.extend_from_slice(&(rings.len() as u32).to_le_bytes());
        for r in rings {
            b.extend_from_slice(&(r.len() as u32).to_le_bytes());
            for (x, y) in r {
                b.extend_from_slice(&x.to_le_bytes());
                b.extend_from_slice(&y.to_le_bytes());
            }
        }
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_real_calendar_days_are_iso_dates() {
        for ok in ["2000-05-03", "2024-02-29", "2000-02-29", "1900-12-31"] {
            assert!(is_iso_date(ok), "{ok}");
        }
        for bad in [
            "2000/05/03",
            "20000503",
            "2000-5-3",
            "2023-02-29",
            "1900-02-29",
            "2000-13-01",
            "2000-04-31",
            "2000-00-10",
            "2000-05-03 10:00:00",
            "２０００-05-03",
            "",
        ] {
            assert!(!is_iso_date(bad), "{bad}");
        }
    }

    /// A date column takes `YYYY-MM-DD` (stored as that text) or nothing; other text is
    /// refused with the value named, where OGR would have parsed it its own way or dropped it.
    #[test]
    fn a_date_column_refuses_what_is_not_a_day() {
        let drv = DriverManager::get_driver_by_name("Memory").unwrap();
        let mut ds = drv.create_vector_only("mem").unwrap();
        let l = ds
            .create_layer(LayerOptions {
                name: "t",
                srs: None,
                ty: OGRwkbGeometryType::wkbNone,
                options: None,
            })
            .unwrap();
        let cols = vec![("d".to_string(), Kind::Date)];
        l.create_defn_fields(&ogr_fields(&cols)).unwrap();
        let mut f = Feature::new(l.defn()).unwrap();
        set_attr(&mut f, 0, Kind::Date, &Attr::Text("2002-07-12".into())).unwrap();
        assert_eq!(
            f.field(0)
                .unwrap()
                .and_then(|v| v.into_date())
                .map(|d| d.to_string()),
            Some("2002-07-12".to_string())
        );
        set_attr(&mut f, 0, Kind::Date, &Attr::Text(String::new())).unwrap();
        assert!(f.field(0).unwrap().is_none());
        let e = set_attr(&mut f, 0, Kind::Date, &Attr::Text("2002/07/12".into())).unwrap_err();
        assert!(e.contains("`2002/07/12` is not a YYYY-MM-DD date"), "{e}");
    }
}
