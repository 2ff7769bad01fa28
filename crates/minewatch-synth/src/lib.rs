//! Seeded synthetic two-date scenes for tests, fixtures and benchmarks: a vegetated
//! landscape, planted excavations (vegetation → bright bare soil) of irregular shape with
//! holes and diagonal pinches, specks below the minimum mapping unit, a bright cloud
//! (optionally with its shadow and a band of haze), and an optional nodata strip. Written as 5-band uint16 GeoTIFFs (blue, green, red, NIR,
//! SWIR1; the `bgrns` profile) in EPSG:32650, like the peers' generator.
//!
//! Every pixel is a pure function of (seed, row, col, date), so a scene never depends on
//! how it was written.

pub mod zones;

use gdal::raster::{Buffer, RasterCreationOptions};
use gdal::DriverManager;
use gdal::Metadata;
use std::path::{Path, PathBuf};

const VEG: [f32; 5] = [300.0, 600.0, 400.0, 3500.0, 1700.0];
const SOIL: [f32; 5] = [1200.0, 1550.0, 2000.0, 2500.0, 3300.0];
const CLOUD: [f32; 5] = [4500.0, 4600.0, 4700.0, 5000.0, 3500.0];

/// What to generate.
#[derive(Debug, Clone)]
pub struct SceneSpec {
    pub width: usize,
    pub height: usize,
    pub seed: u64,
    /// Planted excavations per 256×256 pixels.
    pub pits_per_tile: usize,
    /// Rows at the bottom set to nodata (0) in both dates.
    pub nodata_rows: usize,
    /// GTiff creation options, e.g. `["TILED=YES", "COMPRESS=DEFLATE"]`.
    pub creation: Vec<String>,
    /// Weather in date 2 besides the cloud: the cloud's shadow (a disk of its radius, a
    /// fifth of the scene's side away; the direction is not modelled, the screen does not
    /// use it) and haze over the left third of the scene.
    pub weather: bool,
}

impl SceneSpec {
    pub fn small(width: usize, height: usize, seed: u64) -> Self {
        Self {
            width,
            height,
            seed,
            pits_per_tile: 12,
            nodata_rows: 0,
            creation: vec![
                "TILED=YES".into(),
                "BLOCKXSIZE=128".into(),
                "BLOCKYSIZE=128".into(),
                "COMPRESS=DEFLATE".into(),
                "PREDICTOR=2".into(),
            ],
            weather: false,
        }
    }
}

/// SplitMix64: tiny, seedable, and the same everywhere.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn unit(h: u64) -> f32 {
    (h >> 40) as f32 / (1u64 << 24) as f32
}

fn hash(seed: u64, a: u64, b: u64, c: u64) -> u64 {
    mix(mix(mix(seed ^ a) ^ b.wrapping_mul(0x1000_0000_01B3))
        ^ c.wrapping_mul(0xC2B2_AE3D_27D4_EB4F))
}

#[derive(Debug, Clone, Copy)]
struct Pit {
    cx: f32,
    cy: f32,
    r: f32,
    id: u64,
}

fn pits(spec: &SceneSpec) -> Vec<Pit> {
    let tiles = ((spec.width * spec.height) as f32 / 65536.0).max(1.0);
    let n = (tiles * spec.pits_per_tile as f32).round() as u64;
    (0..n)
        .map(|i| {
            let h = |k| unit(hash(spec.seed, 0xB17, i, k));
            Pit {
                cx: h(1) * spec.width as f32,
                cy: h(2) * spec.height as f32,
                r: 2.0 + 14.0 * h(3) * h(3),
                id: i,
            }
        })
        .collect()
}

