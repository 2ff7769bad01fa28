//! Which labelled pixels the detection had data for. Detect records only how many pixels
//! of its grid it could assess, not which; a labelled pixel over a no-data strip of one
//! date is no evidence of "no change" (a reviewer's 60-column strip on the Nanjing pair
//! took F1 from 0.837 to 0.668). So `eval` reads the detection's two images again, where
//! its manifest names them and they are still there at the recorded size, and drops labelled pixels
//! whose detection pixel had no data on either date — by the reader detect itself uses
//! (nodata values, NaN, zero fill of untagged integer files) — or lay under the user's
//! `--mask`, which detect counts as not assessed just the same (the right half of the
//! Nanjing clip masked took recall from 0.786 to 0.427 when those pixels were scored).
//!
//! The manifest records paths as the user typed them, with the folder detect ran in:
//! relative paths are found from there, whatever folder eval runs in.
//!
//! Only labelled pixels are looked at, a block of detection rows at a time, so a sparse
//! sample costs a few reads and memory stays one block of rows.

use crate::error::PipelineError;
use minewatch_core::{AcqDate, BandRole, Grid, SensorProfile, Window};
use minewatch_eval::Truth;
use minewatch_raster::ImageInfo;
use std::path::{Path, PathBuf};

/// Detection rows read at once.
const BLOCK_ROWS: usize = 256;

/// What the check did: labelled pixels dropped (without data on a date; with data but
/// masked), or why it could not be made.
pub enum Validity {
    Checked {
        without_data: u64,
        masked: u64,
        /// With `whole_region`: per reference pixel, 1 where the detection assessed the
        /// pixel under its centre (inside its grid, data on both dates, not masked).
        assessed: Option<Vec<u8>>,
    },
    Unchecked(String),
}

/// Where a path the manifest records is now: a relative one is relative to the folder
/// detect ran in (`working_dir`). Manifests written before it was recorded leave only
/// this process's folder to try. `Err` says why the file cannot be used.
fn find_recorded(manifest: &serde_json::Value, typed: &Path) -> Result<PathBuf, String> {
    if crate::object_image::is_virtual(typed) {
        return Err(format!(
            "{} is on object storage, which eval does not read again",
            typed.display()
        ));
    }
    let base = manifest["working_dir"].as_str().map(Path::new);
    let path = match base {
        Some(dir) if typed.is_relative() => dir.join(typed),
        _ => typed.to_path_buf(),
    };
    if path.exists() {
        return Ok(path);
    }
    Err(if typed.is_relative() && base.is_none() {
        format!(
            "{} is a relative path, not found from this folder, and the manifest (from an older minewatch) does not record the folder detect ran in; run eval from that folder, or detect again",
            typed.display()
        )
    } else {
        format!("{} is gone since detect", path.display())
    })
}

/// The recorded file at its place now, unless it is gone or its size changed.
fn unchanged(
    manifest: &serde_json::Value,
    typed: &Path,
    bytes: Option<u64>,
) -> Result<PathBuf, String> {
    let path = find_recorded(manifest, typed)?;
    let now = std::fs::metadata(&path).map(|m| m.len()).ok();
    match bytes {
        Some(b) if now != Some(b) => Err(format!(
            "{} has changed since detect ({} bytes, {b} then)",
            path.display(),
            now.map_or("unreadable".to_string(), |n| n.to_string())
        )),
        _ => Ok(path),
    }
}

/// An input of the detection as its manifest records it.
struct Recorded {
    /// Where it is now (checked unchanged in size).
    path: PathBuf,
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
        let typed = Path::new(r["path"].as_str().ok_or("an input has no path")?);
        let path = unchanged(manifest, typed, Some(r["bytes"].as_u64().unwrap_or(0)))?;
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
/// had no data on either date of `pair`, or was masked by detect's `--mask`. Needs the
/// reference in the detection's CRS. With `whole_region`, every reference pixel is
/// looked at, labelled or not, and `assessed` says which the detection assessed: the
/// strata of an area estimate are the map's classes over that region only (the pixels
/// without data were counted as "map no-change" and given the change rate sampled
/// elsewhere, a reviewer's case).
pub fn drop_invalid(
    manifest: &serde_json::Value,
    pair: &str,
    detection: &Grid,
    reference: &Grid,
    same_crs: bool,
    truth: &mut [Truth],
    whole_region: bool,
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
    // The mask carries no date of its own: detect read it with the first one's.
    let mask = match manifest["mask"].as_str() {
        None => None,
        Some(typed) => match unchanged(manifest, Path::new(typed), manifest["mask_bytes"].as_u64())
        {
            Ok(path) => {
                let m = ImageInfo::inspect(&path, Some(inputs[0].date))
                    .map_err(|e| PipelineError::Input(format!("detect's --mask: {e}")))?;
                let same_crs = crate::eval_scope::same_crs(detection, &m.grid)?;
                if let Some(diff) = detection.difference(&m.grid, same_crs) {
                    return Ok(Validity::Unchecked(format!(
                        "the mask {} is no longer on the detection's grid ({diff})",
                        path.display()
                    )));
                }
                Some(m)
            }
            Err(why) => return Ok(Validity::Unchecked(format!("detect's mask: {why}"))),
        },
    };
    // Labelled reference pixels → the detection pixel under their centre.
    let (t, d) = (&reference.transform, &detection.transform);
    let det = d[1] * d[5] - d[2] * d[4];
    let mut wanted: Vec<(usize, usize, usize)> = Vec::new(); // (det row, det col, ref index)
    for (i, tr) in truth.iter().enumerate() {
        if *tr == Truth::Unknown && !whole_region {
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
    let (mut without_data, mut masked) = (0u64, 0u64);
    let mut assessed = whole_region.then(|| vec![0u8; truth.len()]);
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
        // Apart from the data, so the report can tell the two reasons apart.
        let mut unmasked = vec![1u8; window.len()];
        if let Some(m) = &mask {
            minewatch_raster::reader::apply_mask(m, &window, &mut unmasked)
                .map_err(|e| PipelineError::Input(format!("detect's --mask: {e}")))?;
        }
        while k < wanted.len() && wanted[k].0 < row0 + window.height {
            let (row, col, i) = wanted[k];
            let px = (row - row0) * window.width + col;
            let not_assessed = if valid[px] == 0 {
                Some(&mut without_data)
            } else if unmasked[px] == 0 {
                Some(&mut masked)
            } else {
                None
            };
            match not_assessed {
                // Only labelled pixels are counted as left out of the scores.
                Some(n) if truth[i] != Truth::Unknown => {
                    *n += 1;
                    truth[i] = Truth::Unknown;
                }
                Some(_) => {}
                None => {
                    if let Some(a) = assessed.as_mut() {
                        a[i] = 1;
                    }
                }
            }
            k += 1;
        }
    }
    minewatch_raster::reader::close_thread_handles();
    Ok(Validity::Checked {
        without_data,
        masked,
        assessed,
    })
}
