//! The per-user cache of input hashes: a rerun on unchanged files takes their sha256 from
//! it (and says so in the manifest); a file written since is read again; `off` disables it.
//! (Unit tests in `minewatch_pipeline::hash_cache` cover other sizes, inodes and times.)

mod common;
use common::*;
use std::path::Path;
use std::process::Command;

fn detect(cache: &str, t1: &Path, t2: &Path, out: &Path) -> serde_json::Value {
    let o = Command::new(env!("CARGO_BIN_EXE_minewatch"))
        .env("MINEWATCH_HASH_CACHE", cache)
        .args(["detect", s(t1), s(t2), "--out", s(out), "--quiet"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    manifest(out)
}

/// (sha256, from cache) per input of a detect manifest.
fn hashes(m: &serde_json::Value) -> Vec<(String, bool)> {
    m["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["sha256"].as_str().unwrap().to_string(),
                i["sha256_from_cache"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

fn sha256sum(p: &Path) -> String {
    let o = Command::new("sha256sum").arg(p).output().unwrap();
    String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn reruns_take_unchanged_files_hashes_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let t1 = dir.path().join("nanjing_20000503.tif");
    let t2 = dir.path().join("nanjing_20020712.tif");
    std::fs::copy(fixture("real/nanjing_L5TM_20000503_clip400.tif"), &t1).unwrap();
    std::fs::copy(fixture("real/nanjing_L5TM_20020712_clip400.tif"), &t2).unwrap();
    // Files changed less than the racy margin before they are hashed are never cached.
    std::thread::sleep(std::time::Duration::from_millis(2200));
    let cache = dir.path().join("cache");
    let c = s(&cache);
    let truth = [sha256sum(&t1), sha256sum(&t2)];

    let first = detect(c, &t1, &t2, &dir.path().join("o1"));
    assert_eq!(
        hashes(&first),
        vec![(truth[0].clone(), false), (truth[1].clone(), false)]
    );
    assert_eq!(
        std::fs::read_dir(&cache).unwrap().count(),
        2,
        "one entry per input"
    );

    let second = detect(c, &t1, &t2, &dir.path().join("o2"));
    assert_eq!(
        hashes(&second),
        vec![(truth[0].clone(), true), (truth[1].clone(), true)]
    );
    assert_same_data(
        &dir.path().join("o1"),
        &dir.path().join("o2"),
        "cached rerun",
    );

    // Written again (even with the same bytes, as a copy or a re-export does): its
    // status-change time moved, so it is read again rather than trusted.
    std::fs::write(&t2, std::fs::read(&t2).unwrap()).unwrap();
    let third = detect(c, &t1, &t2, &dir.path().join("o3"));
    assert_eq!(
        hashes(&third),
        vec![(truth[0].clone(), true), (truth[1].clone(), false)]
    );

    // Switched off: every file is read.
    let off = detect("off", &t1, &t2, &dir.path().join("o4"));
    assert!(hashes(&off).iter().all(|(_, cached)| !cached));
}
