//! Drawing for county packages with the `image` crate: stretched band composites, polygon
//! outlines, text (any script, through a TrueType/TTC font with ab_glyph), a scale bar and a
//! north arrow. Pure: planes and coordinates in, RGB images out.

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use image::{Rgb, RgbImage};

pub const YELLOW: Rgb<u8> = Rgb([255, 230, 0]);
pub const CYAN: Rgb<u8> = Rgb([0, 220, 255]);
pub const MAGENTA: Rgb<u8> = Rgb([255, 0, 200]);
pub const WHITE: Rgb<u8> = Rgb([255, 255, 255]);
pub const BLACK: Rgb<u8> = Rgb([0, 0, 0]);
pub const RED: Rgb<u8> = Rgb([230, 30, 30]);

/// Linear 2–98 % stretch of three planes (NaN = no data, drawn black) into an RGB image.
pub fn composite(planes: [&[f32]; 3], w: usize, h: usize) -> RgbImage {
    let mut img = RgbImage::new(w as u32, h as u32);
    let mut lut = [(0.0f32, 1.0f32); 3];
    for (k, p) in planes.iter().enumerate() {
        let mut v: Vec<f32> = p.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            continue;
        }
        v.sort_by(f32::total_cmp);
        let lo = v[(v.len() - 1) * 2 / 100];
        let hi = v[(v.len() - 1) * 98 / 100];
        lut[k] = (lo, if hi > lo { hi - lo } else { 1.0 });
    }
    let _ = (w, h);
    for (i, out) in img.pixels_mut().enumerate() {
        for (k, (plane, (lo, span))) in planes.iter().zip(lut).enumerate() {
            let x = plane[i];
            out.0[k] = if x.is_finite() {
                (((x - lo) / span).clamp(0.0, 1.0) * 255.0).round() as u8
            } else {
                0
            };
        }
    }
    img
}

/// Put a pixel if inside.
fn plot(img: &mut RgbImage, x: i64, y: i64, c: Rgb<u8>) {
    if x >= 0 && y >= 0 && (x as u32) < img.width() && (y as u32) < img.height() {
        img.put_pixel(x as u32, y as u32, c);
    }
}

/// A line `width` pixels thick (Bresenham with a square pen).
pub fn line(img: &mut RgbImage, a: (f64, f64), b: (f64, f64), c: Rgb<u8>, width: i64) {
    let (mut x0, mut y0) = (a.0.round() as i64, a.1.round() as i64);
    let (x1, y1) = (b.0.round() as i64, b.1.round() as i64);
    if (x0 - x1).abs() > 100_000 || (y0 - y1).abs() > 100_000 {
        return;
    }
    let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
    let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
    let mut err = dx + dy;
    let r = width / 2;
    loop {
        for ox in -r..=(width - 1 - r) {
            for oy in -r..=(width - 1 - r) {
                plot(img, x0 + ox, y0 + oy, c);
            }
        }
        if x0 == x1 && y0 == y1 {
            break;
        }
        let e2 = 2 * err;
        if e2 >= dy {
            err += dy;
            x0 += sx;
        }
        if e2 <= dx {
            err += dx;
            y0 += sy;
        }
    }
}

pub fn ring(img: &mut RgbImage, pts: &[(f64, f64)], c: Rgb<u8>, width: i64) {
    for w in pts.windows(2) {
        line(img, w[0], w[1], c, width);
    }
}

pub fn fill_rect(img: &mut RgbImage, x: i64, y: i64, w: i64, h: i64, c: Rgb<u8>) {
    for yy in y..y + h {
        for xx in x..x + w {
            plot(img, xx, yy, c);
        }
    }
}

/// How text is drawn: size in pixels, colour, and a thin dark halo so it reads on any image.
#[derive(Debug, Clone, Copy)]
pub struct Pen {
    pub size: f32,
    pub color: Rgb<u8>,
    pub halo: bool,
}

impl Pen {
    pub fn on_image(size: f32) -> Self {
        Self {
            size,
            color: WHITE,
            halo: true,
        }
    }

    pub fn on_paper(size: f32) -> Self {
        Self {
            size,
            color: BLACK,
            halo: false,
        }
    }
}

/// Draw `s` with its top-left at `at`; returns its width in pixels.
pub fn text(img: &mut RgbImage, font: &FontRef, s: &str, at: (f32, f32), pen: Pen) -> f32 {
    let (x, y) = at;
    if pen.halo {
        for (dx, dy) in [(-1.0, 0.0), (1.0, 0.0), (0.0, -1.0), (0.0, 1.0)] {
            draw_text(img, font, s, x + dx, y + dy, pen.size, BLACK);
        }
    }
    draw_text(img, font, s, x, y, pen.size, pen.color)
}

