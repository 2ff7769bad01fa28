//! `minewatch overlay` on patch files from elsewhere (review revT): the patch columns
//! under minewatch's own Chinese names or a Shapefile's cut names, a file without ids,
//! patches without dates, and findings that do not depend on the other patches of the
//! batch.

mod common;
use common::*;
use std::path::Path;

const HEAD: &str = r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::32650"}},"features":["#;

/// A 100 m square at (x, y) in UTM 50N, as GeoJSON geometry.
fn square(x: f64, y: f64) -> String {
    format!(
        r#"{{"type":"Polygon","coordinates":[[[{x},{y}],[{},{y}],[{},{}],[{x},{}],[{x},{y}]]]}}"#,
        x + 100.0,
        x + 100.0,
        y + 100.0,
        y + 100.0
    )
}

/// One feature per (properties JSON, x, y).
fn features(rows: &[(&str, f64, f64)]) -> String {
    let f: Vec<String> = rows
        .iter()
        .map(|(p, x, y)| {
            format!(
                r#"{{"type":"Feature","properties":{p},"geometry":{}}}"#,
                square(*x, *y)
            )
        })
        .collect();
    format!("{HEAD}{}]}}", f.join(",\n"))
}

/// A licence L1 that ended in 2015 over the first square, one L2 granted in 2024 over
/// the second (both 2 km wide).
fn licences(dir: &Path) -> std::path::PathBuf {
    let big = |x: f64, y: f64| {
        format!(
            r#"{{"type":"Polygon","coordinates":[[[{},{}],[{},{}],[{},{}],[{},{}],[{},{}]]]}}"#,
            x - 1000.0,
            y - 1000.0,
            x + 1000.0,
            y - 1000.0,
            x + 1000.0,
            y + 1000.0,
            x - 1000.0,
            y + 1000.0,
            x - 1000.0,
            y - 1000.0
        )
    };
    std::fs::write(
        dir.join("lic.geojson"),
        format!(
            r#"{HEAD}{{"type":"Feature","properties":{{"lic":"L1","from":"2005-01-01","to":"2015-06-30"}},"geometry":{}}},
{{"type":"Feature","properties":{{"lic":"L2","from":"2024-01-01","to":"2034-01-01"}},"geometry":{}}}]}}"#,
            big(500_000.0, 3_500_000.0),
            big(510_000.0, 3_500_000.0)
        ),
    )
    .unwrap();
    let layers = dir.join("l.toml");
    std::fs::write(
        &layers,
        "[[layer]]\nname = \"rights\"\npath = \"lic.geojson\"\nkind = \"mining_right\"\nid_field = \"lic\"\nvalid_from_field = \"from\"\nvalid_to_field = \"to\"\n",
    )
    .unwrap();
    layers
}

fn overlay(patches: &Path, layers: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "overlay",
        s(patches),
        "--layers",
        s(layers),
        "--out",
        s(out),
    ];
    args.extend(extra);
    minewatch(&args)
}

/// Review revT finding 1: the Chinese headers minewatch itself writes (图斑编号 / 前时相 /
/// 后时相) are the patch id and dates, so both tables are keyed by the file's patch
/// numbers, in English and with `--header zh`; a file without any id column is refused
/// naming the file and its columns (a feature number is no patch id).
#[test]
fn chinese_patch_columns_are_ids_and_dates_and_no_id_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let layers = licences(d.path());
    let patches = d.path().join("zh.geojson");
    std::fs::write(
        &patches,
        features(&[
            (
                r#"{"图斑编号":"P7_expired","前时相":"2023-06-01","后时相":"2024-06-01"}"#,
                500_000.0,
                3_500_000.0,
            ),
            (
                r#"{"图斑编号":"P8_granted","前时相":"2023-06-01","后时相":"2024-06-01"}"#,
                510_000.0,
                3_500_000.0,
            ),
        ]),
    )
    .unwrap();
    for header in ["en", "zh"] {
        let out = d.path().join(format!("ov_{header}"));
        let o = overlay(&patches, &layers, &out, &["--header", header]);
        assert!(o.status.success(), "{}", stderr(&o));
        let (id, status, pair) = match header {
            "en" => ("id", "licence_status", "licence_granted_in_pair"),
            _ => ("图斑编号", "矿权状态", "矿权于前后时相间取得"),
        };
        let rows = csv_rows(&out.join("findings.csv"));
        assert_eq!(rows[0][id], "P7_expired");
        // The dates were read: the licence that ended in 2015 is expired on 后时相, the
        // one granted between the dates is flagged.
        assert_eq!(rows[0][status], "expired");
        assert_eq!(rows[1][status], "inside");
        assert_eq!(rows[1][pair], "1");
        let hit_id = if header == "en" {
            "patch_id"
        } else {
            "图斑编号"
        };
        let hits = csv_rows(&out.join("zone_hits.csv"));
        let ids: Vec<&str> = hits.iter().map(|h| h[hit_id].as_str()).collect();
        assert_eq!(ids, ["P7_expired", "P8_granted"]);
    }

    // No id column at all: exit 1, the file and its columns named, nothing written.
    let bare = d.path().join("bare.geojson");
    std::fs::write(
        &bare,
        features(&[(
            r#"{"name":"pit","date_after":"2024-06-01"}"#,
            500_000.0,
            3_500_000.0,
        )]),
    )
    .unwrap();
    let out = d.path().join("ov_bare");
    let o = overlay(&bare, &layers, &out, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("bare.geojson")
            && e.contains("no patch id column")
            && e.contains("name, date_after"),
        "{e}"
    );
    assert!(!out.exists());
}

