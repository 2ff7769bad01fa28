//! `--align`: warp an image onto another date's grid (same CRS, transform and size) with
//! GDAL's warper (bilinear, the only resampling `gdal::raster::reproject` offers), into a
//! GeoTIFF beside the run's staged outputs. The warper works in chunks, so memory stays
//! bounded; the cost is one extra copy of that date on disk for the length of the run.

use crate::error::RasterError;
use crate::image::{open, ImageInfo};
use gdal::raster::{GdalDataType, RasterCreationOptions};
use gdal::spatial_ref::SpatialRef;
use gdal::{DriverManager, Metadata};
use minewatch_core::Grid;
use std::path::Path;

/// Warp `src` onto `grid`, writing `dst`; returns the inspected result with the source's
/// date kept.
pub fn align_to(src: &ImageInfo, grid: &Grid, dst: &Path) -> Result<ImageInfo, RasterError> {
    let err = |msg: String| RasterError::Other {
        path: src.path.clone(),
        msg: format!("--align: {msg}"),
    };
    let s = open(&src.path)?;
    // Zero fill of an untagged integer file (every band 0, no nodata tag) is no
    // observation to the reader, but to the warper it is data: with the destination's
    // nodata 0 it shifts such pixels to 1, and a scene edge or gap became change after
    // --align (a reviewer's 2,607-px patch over a zero-filled gap). Warp from an in-memory
    // VRT of the source that declares 0 as its nodata instead.
    let all: Vec<&crate::image::BandInfo> = src.bands.iter().collect();
    let vrt;
    let source = if crate::reader::zero_fill_is_no_data(&all) {
        let drv = DriverManager::get_driver_by_name("VRT").map_err(|e| err(e.to_string()))?;
        vrt = s
            .create_copy(&drv, "", &RasterCreationOptions::default())
            .map_err(|e| err(e.to_string()))?;
        for i in 1..=src.bands.len() {
            vrt.rasterband(i)
                .and_then(|mut b| b.set_no_data_value(Some(0.0)))
                .map_err(|e| err(e.to_string()))?;
        }
        &vrt
    } else {
        &s
    };
    let drv = DriverManager::get_driver_by_name("GTiff").map_err(|e| err(e.to_string()))?;
    let opts = RasterCreationOptions::from_iter([
        "TILED=YES",
        "COMPRESS=DEFLATE",
        "PREDICTOR=2",
        "BIGTIFF=IF_SAFER",
    ]);
    let bands = src.bands.len();
    let ty = s.rasterband(1).map_err(|e| err(e.to_string()))?.band_type();
    let mut d = match ty {
        GdalDataType::UInt8 => drv.create_with_band_type_with_options::<u8, _>(
            dst,
            grid.width,
            grid.height,
            bands,
            &opts,
        ),
        GdalDataType::UInt16 => drv.create_with_band_type_with_options::<u16, _>(
            dst,
            grid.width,
            grid.height,
            bands,
            &opts,
        ),
        GdalDataType::Int16 => drv.create_with_band_type_with_options::<i16, _>(
            dst,
            grid.width,
            grid.height,
            bands,
            &opts,
        ),
        _ => drv.create_with_band_type_with_options::<f32, _>(
            dst,
            grid.width,
            grid.height,
            bands,
            &opts,
        ),
    }
    .map_err(|e| err(e.to_string()))?;
    d.set_geo_transform(&grid.transform)
        .map_err(|e| err(e.to_string()))?;
    let srs = SpatialRef::from_wkt(&grid.crs_wkt).map_err(|e| err(e.to_string()))?;
    d.set_spatial_ref(&srs).map_err(|e| err(e.to_string()))?;
    // Pixels the source does not cover become nodata, never change.
    for (i, b) in src.bands.iter().enumerate() {
        let mut band = d.rasterband(i + 1).map_err(|e| err(e.to_string()))?;
        band.set_no_data_value(Some(b.nodata.unwrap_or(0.0)))
            .map_err(|e| err(e.to_string()))?;
        if !b.description.is_empty() {
            band.set_description(&b.description)
                .map_err(|e| err(e.to_string()))?;
        }
        // Red, green, blue and alpha declarations decide how an unnamed stack is read.
        if let Ok(c) = gdal::raster::ColorInterpretation::from_name(&b.colour) {
            band.set_color_interpretation(c)
                .map_err(|e| err(e.to_string()))?;
        }
        if b.scale != 1.0 {
            band.set_scale(b.scale).map_err(|e| err(e.to_string()))?;
        }
        if b.offset != 0.0 {
            band.set_offset(b.offset).map_err(|e| err(e.to_string()))?;
        }
    }
    gdal::raster::reproject(source, &d).map_err(|e| err(format!("warp failed: {e}")))?;
    drop(d);
    let mut info = ImageInfo::inspect(dst, Some(src.date))?;
    info.date_source = src.date_source;
    info.date_note = src.date_note.clone();
    Ok(info)
}
