//! `minewatch overlay`: outside reference (GDAL/OGR SQLite dialect), real layers (Yangtze,
//! Jiangsu, GEM coal-mine licences), corner-coordinate licences in a CGCS2000 GK zone,
//! bad inputs, determinism and the Chinese header.

mod common;
use common::*;
use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};
use gdal::vector::{Geometry, LayerAccess};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn detect(dir: &Path, images: &[&Path], extra: &[&str]) -> std::path::PathBuf {
    let out = dir.join("det");
    let mut args = vec!["detect"];
    args.extend(images.iter().map(|p| s(p)));
    args.extend(["--out", s(&out)]);
    args.extend(extra);
    let o = minewatch(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    out
}

/// The bundled Nanjing Landsat pair (the README demo's) detected into `dir/det`.
fn detect_nanjing(dir: &Path, extra: &[&str]) -> std::path::PathBuf {
    let a = fixture("real/nanjing_L5TM_20000503_nw400.tif");
    let b = fixture("real/nanjing_L5TM_20020712_nw400.tif");
    detect(dir, &[&a, &b], extra)
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

const SYNTH_LAYERS: &str = r#"
[[layer]]
name = "province"
path = "zones.geojson"
where = "zone_type = 'province'"
kind = "custom"
weight = "province"
id_field = "zone_id"
[[layer]]
name = "river"
path = "zones.geojson"
where = "zone_type = 'river'"
kind = "river_corridor"
id_field = "zone_id"
[[layer]]
name = "redline"
path = "zones.geojson"
where = "zone_type = 'redline'"
kind = "ecological_red_line"
id_field = "zone_id"
[[layer]]
name = "nomining"
path = "zones.geojson"
where = "zone_type = 'nomining'"
kind = "no_mining_zone"
id_field = "zone_id"
[[layer]]
name = "mine"
path = "zones.geojson"
where = "zone_type = 'mine'"
kind = "mining_right"
id_field = "zone_id"
"#;

/// Overlap areas agree with GDAL/OGR's SQLite dialect (GEOS `ST_Intersection` +
/// `CollectionExtract` + `ST_Area`, as the peer pipeline computes them) to 1e-6 relative,
/// on generated zones (wavy provinces, a buffered river, stars, rectangles).
#[test]
fn overlaps_match_gdal_sqlite_dialect() {
    if !have_tool("ogr2ogr") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let [a, b] = synth_pair(d.path(), 768, 768, 11);
    let spec = minewatch_synth::SceneSpec::small(768, 768, 11);
    let counts = minewatch_synth::zones::ZoneCounts {
        redlines: 120,
        nomining: 30,
        mines: 100,
    };
    let zones = d.path().join("zones.geojson");
    minewatch_synth::zones::write_zones(&spec, counts, &zones).unwrap();
    let det = detect(d.path(), &[&a, &b], &[]);
    let layers = d.path().join("layers.toml");
    std::fs::write(&layers, SYNTH_LAYERS).unwrap();
    let out = d.path().join("ov");
    let o = overlay(&det, &layers, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let ours: BTreeMap<(String, String), f64> = csv_rows(&out.join("zone_hits.csv"))
        .into_iter()
        .map(|r| {
            (
                (r["patch_id"].clone(), r["zone_id"].clone()),
                r["overlap_grid_m2"].parse().unwrap(),
            )
        })
        .collect();
    // GDAL's answer on the same patches and zones.
    let work = d.path().join("work.gpkg");
    let run = |args: &[&str]| {
        let o = Command::new("ogr2ogr").args(args).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    run(&[
        "-f",
        "GPKG",
        s(&work),
        s(&det.join("patches.gpkg")),
        "patches",
    ]);
    run(&["-update", s(&work), s(&zones), "-nln", "zones"]);
    let sql = "SELECT p.id AS patch_id, z.zone_id AS zone_id, ST_Area(p.geom) AS parea, \
               COALESCE(ST_Area(CollectionExtract(ST_Intersection(p.geom, z.geom), 3)), 0) AS a \
               FROM patches p, zones z WHERE ST_Intersects(p.geom, z.geom)";
    let gcsv = d.path().join("gdal.csv");
    run(&[
        "-f",
        "CSV",
        s(&gcsv),
        s(&work),
        "-dialect",
        "SQLite",
        "-sql",
        sql,
    ]);
    let gdal_rows = csv_rows(&gcsv);
    assert!(gdal_rows.len() > 100, "{} pairs", gdal_rows.len());
    let mut compared = 0;
    for r in &gdal_rows {
        let key = (r["patch_id"].clone(), r["zone_id"].clone());
        let (g, parea): (f64, f64) = (r["a"].parse().unwrap(), r["parea"].parse().unwrap());
        match ours.get(&key) {
            Some(&m) => {
                assert!(
                    // 1e-6 relative, plus the 1e-6 m² the CSV rounds to.
                    (m - g).abs() <= 1e-6 * g + 1e-6,
                    "{key:?}: minewatch {m} vs GDAL {g}"
                );
                compared += 1;
            }
            // Touching without area: GDAL lists it, we do not.
            None => assert!(g <= 1e-6 * parea, "{key:?} missing; GDAL {g}"),
        }
    }
    assert_eq!(compared, ours.len(), "every minewatch hit is one of GDAL's");
}

/// The README demo: the Nanjing pair against the real Yangtze (1:4M lines, 5 km and 1 km
/// corridors of both banks dissolved) and Jiangsu province.
#[test]
fn nanjing_patches_against_yangtze_and_jiangsu() {
    let d = tempfile::tempdir().unwrap();
    let det = detect_nanjing(d.path(), &[]);
    let out = d.path().join("ov");
    let o = overlay(
        &det,
        &root().join("pipelines/layers/nanjing.toml"),
        &out,
        &["--format", "json"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rows = csv_rows(&out.join("findings.csv"));
    assert_eq!(summary["patches"].as_u64().unwrap() as usize, rows.len());
    assert!(rows.len() > 10);
    let mut in5 = 0;
    for r in &rows {
        assert_eq!(r["province_code"], "320000", "{}", r["id"]);
        assert_eq!(r["province_name"], "江苏省");
        let dist: f64 = r["river_distance_m"].parse().unwrap();
        let zones = &r["zones"];
        // The buffer's round ends are 128-gons inside the true 5 km disc around each
        // vertex, cutting at most 1.51 m off it.
        if zones.contains("yangtze_5km/") {
            in5 += 1;
            assert!(dist < 5000.0, "{}: {dist}", r["id"]);
        } else {
            assert!(dist > 5000.0 - 1.51, "{}: {dist}", r["id"]);
        }
        if zones.contains("yangtze_1km/") {
            assert!(zones.contains("yangtze_5km/") && dist < 1000.0);
        }
        let corridor: f64 = r["river_corridor_m2"].parse().unwrap();
        let area: f64 = r["area_m2"].parse().unwrap();
        assert!(corridor <= area + 0.01);
    }
    assert!(
        in5 > 0 && in5 < rows.len(),
        "{in5} of {} in the corridor",
        rows.len()
    );
    // Outputs open in GDAL: findings polygons and the hits table.
    if have_tool("ogrinfo") {
        for (f, layer) in [
            ("findings.gpkg", "findings"),
            ("findings.gpkg", "zone_hits"),
            ("findings.geojson", "findings"),
        ] {
            let o = Command::new("ogrinfo")
                .args(["-ro", "-so", s(&out.join(f)), layer])
                .output()
                .unwrap();
            let t = String::from_utf8_lossy(&o.stdout);
            assert!(
                o.status.success() && t.contains("Feature Count"),
                "{f} {layer}: {t}"
            );
        }
    }
}

fn utm49() -> (SpatialRef, SpatialRef) {
    let mut wgs = SpatialRef::from_epsg(4326).unwrap();
    wgs.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let mut utm = SpatialRef::from_epsg(32649).unwrap();
    utm.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    (wgs, utm)
}

fn square(cx: f64, cy: f64, half: f64) -> Geometry {
    Geometry::bbox(cx - half, cy - half, cx + half, cy + half).unwrap()
}

/// Real licence polygons (GEM coal-mine boundaries): a patch inside, one straddling the
/// boundary (越界, with the outside area GDAL measures), one far away (无证), and the same
/// inside patch judged against an expiry date (expired).
#[test]
fn real_licences_give_inside_partly_outside_and_unlicensed() {
    let d = tempfile::tempdir().unwrap();
    let gem = fixture("vectors/gem_mines_sample.geojson");
    let ds = gdal::Dataset::open(&gem).unwrap();
    let mut layer = ds.layer(0).unwrap();
    let (wgs, utm) = utm49();
    let to_utm = CoordTransform::new(&wgs, &utm).unwrap();
    let lic = layer
        .features()
        .find(|f| {
            let i = f.field_index("id").unwrap();
            f.field_as_string(i).unwrap().as_deref() == Some("M1201.B1")
        })
        .unwrap();
    let lic = lic.geometry().unwrap().transform(&to_utm).unwrap();
    // A point at least 300 m inside the licence: a vertex of the inward buffer.
    let core = lic.buffer(-300.0, 8).unwrap();
    let (cx, cy, _) = core.get_geometry(0).get_point(0);
    let inside = lic.intersection(&square(cx, cy, 150.0)).unwrap();
    assert!(
        (inside.area() - 300.0 * 300.0).abs() < 1.0,
        "centre square inside"
    );
    let (vx, vy, _) = lic.get_geometry(0).get_point(0);
    let straddle = square(vx, vy, 120.0);
    let straddle_out = straddle.area() - straddle.intersection(&lic).unwrap().area();
    assert!(straddle_out > 1000.0 && straddle_out < straddle.area() - 1000.0);
    let env = lic.envelope();
    let far = square(env.MaxX + 5000.0, cy, 100.0);
    // A patches file as a user might bring it: GeoPackage in UTM 49N.
    let patches = d.path().join("patches.gpkg");
    {
        let drv = gdal::DriverManager::get_driver_by_name("GPKG").unwrap();
        let mut pds = drv.create_vector_only(&patches).unwrap();
        let l = pds
            .create_layer(gdal::vector::LayerOptions {
                name: "patches",
                srs: Some(&utm),
                ty: gdal::vector::OGRwkbGeometryType::wkbMultiPolygon,
                options: None,
            })
            .unwrap();
        l.create_defn_fields(&[
            ("id", gdal::vector::OGRFieldType::OFTString),
            ("date_after", gdal::vector::OGRFieldType::OFTString),
        ])
        .unwrap();
        for (id, g) in [("inside", &inside), ("straddle", &straddle), ("far", &far)] {
            let mut f = gdal::vector::Feature::new(l.defn()).unwrap();
            f.set_field_string(0, id).unwrap();
            f.set_field_string(1, "2024-06-01").unwrap();
            f.set_geometry(g.clone()).unwrap();
            f.create(&l).unwrap();
        }
    }
    let layers = d.path().join("layers.toml");
    let mk = |extra: &str| {
        format!(
            "[[layer]]\nname = \"licences\"\npath = \"{}\"\nkind = \"mining_right\"\nid_field = \"id\"\nname_field = \"mine_name\"\nholder_field = \"owners\"\n{extra}",
            gem.display()
        )
    };
    std::fs::write(&layers, mk("")).unwrap();
    let out = d.path().join("ov");
    let o = overlay(&patches, &layers, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = csv_rows(&out.join("findings.csv"));
    let by: BTreeMap<&str, &BTreeMap<String, String>> =
        rows.iter().map(|r| (r["id"].as_str(), r)).collect();
    assert_eq!(by["inside"]["licence_status"], "inside");
    assert_eq!(by["inside"]["licences"], "M1201.B1");
    assert_eq!(by["straddle"]["licence_status"], "partly_outside");
    assert_eq!(by["straddle"]["licence_status_zh"], "越界");
    assert_eq!(by["far"]["licence_status"], "outside_all_rights");
    // The outside area is the share GDAL measures times the ellipsoidal patch area.
    let area: f64 = by["straddle"]["area_m2"].parse().unwrap();
    let out_m2: f64 = by["straddle"]["outside_licence_m2"].parse().unwrap();
    let want = straddle_out / straddle.area() * area;
    assert!(
        (out_m2 - want).abs() <= 1e-6 * area + 0.01,
        "{out_m2} vs {want}"
    );
    // UTM scale at this meridian: ellipsoidal area differs from the plane by < 0.1 %.
    assert!(
        (area / straddle.area() - 1.0).abs() < 1e-3,
        "{area} vs {}",
        straddle.area()
    );
    // Judged on 2024-06-01 against a licence valid to its 2020 record date: expired.
    std::fs::write(&layers, mk("valid_to_field = \"source_date\"\n")).unwrap();
    let out2 = d.path().join("ov2");
    let o = overlay(&patches, &layers, &out2, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = csv_rows(&out2.join("findings.csv"));
    assert_eq!(rows[0]["licence_status"], "expired");
}

/// A licence given as 国土 TXT corner coordinates (CGCS2000 GK zone 40 with the zone
/// prefix, northing first, GBK-encoded) around one Nanjing patch: that patch is inside,
/// the holder comes from the attribute table, the others are unlicensed.
#[test]
fn corner_coordinate_licence_in_gauss_kruger() {
    let d = tempfile::tempdir().unwrap();
    let det = detect_nanjing(d.path(), &["--method", "rule"]);
    let patches = csv_rows(&det.join("patches.csv"));
    let p = &patches[0];
    let f = |k: &str| p[k].parse::<f64>().unwrap();
    let (w, s_, e, n) = (
        f("bbox_west") - 0.001,
        f("bbox_south") - 0.001,
        f("bbox_east") + 0.001,
        f("bbox_north") + 0.001,
    );
    let mut geo = SpatialRef::from_epsg(4490).unwrap();
    geo.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let mut gk = SpatialRef::from_epsg(4528).unwrap();
    gk.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let t = CoordTransform::new(&geo, &gk).unwrap();
    let mut xs = [w, e, e, w];
    let mut ys = [s_, s_, n, n];
    t.transform_coords(&mut xs, &mut ys, &mut [0.0; 4]).unwrap();
    assert!(xs.iter().all(|x| (40_000_000.0..41_000_000.0).contains(x)));
    let mut txt = String::from(
        "[属性描述]\n坐标系=2000国家大地坐标系\n几度分带=3\n投影类型=高斯克吕格\n计量单位=米\n带号=40\n精度=0.01\n[地块坐标]\n5,,C3200002009011120001234,南京测试矿,面,,采矿用地,,@\n",
    );
    for k in 0..5 {
        let i = k % 4;
        txt.push_str(&format!("J{},1,{:.2},{:.2}\n", i + 1, ys[i], xs[i]));
    }
    let (gbk, _, _) = encoding_rs::GBK.encode(&txt);
    let corners = d.path().join("licences.txt");
    std::fs::write(&corners, &gbk).unwrap();
    let attrs = d.path().join("licences.csv");
    std::fs::write(
        &attrs,
        "licence,holder,mineral,right_type,valid_from,valid_to\nC3200002009011120001234,南京某建材公司,建筑石料用灰岩,采矿权,2001-01-01,2030-12-31\n",
    )
    .unwrap();
    let layers = d.path().join("layers.toml");
    std::fs::write(
        &layers,
        "[[layer]]\nname = \"rights\"\npath = \"licences.txt\"\nformat = \"guotu_txt\"\nkind = \"mining_right\"\nattributes = \"licences.csv\"\ncarry = [\"holder\", \"mineral\"]\n",
    )
    .unwrap();
    let out = d.path().join("ov");
    let o = overlay(&det, &layers, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = csv_rows(&out.join("findings.csv"));
    assert_eq!(rows[0]["id"], p["id"]);
    assert_eq!(rows[0]["licence_status"], "inside");
    assert_eq!(rows[0]["licences"], "C3200002009011120001234");
    // Granted 2001-01-01, between the images (2000-05-03, 2002-07-12): the works may
    // predate it, and the finding says so.
    assert_eq!(rows[0]["licence_granted_in_pair"], "1");
    assert!(rows[1..]
        .iter()
        .all(|r| r["licence_granted_in_pair"] == "0"));
    assert!(rows[1..]
        .iter()
        .all(|r| r["licence_status"] == "outside_all_rights"));
    let hits = csv_rows(&out.join("zone_hits.csv"));
    assert!(
        hits[0]["attributes"].contains("holder=南京某建材公司"),
        "{:?}",
        hits[0]
    );

    // The same licence with other attribute tables: write the table, overlay into `name`.
    let with_table = |table: &str, layers: &Path, name: &str| {
        std::fs::write(&attrs, table).unwrap();
        let out = d.path().join(name);
        (overlay(&det, layers, &out, &[]), out)
    };
    let holder_and_status = |out: &Path| {
        let rows = csv_rows(&out.join("findings.csv"));
        let hits = csv_rows(&out.join("zone_hits.csv"));
        (
            rows[0]["licence_status"].clone(),
            hits[0]["attributes"].clone(),
        )
    };
    // A register with Chinese headers: its holder and dates are found without
    // declarations, and a licence that ended before the later image is expired.
    let (o, out_zh) = with_table(
        "许可证号,采矿权人,矿种,有效期起,有效期止\nC3200002009011120001234,南京某建材公司,建筑石料用灰岩,1995-01-01,2001-12-31\n",
        &layers,
        "ov_zh",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let (status, attributes) = holder_and_status(&out_zh);
    assert_eq!(status, "expired");
    assert!(attributes.contains("holder=南京某建材公司"), "{attributes}");
    // Granted before the earlier image: inside, nothing to date.
    let (o, out_old) = with_table(
        "licence,holder,valid_from,valid_to\nC3200002009011120001234,甲,1999-01-01,2030-12-31\n",
        &layers,
        "ov_old",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = csv_rows(&out_old.join("findings.csv"));
    assert_eq!(rows[0]["licence_status"], "inside");
    assert_eq!(rows[0]["licence_granted_in_pair"], "0");
    // A declared column is used; a declared column the table lacks, or a licence listed
    // twice, stops the run naming the file and what is wrong.
    let declared = d.path().join("layers_declared.toml");
    std::fs::write(
        &declared,
        "[[layer]]\nname = \"rights\"\npath = \"licences.txt\"\nformat = \"guotu_txt\"\nkind = \"mining_right\"\nattributes = \"licences.csv\"\nholder_field = \"单位\"\nvalid_to_field = \"到期日\"\n",
    )
    .unwrap();
    let (o, out_decl) = with_table(
        "证号,单位,到期日\nC3200002009011120001234,南京某建材公司,2001-12-31\n",
        &declared,
        "ov_decl",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(holder_and_status(&out_decl).0, "expired");
    let (o, _) = with_table(
        "证号,单位,截至\nC3200002009011120001234,南京某建材公司,2001-12-31\n",
        &declared,
        "ov_missing",
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("licences.csv") && stderr(&o).contains("到期日"),
        "{}",
        stderr(&o)
    );
    // So does a declared name column (it fell back to guessed mine-name columns).
    let named = d.path().join("layers_named.toml");
    std::fs::write(
        &named,
        "[[layer]]\nname = \"rights\"\npath = \"licences.txt\"\nformat = \"guotu_txt\"\nkind = \"mining_right\"\nattributes = \"licences.csv\"\nname_field = \"矿山名\"\n",
    )
    .unwrap();
    let (o, out_named) = with_table(
        "licence,holder,矿山名称\nC3200002009011120001234,甲,南京某石料矿\n",
        &named,
        "ov_named",
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("layer `rights`")
            && e.contains("licences.csv")
            && e.contains("`矿山名`")
            && e.contains("licence, holder, 矿山名称"),
        "{e}"
    );
    assert!(!out_named.join("findings.csv").exists());
    let (o, _) = with_table(
        "licence,holder,valid_to\nC3200002009011120001234,甲,2030-12-31\nC3200002009011120001234,甲,2001-12-31\n",
        &layers,
        "ov_twice",
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("listed twice") && stderr(&o).contains("rows 2 and 3"),
        "{}",
        stderr(&o)
    );

    // A broken file: the error names the file, the line, the licence and the point, and
    // nothing is written.
    let broken = txt.replacen(
        &format!("J1,1,{:.2},{:.2}\n", ys[0], xs[0]),
        "J1,1,3545000.00,abc\n",
        1,
    );
    std::fs::write(&corners, broken).unwrap();
    let out3 = d.path().join("ov3");
    let o = overlay(&det, &layers, &out3, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("licences.txt") && e.contains("line 10") && e.contains("J1"),
        "{e}"
    );
    assert!(!out3.join("findings.csv").exists() && !out3.join("overlay_manifest.json").exists());
}

/// A detect run publishes its manifest last: a folder without one was left by a run that
/// did not finish and may hold no or an older run's patches, so it is refused.
#[test]
fn an_unfinished_detect_folder_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let [a, b] = synth_pair(d.path(), 64, 64, 5);
    let det = detect(d.path(), &[&a, &b], &["--quiet"]);
    std::fs::remove_file(det.join("manifest.json")).unwrap();
    let out = d.path().join("ov");
    let o = overlay(
        &det,
        &root().join("pipelines/layers/nanjing.toml"),
        &out,
        &[],
    );
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(
        e.contains(s(&det)) && e.contains("no manifest.json") && e.contains("run it again"),
        "{e}"
    );
    assert!(!out.join("findings.gpkg").exists());
}

#[test]
fn bad_layers_exit_1_naming_layer_and_field_and_write_nothing() {
    let d = tempfile::tempdir().unwrap();
    let det = detect_nanjing(d.path(), &[]);
    let gpkg = fixture("vectors/china_nanjing.gpkg");
    // A shapefile without its .prj: no CRS.
    let shp = d.path().join("noprj.shp");
    if have_tool("ogr2ogr") {
        let o = Command::new("ogr2ogr")
            .args([s(&shp), s(&gpkg), "provinces"])
            .output()
            .unwrap();
        assert!(o.status.success());
        std::fs::remove_file(d.path().join("noprj.prj")).unwrap();
    }
    let cases: Vec<(String, &str)> = vec![
        (
            "[[layer]]\nname = \"gone\"\npath = \"missing.gpkg\"\nkind = \"nature_reserve\"\n".into(),
            "layer `gone`",
        ),
        (
            format!("[[layer]]\nname = \"prov\"\npath = \"{}\"\nlayer = \"provinces\"\nkind = \"admin_division\"\nlevel = \"province\"\ncode_field = \"gb_code\"\n", gpkg.display()),
            "no field `gb_code`",
        ),
        (
            format!("[[layer]]\nname = \"which\"\npath = \"{}\"\nkind = \"nature_reserve\"\n", gpkg.display()),
            "say which with `layer",
        ),
        (
            format!("[[layer]]\nname = \"lines\"\npath = \"{}\"\nlayer = \"yangtze_lines\"\nkind = \"no_mining_zone\"\n", gpkg.display()),
            "set `buffer_m`",
        ),
        (
            format!("[[layer]]\nname = \"x\"\npath = \"{}\"\nlayer = \"nope\"\nkind = \"special_land\"\n", gpkg.display()),
            "no layer `nope`",
        ),
        (
            format!("[[layer]]\nname = \"prj\"\npath = \"{}\"\nkind = \"special_land\"\n", shp.display()),
            "has no CRS",
        ),
        ("[[layer]]\nname = \"k\"\npath = \"a\"\nkind = \"red\"\n".into(), "unknown kind"),
    ];
    for (i, (toml, want)) in cases.iter().enumerate() {
        if want.contains("CRS") && !shp.exists() {
            continue;
        }
        let layers = d.path().join(format!("l{i}.toml"));
        std::fs::write(&layers, toml).unwrap();
        let out = d.path().join(format!("ov{i}"));
        let o = overlay(&det, &layers, &out, &[]);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{want}: {e}");
        assert!(e.contains(want), "want `{want}` in: {e}");
        let left: Vec<_> = std::fs::read_dir(&out)
            .map(|r| r.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "{want}: left {left:?}");
    }
    // The field error lists what the layer has.
    let l = d.path().join("l1.toml");
    let o = overlay(&det, &l, &d.path().join("ovx"), &[]);
    assert!(stderr(&o).contains("adcode99"), "{}", stderr(&o));
}

/// A mining-rights layer on the GeoPackage's `provinces` with the given filter.
fn rights_on_gpkg(filter: &str) -> String {
    format!(
        "[[layer]]\nname = \"rights\"\npath = \"{}\"\nlayer = \"provinces\"\nwhere = \"{}\"\nkind = \"mining_right\"\n",
        fixture("vectors/china_nanjing.gpkg").display(),
        filter.replace('"', "\\\"")
    )
}

/// Review finding: GeoPackage layers compile their `where` only when reading starts, so
/// a bad filter read as an empty layer (exit 0, every patch 无证). `overlay`, `validate`
/// and `run` (before its detection) now exit 1 naming the layer, the filter and GDAL's
/// message, as for a GeoJSON layer.
#[test]
fn a_bad_where_on_a_geopackage_layer_exits_1_in_overlay_validate_and_run() {
    let d = tempfile::tempdir().unwrap();
    let a = fixture("real/nanjing_L5TM_20000503_nw400.tif");
    let b = fixture("real/nanjing_L5TM_20020712_nw400.tif");
    let det = detect(d.path(), &[&a, &b], &[]);
    for (i, w) in ["adcode99 = = 3", "nosuchfield = 5", "adcode99 = 'abc"]
        .iter()
        .enumerate()
    {
        let layers = d.path().join(format!("bad{i}.toml"));
        std::fs::write(&layers, rights_on_gpkg(w)).unwrap();
        let out = d.path().join(format!("ov{i}"));
        let o = overlay(&det, &layers, &out, &[]);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{w}: {e}");
        assert!(
            e.contains("layer `rights`")
                && e.contains("china_nanjing.gpkg")
                && e.contains(&format!("`where = \"{w}\"`"))
                && e.contains("failed to prepare SQL")
                && e.contains("adcode99, adcode93, name"),
            "{w}: {e}"
        );
        assert!(!out.join("overlay_manifest.json").exists(), "{w}");
        // The same layers in a run config: `validate` and `run` refuse them up front.
        let cfg = d.path().join(format!("run{i}.toml"));
        let run_out = d.path().join(format!("run{i}"));
        std::fs::write(
            &cfg,
            format!(
                "name = \"x\"\nout = \"{}\"\n[detect]\nimages = [\"{}\", \"{}\"]\n[overlay]\nlayers = \"{}\"\n",
                run_out.display(),
                a.display(),
                b.display(),
                layers.display()
            ),
        )
        .unwrap();
        for cmd in ["validate", "run"] {
            let o = minewatch(&[cmd, s(&cfg)]);
            let e = stderr(&o);
            assert_eq!(o.status.code(), Some(1), "{cmd} {w}: {e}");
            assert!(
                e.contains("layer `rights`") && e.contains("failed to prepare SQL"),
                "{cmd} {w}: {e}"
            );
        }
        assert!(
            !run_out.join("detect").exists(),
            "run stopped before detecting"
        );
    }
}

/// Review finding: a layer with no features under its filter (or none at all) passed
/// without a word, and an empty mining-rights layer makes every patch 无证. It is a
/// warning on stderr and a note in the manifest naming the layer — not an error (a county
/// may have no red-line area) — while a layer whose features all lie elsewhere is not
/// empty and is not warned about.
#[test]
fn an_empty_zone_layer_is_warned_about_and_noted() {
    let d = tempfile::tempdir().unwrap();
    let det = detect_nanjing(d.path(), &[]);
    let mut toml = rights_on_gpkg("adcode99 = 1");
    // Six Shanxi licences: features, none near Nanjing.
    toml.push_str(&format!(
        "[[layer]]\nname = \"shanxi\"\npath = \"{}\"\nkind = \"mining_right\"\nid_field = \"id\"\n",
        fixture("vectors/gem_mines_sample.geojson").display()
    ));
    // A layer emptied with `ogr2ogr -where "1=0"`: no features and no filter.
    let emptied = d.path().join("empty.gpkg");
    if have_tool("ogr2ogr") {
        let o = Command::new("ogr2ogr")
            .args([
                "-where",
                "1=0",
                s(&emptied),
                s(&fixture("vectors/china_nanjing.gpkg")),
                "provinces",
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        toml.push_str(&format!(
            "[[layer]]\nname = \"redline\"\npath = \"{}\"\nkind = \"ecological_red_line\"\n",
            emptied.display()
        ));
    }
    let layers = d.path().join("layers.toml");
    std::fs::write(&layers, toml).unwrap();
    let out = d.path().join("ov");
    let o = overlay(&det, &layers, &out, &[]);
    let e = stderr(&o);
    assert!(o.status.success(), "{e}");
    let notes: Vec<String> = manifest_of(&out)["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect();
    let mut empty = vec!["rights"];
    if emptied.exists() {
        empty.push("redline");
    }
    for name in &empty {
        let warned: Vec<&str> = e
            .lines()
            .filter(|l| {
                l.contains("warning")
                    && l.contains(&format!("layer `{name}`"))
                    && l.contains("no features")
            })
            .collect();
        assert_eq!(warned.len(), 1, "{name}: {e}");
        assert!(
            notes
                .iter()
                .any(|n| n.contains(&format!("layer `{name}`")) && n.contains("no features")),
            "{name}: {notes:?}"
        );
    }
    assert!(e.contains("`where = \"adcode99 = 1\"`"), "{e}");
    assert!(
        !e.lines()
            .any(|l| l.contains("layer `shanxi`") && l.contains("no features")),
        "{e}"
    );
    assert!(!notes
        .iter()
        .any(|n| n.contains("layer `shanxi`") && n.contains("no features")));
    // With no right near them, every patch is outside all rights (the warning's point).
    let rows = csv_rows(&out.join("findings.csv"));
    assert!(!rows.is_empty());
    assert!(rows
        .iter()
        .all(|r| r["licence_status"] == "outside_all_rights"));
}

#[test]
fn outputs_are_identical_for_any_thread_count_and_header_zh_is_chinese() {
    let d = tempfile::tempdir().unwrap();
    let det = detect_nanjing(d.path(), &[]);
    let layers = root().join("pipelines/layers/nanjing.toml");
    let (o1, o2) = (d.path().join("t1"), d.path().join("t2"));
    assert!(overlay(&det, &layers, &o1, &["--threads", "1"])
        .status
        .success());
    assert!(overlay(&det, &layers, &o2, &["--threads", "2"])
        .status
        .success());
    for f in [
        "findings.gpkg",
        "findings.geojson",
        "findings.csv",
        "zone_hits.csv",
    ] {
        assert_eq!(
            std::fs::read(o1.join(f)).unwrap(),
            std::fs::read(o2.join(f)).unwrap(),
            "{f}"
        );
    }
    let zh = d.path().join("zh");
    assert!(overlay(&det, &layers, &zh, &["--header", "zh"])
        .status
        .success());
    let bytes = std::fs::read(zh.join("findings.csv")).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "BOM for Excel");
    let text = String::from_utf8(bytes).unwrap();
    let header = text.lines().next().unwrap();
    for col in [
        "图斑编号",
        "前时相",
        "矿权状态",
        "省级代码",
        "距江河干流距离(米)",
    ] {
        assert!(header.contains(col), "{col} in {header}");
    }
    // Same values under either header.
    let en = std::fs::read_to_string(o1.join("findings.csv")).unwrap();
    assert_eq!(
        en.lines().skip(1).collect::<Vec<_>>(),
        text.lines().skip(1).collect::<Vec<_>>()
    );
}

/// Shapefile (with .prj and a .cpg saying GBK) and FlatGeobuf layers read like the
/// GeoPackage they came from: same findings, Chinese names intact.
#[test]
fn shapefile_and_flatgeobuf_layers_match_the_geopackage() {
    if !have_tool("ogr2ogr") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let det = detect_nanjing(d.path(), &[]);
    let gpkg = fixture("vectors/china_nanjing.gpkg");
    let convert = |dst: &Path, args: &[&str]| {
        let mut all = vec![s(dst), s(&gpkg)];
        all.extend(args);
        let o = Command::new("ogr2ogr").args(&all).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    let shp = d.path().join("prov.shp");
    convert(&shp, &["provinces", "-lco", "ENCODING=GBK"]);
    let cpg = std::fs::read_to_string(d.path().join("prov.cpg")).unwrap();
    assert!(
        cpg.contains("936") || cpg.to_uppercase().contains("GBK"),
        "{cpg}"
    );
    assert!(d.path().join("prov.prj").exists());
    let fgb = d.path().join("lines.fgb");
    convert(&fgb, &["yangtze_lines", "-f", "FlatGeobuf"]);
    let layers = |prov: &Path, prov_layer: &str, lines: &Path, lines_layer: &str| {
        format!(
            "[[layer]]\nname = \"yangtze_5km\"\npath = \"{}\"\nlayer = \"{lines_layer}\"\nkind = \"river_corridor\"\nbuffer_m = 5000\n\
             [[layer]]\nname = \"provinces\"\npath = \"{}\"\nlayer = \"{prov_layer}\"\nkind = \"admin_division\"\nlevel = \"province\"\ncode_field = \"adcode99\"\nname_field = \"name\"\n",
            lines.display(),
            prov.display()
        )
    };
    let l1 = d.path().join("gpkg.toml");
    std::fs::write(&l1, layers(&gpkg, "provinces", &gpkg, "yangtze_lines")).unwrap();
    let l2 = d.path().join("shp.toml");
    std::fs::write(&l2, layers(&shp, "prov", &fgb, "yangtze_lines")).unwrap();
    let (o1, o2) = (d.path().join("o1"), d.path().join("o2"));
    for (l, o) in [(&l1, &o1), (&l2, &o2)] {
        let r = overlay(&det, l, o, &[]);
        assert!(r.status.success(), "{}", stderr(&r));
    }
    let (r1, r2) = (
        csv_rows(&o1.join("findings.csv")),
        csv_rows(&o2.join("findings.csv")),
    );
    assert_eq!(r1.len(), r2.len());
    for (x, y) in r1.iter().zip(&r2) {
        assert_eq!(x["province_name"], "江苏省");
        for k in [
            "province_code",
            "province_name",
            "zones",
            "river_corridor_m2",
            "river_distance_m",
        ] {
            assert_eq!(x[k], y[k], "{k} of {}", x["id"]);
        }
    }
}

/// An invalid zone (a bow-tie) is repaired with make_valid, counted with its true area,
/// and the repair is written in the manifest's notes.
#[test]
fn invalid_zone_is_repaired_and_reported() {
    let d = tempfile::tempdir().unwrap();
    let zones = d.path().join("zones.geojson");
    // Bow-tie: two triangles meeting at (500100, 3500100), each 100 m × 100 m / 2.
    std::fs::write(
        &zones,
        r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::32650"}},
"features":[{"type":"Feature","properties":{"zid":"BT1"},"geometry":{"type":"Polygon","coordinates":[[[500000,3500000],[500200,3500200],[500200,3500000],[500000,3500200],[500000,3500000]]]}}]}"#,
    )
    .unwrap();
    let mut utm50 = SpatialRef::from_epsg(32650).unwrap();
    utm50.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let patches = d.path().join("p.gpkg");
    {
        let drv = gdal::DriverManager::get_driver_by_name("GPKG").unwrap();
        let mut pds = drv.create_vector_only(&patches).unwrap();
        let l = pds
            .create_layer(gdal::vector::LayerOptions {
                name: "patches",
                srs: Some(&utm50),
                ty: gdal::vector::OGRwkbGeometryType::wkbPolygon,
                options: None,
            })
            .unwrap();
        l.create_defn_fields(&[("id", gdal::vector::OGRFieldType::OFTString)])
            .unwrap();
        let mut f = gdal::vector::Feature::new(l.defn()).unwrap();
        f.set_field_string(0, "whole").unwrap();
        f.set_geometry(square(500100.0, 3500100.0, 150.0)).unwrap();
        f.create(&l).unwrap();
    }
    let layers = d.path().join("l.toml");
    std::fs::write(
        &layers,
        "[[layer]]\nname = \"reserve\"\npath = \"zones.geojson\"\nkind = \"nature_reserve\"\nid_field = \"zid\"\n",
    )
    .unwrap();
    let out = d.path().join("ov");
    let o = overlay(&patches, &layers, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let hits = csv_rows(&out.join("zone_hits.csv"));
    assert_eq!(hits.len(), 1);
    let a: f64 = hits[0]["overlap_grid_m2"].parse().unwrap();
    // The two triangles: 2 × (200 × 100 / 2) = 20,000 m² (a bow-tie's signed area is 0).
    assert!((a - 20_000.0).abs() < 0.01, "{a}");
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("overlay_manifest.json")).unwrap())
            .unwrap();
    let notes = m["notes"].to_string();
    assert!(
        notes.contains("BT1") && notes.contains("repaired"),
        "{notes}"
    );
}

/// Patches from another tool: a bow-tie patch is repaired (its area is the two
/// triangles', not the zero of its signed area) and reported, and patches without a
/// date are said to be unchecked against licence validity.
#[test]
fn invalid_and_undated_patches_are_repaired_and_reported() {
    let d = tempfile::tempdir().unwrap();
    let patches = d.path().join("p.geojson");
    std::fs::write(
        &patches,
        r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::32650"}},
"features":[{"type":"Feature","properties":{"id":"BOW"},"geometry":{"type":"Polygon","coordinates":[[[500000,3500000],[500200,3500200],[500200,3500000],[500000,3500200],[500000,3500000]]]}}]}"#,
    )
    .unwrap();
    let zones = d.path().join("lic.geojson");
    std::fs::write(
        &zones,
        r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::32650"}},
"features":[{"type":"Feature","properties":{"lic":"L1","to":"2010-12-31"},"geometry":{"type":"Polygon","coordinates":[[[499000,3499000],[501000,3499000],[501000,3501000],[499000,3501000],[499000,3499000]]]}}]}"#,
    )
    .unwrap();
    let layers = d.path().join("l.toml");
    std::fs::write(
        &layers,
        "[[layer]]\nname = \"rights\"\npath = \"lic.geojson\"\nkind = \"mining_right\"\nid_field = \"lic\"\nvalid_to_field = \"to\"\n",
    )
    .unwrap();
    let out = d.path().join("ov");
    let o = overlay(&patches, &layers, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = csv_rows(&out.join("findings.csv"));
    let area: f64 = rows[0]["area_m2"].parse().unwrap();
    // Two triangles of 200 × 100 / 2 m² on the ground (UTM scale ≈ 0.9996²).
    assert!((area - 20_000.0).abs() < 50.0, "{area}");
    let notes = manifest_of(&out)["notes"].to_string();
    assert!(
        notes.contains("patch BOW") && notes.contains("repaired"),
        "{notes}"
    );
    assert!(notes.contains("1 patch(es) have no date_after"), "{notes}");
}

/// Review findings: errors come in file order (a bad geometry in the first patch before a
/// bad date in the second, as a serial read reports them), and a patch without
/// `date_before` leaves `licence_granted_in_pair` empty with a note, not a silent 0.
#[test]
fn patch_errors_in_file_order_and_an_unknown_earlier_date_is_said() {
    let d = tempfile::tempdir().unwrap();
    let head = r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::32650"}},"features":["#;
    let square = r#"{"type":"Polygon","coordinates":[[[500000,3500000],[500100,3500000],[500100,3500100],[500000,3500100],[500000,3500000]]]}"#;
    let patches = d.path().join("p.geojson");
    std::fs::write(
        &patches,
        format!(
            r#"{head}{{"type":"Feature","properties":{{"id":"P1","date_after":"2024-06-01"}},"geometry":{{"type":"Point","coordinates":[500000,3500000]}}}},
{{"type":"Feature","properties":{{"id":"P2","date_after":"someday"}},"geometry":{square}}}]}}"#
        ),
    )
    .unwrap();
    std::fs::write(
        d.path().join("lic.geojson"),
        format!(
            r#"{head}{{"type":"Feature","properties":{{"lic":"L1","from":"2020-01-01"}},"geometry":{{"type":"Polygon","coordinates":[[[499000,3499000],[501000,3499000],[501000,3501000],[499000,3501000],[499000,3499000]]]}}}}]}}"#
        ),
    )
    .unwrap();
    let layers = d.path().join("l.toml");
    std::fs::write(
        &layers,
        "[[layer]]\nname = \"rights\"\npath = \"lic.geojson\"\nkind = \"mining_right\"\nid_field = \"lic\"\nvalid_from_field = \"from\"\n",
    )
    .unwrap();
    let out = d.path().join("ov");
    let o = overlay(&patches, &layers, &out, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("patch P1") && !e.contains("someday"), "{e}");
    assert!(!out.exists());

    std::fs::write(
        &patches,
        format!(
            r#"{head}{{"type":"Feature","properties":{{"id":"P2","date_after":"2024-06-01"}},"geometry":{square}}}]}}"#
        ),
    )
    .unwrap();
    let o = overlay(&patches, &layers, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = csv_rows(&out.join("findings.csv"));
    assert_eq!(rows[0]["licence_status"], "inside");
    assert_eq!(rows[0]["licence_granted_in_pair"], "");
    let notes = manifest_of(&out)["notes"].to_string();
    assert!(
        notes.contains("1 patch(es) lack date_before or date_after"),
        "{notes}"
    );
}

/// A register writes the right type as 采矿许可证 / 勘查许可证 (the exploration licence's
/// name has no 探), and a mining right converted from exploration as 采矿权（探转采）;
/// licence numbers start with C (mining) or T (exploration). Each decides right, and a
/// patch date stored as a timestamp (GeoJSON's `2024-06-01T08:30:00+08:00`, read by GDAL
/// as a date-time field) is taken by its date. A reviewer's case (revL): 勘查许可证 was
/// read as a mining licence (以探代采 dropped from the provincial check) and 探转采 as
/// exploration (a licensed mine flagged).
#[test]
fn licence_types_and_timestamp_dates() {
    let d = tempfile::tempdir().unwrap();
    let head = r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::32650"}},"features":["#;
    let sq = |x: i64, pad: i64| {
        let (a, b) = (500_000 + x * 1000 - pad, 500_000 + x * 1000 + 200 + pad);
        let (c, e) = (3_500_000 - pad, 3_500_200 + pad);
        format!(
            r#"{{"type":"Polygon","coordinates":[[[{a},{c}],[{b},{c}],[{b},{e}],[{a},{e}],[{a},{c}]]]}}"#
        )
    };
    let cases = [
        ("K1", "勘查许可证", "T32120080302005678", "exploration_only"),
        ("K2", "勘查", "L2", "exploration_only"),
        (
            "K3",
            "采矿权（探转采）",
            "C3200002011034120110955",
            "inside",
        ),
        ("K4", "采矿许可证", "C3200002010064120067890", "inside"),
        ("K5", "", "T32120090302001234", "exploration_only"),
        ("K6", "", "C3200002012034120119999", "inside"),
    ];
    let patches: Vec<String> = cases
        .iter()
        .enumerate()
        .map(|(i, (id, ..))| {
            format!(
                r#"{{"type":"Feature","properties":{{"id":"{id}","date_after":"2024-06-01T08:30:00+08:00"}},"geometry":{}}}"#,
                sq(i as i64, 0)
            )
        })
        .collect();
    let rights: Vec<String> = cases
        .iter()
        .enumerate()
        .map(|(i, (_, ty, lic, _))| {
            format!(
                r#"{{"type":"Feature","properties":{{"lic":"{lic}","type":"{ty}"}},"geometry":{}}}"#,
                sq(i as i64, 50)
            )
        })
        .collect();
    let pfile = d.path().join("p.geojson");
    std::fs::write(&pfile, format!("{head}{}]}}", patches.join(",\n"))).unwrap();
    std::fs::write(
        d.path().join("lic.geojson"),
        format!("{head}{}]}}", rights.join(",\n")),
    )
    .unwrap();
    let layers = d.path().join("l.toml");
    std::fs::write(
        &layers,
        "[[layer]]\nname = \"rights\"\npath = \"lic.geojson\"\nkind = \"mining_right\"\nid_field = \"lic\"\nright_type_field = \"type\"\n",
    )
    .unwrap();
    let out = d.path().join("ov");
    let o = overlay(&pfile, &layers, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = csv_rows(&out.join("findings.csv"));
    for (id, ty, _, want) in cases {
        let r = rows.iter().find(|r| r["id"] == id).unwrap();
        assert_eq!(r["licence_status"], want, "{id} ({ty})");
    }
}

/// Geographic imagery (the Hong Kong Sentinel-2 clip is EPSG:4326): overlaps and buffers
/// are measured in a UTM work CRS, so `buffer_m = 200` is 200 metres, not degrees — and the
/// package draws the same metric zone on the chips.
#[test]
fn geographic_imagery_is_measured_in_metres() {
    let d = tempfile::tempdir().unwrap();
    let a = fixture("real/hongkong_S2_20160927_clip320.tif");
    let b = fixture("real/hongkong_S2_20180323_clip320.tif");
    let det = detect(d.path(), &[&a, &b], &[]);
    // An east-west line through the clip, buffered by 200 m.
    let (lon0, lon1, lat) = (114.240, 114.265, 22.3136);
    std::fs::write(
        d.path().join("line.geojson"),
        format!(
            "{{\"type\":\"FeatureCollection\",\"features\":[{{\"type\":\"Feature\",\"properties\":{{\"zid\":\"L1\"}},\"geometry\":{{\"type\":\"LineString\",\"coordinates\":[[{lon0},{lat}],[{lon1},{lat}]]}}}}]}}"
        ),
    )
    .unwrap();
    let layers = d.path().join("layers.toml");
    std::fs::write(
        &layers,
        "[[layer]]\nname = \"reserve\"\npath = \"line.geojson\"\nkind = \"nature_reserve\"\nid_field = \"zid\"\nbuffer_m = 200\n",
    )
    .unwrap();
    let out = d.path().join("ov");
    let o = overlay(&det, &layers, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(manifest_of(&out)["work_crs_is_patch_crs"], false);
    let rows = csv_rows(&out.join("findings.csv"));
    let (mut hit, mut miss) = (0, 0);
    for r in &rows {
        let clat: f64 = r["centroid_lat"].parse().unwrap();
        let clon: f64 = r["centroid_lon"].parse().unwrap();
        if clon < lon0 || clon > lon1 {
            continue;
        }
        let metres = (clat - lat).abs() * 110_750.0;
        let inside = r["nature_reserve_m2"].parse::<f64>().unwrap() > 0.0;
        // Patches are tens of metres across: judge by the centroid with a margin.
        if metres < 140.0 {
            assert!(inside, "{} at {metres:.0} m", r["id"]);
            hit += 1;
        } else if metres > 260.0 {
            assert!(!inside, "{} at {metres:.0} m", r["id"]);
            miss += 1;
        }
    }
    assert!(hit > 0 && miss > 0, "{hit} near, {miss} far");
    // The package outlines the same zone (magenta) on the chips of a patch inside it.
    let rk = d.path().join("rk");
    assert!(minewatch(&["rank", s(&out), "--out", s(&rk)])
        .status
        .success());
    let pk = d.path().join("pk");
    let o = minewatch(&[
        "package",
        s(&rk),
        "--imagery",
        s(&a),
        s(&b),
        "--layers",
        s(&layers),
        "--out",
        s(&pk),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let inside_id = rows
        .iter()
        .find(|r| r["nature_reserve_m2"].parse::<f64>().unwrap() > 0.0)
        .map(|r| r["id"].clone())
        .unwrap();
    let chips: Vec<_> = std::fs::read_dir(pk.join("000000_未定县/chips"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains(&inside_id))
        .collect();
    assert_eq!(chips.len(), 4);
    for c in chips {
        let img = image::open(&c).unwrap().to_rgb8();
        assert!(
            img.pixels().any(|p| p.0 == [255, 0, 200]),
            "{} has no zone outline",
            c.display()
        );
    }
}

/// The patches' CRS does not change the findings: the Nanjing patches (UTM 50N) given in
/// the CGCS2000 3° Gauss-Krüger zone with CM 117° E (EPSG:4548, theirs: measured there) and
/// in the one with CM 75° E (EPSG:4534, 44° away: 24 % off true scale, so measured in UTM
/// 50N) hit the same zones at the same river distances, to the 0.04 % that UTM's 0.9996
/// scale on its central meridian leaves.
#[test]
fn a_far_gauss_kruger_zone_gives_the_same_findings() {
    if !have_tool("ogr2ogr") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let det = detect_nanjing(d.path(), &[]);
    let layers = root().join("pipelines/layers/nanjing.toml");
    let run = |patches: &Path, name: &str| {
        let out = d.path().join(name);
        let o = overlay(patches, &layers, &out, &[]);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        let rows: BTreeMap<String, BTreeMap<String, String>> = csv_rows(&out.join("findings.csv"))
            .into_iter()
            .map(|r| (r["id"].clone(), r))
            .collect();
        (rows, manifest_of(&out))
    };
    let (base, m) = run(&det, "ov_utm");
    assert_eq!(m["work_crs_is_patch_crs"], true);
    let near = |x: &str, y: &str, what: &str| {
        let (x, y): (f64, f64) = (x.parse().unwrap(), y.parse().unwrap());
        assert!(
            (x - y).abs() <= 1e-3 * x.abs().max(y.abs()) + 0.01,
            "{what}: {x} vs {y}"
        );
    };
    for (code, kept) in [(4548, true), (4534, false)] {
        let gk = d.path().join(format!("p{code}.gpkg"));
        let o = Command::new("ogr2ogr")
            .args(["-f", "GPKG", s(&gk), s(&det.join("patches.gpkg"))])
            .args(["-t_srs", &format!("EPSG:{code}"), "-nln", "patches"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let (rows, m) = run(&gk, &format!("ov_{code}"));
        assert_eq!(m["work_crs_is_patch_crs"], kept, "EPSG:{code}");
        let reason = m["work_crs_reason"].as_str().unwrap();
        let noted = m["notes"].to_string();
        if kept {
            assert!(reason.starts_with("the patches' CRS"), "{reason}");
        } else {
            assert!(
                reason.starts_with("EPSG:32650") && reason.contains("far from them"),
                "{reason}"
            );
            assert!(noted.contains("measured in EPSG:32650"), "{noted}");
        }
        assert_eq!(rows.len(), base.len(), "EPSG:{code}");
        let in5 = rows
            .values()
            .filter(|r| r["zones"].contains("yangtze_5km/"))
            .count();
        assert!(
            in5 > 0 && in5 < rows.len(),
            "EPSG:{code}: {in5} in the corridor"
        );
        for (id, x) in &base {
            let y = &rows[id];
            for k in ["zone_hits", "province_code", "licence_status"] {
                assert_eq!(x[k], y[k], "EPSG:{code} {k} of {id}");
            }
            // The zones hit, without their shares ("yangtze_5km/yangtze_5km (32.8%)").
            let hit = |r: &BTreeMap<String, String>| -> Vec<String> {
                r["zones"]
                    .split("; ")
                    .map(|z| z.split(" (").next().unwrap().to_string())
                    .collect()
            };
            assert_eq!(hit(x), hit(y), "EPSG:{code} zones of {id}");
            near(&x["river_distance_m"], &y["river_distance_m"], id);
            // The 5 km corridor's edge moves by 2 m (0.04 %) between the two, which is
            // up to 2 % of a patch tens of metres across that it crosses.
            let m2 = |r: &BTreeMap<String, String>, k: &str| r[k].parse::<f64>().unwrap();
            let moved = (m2(x, "river_corridor_m2") - m2(y, "river_corridor_m2")).abs();
            assert!(
                moved <= 0.02 * m2(x, "area_m2"),
                "EPSG:{code} {id}: {moved} m²"
            );
        }
        let total = |r: &BTreeMap<String, BTreeMap<String, String>>| {
            r.values()
                .map(|x| x["river_corridor_m2"].parse::<f64>().unwrap())
                .sum::<f64>()
                .to_string()
        };
        near(&total(&base), &total(&rows), "corridor m² of all patches");
    }
}

/// `DIR/patches.gpkg` with one 50 m patch `P1` (after 2024-06-01) at 500 000 E, 3 500 000 N.
fn one_patch(dir: &Path) -> PathBuf {
    let patches = dir.join("patches.gpkg");
    squares_gpkg(
        &patches,
        "patches",
        &["id", "date_after"],
        &[(vec!["P1", "2024-06-01"], [500_000.0, 3_500_000.0, 50.0])],
    );
    patches
}

/// A GeoPackage layer in UTM 49N of squares (centre x, centre y, half side) with string
/// fields.
fn squares_gpkg(path: &Path, layer: &str, fields: &[&str], rows: &[(Vec<&str>, [f64; 3])]) {
    let (_, utm) = utm49();
    let drv = gdal::DriverManager::get_driver_by_name("GPKG").unwrap();
    let mut ds = drv.create_vector_only(path).unwrap();
    let l = ds
        .create_layer(gdal::vector::LayerOptions {
            name: layer,
            srs: Some(&utm),
            ty: gdal::vector::OGRwkbGeometryType::wkbPolygon,
            options: None,
        })
        .unwrap();
    let defs: Vec<(&str, gdal::vector::OGRFieldType::Type)> = fields
        .iter()
        .map(|f| (*f, gdal::vector::OGRFieldType::OFTString))
        .collect();
    l.create_defn_fields(&defs).unwrap();
    for (vals, [x, y, half]) in rows {
        let mut f = gdal::vector::Feature::new(l.defn()).unwrap();
        for (i, v) in vals.iter().enumerate() {
            f.set_field_string(i, v).unwrap();
        }
        f.set_geometry(square(*x, *y, *half)).unwrap();
        f.create(&l).unwrap();
    }
}

/// CSV injection: a licence whose name, id, holder and mineral start with `=`, `-`, `@`,
/// `+` (Excel would run `=HYPERLINK(…)` as a formula) comes out with a leading `'` in the
/// CSVs, which are for Excel, and as it is in the GeoJSON and the GeoPackage; numbers,
/// negative ones included, are never quoted.
#[test]
fn formula_like_zone_text_is_quoted_in_the_csvs_only() {
    let d = tempfile::tempdir().unwrap();
    let link = r#"=HYPERLINK("http://x")"#;
    squares_gpkg(
        &d.path().join("patches.gpkg"),
        "patches",
        &["id", "date_after"],
        &[(vec!["-P1", "2024-06-01"], [500_000.0, 3_500_000.0, 50.0])],
    );
    squares_gpkg(
        &d.path().join("rights.gpkg"),
        "rights",
        &["licence", "name", "holder", "mineral"],
        &[(
            vec!["-R1", link, "@某公司", "+砂岩"],
            [500_000.0, 3_500_000.0, 200.0],
        )],
    );
    let layers = d.path().join("layers.toml");
    std::fs::write(
        &layers,
        "[[layer]]\nname = \"rights\"\npath = \"rights.gpkg\"\nkind = \"mining_right\"\nid_field = \"licence\"\nname_field = \"name\"\nholder_field = \"holder\"\nmineral_field = \"mineral\"\n",
    )
    .unwrap();
    let out = d.path().join("ov");
    let o = overlay(&d.path().join("patches.gpkg"), &layers, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let hits = csv_rows(&out.join("zone_hits.csv"));
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["zone_name"], format!("'{link}"));
    assert_eq!(hits[0]["zone_id"], "'-R1");
    assert_eq!(hits[0]["patch_id"], "'-P1");
    assert_eq!(hits[0]["overlap_pct"], "100");
    let rows = csv_rows(&out.join("findings.csv"));
    assert_eq!(rows[0]["id"], "'-P1");
    assert_eq!(rows[0]["licence_status"], "inside");
    assert_eq!(rows[0]["licences"], "'-R1");
    assert_eq!(rows[0]["licence_holders"], "'@某公司");
    assert_eq!(rows[0]["minerals"], "'+砂岩");
    assert!(!rows[0]["area_m2"].starts_with('\''));
    // The raw file: the quote is inside the CSV field, not Excel's formula.
    let text = std::fs::read_to_string(out.join("zone_hits.csv")).unwrap();
    assert!(text.contains(r#""'=HYPERLINK(""http://x"")""#), "{text}");
    // GeoJSON and GeoPackage keep the text.
    let gj: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("findings.geojson")).unwrap())
            .unwrap();
    let props = &gj["features"][0]["properties"];
    assert_eq!(props["id"], "-P1");
    assert_eq!(props["licences"], "-R1");
    assert_eq!(props["licence_holders"], "@某公司");
    let ds = gdal::Dataset::open(out.join("findings.gpkg")).unwrap();
    let mut hl = ds.layer_by_name("zone_hits").unwrap();
    let f = hl.features().next().unwrap();
    let i = f.field_index("zone_name").unwrap();
    let name = f.field_as_string(i).unwrap().unwrap();
    assert_eq!(name, link);
}

fn manifest_of(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("overlay_manifest.json")).unwrap())
        .unwrap()
}

/// A Shapefile of squares (centre x, centre y, half side) in UTM 49N written with its
/// text in `encoding`, then stripped of everything that declares it (the .cpg and the
/// .dbf's language-driver byte), as old county files come.
fn undeclared_shapefile(
    dir: &Path,
    encoding: &str,
    fields: [&str; 3],
    rows: &[(Vec<&str>, [f64; 3])],
) -> std::path::PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("rights.shp");
    let (_, utm) = utm49();
    let drv = gdal::DriverManager::get_driver_by_name("ESRI Shapefile").unwrap();
    {
        let mut ds = drv.create_vector_only(&path).unwrap();
        let enc = format!("ENCODING={encoding}");
        let l = ds
            .create_layer(gdal::vector::LayerOptions {
                name: "rights",
                srs: Some(&utm),
                ty: gdal::vector::OGRwkbGeometryType::wkbPolygon,
                options: Some(&[enc.as_str()]),
            })
            .unwrap();
        let defs: Vec<(&str, gdal::vector::OGRFieldType::Type)> = fields
            .iter()
            .map(|f| (*f, gdal::vector::OGRFieldType::OFTString))
            .collect();
        l.create_defn_fields(&defs).unwrap();
        for (vals, [x, y, half]) in rows {
            let mut f = gdal::vector::Feature::new(l.defn()).unwrap();
            for (i, v) in vals.iter().enumerate() {
                f.set_field_string(i, v).unwrap();
            }
            f.set_geometry(square(*x, *y, *half)).unwrap();
            f.create(&l).unwrap();
        }
    }
    let _ = std::fs::remove_file(path.with_extension("cpg"));
    let dbf = path.with_extension("dbf");
    let mut bytes = std::fs::read(&dbf).unwrap();
    bytes[29] = 0;
    std::fs::write(&dbf, &bytes).unwrap();
    path
}

/// A GBK Shapefile without a .cpg (nor a language-driver byte) is read as GBK — its
/// holder and mineral come out right, not as U+FFFD — and that guess is said on stderr
/// and in the manifest; a UTF-8 one is read as UTF-8 and nothing is said. Review finding
/// (revY F4): the guess was CP936, which garbled a GB18030-only character and the rest
/// of its value; Chinese field names over ASCII records were not looked at (the layer
/// was refused, quoting `����`); a .cpg saying GB2312 garbled GBK-only 堃 and 昇.
#[test]
fn a_gbk_shapefile_without_cpg_is_read_as_gbk_and_said() {
    let d = tempfile::tempdir().unwrap();
    one_patch(d.path());
    let ascii = ["lic_id", "holder", "mineral"];
    let cases = [
        ("CP936", ascii, "南京甲矿业有限公司", "石灰岩", None, true),
        ("UTF-8", ascii, "南京甲矿业有限公司", "石灰岩", None, false),
        (
            "GB18030",
            ascii,
            "山西𠀾䶮煤业有限公司",
            "石灰岩",
            None,
            true,
        ),
        // Chinese field names, ASCII records: only the names tell.
        (
            "CP936",
            ["许可证号", "持有人", "矿种"],
            "Nanjing A",
            "limestone",
            None,
            true,
        ),
        (
            "CP936",
            ascii,
            "山西堃昇煤业有限公司",
            "石灰岩",
            Some("GB2312"),
            true,
        ),
    ];
    for (n, (enc, fields, holder, mineral, cpg, guessed)) in cases.into_iter().enumerate() {
        let dir = d.path().join(format!("{n}"));
        let row = vec!["C1", holder, mineral];
        let shp = undeclared_shapefile(
            &dir,
            enc,
            fields,
            &[(row.clone(), [500_000.0, 3_500_000.0, 200.0])],
        );
        if let Some(c) = cpg {
            std::fs::write(shp.with_extension("cpg"), c).unwrap();
        }
        let dbf = std::fs::read(shp.with_extension("dbf")).unwrap();
        let (gbk, _, _) = encoding_rs::GBK.encode(fields[1]);
        let (gbk_text, _, _) = encoding_rs::GBK.encode(mineral);
        let has = |needle: &[u8]| dbf.windows(needle.len()).any(|w| w == needle);
        assert_eq!(
            (!fields[1].is_ascii() && has(&gbk)) || (!mineral.is_ascii() && has(&gbk_text)),
            enc != "UTF-8",
            "case {n}: the .dbf holds GBK bytes"
        );
        let layers = dir.join("layers.toml");
        std::fs::write(
            &layers,
            format!("[[layer]]\nname = \"rights\"\npath = \"{}\"\nkind = \"mining_right\"\nid_field = \"{}\"\nholder_field = \"{}\"\nmineral_field = \"{}\"\n", shp.display(), fields[0], fields[1], fields[2]),
        )
        .unwrap();
        let out = dir.join("ov");
        let o = overlay(&d.path().join("patches.gpkg"), &layers, &out, &[]);
        assert!(o.status.success(), "case {n}: {}", stderr(&o));
        let rows = csv_rows(&out.join("findings.csv"));
        assert_eq!(rows[0]["licence_holders"], holder, "case {n}");
        assert_eq!(rows[0]["minerals"], mineral, "case {n}");
        let err = stderr(&o);
        let notes = manifest_of(&out)["notes"].to_string();
        let said = if cpg.is_some() {
            "its .cpg says GB2312; read as GB18030"
        } else {
            "read as GBK (GB18030"
        };
        assert_eq!(err.contains(said), guessed, "case {n}: {err}");
        assert_eq!(notes.contains(said), guessed, "case {n}: {notes}");
        if guessed {
            assert!(
                err.contains("layer `rights`") && err.contains("rights.shp"),
                "{err}"
            );
        }
    }
}

/// A Shapefile whose .cpg names the wrong encoding reads without error but with garbled
/// names (GDAL says nothing: its recoding warning is once per process and goes to its
/// log): GBK under a `.cpg` of UTF-8 gives U+FFFD, GBK under 1252 gives `ÄÏ¾©…`, UTF-8
/// under GBK gives `鍗椾含…`. Each is warned about naming the layer, feature, field and
/// the likely text, on stderr and in the manifest; a right declaration says nothing.
#[test]
fn text_read_in_the_wrong_encoding_is_said() {
    let d = tempfile::tempdir().unwrap();
    one_patch(d.path());
    let holder = "南京矿业有限公司";
    // Nine characters: 27 bytes of UTF-8, of which GDAL's GBK reading drops the last.
    let odd = "南京甲矿业有限公司";
    let cases = [
        (
            holder,
            "CP936",
            Some("UTF-8"),
            Some("bytes not valid in the declared encoding"),
        ),
        (
            holder,
            "CP936",
            Some("1252"),
            Some("looks like GBK text \"南京矿业有限公司\" read as a Western code page"),
        ),
        (
            holder,
            "UTF-8",
            Some("GBK"),
            Some("looks like UTF-8 text \"南京矿业有限公司\" read as GBK"),
        ),
        (
            odd,
            "UTF-8",
            Some("GBK"),
            Some("looks like UTF-8 text \"南京甲矿业有限公"),
        ),
        (holder, "CP936", Some("GBK"), None),
        (odd, "UTF-8", Some("UTF-8"), None),
    ];
    for (n, (holder, enc, cpg, said)) in cases.into_iter().enumerate() {
        let dir = d.path().join(format!("{n}"));
        let shp = undeclared_shapefile(
            &dir,
            enc,
            ["lic_id", "holder", "mineral"],
            &[(
                vec!["C1", holder, "limestone"],
                [500_000.0, 3_500_000.0, 200.0],
            )],
        );
        if let Some(c) = cpg {
            std::fs::write(shp.with_extension("cpg"), c).unwrap();
        }
        let layers = dir.join("layers.toml");
        std::fs::write(
            &layers,
            format!("[[layer]]\nname = \"rights\"\npath = \"{}\"\nkind = \"mining_right\"\nid_field = \"lic_id\"\nholder_field = \"holder\"\nmineral_field = \"mineral\"\n", shp.display()),
        )
        .unwrap();
        let out = dir.join("ov");
        let o = overlay(&d.path().join("patches.gpkg"), &layers, &out, &[]);
        assert!(o.status.success(), "case {n}: {}", stderr(&o));
        let err = stderr(&o);
        let notes = manifest_of(&out)["notes"].to_string();
        let warned = "look read in the wrong encoding";
        match said {
            Some(s) => {
                assert!(err.contains(warned) && err.contains(s), "case {n}: {err}");
                assert!(
                    err.contains("layer `rights`") && err.contains("feature C1 field `holder`"),
                    "case {n}: {err}"
                );
                assert!(notes.contains(warned), "case {n}: {notes}");
            }
            None => {
                assert!(!err.contains(warned), "case {n}: {err}");
                let rows = csv_rows(&out.join("findings.csv"));
                assert_eq!(rows[0]["licence_holders"], holder, "case {n}");
            }
        }
    }
}

/// One licence as 国土 TXT corners: a square (half side `half` m) around UTM 49N point
/// (x, y) in CGCS2000 GK zone 37 with the prefix (EPSG:4525, CM 111° E), under the given
/// header lines.
fn corner_txt(header: &str, licence: &str, x: f64, y: f64, half: f64) -> String {
    let (_, utm) = utm49();
    let mut gk = SpatialRef::from_epsg(4525).unwrap();
    gk.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let t = CoordTransform::new(&utm, &gk).unwrap();
    let mut text =
        format!("[属性描述]\n{header}\n[地块坐标]\n5,,{licence},地块1,面,,采矿用地,,@\n");
    let corners = [
        (-1.0, -1.0),
        (1.0, -1.0),
        (1.0, 1.0),
        (-1.0, 1.0),
        (-1.0, -1.0),
    ];
    for (k, (dx, dy)) in corners.iter().enumerate() {
        let (mut xs, mut ys, mut zs) = (vec![x + dx * half], vec![y + dy * half], vec![0.0]);
        t.transform_coords(&mut xs, &mut ys, &mut zs).unwrap();
        // Northing first, then the easting with its zone prefix.
        text.push_str(&format!("J{},1,{:.2},{:.2}\n", k + 1, ys[0], xs[0]));
    }
    text
}

const GK37_HEADER: &str =
    "坐标系=2000国家大地坐标系\n几度分带=3\n投影类型=高斯克吕格\n计量单位=米\n带号=37";

/// Licence validity from a register's single period column (`有效期限` =
/// `1995-01-01至2001-06-30`): the licence ended before the image, so the patch is
/// `expired`, not `inside`. Validity that cannot be checked (a table without dates, an OGR
/// layer without validity fields) is a warning on stderr as well as a manifest note.
#[test]
fn a_validity_period_column_is_read_and_unchecked_validity_is_warned() {
    let d = tempfile::tempdir().unwrap();
    let patches = one_patch(d.path());
    std::fs::write(
        d.path().join("lic.txt"),
        corner_txt(GK37_HEADER, "C1", 500_000.0, 3_500_000.0, 300.0),
    )
    .unwrap();
    let run = |table: &str, tag: &str| {
        std::fs::write(d.path().join(format!("{tag}.csv")), table).unwrap();
        let layers = d.path().join(format!("{tag}.toml"));
        std::fs::write(
            &layers,
            format!("[[layer]]\nname = \"rights\"\npath = \"lic.txt\"\nformat = \"guotu_txt\"\nkind = \"mining_right\"\nattributes = \"{tag}.csv\"\n"),
        )
        .unwrap();
        let out = d.path().join(tag);
        let o = overlay(&patches, &layers, &out, &[]);
        (o, out)
    };
    for period in [
        "1995-01-01至2001-06-30",
        "1995.1.1-2001.6.30",
        "1995-01-01~2001-06-30",
        "1995年1月1日至2001年6月30日",
    ] {
        let (o, out) = run(
            &format!("许可证号,采矿权人,开采矿种,有效期限\nC1,丙公司,钨矿,{period}\n"),
            "range",
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let rows = csv_rows(&out.join("findings.csv"));
        assert_eq!(rows[0]["licence_status"], "expired", "{period}");
        assert!(
            !stderr(&o).contains("validity is not checked"),
            "{}",
            stderr(&o)
        );
    }
    // Valid over the image date: inside.
    let (o, out) = run(
        "许可证号,采矿权人,开采矿种,有效期限\nC1,丙公司,钨矿,2020-01-01至2030-06-30\n",
        "current",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        csv_rows(&out.join("findings.csv"))[0]["licence_status"],
        "inside"
    );
    // Open-ended (`至今`, `至长期`): in force after its start, not yet before it.
    for (period, want) in [
        ("2015-01-01至今", "inside"),
        ("2015年1月1日至长期", "inside"),
        ("2030-01-01至今", "outside_all_rights"),
    ] {
        let (o, out) = run(
            &format!("许可证号,采矿权人,开采矿种,有效期限\nC1,丙公司,钨矿,{period}\n"),
            "open",
        );
        assert!(o.status.success(), "{period}: {}", stderr(&o));
        assert_eq!(
            csv_rows(&out.join("findings.csv"))[0]["licence_status"],
            want,
            "{period}"
        );
    }
    // One date where a period is expected: exit 1 naming the licence.
    let (o, _) = run(
        "许可证号,采矿权人,开采矿种,有效期限\nC1,丙公司,钨矿,2001-06-30\n",
        "onedate",
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("C1") && stderr(&o).contains("not a period"),
        "{}",
        stderr(&o)
    );
    // No dates at all: said on stderr and in the manifest.
    let (o, out) = run("许可证号,采矿权人,开采矿种\nC1,丙公司,钨矿\n", "nodates");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("warning") && stderr(&o).contains("validity is not checked"),
        "{}",
        stderr(&o)
    );
    assert!(manifest_of(&out)["notes"]
        .to_string()
        .contains("validity is not checked"));
    // An OGR rights layer without validity fields: the same.
    squares_gpkg(
        &d.path().join("rights.gpkg"),
        "rights",
        &["licence"],
        &[(vec!["C1"], [500_000.0, 3_500_000.0, 200.0])],
    );
    let layers = d.path().join("ogr.toml");
    std::fs::write(
        &layers,
        "[[layer]]\nname = \"ogr_rights\"\npath = \"rights.gpkg\"\nkind = \"mining_right\"\nid_field = \"licence\"\n",
    )
    .unwrap();
    let out = d.path().join("ogr");
    let o = overlay(&patches, &layers, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("layer `ogr_rights`") && err.contains("no valid_from_field or valid_to_field"),
        "{err}"
    );
    assert!(manifest_of(&out)["notes"]
        .to_string()
        .contains("no valid_from_field"));
}

/// The coordinate system under another header key (坐标系统=1980西安坐标系) is refused as
/// Xian 1980 (exit 1, naming the key), not read as CGCS2000; a header that names none is
/// read as CGCS2000 with a warning on stderr.
#[test]
fn a_corner_file_datum_under_another_key_is_checked_and_a_missing_one_warned() {
    let d = tempfile::tempdir().unwrap();
    let patches = one_patch(d.path());
    let run = |header: &str, tag: &str| {
        std::fs::write(
            d.path().join(format!("{tag}.txt")),
            corner_txt(header, "C1", 500_000.0, 3_500_000.0, 300.0),
        )
        .unwrap();
        std::fs::write(
            d.path().join("attrs.csv"),
            "许可证号,有效期起,有效期止\nC1,2020-01-01,2030-01-01\n",
        )
        .unwrap();
        let layers = d.path().join(format!("{tag}.toml"));
        std::fs::write(
            &layers,
            format!("[[layer]]\nname = \"rights\"\npath = \"{tag}.txt\"\nformat = \"guotu_txt\"\nkind = \"mining_right\"\nattributes = \"attrs.csv\"\n"),
        )
        .unwrap();
        let out = d.path().join(tag);
        (overlay(&patches, &layers, &out, &[]), out)
    };
    let xian = GK37_HEADER.replace("坐标系=2000国家大地坐标系", "坐标系统=1980西安坐标系");
    let (o, out) = run(&xian, "xian");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("坐标系统") && stderr(&o).contains("Xian 1980"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
    let (o, out) = run(&GK37_HEADER.replace("坐标系=", "大地坐标系="), "other_key");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("coordinate system"), "{}", stderr(&o));
    assert_eq!(
        csv_rows(&out.join("findings.csv"))[0]["licence_status"],
        "inside"
    );
    let (o, out) = run(
        &GK37_HEADER.replace("坐标系=2000国家大地坐标系\n", ""),
        "none",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("warning")
            && err.contains("layer `rights`")
            && err.contains("no coordinate system in the header"),
        "{err}"
    );
    assert!(manifest_of(&out)["notes"]
        .to_string()
        .contains("assuming CGCS2000"));
}

/// Zone features without geometry are never returned by the spatial filter the overlay
/// reads with; they are still found, listed by id in the manifest and warned about.
#[test]
fn zone_features_without_geometry_are_listed_and_warned() {
    let d = tempfile::tempdir().unwrap();
    let patches = one_patch(d.path());
    let rights = d.path().join("rights.gpkg");
    squares_gpkg(
        &rights,
        "rights",
        &["licence", "valid_to"],
        &[(vec!["C101", "2030-01-01"], [500_000.0, 3_500_000.0, 200.0])],
    );
    {
        let ds = open_update(&rights);
        let l = ds.layer_by_name("rights").unwrap();
        for id in ["C103", ""] {
            let mut f = gdal::vector::Feature::new(l.defn()).unwrap();
            f.set_field_string(0, id).unwrap();
            f.create(&l).unwrap();
        }
    }
    let layers = d.path().join("layers.toml");
    std::fs::write(
        &layers,
        "[[layer]]\nname = \"rights\"\npath = \"rights.gpkg\"\nkind = \"mining_right\"\nid_field = \"licence\"\nvalid_to_field = \"valid_to\"\n",
    )
    .unwrap();
    let out = d.path().join("ov");
    let o = overlay(&patches, &layers, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    // The unnamed one by its feature id (3).
    assert!(
        err.contains("layer `rights`")
            && err.contains("2 feature(s) without geometry")
            && err.contains("C103, 3"),
        "{err}"
    );
    let notes = manifest_of(&out)["notes"].to_string();
    assert!(
        notes.contains("without geometry") && notes.contains("C103"),
        "{notes}"
    );
    assert_eq!(
        csv_rows(&out.join("findings.csv"))[0]["licence_status"],
        "inside"
    );
}

/// Two patches with one id: findings and hits are keyed by it, so exit 1 naming the id
/// and the file, and nothing written.
#[test]
fn duplicate_patch_ids_exit_1() {
    let d = tempfile::tempdir().unwrap();
    let patches = d.path().join("patches.gpkg");
    squares_gpkg(
        &patches,
        "patches",
        &["id", "date_after"],
        &[
            (vec!["1", "2024-06-01"], [500_000.0, 3_500_000.0, 50.0]),
            (vec!["2", "2024-06-01"], [501_000.0, 3_500_000.0, 50.0]),
            (vec!["3", "2024-06-01"], [502_000.0, 3_500_000.0, 50.0]),
            (vec!["2", "2024-06-01"], [503_000.0, 3_500_000.0, 50.0]),
        ],
    );
    squares_gpkg(
        &d.path().join("army.gpkg"),
        "army",
        &["name"],
        &[(vec!["x"], [500_000.0, 3_500_000.0, 200.0])],
    );
    let layers = d.path().join("layers.toml");
    std::fs::write(
        &layers,
        "[[layer]]\nname = \"army\"\npath = \"army.gpkg\"\nkind = \"special_land\"\n",
    )
    .unwrap();
    let out = d.path().join("ov");
    let o = overlay(&patches, &layers, &out, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("patch id `2` is used twice")
            && err.contains("features 2 and 4")
            && err.contains("patches.gpkg"),
        "{err}"
    );
    assert!(!out.exists());
}

/// A GeoPackage layer of rectangles (min x, min y, max x, max y) given in UTM 50N and
/// written in `epsg` (reprojected when it is another CRS), with string fields.
fn rects_gpkg(
    path: &Path,
    layer: &str,
    epsg: u32,
    fields: &[&str],
    rows: &[(Vec<&str>, [f64; 4])],
) {
    let srs = |code: u32| {
        let mut r = SpatialRef::from_epsg(code).unwrap();
        r.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
        r
    };
    let (utm, out) = (srs(32650), srs(epsg));
    let t = CoordTransform::new(&utm, &out).unwrap();
    let drv = gdal::DriverManager::get_driver_by_name("GPKG").unwrap();
    let mut ds = drv.create_vector_only(path).unwrap();
    let l = ds
        .create_layer(gdal::vector::LayerOptions {
            name: layer,
            srs: Some(&out),
            ty: gdal::vector::OGRwkbGeometryType::wkbPolygon,
            options: None,
        })
        .unwrap();
    let defs: Vec<(&str, gdal::vector::OGRFieldType::Type)> = fields
        .iter()
        .map(|f| (*f, gdal::vector::OGRFieldType::OFTString))
        .collect();
    l.create_defn_fields(&defs).unwrap();
    for (vals, [x0, y0, x1, y1]) in rows {
        let mut f = gdal::vector::Feature::new(l.defn()).unwrap();
        for (i, v) in vals.iter().enumerate() {
            f.set_field_string(i, v).unwrap();
        }
        let mut g = Geometry::bbox(*x0, *y0, *x1, *y1).unwrap();
        if epsg != 32650 {
            g.transform_inplace(&t).unwrap();
        }
        f.set_geometry(g).unwrap();
        f.create(&l).unwrap();
    }
}

/// Exact halves (reviewer's revH p/ov): lon/lat patches measured in UTM 50N, special land
/// over exactly half a patch gives `special_land` 1 whether its polygon is drawn once or
/// twice (the single polygon's clip read 49.99…%, the union of two 50 %), with the same
/// area; an expired licence and an exploration right (探矿权 in the mining-rights layer)
/// holding half each make the patch `exploration_only`, not `outside_all_rights`.
#[test]
fn an_exact_half_decides_the_same_however_often_it_is_drawn() {
    let d = tempfile::tempdir().unwrap();
    let patches = d.path().join("patches.gpkg");
    rects_gpkg(
        &patches,
        "patches",
        4326,
        &["id", "date_before", "date_after"],
        &[
            (
                vec!["special", "2021-06-01", "2022-06-01"],
                [668_000.0, 3_545_000.0, 668_200.0, 3_545_200.0],
            ),
            (
                vec!["tie", "2021-06-01", "2022-06-01"],
                [669_000.0, 3_545_000.0, 669_200.0, 3_545_200.0],
            ),
        ],
    );
    rects_gpkg(
        &d.path().join("rights.gpkg"),
        "rights",
        32650,
        &["lic", "rtype", "vfrom", "vto"],
        &[
            (
                vec!["L5", "采矿权", "2010-01-01", "2020-01-01"],
                [669_000.0, 3_545_000.0, 669_100.0, 3_545_200.0],
            ),
            (
                vec!["T6", "探矿权", "2020-01-01", "2030-01-01"],
                [669_100.0, 3_545_000.0, 669_200.0, 3_545_200.0],
            ),
        ],
    );
    let half = [668_000.0, 3_545_000.0, 668_200.0, 3_545_100.0];
    rects_gpkg(
        &d.path().join("once.gpkg"),
        "sp",
        32650,
        &["sid"],
        &[(vec!["M1"], half)],
    );
    rects_gpkg(
        &d.path().join("twice.gpkg"),
        "sp",
        32650,
        &["sid"],
        &[(vec!["M1"], half), (vec!["M1dup"], half)],
    );
    let mut got = Vec::new();
    for tag in ["once", "twice"] {
        let layers = d.path().join(format!("{tag}.toml"));
        std::fs::write(
            &layers,
            format!(
                "[[layer]]\nname = \"rights\"\npath = \"rights.gpkg\"\nkind = \"mining_right\"\nid_field = \"lic\"\nright_type_field = \"rtype\"\nvalid_from_field = \"vfrom\"\nvalid_to_field = \"vto\"\n\
                 [[layer]]\nname = \"sp\"\npath = \"{tag}.gpkg\"\nkind = \"special_land\"\nid_field = \"sid\"\n"
            ),
        )
        .unwrap();
        let out = d.path().join(format!("ov_{tag}"));
        let o = overlay(&patches, &layers, &out, &[]);
        assert!(o.status.success(), "{}", stderr(&o));
        let rows = csv_rows(&out.join("findings.csv"));
        let row = |id: &str| rows.iter().find(|r| r["id"] == id).unwrap().clone();
        let (sp, tie) = (row("special"), row("tie"));
        assert_eq!(sp["special_land"], "1", "{tag}: {sp:?}");
        assert_eq!(tie["licence_status"], "exploration_only", "{tag}: {tie:?}");
        got.push(sp["special_land_m2"].clone());
    }
    assert_eq!(got[0], got[1], "special land m² once and twice");
}

/// Licences whose validity is unknown are said on stderr and in the manifest, naming the
/// layer and the licences (reviewer's revH F3, F9): blank dates where the layer declares
/// its validity fields (the licence counts as valid where no date bounds it), a start after
/// the end (validity unknown: valid, not expired by its typo'd end), a corner-coordinate
/// licence without a row in its attributes table, and a blank or reversed period there.
#[test]
fn licences_of_unknown_validity_are_warned_naming_them() {
    let d = tempfile::tempdir().unwrap();
    let patches = d.path().join("patches.gpkg");
    let ids = ["BLANK", "NOSTART", "REV", "OK"];
    let at = |k: usize| [500_000.0 + 1000.0 * k as f64, 3_500_000.0];
    squares_gpkg(
        &patches,
        "patches",
        &["id", "date_after"],
        &ids.iter()
            .enumerate()
            .map(|(k, id)| (vec![*id, "2024-06-01"], [at(k)[0], at(k)[1], 50.0]))
            .collect::<Vec<_>>(),
    );
    let dates = [
        ("", ""),
        ("", "2030-01-01"),
        ("2003-01-01", "2001-06-30"),
        ("2020-01-01", "2030-01-01"),
    ];
    squares_gpkg(
        &d.path().join("rights.gpkg"),
        "rights",
        &["licence", "vfrom", "vto"],
        &ids.iter()
            .zip(dates)
            .enumerate()
            .map(|(k, (id, (f, t)))| (vec![*id, f, t], [at(k)[0], at(k)[1], 200.0]))
            .collect::<Vec<_>>(),
    );
    let layers = d.path().join("ogr.toml");
    std::fs::write(
        &layers,
        "[[layer]]\nname = \"rights\"\npath = \"rights.gpkg\"\nkind = \"mining_right\"\nid_field = \"licence\"\nvalid_from_field = \"vfrom\"\nvalid_to_field = \"vto\"\n",
    )
    .unwrap();
    let out = d.path().join("ogr");
    let o = overlay(&patches, &layers, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    let notes = manifest_of(&out)["notes"].to_string();
    for want in [
        "layer `rights`",
        "2 licence(s) with a blank validity date: BLANK (no dates), NOSTART (no start)",
        "1 licence(s) whose validity starts after it ends: REV (2003-01-01 → 2001-06-30)",
    ] {
        assert!(err.contains(want), "{want}: {err}");
        assert!(notes.contains(want), "{want}: {notes}");
    }
    assert!(!err.contains("OK"), "{err}");
    let rows = csv_rows(&out.join("findings.csv"));
    let status: Vec<&str> = rows.iter().map(|r| r["licence_status"].as_str()).collect();
    assert_eq!(status, ["inside"; 4]);

    // Corner coordinates: no row for the licence, then a blank and a reversed period.
    std::fs::write(
        d.path().join("lic.txt"),
        corner_txt(GK37_HEADER, "C1", 500_000.0, 3_500_000.0, 300.0),
    )
    .unwrap();
    for (tag, row, want) in [
        (
            "norow",
            "C9,丁公司,钨矿,2020-01-01至2030-01-01",
            "1 licence(s) without a row in",
        ),
        (
            "blank",
            "C1,丙公司,钨矿,",
            "blank validity date: C1 (no dates)",
        ),
        (
            "reversed",
            "C1,丙公司,钨矿,2003-01-01至2001-06-30",
            "starts after it ends: C1 (2003-01-01 → 2001-06-30)",
        ),
    ] {
        std::fs::write(
            d.path().join(format!("{tag}.csv")),
            format!("许可证号,采矿权人,开采矿种,有效期限\n{row}\n"),
        )
        .unwrap();
        let layers = d.path().join(format!("{tag}.toml"));
        std::fs::write(
            &layers,
            format!("[[layer]]\nname = \"corners\"\npath = \"lic.txt\"\nformat = \"guotu_txt\"\nkind = \"mining_right\"\nattributes = \"{tag}.csv\"\n"),
        )
        .unwrap();
        let out = d.path().join(tag);
        let o = overlay(&d.path().join("patches.gpkg"), &layers, &out, &[]);
        assert!(o.status.success(), "{tag}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains("warning: layer `corners`") && err.contains(want),
            "{tag}: {err}"
        );
        if tag == "norow" {
            assert!(err.contains(&format!("{tag}.csv: C1;")), "{err}");
        }
        assert!(manifest_of(&out)["notes"].to_string().contains(want));
        let rows = csv_rows(&out.join("findings.csv"));
        assert_eq!(rows[0]["licence_status"], "inside", "{tag}");
    }
}

/// A river corridor layer of polygons (reviewer's revH F6): `river_distance_m` is the
/// distance to the polygons, 0 for a patch inside one — it was empty, which reads as
/// "beyond 50 km" — and, with `buffer_m`, still to the polygon as drawn.
#[test]
fn a_polygon_river_layer_gives_distances_zero_inside() {
    let d = tempfile::tempdir().unwrap();
    let patches = d.path().join("patches.gpkg");
    squares_gpkg(
        &patches,
        "patches",
        &["id", "date_after"],
        &[
            (vec!["IN", "2024-06-01"], [500_000.0, 3_500_000.0, 50.0]),
            (vec!["OUT", "2024-06-01"], [500_850.0, 3_500_000.0, 50.0]),
        ],
    );
    squares_gpkg(
        &d.path().join("water.gpkg"),
        "water",
        &["name"],
        &[(vec!["长江"], [500_000.0, 3_500_000.0, 500.0])],
    );
    for (tag, buffer) in [("plain", ""), ("grown", "buffer_m = 1000\n")] {
        let layers = d.path().join(format!("{tag}.toml"));
        std::fs::write(
            &layers,
            format!("[[layer]]\nname = \"river\"\npath = \"water.gpkg\"\nkind = \"river_corridor\"\n{buffer}"),
        )
        .unwrap();
        let out = d.path().join(tag);
        let o = overlay(&patches, &layers, &out, &[]);
        assert!(o.status.success(), "{}", stderr(&o));
        let rows = csv_rows(&out.join("findings.csv"));
        let dist =
            |id: &str| rows.iter().find(|r| r["id"] == id).unwrap()["river_distance_m"].clone();
        assert_eq!(dist("IN"), "0", "{tag}");
        let out_m: f64 = dist("OUT").parse().unwrap();
        assert!((out_m - 300.0).abs() < 1e-6, "{tag}: {out_m}");
    }
}

/// One id on two features of a zone layer (two red lines `Z1`) is a warning naming the
/// layer, the id and how many (reviewer's revH); each stays its own zone. Not for an admin
/// division in two features, which is one division by design.
#[test]
fn a_zone_id_on_several_features_is_warned() {
    let d = tempfile::tempdir().unwrap();
    let patches = one_patch(d.path());
    squares_gpkg(
        &d.path().join("zones.gpkg"),
        "redline",
        &["zid"],
        &[
            (vec!["Z1"], [500_000.0, 3_500_000.0, 30.0]),
            (vec!["Z2"], [500_000.0, 3_500_050.0, 30.0]),
            (vec!["Z1"], [500_050.0, 3_500_000.0, 30.0]),
        ],
    );
    squares_gpkg(
        &d.path().join("county.gpkg"),
        "county",
        &["code", "name"],
        &[
            (vec!["320115", "江宁区"], [499_000.0, 3_500_000.0, 1000.0]),
            (vec!["320115", "江宁区"], [501_000.0, 3_500_000.0, 1000.0]),
        ],
    );
    let layers = d.path().join("layers.toml");
    std::fs::write(
        &layers,
        "[[layer]]\nname = \"redline\"\npath = \"zones.gpkg\"\nkind = \"ecological_red_line\"\nid_field = \"zid\"\n\
         [[layer]]\nname = \"county\"\npath = \"county.gpkg\"\nkind = \"admin_division\"\nlevel = \"county\"\ncode_field = \"code\"\nid_field = \"code\"\nname_field = \"name\"\n",
    )
    .unwrap();
    let out = d.path().join("ov");
    let o = overlay(&patches, &layers, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    let warned: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("more than one feature"))
        .collect();
    assert_eq!(warned.len(), 1, "{err}");
    assert!(
        warned[0].contains("warning: layer `redline`")
            && warned[0].contains("1 zone id(s)")
            && warned[0].contains("Z1 (2 features)"),
        "{err}"
    );
    assert!(manifest_of(&out)["notes"]
        .to_string()
        .contains("Z1 (2 features)"));
    let hits = csv_rows(&out.join("zone_hits.csv"));
    assert_eq!(hits.iter().filter(|h| h["zone_id"] == "Z1").count(), 2);
}

/// Patches outside every polygon of an admin-division layer are a warning with how many
/// and their ids, on stderr and in the manifest (reviewer's revH F8): their county columns
/// are empty. Every patch placed: no warning.
#[test]
fn patches_outside_every_division_are_warned() {
    let d = tempfile::tempdir().unwrap();
    let patches = d.path().join("patches.gpkg");
    squares_gpkg(
        &patches,
        "patches",
        &["id", "date_after"],
        &[
            (vec!["P1", "2024-06-01"], [500_000.0, 3_500_000.0, 50.0]),
            (vec!["P2", "2024-06-01"], [520_000.0, 3_500_000.0, 50.0]),
        ],
    );
    squares_gpkg(
        &d.path().join("county.gpkg"),
        "county",
        &["code", "name"],
        &[(vec!["320115", "江宁区"], [500_000.0, 3_500_000.0, 1000.0])],
    );
    let layers = d.path().join("layers.toml");
    std::fs::write(
        &layers,
        "[[layer]]\nname = \"counties\"\npath = \"county.gpkg\"\nkind = \"admin_division\"\nlevel = \"county\"\ncode_field = \"code\"\nname_field = \"name\"\n",
    )
    .unwrap();
    let out = d.path().join("ov");
    let o = overlay(&patches, &layers, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let want = "1 of 2 patch(es) lie outside every county of admin layer(s) `counties`: P2;";
    assert!(
        stderr(&o).contains(&format!("overlay: warning: {want}")),
        "{}",
        stderr(&o)
    );
    assert!(manifest_of(&out)["notes"].to_string().contains(want));
    let rows = csv_rows(&out.join("findings.csv"));
    assert_eq!(rows[0]["county_code"], "320115");
    assert_eq!(rows[1]["county_code"], "");
    // The one placed patch alone: nothing to say.
    std::fs::create_dir(d.path().join("one")).unwrap();
    let one = one_patch(&d.path().join("one"));
    let o = overlay(&one, &layers, &d.path().join("ov1"), &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("lie outside every"), "{}", stderr(&o));
}

/// A layer on Xian 1980 (a Shapefile whose .prj says so, as old licence registers are)
/// is converted without the datum shift (PROJ has none to CGCS2000): that is said on
/// stderr and in the manifest, naming the layer, the datum and what to do (revZ2 F1).
#[test]
fn a_layer_on_the_xian_1980_datum_is_warned_about() {
    let d = tempfile::tempdir().unwrap();
    one_patch(d.path());
    let shp = undeclared_shapefile(
        &d.path().join("xian"),
        "UTF-8",
        ["lic_id", "holder", "mineral"],
        &[(vec!["C1", "A", "coal"], [500_000.0, 3_500_000.0, 200.0])],
    );
    let layers = d.path().join("layers.toml");
    std::fs::write(
        &layers,
        format!("[[layer]]\nname = \"rights\"\npath = \"{}\"\nkind = \"mining_right\"\nid_field = \"lic_id\"\n", shp.display()),
    )
    .unwrap();
    let warned = "datum";
    // As written (UTM 49N on WGS 84): nothing said.
    let out = d.path().join("ov_wgs84");
    let o = overlay(&d.path().join("patches.gpkg"), &layers, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("Xian 1980"), "{}", stderr(&o));
    // The same file declared Xian 1980 / 3-degree GK CM 111E (EPSG:2382), ESRI-style .prj.
    let srs = SpatialRef::from_epsg(2382).unwrap();
    srs.morph_to_esri().unwrap();
    std::fs::write(shp.with_extension("prj"), srs.to_wkt().unwrap()).unwrap();
    let out = d.path().join("ov_xian");
    let o = overlay(&d.path().join("patches.gpkg"), &layers, &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("layer `rights`") && err.contains("Xian 1980") && err.contains(warned),
        "{err}"
    );
    assert!(err.contains("~100 m") && err.contains("CGCS2000"), "{err}");
    let notes = manifest_of(&out)["notes"].to_string();
    assert!(notes.contains("Xian 1980"), "{notes}");
}
