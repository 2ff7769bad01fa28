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

/// A GeoJSON FeatureCollection of `feats` written to `path`.
fn collection(path: &Path, feats: &[&str]) -> std::path::PathBuf {
    std::fs::write(
        path,
        format!(
            r#"{{"type":"FeatureCollection","features":[{}]}}"#,
            feats.join(",")
        ),
    )
    .unwrap();
    path.to_path_buf()
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
    let alone = collection(&d.path().join("alone.geojson"), &[&near]);
    let batch = collection(&d.path().join("batch.geojson"), &[&far, &near]);
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

/// A licence square (lon/lat `w s e n`) as 国土 TXT corners in the CGCS2000 3° Gauss-Krüger
/// zone 40 with its prefix (EPSG:4528, CM 120° E).
fn corner_licence_gk40(licence: &str, [w, s_, e, n]: [f64; 4]) -> String {
    use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};
    let mut ll = SpatialRef::from_epsg(4490).unwrap();
    ll.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let mut gk = SpatialRef::from_epsg(4528).unwrap();
    gk.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let t = CoordTransform::new(&ll, &gk).unwrap();
    let mut xs = vec![w, e, e, w, w];
    let mut ys = vec![s_, s_, n, n, s_];
    t.transform_coords(&mut xs, &mut ys, &mut [0.0; 5]).unwrap();
    let mut text = format!(
        "[属性描述]\n坐标系=2000国家大地坐标系\n几度分带=3\n投影类型=高斯克吕格\n计量单位=米\n带号=40\n[地块坐标]\n5,,{licence},地块1,面,,采矿用地,,@\n"
    );
    for k in 0..5 {
        // Northing first, then the easting with its zone prefix.
        text.push_str(&format!("J{},1,{:.2},{:.2}\n", k + 1, ys[k], xs[k]));
    }
    text
}

/// Review follow-up: with patches in two work CRSs (Nantong and Yibin, UTM 51N and 48N)
/// the layers were loaded once per CRS, so a river near both groups and the parcels of a
/// corner-coordinate file (read whole each time) counted twice in the manifest's
/// `features_read`, and every file was read again. Each file is now read once and each
/// feature counted once (in `features_read` and, session 20, in `zones`), and each
/// patch's findings are those of its group run alone.
#[test]
fn layers_are_read_once_for_patches_in_two_work_crss() {
    let d = tempfile::tempdir().unwrap();
    // One river past both: along 28.85° N at Yibin, then to 32° N past Nantong.
    std::fs::write(
        d.path().join("river.geojson"),
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"长江"},"geometry":{"type":"LineString","coordinates":[[104.0,28.85],[105.0,28.85],[120.0,32.0],[121.2,32.0]]}}]}"#,
    )
    .unwrap();
    std::fs::write(
        d.path().join("lic.txt"),
        corner_licence_gk40("C1", [120.595, 32.04, 120.605, 32.05]),
    )
    .unwrap();
    std::fs::write(
        d.path().join("lic.csv"),
        "许可证号,采矿权人,有效期起,有效期止\nC1,甲公司,2010-01-01,2030-12-31\n",
    )
    .unwrap();
    let layers = d.path().join("l.toml");
    std::fs::write(
        &layers,
        "[[layer]]\nname = \"yangtze_5km\"\npath = \"river.geojson\"\nkind = \"river_corridor\"\nbuffer_m = 5000\n\n\
         [[layer]]\nname = \"rights\"\npath = \"lic.txt\"\nformat = \"guotu_txt\"\nkind = \"mining_right\"\nattributes = \"lic.csv\"\n",
    )
    .unwrap();
    let nantong = [
        lonlat_patch("N1", 120.6, 32.0442, 120.601, 32.0450),
        lonlat_patch("N2", 120.7, 32.01, 120.701, 32.011),
    ];
    let yibin = [lonlat_patch("Y1", 104.7, 28.8, 104.701, 28.801)];
    let run = |name: &str, feats: &[&str]| {
        let p = collection(&d.path().join(format!("{name}.geojson")), feats);
        let out = d.path().join(name);
        let o = overlay(&p, &layers, &out, &[]);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        out
    };
    let batch = run("batch", &[&yibin[0], &nantong[0], &nantong[1]]);
    let m = manifest_of_overlay(&batch);
    assert_eq!(m["work_crs_groups"].as_array().unwrap().len(), 2, "{m}");
    let per_layer = |key: &str| -> Vec<u64> {
        m["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l[key].as_u64().unwrap())
            .collect()
    };
    assert_eq!(per_layer("features_read"), [1, 1], "{m}");
    // Zones too: the river is one zone of its layer though both groups have it (it was
    // counted once per work CRS: 2); the licence lies near Nantong's patches only.
    assert_eq!(per_layer("zones"), [1, 1], "{m}");
    // Each group alone gives the findings the batch gives its patches.
    let rows = |out: &Path| csv_rows(&out.join("findings.csv"));
    let batch_rows = rows(&batch);
    let alone: Vec<_> = rows(&run("nantong", &[&nantong[0], &nantong[1]]))
        .into_iter()
        .chain(rows(&run("yibin", &[&yibin[0]])))
        .collect();
    assert_eq!(alone.len(), 3);
    for a in &alone {
        let b = batch_rows.iter().find(|r| r["id"] == a["id"]).unwrap();
        assert_eq!(a, b, "{}", a["id"]);
    }
    // And they are the findings the layers should give: N1 inside the licence and the
    // corridor, Y1 near the river there too.
    let n1 = batch_rows.iter().find(|r| r["id"] == "N1").unwrap();
    assert_eq!(n1["licence_status"], "inside", "{n1:?}");
    for id in ["N1", "Y1"] {
        let r = batch_rows.iter().find(|r| r["id"] == id).unwrap();
        let dist: f64 = r["river_distance_m"].parse().unwrap();
        assert!(dist < 6000.0, "{id}: {dist}");
    }
}

