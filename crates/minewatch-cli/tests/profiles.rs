//! Band profiles, custom band mappings, sensors without SWIR, nodata and scale/offset.

mod common;
use common::*;

fn json(o: &std::process::Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", stderr(o));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn custom_band_mapping_equals_the_builtin_profile() {
    let dir = tempfile::tempdir().unwrap();
    let [t1, t2] = synth_pair(dir.path(), 160, 120, 21);
    let p = dir.path().join("custom.toml");
    std::fs::write(
        &p,
        "[bands]\nblue = 1\ngreen = 2\nred = 3\nnir = 4\nswir1 = 5\n",
    )
    .unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    json(&minewatch(&[
        "detect",
        s(&t1),
        s(&t2),
        "--params",
        s(&p),
        "--out",
        s(&a),
        "--format",
        "json",
        "--quiet",
    ]));
    json(&minewatch(&[
        "detect",
        s(&t1),
        s(&t2),
        "--profile",
        "bgrns",
        "--out",
        s(&b),
        "--format",
        "json",
        "--quiet",
    ]));
    assert_eq!(manifest(&a)["inputs"][0]["profile"], "custom");
    assert_eq!(
        std::fs::read(a.join("patches.csv")).unwrap(),
        std::fs::read(b.join("patches.csv")).unwrap()
    );
}

