//! Zones and findings: what the overlay stage says about one patch. Zone kinds follow the
//! law the policy ranks by (see `docs/overlay.md`); findings are plain data, so the ledger,
//! the policy and the packages read them without knowing how they were computed.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The kind of a zone layer. Kinds drive licence status and the policy's weights.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoneKind {
    EcologicalRedLine,
    NatureReserve,
    NoMiningZone,
    RiverCorridor,
    MiningRight,
    ExplorationRight,
    RestorationProject,
    ConstructionProject,
    SpecialLand,
    AdminDivision,
    /// A user kind: the policy weighs it by this name.
    Custom(String),
}

impl ZoneKind {
    /// Every built-in kind name, as written in layer files.
    pub const NAMES: [&'static str; 11] = [
        "ecological_red_line",
        "nature_reserve",
        "no_mining_zone",
        "river_corridor",
        "mining_right",
        "exploration_right",
        "restoration_project",
        "construction_project",
        "special_land",
        "admin_division",
        "custom",
    ];

    /// Parse a layer file's `kind`; `custom` needs the weight name.
    pub fn parse(kind: &str, weight: Option<&str>) -> Result<Self, String> {
        use ZoneKind::*;
        Ok(match kind {
            "ecological_red_line" => EcologicalRedLine,
            "nature_reserve" => NatureReserve,
            "no_mining_zone" => NoMiningZone,
            "river_corridor" => RiverCorridor,
            "mining_right" => MiningRight,
            "exploration_right" => ExplorationRight,
            "restoration_project" => RestorationProject,
            "construction_project" => ConstructionProject,
            "special_land" => SpecialLand,
            "admin_division" => AdminDivision,
            "custom" => match weight {
                Some(w) if !w.trim().is_empty() => Custom(w.trim().to_string()),
                _ => return Err("kind `custom` needs `weight = \"<name>\"`".into()),
            },
            other => {
                return Err(format!(
                    "unknown kind `{other}`; use one of {}",
                    Self::NAMES.join(", ")
                ))
            }
        })
    }

    /// The name written in outputs (`custom:<weight>` for custom kinds).
    pub fn name(&self) -> String {
        match self {
            ZoneKind::Custom(w) => format!("custom:{w}"),
            k => Self::NAMES[k.ordinal()].to_string(),
        }
    }

    /// A short Chinese label for tables meant for county offices.
    pub fn label_zh(&self) -> &'static str {
        use ZoneKind::*;
        match self {
            EcologicalRedLine => "生态保护红线",
            NatureReserve => "自然保护地",
            NoMiningZone => "禁止开采区",
            RiverCorridor => "江河干流廊道",
            MiningRight => "采矿权",
            ExplorationRight => "探矿权",
            RestorationProject => "生态修复项目",
            ConstructionProject => "建设项目",
            SpecialLand => "特殊用地",
            AdminDivision => "行政区",
            Custom(_) => "自定义图层",
        }
    }

    fn ordinal(&self) -> usize {
        use ZoneKind::*;
        match self {
            EcologicalRedLine => 0,
            NatureReserve => 1,
            NoMiningZone => 2,
            RiverCorridor => 3,
            MiningRight => 4,
            ExplorationRight => 5,
            RestorationProject => 6,
            ConstructionProject => 7,
            SpecialLand => 8,
            AdminDivision => 9,
            Custom(_) => 10,
        }
    }

    /// Kinds whose overlap is a protected-area hit (the notice's focus areas).
    pub fn is_protected(&self) -> bool {
        matches!(
            self,
            ZoneKind::EcologicalRedLine
                | ZoneKind::NatureReserve
                | ZoneKind::NoMiningZone
                | ZoneKind::RiverCorridor
        )
    }
}

impl fmt::Display for ZoneKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// Level of an administrative division (GB/T 2260).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminLevel {
    Province,
    Prefecture,
    County,
}

/// A patch's standing against the mining rights (法释〔2016〕25号: mining outside the
/// licensed area counts as mining without a licence).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LicenceStatus {
    /// Inside valid mining rights (within the area tolerance).
    Inside,
    /// Partly outside every valid mining right (越界).
    PartlyOutside,
    /// Touches only expired mining rights.
    Expired,
    /// Touches only exploration rights (以探代采 suspected).
    ExplorationOnly,
    /// No right at all (无证).
    OutsideAllRights,
    /// Not screened: the overlay had no mining- or exploration-rights layer, so nothing
    /// says whether the ground is licensed (a patch is not 无证 for want of the layer).
    NotChecked,
}

