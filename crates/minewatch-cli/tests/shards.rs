//! Sharded runs: `plan`, `run --shard`, `missing`, `merge`, `emit`. The merged outputs must be
//! byte-identical to a single-process run for any tiling, shards must be idempotent and
//! take their index from the batch engines' variables, a merge must refuse while tiles are
//! missing, and the launchers must match their reviewed golden files.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A run config over a synthetic scene, with patches crossing every tile border.
fn synth_config(dir: &Path, method: &str) -> PathBuf {
    let mut spec = minewatch_synth::SceneSpec::small(600, 450, 20261129);
    spec.pits_per_tile = 16;
    // Nodata at the bottom: never change, and tiles there are partly empty.
    spec.nodata_rows = 30;
    minewatch_synth::write_scene(&spec, dir, ["synth_20200601.tif", "synth_20210601.tif"]).unwrap();
    // A third date (another seed's second date): two pairs, so tiles carry two sections.
    let other = dir.join("other");
    std::fs::create_dir_all(&other).unwrap();
    spec.seed += 1;
    minewatch_synth::write_scene(&spec, &other, ["a_20200601.tif", "synth_20220601.tif"]).unwrap();
    std::fs::rename(
        other.join("synth_20220601.tif"),
        dir.join("synth_20220601.tif"),
    )
    .unwrap();
    let params = if method == "rule" {
        format!(
            "params = {:?}\n",
            s(&root().join("pipelines/peer-rule.toml"))
        )
    } else {
        String::new()
    };
    let cfg = dir.join("run.toml");
    std::fs::write(
        &cfg,
        format!(
            "name = \"synth {method}\"\nout = \"out\"\n[detect]\nimages = [\"synth_*.tif\"]\ndates = [\"2020-06-01\", \"2021-06-01\", \"2022-06-01\"]\n{params}"
        ),
    )
    .unwrap();
    cfg
}

fn ok(args: &[&str]) -> String {
    let o = minewatch(args);
    assert!(o.status.success(), "minewatch {args:?}: {}", stderr(&o));
    String::from_utf8(o.stdout).unwrap()
}

/// A run config in `dir` over the real Nanjing clip pair, with the given `params` line and
/// `[shards]` body.
fn clip_config(dir: &Path, name: &str, params: &str, shards: &str) -> PathBuf {
    let cfg = dir.join(name);
    std::fs::write(
        &cfg,
        format!(
            "name = \"{}\"\nout = \"out\"\n[detect]\nimages = [\"{}/nanjing_L5TM_*_clip400.tif\"]\n{params}\n[shards]\n{shards}",
            name.trim_end_matches(".toml"),
            root().join("fixtures/real").display()
        ),
    )
    .unwrap();
    cfg
}

/// The three patch files of two detect folders are the same bytes.
fn same_patches(a: &Path, b: &Path) {
    for f in ["patches.geojson", "patches.gpkg", "patches.csv"] {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f}: {} vs {}",
            a.display(),
            b.display()
        );
    }
}

fn peer_rule_line() -> String {
    format!("params = {:?}", s(&root().join("pipelines/peer-rule.toml")))
}

/// plan → every shard → merge into `out`.
fn sharded(cfg: &Path, out: &Path, tile: usize, batch: usize) {
    let plan = ok(&[
        "plan",
        s(cfg),
        "--out",
        s(out),
        "--tile",
        &tile.to_string(),
        "--format",
        "json",
    ]);
    let plan: serde_json::Value = serde_json::from_str(&plan).unwrap();
    let tiles = plan["tiles"].as_u64().unwrap() as usize;
    for i in 0..tiles.div_ceil(batch) {
        ok(&[
            "run",
            s(cfg),
            "--out",
            s(out),
            "--shard",
            &i.to_string(),
            "--batch",
            &batch.to_string(),
        ]);
    }
    ok(&["merge", s(cfg), "--out", s(out)]);
}

