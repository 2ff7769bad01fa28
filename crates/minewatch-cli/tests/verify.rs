//! `minewatch sample` and `minewatch audit`: the committed expected sample (exact
//! reproducibility), order independence, and an audit of returned county tables with
//! every problem named, a re-check sample and misjudgement rates; regressions of the
//! sampling / audit review (strata never drawn, incomplete re-checks, the two id headers
//! of `rank --header zh`, messages naming only `tasks.csv`, `--p`, input hashes).

mod common;
use common::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// sha256 of a file by coreutils' sha256sum: an outside reference for the manifests.
fn sha256sum(p: &Path) -> String {
    let o = Command::new("sha256sum")
        .arg(p)
        .output()
        .expect("sha256sum");
    assert!(o.status.success());
    String::from_utf8(o.stdout).unwrap()[..64].to_string()
}

/// The manifest's record of `p` among its `inputs` has p's size and sha256.
fn assert_hashed(m: &serde_json::Value, p: &Path) {
    let rec = m["inputs"]
        .as_array()
        .unwrap_or_else(|| panic!("no inputs in {m}"))
        .iter()
        .find(|r| r["path"].as_str() == Some(s(p)))
        .unwrap_or_else(|| panic!("{} not in {}", p.display(), m["inputs"]));
    assert_eq!(
        rec["bytes"].as_u64(),
        Some(std::fs::metadata(p).unwrap().len())
    );
    assert_eq!(rec["sha256"].as_str(), Some(sha256sum(p).as_str()));
}

fn json(p: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

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

/// Two tasks of county 320115 (S1 partly outside its licence, S2 unlicensed).
const TWO_TASKS: &str = "site_id,county_code,licence_status,multi_year_change,criminal_referral_candidate\nS1,320115,partly_outside,0,0\nS2,320115,outside_all_rights,0,0\n";

/// A returned form as a GDAL table (GeoPackage, XLSX…) with Chinese headers, all text:
/// S1 合法, S2 违法 (无证开采) / 立案, checked by 王五 on 2024-08-01.
fn write_form(path: &Path, driver: &str, layer: &str) {
    use gdal::vector::{Feature, LayerAccess, LayerOptions, OGRFieldType, OGRwkbGeometryType};
    let drv = gdal::DriverManager::get_driver_by_name(driver).unwrap();
    let mut ds = drv.create_vector_only(path).unwrap();
    let l = ds
        .create_layer(LayerOptions {
            name: layer,
            srs: None,
            ty: OGRwkbGeometryType::wkbNone,
            options: None,
        })
        .unwrap();
    let cols = [
        "图斑地块编号",
        "核查结果",
        "违法类型",
        "处理方式",
        "核查责任人",
        "核查日期",
    ];
    let defs: Vec<(&str, OGRFieldType::Type)> =
        cols.iter().map(|c| (*c, OGRFieldType::OFTString)).collect();
    l.create_defn_fields(&defs).unwrap();
    for row in [
        ["S1", "合法", "", "", "王五", "2024-08-01"],
        ["S2", "违法", "无证开采", "立案", "王五", "2024-08-01"],
    ] {
        let mut f = Feature::new(l.defn()).unwrap();
        for (k, v) in row.iter().enumerate() {
            f.set_field_string(k, v).unwrap();
        }
        f.create(&l).unwrap();
    }
}

/// [`TWO_TASKS`] and then the task rows `more` as `p/tasks.csv`.
fn tasks_and(p: &Path, more: &str) -> PathBuf {
    let tasks = p.join("tasks.csv");
    std::fs::write(&tasks, format!("{TWO_TASKS}{more}")).unwrap();
    tasks
}

/// A fresh folder with [`TWO_TASKS`] as `tasks.csv` and county 320115's form
/// (site_id, verdict, violation_type, handling, responsible) with the rows `rows` as
/// `320115_返回.csv`:
/// (folder, tasks, form).
fn two_tasks_returned(rows: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let tasks = tasks_and(d.path(), "");
    let f = d.path().join("320115_返回.csv");
    std::fs::write(
        &f,
        format!("site_id,verdict,violation_type,handling,responsible\n{rows}"),
    )
    .unwrap();
    (d, tasks, f)
}

/// `minewatch sample INPUT --seed 1 --out OUT DESIGN…`.
fn sample_seed1(input: &Path, out: &Path, design: &[&str]) -> std::process::Output {
    let mut args = vec!["sample", s(input), "--seed", "1", "--out", s(out)];
    args.extend(design);
    minewatch(&args)
}

/// `minewatch audit RETURNED… --tasks TASKS --seed 1 --out OUT`.
fn audit_seed1(returned: &[&Path], tasks: &Path, out: &Path) -> std::process::Output {
    let mut args: Vec<&str> = vec!["audit"];
    args.extend(returned.iter().map(|p| s(p)));
    args.extend(["--tasks", s(tasks), "--seed", "1", "--out", s(out)]);
    minewatch(&args)
}

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
    assert_hashed(&m, &input);
}

