//! The `sample` and `audit` runs: tables in (ranked tasks, counties' returned forms,
//! re-check results), seeded samples, audit findings and statistics out, with manifests
//! that record every input's size and sha256, through the staging folder.

use crate::error::PipelineError;
use crate::manifest::HashJob;
use crate::staging::Staging;
use crate::table_read;
use crate::write::table as tw;
use crate::write::{round, Attr};
use minewatch_core::{AcqDate, Verdict};
use minewatch_verify::audit::{self, RecheckStratum, Rechecked, Returned, Severity, TaskFacts};
use minewatch_verify::sample::{self, Allocation, Design, Size, Unit};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct SampleRequest {
    pub input: PathBuf,
    pub id_column: String,
    pub strata: Vec<String>,
    pub must: Vec<String>,
    pub size: Size,
    pub allocation: Allocation,
    pub neyman_by: Option<String>,
    pub min_per_stratum: usize,
    pub seed: u64,
    pub out: PathBuf,
    pub command: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SampleSummary {
    pub out: PathBuf,
    pub population: usize,
    pub sampled: usize,
    pub mandatory: usize,
    pub strata: usize,
    pub seed: u64,
    /// Tasks that are no sampling unit: rank's `verified_unchanged` 1 (in no package).
    pub left_out_verified_unchanged: usize,
}

/// Rank's column of a site verified earlier and unchanged since (in no county package).
const VERIFIED_UNCHANGED: &str = "verified_unchanged";

/// A rule that forces units into the sample: `col` (truthy), `col=value`, `col~text`,
/// `col>=number`.
#[derive(Debug, Clone, PartialEq)]
enum Rule {
    Truthy(String),
    Eq(String, String),
    Contains(String, String),
    AtLeast(String, f64),
}

/// Why a mandatory-inclusion rule (`--must`, `sample.must`) cannot be used, if it cannot.
pub fn check_must(rule: &str) -> Result<(), String> {
    Rule::parse(rule).map(drop)
}

/// The column a `--must` rule reads.
pub fn must_column(rule: &str) -> Result<String, String> {
    Rule::parse(rule).map(|r| r.column().to_string())
}

impl Rule {
    fn parse(s: &str) -> Result<Self, String> {
        if let Some((c, v)) = s.split_once(">=") {
            let n = v
                .trim()
                .parse()
                .map_err(|_| format!("`{v}` is not a number"))?;
            return Ok(Rule::AtLeast(c.trim().into(), n));
        }
        if let Some((c, v)) = s.split_once('~') {
            return Ok(Rule::Contains(c.trim().into(), v.trim().into()));
        }
        if let Some((c, v)) = s.split_once('=') {
            return Ok(Rule::Eq(c.trim().into(), v.trim().into()));
        }
        Ok(Rule::Truthy(s.trim().into()))
    }

    /// The column the rule reads.
    fn column(&self) -> &str {
        match self {
            Rule::Truthy(c) | Rule::Eq(c, _) | Rule::Contains(c, _) | Rule::AtLeast(c, _) => c,
        }
    }

    fn holds(&self, row: &table_read::Row) -> bool {
        let v = row.get(self.column()).unwrap_or("");
        match self {
            Rule::Truthy(_) => !matches!(v, "" | "0" | "false" | "否" | "no"),
            Rule::Eq(_, x) => v == x,
            Rule::Contains(_, x) => v.contains(x.as_str()),
            Rule::AtLeast(_, n) => v.parse::<f64>().is_ok_and(|x| x >= *n),
        }
    }

    /// The rule on another name of its column.
    fn on_column(self, c: String) -> Self {
        match self {
            Rule::Truthy(_) => Rule::Truthy(c),
            Rule::Eq(_, v) => Rule::Eq(c, v),
            Rule::Contains(_, v) => Rule::Contains(c, v),
            Rule::AtLeast(_, n) => Rule::AtLeast(c, n),
        }
    }

    /// What the rule's column holds, for a rule no row meets: its values (`;`-separated
    /// lists taken apart for `~`), or its largest number for `>=`.
    fn values_seen(&self, rows: &[table_read::Row]) -> String {
        const SHOWN: usize = 20;
        let c = self.column();
        let cells = rows.iter().filter_map(|r| r.get(c));
        if let Rule::AtLeast(..) = self {
            let max = cells
                .filter_map(|v| v.parse::<f64>().ok())
                .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))));
            return match max {
                Some(m) => format!("the largest `{c}` is {m}"),
                None => format!("`{c}` holds no number"),
            };
        }
        let values: BTreeSet<&str> = match self {
            Rule::Contains(..) => cells
                .flat_map(|v| v.split([';', ',']))
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .collect(),
            _ => cells.collect(),
        };
        if values.is_empty() {
            return format!("`{c}` is blank in every task");
        }
        let mut list: Vec<&str> = values.iter().copied().take(SHOWN).collect();
        if values.len() > SHOWN {
            list.push("…");
        }
        let what = match self {
            Rule::Contains(_, x) => format!("no `{c}` holds `{x}`; "),
            Rule::Eq(_, x) => format!("`{x}` is no value of `{c}`; "),
            _ => String::new(),
        };
        format!("{what}`{c}` holds: {}", list.join(", "))
    }

    fn text(&self) -> String {
        match self {
            Rule::Truthy(c) => c.clone(),
            Rule::Eq(c, v) => format!("{c}={v}"),
            Rule::Contains(c, v) => format!("{c}~{v}"),
            Rule::AtLeast(c, n) => format!("{c}>={n}"),
        }
    }
}

/// The tasks of a `rank` folder come from its GeoPackage, whose field names are English
/// whatever header language the CSV was written with: a run config's sampling rules and
/// `validate` name rank's English columns, and the folder is what `run` samples. A user who
/// wants the CSV (its Chinese headers in sample.csv) gives it itself.
fn tasks_path(p: &Path) -> Result<PathBuf, PipelineError> {
    crate::run_folder::data_file(p, crate::run_folder::Stage::Rank)
}

/// Hash the inputs on a side thread while the run reads them (through the shared hash
/// cache); `records` turns the hashes into the manifest's `inputs`. Paths that are not
/// files are left out: reading them fails with a better message.
pub(crate) struct InputHashes {
    paths: Vec<PathBuf>,
    job: HashJob,
}

