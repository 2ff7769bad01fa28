//! Every bad input exits 1 with a message that names the file and says what to do, and
//! leaves nothing in the output folder.

mod common;
use common::*;
use std::path::{Path, PathBuf};

fn assert_user_error(args: &[&str], out: &Path, needles: &[&str]) {
    let o = minewatch(args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "exit code; stderr: {err}");
    for n in needles {
        assert!(err.contains(n), "stderr should mention `{n}`: {err}");
    }
    if out.exists() {
        let left: Vec<PathBuf> = std::fs::read_dir(out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert!(
            left.is_empty(),
            "output folder must stay empty, found {left:?}"
        );
    }
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let [t1, _] = synth_pair(dir.path(), 64, 64, 1);
    let out = dir.path().join("out");
    let missing = dir.path().join("nope_20210101.tif");
    assert_user_error(
        &["detect", s(&t1), s(&missing), "--out", s(&out)],
        &out,
        &["nope_20210101.tif", "not found"],
    );
}

#[test]
fn a_folder_the_same_file_twice_and_a_missing_mask_are_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let [t1, t2] = synth_pair(dir.path(), 64, 64, 1);
    let out = dir.path().join("out");
    let folder = dir.path().join("scenes_20220101.tif");
    std::fs::create_dir(&folder).unwrap();
    assert_user_error(
        &["detect", s(&t1), s(&folder), "--out", s(&out)],
        &out,
        &["scenes_20220101.tif", "is a folder, not an image"],
    );
    // The same file twice is not "two images with one date".
    let again = dir.path().join(".").join(t1.file_name().unwrap());
    assert_user_error(
        &[
            "detect",
            s(&t1),
            s(&again),
            "--dates",
            "20200101,20210101",
            "--out",
            s(&out),
        ],
        &out,
        &["given twice (images 1 and 2)"],
    );
    assert_user_error(
        &[
            "detect",
            s(&t1),
            s(&t2),
            "--mask",
            "nope.tif",
            "--out",
            s(&out),
        ],
        &out,
        &["--mask: nope.tif: file not found"],
    );
}

#[test]
fn not_a_raster() {
    let dir = tempfile::tempdir().unwrap();
    let [t1, _] = synth_pair(dir.path(), 64, 64, 1);
    let txt = dir.path().join("notes_20210101.tif");
    std::fs::write(&txt, "this is not an image\n").unwrap();
    let out = dir.path().join("out");
    assert_user_error(
        &["detect", s(&t1), s(&txt), "--out", s(&out)],
        &out,
        &["notes_20210101.tif", "cannot open it as a raster"],
    );
}

#[test]
fn truncated_tiff() {
    let dir = tempfile::tempdir().unwrap();
    let [t1, t2] = synth_pair(dir.path(), 256, 256, 1);
    let bytes = std::fs::read(&t2).unwrap();
    let cut = dir.path().join("cut_20220101.tif");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let out = dir.path().join("out");
    let o = minewatch(&["detect", s(&t1), s(&cut), "--out", s(&out)]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("cut_20220101.tif"), "{err}");
    assert!(
        err.contains("truncated or corrupt") || err.contains("cannot open it as a raster"),
        "{err}"
    );
    let left = std::fs::read_dir(&out).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "no partial output");
}

#[test]
fn mismatched_grids() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let [t1, _] = synth_pair(&a, 64, 64, 1);
    let [_, t2] = synth_pair(&b, 80, 64, 1);
    let out = dir.path().join("out");
    assert_user_error(
        &["detect", s(&t1), s(&t2), "--out", s(&out)],
        &out,
        &[
            "synth_20200601.tif",
            "synth_20210601.tif",
            "size 64x64 vs 80x64",
            "--align",
        ],
    );
    // Another CRS (and so another size): the CRS is named, not only the size.
    if !have_tool("gdalwarp") {
        return;
    }
    let [_, t2a] = synth_pair(&a, 64, 64, 1);
    let ll = dir.path().join("ll_20210601.tif");
    let st = std::process::Command::new("gdalwarp")
        .args(["-q", "-t_srs", "EPSG:4326", s(&t2a), s(&ll)])
        .status()
        .unwrap();
    assert!(st.success());
    let out = dir.path().join("out_ll");
    assert_user_error(
        &["detect", s(&t1), s(&ll), "--out", s(&out)],
        &out,
        &[
            "coordinate reference systems differ",
            "size 64x64 vs",
            "--align",
        ],
    );
}