impl LicenceStatus {
    pub fn name(self) -> &'static str {
        match self {
            LicenceStatus::Inside => "inside",
            LicenceStatus::PartlyOutside => "partly_outside",
            LicenceStatus::Expired => "expired",
            LicenceStatus::ExplorationOnly => "exploration_only",
            LicenceStatus::OutsideAllRights => "outside_all_rights",
            LicenceStatus::NotChecked => "not_checked",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            LicenceStatus::Inside => "证内",
            LicenceStatus::PartlyOutside => "越界",
            LicenceStatus::Expired => "证过期",
            LicenceStatus::ExplorationOnly => "以探代采嫌疑",
            LicenceStatus::OutsideAllRights => "无证",
            LicenceStatus::NotChecked => "未核对矿权",
        }
    }

    /// Every status, in the order the findings' summaries list them.
    pub const ALL: [LicenceStatus; 6] = [
        LicenceStatus::Inside,
        LicenceStatus::PartlyOutside,
        LicenceStatus::Expired,
        LicenceStatus::ExplorationOnly,
        LicenceStatus::OutsideAllRights,
        LicenceStatus::NotChecked,
    ];

    /// Whether the rights screening found the ground suspect (无证, 越界, expired,
    /// exploration only): what counts as suspected illegal area and as an act for the
    /// repeat-offender rule. Neither licensed ground nor unscreened ground is.
    pub fn suspect(self) -> bool {
        !matches!(self, LicenceStatus::Inside | LicenceStatus::NotChecked)
    }
}

impl fmt::Display for LicenceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One zone a patch overlaps (or, for river corridors, lies near).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZoneHit {
    /// The layer's label in the layers file.
    pub layer: String,
    pub kind: ZoneKind,
    pub zone_id: String,
    pub zone_name: String,
    /// Overlap on the ellipsoid, m².
    pub overlap_m2: f64,
    /// Overlap in the plane of the work CRS, m² (what a GIS measures in that CRS).
    pub grid_overlap_m2: f64,
    /// Share of the patch, 0–100.
    pub overlap_pct: f64,
    /// Carried attributes (name, value), in the layer file's order.
    pub attrs: Vec<(String, String)>,
}

/// Codes and names of the division holding the largest part of a patch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AdminPlace {
    pub province_code: Option<String>,
    pub province_name: Option<String>,
    pub prefecture_code: Option<String>,
    pub prefecture_name: Option<String>,
    pub county_code: Option<String>,
    pub county_name: Option<String>,
}

/// Everything the overlay says about one patch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub patch_id: String,
    /// The patch's area on the ellipsoid, m².
    pub area_m2: f64,
    pub hits: Vec<ZoneHit>,
    pub licence_status: LicenceStatus,
    /// Area not covered by any valid mining right, m² (the suspected illegal area).
    pub outside_licence_m2: f64,
    /// Part of the patch is covered only by mining rights granted after the earlier image:
    /// the works may predate them (先采后批), which the field check must date. `None` when
    /// the earlier image's date is unknown.
    pub licence_granted_in_pair: Option<bool>,
    /// The licences the patch meets were judged on its later date: the date is known and
    /// each of them has a validity period. `Some(false)`: some right counted as valid
    /// without a check (证内 is then unchecked against expiry); `None`: no right met.
    #[serde(default)]
    pub licence_validity_checked: Option<bool>,
    /// Licence numbers of the rights the patch touches.
    pub licences: Vec<String>,
    /// Holders and minerals of those rights (sorted, distinct).
    pub holders: Vec<String>,
    pub minerals: Vec<String>,
    pub in_restoration_project: bool,
    pub in_construction_project: bool,
    /// On military or other special land: filed as 伪变化 (特殊用地) by rule.
    pub special_land: bool,
    pub admin: AdminPlace,
    /// Coarser admin layers that hold more of the patch in a division other than the one
    /// its finest division belongs to (the finest decides), one line each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub admin_overruled: Vec<String>,
    /// Distance from the patch to the nearest river (line, or polygon: 0 inside) of a
    /// corridor layer, m.
    pub river_distance_m: Option<f64>,
    /// At least 10 亩 of suspected illegal area: needs a provincial field check.
    pub over_10_mu_illegal: bool,
}
