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

    /// A profile from explicit (role, 1-based band) pairs, e.g. roles a file's colour
    /// interpretation declares.
    pub fn from_roles(name: &str, bands: &[(BandRole, usize)]) -> Self {
        Self::new(name, bands)
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

    /// `landsat-tm` on a stack of all seven TM/ETM+ bands: SWIR2 is band 7, after the
    /// thermal band 6.
    pub fn landsat_tm_with_thermal() -> Self {
        use BandRole::*;
        Self::new(
            "landsat-tm",
            &[
                (Blue, 1),
                (Green, 2),
                (Red, 3),
                (Nir, 4),
                (Swir1, 5),
                (Swir2, 7),
            ],
        )
    }

    /// Build a profile from band descriptions such as `B02`, `B8A`, `SR_B5`, `blue`,
    /// `SWIR1`. Returns `None` unless at least blue, red and NIR are found.
    ///
    /// Band numbers mean different bands on different sensors (B8 is Sentinel-2's NIR and
    /// Landsat 8's panchromatic band, B11 a SWIR band or a thermal one), so the numbering
    /// is told from the set of names first (see [`Numbering::of`]); names of roles
    /// (`blue`, `nir`, …) mean the same everywhere.
    pub fn from_descriptions(descriptions: &[String]) -> Option<Self> {
        Self::from_descriptions_as(descriptions, Numbering::of(descriptions))
    }

    /// [`SensorProfile::from_descriptions`] with `B<n>` names read in `numbering` (the
    /// sensor a named profile or a band-count guess decides when the names do not).
    pub fn from_descriptions_as(
        descriptions: &[String],
        numbering: Option<Numbering>,
    ) -> Option<Self> {
        use BandRole::*;
        let (bands, _) = Self::described_roles_as(descriptions, numbering);
        let p = Self::new("from-band-descriptions", &bands);
        (p.has(Blue) && p.has(Red) && p.has(Nir)).then_some(p)
    }

    /// The roles band descriptions name (first band of each role), and how many
    /// descriptions are band names of a known numbering or role names (`B04`, `SR_B5`,
    /// `nir`, `B4 NIR`, also bands no role uses, such as Sentinel-2's `B01` or `B05`):
    /// names that say which bands a file holds rule out a guess by band count.
    pub fn described_roles(descriptions: &[String]) -> (Vec<(BandRole, usize)>, usize) {
        Self::described_roles_as(descriptions, Numbering::of(descriptions))
    }

    /// [`SensorProfile::described_roles`] with `B<n>` names read in `numbering`. A role
    /// word in a description (`B4 NIR`, `TM/ETM+ B1 blue`) decides before any number:
    /// it means the same on every sensor.
    pub fn described_roles_as(
        descriptions: &[String],
        numbering: Option<Numbering>,
    ) -> (Vec<(BandRole, usize)>, usize) {
        let mut bands = Vec::new();
        let mut named = 0;
        for (i, d) in descriptions.iter().enumerate() {
            let d = d.trim().to_ascii_lowercase();
            let role = role_word(&d).or_else(|| numbering.and_then(|n| n.role(&d)));
            // A plain B1…B7 is OLI's or TM's (numbering unknown): it names no band yet.
            if role.is_some() || (numbering.is_some() && band_token(&d).is_some()) {
                named += 1;
            }
            if let Some(r) = role {
                if !bands.iter().any(|(x, _)| *x == r) {
                    bands.push((r, i + 1));
                }
            }
        }
        // Sentinel-2's 20 m set (L2A R20m) has B8A and no B08: its narrow NIR band is
        // the NIR there is.
        if numbering == Some(Numbering::Sentinel2)
            && !bands.iter().any(|(r, _)| *r == BandRole::Nir)
        {
            if let Some(i) = descriptions
                .iter()
                .position(|d| band_token(d).is_some_and(|t| t.1))
            {
                bands.push((BandRole::Nir, i + 1));
            }
        }
        (bands, named)
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

/// How a file's `B<n>` band names are numbered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Numbering {
    /// B2 blue, B3 green, B4 red, B8 NIR, B11 / B12 SWIR (B8A, B12, zero-padded B05…).
    Sentinel2,
    /// Landsat 8/9 OLI: B2 blue … B5 NIR, B6 / B7 SWIR (B8 pan, B9 cirrus, B10/B11 thermal).
    LandsatOli,
    /// Landsat 4/5 TM, 7 ETM+: B1 blue … B4 NIR, B5 / B7 SWIR (B6 thermal).
    LandsatTm,
}

/// The role a description names in words (`blue`, `B4 NIR`, `B5 SWIR1`, `SWIR 2`),
/// or `None` when it names none or more than one. `red` in Sentinel-2's `Red Edge 1` is
/// not red.
fn role_word(d: &str) -> Option<BandRole> {
    use BandRole::*;
    let words: Vec<&str> = d
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    if words
        .iter()
        .any(|w| w.starts_with("edge") || *w == "rededge")
    {
        return None;
    }
    let mut found = None;
    for (k, w) in words.iter().enumerate() {
        let next = words.get(k + 1).copied();
        let role = match *w {
            "blue" => Blue,
            "green" => Green,
            "red" => Red,
            "nir" => Nir,
            "swir1" | "swir16" => Swir1,
            "swir2" | "swir22" => Swir2,
            "swir" if next == Some("1") => Swir1,
            "swir" if next == Some("2") => Swir2,
            _ => continue,
        };
        if found.is_some_and(|f| f != role) {
            return None;
        }
        found = Some(role);
    }
    found
}

/// A band name as `(number, is 8A, zero-padded, Landsat Collection 2 prefix)`:
/// `B05` → (5, false, true, false), `SR_B7` → (7, false, false, true).
/// GDAL's SENTINEL2 driver describes a band as `B4, central wavelength 665 nm`: the
/// name is the part before the comma.
fn band_token(d: &str) -> Option<(u32, bool, bool, bool)> {
    let d = d.trim().to_ascii_lowercase();
    let d = match d.split_once(',') {
        Some((head, _)) => head.trim().to_string(),
        None => d,
    };
    let (rest, c2) = match d.strip_prefix("sr_").or_else(|| d.strip_prefix("st_")) {
        Some(r) => (r.to_string(), true),
        None => (d, false),
    };
    let n = rest.strip_prefix('b')?;
    if n == "8a" || n == "08a" {
        return Some((8, true, n.starts_with('0'), c2));
    }
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) || n.len() > 2 {
        return None;
    }
    Some((
        n.parse().ok()?,
        false,
        n.len() == 2 && n.starts_with('0'),
        c2,
    ))
}

