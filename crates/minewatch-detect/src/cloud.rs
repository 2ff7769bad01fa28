//! Cloud and cloud-shadow screening of a date pair, per pixel, from the bands present.
//!
//! Opaque clouds and their shadows are the false changes a change score cannot refuse on
//! its own: a cloud replaces the ground's spectrum with its own, which is a change of
//! spectral shape like any other. Haze is not screened here: it adds a smooth, nearly
//! band-uniform brightening that the automatic score's whitening already discounts
//! (`tests/auto_method.rs` plants it and checks no patch comes of it).
//!
//! The tests are physical, so they need reflectance, not digital numbers:
//! - **Cloud at date k**: blue reflectance at k ≥ [`CLOUD_BLUE`] (thick clouds are
//!   brighter in the blue than almost any ground), at least [`CLOUD_BLUE_RISE`] above the
//!   other date's (the multi-temporal test of Hagolle et al. 2010: a cloud is a sudden
//!   blue brightening), visibly white (Fmask's whiteness, Zhu & Woodcock 2012, below
//!   [`CLOUD_WHITENESS`]) and no brighter at 1.6 µm than in the blue. The last test is
//!   what keeps the targets of this tool: bare soil, rock, spoil, limestone quarries and
//!   concrete all reflect more at 1.6 µm than in the blue; water clouds, ice and snow
//!   reflect less.
//! - **Shadow at date k**: NIR and SWIR1 both fall to at most [`SHADOW_RATIO`] of the
//!   other date's, the blue does not brighten (beyond [`SHADOW_BLUE_TOLERANCE`]), and no water appears (NIR falling below
//!   red where it was above: shadowed ground keeps its vegetation or soil shape, a pit
//!   filling with water does not; shadow on water stays water). Over water (NIR below
//!   [`SHADOW_DARK`]) the green must fall instead of the NIR, and SWIR1 dark on both
//!   dates passes. Darkening
//!   alone is not enough (new asphalt on bare soil looks the same), so a shadow-like patch
//!   is dropped only when a cloud patch of the same date lies within
//!   [`SHADOW_REACH_M`]; that decision is made per patch, after labelling.
//!
//! Each pixel gets a signed flag per test: +1 when it holds at date 2 (after), −1 at
//! date 1 (before), 0 otherwise; patch means of the flags say which patches are mostly
//! cloud or shadow and at which date.

use serde::{Deserialize, Serialize};

/// Blue reflectance an opaque cloud reaches at least (top of atmosphere or surface).
pub const CLOUD_BLUE: f32 = 0.20;
/// Blue brightening over the other date that a cloud brings at least.
pub const CLOUD_BLUE_RISE: f32 = 0.08;
/// Fmask's whiteness (mean absolute deviation of blue, green and red from their mean,
/// over the mean) below which a surface is white or grey.
pub const CLOUD_WHITENESS: f32 = 0.7;
/// NIR and SWIR1 at most this fraction of the other date's in a cloud shadow.
pub const SHADOW_RATIO: f32 = 0.6;
/// NIR reflectance below which ground is dark (water) and NIR ratios are noise.
pub const SHADOW_DARK: f32 = 0.03;
/// Blue may rise this much in a shadow (reflectance; noise, and the blue skylight that
/// still reaches shaded ground, seen through a different atmosphere).
pub const SHADOW_BLUE_TOLERANCE: f32 = 0.02;
/// Furthest a cloud's shadow falls from the cloud: cloud-base heights of low clouds
/// (≤ 2.5 km) times the tangent of the sun's zenith angle over China at image time
/// (≤ 63°, tan ≈ 2).
pub const SHADOW_REACH_M: f64 = 5000.0;
/// A patch whose pixels are at least this share cloud (or shadow) at one date is one.
pub const PATCH_SHARE: f64 = 0.5;

/// How a file's values become reflectance: `value × scale + offset`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Reflectance {
    pub scale: f64,
    pub offset: f64,
}

/// One date's planes for the screen (same length each).
#[derive(Clone, Copy)]
pub struct ScreenBands<'a> {
    pub blue: &'a [f32],
    pub green: &'a [f32],
    pub red: &'a [f32],
    pub nir: &'a [f32],
    pub swir1: &'a [f32],
}

/// The screen of one pair: each date's scale to reflectance.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Screen {
    pub before: Reflectance,
    pub after: Reflectance,
}