impl InputHashes {
    pub(crate) fn start(paths: impl IntoIterator<Item = PathBuf>) -> Result<Self, PipelineError> {
        let mut seen = BTreeSet::new();
        let paths: Vec<PathBuf> = paths
            .into_iter()
            .filter(|p| crate::file_hash::hashable(p) && seen.insert(p.clone()))
            .collect();
        let job = HashJob::start(paths.clone())?;
        Ok(Self { paths, job })
    }

    /// `[{path, bytes, sha256}]`, in the order given, as `rank` records its inputs.
    pub(crate) fn records(self) -> Result<Vec<serde_json::Value>, PipelineError> {
        let sums = self.job.finish()?;
        Ok(self
            .paths
            .iter()
            .zip(sums)
            .map(|(p, (bytes, sha256))| {
                serde_json::json!({"path": p, "bytes": bytes, "sha256": sha256})
            })
            .collect())
    }
}

fn size_text(s: &Size) -> String {
    match s {
        Size::Rate(r) => format!("rate {r}"),
        Size::Count(c) => format!("count {c}"),
        Size::Proportion {
            confidence,
            margin,
            p,
        } => format!("proportion: confidence {confidence}, margin {margin}, p {p}"),
    }
}

/// The stratum value of an empty cell. Not `-`: a stratum `-|high` in sample.csv is a
/// formula to Excel.
const BLANK_STRATUM: &str = "(blank)";