/// Band names that say which bands a file holds are never overridden by a guess from the
/// band count: Sentinel-2's B01–B04 are coastal, blue, green and red (no NIR), not the
/// blue, green, red and NIR of a 4-band sensor. B02, B03, B04, B08 is blue … NIR.
#[test]
fn band_names_without_nir_are_refused_not_guessed() {
    if !have_tool("gdal_translate") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let subset = |bands: &[&str], tag: &str| -> Vec<std::path::PathBuf> {
        let mut args = Vec::new();
        for b in bands {
            args.extend(["-b", b]);
        }
        [
            "hongkong_S2_20160927_clip320.tif",
            "hongkong_S2_20180323_clip320.tif",
        ]
        .iter()
        .zip(["20160927", "20180323"])
        .map(|(f, d)| {
            let p = dir.path().join(format!("{tag}_{d}.tif"));
            translate(&args, &fixture(&format!("real/{f}")), &p);
            p
        })
        .collect()
    };
    let no_nir = subset(&["1", "2", "3", "4"], "b1234");
    let o = minewatch(&[
        "detect",
        s(&no_nir[0]),
        s(&no_nir[1]),
        "--out",
        s(&dir.path().join("no_nir")),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("B01, B02, B03, B04") && stderr(&o).contains("leave out nir"),
        "{}",
        stderr(&o)
    );
    assert!(!dir.path().join("no_nir/patches.gpkg").exists());
    let bgrn = subset(&["2", "3", "4", "8"], "b2348");
    let summary = json(&minewatch(&[
        "detect",
        s(&bgrn[0]),
        s(&bgrn[1]),
        "--out",
        s(&dir.path().join("bgrn")),
        "--format",
        "json",
        "--quiet",
    ]));
    assert!(summary["patches"].as_u64().unwrap() > 0, "{summary}");
    let m = manifest(&dir.path().join("bgrn"));
    assert_eq!(m["inputs"][0]["profile"], "from-band-descriptions");
    assert_eq!(m["inputs"][0]["bands"][3], serde_json::json!(["nir", 4]));
}

#[test]
fn four_band_sensor_skips_swir_statistics() {
    if !have_tool("gdal_translate") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let [t1, t2] = synth_pair(dir.path(), 160, 120, 22);
    let mut four = Vec::new();
    for (t, name) in [(&t1, "gf_20200601.tif"), (&t2, "gf_20210601.tif")] {
        let p = dir.path().join(name);
        translate(&["-b", "1", "-b", "2", "-b", "3", "-b", "4"], t, &p);
        four.push(p);
    }
    let out = dir.path().join("out");
    let summary = json(&minewatch(&[
        "detect",
        s(&four[0]),
        s(&four[1]),
        "--profile",
        "gf-wfv",
        "--rule",
        "ndvi_drop >= 0.2",
        "--rule",
        "blue_t2 < 2500",
        "--out",
        s(&out),
        "--format",
        "json",
        "--quiet",
    ]));
    assert!(summary["patches"].as_u64().unwrap() > 0);
    let m = manifest(&out);
    let skipped: Vec<String> = m["skipped_statistics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert!(
        skipped
            .iter()
            .any(|s| s.starts_with("bsi_rise") && s.contains("swir1")),
        "{skipped:?}"
    );
    assert!(
        skipped.iter().any(|s| s.starts_with("mndwi_rise")),
        "{skipped:?}"
    );
    let header = std::fs::read_to_string(out.join("patches.csv"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    assert!(
        header.contains("mean_ndvi_drop") && !header.contains("bsi"),
        "{header}"
    );
}

#[test]
fn nodata_never_becomes_change() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = minewatch_synth::SceneSpec::small(128, 128, 23);
    spec.nodata_rows = 40;
    let [t1, t2] =
        minewatch_synth::write_scene(&spec, dir.path(), ["n_20200101.tif", "n_20210101.tif"])
            .unwrap();
    let out = dir.path().join("out");
    // The cloud screen off: the moat around the scene's cloud is not assessed either, and
    // this test counts the nodata strip alone.
    let params = dir.path().join("noscreen.toml");
    std::fs::write(&params, "cloud_screen = false\n").unwrap();
    let summary = json(&minewatch(&[
        "detect",
        s(&t1),
        s(&t2),
        "--out",
        s(&out),
        "--format",
        "json",
        "--quiet",
        "--mmu-mode",
        "objects",
        "--params",
        s(&params),
    ]));
    assert_eq!(summary["pairs"][0]["valid_pixels"], 128 * 88);
    assert!(summary["patches"].as_u64().unwrap() > 0);
    let text = std::fs::read_to_string(out.join("patches.csv")).unwrap();
    for line in text.lines().skip(1) {
        let row: u32 = line.split(',').nth(9).unwrap().parse().unwrap();
        assert!(row < 88, "patch starting in the nodata strip: {line}");
    }
}

/// NoData kept in a `.aux.xml` sidecar (what GDAL writes when it cannot edit a file, and
/// what ArcGIS writes) counts like a NoData tag in the file: GDAL must probe sidecars.
#[test]
fn nodata_in_a_sidecar_is_read() {
    if !have_tool("gdal_translate") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let spec = minewatch_synth::SceneSpec::small(128, 128, 23);
    let plain =
        minewatch_synth::write_scene(&spec, dir.path(), ["n_20200101.tif", "n_20210101.tif"])
            .unwrap();
    let mut side = Vec::new();
    for (t, name) in plain.iter().zip(["p_20200101.tif", "p_20210101.tif"]) {
        let dst = dir.path().join(name);
        translate(&["-a_nodata", "none"], t, &dst);
        // A fill of 255 over the top 40 rows, declared only in the sidecar.
        let ds = open_update(&dst);
        let bands = ds.raster_count();
        for b in 1..=bands {
            let mut band = ds.rasterband(b).unwrap();
            let mut fill = gdal::raster::Buffer::new((128, 40), vec![255u16; 128 * 40]);
            band.write((0, 0), (128, 40), &mut fill).unwrap();
        }
        drop(ds);
        let xml: String = (1..=bands)
            .map(|b| {
                format!(
                    "<PAMRasterBand band=\"{b}\"><NoDataValue>255</NoDataValue></PAMRasterBand>"
                )
            })
            .collect();
        std::fs::write(
            dir.path().join(format!("{name}.aux.xml")),
            format!("<PAMDataset>{xml}</PAMDataset>"),
        )
        .unwrap();
        side.push(dst);
    }
    // The same files with the NoData tag inside: what the sidecar must amount to.
    let tagged: Vec<std::path::PathBuf> = side
        .iter()
        .zip(["t_20200101.tif", "t_20210101.tif"])
        .map(|(p, name)| {
            let dst = dir.path().join(name);
            translate(&["-a_nodata", "255"], p, &dst);
            dst
        })
        .collect();
    // The cloud screen off: its moat is not assessed either, and this counts NoData alone.
    let params = dir.path().join("noscreen.toml");
    std::fs::write(&params, "cloud_screen = false\n").unwrap();
    let valid = |pair: &[std::path::PathBuf], out: &str| {
        json(&minewatch(&[
            "detect",
            s(&pair[0]),
            s(&pair[1]),
            "--out",
            s(&dir.path().join(out)),
            "--format",
            "json",
            "--quiet",
            "--params",
            s(&params),
        ]))["pairs"][0]["valid_pixels"]
            .as_u64()
            .unwrap()
    };
    let by_tag = valid(&tagged, "tagged");
    assert!(by_tag <= 128 * 88, "{by_tag}");
    assert_eq!(valid(&side, "sidecar"), by_tag);
}

#[test]
fn scale_and_offset_are_applied() {
    if !have_tool("gdal_translate") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let [t1, t2] = synth_pair(dir.path(), 160, 120, 24);
    // Scale 2 is exact in f32, so indices are bit-identical and only the blue threshold moves.
    let mut scaled = Vec::new();
    for (t, name) in [(&t1, "sc_20200601.tif"), (&t2, "sc_20210601.tif")] {
        let p = dir.path().join(name);
        translate(&["-a_scale", "2", "-a_offset", "0"], t, &p);
        scaled.push(p);
    }
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let sa = json(&minewatch(&[
        "detect",
        "--method",
        "rule",
        s(&t1),
        s(&t2),
        "--out",
        s(&a),
        "--format",
        "json",
        "--quiet",
    ]));
    let sb = json(&minewatch(&[
        "detect",
        "--method",
        "rule",
        s(&scaled[0]),
        s(&scaled[1]),
        "--rule",
        "ndvi_drop >= 0.2",
        "--rule",
        "bsi_rise >= 0.1",
        "--rule",
        "blue_t2 < 5000",
        "--out",
        s(&b),
        "--format",
        "json",
        "--quiet",
    ]));
    assert_eq!(sa["patches"], sb["patches"]);
    assert_eq!(sa["pairs"][0]["rule_pixels"], sb["pairs"][0]["rule_pixels"]);
    // and with the unscaled threshold the cloud test now passes nothing it should not
    let c = dir.path().join("c");
    let sc = json(&minewatch(&[
        "detect",
        "--method",
        "rule",
        s(&scaled[0]),
        s(&scaled[1]),
        "--out",
        s(&c),
        "--format",
        "json",
        "--quiet",
    ]));
    assert!(sc["pairs"][0]["rule_pixels"].as_u64() <= sa["pairs"][0]["rule_pixels"].as_u64());
}

#[test]
fn user_mask_excludes_pixels_and_must_share_the_grid() {
    let dir = tempfile::tempdir().unwrap();
    let spec = minewatch_synth::SceneSpec::small(160, 120, 25);
    let [t1, t2] =
        minewatch_synth::write_scene(&spec, dir.path(), ["k_20200601.tif", "k_20210601.tif"])
            .unwrap();
    // Mask the left half: the truth raster's grid, all ones in columns < 80.
    let mask = dir.path().join("mask.tif");
    minewatch_synth::write_truth(&spec, &mask).unwrap();
    {
        let ds = open_update(&mask);
        let mut band = ds.rasterband(1).unwrap();
        let data: Vec<u8> = (0..160 * 120).map(|i| ((i % 160) < 80) as u8).collect();
        band.write(
            (0, 0),
            (160, 120),
            &mut gdal::raster::Buffer::new((160, 120), data),
        )
        .unwrap();
    }
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let sa = json(&minewatch(&[
        "detect",
        "--method",
        "rule",
        s(&t1),
        s(&t2),
        "--out",
        s(&a),
        "--format",
        "json",
        "--quiet",
    ]));
    let sb = json(&minewatch(&[
        "detect",
        "--method",
        "rule",
        s(&t1),
        s(&t2),
        "--mask",
        s(&mask),
        "--out",
        s(&b),
        "--format",
        "json",
        "--quiet",
    ]));
    assert_eq!(sb["pairs"][0]["valid_pixels"], 80 * 120);
    assert!(
        sb["patches"].as_u64() < sa["patches"].as_u64(),
        "{sa} vs {sb}"
    );
    let text = std::fs::read_to_string(b.join("patches.csv")).unwrap();
    for line in text.lines().skip(1) {
        let col: u32 = line.split(',').nth(10).unwrap().parse().unwrap();
        assert!(col >= 80, "patch starting in the masked half: {line}");
    }
    assert_eq!(manifest(&b)["mask"], s(&mask));
    // A mask on another grid is refused.
    let small = dir.path().join("small");
    std::fs::create_dir_all(&small).unwrap();
    let other = minewatch_synth::SceneSpec::small(100, 100, 1);
    let bad = small.join("bad_mask.tif");
    minewatch_synth::write_truth(&other, &bad).unwrap();
    let o = minewatch(&[
        "detect",
        "--method",
        "rule",
        s(&t1),
        s(&t2),
        "--mask",
        s(&bad),
        "--out",
        s(&dir.path().join("c")),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("bad_mask.tif") && stderr(&o).contains("grid"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_nodata_hole_inside_a_patch_is_not_filled_by_the_sieve() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = minewatch_synth::SceneSpec::small(160, 120, 26);
    spec.nodata_rows = 1; // sets nodata = 0 on every band; the last row is nodata
    let [t1, t2] =
        minewatch_synth::write_scene(&spec, dir.path(), ["h_20200601.tif", "h_20210601.tif"])
            .unwrap();
    let a = dir.path().join("a");
    json(&minewatch(&[
        "detect",
        s(&t1),
        s(&t2),
        "--out",
        s(&a),
        "--format",
        "json",
        "--quiet",
    ]));
    // The biggest patch; punch a one-pixel nodata hole at a pixel well inside it (both dates).
    let text = std::fs::read_to_string(a.join("patches.csv")).unwrap();
    let rows: Vec<Vec<String>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    let big = rows
        .iter()
        .max_by_key(|r| r[3].parse::<u64>().unwrap())
        .unwrap();
    let (px, first_row, first_col): (u64, usize, usize) = (
        big[3].parse().unwrap(),
        big[9].parse().unwrap(),
        big[10].parse().unwrap(),
    );
    let (hr, hc) = (first_row + 2, first_col);
    for t in [&t1, &t2] {
        let ds = open_update(t);
        for band in 1..=5 {
            let mut b = ds.rasterband(band).unwrap();
            b.write(
                (hc as isize, hr as isize),
                (1, 1),
                &mut gdal::raster::Buffer::new((1, 1), vec![0u16]),
            )
            .unwrap();
        }
    }
    let b = dir.path().join("b");
    json(&minewatch(&[
        "detect",
        s(&t1),
        s(&t2),
        "--out",
        s(&b),
        "--format",
        "json",
        "--quiet",
    ]));
    let text = std::fs::read_to_string(b.join("patches.csv")).unwrap();
    let after: u64 = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(String::from).collect::<Vec<_>>())
        .find(|r| r[9] == big[9] && r[10] == big[10])
        .map(|r| r[3].parse().unwrap())
        .expect("the patch is still there");
    assert_eq!(
        after,
        px - 1,
        "the nodata pixel at r{hr}c{hc} must not be part of the patch"
    );
}

/// Review, session 12: Landsat stacks were read with Sentinel-2 band numbers or the wrong
/// Landsat layout, with exit 0. The real Nanjing TM clip rearranged as (a) all seven TM
/// bands (thermal band 6 between the SWIR bands), (b) an OLI-style stack named B1…B11
/// (coastal first, NIR in B5, pan in B8, thermal in B10/B11) must give the patches of the
/// 6-band file, (a) with a warning that the layout was guessed.
#[test]
fn landsat_stacks_are_read_with_landsat_band_numbers() {
    if !have_tool("gdal_translate") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = nanjing_clip();
    let detect = |t: &[std::path::PathBuf], out: &str, extra: &[&str]| {
        let out = dir.path().join(out);
        let mut args = vec![
            "detect",
            s(&t[0]),
            s(&t[1]),
            "--out",
            s(&out),
            "--format",
            "json",
        ];
        args.extend(extra);
        let o = minewatch(&args);
        json(&o);
        (std::fs::read(out.join("patches.csv")).unwrap(), stderr(&o))
    };
    let (base, _) = detect(&src, "base", &[]);
    // (band order of the copy, its band names or none)
    let layouts: [(&str, &[&str], &[&str]); 2] = [
        // Names that tell nothing (GDAL keeps the clip's own `B4 NIR`, … otherwise,
        // and those would decide, not the count).
        (
            "tm7",
            &["1", "2", "3", "4", "5", "1", "6"],
            &["L1", "L2", "L3", "L4", "L5", "L6", "L7"],
        ),
        (
            "oli11",
            &["1", "1", "2", "3", "4", "5", "6", "2", "1", "1", "1"],
            &[
                "B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B9", "B10", "B11",
            ],
        ),
    ];
    for (name, order, names) in layouts {
        let t = copies_of(&src, dir.path(), name, |p, q| {
            let args: Vec<&str> = order.iter().flat_map(|b| ["-b", *b]).collect();
            translate(&args, p, q);
            let ds = open_update(q);
            for (i, n) in names.iter().enumerate() {
                use gdal::Metadata;
                let mut b = ds.rasterband(i + 1).unwrap();
                b.set_description(n).unwrap();
            }
        });
        let (got, err) = detect(&t, &format!("{name}_out"), &[]);
        assert!(got == base, "{name}: patches differ from the 6-band file");
        assert_eq!(
            err.contains("7 bands of Byte"),
            name == "tm7",
            "{name}: {err}"
        );
        if name == "tm7" {
            // Named explicitly, TM's profile skips the thermal band too.
            let (got, _) = detect(&t, "tm7_named", &["--profile", "landsat-tm"]);
            assert!(got == base, "--profile landsat-tm on 7 bands");
        }
    }
}

/// Review, session 12: a Sentinel-2 stack stored as Float32 reflectance (0–1) was scaled
/// by the ×10000 convention, judged implausible, and left unscreened with only a manifest
/// note: 48 patches instead of 35, clouds and shadows among them. Float values are now
/// tried as reflectance too. And Landsat Collection 2 surface reflectance (`SR_B<n>`,
/// DN × 2.75e-5 − 0.2) is screened like Sentinel-2. The Hong Kong clip stored either way
/// gives the patches of the original, screened with the matching scale.
#[test]
fn float_reflectance_and_landsat_c2_keep_the_cloud_screen() {
    if !have_tool("gdal_translate") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = hongkong_clip();
    let ids = |t: &[std::path::PathBuf], out: &str| {
        let out = dir.path().join(out);
        let v = json(&minewatch(&[
            "detect",
            s(&t[0]),
            s(&t[1]),
            "--out",
            s(&out),
            "--format",
            "json",
        ]));
        let pair = &v["pairs"][0];
        assert!(pair["auto"]["screen_skipped"].is_null(), "{pair}");
        assert!(pair["screened_cloud_patches"].as_u64() > Some(0), "{pair}");
        let rows = csv_rows(&out.join("patches.csv"));
        (
            pair["auto"]["screen"]["before"]["scale"].as_f64().unwrap(),
            rows.iter()
                .map(|r| (r["id"].clone(), r["pixels"].clone()))
                .collect::<Vec<_>>(),
        )
    };
    let (scale, base) = ids(&src, "int");
    assert_eq!(scale, 1e-4);
    let f32 = copies_of(&src, dir.path(), "f32", |p, q| {
        translate(&["-ot", "Float32", "-scale", "0", "10000", "0", "1"], p, q)
    });
    assert_eq!(ids(&f32, "float"), (1.0, base.clone()));
    // Blue, green, red, NIR, SWIR1, SWIR2 as Collection 2 SR_B2…SR_B7 digital numbers:
    // DN = (reflectance + 0.2) / 2.75e-5.
    let c2 = copies_of(&src, dir.path(), "c2", |p, q| {
        let mut args = vec![
            "-ot",
            "UInt16",
            "-scale",
            "0",
            "10000",
            "7272.7273",
            "43636.3636",
        ];
        for b in ["2", "3", "4", "8", "12", "13"] {
            args.extend(["-b", b]);
        }
        translate(&args, p, q);
        let ds = open_update(q);
        for i in 0..6 {
            use gdal::Metadata;
            let mut b = ds.rasterband(i + 1).unwrap();
            b.set_description(&format!("SR_B{}", i + 2)).unwrap();
        }
    });
    // Integer rounding of the rescaled values may move a pixel at the threshold.
    let (scale, got) = ids(&c2, "c2");
    assert_eq!(scale, 2.75e-5);
    assert_eq!(got.len(), base.len());
    for ((id, n), (bid, bn)) in got.iter().zip(&base) {
        let (n, bn): (i64, i64) = (n.parse().unwrap(), bn.parse().unwrap());
        assert!(id == bid && (n - bn).abs() <= 1, "{id} {n} vs {bid} {bn}");
    }
}

/// Review, session 20 (revW F3): a 6-band Sentinel-2 export named `B2,B3,B4,B8,B11,B12`
/// (UInt16 reflectance × 10000, no B8A, no QUANTIFICATION_VALUE) was mapped by its names
/// but left without a cloud screen ("digital numbers of unknown scale"): only B8A or the
/// profile's name said Sentinel-2. Names read in Sentinel-2 numbering now say it too, for
/// integer and (reflectance-valued) floating-point stacks.
#[test]
fn sentinel2_names_without_b8a_keep_the_cloud_screen() {
    if !have_tool("gdal_translate") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let names = ["B2", "B3", "B4", "B8", "B11", "B12"];
    let six = |tag: &str, extra: &[&str]| {
        copies_of(&hongkong_clip(), dir.path(), tag, |p, q| {
            let mut args = extra.to_vec();
            for b in ["2", "3", "4", "8", "12", "13"] {
                args.extend(["-b", b]);
            }
            translate(&args, p, q);
            let ds = open_update(q);
            for (i, n) in names.iter().enumerate() {
                use gdal::Metadata;
                ds.rasterband(i + 1).unwrap().set_description(n).unwrap();
            }
        })
    };
    let screen_scale = |t: &[std::path::PathBuf], tag: &str| {
        let out = dir.path().join(tag);
        let o = minewatch(&[
            "detect",
            s(&t[0]),
            s(&t[1]),
            "--out",
            s(&out),
            "--format",
            "json",
        ]);
        let pair = &json(&o)["pairs"][0];
        assert!(pair["auto"]["screen_skipped"].is_null(), "{tag}: {pair}");
        let m = manifest(&out);
        assert_eq!(m["inputs"][0]["profile"], "from-band-descriptions", "{tag}");
        assert_eq!(
            m["inputs"][0]["bands"][3],
            serde_json::json!(["nir", 4]),
            "{tag}"
        );
        pair["auto"]["screen"]["before"]["scale"].as_f64().unwrap()
    };
    assert_eq!(screen_scale(&six("u16", &[]), "u16"), 1e-4);
    let refl = six("f32", &["-ot", "Float32", "-scale", "0", "10000", "0", "1"]);
    assert_eq!(screen_scale(&refl, "f32"), 1.0);
}

/// Review, session 12: the explicit rule compared 8-bit digital numbers of one date with
/// float reflectance of the other without a word. Now a warning names both files; the
/// automatic method, which normalises one date onto the other, gives none.
#[test]
fn the_rule_warns_when_dates_store_values_differently() {
    if !have_tool("gdal_translate") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = nanjing_clip();
    let f = copies_of(&src[1..], dir.path(), "f32", |p, q| {
        translate(&["-ot", "Float32", "-scale", "0", "255", "0", "1"], p, q)
    });
    let run = |method: &str| {
        let out = dir.path().join(method);
        let o = minewatch(&[
            "detect",
            s(&src[0]),
            s(&f[0]),
            "--method",
            method,
            "--out",
            s(&out),
            "--quiet",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        stderr(&o)
    };
    let err = run("rule");
    assert!(
        err.contains("store blue differently (Byte × 1 + 0 against Float32 × 1 + 0)"),
        "{err}"
    );
    assert!(!run("auto").contains("differently"));
    // Both dates reflectance: the peers' `blue_t2 < 2500` (written for reflectance × 10000)
    // holds everywhere, which is said.
    let both = copies_of(&src[..1], dir.path(), "f32", |p, q| {
        translate(&["-ot", "Float32", "-scale", "0", "255", "0", "1"], p, q)
    });
    let rule_run = |a: &std::path::Path, b: &std::path::Path, tag: &str| {
        let o = minewatch(&[
            "detect",
            s(a),
            s(b),
            "--method",
            "rule",
            "--out",
            s(&dir.path().join(tag)),
            "--quiet",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        stderr(&o)
    };
    let err = rule_run(&both[0], &f[0], "refl");
    assert!(
        err.contains("`blue_t2 < 2500`") && err.contains("usually reflectance"),
        "{err}"
    );
    // 8-bit digital numbers: 2500 is past their 0..255, as vacuous; 16-bit ones can pass it.
    let err = rule_run(&src[0], &src[1], "dn");
    assert!(!err.contains("usually reflectance"), "{err}");
    assert!(
        err.contains("`blue_t2 < 2500`: the blue band of")
            && err.contains("is Byte, whose values lie in 0..255"),
        "{err}"
    );
    // `blue_t2` is the later date's: that file is named, not the earlier one.
    assert!(
        err.contains(&format!("the blue band of {} is Byte", src[1].display())),
        "{err}"
    );
    let u16s = copies_of(&src, dir.path(), "u16", |p, q| {
        translate(&["-ot", "UInt16"], p, q)
    });
    let err = rule_run(&u16s[0], &u16s[1], "dn16");
    assert!(!err.contains("whose values lie in"), "{err}");
}

/// Review, session 20 (revW F6): the mirror of the warning above. A reflectance threshold
/// (`blue_t2 < 0.25`) on UInt16 digital numbers read at scale 1 holds on no pixel, and
/// was silent; it is now named with the file, the band's type and the threshold in
/// digital numbers. A threshold in digital numbers (`2500`, or `2` on 8-bit data) and an
/// index threshold (`ndvi_drop >= 0.2`) are not warned of.
#[test]
fn a_reflectance_threshold_on_digital_numbers_is_warned_of() {
    let dir = tempfile::tempdir().unwrap();
    let rule_run = |imgs: &[std::path::PathBuf], blue: &str, tag: &str| {
        let params = dir.path().join(format!("{tag}.toml"));
        std::fs::write(
            &params,
            format!(
                "method = \"rule\"\nrule = [\"ndvi_drop >= 0.2\", \"bsi_rise >= 0.1\", \"{blue}\"]\nmmu_px = 10\n"
            ),
        )
        .unwrap();
        let o = minewatch(&[
            "detect",
            s(&imgs[0]),
            s(&imgs[1]),
            "--params",
            s(&params),
            "--out",
            s(&dir.path().join(tag)),
            "--quiet",
        ]);
        assert!(o.status.success(), "{tag}: {}", stderr(&o));
        stderr(&o)
    };
    let s2 = hongkong_clip();
    let err = rule_run(&s2, "blue_t2 < 0.25", "refl");
    assert!(
        err.contains(&format!(
            "rule condition `blue_t2 < 0.25`: the blue band of {} is UInt16 read at scale 1",
            s2[1].display()
        )) && err.contains("e.g. 2500 for reflectance × 10000 data"),
        "{err}"
    );
    assert!(!err.contains("ndvi_drop >= 0.2`"), "{err}");
    let err = rule_run(&s2, "blue_t2 < 2500", "dn");
    assert!(!err.contains("looks like a reflectance"), "{err}");
    let tm = nanjing_clip();
    let err = rule_run(&tm, "blue_t2 < 2", "byte_dn");
    assert!(!err.contains("blue_t2 < 2`"), "{err}");
    // 8-bit digital numbers: no ×10000 advice past their 0..255.
    let err = rule_run(&tm, "blue_t1 < 0.3", "byte_refl");
    assert!(
        err.contains(&format!(
            "the blue band of {} is Byte read at scale 1",
            tm[0].display()
        )) && err.contains("digital numbers (0..255; 3000"),
        "{err}"
    );
}

/// A 4-band export without band names whose colour interpretation says red, green, blue
/// (an RGB + NIR product) is read by its colour interpretation, not as blue, green, red,
/// NIR by band count, which would swap red and blue in every index; a NIR guessed onto an
/// alpha band is refused.
#[test]
fn colour_interpretation_decides_red_and_blue_of_unnamed_bands() {
    if !have_tool("gdal_translate") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let make = |bands: &[&str], colours: &str, tag: &str| -> Vec<std::path::PathBuf> {
        let mut args = Vec::new();
        for b in bands {
            args.extend(["-b", b]);
        }
        args.extend(["-colorinterp", colours]);
        ["20000503", "20020712"]
            .iter()
            .map(|d| {
                let p = dir.path().join(format!("{tag}_{d}.tif"));
                translate(
                    &args,
                    &fixture(&format!("real/nanjing_L5TM_{d}_clip400.tif")),
                    &p,
                );
                // No band names: only the count and the colours are left to go by.
                let ds = open_update(&p);
                for i in 1..=ds.raster_count() {
                    gdal::Metadata::set_description(&mut ds.rasterband(i).unwrap(), "").unwrap();
                }
                p
            })
            .collect()
    };
    let detect = |imgs: &[std::path::PathBuf], tag: &str| {
        let out = dir.path().join(tag);
        let o = minewatch(&[
            "detect",
            s(&imgs[0]),
            s(&imgs[1]),
            "--out",
            s(&out),
            "--format",
            "json",
        ]);
        (o, out)
    };
    let bgrn = make(
        &["1", "2", "3", "4"],
        "gray,undefined,undefined,undefined",
        "bgrn",
    );
    let (o, plain) = detect(&bgrn, "plain");
    json(&o);
    assert_eq!(manifest(&plain)["inputs"][0]["profile"], "bgrn");

    let rgbn = make(&["3", "2", "1", "4"], "red,green,blue,undefined", "rgbn");
    let (o, by_colour) = detect(&rgbn, "by_colour");
    assert!(
        stderr(&o).contains("declared red = band 1, green = band 2, blue = band 3"),
        "{}",
        stderr(&o)
    );
    json(&o);
    let m = manifest(&by_colour);
    assert_eq!(m["inputs"][0]["profile"], "bgrn-by-colour");
    assert_eq!(
        std::fs::read(plain.join("patches.csv")).unwrap(),
        std::fs::read(by_colour.join("patches.csv")).unwrap(),
        "the same pixels under the same roles give the same patches"
    );

    let rgba = make(&["3", "2", "1", "4"], "red,green,blue,alpha", "rgba");
    let (o, out) = detect(&rgba, "rgba");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("band 4 is declared alpha"),
        "{}",
        stderr(&o)
    );
    assert!(!out.join("patches.gpkg").exists());
}

/// An alpha band is transparency, not a band of the sensor: a `gdalwarp -dstalpha` of a
/// 4-band blue/green/red/NIR scene (5 bands) is that 4-band scene, not blue … SWIR with
/// the alpha read as SWIR; and an alpha band GDAL does not take for the mask (a 14th band
/// on a Sentinel-2 stack) still masks. A rule that needs SWIR is refused, the automatic
/// method runs, and transparent pixels are never assessed.
#[test]
fn an_alpha_band_is_a_mask_not_a_band() {
    let dir = tempfile::tempdir().unwrap();
    let gap = (50..120usize, 90..140usize);
    // `bands` of the Hong Kong clip of `date` (1-based), unnamed, plus an alpha band that
    // is 0 over `gap`, where the data are overwritten with a bright flat fill.
    let make = |date: &str, bands: &[usize], named: bool| -> std::path::PathBuf {
        let src =
            gdal::Dataset::open(fixture(&format!("real/hongkong_S2_{date}_clip320.tif"))).unwrap();
        let p = dir.path().join(format!("a{}_{date}.tif", bands.len() + 1));
        let drv = gdal::DriverManager::get_driver_by_name("GTiff").unwrap();
        let mut ds = drv
            .create_with_band_type::<u16, _>(&p, 320, 320, bands.len() + 1)
            .unwrap();
        ds.set_geo_transform(&src.geo_transform().unwrap()).unwrap();
        ds.set_spatial_ref(&src.spatial_ref().unwrap()).unwrap();
        for (i, b) in bands.iter().enumerate() {
            let sb = src.rasterband(*b).unwrap();
            let mut buf = sb
                .read_as::<u16>((0, 0), (320, 320), (320, 320), None)
                .unwrap();
            for r in gap.0.clone() {
                for c in gap.1.clone() {
                    buf.data_mut()[r * 320 + c] = 3000;
                }
            }
            let mut band = ds.rasterband(i + 1).unwrap();
            band.write((0, 0), (320, 320), &mut buf).unwrap();
            if named {
                gdal::Metadata::set_description(
                    &mut band,
                    &gdal::Metadata::description(&sb).unwrap(),
                )
                .unwrap();
            }
        }
        let mut alpha = vec![255u16; 320 * 320];
        for r in gap.0.clone() {
            alpha[r * 320 + gap.1.start..r * 320 + gap.1.end].fill(0);
        }
        let mut band = ds.rasterband(bands.len() + 1).unwrap();
        band.write(
            (0, 0),
            (320, 320),
            &mut gdal::raster::Buffer::new((320, 320), alpha),
        )
        .unwrap();
        band.set_color_interpretation(gdal::raster::ColorInterpretation::AlphaBand)
            .unwrap();
        p
    };
    let gap_px = (gap.0.len() * gap.1.len()) as u64;
    let valid = |m: &serde_json::Value| m["pairs"][0]["valid_pixels"].as_u64().unwrap();
    let peer_rule = root().join("pipelines/peer-rule.toml");
    let detect = |imgs: &[std::path::PathBuf], tag: &str, rule: bool| {
        let out = dir.path().join(tag);
        let mut args = vec!["detect", s(&imgs[0]), s(&imgs[1]), "--quiet"];
        if rule {
            args.extend(["--params", s(&peer_rule)]);
        }
        args.extend(["--out", s(&out)]);
        (minewatch(&args), out)
    };

    // GF-2-like: blue, green, red, NIR (Sentinel-2 bands 2, 3, 4, 8) + alpha.
    let gf: Vec<_> = ["20160927", "20180323"]
        .iter()
        .map(|d| make(d, &[2, 3, 4, 8], false))
        .collect();
    let (o, _) = detect(&gf, "gf_rule", true);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("swir1") && stderr(&o).contains("bgrn"),
        "{}",
        stderr(&o)
    );
    let (o, out) = detect(&gf, "gf_auto", false);
    assert!(o.status.success(), "{}", stderr(&o));
    let m = manifest(&out);
    assert_eq!(m["inputs"][0]["profile"], "bgrn");
    assert!(m["inputs"][0]["own_mask"].is_string(), "{}", m["inputs"][0]);
    assert_eq!(valid(&m), 320 * 320 - gap_px);

    // Sentinel-2, all 13 named bands + alpha: GDAL's mask ignores a 14th alpha band
    // (the explicit rule: no cloud screen to take pixels out as well).
    let all: Vec<usize> = (1..=13).collect();
    let s2: Vec<_> = ["20160927", "20180323"]
        .iter()
        .map(|d| make(d, &all, true))
        .collect();
    let (o, out) = detect(&s2, "s2", true);
    assert!(o.status.success(), "{}", stderr(&o));
    let m = manifest(&out);
    assert_eq!(
        m["inputs"][1]["own_mask"], "alpha band 14",
        "{}",
        m["inputs"][1]
    );
    assert_eq!(valid(&m), 320 * 320 - gap_px);
}

/// Review, session 20 (item 4): a `gdalwarp -dstalpha` of a 6-band TM/ETM+ stack has 7
/// bands, the 7th declared alpha. Without band names the count must not make it TM's
/// 7-band layout (thermal band 6 between the SWIR bands, the alpha read as SWIR2): it is
/// the 6 reflective bands and a validity mask. The same painted change (vegetation to bare
/// ground) is found where the alpha is 255 and never where the alpha of one date is 0.
#[test]
fn an_alpha_band_on_a_tm_stack_is_a_mask_not_the_thermal_band() {
    if !have_tool("gdal_translate") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (400usize, 400usize);
    // Two 20 × 20 squares in a quiet part of the clip: `hidden` under alpha 0 in the
    // later date, `seen` under alpha 255.
    let hidden = (70..90usize, 40..60usize);
    let seen = (70..90usize, 120..140usize);
    // Blue, green, red, NIR, SWIR1, SWIR2 (digital numbers): vegetation, then bare ground.
    let before = [60u8, 80, 50, 150, 90, 50];
    let after = [90u8, 100, 120, 110, 160, 130];
    // The 6 bands, painted and unnamed, and with `alpha` a 7th band declared alpha: 255,
    // or 0 over `hidden` in the later date when `alpha` is `Some(true)`.
    let make = |tag: &str, alpha: Option<bool>| -> Vec<std::path::PathBuf> {
        copies_of(&nanjing_clip(), dir.path(), tag, |p, q| {
            let mut args: Vec<&str> = ["1", "2", "3", "4", "5", "6"]
                .iter()
                .flat_map(|b| ["-b", *b])
                .collect();
            if alpha.is_some() {
                // The dataset mask (all 255), to become the alpha band.
                args.extend(["-b", "mask"]);
            }
            translate(&args, p, q);
            let later = p.to_string_lossy().contains("20020712");
            let ds = open_update(q);
            for i in 1..=ds.raster_count() {
                let mut band = ds.rasterband(i).unwrap();
                // No band names: only the count and the colour interpretation are left.
                gdal::Metadata::set_description(&mut band, "").unwrap();
                let mut buf = band.read_as::<u8>((0, 0), (w, h), (w, h), None).unwrap();
                for sq in [&hidden, &seen] {
                    let value = match i {
                        7 if alpha == Some(true) && later && sq == &hidden => 0,
                        7 => 255,
                        _ if later => after[i - 1],
                        _ => before[i - 1],
                    };
                    for r in sq.0.clone() {
                        buf.data_mut()[r * w + sq.1.start..r * w + sq.1.end].fill(value);
                    }
                }
                band.write((0, 0), (w, h), &mut buf).unwrap();
                if i == 7 {
                    band.set_color_interpretation(gdal::raster::ColorInterpretation::AlphaBand)
                        .unwrap();
                }
            }
        })
    };
    let peer_rule = root().join("pipelines/peer-rule.toml");
    let detect = |t: &[std::path::PathBuf], tag: &str| {
        let out = dir.path().join(tag);
        let o = minewatch(&[
            "detect",
            s(&t[0]),
            s(&t[1]),
            "--params",
            s(&peer_rule),
            "--out",
            s(&out),
        ]);
        assert!(o.status.success(), "{tag}: {}", stderr(&o));
        assert!(!stderr(&o).contains("thermal"), "{tag}: {}", stderr(&o));
        let ids: std::collections::BTreeMap<String, String> = csv_rows(&out.join("patches.csv"))
            .into_iter()
            .map(|r| (r["id"].clone(), r["pixels"].clone()))
            .collect();
        (manifest(&out), ids)
    };
    let square = |sq: &(std::ops::Range<usize>, std::ops::Range<usize>)| {
        format!("20000503_20020712_r{}c{}", sq.0.start, sq.1.start)
    };

    let (m, opaque) = detect(&make("opaque", Some(false)), "opaque");
    for input in [&m["inputs"][0], &m["inputs"][1]] {
        assert_eq!(input["profile"], "landsat-tm", "{input}");
        assert_eq!(input["own_mask"], "alpha band 7", "{input}");
        // SWIR2 is band 6 (TM's band 7 in a reflective stack), not the alpha band.
        assert_eq!(
            input["bands"][5],
            serde_json::json!(["swir2", 6]),
            "{input}"
        );
    }
    assert_eq!(m["pairs"][0]["valid_pixels"], (w * h) as u64);
    assert_eq!(opaque.get(&square(&seen)).map(String::as_str), Some("400"));
    assert_eq!(
        opaque.get(&square(&hidden)).map(String::as_str),
        Some("400")
    );
    // The 6 bands alone, without names, give the same patches: the alpha band is no band.
    let six = make("six", None);
    let (_, six_ids) = detect(&six, "six");
    assert_eq!(
        six_ids, opaque,
        "7 bands with an opaque alpha against the 6 bands"
    );

    let (m, masked) = detect(&make("masked", Some(true)), "masked");
    assert_eq!(
        m["pairs"][0]["valid_pixels"],
        (w * h - hidden.0.len() * hidden.1.len()) as u64
    );
    let mut expected = opaque.clone();
    expected.remove(&square(&hidden));
    assert_eq!(masked, expected, "only the square under alpha 0 is gone");
}

/// A file's own validity mask (here a TIFF mask band; also a `.msk` file or an alpha
/// band) marks pixels that are no observation whatever their values: float data with a
/// flat fill under the mask must not become change.
#[test]
fn a_files_own_mask_keeps_its_masked_pixels_out() {
    if !have_tool("gdal_translate") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let f = copies_of(&nanjing_clip(), dir.path(), "f32", |p, q| {
        translate(&["-ot", "Float32"], p, q)
    });
    let run = |tag: &str| {
        let out = dir.path().join(tag);
        let o = minewatch(&["detect", s(&f[0]), s(&f[1]), "--out", s(&out), "--quiet"]);
        assert!(o.status.success(), "{}", stderr(&o));
        manifest(&out)
    };
    let clean = run("clean");
    // Rows 150..200 of the later date: a flat fill in every band, masked out.
    let (rows, w) = (150..200usize, 400usize);
    mask_rows_with_fill(&f[1], rows.clone(), w, 400);
    let masked = run("masked");
    let valid = |m: &serde_json::Value| m["pairs"][0]["valid_pixels"].as_u64().unwrap();
    assert_eq!(valid(&masked), valid(&clean) - (rows.len() * w) as u64);
    // No patch reaches into the masked rows (patches.gpkg is in the imagery's CRS).
    let gt = gdal::Dataset::open(&f[1]).unwrap().geo_transform().unwrap();
    let (top, bottom) = (
        gt[3] + gt[5] * rows.start as f64,
        gt[3] + gt[5] * rows.end as f64,
    );
    let gpkg = gdal::Dataset::open(dir.path().join("masked/patches.gpkg")).unwrap();
    let mut layer = gpkg.layer(0).unwrap();
    let mut n = 0;
    for feature in gdal::vector::LayerAccess::features(&mut layer) {
        let e = feature.geometry().unwrap().envelope();
        assert!(
            e.MinY >= top - 1e-6 || e.MaxY <= bottom + 1e-6,
            "a patch reaches the masked rows: {e:?}"
        );
        n += 1;
    }
    assert!(n > 0, "patches outside the mask are still found");
}

/// Review, session 19 (W f1): the Nanjing TM clip reordered to false colour 4-3-2-1-5-7
/// keeps its band names (`B4 NIR`, `B3 red`, …), and a Google Earth Engine Landsat 8
/// export names the same order `B5,B4,B3,B2,B6,B7`; both were read by position as
/// `landsat-tm` (NIR as blue), exit 0. Read by their names they give the original's
/// patches; plain `B4,B3,B2,B1,B5,B7` follow TM numbers under `--profile landsat-tm`.
#[test]
fn band_names_decide_over_the_band_order() {
    if !have_tool("gdal_translate") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = nanjing_clip();
    let peer_rule = root().join("pipelines/peer-rule.toml");
    let detect = |t: &[std::path::PathBuf], out: &str, extra: &[&str]| {
        let out = dir.path().join(out);
        let mut args = vec!["detect", s(&t[0]), s(&t[1]), "--out", s(&out), "--quiet"];
        args.extend(["--params", s(&peer_rule)]);
        args.extend(extra);
        let o = minewatch(&args);
        (o, out)
    };
    let (o, base) = detect(&src, "base", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let base_csv = std::fs::read(base.join("patches.csv")).unwrap();
    assert!(csv_rows(&base.join("patches.csv")).len() > 10);
    let reorder = |name: &str, names: &[&str]| {
        copies_of(&src, dir.path(), name, |p, q| {
            translate(
                &[
                    "-b", "4", "-b", "3", "-b", "2", "-b", "1", "-b", "5", "-b", "6",
                ],
                p,
                q,
            );
            let ds = open_update(q);
            for (i, n) in names.iter().enumerate() {
                use gdal::Metadata;
                ds.rasterband(i + 1).unwrap().set_description(n).unwrap();
            }
        })
    };
    // The file's own names travel with the bands.
    for (name, names, extra) in [
        ("kept", &[][..], &[][..]),
        ("gee_l8", &["B5", "B4", "B3", "B2", "B6", "B7"][..], &[][..]),
        (
            "tm_numbers",
            &["B4", "B3", "B2", "B1", "B5", "B7"][..],
            &["--profile", "landsat-tm"][..],
        ),
    ] {
        let t = reorder(name, names);
        let (o, out) = detect(&t, &format!("{name}_out"), extra);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        let m = manifest(&out);
        assert_eq!(
            m["inputs"][0]["bands"][0],
            serde_json::json!(["blue", 4]),
            "{name}"
        );
        assert!(
            std::fs::read(out.join("patches.csv")).unwrap() == base_csv,
            "{name}: patches differ from the original band order"
        );
    }
    // B1, B6 and B7 without a sensor: TM's blue…thermal or OLI's coastal…SWIR2.
    let t = reorder("undecided", &["B4", "B3", "B2", "B1", "B6", "B7"]);
    let (o, out) = detect(&t, "undecided_out", &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("band 1 is named `B4`") && e.contains("--profile landsat-tm or landsat-oli"),
        "{e}"
    );
    assert!(!out.exists());
}

/// Review, session 19 (W f2): a date exported without red, whose names say so (`TM/ETM+
/// B1 blue, B2 green, B4 NIR, B5 SWIR1, B7 SWIR2`), was read by position as `bgrns` (NIR
/// as red) and compared, exit 0. It is refused naming the file and red. A date without
/// SWIR2 is compared on the bands both dates have, and stderr and the manifest say so.
#[test]
fn a_date_missing_a_band_is_never_read_by_position() {
    if !have_tool("gdal_translate") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let [a, b] = nanjing_clip();
    let detect = |second: &std::path::Path, out: &str| {
        let out = dir.path().join(out);
        let o = minewatch(&["detect", s(&a), s(second), "--out", s(&out), "--quiet"]);
        (o, out)
    };
    let nored = dir.path().join("nored_20020712.tif");
    translate(
        &["-b", "1", "-b", "2", "-b", "4", "-b", "5", "-b", "6"],
        &b,
        &nored,
    );
    let (o, out) = detect(&nored, "nored");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("nored_20020712.tif") && e.contains("leave out red"),
        "{e}"
    );
    assert!(!out.exists());

    let noswir2 = dir.path().join("noswir2_20020712.tif");
    translate(
        &["-b", "1", "-b", "2", "-b", "3", "-b", "4", "-b", "5"],
        &b,
        &noswir2,
    );
    let (o, out) = detect(&noswir2, "noswir2");
    assert!(o.status.success(), "{}", stderr(&o));
    let line = "swir2 band: not in";
    assert!(stderr(&o).contains(line), "{}", stderr(&o));
    let m = manifest(&out);
    let skipped = m["skipped_statistics"].as_array().unwrap();
    assert!(
        skipped.iter().any(|v| v.as_str().unwrap().starts_with(line)
            && v.as_str().unwrap().contains("noswir2_20020712.tif")),
        "{skipped:?}"
    );
    assert_eq!(m["inputs"][1]["bands"].as_array().unwrap().len(), 5);
}

/// Review, session 19 (W f5): Sentinel-2 processing baseline 04.00 adds 1000 DN and says
/// so in `BOA_ADD_OFFSET=-1000`; the cloud screen removed it, the indices did not (2
/// patches instead of 28 under the peer rule). The Hong Kong clip +1000 DN with the
/// offset declared in metadata, or as a GDAL band offset, reads as the original: the same
/// patches under the peer rule and the automatic method.
#[test]
fn a_metadata_offset_is_applied_to_everything_that_reads_the_values() {
    if !have_tool("gdal_translate") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = hongkong_clip();
    let plus_1000 = ["-scale", "0", "10000", "1000", "11000"];
    let esa = copies_of(&src, dir.path(), "esa", |p, q| {
        let mut a = plus_1000.to_vec();
        a.extend([
            "-mo",
            "BOA_ADD_OFFSET=-1000",
            "-mo",
            "QUANTIFICATION_VALUE=10000",
        ]);
        translate(&a, p, q);
    });
    let band = copies_of(&src, dir.path(), "band", |p, q| {
        let mut a = plus_1000.to_vec();
        a.extend(["-a_offset", "-1000", "-mo", "QUANTIFICATION_VALUE=10000"]);
        translate(&a, p, q);
    });
    let peer_rule = root().join("pipelines/peer-rule.toml");
    for (method, extra) in [("rule", vec!["--params", s(&peer_rule)]), ("auto", vec![])] {
        let run = |t: &[std::path::PathBuf], tag: &str| {
            let out = dir.path().join(format!("{tag}_{method}"));
            let mut args = vec!["detect", s(&t[0]), s(&t[1]), "--out", s(&out), "--quiet"];
            args.extend(&extra);
            let o = minewatch(&args);
            assert!(o.status.success(), "{tag} {method}: {}", stderr(&o));
            (
                std::fs::read(out.join("patches.csv")).unwrap(),
                manifest(&out),
            )
        };
        let (orig, _) = run(&src, "orig");
        let (from_meta, m) = run(&esa, "esa");
        let (from_band, _) = run(&band, "band");
        assert!(orig.len() > 1000, "{method}: too few patches to compare");
        assert!(
            from_meta == orig,
            "{method}: metadata offset differs from the original"
        );
        assert!(
            from_band == orig,
            "{method}: band offset differs from the original"
        );
        if method == "auto" {
            let screen = &m["pairs"][0]["auto"]["screen"]["before"];
            assert_eq!(screen["scale"], 0.0001, "{screen}");
            assert_eq!(screen["offset"], 0.0, "{screen}");
        }
    }
}

/// Copies of `src` under `dir/tag/` made of bands `order`, described `names` (empty:
/// no description), with GDAL colour interpretation `colours` when given.
fn restacked(
    src: &[std::path::PathBuf],
    dir: &std::path::Path,
    tag: &str,
    order: &[&str],
    names: &[&str],
    colours: Option<&str>,
) -> Vec<std::path::PathBuf> {
    copies_of(src, dir, tag, |p, q| {
        let mut args: Vec<&str> = order.iter().flat_map(|b| ["-b", *b]).collect();
        if let Some(c) = colours {
            args.extend(["-colorinterp", c]);
        }
        translate(&args, p, q);
        let ds = open_update(q);
        for (i, n) in names.iter().enumerate() {
            use gdal::Metadata;
            ds.rasterband(i + 1).unwrap().set_description(n).unwrap();
        }
    })
}

/// `detect` of the first two images into `dir/out` with `extra` arguments.
fn detect_into(
    dir: &std::path::Path,
    t: &[std::path::PathBuf],
    out: &str,
    extra: &[&str],
) -> (std::process::Output, std::path::PathBuf) {
    let out = dir.join(out);
    let mut args = vec!["detect", s(&t[0]), s(&t[1]), "--out", s(&out)];
    args.extend(extra);
    (minewatch(&args), out)
}

/// Review, session 21 (revZ1 F1): a Landsat 7 ETM+ stack named `B1…B8` (B6 thermal, B8
/// pan) was read in Sentinel-2 numbers (pan as NIR), exit 0 and no word; with the right
/// `--profile landsat-tm` it was refused, and `--profile gf-wfv` on a GF-6 `B1…B8` file
/// was overridden by the names. Names that only count the bands are now refused naming
/// the sensors they fit, and the user's profile reads them.
#[test]
fn band_names_that_only_count_the_bands_are_left_to_the_profile() {
    if !have_tool("gdal_translate") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = nanjing_clip();
    let detect = |t: &[std::path::PathBuf], out: &str, extra: &[&str]| {
        detect_into(dir.path(), t, out, extra)
    };
    let (o, base) = detect(&src, "base", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let base_csv = std::fs::read(base.join("patches.csv")).unwrap();
    // TM 1–5, a thermal stand-in, TM 7, a pan stand-in.
    let b18: Vec<String> = (1..=8).map(|i| format!("B{i}")).collect();
    let b18: Vec<&str> = b18.iter().map(|x| x.as_str()).collect();
    let etm = restacked(
        &src,
        dir.path(),
        "etm",
        &["1", "2", "3", "4", "5", "1", "6", "2"],
        &b18,
        None,
    );
    let (o, out) = detect(&etm, "etm_default", &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("B1 … B8")
            && e.contains("--profile landsat-tm")
            && e.contains("--profile landsat-oli")
            && e.contains("--profile gf-wfv"),
        "{e}"
    );
    assert!(!out.exists());
    let (o, out) = detect(&etm, "etm_tm", &["--profile", "landsat-tm"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        std::fs::read(out.join("patches.csv")).unwrap() == base_csv,
        "ETM+ B1…B8 under --profile landsat-tm differs from the 6-band file"
    );
    // GF-6 WFV's B1…B4 are blue … NIR: the profile reads them by position.
    let (o, out) = detect(&etm, "gf6", &["--profile", "gf-wfv"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m = manifest(&out);
    assert_eq!(m["inputs"][0]["profile"], "gf-wfv");
    assert_eq!(m["inputs"][0]["bands"][3], serde_json::json!(["nir", 4]));
    let gf1 = restacked(
        &src,
        dir.path(),
        "gf1",
        &["1", "2", "3", "4"],
        &b18[..4],
        None,
    );
    let (o, _) = detect(&gf1, "gf1_default", &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("--profile gf-wfv"), "{}", stderr(&o));
    let (o, out) = detect(&gf1, "gf1", &["--profile", "gf-wfv"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        manifest(&out)["inputs"][0]["bands"][0],
        serde_json::json!(["blue", 1])
    );
    // Names of a sensor other than the user's profile are read as the profile says,
    // with a warning.
    let s2 = restacked(
        &src,
        dir.path(),
        "s2names",
        &["1", "2", "3", "4"],
        &["B04", "B03", "B02", "B08"],
        None,
    );
    let (o, _) = detect(&s2, "s2names_gf", &["--profile", "gf-wfv"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("read by position, as the profile says"),
        "{}",
        stderr(&o)
    );
}

/// Review, session 21 (revZ1 F2): GDAL's SENTINEL2 driver describes its bands as
/// `B4, central wavelength 665 nm`; without colour tags the 10 m set (B4, B3, B2, B8)
/// was read as bgrn (red as blue) and the 20 m set (no visible band) as landsat-tm, both
/// without a word. The leading band name counts.
#[test]
fn sentinel2_driver_descriptions_name_the_bands() {
    if !have_tool("gdal_translate") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = hongkong_clip();
    let undefined = Some("undefined,undefined,undefined,undefined");
    let ten = restacked(
        &src,
        dir.path(),
        "r10m",
        &["4", "3", "2", "8"],
        &[
            "B4, central wavelength 665 nm",
            "B3, central wavelength 560 nm",
            "B2, central wavelength 490 nm",
            "B8, central wavelength 842 nm",
        ],
        undefined,
    );
    let out = dir.path().join("r10m_out");
    let o = minewatch(&["detect", s(&ten[0]), s(&ten[1]), "--out", s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m = manifest(&out);
    assert_eq!(m["inputs"][0]["profile"], "from-band-descriptions");
    assert_eq!(
        m["inputs"][0]["bands"],
        serde_json::json!([["blue", 3], ["green", 2], ["red", 1], ["nir", 4]])
    );
    let twenty = restacked(
        &src,
        dir.path(),
        "r20m",
        &["5", "6", "7", "9", "12", "13"],
        &[
            "B5, central wavelength 705 nm",
            "B6, central wavelength 740 nm",
            "B7, central wavelength 783 nm",
            "B8A, central wavelength 865 nm",
            "B11, central wavelength 1610 nm",
            "B12, central wavelength 2190 nm",
        ],
        None,
    );
    let out = dir.path().join("r20m_out");
    let o = minewatch(&["detect", s(&twenty[0]), s(&twenty[1]), "--out", s(&out)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("leave out blue and red") && stderr(&o).contains("nir = band 4"),
        "{}",
        stderr(&o)
    );
}

/// Review, session 21 (revZ1 F4): GDAL tags a 4-band Byte GTiff red, green, blue,
/// alpha by default; a GF B,G,R,NIR conversion so tagged was refused even with
/// `--profile gf-wfv` or `[bands] nir = 4`. The user's choice reads band 4 as data and
/// says so; without one, the refusal names both ways out.
#[test]
fn a_band_tagged_alpha_is_data_when_the_user_names_it() {
    if !have_tool("gdal_translate") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = nanjing_clip();
    let four = ["1", "2", "3", "4"];
    let none = ["", "", "", ""];
    let tagged = restacked(
        &src,
        dir.path(),
        "rgba",
        &four,
        &none,
        Some("red,green,blue,alpha"),
    );
    let plain = restacked(
        &src,
        dir.path(),
        "plain",
        &four,
        &none,
        Some("undefined,undefined,undefined,undefined"),
    );
    let detect = |t: &[std::path::PathBuf], out: &str, extra: &[&str]| {
        detect_into(dir.path(), t, out, extra)
    };
    let (o, _) = detect(&tagged, "default", &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("--profile gf-wfv") && e.contains("gdal_edit.py -colorinterp_4 undefined"),
        "{e}"
    );
    let (o, want) = detect(&plain, "plain_out", &["--profile", "gf-wfv"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let want = std::fs::read(want.join("patches.csv")).unwrap();
    let map = dir.path().join("bands.toml");
    std::fs::write(&map, "[bands]\nblue = 1\ngreen = 2\nred = 3\nnir = 4\n").unwrap();
    for (tag, extra) in [
        ("profile", vec!["--profile", "gf-wfv"]),
        ("mapping", vec!["--params", s(&map)]),
    ] {
        let (o, out) = detect(&tagged, tag, &extra);
        assert!(o.status.success(), "{tag}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("band 4 as nir, which the file declares alpha"),
            "{tag}: {}",
            stderr(&o)
        );
        assert!(
            std::fs::read(out.join("patches.csv")).unwrap() == want,
            "{tag}: band 4 not read as the untagged file's"
        );
    }
}

/// Review, session 21 (revZ1 F6): six unnamed Sentinel-2 bands were taken as landsat-tm
/// by their count and left unscreened, both silently. Both are said on stderr now.
#[test]
fn a_guess_by_band_count_and_an_unscreened_run_are_said() {
    if !have_tool("gdal_translate") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let six = restacked(
        &hongkong_clip(),
        dir.path(),
        "six",
        &["2", "3", "4", "8", "12", "13"],
        &["", "", "", "", "", ""],
        None,
    );
    let out = dir.path().join("out");
    let o = minewatch(&["detect", s(&six[0]), s(&six[1]), "--out", s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("read as landsat-tm by the band count alone") && e.contains("--profile"),
        "{e}"
    );
    assert!(
        e.contains("cloud screen off") && e.contains("reflectance_scale"),
        "{e}"
    );
}