#[derive(Clone, Copy)]
struct Px {
    blue: f32,
    green: f32,
    red: f32,
    nir: f32,
    swir1: f32,
}

impl Px {
    fn at(b: &ScreenBands, i: usize, r: Reflectance) -> Self {
        let (s, o) = (r.scale as f32, r.offset as f32);
        Self {
            blue: b.blue[i] * s + o,
            green: b.green[i] * s + o,
            red: b.red[i] * s + o,
            nir: b.nir[i] * s + o,
            swir1: b.swir1[i] * s + o,
        }
    }

    fn whiteness(&self) -> f32 {
        let m = (self.blue + self.green + self.red) / 3.0;
        if m <= 0.0 {
            return f32::INFINITY;
        }
        ((self.blue - m).abs() + (self.green - m).abs() + (self.red - m).abs()) / m
    }
}

/// `x` (its own reflectance) is an opaque cloud over `other` (on x's radiometric scale).
fn cloud(x: &Px, x_on_common: &Px, other: &Px) -> bool {
    x.blue >= CLOUD_BLUE
        && x_on_common.blue - other.blue >= CLOUD_BLUE_RISE
        && x.whiteness() < CLOUD_WHITENESS
        && x.swir1 <= x.blue
}

/// `x` (on the common scale) is shadowed where `other` was not.
fn shadow(x: &Px, other: &Px) -> bool {
    // Over water NIR and SWIR1 are near zero and their ratios are noise: where NIR is dark
    // the shadow shows as the green falling instead; SWIR1 dark on both dates says nothing.
    let dark = other.nir < SHADOW_DARK;
    let nir = if dark {
        x.green <= SHADOW_RATIO * other.green
    } else {
        x.nir <= SHADOW_RATIO * other.nir
    };
    let swir1 = x.swir1 <= SHADOW_RATIO * other.swir1
        || (x.swir1 < SHADOW_DARK && other.swir1 < SHADOW_DARK);
    nir && swir1
        && x.blue <= other.blue + SHADOW_BLUE_TOLERANCE
        && !(x.nir <= x.red && other.nir > other.red)
        && other.nir > 0.0
        && other.swir1 > 0.0
}

