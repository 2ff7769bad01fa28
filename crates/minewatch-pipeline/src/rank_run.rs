//! The rank run: findings of one or more overlay runs (any number of date pairs) → the
//! multi-year ledger (sites with stable ids) → history, penalties and prices → the
//! policy's scores, reasons and ranks → tasks, trends, hot spots, the ledger for the next
//! run and a manifest, all through the staging folder.

use crate::error::PipelineError;
use crate::manifest::HashJob;
use crate::overlay_run::Header;
use crate::patch_table;
use crate::staging::Staging;
use crate::table_read::{self, Table};
use crate::write::table::{self as tw, GpkgLayer, Polys};
use crate::write::{round, Attr, Kind};
use geo_types::MultiPolygon;
use minewatch_core::units::m2_to_mu;
use minewatch_core::{
    AcqDate, AdminPlace, DatePair, Finding, HistoryRecord, LicenceStatus, Penalty, Site, Verdict,
    ZoneHit, ZoneKind,
};
use minewatch_ledger::{match_key, LedgerParams, LedgerPatch, Outside, Persistence};
use minewatch_policy::{Context, PatchFact, Policy, RunDates, SitePoint, Task, TERMS};
use minewatch_zones::{Reprojector, WorkCrs};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct RankRequest {
    pub findings: Vec<PathBuf>,
    pub policy: Option<PathBuf>,
    pub history: Option<PathBuf>,
    pub penalties: Option<PathBuf>,
    pub prices: Option<PathBuf>,
    pub ledger: Option<PathBuf>,
    pub out: PathBuf,
    pub threads: Option<usize>,
    pub header: Header,
    pub command: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RankSummary {
    pub out: PathBuf,
    pub patches: usize,
    /// The pairs with patches.
    pub pairs: Vec<String>,
    /// Every pair compared, with patches or not (detect's list, carried by overlay), plus
    /// the pairs of findings whose list is unknown: the chains of dates new change is
    /// judged on.
    pub compared_pairs: Vec<String>,
    /// Findings given whose compared pairs are unknown (patches not from a detect output):
    /// only their pairs with patches are seen, so a quiet latest pair there is missed.
    pub compared_pairs_unknown_for: Vec<PathBuf>,
    pub sites: usize,
    pub ranked: usize,
    pub suppressed: usize,
    pub multi_year_change: usize,
    pub provincial_field_check_required: usize,
    pub criminal_referral_candidates: usize,
    pub rising_fast_counties: Vec<String>,
    pub hotspots: usize,
    /// History rows that matched no site (by patch id, site id or location).
    pub unmatched_history_rows: usize,
    /// Penalty rows that link to no site and whose party links to none: they weigh nothing.
    pub unmatched_penalty_rows: usize,
    /// The penalties table's cause column (案由 …), if it has one: only rows whose cause is
    /// illegal mining count.
    pub penalty_cause_column: Option<String>,
    /// Penalty rows left out because their cause is not illegal mining.
    pub penalty_rows_not_mining: usize,
    /// Penalties were given but licences were not checked (no rights layer: every finding
    /// `not_checked`), so no change counts as an act and no referral can be judged.
    pub referrals_not_judged_without_licences: bool,
    /// Sites linked to a penalised party whose every patch is `not_checked`: whether they
    /// are criminal referral candidates cannot be judged without licences.
    pub referral_sites_not_judged: usize,
    /// Sites in no admin division of the overlay's layers: no county, prefecture or
    /// province, so no rank (warned on stderr).
    pub sites_without_admin_place: usize,
}

pub const OUTPUTS: [&str; 10] = [
    "tasks.csv",
    "tasks.gpkg",
    "tasks.geojson",
    "ledger.csv",
    "trends_county.csv",
    "trends_mineral.csv",
    "hotspots.csv",
    "hotspots.geojson",
    "README.txt",
    "rank_manifest.json",
];

struct Loaded {
    patches: Vec<LedgerPatch>,
    /// The input (index into the inputs) each patch came from.
    input: Vec<usize>,
    /// Patch polygons in the first input's CRS, by patch id, for the task geometries.
    polys: BTreeMap<String, MultiPolygon<f64>>,
    crs_wkt: String,
    work: WorkCrs,
}

pub fn run_rank(req: &RankRequest) -> Result<RankSummary, PipelineError> {
    let t0 = Instant::now();
    let policy = match &req.policy {
        Some(p) => Policy::from_file(p).map_err(|msg| PipelineError::Params {
            path: p.clone(),
            msg,
        })?,
        None => Policy::default(),
    };
    if req.findings.is_empty() {
        return Err(PipelineError::Input(
            "no findings given: name one or more `minewatch overlay` output folders".into(),
        ));
    }
    let inputs: Vec<PathBuf> = req
        .findings
        .iter()
        .map(|p| crate::run_folder::data_file(p, crate::run_folder::Stage::Overlay))
        .collect::<Result<_, _>>()?;
    crate::run_folder::refuse_repeats(&req.findings, &inputs)?;
    let mut hashed: Vec<PathBuf> = inputs.clone();
    for p in [
        &req.policy,
        &req.history,
        &req.penalties,
        &req.prices,
        &req.ledger,
    ]
    .into_iter()
    .flatten()
    {
        hashed.push(p.clone());
    }
    let hashed: Vec<PathBuf> = hashed.into_iter().filter(|p| p.is_file()).collect();
    let hashes = HashJob::start(hashed.clone())?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(req.threads.unwrap_or(0))
        .build()
        .map_err(|e| PipelineError::Internal(format!("thread pool: {e}")))?;

    // Reading checks each polygon on the pool's threads (patch_table), as `--threads` says.
    let loaded = pool.install(|| load_findings(&inputs))?;
    // Every pair detect compared, with patches or not (overlay carries detect's list): a
    // quiet latest pair is what makes an old site not new. Findings whose list is unknown
    // give only the pairs of their patches, as before, and say so.
    let mut recorded: BTreeMap<String, crate::compared_pairs::ComparedPair> = BTreeMap::new();
    let mut pairs_unknown: Vec<PathBuf> = Vec::new();
    for (given, file) in req.findings.iter().zip(&inputs) {
        match crate::compared_pairs::from_overlay(file)? {
            Some(v) => {
                for c in v {
                    recorded.entry(c.pair.clone()).or_insert(c);
                }
            }
            None => pairs_unknown.push(given.clone()),
        }
    }
    if !pairs_unknown.is_empty() {
        eprintln!(
            "rank: warning: the date pairs detect compared are not known for {} (patches not read from a `minewatch detect` output, or an overlay run before Session 22): only pairs with patches are seen there, so a site whose latest comparison found nothing counts as new change; run overlay on the detect output folder, then rank again",
            pairs_unknown
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    // The same change must not count twice: 2019→2021 beside 2019→2020 and 2020→2021.
    let pairs: Vec<DatePair> = loaded
        .patches
        .iter()
        .map(|p| p.pair)
        .chain(recorded.values().filter_map(|c| c.dates()))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if let Some((a, b)) = minewatch_ledger::overlapping_pairs(&pairs) {
        return Err(PipelineError::Input(format!(
            "findings of {} → {} and of {} → {} cover the same time: the change would count twice; rank findings of consecutive pairs only (e.g. one detect run over all dates)",
            a.before, a.after, b.before, b.after
        )));
    }
    // Nor the same pair from two inputs over the same ground (detect runs on mosaics of
    // other origins give other ids): its area would count twice, one pit be two tasks.
    let geoms: Vec<MultiPolygon<f64>> = loaded.patches.iter().map(|p| p.geom.clone()).collect();
    let pair_of: Vec<DatePair> = loaded.patches.iter().map(|p| p.pair).collect();
    if let Some((i, j)) =
        minewatch_ledger::same_change::given_twice(&geoms, &pair_of, &loaded.input)
    {
        let (a, b) = (&loaded.patches[i], &loaded.patches[j]);
        return Err(PipelineError::Input(format!(
            "{} and {} both hold findings of {} → {} on the same ground (patches {} and {}): the change would count twice; give each pair's findings once (two detect runs of the same dates, e.g. on mosaics of other origins, are one pair)",
            inputs[loaded.input[i]].display(),
            inputs[loaded.input[j]].display(),
            a.pair.before,
            a.pair.after,
            a.id,
            b.id
        )));
    }
    let to_work = Reprojector::new(&minewatch_zones::crs::from_epsg(4326)?, &loaded.work.srs()?)?;
    let work_point = |ll: (f64, f64)| -> Option<(f64, f64)> {
        let mut g = gdal::vector::Geometry::from_wkt(&format!("POINT ({} {})", ll.0, ll.1)).ok()?;
        to_work.apply(&mut g).ok()?;
        let (x, y, _) = g.get_point(0);
        Some((x, y))
    };
    let history = match &req.history {
        Some(p) => read_history(&with_form_headers(table_read::read(p)?)?)?,
        None => Vec::new(),
    };
    let penalty_rows = match &req.penalties {
        Some(p) => {
            let rows = read_penalties(&table_read::read(p)?)?;
            note_penalty_causes(p, &rows);
            Some(rows)
        }
        None => None,
    };
    let penalties: Vec<Penalty> = penalty_rows
        .as_ref()
        .map(|r| r.kept.clone())
        .unwrap_or_default();
    let prices = match &req.prices {
        Some(p) => read_prices(&table_read::read(p)?)?,
        None => Vec::new(),
    };
    let prior = match &req.ledger {
        Some(p) => read_prior(&table_read::read(&ledger_file(p))?)?,
        None => BTreeMap::new(),
    };
    let hist: Vec<(HistoryRecord, Option<(f64, f64)>)> = history
        .into_iter()
        .map(|h| {
            let at = h.lonlat.and_then(work_point);
            (h, at)
        })
        .collect();
    let pens: Vec<(Penalty, Option<(f64, f64)>)> = penalties
        .into_iter()
        .map(|p| {
            let at = p.lonlat.and_then(work_point);
            (p, at)
        })
        .collect();
    let lp = LedgerParams {
        link_distance_m: policy.ledger.link_distance_m,
        min_run_years: policy.ledger.min_run_years,
        false_change_growth_pct: policy.ledger.false_change_growth_pct,
        location_link_m: policy.ledger.location_link_m,
        referral_window_ends_at_change: policy.ledger.referral_window_ends_at_change,
    };
    let t_ledger = Instant::now();
    let ledger = pool.install(|| {
        minewatch_ledger::build_ledger_compared(
            &loaded.patches,
            &pairs,
            &prior,
            &Outside {
                history: &hist,
                penalties: &pens,
            },
            &lp,
        )
    });
    let ledger_s = t_ledger.elapsed().as_secs_f64();
    if ledger.chain_ends.len() > 1 {
        let ends: Vec<String> = ledger
            .chain_ends
            .iter()
            .map(|p| format!("{} → {}", p.before, p.after))
            .collect();
        eprintln!(
            "rank: note: the findings end on different dates ({}): each site's new change is judged against the latest pair of its own dates",
            ends.join(", ")
        );
    }
    if let Some(file) = &req.ledger {
        if !prior.is_empty() && !loaded.patches.iter().any(|p| prior.contains_key(&p.id)) {
            eprintln!(
                "rank: warning: none of the {} patch ids of the earlier ledger {} is in these findings, so no site keeps its id; give the earlier findings too (rank LAST_YEAR THIS_YEAR --ledger …: the findings that run ranked, not the same pairs detected again)",
                prior.len(),
                ledger_file(file).display()
            );
        }
    }
    let mut ledger = ledger;
    let to_lonlat = Reprojector::new(&loaded.work.srs()?, &minewatch_zones::crs::from_epsg(4326)?)?;
    let by_id: BTreeMap<&str, &LedgerPatch> =
        loaded.patches.iter().map(|p| (p.id.as_str(), p)).collect();
    for s in &mut ledger.sites {
        s.centre_lonlat = centre_on_site(s, &by_id, &work_point, &to_lonlat);
    }
    let sites = &ledger.sites;
    // Without licences no change is an act (it may lie inside the party's own licence,
    // which is no 又实施非法采矿), so the referral rule cannot be judged: say so rather than
    // report "0 candidates" as if checked (docs/rank.md).
    let unchecked = |id: &str| {
        by_id
            .get(id)
            .is_some_and(|p| p.finding.licence_status == LicenceStatus::NotChecked)
    };
    let unjudged: Vec<&str> = sites
        .iter()
        .filter(|s| !s.parties.is_empty() && s.patch_ids.iter().all(|id| unchecked(id)))
        .map(|s| s.id.as_str())
        .collect();
    let no_licences = !pens.is_empty()
        && loaded
            .patches
            .iter()
            .all(|p| p.finding.licence_status == LicenceStatus::NotChecked);
    if no_licences || !unjudged.is_empty() {
        eprintln!(
            "rank: warning: penalties were given but {}: no change there counts as a new act (it may lie inside the party's own licence), so criminal referral candidates (法释〔2016〕25号 art. 3 (3)) cannot be judged{}; add the mining-rights layer to the overlay's layers, run overlay and rank again",
            if no_licences {
                "no mining-rights layer was overlaid (every finding 未核对矿权), so penalties given by licence link to no site and licences are unknown"
                    .to_string()
            } else {
                format!("{} site{} linked to penalised parties lie on ground whose licences were not checked (未核对矿权)", unjudged.len(), if unjudged.len() == 1 { "" } else { "s" })
            },
            if unjudged.is_empty() {
                String::new()
            } else {
                format!(
                    " — {} site{} linked to penalised parties: {}{}",
                    unjudged.len(),
                    if unjudged.len() == 1 { "" } else { "s" },
                    unjudged.iter().take(5).copied().collect::<Vec<_>>().join(", "),
                    if unjudged.len() > 5 { ", …" } else { "" }
                )
            }
        );
    }
    warn_false_change_unassessed(&ledger.false_change_unassessed, req.history.as_deref());
    note_unmatched(
        "history",
        req.history.as_deref(),
        &ledger.unmatched_history,
        |i| &hist[i].0.source,
    );
    note_unmatched(
        "penalty",
        req.penalties.as_deref(),
        &ledger.unmatched_penalties,
        |i| &pens[i].0.source,
    );

    // Trends from every patch; the latest period's fast risers raise their sites.
    let facts: Vec<PatchFact> = loaded
        .patches
        .iter()
        .map(|p| PatchFact {
            year: p.pair.after.year,
            pair: p.pair.key(),
            county_code: p.finding.admin.county_code.clone(),
            county_name: p.finding.admin.county_name.clone(),
            minerals: p.finding.minerals.clone(),
            area_m2: p.area_m2,
        })
        .collect();
    let county_trends =
        minewatch_policy::trends(&facts, minewatch_policy::trends::by_county, &policy);
    let mineral_trends =
        minewatch_policy::trends(&facts, minewatch_policy::trends::by_mineral, &policy);
    let (surges, stale) = minewatch_policy::prices::surges(&prices, &policy);
    for (mineral, last) in &stale {
        eprintln!(
            "rank: note: {mineral} rose over the threshold by {last}, but the price table runs later: an old surge is not counted"
        );
    }
    let ctx = Context {
        price_surges: surges,
        rising_counties: minewatch_policy::trends::rising_latest(&county_trends),
    };
    let t_score = Instant::now();
    let mut tasks: Vec<Task> = pool.install(|| {
        use rayon::prelude::*;
        sites
            .par_iter()
            .zip(&ledger.persistence)
            .map(|(s, r)| minewatch_policy::score(s, &run_dates(r), &policy, &ctx))
            .collect()
    });
    minewatch_policy::rank(&mut tasks);
    let score_s = t_score.elapsed().as_secs_f64();
    let unplaced = warn_unplaced(&tasks, &loaded.patches);
    let site_by_id: BTreeMap<&str, &Site> = sites.iter().map(|s| (s.id.as_str(), s)).collect();
    let spots = minewatch_policy::hotspots(
        &tasks
            .iter()
            .filter(|t| t.is_ranked())
            .map(|t| {
                let s = site_by_id[t.site_id.as_str()];
                SitePoint {
                    site_id: s.id.clone(),
                    lonlat: s.centre_lonlat,
                    area_m2: s.total_area_m2,
                    county: t.county_code.clone(),
                }
            })
            .collect::<Vec<_>>(),
        &policy,
    );

    let staging = Staging::new(&req.out)?;
    let (cols, rows) = task_rows(&tasks, &site_by_id, &policy.classes);
    let geoms: Vec<Polys> = tasks
        .iter()
        .map(|t| {
            let s = site_by_id[t.site_id.as_str()];
            // Dissolved: a growing pit's rings share edges with the old extent and a
            // re-detection repeats it; as separate parts the MultiPolygon is invalid and
            // a GIS counts that ground twice.
            let parts = s.patch_ids.iter().filter_map(|pid| loaded.polys.get(pid));
            crate::overlay_run::to_polys(&minewatch_ledger::footprint(parts))
        })
        .collect();
    let lonlat = pool.install(|| crate::overlay_run::lonlat_of(&loaded.crs_wkt, &geoms))?;
    tw::write_gpkg(
        &staging.path("tasks.gpkg"),
        &loaded.crs_wkt,
        &[GpkgLayer {
            name: "tasks",
            columns: &cols,
            rows: &rows,
            geoms: Some(&geoms),
        }],
    )?;
    tw::write_geojson(
        &staging.path("tasks.geojson"),
        "tasks",
        &cols,
        &rows,
        &lonlat,
    )?;
    let header = |c: &[(String, Kind)]| req.header.names(c, zh);
    tw::write_csv(&staging.path("tasks.csv"), &header(&cols), &rows)?;
    let (lc, lr) = ledger_rows(sites, &loaded.patches);
    // Read back by the next run (`--ledger`): English columns whatever --header says.
    tw::write_csv(
        &staging.path("ledger.csv"),
        &lc.iter().map(|c| c.0.clone()).collect::<Vec<_>>(),
        &lr,
    )?;
    let (tc, tr) = trend_rows(&county_trends, "county_code", "county_name");
    tw::write_csv(&staging.path("trends_county.csv"), &header(&tc), &tr)?;
    let (mc, mr) = trend_rows(&mineral_trends, "mineral", "mineral_name");
    tw::write_csv(&staging.path("trends_mineral.csv"), &header(&mc), &mr)?;
    let (hc, hr, hg) = hotspot_rows(&spots);
    tw::write_csv(&staging.path("hotspots.csv"), &header(&hc), &hr)?;
    tw::write_geojson(&staging.path("hotspots.geojson"), "hotspots", &hc, &hr, &hg)?;
    std::fs::write(staging.path("README.txt"), README).map_err(|e| PipelineError::Output {
        path: req.out.clone(),
        msg: e.to_string(),
    })?;

    let compared_pairs: Vec<String> = pairs.iter().map(|p| p.key()).collect();
    let mut pairs: Vec<String> = loaded.patches.iter().map(|p| p.pair.key()).collect();
    pairs.sort();
    pairs.dedup();
    let summary = RankSummary {
        out: req.out.clone(),
        patches: loaded.patches.len(),
        pairs,
        compared_pairs,
        compared_pairs_unknown_for: pairs_unknown,
        sites: sites.len(),
        ranked: tasks
            .iter()
            .filter(|t| t.is_ranked() && !t.has_no_place())
            .count(),
        suppressed: tasks.iter().filter(|t| t.suppressed).count(),
        multi_year_change: sites.iter().filter(|s| s.multi_year_change).count(),
        provincial_field_check_required: tasks
            .iter()
            .filter(|t| t.provincial_field_check_required)
            .count(),
        criminal_referral_candidates: tasks
            .iter()
            .filter(|t| t.criminal_referral_candidate)
            .count(),
        rising_fast_counties: ctx.rising_counties.iter().cloned().collect(),
        hotspots: spots.len(),
        unmatched_history_rows: ledger.unmatched_history.len(),
        unmatched_penalty_rows: ledger.unmatched_penalties.len(),
        penalty_cause_column: penalty_rows.as_ref().and_then(|r| r.cause_column.clone()),
        penalty_rows_not_mining: penalty_rows.as_ref().map_or(0, |r| r.not_mining.len()),
        referrals_not_judged_without_licences: no_licences,
        referral_sites_not_judged: unjudged.len(),
        sites_without_admin_place: unplaced,
    };
    let sums = hashes.finish()?;
    let files: Vec<serde_json::Value> = hashed
        .iter()
        .zip(&sums)
        .map(|(p, (b, h))| serde_json::json!({"path": p, "bytes": b, "sha256": h}))
        .collect();
    let manifest = serde_json::json!({
        "tool": "minewatch rank",
        "version": env!("CARGO_PKG_VERSION"),
        "gdal": gdal::version::version_info("RELEASE_NAME"),
        "command": req.command,
        "inputs": files,
        "policy_file": req.policy,
        "policy": policy,
        "price_surges": ctx.price_surges,
        "work_crs_wkt": loaded.work.wkt,
        "work_crs_reason": loaded.work.reason,
        "summary": summary,
        "compared_pairs": recorded.values().collect::<Vec<_>>(),
        "timings_s": {
            "ledger": round(ledger_s, 3),
            "score_and_rank": round(score_s, 3),
            "total": round(t0.elapsed().as_secs_f64(), 3),
        },
        "outputs": OUTPUTS,
    });
    crate::manifest::write(&staging.path("rank_manifest.json"), &manifest)?;
    staging.commit(&OUTPUTS, &[])?;
    Ok(summary)
}

/// Typed columns of a table.
type Columns = Vec<(String, Kind)>;

/// The dates a site's persistence and growth reasons cite.
fn run_dates(r: &Persistence) -> RunDates {
    RunDates {
        run: r.longest.map(|x| (x.first, x.last, x.pairs)),
        growth: r.growth.map(|g| (g.from, g.to)),
    }
}

/// Rows that matched no site weigh nothing: say so on stderr (the manifest counts them), so
/// a wrong id column or a far-off location is not mistaken for "no history".
fn note_unmatched<'a>(
    what: &str,
    file: Option<&Path>,
    rows: &[usize],
    source: impl Fn(usize) -> &'a String,
) {
    let (Some(file), false) = (file, rows.is_empty()) else {
        return;
    };
    let lines: Vec<&str> = rows
        .iter()
        .take(5)
        .map(|&i| source(i).rsplit(':').next().unwrap_or(""))
        .collect();
    eprintln!(
        "rank: note: {} {what} row{} of {} {} no site (rows {}{}); not used",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" },
        file.display(),
        if rows.len() == 1 { "matches" } else { "match" },
        lines.join(", "),
        if rows.len() > 5 { ", …" } else { "" }
    );
}

/// Say which penalty rows were left out for their cause, and whether causes were read.
fn note_penalty_causes(file: &Path, rows: &PenaltyRows) {
    let Some(col) = &rows.cause_column else {
        eprintln!(
            "rank: note: {} has no cause column ({}): every penalty counts toward the repeat-offender rule, so the table must hold penalties for illegal mining only (法释〔2016〕25号 art. 3 (3): 因非法采矿受过行政处罚)",
            file.display(),
            CAUSE_COLUMNS.join(" / ")
        );
        return;
    };
    if !rows.not_mining.is_empty() {
        let shown: Vec<String> = rows
            .not_mining
            .iter()
            .take(5)
            .map(|(line, cause)| format!("row {line} {cause}"))
            .collect();
        eprintln!(
            "rank: note: {} penalty row{} of {} left out: `{col}` is not illegal mining (no {} in it; 法释〔2016〕25号 art. 3 (3) counts only 因非法采矿 penalties): {}{}",
            rows.not_mining.len(),
            if rows.not_mining.len() == 1 { "" } else { "s" },
            file.display(),
            MINING_CAUSE_WORDS.join(" / "),
            shown.join(", "),
            if rows.not_mining.len() > 5 { ", …" } else { "" }
        );
    }
    if !rows.blank_cause.is_empty() {
        eprintln!(
            "rank: note: {} penalty row{} of {} with an empty `{col}` counted as illegal mining (rows {}{}); fill in the cause to leave out other penalties",
            rows.blank_cause.len(),
            if rows.blank_cause.len() == 1 { "" } else { "s" },
            file.display(),
            rows.blank_cause
                .iter()
                .take(5)
                .map(|l| l.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            if rows.blank_cause.len() > 5 { ", …" } else { "" }
        );
    }
}

/// 伪变化 sites none of whose patches predates the verdict: the ground the county judged is
/// not in the findings, so whether the site grew since cannot be measured. The verdict
/// stands (suppressed); say so, with what to do.
fn warn_false_change_unassessed(sites: &[(String, AcqDate)], history: Option<&Path>) {
    if sites.is_empty() {
        return;
    }
    let list: Vec<String> = sites
        .iter()
        .take(5)
        .map(|(id, d)| format!("{id} (伪变化 of {d})"))
        .collect();
    eprintln!(
        "rank: warning: {} site{} filed as 伪变化 in {} {} no patch found before the verdict ({}{}): whether {} grew since cannot be assessed, so the verdict stands and {} suppressed; rank the findings of the judged pair too (rank EARLIER LATER …) to measure growth",
        sites.len(),
        if sites.len() == 1 { "" } else { "s" },
        history.map_or("the history".into(), |p| p.display().to_string()),
        if sites.len() == 1 { "has" } else { "have" },
        list.join(", "),
        if sites.len() > 5 { ", …" } else { "" },
        if sites.len() == 1 { "it" } else { "they" },
        if sites.len() == 1 { "it stays" } else { "they stay" },
    );
}

/// Sites in no admin division weigh in no county's, prefecture's or province's ranking
/// and land in package's `000000_未定县`: usually the overlay's admin layer does not cover
/// them (or none was given). Say so, with what to do; returns their count.
fn warn_unplaced(tasks: &[Task], patches: &[LedgerPatch]) -> usize {
    let sites = tasks.iter().filter(|t| t.has_no_place()).count();
    if sites == 0 {
        return 0;
    }
    let ids: Vec<&str> = patches
        .iter()
        .filter(|p| {
            let a = &p.finding.admin;
            a.province_code.is_none() && a.prefecture_code.is_none() && a.county_code.is_none()
        })
        .map(|p| p.id.as_str())
        .collect();
    eprintln!(
        "rank: warning: {sites} site{} in no admin division of the overlay's layers ({} patch{}: {}{}): no county, prefecture or province, so no rank (rank_* empty, listed last) and `package` files them under 000000_未定县; add an admin_division layer that covers them to the overlay's layers, then run overlay and rank again",
        if sites == 1 { " lies" } else { "s lie" },
        ids.len(),
        if ids.len() == 1 { "" } else { "es" },
        ids.iter().take(5).copied().collect::<Vec<_>>().join(", "),
        if ids.len() > 5 { ", …" } else { "" }
    );
    sites
}

const README: &str = "minewatch rank outputs\n\
tasks.csv / .gpkg / .geojson  one row per site: score, term_* breakdown (sums to score), reasons (en, zh), ranks\n\
ledger.csv                    patch id -> site id; give it to the next run with --ledger to keep site ids\n\
trends_county.csv, trends_mineral.csv  new patches per period, growth, rising_fast\n\
hotspots.csv / .geojson       clusters of sites for concentrated rectification (集中整治)\n\
rank_manifest.json            inputs with sha256, policy, summary, timings\n";

fn load_findings(inputs: &[PathBuf]) -> Result<Loaded, PipelineError> {
    let mut patches: Vec<LedgerPatch> = Vec::new();
    let mut polys = BTreeMap::new();
    let mut crs_wkt = String::new();
    let mut work: Option<WorkCrs> = None;
    let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut input = Vec::new();
    for (k, path) in inputs.iter().enumerate() {
        let table = patch_table::read_layer(path, "findings")?;
        let hits = read_hits(path)?;
        if work.is_none() {
            crs_wkt = table.crs_wkt.clone();
            work = Some(WorkCrs::choose(&table.crs_wkt, table.lonlat_extent()?)?);
        }
        let w = work.as_ref().expect("set above");
        let src = minewatch_zones::crs::from_wkt(&table.crs_wkt)?;
        let to_work = Reprojector::new(&src, &w.srs()?)?;
        let to_first = Reprojector::new(&src, &minewatch_zones::crs::from_wkt(&crs_wkt)?)?;
        let to_ll = Reprojector::new(&src, &minewatch_zones::crs::from_epsg(4326)?)?;
        let col = |n: &str| table.columns.iter().position(|(c, _)| c == n);
        for need in ["id", "date_before", "date_after", "licence_status"] {
            if col(need).is_none() {
                return Err(PipelineError::Input(format!(
                    "{}: no `{need}` column; give `minewatch overlay` outputs of detect patches",
                    path.display()
                )));
            }
        }
        for (n, r) in table.rows.iter().enumerate() {
            if let Some(first) = seen.get(&r.id) {
                // Twice in one file too (rows appended twice): the ledger would hold the
                // patch twice and count its area twice.
                let where_ = if first == path {
                    "listed twice in this file".to_string()
                } else {
                    format!("also in {}", first.display())
                };
                return Err(PipelineError::Input(format!(
                    "{} row {}: patch {} is {where_}; give each pair's findings once",
                    path.display(),
                    n + 1,
                    r.id,
                )));
            }
            seen.insert(r.id.clone(), path.clone());
            let text = |c: &str| -> String {
                match col(c).map(|i| &r.values[i]) {
                    Some(Attr::Text(s)) => s.clone(),
                    Some(Attr::Int(x)) => x.to_string(),
                    Some(Attr::Real(x)) => x.to_string(),
                    _ => String::new(),
                }
            };
            let num = |c: &str| -> Option<f64> {
                match col(c).map(|i| &r.values[i]) {
                    Some(Attr::Real(x)) => Some(*x),
                    Some(Attr::Int(x)) => Some(*x as f64),
                    Some(Attr::Text(s)) => s.parse().ok(),
                    _ => None,
                }
            };
            let date = |c: &str| -> Result<AcqDate, PipelineError> {
                AcqDate::parse_lenient(&text(c)).map_err(|e| {
                    PipelineError::Input(format!(
                        "{} row {}, field `{c}`: {e}",
                        path.display(),
                        n + 1
                    ))
                })
            };
            let pair = DatePair {
                before: date("date_before")?,
                after: date("date_after")?,
            };
            let status = parse_status(&text("licence_status")).ok_or_else(|| {
                PipelineError::Input(format!(
                    "{} row {}, field `licence_status`: `{}` is not a licence status",
                    path.display(),
                    n + 1,
                    text("licence_status")
                ))
            })?;
            let opt = |c: &str| Some(text(c)).filter(|s| !s.is_empty());
            let list = |c: &str| -> Vec<String> {
                text(c)
                    .split(';')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            };
            let area_m2 = num("area_m2").unwrap_or(0.0);
            let finding = Finding {
                patch_id: r.id.clone(),
                area_m2,
                hits: hits.get(&r.id).cloned().unwrap_or_default(),
                licence_status: status,
                outside_licence_m2: num("outside_licence_m2").unwrap_or(0.0),
                licence_granted_in_pair: num("licence_granted_in_pair").map(|x| x == 1.0),
                licence_validity_checked: num("licence_validity_checked").map(|x| x == 1.0),
                admin_overruled: Vec::new(),
                licences: list("licences"),
                holders: list("licence_holders"),
                minerals: list("minerals"),
                in_restoration_project: num("in_restoration_project") == Some(1.0),
                in_construction_project: num("in_construction_project") == Some(1.0),
                special_land: num("special_land") == Some(1.0),
                admin: AdminPlace {
                    province_code: opt("province_code"),
                    province_name: opt("province_name"),
                    prefecture_code: opt("prefecture_code"),
                    prefecture_name: opt("prefecture_name"),
                    county_code: opt("county_code"),
                    county_name: opt("county_name"),
                },
                river_distance_m: num("river_distance_m"),
                over_10_mu_illegal: num("over_10_mu_illegal") == Some(1.0),
            };
            let reproject = |g: &MultiPolygon<f64>,
                             t: &Reprojector|
             -> Result<MultiPolygon<f64>, PipelineError> {
                if t.is_identity() {
                    return Ok(g.clone());
                }
                crate::overlay_run::reproject(g, t).map_err(|e| {
                    PipelineError::Input(format!("{} patch {}: {e}", path.display(), r.id))
                })
            };
            let centre_lonlat = match (num("centroid_lon"), num("centroid_lat")) {
                (Some(x), Some(y)) => (x, y),
                _ => {
                    let b = minewatch_zones::index::bbox_of(&r.geom).unwrap_or([0.0; 4]);
                    let c = to_ll
                        .bounds([b[0], b[1], b[2], b[3]])
                        .map_err(PipelineError::Input)?;
                    (0.5 * (c[0] + c[2]), 0.5 * (c[1] + c[3]))
                }
            };
            polys.insert(r.id.clone(), reproject(&r.geom, &to_first)?);
            input.push(k);
            patches.push(LedgerPatch {
                id: r.id.clone(),
                pair,
                geom: reproject(&r.geom, &to_work)?,
                area_m2,
                change_type: text("change_type"),
                confidence: text("confidence"),
                centre_lonlat,
                finding,
                restores: crate::classify::restores(num("mean_ndvi_drop"), num("mean_mndwi_rise")),
            });
        }
    }
    Ok(Loaded {
        patches,
        input,
        polys,
        crs_wkt,
        work: work.expect("at least one input"),
    })
}

fn parse_status(s: &str) -> Option<LicenceStatus> {
    LicenceStatus::ALL.into_iter().find(|x| x.name() == s)
}

/// The `zone_hits` table of a findings GeoPackage, by patch id.
fn read_hits(path: &Path) -> Result<BTreeMap<String, Vec<ZoneHit>>, PipelineError> {
    use gdal::vector::LayerAccess;
    let e = |m: String| PipelineError::Input(format!("{}: {m}", path.display()));
    let ds = gdal::Dataset::open(path).map_err(|x| e(x.to_string()))?;
    let Ok(mut layer) = ds.layer_by_name("zone_hits") else {
        return Ok(BTreeMap::new());
    };
    let names: Vec<String> = layer.defn().fields().map(|f| f.name()).collect();
    let ix = |n: &str| names.iter().position(|c| c == n);
    let mut out: BTreeMap<String, Vec<ZoneHit>> = BTreeMap::new();
    for f in layer.features() {
        let s = |n: &str| {
            ix(n)
                .and_then(|i| f.field_as_string(i).ok().flatten())
                .unwrap_or_default()
        };
        let x = |n: &str| {
            ix(n)
                .and_then(|i| f.field_as_double(i).ok().flatten())
                .unwrap_or(0.0)
        };
        let kind_name = s("kind");
        let kind = match kind_name.split_once(':') {
            Some(("custom", w)) => ZoneKind::Custom(w.to_string()),
            _ => ZoneKind::parse(&kind_name, None).map_err(|m| e(format!("zone_hits: {m}")))?,
        };
        let attrs = s("attributes")
            .split("; ")
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        out.entry(s("patch_id")).or_default().push(ZoneHit {
            layer: s("layer"),
            kind,
            zone_id: s("zone_id"),
            zone_name: s("zone_name"),
            overlap_m2: x("overlap_m2"),
            grid_overlap_m2: x("overlap_grid_m2"),
            overlap_pct: x("overlap_pct"),
            attrs,
        });
    }
    Ok(out)
}

fn date_field(
    t: &Table,
    line: usize,
    row: &table_read::Row,
    k: &str,
) -> Result<AcqDate, PipelineError> {
    let v = row
        .get(k)
        .ok_or_else(|| t.err(line, k, "empty; give a date like 2023-06-30"))?;
    AcqDate::parse_cell(v).map_err(|e| t.err(line, k, e))
}

/// A previous ledger given as its rank folder or as the file.
fn ledger_file(p: &Path) -> PathBuf {
    if p.is_dir() {
        p.join("ledger.csv")
    } else {
        p.to_path_buf()
    }
}

/// The tables a user brings to a rank.
#[derive(Debug, Clone, Copy)]
pub enum UserTable {
    History,
    Penalties,
    Prices,
    Ledger,
}

/// Read one of the user's tables and check it as the rank will (columns, verdicts, dates,
/// numbers): a run does this before its first stage, so a table the rank would refuse is
/// refused before detection and overlay, not after them.
pub fn check_table(which: UserTable, path: &Path) -> Result<(), PipelineError> {
    match which {
        UserTable::History => read_history(&with_form_headers(table_read::read(path)?)?).map(drop),
        UserTable::Penalties => read_penalties(&table_read::read(path)?).map(drop),
        UserTable::Prices => read_prices(&table_read::read(path)?).map(drop),
        UserTable::Ledger => read_prior(&table_read::read(&ledger_file(path))?).map(drop),
    }
}

/// A county's returned form read as history: its headers (Chinese as the packages write
/// them, or the form's English `check_date`) under the names the history reads. The zh
/// guide attaches last cycle's returned forms as history, and they were refused for want
/// of a `verdict` column (a reviewer's case). Columns already named as the history reads
/// them are kept as they are.
fn with_form_headers(mut t: Table) -> Result<Table, PipelineError> {
    let fields = minewatch_verify::audit::header_fields(&t.columns)
        .map_err(|e| PipelineError::Input(format!("{} (history): {e}", t.path.display())))?;
    let mut renames: Vec<(String, &'static str)> = Vec::new();
    for (col, field) in t.columns.iter().zip(&fields) {
        let Some(field) = field else { continue };
        let to = if *field == "check_date" {
            "date"
        } else {
            field
        };
        if col != to && !t.columns.iter().any(|c| c == to) {
            renames.push((col.clone(), to));
        }
    }
    for (from, to) in &renames {
        t.rename(from, to);
    }
    Ok(t)
}

/// Last cycle's verdicts, read by the audit's rules (`minewatch_verify::audit::check_row`):
/// a row the audit sends back — no verdict yet, a 伪变化 without a reason, no responsible
/// person, a date after today, a type on a 合法 … — is no history and cannot suppress a
/// site; nor are two rows of one patch or site on one day with different verdicts (the
/// audit's `conflicting_verdicts`). Each is named on stderr and the run goes on. Rules on
/// a column the table does not have (核查责任人, 违法类型: a history table of another
/// system) are not applied, but a 伪变化 always needs its reason. A verdict, handling,
/// `case_filed` or date no one can read is an input error, as before, and so is a case
/// filed (立案, or `case_filed` 是) on a verdict other than 违法 (the audit's
/// `case_filed_not_illegal`).
fn read_history(t: &Table) -> Result<Vec<HistoryRecord>, PipelineError> {
    t.require(&["verdict", "date"], "history")?;
    let today = crate::verify_run::AuditDate::clock().date();
    let has = |c: &str| t.columns.iter().any(|x| x == c);
    let mut out = Vec::new();
    let mut refused: BTreeMap<usize, String> = BTreeMap::new();
    for r in &t.rows {
        let v = r.get("verdict").unwrap_or("");
        let verdict = match v {
            "" => None,
            v => Some(Verdict::parse(v).ok_or_else(|| {
                t.err(
                    r.line,
                    "verdict",
                    format!("`{v}` is not 合法, 违法 or 伪变化"),
                )
            })?),
        };
        let handling = r.get("handling").unwrap_or("");
        // Where the row says whether a case is filed: its own column, else the county
        // answers' handling (立案 / 非立案 / 不处理).
        let filed_in = if r.get("case_filed").is_some() {
            "case_filed"
        } else {
            "handling"
        };
        let case_filed = match (verdict, r.get("case_filed")) {
            (None, _) => false,
            (Some(_), Some(x)) => case_filed_value(x).ok_or_else(|| {
                t.err(
                    r.line,
                    "case_filed",
                    format!(
                        "`{x}` is not one of {} (filed) or {} (not filed)",
                        CASE_FILED_YES.join(" "),
                        CASE_FILED_NO.join(" ")
                    ),
                )
            })?,
            // Anything else is refused like a bad `case_filed`: "已移送公安" must not
            // silently read as "no case filed" and lower a repeat offender's standing.
            (Some(_), None) => handling_filed(handling).ok_or_else(|| {
                t.err(
                    r.line,
                    "handling",
                    format!(
                        "`{handling}` is not 立案, 非立案 or 不处理; or add a `case_filed` column (是/否)"
                    ),
                )
            })?,
        };
        // The audit's rules see the handling as read here (已立案, or a `case_filed` 是,
        // is 立案): a 立案 on a verdict other than 违法 is its `case_filed_not_illegal`,
        // and a spelling it does not know would stop its checks short.
        let cell = |k: &str| match k {
            "check_date" => r.get("date").unwrap_or(""),
            "handling" if verdict.is_some() => {
                if case_filed {
                    "立案"
                } else {
                    "不处理"
                }
            }
            k => r.get(k).unwrap_or(""),
        };
        let check = minewatch_verify::audit::check_row(cell, None, today);
        let column = |field: &'static str| -> &'static str {
            match field {
                "check_date" => "date",
                "handling" => filed_in,
                f => f,
            }
        };
        let said: Vec<String> = check
            .issues
            .iter()
            .filter(|i| has(column(i.field)) || (i.code == "false_change_no_reason"))
            .filter(|i| !matches!(i.code, "unknown_verdict" | "unknown_handling" | "bad_date"))
            .map(|i| format!("field `{}`: {} ({})", column(i.field), i.message, i.code))
            .collect();
        let Some(verdict) = verdict else {
            refused.insert(r.line, said.join("; "));
            continue;
        };
        // As `audit` sends it back, but an error here, not a passed-over row: a case
        // filed on a 合法 added "case filed (+5)" to a legal site, and which of the two
        // cells is wrong only the county knows.
        if let Some(i) = check
            .issues
            .iter()
            .find(|i| i.code == "case_filed_not_illegal")
        {
            return Err(t.err(r.line, filed_in, i.message.clone()));
        }
        let (patch_id, site_id) = (
            r.get("patch_id").map(String::from),
            r.get("site_id").map(String::from),
        );
        if patch_id.is_none() && site_id.is_none() && r.lonlat.is_none() {
            return Err(t.err(
                r.line,
                "patch_id",
                "no patch_id, site_id or location (lon/lat or geometry): cannot place the verdict",
            ));
        }
        if !said.is_empty() {
            refused.insert(r.line, said.join("; "));
            continue;
        }
        out.push(HistoryRecord {
            source: format!("{}:{}", t.path.display(), r.line),
            patch_id,
            site_id,
            lonlat: r.lonlat,
            verdict,
            reason: r.get("reason").unwrap_or("").to_string(),
            case_filed,
            date: date_field(t, r.line, r, "date")?,
        });
    }
    // One patch or site on one day with two verdicts: neither counts, as in the audit.
    let line_of = |h: &HistoryRecord| {
        h.source
            .rsplit(':')
            .next()
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(0)
    };
    // (patch id, site id, date) → (row, verdict) of each row saying it.
    type SameDay<'a> = (Option<&'a str>, Option<&'a str>, AcqDate);
    let mut verdicts: BTreeMap<SameDay, Vec<(usize, Verdict)>> = BTreeMap::new();
    for h in &out {
        if h.patch_id.is_some() || h.site_id.is_some() {
            verdicts
                .entry((h.patch_id.as_deref(), h.site_id.as_deref(), h.date))
                .or_default()
                .push((line_of(h), h.verdict));
        }
    }
    let mut conflicting: BTreeMap<usize, String> = BTreeMap::new();
    for rows in verdicts.values() {
        if rows.iter().any(|(_, v)| *v != rows[0].1) {
            let all: Vec<String> = rows
                .iter()
                .map(|(l, v)| format!("row {l}: {}", v.name()))
                .collect();
            for (l, _) in rows {
                conflicting.insert(
                    *l,
                    format!(
                        "field `verdict`: returned again the same day with another verdict ({}); neither counts (conflicting_verdicts)",
                        all.join(", ")
                    ),
                );
            }
        }
    }
    out.retain(|h| !conflicting.contains_key(&line_of(h)));
    refused.extend(conflicting);
    for (line, why) in &refused {
        eprintln!(
            "rank: warning: {} row {line} is not read as history (the audit sends it back): {why}",
            t.path.display()
        );
    }
    Ok(out)
}

/// Words a `case_filed` cell may hold (ASCII in any case); an empty cell falls back to
/// `handling`. Anything else is refused: a typo must not read as "not filed".
const CASE_FILED_YES: [&str; 7] = ["1", "true", "yes", "y", "是", "立案", "已立案"];
const CASE_FILED_NO: [&str; 8] = ["0", "false", "no", "n", "否", "未立案", "不立案", "非立案"];

/// Whether a `handling` cell says a case was filed; empty means no.
fn handling_filed(v: &str) -> Option<bool> {
    match v.trim() {
        "" | "不处理" | "非立案处理" | "not_filed" | "no_action" => Some(false),
        "case_filed" => Some(true),
        h => case_filed_value(h),
    }
}

fn case_filed_value(v: &str) -> Option<bool> {
    let v = v.trim().to_lowercase();
    if CASE_FILED_YES.contains(&v.as_str()) {
        Some(true)
    } else if CASE_FILED_NO.contains(&v.as_str()) {
        Some(false)
    } else {
        None
    }
}

/// Columns that give a penalty's cause (案由), first found wins.
const CAUSE_COLUMNS: [&str; 4] = ["cause", "案由", "违法类型", "处罚事由"];

/// Words of a cause that make it a penalty for illegal mining (法释〔2016〕25号 art. 3 (3):
/// 因非法采矿受过…行政处罚): 非法采矿, 越界开采, 无证开采, 非法采砂, 非法采石, 盗采. Not
/// 矿 alone: 未按期提交矿产资源开发利用年报 or 矿山地质环境 penalties are no illegal mining.
const MINING_CAUSE_WORDS: [&str; 5] = ["采矿", "开采", "采砂", "采石", "盗采"];

/// Whether a penalty's cause is illegal mining.
pub fn is_mining_cause(cause: &str) -> bool {
    MINING_CAUSE_WORDS.iter().any(|w| cause.contains(w))
}

/// The penalty rows read, and those left out for their cause.
struct PenaltyRows {
    kept: Vec<Penalty>,
    /// The column read as the cause, if the table has one.
    cause_column: Option<String>,
    /// (row, cause) of rows whose cause is not illegal mining.
    not_mining: Vec<(usize, String)>,
    /// Rows with an empty cause cell: counted, as in a table without the column.
    blank_cause: Vec<usize>,
}

fn read_penalties(t: &Table) -> Result<PenaltyRows, PipelineError> {
    t.require(&["party", "date", "decision"], "penalties")?;
    let cause_column = CAUSE_COLUMNS
        .iter()
        .find(|c| t.columns.iter().any(|x| x == *c))
        .map(|c| c.to_string());
    let mut not_mining: Vec<(usize, String)> = Vec::new();
    let mut blank_cause: Vec<usize> = Vec::new();
    let mut out: Vec<Penalty> = Vec::new();
    // (party, decision) → (row, date, decision as typed): one decision is one penalty,
    // however many rows list it (one per licence it covers, say), and it has one date.
    // Compared by key, as the ledger counts them: 〔2022〕12号 and [2022]12号 are one.
    let mut seen: BTreeMap<(String, String), (usize, AcqDate, String)> = BTreeMap::new();
    for r in &t.rows {
        let party = r
            .get("party")
            .ok_or_else(|| t.err(r.line, "party", "empty"))?
            .to_string();
        let licence = r.get("licence").map(String::from);
        if licence.is_none() && r.lonlat.is_none() {
            return Err(t.err(
                r.line,
                "licence",
                "no licence number and no location (lon/lat or geometry): cannot link the penalty",
            ));
        }
        let date = date_field(t, r.line, r, "date")?;
        let decision = r
            .get("decision")
            .ok_or_else(|| t.err(r.line, "decision", "empty; cite the decision number"))?
            .to_string();
        let key = (match_key::key(&party), match_key::key(&decision));
        match seen.get(&key) {
            Some((line, first, as_typed)) if *first != date => {
                let there = if *as_typed == decision {
                    String::new()
                } else {
                    format!(" (as {as_typed})")
                };
                return Err(t.err(
                    r.line,
                    "date",
                    format!(
                        "decision {decision} of {party} is dated {date} here but {first} on row {line}{there}; one decision has one date"
                    ),
                ));
            }
            Some(_) => {}
            None => {
                seen.insert(key, (r.line, date, decision.clone()));
            }
        }
        // Checked after the date: one decision keeps one date whatever its cause.
        if let Some(c) = &cause_column {
            match r.get(c) {
                Some(cause) if !is_mining_cause(cause) => {
                    not_mining.push((r.line, cause.to_string()));
                    continue;
                }
                Some(_) => {}
                None => blank_cause.push(r.line),
            }
        }
        out.push(Penalty {
            source: format!("{}:{}", t.path.display(), r.line),
            party,
            licence,
            date,
            decision,
            lonlat: r.lonlat,
        });
    }
    Ok(PenaltyRows {
        kept: out,
        cause_column,
        not_mining,
        blank_cause,
    })
}

fn read_prices(t: &Table) -> Result<Vec<minewatch_policy::prices::PriceRow>, PipelineError> {
    t.require(&["mineral", "period"], "prices")?;
    let mut out = Vec::new();
    // (canonical mineral, period's end) → (row, period as typed): a second price for the
    // same period would silently win or lose by row order, however the period is written
    // (2024-06 and 2024年6月 are one month).
    type PeriodEnd = (u16, u8, u8);
    let mut seen: BTreeMap<(String, PeriodEnd), (usize, String)> = BTreeMap::new();
    for r in &t.rows {
        let num = |k: &str| -> Result<Option<f64>, PipelineError> {
            match r.get(k) {
                None => Ok(None),
                Some(v) => v
                    .trim_end_matches('%')
                    .parse()
                    .map(Some)
                    .map_err(|_| t.err(r.line, k, format!("`{v}` is not a number"))),
            }
        };
        let (price, change_pct) = (num("price")?, num("change_pct")?);
        if price.is_none() && change_pct.is_none() {
            return Err(t.err(r.line, "price", "give price or change_pct"));
        }
        let mineral = r
            .get("mineral")
            .ok_or_else(|| t.err(r.line, "mineral", "empty"))?
            .to_string();
        let period = r
            .get("period")
            .ok_or_else(|| t.err(r.line, "period", "empty"))?
            .to_string();
        let end = minewatch_policy::prices::period_end(&period)
            .map_err(|e| t.err(r.line, "period", e))?;
        let key = (minewatch_policy::minerals::canonical(&mineral), end);
        if let Some((first, as_typed)) = seen.insert(key, (r.line, period.clone())) {
            let there = if as_typed == period {
                String::new()
            } else {
                format!(
                    " as {as_typed}; both end on {}-{:02}-{:02}",
                    end.0, end.1, end.2
                )
            };
            return Err(t.err(
                r.line,
                "period",
                format!("{mineral} {period} is priced again (first on row {first}{there}); give one row per mineral and period"),
            ));
        }
        out.push(minewatch_policy::prices::PriceRow {
            mineral,
            period,
            price,
            change_pct,
        });
    }
    Ok(out)
}

fn read_prior(t: &Table) -> Result<BTreeMap<String, String>, PipelineError> {
    t.require(&["patch_id", "site_id"], "previous ledger")?;
    let mut out = BTreeMap::new();
    for r in &t.rows {
        let p = r
            .get("patch_id")
            .ok_or_else(|| t.err(r.line, "patch_id", "empty"))?;
        let s = r
            .get("site_id")
            .ok_or_else(|| t.err(r.line, "site_id", "empty"))?;
        out.insert(p.to_string(), s.to_string());
    }
    Ok(out)
}

/// The columns of tasks.csv, for checking a run config's sampling rules before the run.
pub(crate) fn task_column_names() -> Vec<String> {
    let classes = minewatch_policy::policy::ClassTable::default();
    let (cols, _) = task_rows(&[], &BTreeMap::new(), &classes);
    cols.into_iter().map(|(c, _)| c).collect()
}

fn task_rows(
    tasks: &[Task],
    sites: &BTreeMap<&str, &Site>,
    classes: &minewatch_policy::policy::ClassTable,
) -> (Columns, Vec<Vec<Attr>>) {
    use Kind::*;
    let mut cols: Vec<(String, Kind)> = crate::write::columns(&[
        ("site_id", Text),
        ("score", Real),
        ("priority_class", Text),
        ("rank_county", Int),
        ("rank_prefecture", Int),
        ("rank_province", Int),
        ("suppressed", Int),
        ("no_new_change", Int),
        ("verified_unchanged", Int),
        ("provincial_field_check_required", Int),
        ("multi_year_change", Int),
        ("criminal_referral_candidate", Int),
        ("referral_party", Text),
        ("referral_decisions", Text),
        ("province_code", Text),
        ("province_name", Text),
        ("prefecture_code", Text),
        ("prefecture_name", Text),
        ("county_code", Text),
        ("county_name", Text),
        ("licence_status", Text),
        ("zone_kinds", Text),
        ("illegal_area_m2", Real),
        ("illegal_area_mu", Real),
        ("first_year", Int),
        ("change_years", Text),
        ("longest_run", Int),
        ("area_by_year", Text),
        ("total_area_m2", Real),
        ("growth_m2", Real),
        ("growth_pct", Real),
        ("last_change_type", Text),
        ("last_confidence", Text),
        ("new_change", Int),
        ("last_date", Date),
        ("last_date_before", Date),
        ("centre_lon", Real),
        ("centre_lat", Real),
        ("patches", Int),
        ("patch_ids", Text),
        ("merged_ids", Text),
        ("history", Text),
        ("parties", Text),
    ]);
    for t in TERMS {
        cols.push((format!("term_{t}"), Real));
    }
    cols.push(("reasons_en".into(), Text));
    cols.push(("reasons_zh".into(), Text));
    let opt = |s: &Option<String>| s.clone().map_or(Attr::Null, Attr::Text);
    let int = |v: Option<usize>| v.map_or(Attr::Null, |x| Attr::Int(x as i64));
    let rows = tasks
        .iter()
        .map(|t| {
            let s = sites[t.site_id.as_str()];
            let mut v = vec![
                Attr::Text(t.site_id.clone()),
                // Rounded from the rounded terms, so the columns add up as printed.
                Attr::Real(round(t.terms.iter().map(|x| round(*x, 4)).sum(), 4)),
                Attr::Text(classes.of(t.score).into()),
                int(t.rank_county),
                int(t.rank_prefecture),
                int(t.rank_province),
                Attr::Int(t.suppressed as i64),
                Attr::Int(t.no_new_change as i64),
                Attr::Int(t.verified_unchanged as i64),
                Attr::Int(t.provincial_field_check_required as i64),
                Attr::Int(s.multi_year_change as i64),
                Attr::Int(t.criminal_referral_candidate as i64),
                opt(&s.criminal_referral.as_ref().map(|r| r.party.clone())),
                opt(&s.criminal_referral.as_ref().map(|r| r.decisions.join(";"))),
                opt(&t.province_code),
                opt(&t.province_name),
                opt(&t.prefecture_code),
                opt(&t.prefecture_name),
                opt(&t.county_code),
                opt(&t.county_name),
                t.licence_status
                    .map_or(Attr::Null, |x| Attr::Text(x.name().into())),
                Attr::Text({
                    let k: std::collections::BTreeSet<String> = s
                        .latest
                        .iter()
                        .flat_map(|f| f.hits.iter().map(|h| h.kind.name()))
                        .collect();
                    k.into_iter().collect::<Vec<_>>().join(";")
                }),
                Attr::Real(round(t.illegal_area_m2, 2)),
                Attr::Real(round(m2_to_mu(t.illegal_area_m2), 4)),
                Attr::Int(s.first_year as i64),
                Attr::Text(
                    s.change_years
                        .iter()
                        .map(|y| y.to_string())
                        .collect::<Vec<_>>()
                        .join(";"),
                ),
                Attr::Int(s.longest_run as i64),
                Attr::Text(
                    s.area_by_year
                        .iter()
                        .map(|(y, a)| format!("{y}:{:.2}", a))
                        .collect::<Vec<_>>()
                        .join(";"),
                ),
                Attr::Real(round(s.total_area_m2, 2)),
                Attr::Real(round(s.growth_m2, 2)),
                s.growth_pct.map_or(Attr::Null, |g| Attr::Real(round(g, 2))),
                Attr::Text(s.last_change_type.clone()),
                Attr::Text(s.last_confidence.clone()),
                Attr::Int(s.new_change as i64),
                Attr::Text(s.last_date.to_string()),
                Attr::Text(s.latest_pair.before.to_string()),
                Attr::Real(round(s.centre_lonlat.0, 7)),
                Attr::Real(round(s.centre_lonlat.1, 7)),
                Attr::Int(s.patch_ids.len() as i64),
                Attr::Text(s.patch_ids.join(";")),
                Attr::Text(s.merged_ids.join(";")),
                Attr::Text(
                    s.history
                        .iter()
                        .map(|h| {
                            format!(
                                "{} {}{}",
                                h.date,
                                h.verdict.name(),
                                if h.case_filed { " case_filed" } else { "" }
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(";"),
                ),
                Attr::Text(s.parties.join(";")),
            ];
            v.extend(t.terms.iter().map(|x| Attr::Real(round(*x, 4))));
            v.push(Attr::Text(t.reasons_en.join("; ")));
            v.push(Attr::Text(t.reasons_zh.join("; ")));
            v
        })
        .collect();
    (cols, rows)
}

fn ledger_rows(sites: &[Site], patches: &[LedgerPatch]) -> (Vec<(String, Kind)>, Vec<Vec<Attr>>) {
    let pair: BTreeMap<&str, String> = patches
        .iter()
        .map(|p| (p.id.as_str(), p.pair.key()))
        .collect();
    let cols = vec![
        ("patch_id".to_string(), Kind::Text),
        ("site_id".to_string(), Kind::Text),
        ("pair".to_string(), Kind::Text),
    ];
    let mut rows: Vec<Vec<Attr>> = sites
        .iter()
        .flat_map(|s| {
            s.patch_ids.iter().map(|p| {
                vec![
                    Attr::Text(p.clone()),
                    Attr::Text(s.id.clone()),
                    Attr::Text(pair.get(p.as_str()).cloned().unwrap_or_default()),
                ]
            })
        })
        .collect();
    rows.sort_by(|a, b| format!("{:?}", a[0]).cmp(&format!("{:?}", b[0])));
    (cols, rows)
}

fn trend_rows(
    rows: &[minewatch_policy::TrendRow],
    key: &str,
    name: &str,
) -> (Vec<(String, Kind)>, Vec<Vec<Attr>>) {
    use Kind::*;
    let cols: Vec<(String, Kind)> = crate::write::columns(&[
        (key, Text),
        (name, Text),
        ("period", Int),
        ("new_patches", Int),
        ("area_m2", Real),
        ("previous_patches", Int),
        ("comparisons", Int),
        ("growth_pct", Real),
        ("rising_fast", Int),
    ]);
    let out = rows
        .iter()
        .map(|r| {
            vec![
                Attr::Text(r.key.clone()),
                Attr::Text(r.name.clone()),
                Attr::Int(r.period as i64),
                Attr::Int(r.new_patches as i64),
                Attr::Real(round(r.area_m2, 2)),
                Attr::Int(r.previous_patches as i64),
                Attr::Int(r.comparisons as i64),
                r.growth_pct.map_or(Attr::Null, |g| Attr::Real(round(g, 2))),
                Attr::Int(r.rising_fast as i64),
            ]
        })
        .collect();
    (cols, out)
}

fn hotspot_rows(spots: &[minewatch_policy::Hotspot]) -> (Columns, Vec<Vec<Attr>>, Vec<Polys>) {
    use Kind::*;
    let cols: Vec<(String, Kind)> = crate::write::columns(&[
        ("hotspot_id", Text),
        ("sites", Int),
        ("cells", Int),
        ("area_m2", Real),
        ("counties", Text),
        ("west", Real),
        ("south", Real),
        ("east", Real),
        ("north", Real),
        ("site_ids", Text),
    ]);
    let rows = spots
        .iter()
        .map(|h| {
            vec![
                Attr::Text(h.id.clone()),
                Attr::Int(h.sites as i64),
                Attr::Int(h.cells as i64),
                Attr::Real(round(h.area_m2, 2)),
                Attr::Text(h.counties.join(";")),
                Attr::Real(round(h.extent[0], 7)),
                Attr::Real(round(h.extent[1], 7)),
                Attr::Real(round(h.extent[2], 7)),
                Attr::Real(round(h.extent[3], 7)),
                Attr::Text(h.site_ids.join(";")),
            ]
        })
        .collect();
    let geoms = spots
        .iter()
        .map(|h| {
            let [w, s, e, n] = h.extent;
            vec![vec![vec![(w, s), (e, s), (e, n), (w, n), (w, s)]]]
        })
        .collect();
    (cols, rows, geoms)
}

/// Chinese column names of the rank tables (the rest as overlay names them).
const ZH: &[(&str, &str)] = &[
    ("site_id", "图斑地块编号"),
    ("score", "优先级得分"),
    ("rank_county", "县内排序"),
    ("rank_prefecture", "市内排序"),
    ("rank_province", "省内排序"),
    ("priority_class", "优先级"),
    ("zone_kinds", "压占区域类别"),
    ("suppressed", "暂不排序(伪变化)"),
    ("no_new_change", "本期无新变化"),
    ("verified_unchanged", "已核查且无新变化"),
    ("provincial_field_check_required", "需省级实地核查"),
    ("multi_year_change", "多年连续变化"),
    ("criminal_referral_candidate", "涉嫌犯罪移送"),
    ("referral_party", "当事人"),
    ("referral_decisions", "处罚决定书"),
    ("illegal_area_m2", "疑似违法面积(平方米)"),
    ("illegal_area_mu", "疑似违法面积(亩)"),
    ("first_year", "首次发现年份"),
    ("change_years", "变化年份"),
    ("longest_run", "最长连续变化年数"),
    ("area_by_year", "逐年变化面积"),
    ("total_area_m2", "累计变化面积(平方米)"),
    ("growth_m2", "面积增长(平方米)"),
    ("growth_pct", "面积增长(%)"),
    ("last_change_type", "最近变化类型"),
    ("last_confidence", "最近置信度"),
    ("new_change", "本期新增变化"),
    ("last_date", "最近时相"),
    ("last_date_before", "最近对比前时相"),
    ("centre_lon", "中心点经度"),
    ("centre_lat", "中心点纬度"),
    ("patches", "图斑数"),
    ("patch_ids", "图斑编号"),
    ("merged_ids", "合并的原编号"),
    ("history", "往期核查"),
    ("parties", "相关当事人"),
    ("reasons_en", "理由(英文)"),
    ("reasons_zh", "理由"),
    ("county_code", "县级代码"),
    ("county_name", "县级名称"),
    ("period", "期次"),
    ("new_patches", "新增图斑数"),
    ("previous_patches", "上期图斑数"),
    ("comparisons", "对比期数"),
    ("rising_fast", "快速上升"),
    ("hotspot_id", "热点编号"),
    ("sites", "地块数"),
    ("cells", "格网数"),
    ("counties", "涉及县"),
];

/// Chinese column names of the rank tables.
pub(crate) fn zh(col: &str) -> String {
    ZH.iter()
        .find(|(k, _)| *k == col)
        .map(|(_, v)| v.to_string())
        .unwrap_or_else(|| crate::overlay_run::zh(col))
}

/// The English column name of a Chinese header `rank --header zh` writes (the inverse of
/// [`zh`]: rank's own names first, then overlay's), for reading such a table back.
pub fn english(col: &str) -> Option<&'static str> {
    let c = col.trim();
    ZH.iter()
        .chain(crate::overlay_run::ZH)
        .find(|(_, v)| *v == c)
        .map(|(k, _)| *k)
}

/// A table `rank --header zh` wrote, read with English column names: each Chinese header
/// of rank's whose English name is not a column already is renamed, in the columns and
/// every row. Other tables are left as they are.
pub fn english_header(t: &mut crate::table_read::Table) {
    let renames: Vec<(String, &'static str)> = t
        .columns
        .iter()
        .filter_map(|c| english(c).map(|en| (c.clone(), en)))
        .filter(|(_, en)| !t.columns.iter().any(|c| c == en))
        .collect();
    let mut taken: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
    for (from, to) in renames {
        // Two Chinese headers of one English name: the first is renamed.
        if taken.insert(to) {
            t.rename(&from, to);
        }
    }
}

/// Where a site's centre is written (tasks, ledger, hot spots): the area-weighted centre of
/// its latest patches when that lies on one of them, else a point inside the largest
/// (a C-shaped pit or a site of several parts has its centre off the ground a crew is
/// sent to check; a reviewer found 4 of the demo's 92 centres 7–23 m off).
fn centre_on_site(
    site: &Site,
    patches: &BTreeMap<&str, &LedgerPatch>,
    work_point: &dyn Fn((f64, f64)) -> Option<(f64, f64)>,
    to_lonlat: &Reprojector,
) -> (f64, f64) {
    use geo::{InteriorPoint, Intersects};
    // The patches of its latest pair, as the ledger chose them (not its last year's).
    let latest: Vec<&LedgerPatch> = site
        .latest
        .iter()
        .filter_map(|f| patches.get(f.patch_id.as_str()).copied())
        .collect();
    let centre = site.centre_lonlat;
    let Some((x, y)) = work_point(centre) else {
        return centre;
    };
    let here = geo_types::Point::new(x, y);
    if latest.is_empty() || latest.iter().any(|p| p.geom.intersects(&here)) {
        return centre;
    }
    let biggest = latest
        .iter()
        .max_by(|a, b| {
            a.area_m2
                .total_cmp(&b.area_m2)
                .then_with(|| b.id.cmp(&a.id))
        })
        .expect("not empty");
    let Some(inside) = biggest.geom.interior_point() else {
        return centre;
    };
    let mut g =
        match gdal::vector::Geometry::from_wkt(&format!("POINT ({} {})", inside.x(), inside.y())) {
            Ok(g) => g,
            Err(_) => return centre,
        };
    if to_lonlat.apply(&mut g).is_err() {
        return centre;
    }
    let (lon, lat, _) = g.get_point(0);
    (lon, lat)
}
