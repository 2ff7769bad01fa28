//! Spectral indices and the per-pixel variables a change rule can test.
//!
//! Every index is computed in f32 from the band values exactly as the reference peers do
//! (sums and differences of integer reflectances are exact in f32, so each index is the
//! correctly rounded quotient):
//!
//! - `NDVI = (nir - red) / (nir + red)`
//! - `BSI = ((swir1 + red) - (nir + blue)) / ((swir1 + red) + (nir + blue))`
//! - `MNDWI = (green - swir1) / (green + swir1)`
//! - `NDWI = (green - nir) / (green + nir)`
//! - brightness = (blue + green + red) / 3

use minewatch_core::BandRole;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Index {
    Ndvi,
    Bsi,
    Mndwi,
    Ndwi,
    Brightness,
}

impl Index {
    pub const ALL: [Index; 5] = [
        Self::Ndvi,
        Self::Bsi,
        Self::Mndwi,
        Self::Ndwi,
        Self::Brightness,
    ];

    pub fn name(&self) -> &'static str {
        match self {
            Self::Ndvi => "ndvi",
            Self::Bsi => "bsi",
            Self::Mndwi => "mndwi",
            Self::Ndwi => "ndwi",
            Self::Brightness => "brightness",
        }
    }

    pub fn roles(&self) -> &'static [BandRole] {
        use BandRole::*;
        match self {
            Self::Ndvi => &[Red, Nir],
            Self::Bsi => &[Blue, Red, Nir, Swir1],
            Self::Mndwi => &[Green, Swir1],
            Self::Ndwi => &[Green, Nir],
            Self::Brightness => &[Blue, Green, Red],
        }
    }

    /// Compute the index for every pixel; `band(role)` gives that role's plane.
    pub fn compute<'a>(&self, band: impl Fn(BandRole) -> &'a [f32], out: &mut Vec<f32>) {
        use BandRole::*;
        out.clear();
        match self {
            Self::Ndvi => {
                let (r, n) = (band(Red), band(Nir));
                out.extend(r.iter().zip(n).map(|(&r, &n)| (n - r) / (n + r)));
            }
            Self::Bsi => {
                let (b, r, n, s) = (band(Blue), band(Red), band(Nir), band(Swir1));
                out.extend((0..r.len()).map(|i| {
                    let (p, q) = (s[i] + r[i], n[i] + b[i]);
                    (p - q) / (p + q)
                }));
            }
            Self::Mndwi => {
                let (g, s) = (band(Green), band(Swir1));
                out.extend(g.iter().zip(s).map(|(&g, &s)| (g - s) / (g + s)));
            }
            Self::Ndwi => {
                let (g, n) = (band(Green), band(Nir));
                out.extend(g.iter().zip(n).map(|(&g, &n)| (g - n) / (g + n)));
            }
            Self::Brightness => {
                let (b, g, r) = (band(Blue), band(Green), band(Red));
                out.extend((0..r.len()).map(|i| (b[i] + g[i] + r[i]) / 3.0));
            }
        }
    }
}

/// A per-pixel quantity a rule can compare with a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Var {
    /// `ndvi_drop` = NDVI(t1) − NDVI(t2); `bsi_rise` = BSI(t2) − BSI(t1), and so on.
    Drop(Index),
    Rise(Index),
    /// The index at one date: `ndvi_t1`, `bsi_t2`.
    At(Index, Date),
    /// A band value at one date: `blue_t2`.
    Band(BandRole, Date),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Date {
    T1,
    T2,
}

impl Var {
    pub fn parse(s: &str) -> Option<Var> {
        let (head, tail) = s.rsplit_once('_')?;
        let date = match tail {
            "t1" => Some(Date::T1),
            "t2" => Some(Date::T2),
            _ => None,
        };
        if let Some(idx) = Index::ALL.into_iter().find(|i| i.name() == head) {
            return match (tail, date) {
                ("drop", _) => Some(Var::Drop(idx)),
                ("rise", _) => Some(Var::Rise(idx)),
                (_, Some(d)) => Some(Var::At(idx, d)),
                _ => None,
            };
        }
        Some(Var::Band(BandRole::from_name(head)?, date?))
    }

    pub fn roles(&self) -> Vec<BandRole> {
        match self {
            Var::Drop(i) | Var::Rise(i) | Var::At(i, _) => i.roles().to_vec(),
            Var::Band(r, _) => vec![*r],
        }
    }
}

impl fmt::Display for Var {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = |d: &Date| if *d == Date::T1 { "t1" } else { "t2" };
        match self {
            Var::Drop(i) => write!(f, "{}_drop", i.name()),
            Var::Rise(i) => write!(f, "{}_rise", i.name()),
            Var::At(i, t) => write!(f, "{}_{}", i.name(), d(t)),
            Var::Band(r, t) => write!(f, "{}_{}", r.name(), d(t)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in [
            "ndvi_drop",
            "bsi_rise",
            "mndwi_rise",
            "ndvi_t1",
            "blue_t2",
            "swir1_t1",
            "brightness_rise",
        ] {
            assert_eq!(Var::parse(s).unwrap().to_string(), s);
        }
        assert!(Var::parse("ndvi").is_none());
        assert!(Var::parse("nir_t3").is_none());
        assert!(Var::parse("evi_drop").is_none());
    }

    #[test]
    fn ndvi_is_the_correctly_rounded_f32_quotient() {
        let red = [400.0f32, 0.0];
        let nir = [3500.0f32, 0.0];
        let mut out = Vec::new();
        Index::Ndvi.compute(|r| if r == BandRole::Red { &red } else { &nir }, &mut out);
        assert_eq!(out[0], (3100.0f64 / 3900.0) as f32);
        assert!(
            out[1].is_nan(),
            "0/0 is not a number and never passes a threshold"
        );
    }
}
