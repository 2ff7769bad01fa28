//! Which reference pixels a detection can be scored on: those inside the grid it was run
//! on (recorded in its detect manifest). A reference pixel the detection never looked at
//! is not "no change": scoring it so drags recall down by however much of the label lies
//! outside the scene (the 320² Hong Kong clip against the 540 × 695 label: recall 0.150
//! instead of 0.496).
//!
//! Detect records how many pixels it could assess per pair, not which: `eval_validity`
//! reads the images (and the mask) again to leave out labelled pixels where a date had no
//! data or the mask excluded them.

use crate::error::PipelineError;
use gdal::raster::{rasterize, RasterizeOptions};
use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};
use gdal::vector::Geometry;
use gdal::DriverManager;
use minewatch_core::Grid;
use serde::Serialize;
use std::path::Path;

/// What an evaluation scored, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct Scope {
    /// `detection grid`, or `whole reference` when the detection's grid is unknown.
    pub within: &'static str,
    /// Reference pixels outside the detection's grid, not scored.
    pub reference_pixels_outside: u64,
    /// Labelled pixels inside the grid where the detection had no data on a date, not
    /// scored (`None` when that could not be checked: the note says why).
    pub labelled_pixels_without_data: Option<u64>,
    /// Labelled pixels with data that detect's `--mask` excluded, not scored either: the
    /// detection did not assess them (0 without a mask; `None` when not checked).
    pub labelled_pixels_masked: Option<u64>,
    pub note: String,
}

const INSIDE_NOTE: &str = "labelled pixels the detection did not assess (no data on a date, or excluded by detect's --mask: its images and mask read again) are not scored";
const UNKNOWN_NOTE: &str = "no detect manifest.json beside the patches, so the detection's grid is unknown and every labelled pixel is scored, as no change where no patch covers it";

impl Scope {
    pub fn whole_reference() -> Self {
        Self {
            within: "whole reference",
            reference_pixels_outside: 0,
            labelled_pixels_without_data: None,
            labelled_pixels_masked: None,
            note: UNKNOWN_NOTE.into(),
        }
    }

    /// Scored inside the detection's grid; `validity` says whether its no-data pixels
    /// were found and left out.
    pub fn detection_grid(outside: u64, validity: &crate::eval_validity::Validity) -> Self {
        use crate::eval_validity::Validity;
        let (without, masked, note) = match validity {
            Validity::Checked {
                without_data,
                masked,
                ..
            } => (Some(*without_data), Some(*masked), INSIDE_NOTE.to_string()),
            Validity::Unchecked(why) => (
                None,
                None,
                format!("the pixels the detection did not assess (no data, --mask) could not be told ({why}), so labelled pixels there are scored, as no change where no patch covers them"),
            ),
        };
        Self {
            within: "detection grid",
            reference_pixels_outside: outside,
            labelled_pixels_without_data: without,
            labelled_pixels_masked: masked,
            note,
        }
    }
}

/// The detection's grid, from its detect manifest at `path`.
pub fn detection_grid(manifest: &serde_json::Value, path: &Path) -> Result<Grid, PipelineError> {
    serde_json::from_value(manifest["grid"].clone()).map_err(|e| {
        PipelineError::Input(format!(
            "{}: no readable `grid` ({e}); run `minewatch detect` again to rewrite it",
            path.display()
        ))
    })
}

/// One byte per reference pixel: 1 where its centre lies inside the detection's grid
/// (GDAL's rasterisation rule, the one the patches are burnt with).
pub fn inside_mask(detection: &Grid, reference: &Grid) -> Result<Vec<u8>, PipelineError> {
    let n = reference.width * reference.height;
    let same_crs = same_crs(detection, reference)?;
    // The same grid (a detection of the whole labelled scene): every pixel, exactly.
    if same_crs
        && (detection.width, detection.height, detection.transform)
            == (reference.width, reference.height, reference.transform)
    {
        return Ok(vec![1; n]);
    }
    let internal = |m: String| PipelineError::Internal(format!("detection footprint: {m}"));
    // Edges follow the grid's pixel corners; in another CRS they bend, so points are kept
    // along them (up to 256 per side).
    let steps = |len: usize| if same_crs { 1 } else { len.clamp(1, 256) };
    let (w, h) = (detection.width as f64, detection.height as f64);
    let (sx, sy) = (steps(detection.width), steps(detection.height));
    let mut ring = Geometry::empty(gdal::vector::OGRwkbGeometryType::wkbLinearRing)
        .map_err(|e| internal(e.to_string()))?;
    let corner = |c: f64, r: f64| {
        let t = &detection.transform;
        (t[0] + c * t[1] + r * t[2], t[3] + c * t[4] + r * t[5])
    };
    for i in 0..sx {
        ring.add_point_2d(corner(w * i as f64 / sx as f64, 0.0));
    }
    for i in 0..sy {
        ring.add_point_2d(corner(w, h * i as f64 / sy as f64));
    }
    for i in 0..sx {
        ring.add_point_2d(corner(w * (sx - i) as f64 / sx as f64, h));
    }
    for i in 0..sy {
        ring.add_point_2d(corner(0.0, h * (sy - i) as f64 / sy as f64));
    }
    ring.add_point_2d(corner(0.0, 0.0));
    let mut polygon = Geometry::empty(gdal::vector::OGRwkbGeometryType::wkbPolygon)
        .map_err(|e| internal(e.to_string()))?;
    polygon
        .add_geometry(ring)
        .map_err(|e| internal(e.to_string()))?;
    let polygon = if same_crs {
        polygon
    } else {
        let (src, dst) = (srs(&detection.crs_wkt)?, srs(&reference.crs_wkt)?);
        let t = CoordTransform::new(&src, &dst).map_err(|e| internal(e.to_string()))?;
        polygon.transform(&t).map_err(|e| {
            PipelineError::Input(format!(
                "the detection's grid cannot be brought into the reference's CRS: {e}"
            ))
        })?
    };
    let mut mem = DriverManager::get_driver_by_name("MEM")
        .and_then(|d| d.create_with_band_type::<u8, _>("", reference.width, reference.height, 1))
        .map_err(|e| internal(format!("MEM raster: {e}")))?;
    mem.set_geo_transform(&reference.transform)
        .map_err(|e| internal(e.to_string()))?;
    rasterize(
        &mut mem,
        &[1],
        &[polygon],
        &[1.0],
        Some(RasterizeOptions::default()),
    )
    .map_err(|e| internal(format!("rasterize: {e}")))?;
    let mut inside = vec![0u8; n];
    let size = (reference.width, reference.height);
    mem.rasterband(1)
        .and_then(|b| b.read_into_slice::<u8>((0, 0), size, size, &mut inside, None))
        .map_err(|e| internal(e.to_string()))?;
    Ok(inside)
}

fn srs(wkt: &str) -> Result<SpatialRef, PipelineError> {
    let mut s = SpatialRef::from_wkt(wkt)
        .map_err(|e| PipelineError::Input(format!("CRS of the detection or reference: {e}")))?;
    s.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    Ok(s)
}

pub fn same_crs(a: &Grid, b: &Grid) -> Result<bool, PipelineError> {
    Ok(a.crs_wkt == b.crs_wkt || srs(&a.crs_wkt)? == srs(&b.crs_wkt)?)
}
