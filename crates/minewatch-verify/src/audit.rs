//! The audit of returned verdicts: every row validated (missing or unknown codes, duplicate
//! or unknown ids, bad dates — each named by county, file, row and field), inconsistencies
//! flagged for a second look, per-county statistics, and — once re-check results come back —
//! the misjudgement rate per county with a 95 % interval from the stratified re-check sample.

use crate::sample::z_of;
use minewatch_core::{AcqDate, Verdict};
use std::collections::{BTreeMap, BTreeSet};

/// The field-form columns a county fills, with their Chinese headers.
pub const FORM: [(&str, &str); 8] = [
    ("verdict", "核查结果"),
    ("violation_type", "违法类型"),
    ("handling", "处理方式"),
    ("reason", "理由说明"),
    ("responsible", "核查责任人"),
    ("check_date", "核查日期"),
    ("photo_ids", "照片编号"),
    ("referred", "是否移送司法"),
];

/// English field name of a header, English or Chinese.
pub fn canonical(col: &str) -> Option<&'static str> {
    let c = col.trim();
    if matches!(c, "site_id" | "图斑地块编号" | "图斑编号") {
        return Some("site_id");
    }
    FORM.iter()
        .find(|(en, zh)| *en == c || *zh == c)
        .map(|(en, _)| *en)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Handling {
    /// 立案
    CaseFiled,
    /// 非立案处理
    NotFiled,
    /// 不处理
    NoAction,
}

impl Handling {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "立案" | "case_filed" => Some(Handling::CaseFiled),
            "非立案" | "非立案处理" | "not_filed" => Some(Handling::NotFiled),
            "不处理" | "no_action" => Some(Handling::NoAction),
            _ => None,
        }
    }
}

/// What the audit knows of a task from the ranking.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskFacts {
    pub site_id: String,
    pub county: String,
    pub licence_status: String,
    pub multi_year_change: bool,
    pub criminal_referral_candidate: bool,
}

/// One returned row, fields by English name.
#[derive(Debug, Clone, PartialEq)]
pub struct Returned {
    pub file: String,
    pub line: usize,
    /// The county the file came from (its name or its known ids), for rows whose id is unknown.
    pub county: String,
    pub fields: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The row cannot be used as it is: the county must correct it.
    Invalid,
    /// Valid but inconsistent: a second look.
    Review,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    pub severity: Severity,
    pub county: String,
    pub file: String,
    pub line: usize,
    pub site_id: String,
    pub field: String,
    pub code: &'static str,
    pub message: String,
    pub message_zh: String,
}

/// A usable verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub site_id: String,
    pub county: String,
    pub verdict: Verdict,
    pub handling: Option<Handling>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct CountyStats {
    pub county: String,
    pub tasks: usize,
    pub returned_valid: usize,
    pub illegal: usize,
    pub filed: usize,
    pub review_flags: usize,
    pub invalid_rows: usize,
}