/// Is (row, col) inside pit `p`? An irregular blob: the radius wobbles with the angle,
/// with scattered unchanged holes so the sieve has something to fill.
fn in_pit(seed: u64, p: &Pit, row: usize, col: usize) -> bool {
    let (dx, dy) = (col as f32 + 0.5 - p.cx, row as f32 + 0.5 - p.cy);
    let d = (dx * dx + dy * dy).sqrt();
    if d > p.r * 1.4 {
        return false;
    }
    let a = dy.atan2(dx);
    let wob =
        1.0 + 0.25 * (3.0 * a + p.id as f32).sin() + 0.15 * (5.0 * a + 2.0 * p.id as f32).cos();
    let hole = unit(hash(seed, 0x401E, row as u64, col as u64)) < 0.02;
    // Ragged edges, as excavation fronts are: they make diagonal pinch points.
    let jitter = 2.5 * (unit(hash(seed, 0xED6E, row as u64, col as u64)) - 0.5);
    d <= p.r * wob + jitter && !hole
}

/// Planted change in date 2: a pit or a speck (none near the cloud's shadow, so that what
/// the shadow screen removes is shadow only).
fn planted(spec: &SceneSpec, pits: &[Pit], row: usize, col: usize) -> bool {
    if spec.weather && near_shadow(spec, row, col, 8.0) {
        return false;
    }
    pits.iter().any(|p| in_pit(spec.seed, p, row, col))
        || unit(hash(spec.seed, 0x5BEC, row as u64, col as u64)) < 0.001
}

fn cloud_disk(spec: &SceneSpec) -> (f32, f32, f32) {
    let m = spec.width.min(spec.height) as f32;
    (spec.width as f32 * 0.8, spec.height as f32 * 0.2, m * 0.08)
}

/// In the cloud's shadow (date 2, `weather` only): the cloud's disk moved left and down.
fn in_shadow(spec: &SceneSpec, row: usize, col: usize) -> bool {
    near_shadow(spec, row, col, 0.0)
}

/// Within `margin` pixels of the shadow's disk.
fn near_shadow(spec: &SceneSpec, row: usize, col: usize, margin: f32) -> bool {
    let (cx, cy, r) = cloud_disk(spec);
    let m = spec.width.min(spec.height) as f32;
    let (dx, dy) = (col as f32 - (cx - 0.2 * m), row as f32 - (cy + 0.2 * m));
    dx * dx + dy * dy < (r + margin) * (r + margin)
}

/// Band values of one pixel at one date (0 = t1, 1 = t2).
fn pixel(spec: &SceneSpec, pits: &[Pit], row: usize, col: usize, date: u64) -> [u16; 5] {
    if row >= spec.height.saturating_sub(spec.nodata_rows) {
        return [0; 5];
    }
    let s = spec.seed;
    // Smooth-ish landscape: vegetation with a soil fraction varying over 32-px cells.
    let cell = hash(s, 0xCE11, (row / 32) as u64, (col / 32) as u64);
    let soil_frac = 0.25 * unit(cell);
    let mut v = [0f32; 5];
    for b in 0..5 {
        v[b] = VEG[b] * (1.0 - soil_frac) + SOIL[b] * soil_frac;
    }
    if date == 1 && planted(spec, pits, row, col) {
        v = SOIL;
    }
    if date == 1 && spec.weather {
        // Shade keeps diffuse (blue) skylight and loses the direct beam: NIR and SWIR fall most.
        if in_shadow(spec, row, col) {
            for (x, f) in v.iter_mut().zip([0.9, 0.6, 0.5, 0.35, 0.35]) {
                *x *= f;
            }
        }
        let haze =
            ((spec.width as f32 / 3.0 - col as f32) / (spec.width as f32 / 6.0)).clamp(0.0, 1.0);
        for (x, a) in v.iter_mut().zip([300.0, 240.0, 180.0, 110.0, 40.0]) {
            *x += haze * a;
        }
    }
    // A cloud in date 2 over one corner: bright blue, must not count as change.
    if date == 1 {
        let (cx, cy, r) = cloud_disk(spec);
        let (dx, dy) = (col as f32 - cx, row as f32 - cy);
        if dx * dx + dy * dy < r * r {
            v = CLOUD;
        }
    }
    let mut out = [0u16; 5];
    for b in 0..5 {
        let noise = (unit(hash(s, date * 8 + b as u64, row as u64, col as u64)) - 0.5) * 120.0;
        out[b] = (v[b] + noise).clamp(1.0, 10000.0) as u16;
    }
    out
}

