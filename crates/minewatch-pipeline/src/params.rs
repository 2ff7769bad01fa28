//! Detection parameters: from a TOML params file, flags, or the defaults. Unknown keys are
//! errors so a misspelt threshold never silently falls back to a default.

use minewatch_core::{BandRole, SensorProfile};
use minewatch_detect::{Rule, Var};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// How the minimum mapping unit is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MmuMode {
    /// gdal_sieve.py -8 -nomask semantics: small regions of either value take their
    /// largest neighbour's value (small holes are filled, small patches dropped).
    #[default]
    Gdal,
    /// Drop change patches smaller than the unit; never fill holes.
    Objects,
    /// No minimum mapping unit.
    None,
}

/// How change is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// The explicit rule (`rule`), reproducible to the bit. Chosen when a params file
    /// gives a `rule` and no `method`.
    Rule,
    /// The automatic score and threshold (minewatch_detect::auto): no per-scene
    /// parameters. The default: a fixed rule tuned on one scene fails on the next.
    #[default]
    Auto,
    /// Baseline for accuracy tables: raw change-vector magnitude, Otsu threshold.
    Cva,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectParams {
    /// `auto` (default), `rule`, or `cva`; a file that gives a `rule` but no `method`
    /// means `rule`.
    #[serde(default)]
    pub method: Method,
    /// `auto` or a built-in profile name.
    #[serde(default = "default_profile")]
    pub profile: String,
    /// Custom band mapping (role = 1-based band); overrides `profile` when given.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub bands: BTreeMap<String, usize>,
    /// Conditions that must all hold for a pixel to count as change.
    #[serde(default = "default_rule")]
    pub rule: Vec<String>,
    /// Minimum mapping unit in pixels.
    #[serde(default = "default_mmu")]
    pub mmu_px: u64,
    #[serde(default)]
    pub mmu_mode: MmuMode,
    /// Pixel connectivity of patches; 8 (the peers' and gdal_sieve -8's) is supported.
    #[serde(default = "default_connectivity")]
    pub connectivity: u8,
    /// Per-patch statistics (mean and max) of these variables; default: the index
    /// differences the bands allow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<Vec<String>>,
    /// Reflectance = value × `reflectance_scale` + `reflectance_offset`, for the cloud and
    /// shadow screen of the automatic method. Needed only where minewatch cannot tell:
    /// files carrying a scale/offset and Sentinel-2 stacks (× 10000) are known; Landsat
    /// DN and GF digital numbers are not, and go unscreened unless this is given.
    /// Sentinel-2 products of processing baseline 04.00 or later (from 2022) need
    /// `reflectance_offset = -0.1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reflectance_scale: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reflectance_offset: Option<f64>,
    /// Screen clouds and cloud shadows (automatic method). On by default.
    #[serde(default = "default_true")]
    pub cloud_screen: bool,
}

fn default_true() -> bool {
    true
}

fn default_profile() -> String {
    "auto".into()
}
fn default_rule() -> Vec<String> {
    Rule::peer_reference()
        .all
        .iter()
        .map(|c| c.to_string())
        .collect()
}
fn default_mmu() -> u64 {
    10
}
fn default_connectivity() -> u8 {
    8
}

impl Default for DetectParams {
    fn default() -> Self {
        toml::from_str("").expect("defaults")
    }
}

