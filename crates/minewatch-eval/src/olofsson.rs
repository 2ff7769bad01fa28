//! Stratified estimation of accuracy and area (Olofsson et al. 2014, Remote Sensing of
//! Environment 148:42–57): strata are the map classes (0 no change, 1 change) with area
//! weights W_i; a sample of n_ij (map class i, reference class j) gives the error matrix in
//! area proportions p_ij = W_i n_ij / n_i., user's and producer's accuracy, and the area of
//! each reference class with its standard error
//! S(p̂_.j) = sqrt(Σ_i W_i² (n_ij/n_i.)(1 − n_ij/n_i.) / (n_i. − 1)).

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StratifiedEstimate {
    /// Sample counts n[i][j]: map class i (0 no change, 1 change), reference class j.
    pub sample_counts: [[u64; 2]; 2],
    /// Map area weights W_i.
    pub weights: [f64; 2],
    /// Error matrix in area proportions p[i][j].
    pub proportions: [[f64; 2]; 2],
    /// User's accuracy per map class (p_ii / p_i.).
    pub users_accuracy: [f64; 2],
    /// Producer's accuracy per reference class (p_jj / p_.j).
    pub producers_accuracy: [f64; 2],
    pub overall_accuracy: f64,
    /// Estimated area of the change class (same unit as `total_area`), and its 95 % CI half-width.
    pub change_area: f64,
    pub change_area_ci95: f64,
    /// Area the map itself calls change.
    pub mapped_change_area: f64,
}

/// `mapped` = pixels mapped as (no change, change) over the assessed region, `n` = sample
/// counts, `pixel_area` = area of one pixel.
pub fn stratified_estimate(
    mapped: [u64; 2],
    n: [[u64; 2]; 2],
    pixel_area: f64,
) -> StratifiedEstimate {
    let total = (mapped[0] + mapped[1]) as f64;
    let w = [
        mapped[0] as f64 / total.max(1.0),
        mapped[1] as f64 / total.max(1.0),
    ];
    let ni = [(n[0][0] + n[0][1]) as f64, (n[1][0] + n[1][1]) as f64];
    let mut p = [[0.0; 2]; 2];
    for i in 0..2 {
        for j in 0..2 {
            p[i][j] = if ni[i] > 0.0 {
                w[i] * n[i][j] as f64 / ni[i]
            } else {
                0.0
            };
        }
    }
    let row = |i: usize| p[i][0] + p[i][1];
    let col = |j: usize| p[0][j] + p[1][j];
    let div = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    let mut var = 0.0;
    for i in 0..2 {
        if ni[i] > 1.0 {
            let f = n[i][1] as f64 / ni[i];
            var += w[i] * w[i] * f * (1.0 - f) / (ni[i] - 1.0);
        }
    }
    let area = total * pixel_area;
    StratifiedEstimate {
        sample_counts: n,
        weights: w,
        proportions: p,
        users_accuracy: [div(p[0][0], row(0)), div(p[1][1], row(1))],
        producers_accuracy: [div(p[0][0], col(0)), div(p[1][1], col(1))],
        overall_accuracy: p[0][0] + p[1][1],
        change_area: col(1) * area,
        change_area_ci95: 1.96 * var.sqrt() * area,
        mapped_change_area: w[1] * area,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Olofsson et al. (2014), section 5 worked example reduced to two classes:
    /// "deforestation" (map 200,000 px, sample 66 with 48 correct) against everything else.
    #[test]
    fn matches_a_hand_computation() {
        let e = stratified_estimate([1_800_000, 200_000], [[290, 10], [18, 48]], 900.0);
        let w1 = 0.1;
        let w0 = 0.9;
        let p11 = w1 * 48.0 / 66.0;
        let p01 = w0 * 10.0 / 300.0;
        assert!((e.proportions[1][1] - p11).abs() < 1e-12);
        assert!((e.users_accuracy[1] - 48.0 / 66.0).abs() < 1e-12);
        assert!((e.producers_accuracy[1] - p11 / (p11 + p01)).abs() < 1e-12);
        let area = 2_000_000.0 * 900.0;
        assert!((e.change_area - (p11 + p01) * area).abs() < 1e-6);
        let se = (w0 * w0 * (10.0 / 300.0) * (290.0 / 300.0) / 299.0
            + w1 * w1 * (48.0 / 66.0) * (18.0 / 66.0) / 65.0)
            .sqrt();
        assert!((e.change_area_ci95 - 1.96 * se * area).abs() < 1e-6);
    }
}