/// The planted change (pits and specks, minus the cloud, its shadow and the nodata strip) as a 0/1
/// Byte GeoTIFF on the scene's grid: ground truth for `minewatch eval` tests.
pub fn write_truth(spec: &SceneSpec, path: &Path) -> Result<(), gdal::errors::GdalError> {
    let pits = pits(spec);
    let drv = DriverManager::get_driver_by_name("GTiff")?;
    let mut ds = drv.create_with_band_type::<u8, _>(path, spec.width, spec.height, 1)?;
    ds.set_geo_transform(&[400000.0, 10.0, 0.0, 4420000.0, 0.0, -10.0])?;
    ds.set_spatial_ref(&gdal::spatial_ref::SpatialRef::from_epsg(32650)?)?;
    let mut data = Vec::with_capacity(spec.width * spec.height);
    for row in 0..spec.height {
        for col in 0..spec.width {
            let before = pixel(spec, &pits, row, col, 0);
            let after = pixel(spec, &pits, row, col, 1);
            let cloud = after[0] >= 4000;
            let shade = spec.weather && in_shadow(spec, row, col);
            let changed =
                after[3] < 3000 && before[3] >= 3000 && !cloud && !shade && before[0] != 0;
            data.push(changed as u8);
        }
    }
    let mut buf = Buffer::new((spec.width, spec.height), data);
    ds.rasterband(1)?
        .write((0, 0), (spec.width, spec.height), &mut buf)
}

/// Write `t1_<date>.tif` and `t2_<date>.tif` into `dir`; returns both paths.
pub fn write_scene(
    spec: &SceneSpec,
    dir: &Path,
    names: [&str; 2],
) -> Result<[PathBuf; 2], gdal::errors::GdalError> {
    let pits = pits(spec);
    let drv = DriverManager::get_driver_by_name("GTiff")?;
    let opts = RasterCreationOptions::from_iter(
        spec.creation
            .iter()
            .map(|s| s.as_str())
            .chain(["INTERLEAVE=PIXEL"]),
    );
    let mut out = Vec::new();
    for (date, name) in names.iter().enumerate() {
        let path = dir.join(name);
        let mut ds = drv.create_with_band_type_with_options::<u16, _>(
            &path,
            spec.width,
            spec.height,
            5,
            &opts,
        )?;
        ds.set_geo_transform(&[400000.0, 10.0, 0.0, 4420000.0, 0.0, -10.0])?;
        ds.set_spatial_ref(&gdal::spatial_ref::SpatialRef::from_epsg(32650)?)?;
        // Values are reflectance × 10000, said the Sentinel-2 way.
        ds.set_metadata_item("QUANTIFICATION_VALUE", "10000", "")?;
        let strip = 64;
        for b in 0..5 {
            let mut band = ds.rasterband(b + 1)?;
            band.set_description(["blue", "green", "red", "nir", "swir1"][b])?;
            if spec.nodata_rows > 0 {
                band.set_no_data_value(Some(0.0))?;
            }
            for r0 in (0..spec.height).step_by(strip) {
                let h = strip.min(spec.height - r0);
                let mut data = Vec::with_capacity(h * spec.width);
                for row in r0..r0 + h {
                    for col in 0..spec.width {
                        data.push(pixel(spec, &pits, row, col, date as u64)[b]);
                    }
                }
                let mut buf = Buffer::new((spec.width, h), data);
                band.write((0, r0 as isize), (spec.width, h), &mut buf)?;
            }
        }
        out.push(path);
    }
    Ok([out[0].clone(), out[1].clone()])
}
