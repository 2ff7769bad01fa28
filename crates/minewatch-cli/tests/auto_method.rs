//! The automatic method: finds planted change without parameters, is byte-identical for
//! any window size and thread count (the halo makes window edges invisible), records its
//! fitted model, and works on DN and reflectance alike.

mod common;
use common::*;

fn detect(args: &[&str]) -> serde_json::Value {
    let mut a = vec!["detect"];
    a.extend_from_slice(args);
    a.extend_from_slice(&["--method", "auto", "--quiet", "--format", "json"]);
    let o = minewatch(&a);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn auto_finds_planted_pits_and_is_window_independent() {
    let dir = tempfile::tempdir().unwrap();
    let spec = minewatch_synth::SceneSpec::small(300, 260, 41);
    let [t1, t2] =
        minewatch_synth::write_scene(&spec, dir.path(), ["a_20200601.tif", "a_20210601.tif"])
            .unwrap();
    let truth = dir.path().join("truth.tif");
    minewatch_synth::write_truth(&spec, &truth).unwrap();
    let outs: Vec<_> = [("1", "64"), ("2", "100"), ("8", "512")]
        .iter()
        .map(|(t, w)| {
            let out = dir.path().join(format!("o{t}_{w}"));
            detect(&[
                s(&t1),
                s(&t2),
                "--out",
                s(&out),
                "--threads",
                t,
                "--window",
                w,
            ]);
            out
        })
        .collect();
    for f in ["patches.geojson", "patches.csv", "patches.gpkg"] {
        let first = std::fs::read(outs[0].join(f)).unwrap();
        for o in &outs[1..] {
            assert!(
                std::fs::read(o.join(f)).unwrap() == first,
                "{f} differs with window/threads"
            );
        }
    }
    let m: serde_json::Value = manifest(&outs[0]);
    let auto = &m["pairs"][0]["auto"];
    let t = auto["threshold"].as_f64().unwrap();
    assert!(t > auto["score_median"].as_f64().unwrap());
    assert_eq!(auto["model"]["gains"].as_array().unwrap().len(), 5);
    let o = minewatch(&[
        "eval",
        s(&outs[0]),
        "--reference",
        s(&truth),
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // Every planted pit is found; the date-2 cloud is screened out, so the false alarms
    // left are the 3x3 smoothing's one-pixel rim.
    assert!(r["pixel"]["recall"].as_f64().unwrap() > 0.95, "{r}");
    assert!(r["pixel"]["precision"].as_f64().unwrap() > 0.6, "{r}");
    assert_eq!(m["pairs"][0]["screened_cloud_patches"], 1, "{m}");
    let header = std::fs::read_to_string(outs[0].join("patches.csv")).unwrap();
    assert!(header.lines().next().unwrap().contains("mean_score"));
}

#[test]
fn auto_is_insensitive_to_a_radiometric_gain_between_dates() {
    if !have_tool("gdal_translate") {
        return;
    }
    // Date 2 with every band scaled by 0.8 and shifted by 100 (stored as new integers): the
    // normalisation must absorb it, so roughly the same patches are found.
    let dir = tempfile::tempdir().unwrap();
    let spec = minewatch_synth::SceneSpec::small(256, 192, 42);
    let [t1, t2] =
        minewatch_synth::write_scene(&spec, dir.path(), ["g_20200601.tif", "g_20210601.tif"])
            .unwrap();
    let gained = dir.path().join("gained_20210601.tif");
    translate(
        &["-ot", "UInt16", "-scale", "0", "10000", "100", "8100"],
        &t2,
        &gained,
    );
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let sa = detect(&[s(&t1), s(&t2), "--out", s(&a)]);
    let sb = detect(&[s(&t1), s(&gained), "--out", s(&b)]);
    let (na, nb) = (
        sa["total_area_m2"].as_f64().unwrap(),
        sb["total_area_m2"].as_f64().unwrap(),
    );
    assert!(
        na > 0.0 && (na - nb).abs() <= 0.1 * na,
        "area {na} vs {nb} after a gain change"
    );
}

#[test]
fn cva_baseline_runs_with_otsu() {
    let dir = tempfile::tempdir().unwrap();
    let [t1, t2] = synth_pair(dir.path(), 160, 120, 43);
    let out = dir.path().join("o");
    let o = minewatch(&[
        "detect",
        s(&t1),
        s(&t2),
        "--method",
        "cva",
        "--out",
        s(&out),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m: serde_json::Value = manifest(&out);
    assert_eq!(m["pairs"][0]["auto"]["score"], "cva");
    assert!(m["pairs"][0]["auto"]["model"].is_null());
    assert!(m["pairs"][0]["patches"].as_u64().unwrap() > 0);
}

/// A repeated acquisition (here a copied file) has no change and no no-change variability
/// to measure change against: the pair gets no patches and the manifest says why, rather
/// than an error that would stop a multi-date run. Dates without a valid pixel in common
/// are still refused (`all_nodata` in bad_input.rs).
#[test]
fn identical_dates_give_no_patches_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let [t1, t2] = synth_pair(dir.path(), 128, 96, 44);
    let same = dir.path().join("same_20220101.tif");
    std::fs::copy(&t2, &same).unwrap();
    for m in ["auto", "cva"] {
        let out = dir.path().join(m);
        let o = minewatch(&[
            "detect",
            s(&t1),
            s(&t2),
            s(&same),
            "--method",
            m,
            "--out",
            s(&out),
            "--quiet",
        ]);
        assert!(o.status.success(), "{m}: {}", stderr(&o));
        let man = manifest(&out);
        let pairs = man["pairs"].as_array().unwrap();
        assert_eq!(pairs.len(), 2);
        assert!(
            pairs[0]["patches"].as_u64().unwrap() > 0,
            "{m}: the real pair"
        );
        assert!(pairs[0]["auto"].get("identical").is_none());
        assert_eq!(pairs[1]["patches"], 0, "{m}");
        assert_eq!(pairs[1]["auto"]["identical"], true, "{m}");
    }
}

/// A run without patches totals 0, not -0.0 (an f64 `sum()` of nothing is -0.0), in the
/// printed summary, the JSON summary and the manifest.
#[test]
fn no_patches_total_zero_area_not_minus_zero() {
    let dir = tempfile::tempdir().unwrap();
    let a = fixture("real/hongkong_S2_20160927_clip320.tif");
    // The same scene under a second name (one file given twice is refused as a mistake).
    let b = dir.path().join("hongkong_copy.tif");
    std::fs::copy(&a, &b).unwrap();
    let out = dir.path().join("out");
    let run = |format: &str| {
        let o = minewatch(&[
            "detect",
            s(&a),
            s(&b),
            "--dates",
            "20160927,20180323",
            "--out",
            s(&out),
            "--quiet",
            "--format",
            format,
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    let text = run("text");
    assert!(text.starts_with("0 patches, 0.0 m² (0.00 亩)"), "{text}");
    let json = run("json");
    let manifest = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    assert!(json.contains("\"total_area_mu\": 0.0,"), "{json}");
    for (what, t) in [("summary", &json), ("manifest", &manifest)] {
        assert!(t.contains("\"total_area_m2\": 0.0,"), "{what}: {t}");
    }
}

#[test]
fn nan_pixels_in_float_inputs_never_become_change() {
    if !have_tool("gdal_translate") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let [t1, t2] = synth_pair(dir.path(), 128, 96, 45);
    let mut f = Vec::new();
    for (t, name) in [(&t1, "f_20200601.tif"), (&t2, "f_20210601.tif")] {
        let p = dir.path().join(name);
        translate(&["-ot", "Float32"], t, &p);
        f.push(p);
    }
    // A 3x3 block of NaN in date 2, no nodata tag.
    {
        let ds = open_update(&f[1]);
        for band in 1..=5 {
            let mut b = ds.rasterband(band).unwrap();
            b.write(
                (60, 40),
                (3, 3),
                &mut gdal::raster::Buffer::new((3, 3), vec![f32::NAN; 9]),
            )
            .unwrap();
        }
    }
    let out = dir.path().join("o");
    // The cloud screen off: the moat around the scene's cloud is not assessed either, and
    // this test counts the NaN pixels alone.
    let params = dir.path().join("noscreen.toml");
    std::fs::write(&params, "cloud_screen = false\n").unwrap();
    let summary = detect(&[s(&f[0]), s(&f[1]), "--out", s(&out), "--params", s(&params)]);
    assert_eq!(summary["pairs"][0]["valid_pixels"], 128 * 96 - 9);
    let text = std::fs::read_to_string(out.join("patches.csv")).unwrap();
    for line in text.lines().skip(1) {
        let c: Vec<&str> = line.split(',').collect();
        let (r, col): (i64, i64) = (c[9].parse().unwrap(), c[10].parse().unwrap());
        assert!(
            !((39..=43).contains(&r) && (59..=63).contains(&col)),
            "a patch starts at the NaN block: {line}"
        );
    }
}

/// Zero fill in an integer file without a nodata tag (a scene edge, the outside of a clipped
/// scene) is no observation: on the real Nanjing clip, a block of zeros in every band of
/// date 2 is neither assessed nor a patch.
#[test]
fn zero_fill_without_a_nodata_tag_never_becomes_change() {
    if !have_tool("gdal_translate") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let t1 = fixture("real/nanjing_L5TM_20000503_clip400.tif");
    let t2 = dir.path().join("nanjing_20020712_filled.tif");
    translate(&[], &fixture("real/nanjing_L5TM_20020712_clip400.tif"), &t2);
    let (r0, c0, side) = (180usize, 200usize, 40usize);
    {
        let ds = open_update(&t2);
        for band in 1..=6 {
            let mut b = ds.rasterband(band).unwrap();
            b.write(
                (c0 as isize, r0 as isize),
                (side, side),
                &mut gdal::raster::Buffer::new((side, side), vec![0u8; side * side]),
            )
            .unwrap();
        }
    }
    let orig = dir.path().join("orig");
    let filled = dir.path().join("filled");
    let a = detect(&[
        s(&t1),
        s(&fixture("real/nanjing_L5TM_20020712_clip400.tif")),
        "--out",
        s(&orig),
    ]);
    let b = detect(&[s(&t1), s(&t2), "--out", s(&filled)]);
    assert_eq!(a["pairs"][0]["valid_pixels"], 400 * 400);
    assert_eq!(b["pairs"][0]["valid_pixels"], 400 * 400 - side * side);
    // Left as data, the block would be one patch of at least its own 1,600 pixels; as
    // fill, the patches elsewhere barely move (the threshold's sample lost the block).
    let total = |out: &std::path::Path| -> i64 {
        csv_rows(&out.join("patches.csv"))
            .iter()
            .map(|r| r["pixels"].parse::<i64>().unwrap())
            .sum()
    };
    let (ta, tb) = (total(&orig), total(&filled));
    assert!((tb - ta).abs() < 200, "patch pixels {ta} -> {tb}");
    for r in csv_rows(&filled.join("patches.csv")) {
        let (row, col): (usize, usize) = (
            r["first_row"].parse().unwrap(),
            r["first_col"].parse().unwrap(),
        );
        assert!(
            !((r0..r0 + side).contains(&row) && (c0..c0 + side).contains(&col)),
            "a patch starts inside the fill: {r:?}"
        );
    }
}

/// The misregistration tolerance is about 20 m on the ground whatever the grid: two pixels
/// on Sentinel-2's 10 m (in UTM or in degrees), one on Landsat's 30 m.
#[test]
fn the_match_radius_follows_the_ground_pixel_size() {
    let dir = tempfile::tempdir().unwrap();
    let run = |images: [&std::path::Path; 2], out: &str| -> (f64, u64) {
        let out = dir.path().join(out);
        detect(&[s(images[0]), s(images[1]), "--out", s(&out)]);
        let m = manifest(&out);
        let a = &m["pairs"][0]["auto"];
        (
            a["pixel_m"].as_f64().unwrap(),
            a["neighbourhood"]["match_radius"].as_u64().unwrap(),
        )
    };
    let hk = [
        fixture("real/hongkong_S2_20160927_clip320.tif"),
        fixture("real/hongkong_S2_20180323_clip320.tif"),
    ];
    let (px, r) = run([&hk[0], &hk[1]], "s2_utm");
    assert!((px - 10.0).abs() < 0.1 && r == 2, "{px} m, radius {r}");
    let nj = [
        fixture("real/nanjing_L5TM_20000503_clip400.tif"),
        fixture("real/nanjing_L5TM_20020712_clip400.tif"),
    ];
    let (px, r) = run([&nj[0], &nj[1]], "landsat");
    assert!((px - 30.0).abs() < 0.3 && r == 1, "{px} m, radius {r}");
    if have_tool("gdalwarp") {
        let geo: Vec<_> = hk
            .iter()
            .map(|f| {
                let g = dir.path().join(f.file_name().unwrap());
                let o = std::process::Command::new("gdalwarp")
                    .args(["-q", "-t_srs", "EPSG:4326", "-r", "near", s(f), s(&g)])
                    .output()
                    .unwrap();
                assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
                g
            })
            .collect();
        let (px, r) = run([&geo[0], &geo[1]], "s2_degrees");
        assert!((px - 10.0).abs() < 0.3 && r == 2, "{px} m, radius {r}");
    }
}

/// Date 2 carries an opaque cloud, its shadow and a band of haze over a third of the
/// scene. The screen drops the cloud and the shadow (and says so in the manifest); haze
/// makes no patch; every planted pit, including those under the haze, is still found
/// (the generator plants none within 8 px of the shadow: a change merged into a shadow
/// patch goes with it, by design). With `cloud_screen = false` the same cloud and shadow come back as patches,
/// so it is the screen that removes them.
#[test]
fn clouds_and_their_shadows_are_screened_and_haze_makes_no_patch() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = minewatch_synth::SceneSpec::small(320, 256, 46);
    spec.weather = true;
    let [t1, t2] =
        minewatch_synth::write_scene(&spec, dir.path(), ["w_20200601.tif", "w_20210601.tif"])
            .unwrap();
    let truth = dir.path().join("truth.tif");
    minewatch_synth::write_truth(&spec, &truth).unwrap();
    let score = |out: &std::path::Path| -> serde_json::Value {
        let o = minewatch(&["eval", s(out), "--reference", s(&truth), "--format", "json"]);
        assert!(o.status.success(), "{}", stderr(&o));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let on = dir.path().join("on");
    detect(&[s(&t1), s(&t2), "--out", s(&on)]);
    let m = manifest(&on);
    let pair = &m["pairs"][0];
    assert_eq!(pair["screened_cloud_patches"], 1, "{pair}");
    assert_eq!(pair["screened_shadow_patches"], 1, "{pair}");
    let removed: Vec<(String, String)> = pair["screened_patches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["reason"].to_string(), p["date"].to_string()))
        .collect();
    assert_eq!(removed.len(), 2);
    assert!(removed.contains(&("\"cloud\"".into(), "\"after\"".into())));
    assert!(removed.contains(&("\"cloud_shadow\"".into(), "\"after\"".into())));
    assert_eq!(pair["auto"]["screen"]["after"]["scale"], 1e-4);
    // The cloud's moat is not assessed: fewer valid pixels than the scene has.
    let valid = pair["valid_pixels"].as_u64().unwrap();
    assert!(valid < 320 * 256 && valid > 320 * 256 - 1000, "{valid}");
    let r = score(&on);
    assert!(r["pixel"]["recall"].as_f64().unwrap() > 0.95, "{r}");
    // What is left beside the pits is the smoothing's rim: no haze, cloud or shadow patch.
    assert!(r["pixel"]["precision"].as_f64().unwrap() > 0.6, "{r}");
    assert_eq!(
        r["objects"]["detected_correct"], r["objects"]["detected_objects"],
        "every patch left overlaps a planted pit: {r}"
    );

    let params = dir.path().join("noscreen.toml");
    std::fs::write(&params, "cloud_screen = false\n").unwrap();
    let off = dir.path().join("off");
    detect(&[s(&t1), s(&t2), "--out", s(&off), "--params", s(&params)]);
    let m = manifest(&off);
    let pair = &m["pairs"][0];
    assert_eq!(pair["screened_cloud_patches"], 0);
    assert!(pair["auto"]["screen_skipped"]
        .as_str()
        .unwrap()
        .contains("cloud_screen = false"));
    let r_off = score(&off);
    let (n_on, n_off) = (
        r["objects"]["detected_objects"].as_u64().unwrap(),
        r_off["objects"]["detected_objects"].as_u64().unwrap(),
    );
    assert!(
        n_off >= n_on + 2,
        "cloud and shadow are patches unscreened: {n_on} vs {n_off}"
    );
    assert!(
        r_off["pixel"]["precision"].as_f64().unwrap()
            < r["pixel"]["precision"].as_f64().unwrap() - 0.1,
        "{r_off} vs {r}"
    );
}

/// Landsat DN (6 bands, no scale and no quantification in the file) has no known
/// reflectance: the screen stays off and the manifest says why and what to set.
#[test]
fn digital_numbers_of_unknown_scale_are_not_screened() {
    if !have_tool("gdal_translate") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let [t1, t2] = synth_pair(dir.path(), 128, 96, 47);
    // Six bands (the Landsat TM count) as 8-bit DN, the generator's quantification blanked.
    let mut six = Vec::new();
    for (t, name) in [(&t1, "tm_20200601.tif"), (&t2, "tm_20210601.tif")] {
        let p = dir.path().join(name);
        translate(
            &[
                "-mo",
                "QUANTIFICATION_VALUE=",
                "-ot",
                "Byte",
                "-scale",
                "0",
                "10000",
                "0",
                "255",
                "-b",
                "1",
                "-b",
                "2",
                "-b",
                "3",
                "-b",
                "4",
                "-b",
                "5",
                "-b",
                "5",
            ],
            t,
            &p,
        );
        six.push(p);
    }
    let out = dir.path().join("o");
    detect(&[s(&six[0]), s(&six[1]), "--out", s(&out)]);
    let m = manifest(&out);
    let why = m["pairs"][0]["auto"]["screen_skipped"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        why.contains("unknown scale") && why.contains("reflectance_scale"),
        "{why}"
    );
    assert!(m["pairs"][0]["auto"].get("screen").is_none());
    // A file that keeps a stale quantification after a conversion to 8 bits is caught by
    // the plausibility of its median blue, not screened with a wrong scale.
    let stale = dir.path().join("stale_20210601.tif");
    translate(
        &["-ot", "Byte", "-scale", "0", "10000", "0", "255"],
        &t2,
        &stale,
    );
    let t1b = dir.path().join("stale_20200601.tif");
    translate(
        &["-ot", "Byte", "-scale", "0", "10000", "0", "255"],
        &t1,
        &t1b,
    );
    let out = dir.path().join("stale");
    detect(&[s(&t1b), s(&stale), "--out", s(&out)]);
    let m = manifest(&out);
    let why = m["pairs"][0]["auto"]["screen_skipped"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(why.contains("implausible"), "{why}");
}

/// A scene whose only valid ground lies outside the evenly spread sample blocks (the last
/// of 7 × 7 blocks of 256 px, which the 48 sampled blocks miss): the fit falls back to
/// every block of the scene (read again in each pass instead of held), fits on that
/// ground alone and finds the change planted there.
#[test]
fn a_footprint_between_the_sample_blocks_is_still_fitted() {
    let dir = tempfile::tempdir().unwrap();
    let (n, keep) = (1792usize, 1536usize);
    let [t1, t2] = synth_pair(dir.path(), n, n, 47);
    // Zero fill in every band of date 1 (no nodata tag: zero fill is no observation)
    // everywhere except the bottom-right block, from (1536, 1536).
    {
        let ds = open_update(&t1);
        for band in 1..=5 {
            let mut b = ds.rasterband(band).unwrap();
            b.write(
                (0, 0),
                (n, keep),
                &mut gdal::raster::Buffer::new((n, keep), vec![0u16; n * keep]),
            )
            .unwrap();
            b.write(
                (0, keep as isize),
                (keep, n - keep),
                &mut gdal::raster::Buffer::new((keep, n - keep), vec![0u16; keep * (n - keep)]),
            )
            .unwrap();
        }
    }
    let out = dir.path().join("o");
    let summary = detect(&[s(&t1), s(&t2), "--out", s(&out), "--threads", "2"]);
    let corner = ((n - keep) * (n - keep)) as u64;
    assert_eq!(summary["pairs"][0]["valid_pixels"], corner, "{summary}");
    let m = manifest(&out);
    let auto = &m["pairs"][0]["auto"];
    assert_eq!(auto["sample_blocks"], 49, "every block is sampled: {auto}");
    let fitted = auto["fit_pixels"].as_u64().unwrap();
    assert!(fitted > 1000 && fitted <= corner, "{auto}");
    let rows = csv_rows(&out.join("patches.csv"));
    assert!(!rows.is_empty(), "the corner's planted pits are found");
    for r in &rows {
        let (row, col): (usize, usize) = (
            r["first_row"].parse().unwrap(),
            r["first_col"].parse().unwrap(),
        );
        assert!(
            row >= keep && col >= keep,
            "a patch outside the footprint: {r:?}"
        );
    }
}

/// Copy date 1's pixels into date 2 (every band) over `(col, row, width, height)`: what a
/// yearly mosaic does where no new scene was taken.
fn reuse_date1(
    t1: &std::path::Path,
    t2: &std::path::Path,
    (x, y, w, h): (usize, usize, usize, usize),
) {
    let src = gdal::Dataset::open(t1).unwrap();
    let dst = open_update(t2);
    for band in 1..=src.raster_count() {
        let mut buf = src
            .rasterband(band)
            .unwrap()
            .read_as::<u16>((x as isize, y as isize), (w, h), (w, h), None)
            .unwrap();
        dst.rasterband(band)
            .unwrap()
            .write((x as isize, y as isize), (w, h), &mut buf)
            .unwrap();
    }
}

/// A mosaic that reused the earlier scene over most of the ground: those pixels are no
/// new observation and stay out of the fit and the threshold. With every sampled block
/// reused, the change in the one block left (off the sample) is still found (it gave no
/// patch at all: the pair was taken for identical dates); with 60 % reused, the threshold
/// is the one the re-observed ground gives (it rose about fivefold on a reviewer's
/// Nanjing mosaic), and a warning says how much was reused.
#[test]
fn ground_a_mosaic_did_not_observe_again_is_left_out_of_the_fit() {
    let dir = tempfile::tempdir().unwrap();
    let (n, keep) = (1792usize, 1536usize);
    let [t1, t2] = synth_pair(dir.path(), n, n, 48);
    let full = dir.path().join("full");
    let summary = detect(&[s(&t1), s(&t2), "--out", s(&full)]);
    assert!(summary["patches"].as_u64().unwrap() > 0);
    let full_threshold = manifest(&full)["pairs"][0]["auto"]["threshold"]
        .as_f64()
        .unwrap();
    let full_rows = csv_rows(&full.join("patches.csv"));
    // The score's 3 × 3 mean and match radius reach 3 px past the reused ground's edge.
    let in_corner = |r: &std::collections::BTreeMap<String, String>| {
        r["first_row"].parse::<usize>().unwrap() + 3 >= keep
            && r["first_col"].parse::<usize>().unwrap() + 3 >= keep
    };

    // Everything but the bottom-right block (which the 48 evenly spread blocks miss).
    let mosaic = dir.path().join("mosaic_20210601.tif");
    std::fs::copy(&t2, &mosaic).unwrap();
    reuse_date1(&t1, &mosaic, (0, 0, n, keep));
    reuse_date1(&t1, &mosaic, (0, keep, keep, n - keep));
    let out = dir.path().join("mosaic");
    let o = minewatch(&["detect", s(&t1), s(&mosaic), "--out", s(&out), "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("equal on both dates in every band"),
        "{}",
        stderr(&o)
    );
    let auto = manifest(&out)["pairs"][0]["auto"].clone();
    assert!(auto.get("identical").is_none(), "{auto}");
    let share = auto["repeated_share"].as_f64().unwrap();
    let want = 1.0 - ((n - keep) * (n - keep)) as f64 / (n * n) as f64;
    assert!((share - want).abs() < 0.01, "{share} vs {want}");
    let rows = csv_rows(&out.join("patches.csv"));
    assert!(!rows.is_empty(), "the re-observed corner's change is found");
    assert!(
        rows.iter().all(in_corner),
        "change only where observed again"
    );
    let found = rows.len() as f64;
    let truth = full_rows.iter().filter(|r| in_corner(r)).count() as f64;
    assert!(found >= 0.5 * truth, "{found} of {truth} corner patches");

    // 60 % of the columns reused: the threshold stays near the full pair's.
    let part = dir.path().join("part_20210601.tif");
    std::fs::copy(&t2, &part).unwrap();
    reuse_date1(&t1, &part, (0, 0, n * 3 / 5, n));
    let out = dir.path().join("part");
    detect(&[s(&t1), s(&part), "--out", s(&out)]);
    let auto = manifest(&out)["pairs"][0]["auto"].clone();
    let t = auto["threshold"].as_f64().unwrap();
    assert!(
        (t / full_threshold - 1.0).abs() < 0.25,
        "threshold {t} vs {full_threshold} on the whole pair"
    );
}
