//! `minewatch sample` and `minewatch audit`: the committed expected sample (exact
//! reproducibility), order independence, and an audit of returned county tables with
//! every problem named, a re-check sample and misjudgement rates.

mod common;
use common::*;

const DESIGN: [&str; 16] = [
    "--seed",
    "42",
    "--count",
    "15",
    "--strata",
    "county_code,priority_class",
    "--allocation",
    "neyman",
    "--neyman-by",
    "score",
    "--min-per-stratum",
    "1",
    "--must",
    "provincial_field_check_required",
    "--must",
    "zone_kinds~ecological_red_line",
];

/// The sample is compared with a committed expectation: integer arithmetic only, so it is
/// the same on every platform; regenerate with MINEWATCH_UPDATE_GOLDEN=1 and say why.
#[test]
fn sample_matches_the_committed_expectation_and_ignores_row_order() {
    let d = tempfile::tempdir().unwrap();
    let input = fixture("verify/tasks_60.csv");
    let out = d.path().join("s");
    let mut args = vec!["sample", s(&input), "--out", s(&out)];
    args.extend(DESIGN);
    let o = minewatch(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let got = std::fs::read(out.join("sample.csv")).unwrap();
    let golden = fixture("expected/sample_tasks60_seed42.csv");
    if std::env::var_os("MINEWATCH_UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &got).unwrap();
    }
    assert_eq!(
        got,
        std::fs::read(&golden).unwrap(),
        "sample differs from {}",
        golden.display()
    );
    let picks = csv_rows(&out.join("sample.csv"));
    // Every mandatory unit is in with probability 1; the random part has 15 units.
    let mand = picks
        .iter()
        .filter(|r| r["selection"].starts_with("mandatory"))
        .count();
    assert_eq!(picks.len() - mand, 15);
    assert!(picks
        .iter()
        .filter(|r| r["provincial_field_check_required"] == "1")
        .all(|r| r["inclusion_probability"] == "1"));
    // Reversed rows: the same sample.
    let text = std::fs::read_to_string(&input).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let head = lines.remove(0);
    lines.reverse();
    let rev = d.path().join("rev.csv");
    std::fs::write(&rev, format!("{head}\n{}\n", lines.join("\n"))).unwrap();
    let out2 = d.path().join("s2");
    let mut args = vec!["sample", s(&rev), "--out", s(&out2)];
    args.extend(DESIGN);
    assert!(minewatch(&args).status.success());
    let a: Vec<String> = picks.iter().map(|r| r["unit_id"].clone()).collect();
    let b: Vec<String> = csv_rows(&out2.join("sample.csv"))
        .iter()
        .map(|r| r["unit_id"].clone())
        .collect();
    assert_eq!(a, b);
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("sample_manifest.json")).unwrap())
            .unwrap();
    assert_eq!(m["design"]["seed"], 42);
}

