//! Spot-check and re-check samples (实地抽查, 抽查复核), seeded and reproducible on every
//! platform and thread count: within a stratum the sample is the `n_h` units with the
//! smallest SplitMix64 hash of (seed, unit id) — a simple random sample without
//! replacement that depends on the seed and the ids only, never on input order.
//!
//! Designs: a rate, a count, or the size that estimates a proportion to a margin at a
//! confidence (n₀ = z²·p(1−p)/e², with the finite-population correction n = n₀/(1+(n₀−1)/N)).
//! Strata by any columns (county, priority class, verdict); proportional or Neyman
//! allocation (N_h·S_h) with a minimum per stratum, by largest remainders; mandatory
//! units (inclusion probability 1) are taken first and not counted in the design's n.

use std::collections::BTreeMap;

/// One unit of the population.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    pub id: String,
    /// Stratum key (e.g. `320115|high`).
    pub stratum: String,
    /// Forced into the sample (e.g. every ≥ 10 亩 suspected illegal site), and why.
    pub mandatory: Option<String>,
    /// Value whose spread drives Neyman allocation (a score, or a 0/1 indicator).
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Size {
    Rate(f64),
    Count(usize),
    /// Estimate a proportion: confidence (e.g. 0.95), margin (e.g. 0.05), prior p (0.5).
    Proportion {
        confidence: f64,
        margin: f64,
        p: f64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allocation {
    Proportional,
    Neyman,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Design {
    pub size: Size,
    pub allocation: Allocation,
    pub min_per_stratum: usize,
    pub seed: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pick {
    pub id: String,
    pub stratum: String,
    pub inclusion_probability: f64,
    /// "mandatory: <why>" or "random".
    pub selection: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StratumReport {
    pub stratum: String,
    pub population: usize,
    pub mandatory: usize,
    pub random: usize,
    pub inclusion_probability: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub picks: Vec<Pick>,
    pub strata: Vec<StratumReport>,
    /// Random units the design asked for (after the mandatory ones left the population).
    pub design_n: usize,
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a of the id's UTF-8 bytes, mixed with the seed: the unit's draw.
pub fn draw(seed: u64, id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.as_bytes() {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    splitmix(h ^ splitmix(seed))
}

/// Two-sided normal quantile for a confidence level (Acklam's rational approximation,
/// |error| < 1.2e-9).
pub fn z_of(confidence: f64) -> f64 {
    let p = 1.0 - (1.0 - confidence) / 2.0;
    let a = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.383_577_518_672_69e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    let b = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    let c = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    let d = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let pl = 0.02425;
    if p > 1.0 - pl {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
            / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0)
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
            / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0)
    }
}

/// The random sample size a design asks of a population of `n` units.
pub fn design_size(size: &Size, n: usize) -> usize {
    let n_f = n as f64;
    let k = match size {
        Size::Rate(r) => (r * n_f).ceil(),
        Size::Count(c) => *c as f64,
        Size::Proportion {
            confidence,
            margin,
            p,
        } => {
            let z = z_of(*confidence);
            let n0 = z * z * p * (1.0 - p) / (margin * margin);
            (n0 / (1.0 + (n0 - 1.0) / n_f)).ceil()
        }
    };
    (k.max(0.0) as usize).min(n)
}

/// Largest-remainder rounding of `shares` (summing to `total`) with per-stratum floors and
/// caps; ties go to the stratum key order.
fn allocate(total: usize, weights: &[f64], floors: &[usize], caps: &[usize]) -> Vec<usize> {
    let mut n: Vec<usize> = floors.iter().zip(caps).map(|(f, c)| (*f).min(*c)).collect();
    let mut left = total.saturating_sub(n.iter().sum());
    // Repeat while capacity and units remain: caps can push units to other strata.
    while left > 0 {
        let open: Vec<usize> = (0..n.len()).filter(|&i| n[i] < caps[i]).collect();
        if open.is_empty() {
            break;
        }
        let wsum: f64 = open.iter().map(|&i| weights[i]).sum();
        let share = |i: usize| {
            if wsum > 0.0 {
                left as f64 * weights[i] / wsum
            } else {
                left as f64 / open.len() as f64
            }
        };
        let mut given = 0;
        let mut rema: Vec<(f64, usize)> = Vec::new();
        for &i in &open {
            let s = share(i);
            let whole = (s.floor() as usize).min(caps[i] - n[i]);
            n[i] += whole;
            given += whole;
            if n[i] < caps[i] {
                rema.push((s - s.floor(), i));
            }
        }
        left -= given;
        rema.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        for (_, i) in rema {
            if left == 0 {
                break;
            }
            n[i] += 1;
            left -= 1;
        }
        if given == 0 && left > 0 && open.iter().all(|&i| n[i] >= caps[i]) {
            break;
        }
    }
    n
}

pub fn draw_sample(units: &[Unit], d: &Design) -> Sample {
    let mut strata: BTreeMap<&str, Vec<&Unit>> = BTreeMap::new();
    for u in units {
        strata.entry(u.stratum.as_str()).or_default().push(u);
    }
    let keys: Vec<&str> = strata.keys().copied().collect();
    let pools: Vec<Vec<&Unit>> = keys
        .iter()
        .map(|k| {
            strata[k]
                .iter()
                .copied()
                .filter(|u| u.mandatory.is_none())
                .collect()
        })
        .collect();
    let pop: usize = pools.iter().map(Vec::len).sum();
    let n = design_size(&d.size, pop);
    let weights: Vec<f64> = pools
        .iter()
        .map(|p| {
            let nh = p.len() as f64;
            match d.allocation {
                Allocation::Proportional => nh,
                Allocation::Neyman => {
                    if p.len() < 2 {
                        return 0.0;
                    }
                    let m = p.iter().map(|u| u.value).sum::<f64>() / nh;
                    let var = p.iter().map(|u| (u.value - m).powi(2)).sum::<f64>() / (nh - 1.0);
                    nh * var.sqrt()
                }
            }
        })
        .collect();
    let caps: Vec<usize> = pools.iter().map(Vec::len).collect();
    let floors: Vec<usize> = caps.iter().map(|&c| d.min_per_stratum.min(c)).collect();
    let alloc = allocate(n.max(floors.iter().sum()), &weights, &floors, &caps);
    let mut picks = Vec::new();
    let mut report = Vec::new();
    for (k, key) in keys.iter().enumerate() {
        let all = &strata[key];
        let mut mand: Vec<&&Unit> = all.iter().filter(|u| u.mandatory.is_some()).collect();
        mand.sort_by(|a, b| a.id.cmp(&b.id));
        for u in &mand {
            picks.push(Pick {
                id: u.id.clone(),
                stratum: key.to_string(),
                inclusion_probability: 1.0,
                selection: format!("mandatory: {}", u.mandatory.as_deref().unwrap_or("")),
            });
        }
        let mut pool: Vec<(u64, &Unit)> =
            pools[k].iter().map(|u| (draw(d.seed, &u.id), *u)).collect();
        pool.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
        let pi = if pools[k].is_empty() {
            0.0
        } else {
            alloc[k] as f64 / pools[k].len() as f64
        };
        let mut chosen: Vec<&Unit> = pool.iter().take(alloc[k]).map(|x| x.1).collect();
        chosen.sort_by(|a, b| a.id.cmp(&b.id));
        for u in chosen {
            picks.push(Pick {
                id: u.id.clone(),
                stratum: key.to_string(),
                inclusion_probability: pi,
                selection: "random".into(),
            });
        }
        report.push(StratumReport {
            stratum: key.to_string(),
            population: all.len(),
            mandatory: mand.len(),
            random: alloc[k],
            inclusion_probability: pi,
        });
    }
    Sample {
        picks,
        strata: report,
        design_n: n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(spec: &[(&str, usize, f64)]) -> Vec<Unit> {
        let mut v = Vec::new();
        for (s, n, spread) in spec {
            for i in 0..*n {
                v.push(Unit {
                    id: format!("{s}-{i:03}"),
                    stratum: s.to_string(),
                    mandatory: None,
                    value: if i % 2 == 0 { 0.0 } else { *spread },
                });
            }
        }
        v
    }

    #[test]
    fn proportion_size_matches_the_textbook() {
        // 95 %, ±5 %, p = 0.5: n₀ = 384.15; N = 1000 → 278.
        assert!((z_of(0.95) - 1.959_963_985).abs() < 1e-8);
        let s = Size::Proportion {
            confidence: 0.95,
            margin: 0.05,
            p: 0.5,
        };
        assert_eq!(design_size(&s, 1000), 278);
        assert_eq!(design_size(&s, 100_000), 383);
        assert_eq!(design_size(&Size::Rate(0.1), 95), 10);
        assert_eq!(design_size(&Size::Count(500), 95), 95);
    }

    #[test]
    fn allocation_proportional_neyman_and_minimum() {
        let u = units(&[("a", 60, 1.0), ("b", 30, 10.0), ("c", 10, 0.0)]);
        let d = |allocation, min| Design {
            size: Size::Count(20),
            allocation,
            min_per_stratum: min,
            seed: 7,
        };
        let s = draw_sample(&u, &d(Allocation::Proportional, 0));
        let n: Vec<usize> = s.strata.iter().map(|r| r.random).collect();
        assert_eq!(n, vec![12, 6, 2]);
        // Neyman: S_a ≈ 0.5, S_b ≈ 5, S_c = 0 → b gets most, c none …
        let s = draw_sample(&u, &d(Allocation::Neyman, 0));
        let n: Vec<usize> = s.strata.iter().map(|r| r.random).collect();
        assert_eq!(n.iter().sum::<usize>(), 20);
        assert!(n[1] > n[0] && n[2] == 0, "{n:?}");
        // … unless a minimum per stratum is asked.
        let s = draw_sample(&u, &d(Allocation::Neyman, 2));
        assert_eq!(s.strata[2].random, 2);
        assert_eq!(s.strata.iter().map(|r| r.random).sum::<usize>(), 20);
        for r in &s.strata {
            assert!(
                (r.inclusion_probability - r.random as f64 / r.population as f64).abs() < 1e-12
            );
        }
    }

    // Computed independently in Python (FNV-1a 64 + SplitMix64).
    const PINNED: u64 = 9_121_926_800_499_385_651;

    #[test]
    fn the_sample_depends_on_seed_and_ids_not_on_order() {
        let mut u = units(&[("a", 50, 1.0), ("b", 50, 1.0)]);
        u[3].mandatory = Some("≥ 10 亩".into());
        let d = Design {
            size: Size::Rate(0.2),
            allocation: Allocation::Proportional,
            min_per_stratum: 1,
            seed: 42,
        };
        let s1 = draw_sample(&u, &d);
        u.reverse();
        let s2 = draw_sample(&u, &d);
        assert_eq!(s1, s2);
        assert_eq!(
            s1.picks
                .iter()
                .filter(|p| p.inclusion_probability == 1.0)
                .count(),
            1
        );
        let other = draw_sample(&u, &Design { seed: 43, ..d });
        assert_ne!(other.picks, s1.picks);
        // Pinned: integer arithmetic only, so every platform draws the same.
        assert_eq!(draw(42, "S20200601_20210601_r1c1"), PINNED);
    }
}
