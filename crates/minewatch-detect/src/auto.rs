//! The automatic change score: no per-scene parameters.
//!
//! 1. Relative radiometric normalisation: per band, a reduced-major-axis fit of date 1 on
//!    date 2 over pseudo-invariant pixels, chosen iteratively as the least-changed half of
//!    the sample (standardised squared difference below its median), three rounds. DN and
//!    reflectance inputs both land on date 1's scale. The pipeline fits the gains a second
//!    time on each sampled pixel's best match within the score's neighbourhood
//!    ([`fit_gains`], [`fit_with_gains`]), so that misregistration does not bend them.
//! 2. Score: the Mahalanobis length of the normalised difference vector, with the
//!    no-change covariance of the pseudo-invariant pixels (so correlated illumination
//!    shifts count little and changes of spectral shape count much), divided by the band
//!    count; taken as the larger of the two best matches within a small neighbourhood
//!    (date 2 against shifted date 1 and the reverse), which forgives misregistration,
//!    building lean and shifted shadows; then the square root and a 3 × 3 mean, capped
//!    at the pixel's own value (so the mean never widens a patch). The
//!    tolerance is fixed on the ground, not in pixels ([`Neighbourhood`]): about 20 m,
//!    two 10 m Sentinel-2 pixels or one 30 m Landsat pixel, so no scene or sensor needs
//!    its own setting.
//! 3. Threshold (in the pipeline): median + 3 robust sigma (1.4826 × MAD) of the plain
//!    mean score on the sample blocks — change is what stands out from the scene's own
//!    no-change variability — compared with the capped score ([`Cap`]).
//!
//! The window kernel needs a halo of [`HALO`] pixels so that every inner pixel sees its
//! full neighbourhood; scores are then the same for any window size.

use serde::{Deserialize, Serialize};

/// Misregistration the score forgives, in metres on the ground. Multi-date registration
/// of Sentinel-2 L1C before its global reference image and of Landsat L1T is of the
/// order of 10–15 m (CE95 about one 10 m pixel or half a 30 m one); high-rise lean and
/// seasonal shadow shifts add about as much in cities. 20 m covers both.
pub const MATCH_TOLERANCE_M: f64 = 20.0;
/// Side of the mean that removes per-pixel noise from the score. It stays 3 × 3 pixels
/// at every resolution: noise is per pixel, and a wider mean would push every outline
/// outwards by its half-width (measured: a 9 × 9 mean at 10 m doubled the area of small
/// pits, so areas in 亩 would be overstated).
pub const MEAN_SIDE: usize = 3;
/// Cap that bounds the cost on very fine pixels (GF-2 at 4 m, aerial imagery): the match
/// search grows with the square of the radius.
pub const MAX_MATCH_RADIUS: usize = 3;

/// The score's two neighbourhoods in pixels, derived from the ground pixel size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Neighbourhood {
    /// Best matches are searched within this many pixels (Chebyshev distance).
    pub match_radius: usize,
    /// Side (odd) of the square over which the score is averaged.
    pub mean_side: usize,
}

impl Neighbourhood {
    /// Match radius 2 pixels at 10 m, 1 at 20 m and 30 m, 3 (capped) at 4 m.
    pub fn for_pixel_size(metres: f64) -> Self {
        let m = if metres.is_finite() && metres > 0.0 {
            metres
        } else {
            30.0
        };
        let match_radius = ((MATCH_TOLERANCE_M / m).round() as usize).clamp(1, MAX_MATCH_RADIUS);
        Self {
            match_radius,
            mean_side: MEAN_SIDE,
        }
    }

    /// Halo (pixels) a window needs so that every inner pixel's score is exact.
    pub fn halo(&self) -> usize {
        self.match_radius + self.mean_side / 2
    }
}

/// Whether the mean is capped at the pixel's own score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cap {
    /// The plain 3 × 3 mean: the no-change statistics the threshold is set from are
    /// those of the mean (the capped score's are lower, and a threshold from them let
    /// haze through).
    None,
    /// No more than the pixel's own score: the mean removes noise, but alone it let a
    /// sharp-edged pit's strength spill one pixel all round (a 6 × 6 pit came out 68 px,
    /// 10.2 亩, over the 10 亩 line). A pixel is change only when it and its
    /// neighbourhood both stand out. What is compared with the threshold.
    OwnScore,
}

