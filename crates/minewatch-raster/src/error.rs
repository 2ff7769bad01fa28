//! Errors of raster I/O. Each names the file, and the band or window where it applies,
//! and says what the user can do.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum RasterError {
    #[error("{path}: file not found; check the path")]
    NotFound { path: PathBuf },
    #[error("{path}: GDAL cannot open it as a raster ({msg}); give a GeoTIFF/COG or another GDAL raster")]
    NotRaster { path: PathBuf, msg: String },
    #[error("{path}: has no georeferencing (geotransform or CRS); georeference it first: a file with ground control points by `gdalwarp -t_srs EPSG:…` (or `gdal_translate -a_srs` for a grid whose corners you know, with `-a_ullr`)")]
    NoGeoref { path: PathBuf },
    #[error("{path}: no acquisition date: none given with --dates, none in the file's metadata (ACQUISITION_DATE, DATE_ACQUIRED, SENSING_TIME, TIFFTAG_DATETIME), and no YYYYMMDD in the file name; pass --dates (detect.dates in a run config)")]
    NoDate { path: PathBuf },
    #[error("{path}: no acquisition date: its name holds {digits}, eight digits that are not a date (YYYYMMDD with a real month and day), and the file's metadata gives none; give the dates with --dates (detect.dates in a run config), or rename the file with the acquisition date as YYYYMMDD")]
    NotADateInName { path: PathBuf, digits: String },
    #[error("{path}: its name holds more than one date ({dates}) and nothing says which is the acquisition date; give the dates with --dates (detect.dates in a run config)")]
    AmbiguousDate { path: PathBuf, dates: String },
    #[error("{path}: band profile `{profile}` needs band {band} for {role}, but the file has {count} band(s); choose another --profile or a params file's [bands] mapping (docs/config.md, \"The detect params file\")")]
    MissingBand {
        path: PathBuf,
        profile: String,
        role: String,
        band: usize,
        count: usize,
    },
    #[error("{path}: cannot tell which band is which ({count} bands, no usable band descriptions); pass --profile (sentinel2, sentinel2-l2a, landsat-tm, landsat-oli, gf-wfv, gf2-pms, bgrn, bgrns) or a params file's [bands] mapping (docs/config.md, \"The detect params file\")")]
    UnknownProfile { path: PathBuf, count: usize },
    #[error("{first} and {other} are on different grids ({difference}); reproject/resample them onto one grid, or pass --align to warp every date onto the first date's grid")]
    GridMismatch {
        first: PathBuf,
        other: PathBuf,
        difference: String,
    },
    #[error("{path}: failed to read band {band} in window {window}: {msg}; the file may be truncated or corrupt")]
    Read {
        path: PathBuf,
        band: usize,
        window: String,
        msg: String,
    },
    #[error("{path}: {msg}")]
    Other { path: PathBuf, msg: String },
}
