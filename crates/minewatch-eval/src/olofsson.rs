//! Stratified estimation of accuracy and area (Olofsson et al. 2014, Remote Sensing of
//! Environment 148:42–57): strata are the map classes (0 no change, 1 change) with area
//! weights W_i; a sample of n_ij (map class i, reference class j) gives the error matrix in
//! area proportions p_ij = W_i n_ij / n_i., user's and producer's accuracy, and the area of
//! each reference class with its standard error
//! S(p̂_.j) = sqrt(Σ_i W_i² (n_ij/n_i.)(1 − n_ij/n_i.) / (n_i. − 1)).

use crate::confusion::ratio;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StratifiedEstimate {
    /// Sample counts n[i][j]: map class i (0 no change, 1 change), reference class j.
    pub sample_counts: [[u64; 2]; 2],
    /// Map area weights W_i.
    pub weights: [f64; 2],
    /// Error matrix in area proportions p[i][j]; a row is undefined (`None`) when its map
    /// class covers area but holds no sample: nothing tells how that area divides.
    pub proportions: [[Option<f64>; 2]; 2],
    /// User's accuracy per map class (p_ii / p_i.); undefined for a class without area or
    /// without samples.
    pub users_accuracy: [Option<f64>; 2],
    /// Producer's accuracy per reference class (p_jj / p_.j); undefined for a class the
    /// sample never met.
    pub producers_accuracy: [Option<f64>; 2],
    /// Undefined when a row of the error matrix is.
    pub overall_accuracy: Option<f64>,
    /// Estimated area of the change class (same unit as `pixel_area`), and its 95 % CI
    /// half-width; the half-width is undefined when a map class with area has fewer than
    /// two samples (its variance divides by n_i − 1).
    pub change_area: Option<f64>,
    pub change_area_ci95: Option<f64>,
    /// Area the map itself calls change.
    pub mapped_change_area: f64,
    /// Area of the region the strata cover (the pixels the map assessed): the estimate
    /// is of the change inside it, not beyond.
    pub region_area: f64,
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
    // A class without area contributes nothing, sampled or not.
    let cell = |i: usize, j: usize| match (ni[i] > 0.0, w[i] > 0.0) {
        (true, _) => Some(w[i] * n[i][j] as f64 / ni[i]),
        (false, false) => Some(0.0),
        (false, true) => None,
    };
    let p = [[cell(0, 0), cell(0, 1)], [cell(1, 0), cell(1, 1)]];
    let sum = |a: Option<f64>, b: Option<f64>| Some(a? + b?);
    let row = |i: usize| sum(p[i][0], p[i][1]);
    let col = |j: usize| sum(p[0][j], p[1][j]);
    let div = |a: Option<f64>, b: Option<f64>| ratio(a?, b?);
    let mut var = Some(0.0);
    for i in 0..2 {
        if w[i] == 0.0 {
            continue;
        }
        var = match var {
            Some(v) if ni[i] > 1.0 => {
                let f = n[i][1] as f64 / ni[i];
                Some(v + w[i] * w[i] * f * (1.0 - f) / (ni[i] - 1.0))
            }
            _ => None,
        };
    }
    let area = total * pixel_area;
    StratifiedEstimate {
        sample_counts: n,
        weights: w,
        proportions: p,
        users_accuracy: [div(p[0][0], row(0)), div(p[1][1], row(1))],
        producers_accuracy: [div(p[0][0], col(0)), div(p[1][1], col(1))],
        overall_accuracy: sum(p[0][0], p[1][1]),
        change_area: col(1).map(|c| c * area),
        change_area_ci95: var.map(|v| 1.96 * v.sqrt() * area),
        mapped_change_area: w[1] * area,
        region_area: area,
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
        assert!((e.proportions[1][1].unwrap() - p11).abs() < 1e-12);
        assert!((e.users_accuracy[1].unwrap() - 48.0 / 66.0).abs() < 1e-12);
        assert!((e.producers_accuracy[1].unwrap() - p11 / (p11 + p01)).abs() < 1e-12);
        let area = 2_000_000.0 * 900.0;
        assert!((e.change_area.unwrap() - (p11 + p01) * area).abs() < 1e-6);
        let se = (w0 * w0 * (10.0 / 300.0) * (290.0 / 300.0) / 299.0
            + w1 * w1 * (48.0 / 66.0) * (18.0 / 66.0) / 65.0)
            .sqrt();
        assert!((e.change_area_ci95.unwrap() - 1.96 * se * area).abs() < 1e-6);
    }

    /// Review, session 14: a map without change reported the change class's user's
    /// accuracy as 0; it is undefined (no area, no sample).
    #[test]
    fn an_empty_class_has_undefined_accuracies() {
        let e = stratified_estimate([1000, 0], [[90, 10], [0, 0]], 900.0);
        assert_eq!(e.users_accuracy, [Some(0.9), None]);
        assert_eq!(e.producers_accuracy, [Some(1.0), Some(0.0)]);
        assert_eq!(e.overall_accuracy, Some(0.9));
        assert!(e.change_area.is_some() && e.change_area_ci95.is_some());
        // Change mapped but never sampled: how that area divides is unknown.
        let e = stratified_estimate([900, 100], [[90, 10], [0, 0]], 900.0);
        assert_eq!(e.proportions[1], [None, None]);
        assert_eq!(e.users_accuracy[1], None);
        assert_eq!((e.overall_accuracy, e.change_area), (None, None));
        // One sample in a mapped class: the area is estimated, its interval is not.
        let e = stratified_estimate([900, 100], [[90, 10], [0, 1]], 900.0);
        assert!(e.change_area.is_some());
        assert_eq!(e.change_area_ci95, None);
    }
}
