//! Snapshots of the patch flags on the bundled real clips (reviewed goldens in
//! fixtures/expected/; regenerate with MINEWATCH_UPDATE_GOLDEN=1 and say why in the commit),
//! plus date and profile resolution on real files and multi-date runs.

mod common;
use common::*;
use std::path::Path;

/// `id,pixels,area_m2` of every patch: what CI must reproduce exactly.
fn flags(out: &Path) -> String {
    let text = std::fs::read_to_string(out.join("patches.csv")).unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let h = rdr.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|c| c == n).unwrap();
    let (i, p, a) = (col("id"), col("pixels"), col("area_m2"));
    let mut s = String::from("id,pixels,area_m2\n");
    for r in rdr.records() {
        let r = r.unwrap();
        s.push_str(&format!("{},{},{}\n", &r[i], &r[p], &r[a]));
    }
    s
}

fn golden(name: &str, actual: &str) {
    let path = fixture(&format!("expected/{name}"));
    if std::env::var_os("MINEWATCH_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "{} missing: run with MINEWATCH_UPDATE_GOLDEN=1",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "patch flags changed against {}; review and update the golden",
        path.display()
    );
}

#[test]
fn nanjing_landsat_clip_flags() {
    let dir = tempfile::tempdir().unwrap();
    let params = root().join("pipelines/peer-rule.toml");
    let o = minewatch(&[
        "detect",
        s(&fixture("real/nanjing_L5TM_20000503_clip400.tif")),
        s(&fixture("real/nanjing_L5TM_20020712_clip400.tif")),
        "--params",
        s(&params),
        "--out",
        s(dir.path()),
        "--format",
        "json",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        summary["pairs"][0]["pair"], "20000503_20020712",
        "dates from the file names"
    );
    golden("nanjing_clip400_peer_rule.csv", &flags(dir.path()));
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("manifest.json")).unwrap()).unwrap();
    // The clip names its bands (`TM/ETM+ B1 blue`, `B4 NIR`, …): read by the names.
    assert_eq!(m["inputs"][0]["profile"], "from-band-descriptions");
    assert_eq!(m["inputs"][0]["date_source"], "file_name");
    assert_eq!(m["inputs"][0]["sha256"].as_str().unwrap().len(), 64);
}

#[test]
fn hongkong_sentinel2_clip_flags_and_metadata_dates() {
    let dir = tempfile::tempdir().unwrap();
    // Given in reverse order: minewatch orders by date.
    let o = minewatch(&[
        "detect",
        s(&fixture("real/hongkong_S2_20180323_clip320.tif")),
        s(&fixture("real/hongkong_S2_20160927_clip320.tif")),
        "--out",
        s(dir.path()),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    golden("hongkong_clip320_default.csv", &flags(dir.path()));
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["inputs"][0]["date"], "2016-09-27");
    assert_eq!(m["inputs"][0]["date_source"], "metadata");
    assert_eq!(m["inputs"][0]["profile"], "from-band-descriptions");
    let bands = &m["inputs"][0]["bands"];
    assert!(
        bands
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b[0] == "swir1" && b[1] == 12),
        "B11 is band 12: {bands}"
    );
}

#[test]
fn three_dates_make_two_labelled_pairs() {
    let dir = tempfile::tempdir().unwrap();
    let spec = minewatch_synth::SceneSpec::small(160, 120, 9);
    let [a, b] =
        minewatch_synth::write_scene(&spec, dir.path(), ["s_20190601.tif", "s_20200601.tif"])
            .unwrap();
    let spec2 = minewatch_synth::SceneSpec::small(160, 120, 10);
    let sub = dir.path().join("x");
    std::fs::create_dir_all(&sub).unwrap();
    let [_, c] =
        minewatch_synth::write_scene(&spec2, &sub, ["unused_20000101.tif", "s_20210601.tif"])
            .unwrap();
    let out = dir.path().join("out");
    let o = minewatch(&[
        "detect",
        s(&c),
        s(&a),
        s(&b),
        "--out",
        s(&out),
        "--format",
        "json",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let pairs: Vec<&str> = summary["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["pair"].as_str().unwrap())
        .collect();
    assert_eq!(pairs, ["20190601_20200601", "20200601_20210601"]);
    let csv = std::fs::read_to_string(out.join("patches.csv")).unwrap();
    let n1 = csv
        .lines()
        .filter(|l| l.starts_with("20190601_20200601_"))
        .count();
    let n2 = csv
        .lines()
        .filter(|l| l.starts_with("20200601_20210601_"))
        .count();
    assert_eq!(n1 + n2, summary["patches"].as_u64().unwrap() as usize);
    assert!(n1 > 0 && n2 > 0, "both pairs have patches: {n1} {n2}");
}

#[test]
fn outputs_open_cleanly_in_ogrinfo() {
    if !have_tool("ogrinfo") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let [t1, t2] = synth_pair(dir.path(), 200, 160, 4);
    let out = dir.path().join("out");
    let o = minewatch(&[
        "detect",
        s(&t1),
        s(&t2),
        "--out",
        s(&out),
        "--quiet",
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let n = serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()["patches"]
        .as_u64()
        .unwrap();
    assert!(n > 0);
    for f in ["patches.gpkg", "patches.geojson"] {
        let o = std::process::Command::new("ogrinfo")
            .args(["-so", "-al", s(&out.join(f))])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success() && err.trim().is_empty(), "{f}: {err}");
        assert!(text.contains(&format!("Feature Count: {n}")), "{f}: {text}");
        assert!(text.contains("Multi Polygon"), "{f}: {text}");
    }
    let o = std::process::Command::new("ogrinfo")
        .args(["-so", "-al", s(&out.join("patches.gpkg"))])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("UTM zone 50N"),
        "GeoPackage keeps the imagery CRS"
    );
}

#[test]
fn no_change_gives_empty_but_complete_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let [t1, _] = synth_pair(dir.path(), 96, 64, 2);
    let same = dir.path().join("same_20220101.tif");
    std::fs::copy(&t1, &same).unwrap();
    let out = dir.path().join("out");
    let o = minewatch(&[
        "detect",
        s(&t1),
        s(&same),
        "--out",
        s(&out),
        "--format",
        "json",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["patches"], 0);
    let csv = std::fs::read_to_string(out.join("patches.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1, "header only");
    assert!(csv.starts_with("id,date_before,date_after,pixels,area_m2,area_mu"));
    let gj: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("patches.geojson")).unwrap()).unwrap();
    assert_eq!(gj["features"].as_array().unwrap().len(), 0);
    if have_tool("ogrinfo") {
        let o = std::process::Command::new("ogrinfo")
            .args(["-so", "-al", s(&out.join("patches.gpkg"))])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(
            text.contains("Feature Count: 0") && text.contains("area_mu: Real"),
            "{text}"
        );
        // The dates are typed as dates even with no patch to hold one.
        assert!(
            text.contains("date_before: Date") && text.contains("date_after: Date"),
            "{text}"
        );
    }
}