/// CSV injection: sample.csv is for Excel, so a copied text that Excel would run as a
/// formula gets a leading `'` (numbers, negative ones too, do not); a cell that a CSV of
/// ours quoted reads back without it (not quoted twice); and an empty stratum cell is
/// `(blank)`, not `-`, which made `-|high` a formula.
#[test]
fn sample_quotes_formula_like_text_once_and_names_a_blank_stratum() {
    let d = tempfile::tempdir().unwrap();
    let input = d.path().join("tasks.csv");
    std::fs::write(
        &input,
        "site_id,county_code,priority_class,note,delta\n\
         S1,,high,\"'=HYPERLINK(\"\"http://x\"\")\",-3\n\
         S2,320115,high,-,-4.5\n",
    )
    .unwrap();
    let out = d.path().join("s");
    let o = minewatch(&[
        "sample",
        s(&input),
        "--seed",
        "1",
        "--rate",
        "1",
        "--strata",
        "county_code,priority_class",
        "--out",
        s(&out),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows: BTreeMap<String, BTreeMap<String, String>> = csv_rows(&out.join("sample.csv"))
        .into_iter()
        .map(|r| (r["unit_id"].clone(), r))
        .collect();
    assert_eq!(rows["S1"]["stratum"], "(blank)|high");
    assert_eq!(rows["S1"]["note"], r#"'=HYPERLINK("http://x")"#);
    assert_eq!(rows["S1"]["delta"], "-3");
    assert_eq!(rows["S2"]["stratum"], "320115|high");
    assert_eq!(rows["S2"]["note"], "'-");
    assert_eq!(rows["S2"]["delta"], "-4.5");
}

/// Review finding 1: ten counties of three sites at 10 % drew the first three counties only
/// (ties of the largest remainders went to the lowest keys), whatever the seed.
#[test]
fn a_rate_samples_every_stratum() {
    let d = tempfile::tempdir().unwrap();
    let mut t = String::from("site_id,county_code\n");
    for c in 0..10 {
        for i in 0..3 {
            t.push_str(&format!("S{c}{i},3201{c:02}\n"));
        }
    }
    let input = d.path().join("tasks.csv");
    std::fs::write(&input, t).unwrap();
    for seed in ["1", "2"] {
        let out = d.path().join(seed);
        let o = minewatch(&[
            "sample",
            s(&input),
            "--seed",
            seed,
            "--rate",
            "0.1",
            "--strata",
            "county_code",
            "--out",
            s(&out),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let picks = csv_rows(&out.join("sample.csv"));
        let counties: std::collections::BTreeSet<&str> =
            picks.iter().map(|r| r["county_code"].as_str()).collect();
        assert_eq!((picks.len(), counties.len()), (10, 10), "{picks:?}");
        assert!(picks
            .iter()
            .all(|r| r["inclusion_probability"] == "0.333333333"));
    }
}

/// Session 11 review: an empty returned file was answered "no `site_id` column …; it has: "
/// with a blank list.
#[test]
fn audit_says_a_returned_file_is_empty() {
    let d = tempfile::tempdir().unwrap();
    let empty = d.path().join("returned.csv");
    std::fs::write(&empty, "").unwrap();
    let tasks = d.path().join("tasks.csv");
    std::fs::write(
        &tasks,
        "site_id,county_code,licence_status\nS00,320115,inside\n",
    )
    .unwrap();
    let o = minewatch(&[
        "audit",
        s(&empty),
        "--tasks",
        s(&tasks),
        "--seed",
        "1",
        "--out",
        s(&d.path().join("a")),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("returned.csv"), "{}", stderr(&o));
    assert!(
        !stderr(&o).trim_end().ends_with("it has:"),
        "{}",
        stderr(&o)
    );
}

/// Session 11 review: `--count 0` wrote an empty sample with exit 0, while `--rate 0` was refused.
#[test]
fn sample_refuses_a_count_of_zero() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("s");
    let o = minewatch(&[
        "sample",
        s(&fixture("verify/tasks_60.csv")),
        "--seed",
        "1",
        "--count",
        "0",
        "--out",
        s(&out),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--count 0: draw at least one task"),
        "{}",
        stderr(&o)
    );
    assert!(!out.join("sample.csv").exists());
}

/// Known since session 11: `--count` above the pool was drawn as the whole pool with only
/// the report's size line to tell; now a warning and a manifest note, and still exit 0.
#[test]
fn sample_says_when_a_count_takes_the_whole_pool() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("s");
    let input = fixture("verify/tasks_60.csv");
    let o = minewatch(&[
        "sample",
        s(&input),
        "--seed",
        "1",
        "--count",
        "500",
        "--out",
        s(&out),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = std::fs::read_to_string(out.join("sample.csv"))
        .unwrap()
        .lines()
        .count()
        - 1;
    assert_eq!(rows, 60, "the whole pool is drawn");
    assert!(
        stderr(&o).contains("--count 500 asks more than the 60 tasks left"),
        "{}",
        stderr(&o)
    );
    let m = json(&out.join("sample_manifest.json"));
    assert!(m["notes"][0].as_str().unwrap().contains("census"), "{m}");
    // A count the pool can give carries no note.
    let out2 = d.path().join("s2");
    let o = minewatch(&[
        "sample",
        s(&input),
        "--seed",
        "1",
        "--count",
        "60",
        "--out",
        s(&out2),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
    assert_eq!(
        json(&out2.join("sample_manifest.json"))["notes"],
        serde_json::json!([])
    );
}

/// Review finding 5: `--p` was not checked; 1.5 or 0 ran and exited 0.
#[test]
fn sample_refuses_a_prior_p_outside_0_and_1() {
    let d = tempfile::tempdir().unwrap();
    let input = fixture("verify/tasks_60.csv");
    for p in ["1.5", "0", "1"] {
        let out = d.path().join(format!("s{p}"));
        let o = minewatch(&[
            "sample",
            s(&input),
            "--seed",
            "1",
            "--proportion",
            "--p",
            p,
            "--out",
            s(&out),
        ]);
        assert_eq!(o.status.code(), Some(1), "--p {p}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!("--p {p}")) && stderr(&o).contains("between 0 and 1"),
            "{}",
            stderr(&o)
        );
        assert!(!out.join("sample.csv").exists());
    }
    let out = d.path().join("ok");
    let o = minewatch(&[
        "sample",
        s(&input),
        "--seed",
        "1",
        "--proportion",
        "--p",
        "0.2",
        "--out",
        s(&out),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
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
        // Only a 违法 verdict names a violation type (F1: 合法 with one is sent back).
        let kind = if v == "违法" { "无证开采" } else { "" };
        zh.push_str(&format!(
            "S{i:02},{v},{kind},{h},{why},王五,2024-08-0{},P{i}\n",
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
    // S10 again as it was: a duplicate (another verdict would be a conflict, and so would
    // another handling or date since review 22 B F2: conflicting_handling).
    en.push_str("S10,伪变化,不处理,复垦,赵六,2024-08-10\nS99,合法,,,赵六,2024-08-11\n");
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
    // Files are named by their path as given (here the folder joined with the name).
    let f1 = dir.join("320115_returned.csv");
    let f1 = s(&f1);
    let f2 = dir.join("320116.csv");
    let f2 = s(&f2);
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
    assert!(has("320116", f2, "11", "site_id", "duplicate_id"));
    assert!(has("320116", f2, "12", "site_id", "unknown_id"));
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
    // Same seed, same tables: the same re-check sample, now with the results carried
    // over into its recheck_verdict column (session 22).
    let picks = |o: &Path| {
        csv_rows(&o.join("recheck_sample.csv"))
            .into_iter()
            .map(|mut r| (r.remove("recheck_verdict").unwrap(), r))
            .collect::<Vec<_>>()
    };
    let (before, after) = (picks(&out), picks(&out2));
    assert_eq!(
        before.iter().map(|x| &x.1).collect::<Vec<_>>(),
        after.iter().map(|x| &x.1).collect::<Vec<_>>()
    );
    assert!(before.iter().all(|x| x.0.is_empty()));
    assert!(after.iter().all(|x| !x.0.is_empty()), "{after:?}");
    let mis = csv_rows(&out2.join("misjudgement.csv"));
    let m15 = mis.iter().find(|r| r["county_code"] == "320115").unwrap();
    assert_eq!(m15["misjudgement_rate"], "0");
    // Every re-check agreed: that is no proof of a zero rate (Wilson, not [0, 0]).
    let hi15: f64 = m15["ci95_high"].parse().unwrap();
    assert!(hi15 > 0.05, "{m15:?}");
    assert!(mis
        .iter()
        .all(|m| m["complete"] == "yes" && m["missing"] == "0"));
    assert!(csv_rows(&out2.join("recheck_missing.csv")).is_empty());
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
/// QGIS): read the same way, rows counted by feature. A county that opens its form in
/// Excel and saves it returns an .xlsx: GDAL 3.6 took an all-text sheet's header row for
/// data (columns Field1…), so the form was refused, and a folder skipped it as "no
/// returned tables". Now the first row is the header, cells are text, and messages give
/// the row Excel shows.
#[test]
fn audit_reads_forms_saved_as_geopackage_or_xlsx_alone_and_in_a_folder() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::write(p.join("tasks.csv"), TWO_TASKS).unwrap();
    let tasks = p.join("tasks.csv");
    // (driver, file, the row S1 is reported on: a feature number, or the sheet's row as
    // Excel numbers it, row 1 being the header)
    for (driver, name, row) in [
        ("GPKG", "320115_returned.gpkg", "1"),
        ("XLSX", "320115.xlsx", "2"),
    ] {
        let dir = p.join(driver);
        std::fs::create_dir(&dir).unwrap();
        let form = dir.join(name);
        write_form(&form, driver, "320115");
        for (given, out) in [(&form, dir.join("a")), (&dir, dir.join("b"))] {
            let o = audit_seed1(&[given], &tasks, &out);
            assert!(o.status.success(), "{driver}: {}", stderr(&o));
            let issues = csv_rows(&out.join("audit_issues.csv"));
            assert_eq!(issues.len(), 1, "{driver}: {issues:?}");
            assert_eq!(
                (
                    issues[0]["file"].as_str(),
                    issues[0]["row"].as_str(),
                    issues[0]["code"].as_str()
                ),
                (s(&form), row, "outside_licence_legal"),
                "{driver}"
            );
            let stats = csv_rows(&out.join("county_stats.csv"));
            assert_eq!(
                (
                    stats[0]["valid_verdicts"].as_str(),
                    stats[0]["filed"].as_str()
                ),
                ("2", "1"),
                "{driver}"
            );
        }
    }
}

/// Review finding 2: re-check picks without a result were ignored without a word, and the
/// county's weights recomputed over the strata that came back.
#[test]
fn audit_lists_recheck_picks_without_a_result() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let mut tasks = String::from("site_id,county_code,licence_status\n");
    let mut ret = String::from("site_id,verdict,handling,reason,responsible\n");
    for i in 0..40 {
        let c = if i < 20 { "320115" } else { "320116" };
        tasks.push_str(&format!("S{i:02},{c},inside\n"));
        // Both counties: half 合法, half 伪变化.
        let (v, why) = if i % 2 == 0 {
            ("合法", "有证")
        } else {
            ("伪变化", "大棚")
        };
        ret.push_str(&format!("S{i:02},{v},不处理,{why},王五\n"));
    }
    let (tasks_csv, ret_csv) = (p.join("tasks.csv"), p.join("returned.csv"));
    std::fs::write(&tasks_csv, tasks).unwrap();
    std::fs::write(&ret_csv, ret).unwrap();
    let run = |out: &Path, recheck: Option<&Path>| {
        let mut a = vec![
            "audit",
            s(&ret_csv),
            "--tasks",
            s(&tasks_csv),
            "--seed",
            "3",
            "--recheck-rate",
            "0.3",
            "--out",
            s(out),
            "--format",
            "json",
        ];
        if let Some(r) = recheck {
            a.extend(["--recheck", s(r)]);
        }
        minewatch(&a)
    };
    let out = p.join("a");
    assert!(run(&out, None).status.success());
    let rs = csv_rows(&out.join("recheck_sample.csv"));
    // 320115 returns every re-check but finds nothing wrong; 320116 returns only its 合法
    // picks but one, and no 伪变化 pick at all.
    let mut res = String::from("site_id,recheck_verdict\n");
    let mut dropped = Vec::new();
    let mut kept_legal_16 = 0;
    for r in &rs {
        let keep = r["county_code"] == "320115"
            || (r["county_verdict"] == "legal" && {
                kept_legal_16 += 1;
                kept_legal_16 > 1
            });
        if keep {
            res.push_str(&format!("{},{}\n", r["site_id"], r["county_verdict"]));
        } else {
            // A pick not checked yet is left out of the file or has its row with a blank
            // verdict (a form filled in part): both are "no result yet".
            if dropped.is_empty() {
                res.push_str(&format!("{},\n", r["site_id"]));
            }
            dropped.push(r["site_id"].clone());
        }
    }
    dropped.sort();
    assert!(dropped.len() >= 2, "{rs:?}");
    let rc = p.join("recheck.csv");
    std::fs::write(&rc, res).unwrap();
    let out2 = p.join("b");
    let o = run(&out2, Some(&rc));
    // Partial results are a normal interim state: the run succeeds and says what is missing.
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("recheck_missing.csv"), "{}", stderr(&o));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["recheck_missing"], dropped.len());
    assert_eq!(summary["recheck_complete"], false);
    let mut listed: Vec<String> = csv_rows(&out2.join("recheck_missing.csv"))
        .iter()
        .map(|r| {
            assert_eq!(r["county_code"], "320116");
            r["site_id"].clone()
        })
        .collect();
    listed.sort();
    assert_eq!(listed, dropped);
    let mis = csv_rows(&out2.join("misjudgement.csv"));
    let m15 = mis.iter().find(|r| r["county_code"] == "320115").unwrap();
    assert_eq!(
        (m15["complete"].as_str(), m15["missing"].as_str()),
        ("yes", "0")
    );
    // 320116: its 伪变化 half is unknown, so no rate (not 0 over the 合法 half), and the
    // interval reaches at least that half's weight.
    let m16 = mis.iter().find(|r| r["county_code"] == "320116").unwrap();
    assert_eq!(m16["complete"], "no");
    assert_eq!(m16["misjudgement_rate"], "", "{m16:?}");
    let hi: f64 = m16["ci95_high"].parse().unwrap();
    assert!(hi >= 0.5, "{m16:?}");
    let m = json(&out2.join("audit_manifest.json"));
    assert_eq!(m["recheck"]["complete"], false);
    let mut in_manifest: Vec<String> = m["recheck"]["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    in_manifest.sort();
    assert_eq!(in_manifest, dropped);
    // Review finding 6: every input with its size and sha256.
    for f in [&tasks_csv, &ret_csv, &rc] {
        assert_hashed(&m, f);
    }
}

/// Review finding 4: every county package form is called tasks.csv, so messages must name
/// the path, including the other row of a duplicate.
#[test]
fn audit_names_the_path_of_each_county_form() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::write(
        p.join("tasks.csv"),
        "site_id,county_code,licence_status\nS1,320115,inside\nS2,320115,inside\n",
    )
    .unwrap();
    // Two forms of one county (a row of another county's form would be `wrong_county`).
    let (a, b) = (p.join("320115_南京"), p.join("320115_补报"));
    std::fs::create_dir(&a).unwrap();
    std::fs::create_dir(&b).unwrap();
    std::fs::write(
        a.join("tasks.csv"),
        "图斑地块编号,核查结果,核查责任人\nS1,合法,王五\n",
    )
    .unwrap();
    std::fs::write(
        b.join("tasks.csv"),
        "图斑地块编号,核查结果,核查责任人\nS2,合法,赵六\nS1,合法,赵六\n",
    )
    .unwrap();
    let (fa, fb, tasks) = (
        a.join("tasks.csv"),
        b.join("tasks.csv"),
        p.join("tasks.csv"),
    );
    let out = p.join("out");
    let o = audit_seed1(&[&fa, &fb], &tasks, &out);
    assert!(o.status.success(), "{}", stderr(&o));
    let issues = csv_rows(&out.join("audit_issues.csv"));
    let dup = issues.iter().find(|i| i["code"] == "duplicate_id").unwrap();
    assert_eq!((dup["file"].as_str(), dup["row"].as_str()), (s(&fb), "3"));
    assert!(
        dup["message"].contains(&format!("also {} row 2", fa.display())),
        "{dup:?}"
    );
    assert!(dup["说明"].contains(s(&fa)), "{dup:?}");
    // A missing column names the path too.
    std::fs::write(b.join("tasks.csv"), "图斑地块编号,备注\nS2,x\n").unwrap();
    let o = minewatch(&[
        "audit",
        s(&fa),
        s(&fb),
        "--tasks",
        s(&tasks),
        "--seed",
        "1",
        "--out",
        s(&p.join("out2")),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains(s(&fb)), "{}", stderr(&o));
}

/// Review finding 3: `rank --header zh` writes 图斑地块编号 (site_id) and 图斑编号
/// (patch_ids); both read as the site id and the later won, so every row was `unknown_id`.
#[test]
fn audit_reads_a_table_written_by_rank_header_zh() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let (rk, _) = nanjing_chain(p, &["--header", "zh"]);
    // The county fills in the verdict and the responsible person beside rank's columns.
    let text = std::fs::read_to_string(rk.join("tasks.csv")).unwrap();
    let text = text.trim_start_matches('\u{feff}');
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let head: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    assert!(head.iter().any(|h| h == "图斑地块编号") && head.iter().any(|h| h == "图斑编号"));
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut h2 = head.clone();
    h2.extend(["核查结果", "理由说明", "核查责任人"].map(String::from));
    w.write_record(&h2).unwrap();
    let mut n = 0;
    for rec in r.records() {
        let mut v: Vec<String> = rec.unwrap().iter().map(String::from).collect();
        v.extend(["伪变化", "大棚", "王五"].map(String::from));
        w.write_record(&v).unwrap();
        n += 1;
    }
    assert!(n > 0);
    let filled = p.join("filled.csv");
    std::fs::write(&filled, w.into_inner().unwrap()).unwrap();
    let out = p.join("audit");
    let o = minewatch(&[
        "audit",
        s(&filled),
        "--tasks",
        s(&rk),
        "--seed",
        "1",
        "--out",
        s(&out),
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["valid_verdicts"], n, "{summary}");
    assert_eq!(summary["not_returned"], 0);
    let issues = csv_rows(&out.join("audit_issues.csv"));
    assert!(
        issues.iter().all(|i| i["code"] != "unknown_id"),
        "{issues:?}"
    );
    // Any other two headers of one field are refused, naming the file and both columns.
    let bad = p.join("bad.csv");
    std::fs::write(&bad, "site_id,图斑地块编号,核查结果\nS1,S1,合法\n").unwrap();
    let o = minewatch(&[
        "audit",
        s(&bad),
        "--tasks",
        s(&rk),
        "--seed",
        "1",
        "--out",
        s(&p.join("audit_bad")),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains(s(&bad)) && e.contains("`site_id`") && e.contains("`图斑地块编号`"),
        "{e}"
    );

    // Review finding: the zh tasks.csv itself was refused by `audit --tasks` ("no column
    // site_id") and `sample` needed --id-column. Its Chinese headers read as rank's English.
    let zh_tasks = rk.join("tasks.csv");
    let sum = audit_json(&[&filled], &zh_tasks, &p.join("audit_zh"));
    assert_eq!(sum["valid_verdicts"], n, "{sum}");
    assert_eq!(sum["not_returned"], 0, "{sum}");
    for (strata, must, tag) in [
        (
            "county_code,priority_class",
            "provincial_field_check_required",
            "en",
        ),
        ("县级代码,优先级", "需省级实地核查", "zh"),
    ] {
        let out = p.join(format!("sample_{tag}"));
        let o = sample_seed1(
            &zh_tasks,
            &out,
            &["--count", "3", "--strata", strata, "--must", must],
        );
        assert!(o.status.success(), "{tag}: {}", stderr(&o));
        let rows = csv_rows(&out.join("sample.csv"));
        assert!(!rows.is_empty(), "{tag}");
        // sample.csv keeps the table's own headers beside its unit columns.
        assert!(rows[0].contains_key("图斑地块编号"), "{tag}: {:?}", rows[0]);
        assert!(
            rows.iter().all(|r| r["unit_id"] == r["图斑地块编号"]),
            "{tag}: {rows:?}"
        );
    }
    // Review finding (session 14): the help said a rank folder is read through its
    // tasks.csv, the guide that sample.csv keeps the original headers. The folder's
    // tasks.gpkg is read, English whatever `--header`: an edit to tasks.csv is not seen,
    // and sample.csv has English headers; the tasks.csv itself keeps them Chinese (above).
    let edited = std::fs::read_to_string(&zh_tasks)
        .unwrap()
        .replacen(",high,", ",EDITED,", 1);
    std::fs::write(&zh_tasks, edited).unwrap();
    let out = p.join("sample_folder");
    let o = sample_seed1(&rk, &out, &["--rate", "1", "--strata", "优先级"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = csv_rows(&out.join("sample.csv"));
    assert!(
        rows[0].contains_key("site_id") && !rows[0].contains_key("图斑地块编号"),
        "{:?}",
        rows[0]
    );
    assert!(rows.iter().all(|r| r["priority_class"] != "EDITED"));
    let rep = std::fs::read_to_string(out.join("sample_report.txt")).unwrap();
    assert!(rep.contains(s(&rk.join("tasks.gpkg"))), "{rep}");
    // And the help (docs/cli.md) says so.
    for cmd in ["sample", "audit"] {
        let help = String::from_utf8(minewatch(&[cmd, "--help"]).stdout).unwrap();
        let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            help.contains("of which tasks.gpkg is read") && !help.contains("(its tasks.csv)"),
            "{cmd}: {help}"
        );
    }
}

/// Review finding: a county package folder holds its form twice (`tasks.csv` and
/// `tasks.gpkg`), and the audit read both — every verdict counted twice (`duplicate_id`),
/// or the empty CSV's rows reported `missing_verdict` when the county filled in the
/// GeoPackage in QGIS; the same file given twice was read twice. Now the copy holding the
/// verdicts is read, two filled copies are exit 1 naming both, and a file counts once.
#[test]
fn audit_reads_the_filled_copy_of_a_package_form_and_each_file_once() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let (rk, [a, b]) = nanjing_chain(p, &[]);
    let pkg = p.join("pkg");
    let o = minewatch(&[
        "package",
        s(&rk),
        "--imagery",
        s(&a),
        s(&b),
        "--out",
        s(&pkg),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // The folder as the county sends it back (chips and page beside the two tables).
    let ret = p.join("returned");
    std::fs::create_dir(&ret).unwrap();
    for f in ["tasks.csv", "tasks.gpkg", "tasks.geojson", "index.html"] {
        std::fs::copy(pkg.join("320000_江苏省").join(f), ret.join(f)).unwrap();
    }
    let n = csv_rows(&rk.join("tasks.csv")).len();
    let audit = |returned: &[&Path], out: &str| {
        let mut args = vec!["audit"];
        args.extend(returned.iter().map(|r| s(r)));
        let out = p.join(out);
        args.extend([
            "--tasks",
            s(&rk),
            "--seed",
            "1",
            "--format",
            "json",
            "--out",
        ]);
        args.push(s(&out));
        let o = minewatch(&args);
        (o, out)
    };
    let codes = |out: &Path, code: &str| {
        csv_rows(&out.join("audit_issues.csv"))
            .into_iter()
            .filter(|i| i["code"] == code)
            .collect::<Vec<_>>()
    };
    // Nothing filled in: one copy read, every task once without a verdict.
    let (o, out) = audit(&[&ret], "empty");
    assert!(o.status.success(), "{}", stderr(&o));
    let sum: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(sum["returned_rows"].as_u64(), Some(n as u64), "{sum}");
    assert!(codes(&out, "duplicate_id").is_empty());
    assert_eq!(codes(&out, "missing_verdict").len(), n);

    // Filled in QGIS: the GeoPackage's verdicts are read, the empty CSV is not.
    let ds = gdal::Dataset::open_ex(
        ret.join("tasks.gpkg"),
        gdal::DatasetOptions {
            open_flags: gdal::GdalOpenFlags::GDAL_OF_UPDATE | gdal::GdalOpenFlags::GDAL_OF_VECTOR,
            ..Default::default()
        },
    )
    .unwrap();
    ds.execute_sql(
        "UPDATE tasks SET verdict = '伪变化', reason = '大棚', responsible = '王五'",
        None,
        gdal::vector::sql::Dialect::DEFAULT,
    )
    .unwrap();
    drop(ds);
    let (o, out) = audit(&[&ret], "gpkg");
    assert!(o.status.success(), "{}", stderr(&o));
    let sum: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(sum["returned_rows"].as_u64(), Some(n as u64), "{sum}");
    assert_eq!(sum["valid_verdicts"].as_u64(), Some(n as u64), "{sum}");
    assert!(codes(&out, "duplicate_id").is_empty());
    assert!(codes(&out, "missing_verdict").is_empty());
    assert!(
        stderr(&o).contains("tasks.gpkg holds the verdicts"),
        "{}",
        stderr(&o)
    );
    let m = json(&out.join("audit_manifest.json"));
    assert_eq!(
        m["returned"],
        serde_json::json!([s(&ret.join("tasks.gpkg"))]),
        "only the filled copy is an input"
    );

    // Filled in both: which one is meant is the user's to say.
    let text = std::fs::read_to_string(ret.join("tasks.csv")).unwrap();
    let mut r = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let head: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let v = head.iter().position(|h| h == "核查结果").unwrap();
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&head).unwrap();
    for rec in r.records() {
        let mut row: Vec<String> = rec.unwrap().iter().map(String::from).collect();
        row[v] = "伪变化".into();
        w.write_record(&row).unwrap();
    }
    std::fs::write(ret.join("tasks.csv"), w.into_inner().unwrap()).unwrap();
    let (o, out) = audit(&[&ret], "both");
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(
        e.contains(s(&ret.join("tasks.csv"))) && e.contains(s(&ret.join("tasks.gpkg"))),
        "{e}"
    );
    assert!(e.contains("say which"), "{e}");
    assert!(!out.join("audit_manifest.json").exists());

    // One file given as itself and inside its folder counts once.
    let good = p.join("good");
    std::fs::create_dir(&good).unwrap();
    std::fs::copy(ret.join("tasks.csv"), good.join("tasks.csv")).unwrap();
    let (o, out) = audit(&[&good, &good.join("tasks.csv")], "twice");
    assert!(o.status.success(), "{}", stderr(&o));
    let sum: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(sum["returned_rows"].as_u64(), Some(n as u64), "{sum}");
    assert!(codes(&out, "duplicate_id").is_empty());
}

/// `audit RETURNED… --tasks TASKS --seed 1 --out OUT --format json`: the summary.
fn audit_json(returned: &[&Path], tasks: &Path, out: &Path) -> serde_json::Value {
    let mut args: Vec<&str> = vec!["audit"];
    args.extend(returned.iter().map(|p| s(p)));
    args.extend([
        "--tasks",
        s(tasks),
        "--seed",
        "1",
        "--out",
        s(out),
        "--format",
        "json",
    ]);
    let o = minewatch(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Review finding: a row without 核查责任人 counted as a valid verdict and as an invalid
/// row ("19 rows returned: 19 valid verdicts, 19 invalid rows"), and was drawn for the
/// re-check. Valid verdicts and invalid rows now add up to the rows returned.
#[test]
fn audit_counts_a_row_without_a_responsible_person_as_invalid_only() {
    let (d, tasks, form) = two_tasks_returned("S1,合法,,,王五\nS2,违法,无证开采,立案,\n");
    let p = d.path();
    let out = p.join("audit");
    let sum = audit_json(&[&form], &tasks, &out);
    assert_eq!(
        (
            &sum["returned_rows"],
            &sum["valid_verdicts"],
            &sum["invalid_rows"]
        ),
        (&2.into(), &1.into(), &1.into()),
        "{sum}"
    );
    let picks = csv_rows(&out.join("recheck_sample.csv"));
    assert!(picks.iter().all(|r| r["site_id"] != "S2"), "{picks:?}");
    let stats = csv_rows(&out.join("county_stats.csv"));
    assert_eq!(
        (
            stats[0]["valid_verdicts"].as_str(),
            stats[0]["illegal"].as_str(),
            stats[0]["invalid_rows"].as_str()
        ),
        ("1", "0", "1")
    );
}

/// Review finding: 320116's form holding only 320111's sites was credited to 320111
/// without a word. The county of a form is known from its file name or its folder (a
/// county package); a row of another county's task there is invalid, naming both.
#[test]
fn audit_names_a_row_of_another_county_in_a_countys_form() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let tasks = tasks_and(p, "S3,320116,outside_all_rights,0,0\n");
    let by_name = p.join("320116_返回.csv");
    let pkg = p.join("320116");
    std::fs::create_dir(&pkg).unwrap();
    let form = "site_id,verdict,violation_type,handling,responsible\nS1,合法,,,王五\nS3,违法,无证开采,立案,王五\n";
    std::fs::write(&by_name, form).unwrap();
    std::fs::write(pkg.join("tasks.csv"), form).unwrap();
    for (f, tag) in [(by_name.clone(), "name"), (pkg.join("tasks.csv"), "folder")] {
        let out = p.join(format!("audit_{tag}"));
        let sum = audit_json(&[&f], &tasks, &out);
        assert_eq!(
            (&sum["valid_verdicts"], &sum["invalid_rows"]),
            (&1.into(), &1.into()),
            "{tag}: {sum}"
        );
        let issues = csv_rows(&out.join("audit_issues.csv"));
        let w: Vec<_> = issues
            .iter()
            .filter(|i| i["code"] == "wrong_county")
            .collect();
        assert_eq!(w.len(), 1, "{tag}: {issues:?}");
        assert_eq!(
            (w[0]["row"].as_str(), w[0]["site_id"].as_str()),
            ("2", "S1")
        );
        assert!(
            w[0]["message"].contains("320115") && w[0]["message"].contains("320116"),
            "{:?}",
            w[0]
        );
        let missing = csv_rows(&out.join("not_returned.csv"));
        assert!(missing.iter().any(|r| r["site_id"] == "S1"), "{missing:?}");
    }
}

/// Review finding: `--count 3 --min-per-stratum 1` over 9 strata drew 9 units while the
/// report said "count 3 → 3 random units", with no warning. The report gives the size
/// drawn, and stderr and the manifest say the minimum raised it.
#[test]
fn sample_says_when_the_minimum_per_stratum_outgrows_the_count() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("s");
    let input = fixture("verify/tasks_60.csv");
    let o = minewatch(&[
        "sample",
        s(&input),
        "--seed",
        "4",
        "--count",
        "3",
        "--strata",
        "county_code,priority_class",
        "--min-per-stratum",
        "1",
        "--out",
        s(&out),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let n = csv_rows(&out.join("sample.csv")).len();
    assert!(n > 3, "{n}");
    let e = stderr(&o);
    assert!(
        e.contains("warning") && e.contains("--min-per-stratum 1") && e.contains(&n.to_string()),
        "{e}"
    );
    let rep = std::fs::read_to_string(out.join("sample_report.txt")).unwrap();
    assert!(
        rep.contains(&format!("count 3 → {n} random units")),
        "{rep}"
    );
    let m = json(&out.join("sample_manifest.json"));
    assert_eq!(m["design"]["random_n"], n, "{m}");
    assert_eq!(m["notes"].as_array().unwrap().len(), 1, "{m}");
}

/// Review finding (session 14): `audit returned/` read `returned/320111_返回.csv` and
/// passed over the county folder `returned/320106_鼓楼区/` beside it without a word (exit
/// 0, all its sites "not returned"); with only folders inside it said "no returned tables
/// given". A given folder's subfolders are read now, each as if given by itself (the
/// filled copy of a package's form; its `chips/` not searched), and what is passed over
/// is said on stderr.
#[test]
fn audit_reads_the_county_folders_inside_a_returned_folder() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let tasks = tasks_and(
        p,
        "S3,320116,inside,0,0\nS4,320116,inside,0,0\nS5,320117,inside,0,0\n",
    );
    let ret = p.join("returned");
    // A county package folder, filled in its CSV, another copy of the form left empty
    // (as a package's tasks.gpkg), chips beside; and further down, a county folder in a
    // prefecture folder: not searched, the prefecture folder named on stderr.
    let pkg = ret.join("320116_栖霞区");
    let deep = ret.join("南京市").join("320117");
    let head = "site_id,verdict,reason,responsible\n";
    for (f, rows) in [
        (
            pkg.join("tasks.csv"),
            "S3,伪变化,大棚,李四\nS4,伪变化,大棚,李四\n",
        ),
        (pkg.join("tasks_copy.csv"), "S3,,,\nS4,,,\n"),
        (pkg.join("chips").join("001_S3_tc.png"), ""),
        (deep.join("tasks.csv"), "S5,伪变化,大棚,王五\n"),
    ] {
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(&f, format!("{head}{rows}")).unwrap();
    }
    // A returned zip (not unpacked), the lock file of a workbook open in Excel, and an
    // earlier audit written into the folder.
    std::fs::write(ret.join("320118_返回.zip"), b"PK").unwrap();
    std::fs::write(ret.join("~$0118_返回.xlsx"), b"lock").unwrap();
    let o = audit_seed1(&[&pkg], &tasks, &ret.join("old_audit"));
    assert!(o.status.success(), "{}", stderr(&o));

    // Only folders in returned/: the county folder is read.
    let out = p.join("only_folders");
    let o = audit_seed1(&[&ret], &tasks, &out);
    let e = stderr(&o);
    assert!(o.status.success(), "{e}");
    let m = json(&out.join("audit_manifest.json"));
    assert_eq!(
        m["returned"],
        serde_json::json!([s(&pkg.join("tasks.csv"))]),
        "{e}"
    );
    assert_eq!(m["summary"]["valid_verdicts"], 2, "{m}");
    for said in [
        s(&pkg.join("tasks.csv")).to_string(),
        format!("not read: {}", s(&ret.join("南京市"))),
        format!("not read: {}", s(&ret.join("320118_返回.zip"))),
        format!("not read: {}", s(&ret.join("~$0118_返回.xlsx"))),
        format!("not read: {}", s(&ret.join("old_audit"))),
    ] {
        assert!(e.contains(&said), "{said}: {e}");
    }
    assert!(!e.contains("chips"), "{e}");

    // Beside a county file: both are read, and each form knows its county.
    std::fs::write(
        ret.join("320115_返回.csv"),
        "site_id,verdict,violation_type,handling,responsible\nS1,违法,无证开采,立案,王五\nS2,违法,越界开采,立案,王五\n",
    )
    .unwrap();
    let out = p.join("both");
    let sum = audit_json(&[&ret], &tasks, &out);
    assert_eq!(
        (&sum["valid_verdicts"], &sum["not_returned"]),
        (&4.into(), &1.into()),
        "{sum}"
    );
    let nr = csv_rows(&out.join("not_returned.csv"));
    assert_eq!(nr[0]["site_id"], "S5", "{nr:?}");
    let stats = csv_rows(&out.join("county_stats.csv"));
    let c16 = stats.iter().find(|r| r["county_code"] == "320116").unwrap();
    assert_eq!(c16["valid_verdicts"], "2", "{stats:?}");

    // Nothing to read anywhere: exit 1, saying where it looked.
    let empty = p.join("empty");
    std::fs::create_dir_all(empty.join("sub")).unwrap();
    let o = audit_seed1(&[&empty], &tasks, &p.join("none"));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(s(&empty)) && stderr(&o).contains("subfolders"),
        "{}",
        stderr(&o)
    );
}

/// Review finding (session 14): 合法 on a site whose licence had expired (the overlay's
/// `expired`) or that lies in an exploration right only (`exploration_only`, 以探代采) was
/// never flagged, though both are mining without a valid licence.
#[test]
fn audit_flags_legal_verdicts_on_every_status_without_a_valid_mining_right() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let tasks = p.join("tasks.csv");
    let statuses = [
        ("inside", ""),
        ("partly_outside", "outside_licence_legal"),
        ("outside_all_rights", "legal_without_licence"),
        ("expired", "legal_licence_expired"),
        ("exploration_only", "legal_exploration_only"),
    ];
    let mut t = String::from("site_id,county_code,licence_status\n");
    let mut form = String::from("site_id,verdict,responsible\n");
    for (i, (st, _)) in statuses.iter().enumerate() {
        t.push_str(&format!("S{i},320115,{st}\n"));
        form.push_str(&format!("S{i},合法,王五\n"));
    }
    std::fs::write(&tasks, t).unwrap();
    let f = p.join("320115_返回.csv");
    std::fs::write(&f, form).unwrap();
    let out = p.join("audit");
    audit_json(&[&f], &tasks, &out);
    let issues = csv_rows(&out.join("audit_issues.csv"));
    for (i, (st, code)) in statuses.iter().enumerate() {
        let got: Vec<&str> = issues
            .iter()
            .filter(|x| x["site_id"] == format!("S{i}"))
            .map(|x| x["code"].as_str())
            .collect();
        let want: Vec<&str> = if code.is_empty() { vec![] } else { vec![code] };
        assert_eq!(got, want, "{st}: {issues:?}");
    }
    let text = |code: &str| {
        let i = issues.iter().find(|x| x["code"] == code).unwrap();
        format!("{} {}", i["message"], i["说明"])
    };
    assert!(text("legal_licence_expired").contains("证过期"));
    assert!(text("legal_exploration_only").contains("以探代采"));
    assert!(text("legal_without_licence").contains("valid on the image date"));
}

/// Review finding (session 14): in a stratum whose units are all mandatory the report gave
/// an inclusion probability of 0.000000 while sample.csv gave each of them 1.
#[test]
fn sample_report_gives_a_mandatory_stratum_probability_one() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let input = p.join("units.csv");
    let mut t = String::from("site_id,county_code,big\n");
    for i in 0..3 {
        t.push_str(&format!("A{i},320115,1\n"));
    }
    for i in 0..4 {
        t.push_str(&format!("B{i},320116,0\n"));
    }
    std::fs::write(&input, t).unwrap();
    let out = p.join("s");
    let o = sample_seed1(
        &input,
        &out,
        &["--rate", "0.5", "--strata", "county_code", "--must", "big"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let picks = csv_rows(&out.join("sample.csv"));
    assert!(picks
        .iter()
        .filter(|r| r["county_code"] == "320115")
        .all(|r| r["inclusion_probability"] == "1"));
    let rep = std::fs::read_to_string(out.join("sample_report.txt")).unwrap();
    let line = |stratum: &str| {
        rep.lines()
            .find(|l| l.starts_with(&format!("{stratum} |")))
            .unwrap_or_else(|| panic!("{stratum}: {rep}"))
            .to_string()
    };
    let a = line("320115");
    assert!(
        a.ends_with("| 1 (all mandatory 全部必选)") && !a.contains("0.000000"),
        "{a}"
    );
    assert!(line("320116").ends_with("| 0.500000"), "{rep}");
}

/// Review finding (session 14): rows of a returned form with a blank verdict count as
/// returned (invalid `missing_verdict`), so their sites are not in not_returned.csv; the
/// summary did not say how many were still unchecked. It does now, on stdout, stderr and
/// per county.
#[test]
fn audit_says_how_many_returned_rows_have_no_verdict_yet() {
    let (d, tasks, form) = two_tasks_returned("S1,,,,\nS2,违法,无证开采,立案,王五\n");
    let p = d.path();
    let out = p.join("audit");
    let o = audit_seed1(&[&form], &tasks, &out);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        text.contains("1 invalid rows (1 without a verdict yet)")
            && text.contains("0 not returned"),
        "{text}"
    );
    assert!(
        stderr(&o).contains("1 of the 2 returned rows have no verdict yet"),
        "{}",
        stderr(&o)
    );
    let stats = csv_rows(&out.join("county_stats.csv"));
    assert_eq!(
        (
            stats[0]["invalid_rows"].as_str(),
            stats[0]["no_verdict"].as_str()
        ),
        ("1", "1")
    );
    let sum = audit_json(&[&form], &tasks, &p.join("audit_json"));
    assert_eq!(sum["rows_without_verdict"], 1, "{sum}");
    assert!(csv_rows(&out.join("not_returned.csv")).is_empty());
}

/// Review finding (F2): a 核查日期 before the change was imaged (the task's last_date) or
/// after the audit's date was a valid verdict, and 1900-01-01 was "not a date". The
/// audit's date is given with --today (else the clock's) and recorded in the manifest.
#[test]
fn audit_flags_check_dates_before_the_change_or_after_the_audit() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let dates = [
        "2001-03-01",
        "2002-07-11",
        "2031-01-01",
        "1900-01-01",
        "2024-08-01",
    ];
    let mut t = String::from("site_id,county_code,licence_status,last_date\n");
    let mut form = String::from("site_id,verdict,violation_type,handling,responsible,check_date\n");
    for (i, day) in dates.iter().enumerate() {
        t.push_str(&format!("S{i},320113,outside_all_rights,2002-07-12\n"));
        form.push_str(&format!("S{i},违法,无证开采,立案,赵六,{day}\n"));
    }
    let tasks = p.join("tasks.csv");
    std::fs::write(&tasks, t).unwrap();
    let f = p.join("320113_返回.csv");
    std::fs::write(&f, form).unwrap();
    let audit = |out: &Path, today: Option<&str>| {
        let mut args = vec!["audit", s(&f), "--tasks", s(&tasks), "--seed", "1"];
        args.extend(["--out", s(out), "--format", "json"]);
        if let Some(t) = today {
            args.extend(["--today", t]);
        }
        minewatch(&args)
    };
    let out = p.join("audit");
    let o = audit(&out, Some("2024-12-01"));
    assert!(o.status.success(), "{}", stderr(&o));
    let sum: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (&sum["valid_verdicts"], &sum["invalid_rows"]),
        (&1.into(), &4.into()),
        "{sum}"
    );
    let issues = csv_rows(&out.join("audit_issues.csv"));
    let got: Vec<(&str, &str, &str)> = issues
        .iter()
        .map(|i| (i["row"].as_str(), i["field"].as_str(), i["code"].as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("2", "check_date", "check_before_change"),
            ("3", "check_date", "check_before_change"),
            ("4", "check_date", "check_date_future"),
            ("5", "check_date", "implausible_date"),
        ]
    );
    assert!(issues[0]["message"].contains("2002-07-12"), "{issues:?}");
    assert!(issues[2]["message"].contains("2024-12-01"), "{issues:?}");
    assert!(!issues[3]["message"].contains("not a date"), "{issues:?}");
    let m = json(&out.join("audit_manifest.json"));
    assert_eq!(
        (m["today"].as_str(), m["today_from"].as_str()),
        (Some("2024-12-01"), Some("--today"))
    );
    // A date the audit's date has passed is no longer in the future; the clock's date is
    // recorded as such.
    let out2 = p.join("clock");
    let o = audit(&out2, None);
    assert!(o.status.success(), "{}", stderr(&o));
    let m = json(&out2.join("audit_manifest.json"));
    assert!(m["today_from"].as_str().unwrap().contains("clock"), "{m}");
    let o = audit(&p.join("later"), Some("2031-06-01"));
    assert!(o.status.success(), "{}", stderr(&o));
    let codes: Vec<String> = csv_rows(&p.join("later").join("audit_issues.csv"))
        .into_iter()
        .map(|i| i["code"].clone())
        .collect();
    assert!(!codes.iter().any(|c| c == "check_date_future"), "{codes:?}");
    let o = audit(&p.join("bad"), Some("2024-13-01"));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("--today"), "{}", stderr(&o));
    assert!(!p.join("bad").join("audit_issues.csv").exists());
}

/// Review finding (F3): county_stats.csv wrote a rate over nothing as 0: the filing rate
/// of a county without 违法 verdicts, every rate of a county that returned nothing. Such a
/// cell is blank; 0 is a real zero (3 违法, none filed).
#[test]
fn audit_leaves_a_rate_over_nothing_blank() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let mut t = String::from("site_id,county_code,licence_status\n");
    for (i, c) in ["320113", "320115", "320115", "320115", "320116", "320116"]
        .iter()
        .enumerate()
    {
        t.push_str(&format!("S{i},{c},outside_all_rights\n"));
    }
    let tasks = p.join("tasks.csv");
    std::fs::write(&tasks, t).unwrap();
    let head = "site_id,verdict,violation_type,handling,reason,responsible\n";
    let f15 = p.join("320115_返回.csv");
    let rows15: String = (1..=3)
        .map(|i| format!("S{i},违法,无证开采,非立案,已责令整改,赵六\n"))
        .collect();
    std::fs::write(&f15, format!("{head}{rows15}")).unwrap();
    let f16 = p.join("320116_返回.csv");
    std::fs::write(
        &f16,
        format!("{head}S4,伪变化,,不处理,大棚,赵六\nS5,伪变化,,不处理,大棚,赵六\n"),
    )
    .unwrap();
    let out = p.join("audit");
    audit_json(&[&f15, &f16], &tasks, &out);
    let stats = csv_rows(&out.join("county_stats.csv"));
    let cells = |c: &str| {
        let r = stats.iter().find(|r| r["county_code"] == c).unwrap();
        ["verified_share", "violation_rate", "filing_rate"].map(|k| r[k].clone())
    };
    assert_eq!(cells("320113"), ["0", "", ""], "{stats:?}");
    assert_eq!(cells("320115"), ["1", "1", "0"], "{stats:?}");
    assert_eq!(cells("320116"), ["1", "0", ""], "{stats:?}");
}

/// Review finding (F4): `--must zone_kinds~ecological_redline` (for ecological_red_line)
/// matched no task and said nothing, dropping the mandatory red-line checks; and
/// `--neyman-by score` without `--allocation neyman` was ignored while the report said
/// "Proportional by score".
#[test]
fn sample_warns_of_a_must_rule_that_matches_nothing_and_refuses_a_stray_neyman_by() {
    let d = tempfile::tempdir().unwrap();
    let input = fixture("verify/tasks_60.csv");
    let out = d.path().join("typo");
    let o = sample_seed1(
        &input,
        &out,
        &[
            "--count",
            "15",
            "--must",
            "zone_kinds~ecological_redline",
            "--must",
            "provincial_field_check_required",
        ],
    );
    let e = stderr(&o);
    assert!(o.status.success(), "{e}");
    assert!(
        e.contains("warning: --must zone_kinds~ecological_redline matches no task")
            && e.contains("ecological_red_line"),
        "{e}"
    );
    assert!(!e.contains("--must provincial_field_check_required"), "{e}");
    let m = json(&out.join("sample_manifest.json"));
    let notes = m["notes"].as_array().unwrap();
    assert_eq!(notes.len(), 1, "{m}");
    assert!(
        notes[0]
            .as_str()
            .unwrap()
            .contains("zone_kinds~ecological_redline"),
        "{m}"
    );
    // The rule spelt right: no warning, no note.
    let out = d.path().join("right");
    let o = sample_seed1(
        &input,
        &out,
        &["--count", "15", "--must", "zone_kinds~ecological_red_line"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
    assert_eq!(
        json(&out.join("sample_manifest.json"))["notes"],
        serde_json::json!([])
    );
    // --neyman-by without Neyman: exit 1, naming both options, nothing written.
    let out = d.path().join("neyman");
    let o = sample_seed1(
        &input,
        &out,
        &[
            "--count",
            "15",
            "--strata",
            "county_code,priority_class",
            "--neyman-by",
            "score",
        ],
    );
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(
        e.contains("--neyman-by score") && e.contains("--allocation neyman"),
        "{e}"
    );
    assert!(!out.join("sample.csv").exists());
}

/// Review finding (revX F1): a county's form with rows not done yet and its supplement
/// (补报) filling them, in one folder, were refused as "copies of one form" both holding
/// verdicts; given as files, the form first made the supplement's verdicts duplicates
/// (7 of 10 verified). Copies that answer different sites are both read, and each site's
/// filled row answers for it, in either order.
#[test]
fn a_form_and_its_supplement_are_read_together_in_either_order() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let tasks = p.join("tasks.csv");
    std::fs::write(
        &tasks,
        "site_id,county_code,licence_status\nS1,320115,inside\nS2,320115,inside\nS3,320115,inside\n",
    )
    .unwrap();
    let ret = p.join("returned");
    std::fs::create_dir(&ret).unwrap();
    let (form, supplement) = (ret.join("320115.csv"), ret.join("320115_补报.csv"));
    std::fs::write(
        &form,
        "图斑地块编号,核查结果,核查责任人\nS1,合法,王五\nS2,,\nS3,,\n",
    )
    .unwrap();
    std::fs::write(
        &supplement,
        "图斑地块编号,核查结果,核查责任人,理由说明\nS2,伪变化,赵六,大棚\nS3,伪变化,赵六,大棚\n",
    )
    .unwrap();
    let valid = |o: &std::process::Output| -> u64 {
        let sum: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        sum["valid_verdicts"].as_u64().unwrap()
    };
    let run = |returned: &[&Path], out: &str| {
        let out = p.join(out);
        let mut args: Vec<&str> = vec!["audit"];
        args.extend(returned.iter().map(|r| s(r)));
        args.extend([
            "--tasks",
            s(&tasks),
            "--seed",
            "1",
            "--format",
            "json",
            "--out",
        ]);
        args.push(s(&out));
        (minewatch(&args), out)
    };
    let (o, out) = run(&[&ret], "folder");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(valid(&o), 3, "{}", stderr(&o));
    assert!(stderr(&o).contains("all are read"), "{}", stderr(&o));
    let dups: Vec<String> = csv_rows(&out.join("audit_issues.csv"))
        .into_iter()
        .filter(|i| i["code"] == "duplicate_id")
        .map(|i| format!("{}:{}", i["file"], i["row"]))
        .collect();
    assert_eq!(
        dups,
        vec![format!("{}:3", s(&form)), format!("{}:4", s(&form))]
    );
    for (order, name) in [([&form, &supplement], "ab"), ([&supplement, &form], "ba")] {
        let (o, _) = run(&order.map(|f| f.as_path()), name);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(valid(&o), 3, "order {name}: {}", stderr(&o));
    }
}

/// `tasks_60.csv` with a `verified_unchanged` column (named `header`) that is 1 on every
/// third row (S20230000, a `provincial_field_check_required` task, among them), as
/// `p/name`: (path, the ids left out).
fn tasks_with_verified(p: &Path, name: &str, header: &str) -> (PathBuf, Vec<String>) {
    let text = std::fs::read_to_string(fixture("verify/tasks_60.csv")).unwrap();
    let mut lines = text.lines();
    let mut out = format!("{},{header}\n", lines.next().unwrap());
    let mut left = Vec::new();
    for (k, l) in lines.enumerate() {
        let v = (k % 3 == 0) as u8;
        if v == 1 {
            left.push(l.split(',').next().unwrap().to_string());
        }
        out.push_str(&format!("{l},{v}\n"));
    }
    let path = p.join(name);
    std::fs::write(&path, out).unwrap();
    (path, left)
}

/// A site verified earlier and unchanged since (rank's `verified_unchanged` 1) is in no
/// county package, so it is no sampling unit: no seed draws it, a `--must` rule it meets
/// does not force it in, the population excludes it, and stderr and the manifest say how
/// many were left out; with rank's Chinese header (`rank --header zh`) too.
#[test]
fn sample_leaves_out_verified_unchanged_tasks() {
    let d = tempfile::tempdir().unwrap();
    for (name, header) in [
        ("tasks_en.csv", "verified_unchanged"),
        ("tasks_zh.csv", "已核查且无新变化"),
    ] {
        let (input, left) = tasks_with_verified(d.path(), name, header);
        assert_eq!(left.len(), 20);
        assert!(left.contains(&"S20230000".to_string()));
        for seed in ["1", "2", "3", "7", "42", "1000"] {
            let out = d.path().join(format!("s_{name}_{seed}"));
            let o = minewatch(&[
                "sample",
                s(&input),
                "--seed",
                seed,
                "--count",
                "25",
                "--strata",
                "county_code",
                "--must",
                "provincial_field_check_required",
                "--out",
                s(&out),
            ]);
            assert!(o.status.success(), "{name} seed {seed}: {}", stderr(&o));
            let picks = csv_rows(&out.join("sample.csv"));
            assert!(!picks.is_empty());
            for p in &picks {
                assert!(
                    !left.contains(&p["unit_id"]),
                    "{name} seed {seed}: {} is verified_unchanged but was drawn ({})",
                    p["unit_id"],
                    p["selection"]
                );
                assert_eq!(p[header], "0", "{name} seed {seed}");
            }
            let m = json(&out.join("sample_manifest.json"));
            assert_eq!(m["summary"]["population"], 40, "{name}: {m}");
            assert_eq!(m["summary"]["left_out_verified_unchanged"], 20, "{name}");
            let notes = m["notes"].to_string();
            assert!(notes.contains("20 of 60 tasks left out"), "{notes}");
            assert!(
                notes.contains("--must provincial_field_check_required matches 2"),
                "{notes}"
            );
            assert!(
                stderr(&o).contains("20 of 60 tasks left out"),
                "{}",
                stderr(&o)
            );
        }
        // A census takes the 40 units and still none of the 20.
        let out = d.path().join(format!("census_{name}"));
        let o = sample_seed1(&input, &out, &["--count", "500"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let picks = csv_rows(&out.join("sample.csv"));
        assert_eq!(picks.len(), 40);
        assert!(picks.iter().all(|p| !left.contains(&p["unit_id"])));
        assert!(
            stderr(&o).contains("asks more than the 40 tasks left"),
            "{}",
            stderr(&o)
        );
        let rep = std::fs::read_to_string(out.join("sample_report.txt")).unwrap();
        assert!(rep.contains("left out 未纳入: 20 tasks"), "{rep}");
    }
}
