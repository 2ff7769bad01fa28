//! Which labelled pixels the detection had data for. Detect records only how many pixels
//! of its grid it could assess, not which; a labelled pixel over a no-data strip of one
//! date is no evidence of "no change" (a reviewer's 60-column strip on the Nanjing pair
//! took F1 from 0.837 to 0.668). So `eval` reads the detection's two images again, where
//! its manifest names them and they are still there at the recorded size, and drops labelled pixels
//! whose detection pixel had no data on either date — by the reader detect itself uses
//! (nodata values, NaN, zero fill of untagged integer files).
//!
//! Only labelled pixels are looked at, a block of detection rows at a time, so a sparse
//! sample costs a few reads and memory stays one block of rows.

use crate::error::PipelineError;
use minewatch_core::{AcqDate, BandRole, Grid, SensorProfile, Window};
use minewatch_eval::Truth;
use minewatch_raster::ImageInfo;
use std::path::PathBuf;

/// Detection rows read at once.
const BLOCK_ROWS: usize = 256;

/// What the check did: labelled pixels dropped, or why it could not be made.
pub enum Validity {
    Checked { dropped: u64 },
    Unchecked(String),
}

/// An input of the detection as its manifest records it.
struct Recorded {
    path: PathBuf,
    bytes: u64,
    date: AcqDate,
    profile: SensorProfile,
}

fn recorded(manifest: &serde_json::Value, pair: &str) -> Result<[Recorded; 2], String> {
    let digits: Vec<&str> = pair.split('_').collect();
    let mut found = Vec::new();
    for want in digits {
        let r = manifest["inputs"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["date"].as_str().map(|d| d.replace('-', "")).as_deref() == Some(want))
            .ok_or(format!("the manifest names no input of date {want}"))?;
        if r["aligned"].as_bool() == Some(true) {
            return Err("an input was warped by --align; its warped copy is gone".into());
        }
        let path = PathBuf::from(r["path"].as_str().ok_or("an input has no path")?);
        let date = AcqDate::parse(want).map_err(|e| e.to_string())?;
        let mut bands = Vec::new();
        for b in r["bands"].as_array().into_iter().flatten() {
            let role = b[0].as_str().and_then(BandRole::from_name);
            let band = b[1].as_u64();
            if let (Some(role), Some(band)) = (role, band) {
                bands.push((role, band as usize));
            }
        }
        bands.sort();
        found.push(Recorded {
            bytes: r["bytes"].as_u64().unwrap_or(0),
            path,
            date,
            profile: SensorProfile {
                name: r["profile"].as_str().unwrap_or("recorded").to_string(),
                bands,
            },
        });
    }
    found
        .try_into()
        .map_err(|_| "the pair is not two dates".to_string())
}

/// Set `truth` to `Unknown` where the detection's pixel under a labelled reference pixel
/// had no data on either date of `pair`. Needs the reference in the detection's CRS.
pub fn drop_invalid(
    manifest: &serde_json::Value,
    pair: &str,
    detection: &Grid,
    reference: &Grid,
    same_crs: bool,
    truth: &mut [Truth],
) -> Result<Validity, PipelineError> {
    if !same_crs {
        return Ok(Validity::Unchecked(
            "the reference is in another CRS than the detection".into(),
        ));
    }
    let inputs = match recorded(manifest, pair) {
        Ok(i) => i,
        Err(why) => return Ok(Validity::Unchecked(why)),
    };
    for r in &inputs {
        if crate::object_image::is_virtual(&r.path) {
            return Ok(Validity::Unchecked(format!(
                "{} is on object storage, which eval does not read again",
                r.path.display()
            )));
        }
        let now = std::fs::metadata(&r.path).map(|m| m.len()).ok();
        if now != Some(r.bytes) {
            return Ok(Validity::Unchecked(format!(
                "{} is gone or changed since detect",
                r.path.display()
            )));
        }
    }
    // Labelled reference pixels → the detection pixel under their centre.
    let (t, d) = (&reference.transform, &detection.transform);
    let det = d[1] * d[5] - d[2] * d[4];
    let mut wanted: Vec<(usize, usize, usize)> = Vec::new(); // (det row, det col, ref index)
    for (i, tr) in truth.iter().enumerate() {
        if *tr == Truth::Unknown {
            continue;
        }
        let (c, r) = (
            (i % reference.width) as f64 + 0.5,
            (i / reference.width) as f64 + 0.5,
        );
        let (x, y) = (t[0] + c * t[1] + r * t[2], t[3] + c * t[4] + r * t[5]);
        let (dx, dy) = (x - d[0], y - d[3]);
        let col = (d[5] * dx - d[2] * dy) / det;
        let row = (d[1] * dy - d[4] * dx) / det;
        if col >= 0.0 && row >= 0.0 {
            let (col, row) = (col.floor() as usize, row.floor() as usize);
            if col < detection.width && row < detection.height {
                wanted.push((row, col, i));
            }
        }
    }
    wanted.sort_unstable();
    let images: Vec<(ImageInfo, &SensorProfile)> = inputs
        .iter()
        .map(|r| {
            ImageInfo::inspect(&r.path, Some(r.date))
                .map(|info| (info, &r.profile))
                .map_err(|e| PipelineError::Input(e.to_string()))
        })
        .collect::<Result<_, _>>()?;
    let mut dropped = 0u64;
    let mut k = 0;
    while k < wanted.len() {
        let row0 = wanted[k].0 / BLOCK_ROWS * BLOCK_ROWS;
        let window = Window {
            col: 0,
            row: row0,
            width: detection.width,
            height: BLOCK_ROWS.min(detection.height - row0),
        };
        let mut valid = vec![1u8; window.len()];
        for (info, profile) in &images {
            let roles: Vec<BandRole> = profile.bands.iter().map(|(r, _)| *r).collect();
            minewatch_raster::read_window(info, profile, &roles, &window, &mut valid)
                .map_err(|e| PipelineError::Input(e.to_string()))?;
        }
        while k < wanted.len() && wanted[k].0 < row0 + window.height {
            let (row, col, i) = wanted[k];
            if valid[(row - row0) * window.width + col] == 0 {
                truth[i] = Truth::Unknown;
                dropped += 1;
            }
            k += 1;
        }
    }
    minewatch_raster::reader::close_thread_handles();
    Ok(Validity::Checked { dropped })
}