impl CountyStats {
    pub fn verified_share(&self) -> f64 {
        ratio(self.returned_valid, self.tasks)
    }
    pub fn violation_rate(&self) -> f64 {
        ratio(self.illegal, self.returned_valid)
    }
    pub fn filing_rate(&self) -> f64 {
        ratio(self.filed, self.illegal)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

pub struct AuditResult {
    pub issues: Vec<Issue>,
    pub checked: Vec<Checked>,
    pub counties: Vec<CountyStats>,
}

pub fn audit(tasks: &[TaskFacts], rows: &[Returned]) -> AuditResult {
    let by_id: BTreeMap<&str, &TaskFacts> = tasks.iter().map(|t| (t.site_id.as_str(), t)).collect();
    let mut issues = Vec::new();
    let mut checked = Vec::new();
    let mut seen: BTreeMap<String, (String, usize)> = BTreeMap::new();
    for r in rows {
        let get = |k: &str| r.fields.get(k).map(|s| s.trim()).unwrap_or("");
        let id = get("site_id").to_string();
        let county = by_id
            .get(id.as_str())
            .map_or_else(|| r.county.clone(), |t| t.county.clone());
        let mut issue = |sev, field: &str, code, en: String, zh: String| {
            issues.push(Issue {
                severity: sev,
                county: county.clone(),
                file: r.file.clone(),
                line: r.line,
                site_id: id.clone(),
                field: field.to_string(),
                code,
                message: en,
                message_zh: zh,
            })
        };
        use Severity::*;
        if id.is_empty() {
            issue(
                Invalid,
                "site_id",
                "missing_id",
                "no site id".into(),
                "缺少图斑地块编号".into(),
            );
            continue;
        }
        let Some(task) = by_id.get(id.as_str()) else {
            issue(
                Invalid,
                "site_id",
                "unknown_id",
                format!("site {id} is not in the tasks"),
                format!("任务中无此图斑 {id}"),
            );
            continue;
        };
        if let Some((f, l)) = seen.get(&id) {
            issue(
                Invalid,
                "site_id",
                "duplicate_id",
                format!("site {id} returned twice (also {f} row {l})"),
                format!("图斑 {id} 重复填报 (另见 {f} 第{l}行)"),
            );
            continue;
        }
        seen.insert(id.clone(), (r.file.clone(), r.line));
        let v = get("verdict");
        let verdict = match v {
            "" => {
                issue(
                    Invalid,
                    "verdict",
                    "missing_verdict",
                    "no verdict".into(),
                    "未填核查结果".into(),
                );
                continue;
            }
            _ => match Verdict::parse(v) {
                Some(x) => x,
                None => {
                    issue(
                        Invalid,
                        "verdict",
                        "unknown_verdict",
                        format!("verdict `{v}` is not 合法, 违法 or 伪变化"),
                        format!("核查结果“{v}”不是 合法/违法/伪变化"),
                    );
                    continue;
                }
            },
        };
        let h = get("handling");
        let handling = if h.is_empty() {
            None
        } else {
            match Handling::parse(h) {
                Some(x) => Some(x),
                None => {
                    issue(
                        Invalid,
                        "handling",
                        "unknown_handling",
                        format!("handling `{h}` is not 立案, 非立案 or 不处理"),
                        format!("处理方式“{h}”不是 立案/非立案/不处理"),
                    );
                    continue;
                }
            }
        };
        let date = get("check_date");
        if !date.is_empty() && AcqDate::parse_lenient(date).is_err() {
            issue(
                Invalid,
                "check_date",
                "bad_date",
                format!("`{date}` is not a date"),
                format!("核查日期“{date}”无效"),
            );
            continue;
        }
        if get("responsible").is_empty() {
            issue(
                Invalid,
                "responsible",
                "missing_responsible",
                "no responsible person".into(),
                "未填核查责任人".into(),
            );
        }
        // Second looks.
        let reason = get("reason");
        let legal = verdict == Verdict::Legal;
        if legal && task.licence_status == "outside_all_rights" {
            issue(
                Review,
                "verdict",
                "legal_without_licence",
                "合法 but the patch touches no mining right".into(),
                "核查为合法, 但图斑与任何矿权均不重叠".into(),
            );
        }
        if legal && task.licence_status == "partly_outside" {
            issue(
                Review,
                "verdict",
                "outside_licence_legal",
                "合法 but the patch lies partly outside its licence (越界)".into(),
                "越界图斑被核查为合法".into(),
            );
        }
        if verdict == Verdict::FalseChange && task.multi_year_change {
            issue(
                Review,
                "verdict",
                "false_change_keeps_changing",
                "伪变化 on a site that changes year after year".into(),
                "多年连续变化的图斑被核查为伪变化".into(),
            );
        }
        if verdict == Verdict::Illegal && handling != Some(Handling::CaseFiled) {
            issue(
                Review,
                "handling",
                "illegal_not_filed",
                "违法 without a filed case (立案)".into(),
                "违法图斑未立案".into(),
            );
        }
        if matches!(handling, Some(Handling::NotFiled | Handling::NoAction)) && reason.is_empty() {
            issue(
                Review,
                "reason",
                "no_reason",
                "不处理 / 非立案 needs a written reason".into(),
                "非立案或不处理须说明理由".into(),
            );
        }
        let referred =
            matches!(get("referred"), "是" | "yes" | "1" | "true") || reason.contains("移送");
        if task.criminal_referral_candidate && verdict == Verdict::Illegal && !referred {
            issue(
                Review,
                "referred",
                "referral_missing",
                "criminal-referral candidate (two penalties in two years) not referred".into(),
                "涉嫌犯罪(二年内两次处罚后又违法)未移送司法".into(),
            );
        }
        checked.push(Checked {
            site_id: id.clone(),
            county: task.county.clone(),
            verdict,
            handling,
        });
    }
    let mut stats: BTreeMap<String, CountyStats> = BTreeMap::new();
    for t in tasks {
        let e = stats.entry(t.county.clone()).or_default();
        e.county = t.county.clone();
        e.tasks += 1;
    }
    for c in &checked {
        let e = stats.entry(c.county.clone()).or_default();
        e.returned_valid += 1;
        if c.verdict == Verdict::Illegal {
            e.illegal += 1;
            if c.handling == Some(Handling::CaseFiled) {
                e.filed += 1;
            }
        }
    }
    for i in &issues {
        let e = stats.entry(i.county.clone()).or_default();
        e.county = i.county.clone();
        match i.severity {
            Severity::Invalid => e.invalid_rows += 1,
            Severity::Review => e.review_flags += 1,
        }
    }
    AuditResult {
        issues,
        checked,
        counties: stats.into_values().collect(),
    }
}

/// One re-checked unit: its stratum's population and sample size, and whether the county's
/// verdict was wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Rechecked {
    pub county: String,
    pub stratum: String,
    pub stratum_population: usize,
    pub wrong: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Misjudgement {
    pub county: String,
    pub rechecked: usize,
    pub wrong: usize,
    /// Stratified estimate of the county's misjudgement rate and its 95 % interval.
    pub rate: f64,
    pub low: f64,
    pub high: f64,
}

/// Stratified estimate per county: p = Σ W_h p_h, Var = Σ W_h² (1 − f_h) p_h(1 − p_h)/(n_h − 1)
/// (W_h = N_h/N over the county's re-checked strata, f_h = n_h/N_h); normal interval, clamped.
pub fn misjudgement(units: &[Rechecked]) -> Vec<Misjudgement> {
    let mut by: BTreeMap<&str, BTreeMap<&str, (usize, usize, usize)>> = BTreeMap::new();
    for u in units {
        let e = by
            .entry(u.county.as_str())
            .or_default()
            .entry(u.stratum.as_str())
            .or_insert((u.stratum_population, 0, 0));
        e.1 += 1;
        e.2 += u.wrong as usize;
    }
    let z = z_of(0.95);
    by.into_iter()
        .map(|(county, strata)| {
            let big_n: usize = strata.values().map(|s| s.0).sum();
            let (mut p, mut var, mut n, mut w) = (0.0, 0.0, 0, 0);
            for (nh_pop, nh, wrong) in strata.values() {
                let wh = *nh_pop as f64 / big_n as f64;
                let ph = *wrong as f64 / *nh as f64;
                p += wh * ph;
                if *nh > 1 {
                    let f = *nh as f64 / *nh_pop as f64;
                    var += wh * wh * (1.0 - f) * ph * (1.0 - ph) / (*nh as f64 - 1.0);
                }
                n += nh;
                w += wrong;
            }
            let half = z * var.sqrt();
            Misjudgement {
                county: county.to_string(),
                rechecked: n,
                wrong: w,
                rate: p,
                low: (p - half).max(0.0),
                high: (p + half).min(1.0),
            }
        })
        .collect()
}

/// Ids in the tasks that no county returned.
pub fn missing(tasks: &[TaskFacts], rows: &[Returned]) -> Vec<String> {
    let got: BTreeSet<&str> = rows
        .iter()
        .filter_map(|r| r.fields.get("site_id").map(|s| s.trim()))
        .collect();
    tasks
        .iter()
        .filter(|t| !got.contains(t.site_id.as_str()))
        .map(|t| t.site_id.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(id: &str, county: &str, lic: &str, multi: bool, crim: bool) -> TaskFacts {
        TaskFacts {
            site_id: id.into(),
            county: county.into(),
            licence_status: lic.into(),
            multi_year_change: multi,
            criminal_referral_candidate: crim,
        }
    }

    fn row(line: usize, kv: &[(&str, &str)]) -> Returned {
        Returned {
            file: "320115.csv".into(),
            line,
            county: "320115".into(),
            fields: kv
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn every_problem_is_named_and_every_second_look_flagged() {
        let tasks = vec![
            task("S1", "320115", "outside_all_rights", false, false),
            task("S2", "320115", "partly_outside", false, false),
            task("S3", "320115", "outside_all_rights", true, false),
            task("S4", "320115", "outside_all_rights", false, true),
            task("S5", "320115", "inside", false, false),
            task("S6", "320116", "inside", false, false),
        ];
        let p = "responsible";
        let rows = vec![
            row(
                2,
                &[
                    ("site_id", "S1"),
                    ("verdict", "合法"),
                    ("handling", "不处理"),
                    (p, "张三"),
                ],
            ),
            row(
                3,
                &[
                    ("site_id", "S2"),
                    ("verdict", "合法"),
                    (p, "张三"),
                    ("reason", "证内"),
                ],
            ),
            row(4, &[("site_id", "S3"), ("verdict", "伪变化"), (p, "张三")]),
            row(
                5,
                &[
                    ("site_id", "S4"),
                    ("verdict", "违法"),
                    ("handling", "非立案"),
                    (p, "张三"),
                ],
            ),
            row(6, &[("site_id", "S5"), ("verdict", "可疑"), (p, "张三")]),
            row(7, &[("site_id", "S5"), ("verdict", "合法"), (p, "张三")]),
            row(8, &[("site_id", "S5"), ("verdict", "合法"), (p, "张三")]),
            row(9, &[("site_id", "S9"), ("verdict", "合法"), (p, "张三")]),
            row(10, &[("site_id", "S6"), ("verdict", ""), (p, "李四")]),
        ];
        let a = audit(&tasks, &rows);
        let codes: Vec<(usize, &str)> = a.issues.iter().map(|i| (i.line, i.code)).collect();
        assert_eq!(
            codes,
            vec![
                (2, "legal_without_licence"),
                (2, "no_reason"),
                (3, "outside_licence_legal"),
                (4, "false_change_keeps_changing"),
                (5, "illegal_not_filed"),
                (5, "no_reason"),
                (5, "referral_missing"),
                (6, "unknown_verdict"),
                // Every later row of an id already returned is a duplicate, valid or not.
                (7, "duplicate_id"),
                (8, "duplicate_id"),
                (9, "unknown_id"),
                (10, "missing_verdict"),
            ]
        );
        assert!(a
            .issues
            .iter()
            .all(|i| !i.file.is_empty() && !i.field.is_empty()));
        let c = &a.counties[0];
        assert_eq!(
            (
                c.county.as_str(),
                c.tasks,
                c.returned_valid,
                c.illegal,
                c.filed
            ),
            ("320115", 5, 4, 1, 0)
        );
        assert!((c.verified_share() - 0.8).abs() < 1e-12);
        assert!((c.violation_rate() - 0.25).abs() < 1e-12);
        assert_eq!((c.invalid_rows, c.review_flags), (4, 7));
        assert_eq!(missing(&tasks, &rows), Vec::<String>::new());
    }

    #[test]
    fn misjudgement_rate_is_the_stratified_estimate() {
        // County A: stratum 合法 (N=100, 10 re-checked, 2 wrong), 违法 (N=20, 5, 0 wrong).
        let mut u = Vec::new();
        for i in 0..10 {
            u.push(Rechecked {
                county: "A".into(),
                stratum: "A|legal".into(),
                stratum_population: 100,
                wrong: i < 2,
            });
        }
        for _ in 0..5 {
            u.push(Rechecked {
                county: "A".into(),
                stratum: "A|illegal".into(),
                stratum_population: 20,
                wrong: false,
            });
        }
        let m = misjudgement(&u);
        let want = 100.0 / 120.0 * 0.2;
        assert!((m[0].rate - want).abs() < 1e-12);
        let var = (100.0f64 / 120.0).powi(2) * (1.0 - 0.1) * 0.2 * 0.8 / 9.0;
        assert!((m[0].high - (want + 1.959963984540054 * var.sqrt())).abs() < 1e-9);
        assert_eq!((m[0].rechecked, m[0].wrong), (15, 2));
    }
}
