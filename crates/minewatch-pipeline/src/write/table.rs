//! Generic feature writers for stages after detection (findings, later tasks): a list of
//! typed columns, rows of values, and MultiPolygons. GeoPackage in the patch CRS through
//! GDAL; RFC 7946 GeoJSON in lon/lat written by hand with fixed precision; CSV with a UTF-8
//! BOM so Excel opens Chinese text. All byte-identical for the same rows.

use super::formula_guard::guard;
use super::{push_multipolygon, Attr, Kind};
use crate::error::PipelineError;
use gdal::spatial_ref::SpatialRef;
use gdal::vector::{Feature, Geometry, LayerAccess, LayerOptions, OGRwkbGeometryType};
use gdal::DriverManager;
use serde_json::{json, Map, Value};
use std::io::Write;
use std::path::Path;

/// Polygons as shells followed by holes, each ring closed.
pub type Polys = Vec<Vec<Vec<(f64, f64)>>>;

fn out_err(path: &Path, msg: impl ToString) -> PipelineError {
    PipelineError::Output {
        path: path.to_path_buf(),
        msg: msg.to_string(),
    }
}

/// One GeoPackage with a polygon layer and, optionally, attribute-only tables.
pub struct GpkgLayer<'a> {
    pub name: &'a str,
    pub columns: &'a [(String, Kind)],
    pub rows: &'a [Vec<Attr>],
    /// One geometry per row; `None` for an attribute-only table.
    pub geoms: Option<&'a [Polys]>,
}

pub fn write_gpkg(path: &Path, crs_wkt: &str, layers: &[GpkgLayer]) -> Result<(), PipelineError> {
    let drv = DriverManager::get_driver_by_name("GPKG").map_err(|e| out_err(path, e))?;
    let mut ds = drv.create_vector_only(path).map_err(|e| out_err(path, e))?;
    let srs = SpatialRef::from_wkt(crs_wkt).map_err(|e| out_err(path, format!("CRS: {e}")))?;
    let mut txn = ds.start_transaction().map_err(|e| out_err(path, e))?;
    for l in layers {
        let opts = LayerOptions {
            name: l.name,
            srs: l.geoms.is_some().then_some(&srs),
            ty: if l.geoms.is_some() {
                OGRwkbGeometryType::wkbMultiPolygon
            } else {
                OGRwkbGeometryType::wkbNone
            },
            options: Some(&["FID=fid"]),
        };
        let layer = txn.create_layer(opts).map_err(|e| out_err(path, e))?;
        layer
            .create_defn_fields(&super::gpkg::ogr_fields(l.columns))
            .map_err(|e| out_err(path, e))?;
        for (n, row) in l.rows.iter().enumerate() {
            let mut f = Feature::new(layer.defn()).map_err(|e| out_err(path, e))?;
            for (i, (v, (col, kind))) in row.iter().zip(l.columns).enumerate() {
                super::gpkg::set_attr(&mut f, i, *kind, v).map_err(|e| {
                    out_err(
                        path,
                        format!("{} row {}, field `{col}`: {e}", l.name, n + 1),
                    )
                })?;
            }
            if let Some(g) = l.geoms {
                let geom = Geometry::from_wkb(&super::gpkg::wkb(&g[n]))
                    .map_err(|e| out_err(path, format!("{} row {n}: {e}", l.name)))?;
                f.set_geometry(geom).map_err(|e| out_err(path, e))?;
            }
            f.create(&layer).map_err(|e| out_err(path, e))?;
        }
    }
    txn.commit().map_err(|e| out_err(path, e))?;
    Ok(())
}

/// RFC 7946 FeatureCollection; `lonlat` holds each row's polygons in EPSG:4326.
pub fn write_geojson(
    path: &Path,
    name: &str,
    columns: &[(String, Kind)],
    rows: &[Vec<Attr>],
    lonlat: &[Polys],
) -> Result<(), PipelineError> {
    let f = std::fs::File::create(path).map_err(|e| out_err(path, e))?;
    let mut w = std::io::BufWriter::new(f);
    let io = |e: std::io::Error| out_err(path, e);
    writeln!(
        w,
        "{{\"type\":\"FeatureCollection\",\"name\":{},\"features\":[",
        json!(name)
    )
    .map_err(io)?;
    for (i, (row, polys)) in rows.iter().zip(lonlat).enumerate() {
        let mut props = Map::new();
        for ((k, _), v) in columns.iter().zip(row) {
            props.insert(k.clone(), attr_json(v));
        }
        if i > 0 {
            w.write_all(b",\n").map_err(io)?;
        }
        let mut g = String::new();
        let [w0, s0, e0, n0] = push_multipolygon(&mut g, polys);
        write!(
            w,
            "{{\"type\":\"Feature\",\"bbox\":[{w0},{s0},{e0},{n0}],\"properties\":{},\"geometry\":{{\"type\":\"MultiPolygon\",\"coordinates\":{g}}}}}",
            Value::Object(props)
        )
        .map_err(io)?;
    }
    w.write_all(b"\n]}\n").map_err(io)?;
    w.flush().map_err(io)
}

fn attr_json(v: &Attr) -> Value {
    match v {
        Attr::Text(s) => Value::String(s.clone()),
        Attr::Int(n) => json!(n),
        Attr::Real(x) if x.is_finite() => json!(x),
        _ => Value::Null,
    }
}

/// CSV with a UTF-8 byte-order mark (Excel reads Chinese text right only with it), text
/// cells that Excel would run as formulas quoted (`formula_guard`: names and holders come
/// from the layers users bring); numbers as they are.
pub fn write_csv(path: &Path, header: &[String], rows: &[Vec<Attr>]) -> Result<(), PipelineError> {
    let mut f = std::fs::File::create(path).map_err(|e| out_err(path, e))?;
    f.write_all(b"\xEF\xBB\xBF").map_err(|e| out_err(path, e))?;
    let mut w = csv::Writer::from_writer(std::io::BufWriter::new(f));
    let e = |x: csv::Error| out_err(path, x);
    w.write_record(header.iter().map(|h| guard(h).into_owned()))
        .map_err(e)?;
    for row in rows {
        w.write_record(row.iter().map(|v| match v {
            Attr::Text(s) => guard(s).into_owned(),
            Attr::Int(n) => n.to_string(),
            Attr::Real(x) => x.to_string(),
            Attr::Null => String::new(),
        }))
        .map_err(e)?;
    }
    w.flush().map_err(|x| out_err(path, x))
}
