//! `minewatch eval` on synthetic truth (always) and on the real labelled pairs in
//! ../shared/data (skipped with a message when absent: their labels are not in the repo).

mod common;
use common::*;
use std::path::{Path, PathBuf};

fn eval_json(args: &[&str]) -> serde_json::Value {
    eval_json_in(Path::new("."), args)
}

/// `eval ARGS --format json` run in folder `dir`, which must succeed.
fn eval_json_in(dir: &Path, args: &[&str]) -> serde_json::Value {
    let mut a = vec!["eval"];
    a.extend_from_slice(args);
    a.extend_from_slice(&["--format", "json"]);
    let o = minewatch_in(dir, &a);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// A copy of the 256 × 192 raster `src` at `dst` with each value replaced by
/// `f(pixel index, value)` (labels, samples and masks on a scene's grid).
fn relabel(src: &Path, dst: &Path, f: impl Fn(usize, u8) -> u8) -> gdal::Dataset {
    let src = gdal::Dataset::open(src).unwrap();
    let drv = gdal::DriverManager::get_driver_by_name("GTiff").unwrap();
    let ds = src
        .create_copy(&drv, dst, &gdal::cpl::CslStringList::new())
        .unwrap();
    let mut band = ds.rasterband(1).unwrap();
    let mut buf = band
        .read_as::<u8>((0, 0), (256, 192), (256, 192), None)
        .unwrap();
    for (i, v) in buf.data_mut().iter_mut().enumerate() {
        *v = f(i, *v);
    }
    band.write((0, 0), (256, 192), &mut buf).unwrap();
    ds
}

#[test]
fn synthetic_truth_scores_high() {
    let (_dir, out, truth) = detected_pair(31, "e");
    let r = eval_json(&[s(&out), "--reference", s(&truth)]);
    let f1 = r["pixel"]["f1"].as_f64().unwrap();
    assert!(f1 > 0.9, "planted pits are found: {r}");
    // Every patch hits planted change; one-pixel specks in the truth are below the mapping unit.
    assert_eq!(r["objects"]["precision"].as_f64().unwrap(), 1.0, "{r}");
    assert!(r["objects"]["reference_objects"].as_u64() > r["objects"]["reference_found"].as_u64());
    assert_eq!(r["pixel"]["scored_pixels"], 256 * 192);
    // The detection covers the whole label: nothing left out.
    assert_eq!(r["scope"]["within"], "detection grid");
    assert_eq!(r["scope"]["reference_pixels_outside"], 0);
    // The false negatives are `fn` in the report, not the Rust field name `fn_`.
    let mut keys: Vec<&str> = r["confusion"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["fn", "fp", "tn", "tp"], "{r}");
    // GeoJSON (lon/lat) gives the same pixels as the GeoPackage (imagery CRS).
    let r2 = eval_json(&[s(&out.join("patches.geojson")), "--reference", s(&truth)]);
    assert_eq!(r["confusion"], r2["confusion"]);
}

/// Samples coded like the Nanjing file (1 changed, 2 unchanged, 0 unlabelled and NoData)
/// on every `k`th pixel of `truth`.
fn sample_every(truth: &Path, samples: &Path, k: usize) {
    let ds = relabel(truth, samples, |i, v| match (i % k, v) {
        (1.., _) => 0,
        (_, 1) => 1,
        _ => 2,
    });
    ds.rasterband(1)
        .unwrap()
        .set_no_data_value(Some(0.0))
        .unwrap();
}

#[test]
fn sparse_samples_give_the_stratified_estimate() {
    let dir = tempfile::tempdir().unwrap();
    let ([t1, t2], truth) = synthetic_pair(dir.path(), 32, "e");
    let samples = dir.path().join("samples.tif");
    sample_every(&truth, &samples, 5);
    let out = dir.path().join("out");
    assert!(
        minewatch(&["detect", s(&t1), s(&t2), "--out", s(&out), "--quiet"])
            .status
            .success()
    );
    // The default coding (0 = no change) would score NoData, every pixel not sampled.
    let o = minewatch(&["eval", s(&out), "--reference", s(&samples), "--samples"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    for needle in ["samples.tif", "value 0", "NoData", "--no-change"] {
        assert!(stderr(&o).contains(needle), "{needle}: {}", stderr(&o));
    }
    let r = eval_json(&[
        s(&out),
        "--reference",
        s(&samples),
        "--samples",
        "--change",
        "1",
        "--no-change",
        "2",
    ]);
    assert!(r.get("objects").is_none());
    let e = &r["stratified"];
    let true_area = {
        let ds = gdal::Dataset::open(&truth).unwrap();
        let b = ds
            .rasterband(1)
            .unwrap()
            .read_as::<u8>((0, 0), (256, 192), (256, 192), None)
            .unwrap();
        b.data().iter().filter(|&&v| v == 1).count() as f64 * 100.0
    };
    let est = e["change_area"].as_f64().unwrap();
    let ci = e["change_area_ci95"].as_f64().unwrap();
    assert!(ci > 0.0);
    assert!(
        (est - true_area).abs() <= ci.max(0.05 * true_area),
        "estimate {est} ± {ci} vs true {true_area}"
    );
    assert_eq!(r["pixel"]["scored_pixels"], (256 * 192 + 4) / 5);
}

#[test]
fn several_pairs_need_a_choice() {
    let dir = tempfile::tempdir().unwrap();
    let spec = minewatch_synth::SceneSpec::small(96, 64, 33);
    let [a, b] =
        minewatch_synth::write_scene(&spec, dir.path(), ["m_20190601.tif", "m_20200601.tif"])
            .unwrap();
    let sub = dir.path().join("other");
    std::fs::create_dir_all(&sub).unwrap();
    let spec2 = minewatch_synth::SceneSpec::small(96, 64, 34);
    let [_, c] =
        minewatch_synth::write_scene(&spec2, &sub, ["unused_20000101.tif", "m_20210601.tif"])
            .unwrap();
    let truth = dir.path().join("truth.tif");
    minewatch_synth::write_truth(&spec, &truth).unwrap();
    let out = dir.path().join("out");
    assert!(
        minewatch(&["detect", s(&a), s(&b), s(&c), "--out", s(&out), "--quiet"])
            .status
            .success()
    );
    let o = minewatch(&["eval", s(&out), "--reference", s(&truth)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("--pair") && stderr(&o).contains("20190601_20200601"),
        "{}",
        stderr(&o)
    );
    let r = eval_json(&[
        s(&out),
        "--reference",
        s(&truth),
        "--pair",
        "20190601_20200601",
    ]);
    assert_eq!(r["pair"], "20190601_20200601");
}

fn shared(rel: &str) -> Option<PathBuf> {
    let p = root().join("../shared/data").join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("skipping: {} is absent (the labelled real pairs live in ../shared/data, not in the repo)", p.display());
        None
    }
}

/// A seeded 256 × 192 two-date scene named `P_20200601.tif` / `P_20210601.tif`, with its
/// truth raster.
fn synthetic_pair(dir: &Path, seed: u64, prefix: &str) -> ([PathBuf; 2], PathBuf) {
    let spec = minewatch_synth::SceneSpec::small(256, 192, seed);
    let names = [
        format!("{prefix}_20200601.tif"),
        format!("{prefix}_20210601.tif"),
    ];
    let pair =
        minewatch_synth::write_scene(&spec, dir, [names[0].as_str(), names[1].as_str()]).unwrap();
    let truth = dir.join("truth.tif");
    minewatch_synth::write_truth(&spec, &truth).unwrap();
    (pair, truth)
}

/// A seeded scene detected by the explicit rule: (its folder, the detect output, the truth).
fn detected_pair(seed: u64, prefix: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let ([t1, t2], truth) = synthetic_pair(dir.path(), seed, prefix);
    let out = dir.path().join("out");
    detect_rule(&t1, &t2, &out);
    (dir, out, truth)
}

/// The planted pits are made for the explicit rule (the automatic method on these scenes
/// is tested in auto_method.rs).
fn detect_rule(a: &Path, b: &Path, out: &Path) {
    detect_rule_in(Path::new("."), &[s(a), s(b), "--out", s(out)]);
}

/// `detect ARGS --method rule --quiet` in folder `dir`, which must succeed.
fn detect_rule_in(dir: &Path, args: &[&str]) {
    let mut a = vec!["detect", "--method", "rule", "--quiet"];
    a.extend_from_slice(args);
    let o = minewatch_in(dir, &a);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// The text report of `eval ARGS`.
fn eval_text(args: &[&str]) -> String {
    let mut a = vec!["eval"];
    a.extend_from_slice(args);
    String::from_utf8_lossy(&minewatch(&a).stdout).into_owned()
}

/// `text` holds every one of `needles`.
fn says_all(text: &str, needles: &[&str]) {
    for n in needles {
        assert!(text.contains(n), "{n:?} not in: {text}");
    }
}

fn detect_real(a: &Path, b: &Path, out: &Path) {
    let o = minewatch(&["detect", s(a), s(b), "--out", s(out), "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn real_hongkong_full_label() {
    let (Some(a), Some(b), Some(l)) = (
        shared("sentinel2-oscd/hongkong_20160927_S2_13band_10m.tif"),
        shared("sentinel2-oscd/hongkong_20180323_S2_13band_10m.tif"),
        shared("sentinel2-oscd/hongkong_change_label.tif"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    detect_real(&a, &b, dir.path());
    let r = eval_json(&[s(dir.path()), "--reference", s(&l)]);
    assert_eq!(r["pixel"]["scored_pixels"], 540 * 695);
    let c = &r["confusion"];
    assert_eq!(
        c["tp"].as_u64().unwrap() + c["fn"].as_u64().unwrap(),
        13379,
        "label change pixels"
    );
    assert_eq!(r["scope"]["reference_pixels_outside"], 0);
    // Issue #3's targets for the default method (docs/accuracy.md): F1 and precision of
    // the change class both at least 0.45 (measured 0.513 and 0.492).
    assert!(r["pixel"]["precision"].as_f64().unwrap() >= 0.45, "{r}");
    assert!(r["pixel"]["f1"].as_f64().unwrap() >= 0.45, "{r}");
}

#[test]
fn real_nanjing_samples() {
    let (Some(a), Some(b), Some(l)) = (
        shared("landsat/nanjing_L5TM_20000503.tif"),
        shared("landsat/nanjing_L5TM_20020712.tif"),
        shared("landsat/nanjing_reference_samples.tif"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    detect_real(&a, &b, dir.path());
    let r = eval_json(&[
        s(dir.path()),
        "--reference",
        s(&l),
        "--samples",
        "--change",
        "1",
        "--no-change",
        "2",
    ]);
    assert_eq!(r["pixel"]["scored_pixels"], 14756);
    assert_eq!(r["scope"]["reference_pixels_outside"], 0);
    assert!(r["stratified"]["change_area"].as_f64().unwrap() > 0.0);
    // Its NoData is 0, the default no-change value: refused, not 627,607 pixels scored.
    let o = minewatch(&["eval", s(dir.path()), "--reference", s(&l), "--samples"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("NoData"), "{}", stderr(&o));
    // A guard against regressions of the default method (measured 0.798; the target of
    // 0.85 is not met, docs/accuracy.md): the baseline CVA + Otsu scores 0.757.
    assert!(r["pixel"]["f1"].as_f64().unwrap() >= 0.79, "{r}");
}

#[test]
fn pair_selection_works_on_geojson_and_for_empty_pairs() {
    let dir = tempfile::tempdir().unwrap();
    let spec = minewatch_synth::SceneSpec::small(96, 64, 35);
    let [a, b] =
        minewatch_synth::write_scene(&spec, dir.path(), ["p_20190601.tif", "p_20200601.tif"])
            .unwrap();
    // The third date equals the second: that pair has no patches at all.
    let c = dir.path().join("p_20210601.tif");
    std::fs::copy(&b, &c).unwrap();
    let truth = dir.path().join("truth.tif");
    minewatch_synth::write_truth(&spec, &truth).unwrap();
    let out = dir.path().join("out");
    assert!(
        minewatch(&["detect", s(&a), s(&b), s(&c), "--out", s(&out), "--quiet"])
            .status
            .success()
    );
    let gj = out.join("patches.geojson");
    let r = eval_json(&[
        s(&gj),
        "--reference",
        s(&truth),
        "--pair",
        "20190601_20200601",
    ]);
    assert_eq!(r["pair"], "20190601_20200601");
    assert!(r["patches"].as_u64().unwrap() > 0);
    let r = eval_json(&[
        s(&out),
        "--reference",
        s(&truth),
        "--pair",
        "20200601_20210601",
    ]);
    assert_eq!(r["patches"], 0);
    assert_eq!(r["confusion"]["tp"], 0);
    // Review, session 14: without patches precision is undefined (null, n/a), not 0; the
    // change they missed is a real recall and F1 of 0.
    assert!(r["pixel"]["precision"].is_null(), "{r}");
    assert!(r["objects"]["precision"].is_null(), "{r}");
    assert_eq!(
        (r["pixel"]["recall"].as_f64(), r["pixel"]["f1"].as_f64()),
        (Some(0.0), Some(0.0))
    );
    says_all(
        &eval_text(&[
            s(&out),
            "--reference",
            s(&truth),
            "--pair",
            "20200601_20210601",
        ]),
        &["precision n/a  recall 0.000  F1 0.000"],
    );
}

/// A detection of part of the labelled area is scored on that part only: the same scores
/// as against the label cut to its grid. Pixels it never looked at are not "no change".
#[test]
fn a_clipped_detection_is_scored_inside_its_grid_only() {
    if !have_tool("gdal_translate") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ([t1, t2], truth) = synthetic_pair(dir.path(), 36, "c");
    let window = ["-srcwin", "64", "32", "128", "128"];
    let clip = |src: &Path, name: &str| {
        let p = dir.path().join(name);
        translate(&window, src, &p);
        p
    };
    let (c1, c2) = (clip(&t1, "k_20200601.tif"), clip(&t2, "k_20210601.tif"));
    let truth_cut = clip(&truth, "truth_cut.tif");
    let out = dir.path().join("out");
    detect_rule(&c1, &c2, &out);

    let whole = eval_json(&[s(&out), "--reference", s(&truth)]);
    let cut = eval_json(&[s(&out), "--reference", s(&truth_cut)]);
    assert_eq!(whole["pixel"]["scored_pixels"], 128 * 128, "{whole}");
    assert_eq!(
        whole["scope"]["reference_pixels_outside"],
        256 * 192 - 128 * 128
    );
    for k in ["confusion", "pixel", "objects"] {
        assert_eq!(whole[k], cut[k], "{k}");
    }
    assert!(whole["pixel"]["recall"].as_f64().unwrap() > 0.9, "{whole}");
    // The text report says what was scored.
    says_all(
        &eval_text(&[s(&out), "--reference", s(&truth)]),
        &["scored within the detection grid (32768 reference pixels outside it not scored)"],
    );

    // A label of another area: refused, naming both.
    let far = dir.path().join("truth_far.tif");
    translate(&["-srcwin", "0", "0", "64", "192"], &truth, &far);
    let o = minewatch(&["eval", s(&out), "--reference", s(&far)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("do not overlap") && err.contains(s(&out)) && err.contains("truth_far.tif"),
        "{err}"
    );
}

/// Review, session 12: labelled pixels over a no-data strip of one date were scored as
/// "no change" (a 60-column strip on the Nanjing pair took F1 0.837 → 0.668). Eval now
/// reads the detection's images again and leaves them out; when the images are gone it
/// scores them and says why.
#[test]
fn labelled_pixels_without_data_are_not_scored() {
    let dir = tempfile::tempdir().unwrap();
    let ([t1, t2], truth) = synthetic_pair(dir.path(), 37, "n");
    no_data_strip(&t2);
    let out = dir.path().join("out");
    detect_rule(&t1, &t2, &out);
    let r = eval_json(&[s(&out), "--reference", s(&truth)]);
    let without = r["scope"]["labelled_pixels_without_data"].as_u64().unwrap();
    assert!((40 * 192..40 * 192 + 50).contains(&without), "{r}");
    assert_eq!(
        r["pixel"]["scored_pixels"].as_u64().unwrap() + without,
        256 * 192,
        "{r}"
    );
    // The images moved away: scored as before, and the report says why.
    std::fs::rename(&t2, dir.path().join("moved.tif")).unwrap();
    let r = eval_json(&[s(&out), "--reference", s(&truth)]);
    assert_eq!(r["pixel"]["scored_pixels"], 256 * 192, "{r}");
    assert!(r["scope"]["labelled_pixels_without_data"].is_null());
    assert!(
        r["scope"]["note"]
            .as_str()
            .unwrap()
            .contains("n_20210601.tif is gone since detect"),
        "{r}"
    );
}

/// The first 40 columns of every band of the 256 × 192 scene `path` set to 0, its NoData.
fn no_data_strip(path: &Path) {
    let ds = open_update(path);
    for b in 1..=ds.raster_count() {
        let mut band = ds.rasterband(b).unwrap();
        let mut buf = band
            .read_as::<u16>((0, 0), (256, 192), (256, 192), None)
            .unwrap();
        for (i, v) in buf.data_mut().iter_mut().enumerate() {
            if i % 256 < 40 {
                *v = 0;
            }
        }
        band.write((0, 0), (256, 192), &mut buf).unwrap();
        band.set_no_data_value(Some(0.0)).unwrap();
    }
}

/// Review, session 14: detect records input paths as typed, and eval run from another
/// folder did not find relative ones — it said the images were "gone or changed" and
/// scored the no-data strip as no change (recall 0.548 instead of 0.773 on the reviewer's
/// Nanjing strip). The manifest now records the folder detect ran in.
#[test]
fn relative_input_paths_are_found_from_any_folder() {
    let dir = tempfile::tempdir().unwrap();
    let ([_, t2], truth) = synthetic_pair(dir.path(), 38, "r");
    no_data_strip(&t2);
    detect_rule_in(
        dir.path(),
        &["r_20200601.tif", "r_20210601.tif", "--out", "out"],
    );
    let out = dir.path().join("out");
    // What the user typed stays visible.
    assert_eq!(manifest(&out)["inputs"][1]["path"], "r_20210601.tif");
    let elsewhere = tempfile::tempdir().unwrap();
    let here = eval_json_in(dir.path(), &["out", "--reference", "truth.tif"]);
    let there = eval_json_in(elsewhere.path(), &[s(&out), "--reference", s(&truth)]);
    let without = there["scope"]["labelled_pixels_without_data"].as_u64();
    assert!(
        (40 * 192..40 * 192 + 50).contains(&without.unwrap_or(0)),
        "{there}"
    );
    for k in ["scope", "confusion", "pixel"] {
        assert_eq!(here[k], there[k], "{k}");
    }
    // A manifest of an older minewatch has no folder: the note says what to do.
    let mpath = out.join("manifest.json");
    let mut m = manifest(&out);
    m.as_object_mut().unwrap().remove("working_dir");
    std::fs::write(&mpath, serde_json::to_string(&m).unwrap()).unwrap();
    let r = eval_json_in(elsewhere.path(), &[s(&out), "--reference", s(&truth)]);
    says_all(
        r["scope"]["note"].as_str().unwrap(),
        &[
            "r_20200601.tif is a relative path",
            "run eval from that folder",
        ],
    );
}

/// Review, session 14: labelled pixels under detect's `--mask` were scored as "no change"
/// (the right half of the Nanjing clip masked: recall 0.427 instead of 0.786). Detect does
/// not assess them, so eval leaves them out like no-data pixels and counts them.
#[test]
fn pixels_under_the_detect_mask_are_not_scored() {
    let dir = tempfile::tempdir().unwrap();
    let ([t1, t2], truth) = synthetic_pair(dir.path(), 39, "m");
    let mask = dir.path().join("mask.tif");
    relabel(&truth, &mask, |i, _| u8::from(i % 256 >= 128));
    let out = dir.path().join("out");
    detect_rule_in(
        Path::new("."),
        &[s(&t1), s(&t2), "--mask", s(&mask), "--out", s(&out)],
    );
    let r = eval_json(&[s(&out), "--reference", s(&truth)]);
    assert_eq!(r["scope"]["labelled_pixels_masked"], 128 * 192, "{r}");
    assert_eq!(r["scope"]["labelled_pixels_without_data"], 0, "{r}");
    assert_eq!(r["pixel"]["scored_pixels"], 128 * 192, "{r}");
    // The planted pits of the masked half are not missed change.
    assert!(r["pixel"]["recall"].as_f64().unwrap() > 0.9, "{r}");
    says_all(
        &eval_text(&[s(&out), "--reference", s(&truth)]),
        &["0 labelled pixels without data on a date and 24576 under detect's --mask not scored"],
    );
    // The mask gone: scored as before, and the report says why.
    std::fs::rename(&mask, dir.path().join("moved.tif")).unwrap();
    let r = eval_json(&[s(&out), "--reference", s(&truth)]);
    assert!(r["scope"]["labelled_pixels_masked"].is_null(), "{r}");
    says_all(
        r["scope"]["note"].as_str().unwrap(),
        &["detect's mask: ", "mask.tif is gone since detect"],
    );
}

/// Review, session 14: a reference without any change pixel was refused as if its coding
/// were wrong. Holding one class and NoData only, it is scored (false alarms count; recall
/// is undefined); holding other values too, the coding is suspect and refused, naming them.
#[test]
fn a_reference_without_change_is_scored_and_a_suspect_coding_refused() {
    let (dir, out, truth) = detected_pair(40, "z");
    let zero = dir.path().join("zero.tif");
    relabel(&truth, &zero, |_, _| 0);
    let r = eval_json(&[s(&out), "--reference", s(&zero)]);
    let c = &r["confusion"];
    assert_eq!(
        (c["tp"].as_u64(), c["fn"].as_u64()),
        (Some(0), Some(0)),
        "{r}"
    );
    assert!(
        c["fp"].as_u64().unwrap() > 0,
        "the patches are false alarms: {r}"
    );
    assert_eq!(r["pixel"]["precision"], 0.0);
    assert!(r["pixel"]["recall"].is_null(), "{r}");
    assert!(r["objects"]["recall"].is_null(), "{r}");
    assert!(r["notes"][0].as_str().unwrap().contains("no change"), "{r}");
    // A label coded 0/255 read with the default --change 1: refused, naming 255.
    let coded255 = dir.path().join("coded255.tif");
    relabel(&truth, &coded255, |_, v| v * 255);
    let o = minewatch(&["eval", s(&out), "--reference", s(&coded255)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    says_all(
        &stderr(&o),
        &[
            "coded255.tif: holds no change pixel (--change 1) but holds 255",
            "pass it with --change",
        ],
    );
}

/// The reviewer's case: the bundled 320² Hong Kong clip against the whole label.
#[test]
fn real_hongkong_clip_against_the_full_label() {
    let Some(l) = shared("sentinel2-oscd/hongkong_change_label.tif") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    detect_real(
        &fixture("real/hongkong_S2_20160927_clip320.tif"),
        &fixture("real/hongkong_S2_20180323_clip320.tif"),
        dir.path(),
    );
    let r = eval_json(&[s(dir.path()), "--reference", s(&l)]);
    assert_eq!(r["pixel"]["scored_pixels"], 320 * 320, "{r}");
    assert_eq!(
        r["scope"]["reference_pixels_outside"],
        540 * 695 - 320 * 320
    );
    let c = &r["confusion"];
    assert_eq!(
        c["tp"].as_u64().unwrap() + c["fn"].as_u64().unwrap(),
        4045,
        "label change pixels inside the clip"
    );
    // 0.150 when the label outside the clip counted as missed change (0.496 scoped,
    // 0.428 since session 17's mean stopped widening patches).
    assert!(r["pixel"]["recall"].as_f64().unwrap() > 0.35, "{r}");
}

#[test]
fn eval_errors_say_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let spec = minewatch_synth::SceneSpec::small(96, 64, 37);
    let [a, b] =
        minewatch_synth::write_scene(&spec, dir.path(), ["q_20190601.tif", "q_20200601.tif"])
            .unwrap();
    let truth = dir.path().join("truth.tif");
    minewatch_synth::write_truth(&spec, &truth).unwrap();
    let out = dir.path().join("out");
    let o = minewatch(&["detect", s(&a), s(&b), "--out", s(&out), "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let nope = dir.path().join("nope.tif");
    let no_file = empty.join("patches.gpkg");
    // Text, not a raster or a vector file.
    let text = dir.path().join("notes.tif");
    std::fs::write(&text, "not an image\n").unwrap();
    let cases: [(Vec<&str>, &str); 6] = [
        (
            vec![s(&out), "--reference", s(&text)],
            "notes.tif: GDAL cannot open it as a raster (no GDAL raster driver recognises its format)",
        ),
        (
            vec![s(&text), "--reference", s(&truth)],
            "notes.tif: GDAL cannot open it as a vector file of patches",
        ),
        (
            vec![s(&out), "--reference", s(&nope)],
            "nope.tif: reference raster not found",
        ),
        (
            vec![s(&empty), "--reference", s(&truth)],
            "no patches.gpkg in",
        ),
        (
            vec![
                s(&out),
                "--reference",
                s(&truth),
                "--change",
                "1,2",
                "--no-change",
                "2",
            ],
            "value 2 is in both --change and --no-change",
        ),
        (
            vec![s(&no_file), "--reference", s(&truth)],
            "not found; give a `minewatch detect` output folder",
        ),
    ];
    for (args, needle) in cases {
        let mut a = vec!["eval"];
        a.extend(args);
        let o = minewatch(&a);
        assert_eq!(o.status.code(), Some(1), "{a:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{a:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("NULL pointer"), "{}", stderr(&o));
    }

    // A detect folder whose run did not finish (its manifest is written last).
    std::fs::remove_file(out.join("manifest.json")).unwrap();
    let o = minewatch(&["eval", s(&out), "--reference", s(&truth)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no manifest.json") && stderr(&o).contains("did not finish"),
        "{}",
        stderr(&o)
    );
}

/// Review, session 17: with a no-data strip on one date, the stratified estimate counted
/// the strip's pixels as "map no-change" and gave them the change rate sampled elsewhere.
/// The strata now cover the assessed pixels only, and the report gives their area.
#[test]
fn the_stratified_estimate_covers_the_assessed_pixels_only() {
    let dir = tempfile::tempdir().unwrap();
    let ([t1, t2], truth) = synthetic_pair(dir.path(), 38, "o");
    no_data_strip(&t2);
    let samples = dir.path().join("samples.tif");
    sample_every(&truth, &samples, 3);
    let out = dir.path().join("out");
    assert!(
        minewatch(&["detect", s(&t1), s(&t2), "--out", s(&out), "--quiet"])
            .status
            .success()
    );
    let args = [
        s(&out),
        "--reference",
        s(&samples),
        "--samples",
        "--change",
        "1",
        "--no-change",
        "2",
    ];
    let r = eval_json(&args);
    let e = &r["stratified"];
    let pixel = r["pixel_area_m2"].as_f64().unwrap();
    // The strip (40 of 256 columns, with the edge the reader may add) is outside the region.
    let region = e["region_area"].as_f64().unwrap() / pixel;
    assert!(
        (216.0 * 192.0 - 200.0..=216.0 * 192.0).contains(&region),
        "region {region} px: {r}"
    );
    let mapped = e["mapped_change_area"].as_f64().unwrap() / pixel;
    let w1 = e["weights"][1].as_f64().unwrap();
    assert!((w1 - mapped / region).abs() < 1e-9, "{r}");
    assert!(
        eval_text(&args).contains("of the"),
        "the text names the region"
    );
}

/// Review, session 17: a 0/255 label that gdal_calc tagged NoData = 255 lost its whole
/// change class and scored "no change everywhere" with no word about the tag.
#[test]
fn a_change_class_hidden_by_the_nodata_tag_is_named() {
    let (dir, out, truth) = detected_pair(39, "q");
    let label = dir.path().join("lab255.tif");
    {
        let ds = relabel(&truth, &label, |_, v| if v == 1 { 255 } else { 0 });
        ds.rasterband(1)
            .unwrap()
            .set_no_data_value(Some(255.0))
            .unwrap();
    }
    let text = eval_text(&[
        s(&out),
        "--reference",
        s(&label),
        "--change",
        "1",
        "--no-change",
        "0",
    ]);
    says_all(
        &text,
        &[
            "NoData value 255",
            "gdal_edit.py -unsetnodata",
            "--change 255",
        ],
    );
}
