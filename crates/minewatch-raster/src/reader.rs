//! Window reads: the bands of one date for one window, as f32 reflectance planes plus a
//! validity mask. Datasets are cached per thread (GDAL handles are `Send`, not `Sync`).

use crate::error::RasterError;
use crate::image::{open, BandInfo, ImageInfo};
use gdal::raster::RasterBand;
use gdal::Dataset;
use minewatch_core::{BandRole, SensorProfile, Window};
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;

thread_local! {
    static HANDLES: RefCell<HashMap<PathBuf, Dataset>> = RefCell::new(HashMap::new());
    /// Planes of windows this thread finished with. A window's planes are megabytes; fresh
    /// ones per window cost the kernel a page fault and a page clear for every 4 KiB.
    static SPARE_PLANES: RefCell<Vec<Vec<f32>>> = const { RefCell::new(Vec::new()) };
}

/// Spare planes kept per thread: two dates' bands for a window, with room to spare.
const SPARE_PLANES_MAX: usize = 16;

/// A plane of `len` zeros, reusing one a finished window gave back when there is one.
fn take_plane(len: usize) -> Vec<f32> {
    let mut p = SPARE_PLANES
        .with(|s| s.borrow_mut().pop())
        .unwrap_or_default();
    p.clear();
    p.resize(len, 0.0);
    p
}

/// Drop this thread's cached handles and buffers (call on every worker when a pair is
/// read: the next stages need the memory more than the next pair needs warm caches).
pub fn close_thread_handles() {
    HANDLES.with(|h| h.borrow_mut().clear());
    SPARE_PLANES.with(|s| s.borrow_mut().clear());
    crate::direct::close_thread_files();
}

/// Planes of one date for one window, by role.
pub struct WindowBands {
    pub planes: Vec<(BandRole, Vec<f32>)>,
}

/// Give planes back for the next window's reads (what dropping a [`WindowBands`] does
/// with its own; for planes taken out of one with [`WindowBands::take`]).
pub fn recycle_planes(planes: impl IntoIterator<Item = Vec<f32>>) {
    SPARE_PLANES.with(|s| {
        let mut s = s.borrow_mut();
        for p in planes {
            if s.len() < SPARE_PLANES_MAX && p.capacity() > 0 {
                s.push(p);
            }
        }
    });
}

impl Drop for WindowBands {
    fn drop(&mut self) {
        recycle_planes(self.planes.drain(..).map(|(_, p)| p));
    }
}

impl WindowBands {
    /// Move the plane of `role` out (empty if it was not read).
    pub fn take(&mut self, role: BandRole) -> Vec<f32> {
        self.planes
            .iter_mut()
            .find(|(r, _)| *r == role)
            .map(|(_, p)| std::mem::take(p))
            .unwrap_or_default()
    }

    pub fn get(&self, role: BandRole) -> Option<&[f32]> {
        self.planes
            .iter()
            .find(|(r, _)| *r == role)
            .map(|(_, p)| p.as_slice())
    }
}

/// Read `roles` of `image` in `window`. Pixels equal to a band's nodata, and zero fill in
/// untagged integer files ([`finish_planes`]), clear `valid`;
/// scale and offset are applied only when the file carries them, so raw integer values
/// stay exact.
pub fn read_window(
    image: &ImageInfo,
    profile: &SensorProfile,
    roles: &[BandRole],
    window: &Window,
    valid: &mut [u8],
) -> Result<WindowBands, RasterError> {
    if let Some(direct) = &image.direct {
        let samples: Vec<usize> = roles
            .iter()
            .map(|r| profile.band(*r).expect("profile checked before reading") - 1)
            .collect();
        let mut planes: Vec<Vec<f32>> = roles.iter().map(|_| take_plane(window.len())).collect();
        direct.read(window, &samples, &mut planes)?;
        let infos: Vec<&BandInfo> = samples.iter().map(|s| &image.bands[*s]).collect();
        finish_planes(&infos, &mut planes, valid);
        if image.dataset_mask || image.alpha_band.is_some() {
            apply_dataset_mask(image, window, valid)?;
        }
        return Ok(WindowBands {
            planes: roles.iter().copied().zip(planes).collect(),
        });
    }
    with_dataset(image, |ds| {
        let mut planes = Vec::with_capacity(roles.len());
        let mut infos = Vec::with_capacity(roles.len());
        for &role in roles {
            let band_no = profile.band(role).expect("profile checked before reading");
            let info = &image.bands[band_no - 1];
            let err = |msg: String| RasterError::Read {
                path: image.path.clone(),
                band: band_no,
                window: window.name(),
                msg,
            };
            let band = ds.rasterband(band_no).map_err(|e| err(e.to_string()))?;
            let mut buf = take_plane(window.len());
            read_band(&band, window, &mut buf).map_err(|e| err(e.to_string()))?;
            planes.push(buf);
            infos.push(info);
        }
        finish_planes(&infos, &mut planes, valid);
        Ok(WindowBands {
            planes: roles.iter().copied().zip(planes).collect(),
        })
    })
    .and_then(|bands| {
        if image.dataset_mask || image.alpha_band.is_some() {
            apply_dataset_mask(image, window, valid)?;
        }
        Ok(bands)
    })
}

/// `window` of `band` as f32, at full resolution.
fn read_band(band: &RasterBand, window: &Window, buf: &mut [f32]) -> gdal::errors::Result<()> {
    band.read_into_slice::<f32>(
        (window.col as isize, window.row as isize),
        (window.width, window.height),
        (window.width, window.height),
        buf,
        None,
    )
}