impl Numbering {
    /// The numbering a file's band names use, or `None` when they do not tell:
    /// Sentinel-2 has B8A and B12 and pads to two digits; Landsat Collection 2 names are
    /// `SR_B<n>` / `ST_B<n>`; B10, or B11 with B5–B7, without B8A or B12 is OLI's; B7
    /// without B6 is the TM/ETM+ reflective set. A plain B1…B7 is OLI's or TM's with its
    /// thermal band, and stays undecided rather than guessed.
    pub fn of(descriptions: &[String]) -> Option<Self> {
        let t: Vec<(u32, bool, bool, bool)> =
            descriptions.iter().filter_map(|d| band_token(d)).collect();
        if t.is_empty() {
            return None;
        }
        let has = |n: u32| t.iter().any(|x| x.0 == n && !x.1);
        // GDAL's SENTINEL2 driver text (`B4, central wavelength 665 nm`) names the sensor.
        let s2_driver = descriptions
            .iter()
            .any(|d| d.to_ascii_lowercase().contains("central wavelength"));
        if s2_driver || t.iter().any(|x| x.1 || x.2) {
            return Some(Self::Sentinel2);
        }
        // No sensor numbers a band B13 or above: such names count bands by position.
        if t.iter().any(|x| x.0 > 12) {
            return None;
        }
        // B1, B2, … Bn in that order, nothing else: a band count written as names. B1…B8
        // is ETM+ (B8 pan), OLI (coastal first, B8 pan) or GF-6 WFV (B1 blue … B4 NIR,
        // B5–B8 red edge, purple, yellow) as much as Sentinel-2's first eight; only the
        // long runs name one sensor: B1…B10/B11 OLI's with thermal, B1…B12 Sentinel-2's.
        if Self::bare_run(descriptions).is_some_and(|n| n < 10) {
            return None;
        }
        if has(12) {
            return Some(Self::Sentinel2);
        }
        let c2 = t.iter().any(|x| x.3);
        let sr6 = descriptions
            .iter()
            .any(|d| d.trim().eq_ignore_ascii_case("sr_b6"));
        // B10 is thermal on OLI and cirrus on Sentinel-2, whose stacks with it (L1C) also
        // hold B12; B11 with B5–B7 and no B12 is OLI's SWIR1…thermal run. A lone B8 or B11
        // is Sentinel-2's 10 m NIR or 20 m SWIR more often than anything else.
        let oli = has(10) || (has(11) && has(5) && has(6) && has(7));
        if oli || (c2 && sr6) {
            return Some(Self::LandsatOli);
        }
        if c2 || (has(7) && !has(6)) {
            return Some(Self::LandsatTm);
        }
        // B6 and B7 with B1 are OLI's 1–7 or TM's with its thermal band 6; without B1
        // they are OLI's B2…B7 (Google Earth Engine's Landsat 8/9 export): TM's set
        // would have no blue.
        if has(6) && has(7) && !has(8) {
            return (!has(1)).then_some(Self::LandsatOli);
        }
        // B2, B3, B4, B8 and the like: the Sentinel-2 names the tool always took.
        Some(Self::Sentinel2)
    }