#[test]
fn band_missing_for_profile() {
    let dir = tempfile::tempdir().unwrap();
    let [t1, t2] = synth_pair(dir.path(), 64, 64, 1);
    let out = dir.path().join("out");
    assert_user_error(
        &[
            "detect",
            s(&t1),
            s(&t2),
            "--profile",
            "sentinel2",
            "--out",
            s(&out),
        ],
        &out,
        &["synth_20200601.tif", "needs band", "5 band(s)"],
    );
}

#[test]
fn rule_needs_a_band_the_profile_lacks() {
    let dir = tempfile::tempdir().unwrap();
    let [t1, t2] = synth_pair(dir.path(), 64, 64, 1);
    let out = dir.path().join("out");
    assert_user_error(
        &[
            "detect",
            s(&t1),
            s(&t2),
            "--profile",
            "gf-wfv",
            "--method",
            "rule",
            "--out",
            s(&out),
        ],
        &out,
        &["bsi_rise", "swir1", "gf-wfv"],
    );
}

#[test]
fn all_nodata() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = minewatch_synth::SceneSpec::small(64, 64, 1);
    spec.nodata_rows = 64;
    let [t1, t2] =
        minewatch_synth::write_scene(&spec, dir.path(), ["e_20200101.tif", "e_20210101.tif"])
            .unwrap();
    let out = dir.path().join("out");
    assert_user_error(
        &["detect", s(&t1), s(&t2), "--out", s(&out)],
        &out,
        &["e_20200101.tif", "nodata"],
    );
}

#[test]
fn fewer_than_two_dates() {
    let dir = tempfile::tempdir().unwrap();
    let [t1, _] = synth_pair(dir.path(), 64, 64, 1);
    let out = dir.path().join("out");
    assert_user_error(
        &["detect", s(&t1), "--out", s(&out)],
        &out,
        &["at least two"],
    );
}

