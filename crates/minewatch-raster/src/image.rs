//! One dated input image: what GDAL says about it, resolved once before any pixel is read.

use crate::error::RasterError;
use gdal::{Dataset, Metadata};
use minewatch_core::{AcqDate, BandRole, Grid, SensorProfile};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Where an image's date came from (recorded in the manifest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DateSource {
    Flag,
    Metadata,
    FileName,
}

/// Per-band facts needed to turn stored values into reflectances.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BandInfo {
    pub index: usize,
    pub description: String,
    pub data_type: String,
    pub nodata: Option<f64>,
    pub scale: f64,
    pub offset: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImageInfo {
    pub path: PathBuf,
    pub date: AcqDate,
    pub date_source: DateSource,
    #[serde(skip)]
    pub grid: Grid,
    pub bands: Vec<BandInfo>,
    /// Block (tile or strip) size of band 1: windows aligned to it decode each block once.
    pub block: (usize, usize),
    /// The fast decode path for this file, when its layout allows it.
    #[serde(skip)]
    pub direct: Option<crate::direct::DirectLayout>,
    /// `direct (...)` or `gdal`: which path reads the pixels.
    pub decode: String,
    /// Reflectance = (value + offset) / quantification, when the file says so in the
    /// Sentinel-2 convention (`QUANTIFICATION_VALUE` or `BOA_QUANTIFICATION_VALUE`, and
    /// `BOA_ADD_OFFSET` / `RADIO_ADD_OFFSET` from processing baseline 04.00).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantification: Option<(f64, f64)>,
}

pub(crate) fn open(path: &Path) -> Result<Dataset, RasterError> {
    // GDAL virtual file systems (`/vsis3/…`) are not files; GDAL's own error names them.
    let virtual_path = path.to_str().is_some_and(|s| s.starts_with("/vsi"));
    if !virtual_path && !path.exists() {
        return Err(RasterError::NotFound {
            path: path.to_path_buf(),
        });
    }
    let opts = gdal::DatasetOptions {
        open_flags: gdal::GdalOpenFlags::GDAL_OF_RASTER | gdal::GdalOpenFlags::GDAL_OF_READONLY,
        ..Default::default()
    };
    Dataset::open_ex(path, opts).map_err(|e| RasterError::NotRaster {
        path: path.to_path_buf(),
        msg: e.to_string(),
    })
}

impl ImageInfo {
    /// Open `path`, read its grid, bands and date. `date` overrides the file's own.
    pub fn inspect(path: &Path, date: Option<AcqDate>) -> Result<Self, RasterError> {
        let ds = open(path)?;
        let p = || path.to_path_buf();
        let (width, height) = ds.raster_size();
        if ds.raster_count() == 0 || width == 0 || height == 0 {
            return Err(RasterError::NotRaster {
                path: p(),
                msg: "no raster bands".into(),
            });
        }
        let transform = ds
            .geo_transform()
            .map_err(|_| RasterError::NoGeoref { path: p() })?;
        let crs_wkt = ds.projection();
        if crs_wkt.is_empty() {
            return Err(RasterError::NoGeoref { path: p() });
        }
        let mut bands = Vec::new();
        for i in 1..=ds.raster_count() {
            let b = ds.rasterband(i).map_err(|e| RasterError::Other {
                path: p(),
                msg: e.to_string(),
            })?;
            bands.push(BandInfo {
                index: i,
                description: b.description().unwrap_or_default(),
                data_type: b.band_type().name(),
                nodata: b.no_data_value(),
                scale: b.scale().unwrap_or(1.0),
                offset: b.offset().unwrap_or(0.0),
            });
        }
        let block = ds
            .rasterband(1)
            .map(|b| b.block_size())
            .unwrap_or((256, 256));
        let (date, date_source) = match date {
            Some(d) => (d, DateSource::Flag),
            None => match metadata_date(&ds) {
                Some(d) => (d, DateSource::Metadata),
                None => {
                    let name = path
                        .file_name()
                        .map(|n| n.to_string_lossy().to_string())
                        .unwrap_or_default();
                    match AcqDate::find_in_name(&name) {
                        Some(d) => (d, DateSource::FileName),
                        None => return Err(RasterError::NoDate { path: p() }),
                    }
                }
            },
        };
        let quantification = metadata_quantification(&ds);
        let direct = crate::direct::DirectLayout::probe(path, &ds);
        let decode = direct
            .as_ref()
            .map_or_else(|| "gdal".to_string(), |d| d.describe());
        Ok(Self {
            direct,
            decode,
            quantification,
            path: p(),
            date,
            date_source,
            grid: Grid {
                width,
                height,
                transform,
                crs_wkt,
            },
            bands,
            block,
        })
    }

