//! `minewatch run | validate | schema | docs`: the whole chain from one config, resume after
//! a real kill with byte-identical outputs, config errors named, generated docs current.

mod common;
use common::*;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn run_manifest(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("run_manifest.json")).unwrap()).unwrap()
}

fn stages(out: &Path) -> Vec<(String, String)> {
    let m = run_manifest(out);
    m["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["stage"].as_str().unwrap().to_string(),
                s["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn killed_run_resumes_to_byte_identical_outputs() {
    let d = tempfile::tempdir().unwrap();
    let cfg = root().join("pipelines/demo.toml");
    let clean = d.path().join("clean");
    let o = minewatch(&["run", s(&cfg), "--out", s(&clean)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let all: Vec<String> = stages(&clean)
        .into_iter()
        .map(|(n, st)| format!("{n}:{st}"))
        .collect();
    assert_eq!(
        all,
        [
            "detect:done",
            "overlay:done",
            "rank:done",
            "package:done",
            "sample:done"
        ]
    );
    let summaries = |out: &Path| -> Vec<serde_json::Value> {
        run_manifest(out)["stages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["summary"].clone())
            .collect()
    };
    let first = summaries(&clean);
    assert!(first.iter().all(|v| v.is_object()), "{first:?}");
    // Again: nothing to do, and the record still says what each stage produced (a review
    // found `summary: null` for every skipped stage).
    assert!(minewatch(&["run", s(&cfg), "--out", s(&clean)])
        .status
        .success());
    assert!(stages(&clean).iter().all(|(_, st)| st == "skipped"));
    assert_eq!(summaries(&clean), first);

    // A county fills its form in place; the next run redoes the packages but keeps the
    // filled form (a review found it overwritten).
    let county = std::fs::read_dir(clean.join("packages"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.is_dir())
        .expect("a county folder");
    let form = county.join("tasks.csv");
    let original = std::fs::read(&form).unwrap();
    let mut filled = original.clone();
    filled.extend_from_slice("已核查,合法\n".as_bytes());
    std::fs::write(&form, &filled).unwrap();
    let o = minewatch(&["run", s(&cfg), "--out", s(&clean)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("was edited since the stage wrote it"));
    let rel = form.strip_prefix(clean.join("packages")).unwrap();
    let kept = clean.join("kept-edits/package").join(rel);
    assert_eq!(
        std::fs::read(&kept).unwrap(),
        filled,
        "the filled form is kept"
    );
    assert_eq!(
        std::fs::read(&form).unwrap(),
        original,
        "the package is whole again"
    );
    assert_eq!(stages(&clean)[3].1, "done");

    // Kill a second run once ranking has finished (packages are being cut), then resume.
    let killed = d.path().join("killed");
    let mut child = Command::new(env!("CARGO_BIN_EXE_minewatch"))
        .args(["run", s(&cfg), "--out", s(&killed), "--threads", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while !killed.join("rank/rank_manifest.json").exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "rank never finished"
        );
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        !killed.join("run_manifest.json").exists(),
        "a killed run writes no run manifest"
    );
    let o = minewatch(&["run", s(&cfg), "--out", s(&killed)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let st = stages(&killed);
    // detect and overlay were recorded before ranking started; rank itself may have been
    // killed between writing its outputs and recording them, and then simply runs again.
    for (name, status) in &st[..2] {
        assert_eq!(status, "skipped", "{name} finished before the kill");
    }
    assert_ne!(st[3].1, "skipped", "packages were cut after the kill");
    let (a, b) = (data_files(&clean), data_files(&killed));
    assert_eq!(a, b, "same files");
    assert!(a.len() > 100, "{} files", a.len());
    for f in &a {
        let same = std::fs::read(clean.join(f)).unwrap() == std::fs::read(killed.join(f)).unwrap();
        assert!(same, "{} differs after resume", f.display());
    }
    // Changing an input re-runs what depends on it: a new sample seed re-draws only the sample.
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("../", &format!("{}/", root().display()));
    let text = text
        .replace(
            "\"peer-rule.toml\"",
            &format!("\"{}/pipelines/peer-rule.toml\"", root().display()),
        )
        .replace(
            "\"layers/nanjing.toml\"",
            &format!("\"{}/pipelines/layers/nanjing.toml\"", root().display()),
        )
        .replace(
            "\"policy/default.toml\"",
            &format!("\"{}/pipelines/policy/default.toml\"", root().display()),
        )
        .replace("seed = 20241201", "seed = 7");
    let cfg2 = d.path().join("demo2.toml");
    std::fs::write(&cfg2, text).unwrap();
    assert!(minewatch(&["run", s(&cfg2), "--out", s(&clean)])
        .status
        .success());
    let st: Vec<String> = stages(&clean).into_iter().map(|(_, s)| s).collect();
    assert_eq!(st, ["skipped", "skipped", "skipped", "skipped", "done"]);
}

#[test]
fn validate_names_what_is_wrong() {
    let d = tempfile::tempdir().unwrap();
    let write = |name: &str, body: &str| {
        let p = d.path().join(name);
        std::fs::write(&p, body).unwrap();
        p
    };
    let imgs = format!(
        "{}/fixtures/real/nanjing_L5TM_*_nw400.tif",
        root().display()
    );
    let cases = [
        (format!("name='x'\nout='o'\n[detect]\nimages=['{}/nope_*.tif']\n", root().display()), "matches no file"),
        (format!("name='x'\nout='o'\n[detect]\nimages=['{imgs}']\n[rank]\n"), "[rank] needs [overlay]"),
        (format!("name='x'\nout='o'\n[detect]\nimages=['{imgs}']\n[overlay]\nlayers='missing.toml'\n"), "overlay.layers"),
        (format!("name='x'\nout='o'\nbogus=1\n[detect]\nimages=['{imgs}']\n"), "unknown field `bogus`"),
        (format!("name='x'\nout='o'\n[detect]\nimages=['{imgs}']\ndates=['2020-13-01','2021-01-01']\n"), "detect.dates"),
    ];
    for (i, (body, want)) in cases.iter().enumerate() {
        let p = write(&format!("c{i}.toml"), body);
        let o = minewatch(&["validate", s(&p)]);
        assert_eq!(o.status.code(), Some(1), "{want}");
        let e = stderr(&o);
        assert!(
            e.contains(want) && e.contains(&format!("c{i}.toml")),
            "want `{want}`: {e}"
        );
    }
    // `@data/` paths resolve against --data-root.
    let p = write(
        "data.toml",
        "name='x'\nout='@data/out'\n[detect]\nimages=['@data/fixtures/real/nanjing_L5TM_*_nw400.tif']\n",
    );
    let o = minewatch(&["validate", s(&p), "--data-root", s(&root())]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["images"].as_array().unwrap().len(), 2);
    // Every shipped example parses (the provincial one needs its data root to validate).
    for f in ["demo.toml", "smoke.toml"] {
        let o = minewatch(&["validate", s(&root().join("pipelines").join(f))]);
        assert!(o.status.success(), "{f}: {}", stderr(&o));
    }
    let o = minewatch(&[
        "validate",
        s(&root().join("pipelines/provincial.toml")),
        "--data-root",
        s(d.path()),
    ]);
    assert!(stderr(&o).contains("detect.images"), "{}", stderr(&o));
}

#[test]
fn generated_docs_and_schema_are_current() {
    for (what, file) in [("cli", "docs/cli.md"), ("config", "docs/config.md")] {
        let o = minewatch(&["docs", what]);
        assert!(o.status.success());
        let committed = std::fs::read_to_string(root().join(file)).unwrap();
        assert!(
            String::from_utf8(o.stdout).unwrap() == committed,
            "{file} is stale: regenerate with `minewatch docs {what} > {file}`"
        );
    }
    let o = minewatch(&["schema"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for k in [
        "name", "out", "detect", "overlay", "rank", "package", "sample",
    ] {
        assert!(v["properties"].get(k).is_some(), "{k}");
    }
    assert_eq!(v["properties"]["detect"]["required"][0], "images");
}

/// A run config of the real Nanjing chain detect → overlay → rank with absolute paths, plus
/// `extra` (more tables or keys); its path.
fn chain_config(dir: &Path, name: &str, extra: &str) -> std::path::PathBuf {
    let r = root();
    let body = format!(
        "name = 'chain'\nout = 'out'\n[detect]\nimages = ['{}/fixtures/real/nanjing_L5TM_*_nw400.tif']\n\
         [overlay]\nlayers = '{}/pipelines/layers/nanjing.toml'\n[rank]\npolicy = '{}/pipelines/policy/default.toml'\n{extra}",
        r.display(),
        r.display(),
        r.display()
    );
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

fn statuses(out: &Path) -> Vec<String> {
    stages(out).into_iter().map(|(_, st)| st).collect()
}

/// Data files of a run folder with their bytes.
fn snapshot(out: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    data_files(out)
        .into_iter()
        .map(|f| {
            let b = std::fs::read(out.join(&f)).unwrap();
            (f, b)
        })
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        let q = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &q);
        } else {
            std::fs::copy(&p, &q).unwrap();
        }
    }
}

#[test]
fn resume_runs_again_a_stage_whose_outputs_are_gone_or_changed() {
    let d = tempfile::tempdir().unwrap();
    let cfg = chain_config(d.path(), "chain.toml", "");
    let out = d.path().join("out");
    let run = || {
        let o = minewatch(&["run", s(&cfg), "--out", s(&out)]);
        assert!(o.status.success(), "{}", stderr(&o));
        o
    };
    run();
    assert_eq!(statuses(&out), ["done", "done", "done"]);
    let first = snapshot(&out);
    // The reviewer's case: a deleted overlay output. Overlay and everything after it run.
    std::fs::remove_file(out.join("overlay/findings.gpkg")).unwrap();
    let o = run();
    assert_eq!(statuses(&out), ["skipped", "done", "done"]);
    assert!(
        stderr(&o).contains("findings.gpkg is missing"),
        "{}",
        stderr(&o)
    );
    assert!(snapshot(&out) == first, "outputs differ after the re-run");
    // A truncated output.
    let tasks = out.join("rank/tasks.gpkg");
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&tasks)
        .unwrap();
    f.set_len(f.metadata().unwrap().len() / 2).unwrap();
    drop(f);
    run();
    assert_eq!(statuses(&out), ["skipped", "skipped", "done"]);
    assert!(snapshot(&out) == first, "outputs differ after the re-run");
    // The damaged file is not destroyed: it may be someone's work.
    assert!(out.join("kept-edits/rank/tasks.gpkg").is_file());
    // An edit that keeps the size: found by the hash.
    let ledger = out.join("rank/ledger.csv");
    let mut b = std::fs::read(&ledger).unwrap();
    let last = b.len() - 2;
    b[last] = if b[last] == b'0' { b'1' } else { b'0' };
    std::fs::write(&ledger, &b).unwrap();
    run();
    assert_eq!(statuses(&out), ["skipped", "skipped", "done"]);
    assert!(snapshot(&out) == first, "outputs differ after the re-run");
    // A copied folder has new file identities but the same contents: nothing runs.
    let copy = d.path().join("copy");
    copy_dir(&out, &copy);
    let o = minewatch(&["run", s(&cfg), "--out", s(&copy)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(statuses(&copy), ["skipped", "skipped", "skipped"]);
}

/// A reviewer's cases (revM): a photo a county put in its package folder was deleted,
/// without a word, when the package stage ran again; and a stage taken out of the config
/// left its last outputs (packages of an earlier ranking) beside the new ones.
#[test]
fn added_files_are_kept_and_a_dropped_stage_leaves_nothing_stale() {
    let d = tempfile::tempdir().unwrap();
    let cfg = chain_config(d.path(), "chain.toml", "[package]\n");
    let out = d.path().join("out");
    let run = || {
        let o = minewatch(&["run", s(&cfg), "--out", s(&out)]);
        assert!(o.status.success(), "{}", stderr(&o));
        o
    };
    run();
    assert_eq!(statuses(&out), ["done", "done", "done", "done"]);
    let county = std::fs::read_dir(out.join("packages"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.is_dir())
        .expect("a county folder");
    let photo = county.join("photos/IMG_0001.jpg");
    std::fs::create_dir_all(photo.parent().unwrap()).unwrap();
    std::fs::write(&photo, b"a photo").unwrap();
    // Something makes the package stage run again (here: one of its files is gone).
    let zip = std::fs::read_dir(out.join("packages"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "zip"))
        .expect("a county zip");
    std::fs::remove_file(&zip).unwrap();
    let o = run();
    assert_eq!(statuses(&out), ["skipped", "skipped", "skipped", "done"]);
    assert!(
        stderr(&o).contains("was added since the stage wrote its folder"),
        "{}",
        stderr(&o)
    );
    let rel = photo.strip_prefix(out.join("packages")).unwrap();
    assert_eq!(
        std::fs::read(out.join("kept-edits/package").join(rel)).unwrap(),
        b"a photo"
    );
    assert!(zip.is_file(), "the package is whole again");

    // The package stage leaves the config: its outputs go with it.
    let cfg = chain_config(d.path(), "chain.toml", "");
    let o = minewatch(&["run", s(&cfg), "--out", s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("package: no longer in the config"),
        "{}",
        stderr(&o)
    );
    assert_eq!(statuses(&out), ["skipped", "skipped", "skipped"]);
    assert!(
        !zip.exists() && !county.exists(),
        "stale packages left behind"
    );
    let state = std::fs::read_to_string(out.join("run_state.json")).unwrap();
    assert!(!state.contains("\"package\""), "{state}");
}

/// Two runs into one folder at once both exited 0 and left a mix (a reviewer's case):
/// while another process holds the folder's run lock, a run refuses (exit 1) and names
/// it; once the lock is released, the run goes on.
#[test]
fn a_folder_another_run_is_writing_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let cfg = chain_config(d.path(), "chain.toml", "");
    let out = d.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let held = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(out.join(".minewatch-run.lock"))
        .unwrap();
    held.lock().unwrap();
    let o = minewatch(&["run", s(&cfg), "--out", s(&out)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("another minewatch run or merge is writing this folder"),
        "{}",
        stderr(&o)
    );
    assert!(
        !out.join("detect").exists(),
        "nothing written under another run"
    );
    drop(held);
    let o = minewatch(&["run", s(&cfg), "--out", s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// A process id that no longer runs: a child that has exited and been waited for.
fn dead_pid() -> u32 {
    let mut c = Command::new("true").spawn().unwrap();
    let pid = c.id();
    c.wait().unwrap();
    pid
}

#[test]
fn staging_folders_of_killed_runs_are_removed_and_live_ones_kept() {
    let d = tempfile::tempdir().unwrap();
    let cfg = chain_config(d.path(), "chain.toml", "");
    let out = d.path().join("out");
    // kill -9 during detection leaves its staging folder.
    let mut child = Command::new(env!("CARGO_BIN_EXE_minewatch"))
        .args(["run", s(&cfg), "--out", s(&out), "--threads", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let killed = out.join(format!("detect/.minewatch-staging-{}", child.id()));
    let t0 = Instant::now();
    while !killed.exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "detect never staged"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before the kill"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(killed.is_dir());
    // Beside it: a live process's folder (this test's; without a host, as older versions
    // wrote them) and a dead process's folder made on another machine.
    let live = out.join(format!("detect/.minewatch-staging-{}", std::process::id()));
    std::fs::create_dir_all(live.join("x")).unwrap();
    let other_host = out.join(format!("rank/.minewatch-staging-{}", dead_pid()));
    std::fs::create_dir_all(&other_host).unwrap();
    std::fs::write(other_host.join(".host"), "some-other-machine").unwrap();
    let dead_here = out.join(format!("rank/.minewatch-staging-{}", dead_pid()));
    std::fs::create_dir_all(dead_here.join("tasks")).unwrap();
    let o = minewatch(&["run", s(&cfg), "--out", s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!killed.exists(), "the killed run's staging folder is left");
    assert!(
        !dead_here.exists(),
        "a dead process's staging folder is left"
    );
    assert!(
        live.join("x").is_dir(),
        "a live process lost its staging folder"
    );
    assert!(
        other_host.is_dir(),
        "another machine's staging folder was removed"
    );
    // A stage command cleans the folder it stages into too.
    let sample = d.path().join("sample");
    let dead = sample.join(format!(".minewatch-staging-{}", dead_pid()));
    std::fs::create_dir_all(&dead).unwrap();
    let o = minewatch(&[
        "sample",
        s(&out.join("rank")),
        "--seed",
        "1",
        "--rate",
        "0.5",
        "--out",
        s(&sample),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        !dead.exists(),
        "sample left a dead process's staging folder"
    );
    let left: Vec<_> = std::fs::read_dir(&sample)
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".minewatch-staging")
        })
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn validate_refuses_up_front_what_a_stage_would_refuse_later() {
    let d = tempfile::tempdir().unwrap();
    let r = root();
    let write = |name: &str, body: String| {
        let p = d.path().join(name);
        std::fs::write(&p, body).unwrap();
        p
    };
    let gpkg = r.join("fixtures/vectors/china_nanjing.gpkg");
    let layers = |extra: &str, path: &Path| {
        format!(
            "[[layer]]\nname = 'prov'\npath = '{}'\nkind = 'admin_division'\nlevel = 'province'\ncode_field = 'adcode99'\n{extra}",
            path.display()
        )
    };
    let no_file = write(
        "l1.toml",
        layers("layer = 'provinces'", &d.path().join("gone.gpkg")),
    );
    let no_layer = write("l2.toml", layers("layer = 'nope'", &gpkg));
    let no_field = write(
        "l3.toml",
        layers("layer = 'provinces'\nname_field = 'bogus'", &gpkg),
    );
    let table = write("t.csv", "site,when\nA,2020-01-01\n".into());
    let cases: Vec<(String, &str)> = vec![
        (
            "[sample]\nseed = 1\nrate = 1.5\n".into(),
            "sample.rate = 1.5 must be in (0, 1]",
        ),
        (
            "[sample]\nseed = 1\nrate = 0.2\nmust = ['score>=high']\n".into(),
            "sample.must = \"score>=high\"",
        ),
        // Review finding: a typo in a stratum column passed validate and failed the run
        // after every other stage.
        (
            "[sample]\nseed = 1\nrate = 0.2\nstrata = ['county_cod']\n".into(),
            "sample.strata names `county_cod`",
        ),
        (
            "[sample]\nseed = 1\nrate = 0.2\nmust = ['licence_stat=expired']\n".into(),
            "names `licence_stat`",
        ),
        ("".into(), "detect.dates gives 1 date(s) for 2 image(s)"),
        (format!("#{}", no_file.display()), "gone.gpkg not found"),
        (format!("#{}", no_layer.display()), "no layer `nope`"),
        (format!("#{}", no_field.display()), "no field `bogus`"),
        (format!("history = '{}'\n", table.display()), "rank.history"),
        (
            format!("penalties = '{}'\n", table.display()),
            "rank.penalties",
        ),
        (format!("prices = '{}'\n", table.display()), "rank.prices"),
    ];
    for (i, (extra, want)) in cases.iter().enumerate() {
        let name = format!("c{i}.toml");
        let p = chain_config(d.path(), &name, "");
        let mut text = std::fs::read_to_string(&p).unwrap();
        if let Some(l) = extra.strip_prefix('#') {
            text = text.replace(&format!("{}/pipelines/layers/nanjing.toml", r.display()), l);
        } else if extra.is_empty() {
            text = text.replace("[overlay]", "dates = ['2000-05-03']\n[overlay]");
        } else {
            text += extra;
        }
        std::fs::write(&p, text).unwrap();
        let o = minewatch(&["validate", s(&p)]);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{want}: {e}");
        assert!(e.contains(want) && e.contains(&name), "want `{want}`: {e}");
        if want.starts_with("rank.") {
            assert!(e.contains("no column `"), "{e}");
        }
        if want.contains("no layer") || want.contains("no field") || want.contains("not found") {
            assert!(e.contains("overlay.layers"), "{e}");
        }
        // The run refuses it before its first stage, in the same words.
        let out = d.path().join(format!("out{i}"));
        let o = minewatch(&["run", s(&p), "--out", s(&out)]);
        assert_eq!(o.status.code(), Some(1), "{want}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{}", stderr(&o));
        assert!(!out.join("detect").exists(), "{want}: detection ran");
    }
}

#[test]
fn schema_bounds_are_the_loaders() {
    let o = minewatch(&["schema"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let p = &v["properties"];
    assert_eq!(p["sample"]["required"], serde_json::json!(["seed"]));
    assert_eq!(p["overlay"]["required"], serde_json::json!(["layers"]));
    assert_eq!(p["shards"]["properties"]["tile"]["minimum"], 64);
    assert_eq!(p["shards"]["properties"]["batch"]["minimum"], 1);
    assert_eq!(p["sample"]["properties"]["rate"]["exclusiveMinimum"], 0);
    assert_eq!(p["sample"]["properties"]["rate"]["maximum"], 1);
    assert_eq!(p["sample"]["oneOf"].as_array().unwrap().len(), 2);
    assert_eq!(
        v["dependentRequired"]["sample"],
        serde_json::json!(["rank"])
    );
    // The loader agrees at each bound.
    let d = tempfile::tempdir().unwrap();
    let check = |extra: &str| -> std::process::Output {
        let p = chain_config(d.path(), "b.toml", extra);
        minewatch(&["validate", s(&p)])
    };
    for (extra, want) in [
        ("[sample]\nrate = 0.1\n", "missing field `seed`"),
        ("[sample]\nseed = 1\nrate = 0\n", "sample.rate = 0 must be"),
        (
            "[sample]\nseed = 1\nrate = 0.1\ncount = 3\n",
            "exactly one of",
        ),
        ("[shards]\ntile = 63\n", "at least 64"),
        ("[shards]\nbatch = 0\n", "batch at least 1"),
    ] {
        let o = check(extra);
        assert_eq!(o.status.code(), Some(1), "{extra}");
        assert!(stderr(&o).contains(want), "{extra}: {}", stderr(&o));
    }
    for extra in [
        "[sample]\nseed = 1\nrate = 1\n",
        "[shards]\ntile = 64\nbatch = 1\n",
    ] {
        let o = check(extra);
        assert!(o.status.success(), "{extra}: {}", stderr(&o));
    }
}

#[test]
fn data_root_messages_say_where_and_how() {
    let cfg = root().join("pipelines/provincial.toml");
    let validate = |args: &[&str], env: Option<&Path>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_minewatch"));
        c.arg("validate").arg(&cfg).args(args);
        c.env_remove("MINEWATCH_DATA_ROOT");
        if let Some(e) = env {
            c.env("MINEWATCH_DATA_ROOT", e);
        }
        let o = c.output().unwrap();
        assert_eq!(o.status.code(), Some(1));
        stderr(&o)
    };
    // No data root anywhere: resolved against the config's folder, and how to set one.
    let e = validate(&[], None);
    for want in [
        "`@data/imagery/js_*.tif` matches no file",
        "the config's own folder",
        "--data-root",
        "MINEWATCH_DATA_ROOT",
    ] {
        assert!(e.contains(want), "want `{want}`: {e}");
    }
    let d = tempfile::tempdir().unwrap();
    let e = validate(&[], Some(d.path()));
    assert!(
        e.contains(&format!(
            "data root {}, from MINEWATCH_DATA_ROOT",
            d.path().display()
        )),
        "{e}"
    );
    // A data root that does not exist is reported as such.
    let gone = d.path().join("no-such-folder");
    let e = validate(&["--data-root", s(&gone)], None);
    assert!(
        e.contains(&format!(
            "data root {} (from --data-root) is not a folder",
            gone.display()
        )),
        "{e}"
    );
}

/// A sidecar GDAL reads with an image (here NoData in `.aux.xml`) is an input of the
/// detection: adding or editing one runs the detection again instead of keeping results
/// made without it.
#[test]
fn an_edited_sidecar_runs_the_detection_again() {
    let d = tempfile::tempdir().unwrap();
    for p in nanjing_clip() {
        std::fs::copy(&p, d.path().join(p.file_name().unwrap())).unwrap();
    }
    let cfg = d.path().join("det.toml");
    std::fs::write(
        &cfg,
        "name = 'det'\nout = 'out'\n[detect]\nimages = ['nanjing_L5TM_*.tif']\n",
    )
    .unwrap();
    let out = d.path().join("out");
    let run = || {
        let o = minewatch(&["run", s(&cfg)]);
        assert!(o.status.success(), "{}", stderr(&o));
    };
    let valid = || manifest(&out.join("detect"))["pairs"][0]["valid_pixels"].clone();
    run();
    assert_eq!(statuses(&out), ["done"]);
    let before = valid();
    run();
    assert_eq!(statuses(&out), ["skipped"]);
    // The later date's most common blue value declared NoData, in a sidecar only.
    let img = std::fs::read_dir(d.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "tif"))
        .max()
        .unwrap();
    let ds = gdal::Dataset::open(&img).unwrap();
    let (w, h) = ds.raster_size();
    let v: Vec<u8> = ds
        .rasterband(1)
        .unwrap()
        .read_as::<u8>((0, 0), (w, h), (w, h), None)
        .unwrap()
        .data()
        .to_vec();
    drop(ds);
    let mut counts = [0usize; 256];
    v.iter().for_each(|&x| counts[x as usize] += 1);
    let common = (0..256).max_by_key(|&i| counts[i]).unwrap();
    let mut side = img.as_os_str().to_owned();
    side.push(".aux.xml");
    std::fs::write(
        &side,
        format!("<PAMDataset><PAMRasterBand band=\"1\"><NoDataValue>{common}</NoDataValue></PAMRasterBand></PAMDataset>"),
    )
    .unwrap();
    run();
    assert_eq!(statuses(&out), ["done"], "the sidecar is an input");
    let after = valid();
    assert!(
        after.as_u64().unwrap() < before.as_u64().unwrap(),
        "{after} vs {before}"
    );
}

/// A config given by its bare file name, run beside it: its folder is `.`, for globs with
/// no folder part and for a data root taken from the config's own folder.
#[test]
fn a_config_given_by_bare_file_name_resolves_beside_it() {
    let d = tempfile::tempdir().unwrap();
    for f in nanjing_clip() {
        std::fs::copy(&f, d.path().join(f.file_name().unwrap())).unwrap();
    }
    std::fs::write(
        d.path().join("p.toml"),
        "name='x'\nout='o'\n[detect]\nimages=['nanjing_L5TM_*_clip400.tif']\n",
    )
    .unwrap();
    std::fs::write(
        d.path().join("q.toml"),
        "name='x'\nout='@data/o'\n[detect]\nimages=['@data/nanjing_L5TM_*_clip400.tif']\n",
    )
    .unwrap();
    for cfg in ["p.toml", "q.toml"] {
        let o = minewatch_in(d.path(), &["validate", cfg]);
        assert!(o.status.success(), "{cfg}: {}", stderr(&o));
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            out.contains("nanjing_L5TM_20000503_clip400.tif")
                && out.contains("nanjing_L5TM_20020712_clip400.tif"),
            "{cfg}: {out}"
        );
    }
}

/// Review finding: a glob that also matched an undated quicklook or a same-date backup
/// passed `validate` and failed the run; the failed run then left the earlier run's
/// manifest saying every stage was done with the earlier image list; and the manifest
/// recorded the config's `data_root` even when `--data-root` chose another.
#[test]
fn validate_dates_the_images_and_a_failed_run_says_so() {
    let d = tempfile::tempdir().unwrap();
    let r = root();
    let img = d.path().join("data/imagery");
    std::fs::create_dir_all(&img).unwrap();
    for n in [
        "nanjing_L5TM_20000503_nw400.tif",
        "nanjing_L5TM_20020712_nw400.tif",
    ] {
        std::fs::copy(r.join("fixtures/real").join(n), img.join(n)).unwrap();
    }
    let cfg = d.path().join("c.toml");
    std::fs::write(
        &cfg,
        "name = 'dates'\nout = 'out'\ndata_root = 'elsewhere'\n[detect]\nimages = ['@data/imagery/*_nw400.tif']\n",
    )
    .unwrap();
    let data = d.path().join("data");
    let out = d.path().join("out");
    let run = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_minewatch"));
        c.args(args).args(["--data-root", s(&data)]);
        c.env_remove("MINEWATCH_DATA_ROOT").output().unwrap()
    };
    let o = run(&["validate", s(&cfg)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("2000-05-03") && e.contains("date from file name"),
        "{e}"
    );
    let o = run(&["run", s(&cfg), "--out", s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m = run_manifest(&out);
    assert_eq!(m["status"], "done");
    assert_eq!(m["resolved"]["data_root"].as_str(), Some(s(&data)), "{m}");
    assert!(m["working_dir"].is_string(), "{m}");

    // An undated file the glob also matches: validate refuses it, naming file and key.
    let undated = img.join("quicklook_nw400.tif");
    std::fs::copy(img.join("nanjing_L5TM_20020712_nw400.tif"), &undated).unwrap();
    let o = run(&["validate", s(&cfg)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("detect.images")
            && e.contains("quicklook_nw400.tif")
            && e.contains("no acquisition date"),
        "{e}"
    );
    std::fs::remove_file(&undated).unwrap();
    // A same-date copy: refused up front too.
    std::fs::copy(
        img.join("nanjing_L5TM_20020712_nw400.tif"),
        img.join("nanjing_L5TM_20020712_backup_nw400.tif"),
    )
    .unwrap();
    let o = run(&["validate", s(&cfg)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("have the same date 2002-07-12"),
        "{}",
        stderr(&o)
    );
    // The run fails in detect, and its manifest says so instead of the earlier success.
    let o = run(&["run", s(&cfg), "--out", s(&out)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let m = run_manifest(&out);
    assert_eq!(m["status"], "failed", "{m}");
    assert_eq!(m["failures"][0]["stage"], "detect", "{m}");
    assert_eq!(m["failures"][0]["exit_code"], 1, "{m}");
    assert!(
        m["failures"][0]["error"]
            .as_str()
            .unwrap()
            .contains("same date"),
        "{m}"
    );
    assert_eq!(m["images"].as_array().unwrap().len(), 3, "{m}");
    assert!(m["stages"].as_array().unwrap().is_empty(), "{m}");
}

/// Review finding (session 17): images dated by `detect.dates` (names and metadata
/// without a date) went through detect, overlay and rank, then the package stage failed
/// with "no acquisition date" and no key to fix it.
#[test]
fn undated_images_dated_by_the_config_reach_the_packages() {
    let d = tempfile::tempdir().unwrap();
    let r = root();
    for (from, to) in [
        ("nanjing_L5TM_20000503_nw400.tif", "before.tif"),
        ("nanjing_L5TM_20020712_nw400.tif", "after.tif"),
    ] {
        std::fs::copy(r.join("fixtures/real").join(from), d.path().join(to)).unwrap();
    }
    let cfg = d.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!(
            "name = 'undated'\nout = 'out'\n[detect]\nimages = ['before.tif', 'after.tif']\ndates = ['2000-05-03', '2002-07-12']\n\
             [overlay]\nlayers = '{0}/pipelines/layers/nanjing.toml'\n[rank]\npolicy = '{0}/pipelines/policy/default.toml'\n[package]\n",
            r.display()
        ),
    )
    .unwrap();
    let o = minewatch(&["run", s(&cfg)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(d.path().join("out/packages/package_manifest.json")).unwrap(),
    )
    .unwrap();
    let dates: Vec<&str> = m["imagery"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["date"].as_str().unwrap())
        .collect();
    assert_eq!(dates, ["2000-05-03", "2002-07-12"], "{m}");
    // The command too: `package --dates`, and without it the error says so.
    let package = |out: &str, dates: &[&str]| {
        let (rank, a, b, out) = (
            d.path().join("out/rank"),
            d.path().join("before.tif"),
            d.path().join("after.tif"),
            d.path().join(out),
        );
        let mut args = vec![
            "package",
            s(&rank),
            "--imagery",
            s(&a),
            s(&b),
            "--out",
            s(&out),
        ];
        args.extend_from_slice(dates);
        minewatch(&args)
    };
    let o = package("pk", &["--dates", "2000-05-03,2002-07-12"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = package("pk2", &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("no acquisition date"), "{}", stderr(&o));
}

/// Review finding (session 22): Ctrl-C or a batch engine's SIGTERM killed the process at
/// once and left its staging folder (hundreds of files for a package) until a later run.
/// Now the signal removes the unfinished outputs and the run exits as partial (2).
#[test]
fn sigterm_removes_the_unfinished_outputs_and_exits_partial() {
    let d = tempfile::tempdir().unwrap();
    let [a, b] = synth_pair(d.path(), 2048, 2048, 11);
    let staged = |out: &Path| {
        std::fs::read_dir(out).is_ok_and(|es| {
            es.flatten().any(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(".minewatch-staging-")
            })
        })
    };
    // The detection runs on one thread for a second or more after its staging folder is
    // made; a run that finished before the signal arrived is tried again.
    for attempt in 0..3 {
        let out = d.path().join(format!("out{attempt}"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_minewatch"))
            .args(["detect", s(&a), s(&b), "--out", s(&out), "--threads", "1"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let t0 = Instant::now();
        while !staged(&out) && child.try_wait().unwrap().is_none() {
            assert!(t0.elapsed() < Duration::from_secs(60), "no staging folder");
            std::thread::sleep(Duration::from_millis(1));
        }
        let kill = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        let o = child.wait_with_output().unwrap();
        if o.status.code() == Some(0) {
            continue; // finished before the signal
        }
        assert!(kill.success());
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains("stopped by SIGTERM"), "{err}");
        assert!(!staged(&out), "staging folder left: {err}");
        for f in [
            "patches.gpkg",
            "patches.geojson",
            "patches.csv",
            "manifest.json",
        ] {
            assert!(!out.join(f).exists(), "{f} written by an interrupted run");
        }
        return;
    }
    panic!("detect finished before SIGTERM every time");
}