/// Pixel bounding boxes of the patches, from the GeoPackage and the grid in the manifest.
fn patch_boxes(out: &Path) -> Vec<(f64, f64, f64, f64)> {
    use gdal::vector::LayerAccess;
    let m = manifest(&out.join("detect"));
    let t: Vec<f64> = m["grid"]["transform"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let ds = gdal::Dataset::open(out.join("detect/patches.gpkg")).unwrap();
    let mut layer = ds.layer(0).unwrap();
    layer
        .features()
        .map(|f| {
            let e = f.geometry().unwrap().envelope();
            (
                (e.MinX - t[0]) / t[1],
                (e.MaxX - t[0]) / t[1],
                (e.MaxY - t[3]) / t[5],
                (e.MinY - t[3]) / t[5],
            )
        })
        .collect()
}

fn crosses(lo: f64, hi: f64, tile: usize) -> bool {
    let t = tile as f64;
    (lo / t).floor() < ((hi - 0.5) / t).floor()
}

#[test]
fn merged_output_is_byte_identical_for_any_tiling() {
    for method in ["rule", "auto"] {
        let d = tempfile::tempdir().unwrap();
        let cfg = synth_config(d.path(), method);
        let single = d.path().join("single");
        ok(&["run", s(&cfg), "--out", s(&single)]);
        let boxes = patch_boxes(&single);
        // The sieve fills holes and removes specks here, so the kept-value set matters.
        let m1 = manifest(&single.join("detect"));
        assert!(m1["pairs"][0]["sieve_flipped_regions"].as_u64().unwrap() > 10);
        assert!(boxes.len() > 50, "{method}: {} patches", boxes.len());
        // Odd sizes, a size above the scene and the minimum, batched several ways, and two
        // sizes drawn from an explicit seed (change it to explore other tilings).
        let seed: u64 = 20261129;
        let mut tilings = vec![(64, 5), (97, 1), (173, 2), (256, 3), (700, 1)];
        let mut st = seed;
        for _ in 0..2 {
            st = st
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            tilings.push((64 + (st >> 33) as usize % 240, 1 + (st >> 20) as usize % 4));
        }
        eprintln!("tilings (seed {seed}): {tilings:?}");
        let mut corners = 0;
        for (tile, batch) in tilings {
            if tile < 600 {
                let across = boxes.iter().filter(|b| crosses(b.0, b.1, tile)).count();
                let down = boxes.iter().filter(|b| crosses(b.2, b.3, tile)).count();
                assert!(
                    across > 0 && down > 0,
                    "{method}, tile {tile}: no patch crosses a border"
                );
                corners += boxes
                    .iter()
                    .any(|b| crosses(b.0, b.1, tile) && crosses(b.2, b.3, tile))
                    as usize;
            }
            let out = d.path().join(format!("sharded_{tile}"));
            sharded(&cfg, &out, tile, batch);
            let n = assert_same_data(
                &single,
                &out,
                &format!("{method}, tile {tile} (seed {seed})"),
            );
            assert_eq!(n, 3, "patches.geojson, .gpkg and .csv compared");
            // The per-pair counts agree too (they are not in the data files).
            let (m, m1) = (
                manifest(&out.join("detect")),
                manifest(&single.join("detect")),
            );
            assert!(m["from_plan"].is_string(), "the manifest names the plan");
            let counts = |m: &serde_json::Value| -> Vec<String> {
                m["pairs"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| {
                        [
                            "pair",
                            "valid_pixels",
                            "rule_pixels",
                            "sieved_pixels",
                            "sieve_flipped_regions",
                            "patches",
                        ]
                        .map(|k| p[k].to_string())
                        .join(" ")
                    })
                    .collect()
            };
            assert_eq!(counts(&m), counts(&m1), "{method}, tile {tile}");
            assert_eq!(counts(&m).len(), 2, "two date pairs");
        }
        assert!(
            corners >= 2,
            "{method}: patches span tile corners in only {corners} tilings"
        );
    }
}

#[test]
fn the_whole_chain_merges_to_the_single_process_result() {
    // detect → overlay → rank → packages → sample on the bundled Nanjing data.
    let d = tempfile::tempdir().unwrap();
    let cfg = root().join("pipelines/demo.toml");
    let (single, out) = (d.path().join("single"), d.path().join("sharded"));
    ok(&["run", s(&cfg), "--out", s(&single)]);
    sharded(&cfg, &out, 160, 2);
    let n = assert_same_data(&single, &out, "demo chain");
    assert!(n > 20, "only {n} files compared");
    // The shards hashed the inputs for the merge (one record per image), and the merged
    // manifest names the same inputs with the same sha256 as the single run.
    let sums = |m: &serde_json::Value| -> Vec<(String, String)> {
        m["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["bytes"].to_string(),
                    i["sha256"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let want = sums(&manifest(&single.join("detect")));
    assert_eq!(sums(&manifest(&out.join("detect"))), want);
    let mut recorded: Vec<String> = std::fs::read_dir(out.join("shards/hashes"))
        .unwrap()
        .map(|e| {
            let r: serde_json::Value =
                serde_json::from_slice(&std::fs::read(e.unwrap().path()).unwrap()).unwrap();
            r["sha256"].as_str().unwrap().to_string()
        })
        .collect();
    recorded.sort();
    let mut expected: Vec<String> = want.into_iter().map(|(_, h)| h).collect();
    expected.sort();
    assert_eq!(
        recorded, expected,
        "one hash record per input, from the shards"
    );
    assert!(out.join("packages").is_dir() && out.join("sample").is_dir());
}

#[test]
fn shards_are_idempotent_and_take_the_engine_index() {
    let d = tempfile::tempdir().unwrap();
    let cfg = root().join("pipelines/smoke.toml");
    let out = d.path().join("o");
    let plan: serde_json::Value = serde_json::from_str(&ok(&[
        "plan",
        s(&cfg),
        "--out",
        s(&out),
        "--format",
        "json",
    ]))
    .unwrap();
    // The plan names the build: version and git revision (shards of another build refuse it).
    let body: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("shards/plan.json")).unwrap()).unwrap();
    let version = body["body"]["version"].as_str().unwrap().to_string();
    let rev = Command::new("git")
        .args(["-C", s(&root()), "rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    assert_eq!(version, format!("{} ({rev})", env!("CARGO_PKG_VERSION")));
    // smoke.toml: 128 px tiles, 2 per task over the 400 × 400 clip.
    assert_eq!(
        (plan["tiles"].as_u64(), plan["shards"].as_u64()),
        (Some(16), Some(8))
    );
    let tile = |id: &str| out.join("shards/tiles").join(format!("{id}.mwt"));

    for (var, idx, ids) in [
        ("SLURM_ARRAY_TASK_ID", "0", ["t_r0_c0", "t_r0_c128"]),
        ("JOB_COMPLETION_INDEX", "3", ["t_r128_c256", "t_r128_c384"]),
        (
            "AWS_BATCH_JOB_ARRAY_INDEX",
            "5",
            ["t_r256_c256", "t_r256_c384"],
        ),
        ("PBS_ARRAY_INDEX", "7", ["t_r384_c256", "t_r384_c384"]),
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_minewatch"))
            .args([
                "run",
                s(&cfg),
                "--out",
                s(&out),
                "--shard",
                "--format",
                "json",
            ])
            .env_remove("SLURM_ARRAY_TASK_ID")
            .env(var, idx)
            .output()
            .unwrap();
        assert!(o.status.success(), "{var}: {}", stderr(&o));
        let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(r["shard"].as_u64().unwrap().to_string(), idx);
        for id in ids {
            assert!(tile(id).is_file(), "{var}={idx}: {id} missing");
        }
    }
    assert_eq!(
        ok(&["missing", s(&cfg), "--out", s(&out)]).trim(),
        "1-2,4,6",
        "tasks 0, 3, 5, 7 are done"
    );
    assert_eq!(
        ok(&["missing", s(&cfg), "--out", s(&out), "--batch", "4"]).trim(),
        "0-3",
        "with 4 tiles per task every task has a tile left"
    );

    // Again: skipped, and the object is untouched.
    let before = std::fs::read(tile("t_r0_c0")).unwrap();
    let r: serde_json::Value = serde_json::from_str(&ok(&[
        "run",
        s(&cfg),
        "--out",
        s(&out),
        "--shard",
        "0",
        "--format",
        "json",
    ]))
    .unwrap();
    assert!(r["tiles"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["status"] == "skipped"));
    // Recomputed on one thread: the same bytes.
    std::fs::remove_file(tile("t_r0_c0")).unwrap();
    ok(&[
        "run",
        s(&cfg),
        "--out",
        s(&out),
        "--shard",
        "0",
        "--threads",
        "1",
    ]);
    assert_eq!(std::fs::read(tile("t_r0_c0")).unwrap(), before);

    // No index anywhere, or one out of range: permanent (65), named.
    let o = Command::new(env!("CARGO_BIN_EXE_minewatch"))
        .args(["run", s(&cfg), "--out", s(&out), "--shard"])
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("AWS_BATCH_JOB_ARRAY_INDEX")
        .env_remove("PBS_ARRAY_INDEX")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(65), "{}", stderr(&o));
    assert!(stderr(&o).contains("SLURM_ARRAY_TASK_ID"));
    let o = minewatch(&["run", s(&cfg), "--out", s(&out), "--shard", "8"]);
    assert_eq!(o.status.code(), Some(65));
    assert!(
        stderr(&o).contains("shard 8 does not exist"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn merge_refuses_missing_damaged_or_stale_tiles() {
    let d = tempfile::tempdir().unwrap();
    // A private copy of the smoke config, so its parameters can be edited.
    let params = d.path().join("rule.toml");
    std::fs::copy(root().join("pipelines/peer-rule.toml"), &params).unwrap();
    let cfg = clip_config(
        d.path(),
        "smoke.toml",
        "params = \"rule.toml\"",
        "tile = 128\nbatch = 2\n",
    );
    let out = d.path().join("out");
    ok(&["plan", s(&cfg)]);
    for i in [0, 1, 3, 4, 6, 7] {
        ok(&["run", s(&cfg), "--shard", &i.to_string()]);
    }
    assert_eq!(ok(&["missing", s(&cfg)]).trim(), "2,5");
    let o = minewatch(&["merge", s(&cfg)]);
    assert_eq!(o.status.code(), Some(75), "retry later: {}", stderr(&o));
    assert!(
        stderr(&o).contains("4 of 16 tiles are not finished"),
        "{}",
        stderr(&o)
    );
    assert!(
        !out.join("detect/manifest.json").exists(),
        "nothing written"
    );
    // Launched for another plan: permanent (65), not "retry later", tiles missing or not.
    let o = minewatch(&["merge", s(&cfg), "--plan", "0123456789abcdef"]);
    assert_eq!(o.status.code(), Some(65), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("launched for plan 0123456789abcdef"),
        "{}",
        stderr(&o)
    );

    for i in [2, 5] {
        ok(&["run", s(&cfg), "--shard", &i.to_string()]);
    }
    assert_eq!(ok(&["missing", s(&cfg)]).trim(), "");

    // A damaged object is named, never merged, and set aside so its shard runs again.
    let t = out.join("shards/tiles/t_r128_c128.mwt");
    let good = std::fs::read(&t).unwrap();
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 1;
    std::fs::write(&t, &bad).unwrap();
    let o = minewatch(&["merge", s(&cfg)]);
    assert_eq!(
        o.status.code(),
        Some(75),
        "retry after the rerun: {}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("t_r128_c128.mwt") && stderr(&o).contains("checksum"),
        "{}",
        stderr(&o)
    );
    // It says what was done with the object, not to delete what is already moved.
    assert!(
        stderr(&o).contains("moved aside to")
            && stderr(&o).contains("t_r128_c128.mwt.bad")
            && stderr(&o).contains("`minewatch missing CONFIG` now lists its shard")
            && !stderr(&o).contains("delete it"),
        "{}",
        stderr(&o)
    );
    assert!(
        !out.join("detect/patches.gpkg").exists() && !out.join("detect/manifest.json").exists()
    );
    assert!(t.with_extension("mwt.bad").is_file() && !t.exists());
    assert_eq!(ok(&["missing", s(&cfg)]).trim(), "2", "tile 5 is in task 2");
    ok(&["run", s(&cfg), "--shard", "2"]);
    assert_eq!(
        std::fs::read(&t).unwrap(),
        good,
        "recomputed to the same bytes"
    );
    // A truncated one counts as missing.
    std::fs::write(&t, &good[..good.len() - 10]).unwrap();
    assert_eq!(ok(&["missing", s(&cfg)]).trim(), "2");
    std::fs::write(&t, &good).unwrap();

    // Launchers pin the plan: a task for another plan refuses.
    let o = minewatch(&["run", s(&cfg), "--shard", "0", "--plan", "0000"]);
    assert_eq!(o.status.code(), Some(65));
    assert!(
        stderr(&o).contains("launched for plan 0000"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        minewatch(&["merge", s(&cfg), "--plan", "0000"])
            .status
            .code(),
        Some(65)
    );

    // Parameters edited after the plan: shards and merge refuse; a new plan makes every
    // old tile stale.
    let text = std::fs::read_to_string(&params).unwrap();
    std::fs::write(&params, text.replace("mmu_px = 10", "mmu_px = 12")).unwrap();
    let o = minewatch(&["run", s(&cfg), "--shard", "0"]);
    assert_eq!(o.status.code(), Some(65));
    assert!(
        stderr(&o).contains("the detect parameters changed since `minewatch plan`"),
        "{}",
        stderr(&o)
    );
    assert_eq!(minewatch(&["merge", s(&cfg)]).status.code(), Some(65));
    // And `missing` says so rather than listing shards that would all fail (a review),
    // with 1, not a shard's 65: it is the operator's command (docs/scaling.md).
    let o = minewatch(&["missing", s(&cfg)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("run `minewatch plan"), "{}", stderr(&o));
    // Nor does a Kubernetes launcher pin the stale plan.
    let o = minewatch(&["emit", "k8s", s(&cfg)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("run `minewatch plan"), "{}", stderr(&o));
    ok(&["plan", s(&cfg)]);
    assert_eq!(ok(&["missing", s(&cfg)]).trim(), "0-7");

    // `merge --wait` (a Kubernetes merge Job started beside the shards) waits for them.
    let mut merge = Command::new(env!("CARGO_BIN_EXE_minewatch"))
        .args(["merge", s(&cfg), "--wait", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(
        merge.try_wait().unwrap().is_none(),
        "merge must wait for the tiles"
    );
    for i in 0..8 {
        ok(&["run", s(&cfg), "--shard", &i.to_string()]);
    }
    let o = merge.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("merge: waiting for"), "{}", stderr(&o));
    assert!(out.join("detect/patches.gpkg").is_file());
}

/// Start `minewatch ARGS` (stderr to `log`), call `meanwhile`, then give it `secs` seconds
/// to end; `None` (killed) if it did not. Returns the exit code and stderr.
fn ends_within(
    args: &[&str],
    secs: u64,
    log: &Path,
    meanwhile: impl FnOnce(),
) -> Option<(Option<i32>, String)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_minewatch"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    meanwhile();
    let t0 = std::time::Instant::now();
    let code = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break Some(st.code());
        }
        if t0.elapsed().as_secs() >= secs {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let err = std::fs::read_to_string(log).unwrap();
    match code {
        Some(c) => Some((c, err)),
        None => {
            eprintln!("minewatch {args:?} killed after {secs} s: {err}");
            None
        }
    }
}

/// Wait (up to a minute) until `log` contains `text`.
fn wait_for_text(log: &Path, text: &str) {
    let t0 = std::time::Instant::now();
    while !std::fs::read_to_string(log)
        .unwrap_or_default()
        .contains(text)
    {
        assert!(
            t0.elapsed().as_secs() < 60,
            "no {text:?} in {}",
            log.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// The clip config `name` (peer rule, 16 tiles in 8 shards of 2) planned, with every
/// shard run; the config and its output folder.
fn every_shard_run(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let cfg = clip_config(dir, name, &peer_rule_line(), "tile = 128\nbatch = 2\n");
    ok(&["plan", s(&cfg)]);
    for i in 0..8 {
        ok(&["run", s(&cfg), "--shard", &i.to_string()]);
    }
    (cfg, dir.join("out"))
}

#[test]
fn a_waiting_merge_computes_a_tile_set_aside_as_damaged() {
    // Kubernetes (review I): the merge Job's first pod sets a damaged tile aside and exits
    // 75; its shard's index has succeeded and never runs again, so the retried pod waited
    // for the tile until the Job's two-day deadline.
    let d = tempfile::tempdir().unwrap();
    let (cfg, out) = every_shard_run(d.path(), "k.toml");
    let t = out.join("shards/tiles/t_r256_c128.mwt");
    let good = std::fs::read(&t).unwrap();
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0xff;
    std::fs::write(&t, &bad).unwrap();
    let o = minewatch(&["merge", s(&cfg), "--wait", "1"]);
    assert_eq!(o.status.code(), Some(75), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("t_r256_c128.mwt.bad") && stderr(&o).contains("computes it itself"),
        "{}",
        stderr(&o)
    );
    // The engine's retry: the waiting merge computes the tile and finishes.
    let log = d.path().join("merge.log");
    let (code, err) = ends_within(&["merge", s(&cfg), "--wait", "1"], 120, &log, || {})
        .expect("the retried merge must not wait for a tile no shard will compute");
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("tile t_r256_c128 was set aside as damaged")
            && err.contains("computing it here"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&t).unwrap(),
        good,
        "the same bytes as its shard's"
    );
    assert!(out.join("detect/patches.gpkg").is_file());
}

#[test]
fn a_truncated_or_header_damaged_tile_is_set_aside_not_waited_for() {
    // Review S, f1: an object cut short, or with a damaged magic or header, was taken for
    // an unfinished tile and never set aside: `merge` said "not finished", and a waiting
    // merge (the Kubernetes merge Job) waited for it forever although its shard had
    // succeeded. Tiles are written whole under their name, so such an object is damage.
    let d = tempfile::tempdir().unwrap();
    let (cfg, out) = every_shard_run(d.path(), "t.toml");
    let tiles = out.join("shards/tiles");
    let (cut, magic) = (tiles.join("t_r128_c256.mwt"), tiles.join("t_r256_c0.mwt"));
    let good = std::fs::read(&cut).unwrap();
    std::fs::write(&cut, &good[..good.len() - 100]).unwrap();
    // `missing` lists it and says what is wrong; it moves nothing.
    let o = minewatch(&["missing", s(&cfg)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "3");
    assert!(
        stderr(&o).contains("t_r128_c256.mwt: truncated") && cut.is_file(),
        "{}",
        stderr(&o)
    );
    // `merge` sets it aside, names it and what is wrong, and asks for a retry (75).
    let o = minewatch(&["merge", s(&cfg)]);
    assert_eq!(o.status.code(), Some(75), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("t_r128_c256.mwt: truncated")
            && stderr(&o).contains("moved aside to")
            && stderr(&o).contains("t_r128_c256.mwt.bad"),
        "{}",
        stderr(&o)
    );
    assert!(cut.with_extension("mwt.bad").is_file() && !cut.exists());
    assert_eq!(ok(&["missing", s(&cfg)]).trim(), "3");
    // A damaged magic, while a waiting merge runs: set aside and computed, with the tile
    // the first merge set aside, instead of waited for.
    let good_magic = std::fs::read(&magic).unwrap();
    let mut bad = good_magic.clone();
    bad[0] ^= 0x20;
    std::fs::write(&magic, &bad).unwrap();
    let log = d.path().join("merge.log");
    let (code, err) = ends_within(&["merge", s(&cfg), "--wait", "1"], 120, &log, || {})
        .expect("a waiting merge must not wait for a damaged tile");
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("t_r256_c0.mwt: not a minewatch tile object (bad magic); moved aside to")
            && err.contains("tile t_r256_c0 was set aside as damaged")
            && err.contains("tile t_r128_c256 was set aside as damaged"),
        "{err}"
    );
    assert_eq!(std::fs::read(&cut).unwrap(), good, "recomputed, same bytes");
    assert_eq!(std::fs::read(&magic).unwrap(), good_magic);
    assert!(out.join("detect/patches.gpkg").is_file());
    // A shard finding a damaged object (a bad header length) writes it again.
    let mut bad = good_magic.clone();
    bad[11] ^= 0x01;
    std::fs::write(&magic, &bad).unwrap();
    let o = minewatch(&["run", s(&cfg), "--shard", "4"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("t_r256_c0.mwt: truncated or damaged header")
            && stderr(&o).contains("computing it again"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(&magic).unwrap(), good_magic);
}

#[test]
fn a_waiting_merge_stops_when_the_plan_changes_under_it() {
    // Review I: re-planned while `merge --wait` ran, it waited forever for tiles of the
    // old plan (the new plan's tiles share their names and were quietly rejected).
    let d = tempfile::tempdir().unwrap();
    let cfg = clip_config(
        d.path(),
        "p.toml",
        &peer_rule_line(),
        "tile = 128\nbatch = 2\n",
    );
    ok(&["plan", s(&cfg)]);
    let hash = || -> String {
        let p: serde_json::Value =
            serde_json::from_slice(&std::fs::read(d.path().join("out/shards/plan.json")).unwrap())
                .unwrap();
        p["plan_hash"].as_str().unwrap().to_string()
    };
    // Pinned to the plan (as the Kubernetes merge Job is) and not.
    for (pin, tile) in [(true, "200"), (false, "128")] {
        let before = hash();
        let mut args = vec!["merge", s(&cfg), "--wait", "1"];
        if pin {
            args.extend(["--plan", &before]);
        }
        let log = d.path().join(format!("merge_{tile}.log"));
        let (code, err) = ends_within(&args, 60, &log, || {
            wait_for_text(&log, "merge: waiting for");
            ok(&["plan", s(&cfg), "--tile", tile]);
        })
        .expect("a waiting merge must notice the new plan");
        let after = hash();
        assert_ne!(before, after);
        assert_eq!(code, Some(65), "{err}");
        assert!(
            err.contains(&format!("started for plan {before}"))
                && err.contains(&format!("now holds plan {after}")),
            "{err}"
        );
    }
}

/// Replace machine-specific paths so the launchers compare with reviewed golden files.
fn normalise(text: &str, out: &Path) -> String {
    // The plan hash covers the inputs' modification times, which differ per checkout.
    let plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("shards/plan.json")).unwrap()).unwrap();
    let text = text
        .replace(plan["plan_hash"].as_str().unwrap(), "<PLAN>")
        .replace(s(out), "<OUT>")
        .replace(s(&root()), "<REPO>");
    untag(&text)
}

/// Job names end in the run's tag, a digest that covers the output folder.
fn untag(launcher: &str) -> String {
    let tag = run_tag(launcher);
    launcher.replace(&format!("-{tag}"), "-<RUN>")
}

/// The run tag of a launcher's job names: `mw-<name>-<tag>-shards`.
fn run_tag(launcher: &str) -> String {
    launcher
        .match_indices("-shards")
        .filter_map(|(end, _)| launcher.get(end.checked_sub(9)?..end))
        .find(|t| t.starts_with('-') && t[1..].chars().all(|c| c.is_ascii_hexdigit()))
        .map(|t| t[1..].to_string())
        .expect("a job name mw-<name>-<tag>-shards")
}

fn golden(name: &str, got: &str) {
    let path = root().join("fixtures/expected/emit").join(name);
    if std::env::var_os("MINEWATCH_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, got).unwrap();
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} missing; MINEWATCH_BLESS=1 writes it", path.display()));
    assert_eq!(
        got, want,
        "{name} changed; review and rerun with MINEWATCH_BLESS=1"
    );
}

#[test]
fn launchers_match_golden_files_and_submit_only_missing_shards() {
    let d = tempfile::tempdir().unwrap();
    let cfg = root().join("pipelines/smoke.toml");
    let out = d.path().join("o");
    let bin = "/opt/minewatch/bin/minewatch";
    let o = minewatch(&["emit", "k8s", s(&cfg), "--out", s(&out), "--bin", bin]);
    assert_eq!(o.status.code(), Some(1), "k8s needs the plan first");
    assert!(stderr(&o).contains("minewatch plan"), "{}", stderr(&o));
    ok(&["plan", s(&cfg), "--out", s(&out)]);
    let common = ["--out", s(&out), "--bin", bin, "--cpus", "4", "--mem", "8G"];
    let args = [
        &["emit", "k8s", s(&cfg)][..],
        &common,
        &["--max-parallel", "3"],
    ]
    .concat();
    let o = minewatch(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let k8s = String::from_utf8(o.stdout.clone()).unwrap();
    golden("smoke.k8s.yaml", &normalise(&k8s, &out));
    assert!(k8s.contains("completions: 8") && k8s.contains("completionMode: Indexed"));
    // Config, outputs and images are not under the claim's mount (/data): the pods would
    // not find them, so emit says so (review I), naming each.
    for what in [
        format!("the config {}", s(&cfg)),
        format!("the output folder {}", s(&out)),
        "the first of 2 images".into(),
    ] {
        assert!(
            stderr(&o).contains(&format!("warning: emit k8s: {what}"))
                && stderr(&o).contains("is not under /data"),
            "{what}: {}",
            stderr(&o)
        );
    }
    let o = minewatch(&[&args[..], &["--mount", "/"]].concat());
    assert!(
        o.status.success() && !stderr(&o).contains("warning"),
        "{}",
        stderr(&o)
    );
    // Paths are compared with their `..` steps taken back, not as strings.
    let roundabout = d.path().join("sub/..");
    let o = minewatch(&[&args[..], &["--mount", s(&roundabout)]].concat());
    assert!(
        o.status.success()
            && stderr(&o).contains("warning: emit k8s: the config")
            && !stderr(&o).contains("the output folder"),
        "{}",
        stderr(&o)
    );
    // Without --bin the pods call `minewatch` from the image, never this machine's path.
    let o = minewatch(&["emit", "k8s", s(&cfg), "--out", s(&out)]);
    let y = String::from_utf8(o.stdout).unwrap();
    assert!(
        y.contains(r#"command: ["minewatch", "run", "#)
            && y.contains(r#"command: ["minewatch", "merge", "#)
            && !y.contains(env!("CARGO_BIN_EXE_minewatch")),
        "{y}"
    );
    // Each launcher's help lists only its engine's options (review I).
    let help = |what: &str| ok(&["emit", what, "--help"]);
    let (k, sl) = (help("k8s"), help("slurm"));
    for flag in ["--time", "--partition"] {
        assert!(!k.contains(flag) && sl.contains(flag), "{flag}");
    }
    for flag in ["--image", "--claim", "--mount", "--s3-secret"] {
        assert!(k.contains(flag) && !sl.contains(flag), "{flag}");
    }
    let slurm = ok(&[
        &["emit", "slurm", s(&cfg)][..],
        &common,
        &["--partition", "cpu", "--time", "00:30:00"],
    ]
    .concat());
    golden("smoke.slurm.sh", &normalise(&slurm, &out));

    // Run the Slurm script against a stand-in sbatch that records its calls, with the
    // real minewatch answering `plan` and `missing`.
    let fake = d.path().join("bin");
    std::fs::create_dir_all(&fake).unwrap();
    let log = d.path().join("sbatch.log");
    std::fs::write(
        fake.join("sbatch"),
        format!(
            "#!/bin/bash\nn=$(( $(cat {log} 2>/dev/null | wc -l) + 101 ))\necho \"$* | $(grep -c '' -)\" >> {log}\necho \"$n;proof\"\n",
            log = s(&log)
        ),
    )
    .unwrap();
    let mw = d.path().join("mw");
    std::fs::write(
        &mw,
        format!(
            "#!/bin/bash\nexec {} \"$@\"\n",
            env!("CARGO_BIN_EXE_minewatch")
        ),
    )
    .unwrap();
    for f in [fake.join("sbatch"), mw.clone()] {
        Command::new("chmod").arg("+x").arg(&f).status().unwrap();
    }
    let script = d.path().join("submit.sh");
    std::fs::write(
        &script,
        ok(&["emit", "slurm", s(&cfg), "--out", s(&out), "--bin", s(&mw)]),
    )
    .unwrap();
    // A stand-in squeue that answers what `queue` holds ("JOBID NAME STATE" lines).
    let queue = d.path().join("queue");
    std::fs::write(&queue, "").unwrap();
    std::fs::write(
        fake.join("squeue"),
        format!(
            "#!/bin/bash\necho \"$*\" > {}.args\ncat {}\n",
            s(&queue),
            s(&queue)
        ),
    )
    .unwrap();
    Command::new("chmod")
        .arg("+x")
        .arg(fake.join("squeue"))
        .status()
        .unwrap();
    let run_script = || {
        Command::new("bash")
            .arg(&script)
            .env(
                "PATH",
                format!("{}:{}", s(&fake), std::env::var("PATH").unwrap()),
            )
            .output()
            .unwrap()
    };
    let submit = || {
        let o = run_script();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    for i in [0, 1, 2, 4, 5, 6, 7] {
        ok(&["run", s(&cfg), "--out", s(&out), "--shard", &i.to_string()]);
    }
    submit();
    let calls = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = calls.lines().collect();
    assert_eq!(lines.len(), 2, "{calls}");
    assert!(
        lines[0].contains("--array=3 "),
        "only task 3 is left: {}",
        lines[0]
    );
    assert!(
        lines[1].contains("--dependency=afterok:101 "),
        "{}",
        lines[1]
    );
    let script_text = std::fs::read_to_string(&script).unwrap();
    let jobs = format!("mw-fixture-smoke-{}", run_tag(&script_text));
    assert!(
        lines[1].contains(&format!("--job-name={jobs}-merge ")),
        "{}",
        lines[1]
    );
    assert_eq!(
        std::fs::read_to_string(format!("{}.args", s(&queue)))
            .unwrap()
            .trim(),
        format!("--noheader --format=%i %j %T --name={jobs}-shards,{jobs}-merge")
    );
    // Run again while the array runs (review I): `missing` still lists its shards, so
    // the script must not submit them a second time; nor a second merge beside a
    // running one. A merge left pending alone (its array failed) is replaced.
    std::fs::remove_file(&log).unwrap();
    for (queued, refused) in [
        (format!("101_[3] {jobs}-shards PENDING"), true),
        (
            format!("101_3 {jobs}-shards RUNNING\n102 {jobs}-merge PENDING"),
            true,
        ),
        (format!("102 {jobs}-merge RUNNING"), true),
        (format!("102 {jobs}-merge PENDING"), false),
    ] {
        std::fs::write(&queue, format!("{queued}\n")).unwrap();
        let o = run_script();
        if refused {
            assert_eq!(o.status.code(), Some(1), "{queued}");
            assert!(
                !log.exists(),
                "{queued}: submitted {:?}",
                std::fs::read_to_string(&log)
            );
            assert!(
                String::from_utf8_lossy(&o.stderr).contains("still queued or running"),
                "{}",
                String::from_utf8_lossy(&o.stderr)
            );
        } else {
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 2);
            std::fs::remove_file(&log).unwrap();
        }
    }
    std::fs::write(&queue, "").unwrap();
    // The same config run into another folder, or from another data root (README: one
    // per province), is another run with other job names; the same run keeps its own.
    let names = |args: &[&str]| {
        run_tag(&ok(&[
            &["emit", "slurm", s(&cfg), "--bin", s(&mw)][..],
            args,
        ]
        .concat()))
    };
    let here = run_tag(&script_text);
    assert_eq!(names(&["--out", s(&out)]), here);
    assert_ne!(names(&["--out", s(&d.path().join("o2"))]), here);
    assert_ne!(names(&["--out", s(&out), "--data-root", s(d.path())]), here);
    // Everything done: only the merge, with no dependency.
    ok(&["run", s(&cfg), "--out", s(&out), "--shard", "3"]);
    let _ = std::fs::remove_file(&log);
    submit();
    let calls = std::fs::read_to_string(&log).unwrap();
    assert_eq!(calls.lines().count(), 1, "{calls}");
    assert!(
        !calls.contains("--array") && !calls.contains("afterok"),
        "{calls}"
    );
}

#[test]
fn a_killed_shard_leaves_only_whole_tiles_and_resumes() {
    let d = tempfile::tempdir().unwrap();
    let cfg = synth_config(d.path(), "auto");
    let (single, out) = (d.path().join("single"), d.path().join("sharded"));
    ok(&["run", s(&cfg), "--out", s(&single)]);
    // 64 px tiles: 80 of them, all in one task, killed once a few are written.
    ok(&["plan", s(&cfg), "--out", s(&out), "--tile", "64"]);
    let tiles = out.join("shards/tiles");
    let mut child = Command::new(env!("CARGO_BIN_EXE_minewatch"))
        .args([
            "run",
            s(&cfg),
            "--out",
            s(&out),
            "--shard",
            "0",
            "--batch",
            "100",
        ])
        .args(["--threads", "1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let done = |dir: &Path| -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .map(|r| {
                r.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "mwt"))
                    .collect()
            })
            .unwrap_or_default()
    };
    let t0 = std::time::Instant::now();
    while done(&tiles).len() < 3 && t0.elapsed().as_secs() < 60 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let written = done(&tiles);
    assert!(
        written.len() >= 3,
        "the shard wrote no tile before the kill"
    );
    let missing: serde_json::Value = serde_json::from_str(&ok(&[
        "missing",
        s(&cfg),
        "--out",
        s(&out),
        "--batch",
        "1",
        "--format",
        "json",
    ]))
    .unwrap();
    let left = missing["tiles_missing"].as_u64().unwrap();
    assert!(
        left > 0,
        "killed before the end: some tiles must be missing"
    );
    assert_eq!(
        left as usize + written.len(),
        missing["tiles"].as_u64().unwrap() as usize,
        "every visible tile object is whole"
    );
    // The merge refuses; rerunning the task computes only what is missing.
    assert_eq!(
        minewatch(&["merge", s(&cfg), "--out", s(&out)])
            .status
            .code(),
        Some(75)
    );
    let r: serde_json::Value = serde_json::from_str(&ok(&[
        "run",
        s(&cfg),
        "--out",
        s(&out),
        "--shard",
        "0",
        "--batch",
        "100",
        "--format",
        "json",
    ]))
    .unwrap();
    let skipped = r["tiles"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["status"] == "skipped")
        .count();
    assert_eq!(skipped, written.len(), "finished tiles are not recomputed");
    ok(&["merge", s(&cfg), "--out", s(&out)]);
    assert_same_data(&single, &out, "after a killed shard");
}

#[test]
fn emit_slurm_warns_when_the_array_exceeds_slurms_default_size() {
    let d = tempfile::tempdir().unwrap();
    // Planning reads no pixel under a rule: empty (sparse) 2048² images will do.
    use gdal::Metadata;
    let drv = gdal::DriverManager::get_driver_by_name("GTiff").unwrap();
    let opts = gdal::raster::RasterCreationOptions::from_iter([
        "TILED=YES",
        "COMPRESS=DEFLATE",
        "SPARSE_OK=TRUE",
    ]);
    for name in ["big_20200601.tif", "big_20210601.tif"] {
        let mut ds = drv
            .create_with_band_type_with_options::<u16, _>(d.path().join(name), 2048, 2048, 5, &opts)
            .unwrap();
        ds.set_geo_transform(&[400000.0, 10.0, 0.0, 4420000.0, 0.0, -10.0])
            .unwrap();
        ds.set_spatial_ref(&gdal::spatial_ref::SpatialRef::from_epsg(32650).unwrap())
            .unwrap();
        for (b, desc) in ["blue", "green", "red", "nir", "swir1"].iter().enumerate() {
            ds.rasterband(b + 1).unwrap().set_description(desc).unwrap();
        }
    }
    let cfg = d.path().join("big.toml");
    std::fs::write(
        &cfg,
        format!(
            "name = \"big\"\nout = \"out\"\n[detect]\nimages = [\"big_*.tif\"]\nparams = {:?}\n",
            s(&root().join("pipelines/peer-rule.toml"))
        ),
    )
    .unwrap();
    // 64 px tiles: 32 × 32 = 1024 tiles, one per task by default.
    ok(&["plan", s(&cfg), "--tile", "64"]);
    let o = minewatch(&["emit", "slurm", s(&cfg)]);
    assert!(o.status.success());
    assert!(
        stderr(&o).contains("1024 array tasks") && stderr(&o).contains("--batch 2"),
        "{}",
        stderr(&o)
    );
    let o = minewatch(&["emit", "slurm", s(&cfg), "--batch", "2"]);
    assert!(
        o.status.success() && !stderr(&o).contains("warning"),
        "{}",
        stderr(&o)
    );
    // A data root given by MINEWATCH_DATA_ROOT reaches the tasks as --data-root: array
    // tasks and pods need not inherit the submitting shell's environment.
    let sub = d.path().join("configs");
    std::fs::create_dir(&sub).unwrap();
    let cfg = sub.join("rooted.toml");
    std::fs::write(
        &cfg,
        format!(
            "name = \"rooted\"\nout = \"out\"\n[detect]\nimages = [\"@data/big_*.tif\"]\nparams = {:?}\n[shards]\ntile = 1024\n",
            s(&root().join("pipelines/peer-rule.toml"))
        ),
    )
    .unwrap();
    let with_root = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_minewatch"))
            .args(args)
            .env("MINEWATCH_DATA_ROOT", d.path())
            .output()
            .unwrap()
    };
    let o = with_root(&["plan", s(&cfg)]);
    assert!(o.status.success(), "{}", stderr(&o));
    for launcher in ["slurm", "k8s"] {
        let o = with_root(&["emit", launcher, s(&cfg)]);
        assert!(o.status.success(), "{launcher}: {}", stderr(&o));
        let text = String::from_utf8(o.stdout).unwrap();
        assert!(
            text.contains(&format!("--data-root {}", s(d.path())))
                || text.contains(&format!("--data-root\", \"{}\"", s(d.path()))),
            "{launcher}: {text}"
        );
    }
}

/// A local S3-compatible server (moto, which scripts/setup.sh installs) on a free loopback
/// port; stopped when dropped.
struct S3Server {
    child: std::process::Child,
    port: u16,
}

impl S3Server {
    fn start() -> Option<Self> {
        if !have_tool("moto_server") {
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start moto_server");
        let server = Self { child, port };
        for _ in 0..300 {
            if server.http("GET", "/", b"").is_some() {
                return Some(server);
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("moto_server did not answer on port {port} within 30 s");
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// One HTTP/1.1 request with a dummy signature (moto checks who asks, not the
    /// signature); the status code and body.
    fn http(&self, method: &str, path: &str, body: &[u8]) -> Option<(u16, Vec<u8>)> {
        use std::io::{Read, Write};
        let mut c = std::net::TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=minewatch-test/20261130/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.port,
            body.len()
        );
        c.write_all(head.as_bytes()).ok()?;
        c.write_all(body).ok()?;
        let mut got = Vec::new();
        c.read_to_end(&mut got).ok()?;
        let status = std::str::from_utf8(got.get(9..12)?).ok()?.parse().ok()?;
        let at = got.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
        Some((status, got[at..].to_vec()))
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `minewatch ARGS` with the AWS variables pointing at `endpoint`.
fn minewatch_s3(endpoint: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_minewatch"))
        .args(args)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ALLOW_HTTP", "true")
        .env("AWS_ACCESS_KEY_ID", "minewatch-test")
        .env("AWS_SECRET_ACCESS_KEY", "minewatch-test")
        .env("AWS_REGION", "us-east-1")
        .output()
        .expect("run minewatch")
}

#[test]
fn shards_exchange_through_s3_object_storage() {
    let Some(srv) = S3Server::start() else {
        return;
    };
    let (code, _) = srv.http("PUT", "/mw-shards", b"").unwrap();
    assert_eq!(code, 200, "create the bucket");
    let d = tempfile::tempdir().unwrap();
    let cfg = clip_config(
        d.path(),
        "s3.toml",
        &peer_rule_line(),
        "tile = 128\nbatch = 2\nstore = \"s3://mw-shards/runs/nanjing\"\n",
    );
    let ep = srv.endpoint();
    let run = |args: &[&str]| {
        let o = minewatch_s3(&ep, args);
        assert!(o.status.success(), "minewatch {args:?}: {}", stderr(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    let out = d.path().join("out");
    let plan: serde_json::Value =
        serde_json::from_str(&run(&["plan", s(&cfg), "--format", "json"])).unwrap();
    assert_eq!(plan["plan"], "s3://mw-shards/runs/nanjing/plan.json");
    assert_eq!(plan["tiles"], 16);
    for i in [0, 1, 2, 4, 5, 6, 7] {
        run(&["run", s(&cfg), "--shard", &i.to_string()]);
    }
    assert_eq!(run(&["missing", s(&cfg)]).trim(), "3");
    let o = minewatch_s3(&ep, &["merge", s(&cfg)]);
    assert_eq!(o.status.code(), Some(75), "retry later: {}", stderr(&o));
    assert!(
        stderr(&o).contains("s3://mw-shards/runs/nanjing: 2 of 16 tiles are not finished"),
        "{}",
        stderr(&o)
    );
    run(&["run", s(&cfg), "--shard", "3"]);
    assert_eq!(run(&["missing", s(&cfg)]).trim(), "");
    // A damaged object is named by its URL, set aside, and listed as missing again.
    let key = "/mw-shards/runs/nanjing/tiles/t_r128_c256.mwt";
    let (_, good) = srv.http("GET", key, b"").unwrap();
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 1;
    assert_eq!(srv.http("PUT", key, &bad).unwrap().0, 200);
    let o = minewatch_s3(&ep, &["merge", s(&cfg)]);
    assert_eq!(o.status.code(), Some(75), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("s3://mw-shards/runs/nanjing/tiles/t_r128_c256.mwt")
            && stderr(&o).contains("checksum")
            && stderr(&o)
                .contains("moved aside to s3://mw-shards/runs/nanjing/tiles/t_r128_c256.mwt.bad")
            && !stderr(&o).contains("delete it"),
        "{}",
        stderr(&o)
    );
    assert_eq!(srv.http("GET", key, b"").unwrap().0, 404);
    assert_eq!(
        srv.http("GET", &format!("{key}.bad"), b"").unwrap().0,
        200,
        "kept aside for inspection"
    );
    assert_eq!(
        run(&["missing", s(&cfg)]).trim(),
        "3",
        "tile 6 is in task 3"
    );
    run(&["run", s(&cfg), "--shard", "3"]);
    assert_eq!(srv.http("GET", key, b"").unwrap().1, good, "recomputed");

    let o = minewatch_s3(&ep, &["merge", s(&cfg)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("merge: 2 of 2 input hash(es) from the shards' records"),
        "{}",
        stderr(&o)
    );
    assert!(
        !out.join("shards").exists(),
        "nothing of the exchange is written locally"
    );
    // The same bytes as one process on one machine.
    run(&["run", s(&cfg), "--out", s(&d.path().join("single"))]);
    same_patches(&out.join("detect"), &d.path().join("single/detect"));
    // The shards' input hashes reached the merge through the store.
    let (code, listing) = srv
        .http(
            "GET",
            "/mw-shards?list-type=2&prefix=runs/nanjing/hashes/",
            b"",
        )
        .unwrap();
    assert_eq!(code, 200);
    assert_eq!(
        String::from_utf8_lossy(&listing).matches("<Key>").count(),
        2,
        "one record per input"
    );

    // The Kubernetes launcher reads the plan from the store and hands the pods the
    // store's credentials from a Secret.
    let k8s = run(&[
        "emit",
        "k8s",
        s(&cfg),
        "--bin",
        "/opt/minewatch/bin/minewatch",
        "--cpus",
        "4",
        "--mem",
        "8G",
    ]);
    let k8s = k8s
        .replace(plan["plan_hash"].as_str().unwrap(), "<PLAN>")
        .replace(s(d.path()), "<DIR>")
        .replace(s(&root()), "<REPO>");
    let k8s = untag(&k8s);
    assert_eq!(
        k8s.matches("secretRef: {name: \"minewatch-s3\"}").count(),
        2
    );
    golden("s3.k8s.yaml", &k8s);

    // A bucket without a prefix holds the run at its top; a bucket that does not exist
    // is a configuration error (exit 1; 65 for a shard), not something to retry.
    let top = d.path().join("top.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &top,
        text.replace("s3://mw-shards/runs/nanjing", "s3://mw-shards"),
    )
    .unwrap();
    run(&["plan", s(&top)]);
    assert_eq!(srv.http("GET", "/mw-shards/plan.json", b"").unwrap().0, 200);
    let nob = d.path().join("nobucket.toml");
    std::fs::write(
        &nob,
        text.replace("s3://mw-shards/", "s3://no-such-bucket/"),
    )
    .unwrap();
    let o = minewatch_s3(&ep, &["plan", s(&nob)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("does the bucket exist?"),
        "{}",
        stderr(&o)
    );
    let o = minewatch_s3(&ep, &["run", s(&nob), "--shard", "0"]);
    assert_eq!(o.status.code(), Some(65), "{}", stderr(&o));

    // A store that cannot be reached: the task fails as retryable, naming the store.
    drop(srv);
    let o = minewatch_s3(&ep, &["run", s(&cfg), "--shard", "0"]);
    assert_eq!(o.status.code(), Some(75), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("s3://mw-shards/runs/nanjing/plan.json"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn images_on_object_storage_are_read_hashed_and_planned_like_files() {
    let Some(srv) = S3Server::start() else {
        return;
    };
    assert_eq!(srv.http("PUT", "/mw-images", b"").unwrap().0, 200);
    let local: Vec<PathBuf> = ["20000503", "20020712"]
        .iter()
        .map(|d| root().join(format!("fixtures/real/nanjing_L5TM_{d}_clip400.tif")))
        .collect();
    let mut urls = Vec::new();
    for f in &local {
        let name = f.file_name().unwrap().to_str().unwrap();
        let put = srv.http(
            "PUT",
            &format!("/mw-images/nj/{name}"),
            &std::fs::read(f).unwrap(),
        );
        assert_eq!(put.unwrap().0, 200);
        urls.push(format!("s3://mw-images/nj/{name}"));
    }
    let ep = srv.endpoint();
    let d = tempfile::tempdir().unwrap();
    let rule = root().join("pipelines/peer-rule.toml");

    // detect: GDAL reads the pixels (the endpoint comes from AWS_ENDPOINT_URL alone),
    // minewatch hashes the objects; the patches are those of the local files.
    let o = minewatch_s3(
        &ep,
        &[
            "detect",
            &urls[0],
            &urls[1],
            "--params",
            s(&rule),
            "--out",
            s(&d.path().join("s3")),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    ok(&[
        "detect",
        s(&local[0]),
        s(&local[1]),
        "--params",
        s(&rule),
        "--out",
        s(&d.path().join("fs")),
    ]);
    same_patches(&d.path().join("s3"), &d.path().join("fs"));
    let inputs = |dir: &str| -> Vec<(String, String)> {
        let m: serde_json::Value = serde_json::from_slice(
            &std::fs::read(d.path().join(dir).join("manifest.json")).unwrap(),
        )
        .unwrap();
        m["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["path"].as_str().unwrap().to_string(),
                    i["sha256"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let (s3_in, fs_in) = (inputs("s3"), inputs("fs"));
    assert_eq!(
        s3_in[0].0,
        "/vsis3/mw-images/nj/nanjing_L5TM_20000503_clip400.tif"
    );
    assert_eq!(
        s3_in.iter().map(|i| &i.1).collect::<Vec<_>>(),
        fs_in.iter().map(|i| &i.1).collect::<Vec<_>>(),
        "the same sha256 as the files"
    );

    // A sharded run with images and exchange both on object storage: identical to a
    // single process reading the local files.
    assert_eq!(srv.http("PUT", "/mw-shards", b"").unwrap().0, 200);
    let cfg = d.path().join("s3in.toml");
    std::fs::write(
        &cfg,
        format!(
            "name = \"s3in\"\nout = \"out\"\n[detect]\nimages = [{:?}, {:?}]\n{}\n[shards]\ntile = 128\nbatch = 4\nstore = \"s3://mw-shards/s3in\"\n",
            urls[0], urls[1], peer_rule_line()
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let o = minewatch_s3(&ep, args);
        assert!(o.status.success(), "minewatch {args:?}: {}", stderr(&o));
    };
    run(&["plan", s(&cfg)]);
    for i in 0..4 {
        run(&["run", s(&cfg), "--shard", &i.to_string()]);
    }
    run(&["merge", s(&cfg)]);
    let single = clip_config(d.path(), "local.toml", &peer_rule_line(), "");
    ok(&["run", s(&single), "--out", s(&d.path().join("single"))]);
    same_patches(
        &d.path().join("out/detect"),
        &d.path().join("single/detect"),
    );
    // The run's record names the objects with the files' hashes.
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.path().join("out/run_manifest.json")).unwrap())
            .unwrap();
    let images: Vec<(&str, &str)> = m["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["path"].as_str().unwrap(),
                i["bytes_sha256"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(images.len(), 2, "{m}");
    assert_eq!(
        images[0].0,
        "/vsis3/mw-images/nj/nanjing_L5TM_20000503_clip400.tif"
    );
    assert!(images[0].1.ends_with(&fs_in[0].1), "{images:?}");

    // Resume knows the objects: a rerun skips detect; an object replaced under the same
    // key makes it run again.
    let single_s3 = d.path().join("single_s3");
    let rerun = || {
        let o = minewatch_s3(&ep, &["run", s(&cfg), "--out", s(&single_s3)]);
        assert!(o.status.success(), "{}", stderr(&o));
        stderr(&o)
    };
    rerun();
    assert!(rerun().contains("detect: done earlier, skipped"));
    let key = "/mw-images/nj/nanjing_L5TM_20020712_clip400.tif";
    let (_, mut bytes) = srv.http("GET", key, b"").unwrap();
    bytes.extend_from_slice(b"trailing bytes after the TIFF's last block");
    assert_eq!(srv.http("PUT", key, &bytes).unwrap().0, 200);
    assert!(!rerun().contains("detect: done earlier, skipped"));

    // A wrong key is named as such, before GDAL is asked; patterns are not listed; other
    // GDAL virtual file systems are refused with what to do.
    let o = minewatch_s3(
        &ep,
        &[
            "detect",
            &urls[0],
            "s3://mw-images/nj/nope_20020712.tif",
            "--out",
            s(&d.path().join("x")),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("s3://mw-images/nj/nope_20020712.tif: not found"),
        "{}",
        stderr(&o)
    );
    let glob = d.path().join("glob.toml");
    std::fs::write(
        &glob,
        "name = \"g\"\nout = \"out\"\n[detect]\nimages = [\"s3://mw-images/nj/*.tif\"]\n",
    )
    .unwrap();
    let o = minewatch_s3(&ep, &["validate", s(&glob)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("not expanded on object storage"),
        "{}",
        stderr(&o)
    );
    let o = minewatch(&[
        "detect",
        "/vsicurl/http://127.0.0.1:1/a_20000503.tif",
        s(&local[1]),
        "--out",
        s(&d.path().join("y")),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("s3://BUCKET/KEY"), "{}", stderr(&o));
}

#[test]
fn emit_checks_memory_and_writes_it_for_each_engine() {
    // Review S, f2: `--mem` went through unchecked, and the engines read one string
    // differently: 4096 was 4096 MB to Slurm and 4096 bytes to Kubernetes, 500m half a
    // byte there, 4Gi an error to sbatch (found only at submit time, after `plan`).
    let d = tempfile::tempdir().unwrap();
    let cfg = clip_config(d.path(), "m.toml", &peer_rule_line(), "tile = 256\n");
    ok(&["plan", s(&cfg)]);
    let emit = |engine: &str, extra: &[&str]| {
        let o = minewatch(&[&["emit", engine, s(&cfg)][..], extra].concat());
        assert!(o.status.success(), "{extra:?}: {}", stderr(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    for (given, slurm, k8s) in [
        ("4096", "4096M", "4096Mi"),
        ("500m", "500M", "500Mi"),
        ("4g", "4G", "4Gi"),
        ("4GiB", "4G", "4Gi"),
    ] {
        let sh = emit("slurm", &["--mem", given]);
        assert_eq!(sh.matches(&format!(" --mem={slurm} ")).count(), 2, "{sh}");
        let y = emit("k8s", &["--mem", given]);
        let want = format!("memory: \"{k8s}\"");
        assert_eq!(y.matches(&want).count(), 4, "{given}: {y}");
    }
    // The merge's memory on its own (it grows with the mosaic's width, not the tile's).
    let sh = emit("slurm", &["--mem", "2G", "--merge-mem", "16g"]);
    assert!(
        sh.contains("--array=\"$ARRAY\"")
            && sh.contains(" --mem=2G ")
            && sh.contains(" --mem=16G "),
        "{sh}"
    );
    let merge_job = sh.split("--job-name=").last().unwrap();
    assert!(
        merge_job.contains("--mem=16G") && merge_job.contains("merge"),
        "{sh}"
    );
    let y = emit("k8s", &["--mem", "2G", "--merge-mem", "16g"]);
    let (shards, merge) = y.split_once("\n---\n").unwrap();
    assert!(
        shards.contains("memory: \"2Gi\"") && !shards.contains("16Gi"),
        "{y}"
    );
    assert!(
        merge.contains("memory: \"16Gi\"") && !merge.contains("2Gi"),
        "{y}"
    );
    // Anything else is refused at emit time (1), naming the value and the forms.
    for engine in ["slurm", "k8s"] {
        for (flag, bad) in [("--mem", "1.5G"), ("--mem", "4X"), ("--merge-mem", "0")] {
            let o = minewatch(&["emit", engine, s(&cfg), flag, bad]);
            assert_eq!(o.status.code(), Some(1), "{flag} {bad}: {}", stderr(&o));
            assert!(
                stderr(&o).contains(&format!("`{bad}`"))
                    && stderr(&o).contains("binary unit K, M, G or T"),
                "{}",
                stderr(&o)
            );
            assert!(o.stdout.is_empty());
        }
    }
}

#[test]
fn emit_slurm_makes_a_relative_bin_absolute() {
    // Review S, f3: `--bin bin/minewatch` stayed relative while config, output folder and
    // data root were made absolute; the jobs run where the script is submitted, so it
    // worked from that one folder only (elsewhere every task exited 127).
    let d = tempfile::tempdir().unwrap();
    let cfg = clip_config(d.path(), "b.toml", &peer_rule_line(), "tile = 256\n");
    ok(&["plan", s(&cfg)]);
    let emit = |engine: &str, bin: &str| {
        let o = Command::new(env!("CARGO_BIN_EXE_minewatch"))
            .args(["emit", engine, "b.toml", "--bin", bin])
            .current_dir(d.path())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    let here = std::path::absolute(d.path()).unwrap();
    let sh = emit("slurm", "bin/minewatch");
    let abs_bin = s(&here.join("bin/minewatch")).to_string();
    for cmd in ["plan", "missing", "run", "merge"] {
        assert!(sh.contains(&format!("{abs_bin} {cmd} ")), "{cmd}: {sh}");
    }
    assert!(
        !sh.contains("\nbin/minewatch") && !sh.contains(" bin/minewatch"),
        "{sh}"
    );
    // A bare name is for the nodes' PATH.
    let sh = emit("slurm", "minewatch");
    assert!(
        sh.contains("\nminewatch plan ") && !sh.contains(&abs_bin),
        "{sh}"
    );
    // In a Kubernetes manifest the binary is a file in the image: written as given.
    let y = emit("k8s", "bin/minewatch");
    assert!(
        y.contains("[\"bin/minewatch\", \"run\"") && !y.contains(&abs_bin),
        "{y}"
    );
}

#[test]
fn a_zero_batch_or_parallelism_is_refused_not_read_as_one() {
    let d = tempfile::tempdir().unwrap();
    let cfg = clip_config(d.path(), "z.toml", &peer_rule_line(), "tile = 256\n");
    // A shard's or merge's bad argument is permanent (65: a Kubernetes index is not
    // retried, review I); the operator's commands say 1 as for any input they can fix.
    for (code, args) in [
        (65, vec!["run", s(&cfg), "--shard", "0", "--batch", "0"]),
        (65, vec!["run", s(&cfg), "--batch", "0", "--shard=0"]),
        (1, vec!["missing", s(&cfg), "--batch", "0"]),
        (1, vec!["emit", "slurm", s(&cfg), "--batch", "0"]),
        (1, vec!["emit", "k8s", s(&cfg), "--max-parallel", "0"]),
    ] {
        let o = minewatch(&args);
        assert_eq!(o.status.code(), Some(code), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("must be at least 1"), "{}", stderr(&o));
    }
    for args in [
        vec!["run", s(&cfg), "--shard", "x"],
        vec!["run", s(&cfg), "--shard", "--no-such-flag"],
        vec!["merge", s(&cfg), "--wait", "soon"],
        vec!["merge"],
    ] {
        let o = minewatch(&args);
        assert_eq!(o.status.code(), Some(65), "{args:?}: {}", stderr(&o));
    }
    // Help is not an error, and `run` without --shard is the operator's command.
    assert_eq!(minewatch(&["merge", "--help"]).status.code(), Some(0));
    assert_eq!(
        minewatch(&["run", s(&cfg), "--threads", "x"]).status.code(),
        Some(1)
    );
}

#[test]
fn the_plan_is_the_same_however_the_config_is_spelled_and_a_touched_image_is_named() {
    // The emitted launchers plan with the config's absolute path; a user re-planning by
    // hand types it relative. Both must be one plan, or the array's tasks refuse it.
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir(d.path().join("img")).unwrap();
    for day in ["20000503", "20020712"] {
        let name = format!("nanjing_L5TM_{day}_clip400.tif");
        std::fs::copy(
            root().join("fixtures/real").join(&name),
            d.path().join("img").join(&name),
        )
        .unwrap();
    }
    std::fs::write(
        d.path().join("p.toml"),
        format!(
            "name = \"p\"\nout = \"out\"\n[detect]\nimages = [\"img/nanjing_L5TM_*_clip400.tif\"]\n{}\n[shards]\ntile = 256\n",
            peer_rule_line()
        ),
    )
    .unwrap();
    let hash = |cfg: &str| -> String {
        let o = Command::new(env!("CARGO_BIN_EXE_minewatch"))
            .args(["plan", cfg, "--format", "json"])
            .current_dir(d.path())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["plan_hash"].as_str().unwrap().to_string()
    };
    let relative = hash("p.toml");
    assert_eq!(hash(s(&d.path().join("p.toml"))), relative);
    assert_eq!(hash("./p.toml"), relative);

    // An image whose time changed (a copy without times, a `touch`) is named, and the
    // message says what to do.
    let o = Command::new("touch")
        .args(["-d", "2001-01-01", "img/nanjing_L5TM_20020712_clip400.tif"])
        .current_dir(d.path())
        .status()
        .unwrap();
    assert!(o.success());
    let o = minewatch(&["run", s(&d.path().join("p.toml")), "--shard", "0"]);
    assert_eq!(o.status.code(), Some(65), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("nanjing_L5TM_20020712_clip400.tif changed since `minewatch plan`: its modification time changed, its size did not"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_store_folder_is_relative_to_the_config_and_other_schemes_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let write = |name: &str, store: &str| {
        clip_config(
            d.path(),
            name,
            &peer_rule_line(),
            &format!("tile = 256\nstore = \"{store}\"\n"),
        )
    };
    let cfg = write("f.toml", "exchange/run1");
    let plan: serde_json::Value =
        serde_json::from_str(&ok(&["plan", s(&cfg), "--format", "json"])).unwrap();
    let at = d.path().join("exchange/run1");
    assert_eq!(plan["plan"], s(&at.join("plan.json")));
    assert!(at.join("plan.json").is_file());
    ok(&["run", s(&cfg), "--shard", "1"]);
    assert!(at.join("tiles/t_r0_c256.mwt").is_file());
    assert!(!d.path().join("out/shards").exists());
    assert_eq!(ok(&["missing", s(&cfg)]).trim(), "0,2-3");

    let o = minewatch(&["plan", s(&write("g.toml", "gs://bucket/x"))]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("a folder or an s3://BUCKET/PREFIX URL"),
        "{}",
        stderr(&o)
    );
}

/// What changed after `plan` is named, not blamed on the first image: a sidecar GDAL reads
/// with an image (here NoData in `.aux.xml`, which changes the patches), the images'
/// order, the dates. A sidecar that appears after the shards stops the merge too, so a
/// merge never stitches tiles computed from another state of the inputs (a review: 28
/// patches from shards on both sides of the edit, where clean runs give 30 and 26).
#[test]
fn a_changed_sidecar_order_or_date_after_plan_is_named_and_refused() {
    let d = tempfile::tempdir().unwrap();
    for f in nanjing_clip() {
        std::fs::copy(&f, d.path().join(f.file_name().unwrap())).unwrap();
    }
    let write = |images: &str, dates: &str| {
        let cfg = d.path().join("p.toml");
        std::fs::write(
            &cfg,
            format!(
                "name = \"p\"\nout = \"out\"\n[detect]\nimages = [{images}]\n{dates}\n{}\n[shards]\ntile = 128\nbatch = 4\n",
                peer_rule_line()
            ),
        )
        .unwrap();
        cfg
    };
    let (a, b) = (
        "\"nanjing_L5TM_20000503_clip400.tif\"",
        "\"nanjing_L5TM_20020712_clip400.tif\"",
    );
    let cfg = write(&format!("{a}, {b}"), "");
    ok(&["plan", s(&cfg)]);
    ok(&["run", s(&cfg), "--shard", "0"]);
    let refused = |what: &str| {
        let o = minewatch(&["run", s(&cfg), "--shard", "1"]);
        assert_eq!(o.status.code(), Some(65), "{what}: {}", stderr(&o));
        assert!(stderr(&o).contains(what), "want `{what}`: {}", stderr(&o));
    };

    let aux = d.path().join("nanjing_L5TM_20020712_clip400.tif.aux.xml");
    std::fs::write(
        &aux,
        "<PAMDataset><PAMRasterBand band=\"1\"><NoDataValue>80</NoDataValue></PAMRasterBand></PAMDataset>\n",
    )
    .unwrap();
    refused("nanjing_L5TM_20020712_clip400.tif.aux.xml appeared since `minewatch plan`");
    std::fs::remove_file(&aux).unwrap();
    for i in 1..4 {
        ok(&["run", s(&cfg), "--shard", &i.to_string()]);
    }
    // Every tile is done: a sidecar added now stops the merge.
    std::fs::write(
        &aux,
        "<PAMDataset><PAMRasterBand band=\"1\"><NoDataValue>80</NoDataValue></PAMRasterBand></PAMDataset>\n",
    )
    .unwrap();
    let o = minewatch(&["merge", s(&cfg)]);
    assert_eq!(o.status.code(), Some(65), "{}", stderr(&o));
    assert!(stderr(&o).contains(".aux.xml appeared"), "{}", stderr(&o));
    assert!(!d.path().join("out/detect/patches.gpkg").exists());
    std::fs::remove_file(&aux).unwrap();

    write(
        &format!("{b}, {a}"),
        "dates = [\"2002-07-12\", \"2000-05-03\"]",
    );
    refused("the images' order changed since `minewatch plan`");
    write(
        &format!("{a}, {b}"),
        "dates = [\"2000-05-03\", \"2002-07-13\"]",
    );
    refused("detect.dates changed since `minewatch plan`");
    write(&format!("{a}, {b}"), "");
    ok(&["merge", s(&cfg)]);
}
