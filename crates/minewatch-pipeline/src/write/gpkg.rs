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
        for (i, (_, v)) in attributes(p, stats).into_iter().enumerate() {
            let r = match v {
                Attr::Text(s) => f.set_field(i, &FieldValue::StringValue(s)),
                Attr::Int(n) => f.set_field(i, &FieldValue::Integer64Value(n)),
                Attr::Real(x) => f.set_field(i, &FieldValue::RealValue(x)),
                Attr::Null => f.set_field_null(i),
            };
            r.map_err(|e| err(e.to_string()))?;
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
            };
            (k.as_str(), ty)
        })
        .collect()
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
