//! RFC 7946 GeoJSON in EPSG:4326 lon/lat (7 decimals, about 1 cm), shells
//! counter-clockwise and holes clockwise (`push_multipolygon`), a bbox per feature.

use super::{attributes, push_multipolygon, round, Attr};
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
        if i > 0 {
            w.write_all(b",\n").map_err(err)?;
        }
        // Geometry by hand: no per-vertex allocation.
        let mut g = String::with_capacity(
            64 + 48
                * p.lonlat_polygons
                    .iter()
                    .flatten()
                    .map(|r| r.len())
                    .sum::<usize>(),
        );
        push_multipolygon(&mut g, &p.lonlat_polygons);
        let b = p.bbox;
        let head = json!({
            "type": "Feature",
            "id": p.record.id,
            "bbox": [round(b.0, 7), round(b.1, 7), round(b.2, 7), round(b.3, 7)],
            "properties": Value::Object(props),
        });
        let head = head.to_string();
        // `{...}` minus its closing brace, then the geometry member.
        w.write_all(&head.as_bytes()[..head.len() - 1])
            .map_err(err)?;
        w.write_all(b",\"geometry\":{\"type\":\"MultiPolygon\",\"coordinates\":")
            .map_err(err)?;
        w.write_all(g.as_bytes()).map_err(err)?;
        w.write_all(b"}}").map_err(err)?;
    }
    w.write_all(b"\n]}\n").map_err(err)?;
    w.flush().map_err(err)
}
