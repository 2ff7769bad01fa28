//! Helpers shared by the CLI tests: run the binary, find fixtures and outside tools.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

pub fn fixture(rel: &str) -> PathBuf {
    root().join("fixtures").join(rel)
}

pub fn minewatch(args: &[&str]) -> Output {
    minewatch_in(Path::new("."), args)
}

/// Run the binary in folder `dir` (relative paths in `args` are relative to it).
pub fn minewatch_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_minewatch"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run minewatch")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// An outside tool is required in CI; locally a missing tool skips with a message.
pub fn have_tool(name: &str) -> bool {
    let ok = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!("{name} is required in CI (run scripts/setup.sh)");
        }
        eprintln!("skipping: {name} not installed (run scripts/setup.sh)");
    }
    ok
}

pub fn synth_pair(dir: &Path, w: usize, h: usize, seed: u64) -> [PathBuf; 2] {
    let spec = minewatch_synth::SceneSpec::small(w, h, seed);
    minewatch_synth::write_scene(&spec, dir, ["synth_20200601.tif", "synth_20210601.tif"]).unwrap()
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `gdal_translate -q ARGS SRC DST`, which must succeed.
pub fn translate(args: &[&str], src: &Path, dst: &Path) {
    let st = Command::new("gdal_translate")
        .arg("-q")
        .args(args)
        .args([s(src), s(dst)])
        .status()
        .expect("run gdal_translate");
    assert!(
        st.success(),
        "gdal_translate {args:?} {} failed",
        src.display()
    );
}

/// Open a raster for writing (tests edit pixels of generated scenes).
pub fn open_update(path: &Path) -> gdal::Dataset {
    gdal::Dataset::open_ex(
        path,
        gdal::DatasetOptions {
            open_flags: gdal::GdalOpenFlags::GDAL_OF_UPDATE,
            ..Default::default()
        },
    )
    .expect("open for update")
}

/// The run manifest of an output folder.
pub fn manifest(out: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(out.join("manifest.json")).expect("manifest.json"))
        .expect("manifest JSON")
}

/// Rows of a CSV (UTF-8, BOM ignored) as column → value maps.
pub fn csv_rows(path: &Path) -> Vec<std::collections::BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let text = text.trim_start_matches('\u{feff}');
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let h: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    r.records()
        .map(|x| {
            h.iter()
                .cloned()
                .zip(x.unwrap().iter().map(String::from))
                .collect()
        })
        .collect()
}

/// Data files of a run, relative to its folder (manifests, the sample report, run state,
/// hidden files and the shards folder record paths, timings or work in progress, so they
/// are left out).
pub fn data_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let n = p.file_name().unwrap().to_string_lossy().to_string();
            if p.is_dir() {
                // Tile objects, and outputs a re-run moved aside (edited since written).
                if n != "shards" && n != "kept-edits" {
                    stack.push(p);
                }
            } else if !n.contains("manifest")
                && !n.contains("report")
                && !n.starts_with("run_state")
                && !n.starts_with('.')
            {
                out.push(p.strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// Every data file of `a` exists in `b` with the same bytes; returns how many were compared.
pub fn assert_same_data(a: &Path, b: &Path, what: &str) -> usize {
    let fa = data_files(a);
    assert_eq!(fa, data_files(b), "{what}: different output files");
    for f in &fa {
        let (x, y) = (
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
        );
        assert!(x == y, "{what}: {} differs", f.display());
    }
    fa.len()
}

/// The real Nanjing chain detect → overlay → rank into `dir` (`det`, `ov`, `rank`), with
/// `rank_args` added to rank's command line; the rank folder and the two images.
pub fn nanjing_chain(dir: &Path, rank_args: &[&str]) -> (PathBuf, [PathBuf; 2]) {
    let a = fixture("real/nanjing_L5TM_20000503_nw400.tif");
    let b = fixture("real/nanjing_L5TM_20020712_nw400.tif");
    let layers = root().join("pipelines/layers/nanjing.toml");
    let (det, ov, rk) = (dir.join("det"), dir.join("ov"), dir.join("rank"));
    let mut rank = vec!["rank", s(&ov), "--out", s(&rk)];
    rank.extend_from_slice(rank_args);
    for args in [
        vec!["detect", s(&a), s(&b), "--out", s(&det)],
        vec!["overlay", s(&det), "--layers", s(&layers), "--out", s(&ov)],
        rank,
    ] {
        let o = minewatch(&args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    }
    (rk, [a, b])
}

/// The real Nanjing Landsat 5 clip pair (400², 6 bands, dates in the names).
pub fn nanjing_clip() -> [PathBuf; 2] {
    [
        fixture("real/nanjing_L5TM_20000503_clip400.tif"),
        fixture("real/nanjing_L5TM_20020712_clip400.tif"),
    ]
}

/// The real Hong Kong Sentinel-2 clip pair (320², 13 named bands, dates in the metadata).
pub fn hongkong_clip() -> [PathBuf; 2] {
    [
        fixture("real/hongkong_S2_20160927_clip320.tif"),
        fixture("real/hongkong_S2_20180323_clip320.tif"),
    ]
}

/// Copies of `src` under `dir/name/`, same file names, each made by `make(src, dst)`.
pub fn copies_of(
    src: &[PathBuf],
    dir: &Path,
    name: &str,
    make: impl Fn(&Path, &Path),
) -> Vec<PathBuf> {
    let d = dir.join(name);
    std::fs::create_dir_all(&d).unwrap();
    src.iter()
        .map(|p| {
            let q = d.join(p.file_name().unwrap());
            make(p, &q);
            q
        })
        .collect()
}

/// Rows `rows` of a float `width`-wide, `height`-tall raster: a flat fill of 200 in every
/// band, masked out by a TIFF mask band (a file's own validity mask).
pub fn mask_rows_with_fill(path: &Path, rows: std::ops::Range<usize>, width: usize, height: usize) {
    let mut ds = open_update(path);
    for b in 1..=ds.raster_count() {
        let mut band = ds.rasterband(b).unwrap();
        let mut buf =
            gdal::raster::Buffer::new((width, rows.len()), vec![200f32; rows.len() * width]);
        band.write((0, rows.start as isize), (width, rows.len()), &mut buf)
            .unwrap();
    }
    ds.rasterband(1).unwrap().create_mask_band(true).unwrap();
    let first = ds.rasterband(1).unwrap();
    let mut mask = first.open_mask_band().unwrap();
    let mut m: Vec<u8> = vec![255; width * height];
    m[rows.start * width..rows.end * width].fill(0);
    mask.write(
        (0, 0),
        (width, height),
        &mut gdal::raster::Buffer::new((width, height), m),
    )
    .unwrap();
    ds.flush_cache().unwrap();
}