/// Normalisation and whitening fitted on a sample of the scene.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoModel {
    /// date-2 value × gain + offset ≈ date-1 value, per band.
    pub gains: Vec<f64>,
    pub offsets: Vec<f64>,
    /// Lower-triangular L with Lᵀ L = Σ⁻¹ (row-major B × B): |L d|² is the Mahalanobis length.
    pub whiten: Vec<f64>,
    /// Pseudo-invariant pixels used in the last round.
    pub invariant_pixels: usize,
}

fn mean_std(x: &[f64]) -> (f64, f64) {
    let n = x.len().max(1) as f64;
    let m = x.iter().sum::<f64>() / n;
    let v = x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / n;
    (m, v.sqrt())
}

/// The median by selection, O(n): the same order statistics (in `total_cmp` order) a
/// full sort would give, so the same value, without sorting the fit's samples dozens of
/// times (the sorts were most of the fit's 0.7 s at 8192²).
fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let n = v.len();
    let (below, mid, _) = v.select_nth_unstable_by(n / 2, |a, b| a.total_cmp(b));
    let mid = *mid;
    if n % 2 == 1 {
        mid
    } else {
        let low = below
            .iter()
            .copied()
            .max_by(|a, b| a.total_cmp(b))
            .expect("n is even and at least 2");
        0.5 * (low + mid)
    }
}

/// Robust sigma: 1.4826 × median absolute deviation.
pub fn robust_sigma(v: &[f64]) -> (f64, f64) {
    let m = median(v.to_vec());
    (
        m,
        1.4826 * median(v.iter().map(|x| (x - m).abs()).collect()),
    )
}

/// Fit the model on paired samples: `t1[b][i]`, `t2[b][i]` for band b, valid pixel i.
pub fn fit(t1: &[Vec<f64>], t2: &[Vec<f64>]) -> Result<AutoModel, String> {
    let g = fit_gains(t1, t2)?;
    fit_with_gains(t1, t2, g.gains, g.offsets, &g.among)
}

/// A normalisation: per band gains and offsets (date 2 × gain + offset ≈ date 1), and
/// the samples its last round was fitted on.
pub struct Gains {
    pub gains: Vec<f64>,
    pub offsets: Vec<f64>,
    pub among: Vec<bool>,
}

/// The normalisation alone: per band, the reduced-major-axis line of date 1 on date 2
/// over the least-changed half of the sample, three rounds.
pub fn fit_gains(t1: &[Vec<f64>], t2: &[Vec<f64>]) -> Result<Gains, String> {
    let (nb, n) = sample_shape(t1)?;
    let mut sel = vec![true; n];
    let mut among = sel.clone();
    let (mut gains, mut offsets) = (vec![1.0; nb], vec![0.0; nb]);
    for _round in 0..3 {
        for b in 0..nb {
            let xs: Vec<f64> = (0..n).filter(|&i| sel[i]).map(|i| t2[b][i]).collect();
            let ys: Vec<f64> = (0..n).filter(|&i| sel[i]).map(|i| t1[b][i]).collect();
            let ((mx, sx), (my, sy)) = (mean_std(&xs), mean_std(&ys));
            gains[b] = if sx > 0.0 { sy / sx } else { 1.0 };
            offsets[b] = my - gains[b] * mx;
        }
        let next = least_changed(t1, t2, &gains, &offsets, &sel).1;
        among = std::mem::replace(&mut sel, next);
    }
    if gains.iter().chain(&offsets).any(|g| !g.is_finite()) {
        return Err(
            "the normalisation did not converge (non-finite gain); check the nodata values".into(),
        );
    }
    Ok(Gains {
        gains,
        offsets,
        among,
    })
}

