//! Cloud and cloud-shadow screening of a date pair, per pixel, from the bands present.
//!
//! Opaque clouds and their shadows are the false changes a change score cannot refuse on
//! its own: a cloud replaces the ground's spectrum with its own, which is a change of
//! spectral shape like any other. Haze over land adds a smooth, nearly band-uniform
//! brightening that the automatic score's whitening already discounts
//! (`tests/auto_method.rs` plants it and checks no patch comes of it); over dark water it is
//! most of the signal, and is flagged with the clouds: water on both dates, brightened most
//! in the blue and least in the red ([`HAZE_BLUE_RISE`]).
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
//! Cloud flags are opened (isolated cloud-like pixels dropped) and fenced by a one-pixel
//! moat of invalid pixels ([`open_and_moat`]), so a real change beside a cloud stays its
//! own patch and only the cloud's patch is removed.
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
/// Blue brightening over water from which haze is screened (reflectance).
pub const HAZE_BLUE_RISE: f32 = 0.02;
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

impl Reflectance {
    /// Values already in reflectance.
    pub const UNIT: Self = Self {
        scale: 1.0,
        offset: 0.0,
    };
    /// Reflectance × 10000, the Sentinel-2 L1C / L2A convention (before the offset of
    /// processing baseline 04.00).
    pub const TIMES_10000: Self = Self {
        scale: 1e-4,
        offset: 0.0,
    };
    /// Landsat Collection 2 Level-2 surface reflectance: DN × 2.75e-5 − 0.2.
    pub const LANDSAT_C2_SR: Self = Self {
        scale: 2.75e-5,
        offset: -0.2,
    };
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

impl<'a> ScreenBands<'a> {
    /// The first `n` pixels of every plane.
    fn prefix(&self, n: usize) -> ScreenBands<'a> {
        ScreenBands {
            blue: &self.blue[..n],
            green: &self.green[..n],
            red: &self.red[..n],
            nir: &self.nir[..n],
            swir1: &self.swir1[..n],
        }
    }

    /// Blue, green, red, NIR and SWIR1 taken from `planes` at the positions `at`.
    pub fn select(planes: &'a [Vec<f32>], at: [usize; 5]) -> Self {
        let [b, g, r, n, s] = at;
        Self {
            blue: &planes[b],
            green: &planes[g],
            red: &planes[r],
            nir: &planes[n],
            swir1: &planes[s],
        }
    }
}

/// The screen of one pair: each date's scale to reflectance.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Screen {
    pub before: Reflectance,
    pub after: Reflectance,
}

impl Screen {
    /// Both dates on the same scale.
    pub fn both(r: Reflectance) -> Self {
        Self {
            before: r,
            after: r,
        }
    }
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
    #[inline(always)]
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

    #[cfg(test)]
    fn whiteness(&self) -> f32 {
        let m = (self.blue + self.green + self.red) / 3.0;
        if m <= 0.0 {
            return f32::INFINITY;
        }
        ((self.blue - m).abs() + (self.green - m).abs() + (self.red - m).abs()) / m
    }

    /// `whiteness() < CLOUD_WHITENESS` without a branch: a mean of zero or below is never
    /// white (its whiteness is taken as infinite), and the quotient then goes unused.
    #[inline(always)]
    fn white(&self) -> bool {
        let m = (self.blue + self.green + self.red) / 3.0;
        let w = ((self.blue - m).abs() + (self.green - m).abs() + (self.red - m).abs()) / m;
        (m > 0.0) & (w < CLOUD_WHITENESS)
    }
}

/// `x` (its own reflectance) is an opaque cloud over `other` (on x's radiometric scale).
/// Every test is evaluated (`&`, not `&&`): straight-line code the compiler vectorises;
/// the tests are pure comparisons, so the answer is the same.
#[inline(always)]
fn cloud(x: &Px, x_on_common: &Px, other: &Px) -> bool {
    (x.blue >= CLOUD_BLUE)
        & (x_on_common.blue - other.blue >= CLOUD_BLUE_RISE)
        & x.white()
        & (x.swir1 <= x.blue)
}

/// Haze over water at `x` (both on the common scale): water on both dates (NIR below red)
/// brightened the way scattering does, most in the blue and least in the red. Over dark
/// water haze is most of the signal, a change of spectral shape the score cannot discount;
/// sediment (dredging, a tailings outflow) brightens the red and green more than the blue.
#[inline(always)]
fn haze_over_water(x: &Px, other: &Px) -> bool {
    let (db, dg, dr) = (
        x.blue - other.blue,
        x.green - other.green,
        x.red - other.red,
    );
    (x.nir < x.red)
        & (other.nir < other.red)
        & (db >= HAZE_BLUE_RISE)
        & (db >= dg)
        & (dg >= dr)
        & (dr >= -HAZE_BLUE_RISE)
}

