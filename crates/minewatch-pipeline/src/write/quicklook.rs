//! Quicklook PNG: before and after dates side by side in true colour (2–98 % stretch),
//! patch outlines drawn on both. Read through GDAL's decimating reads, so memory is the
//! size of the picture, not of the scene.

use crate::error::PipelineError;
use crate::georef::GeoPatch;
use crate::inputs::DatedImage;
use image::{Rgb, RgbImage};
use minewatch_core::BandRole;
use std::path::Path;

/// Longest side of each half of the picture, in pixels.
const MAX_SIDE: usize = 900;

pub fn write(
    path: &Path,
    before: &DatedImage,
    after: &DatedImage,
    patches: &[GeoPatch],
) -> Result<(), PipelineError> {
    let g = &before.info.grid;
    let f = g.width.max(g.height).div_ceil(MAX_SIDE).max(1);
    let (w, h) = (g.width.div_ceil(f), g.height.div_ceil(f));
    let gap = 8;
    let mut img = RgbImage::from_pixel((2 * w + gap) as u32, h as u32, Rgb([255, 255, 255]));
    for (k, d) in [before, after].iter().enumerate() {
        let rgb = read_rgb(d, w, h)?;
        let x0 = k * (w + gap);
        for y in 0..h {
            for x in 0..w {
                let i = y * w + x;
                img.put_pixel(
                    (x0 + x) as u32,
                    y as u32,
                    Rgb([rgb[0][i], rgb[1][i], rgb[2][i]]),
                );
            }
        }
        for p in patches {
            for rings in &p.record.geometry.polygons {
                for ring in rings {
                    for seg in ring.windows(2) {
                        let a = (seg[0].0 as f64 / f as f64, seg[0].1 as f64 / f as f64);
                        let b = (seg[1].0 as f64 / f as f64, seg[1].1 as f64 / f as f64);
                        line(&mut img, x0, w, h, a, b);
                    }
                }
            }
        }
    }
    img.save(path).map_err(|e| PipelineError::Output {
        path: path.to_path_buf(),
        msg: e.to_string(),
    })
}

fn read_rgb(d: &DatedImage, w: usize, h: usize) -> Result<[Vec<u8>; 3], PipelineError> {
    let err =
        |m: String| PipelineError::Input(format!("{}: quicklook: {m}", d.info.path.display()));
    let ds = gdal::Dataset::open(&d.info.path).map_err(|e| err(e.to_string()))?;
    let g = &d.info.grid;
    let mut out: [Vec<u8>; 3] = [vec![0; w * h], vec![0; w * h], vec![0; w * h]];
    for (k, role) in [BandRole::Red, BandRole::Green, BandRole::Blue]
        .iter()
        .enumerate()
    {
        let Some(b) = d.profile.band(*role) else {
            continue;
        };
        let band = ds.rasterband(b).map_err(|e| err(e.to_string()))?;
        let mut buf = vec![0f32; w * h];
        band.read_into_slice::<f32>((0, 0), (g.width, g.height), (w, h), &mut buf, None)
            .map_err(|e| err(e.to_string()))?;
        let nodata = d.info.bands[b - 1].nodata.map(|v| v as f32);
        let mut vals: Vec<f32> = buf
            .iter()
            .copied()
            .filter(|v| v.is_finite() && Some(*v) != nodata)
            .collect();
        if vals.is_empty() {
            continue;
        }
        vals.sort_by(|a, b| a.total_cmp(b));
        let lo = vals[vals.len() * 2 / 100];
        let hi = vals[(vals.len() * 98 / 100).min(vals.len() - 1)].max(lo + 1e-6);
        for (o, v) in out[k].iter_mut().zip(&buf) {
            *o = (((v - lo) / (hi - lo)).clamp(0.0, 1.0) * 255.0) as u8;
        }
    }
    Ok(out)
}

fn line(img: &mut RgbImage, x0: usize, w: usize, h: usize, a: (f64, f64), b: (f64, f64)) {
    let n = ((b.0 - a.0).abs().max((b.1 - a.1).abs()) * 2.0)
        .ceil()
        .max(1.0) as usize;
    for i in 0..=n {
        let t = i as f64 / n as f64;
        let (x, y) = (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
        let (xi, yi) = (
            (x.floor() as i64).clamp(0, w as i64 - 1),
            (y.floor() as i64).clamp(0, h as i64 - 1),
        );
        img.put_pixel((x0 as i64 + xi) as u32, yi as u32, Rgb([255, 230, 0]));
    }
}
