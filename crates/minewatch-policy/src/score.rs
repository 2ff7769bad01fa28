//! Scoring sites into ranked tasks. The score is the sum of named terms in a fixed order,
//! each from one table of the policy; every non-zero term carries a reason in English and
//! Chinese. Ranks are within county, prefecture and province, by score then site id.

use crate::minerals;
use crate::policy::Policy;
use minewatch_core::units::{m2_to_mu, M2_PER_MU};
use minewatch_core::{AcqDate, DatePair, LicenceStatus, Site, Verdict, ZoneKind};
use std::collections::{BTreeMap, BTreeSet};

/// Term names, in breakdown order.
pub const TERMS: [&str; 12] = [
    "zone",
    "licence",
    "area",
    "provincial_check",
    "persistence",
    "growth",
    "confidence",
    "change_type",
    "history",
    "repeat_offender",
    "mineral",
    "region",
];

#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub site_id: String,
    pub score: f64,
    /// One value per `TERMS` entry.
    pub terms: Vec<f64>,
    pub reasons_en: Vec<String>,
    pub reasons_zh: Vec<String>,
    pub licence_status: Option<LicenceStatus>,
    pub illegal_area_m2: f64,
    pub provincial_field_check_required: bool,
    pub criminal_referral_candidate: bool,
    pub suppressed: bool,
    /// No change in the latest date pair: listed, not ranked (policy `rank_only_new_change`).
    pub no_new_change: bool,
    /// Its latest verdict is dated on or after the later image of its latest change: the
    /// county verified it and it has not changed since. Each county verifies a patch once
    /// (docs/domain.md): not sent again, no provincial field check.
    pub verified_unchanged: bool,
    pub province_code: Option<String>,
    pub province_name: Option<String>,
    pub prefecture_code: Option<String>,
    pub prefecture_name: Option<String>,
    pub county_code: Option<String>,
    pub county_name: Option<String>,
    pub rank_county: Option<usize>,
    pub rank_prefecture: Option<usize>,
    pub rank_province: Option<usize>,
}

/// Context the scores need beyond the site itself.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Minerals whose price rose past the policy's threshold, with the rise in percent.
    pub price_surges: BTreeMap<String, f64>,
    /// Counties whose new patches rise fast in the latest period.
    pub rising_counties: BTreeSet<String>,
}

/// The dates the persistence and growth reasons cite (from the ledger's runs), so a reason
/// says what was compared rather than "the year before".
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RunDates {
    /// The site's longest run of consecutive changed comparisons: first image, last
    /// image, comparisons.
    pub run: Option<(AcqDate, AcqDate, u32)>,
    /// The comparisons the growth is measured between: the adjacent earlier one, the latest.
    pub growth: Option<(DatePair, DatePair)>,
}

fn pair_text(p: &DatePair) -> String {
    format!("{}→{}", p.before, p.after)
}

fn severity(s: LicenceStatus) -> u8 {
    match s {
        LicenceStatus::OutsideAllRights => 5,
        LicenceStatus::PartlyOutside => 4,
        LicenceStatus::Expired => 3,
        LicenceStatus::ExplorationOnly => 2,
        LicenceStatus::Inside => 1,
        LicenceStatus::NotChecked => 0,
    }
}

/// A verdict's reason between `open` and `close`, or nothing when none was given (no
/// empty brackets in a field team's reasons).
fn because(reason: &str, open: &str, close: &str) -> String {
    let r = reason.trim();
    if r.is_empty() {
        String::new()
    } else {
        format!("{open}{r}{close}")
    }
}

/// The Chinese name of a detection confidence, for `reasons_zh` (county offices read those;
/// "检测置信度 high" was English in a Chinese table). Names detect does not write stay as
/// they are.
pub fn confidence_zh(c: &str) -> &str {
    match c {
        "highest" => "最高",
        "high" => "高",
        "low" => "低",
        "rule" => "规则判定",
        other => other,
    }
}

