//! `minewatch audit` / `sample` on messy county returns (review 22 B): a re-check sample
//! that stays as drawn when a county corrects its form, duplicates whose handling differs,
//! every bad form named at once, workbooks with an instructions sheet, a damaged or
//! renamed .xlsx, header names with spaces, Chinese re-check headers, 立案查处, and a form
//! with only 图斑编号.

mod common;
use common::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// 40 tasks: S00–S19 county 320115, S20–S39 county 320116, all `inside`.
fn forty_tasks(dir: &Path) -> PathBuf {
    let mut t = String::from("site_id,county_code,licence_status\n");
    for i in 0..40 {
        let c = if i < 20 { "320115" } else { "320116" };
        t.push_str(&format!("S{i:02},{c},inside\n"));
    }
    let p = dir.join("tasks.csv");
    std::fs::write(&p, t).unwrap();
    p
}

/// A county's form over sites `ids`: even ones 合法 (不处理, 有证), odd ones 伪变化 (大棚);
/// the sites in `blank` without a verdict yet.
fn form(path: &Path, ids: std::ops::Range<usize>, blank: &[usize]) {
    let mut f = String::from("图斑地块编号,核查结果,处理方式,理由说明,核查责任人\n");
    for i in ids {
        if blank.contains(&i) {
            f.push_str(&format!("S{i:02},,,,\n"));
        } else if i % 2 == 0 {
            f.push_str(&format!("S{i:02},合法,不处理,有证,王五\n"));
        } else {
            f.push_str(&format!("S{i:02},伪变化,不处理,大棚,王五\n"));
        }
    }
    std::fs::write(path, f).unwrap();
}

fn audit(returned: &[&Path], tasks: &Path, out: &Path, more: &[&str]) -> std::process::Output {
    let mut a: Vec<&str> = vec!["audit"];
    a.extend(returned.iter().map(|p| s(p)));
    a.extend([
        "--tasks",
        s(tasks),
        "--seed",
        "5",
        "--recheck-rate",
        "0.2",
        "--today",
        "2026-12-01",
        "--out",
        s(out),
    ]);
    a.extend(more);
    minewatch(&a)
}

fn audit_manifest(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("audit_manifest.json")).unwrap())
        .unwrap()
}

fn ids(rows: &[std::collections::BTreeMap<String, String>]) -> BTreeSet<String> {
    rows.iter().map(|r| r["site_id"].clone()).collect()
}

/// Review 22 B F1 (high): 320116 returned six sites without a verdict; the re-check
/// sample was drawn and filled in; 320116 then sent its complete form, and the audit with
/// the filled results redrew the sample and refused them ("not in this audit's re-check
/// sample", exit 1). A filled recheck_sample.csv keeps the sample as drawn; a pick whose
/// site is no valid verdict any more is said and left out, not an error.
#[test]
fn a_corrected_form_keeps_the_recheck_sample_as_drawn() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let tasks = forty_tasks(p);
    let (a, b) = (p.join("first"), p.join("corrected"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    form(&a.join("320115_返回.csv"), 0..20, &[]);
    form(
        &a.join("320116_返回.csv"),
        20..40,
        &[20, 22, 24, 26, 28, 30],
    );
    let o = audit(&[&a], &tasks, &p.join("o1"), &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let drawn = csv_rows(&p.join("o1/recheck_sample.csv"));
    assert!(drawn.len() >= 6, "{drawn:?}");
    // The re-check crews fill in every pick (all agree with the county).
    let mut filled = String::from(
        "site_id,county_code,county_verdict,stratum,stratum_population,inclusion_probability,recheck_verdict\n",
    );
    for r in &drawn {
        filled.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            r["site_id"],
            r["county_code"],
            r["county_verdict"],
            r["stratum"],
            r["stratum_population"],
            r["inclusion_probability"],
            r["county_verdict"]
        ));
    }
    let filled_csv = p.join("recheck_filled.csv");
    std::fs::write(&filled_csv, filled).unwrap();
    // 320116 corrects its form: the six blank rows filled, and one picked site of 320115
    // blanked again (a verdict withdrawn).
    let gone = drawn.iter().find(|r| r["county_code"] == "320115").unwrap()["site_id"].clone();
    let gone_i: usize = gone[1..].parse().unwrap();
    form(&b.join("320115_返回.csv"), 0..20, &[gone_i]);
    form(&b.join("320116_返回.csv"), 20..40, &[]);
    // The scenario is the review's: drawn afresh, the corrected forms give another sample.
    let o = audit(&[&b], &tasks, &p.join("fresh"), &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_ne!(
        ids(&csv_rows(&p.join("fresh/recheck_sample.csv"))),
        ids(&drawn),
        "the corrections should change a fresh draw"
    );
    let o = audit(
        &[&b],
        &tasks,
        &p.join("o2"),
        &["--recheck", s(&filled_csv), "--format", "json"],
    );
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains(&gone) && err.contains("no valid verdict"),
        "{err}"
    );
    assert!(err.contains("kept as drawn"), "{err}");
    let kept = csv_rows(&p.join("o2/recheck_sample.csv"));
    assert_eq!(ids(&kept), ids(&drawn));
    // Results carried over into the file to fill in further.
    assert!(
        kept.iter().all(|r| !r["recheck_verdict"].is_empty()),
        "{kept:?}"
    );
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["recheck_missing"], 0, "{summary}");
    let m = audit_manifest(&p.join("o2"));
    assert_eq!(
        m["recheck"]["no_valid_verdict_now"],
        serde_json::json!([gone])
    );
    assert!(m["recheck_design"]["drawn"]
        .as_str()
        .unwrap()
        .contains("kept as drawn"));
    let mis = csv_rows(&p.join("o2/misjudgement.csv"));
    let n15 = drawn
        .iter()
        .filter(|r| r["county_code"] == "320115")
        .count();
    let m15 = mis.iter().find(|r| r["county_code"] == "320115").unwrap();
    // The withdrawn pick is out of 320115's sample; its other picks are all re-checked.
    assert_eq!(m15["sampled"], (n15 - 1).to_string(), "{mis:?}");
    assert_eq!(m15["rechecked"], (n15 - 1).to_string(), "{mis:?}");
    assert!(mis.iter().all(|r| r["complete"] == "yes"), "{mis:?}");
}

