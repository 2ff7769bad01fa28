//! Outside reference: on the same inputs and rule, minewatch's patch count, per-patch
//! pixel counts and areas equal those of the peer pipeline built from GDAL's own tools
//! (gdal_calc.py → gdal_sieve.py -8 -nomask → gdal_polygonize.py -8), and our polygons
//! are all valid where GDAL's are not.

mod common;
use common::*;
use gdal::vector::LayerAccess;
use std::path::Path;
use std::process::Command;

/// Run the peer's calc/sieve/polygonize on bands (blue, red, nir, swir1) = `b`.
fn gdal_peer(t1: &Path, t2: &Path, b: [u32; 4], dir: &Path) -> Vec<f64> {
    let (bl, r, n, sw) = (b[0], b[1], b[2], b[3]);
    let ndvi = |p: &str| format!("((float32({p}N)-float32({p}R))/(float32({p}N)+float32({p}R)))");
    let bsi = |p: &str| {
        format!("(((float32({p}S)+float32({p}R))-(float32({p}N)+float32({p}B)))/((float32({p}S)+float32({p}R))+(float32({p}N)+float32({p}B))))")
    };
    // gdal_calc letters: A..D for t1 (blue, red, nir, swir1), E..H for t2.
    let sub = |e: String, p: &str| {
        let m = if p == "1" {
            [("B", "A"), ("R", "C"), ("N", "D"), ("S", "E")]
        } else {
            [("B", "F"), ("R", "H"), ("N", "I"), ("S", "J")]
        };
        m.iter().fold(e, |acc, (k, v)| {
            acc.replace(&format!("{p}{k})"), &format!("{v})"))
        })
    };
    let calc = format!(
        "uint8((({}-{})>=0.2)&(({}-{})>=0.1)&(F<2500))",
        sub(ndvi("1"), "1"),
        sub(ndvi("2"), "2"),
        sub(bsi("2"), "2"),
        sub(bsi("1"), "1")
    );
    let change = dir.join("change.tif");
    let sieved = dir.join("sieved.tif");
    let gpkg = dir.join("work.gpkg");
    let st = Command::new("gdal_calc.py")
        .args(["--quiet", "--overwrite", "--type=Byte"])
        .args([
            "-A",
            s(t1),
            &format!("--A_band={bl}"),
            "-C",
            s(t1),
            &format!("--C_band={r}"),
        ])
        .args([
            "-D",
            s(t1),
            &format!("--D_band={n}"),
            "-E",
            s(t1),
            &format!("--E_band={sw}"),
        ])
        .args([
            "-F",
            s(t2),
            &format!("--F_band={bl}"),
            "-H",
            s(t2),
            &format!("--H_band={r}"),
        ])
        .args([
            "-I",
            s(t2),
            &format!("--I_band={n}"),
            "-J",
            s(t2),
            &format!("--J_band={sw}"),
        ])
        .arg(format!("--calc={calc}"))
        .arg(format!("--outfile={}", s(&change)))
        .status()
        .unwrap();
    assert!(st.success(), "gdal_calc.py failed");
    let st = Command::new("gdal_sieve.py")
        .args(["-q", "-st", "10", "-8", "-nomask", s(&change), s(&sieved)])
        .status()
        .unwrap();
    assert!(st.success());
    let st = Command::new("gdal_polygonize.py")
        .args([
            "-q",
            "-8",
            "-mask",
            s(&sieved),
            s(&sieved),
            "-f",
            "GPKG",
            s(&gpkg),
            "patches",
            "DN",
        ])
        .status()
        .unwrap();
    assert!(st.success());
    let ds = gdal::Dataset::open(&gpkg).unwrap();
    let mut layer = ds.layer(0).unwrap();
    let mut areas: Vec<f64> = layer
        .features()
        .map(|f| f.geometry().unwrap().area())
        .collect();
    areas.sort_by(|a, b| a.partial_cmp(b).unwrap());
    areas
}