impl DetectParams {
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("cannot read params file: {e}"))?;
        let p = Self::parse(&text)?;
        p.validate()?;
        Ok(p)
    }

    /// Parse a params file's text. A file that states a `rule` but no `method` asks for
    /// that rule, not for the default automatic method that would ignore it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut table: toml::Table =
            toml::from_str(text).map_err(|e| format!("not a valid params file: {e}"))?;
        if table.contains_key("rule") && !table.contains_key("method") {
            table.insert("method".into(), toml::Value::String("rule".into()));
        }
        table
            .try_into()
            .map_err(|e| format!("not a valid params file: {e}"))
    }

    /// The minimum mapping unit as (sieve threshold, minimum object size) in pixels: the
    /// GDAL mode sieves, the objects mode drops small patches after labelling.
    pub fn sieve_split(&self) -> (u64, u64) {
        match self.mmu_mode {
            MmuMode::Gdal => (self.mmu_px, 0),
            MmuMode::Objects => (0, self.mmu_px),
            MmuMode::None => (0, 0),
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.connectivity != 8 {
            return Err(format!(
                "connectivity = {}: only 8-connectivity is supported (gdal_sieve -8 semantics)",
                self.connectivity
            ));
        }
        Rule::parse(&self.rule).map_err(|e| e.to_string())?;
        for (role, band) in &self.bands {
            if BandRole::from_name(role).is_none() {
                return Err(format!(
                    "[bands] `{role}`: unknown role; known: blue green red nir swir1 swir2"
                ));
            }
            if *band == 0 {
                return Err(format!("[bands] `{role}` = 0: bands are numbered from 1"));
            }
            // One band under two roles (a typo, red = 4 and nir = 4) makes the indices
            // meaningless and the automatic method's covariance singular.
            if let Some((other, _)) = self.bands.iter().find(|(r, b)| *r < role && *b == band) {
                return Err(format!(
                    "[bands] `{other}` and `{role}` are both band {band}: each role needs its own band"
                ));
            }
        }
        if let Some(s) = self.reflectance_scale {
            if !(s.is_finite() && s > 0.0) {
                return Err(format!(
                    "reflectance_scale = {s}: must be a positive number (1e-4 for values stored as reflectance × 10000)"
                ));
            }
        }
        if self.reflectance_offset.is_some() && self.reflectance_scale.is_none() {
            return Err("reflectance_offset is given without reflectance_scale: give both".into());
        }
        Ok(())
    }

    pub fn custom_profile(&self) -> Option<SensorProfile> {
        if self.bands.is_empty() {
            return None;
        }
        let mut bands: Vec<(BandRole, usize)> = self
            .bands
            .iter()
            .filter_map(|(r, b)| BandRole::from_name(r).map(|r| (r, *b)))
            .collect();
        bands.sort();
        Some(SensorProfile {
            name: "custom".into(),
            bands,
        })
    }

    /// Statistic channels: the requested ones, or the default differences the profile allows.
    /// Returns (kept, skipped-with-reason).
    pub fn stat_channels(
        &self,
        profile: &SensorProfile,
    ) -> Result<(Vec<Var>, Vec<String>), String> {
        let requested: Vec<String> = match &self.stats {
            Some(s) => s.clone(),
            None => ["ndvi_drop", "bsi_rise", "mndwi_rise", "brightness_rise"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        };
        let (mut kept, mut skipped) = (Vec::new(), Vec::new());
        for name in requested {
            let var =
                Var::parse(&name).ok_or_else(|| format!("stats: unknown variable `{name}`"))?;
            let missing: Vec<String> = var
                .roles()
                .into_iter()
                .filter(|r| !profile.has(*r))
                .map(|r| r.to_string())
                .collect();
            if missing.is_empty() {
                kept.push(var);
            } else {
                skipped.push(format!(
                    "{name}: profile {} has no {}",
                    profile.name,
                    missing.join(", ")
                ));
            }
        }
        Ok((kept, skipped))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_method_is_auto_unless_a_rule_is_given() {
        assert_eq!(DetectParams::default().method, Method::Auto);
        let p = DetectParams::parse("rule = [\"ndvi_drop >= 0.3\"]").unwrap();
        assert_eq!(p.method, Method::Rule);
        let p = DetectParams::parse("method = \"auto\"\nrule = [\"ndvi_drop >= 0.3\"]").unwrap();
        assert_eq!(p.method, Method::Auto);
        assert_eq!(
            DetectParams::parse("mmu_px = 5").unwrap().method,
            Method::Auto
        );
        assert!(DetectParams::parse("method = \"magic\"").is_err());
    }

    #[test]
    fn defaults_are_the_peer_rule() {
        let p = DetectParams::default();
        assert_eq!(
            p.rule,
            ["ndvi_drop >= 0.2", "bsi_rise >= 0.1", "blue_t2 < 2500"]
        );
        assert_eq!(
            (p.mmu_px, p.mmu_mode, p.connectivity),
            (10, MmuMode::Gdal, 8)
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        assert!(toml::from_str::<DetectParams>("mmu = 5").is_err());
        let p: DetectParams = toml::from_str("connectivity = 4").unwrap();
        assert!(p.validate().unwrap_err().contains("8-connectivity"));
        let p: DetectParams = toml::from_str("[bands]\nbleu = 1").unwrap();
        assert!(p.validate().unwrap_err().contains("bleu"));
        let p: DetectParams = toml::from_str("[bands]\nblue = 1\nred = 4\nnir = 4").unwrap();
        assert!(p
            .validate()
            .unwrap_err()
            .contains("`nir` and `red` are both band 4"));
    }

    #[test]
    fn gf_profile_skips_swir_statistics() {
        let p = DetectParams::default();
        let (kept, skipped) = p
            .stat_channels(&SensorProfile::builtin("gf-wfv").unwrap())
            .unwrap();
        assert_eq!(
            kept.iter().map(|v| v.to_string()).collect::<Vec<_>>(),
            ["ndvi_drop", "brightness_rise"]
        );
        assert_eq!(skipped.len(), 2);
    }
}