pub fn run_sample(req: &SampleRequest) -> Result<SampleSummary, PipelineError> {
    req.size.check().map_err(PipelineError::Input)?;
    let input = tasks_path(&req.input)?;
    let hashes = InputHashes::start([input.clone()])?;
    let mut t = table_read::read(&input)?;
    // A `rank --header zh` table reads with English names (sample.csv keeps the headers of
    // the table read); a column may be named either way.
    let shown_columns = t.columns.clone();
    crate::rank_run::english_header(&mut t);
    let col = |c: &str| -> String {
        let c = c.trim();
        match crate::rank_run::english(c) {
            Some(en) if !t.columns.iter().any(|x| x == c) => en.to_string(),
            _ => c.to_string(),
        }
    };
    let id_column = col(&req.id_column);
    let strata: Vec<String> = req.strata.iter().map(|c| col(c)).collect();
    let rules: Vec<Rule> = req
        .must
        .iter()
        .map(|m| {
            Rule::parse(m)
                .map(|r| {
                    let c = col(r.column());
                    r.on_column(c)
                })
                .map_err(|e| PipelineError::Input(format!("--must {m}: {e}")))
        })
        .collect::<Result<_, _>>()?;
    let mut needed: Vec<&str> = vec![id_column.as_str()];
    needed.extend(strata.iter().map(String::as_str));
    needed.extend(rules.iter().map(Rule::column));
    let neyman = req.neyman_by.as_deref().map(|n| match n.split_once('=') {
        Some((c, v)) => (col(c), Some(v.trim().to_string())),
        None => (col(n), None),
    });
    if let Some((c, _)) = &neyman {
        needed.push(c);
    }
    if req.allocation == Allocation::Neyman && neyman.is_none() {
        return Err(PipelineError::Input(
            "Neyman allocation needs --neyman-by COLUMN (a number, e.g. score) or COLUMN=VALUE (an indicator, e.g. verdict=违法)".into(),
        ));
    }
    // Ignoring it would report "Proportional by score" of a proportional sample.
    if let (Some(n), Allocation::Proportional) = (&req.neyman_by, req.allocation) {
        return Err(PipelineError::Input(format!(
            "--neyman-by {n} sets the Neyman allocation's variable, but the allocation is proportional: add --allocation neyman, or drop --neyman-by"
        )));
    }
    t.require(&needed, "sample")?;
    let mut units = Vec::with_capacity(t.rows.len());
    let mut by_id: BTreeMap<String, &table_read::Row> = BTreeMap::new();
    // A site verified earlier and unchanged since (rank's `verified_unchanged`) is in no
    // county package: no county could be spot-checked on it, so it is no sampling unit,
    // and a `--must` rule does not force it in either.
    let mut left_out: Vec<&table_read::Row> = Vec::new();
    for r in &t.rows {
        let id = r
            .get(&id_column)
            .ok_or_else(|| t.err(r.line, &id_column, "empty id"))?
            .to_string();
        if by_id.insert(id.clone(), r).is_some() {
            return Err(t.err(r.line, &id_column, format!("id {id} appears twice")));
        }
        if r.get(VERIFIED_UNCHANGED) == Some("1") {
            left_out.push(r);
            continue;
        }
        let stratum = strata
            .iter()
            .map(|c| r.get(c).unwrap_or(BLANK_STRATUM))
            .collect::<Vec<_>>()
            .join("|");
        let value = match &neyman {
            None => 0.0,
            Some((c, Some(v))) => (r.get(c) == Some(v.as_str())) as u8 as f64,
            Some((c, None)) => {
                let v = r.get(c).unwrap_or("");
                v.parse()
                    .map_err(|_| t.err(r.line, c, format!("`{v}` is not a number")))?
            }
        };
        units.push(Unit {
            mandatory: rules.iter().find(|x| x.holds(r)).map(Rule::text),
            id,
            stratum: if stratum.is_empty() {
                "all".into()
            } else {
                stratum
            },
            value,
        });
    }
    let design = Design {
        size: req.size.clone(),
        allocation: req.allocation,
        min_per_stratum: req.min_per_stratum,
        seed: req.seed,
    };
    let s = sample::draw_sample(&units, &design);
    let mut notes = Vec::new();
    if !left_out.is_empty() {
        let note = format!(
            "{} of {} tasks left out: `{VERIFIED_UNCHANGED}` 1 (verified earlier and unchanged since, in no county package); the population is the other {}",
            left_out.len(),
            t.rows.len(),
            units.len()
        );
        eprintln!("sample: {note}");
        notes.push(note);
    }
    // A rule no task meets is most likely a typo (zone_kinds~ecological_redline for
    // ecological_red_line): the units it was to force in would be left to chance.
    for r in &rules {
        let left = left_out.iter().filter(|row| r.holds(row)).count();
        if left > 0 {
            let note = format!(
                "--must {} matches {left} `{VERIFIED_UNCHANGED}` task(s): left out, not forced in",
                r.text()
            );
            eprintln!("sample: warning: {note}");
            notes.push(note);
        }
        if left == 0 && !t.rows.iter().any(|row| r.holds(row)) {
            let note = format!(
                "--must {} matches no task: no unit is mandatory by it; {}",
                r.text(),
                r.values_seen(&t.rows)
            );
            eprintln!("sample: warning: {note}");
            notes.push(note);
        }
    }
    // A count the pool cannot give is drawn as all of the pool: say so, as the report's
    // size line alone ("count 50 → 30") is easy to miss and a census is no sample.
    let pool = units.iter().filter(|u| u.mandatory.is_none()).count();
    if let Size::Count(c) = req.size {
        if c > pool {
            let note = format!(
                "--count {c} asks more than the {pool} tasks left after the mandatory ones: all {pool} are taken (a census of the pool, not a sample)"
            );
            eprintln!("sample: warning: {note}");
            notes.push(note);
        }
    }
    // The minimum per stratum over all strata can ask more than the size: the sample is
    // that large, and the report says so rather than the size asked.
    if s.random_n > s.design_n && req.min_per_stratum > 0 {
        let note = format!(
            "{} asks {} random units, but --min-per-stratum {} over {} strata takes {}: the sample holds {} random units",
            size_text(&req.size),
            s.design_n,
            req.min_per_stratum,
            s.strata.len(),
            s.random_n,
            s.random_n
        );
        eprintln!("sample: warning: {note}");
        notes.push(note);
    }
    // A stratum the allocation gives no chance at all can never be spot-checked: the
    // design may be what was meant (Neyman), but it must not pass unseen.
    let zero = s.zero_chance();
    if !zero.is_empty() {
        let named: Vec<String> = zero
            .iter()
            .map(|z| format!("{} ({} units)", z.stratum, z.population - z.mandatory))
            .collect();
        let note = format!(
            "{} {} no chance of a spot check (inclusion probability 0{}): {}; give --min-per-stratum 1 so that every stratum is checked",
            zero.len(),
            if zero.len() == 1 { "stratum has" } else { "strata have" },
            if req.allocation == sample::Allocation::Neyman {
                ": Neyman's allocation gives nothing to a stratum whose values are all alike"
            } else {
                ""
            },
            named.join(", ")
        );
        eprintln!("sample: warning: {note}");
        notes.push(note);
    }
    let staging = Staging::new(&req.out)?;
    let mut header: Vec<String> = [
        "unit_id",
        "stratum",
        "inclusion_probability",
        "weight",
        "selection",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    header.extend(shown_columns.iter().cloned());
    let rows: Vec<Vec<Attr>> = s
        .picks
        .iter()
        .map(|p| {
            let mut v = vec![
                Attr::Text(p.id.clone()),
                Attr::Text(p.stratum.clone()),
                Attr::Real(round(p.inclusion_probability, 9)),
                Attr::Real(round(1.0 / p.inclusion_probability, 6)),
                Attr::Text(p.selection.clone()),
            ];
            let r = by_id[&p.id];
            v.extend(
                t.columns
                    .iter()
                    .map(|c| Attr::Text(r.fields.get(c).cloned().unwrap_or_default())),
            );
            v
        })
        .collect();
    tw::write_csv(&staging.path("sample.csv"), &header, &rows)?;
    let mandatory = s
        .picks
        .iter()
        .filter(|p| p.inclusion_probability == 1.0 && p.selection != "random")
        .count();
    let mut rep = format!(
        "minewatch sample — 抽样设计 / sampling design\n\
         input 输入: {}\nseed 随机种子: {}\nsize 样本量: {} → {} random units of {} (after {} mandatory){}\n\
         allocation 分配: {:?}{}; minimum per stratum 每层最少: {}\nstrata 分层: {}\nmandatory 必选: {}\n{}{ROUNDING_NOTE}\n\
         stratum 层 | population 总体 | mandatory 必选 | expected 期望 | random 随机 | inclusion probability 入样概率\n",
        t.path.display(),
        req.seed,
        size_text(&req.size),
        s.design_n.max(s.random_n),
        units.len() - mandatory,
        mandatory,
        if s.random_n > s.design_n {
            format!(
                "; {} asked, raised by the minimum of {} per stratum 每层最少数使样本量增加",
                s.design_n, req.min_per_stratum
            )
        } else {
            String::new()
        },
        req.allocation,
        req.neyman_by.as_ref().map(|n| format!(" by {n}")).unwrap_or_default(),
        req.min_per_stratum,
        if req.strata.is_empty() { "none".into() } else { req.strata.join(", ") },
        if rules.is_empty() { "none".into() } else { rules.iter().map(Rule::text).collect::<Vec<_>>().join("; ") },
        if left_out.is_empty() {
            String::new()
        } else {
            format!(
                "left out 未纳入: {} tasks verified earlier and unchanged since 已核查且无新变化 (in no county package 未下发; not in the population)\n",
                left_out.len()
            )
        },
    );
    for r in &s.strata {
        // A stratum of mandatory units only has no random unit: its units are drawn with
        // probability 1, as sample.csv gives them, not the empty pool's 0.
        let pi = r.inclusion_probability.map_or_else(
            || "1 (all mandatory 全部必选)".to_string(),
            |p| format!("{p:.6}"),
        );
        rep.push_str(&format!(
            "{} | {} | {} | {:.4} | {} | {pi}\n",
            r.stratum, r.population, r.mandatory, r.expected, r.random
        ));
    }
    std::fs::write(staging.path("sample_report.txt"), rep).map_err(|e| out_err(&req.out, e))?;
    let summary = SampleSummary {
        out: req.out.clone(),
        population: units.len(),
        sampled: s.picks.len(),
        mandatory,
        strata: s.strata.len(),
        seed: req.seed,
        left_out_verified_unchanged: left_out.len(),
    };
    let m = serde_json::json!({
        "tool": "minewatch sample",
        "version": env!("CARGO_PKG_VERSION"),
        "command": req.command,
        "input": t.path,
        "inputs": hashes.records()?,
        "design": {
            "size": size_text(&req.size),
            "design_n": s.design_n,
            "random_n": s.random_n,
            "allocation": format!("{:?}", req.allocation),
            "neyman_by": req.neyman_by,
            "min_per_stratum": req.min_per_stratum,
            "strata": req.strata,
            "mandatory": rules.iter().map(Rule::text).collect::<Vec<_>>(),
            "seed": req.seed,
            "selection": "per stratum, the units with the smallest SplitMix64(FNV-1a(id) ^ SplitMix64(seed))",
            "rounding": ROUNDING,
        },
        "summary": summary,
        "notes": notes,
        "outputs": ["sample.csv", "sample_report.txt", "sample_manifest.json"],
    });
    crate::manifest::write(&staging.path("sample_manifest.json"), &m)?;
    staging.commit(
        &["sample.csv", "sample_report.txt", "sample_manifest.json"],
        &[],
    )?;
    Ok(summary)
}

/// How the design's shares become whole units (see `minewatch_verify::sample`).
const ROUNDING: &str = "a rate with proportional allocation: ceil(rate * N_h) per stratum (at least the minimum), inclusion probability ceil(rate * N_h) / N_h; otherwise the share s_h rounded down, plus one unit for the strata a seeded systematic draw over the fractional parts picks (probability s_h - floor(s_h)), inclusion probability s_h / N_h";

const ROUNDING_NOTE: &str = "expected 期望: the stratum's share of the design; random 随机: it rounded, by a seeded draw when fractional; inclusion probability 入样概率: of a random unit, expected / (population − mandatory), over seeds; a mandatory unit's is 1 必选单元为 1";

fn out_err(out: &Path, e: impl std::fmt::Display) -> PipelineError {
    PipelineError::Output {
        path: out.to_path_buf(),
        msg: e.to_string(),
    }
}

#[derive(Debug, Clone)]
pub struct AuditRequest {
    pub returned: Vec<PathBuf>,
    pub tasks: PathBuf,
    pub recheck_size: Size,
    pub recheck_min_per_stratum: usize,
    pub seed: u64,
    pub recheck_results: Option<PathBuf>,
    pub out: PathBuf,
    pub command: String,
    /// The audit's date: a 核查日期 after it is flagged. Recorded in the manifest.
    pub today: AuditDate,
}

/// The audit's date and where it came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AuditDate {
    /// Given (`--today`): a rerun with it judges alike.
    Given(AcqDate),
    /// The clock's date in China (UTC+8), where the forms are dated.
    Clock(AcqDate),
}