/// Review 22 B F6 and F1: re-check results with the forms' Chinese headers (图斑地块编号,
/// 复核结果) were refused ("no column site_id"); a row for a site outside the sample
/// stopped the run. Both read: the row outside is said and not counted.
#[test]
fn recheck_results_read_chinese_headers_and_name_rows_outside_the_sample() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let tasks = forty_tasks(p);
    let f15 = p.join("320115_返回.csv");
    let f16 = p.join("320116_返回.csv");
    form(&f15, 0..20, &[]);
    form(&f16, 20..40, &[]);
    assert!(audit(&[&f15, &f16], &tasks, &p.join("o1"), &[])
        .status
        .success());
    let drawn = csv_rows(&p.join("o1/recheck_sample.csv"));
    let picked = ids(&drawn);
    let outside = (0..40)
        .map(|i| format!("S{i:02}"))
        .find(|id| !picked.contains(id))
        .unwrap();
    let mut r = String::from("图斑地块编号,复核结果\n");
    for x in &drawn {
        let v = if x["county_verdict"] == "legal" {
            "合法"
        } else {
            "伪变化"
        };
        r.push_str(&format!("{},{v}\n", x["site_id"]));
    }
    r.push_str(&format!("{outside},合法\n"));
    let rc = p.join("复核结果.csv");
    std::fs::write(&rc, r).unwrap();
    let o = audit(&[&f15, &f16], &tasks, &p.join("o2"), &["--recheck", s(&rc)]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains(&outside) && err.contains("not in the re-check sample"),
        "{err}"
    );
    let mis = csv_rows(&p.join("o2/misjudgement.csv"));
    let rechecked: usize = mis
        .iter()
        .map(|r| r["rechecked"].parse::<usize>().unwrap())
        .sum();
    assert_eq!(rechecked, drawn.len(), "{mis:?}");
    assert_eq!(
        audit_manifest(&p.join("o2"))["recheck"]["not_in_sample"],
        serde_json::json!([outside])
    );
}