/// `x` (on the common scale) is shadowed where `other` was not.
#[inline(always)]
fn shadow(x: &Px, other: &Px) -> bool {
    // Over water NIR and SWIR1 are near zero and their ratios are noise: where NIR is dark
    // the shadow shows as the green falling instead; SWIR1 dark on both dates says nothing.
    let dark = other.nir < SHADOW_DARK;
    let nir = (dark & (x.green <= SHADOW_RATIO * other.green))
        | (!dark & (x.nir <= SHADOW_RATIO * other.nir));
    let swir1 = (x.swir1 <= SHADOW_RATIO * other.swir1)
        | ((x.swir1 < SHADOW_DARK) & (other.swir1 < SHADOW_DARK));
    nir & swir1
        & (x.blue <= other.blue + SHADOW_BLUE_TOLERANCE)
        & !((x.nir <= x.red) & (other.nir > other.red))
        & (other.nir > 0.0)
        & (other.swir1 > 0.0)
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
        // Every plane holds the window: stated once, so the loop's indexing needs no checks.
        for b in [t1, t2, t2_common] {
            for p in [b.blue, b.green, b.red, b.nir, b.swir1] {
                assert!(p.len() >= n, "screen planes shorter than the window");
            }
        }
        cloud_out.clear();
        shadow_out.clear();
        cloud_out.resize(n, 0.0);
        shadow_out.resize(n, 0.0);
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked on the line above. Same IEEE operations
            // (no FMA is enabled: a fused multiply-add would round the scaling
            // differently), eight pixels at a time: the same flags.
            #[allow(unsafe_code)]
            unsafe {
                return self.flags_avx2(t1, t2, t2_common, valid, cloud_out, shadow_out);
            }
        }
        self.flags_impl(t1, t2, t2_common, valid, cloud_out, shadow_out);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn flags_avx2(
        &self,
        t1: &ScreenBands,
        t2: &ScreenBands,
        t2_common: &ScreenBands,
        valid: &[u8],
        cloud_out: &mut [f32],
        shadow_out: &mut [f32],
    ) {
        self.flags_impl(t1, t2, t2_common, valid, cloud_out, shadow_out)
    }

    /// The per-pixel tests as straight-line code (no branch per pixel), so the loop
    /// vectorises: the cascade "date-2 cloud, else date-1 cloud; shadows only where no
    /// cloud" becomes arithmetic on the tests' outcomes.
    #[inline(always)]
    fn flags_impl(
        &self,
        t1: &ScreenBands,
        t2: &ScreenBands,
        t2_common: &ScreenBands,
        valid: &[u8],
        cloud_out: &mut [f32],
        shadow_out: &mut [f32],
    ) {
        let n = valid.len();
        let (cloud_out, shadow_out) = (&mut cloud_out[..n], &mut shadow_out[..n]);
        // Planes cut to the window's length: the loop's indexing needs no checks.
        let (t1, t2, t2c) = (t1.prefix(n), t2.prefix(n), t2_common.prefix(n));
        for i in 0..n {
            let a = Px::at(&t1, i, self.before);
            let b = Px::at(&t2, i, self.after);
            // Date 2 on date 1's scale, in date 1's reflectance.
            let bc = Px::at(&t2c, i, self.before);
            let ok = valid[i] != 0;
            let c2 = ok & (cloud(&b, &bc, &a) | haze_over_water(&bc, &a));
            let c1 = ok & !c2 & (cloud(&a, &a, &bc) | haze_over_water(&a, &bc));
            let clear = ok & !c2 & !c1;
            let s2 = clear & shadow(&bc, &a);
            let s1 = clear & !s2 & shadow(&a, &bc);
            cloud_out[i] = c2 as u8 as f32 - c1 as u8 as f32;
            shadow_out[i] = s2 as u8 as f32 - s1 as u8 as f32;
        }
    }
}

/// Pixels a cloud's flags reach through [`open_and_moat`]: erosion 1, dilation 1, moat 1.
/// A window needs this much halo for the flags of its inner pixels to be exact.
pub const CLOUD_REACH: usize = 3;