/// The model for given gains: the no-change covariance of the normalised differences
/// over the least-changed half of the sample, standardised by the differences over
/// `among` (as the last round of [`fit_gains`] chooses them).
pub fn fit_with_gains(
    t1: &[Vec<f64>],
    t2: &[Vec<f64>],
    gains: Vec<f64>,
    offsets: Vec<f64>,
    among: &[bool],
) -> Result<AutoModel, String> {
    let (nb, n) = sample_shape(t1)?;
    if among.len() != n {
        return Err(format!("{} samples but {} selection flags", n, among.len()));
    }
    let (d, sel) = least_changed(t1, t2, &gains, &offsets, among);
    let idx: Vec<usize> = (0..n).filter(|&i| sel[i]).collect();
    let m: Vec<f64> = (0..nb)
        .map(|b| idx.iter().map(|&i| d[b][i]).sum::<f64>() / idx.len() as f64)
        .collect();
    let mut cov = vec![0.0; nb * nb];
    for r in 0..nb {
        for c in 0..=r {
            let s: f64 = idx
                .iter()
                .map(|&i| (d[r][i] - m[r]) * (d[c][i] - m[c]))
                .sum::<f64>()
                / idx.len() as f64;
            cov[r * nb + c] = s;
            cov[c * nb + r] = s;
        }
    }
    let whiten = inverse_cholesky(&cov, nb).ok_or(
        "the dates do not differ anywhere (identical dates?), or bands are constant or duplicated, \
         or a fill value covers most of the scene without a nodata tag; use --method rule",
    )?;
    Ok(AutoModel {
        gains,
        offsets,
        whiten,
        invariant_pixels: idx.len(),
    })
}

fn sample_shape(t1: &[Vec<f64>]) -> Result<(usize, usize), String> {
    let nb = t1.len();
    let n = t1.first().map_or(0, |v| v.len());
    if nb == 0 || n < 100 {
        return Err(format!(
            "too few valid pixels to normalise the dates ({n}); need at least 100"
        ));
    }
    Ok((nb, n))
}

/// The normalised differences per band, and which samples are the least-changed half:
/// squared differences standardised by each band's robust sigma over `among`, at or
/// below their median.
fn least_changed(
    t1: &[Vec<f64>],
    t2: &[Vec<f64>],
    gains: &[f64],
    offsets: &[f64],
    among: &[bool],
) -> (Vec<Vec<f64>>, Vec<bool>) {
    let (nb, n) = (t1.len(), among.len());
    let d: Vec<Vec<f64>> = (0..nb)
        .map(|b| {
            (0..n)
                .map(|i| t2[b][i] * gains[b] + offsets[b] - t1[b][i])
                .collect()
        })
        .collect();
    let sig: Vec<f64> = (0..nb)
        .map(|b| {
            let v: Vec<f64> = (0..n).filter(|&i| among[i]).map(|i| d[b][i]).collect();
            robust_sigma(&v).1.max(1e-9)
        })
        .collect();
    let z2: Vec<f64> = (0..n)
        .map(|i| (0..nb).map(|b| (d[b][i] / sig[b]).powi(2)).sum::<f64>())
        .collect();
    let cut = median(z2.clone());
    let sel = z2.iter().map(|&z| z <= cut).collect();
    (d, sel)
}

impl AutoModel {
    /// |L d|²: the Mahalanobis length of a difference vector (date 2 normalised minus
    /// date 1).
    pub fn mahalanobis2(&self, d: &[f64]) -> f64 {
        let nb = d.len();
        (0..nb)
            .map(|r| {
                let x: f64 = (0..=r).map(|c| self.whiten[r * nb + c] * d[c]).sum();
                x * x
            })
            .sum()
    }
}

/// L lower-triangular with Lᵀ L = Σ⁻¹: Σ = C Cᵀ (Cholesky), L = C⁻¹.
fn inverse_cholesky(s: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut c = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut sum = s[i * n + j];
            for k in 0..j {
                sum -= c[i * n + k] * c[j * n + k];
            }
            if i == j {
                if sum.is_nan() || sum <= 0.0 {
                    return None; // not positive definite, or NaN
                }
                c[i * n + i] = sum.sqrt();
            } else {
                c[i * n + j] = sum / c[j * n + j];
            }
        }
    }
    // Invert the lower-triangular C by forward substitution.
    let mut l = vec![0.0; n * n];
    for col in 0..n {
        for i in col..n {
            let mut sum = if i == col { 1.0 } else { 0.0 };
            for k in col..i {
                sum -= c[i * n + k] * l[k * n + col];
            }
            l[i * n + col] = sum / c[i * n + i];
        }
    }
    Some(l)
}