#[test]
fn audit_names_every_problem_and_estimates_misjudgement() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let mut tasks = String::from(
        "site_id,county_code,licence_status,multi_year_change,criminal_referral_candidate\n",
    );
    for i in 0..20 {
        let c = if i < 10 { "320115" } else { "320116" };
        let lic = if i == 1 {
            "partly_outside"
        } else {
            "outside_all_rights"
        };
        let multi = if i == 2 { 1 } else { 0 };
        tasks.push_str(&format!("S{i:02},{c},{lic},{multi},0\n"));
    }
    std::fs::write(p.join("tasks.csv"), tasks).unwrap();
    // 320115 returns a GBK table with Chinese headers; 320116 a UTF-8 one with English.
    let mut zh = String::from(
        "图斑地块编号,核查结果,违法类型,处理方式,理由说明,核查责任人,核查日期,照片编号\n",
    );
    for i in 0..10 {
        let (v, h, why) = match i {
            0 => ("违法", "立案", ""),
            1 => ("合法", "", "有证"),
            2 => ("伪变化", "不处理", "大棚"),
            3 => ("违法", "非立案", ""),
            4 => ("可能", "", ""),
            _ => ("违法", "立案", ""),
        };
        zh.push_str(&format!(
            "S{i:02},{v},无证开采,{h},{why},王五,2024-08-0{},P{i}\n",
            1 + i % 9
        ));
    }
    let (gbk, _, _) = encoding_rs::GBK.encode(&zh);
    let dir = p.join("returned");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("320115_returned.csv"), &gbk).unwrap();
    let mut en = String::from("site_id,verdict,handling,reason,responsible,check_date\n");
    for i in 10..19 {
        en.push_str(&format!(
            "S{i:02},{},不处理,复垦,赵六,2024-08-10\n",
            if i % 2 == 0 { "伪变化" } else { "合法" }
        ));
    }
    en.push_str("S10,合法,,,赵六,2024-08-11\nS99,合法,,,赵六,2024-08-11\n");
    std::fs::write(dir.join("320116.csv"), en).unwrap();
    let out = p.join("audit");
    let tasks_csv = p.join("tasks.csv");
    let args = [
        "audit",
        s(&dir),
        "--tasks",
        s(&tasks_csv),
        "--seed",
        "7",
        "--recheck-rate",
        "0.5",
        "--out",
        s(&out),
        "--format",
        "json",
    ];
    let o = minewatch(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let issues = csv_rows(&out.join("audit_issues.csv"));
    let has = |county: &str, file: &str, row: &str, field: &str, code: &str| {
        issues.iter().any(|i| {
            i["county_code"] == county
                && i["file"] == file
                && i["row"] == row
                && i["field"] == field
                && i["code"] == code
        })
    };
    let f1 = "320115_returned.csv";
    assert!(
        has("320115", f1, "3", "verdict", "outside_licence_legal"),
        "{issues:?}"
    );
    assert!(has(
        "320115",
        f1,
        "4",
        "verdict",
        "false_change_keeps_changing"
    ));
    assert!(has("320115", f1, "5", "handling", "illegal_not_filed"));
    assert!(has("320115", f1, "5", "reason", "no_reason"));
    assert!(has("320115", f1, "6", "verdict", "unknown_verdict"));
    assert!(has("320116", "320116.csv", "11", "site_id", "duplicate_id"));
    assert!(has("320116", "320116.csv", "12", "site_id", "unknown_id"));
    assert!(issues.iter().any(|i| i["说明"].contains("越界")));
    let stats = csv_rows(&out.join("county_stats.csv"));
    let c15 = stats.iter().find(|r| r["county_code"] == "320115").unwrap();
    assert_eq!(
        (c15["tasks"].as_str(), c15["valid_verdicts"].as_str()),
        ("10", "9")
    );
    // S19 was never returned.
    let nr = csv_rows(&out.join("not_returned.csv"));
    assert_eq!(nr.len(), 1);
    assert_eq!(nr[0]["site_id"], "S19");
    // Re-check half of each county × verdict; then say every sampled 合法 in 320116 was wrong.
    let rs = csv_rows(&out.join("recheck_sample.csv"));
    assert!(!rs.is_empty());
    let mut res = String::from("site_id,recheck_verdict\n");
    for r in &rs {
        let wrong = r["county_code"] == "320116" && r["county_verdict"] == "legal";
        let v = match (wrong, r["county_verdict"].as_str()) {
            (true, _) => "违法",
            (_, "legal") => "合法",
            (_, "illegal") => "违法",
            _ => "伪变化",
        };
        res.push_str(&format!("{},{v}\n", r["site_id"]));
    }
    std::fs::write(p.join("recheck.csv"), res).unwrap();
    let out2 = p.join("audit2");
    let mut args2 = args.to_vec();
    let pos = args2.iter().position(|a| *a == s(&out)).unwrap();
    args2[pos] = s(&out2);
    let rc = p.join("recheck.csv");
    args2.extend(["--recheck", s(&rc)]);
    let o = minewatch(&args2);
    assert!(o.status.success(), "{}", stderr(&o));
    // Same seed, same tables: the same re-check sample.
    assert_eq!(
        std::fs::read(out.join("recheck_sample.csv")).unwrap(),
        std::fs::read(out2.join("recheck_sample.csv")).unwrap()
    );
    let mis = csv_rows(&out2.join("misjudgement.csv"));
    let m15 = mis.iter().find(|r| r["county_code"] == "320115").unwrap();
    assert_eq!(m15["misjudgement_rate"], "0");
    let m16 = mis.iter().find(|r| r["county_code"] == "320116").unwrap();
    let rate: f64 = m16["misjudgement_rate"].parse().unwrap();
    // 320116 valid verdicts: 5 伪变化 (S10 … S18 even) and 4 合法: all 合法 wrong → 4/9.
    assert!((rate - 4.0 / 9.0).abs() < 1e-4, "{rate}");
    let (lo, hi): (f64, f64) = (
        m16["ci95_low"].parse().unwrap(),
        m16["ci95_high"].parse().unwrap(),
    );
    assert!(lo <= rate && rate <= hi);

    // A table without a verdict column: exit 1 naming the file and nothing written.
    std::fs::write(dir.join("320117.csv"), "site_id,remark\nS01,x\n").unwrap();
    let out3 = p.join("audit3");
    let mut args3 = args.to_vec();
    let pos = args3.iter().position(|a| *a == s(&out)).unwrap();
    args3[pos] = s(&out3);
    let o = minewatch(&args3);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("320117.csv") && stderr(&o).contains("核查结果"),
        "{}",
        stderr(&o)
    );
    assert!(!out3.join("audit_issues.csv").exists());
}

