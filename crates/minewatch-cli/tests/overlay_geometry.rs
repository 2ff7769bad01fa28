//! `minewatch overlay` on layer and patch geometry as other tools draw it (review revY):
//! multi-part licences and patches whose parts overlap, a layer labelled with the wrong
//! CGCS2000 Gauss-Krüger CRS, an excluded ring drawn outside its outer ring, and rings
//! left open or beyond repair.

mod common;
use common::*;
use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};
use std::path::{Path, PathBuf};

/// A GeoJSON FeatureCollection in EPSG:`epsg` of (properties JSON, geometry JSON).
fn collection(epsg: u32, feats: &[(&str, String)]) -> String {
    let f: Vec<String> = feats
        .iter()
        .map(|(p, g)| format!(r#"{{"type":"Feature","properties":{p},"geometry":{g}}}"#))
        .collect();
    format!(
        r#"{{"type":"FeatureCollection","crs":{{"type":"name","properties":{{"name":"urn:ogc:def:crs:EPSG::{epsg}"}}}},"features":[{}]}}"#,
        f.join(",\n")
    )
}

/// A closed ring of the rectangle (x0, y0)–(x1, y1), counter-clockwise, as GeoJSON.
fn ring(x0: f64, y0: f64, x1: f64, y1: f64) -> String {
    format!("[[{x0},{y0}],[{x1},{y0}],[{x1},{y1}],[{x0},{y1}],[{x0},{y0}]]")
}

/// The rectangle (x0, y0)–(x1, y1) of EPSG:4546 (CGCS2000 GK CM 111E) as a GeoJSON
/// polygon in lon/lat, its corners transformed (as `ogr2ogr -t_srs EPSG:4326` does).
fn lonlat_rect(x0: f64, y0: f64, x1: f64, y1: f64) -> String {
    let mut gk = SpatialRef::from_epsg(4546).unwrap();
    gk.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let mut ll = SpatialRef::from_epsg(4326).unwrap();
    ll.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let ct = CoordTransform::new(&gk, &ll).unwrap();
    let mut xs = [x0, x1, x1, x0, x0];
    let mut ys = [y0, y0, y1, y1, y0];
    ct.transform_coords(&mut xs, &mut ys, &mut []).unwrap();
    let pts: Vec<String> = xs
        .iter()
        .zip(ys)
        .map(|(x, y)| format!("[{x:.10},{y:.10}]"))
        .collect();
    format!(
        r#"{{"type":"Polygon","coordinates":[[{}]]}}"#,
        pts.join(",")
    )
}

const DATES: &str = r#""date_before":"2019-06-01","date_after":"2020-06-01""#;

/// A mining-rights layers file over `lic.geojson` in `dir`.
fn rights_layers(dir: &Path) -> PathBuf {
    let layers = dir.join("l.toml");
    std::fs::write(
        &layers,
        "[[layer]]\nname = \"rights\"\npath = \"lic.geojson\"\nkind = \"mining_right\"\nid_field = \"XKZH\"\nvalid_from_field = \"YXQQ\"\nvalid_to_field = \"YXQZ\"\n",
    )
    .unwrap();
    layers
}

/// Licence C…10 of `geometry` (EPSG:4546) in `lic.geojson` of `dir`, and its layers file.
fn licence_layers(dir: &Path, geometry: String) -> PathBuf {
    std::fs::write(
        dir.join("lic.geojson"),
        collection(4546, &[(LICENCE, geometry)]),
    )
    .unwrap();
    rights_layers(dir)
}

const LICENCE: &str =
    r#"{"XKZH":"C1400002012011110000010","YXQQ":"2010-01-01","YXQZ":"2030-01-01"}"#;

fn overlay(patches: &Path, layers: &Path, out: &Path) -> std::process::Output {
    minewatch(&[
        "overlay",
        s(patches),
        "--layers",
        s(layers),
        "--out",
        s(out),
    ])
}

fn manifest_of(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("overlay_manifest.json")).unwrap())
        .unwrap()
}

