//! The date pairs detect compared, patches or not, carried from detect's manifest through
//! overlay's to rank. A pair that found nothing leaves no row in any patch file, yet it is
//! the latest look at its ground: without it the ledger ends a chain of dates at the latest
//! pair *with patches*, and a pit dug years ago and untouched since ranks as new change.

use crate::error::PipelineError;
use minewatch_core::{AcqDate, DatePair};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One comparison detect made, as overlay's manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComparedPair {
    /// `20190601_20200601`.
    pub pair: String,
    /// Pixels with data on both dates (not masked): how much of the scene was seen.
    pub valid_pixels: u64,
    pub patches: usize,
}

impl ComparedPair {
    pub fn dates(&self) -> Option<DatePair> {
        let (b, a) = self.pair.split_once('_')?;
        Some(DatePair {
            before: AcqDate::parse(b).ok()?,
            after: AcqDate::parse(a).ok()?,
        })
    }
}

/// The pairs of the detect run that wrote `data_file` (the resolved patches file of
/// `given`), from the `manifest.json` beside it. `None` when the patches came from
/// elsewhere: a file given by itself whose neighbour manifest is not detect's, or one
/// detect did not write.
pub fn from_detect(
    given: &Path,
    data_file: &Path,
) -> Result<Option<Vec<ComparedPair>>, PipelineError> {
    let mpath = data_file.with_file_name("manifest.json");
    if !mpath.is_file() {
        return Ok(None);
    }
    let m = read_json(&mpath)?;
    let name = data_file
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    // Beside a file the user brought, a manifest.json may be another tool's, or detect's
    // for other files.
    let written_by_detect = m["command"] == "detect"
        && m["outputs"]
            .as_array()
            .is_some_and(|o| o.iter().any(|x| x.as_str() == Some(name.as_str())));
    if !written_by_detect && !given.is_dir() {
        return Ok(None);
    }
    let Some(pairs) = m["pairs"].as_array() else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for p in pairs {
        let c = ComparedPair {
            pair: p["pair"].as_str().unwrap_or_default().to_string(),
            valid_pixels: p["valid_pixels"].as_u64().unwrap_or(0),
            patches: p["patches"].as_u64().unwrap_or(0) as usize,
        };
        if c.dates().is_none() {
            return Err(PipelineError::Input(format!(
                "{}: pair `{}` is not two dates (YYYYMMDD_YYYYMMDD); run `minewatch detect` again to rewrite it",
                mpath.display(),
                c.pair
            )));
        }
        out.push(c);
    }
    Ok(Some(out))
}

/// The pairs overlay recorded for the findings file `data_file` (from `overlay_manifest.json`
/// beside it), `None` when overlay did not know them (patches from elsewhere, or an overlay
/// older than the record) or the file is not an overlay output.
pub fn from_overlay(data_file: &Path) -> Result<Option<Vec<ComparedPair>>, PipelineError> {
    let mpath = data_file.with_file_name("overlay_manifest.json");
    if !mpath.is_file() {
        return Ok(None);
    }
    let m = read_json(&mpath)?;
    let Some(v) = m.get("detect_pairs").filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let pairs: Vec<ComparedPair> = serde_json::from_value(v.clone()).map_err(|e| {
        PipelineError::Input(format!(
            "{}: `detect_pairs` cannot be read ({e}); run `minewatch overlay` again",
            mpath.display()
        ))
    })?;
    if let Some(bad) = pairs.iter().find(|c| c.dates().is_none()) {
        return Err(PipelineError::Input(format!(
            "{}: pair `{}` is not two dates (YYYYMMDD_YYYYMMDD); run `minewatch overlay` again",
            mpath.display(),
            bad.pair
        )));
    }
    Ok(Some(pairs))
}

fn read_json(path: &PathBuf) -> Result<serde_json::Value, PipelineError> {
    std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
        .map_err(|e| {
            PipelineError::Input(format!(
                "{}: cannot read it ({e}); run the command that wrote it again",
                path.display()
            ))
        })
}