fn ours(t1: &Path, t2: &Path, out: &Path, extra: &[&str]) -> (Vec<f64>, Vec<u64>) {
    let params = root().join("pipelines/peer-rule.toml");
    let mut args = vec![
        "detect",
        s(t1),
        s(t2),
        "--params",
        s(&params),
        "--out",
        s(out),
        "--quiet",
    ];
    args.extend_from_slice(extra);
    let o = minewatch(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let ds = gdal::Dataset::open(out.join("patches.gpkg")).unwrap();
    let mut layer = ds.layer_by_name("patches").unwrap();
    let mut areas = Vec::new();
    let mut pixels = Vec::new();
    for f in layer.features() {
        areas.push(f.geometry().unwrap().area());
        let i = f.field_index("pixels").unwrap();
        pixels.push(f.field_as_integer64(i).unwrap().unwrap() as u64);
    }
    areas.sort_by(|a, b| a.partial_cmp(b).unwrap());
    pixels.sort();
    (areas, pixels)
}

fn invalid_count(gpkg: &Path, layer: &str) -> i64 {
    let o = Command::new("ogrinfo")
        .args(["-q", s(gpkg), "-dialect", "SQLite", "-sql"])
        .arg(format!(
            "SELECT COUNT(*) AS bad FROM {layer} WHERE NOT ST_IsValid(geom)"
        ))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("bad (Integer") || l.contains("bad (Integer64"))
        .unwrap_or_else(|| panic!("ogrinfo said: {text}"));
    line.rsplit('=').next().unwrap().trim().parse().unwrap()
}

fn check(t1: &Path, t2: &Path, bands: [u32; 4], extra: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let peer = gdal_peer(t1, t2, bands, dir.path());
    let (areas, pixels) = ours(t1, t2, &dir.path().join("ours"), extra);
    assert!(!peer.is_empty(), "the scene must produce patches");
    assert_eq!(areas.len(), peer.len(), "patch count");
    for (a, b) in areas.iter().zip(&peer) {
        assert!((a - b).abs() <= 1e-6 * b, "area {a} vs GDAL {b}");
    }
    let px_area = peer[0] / pixels[0] as f64;
    for (p, b) in pixels.iter().zip(&peer) {
        assert!(
            (*p as f64 * px_area - b).abs() <= 1e-6 * b,
            "pixels {p} vs GDAL area {b}"
        );
    }
    assert_eq!(
        invalid_count(&dir.path().join("ours/patches.gpkg"), "patches"),
        0,
        "our polygons must all be valid"
    );
}

#[test]
fn synthetic_scene_matches_gdal_tools() {
    if !(have_tool("gdal_calc.py")
        && have_tool("gdal_sieve.py")
        && have_tool("gdal_polygonize.py")
        && have_tool("ogrinfo"))
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let [t1, t2] = synth_pair(dir.path(), 300, 260, 11);
    check(&t1, &t2, [1, 3, 4, 5], &["--window", "64"]);
}

#[test]
fn real_landsat_clip_matches_gdal_tools() {
    if !(have_tool("gdal_calc.py")
        && have_tool("gdal_sieve.py")
        && have_tool("gdal_polygonize.py")
        && have_tool("ogrinfo"))
    {
        return;
    }
    let t1 = fixture("real/nanjing_L5TM_20000503_clip400.tif");
    let t2 = fixture("real/nanjing_L5TM_20020712_clip400.tif");
    check(&t1, &t2, [1, 3, 4, 5], &[]);
}

#[test]
fn gdal_polygonize_leaves_invalid_rings_that_ours_do_not() {
    if !(have_tool("gdal_polygonize.py") && have_tool("ogrinfo")) {
        return;
    }
    // Two pixels touching at a corner plus a ring closed only diagonally.
    let dir = tempfile::tempdir().unwrap();
    let [t1, t2] = synth_pair(dir.path(), 300, 260, 11);
    let _ = gdal_peer(&t1, &t2, [1, 3, 4, 5], dir.path());
    let gdal_bad = invalid_count(&dir.path().join("work.gpkg"), "patches");
    assert!(
        gdal_bad > 0,
        "this scene has pinch points that GDAL writes as invalid polygons"
    );
}