/// Review revY F1: a licence of two overlapping 1 km parcels (an invalid MultiPolygon, as
/// multi-part licences come) covers the union of its parts after it is reprojected onto
/// the patches' work CRS: a patch in the overlap was 无证, as GEOS's default repair turned
/// the shared ground into a hole. And a patch of two overlapping 200 × 200 m parts
/// measures their union, 60,000 m², not 40,000.
#[test]
fn overlapping_parts_of_a_licence_and_of_a_patch_cover_their_union() {
    let d = tempfile::tempdir().unwrap();
    let parcels = format!(
        r#"{{"type":"MultiPolygon","coordinates":[[{}],[{}]]}}"#,
        ring(544_000.0, 4_151_000.0, 545_000.0, 4_152_000.0),
        ring(544_500.0, 4_151_000.0, 545_500.0, 4_152_000.0)
    );
    let layers = licence_layers(d.path(), parcels);
    let patch = |id: &str, x: f64| {
        (
            format!(r#"{{"id":"{id}",{DATES}}}"#),
            lonlat_rect(x, 4_151_200.0, x + 200.0, 4_151_400.0),
        )
    };
    let rows = [
        patch("left", 544_100.0),
        patch("overlap", 544_600.0),
        patch("right", 545_200.0),
    ];
    let rows: Vec<(&str, String)> = rows.iter().map(|(p, g)| (p.as_str(), g.clone())).collect();
    let patches = d.path().join("p.geojson");
    std::fs::write(&patches, collection(4326, &rows)).unwrap();
    let out = d.path().join("ov");
    let o = overlay(&patches, &layers, &out);
    assert!(o.status.success(), "{}", stderr(&o));
    for r in csv_rows(&out.join("findings.csv")) {
        assert_eq!(r["licence_status"], "inside", "{}", r["id"]);
        assert_eq!(r["licences"], "C1400002012011110000010", "{}", r["id"]);
        assert_eq!(r["outside_licence_m2"], "0", "{}", r["id"]);
    }

    let two = format!(
        r#"{{"type":"MultiPolygon","coordinates":[[{}],[{}]]}}"#,
        ring(544_000.0, 4_151_000.0, 544_200.0, 4_151_200.0),
        ring(544_100.0, 4_151_000.0, 544_300.0, 4_151_200.0)
    );
    let mp = d.path().join("mp.geojson");
    let props = format!(r#"{{"id":"overlapmp",{DATES}}}"#);
    std::fs::write(&mp, collection(4546, &[(props.as_str(), two)])).unwrap();
    let out = d.path().join("ov_mp");
    let o = overlay(&mp, &layers, &out);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = csv_rows(&out.join("findings.csv"));
    let area: f64 = rows[0]["area_m2"].parse().unwrap();
    // 300 × 200 m on the grid; on the ellipsoid within the zone's scale (~5e-5 here).
    assert!((area - 60_000.0).abs() < 10.0, "{area}");
    let notes = manifest_of(&out)["notes"].to_string();
    assert!(
        notes.contains("patch overlapmp: invalid polygon repaired"),
        "{notes}"
    );
}

/// Review revY F2: eastings with the zone prefix labelled with the CRS without it (and
/// the reverse) read no feature near the patches, and every patch came out 无证 without
/// a word. Refused, exit 1, naming the layer, the file, the declared CRS and the likely
/// right one; nothing written.
#[test]
fn a_layer_in_the_wrong_gauss_kruger_crs_is_refused_naming_the_right_one() {
    let d = tempfile::tempdir().unwrap();
    let patches = d.path().join("p.geojson");
    let props = format!(r#"{{"id":"P1",{DATES}}}"#);
    std::fs::write(
        &patches,
        collection(
            4326,
            &[(
                props.as_str(),
                lonlat_rect(544_200.0, 4_151_200.0, 544_400.0, 4_151_400.0),
            )],
        ),
    )
    .unwrap();
    let layers = rights_layers(d.path());
    for (epsg, offset, want) in [
        (4546, 37_000_000.0, "EPSG:4525"),
        (4525, 0.0, "EPSG:4546"),
        (4546, 0.0, ""),
    ] {
        let square = format!(
            r#"{{"type":"Polygon","coordinates":[{}]}}"#,
            ring(
                offset + 544_000.0,
                4_151_000.0,
                offset + 545_000.0,
                4_152_000.0
            )
        );
        std::fs::write(
            d.path().join("lic.geojson"),
            collection(epsg, &[(LICENCE, square)]),
        )
        .unwrap();
        let out = d.path().join(format!("ov{epsg}_{offset}"));
        let o = overlay(&patches, &layers, &out);
        if want.is_empty() {
            assert!(o.status.success(), "{}", stderr(&o));
            assert_eq!(
                csv_rows(&out.join("findings.csv"))[0]["licence_status"],
                "inside"
            );
            continue;
        }
        assert_eq!(o.status.code(), Some(1), "EPSG:{epsg}: {}", stderr(&o));
        let e = stderr(&o);
        assert!(
            e.contains("layer `rights`")
                && e.contains("lic.geojson")
                && e.contains(&format!("its CRS, EPSG:{epsg}"))
                && e.contains(&format!("the CRS is likely {want}")),
            "{e}"
        );
        assert!(!out.exists(), "nothing is written on a refused layer");
    }
}

/// A rights layer in its right CRS but nowhere near the patches is warned about: every
/// patch would be 无证 because of it.
#[test]
fn a_rights_layer_with_no_feature_near_the_patches_is_warned() {
    let d = tempfile::tempdir().unwrap();
    let square = format!(
        r#"{{"type":"Polygon","coordinates":[{}]}}"#,
        ring(544_000.0, 4_451_000.0, 545_000.0, 4_452_000.0)
    );
    let layers = licence_layers(d.path(), square);
    let patches = d.path().join("p.geojson");
    let props = format!(r#"{{"id":"P1",{DATES}}}"#);
    std::fs::write(
        &patches,
        collection(
            4326,
            &[(
                props.as_str(),
                lonlat_rect(544_200.0, 4_151_200.0, 544_400.0, 4_151_400.0),
            )],
        ),
    )
    .unwrap();
    let out = d.path().join("ov");
    let o = overlay(&patches, &layers, &out);
    assert!(o.status.success(), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("layer `rights`")
            && e.contains("none of its features lies within")
            && e.contains("CRS"),
        "{e}"
    );
}

/// Review revY F5: a hole drawn outside its outer ring became a second licensed part
/// (the licence measured 2 km², a patch on the excluded ground was 证内). Its ground is
/// kept out of the licence, and the hole is warned about by licence and ring, as the
/// corner-coordinate reader names it.
#[test]
fn a_hole_outside_its_outer_ring_licenses_nothing_and_is_warned() {
    let d = tempfile::tempdir().unwrap();
    let licence = format!(
        r#"{{"type":"Polygon","coordinates":[{},{}]}}"#,
        ring(544_000.0, 4_154_000.0, 545_000.0, 4_155_000.0),
        ring(546_000.0, 4_154_000.0, 547_000.0, 4_155_000.0)
    );
    let layers = licence_layers(d.path(), licence);
    let patch = |id: &str, x: f64| {
        (
            format!(r#"{{"id":"{id}",{DATES}}}"#),
            format!(
                r#"{{"type":"Polygon","coordinates":[{}]}}"#,
                ring(x, 4_154_200.0, x + 200.0, 4_154_400.0)
            ),
        )
    };
    let rows = [
        patch("in_outer_ring", 544_200.0),
        patch("on_excluded_ring", 546_200.0),
    ];
    let rows: Vec<(&str, String)> = rows.iter().map(|(p, g)| (p.as_str(), g.clone())).collect();
    let patches = d.path().join("p.geojson");
    std::fs::write(&patches, collection(4546, &rows)).unwrap();
    let out = d.path().join("ov");
    let o = overlay(&patches, &layers, &out);
    assert!(o.status.success(), "{}", stderr(&o));
    let status: Vec<(String, String)> = csv_rows(&out.join("findings.csv"))
        .into_iter()
        .map(|r| (r["id"].clone(), r["licence_status"].clone()))
        .collect();
    assert_eq!(
        status,
        [
            ("in_outer_ring".to_string(), "inside".to_string()),
            (
                "on_excluded_ring".to_string(),
                "outside_all_rights".to_string()
            )
        ]
    );
    let e = stderr(&o);
    assert!(
        e.contains("feature C1400002012011110000010: hole (ring 2 of polygon 1) lies outside its outer ring"),
        "{e}"
    );
}

/// Review revY F6: one red-line polygon with an unclosed ring stopped the whole overlay
/// with a raw GEOS exception. Its ring is closed (noted) and it counts; a feature GEOS
/// still cannot repair (a ring of two points) is skipped with a warning naming it, and
/// counted in the manifest.
#[test]
fn an_unclosed_ring_is_closed_and_an_unrepairable_feature_skipped() {
    let d = tempfile::tempdir().unwrap();
    let open = "[[544000,4151000],[545000,4151000],[545000,4152000],[544000,4152000]]";
    std::fs::write(
        d.path().join("red.geojson"),
        collection(
            4546,
            &[
                (
                    r#"{"BH":"HX001"}"#,
                    format!(r#"{{"type":"Polygon","coordinates":[{open}]}}"#),
                ),
                (
                    r#"{"BH":"HX002"}"#,
                    r#"{"type":"Polygon","coordinates":[[[544100,4151100],[544900,4151900]]]}"#
                        .to_string(),
                ),
            ],
        ),
    )
    .unwrap();
    let layers = d.path().join("l.toml");
    std::fs::write(
        &layers,
        "[[layer]]\nname = \"redline\"\npath = \"red.geojson\"\nkind = \"ecological_red_line\"\nid_field = \"BH\"\n",
    )
    .unwrap();
    let patches = d.path().join("p.geojson");
    let props = format!(r#"{{"id":"P1",{DATES}}}"#);
    std::fs::write(
        &patches,
        collection(
            4546,
            &[(
                props.as_str(),
                format!(
                    r#"{{"type":"Polygon","coordinates":[{}]}}"#,
                    ring(544_200.0, 4_151_200.0, 544_400.0, 4_151_400.0)
                ),
            )],
        ),
    )
    .unwrap();
    let out = d.path().join("ov");
    let o = overlay(&patches, &layers, &out);
    assert!(o.status.success(), "{}", stderr(&o));
    let hits = csv_rows(&out.join("zone_hits.csv"));
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0]["zone_id"], "HX001");
    let e = stderr(&o);
    assert!(
        e.contains("layer `redline`")
            && e.contains("red.geojson")
            && e.contains("feature HX002")
            && e.contains("skipped"),
        "{e}"
    );
    let m = manifest_of(&out);
    assert_eq!(m["layers"][0]["features_skipped"], 1);
    let notes = m["notes"].to_string();
    assert!(notes.contains("feature HX001: ring not closed"), "{notes}");
}