/// Score every pixel of a (halo-expanded) window of `w` × `h` pixels. `t1[b]`, `t2[b]` are
/// band planes; `valid[i] == 0` gives NaN. Pixels near the window edge use the
/// neighbours that exist, so only pixels at least [`Neighbourhood::halo`] inside are exact.
/// Every sum runs over the same neighbours in the same order wherever the window lies
/// (no running sums), so scores are bit-identical for any window or tile size.
#[allow(clippy::too_many_arguments)]
pub fn score_window(
    model: &AutoModel,
    hood: Neighbourhood,
    t1: &[&[f32]],
    t2: &[&[f32]],
    valid: &[u8],
    w: usize,
    h: usize,
    cap: Cap,
    out: &mut Vec<f32>,
) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked on the line above. The AVX2 build runs the
        // same IEEE operations (no FMA is enabled), so the scores are bit-identical to
        // the baseline build's; it only does eight of them at a time instead of four.
        #[allow(unsafe_code)]
        unsafe {
            return score_window_avx2(model, hood, t1, t2, valid, w, h, cap, out);
        }
    }
    score_window_impl(model, hood, t1, t2, valid, w, h, cap, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
fn score_window_avx2(
    model: &AutoModel,
    hood: Neighbourhood,
    t1: &[&[f32]],
    t2: &[&[f32]],
    valid: &[u8],
    w: usize,
    h: usize,
    cap: Cap,
    out: &mut Vec<f32>,
) {
    score_window_impl(model, hood, t1, t2, valid, w, h, cap, out)
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn score_window_impl(
    model: &AutoModel,
    hood: Neighbourhood,
    t1: &[&[f32]],
    t2: &[&[f32]],
    valid: &[u8],
    w: usize,
    h: usize,
    cap: Cap,
    out: &mut Vec<f32>,
) {
    let nb = t1.len();
    let n = w * h;
    // Whitened planes: u = L (gain·t2 + offset), v = L t1, one plane per component; then
    // |u(p) − v(q)|² is the Mahalanobis length of date 2 at p against date 1 at q.
    // Invalid pixels hold NaN, so any distance that touches one is NaN and `min` skips it.
    let mut u = vec![vec![0f32; n]; nb];
    let mut v = vec![vec![0f32; n]; nb];
    // Component by component over whole planes (vectorises); each pixel still sums its
    // terms in component order from zero, in f64.
    let (mut acc2, mut acc1) = (vec![0f64; n], vec![0f64; n]);
    for r in 0..nb {
        acc2.fill(0.0);
        acc1.fill(0.0);
        for c in 0..=r {
            let l = model.whiten[r * nb + c];
            let (g, o) = (model.gains[c], model.offsets[c]);
            for ((a2, a1), (x2, x1)) in acc2
                .iter_mut()
                .zip(acc1.iter_mut())
                .zip(t2[c].iter().zip(t1[c].iter()))
            {
                *a2 += l * (*x2 as f64 * g + o);
                *a1 += l * *x1 as f64;
            }
        }
        for (((ui, vi), (a2, a1)), &ok) in u[r]
            .iter_mut()
            .zip(v[r].iter_mut())
            .zip(acc2.iter().zip(acc1.iter()))
            .zip(valid)
        {
            (*ui, *vi) = if ok != 0 {
                (*a2 as f32, *a1 as f32)
            } else {
                (f32::NAN, f32::NAN)
            };
        }
    }
    let inv_nb = 1.0 / nb as f32;
    // For each offset o, the distance of every pair (p, p + o) once: date 2 at p against
    // date 1 at q = p + o is a candidate for p's best match (b1: date 2 here, date 1
    // nearby) and for q's reverse match (b2: date 2 nearby, date 1 here). Over all offsets
    // that covers both neighbourhoods of every pixel. Each pixel's candidates, and the
    // order in which components are summed, do not depend on where the window lies, so
    // scores are bit-identical for any window; rows of one offset vectorise.
    // Row by row, all offsets of a row before the next: the rows in play (one of `u`,
    // 2r + 1 of `v`, `b2`) stay in cache, where offset by offset over whole planes
    // streamed every plane through memory (2r + 1)² times. A minimum does not depend on
    // the order of its candidates (`f32::min` skips a NaN candidate whichever comes
    // first, and a sum of squares is never −0), so the scores are bit-identical to the
    // offset-by-offset order's.
    let r = hood.match_radius as i64;
    let (mut b1, mut b2) = (vec![f32::INFINITY; n], vec![f32::INFINITY; n]);
    let mut d = vec![0f32; w];
    for y in 0..h {
        for dy in -r..=r {
            let yq = y as i64 + dy;
            if yq < 0 || yq >= h as i64 {
                continue;
            }
            for dx in -r..=r {
                // Columns x with x + dx inside.
                let (x0, x1) = (
                    (-dx).max(0) as usize,
                    (w as i64 - dx.max(0)).max(0) as usize,
                );
                if x0 >= x1 {
                    continue;
                }
                let len = x1 - x0;
                let pp = y * w + x0;
                let qq = ((y as i64 + dy) * w as i64 + x0 as i64 + dx) as usize;
                let dd = &mut d[..len];
                dd.fill(0.0);
                for c in 0..nb {
                    let (a, b) = (&u[c][pp..pp + len], &v[c][qq..qq + len]);
                    for ((o, x), y) in dd.iter_mut().zip(a).zip(b) {
                        *o += (x - y) * (x - y);
                    }
                }
                for x in dd.iter_mut() {
                    *x *= inv_nb;
                }
                for (m, x) in b1[pp..pp + len].iter_mut().zip(dd.iter()) {
                    *m = m.min(*x);
                }
                for (m, x) in b2[qq..qq + len].iter_mut().zip(dd.iter()) {
                    *m = m.min(*x);
                }
            }
        }
    }
    let mut raw = vec![f32::NAN; n];
    for i in 0..n {
        if valid[i] != 0 {
            raw[i] = b1[i].max(b2[i]).sqrt();
        }
    }
    // Local mean over the valid neighbours, separable: sums and counts along rows, then
    // the row results down columns, each in a fixed order.
    let half = hood.mean_side / 2;
    let (mut rs, mut rk) = (vec![0f32; n], vec![0f32; n]);
    for y in 0..h {
        for x in 0..w {
            let (mut s, mut k) = (0f32, 0f32);
            for xx in x.saturating_sub(half)..(x + half + 1).min(w) {
                let v = raw[y * w + xx];
                if !v.is_nan() {
                    s += v;
                    k += 1.0;
                }
            }
            rs[y * w + x] = s;
            rk[y * w + x] = k;
        }
    }
    out.clear();
    out.resize(n, f32::NAN);
    for y in 0..h {
        for x in 0..w {
            let p = y * w + x;
            if valid[p] == 0 {
                continue;
            }
            let (mut s, mut k) = (0f32, 0f32);
            for yy in y.saturating_sub(half)..(y + half + 1).min(h) {
                s += rs[yy * w + x];
                k += rk[yy * w + x];
            }
            out[p] = match cap {
                Cap::OwnScore => (s / k).min(raw[p]),
                Cap::None => s / k,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The median of a full sort, as the fit computed it before selection.
    fn sorted_median(mut v: Vec<f64>) -> f64 {
        v.sort_by(|a, b| a.total_cmp(b));
        let n = v.len();
        if n % 2 == 1 {
            v[n / 2]
        } else {
            0.5 * (v[n / 2 - 1] + v[n / 2])
        }
    }

    #[test]
    fn median_by_selection_equals_the_sorted_median() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for n in [1usize, 2, 3, 4, 5, 10, 11, 1000, 1001] {
            for ties in [false, true] {
                let v: Vec<f64> = (0..n)
                    .map(|_| {
                        let r = next();
                        let v = if ties {
                            (r % 5) as f64 - 2.0
                        } else {
                            r as f64 / 1e15 - 9e3
                        };
                        // Both zeros, which total_cmp orders -0 < +0.
                        if ties && r % 7 == 0 {
                            -0.0
                        } else {
                            v
                        }
                    })
                    .collect();
                let (a, b) = (median(v.clone()), sorted_median(v));
                assert_eq!(a.to_bits(), b.to_bits(), "n {n}, ties {ties}: {a} vs {b}");
            }
        }
        assert_eq!(median(Vec::new()), 0.0);
    }

    #[test]
    fn inverse_cholesky_whitens() {
        let s = [4.0, 2.0, 2.0, 3.0];
        let l = inverse_cholesky(&s, 2).unwrap();
        // Lᵀ L should be Σ⁻¹ = 1/8 [[3, -2], [-2, 4]]
        let m = |r: usize, c: usize| (0..2).map(|k| l[k * 2 + r] * l[k * 2 + c]).sum::<f64>();
        assert!(
            (m(0, 0) - 3.0 / 8.0).abs() < 1e-12
                && (m(0, 1) + 2.0 / 8.0).abs() < 1e-12
                && (m(1, 1) - 0.5).abs() < 1e-12
        );
    }

    #[test]
    fn neighbourhoods_are_fixed_on_the_ground() {
        let n = |m: f64| {
            let h = Neighbourhood::for_pixel_size(m);
            (h.match_radius, h.mean_side)
        };
        assert_eq!(n(10.0), (2, 3)); // Sentinel-2: 20 m tolerance
        assert_eq!(n(30.0), (1, 3)); // Landsat: the same ground distance, rounded
        assert_eq!(n(20.0), (1, 3));
        assert_eq!(n(4.0), (3, 3)); // GF-2: capped
        assert_eq!(n(0.5), (3, 3));
        assert_eq!(n(250.0), (1, 3)); // coarse pixels still forgive one pixel
        assert_eq!(n(f64::NAN), (1, 3));
        assert_eq!(Neighbourhood::for_pixel_size(10.0).halo(), 3);
    }

    /// A scene with structure, scored whole and in halo-expanded pieces: every inner pixel
    /// must be bit-identical, for each neighbourhood.
    #[test]
    fn scores_do_not_depend_on_the_window() {
        let (w, h, nb) = (40usize, 33usize, 3usize);
        let px = |b: usize, i: usize, t: usize| -> f32 {
            let (x, y) = ((i % w) as f32, (i / w) as f32);
            let base = 100.0 + 30.0 * ((x * 0.37 + b as f32).sin() + (y * 0.21).cos());
            let change = if t == 1 && (10..20).contains(&(i % w)) && (5..15).contains(&(i / w)) {
                80.0 * (b as f32 + 1.0)
            } else {
                0.0
            };
            base + change + ((i * 7919 + b * 31 + t * 17) % 11) as f32
        };
        let t1: Vec<Vec<f32>> = (0..nb)
            .map(|b| (0..w * h).map(|i| px(b, i, 0)).collect())
            .collect();
        let t2: Vec<Vec<f32>> = (0..nb)
            .map(|b| (0..w * h).map(|i| px(b, i, 1)).collect())
            .collect();
        let mut valid = vec![1u8; w * h];
        valid[5 * w + 30] = 0; // a nodata pixel inside
        let model = AutoModel {
            gains: vec![1.0; nb],
            offsets: vec![0.0; nb],
            whiten: vec![0.1, 0.0, 0.0, 0.02, 0.1, 0.0, 0.0, -0.03, 0.1],
            invariant_pixels: 0,
        };
        for hood in [
            Neighbourhood::for_pixel_size(10.0),
            Neighbourhood::for_pixel_size(30.0),
        ] {
            let r1: Vec<&[f32]> = t1.iter().map(|v| v.as_slice()).collect();
            let r2: Vec<&[f32]> = t2.iter().map(|v| v.as_slice()).collect();
            let mut whole = Vec::new();
            score_window(
                &model,
                hood,
                &r1,
                &r2,
                &valid,
                w,
                h,
                Cap::OwnScore,
                &mut whole,
            );
            assert!(whole[5 * w + 30].is_nan());
            assert!(
                whole[10 * w + 15] > 2.0 * whole[25 * w + 30],
                "change scores high"
            );
            let mut plain = Vec::new();
            score_window_impl(
                &model,
                hood,
                &r1,
                &r2,
                &valid,
                w,
                h,
                Cap::OwnScore,
                &mut plain,
            );
            assert!(
                whole
                    .iter()
                    .zip(&plain)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "the AVX2 build and the baseline build give the same bits"
            );
            let halo = hood.halo();
            for (c0, r0, cw, rh) in [(0usize, 0usize, 17, 13), (17, 13, 23, 20), (9, 4, 8, 8)] {
                let (bc, br) = (c0.saturating_sub(halo), r0.saturating_sub(halo));
                let (ec, er) = ((c0 + cw + halo).min(w), (r0 + rh + halo).min(h));
                let (bw, bh) = (ec - bc, er - br);
                let cut = |v: &[f32]| -> Vec<f32> {
                    (br..er)
                        .flat_map(|y| v[y * w + bc..y * w + ec].to_vec())
                        .collect()
                };
                let p1: Vec<Vec<f32>> = t1.iter().map(|v| cut(v)).collect();
                let p2: Vec<Vec<f32>> = t2.iter().map(|v| cut(v)).collect();
                let pv: Vec<u8> = (br..er)
                    .flat_map(|y| valid[y * w + bc..y * w + ec].to_vec())
                    .collect();
                let q1: Vec<&[f32]> = p1.iter().map(|v| v.as_slice()).collect();
                let q2: Vec<&[f32]> = p2.iter().map(|v| v.as_slice()).collect();
                let mut part = Vec::new();
                score_window(
                    &model,
                    hood,
                    &q1,
                    &q2,
                    &pv,
                    bw,
                    bh,
                    Cap::OwnScore,
                    &mut part,
                );
                for y in r0..r0 + rh {
                    for x in c0..c0 + cw {
                        let (a, b) = (whole[y * w + x], part[(y - br) * bw + x - bc]);
                        assert!(
                            a.to_bits() == b.to_bits(),
                            "{hood:?} pixel ({x}, {y}): whole {a} vs window {b}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn fit_recovers_a_gain_and_offset() {
        // date 2 = (date 1 - 50) / 2 on every pixel except 10 % changed ones.
        let n = 2000;
        let mut t1 = vec![Vec::new(), Vec::new()];
        let mut t2 = vec![Vec::new(), Vec::new()];
        for i in 0..n {
            let a = 100.0 + (i * 37 % 1000) as f64;
            let b = 300.0 + (i * 91 % 700) as f64;
            let noise = ((i * 7919) % 13) as f64 - 6.0;
            let changed = i % 10 == 0;
            t1[0].push(a);
            t1[1].push(b);
            t2[0].push(if changed {
                900.0
            } else {
                (a - 50.0) / 2.0 + noise * 0.1
            });
            t2[1].push(if changed {
                50.0
            } else {
                (b - 50.0) / 2.0 - noise * 0.1
            });
        }
        let m = fit(&t1, &t2).unwrap();
        assert!((m.gains[0] - 2.0).abs() < 0.02, "{m:?}");
        assert!((m.offsets[0] - 50.0).abs() < 5.0, "{m:?}");
    }

    /// A sharp-edged pit keeps its size: the 3 × 3 mean must not carry its strength one
    /// pixel out (a 6 × 6 pit scored 68 px, over the 10 亩 line at 10 m).
    #[test]
    fn the_mean_does_not_widen_a_pit() {
        let (w, h, nb) = (30usize, 30usize, 2usize);
        let inside = |i: usize| (10..16).contains(&(i % w)) && (12..18).contains(&(i / w));
        let px = |b: usize, i: usize, t: usize| -> f32 {
            let n = ((i * 7919 + b * 31 + t * 17) % 7) as f32 - 3.0;
            if t == 1 && inside(i) {
                900.0 + n
            } else {
                100.0 + 10.0 * b as f32 + n
            }
        };
        let planes = |t: usize| -> Vec<Vec<f32>> {
            (0..nb)
                .map(|b| (0..w * h).map(|i| px(b, i, t)).collect())
                .collect()
        };
        let (t1, t2) = (planes(0), planes(1));
        let r1: Vec<&[f32]> = t1.iter().map(|v| v.as_slice()).collect();
        let r2: Vec<&[f32]> = t2.iter().map(|v| v.as_slice()).collect();
        let model = AutoModel {
            gains: vec![1.0; nb],
            offsets: vec![0.0; nb],
            whiten: vec![0.5, 0.0, 0.0, 0.5],
            invariant_pixels: 0,
        };
        for hood in [
            Neighbourhood::for_pixel_size(10.0),
            Neighbourhood::for_pixel_size(30.0),
        ] {
            let mut out = Vec::new();
            score_window(
                &model,
                hood,
                &r1,
                &r2,
                &vec![1u8; w * h],
                w,
                h,
                Cap::OwnScore,
                &mut out,
            );
            let lowest_inside = (0..w * h)
                .filter(|&i| inside(i))
                .map(|i| out[i])
                .fold(f32::INFINITY, f32::min);
            let highest_outside = (0..w * h)
                .filter(|&i| !inside(i))
                .map(|i| out[i])
                .fold(0f32, f32::max);
            assert!(
                highest_outside * 20.0 < lowest_inside,
                "{hood:?}: outside up to {highest_outside}, inside from {lowest_inside}"
            );
        }
    }
}

/// The textbook baseline: magnitude of the raw band-difference vector, no normalisation.
pub fn cva_window(t1: &[&[f32]], t2: &[&[f32]], valid: &[u8], out: &mut Vec<f32>) {
    out.clear();
    out.extend((0..valid.len()).map(|i| {
        if valid[i] == 0 {
            return f32::NAN;
        }
        let s: f32 = t1
            .iter()
            .zip(t2)
            .map(|(a, b)| (b[i] - a[i]) * (b[i] - a[i]))
            .sum();
        s.sqrt()
    }));
}

/// Otsu's threshold of a sample (256 bins between its 0.1 and 99.9 percentiles).
pub fn otsu(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let (lo, hi) = (
        v[v.len() / 1000],
        v[(v.len() * 999 / 1000).min(v.len() - 1)],
    );
    if hi <= lo {
        return lo;
    }
    let bins = 256;
    let mut h = vec![0f64; bins];
    for x in &v {
        let k = (((x.clamp(lo, hi) - lo) / (hi - lo)) * bins as f64) as usize;
        h[k.min(bins - 1)] += 1.0;
    }
    let c = |k: usize| lo + (k as f64 + 0.5) * (hi - lo) / bins as f64;
    let total: f64 = h.iter().sum();
    let sum_all: f64 = (0..bins).map(|k| h[k] * c(k)).sum();
    let (mut w0, mut s0, mut best, mut t) = (0.0, 0.0, -1.0, lo);
    for (k, &hk) in h.iter().enumerate() {
        w0 += hk;
        s0 += hk * c(k);
        let w1 = total - w0;
        if w0 == 0.0 || w1 == 0.0 {
            continue;
        }
        let (m0, m1) = (s0 / w0, (sum_all - s0) / w1);
        let between = w0 * w1 * (m0 - m1) * (m0 - m1);
        if between > best {
            best = between;
            t = c(k);
        }
    }
    t
}

#[cfg(test)]
mod otsu_tests {
    #[test]
    fn otsu_splits_two_modes() {
        let mut v: Vec<f64> = (0..1000).map(|i| 10.0 + (i % 7) as f64).collect();
        v.extend((0..300).map(|i| 100.0 + (i % 5) as f64));
        let t = super::otsu(&v);
        assert!(t > 16.0 && t < 100.0, "{t}");
    }
}