fn draw_text(
    img: &mut RgbImage,
    font: &FontRef,
    s: &str,
    x: f32,
    y: f32,
    size: f32,
    c: Rgb<u8>,
) -> f32 {
    let scale = PxScale::from(size);
    let sf = font.as_scaled(scale);
    let mut pen = x;
    let base = y + sf.ascent();
    let mut prev = None;
    for ch in s.chars() {
        let id = font.glyph_id(ch);
        if let Some(p) = prev {
            pen += sf.kern(p, id);
        }
        let g = id.with_scale_and_position(scale, ab_glyph::point(pen, base));
        if let Some(o) = font.outline_glyph(g) {
            let b = o.px_bounds();
            o.draw(|gx, gy, cov| {
                let (px, py) = (b.min.x as i64 + gx as i64, b.min.y as i64 + gy as i64);
                if px >= 0
                    && py >= 0
                    && (px as u32) < img.width()
                    && (py as u32) < img.height()
                    && cov > 0.0
                {
                    let old = img.get_pixel(px as u32, py as u32).0;
                    let mix =
                        |o: u8, n: u8| (o as f32 * (1.0 - cov) + n as f32 * cov).round() as u8;
                    img.put_pixel(
                        px as u32,
                        py as u32,
                        Rgb([
                            mix(old[0], c.0[0]),
                            mix(old[1], c.0[1]),
                            mix(old[2], c.0[2]),
                        ]),
                    );
                }
            });
        }
        pen += sf.h_advance(id);
        prev = Some(id);
    }
    pen - x
}

/// A length of 1, 2 or 5 × 10ⁿ metres near `target_m`.
pub fn nice_length(target_m: f64) -> f64 {
    let p = 10f64.powf(target_m.max(1e-9).log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|k| k * p)
        .filter(|l| *l <= target_m)
        .fold(p, f64::max)
}

/// Scale bar at the bottom left: `m_per_px` metres per image pixel.
pub fn scale_bar(img: &mut RgbImage, font: &FontRef, m_per_px: f64, x: i64, y: i64) {
    let target = img.width() as f64 * 0.25 * m_per_px;
    let len = nice_length(target);
    let px = (len / m_per_px).round() as i64;
    fill_rect(img, x - 1, y - 1, px + 2, 7, BLACK);
    fill_rect(img, x, y, px / 2, 5, WHITE);
    fill_rect(img, x + px / 2, y, px - px / 2, 5, BLACK);
    fill_rect(img, x + px / 2, y + 1, px - px / 2 - 1, 3, WHITE);
    let label = if len >= 1000.0 {
        format!("{} km", len / 1000.0)
    } else {
        format!("{len} m")
    };
    text(
        img,
        font,
        &label,
        (x as f32, (y - 16) as f32),
        Pen::on_image(13.0),
    );
}

/// North arrow at (x, y) = its tip.
pub fn north_arrow(img: &mut RgbImage, font: &FontRef, x: i64, y: i64) {
    for k in 0..16i64 {
        let half = k / 2;
        line(
            img,
            ((x - half) as f64, (y + k) as f64),
            ((x + half) as f64, (y + k) as f64),
            WHITE,
            1,
        );
    }
    line(
        img,
        (x as f64, y as f64),
        ((x - 8) as f64, (y + 16) as f64),
        BLACK,
        1,
    );
    line(
        img,
        (x as f64, y as f64),
        ((x + 8) as f64, (y + 16) as f64),
        BLACK,
        1,
    );
    text(
        img,
        font,
        "N",
        ((x - 5) as f32, (y + 16) as f32),
        Pen::on_image(14.0),
    );
}

/// Degrees as D°M′S.sss″ with a hemisphere letter (seconds to 0.001″).
pub fn dms(v: f64, pos: char, neg: char) -> String {
    let h = if v < 0.0 { neg } else { pos };
    let ms = (v.abs() * 3_600_000.0).round() as u64;
    let (d, rest) = (ms / 3_600_000, ms % 3_600_000);
    let (m, s) = (rest / 60_000, rest % 60_000);
    format!("{d}°{m:02}′{:02}.{:03}″{h}", s / 1000, s % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dms_to_a_thousandth_of_a_second() {
        assert_eq!(dms(118.763_786_1, 'E', 'W'), "118°45′49.630″E");
        assert_eq!(dms(-0.5, 'N', 'S'), "0°30′00.000″S");
        // Rounding carries into minutes and degrees.
        assert_eq!(dms(31.999_999_99, 'N', 'S'), "32°00′00.000″N");
    }

    #[test]
    fn nice_lengths() {
        assert_eq!(nice_length(730.0), 500.0);
        assert_eq!(nice_length(2600.0), 2000.0);
        assert_eq!(nice_length(99.0), 50.0);
    }

    #[test]
    fn lines_and_composites() {
        let mut img = RgbImage::new(20, 20);
        ring(
            &mut img,
            &[
                (2.0, 2.0),
                (17.0, 2.0),
                (17.0, 17.0),
                (2.0, 17.0),
                (2.0, 2.0),
            ],
            YELLOW,
            1,
        );
        let n = img.pixels().filter(|p| **p == YELLOW).count();
        assert_eq!(n, 60, "a 16 × 16 outline");
        let p: Vec<f32> = (0..100).map(|i| i as f32).collect();
        let mut q = p.clone();
        q[0] = f32::NAN;
        let c = composite([&p, &p, &q], 10, 10);
        assert_eq!(c.get_pixel(0, 0).0, [0, 0, 0]);
        assert_eq!(c.get_pixel(9, 9).0, [255, 255, 255]);
    }
}
