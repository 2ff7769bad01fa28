//! GDAL raster I/O for minewatch: open dated images, resolve their band profile, check
//! that all dates share one grid, and read windows of the bands a rule needs as f32
//! planes with a validity mask. One GDAL handle per worker thread, because a GDAL
//! dataset must not be used from two threads at once.

pub mod align;
pub mod crs;
pub mod direct;
pub mod error;
pub mod image;
pub mod reader;

pub use crs::LonLat;
pub use error::RasterError;
pub use image::{DateSource, ImageInfo};
pub use reader::{read_window, WindowBands};

/// GDAL settings every minewatch process wants: errors as Rust errors only, a bounded
/// block cache (memory must not grow with the scene), and no timestamps in GeoPackages
/// (outputs must be byte-identical run to run).
pub fn configure_gdal(cache_mb: usize) {
    let _ = gdal::config::set_config_option("GDAL_CACHEMAX", &cache_mb.to_string());
    let _ = gdal::config::set_config_option("OGR_CURRENT_DATE", "2000-01-01T00:00:00.000Z");
    let _ = gdal::config::set_config_option("CPL_LOG", "/dev/null");
    let _ = gdal::config::set_config_option("GDAL_DISABLE_READDIR_ON_OPEN", "EMPTY_DIR");
}
