//! One CSV row per patch (no geometry): the table analysts open first.

use super::{attributes, round, schema, Attr};
use crate::error::PipelineError;
use crate::georef::GeoPatch;
use std::path::Path;

pub fn write(path: &Path, patches: &[GeoPatch], stats: &[String]) -> Result<(), PipelineError> {
    let err = |e: csv::Error| PipelineError::Output {
        path: path.to_path_buf(),
        msg: e.to_string(),
    };
    let mut w = csv::Writer::from_path(path).map_err(err)?;
    let mut header: Vec<String> = schema(stats).into_iter().map(|(k, _)| k).collect();
    header.extend(["bbox_west", "bbox_south", "bbox_east", "bbox_north"].map(String::from));
    w.write_record(&header).map_err(err)?;
    for p in patches {
        let mut row: Vec<String> = attributes(p, stats)
            .into_iter()
            .map(|(_, v)| match v {
                Attr::Text(s) => s,
                Attr::Int(n) => n.to_string(),
                Attr::Real(x) => x.to_string(),
                Attr::Null => String::new(),
            })
            .collect();
        let b = p.bbox;
        row.extend([b.0, b.1, b.2, b.3].map(|x| round(x, 7).to_string()));
        w.write_record(&row).map_err(err)?;
    }
    w.flush().map_err(|e| PipelineError::Output {
        path: path.to_path_buf(),
        msg: e.to_string(),
    })
}
