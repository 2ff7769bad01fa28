//! Input resolution: dates, date order, band profiles and the grid check, all before any
//! pixel is read, so a bad input fails in a second with a message naming the file.

use crate::error::PipelineError;
use crate::params::DetectParams;
use minewatch_core::{AcqDate, SensorProfile};
use minewatch_raster::{ImageInfo, RasterError};
use std::path::PathBuf;

/// One date ready to read.
#[derive(Debug, Clone)]
pub struct DatedImage {
    pub info: ImageInfo,
    pub profile: SensorProfile,
    /// The file the user gave (differs from `info.path` when `--align` warped it).
    pub source: PathBuf,
    pub aligned: bool,
    /// The run's user mask (same grid), shared by every date: non-zero = never change.
    pub mask: Option<ImageInfo>,
}

/// Inspect, date, order and check the images.
pub fn resolve(
    paths: &[PathBuf],
    dates: Option<&[AcqDate]>,
    params: &DetectParams,
) -> Result<Vec<DatedImage>, PipelineError> {
    if paths.len() < 2 {
        return Err(PipelineError::Input(format!(
            "need at least two dated images to compare, got {}; pass two or more images",
            paths.len()
        )));
    }
    if let Some(d) = dates {
        if d.len() != paths.len() {
            return Err(PipelineError::Input(format!(
                "--dates gives {} date(s) for {} image(s); give one date per image, in the same order",
                d.len(),
                paths.len()
            )));
        }
    }
    let mut images = Vec::new();
    for (i, p) in paths.iter().enumerate() {
        let p = &crate::object_image::from_user(p);
        if p.is_dir() {
            return Err(PipelineError::Input(format!(
                "{}: is a folder, not an image; give the image files (a config's detect.images takes patterns like DIR/*.tif)",
                p.display()
            )));
        }
        if let Some(j) = paths[..i].iter().position(|q| same_file(q, p)) {
            return Err(PipelineError::Input(format!(
                "{}: given twice (images {} and {}); give one image per date",
                p.display(),
                j + 1,
                i + 1
            )));
        }
        // An object is asked for first, so a wrong key reads as such, not as GDAL's 404.
        crate::object_image::stat(p)?;
        let mut info = ImageInfo::inspect(p, dates.map(|d| d[i]))?;
        if let Some(note) = &info.date_note {
            eprintln!("warning: {}: {note}", p.display());
        }
        let profile = match params.custom_profile() {
            Some(custom) => {
                // The user's mapping is read as given: band names that say otherwise and
                // a band it names that the file declares alpha are warned of, not obeyed.
                info.check_profile_bands(&custom)?;
                for note in [info.mapping_note(&custom), info.read_alpha_as_data(&custom)]
                    .into_iter()
                    .flatten()
                {
                    eprintln!("warning: {}: {note}", p.display());
                }
                info.check_profile(&custom)?;
                custom
            }
            None => {
                let (profile, note) = info.resolve_profile(&params.profile)?;
                if let Some(note) = note {
                    eprintln!("warning: {}: {note}", p.display());
                }
                profile
            }
        };
        images.push(DatedImage {
            info,
            profile,
            source: p.clone(),
            aligned: false,
            mask: None,
        });
    }
    images.sort_by_key(|a| a.info.date);
    for w in images.windows(2) {
        if w[0].info.date == w[1].info.date {
            return Err(PipelineError::Input(format!(
                "{} and {} have the same date {}; give distinct dates with --dates (detect.dates in a run config)",
                w[0].info.path.display(),
                w[1].info.path.display(),
                w[0].info.date
            )));
        }
    }
    Ok(images)
}

/// Whether two names are one file (or one object URL).
fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    let a = crate::object_image::from_user(a);
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// All dates must share size, transform and CRS with the first.
pub fn check_grids(images: &[DatedImage]) -> Result<(), PipelineError> {
    let first = &images[0].info;
    for other in &images[1..] {
        let o = &other.info;
        if let Some(diff) = first.grid.difference(&o.grid, first.same_crs(o)) {
            return Err(RasterError::GridMismatch {
                first: first.path.clone(),
                other: o.path.clone(),
                difference: diff,
            }
            .into());
        }
    }
    Ok(())
}

/// `--align`: warp every date whose grid differs from the first date's onto it, into
/// `dir` (inside the run's staging folder, so the copies vanish with it).
pub fn align(images: &mut [DatedImage], dir: &std::path::Path) -> Result<(), PipelineError> {
    let first = images[0].info.clone();
    std::fs::create_dir_all(dir).map_err(|e| PipelineError::Output {
        path: dir.to_path_buf(),
        msg: e.to_string(),
    })?;
    for (i, img) in images.iter_mut().enumerate().skip(1) {
        if first
            .grid
            .difference(&img.info.grid, first.same_crs(&img.info))
            .is_none()
        {
            continue;
        }
        let name = img
            .info
            .path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let dst = dir.join(format!("{i}_{name}"));
        let mut info = minewatch_raster::align::align_to(&img.info, &first.grid, &dst)?;
        if img.info.alpha_read_as_data {
            info.read_alpha_as_data(&img.profile);
        }
        info.check_profile(&img.profile)?;
        img.info = info;
        img.aligned = true;
    }
    Ok(())
}