/// Run `f` on this thread's cached GDAL handle of `image`, opening it on first use.
fn with_dataset<T>(
    image: &ImageInfo,
    f: impl FnOnce(&Dataset) -> Result<T, RasterError>,
) -> Result<T, RasterError> {
    HANDLES.with(|cell| {
        let mut handles = cell.borrow_mut();
        if !handles.contains_key(&image.path) {
            let ds = open(&image.path)?;
            handles.insert(image.path.clone(), ds);
        }
        f(&handles[&image.path])
    })
}

/// Clear `valid` where the file's own mask (internal TIFF mask, `.msk`, alpha band) is 0.
/// Read through GDAL, also beside the direct decode: masks are rare, and GDAL knows all
/// the places one can be kept. An alpha band GDAL does not take for the mask (files of
/// other than 2 or 4 bands) is read as one.
fn apply_dataset_mask(
    image: &ImageInfo,
    window: &Window,
    valid: &mut [u8],
) -> Result<(), RasterError> {
    with_dataset(image, |ds| {
        let mut buf = vec![0f32; window.len()];
        let mut apply = |band: &RasterBand, no: usize, what: &str| {
            read_band(band, window, &mut buf).map_err(|e| RasterError::Read {
                path: image.path.clone(),
                band: no,
                window: format!("{} ({what})", window.name()),
                msg: e.to_string(),
            })?;
            for (ok, m) in valid.iter_mut().zip(&buf) {
                if *m == 0.0 {
                    *ok = 0;
                }
            }
            Ok::<(), RasterError>(())
        };
        let err = |no: usize, what: &str, msg: String| RasterError::Read {
            path: image.path.clone(),
            band: no,
            window: format!("{} ({what})", window.name()),
            msg,
        };
        if image.dataset_mask {
            let what = "the file's mask";
            let band = ds.rasterband(1).map_err(|e| err(1, what, e.to_string()))?;
            let mask = band
                .open_mask_band()
                .map_err(|e| err(1, what, e.to_string()))?;
            apply(&mask, 1, what)?;
        }
        if let Some(k) = image.alpha_band {
            let what = "the alpha band";
            let band = ds.rasterband(k).map_err(|e| err(k, what, e.to_string()))?;
            apply(&band, k, what)?;
        }
        Ok(())
    })
}

/// Nodata and fill into the validity mask, then scale and offset where the file has them.
///
/// Fill without a nodata tag: a pixel that is 0 in every band read is no observation when
/// all those bands are integers and none declares a nodata value. Zero is the fill of
/// Sentinel-2 L1C/L2A, Landsat and GF products (swath edges, scene corners, the area
/// outside a reprojected or clipped scene), files exported without their tag keep it,
/// and no land surface is 0 in every band; left as data, the edge of a scene would
/// become a change patch along its whole length.
fn finish_planes(infos: &[&BandInfo], planes: &mut [Vec<f32>], valid: &mut [u8]) {
    if zero_fill_is_no_data(infos) {
        for (p, ok) in valid.iter_mut().enumerate() {
            if *ok != 0 && planes.iter().all(|b| b[p] == 0.0) {
                *ok = 0;
            }
        }
    }
    for (info, buf) in infos.iter().zip(planes.iter_mut()) {
        finish_plane(info, buf, valid);
    }
}

/// Whether a pixel 0 in every one of `bands` is fill, not data: two or more integer
/// bands, none with a nodata value (see [`finish_planes`]).
pub(crate) fn zero_fill_is_no_data(bands: &[&BandInfo]) -> bool {
    bands.len() >= 2 && bands.iter().all(|i| i.nodata.is_none() && !is_float(i))
}

fn is_float(info: &BandInfo) -> bool {
    info.data_type.starts_with("Float") || info.data_type.starts_with("CFloat")
}

/// Nodata into the validity mask, then scale and offset when the file carries them.
fn finish_plane(info: &BandInfo, buf: &mut [f32], valid: &mut [u8]) {
    // Non-finite values (NaN fill in float files without a nodata tag) are never data;
    // integer bands cannot hold them, so they skip the pass unless a nodata value is set.
    match (info.nodata.map(|v| v as f32), is_float(info)) {
        (Some(nd), _) => {
            for (v, ok) in buf.iter().zip(valid.iter_mut()) {
                if !v.is_finite() || *v == nd {
                    *ok = 0;
                }
            }
        }
        (None, true) => {
            for (v, ok) in buf.iter().zip(valid.iter_mut()) {
                if !v.is_finite() {
                    *ok = 0;
                }
            }
        }
        (None, false) => {}
    }
    if info.scale != 1.0 || info.offset != 0.0 {
        let (s, o) = (info.scale as f32, info.offset as f32);
        for v in buf.iter_mut() {
            *v = *v * s + o;
        }
    }
}

/// Apply a user mask raster (band 1, same grid as the run): non-zero pixels are excluded,
/// i.e. cleared in `valid` (clouds, shadows, areas the user does not want assessed).
pub fn apply_mask(mask: &ImageInfo, window: &Window, valid: &mut [u8]) -> Result<(), RasterError> {
    let profile = SensorProfile {
        name: "mask".into(),
        bands: vec![(BandRole::Blue, 1)],
    };
    let mut ignore = vec![1u8; window.len()];
    let b = read_window(mask, &profile, &[BandRole::Blue], window, &mut ignore)?;
    for (v, &m) in valid
        .iter_mut()
        .zip(b.get(BandRole::Blue).expect("mask band"))
    {
        if m != 0.0 {
            *v = 0;
        }
    }
    Ok(())
}
