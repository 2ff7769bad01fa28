//! The automatic change score: no per-scene parameters.
//!
//! 1. Relative radiometric normalisation: per band, a reduced-major-axis fit of date 1 on
//!    date 2 over pseudo-invariant pixels, chosen iteratively as the least-changed half of
//!    the sample (standardised squared difference below its median), three rounds. DN and
//!    reflectance inputs both land on date 1's scale.
//! 2. Score: the Mahalanobis length of the normalised difference vector, with the
//!    no-change covariance of the pseudo-invariant pixels (so correlated illumination
//!    shifts count little and changes of spectral shape count much), divided by the band
//!    count; taken as the larger of the two best matches within a 3 × 3 neighbourhood
//!    (date 2 against shifted date 1 and the reverse), which forgives one pixel of
//!    misregistration; then the square root and a 3 × 3 mean.
//! 3. Threshold (in the pipeline): median + 3 robust sigma (1.4826 × MAD) of the score on
//!    the sample blocks — change is what stands out from the scene's own no-change
//!    variability.
//!
//! The window kernel needs a halo of [`HALO`] pixels so that every inner pixel sees its
//! full neighbourhood; scores are then the same for any window size.

use serde::{Deserialize, Serialize};

/// Halo (pixels) the score needs around a window.
pub const HALO: usize = 2;

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

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
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
    let nb = t1.len();
    let n = t1.first().map_or(0, |v| v.len());
    if nb == 0 || n < 100 {
        return Err(format!(
            "too few valid pixels to normalise the dates ({n}); need at least 100"
        ));
    }
    let mut sel = vec![true; n];
    let (mut gains, mut offsets) = (vec![1.0; nb], vec![0.0; nb]);
    let mut d: Vec<Vec<f64>> = vec![vec![0.0; n]; nb];
    for _round in 0..3 {
        for b in 0..nb {
            let xs: Vec<f64> = (0..n).filter(|&i| sel[i]).map(|i| t2[b][i]).collect();
            let ys: Vec<f64> = (0..n).filter(|&i| sel[i]).map(|i| t1[b][i]).collect();
            let ((mx, sx), (my, sy)) = (mean_std(&xs), mean_std(&ys));
            gains[b] = if sx > 0.0 { sy / sx } else { 1.0 };
            offsets[b] = my - gains[b] * mx;
            for i in 0..n {
                d[b][i] = t2[b][i] * gains[b] + offsets[b] - t1[b][i];
            }
        }
        let sig: Vec<f64> = (0..nb)
            .map(|b| {
                let v: Vec<f64> = (0..n).filter(|&i| sel[i]).map(|i| d[b][i]).collect();
                robust_sigma(&v).1.max(1e-9)
            })
            .collect();
        let z2: Vec<f64> = (0..n)
            .map(|i| (0..nb).map(|b| (d[b][i] / sig[b]).powi(2)).sum::<f64>())
            .collect();
        let cut = median(z2.clone());
        for i in 0..n {
            sel[i] = z2[i] <= cut;
        }
    }
    // No-change covariance of the differences on the invariant set.
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
    if gains.iter().chain(&offsets).any(|g| !g.is_finite()) {
        return Err(
            "the normalisation did not converge (non-finite gain); check the nodata values".into(),
        );
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
/// neighbours that exist, so only pixels at least [`HALO`] inside are exact.
pub fn score_window(
    model: &AutoModel,
    t1: &[&[f32]],
    t2: &[&[f32]],
    valid: &[u8],
    w: usize,
    h: usize,
    out: &mut Vec<f32>,
) {
    let nb = t1.len();
    let n = w * h;
    // Whitened vectors, pixel-interleaved: u = L (gain·t2 + offset), v = L t1; then
    // |u(p) − v(q)|² is the Mahalanobis length of date 2 at p against date 1 at q.
    let mut u = vec![0f32; nb * n];
    let mut v = vec![0f32; nb * n];
    let (mut x2, mut x1) = (vec![0f64; nb], vec![0f64; nb]);
    for i in 0..n {
        for c in 0..nb {
            x2[c] = t2[c][i] as f64 * model.gains[c] + model.offsets[c];
            x1[c] = t1[c][i] as f64;
        }
        let (ui, vi) = (&mut u[i * nb..(i + 1) * nb], &mut v[i * nb..(i + 1) * nb]);
        for r in 0..nb {
            let row = &model.whiten[r * nb..r * nb + r + 1];
            ui[r] = row.iter().zip(&x2).map(|(l, x)| l * x).sum::<f64>() as f32;
            vi[r] = row.iter().zip(&x1).map(|(l, x)| l * x).sum::<f64>() as f32;
        }
    }
    let inv_nb = 1.0 / nb as f32;
    let dist = |p: usize, q: usize| -> f32 {
        let (a, b) = (&u[p * nb..(p + 1) * nb], &v[q * nb..(q + 1) * nb]);
        a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f32>() * inv_nb
    };
    let mut raw = vec![f32::NAN; n];
    for y in 0..h {
        for x in 0..w {
            let p = y * w + x;
            if valid[p] == 0 {
                continue;
            }
            let (mut b1, mut b2) = (f32::INFINITY, f32::INFINITY);
            for dy in -1i64..=1 {
                for dx in -1i64..=1 {
                    let (yy, xx) = (y as i64 + dy, x as i64 + dx);
                    if yy < 0 || xx < 0 || yy >= h as i64 || xx >= w as i64 {
                        continue;
                    }
                    let q = yy as usize * w + xx as usize;
                    if valid[q] == 0 {
                        continue;
                    }
                    b1 = b1.min(dist(p, q)); // date 2 here vs date 1 nearby
                    b2 = b2.min(dist(q, p)); // date 2 nearby vs date 1 here
                }
            }
            raw[p] = b1.max(b2).sqrt();
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
            for yy in y.saturating_sub(1)..(y + 2).min(h) {
                for xx in x.saturating_sub(1)..(x + 2).min(w) {
                    let r = raw[yy * w + xx];
                    if !r.is_nan() {
                        s += r;
                        k += 1.0;
                    }
                }
            }
            out[p] = s / k;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