impl Screen {
    /// Flags for every pixel: `cloud` and `shadow` get +1 (date 2), −1 (date 1) or 0.
    /// `t2_common` is date 2 normalised onto date 1's scale (the pair's comparisons are
    /// made there); `t2` is date 2 as read, for its own absolute tests. Invalid pixels get 0.
    pub fn flags(
        &self,
        t1: &ScreenBands,
        t2: &ScreenBands,
        t2_common: &ScreenBands,
        valid: &[u8],
        cloud_out: &mut Vec<f32>,
        shadow_out: &mut Vec<f32>,
    ) {
        let n = valid.len();
        cloud_out.clear();
        shadow_out.clear();
        cloud_out.reserve(n);
        shadow_out.reserve(n);
        for (i, &v) in valid.iter().enumerate() {
            if v == 0 {
                cloud_out.push(0.0);
                shadow_out.push(0.0);
                continue;
            }
            let a = Px::at(t1, i, self.before);
            let b = Px::at(t2, i, self.after);
            // Date 2 on date 1's scale, in date 1's reflectance.
            let bc = Px::at(t2_common, i, self.before);
            let c = if cloud(&b, &bc, &a) {
                1.0
            } else if cloud(&a, &a, &bc) {
                -1.0
            } else {
                0.0
            };
            let s = if c != 0.0 {
                0.0
            } else if shadow(&bc, &a) {
                1.0
            } else if shadow(&a, &bc) {
                -1.0
            } else {
                0.0
            };
            cloud_out.push(c);
            shadow_out.push(s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNIT: Reflectance = Reflectance {
        scale: 1.0,
        offset: 0.0,
    };

    /// Spectra (blue, green, red, NIR, SWIR1) in reflectance.
    const VEG: [f32; 5] = [0.04, 0.07, 0.05, 0.35, 0.17];
    const SOIL: [f32; 5] = [0.12, 0.16, 0.22, 0.28, 0.36];
    const LIMESTONE: [f32; 5] = [0.34, 0.37, 0.40, 0.44, 0.48];
    const CONCRETE: [f32; 5] = [0.20, 0.22, 0.24, 0.27, 0.30];
    const CLOUD: [f32; 5] = [0.45, 0.44, 0.44, 0.46, 0.32];
    const SNOW: [f32; 5] = [0.80, 0.78, 0.76, 0.70, 0.10];
    const WATER: [f32; 5] = [0.06, 0.05, 0.03, 0.015, 0.005];
    const VEG_SHADED: [f32; 5] = [0.035, 0.04, 0.025, 0.12, 0.06];
    const WATER_SHADED: [f32; 5] = [0.03, 0.02, 0.012, 0.007, 0.003];
    const WATER_CLEARER: [f32; 5] = [0.05, 0.045, 0.025, 0.01, 0.004];
    const ASPHALT: [f32; 5] = [0.08, 0.09, 0.10, 0.12, 0.14];

    fn bands(p: &[Vec<f32>]) -> ScreenBands<'_> {
        ScreenBands {
            blue: &p[0],
            green: &p[1],
            red: &p[2],
            nir: &p[3],
            swir1: &p[4],
        }
    }

    fn run(pairs: &[([f32; 5], [f32; 5])]) -> (Vec<f32>, Vec<f32>) {
        let band = |d: usize, k: usize| -> Vec<f32> {
            pairs
                .iter()
                .map(|p| if d == 0 { p.0[k] } else { p.1[k] })
                .collect()
        };
        let p1: Vec<Vec<f32>> = (0..5).map(|k| band(0, k)).collect();
        let p2: Vec<Vec<f32>> = (0..5).map(|k| band(1, k)).collect();
        let s = Screen {
            before: UNIT,
            after: UNIT,
        };
        let (mut c, mut sh) = (Vec::new(), Vec::new());
        let valid = vec![1u8; pairs.len()];
        s.flags(
            &bands(&p1),
            &bands(&p2),
            &bands(&p2),
            &valid,
            &mut c,
            &mut sh,
        );
        (c, sh)
    }

    #[test]
    fn clouds_are_told_from_the_bright_ground_mining_makes() {
        let (c, _) = run(&[
            (VEG, CLOUD),
            (CLOUD, SOIL),
            (SOIL, CLOUD),
            (VEG, SNOW),
            // Mining and building: bright, white, sudden, but brighter at 1.6 µm.
            (VEG, LIMESTONE),
            (VEG, SOIL),
            (SOIL, CONCRETE),
            (WATER, LIMESTONE),
            (VEG, VEG),
        ]);
        assert_eq!(c, vec![1.0, -1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn shadows_are_darkened_land_not_new_water() {
        let (c, s) = run(&[
            (VEG, VEG_SHADED),
            (VEG_SHADED, VEG),
            (VEG, WATER),
            (SOIL, WATER),
            (VEG, VEG),
            (CLOUD, VEG_SHADED),
            (WATER, WATER_SHADED),
            (WATER, WATER),
            (WATER, WATER_CLEARER),
        ]);
        assert_eq!(s, vec![1.0, -1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
        // A pixel cloudy at one date is a cloud, not also a shadow.
        assert_eq!(c[5], -1.0);
        // Asphalt on soil darkens like a shadow: the pixel test cannot tell, which is why
        // shadows are dropped only beside a cloud (per patch).
        let (_, s) = run(&[(SOIL, ASPHALT)]);
        assert_eq!(s, vec![1.0]);
    }

    #[test]
    fn scale_and_invalid_pixels() {
        // Sentinel-2 digital numbers (reflectance × 10000) with their scale.
        let dn = |v: [f32; 5]| v.map(|x| x * 10_000.0);
        let pairs = [(dn(VEG), dn(CLOUD)), (dn(VEG), dn(CLOUD))];
        let p1: Vec<Vec<f32>> = (0..5)
            .map(|k| pairs.iter().map(|p| p.0[k]).collect())
            .collect();
        let p2: Vec<Vec<f32>> = (0..5)
            .map(|k| pairs.iter().map(|p| p.1[k]).collect())
            .collect();
        let r = Reflectance {
            scale: 1e-4,
            offset: 0.0,
        };
        let s = Screen {
            before: r,
            after: r,
        };
        let (mut c, mut sh) = (Vec::new(), Vec::new());
        s.flags(
            &bands(&p1),
            &bands(&p2),
            &bands(&p2),
            &[1, 0],
            &mut c,
            &mut sh,
        );
        assert_eq!(c, vec![1.0, 0.0]);
        assert_eq!(sh, vec![0.0, 0.0]);
    }
}