/// Separable 3 × 3 minimum (`ERODE`) or maximum of a 0/1 indicator over a `w` × `h` plane;
/// past the edge the indicator counts as 1 for the minimum and 0 for the maximum. Rows are
/// combined whole (the loops vectorise).
fn pass3<const ERODE: bool>(src: &[u8], w: usize, h: usize) -> Vec<u8> {
    let op = |a: u8, b: u8| if ERODE { a & b } else { a | b };
    let edge = ERODE as u8;
    let mut rows = vec![0u8; src.len()];
    for (s, d) in src.chunks_exact(w).zip(rows.chunks_exact_mut(w)) {
        for x in 0..w {
            let l = if x > 0 { s[x - 1] } else { edge };
            let r = if x + 1 < w { s[x + 1] } else { edge };
            d[x] = op(op(l, s[x]), r);
        }
    }
    let mut out = vec![0u8; src.len()];
    let edge_row = vec![edge; w];
    for y in 0..h {
        let up = if y > 0 {
            &rows[(y - 1) * w..y * w]
        } else {
            &edge_row[..]
        };
        let down = if y + 1 < h {
            &rows[(y + 1) * w..(y + 2) * w]
        } else {
            &edge_row[..]
        };
        let mid = &rows[y * w..(y + 1) * w];
        for (((o, &u), &m), &d) in out[y * w..(y + 1) * w]
            .iter_mut()
            .zip(up)
            .zip(mid)
            .zip(down)
        {
            *o = op(op(u, m), d);
        }
    }
    out
}

