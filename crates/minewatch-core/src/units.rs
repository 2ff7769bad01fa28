//! Area units used by Chinese enforcement offices.

/// One 亩 (mu) in square metres: 10000 / 15 m².
pub const M2_PER_MU: f64 = 10_000.0 / 15.0;

/// Square metres to 亩.
pub fn m2_to_mu(m2: f64) -> f64 {
    m2 / M2_PER_MU
}

#[cfg(test)]
mod tests {
    #[test]
    fn ten_mu_is_6667_m2() {
        assert!((super::m2_to_mu(6_666.666_666_7) - 10.0).abs() < 1e-9);
    }
}