fn manifest_of_overlay(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("overlay_manifest.json")).unwrap())
        .unwrap()
}

/// The header of a CSV that minewatch wrote (BOM dropped).
fn csv_header(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let first = text.trim_start_matches('\u{feff}').lines().next().unwrap();
    first.split(',').map(String::from).collect()
}

/// revZ2 F4: a patch file that already had a column overlay writes (`county_code`,
/// `zones`, `area_mu` in any case; every finding column when overlay runs again on its
/// own findings.gpkg) stopped with "choose a folder you can write to", blaming the output
/// folder. The input's clashing columns are now left out with a warning naming them, the
/// findings written in their place; an upper-case `AREA_M2` (a DBF's) is read as the
/// area; a rerun on findings.gpkg writes the same table as the first run.
#[test]
fn input_columns_overlay_writes_itself_are_replaced_with_a_warning() {
    let d = tempfile::tempdir().unwrap();
    let layers = licences(d.path());
    let patches = d.path().join("p.geojson");
    let props = |id: &str| {
        format!(
            r#"{{"id":"{id}","date_after":"2024-06-01","county_code":"999999","zones":"mine","Area_Mu":7.5,"note":"kept"}}"#
        )
    };
    let (p1, p2) = (props("P1"), props("P2"));
    let rows = [
        (p1.as_str(), 500_000.0, 3_500_000.0),
        (p2.as_str(), 510_000.0, 3_500_000.0),
    ];
    std::fs::write(&patches, features(&rows)).unwrap();
    let out = d.path().join("ov");
    let o = overlay(&patches, &layers, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("overlay: warning:")
            && err.contains("county_code, zones, Area_Mu")
            && !err.contains("choose a folder"),
        "{err}"
    );
    let note = manifest_notes(&out);
    assert!(
        note.iter()
            .any(|n| n.contains("county_code, zones, Area_Mu")),
        "{note:?}"
    );
    let header = csv_header(&out.join("findings.csv"));
    for c in ["county_code", "zones", "area_mu", "note"] {
        let n = header.iter().filter(|h| h.eq_ignore_ascii_case(c)).count();
        assert_eq!(n, 1, "{c} in {header:?}");
    }
    let rows = csv_rows(&out.join("findings.csv"));
    // This run's values, not the input's: no admin layer, so no county; 100 m × 100 m.
    assert_eq!(rows[0]["county_code"], "");
    assert_eq!(rows[0]["zones"], "rights/L1 (100.0%)");
    let mu: f64 = rows[0]["area_mu"].parse().unwrap();
    assert!((mu - 15.0).abs() < 0.1, "{mu}");
    assert_eq!(rows[0]["note"], "kept");

    // Overlay again on its own findings (the rights layer arrived later): the same table.
    let again = d.path().join("ov2");
    let o = overlay(&out.join("findings.gpkg"), &layers, &again, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(csv_header(&again.join("findings.csv")), header);
    assert_eq!(csv_rows(&again.join("findings.csv")), rows);

    // A DBF's upper-case AREA_M2 is the area (not a second `area_m2` added beside it).
    let upper = d.path().join("upper.geojson");
    std::fs::write(
        &upper,
        features(&[(r#"{"ID":"P1","AREA_M2":12345.0}"#, 500_000.0, 3_500_000.0)]),
    )
    .unwrap();
    let out = d.path().join("ov_upper");
    let o = overlay(&upper, &layers, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = csv_rows(&out.join("findings.csv"));
    assert_eq!(rows[0]["id"], "P1");
    assert_eq!(rows[0]["area_m2"], "12345");
}

fn manifest_notes(out: &Path) -> Vec<String> {
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("overlay_manifest.json")).unwrap()).unwrap();
    m["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect()
}