/// The Chinese name of a change type (detect's `change_type`), for `reasons_zh`.
pub fn change_type_zh(t: &str) -> &str {
    match t {
        "bare_soil_gain" => "裸土增加",
        "vegetation_loss" => "植被减少",
        "water_gain" => "水体增加",
        "water_loss" => "水体减少",
        "brightening" => "地表变亮",
        "darkening" => "地表变暗",
        "vegetation_gain" => "植被恢复",
        "other" => "其他",
        other => other,
    }
}

pub fn score(site: &Site, dates: &RunDates, p: &Policy, ctx: &Context) -> Task {
    let mut terms = vec![0.0; TERMS.len()];
    let mut en: Vec<String> = Vec::new();
    let mut zh: Vec<String> = Vec::new();
    let latest = &site.latest;

    // Zones: each kind present once.
    let mut kinds: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in latest {
        for h in &f.hits {
            if matches!(h.kind, ZoneKind::MiningRight | ZoneKind::ExplorationRight) {
                continue;
            }
            // Special land weighs only where the overlay filed the patch as a false change
            // by rule (special land holds at least half of it): a sliver along its edge
            // decides nothing, and must not sink a real case to the bottom of the list.
            if h.kind == ZoneKind::SpecialLand && !f.special_land {
                continue;
            }
            kinds
                .entry(h.kind.name())
                .or_default()
                .push(format!("{} ({:.1}%)", h.zone_id, h.overlap_pct));
        }
    }
    for (k, ids) in &kinds {
        let w = match k.strip_prefix("custom:") {
            Some(c) => p.custom.get(c).copied().unwrap_or(0.0),
            None => p.zone.get(k).copied().unwrap_or(0.0),
        };
        if w != 0.0 {
            terms[0] += w;
            let zk = ZoneKind::parse(k.split(':').next().unwrap_or(k), k.split(':').nth(1));
            let label = zk.as_ref().map(|z| z.label_zh()).unwrap_or("区域");
            en.push(format!("in {k}: {} ({w:+})", ids.join(", ")));
            zh.push(format!("压占{label}: {} ({w:+})", ids.join(", ")));
        }
    }

    // Licence: the worst status of the latest patches.
    let status = latest
        .iter()
        .map(|f| f.licence_status)
        .max_by_key(|s| severity(*s));
    if status == Some(LicenceStatus::NotChecked) {
        en.push("licence not checked: no mining-rights layer was overlaid".into());
        zh.push("矿权未核对: 未叠加矿业权图层".into());
    }
    if let Some(s) = status {
        let w = p.licence.get(s.name()).copied().unwrap_or(0.0);
        if w != 0.0 {
            terms[1] = w;
            let lic: BTreeSet<&str> = latest
                .iter()
                .flat_map(|f| f.licences.iter().map(String::as_str))
                .collect();
            let lic = if lic.is_empty() {
                String::new()
            } else {
                format!(" [{}]", lic.into_iter().collect::<Vec<_>>().join(", "))
            };
            en.push(format!("licence status {}{lic} ({w:+})", s.name()));
            zh.push(format!("矿权: {}{lic} ({w:+})", s.label_zh()));
        }
    }
    // Not scored, but the field check must date the works: the licence came after the
    // earlier image, so the change may predate it (先采后批).
    if latest
        .iter()
        .any(|f| f.licence_granted_in_pair == Some(true))
    {
        en.push("licence granted between the image dates: check when the works began".into());
        zh.push("矿权于前后时相间取得, 须核实开采起始时间".into());
    }

    // Area of suspected illegal mining. None on a restored site: its latest change is the
    // land recovering (复绿), not ground occupied now; what it dug before was sent for
    // checking when it was found.
    let special = latest.iter().any(|f| f.special_land);
    // From +0.0: an f64 `sum()` starts at -0.0, which an inside site would print as -0.
    let illegal: f64 = latest
        .iter()
        .filter(|f| f.licence_status.suspect() && !f.special_land)
        .filter(|_| site.restored.is_none())
        .fold(0.0, |t, f| t + f.outside_licence_m2);
    if let Some(q) = &site.restored {
        en.push(format!(
            "restored: vegetation came back in {}, not counted as change",
            pair_text(q)
        ));
        zh.push(format!("{}期间已复绿, 不计为变化", pair_text(q)));
    }
    let mu = m2_to_mu(illegal);
    if mu > 0.0 && p.area.per_mu != 0.0 {
        terms[2] = (p.area.per_mu * mu).min(p.area.cap);
        en.push(format!(
            "{mu:.1} mu suspected illegal area ({:+.1})",
            terms[2]
        ));
        zh.push(format!("疑似违法面积 {mu:.1} 亩 ({:+.1})", terms[2]));
    }
    let verified = site.history.last().filter(|h| h.date >= site.last_date);
    if let Some(h) = verified {
        en.push(format!(
            "verified {} ({}), no change since: not sent again",
            h.date,
            h.verdict.name()
        ));
        zh.push(format!("已于{}核查, 此后无新变化, 不再下发", h.date));
    }
    let provincial =
        !special && verified.is_none() && illegal >= p.area.provincial_check_mu * M2_PER_MU;
    if provincial {
        terms[3] = p.area.provincial_check;
        en.push(format!(
            "≥ {} mu: provincial field check required ({:+})",
            p.area.provincial_check_mu, terms[3]
        ));
        zh.push(format!(
            "疑似违法面积≥{}亩, 需省级实地核查 ({:+})",
            p.area.provincial_check_mu, terms[3]
        ));
    }

    // Persistence over years (多年连续变化): `longest_run` is the years the longest run of
    // consecutive changed comparisons covers. Each comparison shows the change once, so
    // it counts at most one of them (an archive image of 2000 before 2020, 2021, 2022 is
    // three observations, not 22 years), and the term is capped like area and growth.
    if site.longest_run > 1 || site.multi_year_change {
        let n = site.longest_run;
        let counted = dates.run.map_or(n, |(.., pairs)| n.min(pairs));
        let v = (p.persistence.per_extra_year * (counted.saturating_sub(1)) as f64
            + if site.multi_year_change {
                p.persistence.multi_year
            } else {
                0.0
            })
        .min(p.persistence.cap);
        if v != 0.0 {
            terms[4] = v;
            let (years_en, years_zh) = if counted < n {
                (
                    format!("{n} years, {counted} counted: one per comparison"),
                    format!("共{n}年, 按每期一年计{counted}年"),
                )
            } else {
                (format!("{n} years"), format!("共{n}年"))
            };
            match dates.run {
                Some((first, last, pairs)) => {
                    en.push(format!(
                        "changed in {pairs} consecutive pairs, {first}→{last} ({years_en}) ({v:+})"
                    ));
                    zh.push(format!(
                        "连续{pairs}期变化, {first}至{last} ({years_zh}) ({v:+})"
                    ));
                }
                None => {
                    en.push(format!("changed over {n} consecutive years ({v:+})"));
                    zh.push(format!("连续{n}年变化 ({v:+})"));
                }
            }
        }
    }

    // Growth of the latest comparison's change over the adjacent one before it.
    if let Some(g) = site.growth_pct.filter(|g| *g > 0.0) {
        let v = (p.growth.per_10_pct * g / 10.0).min(p.growth.cap);
        if v != 0.0 {
            terms[5] = v;
            match &dates.growth {
                Some((from, to)) => {
                    let (from, to) = (pair_text(from), pair_text(to));
                    en.push(format!(
                        "change of {to} grew {g:.0} % on the adjacent pair {from} ({v:+.1})"
                    ));
                    zh.push(format!(
                        "{to}变化面积较相邻前一期{from}扩大{g:.0}% ({v:+.1})"
                    ));
                }
                None => {
                    en.push(format!(
                        "change grew {g:.0} % on the adjacent pair before ({v:+.1})"
                    ));
                    zh.push(format!("变化面积较相邻前一期扩大{g:.0}% ({v:+.1})"));
                }
            }
        }
    }

    if let Some(&w) = p.confidence.get(&site.last_confidence) {
        if w != 0.0 {
            terms[6] = w;
            en.push(format!(
                "detection confidence {} ({w:+})",
                site.last_confidence
            ));
            zh.push(format!(
                "检测置信度{} ({w:+})",
                confidence_zh(&site.last_confidence)
            ));
        }
    }
    if let Some(&w) = p.change_type.get(&site.last_change_type) {
        if w != 0.0 {
            terms[7] = w;
            en.push(format!("change type {} ({w:+})", site.last_change_type));
            zh.push(format!(
                "变化类型: {} ({w:+})",
                change_type_zh(&site.last_change_type)
            ));
        }
    }

    // Earlier cycles' verdicts.
    let mut suppressed = false;
    if let Some(h) = site
        .history
        .iter()
        .rev()
        .find(|h| h.verdict == Verdict::Illegal)
    {
        terms[8] += p.history.confirmed_illegal;
        en.push(format!(
            "confirmed illegal on {} ({}) ({:+})",
            h.date, h.source, p.history.confirmed_illegal
        ));
        zh.push(format!(
            "往期核查为违法 ({}) ({:+})",
            h.date, p.history.confirmed_illegal
        ));
    }
    if let Some(h) = site.history.iter().rev().find(|h| h.case_filed) {
        terms[8] += p.history.case_filed;
        en.push(format!(
            "case filed on {} ({:+})",
            h.date, p.history.case_filed
        ));
        zh.push(format!(
            "往期已立案 ({}) ({:+})",
            h.date, p.history.case_filed
        ));
    }
    if let Some(h) = site
        .history
        .last()
        .filter(|h| h.verdict == Verdict::FalseChange)
    {
        // Not grown, or growth not measurable (none of the site's patches predates the
        // verdict, so the judged ground is unknown): the verdict stands.
        if site.grew_since_false_change != Some(true) {
            terms[8] += p.history.false_change;
            suppressed = p.history.suppress_false_change;
            let (since_en, since_zh) = match site.grew_since_false_change {
                Some(false) => ("not grown since", "此后未扩大"),
                _ => (
                    "growth since not assessable (no earlier findings)",
                    "缺少核查前的图斑, 无法判断是否扩大",
                ),
            };
            en.push(format!(
                "false change on {}{} and {since_en} ({:+}){}",
                h.date,
                because(&h.reason, " (", ")"),
                p.history.false_change,
                if suppressed { ": not ranked" } else { "" }
            ));
            zh.push(format!(
                "往期核查为伪变化 ({}{}), {since_zh} ({:+}){}",
                h.date,
                because(&h.reason, ", ", ""),
                p.history.false_change,
                if suppressed { ", 不参与排序" } else { "" }
            ));
        } else {
            en.push(format!(
                "false change on {}{} but grown since: ranked again",
                h.date,
                because(&h.reason, " (", ")")
            ));
            zh.push(format!("往期伪变化 ({}), 此后扩大, 重新排序", h.date));
        }
    }

    if let Some(r) = &site.criminal_referral {
        terms[9] = p.repeat_offender.criminal_referral;
        en.push(format!(
            "{}: two penalties within two years ({}) and new change since: criminal referral candidate, 法释〔2016〕25号 art. 3 ({:+})",
            r.party,
            r.decisions.join(", "),
            terms[9]
        ));
        zh.push(format!(
            "{}: 二年内受过二次以上行政处罚 ({}) 后又违法开采, 涉嫌犯罪移送 (法释〔2016〕25号第三条) ({:+})",
            r.party,
            r.decisions.join("、"),
            terms[9]
        ));
    }

    // Minerals named by the site's rights (their mineral field) or by the attributes its
    // zones carry — not by zone names. Whole names only (see `minerals`).
    let mut names: Vec<String> = latest.iter().flat_map(|f| f.minerals.clone()).collect();
    names.extend(
        latest
            .iter()
            .flat_map(|f| f.hits.iter())
            .flat_map(|h| h.attrs.iter().map(|a| a.1.clone())),
    );
    let names_it = |m: &str| minerals::named(m, &names);
    if let Some(m) = p.minerals.strategic.iter().find(|m| names_it(m)) {
        terms[10] += p.minerals.strategic_weight;
        en.push(format!(
            "strategic mineral {m} ({:+})",
            p.minerals.strategic_weight
        ));
        zh.push(format!(
            "战略性矿产 {m} ({:+})",
            p.minerals.strategic_weight
        ));
    }
    if let Some((m, up)) = ctx.price_surges.iter().find(|(m, _)| names_it(m)) {
        terms[10] += p.minerals.price_surge_weight;
        en.push(format!(
            "price of {m} up {up:.0} % ({:+})",
            p.minerals.price_surge_weight
        ));
        zh.push(format!(
            "{m}价格上涨{up:.0}% ({:+})",
            p.minerals.price_surge_weight
        ));
    }

    // Admin place: the largest of the latest patches.
    let place = latest
        .iter()
        .max_by(|a, b| {
            a.area_m2
                .total_cmp(&b.area_m2)
                .then_with(|| b.patch_id.cmp(&a.patch_id))
        })
        .map(|f| f.admin.clone())
        .unwrap_or_default();
    if let Some(c) = &place.county_code {
        if p.regions.hot_counties.contains(c) {
            terms[11] += p.regions.hot_weight;
            en.push(format!("hot county {c} ({:+})", p.regions.hot_weight));
            zh.push(format!("高发地区 {c} ({:+})", p.regions.hot_weight));
        }
        if ctx.rising_counties.contains(c) {
            terms[11] += p.regions.rising_fast_weight;
            en.push(format!(
                "new patches in county {c} rise fast ({:+})",
                p.regions.rising_fast_weight
            ));
            zh.push(format!(
                "所在县新增图斑快速上升 ({:+})",
                p.regions.rising_fast_weight
            ));
        }
    }
    // Summing in TERMS order: the breakdown adds up to the score exactly as printed.
    let score = terms.iter().sum();
    Task {
        site_id: site.id.clone(),
        score,
        terms,
        reasons_en: en,
        reasons_zh: zh,
        licence_status: status,
        illegal_area_m2: illegal,
        provincial_field_check_required: provincial,
        criminal_referral_candidate: site.criminal_referral.is_some(),
        suppressed,
        no_new_change: !site.new_change && p.ledger.rank_only_new_change,
        verified_unchanged: verified.is_some(),
        province_code: place.province_code,
        province_name: place.province_name,
        prefecture_code: place.prefecture_code,
        prefecture_name: place.prefecture_name,
        county_code: place.county_code,
        county_name: place.county_name,
        rank_county: None,
        rank_prefecture: None,
        rank_province: None,
    }
}

