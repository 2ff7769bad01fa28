//! RFC 7946 GeoJSON in EPSG:4326 lon/lat (7 decimals, about 1 cm), shells
//! counter-clockwise, a bbox per feature.

use super::{attributes, round, Attr};
use crate::error::PipelineError;
use crate::georef::GeoPatch;
use serde_json::{json, Map, Value};
use std::io::Write;
use std::path::Path;

pub fn write(path: &Path, patches: &[GeoPatch], stats: &[String]) -> Result<(), PipelineError> {
    let err = |e: std::io::Error| PipelineError::Output {
        path: path.to_path_buf(),
        msg: e.to_string(),
    };
    let f = std::fs::File::create(path).map_err(err)?;
    let mut w = std::io::BufWriter::new(f);
    w.write_all(b"{\"type\":\"FeatureCollection\",\"name\":\"patches\",\"features\":[\n")
        .map_err(err)?;
    for (i, p) in patches.iter().enumerate() {
        let mut props = Map::new();
        for (k, v) in attributes(p, stats) {
            props.insert(
                k,
                match v {
                    Attr::Text(s) => Value::String(s),
                    Attr::Int(n) => json!(n),
                    Attr::Real(x) => json!(x),
                    Attr::Null => Value::Null,
                },
            );
        }
        let coords: Vec<Vec<Vec<[f64; 2]>>> = p
            .lonlat_polygons
            .iter()
            .map(|rings| {
                rings
                    .iter()
                    .map(|r| r.iter().map(|&(x, y)| [round(x, 7), round(y, 7)]).collect())
                    .collect()
            })
            .collect();
        let b = p.bbox;
        let feature = json!({
            "type": "Feature",
            "id": p.record.id,
            "bbox": [round(b.0, 7), round(b.1, 7), round(b.2, 7), round(b.3, 7)],
            "properties": Value::Object(props),
            "geometry": {"type": "MultiPolygon", "coordinates": coords},
        });
        if i > 0 {
            w.write_all(b",\n").map_err(err)?;
        }
        serde_json::to_writer(&mut w, &feature)
            .map_err(|e| PipelineError::Internal(e.to_string()))?;
    }
    w.write_all(b"\n]}\n").map_err(err)?;
    w.flush().map_err(err)
}