    /// `Some(n)` when the descriptions are exactly `B1`, `B2`, … `Bn` in band order
    /// (n ≥ 2), unnamed bands after them aside (a warped export's alpha band): names that
    /// only count the bands, and fit several sensors.
    pub fn bare_run(descriptions: &[String]) -> Option<usize> {
        let n = descriptions
            .iter()
            .rposition(|d| !d.trim().is_empty())
            .map_or(0, |i| i + 1);
        let descriptions = &descriptions[..n];
        let bare = n >= 2
            && descriptions.iter().enumerate().all(|(i, d)| {
                d.trim()
                    .strip_prefix(['b', 'B'])
                    .is_some_and(|k| k == (i + 1).to_string())
            });
        bare.then_some(n)
    }

    /// The numbering of a built-in profile's sensor (`landsat-tm` → TM's), which decides
    /// what `B<n>` names mean when the names themselves do not tell.
    pub fn of_profile(name: &str) -> Option<Self> {
        match name {
            "sentinel2" | "sentinel2-l2a" => Some(Self::Sentinel2),
            "landsat-oli" => Some(Self::LandsatOli),
            "landsat-tm" => Some(Self::LandsatTm),
            _ => None,
        }
    }

    fn role(self, d: &str) -> Option<BandRole> {
        use BandRole::*;
        let (n, is_8a, _, _) = band_token(d)?;
        if is_8a {
            return None;
        }
        let table: &[(u32, BandRole)] = match self {
            Self::Sentinel2 => &[
                (2, Blue),
                (3, Green),
                (4, Red),
                (8, Nir),
                (11, Swir1),
                (12, Swir2),
            ],
            Self::LandsatOli => &[
                (2, Blue),
                (3, Green),
                (4, Red),
                (5, Nir),
                (6, Swir1),
                (7, Swir2),
            ],
            Self::LandsatTm => &[
                (1, Blue),
                (2, Green),
                (3, Red),
                (4, Nir),
                (5, Swir1),
                (7, Swir2),
            ],
        };
        table.iter().find(|(k, _)| *k == n).map(|(_, r)| *r)
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

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// Review, session 12: a Landsat 8 stack described B1…B11 was read with Sentinel-2
    /// numbers (B8 pan as NIR, B11 thermal as SWIR1) and the rule found nothing.
    #[test]
    fn landsat_band_names_use_landsat_numbers() {
        let oli = SensorProfile::builtin("landsat-oli").unwrap().bands;
        let l8: Vec<String> = (1..=11).map(|i| format!("B{i}")).collect();
        assert_eq!(SensorProfile::from_descriptions(&l8).unwrap().bands, oli);
        let c2 = names(&[
            "SR_B1", "SR_B2", "SR_B3", "SR_B4", "SR_B5", "SR_B6", "SR_B7", "ST_B10",
        ]);
        assert_eq!(SensorProfile::from_descriptions(&c2).unwrap().bands, oli);
        // TM / ETM+: B6 is thermal, SWIR2 is B7, wherever it sits in the file.
        let tm = names(&[
            "SR_B1", "SR_B2", "SR_B3", "SR_B4", "SR_B5", "ST_B6", "SR_B7",
        ]);
        let p = SensorProfile::from_descriptions(&tm).unwrap();
        assert_eq!(
            (p.band(BandRole::Nir), p.band(BandRole::Swir2)),
            (Some(4), Some(7))
        );
        let tm6 = names(&["B1", "B2", "B3", "B4", "B5", "B7"]);
        let p = SensorProfile::from_descriptions(&tm6).unwrap();
        assert_eq!(p.bands, SensorProfile::builtin("landsat-tm").unwrap().bands);
        // B1…B7 is OLI's or TM's with thermal: not decided from the names.
        let amb: Vec<String> = (1..=7).map(|i| format!("B{i}")).collect();
        assert_eq!(Numbering::of(&amb), None);
        assert!(SensorProfile::from_descriptions(&amb).is_none());
        // Sentinel-2's usual names keep their meaning.
        let s2 = names(&["B2", "B3", "B4", "B8", "B11", "B12"]);
        let p = SensorProfile::from_descriptions(&s2).unwrap();
        assert_eq!(
            (p.band(BandRole::Nir), p.band(BandRole::Swir1)),
            (Some(4), Some(5))
        );
        let s2_10m = names(&["B2", "B3", "B4", "B8"]);
        assert_eq!(
            SensorProfile::from_descriptions(&s2_10m)
                .unwrap()
                .band(BandRole::Nir),
            Some(4)
        );
    }

    /// Review, session 19: descriptions such as `B4 NIR` or `TM/ETM+ B1 blue` name their
    /// role in words, and Earth Engine's Landsat 8 `B2…B7` (no B1) are OLI's numbers.
    #[test]
    fn role_words_and_landsat8_names_place_bands() {
        let tm = names(&[
            "B4 NIR",
            "B3 red",
            "B2 green",
            "TM/ETM+ B1 blue",
            "B5 SWIR1",
            "B7 SWIR2",
        ]);
        let p = SensorProfile::from_descriptions(&tm).unwrap();
        assert_eq!(
            (
                p.band(BandRole::Blue),
                p.band(BandRole::Nir),
                p.band(BandRole::Swir2)
            ),
            (Some(4), Some(1), Some(6))
        );
        let l8 = names(&["B5", "B4", "B3", "B2", "B6", "B7"]);
        assert_eq!(Numbering::of(&l8), Some(Numbering::LandsatOli));
        let p = SensorProfile::from_descriptions(&l8).unwrap();
        assert_eq!(
            (p.band(BandRole::Blue), p.band(BandRole::Nir)),
            (Some(4), Some(1))
        );
        // `Red Edge 1` is not red; `SWIR 2` is SWIR2.
        assert_eq!(role_word("b5 red edge 1"), None);
        assert_eq!(role_word("swir 2"), Some(BandRole::Swir2));
        assert_eq!(role_word("red or nir"), None);
    }

    /// Review, session 21 (revZ1 F1): `B1…Bn` in band order only count the bands: ETM+'s
    /// B1…B8 (B8 pan), GF-6's (B8 yellow) and a 13-band Sentinel-2 stack numbered by
    /// position (no sensor has a B13) were read in Sentinel-2 numbers.
    #[test]
    fn names_that_only_count_the_bands_name_no_sensor() {
        let run = |n: usize| (1..=n).map(|i| format!("B{i}")).collect::<Vec<_>>();
        for n in [4, 5, 6, 8, 9, 13] {
            assert_eq!(Numbering::of(&run(n)), None, "B1…B{n}");
            assert!(
                SensorProfile::from_descriptions(&run(n)).is_none(),
                "B1…B{n}"
            );
        }
        assert_eq!(Numbering::of(&run(11)), Some(Numbering::LandsatOli));
        assert_eq!(Numbering::of(&run(12)), Some(Numbering::Sentinel2));
        assert_eq!(Numbering::bare_run(&run(8)), Some(8));
        // A trailing unnamed (alpha) band leaves the run as it is.
        let mut alpha = run(8);
        alpha.push(String::new());
        assert_eq!(Numbering::of(&alpha), None);
        assert_eq!(Numbering::bare_run(&names(&["B2", "B3", "B4", "B8"])), None);
    }

    /// Review, session 21 (revZ1 F2, F7): GDAL's SENTINEL2 driver names bands
    /// `B4, central wavelength 665 nm`; the L2A 20 m set has B8A and no B08.
    #[test]
    fn sentinel2_driver_text_and_b8a_without_b08() {
        let ten = names(&[
            "B4, central wavelength 665 nm",
            "B3, central wavelength 560 nm",
            "B2, central wavelength 490 nm",
            "B8, central wavelength 842 nm",
        ]);
        assert_eq!(Numbering::of(&ten), Some(Numbering::Sentinel2));
        let p = SensorProfile::from_descriptions(&ten).unwrap();
        assert_eq!(
            p.bands,
            [
                (BandRole::Blue, 3),
                (BandRole::Green, 2),
                (BandRole::Red, 1),
                (BandRole::Nir, 4)
            ]
        );
        let twenty = names(&[
            "B5, central wavelength 705 nm",
            "B6, central wavelength 740 nm",
            "B7, central wavelength 783 nm",
            "B8A, central wavelength 865 nm",
            "B11, central wavelength 1610 nm",
            "B12, central wavelength 2190 nm",
        ]);
        let (roles, named) = SensorProfile::described_roles(&twenty);
        assert_eq!(named, 6);
        assert!(roles.contains(&(BandRole::Nir, 4)));
        assert!(SensorProfile::from_descriptions(&twenty).is_none());
        let r20m = names(&[
            "B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B11", "B12",
        ]);
        let p = SensorProfile::from_descriptions(&r20m).unwrap();
        assert_eq!(
            (p.band(BandRole::Nir), p.band(BandRole::Swir1)),
            (Some(7), Some(8))
        );
    }

    #[test]
    fn gf_has_no_swir() {
        let p = SensorProfile::builtin("gf-wfv").unwrap();
        assert!(!p.has(BandRole::Swir1));
        assert_eq!(p.band(BandRole::Nir), Some(4));
    }

    #[test]
    fn described_roles_count_only_names_of_a_known_numbering() {
        let (roles, named) = SensorProfile::described_roles(&names(&["B01", "B02", "B03", "B04"]));
        assert_eq!(named, 4);
        assert!(!roles.iter().any(|(r, _)| *r == BandRole::Nir));
        // OLI's or TM's with thermal: undecided, so no band is named.
        let plain = names(&["B1", "B2", "B3", "B4", "B5", "B6", "B7"]);
        assert_eq!(SensorProfile::described_roles(&plain).1, 0);
        assert_eq!(SensorProfile::described_roles(&names(&["nir", "x"])).1, 1);
    }

    #[test]
    fn too_few_described_bands_is_no_profile() {
        assert!(SensorProfile::from_descriptions(&["red".into(), "nir".into()]).is_none());
        assert!(SensorProfile::from_band_count(3).is_none());
    }
}