/// Review revT finding 2: patches without `date_after` are a warning on stderr (not only
/// a manifest note), and each finding says whether its licences' validity was checked:
/// an expired licence then counts as valid, and 证内 must not read as checked. A
/// Shapefile's `date_befor` is `date_before`.
#[test]
fn undated_patches_are_warned_and_marked_unchecked() {
    let d = tempfile::tempdir().unwrap();
    let layers = licences(d.path());
    let patches = d.path().join("p.geojson");
    std::fs::write(
        &patches,
        features(&[
            (r#"{"id":"P7"}"#, 500_000.0, 3_500_000.0),
            (r#"{"id":"FAR"}"#, 530_000.0, 3_500_000.0),
        ]),
    )
    .unwrap();
    let out = d.path().join("ov");
    let o = overlay(&patches, &layers, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("warning") && e.contains("2 patch(es) have no date_after"),
        "{e}"
    );
    let rows = csv_rows(&out.join("findings.csv"));
    assert_eq!(rows[0]["licence_status"], "inside");
    assert_eq!(rows[0]["licence_validity_checked"], "0");
    // No right met: nothing to check.
    assert_eq!(rows[1]["licence_validity_checked"], "");

    // Dated, with the Shapefile cut `date_befor`: checked, and the grant is dated.
    std::fs::write(
        &patches,
        features(&[
            (
                r#"{"id":"P7","date_befor":"2023-06-01","date_after":"2024-06-01"}"#,
                500_000.0,
                3_500_000.0,
            ),
            (
                r#"{"id":"P8","date_befor":"2023-06-01","date_after":"2024-06-01"}"#,
                510_000.0,
                3_500_000.0,
            ),
        ]),
    )
    .unwrap();
    let o = overlay(&patches, &layers, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("date_after"), "{}", stderr(&o));
    let rows = csv_rows(&out.join("findings.csv"));
    assert_eq!(rows[0]["licence_status"], "expired");
    assert_eq!(rows[0]["licence_validity_checked"], "1");
    assert_eq!(rows[1]["licence_granted_in_pair"], "1");
    assert!(rows[0].contains_key("date_before"), "{:?}", rows[0].keys());
}

/// A lon/lat rectangle as a GeoJSON feature.
fn lonlat_patch(id: &str, w: f64, s_: f64, e: f64, n: f64) -> String {
    format!(
        r#"{{"type":"Feature","properties":{{"id":"{id}","date_after":"2024-06-01"}},"geometry":{{"type":"Polygon","coordinates":[[[{w},{s_}],[{e},{s_}],[{e},{n}],[{w},{n}],[{w},{s_}]]]}}}}"#
    )
}

/// Review revT finding 6: a patch's river distance and corridor share do not depend on the
/// other patches of the file. A patch 4.9 km north of a river at Nantong (120.6° E) came
/// out 1 % farther, and partly outside the 5 km corridor, when a patch near Yibin
/// (104.7° E) put the whole batch in UTM 49N; each patch is now measured in a CRS local
/// to it.
#[test]
fn a_patch_measures_the_same_alone_and_beside_a_far_one() {
    let d = tempfile::tempdir().unwrap();
    // Along the 32° N parallel, a vertex every 0.01° (a chord of the parallel in the
    // plane would bulge towards the patch).
    let river: Vec<String> = (0..=120)
        .map(|k| format!("[{},32.0]", 120.0 + 0.01 * k as f64))
        .collect();
    std::fs::write(
        d.path().join("river.geojson"),
        format!(
            r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{{"name":"长江"}},"geometry":{{"type":"LineString","coordinates":[{}]}}}}]}}"#,
            river.join(",")
        ),
    )
    .unwrap();
    let layers = d.path().join("l.toml");
    std::fs::write(
        &layers,
        "[[layer]]\nname = \"yangtze_5km\"\npath = \"river.geojson\"\nkind = \"river_corridor\"\nbuffer_m = 5000\n",
    )
    .unwrap();
    // 0.0442° to 0.0450° of latitude north of the river: 4901 m to 4990 m on GRS80.
    let near = lonlat_patch("N1", 120.6, 32.0442, 120.601, 32.0450);
    let far = lonlat_patch("Y1", 104.7, 28.8, 104.701, 28.801);
    let write = |name: &str, feats: &[&str]| {
        let p = d.path().join(name);
        std::fs::write(
            &p,
            format!(
                r#"{{"type":"FeatureCollection","features":[{}]}}"#,
                feats.join(",")
            ),
        )
        .unwrap();
        p
    };
    let alone = write("alone.geojson", &[&near]);
    let batch = write("batch.geojson", &[&far, &near]);
    let mut got = Vec::new();
    for (p, name) in [(alone, "alone"), (batch, "batch")] {
        let out = d.path().join(format!("ov_{name}"));
        let o = overlay(&p, &layers, &out, &[]);
        assert!(o.status.success(), "{}", stderr(&o));
        let rows = csv_rows(&out.join("findings.csv"));
        let r = rows.iter().find(|r| r["id"] == "N1").unwrap().clone();
        got.push((
            r["river_distance_m"].clone(),
            r["river_corridor_m2"].clone(),
        ));
    }
    assert_eq!(got[0], got[1]);
    let dist: f64 = got[0].0.parse().unwrap();
    assert!((dist - 4901.0).abs() < 5.0, "{dist}");
    // Wholly inside the corridor: its area is the patch's.
    let hits = csv_rows(&d.path().join("ov_batch/zone_hits.csv"));
    let pct: f64 = hits.iter().find(|h| h["patch_id"] == "N1").unwrap()["overlap_pct"]
        .parse()
        .unwrap();
    assert!((pct - 100.0).abs() < 1e-6, "{pct}");
}