/// Review 22 B F2: the same site in a form and its correction, same verdict, 非立案 then
/// 立案: the first file by name won (filing rate 0.6 or 1 by file order), marked only
/// duplicate_id. Both rows are flagged conflicting_handling and neither counts, in
/// either order.
#[test]
fn duplicates_with_another_handling_are_flagged_whatever_the_file_order() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::write(
        p.join("tasks.csv"),
        "site_id,county_code,licence_status\nS1,320115,outside_all_rights\nS2,320115,outside_all_rights\n",
    )
    .unwrap();
    let head = "图斑地块编号,核查结果,违法类型,处理方式,理由说明,核查责任人\n";
    let a = p.join("320115_返回.csv");
    let b = p.join("320115_返回_更正.csv");
    std::fs::write(
        &a,
        format!("{head}S1,违法,无证开采,立案,,王五\nS2,违法,无证开采,非立案,责令停止,王五\n"),
    )
    .unwrap();
    std::fs::write(&b, format!("{head}S2,违法,无证开采,立案,,王五\n")).unwrap();
    let tasks = p.join("tasks.csv");
    let mut stats = Vec::new();
    for (k, order) in [[&a, &b], [&b, &a]].iter().enumerate() {
        let out = p.join(format!("o{k}"));
        let o = audit(&[order[0], order[1]], &tasks, &out, &[]);
        assert!(o.status.success(), "{}", stderr(&o));
        let issues = csv_rows(&out.join("audit_issues.csv"));
        let flagged: BTreeSet<(String, String)> = issues
            .iter()
            .filter(|i| i["code"] == "conflicting_handling")
            .map(|i| (i["file"].clone(), i["row"].clone()))
            .collect();
        assert_eq!(
            flagged,
            [
                (s(&a).to_string(), "3".to_string()),
                (s(&b).to_string(), "2".to_string())
            ]
            .into(),
            "{issues:?}"
        );
        assert!(
            issues.iter().all(|i| i["code"] != "duplicate_id"),
            "{issues:?}"
        );
        let c = csv_rows(&out.join("county_stats.csv"));
        stats.push((c[0]["valid_verdicts"].clone(), c[0]["filing_rate"].clone()));
    }
    assert_eq!(stats[0], ("1".to_string(), "1".to_string()));
    assert_eq!(stats[0], stats[1]);
}

/// Review 22 B F3: three bad forms were named one per run (exit 1 on the first). All are
/// named, each with its problem, in one run; nothing is written.
#[test]
fn every_bad_form_is_named_in_one_run() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let tasks = forty_tasks(p);
    let ret = p.join("returned");
    std::fs::create_dir_all(&ret).unwrap();
    form(&ret.join("320115_返回.csv"), 0..20, &[]);
    std::fs::write(
        ret.join("320116_a.csv"),
        "图斑地块编号,核查结论\nS20,合法\n",
    )
    .unwrap();
    std::fs::write(ret.join("320116_b.csv"), "编号,核查结果\nS21,合法\n").unwrap();
    let out = p.join("out");
    let o = audit(&[&ret], &tasks, &out, &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("2 returned forms cannot be read"), "{err}");
    assert!(err.contains("320116_a.csv: no `verdict` column"), "{err}");
    assert!(err.contains("320116_b.csv: no `site_id` column"), "{err}");
    assert!(!out.exists());
}

