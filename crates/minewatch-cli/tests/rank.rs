//! `minewatch rank` on a synthetic multi-year fixture with exact expected flags, scores
//! and ranks: a pit that grows every year (A), one that appears once and recovers (B), a
//! 伪变化 from the last cycle that did not grow (C), and a licensed site of a party with two
//! penalties 10 months apart that changes again within two years of the first (D). Also: ids survive a new year, the
//! breakdown adds up to the score, and bad history rows are named.

mod common;
use common::*;
use gdal::spatial_ref::{AxisMappingStrategy, SpatialRef};
use gdal::vector::{
    Feature, FieldValue, Geometry, LayerAccess, LayerOptions, OGRFieldType, OGRwkbGeometryType,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const X0: f64 = 500_000.0;
const Y0: f64 = 3_500_000.0;

fn utm() -> SpatialRef {
    let mut s = SpatialRef::from_epsg(32650).unwrap();
    s.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    s
}

fn rect(b: [f64; 4]) -> Geometry {
    Geometry::bbox(X0 + b[0], Y0 + b[1], X0 + b[2], Y0 + b[3]).unwrap()
}

/// A polygon layer file with string fields.
fn write_layer(path: &Path, fields: &[&str], rows: &[(Vec<&str>, [f64; 4])]) {
    let drv = gdal::DriverManager::get_driver_by_name("GPKG").unwrap();
    let mut ds = drv.create_vector_only(path).unwrap();
    let srs = utm();
    let l = ds
        .create_layer(LayerOptions {
            name: path.file_stem().unwrap().to_str().unwrap(),
            srs: Some(&srs),
            ty: OGRwkbGeometryType::wkbPolygon,
            options: None,
        })
        .unwrap();
    let defs: Vec<(&str, OGRFieldType::Type)> = fields
        .iter()
        .map(|f| (*f, OGRFieldType::OFTString))
        .collect();
    l.create_defn_fields(&defs).unwrap();
    for (vals, b) in rows {
        let mut f = Feature::new(l.defn()).unwrap();
        for (i, v) in vals.iter().enumerate() {
            f.set_field(i, &FieldValue::StringValue(v.to_string()))
                .unwrap();
        }
        f.set_geometry(rect(*b)).unwrap();
        f.create(&l).unwrap();
    }
}

const DATES: [&str; 5] = [
    "2020-06-01",
    "2021-06-01",
    "2022-06-01",
    "2023-06-01",
    "2024-06-01",
];

/// Patches of pair k (dates k → k+1): (name, box).
fn pair_patches(k: usize) -> Vec<(&'static str, [f64; 4])> {
    match k {
        0 => vec![("A", [0.0, 0.0, 100.0, 100.0])],
        1 => vec![
            ("A", [100.0, 0.0, 150.0, 100.0]),
            ("B", [1000.0, 0.0, 1100.0, 100.0]),
        ],
        2 => vec![
            ("A", [150.0, 0.0, 200.0, 100.0]),
            ("C", [2000.0, 0.0, 2100.0, 100.0]),
            ("D", [3000.0, 0.0, 3100.0, 100.0]),
        ],
        _ => vec![
            ("A", [200.0, 0.0, 260.0, 100.0]),
            ("C", [2100.0, 0.0, 2110.0, 100.0]),
            // Out of its licence (C001 ends at y = 200) by 50 × 50 m: 越界.
            ("D", [3100.0, 0.0, 3150.0, 250.0]),
        ],
    }
}

fn patch_id(k: usize, name: &str) -> String {
    format!(
        "{}_{}_{name}",
        DATES[k].replace('-', ""),
        DATES[k + 1].replace('-', "")
    )
}

/// Detect-like patches of pair k, overlaid on the fixture layers.
fn overlay_pair(dir: &Path, k: usize) -> PathBuf {
    let named: Vec<(String, [f64; 4])> = pair_patches(k)
        .into_iter()
        .map(|(name, b)| (patch_id(k, name), b))
        .collect();
    overlay_between(dir, &k.to_string(), DATES[k], DATES[k + 1], &named)
}

/// Patches (id, box) of one comparison between two dates, overlaid on the fixture layers.
fn overlay_between(
    dir: &Path,
    tag: &str,
    before: &str,
    after: &str,
    patches: &[(String, [f64; 4])],
) -> PathBuf {
    let pfile = dir.join(format!("patches{tag}.gpkg"));
    let drv = gdal::DriverManager::get_driver_by_name("GPKG").unwrap();
    let mut ds = drv.create_vector_only(&pfile).unwrap();
    let srs = utm();
    let l = ds
        .create_layer(LayerOptions {
            name: "patches",
            srs: Some(&srs),
            ty: OGRwkbGeometryType::wkbPolygon,
            options: None,
        })
        .unwrap();
    l.create_defn_fields(&[
        ("id", OGRFieldType::OFTString),
        ("date_before", OGRFieldType::OFTString),
        ("date_after", OGRFieldType::OFTString),
        ("area_m2", OGRFieldType::OFTReal),
        ("change_type", OGRFieldType::OFTString),
        ("confidence", OGRFieldType::OFTString),
    ])
    .unwrap();
    for (id, b) in patches {
        let b = *b;
        let mut f = Feature::new(l.defn()).unwrap();
        f.set_field_string(0, id).unwrap();
        f.set_field_string(1, before).unwrap();
        f.set_field_string(2, after).unwrap();
        f.set_field_double(3, (b[2] - b[0]) * (b[3] - b[1]))
            .unwrap();
        f.set_field_string(4, "bare_soil_gain").unwrap();
        f.set_field_string(5, "high").unwrap();
        f.set_geometry(rect(b)).unwrap();
        f.create(&l).unwrap();
    }
    drop(ds);
    let out = dir.join(format!("ov{tag}"));
    let o = minewatch(&[
        "overlay",
        s(&pfile),
        "--layers",
        s(&dir.join("layers.toml")),
        "--out",
        s(&out),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    out
}

fn fixture_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    write_layer(
        &p.join("counties.gpkg"),
        &["code", "name"],
        &[
            (vec!["320115", ""], [-5000.0, -5000.0, 2500.0, 5000.0]),
            (vec!["320116", ""], [2500.0, -5000.0, 9000.0, 5000.0]),
        ],
    );
    write_layer(
        &p.join("redlines.gpkg"),
        &["rid"],
        &[(vec!["RL-1"], [-100.0, -100.0, 300.0, 200.0])],
    );
    write_layer(
        &p.join("rights.gpkg"),
        &["licence", "holder", "mineral"],
        &[(
            vec!["C001", "某矿业公司", "建筑用砂岩"],
            [2900.0, -100.0, 3300.0, 200.0],
        )],
    );
    std::fs::write(
        p.join("layers.toml"),
        format!(
            "admin_codes = \"{}\"\n\
             [[layer]]\nname = \"counties\"\npath = \"counties.gpkg\"\nkind = \"admin_division\"\nlevel = \"county\"\ncode_field = \"code\"\n\
             [[layer]]\nname = \"redlines\"\npath = \"redlines.gpkg\"\nkind = \"ecological_red_line\"\nid_field = \"rid\"\n\
             [[layer]]\nname = \"rights\"\npath = \"rights.gpkg\"\nkind = \"mining_right\"\nid_field = \"licence\"\nholder_field = \"holder\"\nmineral_field = \"mineral\"\n",
            fixture("admin-codes").display()
        ),
    )
    .unwrap();
    std::fs::write(
        p.join("history.csv"),
        format!(
            "patch_id,verdict,reason,handling,date\n{},伪变化,大棚,不处理,2023-10-01\n",
            patch_id(2, "C")
        ),
    )
    .unwrap();
    std::fs::write(
        p.join("penalties.csv"),
        // Both within the two years before D's last change (2024-06-01): art. 3 (3).
        "party,licence,date,decision\n某矿业公司,C001,2022-08-10,罚〔2022〕1号\n某矿业公司,C001,2023-06-20,罚〔2023〕7号\n",
    )
    .unwrap();
    d
}

fn rank(dir: &Path, findings: &[PathBuf], out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["rank"];
    args.extend(findings.iter().map(|p| s(p)));
    let (h, pn) = (dir.join("history.csv"), dir.join("penalties.csv"));
    args.extend(["--history", s(&h), "--penalties", s(&pn), "--out", s(out)]);
    args.extend(extra);
    minewatch(&args)
}

#[test]
fn multi_year_flags_scores_and_ranks_are_exact() {
    let d = fixture_dir();
    let ov: Vec<PathBuf> = (0..4).map(|k| overlay_pair(d.path(), k)).collect();
    let out = d.path().join("rank");
    let o = rank(d.path(), &ov, &out, &["--format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let t = csv_rows(&out.join("tasks.csv"));
    assert_eq!(t.len(), 4, "four sites");
    let by: BTreeMap<String, &BTreeMap<String, String>> = t
        .iter()
        .map(|r| {
            (
                r["patch_ids"]
                    .split(';')
                    .next()
                    .unwrap()
                    .rsplit('_')
                    .next()
                    .unwrap()
                    .to_string(),
                r,
            )
        })
        .collect();
    let (a, b, c, dd) = (by["A"], by["B"], by["C"], by["D"]);
    // Ids come from each site's earliest patch.
    assert_eq!(a["site_id"], format!("S{}", patch_id(0, "A")));
    assert_eq!(c["site_id"], format!("S{}", patch_id(2, "C")));
    // A: four consecutive years, growing, in a red line, unlicensed.
    assert_eq!(a["change_years"], "2021;2022;2023;2024");
    assert_eq!(
        (a["longest_run"].as_str(), a["multi_year_change"].as_str()),
        ("4", "1")
    );
    assert_eq!(a["growth_pct"], "20");
    // The reasons name the dates compared, not "the year before".
    assert!(
        a["reasons_en"].contains(
            "change of 2023-06-01→2024-06-01 grew 20 % on the adjacent pair 2022-06-01→2023-06-01"
        ),
        "{}",
        a["reasons_en"]
    );
    assert!(
        a["reasons_en"].contains("changed in 4 consecutive pairs, 2020-06-01→2024-06-01 (4 years)"),
        "{}",
        a["reasons_en"]
    );
    assert_eq!(a["score"], "136.5");
    assert_eq!(a["licence_status"], "outside_all_rights");
    assert_eq!(a["county_code"], "320115");
    assert_eq!(a["county_name"], "江宁区");
    assert_eq!(a["provincial_field_check_required"], "0", "6000 m² is 9 亩");
    // B: once in 2022, nothing since: listed, not ranked.
    assert_eq!(
        (b["multi_year_change"].as_str(), b["no_new_change"].as_str()),
        ("0", "1")
    );
    assert_eq!(b["rank_county"], "");
    assert_eq!(b["score"], "62.5");
    assert_eq!(
        b["provincial_field_check_required"], "1",
        "15 亩 unlicensed"
    );
    // C: 伪变化 in the last cycle, grew by 10 % only: down-ranked and suppressed.
    assert_eq!(
        (c["suppressed"].as_str(), c["rank_county"].as_str()),
        ("1", "")
    );
    assert_eq!(c["term_history"], "-40");
    assert!(c["reasons_zh"].contains("伪变化") && c["reasons_zh"].contains("大棚"));
    // D: out of its licence by 2500 m², and the holder was penalised twice in 10 months
    // (mining inside one's own valid licence would not be 又实施非法采矿).
    assert_eq!(dd["criminal_referral_candidate"], "1");
    assert_eq!(dd["referral_party"], "某矿业公司");
    assert_eq!(dd["referral_decisions"], "罚〔2022〕1号;罚〔2023〕7号");
    assert_eq!(dd["licence_status"], "partly_outside");
    // 90 as before, + 25 partly outside, + 1.875 for 3.75 亩, + 2.5 for growing 25 %.
    assert_eq!(dd["score"], "119.375", "{dd:?}");
    assert!(dd["reasons_zh"].contains("法释〔2016〕25号第三条"));
    // Ranks: A first in its county, D first in its; A before D in the province.
    assert_eq!(
        (a["rank_county"].as_str(), a["rank_province"].as_str()),
        ("1", "1")
    );
    assert_eq!(
        (dd["rank_county"].as_str(), dd["rank_province"].as_str()),
        ("1", "2")
    );
    assert_eq!(a["rank_prefecture"], "1");
    // Every score is the sum of its terms, as printed.
    for r in &t {
        let sum: f64 = r
            .iter()
            .filter(|(k, _)| k.starts_with("term_"))
            .map(|(_, v)| v.parse::<f64>().unwrap())
            .sum();
        let score: f64 = r["score"].parse().unwrap();
        assert!(
            (sum - score).abs() < 1e-9,
            "{}: {sum} vs {score}",
            r["site_id"]
        );
    }
    // Trends: county 320115 new patches per period.
    let tr = csv_rows(&out.join("trends_county.csv"));
    let jn: Vec<(String, String)> = tr
        .iter()
        .filter(|r| r["county_code"] == "320115")
        .map(|r| (r["period"].clone(), r["new_patches"].clone()))
        .collect();
    let want: Vec<(String, String)> = [("2021", "1"), ("2022", "2"), ("2023", "2"), ("2024", "2")]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(jn, want);
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["criminal_referral_candidates"], 1);
    assert_eq!(summary["ranked"], 2);
}

#[test]
fn adding_a_year_keeps_every_earlier_site_id() {
    let d = fixture_dir();
    let ov: Vec<PathBuf> = (0..4).map(|k| overlay_pair(d.path(), k)).collect();
    let (r3, r4, r4b) = (
        d.path().join("r3"),
        d.path().join("r4"),
        d.path().join("r4b"),
    );
    assert!(rank(d.path(), &ov[..3], &r3, &[]).status.success());
    assert!(rank(d.path(), &ov, &r4, &["--ledger", s(&r3)])
        .status
        .success());
    assert!(rank(d.path(), &ov, &r4b, &[]).status.success());
    let ids = |p: &Path| -> BTreeMap<String, String> {
        csv_rows(&p.join("ledger.csv"))
            .into_iter()
            .map(|r| (r["patch_id"].clone(), r["site_id"].clone()))
            .collect()
    };
    let (before, after, fresh) = (ids(&r3), ids(&r4), ids(&r4b));
    assert!(!before.is_empty());
    for (patch, site) in &before {
        assert_eq!(&after[patch], site, "{patch} moved site with --ledger");
        assert_eq!(&fresh[patch], site, "{patch} moved site without --ledger");
    }
    assert!(after.len() > before.len(), "the new year's patches joined");
    // Outputs are byte-identical for any thread count.
    let r1 = d.path().join("t1");
    assert!(
        rank(d.path(), &ov, &r1, &["--threads", "1", "--ledger", s(&r3)])
            .status
            .success()
    );
    for f in [
        "tasks.csv",
        "tasks.gpkg",
        "tasks.geojson",
        "ledger.csv",
        "hotspots.csv",
    ] {
        assert_eq!(
            std::fs::read(r1.join(f)).unwrap(),
            std::fs::read(r4.join(f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn bad_history_rows_are_named_and_nothing_is_written() {
    let d = fixture_dir();
    let ov = vec![overlay_pair(d.path(), 0)];
    std::fs::write(
        d.path().join("history.csv"),
        "patch_id,verdict,date\nx,合法,2023-01-01\ny,可能,2023-01-01\n",
    )
    .unwrap();
    let out = d.path().join("bad");
    let o = rank(d.path(), &ov, &out, &[]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("history.csv row 3") && e.contains("`verdict`") && e.contains("可能"),
        "{e}"
    );
    assert!(!out.join("tasks.csv").exists());
    std::fs::write(
        d.path().join("history.csv"),
        "patch_id,verdict,date\nx,合法,2023-13-01\n",
    )
    .unwrap();
    let e = stderr(&rank(d.path(), &ov, &out, &[]));
    assert!(e.contains("row 2") && e.contains("`date`"), "{e}");
    let bad_policy = d.path().join("p.toml");
    std::fs::write(&bad_policy, "[zone]\nred_lines = 5\n").unwrap();
    let o = rank(d.path(), &ov, &out, &["--policy", s(&bad_policy)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("red_lines") && stderr(&o).contains("p.toml"),
        "{}",
        stderr(&o)
    );
}

/// rank reads `overlay` outputs: an overlay folder whose run did not finish (no manifest)
/// is refused, and a detect folder or a missing file gets the advice to run overlay.
#[test]
fn unfinished_or_detect_folders_are_refused_with_the_right_advice() {
    let d = fixture_dir();
    let ov = overlay_pair(d.path(), 0);
    std::fs::remove_file(ov.join("overlay_manifest.json")).unwrap();
    let out = d.path().join("out");
    let o = rank(d.path(), std::slice::from_ref(&ov), &out, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("no overlay_manifest.json") && e.contains("did not finish"),
        "{e}"
    );
    assert!(!out.join("tasks.csv").exists());

    let [a, b] = synth_pair(d.path(), 64, 64, 6);
    let det = d.path().join("det");
    let o = minewatch(&["detect", s(&a), s(&b), "--out", s(&det), "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let missing = d.path().join("nope.gpkg");
    for (input, needle) in [
        (&det, "rank needs `minewatch overlay` output folders"),
        (&missing, "give a `minewatch overlay` output folder"),
    ] {
        let o = rank(d.path(), std::slice::from_ref(input), &out, &[]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let e = stderr(&o);
        assert!(
            e.contains(needle) && !e.contains("`minewatch detect` output folder or"),
            "{e}"
        );
    }
}

/// History given as a GeoPackage of points (matched by location, no ids), a price table
/// whose surge names D's mineral, and a policy naming A's county as a hot region.
#[test]
fn history_by_location_price_surges_and_hot_counties() {
    let d = fixture_dir();
    let ov: Vec<PathBuf> = (0..4).map(|k| overlay_pair(d.path(), k)).collect();
    // A point inside A's 2023 patch, in lon/lat: 违法 with a case filed.
    let mut ll = SpatialRef::from_epsg(4326).unwrap();
    ll.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let t = gdal::spatial_ref::CoordTransform::new(&utm(), &ll).unwrap();
    let mut p = Geometry::from_wkt(&format!("POINT ({} {})", X0 + 175.0, Y0 + 50.0)).unwrap();
    p.transform_inplace(&t).unwrap();
    let hist = d.path().join("history.gpkg");
    {
        let drv = gdal::DriverManager::get_driver_by_name("GPKG").unwrap();
        let mut ds = drv.create_vector_only(&hist).unwrap();
        let l = ds
            .create_layer(LayerOptions {
                name: "verdicts",
                srs: Some(&ll),
                ty: OGRwkbGeometryType::wkbPoint,
                options: None,
            })
            .unwrap();
        l.create_defn_fields(&[
            ("verdict", OGRFieldType::OFTString),
            ("handling", OGRFieldType::OFTString),
            ("date", OGRFieldType::OFTString),
        ])
        .unwrap();
        let mut f = Feature::new(l.defn()).unwrap();
        f.set_field_string(0, "违法").unwrap();
        f.set_field_string(1, "立案").unwrap();
        f.set_field_string(2, "2023-09-01").unwrap();
        f.set_geometry(p).unwrap();
        f.create(&l).unwrap();
    }
    let prices = d.path().join("prices.csv");
    std::fs::write(
        &prices,
        "mineral,period,price\n建筑用砂岩,2023,40\n建筑用砂岩,2024,56\n煤,2023,100\n煤,2024,110\n",
    )
    .unwrap();
    let policy = d.path().join("policy.toml");
    std::fs::write(&policy, "[regions]\nhot_counties = [\"320115\"]\n").unwrap();
    let out = d.path().join("r");
    let o = minewatch(&[
        "rank",
        s(&ov[0]),
        s(&ov[1]),
        s(&ov[2]),
        s(&ov[3]),
        "--history",
        s(&hist),
        "--penalties",
        s(&d.path().join("penalties.csv")),
        "--prices",
        s(&prices),
        "--policy",
        s(&policy),
        "--out",
        s(&out),
        "--header",
        "zh",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let t = csv_rows(&out.join("tasks.csv"));
    let find = |site: &str| t.iter().find(|r| r["图斑地块编号"] == site).unwrap();
    let a = find(&format!("S{}", patch_id(0, "A")));
    let dd = find(&format!("S{}", patch_id(2, "D")));
    // A: confirmed illegal (+20) with a case filed (+5), hot county (+10).
    assert_eq!(a["term_history"], "25");
    assert_eq!(a["term_region"], "10");
    assert_eq!(a["优先级得分"], "171.5");
    assert!(a["理由"].contains("往期核查为违法") && a["理由"].contains("高发地区"));
    // D: its licence's mineral rose 40 % (> 30 %).
    assert_eq!(dd["term_mineral"], "15");
    assert!(
        dd["理由"].contains("建筑用砂岩价格上涨40%"),
        "{}",
        dd["理由"]
    );
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("rank_manifest.json")).unwrap())
            .unwrap();
    assert_eq!(m["price_surges"]["建筑用砂岩"], 40.0);
}

/// Review finding: any two penalties within two years of each other made a referral,
/// however old. Penalties of 2020-01-10 and 2021-03-20 are both more than two years before
/// any day the changes between 2022-06-01 and 2024-06-01 can have been dug: no referral by
/// default. The loose reading stays a policy option.
#[test]
fn penalties_older_than_two_years_before_the_change_do_not_refer() {
    let d = fixture_dir();
    let ov: Vec<PathBuf> = (2..4).map(|k| overlay_pair(d.path(), k)).collect();
    std::fs::write(
        d.path().join("penalties.csv"),
        "party,licence,date,decision\n某矿业公司,C001,2020-01-10,罚〔2020〕1号\n某矿业公司,C001,2021-03-20,罚〔2021〕7号\n",
    )
    .unwrap();
    let out = d.path().join("strict");
    let o = rank(d.path(), &ov, &out, &["--format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["criminal_referral_candidates"], 0);
    let loose = d.path().join("loose.toml");
    std::fs::write(&loose, "[ledger]\nreferral_window_ends_at_change = false\n").unwrap();
    let out = d.path().join("loose");
    let o = rank(
        d.path(),
        &ov,
        &out,
        &["--format", "json", "--policy", s(&loose)],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["criminal_referral_candidates"], 1);
}

/// Review finding: one decision listed twice made a referral citing it twice. The same
/// decision of the same party with two dates is an input error naming both rows.
/// One decision listed twice (one row per licence it covers) is one penalty, however its
/// number is written (review finding revR F4: 〔2023〕7号 and [2023]7号 counted twice, a
/// criminal referral on one penalty); dated twice, it is refused naming both rows.
#[test]
fn one_decision_listed_twice_is_one_penalty() {
    let d = fixture_dir();
    let ov: Vec<PathBuf> = (2..4).map(|k| overlay_pair(d.path(), k)).collect();
    let pen = d.path().join("penalties.csv");
    for (k, (first, second, licence)) in [
        ("罚1", "罚1", "C001"),
        ("罚〔2023〕7号", "罚[２０２３] 7号", "c001 "),
    ]
    .into_iter()
    .enumerate()
    {
        std::fs::write(
            &pen,
            format!("party,licence,date,decision\n某矿业公司,C001,2023-06-20,{first}\n某矿业公司,{licence},2023-06-20,{second}\n"),
        )
        .unwrap();
        let out = d.path().join(format!("twice{k}"));
        let o = rank(d.path(), &ov, &out, &[]);
        assert!(o.status.success(), "{}", stderr(&o));
        let t = csv_rows(&out.join("tasks.csv"));
        assert!(
            t.iter().all(|r| r["criminal_referral_candidate"] == "0"),
            "{first} / {second}"
        );
        std::fs::write(
            &pen,
            format!("party,licence,date,decision\n某矿业公司,C001,2022-08-10,{first}\n某矿业公司,C001,2023-06-20,{second}\n"),
        )
        .unwrap();
        let out = d.path().join(format!("clash{k}"));
        let o = rank(d.path(), &ov, &out, &[]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let e = stderr(&o);
        assert!(
            e.contains("penalties.csv")
                && e.contains("row 3")
                && e.contains("row 2")
                && e.contains(first)
                && e.contains(second)
                && e.contains("2022-08-10")
                && e.contains("2023-06-20"),
            "{e}"
        );
        assert!(!out.join("tasks.csv").exists());
    }
}

/// Review finding: history and penalty rows that matched no site vanished without a count.
#[test]
fn rows_matching_no_site_are_counted() {
    let d = fixture_dir();
    let ov: Vec<PathBuf> = (2..4).map(|k| overlay_pair(d.path(), k)).collect();
    std::fs::write(
        d.path().join("history.csv"),
        format!(
            "patch_id,verdict,reason,handling,date\n{},伪变化,大棚,不处理,2023-10-01\nnowhere,违法,,立案,2023-10-01\n",
            patch_id(2, "C")
        ),
    )
    .unwrap();
    let mut pen = std::fs::read_to_string(d.path().join("penalties.csv")).unwrap();
    pen.push_str("别的公司,C999,2023-01-01,罚〔2023〕9号\n");
    std::fs::write(d.path().join("penalties.csv"), pen).unwrap();
    let out = d.path().join("r");
    let o = rank(d.path(), &ov, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("rank_manifest.json")).unwrap())
            .unwrap();
    assert_eq!(m["summary"]["unmatched_history_rows"], 1, "{m}");
    assert_eq!(m["summary"]["unmatched_penalty_rows"], 1, "{m}");
    let e = stderr(&o);
    assert!(
        e.contains("1 history row") && e.contains("1 penalty row") && e.contains("no site"),
        "{e}"
    );
}

/// Review finding: `case_filed` = 立案 (or any unknown word) silently became false.
#[test]
fn case_filed_takes_known_words_only() {
    let d = fixture_dir();
    let a = patch_id(0, "A");
    for (word, filed) in [
        ("立案", true),
        ("Y", true),
        ("是", true),
        ("否", false),
        ("0", false),
    ] {
        let csv = format!("patch_id,verdict,case_filed,date\n{a},违法,{word},2023-01-01\n");
        let (o, out) = rank_with_history(d.path(), &csv, &format!("w{}", word.len()));
        assert!(o.status.success(), "{word}: {}", stderr(&o));
        let t = csv_rows(&out.join("tasks.csv"));
        assert_eq!(t[0]["history"].ends_with("case_filed"), filed, "{word}");
    }
    let csv = format!(
        "patch_id,verdict,case_filed,date\n{a},违法,0,2023-01-01\n{a},违法,待定,2023-02-01\n"
    );
    let (o, _) = rank_with_history(d.path(), &csv, "bad");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("history.csv row 3") && e.contains("`case_filed`") && e.contains("待定"),
        "{e}"
    );
}

/// Review finding: without `case_filed`, any `handling` other than 立案 read "not filed",
/// so 已立案 was lost and a typo or "已移送公安" passed silently.
#[test]
fn handling_takes_known_words_only() {
    let d = fixture_dir();
    let a = patch_id(0, "A");
    for (word, filed) in [
        ("立案", true),
        ("已立案", true),
        ("非立案", false),
        ("不处理", false),
        ("", false),
    ] {
        let csv = format!("patch_id,verdict,reason,handling,date\n{a},违法,r,{word},2023-01-01\n");
        let (o, out) = rank_with_history(d.path(), &csv, &format!("h{}", word.len()));
        assert!(o.status.success(), "{word}: {}", stderr(&o));
        let t = csv_rows(&out.join("tasks.csv"));
        assert_eq!(
            t[0]["history"].ends_with("case_filed"),
            filed,
            "{word}: {}",
            t[0]["history"]
        );
    }
    let csv = format!("patch_id,verdict,reason,handling,date\n{a},违法,r,已移送公安,2023-01-01\n");
    let (o, out) = rank_with_history(d.path(), &csv, "bad");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("history.csv row 2") && e.contains("`handling`") && e.contains("已移送公安"),
        "{e}"
    );
    assert!(!out.join("tasks.csv").exists());
}

/// Review, session 17 (revD): the zh guide attaches last cycle's returned county forms
/// as history; their Chinese headers (核查结果, 处理方式, 核查日期 …) were refused for want of
/// a `verdict` column.
#[test]
fn returned_forms_with_chinese_headers_are_history() {
    let d = fixture_dir();
    let a = patch_id(0, "A");
    let csv = format!(
        "patch_id,核查结果,理由说明,处理方式,核查日期\n{a},违法,无证开采,立案,2023-01-01\n"
    );
    let (o, out) = rank_with_history(d.path(), &csv, "zh");
    assert!(o.status.success(), "{}", stderr(&o));
    let t = csv_rows(&out.join("tasks.csv"));
    assert!(
        t[0]["history"].ends_with("case_filed"),
        "{}",
        t[0]["history"]
    );
    // The English form's `check_date` is the verdict's date too.
    let csv = format!("patch_id,verdict,reason,handling,check_date\n{a},违法,r,立案,2023-01-01\n");
    let (o, _) = rank_with_history(d.path(), &csv, "en");
    assert!(o.status.success(), "{}", stderr(&o));
}

/// Review U F1: a 伪变化 the audit sends back (no reason — or a placeholder for one —, no
/// responsible person, a date in the future, or the same site returned the same day as
/// 违法) suppressed the site in the next ranking, a repeat offender's too. Such rows are no
/// history now, and stderr names them; a valid 伪变化 still suppresses.
#[test]
fn history_rows_the_audit_refuses_do_not_suppress() {
    let d = fixture_dir();
    let a = patch_id(0, "A");
    let head = "patch_id,verdict,violation_type,handling,reason,responsible,date\n";
    let csv = format!("{head}{a},伪变化,,不处理,大棚,张三,2023-01-01\n");
    let (o, out) = rank_with_history(d.path(), &csv, "valid");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(csv_rows(&out.join("tasks.csv"))[0]["suppressed"], "1");
    for (name, rows, says) in [
        ("no_reason", format!("{a},伪变化,,不处理,,张三,2023-01-01\n"), "false_change_no_reason"),
        ("placeholder", format!("{a},伪变化,,不处理,无,张三,2023-01-01\n"), "false_change_no_reason"),
        ("no_person", format!("{a},伪变化,,不处理,大棚,/,2023-01-01\n"), "missing_responsible"),
        ("future", format!("{a},伪变化,,不处理,大棚,张三,2199-01-01\n"), "check_date_future"),
        (
            "conflict",
            format!("{a},违法,无证开采,立案,,张三,2023-01-01\n{a},伪变化,,不处理,大棚,张三,2023-01-01\n"),
            "conflicting_verdicts",
        ),
    ] {
        let (o, out) = rank_with_history(d.path(), &format!("{head}{rows}"), name);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        let t = csv_rows(&out.join("tasks.csv"));
        assert_eq!(t[0]["suppressed"], "0", "{name}: {:?}", t[0]);
        let e = stderr(&o);
        assert!(
            e.contains("history.csv row 2 is not read as history") && e.contains(says),
            "{name}: {e}"
        );
    }
}

/// `rank --history` applies the audit's row rules (`check_row`) to the handling as it
/// reads it: 已立案 is 立案 to rank but a spelling the audit's rules did not know, so they
/// stopped short and a row the audit sends back (no responsible person) counted as a
/// filed case. A `case_filed` 是 on a 合法 is the audit's `case_filed_not_illegal` too,
/// refused naming the column that says it.
#[test]
fn history_rules_see_the_handling_as_rank_reads_it() {
    let d = fixture_dir();
    let a = patch_id(0, "A");
    let head = "patch_id,verdict,violation_type,handling,reason,responsible,date\n";
    let csv = format!("{head}{a},违法,无证开采,已立案,,张三,2023-01-01\n");
    let (o, out) = rank_with_history(d.path(), &csv, "spelt");
    assert!(o.status.success(), "{}", stderr(&o));
    let t = csv_rows(&out.join("tasks.csv"));
    assert!(t[0]["history"].ends_with("case_filed"), "{:?}", t[0]);
    let csv = format!("{head}{a},违法,无证开采,已立案,,/,2023-01-01\n");
    let (o, out) = rank_with_history(d.path(), &csv, "no_person");
    assert!(o.status.success(), "{}", stderr(&o));
    let t = csv_rows(&out.join("tasks.csv"));
    assert!(!t[0]["history"].contains("case_filed"), "{:?}", t[0]);
    let e = stderr(&o);
    assert!(
        e.contains("history.csv row 2 is not read as history") && e.contains("missing_responsible"),
        "{e}"
    );
    let csv = format!("patch_id,verdict,case_filed,date\n{a},合法,是,2023-01-01\n");
    let (o, out) = rank_with_history(d.path(), &csv, "column");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("history.csv row 2") && e.contains("`case_filed`") && e.contains("合法"),
        "{e}"
    );
    assert!(!out.join("tasks.csv").exists());
}

/// Review U F7: a returned form with one site still blank (no verdict yet) was refused
/// as history (exit 1), though a form is read as it is: the row is passed over, named.
#[test]
fn a_history_row_without_a_verdict_is_passed_over() {
    let d = fixture_dir();
    let a = patch_id(0, "A");
    let csv = format!(
        "patch_id,核查结果,违法类型,处理方式,理由说明,核查责任人,核查日期\n{a},违法,无证开采,立案,,张三,2023-01-01\nnowhere,,,,,,\n,,,,,,\n"
    );
    let (o, out) = rank_with_history(d.path(), &csv, "partial");
    assert!(o.status.success(), "{}", stderr(&o));
    let t = csv_rows(&out.join("tasks.csv"));
    assert!(t[0]["history"].ends_with("case_filed"), "{:?}", t[0]);
    let e = stderr(&o);
    assert!(
        e.contains("history.csv row 3") && e.contains("missing_verdict"),
        "{e}"
    );
    assert!(!e.contains("row 4"), "a blank row is no row: {e}");
}

/// Rank fixture pair 0 with `history.csv` = `csv`, into a fresh folder `out`.
fn rank_with_history(d: &Path, csv: &str, out: &str) -> (std::process::Output, PathBuf) {
    let ov = vec![overlay_pair(d, 0)];
    std::fs::write(d.join("history.csv"), csv).unwrap();
    let out = d.join(out);
    let _ = std::fs::remove_dir_all(&out);
    (rank(d, &ov, &out, &[]), out)
}

/// Review finding: a second price row of the same mineral and period silently won or lost;
/// and one written another way (2024-06, 2024年6月: review finding revR F3) was another
/// period, so the row order decided the surge.
#[test]
fn duplicate_price_rows_are_refused() {
    let d = fixture_dir();
    let ov = vec![overlay_pair(d.path(), 0)];
    let prices = d.path().join("prices.csv");
    for (rows, again, first) in [
        ("煤,2023,100\n煤,2024,110\n煤,2023,90\n", "2023", "row 2"),
        (
            "钨,2024-05,100\n钨,2024-06,140\n钨,2024年6月,100\n",
            "2024年6月",
            "row 3 as 2024-06",
        ),
    ] {
        std::fs::write(&prices, format!("mineral,period,price\n{rows}")).unwrap();
        let out = d.path().join("r");
        let o = rank(d.path(), &ov, &out, &["--prices", s(&prices)]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let e = stderr(&o);
        assert!(
            e.contains("prices.csv row 4")
                && e.contains(first)
                && e.contains(&format!("{again} is priced again")),
            "{e}"
        );
        assert!(!out.join("tasks.csv").exists());
    }
}

/// Review, session 12: a site's centre (the area-weighted centre of its latest patches,
/// `centre_lon` / `centre_lat` in tasks.csv) fell off the patch for C-shaped pits and
/// sites of several parts (4 of the demo's 92, 7–23 m off). Every task's centre now lies
/// on its site's geometry.
#[test]
fn every_task_centre_lies_on_its_site() {
    use gdal::vector::LayerAccess;
    let dir = tempfile::tempdir().unwrap();
    let (rk, _) = nanjing_chain(dir.path(), &[]);
    let ds = gdal::Dataset::open(rk.join("tasks.gpkg")).unwrap();
    let mut layer = ds.layer(0).unwrap();
    let mut ll = gdal::spatial_ref::SpatialRef::from_epsg(4326).unwrap();
    ll.set_axis_mapping_strategy(gdal::spatial_ref::AxisMappingStrategy::TraditionalGisOrder);
    let mut srs = layer.spatial_ref().unwrap();
    srs.set_axis_mapping_strategy(gdal::spatial_ref::AxisMappingStrategy::TraditionalGisOrder);
    let to_layer = gdal::spatial_ref::CoordTransform::new(&ll, &srs).unwrap();
    let (mut n, mut off) = (0, Vec::new());
    for f in layer.features() {
        let num = |k: &str| {
            f.field_as_double(f.field_index(k).unwrap())
                .unwrap()
                .unwrap()
        };
        let (lon, lat) = (num("centre_lon"), num("centre_lat"));
        let p = gdal::vector::Geometry::from_wkt(&format!("POINT ({lon} {lat})"))
            .unwrap()
            .transform(&to_layer)
            .unwrap();
        // 1 mm of slack for the 7 decimals the centre is written with.
        if !f
            .geometry()
            .unwrap()
            .intersects(&p.buffer(0.001, 4).unwrap())
        {
            off.push(
                f.field_as_string(f.field_index("site_id").unwrap())
                    .unwrap()
                    .unwrap(),
            );
        }
        n += 1;
    }
    assert!(n > 50, "{n} tasks");
    assert!(off.is_empty(), "centres off their site: {off:?}");
}

/// Review findings: findings of overlapping pairs (2020→2022 beside 2020→2021) were summed,
/// doubling the change; regions imaged on other dates lost every new-change site; a ledger
/// matching none of the findings carried nothing, silently.
#[test]
fn pairs_are_checked_and_each_region_keeps_its_latest_pair() {
    let d = fixture_dir();
    let a = overlay_pair(d.path(), 0);
    let long = overlay_between(
        d.path(),
        "long",
        DATES[0],
        DATES[2],
        &[("long_A".into(), [0.0, 0.0, 150.0, 100.0])],
    );
    let o = rank(d.path(), &[a.clone(), long], &d.path().join("r1"), &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("cover the same time"), "{}", stderr(&o));
    // Another region, imaged a month later than the fixture's last pair.
    let west = overlay_between(
        d.path(),
        "west",
        "2023-07-01",
        "2024-07-01",
        &[("west_W".into(), [6000.0, 0.0, 6100.0, 100.0])],
    );
    let ov: Vec<PathBuf> = (0..4).map(|k| overlay_pair(d.path(), k)).collect();
    let mut all = ov.clone();
    all.push(west);
    let out = d.path().join("r2");
    let o = rank(d.path(), &all, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("end on different dates"),
        "{}",
        stderr(&o)
    );
    let t = csv_rows(&out.join("tasks.csv"));
    let new = |frag: &str| {
        t.iter()
            .find(|r| r["patch_ids"].contains(frag))
            .map(|r| r["no_new_change"].clone())
            .unwrap()
    };
    assert_eq!(new("west_W"), "0");
    assert_eq!(new(&patch_id(3, "A")), "0", "the fixture's own latest pair");
    // This year's findings alone with last year's ledger: said, not silent.
    let last_year = d.path().join("r_last");
    assert!(rank(d.path(), &ov[..3], &last_year, &[]).status.success());
    let o = rank(
        d.path(),
        &ov[3..],
        &d.path().join("r3"),
        &["--ledger", s(&last_year)],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("none of the") && stderr(&o).contains("give the earlier findings too"),
        "{}",
        stderr(&o)
    );
}

/// Review finding: `rank ov ov/` (or the findings file twice) read the same findings twice,
/// exit 0: every site doubled, with `-2` twins, duplicate patch ids in the ledger and a
/// spurious hot spot. Only `ov ./ov` was refused. Any spelling of one input is one input.
#[test]
fn the_same_findings_under_two_spellings_are_refused() {
    let d = fixture_dir();
    let ov = overlay_pair(d.path(), 0);
    let file = ov.join("findings.gpkg");
    let slash = PathBuf::from(format!("{}/", ov.display()));
    for (k, twins) in [
        [ov.clone(), slash],
        [file.clone(), file.clone()],
        [ov.clone(), file],
    ]
    .into_iter()
    .enumerate()
    {
        let out = d.path().join(format!("r{k}"));
        let o = rank(d.path(), &twins, &out, &[]);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{twins:?}: {e}");
        assert!(e.contains("are the same input"), "{twins:?}: {e}");
        assert!(!out.join("tasks.csv").exists(), "nothing written");
    }
    // Relative spellings, from the fixture's folder.
    let o = minewatch_in(d.path(), &["rank", "ov0", "./ov0/", "--out", "r_rel"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("are the same input"), "{}", stderr(&o));
}

/// Patches `name` of consecutive pairs between `dates`, one box per pair, each in its own
/// overlay run; their ids carry the pair.
fn overlay_chain(dir: &Path, name: &str, dates: &[&str], boxes: &[[f64; 4]]) -> Vec<PathBuf> {
    (0..dates.len() - 1)
        .map(|k| {
            let id = format!(
                "{}_{}_{name}",
                dates[k].replace('-', ""),
                dates[k + 1].replace('-', "")
            );
            overlay_between(
                dir,
                &format!("{name}{k}"),
                dates[k],
                dates[k + 1],
                &[(id, boxes[k])],
            )
        })
        .collect()
}

/// Review finding: the "latest patches" were those whose later image falls in the site's
/// last calendar year: three quarterly 2023 pairs of 4.05 亩 each gave 12.15 亩 of
/// suspected illegal area and a provincial field check. They are the latest pair's.
#[test]
fn quarterly_pairs_of_one_year_score_the_latest_pair_only() {
    let d = fixture_dir();
    let ov = overlay_chain(
        d.path(),
        "Q",
        &["2023-01-01", "2023-04-01", "2023-07-01", "2023-10-01"],
        &[
            [0.0, 0.0, 60.0, 45.0],
            [60.0, 0.0, 120.0, 45.0],
            [120.0, 0.0, 180.0, 45.0],
        ],
    );
    let out = d.path().join("rq");
    let o = rank(d.path(), &ov, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let t = csv_rows(&out.join("tasks.csv"));
    assert_eq!(t.len(), 1, "one site");
    let mu: f64 = t[0]["illegal_area_mu"].parse().unwrap();
    assert!((mu - 4.05).abs() < 0.01, "{mu} 亩: one quarter's patch");
    assert_eq!(t[0]["provincial_field_check_required"], "0");
    assert_eq!(
        (
            t[0]["last_date_before"].as_str(),
            t[0]["last_date"].as_str()
        ),
        ("2023-07-01", "2023-10-01")
    );
    // The calendar-year column stays a report of the year.
    assert_eq!(t[0]["change_years"], "2023");
}

/// Review findings: 2020-06-01→2021-05-01→2021-12-01 (1.5 years) rounded to a 2-year run,
/// 多年连续变化 (+25), and its 2021 "latest patches" were both pairs' (30 亩 where the
/// latest pair has 15).
#[test]
fn a_run_of_a_year_and_a_half_is_not_multi_year() {
    let d = fixture_dir();
    let ov = overlay_chain(
        d.path(),
        "M",
        &["2020-06-01", "2021-05-01", "2021-12-01"],
        &[[0.0, 0.0, 100.0, 100.0], [100.0, 0.0, 200.0, 100.0]],
    );
    let out = d.path().join("rm");
    let o = rank(d.path(), &ov, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let t = csv_rows(&out.join("tasks.csv"));
    assert_eq!(t.len(), 1, "one site");
    let r = &t[0];
    assert_eq!(
        (
            r["longest_run"].as_str(),
            r["multi_year_change"].as_str(),
            r["term_persistence"].as_str()
        ),
        ("1", "0", "0"),
        "{}",
        r["reasons_en"]
    );
    let mu: f64 = r["illegal_area_mu"].parse().unwrap();
    assert!((mu - 15.0).abs() < 0.1, "{mu} 亩: the latest pair's");
}

/// Review finding: sites outside every admin polygon were ranked as a group of their own
/// (rank_province 1–3 beside the real province's 1–4) and nothing said why.
#[test]
fn sites_in_no_admin_division_are_warned_and_not_ranked() {
    let d = fixture_dir();
    // The fixture's counties end at x = 9000: F and G lie in none.
    let ov = overlay_between(
        d.path(),
        "far",
        DATES[3],
        DATES[4],
        &[
            ("far_G".into(), [22000.0, 0.0, 22060.0, 100.0]),
            ("far_F".into(), [20000.0, 0.0, 20100.0, 100.0]),
            ("near_A".into(), [0.0, 0.0, 100.0, 100.0]),
        ],
    );
    let out = d.path().join("rf");
    let o = rank(d.path(), &[ov], &out, &["--format", "json"]);
    let e = stderr(&o);
    assert!(o.status.success(), "{e}");
    assert!(
        e.contains("2 sites lie in no admin division")
            && e.contains("far_F")
            && e.contains("far_G")
            && e.contains("add an admin_division layer"),
        "{e}"
    );
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["sites_without_admin_place"], 2);
    assert_eq!(summary["ranked"], 1);
    let t = csv_rows(&out.join("tasks.csv"));
    let ranks = |r: &BTreeMap<String, String>| {
        (
            r["patch_ids"].clone(),
            r["rank_county"].clone(),
            r["rank_prefecture"].clone(),
            r["rank_province"].clone(),
        )
    };
    let got: Vec<_> = t.iter().map(ranks).collect();
    let row = |id: &str, r: &str| (id.to_string(), r.to_string(), r.to_string(), r.to_string());
    // Placed first; the unplaced after, by score (F is the larger), without ranks.
    assert_eq!(
        got,
        vec![row("near_A", "1"), row("far_F", ""), row("far_G", "")]
    );
}

/// Review finding (revR F1): a 伪变化 detected again on the same ground was "grown since",
/// ranked again and given the multi-year bonus. Site C: 伪变化 of 2022→2023 (verdict
/// 2023-10-01); in 2023→2024 a 10 m strip beside it (10 % new ground, under 20 %).
#[test]
fn a_recurring_false_change_stays_suppressed() {
    let d = fixture_dir();
    let ov: Vec<PathBuf> = (2..4).map(|k| overlay_pair(d.path(), k)).collect();
    let out = d.path().join("both");
    let o = rank(d.path(), &ov, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let t = csv_rows(&out.join("tasks.csv"));
    let c = t
        .iter()
        .find(|r| r["site_id"] == format!("S{}", patch_id(2, "C")))
        .unwrap();
    assert_eq!(
        (
            c["suppressed"].as_str(),
            c["multi_year_change"].as_str(),
            c["term_persistence"].as_str()
        ),
        ("1", "0", "0"),
        "{c:?}"
    );
    // Without the judged pair's findings (the verdict predates every patch given), growth
    // cannot be measured: the verdict stands, and stderr says so.
    std::fs::write(
        d.path().join("history.csv"),
        format!(
            "patch_id,verdict,reason,handling,date\n{},伪变化,大棚,不处理,2023-10-01\n",
            patch_id(3, "C")
        ),
    )
    .unwrap();
    let out = d.path().join("later_only");
    let o = rank(d.path(), &ov[1..], &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let t = csv_rows(&out.join("tasks.csv"));
    let c = t
        .iter()
        .find(|r| r["site_id"] == format!("S{}", patch_id(3, "C")))
        .unwrap();
    assert_eq!(c["suppressed"], "1", "{c:?}");
    let e = stderr(&o);
    assert!(
        e.contains("cannot be assessed") && e.contains(&format!("S{}", patch_id(3, "C"))),
        "{e}"
    );
}

/// Review finding (revR F6): a `hot_counties` entry that is no county code matched
/// nothing, silently.
#[test]
fn hot_counties_that_are_not_county_codes_are_refused() {
    let d = fixture_dir();
    let ov = vec![overlay_pair(d.path(), 0)];
    let policy = d.path().join("policy.toml");
    std::fs::write(&policy, "[regions]\nhot_counties = [\"江宁区\"]\n").unwrap();
    let out = d.path().join("r");
    let o = rank(d.path(), &ov, &out, &["--policy", s(&policy)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("policy.toml") && e.contains("江宁区") && e.contains("hot_counties"),
        "{e}"
    );
    // A 12-digit code counts for its county (A lies in 320115).
    std::fs::write(&policy, "[regions]\nhot_counties = [\"320115000000\"]\n").unwrap();
    let o = rank(d.path(), &ov, &out, &["--policy", s(&policy)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let t = csv_rows(&out.join("tasks.csv"));
    assert_eq!(t[0]["term_region"], "10");
}

/// Review finding (revR F7): 合法 with 立案 (a contradiction `audit` sends back) added
/// "case filed (+5)".
#[test]
fn a_filed_case_on_a_legal_verdict_is_refused() {
    let d = fixture_dir();
    let a = patch_id(0, "A");
    let csv = format!("patch_id,verdict,reason,handling,date\n{a},合法,有证开采,立案,2022-09-01\n");
    let (o, out) = rank_with_history(d.path(), &csv, "legal");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("history.csv row 2") && e.contains("`handling`") && e.contains("合法"),
        "{e}"
    );
    assert!(!out.join("tasks.csv").exists());
}

/// Review finding (revV F4): a growing pit's task was its patches as separate parts of one
/// MultiPolygon (rings sharing edges with the old extent): invalid for GEOS
/// (self-intersection), and a re-detected site's identical parts gave a GIS area twice its
/// ground. The task geometry is the dissolved footprint, in tasks.gpkg and tasks.geojson.
#[test]
fn task_geometries_are_valid_dissolved_footprints() {
    let d = fixture_dir();
    let mut ov: Vec<PathBuf> = (0..4).map(|k| overlay_pair(d.path(), k)).collect();
    // E: the same 100 m square found in two adjacent pairs (parts that are identical).
    ov.extend(overlay_chain(
        d.path(),
        "E",
        &["2022-06-01", "2023-06-01", "2024-06-01"],
        &[[5000.0, 0.0, 5100.0, 100.0], [5000.0, 0.0, 5100.0, 100.0]],
    ));
    let out = d.path().join("rank");
    let o = rank(d.path(), &ov, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let site_a = format!("S{}", patch_id(0, "A"));
    let site_e = "S20220601_20230601_E".to_string();
    for file in ["tasks.gpkg", "tasks.geojson"] {
        let ds = gdal::Dataset::open(out.join(file)).unwrap();
        let mut layer = ds.layer(0).unwrap();
        let mut ll = gdal::spatial_ref::SpatialRef::from_epsg(4326).unwrap();
        ll.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
        let to_utm = gdal::spatial_ref::CoordTransform::new(&ll, &utm()).unwrap();
        let mut areas = BTreeMap::new();
        for f in layer.features() {
            let id = f
                .field_as_string(f.field_index("site_id").unwrap())
                .unwrap()
                .unwrap();
            let g = f.geometry().unwrap();
            assert!(g.is_valid(), "{file}: {id} is not a valid geometry");
            let g = if file.ends_with("geojson") {
                g.transform(&to_utm).unwrap()
            } else {
                g.clone()
            };
            areas.insert(id, g.area());
        }
        // A: 260 × 100 m of ground in four strips; E: one 100 m square.
        assert!((areas[&site_a] - 26_000.0).abs() < 1.0, "{file}: {areas:?}");
        assert!((areas[&site_e] - 10_000.0).abs() < 1.0, "{file}: {areas:?}");
    }
}

/// Review finding (revV F2): the same pair from two detect runs whose mosaics differ in
/// origin (other grid, so other patch ids) was accepted: the pit's area counted twice and
/// it became two tasks. Refused (exit 1) naming both inputs; tiles of one pair that meet
/// along an edge are not the same ground.
#[test]
fn one_pair_from_two_inputs_over_the_same_ground_is_refused() {
    let d = fixture_dir();
    let (before, after) = ("2021-06-01", "2022-06-01");
    let run_a = overlay_between(
        d.path(),
        "sa",
        before,
        after,
        &[("20210601_20220601_r10c10".into(), [0.0, 0.0, 300.0, 300.0])],
    );
    // The same pit from a mosaic 30 m off: other id, same ground.
    let run_b = overlay_between(
        d.path(),
        "sb",
        before,
        after,
        &[("20210601_20220601_r7c7".into(), [30.0, 0.0, 330.0, 300.0])],
    );
    let out = d.path().join("rk");
    let o = rank(d.path(), &[run_a.clone(), run_b.clone()], &out, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains(s(&run_a)) && e.contains(s(&run_b)) && e.contains("count twice"),
        "{e}"
    );
    assert!(!out.exists(), "nothing written");
    // A neighbouring tile of the same pair: accepted.
    let tile = overlay_between(
        d.path(),
        "sc",
        before,
        after,
        &[(
            "20210601_20220601_r10c40".into(),
            [300.0, 0.0, 600.0, 300.0],
        )],
    );
    let o = rank(d.path(), &[run_a, tile], &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// Review 22-A F1: a pit dug in 2020→2021 and untouched through 2022→2023 was ranked as
/// new change: the quiet pairs had no patches, and rank never saw them. Overlay carries
/// detect's pair list to rank; patches from elsewhere keep the old reading, with a warning.
#[test]
fn a_quiet_latest_pair_leaves_an_old_pit_unranked() {
    let d = fixture_dir();
    let p = d.path();
    let id = "20200601_20210601_once".to_string();
    let loose = overlay_between(
        p,
        "once",
        "2020-06-01",
        "2021-06-01",
        &[(id, [0.0, 0.0, 100.0, 100.0])],
    );
    // The same patches as a detect output folder that compared three pairs.
    let det = p.join("det");
    std::fs::create_dir(&det).unwrap();
    std::fs::copy(p.join("patchesonce.gpkg"), det.join("patches.gpkg")).unwrap();
    let pair =
        |k: &str, n: usize| serde_json::json!({"pair": k, "valid_pixels": 40000, "patches": n});
    std::fs::write(
        det.join("manifest.json"),
        serde_json::json!({
            "tool": "minewatch", "command": "detect", "outputs": ["patches.gpkg", "manifest.json"],
            "pairs": [pair("20200601_20210601", 1), pair("20210601_20220601", 0), pair("20220601_20230601", 0)],
        })
        .to_string(),
    )
    .unwrap();
    let ov = p.join("ovdet");
    let o = minewatch(&[
        "overlay",
        s(&det),
        "--layers",
        s(&p.join("layers.toml")),
        "--out",
        s(&ov),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ov.join("overlay_manifest.json")).unwrap())
            .unwrap();
    assert_eq!(m["detect_pairs"].as_array().map(Vec::len), Some(3));
    let tasks = |out: &Path| -> Vec<BTreeMap<String, String>> {
        let mut r = csv::ReaderBuilder::new()
            .from_path(out.join("tasks.csv"))
            .unwrap();
        let h: Vec<String> = r
            .headers()
            .unwrap()
            .iter()
            .map(|x| x.trim_start_matches('\u{feff}').to_string())
            .collect();
        r.records()
            .map(|x| {
                h.iter()
                    .cloned()
                    .zip(x.unwrap().iter().map(String::from))
                    .collect()
            })
            .collect()
    };
    let out = p.join("rk_det");
    let o = minewatch(&["rank", s(&ov), "--out", s(&out), "--format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["compared_pairs"].as_array().map(Vec::len), Some(3));
    assert!(!stderr(&o).contains("not known"), "{}", stderr(&o));
    let t = tasks(&out);
    assert_eq!(
        (t[0]["new_change"].as_str(), t[0]["rank_county"].as_str()),
        ("0", "")
    );
    // From a bare patches file the quiet pairs are unknown: today's reading, said.
    let out = p.join("rk_loose");
    let o = minewatch(&["rank", s(&loose), "--out", s(&out), "--format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("date pairs detect compared are not known for"),
        "{}",
        stderr(&o)
    );
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        summary["compared_pairs_unknown_for"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(tasks(&out)[0]["new_change"], "1");
}

/// Review 22-A F4: penalties for other causes (非法占用耕地, a late annual report) counted
/// toward the two-penalties rule. F5: without a rights layer the rule said "0 candidates"
/// as if judged.
#[test]
fn only_mining_penalties_count_and_unchecked_licences_are_said() {
    let d = fixture_dir();
    let ov: Vec<PathBuf> = (2..4).map(|k| overlay_pair(d.path(), k)).collect();
    let run = |csv: &str, out: &str, findings: &[PathBuf]| {
        std::fs::write(d.path().join("penalties.csv"), csv).unwrap();
        let o = rank(
            d.path(),
            findings,
            &d.path().join(out),
            &["--format", "json"],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        (v, stderr(&o))
    };
    let mining = "party,licence,date,decision,案由\n某矿业公司,C001,2022-08-10,罚〔2022〕1号,越界开采\n某矿业公司,C001,2023-06-20,罚〔2023〕7号,非法采矿\n";
    let (v, _) = run(mining, "mining", &ov);
    assert_eq!(v["criminal_referral_candidates"], 1);
    assert_eq!(v["penalty_cause_column"], "案由");
    let other = mining.replace("非法采矿", "未按期提交矿产资源开发利用年报");
    let (v, err) = run(&other, "other", &ov);
    assert_eq!(v["criminal_referral_candidates"], 0);
    assert_eq!(v["penalty_rows_not_mining"], 1);
    assert!(
        err.contains("1 penalty row of") && err.contains("row 3 未按期提交"),
        "{err}"
    );
    // The same findings overlaid without the rights layer.
    let layers = std::fs::read_to_string(d.path().join("layers.toml")).unwrap();
    let cut = layers.find("[[layer]]\nname = \"rights\"").unwrap();
    std::fs::write(d.path().join("norights.toml"), &layers[..cut]).unwrap();
    let mut bare = Vec::new();
    for k in 2..4 {
        let out = d.path().join(format!("ovn{k}"));
        let o = minewatch(&[
            "overlay",
            s(&d.path().join(format!("patches{k}.gpkg"))),
            "--layers",
            s(&d.path().join("norights.toml")),
            "--out",
            s(&out),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        bare.push(out);
    }
    let (v, err) = run(mining, "bare", &bare);
    assert_eq!(v["referrals_not_judged_without_licences"], true);
    assert!(err.contains("cannot be judged"), "{err}");
    let (v, err) = run(mining, "checked", &ov);
    assert_eq!(v["referrals_not_judged_without_licences"], false);
    assert!(!err.contains("cannot be judged"), "{err}");
}
