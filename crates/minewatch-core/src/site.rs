//! Sites across years: the ledger links each cycle's patches into sites with stable ids;
//! the policy ranks sites. Also the outside records both read: earlier verdicts and
//! administrative penalties.

use crate::date::{AcqDate, DatePair};
use crate::zone::Finding;
use serde::{Deserialize, Serialize};

/// A county's field verdict on a patch (核查结果).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// 合法
    Legal,
    /// 违法
    Illegal,
    /// 伪变化 (no mining activity)
    FalseChange,
}

impl Verdict {
    /// Parse the Chinese or English word.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_lowercase().as_str() {
            "合法" | "legal" => Some(Verdict::Legal),
            "违法" | "illegal" | "confirmed_illegal" => Some(Verdict::Illegal),
            "伪变化" | "false_change" | "false" => Some(Verdict::FalseChange),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Verdict::Legal => "legal",
            Verdict::Illegal => "illegal",
            Verdict::FalseChange => "false_change",
        }
    }
}

/// One earlier cycle's verdict, keyed by patch id, site id or location.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryRecord {
    /// Where it came from, for messages: `file:row`.
    pub source: String,
    pub patch_id: Option<String>,
    pub site_id: Option<String>,
    /// (lon, lat) in EPSG:4326 / 4490.
    pub lonlat: Option<(f64, f64)>,
    pub verdict: Verdict,
    pub reason: String,
    pub case_filed: bool,
    pub date: AcqDate,
}

/// An administrative penalty for illegal mining.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Penalty {
    pub source: String,
    pub party: String,
    pub licence: Option<String>,
    pub date: AcqDate,
    pub decision: String,
    pub lonlat: Option<(f64, f64)>,
}

/// A site: the patches of several cycles at one place, linked by overlap or adjacency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Site {
    /// `S<id of the earliest patch>`, or the id a previous ledger gave it.
    pub id: String,
    /// Ids of earlier sites this one absorbed when a new patch joined them.
    pub merged_ids: Vec<String>,
    pub patch_ids: Vec<String>,
    pub first_year: u16,
    pub change_years: Vec<u16>,
    pub longest_run: u32,
    pub multi_year_change: bool,
    /// (year, m² of change that year): a report by the later image's calendar year,
    /// summing the pairs ending in it; nothing is judged by it.
    pub area_by_year: Vec<(u16, f64)>,
    pub total_area_m2: f64,
    /// Area of the latest pair minus the adjacent pair before it, and as a percentage.
    pub growth_m2: f64,
    pub growth_pct: Option<f64>,
    pub last_change_type: String,
    pub last_confidence: String,
    /// Changes in the latest date pair of the run.
    pub new_change: bool,
    /// The comparison in which the site reverted (vegetation came back: 复绿), when that is
    /// its latest change. Reversals count as no change: no area, no run, no act; the other
    /// fields describe the site's mining change before it.
    #[serde(default)]
    pub restored: Option<DatePair>,
    /// The later image of its latest pair.
    pub last_date: AcqDate,
    /// Its latest comparison: the latest of the pairs it changed in (by later, then
    /// earlier image). Its patches are `latest`.
    pub latest_pair: DatePair,
    /// (lon, lat) of the area-weighted centre of its latest patches.
    pub centre_lonlat: (f64, f64),
    /// Findings of the patches of its latest pair (not of its last calendar year: quarterly
    /// pairs of one year are separate changes).
    pub latest: Vec<Finding>,
    /// Earlier verdicts matched to it, oldest first.
    pub history: Vec<HistoryRecord>,
    /// Whether, when the latest verdict is 伪变化, the footprint found after it outside the
    /// footprint known at it exceeds the policy's share of the known one (new ground, not a
    /// re-detection). None without such a verdict, or when no patch predates it (growth
    /// cannot be measured; the verdict stands).
    pub grew_since_false_change: Option<bool>,
    /// Penalised parties linked to it (by licence or location).
    pub parties: Vec<String>,
    /// Two penalties within two years, then new change (法释〔2016〕25号 art. 3).
    pub criminal_referral: Option<Referral>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Referral {
    pub party: String,
    /// Decision numbers cited, oldest first.
    pub decisions: Vec<String>,
}