/// An .xlsx form through GDAL: sheets `(name, header, rows)` in order, all text.
/// A sheet: its name, header and rows.
type Sheet<'a> = (&'a str, &'a [&'a str], &'a [&'a [&'a str]]);

fn workbook(path: &Path, sheets: &[Sheet]) {
    use gdal::vector::{Feature, LayerAccess, LayerOptions, OGRFieldType, OGRwkbGeometryType};
    let drv = gdal::DriverManager::get_driver_by_name("XLSX").unwrap();
    let mut ds = drv.create_vector_only(path).unwrap();
    for (name, header, rows) in sheets {
        let l = ds
            .create_layer(LayerOptions {
                name,
                srs: None,
                ty: OGRwkbGeometryType::wkbNone,
                options: None,
            })
            .unwrap();
        let defs: Vec<(&str, OGRFieldType::Type)> = header
            .iter()
            .map(|c| (*c, OGRFieldType::OFTString))
            .collect();
        l.create_defn_fields(&defs).unwrap();
        for row in *rows {
            let mut f = Feature::new(l.defn()).unwrap();
            for (k, v) in row.iter().enumerate() {
                f.set_field_string(k, v).unwrap();
            }
            f.create(&l).unwrap();
        }
    }
}

const FORM_HEAD: [&str; 5] = [
    "图斑地块编号",
    "核查结果",
    "处理方式",
    "理由说明",
    "核查责任人",
];

/// Review 22 B F4 and F7: a workbook whose first sheet is instructions (填表说明) gave
/// "no site_id column; it has: Field1"; a CSV renamed .xlsx and a cut-short .xlsx gave
/// GDAL's empty NULL-pointer message. The form's sheet is read; a workbook with no form
/// sheet names its sheets; the two broken files say what they are and to save again.
#[test]
fn workbooks_with_an_instructions_sheet_or_broken_are_read_or_named() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let tasks = forty_tasks(p);
    let x = p.join("320115_返回.xlsx");
    let rows: [&[&str]; 2] = [
        &["S00", "合法", "不处理", "有证", "王五"],
        &["S01", "伪变化", "不处理", "大棚", "王五"],
    ];
    workbook(
        &x,
        &[
            ("填表说明", &["说明"], &[&["请在核查表中填写"]]),
            ("核查表", &FORM_HEAD, &rows),
        ],
    );
    let o = audit(&[&x], &tasks, &p.join("o1"), &["--format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["valid_verdicts"], 2, "{summary}");
    // No sheet with the form's header: the sheets are named.
    let y = p.join("320116_返回.xlsx");
    workbook(
        &y,
        &[
            ("填表说明", &["说明"], &[&["请填写"]]),
            ("其他", &["编号", "结果"], &[&["S20", "合法"]]),
        ],
    );
    let o = audit(&[&y], &tasks, &p.join("o2"), &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("sheet `填表说明` read") && err.contains("填表说明, 其他"),
        "{err}"
    );
    // A CSV renamed .xlsx, and an .xlsx cut short.
    let renamed = p.join("320115_r.xlsx");
    std::fs::write(&renamed, "图斑地块编号,核查结果\nS00,合法\n").unwrap();
    let cut = p.join("320116_r.xlsx");
    let bytes = std::fs::read(&x).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let o = audit(&[&renamed, &cut], &tasks, &p.join("o3"), &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("320115_r.xlsx: cannot open it: it is no .xlsx workbook inside"),
        "{err}"
    );
    assert!(
        err.contains("320116_r.xlsx: cannot open it: the workbook is damaged"),
        "{err}"
    );
    assert!(err.contains("save it again"), "{err}");
    assert!(!err.contains("NULL pointer. Error msg: ''"), "{err}");
}

/// Review 22 B F5: `sample` on an .xlsx whose header cell is `核查结果 ` (a trailing
/// space) said "no column 核查结果", although audit and the CSV read it.
#[test]
fn spreadsheet_header_names_are_trimmed_like_a_csvs() {
    let d = tempfile::tempdir().unwrap();
    let x = d.path().join("320115.xlsx");
    let rows: [&[&str]; 3] = [&["S00", "合法"], &["S01", "违法"], &["S02", "合法"]];
    workbook(&x, &[("核查表", &["site_id", "核查结果 "], &rows)]);
    let out = d.path().join("s");
    let o = minewatch(&[
        "sample",
        s(&x),
        "--seed",
        "3",
        "--count",
        "2",
        "--strata",
        "核查结果",
        "--out",
        s(&out),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let strata: BTreeSet<String> = csv_rows(&out.join("sample.csv"))
        .iter()
        .map(|r| r["stratum"].clone())
        .collect();
    assert!(
        strata.iter().all(|s| s == "合法" || s == "违法"),
        "{strata:?}"
    );
}

/// Review 22 B F8: 立案查处 / 已立案 were `unknown_handling` (the row out of the filing
/// rate); a form with only 图斑编号 gave bare `unknown_id`s with no hint.
#[test]
fn handling_wordings_read_as_filed_and_patch_ids_get_a_hint() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::write(
        p.join("tasks.csv"),
        "site_id,county_code,licence_status\nS1,320115,outside_all_rights\nS2,320115,outside_all_rights\n",
    )
    .unwrap();
    let tasks = p.join("tasks.csv");
    let f = p.join("320115_返回.csv");
    std::fs::write(
        &f,
        "图斑地块编号,核查结果,违法类型,处理方式,核查责任人\nS1,违法,无证开采,立案查处,王五\nS2,违法,无证开采,已立案,王五\n",
    )
    .unwrap();
    let out = p.join("o1");
    let o = audit(&[&f], &tasks, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let c = csv_rows(&out.join("county_stats.csv"));
    assert_eq!(
        (c[0]["filed"].as_str(), c[0]["filing_rate"].as_str()),
        ("2", "1")
    );
    let g = p.join("320115_patch.csv");
    std::fs::write(
        &g,
        "图斑编号,核查结果,核查责任人\nS20000503_20020712_r7c0_p1,合法,王五\n",
    )
    .unwrap();
    let out = p.join("o2");
    let o = audit(&[&g], &tasks, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let issues = csv_rows(&out.join("audit_issues.csv"));
    assert_eq!(issues[0]["code"], "unknown_id");
    assert!(issues[0]["message"].contains("图斑地块编号"), "{issues:?}");
    assert!(issues[0]["说明"].contains("图斑地块编号"), "{issues:?}");
}