/// Clean the cloud flags and fence them. An opening (3 × 3 erosion, then dilation) keeps
/// clouds and drops isolated cloud-like pixels (a white roof here and there is not a
/// cloud); then the one-pixel moat around what is left is returned, for every pixel, to
/// be made invalid: no change pixel then touches a cloud pixel, so a cloud and a real
/// change beside it become separate patches and only the cloud's is removed, and the
/// cloud's soft edge, which fails the pixel test, goes into the moat. A +1 (date 2)
/// cloud wins over a −1 where both reach. Exact for pixels at least [`CLOUD_REACH`]
/// inside the plane's edge; past the edge, pixels count as cloud for the erosion (a
/// cloud cut by the scene's edge is not eaten away).
pub fn open_and_moat(cloud: &mut [f32], w: usize, h: usize) -> Vec<bool> {
    let pass = |src: &[u8], erode: bool| -> Vec<u8> {
        if erode {
            pass3::<true>(src, w, h)
        } else {
            pass3::<false>(src, w, h)
        }
    };
    let pos: Vec<u8> = cloud.iter().map(|&v| (v > 0.0) as u8).collect();
    let any: Vec<u8> = cloud.iter().map(|&v| (v != 0.0) as u8).collect();
    let kept = pass(&pass(&any, true), false);
    // The date of a kept pixel: +1 if a date-2 flag is within reach of the opening.
    let pos_near = pass(&pos, false);
    let ring = pass(&kept, false);
    let mut moat = Vec::with_capacity(cloud.len());
    for i in 0..cloud.len() {
        cloud[i] = if kept[i] == 0 {
            0.0
        } else if pos_near[i] != 0 {
            1.0
        } else {
            -1.0
        };
        moat.push(kept[i] == 0 && ring[i] != 0);
    }
    moat
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNIT: Reflectance = Reflectance::UNIT;

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
    const WATER_HAZY: [f32; 5] = [0.11, 0.085, 0.06, 0.04, 0.012];
    const WATER_SILTY: [f32; 5] = [0.08, 0.10, 0.09, 0.05, 0.01];
    const ASPHALT: [f32; 5] = [0.08, 0.09, 0.10, 0.12, 0.14];

    fn bands(p: &[Vec<f32>]) -> ScreenBands<'_> {
        ScreenBands::select(p, [0, 1, 2, 3, 4])
    }

    /// The tests as first written, with short-circuits and an if-cascade: the reference
    /// for the straight-line version the screen runs.
    fn reference(a: &Px, b: &Px, bc: &Px) -> (f32, f32) {
        let cloud = |x: &Px, xc: &Px, o: &Px| {
            x.blue >= CLOUD_BLUE
                && xc.blue - o.blue >= CLOUD_BLUE_RISE
                && x.whiteness() < CLOUD_WHITENESS
                && x.swir1 <= x.blue
        };
        let haze = |x: &Px, o: &Px| {
            let (db, dg, dr) = (x.blue - o.blue, x.green - o.green, x.red - o.red);
            x.nir < x.red
                && o.nir < o.red
                && db >= HAZE_BLUE_RISE
                && db >= dg
                && dg >= dr
                && dr >= -HAZE_BLUE_RISE
        };
        let shadow = |x: &Px, o: &Px| {
            let nir = if o.nir < SHADOW_DARK {
                x.green <= SHADOW_RATIO * o.green
            } else {
                x.nir <= SHADOW_RATIO * o.nir
            };
            let swir1 = x.swir1 <= SHADOW_RATIO * o.swir1
                || (x.swir1 < SHADOW_DARK && o.swir1 < SHADOW_DARK);
            nir && swir1
                && x.blue <= o.blue + SHADOW_BLUE_TOLERANCE
                && !(x.nir <= x.red && o.nir > o.red)
                && o.nir > 0.0
                && o.swir1 > 0.0
        };
        let c = if cloud(b, bc, a) || haze(bc, a) {
            1.0
        } else if cloud(a, a, bc) || haze(a, bc) {
            -1.0
        } else {
            0.0
        };
        let s = if c != 0.0 {
            0.0
        } else if shadow(bc, a) {
            1.0
        } else if shadow(a, bc) {
            -1.0
        } else {
            0.0
        };
        (c, s)
    }

    /// The screen's flags equal the reference cascade pixel for pixel, on random spectra
    /// around every threshold (scaled DN, zeros, negatives and NaN included), with both
    /// dates on different scales and some pixels invalid.
    #[test]
    fn straight_line_flags_equal_the_cascade() {
        let mut z = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut x = z;
            x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            x ^ (x >> 31)
        };
        let n = 200_000;
        let value = |k: u64| -> f32 {
            match k % 23 {
                0 => 0.0,
                1 => -(((k >> 8) % 500) as f32),
                2 => f32::NAN,
                3 => 2000.0, // 0.2 in reflectance: on the cloud test's edge
                _ => ((k >> 8) % 9000) as f32,
            }
        };
        let mut planes = || -> Vec<Vec<f32>> {
            (0..5)
                .map(|_| (0..n).map(|_| value(next())).collect())
                .collect()
        };
        let (p1, p2, p2c) = (planes(), planes(), planes());
        let valid: Vec<u8> = (0..n).map(|i| (i % 17 != 0) as u8).collect();
        let s = Screen {
            before: Reflectance::TIMES_10000,
            after: Reflectance {
                scale: 0.0001,
                offset: -0.1,
            },
        };
        let (mut c, mut sh) = (Vec::new(), Vec::new());
        let (b1, b2, b2c) = (bands(&p1), bands(&p2), bands(&p2c));
        s.flags(&b1, &b2, &b2c, &valid, &mut c, &mut sh);
        let mut fired = [0usize; 4];
        for i in 0..n {
            let want = if valid[i] == 0 {
                (0.0, 0.0)
            } else {
                reference(
                    &Px::at(&b1, i, s.before),
                    &Px::at(&b2, i, s.after),
                    &Px::at(&b2c, i, s.before),
                )
            };
            assert_eq!((c[i], sh[i]), want, "pixel {i}");
            fired[(c[i] != 0.0) as usize] += 1;
            fired[2 + (sh[i] != 0.0) as usize] += 1;
        }
        // The random spectra reach both outcomes of both tests.
        assert!(fired.iter().all(|&k| k > 100), "{fired:?}");
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
        let s = Screen::both(UNIT);
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
            // Haze over water is flagged with the clouds; sediment and new land are not.
            (WATER, WATER_HAZY),
            (WATER_HAZY, WATER),
            (WATER, WATER_SILTY),
            (WATER, SOIL),
        ]);
        assert_eq!(
            c,
            vec![1.0, -1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, -1.0, 0.0, 0.0]
        );
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
    fn clouds_are_opened_and_moated() {
        // 9 x 6: a 3 x 3 date-2 cloud at rows 1-3, cols 1-3 with a ragged pixel at (4, 2);
        // a lone date-1 cloud-like pixel at (1, 7) (a white roof); a 2 x 3 date-1 cloud
        // cut by the bottom edge at rows 4-5, cols 6-8.
        let (w, h) = (9, 6);
        let mut c = vec![0f32; w * h];
        for y in 1..4 {
            for x in 1..4 {
                c[y * w + x] = 1.0;
            }
        }
        c[4 * w + 2] = 1.0;
        c[w + 7] = -1.0;
        for y in 4..6 {
            for x in 6..9 {
                c[y * w + x] = -1.0;
            }
        }
        let moat = open_and_moat(&mut c, w, h);
        let show = |f: &dyn Fn(usize) -> char| -> String {
            (0..h)
                .map(|y| (0..w).map(|x| f(y * w + x)).collect::<String>())
                .collect::<Vec<_>>()
                .join("/")
        };
        let cl = show(&|i| match c[i] {
            v if v > 0.0 => '+',
            v if v < 0.0 => '-',
            _ => '.',
        });
        let mo = show(&|i| if moat[i] { 'm' } else { '.' });
        assert_eq!(
            cl,
            "........./.+++...../.+++...../.+++...../......---/......---"
        );
        assert_eq!(
            mo,
            "mmmmm..../m...m..../m...m..../m...mmmmm/mmmmmm.../.....m..."
        );
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
        let s = Screen::both(Reflectance::TIMES_10000);
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
