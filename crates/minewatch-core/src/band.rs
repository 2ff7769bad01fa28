//! Band roles and sensor profiles: which band of a file holds blue, red, NIR, SWIR…
//! Indices are defined on roles, so one rule runs on Sentinel-2, Landsat and GF alike.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What a band measures, as far as the change indices care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BandRole {
    Blue,
    Green,
    Red,
    Nir,
    Swir1,
    Swir2,
}

impl BandRole {
    pub const ALL: [BandRole; 6] = [
        Self::Blue,
        Self::Green,
        Self::Red,
        Self::Nir,
        Self::Swir1,
        Self::Swir2,
    ];

    pub fn name(&self) -> &'static str {
        match self {
            Self::Blue => "blue",
            Self::Green => "green",
            Self::Red => "red",
            Self::Nir => "nir",
            Self::Swir1 => "swir1",
            Self::Swir2 => "swir2",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == s)
    }
}

impl fmt::Display for BandRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A named mapping from roles to 1-based band numbers of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SensorProfile {
    pub name: String,
    /// (role, 1-based band index), sorted by role.
    pub bands: Vec<(BandRole, usize)>,
}

impl SensorProfile {
    fn new(name: &str, bands: &[(BandRole, usize)]) -> Self {
        let mut bands = bands.to_vec();
        bands.sort();
        Self {
            name: name.to_string(),
            bands,
        }
    }

    pub fn band(&self, role: BandRole) -> Option<usize> {
        self.bands.iter().find(|(r, _)| *r == role).map(|(_, b)| *b)
    }

    pub fn has(&self, role: BandRole) -> bool {
        self.band(role).is_some()
    }

    /// The built-in profiles, by name.
    pub fn builtin(name: &str) -> Option<Self> {
        use BandRole::*;
        Some(match name {
            // 13-band L1C stack B01 B02 B03 B04 B05 B06 B07 B08 B8A B09 B10 B11 B12.
            "sentinel2" => Self::new(
                name,
                &[
                    (Blue, 2),
                    (Green, 3),
                    (Red, 4),
                    (Nir, 8),
                    (Swir1, 12),
                    (Swir2, 13),
                ],
            ),
            // L2A-style 12-band stack without B10.
            "sentinel2-l2a" => Self::new(
                name,
                &[
                    (Blue, 2),
                    (Green, 3),
                    (Red, 4),
                    (Nir, 8),
                    (Swir1, 11),
                    (Swir2, 12),
                ],
            ),
            // TM / ETM+ reflective bands 1 2 3 4 5 7.
            "landsat-tm" => Self::new(
                name,
                &[
                    (Blue, 1),
                    (Green, 2),
                    (Red, 3),
                    (Nir, 4),
                    (Swir1, 5),
                    (Swir2, 6),
                ],
            ),
            // OLI bands 1..7 (coastal first).
            "landsat-oli" => Self::new(
                name,
                &[
                    (Blue, 2),
                    (Green, 3),
                    (Red, 4),
                    (Nir, 5),
                    (Swir1, 6),
                    (Swir2, 7),
                ],
            ),
            // GF-1/GF-6 WFV and GF-2 PMS multispectral: blue green red NIR, no SWIR.
            "gf-wfv" | "gf2-pms" | "bgrn" => {
                Self::new(name, &[(Blue, 1), (Green, 2), (Red, 3), (Nir, 4)])
            }
            // blue green red NIR SWIR1: the peers' synthetic scenes.
            "bgrns" => Self::new(
                name,
                &[(Blue, 1), (Green, 2), (Red, 3), (Nir, 4), (Swir1, 5)],
            ),
            _ => return None,
        })
    }

    pub const BUILTIN: [&'static str; 8] = [
        "sentinel2",
        "sentinel2-l2a",
        "landsat-tm",
        "landsat-oli",
        "gf-wfv",
        "gf2-pms",
        "bgrn",
        "bgrns",
    ];

    /// Build a profile from band descriptions such as `B02`, `B8A`, `blue`, `SWIR1`.
    /// Returns `None` unless at least blue, red and NIR are found.
    pub fn from_descriptions(descriptions: &[String]) -> Option<Self> {
        use BandRole::*;
        let mut bands = Vec::new();
        for (i, d) in descriptions.iter().enumerate() {
            let d = d.trim().to_ascii_lowercase();
            let role = match d.as_str() {
                "b02" | "b2" | "blue" => Some(Blue),
                "b03" | "b3" | "green" => Some(Green),
                "b04" | "b4" | "red" => Some(Red),
                "b08" | "b8" | "nir" => Some(Nir),
                "b11" | "swir1" | "swir16" => Some(Swir1),
                "b12" | "swir2" | "swir22" => Some(Swir2),
                _ => None,
            };
            if let Some(r) = role {
                if !bands.iter().any(|(x, _)| *x == r) {
                    bands.push((r, i + 1));
                }
            }
        }
        let p = Self::new("from-band-descriptions", &bands);
        (p.has(Blue) && p.has(Red) && p.has(Nir)).then_some(p)
    }

    /// Guess a profile from the band count when descriptions say nothing.
    pub fn from_band_count(count: usize) -> Option<Self> {
        Self::builtin(match count {
            13 => "sentinel2",
            12 => "sentinel2-l2a",
            7 => "landsat-oli",
            6 => "landsat-tm",
            5 => "bgrns",
            4 => "bgrn",
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentinel2_descriptions_resolve_like_the_builtin() {
        let d: Vec<String> = [
            "B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11",
            "B12",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let p = SensorProfile::from_descriptions(&d).unwrap();
        assert_eq!(p.bands, SensorProfile::builtin("sentinel2").unwrap().bands);
    }

    #[test]
    fn gf_has_no_swir() {
        let p = SensorProfile::builtin("gf-wfv").unwrap();
        assert!(!p.has(BandRole::Swir1));
        assert_eq!(p.band(BandRole::Nir), Some(4));
    }

    #[test]
    fn too_few_described_bands_is_no_profile() {
        assert!(SensorProfile::from_descriptions(&["red".into(), "nir".into()]).is_none());
        assert!(SensorProfile::from_band_count(3).is_none());
    }
}
