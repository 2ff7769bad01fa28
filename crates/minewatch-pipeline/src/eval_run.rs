//! `minewatch eval`: rasterise a detection's patches onto the reference grid with GDAL
//! (pixel centres, so pixel-aligned patches land exactly on their pixels) and score them
//! against a full label raster or sparse samples.

use crate::error::PipelineError;
use crate::eval_scope;
use crate::georef::Georef;
use crate::run_folder::{self, Stage};
use gdal::raster::{rasterize, RasterizeOptions};
use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};
use gdal::vector::{Geometry, LayerAccess};
use gdal::{Dataset, DriverManager, Metadata};
use minewatch_core::Grid;
use minewatch_eval::confusion::Scores;
use minewatch_eval::{
    object_scores, stratified_estimate, Confusion, ObjectScores, StratifiedEstimate, Truth,
};
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct EvalRequest {
    /// A detect output folder or a patches file (GeoPackage, GeoJSON, any OGR vector).
    pub detection: PathBuf,
    pub reference: PathBuf,
    /// Reference values meaning change / no change; anything else is not scored.
    pub change_values: Vec<f64>,
    pub nochange_values: Vec<f64>,
    /// The reference is a sparse sample (adds the stratified estimate, skips object scores).
    pub samples: bool,
    /// Date pair key (`20160927_20180323`) when the detection holds several.
    pub pair: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    pub detection: PathBuf,
    pub reference: PathBuf,
    pub pair: Option<String>,
    pub mode: &'static str,
    pub patches: usize,
    /// Which reference pixels were scored: those inside the detection's grid.
    pub scope: eval_scope::Scope,
    pub confusion: Confusion,
    pub pixel: Scores,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub objects: Option<ObjectScores>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stratified: Option<StratifiedEstimate>,
    pub pixel_area_m2: f64,
    /// What to keep in mind reading the scores (a reference of one class).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

pub fn run_eval(req: &EvalRequest) -> Result<EvalReport, PipelineError> {
    let input = |m: String| PipelineError::Input(m);
    if let Some(v) = req
        .change_values
        .iter()
        .find(|v| req.nochange_values.contains(v))
    {
        return Err(input(format!(
            "value {v} is in both --change and --no-change; give each reference value one meaning"
        )));
    }
    let rpath = &req.reference;
    if !rpath.exists() {
        return Err(input(format!(
            "{}: reference raster not found; check the --reference path",
            rpath.display()
        )));
    }
    let rds = open_reference(rpath)?;
    let (w, h) = rds.raster_size();
    let transform = rds.geo_transform().map_err(|_| {
        input(format!(
            "{}: reference has no geotransform",
            rpath.display()
        ))
    })?;
    let grid = Grid {
        width: w,
        height: h,
        transform,
        crs_wkt: rds.projection(),
    };
    if grid.crs_wkt.is_empty() {
        return Err(input(format!("{}: reference has no CRS", rpath.display())));
    }
    let band = rds
        .rasterband(1)
        .map_err(|e| input(format!("{}: {e}", rpath.display())))?;
    // NoData marks what the file does not label (Nanjing's samples: 0 = not sampled).
    // Scoring it as a class would score every unlabelled pixel, so a class given as the
    // NoData value is refused rather than guessed.
    let nodata = band.no_data_value();
    if let Some(nd) = nodata {
        let is_nd = |v: &f64| *v == nd || (v.is_nan() && nd.is_nan());
        for (flag, values) in [
            ("--change", &req.change_values),
            ("--no-change", &req.nochange_values),
        ] {
            if values.iter().any(is_nd) {
                let says = band
                    .description()
                    .ok()
                    .filter(|d| !d.is_empty())
                    .map(|d| format!(" (band 1 says: {d})"))
                    .unwrap_or_default();
                return Err(input(format!(
                    "{}: value {nd} given with {flag} is the file's NoData, which is never scored{says}; \
                     pass --change and --no-change with the values the file uses for change and no change \
                     (or, if {nd} really is a class, unset the NoData flag with `gdal_edit.py -unsetnodata`)",
                    rpath.display()
                )));
            }
        }
    }
    let mut values = vec![0f64; w * h];
    band.read_into_slice::<f64>((0, 0), (w, h), (w, h), &mut values, None)
        .map_err(|e| input(format!("{}: cannot read band 1: {e}", rpath.display())))?;
    // Values that are neither class nor NoData tell the file's coding when a class is
    // missing (a label coded 0/255 read with the default --change 1).
    let mut others = Others::default();
    let mut at_nodata = 0u64;
    let mut truth: Vec<Truth> = values
        .iter()
        .map(|v| {
            // Only the coding given is scored: nodata, NaN and any other value are not.
            if nodata == Some(*v) {
                at_nodata += 1;
                Truth::Unknown
            } else if v.is_nan() {
                Truth::Unknown
            } else if req.change_values.contains(v) {
                Truth::Change
            } else if req.nochange_values.contains(v) {
                Truth::NoChange
            } else {
                others.add(*v);
                Truth::Unknown
            }
        })
        .collect();
    drop(values);
    check_coding(req, &truth, &others)?;

    let detection = read_detection(req, &grid)?;
    let (geoms, pair) = (detection.geoms, detection.pair);
    let patches = geoms.len();
    // Reference pixels outside the detection's grid were never looked at: not scored.
    let mut assessed_mask: Option<Vec<u8>> = None;
    let (inside, scope) = match &detection.grid {
        Some(dg) => {
            let inside = eval_scope::inside_mask(dg, &grid)?;
            let n_in = inside.iter().filter(|&&b| b != 0).count();
            if n_in == 0 {
                return Err(input(format!(
                    "{} and {} do not overlap: no reference pixel lies inside the detection's \
                     grid ({} × {} pixels); give the reference of the area the detection covers",
                    req.detection.display(),
                    rpath.display(),
                    dg.width,
                    dg.height
                )));
            }
            for (t, &i) in truth.iter_mut().zip(&inside) {
                if i == 0 {
                    *t = Truth::Unknown;
                }
            }
            let validity = match (&detection.manifest, &pair) {
                (Some(m), Some(pair)) => crate::eval_validity::drop_invalid(
                    m,
                    pair,
                    dg,
                    &grid,
                    eval_scope::same_crs(dg, &grid)?,
                    &mut truth,
                    req.samples,
                )?,
                _ => crate::eval_validity::Validity::Unchecked(
                    "the detection names no date pair".into(),
                ),
            };
            let scope = eval_scope::Scope::detection_grid((w * h - n_in) as u64, &validity);
            if let crate::eval_validity::Validity::Checked { assessed, .. } = validity {
                assessed_mask = assessed;
            }
            (Some(inside), scope)
        }
        None => (None, eval_scope::Scope::whole_reference()),
    };
    let mut notes = scored_classes_note(req, &truth)?;
    // A 0/255 label that gdal_calc tagged NoData = 255 loses its whole change class to
    // the tag and scored as "no change anywhere" (a reviewer's case).
    if let (Some(v), false) = (nodata, truth.contains(&Truth::Change)) {
        if at_nodata > 0 {
            notes.push(format!(
                "{at_nodata} reference pixels hold the file's NoData value {v} and are not scored; if {v} is your change class (a 0/255 label that gdal_calc.py tagged NoData 255), remove the tag (`gdal_edit.py -unsetnodata {}`) and give --change {v}",
                rpath.display()
            ));
        }
    }
    let mut mem = DriverManager::get_driver_by_name("MEM")
        .and_then(|d| d.create_with_band_type::<u8, _>("", w, h, 1))
        .map_err(|e| PipelineError::Internal(format!("MEM raster: {e}")))?;
    mem.set_geo_transform(&grid.transform)
        .map_err(|e| PipelineError::Internal(e.to_string()))?;
    if !geoms.is_empty() {
        let burn = vec![1.0; geoms.len()];
        rasterize(
            &mut mem,
            &[1],
            &geoms,
            &burn,
            Some(RasterizeOptions::default()),
        )
        .map_err(|e| PipelineError::Internal(format!("rasterize: {e}")))?;
    }
    let mut detected = vec![0u8; w * h];
    mem.rasterband(1)
        .and_then(|b| b.read_into_slice::<u8>((0, 0), (w, h), (w, h), &mut detected, None))
        .map_err(|e| PipelineError::Internal(e.to_string()))?;
    // A patch reprojected onto another grid may graze a pixel whose centre is outside the
    // detection's grid: the map stops at its grid.
    let assessed = match &inside {
        Some(inside) => {
            for (d, &i) in detected.iter_mut().zip(inside) {
                *d &= i;
            }
            inside.iter().filter(|&&b| b != 0).count() as u64
        }
        None => (w * h) as u64,
    };

    let confusion = Confusion::count(&detected, &truth);
    let pixel_area_m2 = Georef::new(&grid)
        .and_then(|g| g.pixel_area_at(&grid, w as f64 / 2.0, h as f64 / 2.0))
        .map_err(|e| input(format!("{}: {e}", rpath.display())))?;
    let (objects, stratified) = if req.samples {
        // The strata cover the pixels the map assessed: without data or masked, a pixel
        // is in neither map class (when the images could not be read again, the grid).
        let (assessed, mapped1) = match &assessed_mask {
            Some(a) => (
                a.iter().filter(|&&x| x != 0).count() as u64,
                detected
                    .iter()
                    .zip(a)
                    .filter(|(&d, &x)| d != 0 && x != 0)
                    .count() as u64,
            ),
            None => (
                assessed,
                detected.iter().filter(|&&d| d != 0).count() as u64,
            ),
        };
        let n = [[confusion.tn, confusion.fn_], [confusion.fp, confusion.tp]];
        (
            None,
            // The strata are the map's classes over the area it covers.
            Some(stratified_estimate(
                [assessed - mapped1, mapped1],
                n,
                pixel_area_m2,
            )),
        )
    } else {
        (Some(object_scores(&detected, &truth, w)), None)
    };
    Ok(EvalReport {
        detection: req.detection.clone(),
        reference: rpath.clone(),
        pair,
        mode: if req.samples { "samples" } else { "full" },
        patches,
        scope,
        pixel: confusion.scores(),
        confusion,
        objects,
        stratified,
        pixel_area_m2,
        notes,
    })
}

/// Up to `Others::MAX` distinct reference values outside the coding, for messages.
#[derive(Default)]
struct Others {
    values: Vec<f64>,
    more: bool,
}

impl Others {
    const MAX: usize = 8;

    fn add(&mut self, v: f64) {
        if !self.values.contains(&v) {
            if self.values.len() < Self::MAX {
                self.values.push(v);
            } else {
                self.more = true;
            }
        }
    }

    fn list(&self) -> String {
        let mut v = self.values.clone();
        v.sort_by(f64::total_cmp);
        let mut s: Vec<String> = v.iter().map(|v| v.to_string()).collect();
        if self.more {
            s.push("…".into());
        }
        s.join(", ")
    }
}

/// Refuse a coding the whole reference contradicts: neither class present, or one class
/// missing while the file holds values the coding does not name (likely the missing class
/// under another value). A reference of one class and NoData only is a real reference
/// (an area that did not change) and is scored.
fn check_coding(req: &EvalRequest, truth: &[Truth], others: &Others) -> Result<(), PipelineError> {
    let path = req.reference.display();
    let (change, nochange) = (
        truth.contains(&Truth::Change),
        truth.contains(&Truth::NoChange),
    );
    let holds = if others.values.is_empty() {
        "it holds nothing but NoData".to_string()
    } else {
        format!("its values are {}", others.list())
    };
    if !change && !nochange {
        return Err(PipelineError::Input(format!(
            "{path}: holds no pixel of --change {} or --no-change {} ({holds}); set --change / --no-change to its coding",
            coding(&req.change_values),
            coding(&req.nochange_values)
        )));
    }
    if change && nochange || others.values.is_empty() {
        return Ok(());
    }
    let (missing, flag, values) = if change {
        ("no-change", "--no-change", &req.nochange_values)
    } else {
        ("change", "--change", &req.change_values)
    };
    Err(PipelineError::Input(format!(
        "{path}: holds no {missing} pixel ({flag} {}) but holds {}, which neither --change nor --no-change names; \
         if that means {missing}, pass it with {flag} (a reference without any {missing} pixel is scored when it holds only the other class and NoData)",
        coding(values),
        others.list()
    )))
}

/// Reference values as they are typed on the command line (`1,2`).
fn coding(values: &[f64]) -> String {
    let v: Vec<String> = values.iter().map(f64::to_string).collect();
    v.join(",")
}

/// A note when the scored pixels hold one class only: the report is still meaningful
/// (false alarms over an unchanged area, or detections of known change sites), but some
/// scores are undefined. No class left (every labelled pixel outside the grid or without
/// data) is refused.
fn scored_classes_note(req: &EvalRequest, truth: &[Truth]) -> Result<Vec<String>, PipelineError> {
    let (change, nochange) = (
        truth.contains(&Truth::Change),
        truth.contains(&Truth::NoChange),
    );
    Ok(match (change, nochange) {
        (true, true) => Vec::new(),
        (false, true) => vec![
            "the scored reference pixels hold no change: recall is undefined (n/a) and every patch pixel on them is a false positive (FP)".into(),
        ],
        (true, false) => vec![
            "the scored reference pixels hold no no-change: every patch pixel on them is a true positive, so precision is 1 where defined and says nothing of false alarms".into(),
        ],
        (false, false) => {
            return Err(PipelineError::Input(format!(
                "{}: no labelled pixel of it lies inside the grid of {} where the detection had data; give the reference of the area the detection covers",
                req.reference.display(),
                req.detection.display()
            )))
        }
    })
}

/// Open a raster the user named, saying in their terms when GDAL cannot read it (GDAL's
/// own words are often an empty message behind a NULL pointer).
fn open_reference(path: &Path) -> Result<Dataset, PipelineError> {
    let opts = gdal::DatasetOptions {
        open_flags: gdal::GdalOpenFlags::GDAL_OF_RASTER | gdal::GdalOpenFlags::GDAL_OF_READONLY,
        ..Default::default()
    };
    let not_raster = |msg: String| {
        PipelineError::Raster(minewatch_raster::RasterError::NotRaster {
            path: path.to_path_buf(),
            msg,
        })
    };
    let ds = Dataset::open_ex(path, opts).map_err(|e| not_raster(gdal_says(&e, "raster")))?;
    if ds.raster_count() == 0 {
        return Err(not_raster("it has no raster band".into()));
    }
    Ok(ds)
}

/// GDAL's reason for not opening a file, or, when it gives none, that no driver of `kind`
/// (raster, vector) knows the format.
fn gdal_says(e: &gdal::errors::GdalError, kind: &str) -> String {
    match e {
        gdal::errors::GdalError::NullPointer { msg, .. }
        | gdal::errors::GdalError::CplError { msg, .. } => match msg.trim() {
            "" => format!("no GDAL {kind} driver recognises its format"),
            m => m.to_string(),
        },
        e => e.to_string(),
    }
}

/// A detection read back: the patches of one date pair in the reference CRS, and the grid
/// it was run on when its detect manifest is known.
struct Detection {
    geoms: Vec<Geometry>,
    pair: Option<String>,
    grid: Option<Grid>,
    /// The detect manifest beside the patches.
    manifest: Option<serde_json::Value>,
}

/// A detect manifest: where it is and what it says.
type DetectManifest = (PathBuf, serde_json::Value);

/// The patches file and the detect manifest of `req.detection`: a finished detect folder,
/// or a patches file (with the manifest of the detect folder it is in, if any).
fn locate(req: &EvalRequest) -> Result<(PathBuf, Option<DetectManifest>), PipelineError> {
    let path = run_folder::data_file(&req.detection, Stage::Detect)?;
    if !path.exists() {
        return Err(PipelineError::Input(format!(
            "{}: not found; give a `minewatch detect` output folder or a patches file",
            path.display()
        )));
    }
    let mpath = path.with_file_name("manifest.json");
    if !mpath.is_file() {
        return Ok((path, None));
    }
    let m: serde_json::Value = std::fs::read_to_string(&mpath)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
        .map_err(|e| {
            PipelineError::Input(format!(
                "{}: cannot read it ({e}); run `minewatch detect` again to rewrite it",
                mpath.display()
            ))
        })?;
    // Beside a file the user brought, a manifest.json may be another tool's.
    if !req.detection.is_dir() && m["command"] != "detect" {
        return Ok((path, None));
    }
    Ok((path, Some((mpath, m))))
}

/// The detection's patches of one date pair, in the reference CRS, and its grid.
fn read_detection(req: &EvalRequest, grid: &Grid) -> Result<Detection, PipelineError> {
    let (path, manifest) = locate(req)?;
    let input = |m: String| PipelineError::Input(format!("{}: {m}", path.display()));
    let opts = gdal::DatasetOptions {
        open_flags: gdal::GdalOpenFlags::GDAL_OF_VECTOR | gdal::GdalOpenFlags::GDAL_OF_READONLY,
        ..Default::default()
    };
    let ds = Dataset::open_ex(&path, opts).map_err(|e| {
        input(format!(
            "GDAL cannot open it as a vector file of patches ({}); give a `minewatch detect` output folder or its patches.gpkg / patches.geojson",
            gdal_says(&e, "vector")
        ))
    })?;
    let mut layer = ds
        .layer_by_name("patches")
        .or_else(|_| ds.layer(0))
        .map_err(|e| input(e.to_string()))?;
    let mut dst = SpatialRef::from_wkt(&grid.crs_wkt).map_err(|e| input(e.to_string()))?;
    dst.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let transform = match layer.spatial_ref() {
        Some(mut src) if src != dst => {
            src.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
            Some(CoordTransform::new(&src, &dst).map_err(|e| input(e.to_string()))?)
        }
        _ => None,
    };
    let mut by_pair: Vec<(Option<String>, Geometry)> = Vec::new();
    for f in layer.features() {
        // Digits only: GeoJSON readers turn "2016-09-27" into a date printed "2016/09/27".
        let digits = |s: String| s.chars().filter(char::is_ascii_digit).collect::<String>();
        let pair = match (field(&f, "date_before"), field(&f, "date_after")) {
            (Some(a), Some(b)) => Some(format!("{}_{}", digits(a), digits(b))),
            _ => None,
        };
        let Some(g) = f.geometry() else { continue };
        let g = match &transform {
            Some(t) => g
                .transform(t)
                .map_err(|e| input(format!("reprojecting a patch: {e}")))?,
            None => g.clone(),
        };
        by_pair.push((pair, g));
    }
    let mut pairs: BTreeSet<Option<String>> = by_pair.iter().map(|(p, _)| p.clone()).collect();
    // A pair without patches is a valid (empty) map: the manifest beside the patches knows it.
    if let Some((_, m)) = &manifest {
        for p in m["pairs"].as_array().into_iter().flatten() {
            if let Some(k) = p["pair"].as_str() {
                pairs.insert(Some(k.to_string()));
            }
        }
    }
    if pairs.len() > 1 {
        pairs.remove(&None);
    }
    let chosen = match &req.pair {
        Some(p) => {
            if !pairs.contains(&Some(p.clone())) {
                let known: Vec<String> = pairs.iter().flatten().cloned().collect();
                return Err(input(format!(
                    "no patches of pair {p}; pairs present: {}",
                    known.join(", ")
                )));
            }
            Some(p.clone())
        }
        None if pairs.len() > 1 => {
            let known: Vec<String> = pairs.iter().flatten().cloned().collect();
            return Err(input(format!(
                "holds several date pairs ({}); choose one with --pair",
                known.join(", ")
            )));
        }
        None => pairs.into_iter().next().flatten(),
    };
    let geoms = by_pair
        .into_iter()
        .filter(|(p, _)| chosen.is_none() || *p == chosen)
        .map(|(_, g)| g)
        .collect();
    let grid = match &manifest {
        Some((mpath, m)) => Some(eval_scope::detection_grid(m, mpath)?),
        None => None,
    };
    Ok(Detection {
        geoms,
        pair: chosen,
        grid,
        manifest: manifest.map(|(_, m)| m),
    })
}

fn field(f: &gdal::vector::Feature, name: &str) -> Option<String> {
    let i = f.field_index(name).ok()?;
    f.field_as_string(i).ok().flatten()
}

/// Convenience for tests and the CLI: the default reference coding (1 change, 0 no change).
pub fn default_request(detection: &Path, reference: &Path) -> EvalRequest {
    EvalRequest {
        detection: detection.to_path_buf(),
        reference: reference.to_path_buf(),
        change_values: vec![1.0],
        nochange_values: vec![0.0],
        samples: false,
        pair: None,
    }
}
