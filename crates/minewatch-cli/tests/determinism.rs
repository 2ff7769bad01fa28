//! Byte-identical outputs for any thread count and window size: ids and statistics come
//! from the data, never from processing order.

mod common;
use common::*;
use std::path::Path;

const DATA_FILES: [&str; 3] = ["patches.geojson", "patches.csv", "patches.gpkg"];

fn run(t1: &Path, t2: &Path, out: &Path, threads: &str, window: &str) {
    let o = minewatch(&[
        "detect",
        s(t1),
        s(t2),
        "--out",
        s(out),
        "--threads",
        threads,
        "--window",
        window,
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn identical_for_threads_1_2_8_and_two_window_sizes() {
    let dir = tempfile::tempdir().unwrap();
    // 300x260 with windows of 64 and 100: patches cross window seams and corners.
    let [t1, t2] = synth_pair(dir.path(), 300, 260, 3);
    let runs = [
        ("1", "64"),
        ("2", "64"),
        ("8", "64"),
        ("2", "100"),
        ("8", "512"),
    ];
    let outs: Vec<_> = runs
        .iter()
        .map(|(t, w)| {
            let out = dir.path().join(format!("out_t{t}_w{w}"));
            run(&t1, &t2, &out, t, w);
            out
        })
        .collect();
    let csv = std::fs::read_to_string(outs[0].join("patches.csv")).unwrap();
    assert!(csv.lines().count() > 10, "the scene must produce patches");
    for f in DATA_FILES {
        let first = std::fs::read(outs[0].join(f)).unwrap();
        for (o, r) in outs.iter().zip(runs.iter()).skip(1) {
            assert!(
                std::fs::read(o.join(f)).unwrap() == first,
                "{f} differs for threads {} window {}",
                r.0,
                r.1
            );
        }
    }
    // The manifest records the run; apart from timings, threads and window it is the same too.
    let strip = |p: &Path| {
        let mut v: serde_json::Value = manifest(p);
        let m = v.as_object_mut().unwrap();
        for k in ["timings_s", "threads", "window"] {
            m.remove(k);
        }
        for p in m["pairs"].as_array_mut().unwrap() {
            p.as_object_mut().unwrap().remove("detect_s");
            p.as_object_mut().unwrap().remove("georef_s");
        }
        // Whether a hash came from the cache depends on the clock (a file is cached only
        // 2 s after its last change): on a loaded machine later runs take it from there.
        for i in m["inputs"].as_array_mut().unwrap() {
            i.as_object_mut().unwrap().remove("sha256_from_cache");
        }
        v
    };
    assert_eq!(strip(&outs[0]), strip(&outs[3]));
}

#[test]
fn ids_come_from_the_first_pixel_and_the_pair() {
    let dir = tempfile::tempdir().unwrap();
    let [t1, t2] = synth_pair(dir.path(), 200, 200, 5);
    let out = dir.path().join("o");
    run(&t1, &t2, &out, "2", "64");
    let text = std::fs::read_to_string(out.join("patches.csv")).unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let mut n = 0;
    for rec in rdr.records() {
        let rec = rec.unwrap();
        let (id, row, col) = (&rec[0], &rec[9], &rec[10]);
        assert_eq!(id, format!("20200601_20210601_r{row}c{col}"));
        n += 1;
    }
    assert!(n > 0);
}

#[test]
fn stripped_and_tiled_copies_give_the_same_bytes() {
    if !have_tool("gdal_translate") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let [t1, t2] = synth_pair(dir.path(), 230, 190, 6);
    // Same pixels, stored in 7-row DEFLATE strips: read through full-width windows.
    let strips = dir.path().join("strips");
    std::fs::create_dir_all(&strips).unwrap();
    let mut st = Vec::new();
    for t in [&t1, &t2] {
        let p = strips.join(t.file_name().unwrap());
        translate(
            &[
                "-co",
                "BLOCKYSIZE=7",
                "-co",
                "COMPRESS=DEFLATE",
                "-co",
                "PREDICTOR=2",
            ],
            t,
            &p,
        );
        st.push(p);
    }
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    run(&t1, &t2, &a, "2", "64");
    run(&st[0], &st[1], &b, "2", "64");
    let m: serde_json::Value = manifest(&b);
    assert!(
        m["inputs"][0]["decode"]
            .as_str()
            .unwrap()
            .contains("230x7 blocks"),
        "{}",
        m["inputs"][0]["decode"]
    );
    for f in DATA_FILES {
        assert!(
            std::fs::read(a.join(f)).unwrap() == std::fs::read(b.join(f)).unwrap(),
            "{f} differs between layouts"
        );
    }
}

/// With the explicit rule, patches are georeferenced in batches of 512 while later
/// windows are still computed, in whatever order the pool runs them: a rule loose enough
/// to make thousands of small patches (several batches, some georeferenced long before
/// the sweep ends) gives the same bytes for any thread count and window size.
#[test]
fn patches_georeferenced_during_the_sweep_are_in_data_order() {
    let dir = tempfile::tempdir().unwrap();
    let [t1, t2] = synth_pair(dir.path(), 320, 300, 8);
    let params = dir.path().join("loose.toml");
    std::fs::write(
        &params,
        "method = \"rule\"\nrule = [\"ndvi_drop >= 0.005\"]\nmmu_px = 1\nmmu_mode = \"gdal\"\nconnectivity = 8\n",
    )
    .unwrap();
    let outs: Vec<_> = [("1", "64"), ("2", "64"), ("2", "512"), ("8", "100")]
        .iter()
        .map(|(t, w)| {
            let out = dir.path().join(format!("loose_t{t}_w{w}"));
            let o = minewatch(&[
                "detect",
                s(&t1),
                s(&t2),
                "--out",
                s(&out),
                "--params",
                s(&params),
                "--threads",
                t,
                "--window",
                w,
                "--quiet",
            ]);
            assert!(o.status.success(), "{}", stderr(&o));
            out
        })
        .collect();
    let n = manifest(&outs[0])["patches"].as_u64().unwrap();
    assert!(n > 2 * 512, "several batches must stream: {n} patches");
    for f in DATA_FILES {
        let first = std::fs::read(outs[0].join(f)).unwrap();
        for o in &outs[1..] {
            assert!(
                std::fs::read(o.join(f)).unwrap() == first,
                "{f} differs in {}",
                o.display()
            );
        }
    }
}

/// A copy of `src` stored south-up (rows bottom to top, positive y pixel size) when
/// `flip_rows`, else mirrored (columns right to left, negative x pixel size): the same
/// ground, another grid orientation.
fn flipped_copy(src: &Path, dst: &Path, flip_rows: bool) {
    use gdal::raster::Buffer;
    let ds = gdal::Dataset::open(src).unwrap();
    let (w, h) = ds.raster_size();
    let t = ds.geo_transform().unwrap();
    let drv = gdal::DriverManager::get_driver_by_name("GTiff").unwrap();
    let mut out = drv
        .create_with_band_type::<u8, _>(dst, w, h, ds.raster_count())
        .unwrap();
    out.set_projection(&ds.projection()).unwrap();
    out.set_geo_transform(&if flip_rows {
        [t[0], t[1], 0.0, t[3] + h as f64 * t[5], 0.0, -t[5]]
    } else {
        [t[0] + w as f64 * t[1], -t[1], 0.0, t[3], 0.0, t[5]]
    })
    .unwrap();
    for b in 1..=ds.raster_count() {
        let (_, v) = ds
            .rasterband(b)
            .unwrap()
            .read_as::<u8>((0, 0), (w, h), (w, h), None)
            .unwrap()
            .into_shape_and_vec();
        let mut f = vec![0u8; w * h];
        for r in 0..h {
            for c in 0..w {
                let (r2, c2) = if flip_rows {
                    (h - 1 - r, c)
                } else {
                    (r, w - 1 - c)
                };
                f[r2 * w + c2] = v[r * w + c];
            }
        }
        let mut buf = Buffer::new((w, h), f);
        out.rasterband(b)
            .unwrap()
            .write((0, 0), (w, h), &mut buf)
            .unwrap();
    }
}

/// Review, session 12: a south-up or mirrored image measured each pixel as 2·10¹² m² (the
/// area square ran clockwise, and Karney's area then measures the rest of the globe), and
/// the automatic method took that for its pixel size. The real Nanjing clip stored both
/// ways gives the patches, areas and neighbourhood of the north-up file.
#[test]
fn south_up_and_mirrored_copies_give_the_same_patches_and_areas() {
    let dir = tempfile::tempdir().unwrap();
    let src = nanjing_clip();
    let summary = |out: &Path, t: &[std::path::PathBuf]| {
        let o = minewatch(&[
            "detect",
            s(&t[0]),
            s(&t[1]),
            "--out",
            s(out),
            "--quiet",
            "--format",
            "json",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let mut areas: Vec<i64> = csv_rows(&out.join("patches.csv"))
            .iter()
            .map(|r| (r["area_m2"].parse::<f64>().unwrap() * 1000.0).round() as i64)
            .collect();
        areas.sort();
        (v["pairs"][0]["auto"]["pixel_m"].as_f64().unwrap(), areas)
    };
    let (pixel_m, areas) = summary(&dir.path().join("north_up"), &src);
    assert!((pixel_m - 30.0).abs() < 0.01, "{pixel_m}");
    assert!(areas.len() > 50);
    for (name, flip_rows) in [("south_up", true), ("mirrored", false)] {
        let t = copies_of(&src, dir.path(), name, |p, q| flipped_copy(p, q, flip_rows));
        let (m, a) = summary(&dir.path().join(name).join("out"), &t);
        assert!((m - pixel_m).abs() < 1e-6, "{name}: pixel {m} m");
        assert_eq!(a, areas, "{name}: patch areas (mm²)");
    }
}