    /// The profile to use: a named built-in, or `auto` (band descriptions, then band count).
    pub fn resolve_profile(&self, name: &str) -> Result<SensorProfile, RasterError> {
        let profile = if name == "auto" {
            let desc: Vec<String> = self.bands.iter().map(|b| b.description.clone()).collect();
            SensorProfile::from_descriptions(&desc)
                .or_else(|| SensorProfile::from_band_count(self.bands.len()))
                .ok_or(RasterError::UnknownProfile {
                    path: self.path.clone(),
                    count: self.bands.len(),
                })?
        } else {
            SensorProfile::builtin(name).ok_or_else(|| RasterError::Other {
                path: self.path.clone(),
                msg: format!(
                    "unknown band profile `{name}`; known: auto, {}",
                    SensorProfile::BUILTIN.join(", ")
                ),
            })?
        };
        self.check_profile(&profile)?;
        Ok(profile)
    }

    /// Every band the profile names must exist in the file.
    pub fn check_profile(&self, profile: &SensorProfile) -> Result<(), RasterError> {
        for (role, band) in &profile.bands {
            if *band == 0 || *band > self.bands.len() {
                return Err(RasterError::MissingBand {
                    path: self.path.clone(),
                    profile: profile.name.clone(),
                    role: role.to_string(),
                    band: *band,
                    count: self.bands.len(),
                });
            }
        }
        Ok(())
    }

    /// Band info of a role under a profile.
    pub fn band_of(&self, profile: &SensorProfile, role: BandRole) -> Option<&BandInfo> {
        profile.band(role).and_then(|b| self.bands.get(b - 1))
    }

    /// Whether this image's CRS is the same as `other`'s (GDAL's OSRIsSame).
    pub fn same_crs(&self, other: &ImageInfo) -> bool {
        if self.grid.crs_wkt == other.grid.crs_wkt {
            return true;
        }
        match (
            gdal::spatial_ref::SpatialRef::from_wkt(&self.grid.crs_wkt),
            gdal::spatial_ref::SpatialRef::from_wkt(&other.grid.crs_wkt),
        ) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
    }
}

/// (quantification value, additive offset) from the dataset's metadata.
fn metadata_quantification(ds: &Dataset) -> Option<(f64, f64)> {
    let num = |k: &str| -> Option<f64> {
        ds.metadata_item(k, "")
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite())
    };
    let q = num("QUANTIFICATION_VALUE")
        .or_else(|| num("BOA_QUANTIFICATION_VALUE"))
        .filter(|q| *q > 0.0)?;
    let offset = num("BOA_ADD_OFFSET")
        .or_else(|| num("RADIO_ADD_OFFSET"))
        .unwrap_or(0.0);
    Some((q, offset))
}

fn metadata_date(ds: &Dataset) -> Option<AcqDate> {
    for key in [
        "ACQUISITION_DATE",
        "ACQUISITIONDATETIME",
        "DATE_ACQUIRED",
        "SENSING_TIME",
        "TIFFTAG_DATETIME",
    ] {
        if let Some(v) = ds.metadata_item(key, "") {
            if let Ok(d) = AcqDate::parse(&v) {
                return Some(d);
            }
        }
    }
    None
}