/// A county may return its table as a GeoPackage (the package's tasks.gpkg, filled in
/// QGIS): read the same way, rows counted by feature.
#[test]
fn audit_reads_a_returned_geopackage() {
    use gdal::vector::{Feature, LayerAccess, LayerOptions, OGRFieldType, OGRwkbGeometryType};
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::write(
        p.join("tasks.csv"),
        "site_id,county_code,licence_status,multi_year_change,criminal_referral_candidate\nS1,320115,partly_outside,0,0\nS2,320115,outside_all_rights,0,0\n",
    )
    .unwrap();
    let gpkg = p.join("320115_returned.gpkg");
    {
        let drv = gdal::DriverManager::get_driver_by_name("GPKG").unwrap();
        let mut ds = drv.create_vector_only(&gpkg).unwrap();
        let l = ds
            .create_layer(LayerOptions {
                name: "tasks",
                srs: None,
                ty: OGRwkbGeometryType::wkbNone,
                options: None,
            })
            .unwrap();
        l.create_defn_fields(&[
            ("图斑地块编号", OGRFieldType::OFTString),
            ("核查结果", OGRFieldType::OFTString),
            ("处理方式", OGRFieldType::OFTString),
            ("核查责任人", OGRFieldType::OFTString),
        ])
        .unwrap();
        for (id, v, h) in [("S1", "合法", ""), ("S2", "违法", "立案")] {
            let mut f = Feature::new(l.defn()).unwrap();
            f.set_field_string(0, id).unwrap();
            f.set_field_string(1, v).unwrap();
            f.set_field_string(2, h).unwrap();
            f.set_field_string(3, "王五").unwrap();
            f.create(&l).unwrap();
        }
    }
    let out = p.join("a");
    let (tasks, g) = (p.join("tasks.csv"), gpkg.clone());
    let o = minewatch(&[
        "audit",
        s(&g),
        "--tasks",
        s(&tasks),
        "--seed",
        "1",
        "--out",
        s(&out),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let issues = csv_rows(&out.join("audit_issues.csv"));
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(
        (
            issues[0]["file"].as_str(),
            issues[0]["row"].as_str(),
            issues[0]["code"].as_str()
        ),
        ("320115_returned.gpkg", "1", "outside_licence_legal")
    );
    let stats = csv_rows(&out.join("county_stats.csv"));
    assert_eq!(
        (
            stats[0]["valid_verdicts"].as_str(),
            stats[0]["filed"].as_str()
        ),
        ("2", "1")
    );
}