impl Task {
    pub fn is_ranked(&self) -> bool {
        !self.suppressed && !self.no_new_change && !self.verified_unchanged
    }

    /// No admin division holds it at any level: the overlay's layers had none covering it.
    pub fn has_no_place(&self) -> bool {
        self.province_code.is_none() && self.prefecture_code.is_none() && self.county_code.is_none()
    }
}

/// Rank tasks within county, prefecture and province (suppressed tasks and those without
/// new change get no rank), and sort them by province, county, rank (unranked last, by
/// score), site id.
/// A task gets no rank at a level whose division it has no code for: "no province" is not
/// a province, and ranks 1, 2, 3 among sites outside every admin layer would read as ranks
/// within one. Such tasks sort after the placed ones.
pub fn rank(tasks: &mut [Task]) {
    type Key = fn(&Task) -> Option<String>;
    let levels: [(Key, usize); 3] = [
        (|t| t.county_code.clone(), 0),
        (|t| t.prefecture_code.clone(), 1),
        (|t| t.province_code.clone(), 2),
    ];
    for (key, lvl) in levels {
        let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, t) in tasks.iter().enumerate() {
            if let (true, Some(k)) = (t.is_ranked(), key(t)) {
                groups.entry(k).or_default().push(i);
            }
        }
        for idx in groups.values_mut() {
            idx.sort_by(|&a, &b| {
                tasks[b]
                    .score
                    .total_cmp(&tasks[a].score)
                    .then_with(|| tasks[a].site_id.cmp(&tasks[b].site_id))
            });
            for (r, &i) in idx.iter().enumerate() {
                let slot = match lvl {
                    0 => &mut tasks[i].rank_county,
                    1 => &mut tasks[i].rank_prefecture,
                    _ => &mut tasks[i].rank_province,
                };
                *slot = Some(r + 1);
            }
        }
    }
    // Within a county by its rank; sites of a province without a county (an admin layer
    // of provinces only) by their province rank; the unranked by score.
    let order = |t: &Task| match t.county_code {
        Some(_) => t.rank_county,
        None => t.rank_province,
    };
    tasks.sort_by(|a, b| {
        (
            a.province_code.is_none(),
            &a.province_code,
            a.county_code.is_none(),
            &a.county_code,
            order(a).is_none(),
            order(a),
        )
            .cmp(&(
                b.province_code.is_none(),
                &b.province_code,
                b.county_code.is_none(),
                &b.county_code,
                order(b).is_none(),
                order(b),
            ))
            .then_with(|| b.score.total_cmp(&a.score))
            .then_with(|| a.site_id.cmp(&b.site_id))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use minewatch_core::{AcqDate, AdminPlace, Finding};

    fn site_with_minerals(minerals: &[&str]) -> Site {
        let d = AcqDate::new(2024, 6, 1).unwrap();
        Site {
            id: "S1".into(),
            merged_ids: vec![],
            patch_ids: vec!["p1".into()],
            first_year: 2024,
            change_years: vec![2024],
            longest_run: 1,
            multi_year_change: false,
            area_by_year: vec![(2024, 100.0)],
            total_area_m2: 100.0,
            growth_m2: 0.0,
            growth_pct: None,
            last_change_type: "other".into(),
            last_confidence: "low".into(),
            new_change: true,
            restored: None,
            last_date: d,
            latest_pair: DatePair {
                before: AcqDate::new(2023, 6, 1).unwrap(),
                after: d,
            },
            centre_lonlat: (118.0, 32.0),
            latest: vec![Finding {
                patch_id: "p1".into(),
                area_m2: 100.0,
                hits: vec![],
                licence_status: LicenceStatus::Inside,
                outside_licence_m2: 0.0,
                licence_granted_in_pair: None,
                licence_validity_checked: None,
                admin_overruled: Vec::new(),
                licences: vec!["C1".into()],
                holders: vec![],
                minerals: minerals.iter().map(|m| m.to_string()).collect(),
                in_restoration_project: false,
                in_construction_project: false,
                special_land: false,
                admin: AdminPlace::default(),
                river_distance_m: None,
                over_10_mu_illegal: false,
            }],
            history: vec![],
            grew_since_false_change: None,
            parties: vec![],
            criminal_referral: None,
        }
    }

    fn mineral_term(minerals: &[&str], surge: &str) -> f64 {
        let ctx = Context {
            price_surges: [(surge.to_string(), 40.0)].into_iter().collect(),
            ..Context::default()
        };
        let t = score(
            &site_with_minerals(minerals),
            &RunDates::default(),
            &Policy::default(),
            &ctx,
        );
        t.terms[TERMS.iter().position(|t| *t == "mineral").unwrap()]
    }

    /// Review finding (revV F7): next quarter's run re-sent a site verified last cycle,
    /// unchanged since, as a blank task with 需省级实地核查=1.
    #[test]
    fn a_site_verified_after_its_last_change_is_not_sent_again() {
        let mut s = site_with_minerals(&[]);
        s.latest[0].licence_status = LicenceStatus::OutsideAllRights;
        s.latest[0].outside_licence_m2 = 129_600.0;
        let verdict = |y, m, d| minewatch_core::HistoryRecord {
            source: "h".into(),
            patch_id: Some("p1".into()),
            site_id: None,
            lonlat: None,
            verdict: Verdict::Illegal,
            reason: String::new(),
            case_filed: true,
            date: AcqDate::new(y, m, d).unwrap(),
        };
        let p = Policy::default();
        // Verified before the latest change (2024-06-01): new ground to check.
        s.history = vec![verdict(2024, 3, 1)];
        let t = score(&s, &RunDates::default(), &p, &Context::default());
        assert!(!t.verified_unchanged && t.provincial_field_check_required && t.is_ranked());
        // Verified after it, nothing since.
        s.history = vec![verdict(2024, 6, 10)];
        let t = score(&s, &RunDates::default(), &p, &Context::default());
        assert!(t.verified_unchanged);
        assert!(!t.provincial_field_check_required && !t.is_ranked());
    }

    /// Review finding (revV F5): images of 2000, 2020, 2021, 2022 made a site "22 years"
    /// of continuous change (+225), more than every other term together; annual images of
    /// 2019–2022 gave +35 for the same three observations. Each comparison counts one year
    /// at most, and the term is capped.
    #[test]
    fn persistence_counts_one_year_per_comparison_and_is_capped() {
        let d = |y| AcqDate::new(y, 5, 10).unwrap();
        let term = |years: u32, first: u16, last: u16, pairs: u32| {
            let mut s = site_with_minerals(&[]);
            s.longest_run = years;
            s.multi_year_change = true;
            let dates = RunDates {
                run: Some((d(first), d(last), pairs)),
                growth: None,
            };
            let t = score(&s, &dates, &Policy::default(), &Context::default());
            (t.terms[4], t.reasons_en.join("; "))
        };
        let (annual, _) = term(3, 2019, 2022, 3);
        let (archive, why) = term(22, 2000, 2022, 3);
        assert_eq!((annual, archive), (35.0, 35.0), "{why}");
        assert!(why.contains("22 years, 3 counted"), "{why}");
        // Ten annual pairs: 15 + 90 without the cap.
        assert_eq!(term(10, 2010, 2020, 10).0, 45.0);
    }

    /// Review finding (revV F1): a revegetated pit was "194.4 mu suspected illegal area"
    /// and needed a provincial field check from its reversal.
    #[test]
    fn a_restored_site_has_no_suspected_illegal_area() {
        let mut s = site_with_minerals(&[]);
        s.latest[0].licence_status = LicenceStatus::OutsideAllRights;
        s.latest[0].outside_licence_m2 = 129_600.0;
        let p = Policy::default();
        let t = score(&s, &RunDates::default(), &p, &Context::default());
        assert!(t.provincial_field_check_required && t.illegal_area_m2 > 0.0);
        s.restored = Some(s.latest_pair);
        let t = score(&s, &RunDates::default(), &p, &Context::default());
        assert!(!t.provincial_field_check_required);
        assert_eq!(t.illegal_area_m2, 0.0);
        assert!(
            t.reasons_zh.iter().any(|r| r.contains("已复绿")),
            "{:?}",
            t.reasons_zh
        );
    }

    /// Review finding: names matched as substrings, so a gold price surge raised every
    /// 有色金属 (non-ferrous metals) right.
    #[test]
    fn mineral_names_match_whole_not_as_substrings() {
        assert_eq!(mineral_term(&["有色金属"], "金"), 0.0);
        assert_eq!(mineral_term(&["金"], "金"), 15.0);
        // A trailing 矿 names the same mineral; a list in one field is split.
        assert_eq!(mineral_term(&["金矿"], "金"), 15.0);
        assert_eq!(mineral_term(&["铜、金"], "金"), 15.0);
        // Strategic 钨 and its ore; 钨钼 (an unlisted compound name) is not 钨.
        assert_eq!(mineral_term(&["钨矿"], "煤"), 10.0);
        assert_eq!(mineral_term(&["钨钼"], "煤"), 0.0);
        // English names through the alias list, any case.
        assert_eq!(mineral_term(&["Tungsten"], "煤"), 10.0);
        assert_eq!(mineral_term(&["rare earth"], "煤"), 10.0);
    }

    /// A licence granted between the image dates is said in the task's reasons (the field
    /// team reads those, not the findings) and changes no score.
    #[test]
    fn a_licence_granted_in_the_pair_is_a_reason_not_a_score() {
        let plain = site_with_minerals(&["煤"]);
        let mut flagged = plain.clone();
        flagged.latest[0].licence_granted_in_pair = Some(true);
        let run = |s: &Site| {
            score(
                s,
                &RunDates::default(),
                &Policy::default(),
                &Context::default(),
            )
        };
        let (a, b) = (run(&plain), run(&flagged));
        assert_eq!(a.terms, b.terms);
        assert!(!a.reasons_zh.iter().any(|r| r.contains("前后时相间")));
        assert!(b
            .reasons_zh
            .iter()
            .any(|r| r.contains("矿权于前后时相间取得")));
        assert!(b
            .reasons_en
            .iter()
            .any(|r| r.contains("granted between the image dates")));
    }

    /// Review finding: a 1.2 % sliver of military land gave a site the −100 of special
    /// land (rank 87 of 92) while the overlay, holding the ≥ 50 % rule, still sent it to a
    /// provincial field check.
    #[test]
    fn special_land_weighs_only_when_the_overlay_files_it() {
        let hit = |pct: f64| minewatch_core::ZoneHit {
            layer: "military".into(),
            kind: ZoneKind::SpecialLand,
            zone_id: "M1".into(),
            zone_name: String::new(),
            overlap_m2: pct,
            grid_overlap_m2: pct,
            overlap_pct: pct,
            attrs: vec![],
        };
        let zone_term = |pct: f64, filed: bool| {
            let mut s = site_with_minerals(&["煤"]);
            s.latest[0].hits.push(hit(pct));
            s.latest[0].special_land = filed;
            let t = score(
                &s,
                &RunDates::default(),
                &Policy::default(),
                &Context::default(),
            );
            t.terms[TERMS.iter().position(|t| *t == "zone").unwrap()]
        };
        assert_eq!(zone_term(1.2, false), 0.0);
        assert!(
            zone_term(60.0, true) < 0.0,
            "filed as special land: its weight"
        );
    }

    /// Review finding: sites outside every admin polygon were ranked as a group of their
    /// own (rank_province 1–3 beside the real province's 1–4), as if "no province" were one.
    #[test]
    fn sites_without_a_place_get_no_rank_and_sort_last() {
        let task = |id: &str, points: f64, county: Option<&str>| {
            let mut s = site_with_minerals(&["煤"]);
            s.id = id.into();
            s.latest[0].admin = AdminPlace {
                province_code: county.map(|_| "320000".into()),
                prefecture_code: county.map(|_| "320100".into()),
                county_code: county.map(String::from),
                ..AdminPlace::default()
            };
            let mut t = score(
                &s,
                &RunDates::default(),
                &Policy::default(),
                &Context::default(),
            );
            t.score = points;
            t
        };
        let mut ts = vec![
            task("S_none_lo", 10.0, None),
            task("S_a", 50.0, Some("320111")),
            task("S_none_hi", 90.0, None),
            task("S_b", 70.0, Some("320111")),
        ];
        rank(&mut ts);
        let got: Vec<(&str, [Option<usize>; 3])> = ts
            .iter()
            .map(|t| {
                (
                    t.site_id.as_str(),
                    [t.rank_county, t.rank_prefecture, t.rank_province],
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("S_b", [Some(1); 3]),
                ("S_a", [Some(2); 3]),
                ("S_none_hi", [None; 3]),
                ("S_none_lo", [None; 3]),
            ]
        );
        assert!(ts[2].has_no_place() && ts[2].is_ranked());
    }

    /// Review finding (revR F7): reasons_zh kept the English words of the confidence and
    /// the change type ("检测置信度 high", "变化类型 bare_soil_gain").
    #[test]
    fn chinese_reasons_name_confidence_and_change_type_in_chinese() {
        let mut s = site_with_minerals(&["煤"]);
        s.last_confidence = "high".into();
        s.last_change_type = "bare_soil_gain".into();
        let t = score(
            &s,
            &RunDates::default(),
            &Policy::default(),
            &Context::default(),
        );
        let zh = t.reasons_zh.join("; ");
        assert!(zh.contains("检测置信度高 (+5)"), "{zh}");
        assert!(zh.contains("变化类型: 裸土增加 (+10)"), "{zh}");
        assert!(!zh.contains("high") && !zh.contains("bare_soil"), "{zh}");
    }

    /// Review findings: an inside site's illegal area printed `-0` in tasks.csv, and a
    /// false-change verdict without a reason read "false change on 2003-08-01 ()".
    #[test]
    fn no_negative_zero_and_no_empty_brackets() {
        let t = score(
            &site_with_minerals(&["煤"]),
            &RunDates::default(),
            &Policy::default(),
            &Context::default(),
        );
        assert!(t.illegal_area_m2 == 0.0 && t.illegal_area_m2.is_sign_positive());
        assert_eq!(because("  ", " (", ")"), "");
        assert_eq!(because("厂房", " (", ")"), " (厂房)");
    }
}