#[test]
fn no_date_anywhere() {
    let dir = tempfile::tempdir().unwrap();
    let [t1, t2] = synth_pair(dir.path(), 64, 64, 1);
    let plain = dir.path().join("after.tif");
    std::fs::copy(&t2, &plain).unwrap();
    let out = dir.path().join("out");
    assert_user_error(
        &["detect", s(&t1), s(&plain), "--out", s(&out)],
        &out,
        &["after.tif", "--dates"],
    );
    // and with --dates it works
    let o = minewatch(&[
        "detect",
        s(&t1),
        s(&plain),
        "--dates",
        "20200601,2021-06-01",
        "--out",
        s(&out),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // GDAL keeps a GF / WorldView acquisition time in the IMAGERY metadata domain.
    {
        let mut ds = open_update(&plain);
        gdal::Metadata::set_metadata_item(
            &mut ds,
            "ACQUISITIONDATETIME",
            "2021-06-01T02:55:22Z",
            "IMAGERY",
        )
        .unwrap();
    }
    let out = dir.path().join("imagery");
    let o = minewatch(&["detect", s(&t1), s(&plain), "--out", s(&out), "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(manifest(&out)["inputs"][1]["date"], "2021-06-01");
    assert_eq!(manifest(&out)["inputs"][1]["date_source"], "metadata");
}

#[test]
fn output_folder_not_writable() {
    let dir = tempfile::tempdir().unwrap();
    let [t1, t2] = synth_pair(dir.path(), 64, 64, 1);
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "x").unwrap();
    let out = blocker.join("out");
    let o = minewatch(&["detect", s(&t1), s(&t2), "--out", s(&out)]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("file/out") && err.contains("--out"), "{err}");
}

#[test]
fn bad_params_file_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let [t1, t2] = synth_pair(dir.path(), 64, 64, 1);
    let p = dir.path().join("p.toml");
    std::fs::write(&p, "rule = [\"ndvi_drop >= 0.2\"]\nmmu = 4\n").unwrap();
    let out = dir.path().join("out");
    assert_user_error(
        &[
            "detect",
            s(&t1),
            s(&t2),
            "--params",
            s(&p),
            "--out",
            s(&out),
        ],
        &out,
        &["p.toml", "mmu"],
    );
}

#[test]
fn align_warps_a_shifted_grid_onto_the_first_date() {
    if !have_tool("gdal_translate") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let [t1, t2] = synth_pair(dir.path(), 200, 160, 8);
    // The second date covers a window shifted by (13, 7) pixels and is a bit smaller.
    let shifted = dir.path().join("shifted_20220101.tif");
    translate(&["-srcwin", "13", "7", "180", "150"], &t2, &shifted);
    let out = dir.path().join("out");
    assert_user_error(
        &["detect", s(&t1), s(&shifted), "--out", s(&out)],
        &out,
        &["different grids", "--align"],
    );
    // The explicit rule judges each pixel alone, so the aligned pair must give the very
    // patches of the unshifted one (the automatic method's fit sees a different sample:
    // the aligned date has no data outside the overlap).
    let o = minewatch(&[
        "detect",
        s(&t1),
        s(&shifted),
        "--align",
        "--method",
        "rule",
        "--out",
        s(&out),
        "--format",
        "json",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m: serde_json::Value = manifest(&out);
    assert_eq!(m["inputs"][1]["aligned"], true);
    assert_eq!(m["inputs"][1]["path"], s(&shifted));
    assert_eq!(m["grid"]["width"], 200);
    // Aligned pixel-for-pixel (integer shift): the patches inside the overlap are those of
    // the unshifted pair, and no staging or warped copy is left behind.
    let ref_out = dir.path().join("ref");
    let o = minewatch(&[
        "detect",
        s(&t1),
        s(&t2),
        "--method",
        "rule",
        "--out",
        s(&ref_out),
        "--quiet",
    ]);
    assert!(o.status.success());
    let inside = |p: &Path| -> Vec<String> {
        let text = std::fs::read_to_string(p.join("patches.csv")).unwrap();
        let mut rdr = csv::Reader::from_reader(text.as_bytes());
        rdr.records()
            .map(|r| r.unwrap())
            .filter(|r| {
                let (row, col): (u32, u32) = (r[9].parse().unwrap(), r[10].parse().unwrap());
                (20..140).contains(&row) && (30..170).contains(&col)
            })
            .map(|r| format!("{} {}", &r[9], &r[10]))
            .collect()
    };
    let (a, b) = (inside(&out), inside(&ref_out));
    assert!(!b.is_empty());
    assert!(
        a == b,
        "aligned run should find the same patches inside the overlap: {a:?} vs {b:?}"
    );
    let left: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert!(left.iter().all(|n| !n.starts_with('.')), "{left:?}");
}

/// Zero fill of an untagged integer file (every band 0: a scene edge, a gap) is no
/// observation; warped by `--align` it must stay so. GDAL's warper took it for data and,
/// the copy's nodata being 0, shifted it to 1: a zero-filled gap became a 2,607-px
/// "water gain" patch (a reviewer's case, rebuilt here on the Hong Kong clip).
#[test]
fn align_keeps_zero_fill_out() {
    if !have_tool("gdal_translate") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let t1 = fixture("real/hongkong_S2_20160927_clip320.tif");
    let gap = dir.path().join("gap_20180323.tif");
    translate(&[], &fixture("real/hongkong_S2_20180323_clip320.tif"), &gap);
    {
        let ds = open_update(&gap);
        for b in 1..=ds.raster_count() {
            let mut band = ds.rasterband(b).unwrap();
            let mut buf = gdal::raster::Buffer::new((50, 70), vec![0u16; 50 * 70]);
            band.write((90, 50), (50, 70), &mut buf).unwrap();
        }
    }
    // The same pixels on a grid 10 px larger each way.
    let padded = dir.path().join("pad_20180323.tif");
    translate(&["-srcwin", "-10", "-10", "340", "340"], &gap, &padded);
    let run = |img: &Path, tag: &str, align: bool| {
        let out = dir.path().join(tag);
        let mut args = vec!["detect", s(&t1), s(img), "--params"];
        let params = root().join("pipelines/peer-rule.toml");
        args.push(s(&params));
        args.extend(["--out", s(&out), "--quiet"]);
        if align {
            args.push("--align");
        }
        let o = minewatch(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        out
    };
    let same = run(&gap, "same", false);
    let aligned = run(&padded, "aligned", true);
    let valid = |o: &Path| manifest(o)["pairs"][0]["valid_pixels"].as_u64().unwrap();
    assert_eq!(valid(&same), 320 * 320 - 50 * 70);
    assert_eq!(valid(&aligned), valid(&same));
    assert_eq!(
        std::fs::read(same.join("patches.csv")).unwrap(),
        std::fs::read(aligned.join("patches.csv")).unwrap(),
        "an integer shift warps to the same pixels, and the gap stays out"
    );
}

/// A file's own mask (here a TIFF mask band over a flat float fill) keeps its pixels out
/// through `--align` too: the warper honours it, and the warped copy carries them as
/// nodata.
#[test]
fn align_keeps_a_files_mask_out() {
    if !have_tool("gdal_translate") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let f = copies_of(&nanjing_clip(), dir.path(), "f32", |p, q| {
        translate(&["-ot", "Float32"], p, q)
    });
    let (rows, w) = (150..200usize, 400usize);
    mask_rows_with_fill(&f[1], rows.clone(), w, 400);
    let padded = dir.path().join("pad_20020712.tif");
    translate(&["-srcwin", "-10", "-10", "420", "420"], &f[1], &padded);
    let run = |img: &Path, tag: &str, align: bool| {
        let out = dir.path().join(tag);
        let mut args = vec!["detect", s(&f[0]), s(img), "--out", s(&out), "--quiet"];
        if align {
            args.push("--align");
        }
        let o = minewatch(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        out
    };
    let (same, aligned) = (run(&f[1], "same", false), run(&padded, "aligned", true));
    let valid = |o: &Path| manifest(o)["pairs"][0]["valid_pixels"].as_u64().unwrap();
    assert_eq!(valid(&same), (400 * 400 - rows.len() * w) as u64);
    assert_eq!(valid(&aligned), valid(&same));
    assert_eq!(
        std::fs::read(same.join("patches.csv")).unwrap(),
        std::fs::read(aligned.join("patches.csv")).unwrap()
    );
}

/// `minewatch detect … | head -c 1`: the reader goes away before the summary is printed.
/// The run's files are complete and the process leaves quietly, not with a panic.
#[test]
fn a_closed_stdout_is_not_a_crash() {
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let [t1, t2] = synth_pair(dir.path(), 64, 64, 3);
    let out = dir.path().join("out");
    let mut child = Command::new(env!("CARGO_BIN_EXE_minewatch"))
        .args([
            "detect",
            s(&t1),
            s(&t2),
            "--method",
            "rule",
            "--out",
            s(&out),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader is gone before anything is printed
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(out.join("manifest.json").exists() && out.join("patches.gpkg").exists());
}

/// Review, session 12: TIFFTAG_DATETIME (when the file was written; GIS exports stamp
/// it) was read before the name's YYYYMMDD, so two files exported in the other order
/// were compared backwards without a word. Now: acquisition metadata, then the name,
/// then TIFFTAG_DATETIME with a warning; metadata and name disagreeing is a warning.
#[test]
fn file_writing_times_never_override_the_date_in_the_name() {
    let dir = tempfile::tempdir().unwrap();
    let [t1, t2] = synth_pair(dir.path(), 64, 64, 1);
    let stamp = |p: &std::path::Path, key: &str, v: &str| {
        use gdal::Metadata;
        open_update(p).set_metadata_item(key, v, "").unwrap();
    };
    // Written in the other order: the 2021 image first.
    stamp(&t1, "TIFFTAG_DATETIME", "2024:01:02 10:00:00");
    stamp(&t2, "TIFFTAG_DATETIME", "2023:12:01 10:00:00");
    let detect = |a: &std::path::Path, b: &std::path::Path, out: &str| {
        let o = minewatch(&[
            "detect",
            s(a),
            s(b),
            "--out",
            s(&dir.path().join(out)),
            "--format",
            "json",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        (
            v["pairs"][0]["pair"].as_str().unwrap().to_string(),
            stderr(&o),
            manifest(&dir.path().join(out)),
        )
    };
    let (pair, err, m) = detect(&t1, &t2, "named");
    assert_eq!(pair, "20200601_20210601");
    assert!(!err.contains("warning"), "{err}");
    assert_eq!(m["inputs"][0]["date_source"], "file_name");
    // Without a date in the name, the writing time is used, and said to be one.
    let (a, b) = (dir.path().join("a.tif"), dir.path().join("b.tif"));
    std::fs::copy(&t1, &a).unwrap();
    std::fs::copy(&t2, &b).unwrap();
    let (pair, err, m) = detect(&a, &b, "stamped");
    assert_eq!(pair, "20231201_20240102");
    assert!(
        err.contains("TIFFTAG_DATETIME, which records when the file was written"),
        "{err}"
    );
    assert_eq!(m["inputs"][0]["date_source"], "tiff_datetime");
    assert!(m["inputs"][0]["date_note"]
        .as_str()
        .unwrap()
        .contains("--dates"));
    // An acquisition item wins over the name, with a warning when they differ.
    stamp(&t2, "ACQUISITION_DATE", "20210605");
    let (pair, err, m) = detect(&t1, &t2, "acquired");
    assert_eq!(pair, "20200601_20210605");
    assert!(
        err.contains("ACQUISITION_DATE says 2021-06-05, its name says 2021-06-01"),
        "{err}"
    );
    assert_eq!(m["inputs"][1]["date_source"], "metadata");
    // --dates wins, but against the names' dates it is said (a review: dates given in the
    // wrong order compared the pair backwards without a word).
    let o = minewatch(&[
        "detect",
        s(&t1),
        s(&t2),
        "--dates",
        "2021-06-01,2020-06-01",
        "--out",
        s(&dir.path().join("flagged")),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--dates gives 2021-06-01 for it, its name says 2020-06-01"),
        "{}",
        stderr(&o)
    );
}

/// A file name with two dates and no convention for which is the acquisition is not
/// guessed (a review: the version stamp `v20240301` was taken, and the pair compared
/// backwards with exit 0); Landsat product ids keep working.
#[test]
fn a_name_with_two_dates_asks_for_the_dates() {
    let d = tempfile::tempdir().unwrap();
    let [a, b] = nanjing_clip();
    let (a2, b2) = (
        d.path().join("mosaic_v20240301_js_20000503.tif"),
        d.path().join("mosaic_v20240101_js_20020712.tif"),
    );
    std::fs::copy(&a, &a2).unwrap();
    std::fs::copy(&b, &b2).unwrap();
    let o = minewatch(&["detect", s(&a2), s(&b2), "--out", s(&d.path().join("x"))]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("mosaic_v20240301_js_20000503.tif: its name holds more than one date (2024-03-01, 2000-05-03)")
            && stderr(&o).contains("--dates"),
        "{}",
        stderr(&o)
    );
    assert!(!d.path().join("x/patches.gpkg").exists());
    let o = minewatch(&[
        "detect",
        s(&a2),
        s(&b2),
        "--dates",
        "20000503,20020712",
        "--out",
        s(&d.path().join("y")),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // A Landsat Collection 2 product id: acquired, then processed.
    let (a3, b3) = (
        d.path()
            .join("LT05_L2SP_120038_20000503_20200907_02_T1.tif"),
        d.path()
            .join("LT05_L2SP_120038_20020712_20200905_02_T1.tif"),
    );
    std::fs::copy(&a, &a3).unwrap();
    std::fs::copy(&b, &b3).unwrap();
    let o = minewatch(&[
        "detect",
        s(&a3),
        s(&b3),
        "--out",
        s(&d.path().join("z")),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        manifest(&d.path().join("z"))["inputs"][0]["date"],
        "2000-05-03"
    );
}

/// Review, session 19 (W f8, f7; V f6): an ACQUISITION_DATE with a typo (`2000-13-03`)
/// fell back to the export date in the name and compared the pair backwards, exit 0;
/// `jiangsu_mosaic_2003_0512_v20240315.tif` was dated by its version stamp. Both stop,
/// quoting what was found.
#[test]
fn an_unreadable_or_ambiguous_date_is_refused_not_replaced() {
    if !have_tool("gdal_translate") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let [a, b] = nanjing_clip();
    let typo = dir.path().join("export_20230101.tif");
    translate(&["-mo", "ACQUISITION_DATE=2000-13-03"], &a, &typo);
    let out = dir.path().join("out");
    assert_user_error(
        &["detect", s(&typo), s(&b), "--out", s(&out)],
        &out,
        &[
            "export_20230101.tif",
            "ACQUISITION_DATE",
            "`2000-13-03`",
            "--dates",
        ],
    );
    let mosaic = dir.path().join("jiangsu_mosaic_2003_0512_v20240315.tif");
    std::fs::copy(&b, &mosaic).unwrap();
    assert_user_error(
        &["detect", s(&a), s(&mosaic), "--out", s(&out)],
        &out,
        &[
            "jiangsu_mosaic_2003_0512_v20240315.tif",
            "2003-05-12",
            "2024-03-15",
            "--dates",
        ],
    );
}

/// Review, session 20 (revW F7, third case): `scene_20001303.tif` (eight digits, month 13)
/// with no date in its metadata got the generic "no acquisition date" message, as if the
/// name held no digits at all. The digits are quoted as no date, with what to do.
#[test]
fn eight_digits_that_are_no_date_are_quoted() {
    let dir = tempfile::tempdir().unwrap();
    let [a, b] = nanjing_clip();
    let bad = dir.path().join("scene_20001303.tif");
    std::fs::copy(&b, &bad).unwrap();
    let out = dir.path().join("out");
    assert_user_error(
        &["detect", s(&a), s(&bad), "--out", s(&out)],
        &out,
        &[
            "scene_20001303.tif: no acquisition date: its name holds `20001303`, eight digits that are not a date",
            "--dates",
            "rename the file",
        ],
    );
}

/// Imagery on the Xian 1980 datum is converted to lon/lat and CGCS2000 without the datum
/// shift (PROJ has none): the run goes on, and says so naming the file and what to do
/// (revZ2 F1). The same pixels on WGS 84 / UTM say nothing.
#[test]
fn imagery_on_the_xian_1980_datum_is_warned_about() {
    if !have_tool("gdal_translate") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let [t1, t2] = synth_pair(dir.path(), 120, 100, 3);
    let x1 = dir.path().join("xian_20200601.tif");
    let x2 = dir.path().join("xian_20210601.tif");
    // Xian 1980 / 3-degree Gauss-Kruger CM 120E: the synthetic grid's coordinates lie
    // in it (easting 400 km, northing 4420 km).
    translate(&["-a_srs", "EPSG:2385"], &t1, &x1);
    translate(&["-a_srs", "EPSG:2385"], &t2, &x2);
    let out = dir.path().join("out");
    let o = minewatch(&["detect", s(&x1), s(&x2), "--out", s(&out), "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("xian_20200601.tif") && err.contains("Xian 1980 datum"),
        "{err}"
    );
    assert_eq!(
        err.matches("Xian 1980 datum").count(),
        1,
        "once per CRS: {err}"
    );
    let out = dir.path().join("out_utm");
    let o = minewatch(&["detect", s(&t1), s(&t2), "--out", s(&out), "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("datum"), "{}", stderr(&o));
}
