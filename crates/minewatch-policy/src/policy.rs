//! The priority policy file (TOML). Every table has defaults (the shipped
//! `pipelines/policy/default.toml` spells them out); unknown keys are refused so a typo
//! never silently weighs nothing.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    pub ledger: LedgerTable,
    pub zone: BTreeMap<String, f64>,
    pub custom: BTreeMap<String, f64>,
    pub licence: BTreeMap<String, f64>,
    pub area: AreaTable,
    pub persistence: PersistenceTable,
    pub growth: GrowthTable,
    pub confidence: BTreeMap<String, f64>,
    pub change_type: BTreeMap<String, f64>,
    pub history: HistoryTable,
    pub repeat_offender: RepeatTable,
    pub minerals: MineralTable,
    pub regions: RegionTable,
    pub trends: TrendTable,
    pub hotspots: HotspotTable,
    pub classes: ClassTable,
}

/// Priority classes by score, for strata of spot-check samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClassTable {
    pub high: f64,
    pub medium: f64,
}

impl Default for ClassTable {
    fn default() -> Self {
        Self {
            high: 100.0,
            medium: 50.0,
        }
    }
}

impl ClassTable {
    pub fn of(&self, score: f64) -> &'static str {
        if score >= self.high {
            "high"
        } else if score >= self.medium {
            "medium"
        } else {
            "low"
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LedgerTable {
    pub link_distance_m: f64,
    /// Years a run of consecutive changed comparisons (each pair's earlier image is the
    /// previous pair's later one) must cover, from its first to its last image rounded to
    /// whole years, to make a site multi-year change; a run needs two comparisons at least.
    pub min_run_years: u32,
    pub false_change_growth_pct: f64,
    pub location_link_m: f64,
    /// Two penalties must both fall within the two years before the new change (the
    /// reading of 法释〔2016〕25号 art. 3 (3): 二年内 counts back from the new act; default).
    /// `false`: any two penalties within two years of each other before the change.
    pub referral_window_ends_at_change: bool,
    /// Rank only sites that change in the latest date pair (others are listed unranked).
    pub rank_only_new_change: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AreaTable {
    pub per_mu: f64,
    pub cap: f64,
    pub provincial_check_mu: f64,
    pub provincial_check: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PersistenceTable {
    pub per_extra_year: f64,
    pub multi_year: f64,
    /// The most the term adds: every other term has a bound, and an uncapped run outweighed
    /// a red line and a repeat offender together.
    pub cap: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GrowthTable {
    pub per_10_pct: f64,
    pub cap: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HistoryTable {
    pub confirmed_illegal: f64,
    pub case_filed: f64,
    pub false_change: f64,
    pub suppress_false_change: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RepeatTable {
    pub criminal_referral: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MineralTable {
    pub strategic: Vec<String>,
    pub strategic_weight: f64,
    pub price_surge_pct: f64,
    pub price_surge_weight: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegionTable {
    pub hot_counties: Vec<String>,
    pub hot_weight: f64,
    pub rising_fast_weight: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrendTable {
    pub rising_min_count: usize,
    pub rising_growth_pct: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HotspotTable {
    pub cell_m: f64,
    pub min_sites: usize,
}

fn map(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            ledger: LedgerTable::default(),
            zone: map(&[
                ("ecological_red_line", 40.0),
                ("nature_reserve", 40.0),
                ("no_mining_zone", 35.0),
                ("river_corridor", 25.0),
                ("restoration_project", 15.0),
                ("construction_project", 10.0),
                ("special_land", -100.0),
            ]),
            custom: BTreeMap::new(),
            licence: map(&[
                ("outside_all_rights", 30.0),
                ("partly_outside", 25.0),
                ("expired", 20.0),
                ("exploration_only", 20.0),
                ("inside", 0.0),
                ("not_checked", 0.0),
            ]),
            area: AreaTable::default(),
            persistence: PersistenceTable::default(),
            growth: GrowthTable::default(),
            confidence: map(&[
                ("highest", 10.0),
                ("high", 5.0),
                ("low", 0.0),
                ("rule", 0.0),
            ]),
            change_type: map(&[
                ("bare_soil_gain", 10.0),
                ("vegetation_loss", 8.0),
                ("water_gain", 6.0),
                ("water_loss", 4.0),
                ("brightening", 4.0),
                ("darkening", 2.0),
                ("vegetation_gain", 0.0),
                ("other", 0.0),
            ]),
            history: HistoryTable::default(),
            repeat_offender: RepeatTable::default(),
            minerals: MineralTable::default(),
            regions: RegionTable::default(),
            trends: TrendTable::default(),
            hotspots: HotspotTable::default(),
            classes: ClassTable::default(),
        }
    }
}

impl Default for LedgerTable {
    fn default() -> Self {
        Self {
            link_distance_m: 30.0,
            min_run_years: 2,
            false_change_growth_pct: 20.0,
            location_link_m: 100.0,
            referral_window_ends_at_change: true,
            rank_only_new_change: true,
        }
    }
}
impl Default for AreaTable {
    fn default() -> Self {
        Self {
            per_mu: 0.5,
            cap: 30.0,
            provincial_check_mu: 10.0,
            provincial_check: 10.0,
        }
    }
}
impl Default for PersistenceTable {
    fn default() -> Self {
        Self {
            per_extra_year: 10.0,
            multi_year: 15.0,
            cap: 45.0,
        }
    }
}
impl Default for GrowthTable {
    fn default() -> Self {
        Self {
            per_10_pct: 1.0,
            cap: 15.0,
        }
    }
}
impl Default for HistoryTable {
    fn default() -> Self {
        Self {
            confirmed_illegal: 20.0,
            case_filed: 5.0,
            false_change: -40.0,
            suppress_false_change: true,
        }
    }
}
impl Default for RepeatTable {
    fn default() -> Self {
        Self {
            criminal_referral: 50.0,
        }
    }
}
impl Default for MineralTable {
    fn default() -> Self {
        Self {
            strategic: ["稀土", "钨", "锡", "锑", "钼", "萤石"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            strategic_weight: 10.0,
            price_surge_pct: 30.0,
            price_surge_weight: 15.0,
        }
    }
}
impl Default for RegionTable {
    fn default() -> Self {
        Self {
            hot_counties: Vec::new(),
            hot_weight: 10.0,
            rising_fast_weight: 10.0,
        }
    }
}
impl Default for TrendTable {
    fn default() -> Self {
        Self {
            rising_min_count: 3,
            rising_growth_pct: 50.0,
        }
    }
}
impl Default for HotspotTable {
    fn default() -> Self {
        Self {
            cell_m: 10_000.0,
            min_sites: 5,
        }
    }
}

impl Policy {
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read it: {e}"))?;
        Self::parse(&text)
    }

    /// Tables given replace the defaults key by key only within `[ledger]`, `[area]` …;
    /// a weight map given (e.g. `[zone]`) replaces the default map.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut p: Policy = toml::from_str(text).map_err(|e| e.to_string())?;
        // A weight of nan or inf parses as a number and then decides every score (every
        // site at a cap, or the manifest recording null): refuse it by its key.
        if let Ok(v) = text.parse::<toml::Table>() {
            if let Some(key) = first_non_finite(&v, "") {
                return Err(format!("`{key}` is not a finite number"));
            }
        }
        if p.hotspots.cell_m <= 0.0 || p.ledger.link_distance_m < 0.0 {
            return Err("hotspots.cell_m must be > 0 and ledger.link_distance_m ≥ 0".into());
        }
        for (key, v) in [
            ("area.cap", p.area.cap),
            ("area.provincial_check_mu", p.area.provincial_check_mu),
            ("growth.cap", p.growth.cap),
            ("persistence.cap", p.persistence.cap),
            ("ledger.location_link_m", p.ledger.location_link_m),
        ] {
            if v < 0.0 {
                return Err(format!("`{key}` is {v}; it must be ≥ 0"));
            }
        }
        // Both make every site or county pass a test meant to single some out: a falling
        // count "rising fast", a six-month run of two quarterly pairs 多年连续变化 (a run of
        // two pairs always counts at least one year).
        if p.trends.rising_growth_pct < 0.0 {
            return Err(format!(
                "`trends.rising_growth_pct` is {}; it must be ≥ 0 (a fall is no rise)",
                p.trends.rising_growth_pct
            ));
        }
        if p.ledger.min_run_years < 2 {
            return Err(format!(
                "`ledger.min_run_years` is {}; it must be ≥ 2: 多年连续变化 is change over two years or more, and a run of two quarterly pairs (six months) already counts 1",
                p.ledger.min_run_years
            ));
        }
        p.regions.hot_counties = p
            .regions
            .hot_counties
            .iter()
            .map(|c| county_code(c))
            .collect::<Result<_, _>>()?;
        if p.classes.high < p.classes.medium {
            return Err(format!(
                "`classes.high` ({}) is below `classes.medium` ({}): no site could be medium",
                p.classes.high, p.classes.medium
            ));
        }
        for (table, m) in [("licence", &p.licence)] {
            for k in m.keys() {
                if ![
                    "outside_all_rights",
                    "partly_outside",
                    "expired",
                    "exploration_only",
                    "inside",
                    "not_checked",
                ]
                .contains(&k.as_str())
                {
                    return Err(format!("[{table}] has an unknown status `{k}`"));
                }
            }
        }
        for k in p.zone.keys() {
            if !minewatch_core::ZoneKind::NAMES.contains(&k.as_str()) || k == "custom" {
                return Err(format!(
                    "[zone] has an unknown kind `{k}`; custom kinds go in [custom]"
                ));
            }
        }
        Ok(p)
    }
}

/// A `hot_counties` entry as the six-digit county code sites carry: township (9) and
/// village (12) codes keep their county part, as overlay reads admin codes. Anything else
/// (a name, a typo like 32O115, a prefecture's 320100) would match no site, silently.
fn county_code(entry: &str) -> Result<String, String> {
    let d = entry.trim();
    let bad = |why: &str| {
        format!(
            "`regions.hot_counties` entry `{entry}` {why}; give six-digit GB/T 2260 county codes (320115), or 9- or 12-digit codes of places in the county"
        )
    };
    if d.is_empty() || !d.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("is not a county code"));
    }
    let code = match d.len() {
        6 => d,
        9 | 12 => &d[..6],
        _ => return Err(bad("is not a county code (6, 9 or 12 digits)")),
    };
    if code.ends_with("00") {
        return Err(bad("is a province or prefecture code, not a county's"));
    }
    Ok(code.to_string())
}

/// The dotted key of the first float in `t` that is nan or infinite.
fn first_non_finite(t: &toml::Table, at: &str) -> Option<String> {
    fn walk(v: &toml::Value, key: String) -> Option<String> {
        match v {
            toml::Value::Float(f) if !f.is_finite() => Some(key),
            toml::Value::Table(t) => first_non_finite(t, &key),
            toml::Value::Array(a) => a
                .iter()
                .enumerate()
                .find_map(|(i, v)| walk(v, format!("{key}[{i}]"))),
            _ => None,
        }
    }
    t.iter().find_map(|(k, v)| {
        let key = if at.is_empty() {
            k.clone()
        } else {
            format!("{at}.{k}")
        };
        walk(v, key)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Review finding: `per_mu = nan` put every site at the area cap (exit 0), a negative
    /// cap took points off every site, and `high` below `medium` emptied the medium class.
    #[test]
    fn weights_that_cannot_be_meant_are_refused() {
        for (text, says) in [
            ("[area]\nper_mu = nan\n", "area.per_mu"),
            ("[area]\nper_mu = inf\n", "area.per_mu"),
            (
                "[zone]\necological_red_line = -inf\n",
                "zone.ecological_red_line",
            ),
            ("[area]\ncap = -5.0\n", "area.cap"),
            ("[classes]\nhigh = 40.0\nmedium = 50.0\n", "classes.high"),
        ] {
            let e = Policy::parse(text).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
        assert!(Policy::parse("[area]\nper_mu = 2.5\n").is_ok());
    }

    #[test]
    fn the_shipped_policy_equals_the_defaults() {
        let text = include_str!("../../../pipelines/policy/default.toml");
        let mut shipped = Policy::parse(text).unwrap();
        let mut d = Policy::default();
        // The shipped file lists English strategic names too.
        shipped.minerals.strategic.retain(|m| !m.is_ascii());
        d.minerals.strategic.retain(|m| !m.is_ascii());
        assert_eq!(shipped, d);
    }

    /// Review finding: the default accepted two penalties in any two-year window, however
    /// long before the new change (法释〔2016〕25号 art. 3 (3) counts back from the new act).
    #[test]
    fn the_strict_referral_window_is_the_default() {
        assert!(Policy::default().ledger.referral_window_ends_at_change);
        let text = include_str!("../../../pipelines/policy/default.toml");
        assert!(
            Policy::parse(text)
                .unwrap()
                .ledger
                .referral_window_ends_at_change
        );
        // The other reading stays available, and an empty file takes the default.
        let loose = Policy::parse("[ledger]\nreferral_window_ends_at_change = false\n").unwrap();
        assert!(!loose.ledger.referral_window_ends_at_change);
        assert!(
            Policy::parse("")
                .unwrap()
                .ledger
                .referral_window_ends_at_change
        );
    }

    /// Review finding (revR F6): `hot_counties` entries that were not six-digit codes
    /// (320115000000, 江宁区, 32O115) matched nothing, silently; a negative
    /// `rising_growth_pct` and `min_run_years = 0` were taken.
    #[test]
    fn hot_counties_are_county_codes() {
        let hot = |list: &str| {
            Policy::parse(&format!("[regions]\nhot_counties = [{list}]\n"))
                .map(|p| p.regions.hot_counties)
        };
        assert_eq!(
            hot(r#""320115", "320115001", "320116000000", " 320117 ""#).unwrap(),
            vec!["320115", "320115", "320116", "320117"]
        );
        for bad in ["江宁区", "32O115", "3201", "320100", "3201150", ""] {
            let e = hot(&format!("{bad:?}")).unwrap_err();
            assert!(
                e.contains("regions.hot_counties") && e.contains(bad),
                "{bad}: {e}"
            );
        }
        let e = Policy::parse("[trends]\nrising_growth_pct = -50\n").unwrap_err();
        assert!(e.contains("trends.rising_growth_pct"), "{e}");
        for n in [0, 1] {
            let e = Policy::parse(&format!("[ledger]\nmin_run_years = {n}\n")).unwrap_err();
            assert!(e.contains("ledger.min_run_years"), "{e}");
        }
        assert!(Policy::parse("[ledger]\nmin_run_years = 3\n").is_ok());
    }

    #[test]
    fn typos_are_refused() {
        assert!(Policy::parse("[area]\nper_mu2 = 1\n")
            .unwrap_err()
            .contains("per_mu2"));
        assert!(Policy::parse("[zone]\nred_line = 1\n")
            .unwrap_err()
            .contains("red_line"));
        assert!(Policy::parse("[licence]\nunlicensed = 1\n").is_err());
    }
}