impl AuditDate {
    /// Today by the system clock in China (UTC+8).
    pub fn clock() -> Self {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        // A clock outside the years dates are read in (1950–2200) is taken as their end.
        let day = AcqDate::from_unix_days((secs + 8 * 3600).div_euclid(86_400));
        AuditDate::Clock(day.unwrap_or(AcqDate {
            year: 2200,
            month: 12,
            day: 31,
        }))
    }

    pub fn date(self) -> AcqDate {
        match self {
            AuditDate::Given(d) | AuditDate::Clock(d) => d,
        }
    }

    fn source(self) -> &'static str {
        match self {
            AuditDate::Given(_) => "--today",
            AuditDate::Clock(_) => {
                "system clock, China Standard Time (UTC+8); rerun with --today to judge alike"
            }
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditSummary {
    pub out: PathBuf,
    pub tasks: usize,
    pub returned_rows: usize,
    pub valid_verdicts: usize,
    pub invalid_rows: usize,
    /// Of `invalid_rows`, rows of a site whose verdict is still blank: returned, so not in
    /// `not_returned`, but not checked yet.
    pub rows_without_verdict: usize,
    pub review_flags: usize,
    pub not_returned: usize,
    pub recheck_sample: usize,
    pub misjudgement_counties: usize,
    /// Re-check picks without a result (listed in recheck_missing.csv); 0 without --recheck.
    pub recheck_missing: usize,
    /// Whether every pick has a result; absent without --recheck.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recheck_complete: Option<bool>,
}

pub const AUDIT_OUTPUTS: [&str; 7] = [
    "audit_issues.csv",
    "county_stats.csv",
    "not_returned.csv",
    "recheck_sample.csv",
    "recheck_missing.csv",
    "misjudgement.csv",
    "audit_manifest.json",
];

/// A licence status as its code: a code as it is, a Chinese label (a county package's
/// form writes 无证, 未核对矿权) as the code it stands for.
fn licence_code(v: &str) -> String {
    let v = v.trim();
    minewatch_core::LicenceStatus::ALL
        .iter()
        .find(|s| s.label_zh() == v)
        .map_or(v, |s| s.name())
        .to_string()
}

/// The re-check results' Chinese headers, as the forms and the zh guide write them.
const RECHECK_ZH: [(&str, &str); 3] = [
    ("图斑地块编号", "site_id"),
    ("复核结果", "recheck_verdict"),
    ("复核核查结果", "recheck_verdict"),
];

/// The columns of a filled recheck_sample.csv that record how its picks were drawn: a
/// re-check results file with them keeps the sample as drawn.
const RECHECK_DESIGN: [&str; 3] = ["stratum", "stratum_population", "inclusion_probability"];

/// One re-check pick, drawn now or kept from the sample drawn earlier.
struct DrawnPick {
    id: String,
    county: String,
    /// The county's verdict when drawn.
    county_verdict: String,
    stratum: String,
    stratum_population: usize,
    inclusion_probability: f64,
}

struct DrawnSample {
    picks: Vec<DrawnPick>,
    strata: Vec<RecheckStratum>,
}

/// The re-check sample of the valid verdicts, by county and verdict, drawn with the seed.
fn draw_recheck_sample(checked: &[audit::Checked], req: &AuditRequest) -> DrawnSample {
    let mut county_of_stratum: BTreeMap<String, String> = BTreeMap::new();
    let units: Vec<Unit> = checked
        .iter()
        .map(|c| {
            let stratum = format!("{}|{}", c.county, c.verdict.name());
            county_of_stratum.insert(stratum.clone(), c.county.clone());
            Unit {
                id: c.site_id.clone(),
                stratum,
                mandatory: None,
                value: 0.0,
            }
        })
        .collect();
    let s = sample::draw_sample(
        &units,
        &Design {
            size: req.recheck_size.clone(),
            allocation: Allocation::Proportional,
            min_per_stratum: req.recheck_min_per_stratum,
            seed: req.seed,
        },
    );
    let pop: BTreeMap<&str, usize> = s
        .strata
        .iter()
        .map(|r| (r.stratum.as_str(), r.population))
        .collect();
    let by_id: BTreeMap<&str, &audit::Checked> =
        checked.iter().map(|c| (c.site_id.as_str(), c)).collect();
    DrawnSample {
        picks: s
            .picks
            .iter()
            .map(|p| DrawnPick {
                id: p.id.clone(),
                county: by_id[p.id.as_str()].county.clone(),
                county_verdict: by_id[p.id.as_str()].verdict.name().to_string(),
                stratum: p.stratum.clone(),
                stratum_population: pop[p.stratum.as_str()],
                inclusion_probability: p.inclusion_probability,
            })
            .collect(),
        strata: s
            .strata
            .iter()
            .map(|r| RecheckStratum {
                county: county_of_stratum
                    .get(&r.stratum)
                    .cloned()
                    .unwrap_or_default(),
                stratum: r.stratum.clone(),
                population: r.population,
                sampled: r.random + r.mandatory,
            })
            .collect(),
    }
}

/// The re-check sample as drawn earlier, from a filled recheck_sample.csv: every row is a
/// pick (filled or not), with its stratum, the stratum's population and its inclusion
/// probability as recorded. A county's correction since does not redraw it.
fn fixed_recheck_sample(t: &table_read::Table) -> Result<DrawnSample, PipelineError> {
    let mut picks: Vec<DrawnPick> = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut strata: BTreeMap<String, RecheckStratum> = BTreeMap::new();
    for r in &t.rows {
        let Some(id) = r.get("site_id") else {
            continue;
        };
        if !seen.insert(id.to_string()) {
            return Err(t.err(r.line, "site_id", format!("{id} is listed twice")));
        }
        let stratum = r
            .get("stratum")
            .ok_or_else(|| {
                t.err(
                    r.line,
                    "stratum",
                    "blank: the pick's stratum (county|verdict) as drawn",
                )
            })?
            .to_string();
        let cell = |c: &str| r.get(c).unwrap_or("");
        let population: usize = cell("stratum_population").parse().map_err(|_| {
            t.err(
                r.line,
                "stratum_population",
                format!("`{}` is not a whole number", cell("stratum_population")),
            )
        })?;
        let pi: f64 = cell("inclusion_probability")
            .parse()
            .ok()
            .filter(|p: &f64| *p > 0.0 && *p <= 1.0)
            .ok_or_else(|| {
                t.err(
                    r.line,
                    "inclusion_probability",
                    format!(
                        "`{}` is no probability in (0, 1]",
                        cell("inclusion_probability")
                    ),
                )
            })?;
        let county = r
            .get("county_code")
            .map(str::to_string)
            .unwrap_or_else(|| stratum.split('|').next().unwrap_or("").to_string());
        let s = strata.entry(stratum.clone()).or_insert(RecheckStratum {
            county: county.clone(),
            stratum: stratum.clone(),
            population,
            sampled: 0,
        });
        if s.population != population {
            return Err(t.err(
                r.line,
                "stratum_population",
                format!(
                    "{population}, but an earlier row of stratum {stratum} says {}: the file is no recheck_sample.csv as the audit wrote it",
                    s.population
                ),
            ));
        }
        s.sampled += 1;
        picks.push(DrawnPick {
            id: id.to_string(),
            county,
            county_verdict: cell("county_verdict").to_string(),
            stratum,
            stratum_population: population,
            inclusion_probability: pi,
        });
    }
    Ok(DrawnSample {
        picks,
        strata: strata.into_values().collect(),
    })
}

pub fn run_audit(req: &AuditRequest) -> Result<AuditSummary, PipelineError> {
    let tasks_file = tasks_path(&req.tasks)?;
    let mut tt = table_read::read(&tasks_file)?;
    // `rank --header zh` writes the tasks with Chinese headers.
    crate::rank_run::english_header(&mut tt);
    tt.require(&["site_id", "county_code", "licence_status"], "tasks")?;
    let flag = |r: &table_read::Row, c: &str| r.get(c) == Some("1");
    // A site verified earlier and unchanged since is not in any package: no county
    // returns it, and it is not missing.
    let tasks: Vec<TaskFacts> = tt
        .rows
        .iter()
        .filter(|r| !flag(r, VERIFIED_UNCHANGED))
        .map(|r| {
            // The change's later image (rank writes it): no check can come before it.
            let last_date = match r.get("last_date") {
                None => None,
                Some(d) => Some(
                    AcqDate::parse_lenient(d)
                        .map_err(|e| tt.err(r.line, "last_date", e.to_string()))?,
                ),
            };
            Ok(TaskFacts {
                site_id: r.get("site_id").unwrap_or("").to_string(),
                county: r.get("county_code").unwrap_or("").to_string(),
                // A county package's tasks.csv shows the status in Chinese (无证): read
                // back as its code.
                licence_status: licence_code(r.get("licence_status").unwrap_or("")),
                multi_year_change: flag(r, "multi_year_change"),
                criminal_referral_candidate: flag(r, "criminal_referral_candidate"),
                last_date,
            })
        })
        .collect::<Result<_, PipelineError>>()?;
    let county_of: BTreeMap<&str, &str> = tasks
        .iter()
        .map(|t| (t.site_id.as_str(), t.county.as_str()))
        .collect();
    let counties: BTreeSet<&str> = tasks.iter().map(|t| t.county.as_str()).collect();
    // Returned tables: files as given, a folder's tables with copies of one form read once.
    let returned = crate::returned::read_all(&req.returned, &counties)?;
    let files: Vec<PathBuf> = returned.iter().map(|t| t.table.path.clone()).collect();
    let hashes = InputHashes::start(
        std::iter::once(tasks_file.clone())
            .chain(files.iter().cloned())
            .chain(req.recheck_results.iter().cloned()),
    )?;
    let mut rows = Vec::new();
    // Forms whose only id column is 图斑编号 (the patches' ids, not the site's).
    let mut patch_id_forms: BTreeSet<String> = BTreeSet::new();
    for rt in &returned {
        let (f, t) = (&rt.table.path, &rt.table);
        if t.columns
            .iter()
            .zip(&rt.fields)
            .any(|(c, f)| *f == Some("site_id") && c.trim() == audit::PATCH_IDS_ZH)
        {
            patch_id_forms.insert(f.display().to_string());
        }
        let canon: Vec<(String, Option<&str>)> = t
            .columns
            .iter()
            .cloned()
            .zip(rt.fields.iter().copied())
            .collect();
        // Every county's package form is called tasks.csv: messages name the path as given.
        let shown = f.display().to_string();
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let first = rows.len();
        // The county of a file: a county code in its name, else in its folder's name (a
        // county package folder), else its known ids' county (a guess: not judged).
        let code_in = |n: &str| crate::returned::county_in_name(n, &counties).map(str::to_string);
        let folder = f
            .parent()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let known = code_in(&name).or_else(|| code_in(&folder));
        let county_known = known.is_some();
        let mut county = known.unwrap_or_default();
        for r in &t.rows {
            let fields: BTreeMap<String, String> = canon
                .iter()
                .filter_map(|(raw, c)| {
                    c.map(|c| {
                        (
                            c.to_string(),
                            r.fields.get(raw).cloned().unwrap_or_default(),
                        )
                    })
                })
                .collect();
            if county.is_empty() {
                if let Some(c) = fields
                    .get("site_id")
                    .and_then(|id| county_of.get(id.trim()))
                {
                    county = c.to_string();
                }
            }
            rows.push(Returned {
                file: shown.clone(),
                line: r.line,
                county: String::new(),
                county_known,
                fields,
            });
        }
        for r in &mut rows[first..] {
            r.county = county.clone();
        }
    }
    let mut a = audit::audit(&tasks, &rows, req.today.date());
    for i in a
        .issues
        .iter_mut()
        .filter(|i| i.code == "unknown_id" && patch_id_forms.contains(&i.file))
    {
        i.message.push_str(&format!(
            "; the form's ids are in a {} column (the patches' ids): the audit matches the site ids of 图斑地块编号: copy that column from the task list into the form",
            audit::PATCH_IDS_ZH
        ));
        i.message_zh.push_str(&format!(
            "；表中编号取自“{}”列（图斑编号），审核按“图斑地块编号”匹配：请从任务表复制“图斑地块编号”列",
            audit::PATCH_IDS_ZH
        ));
    }
    let missing = audit::missing(&tasks, &rows);
    // A blank verdict counts as returned (returned rows are valid verdicts plus invalid
    // rows), so such a site is not in not_returned.csv: say how many are still unchecked.
    if a.no_verdict_rows > 0 {
        eprintln!(
            "audit: note: {} of the {} returned rows have no verdict yet (missing_verdict in audit_issues.csv, no_verdict in county_stats.csv): they count as returned but invalid, and are not listed in not_returned.csv",
            a.no_verdict_rows,
            rows.len()
        );
    }

    // The re-check results, read before the sample: a filled recheck_sample.csv (its
    // stratum, stratum_population and inclusion_probability columns) fixes the sample.
    let recheck_table = match &req.recheck_results {
        None => None,
        Some(p) => {
            let mut t = table_read::read(p)?;
            // The forms' Chinese headers (the zh guide's 复核结果.csv) read as English.
            for (zh, en) in RECHECK_ZH {
                if !t.columns.iter().any(|c| c == en) {
                    t.rename(zh, en);
                }
            }
            t.require(&["site_id", "recheck_verdict"], "re-check results")?;
            Some(t)
        }
    };
    let checked_by: BTreeMap<&str, &audit::Checked> =
        a.checked.iter().map(|c| (c.site_id.as_str(), c)).collect();
    let fixed_from = recheck_table.as_ref().filter(|t| {
        RECHECK_DESIGN
            .iter()
            .all(|c| t.columns.iter().any(|x| x == c))
    });
    let mut notes: Vec<String> = Vec::new();
    let drawn = match fixed_from {
        Some(t) => fixed_recheck_sample(t)?,
        None => {
            if let Some(p) = &req.recheck_results {
                let note = format!(
                    "{} has no {} columns (it is no filled recheck_sample.csv): the re-check sample is drawn again from the current forms with --seed {}, and a county's correction since the first draw can change it; fill in recheck_sample.csv itself to keep the sample as drawn",
                    p.display(),
                    RECHECK_DESIGN.join(" / "),
                    req.seed
                );
                eprintln!("audit: note: {note}");
                notes.push(note);
            }
            draw_recheck_sample(&a.checked, req)
        }
    };
    // A fixed sample over forms corrected since: the strata's populations stay as drawn.
    if let Some(t) = fixed_from {
        let mut now: BTreeMap<String, usize> = BTreeMap::new();
        for c in &a.checked {
            *now.entry(format!("{}|{}", c.county, c.verdict.name()))
                .or_default() += 1;
        }
        let then: BTreeMap<String, usize> = drawn
            .strata
            .iter()
            .map(|s| (s.stratum.clone(), s.population))
            .collect();
        let (n_now, n_then): (usize, usize) = (now.values().sum(), then.values().sum());
        if now != then {
            let note = format!(
                "the re-check sample is kept as drawn in {} (its picks, strata populations and inclusion probabilities; {n_then} valid verdicts then), although the forms now give {n_now} valid verdicts, or as many in other strata: verdicts corrected or added since the draw are outside its frame",
                t.path.display()
            );
            eprintln!("audit: note: {note}");
            notes.push(note);
        }
    }
    // Picks whose site is no valid verdict any more (a correction blanked or spoiled it):
    // their results are not counted, and their strata's samples are that much smaller.
    let gone: Vec<&DrawnPick> = drawn
        .picks
        .iter()
        .filter(|p| !checked_by.contains_key(p.id.as_str()))
        .collect();
    let gone_ids: BTreeSet<&str> = gone.iter().map(|p| p.id.as_str()).collect();
    if !gone.is_empty() {
        let note = format!(
            "{} re-check {} no valid verdict in the returned forms any more (corrected since the draw, or now invalid: see audit_issues.csv): {}; {} re-check results are not counted, and {} strata's samples are that much smaller",
            gone.len(),
            if gone.len() == 1 { "pick has" } else { "picks have" },
            gone.iter().map(|p| p.id.as_str()).collect::<Vec<_>>().join(", "),
            if gone.len() == 1 { "its" } else { "their" },
            if gone.len() == 1 { "its" } else { "their" },
        );
        eprintln!("audit: warning: {note}");
        notes.push(note);
    }

    // Picks without a result are listed, and their counties' estimates marked incomplete.
    let mut returned_ids: BTreeSet<String> = BTreeSet::new();
    let mut outside: Vec<(usize, String)> = Vec::new();
    let mis = match &recheck_table {
        None => Vec::new(),
        Some(t) => {
            let in_sample: BTreeMap<&str, &DrawnPick> =
                drawn.picks.iter().map(|p| (p.id.as_str(), p)).collect();
            let mut units = Vec::new();
            for r in &t.rows {
                // A row whose verdict is blank is a pick not re-checked yet (a form filled
                // in part), the same as a row left out: listed in recheck_missing.csv.
                if r.get("recheck_verdict").is_none() {
                    continue;
                }
                let id = r.get("site_id").unwrap_or("");
                if !returned_ids.insert(id.to_string()) {
                    return Err(t.err(r.line, "site_id", format!("{id} is listed twice")));
                }
                let v = r.get("recheck_verdict").unwrap_or("");
                let rv = Verdict::parse(v).ok_or_else(|| {
                    t.err(
                        r.line,
                        "recheck_verdict",
                        format!("`{v}` is not 合法, 违法 or 伪变化"),
                    )
                })?;
                let Some(pick) = in_sample.get(id) else {
                    outside.push((r.line, id.to_string()));
                    continue;
                };
                let Some(c) = checked_by.get(id) else {
                    continue; // no valid verdict any more: said above
                };
                units.push(Rechecked {
                    county: pick.county.clone(),
                    stratum: pick.stratum.clone(),
                    wrong: rv != c.verdict,
                });
            }
            let design: Vec<RecheckStratum> = drawn
                .strata
                .iter()
                .map(|s| RecheckStratum {
                    sampled: s.sampled
                        - drawn
                            .picks
                            .iter()
                            .filter(|p| p.stratum == s.stratum && gone_ids.contains(p.id.as_str()))
                            .count(),
                    ..s.clone()
                })
                .collect();
            audit::misjudgement(&design, &units)
        }
    };
    if !outside.is_empty() {
        let p = req.recheck_results.as_deref().unwrap_or(Path::new(""));
        let note = format!(
            "{} rows of {} are for sites not in the re-check sample, and are not counted: {}",
            outside.len(),
            p.display(),
            outside
                .iter()
                .map(|(l, id)| format!("row {l} {id}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        eprintln!("audit: warning: {note}");
        notes.push(note);
    }
    let recheck_missing: Vec<&DrawnPick> = if req.recheck_results.is_some() {
        drawn
            .picks
            .iter()
            .filter(|p| !returned_ids.contains(&p.id) && !gone_ids.contains(p.id.as_str()))
            .collect()
    } else {
        Vec::new()
    };
    if !recheck_missing.is_empty() {
        let counties: BTreeSet<&str> = mis
            .iter()
            .filter(|m| !m.complete)
            .map(|m| m.county.as_str())
            .collect();
        eprintln!(
            "audit: warning: {} of {} re-check picks have no result (listed in recheck_missing.csv); the misjudgement estimates of {} are marked incomplete",
            recheck_missing.len(),
            drawn.picks.len(),
            counties
                .into_iter()
                .map(|c| if c.is_empty() { "(no county code)" } else { c })
                .collect::<Vec<_>>()
                .join(", ")
        );
    }

    let staging = Staging::new(&req.out)?;
    let h = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let issue_rows: Vec<Vec<Attr>> = a
        .issues
        .iter()
        .map(|i| {
            vec![
                Attr::Text(match i.severity {
                    Severity::Invalid => "invalid".into(),
                    Severity::Review => "review".into(),
                }),
                Attr::Text(i.county.clone()),
                Attr::Text(i.file.clone()),
                Attr::Int(i.line as i64),
                Attr::Text(i.site_id.clone()),
                Attr::Text(i.field.clone()),
                Attr::Text(i.code.into()),
                Attr::Text(i.message.clone()),
                Attr::Text(i.message_zh.clone()),
            ]
        })
        .collect();
    tw::write_csv(
        &staging.path("audit_issues.csv"),
        &h(&[
            "severity",
            "county_code",
            "file",
            "row",
            "site_id",
            "field",
            "code",
            "message",
            "说明",
        ]),
        &issue_rows,
    )?;
    let rate = |r: Option<f64>| r.map_or(Attr::Null, |r| Attr::Real(round(r, 4)));
    let stat_rows: Vec<Vec<Attr>> = a
        .counties
        .iter()
        .map(|c| {
            vec![
                Attr::Text(c.county.clone()),
                Attr::Int(c.tasks as i64),
                Attr::Int(c.returned_valid as i64),
                // A rate over nothing is blank, not 0 (a real zero).
                rate(c.verified_share()),
                Attr::Int(c.illegal as i64),
                rate(c.violation_rate()),
                Attr::Int(c.filed as i64),
                rate(c.filing_rate()),
                Attr::Int(c.invalid_rows as i64),
                Attr::Int(c.no_verdict as i64),
                Attr::Int(c.review_flags as i64),
            ]
        })
        .collect();
    tw::write_csv(
        &staging.path("county_stats.csv"),
        &h(&[
            "county_code",
            "tasks",
            "valid_verdicts",
            "verified_share",
            "illegal",
            "violation_rate",
            "filed",
            "filing_rate",
            "invalid_rows",
            "no_verdict",
            "review_flags",
        ]),
        &stat_rows,
    )?;
    let miss_rows: Vec<Vec<Attr>> = missing
        .iter()
        .map(|id| {
            vec![
                Attr::Text(id.clone()),
                Attr::Text(county_of.get(id.as_str()).unwrap_or(&"").to_string()),
            ]
        })
        .collect();
    tw::write_csv(
        &staging.path("not_returned.csv"),
        &h(&["site_id", "county_code"]),
        &miss_rows,
    )?;
    // A re-check pick: its id, the county that checked it, the county's verdict (as the
    // forms give it now; as drawn for a pick that is no valid verdict any more), stratum.
    let pick_cells = |p: &DrawnPick| -> Vec<Attr> {
        let (county, verdict) = match checked_by.get(p.id.as_str()) {
            Some(c) => (c.county.clone(), c.verdict.name().to_string()),
            None => (p.county.clone(), p.county_verdict.clone()),
        };
        vec![
            Attr::Text(p.id.clone()),
            Attr::Text(county),
            Attr::Text(verdict),
            Attr::Text(p.stratum.clone()),
        ]
    };
    // Results already given are carried over: the file is the one to fill in further.
    let results: BTreeMap<&str, &str> = recheck_table
        .as_ref()
        .map(|t| {
            t.rows
                .iter()
                .filter_map(|r| Some((r.get("site_id")?, r.get("recheck_verdict")?)))
                .collect()
        })
        .unwrap_or_default();
    let rs_rows: Vec<Vec<Attr>> = drawn
        .picks
        .iter()
        .map(|p| {
            let mut row = pick_cells(p);
            row.extend([
                Attr::Int(p.stratum_population as i64),
                Attr::Real(round(p.inclusion_probability, 9)),
                Attr::Text(results.get(p.id.as_str()).unwrap_or(&"").to_string()),
            ]);
            row
        })
        .collect();
    tw::write_csv(
        &staging.path("recheck_sample.csv"),
        &h(&[
            "site_id",
            "county_code",
            "county_verdict",
            "stratum",
            "stratum_population",
            "inclusion_probability",
            "recheck_verdict",
        ]),
        &rs_rows,
    )?;
    let missing_rows: Vec<Vec<Attr>> = recheck_missing.iter().map(|p| pick_cells(p)).collect();
    tw::write_csv(
        &staging.path("recheck_missing.csv"),
        &h(&["site_id", "county_code", "county_verdict", "stratum"]),
        &missing_rows,
    )?;
    let mis_rows: Vec<Vec<Attr>> = mis
        .iter()
        .map(|m| {
            vec![
                Attr::Text(m.county.clone()),
                Attr::Int(m.sampled as i64),
                Attr::Int(m.rechecked as i64),
                Attr::Int(m.missing as i64),
                Attr::Int(m.wrong as i64),
                // Unknown while a stratum has no result: a blank, not a number.
                m.rate.map_or(Attr::Null, |r| Attr::Real(round(r, 4))),
                Attr::Real(round(m.low, 4)),
                Attr::Real(round(m.high, 4)),
                Attr::Text(if m.complete { "yes" } else { "no" }.into()),
            ]
        })
        .collect();
    tw::write_csv(
        &staging.path("misjudgement.csv"),
        &h(&[
            "county_code",
            "sampled",
            "rechecked",
            "missing",
            "wrong",
            "misjudgement_rate",
            "ci95_low",
            "ci95_high",
            "complete",
        ]),
        &mis_rows,
    )?;
    let summary = AuditSummary {
        out: req.out.clone(),
        tasks: tasks.len(),
        returned_rows: rows.len(),
        valid_verdicts: a.checked.len(),
        invalid_rows: a.invalid_rows,
        rows_without_verdict: a.no_verdict_rows,
        review_flags: a
            .issues
            .iter()
            .filter(|i| i.severity == Severity::Review)
            .count(),
        not_returned: missing.len(),
        recheck_sample: drawn.picks.len(),
        misjudgement_counties: mis.len(),
        recheck_missing: recheck_missing.len(),
        recheck_complete: req
            .recheck_results
            .as_ref()
            .map(|_| recheck_missing.is_empty()),
    };
    let m = serde_json::json!({
        "tool": "minewatch audit",
        "version": env!("CARGO_PKG_VERSION"),
        "command": req.command,
        "tasks": tt.path,
        "returned": files,
        "inputs": hashes.records()?,
        "recheck_results": req.recheck_results,
        "today": req.today.date().to_string(),
        "today_from": req.today.source(),
        "recheck_design": {"size": size_text(&req.recheck_size), "strata": "county|verdict", "allocation": "proportional", "min_per_stratum": req.recheck_min_per_stratum, "seed": req.seed, "rounding": ROUNDING,
            "drawn": match fixed_from {
                Some(t) => format!("kept as drawn: the picks, strata populations and inclusion probabilities of {}", t.path.display()),
                None => "from this audit's valid verdicts".to_string(),
            }},
        "recheck": req.recheck_results.as_ref().map(|_| serde_json::json!({
            "complete": recheck_missing.is_empty(),
            "missing": recheck_missing.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
            "no_valid_verdict_now": gone.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
            "not_in_sample": outside.iter().map(|(_, id)| id.as_str()).collect::<Vec<_>>(),
            "incomplete_counties": mis.iter().filter(|m| !m.complete).map(|m| m.county.as_str()).collect::<Vec<_>>(),
            "interval": "Wilson score interval at Kish's effective sample size over the county's strata; a stratum without results spans its whole weight",
        })),
        "notes": notes,
        "summary": summary,
        "outputs": AUDIT_OUTPUTS,
    });
    crate::manifest::write(&staging.path("audit_manifest.json"), &m)?;
    staging.commit(&AUDIT_OUTPUTS, &[])?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A county package's form shows the licence status in Chinese (review revZ2 F7):
    /// audit reads such a table as the codes.
    #[test]
    fn a_chinese_licence_status_is_read_as_its_code() {
        assert_eq!(licence_code("无证"), "outside_all_rights");
        assert_eq!(licence_code(" 未核对矿权 "), "not_checked");
        assert_eq!(licence_code("partly_outside"), "partly_outside");
    }
}
