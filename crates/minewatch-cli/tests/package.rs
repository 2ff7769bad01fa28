//! `minewatch package` on the real Nanjing chain (detect → overlay → rank → package):
//! every task has a chip per date and composite with its outline drawn, the tables carry the
//! empty field form, KML / GPX / overview / zip are there, and the offline page — rendered
//! in headless Chromium — shows every task and every chip.

mod common;
use common::*;
use std::path::PathBuf;
use std::process::Command;

#[test]
fn county_package_has_every_chip_table_and_page() {
    let d = tempfile::tempdir().unwrap();
    let (rk, [a, b]) = nanjing_chain(d.path(), &[]);
    let out = d.path().join("pkg");
    let layers = root().join("pipelines/layers/nanjing.toml");
    let o = minewatch(&[
        "package",
        s(&rk),
        "--imagery",
        s(&a),
        s(&b),
        "--layers",
        s(&layers),
        "--out",
        s(&out),
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let tasks = csv_rows(&rk.join("tasks.csv"));
    let n = tasks.len();
    assert!(n > 10);
    // The demo tasks have no county layer: they are packaged under Jiangsu.
    let folder = out.join("320000_江苏省");
    assert!(folder.is_dir(), "{summary}");
    let zip = out.join("320000_江苏省.zip");
    let zbytes = std::fs::metadata(&zip).unwrap().len();
    assert!(zbytes > 10_000, "{zbytes}");
    assert_eq!(
        summary["counties"][0]["zip_bytes"].as_u64().unwrap(),
        zbytes
    );
    // Review finding 6: the manifest records every input's size and sha256 (here checked
    // against coreutils' sha256sum), as rank's does.
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("package_manifest.json")).unwrap()).unwrap();
    for f in [rk.join("tasks.gpkg"), a.clone(), b.clone(), layers.clone()] {
        let rec = m["inputs"]
            .as_array()
            .unwrap_or_else(|| panic!("no inputs in the manifest: {m}"))
            .iter()
            .find(|r| r["path"].as_str() == Some(s(&f)))
            .unwrap_or_else(|| panic!("{} not in {}", f.display(), m["inputs"]));
        let o = Command::new("sha256sum").arg(&f).output().unwrap();
        let want = String::from_utf8(o.stdout).unwrap()[..64].to_string();
        assert_eq!(
            rec["sha256"].as_str(),
            Some(want.as_str()),
            "{}",
            f.display()
        );
        assert_eq!(
            rec["bytes"].as_u64(),
            Some(std::fs::metadata(&f).unwrap().len())
        );
    }
    // Table with the field form (Chinese headers), every task once.
    let t = std::fs::read_to_string(folder.join("tasks.csv")).unwrap();
    assert!(t.starts_with('\u{feff}'));
    let head = t.lines().next().unwrap();
    for c in [
        "图斑地块编号",
        "核查结果",
        "违法类型",
        "处理方式",
        "理由说明",
        "核查责任人",
        "核查日期",
        "照片编号",
    ] {
        assert!(head.contains(c), "{c}");
    }
    assert_eq!(t.lines().count(), n + 1);
    // Chips: 2 dates × (true colour + SWIR false colour) per task, each with its outline.
    let mut chips: Vec<PathBuf> = std::fs::read_dir(folder.join("chips"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    chips.sort();
    assert_eq!(chips.len(), 4 * n);
    for c in &chips {
        let img = image::open(c).unwrap().to_rgb8();
        assert_eq!((img.width(), img.height()), (320, 320), "{}", c.display());
        let yellow = img.pixels().filter(|p| p.0 == [255, 230, 0]).count();
        assert!(yellow > 20, "{}: {yellow} outline pixels", c.display());
    }
    for r in &tasks {
        let sid = &r["site_id"];
        assert_eq!(
            chips
                .iter()
                .filter(|c| c.to_string_lossy().contains(sid.as_str()))
                .count(),
            4,
            "{sid}"
        );
    }
    // KML / GPX: one point per task; overview map drawn.
    let kml = std::fs::read_to_string(folder.join("centres.kml")).unwrap();
    assert_eq!(kml.matches("<Placemark>").count(), n);
    let gpx = std::fs::read_to_string(folder.join("centres.gpx")).unwrap();
    assert_eq!(gpx.matches("<wpt ").count(), n);
    let ov = image::open(folder.join("overview.png")).unwrap().to_rgb8();
    assert_eq!(ov.width(), 900);
    assert!(
        ov.pixels().filter(|p| p.0 == [230, 30, 30]).count() >= 81 * n / 2,
        "patch markers drawn"
    );
    // The offline page lists every task and chip, with no network reference.
    let html = std::fs::read_to_string(folder.join("index.html")).unwrap();
    for r in &tasks {
        assert!(html.contains(r["site_id"].as_str()));
    }
    assert_eq!(html.matches("<img class=\"chip\"").count(), 4 * n);
    assert!(!html.contains("http://") && !html.contains("https://"));
    // As a person sees it: headless Chromium loads every chip.
    if have_tool("chromium") {
        let o = Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--virtual-time-budget=5000",
                "--dump-dom",
            ])
            .arg(format!("file://{}", folder.join("index.html").display()))
            .output()
            .unwrap();
        let dom = String::from_utf8_lossy(&o.stdout);
        let want = format!("data-chips-loaded=\"{}\" data-chips=\"{}\"", 4 * n, 4 * n);
        assert!(
            dom.contains(&want),
            "chromium: {}",
            &dom[..dom.len().min(400)]
        );
        assert_eq!(dom.matches("class=\"task\"").count(), n);
    }
}
