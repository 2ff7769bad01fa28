//! `minewatch package` on the real Nanjing chain (detect → overlay → rank → package):
//! every task has a chip per date and composite with its outline drawn, the tables carry the
//! empty field form, KML / GPX / overview / zip are there, and the offline page — rendered
//! in headless Chromium — shows every task and every chip.

mod common;
use common::*;
use std::path::PathBuf;
use std::process::Command;

/// `package` of rank folder `rk` over `images` with the Nanjing layers, into `out`.
fn package_nanjing(
    rk: &std::path::Path,
    images: &[&std::path::Path],
    out: &std::path::Path,
    extra: &[&str],
) -> std::process::Output {
    let layers = root().join("pipelines/layers/nanjing.toml");
    let mut args = vec!["package", s(rk), "--imagery"];
    args.extend(images.iter().map(|p| s(p)));
    args.extend(["--layers", s(&layers), "--out", s(out)]);
    args.extend(extra);
    minewatch(&args)
}

#[test]
fn county_package_has_every_chip_table_and_page() {
    let d = tempfile::tempdir().unwrap();
    let (rk, [a, b]) = nanjing_chain(d.path(), &[]);
    let out = d.path().join("pkg");
    let layers = root().join("pipelines/layers/nanjing.toml");
    let o = package_nanjing(&rk, &[&a, &b], &out, &["--format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // The imagery is the tasks' own (their pair's dates), and every task has a province.
    assert!(
        !stderr(&o).contains("changed between dates") && !stderr(&o).contains("no admin"),
        "{}",
        stderr(&o)
    );
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let tasks = csv_rows(&rk.join("tasks.csv"));
    let n = tasks.len();
    assert!(n > 10);
    // The demo tasks have no county layer: they are packaged under Jiangsu.
    let folder = out.join("320000_江苏省");
    assert!(folder.is_dir(), "{summary}");
    let zip = out.join("320000_江苏省.zip");
    let zbytes = std::fs::metadata(&zip).unwrap().len();
    assert!(zbytes > 10_000, "{zbytes}");
    assert_eq!(
        summary["counties"][0]["zip_bytes"].as_u64().unwrap(),
        zbytes
    );
    // Review finding 6: the manifest records every input's size and sha256 (here checked
    // against coreutils' sha256sum), as rank's does.
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("package_manifest.json")).unwrap()).unwrap();
    for f in [rk.join("tasks.gpkg"), a.clone(), b.clone(), layers.clone()] {
        let rec = m["inputs"]
            .as_array()
            .unwrap_or_else(|| panic!("no inputs in the manifest: {m}"))
            .iter()
            .find(|r| r["path"].as_str() == Some(s(&f)))
            .unwrap_or_else(|| panic!("{} not in {}", f.display(), m["inputs"]));
        let o = Command::new("sha256sum").arg(&f).output().unwrap();
        let want = String::from_utf8(o.stdout).unwrap()[..64].to_string();
        assert_eq!(
            rec["sha256"].as_str(),
            Some(want.as_str()),
            "{}",
            f.display()
        );
        assert_eq!(
            rec["bytes"].as_u64(),
            Some(std::fs::metadata(&f).unwrap().len())
        );
    }
    // Table with the field form (Chinese headers), every task once.
    let t = std::fs::read_to_string(folder.join("tasks.csv")).unwrap();
    assert!(t.starts_with('\u{feff}'));
    let head = t.lines().next().unwrap();
    for c in [
        "图斑地块编号",
        "核查结果",
        "违法类型",
        "处理方式",
        "理由说明",
        "核查责任人",
        "核查日期",
        "照片编号",
    ] {
        assert!(head.contains(c), "{c}");
    }
    // The task columns are in Chinese too (review, session 17: only the first was).
    for (en, zh) in [("score", "优先级得分"), ("county_name", "县级名称")] {
        assert!(
            head.contains(zh) && !head.split(',').any(|c| c == en),
            "{en}: {head}"
        );
    }
    assert_eq!(t.lines().count(), n + 1);
    // Chips: 2 dates × (true colour + SWIR false colour) per task, each with its outline.
    let mut chips: Vec<PathBuf> = std::fs::read_dir(folder.join("chips"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    chips.sort();
    assert_eq!(chips.len(), 4 * n);
    for c in &chips {
        let img = image::open(c).unwrap().to_rgb8();
        assert_eq!((img.width(), img.height()), (320, 320), "{}", c.display());
        let yellow = img.pixels().filter(|p| p.0 == [255, 230, 0]).count();
        assert!(yellow > 20, "{}: {yellow} outline pixels", c.display());
    }
    for r in &tasks {
        let sid = &r["site_id"];
        assert_eq!(
            chips
                .iter()
                .filter(|c| c.to_string_lossy().contains(sid.as_str()))
                .count(),
            4,
            "{sid}"
        );
    }
    // KML / GPX: one point per task; overview map drawn.
    let kml = std::fs::read_to_string(folder.join("centres.kml")).unwrap();
    assert_eq!(kml.matches("<Placemark>").count(), n);
    let gpx = std::fs::read_to_string(folder.join("centres.gpx")).unwrap();
    assert_eq!(gpx.matches("<wpt ").count(), n);
    let ov = image::open(folder.join("overview.png")).unwrap().to_rgb8();
    assert_eq!(ov.width(), 900);
    assert!(
        ov.pixels().filter(|p| p.0 == [230, 30, 30]).count() >= 81 * n / 2,
        "patch markers drawn"
    );
    // The offline page lists every task and chip, with no network reference.
    let html = std::fs::read_to_string(folder.join("index.html")).unwrap();
    for r in &tasks {
        assert!(html.contains(r["site_id"].as_str()));
    }
    assert_eq!(html.matches("<img class=\"chip\"").count(), 4 * n);
    assert!(!html.contains("http://") && !html.contains("https://"));
    // As a person sees it: headless Chromium loads every chip.
    if have_tool("chromium") {
        let o = Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--virtual-time-budget=5000",
                "--dump-dom",
            ])
            .arg(format!("file://{}", folder.join("index.html").display()))
            .output()
            .unwrap();
        let dom = String::from_utf8_lossy(&o.stdout);
        let want = format!("data-chips-loaded=\"{}\" data-chips=\"{}\"", 4 * n, 4 * n);
        assert!(
            dom.contains(&want),
            "chromium: {}",
            &dom[..dom.len().min(400)]
        );
        assert_eq!(dom.matches("class=\"task\"").count(), n);
        page_layout_holds(&folder.join("index.html"));
    }
}

/// The county page laid out by headless Chromium at 1200 px (a laptop) and 1047 px (the
/// width of A4 landscape between 10 mm margins, with the screen's larger type and chips):
/// the short coded cells (序号, 得分 / 优先级, 矿权状态, 面积) each stay on one line — the
/// status 未核对矿权 stood one character per line — the reasons have room for a dozen
/// characters a line, and nothing runs off the right edge. Measured by a script added to
/// a copy of the page: the line boxes of each cell's text.
fn page_layout_holds(page: &std::path::Path) {
    let measure = "<script>window.addEventListener('load',function(){\
var lines=0,cells=0;document.querySelectorAll('td.nw').forEach(function(td){var r=document.createRange();r.selectNodeContents(td);\
var tops={};Array.prototype.forEach.call(r.getClientRects(),function(x){tops[Math.round(x.top)]=1;});lines=Math.max(lines,Object.keys(tops).length);cells++;});\
var why=Infinity;document.querySelectorAll('td.why').forEach(function(td){why=Math.min(why,td.clientWidth/13);});\
var b=document.body;b.setAttribute('data-nw-cells',cells);b.setAttribute('data-nw-lines',lines);b.setAttribute('data-why-chars',Math.floor(why));\
b.setAttribute('data-overflow',document.documentElement.scrollWidth>window.innerWidth?1:0);});</script>";
    let html = std::fs::read_to_string(page).unwrap();
    let copy = page.with_file_name("measure.html");
    std::fs::write(&copy, html.replace("</body>", &format!("{measure}</body>"))).unwrap();
    for width in [1200, 1047] {
        let o = Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--virtual-time-budget=5000",
                &format!("--window-size={width},900"),
                "--dump-dom",
            ])
            .arg(format!("file://{}", copy.display()))
            .output()
            .unwrap();
        let dom = String::from_utf8_lossy(&o.stdout);
        let attr = |k: &str| -> i64 {
            let at = dom
                .find(&format!("{k}=\""))
                .unwrap_or_else(|| panic!("{width} px: no {k} in {}", &dom[..dom.len().min(300)]));
            let v = &dom[at + k.len() + 2..];
            v[..v.find('"').unwrap()].parse().unwrap()
        };
        assert!(attr("data-nw-cells") > 40, "{width} px");
        assert_eq!(attr("data-nw-lines"), 1, "{width} px: a short cell wraps");
        assert!(attr("data-why-chars") >= 12, "{width} px: reasons squeezed");
        assert_eq!(
            attr("data-overflow"),
            0,
            "{width} px: the table runs off the page"
        );
    }
    std::fs::remove_file(&copy).unwrap();
}

/// Envelope (min x, min y, max x, max y) of each task's patch in the tasks' CRS, by site.
fn task_boxes(tasks_gpkg: &std::path::Path) -> std::collections::BTreeMap<String, [f64; 4]> {
    use gdal::vector::LayerAccess;
    let ds = gdal::Dataset::open(tasks_gpkg).unwrap();
    let mut layer = ds.layer_by_name("tasks").unwrap();
    let i = layer.defn().field_index("site_id").unwrap();
    layer
        .features()
        .map(|f| {
            let e = f.geometry().unwrap().envelope();
            (
                f.field_as_string(i).unwrap().unwrap(),
                [e.MinX, e.MinY, e.MaxX, e.MaxY],
            )
        })
        .collect()
}

/// Review finding: chips must show where the task is. Imagery elsewhere (the Hong Kong
/// clips for Nanjing tasks) made 368 chips of the wrong place, captioned with Nanjing's
/// coordinates; now it is exit 1 naming the images, and with imagery covering part of the
/// tasks (the Nanjing clip south-east of the tasks' scene) the tasks outside it get no
/// chip — said on stderr, in the manifest and on the county page — while the others are
/// cut at their place on the ground: where neither window meets an image edge, the very
/// chip the tasks' own scene gives.
#[test]
fn chips_are_cut_where_the_task_is_and_imagery_elsewhere_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let (rk, [a, b]) = nanjing_chain(d.path(), &[]);
    let package = |imagery: [PathBuf; 2], out: &std::path::Path| {
        minewatch(&[
            "package",
            s(&rk),
            "--imagery",
            s(&imagery[0]),
            s(&imagery[1]),
            "--out",
            s(out),
        ])
    };
    // Nowhere near: exit 1, both images named, nothing written.
    let hk = [
        fixture("real/hongkong_S2_20160927_clip320.tif"),
        fixture("real/hongkong_S2_20180323_clip320.tif"),
    ];
    let out = d.path().join("hk");
    let o = package(hk.clone(), &out);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(
        e.contains("covers none of the") && e.contains(s(&hk[0])) && e.contains(s(&hk[1])),
        "{e}"
    );
    assert!(!out.join("package_manifest.json").exists());

    // The tasks' own scene, for comparison: every task has its 4 chips.
    let own = d.path().join("own");
    let o = package([a, b], &own);
    assert!(o.status.success(), "{}", stderr(&o));

    // Part of the tasks: the clip400 grid starts 200 px east and south of nw400's.
    let clip = [
        fixture("real/nanjing_L5TM_20000503_clip400.tif"),
        fixture("real/nanjing_L5TM_20020712_clip400.tif"),
    ];
    let (x0, y1) = (666_585.0, 3_545_295.0);
    let (x1, y0) = (x0 + 400.0 * 30.0, y1 - 400.0 * 30.0);
    let boxes = task_boxes(&rk.join("tasks.gpkg"));
    let outside: std::collections::BTreeSet<&str> = boxes
        .iter()
        .filter(|(_, e)| e[2] <= x0 || e[0] >= x1 || e[3] <= y0 || e[1] >= y1)
        .map(|(id, _)| id.as_str())
        .collect();
    assert!(
        !outside.is_empty() && outside.len() < boxes.len(),
        "{} of {} outside",
        outside.len(),
        boxes.len()
    );
    let part = d.path().join("part");
    let o = package(clip.clone(), &part);
    let e = stderr(&o);
    assert!(o.status.success(), "{e}");
    assert!(
        e.contains(&format!(
            "{} of {} tasks lie outside the imagery",
            outside.len(),
            boxes.len()
        )) && e.contains(s(&clip[0])),
        "{e}"
    );
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(part.join("package_manifest.json")).unwrap())
            .unwrap();
    let listed: std::collections::BTreeSet<&str> = m["tasks_outside_imagery"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["site_id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, outside);
    assert_eq!(
        m["summary"]["tasks_outside_imagery"].as_u64(),
        Some(outside.len() as u64)
    );
    let folder = part.join("320000_江苏省");
    let chips: Vec<String> = std::fs::read_dir(folder.join("chips"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    let mut same = 0;
    for id in boxes.keys() {
        let mine: Vec<&String> = chips.iter().filter(|c| c.contains(id.as_str())).collect();
        let want = if outside.contains(id.as_str()) { 0 } else { 4 };
        assert_eq!(mine.len(), want, "{id}");
        for c in mine {
            let own_chip = own.join("320000_江苏省/chips").join(c);
            if std::fs::read(folder.join("chips").join(c)).unwrap()
                == std::fs::read(own_chip).unwrap()
            {
                same += 1;
            }
        }
    }
    assert!(same >= 40, "{same} chips equal to the tasks' own scene's");
    let html = std::fs::read_to_string(folder.join("index.html")).unwrap();
    assert_eq!(
        html.matches("class=\"outside\"").count(),
        outside.len(),
        "each task without chips is marked on the page"
    );
}

/// Review findings: tasks of 2019–2022 packaged with the 2000/2002 Landsat images got chips
/// captioned 2002 with no word that they do not show the change ranked; and tasks in no
/// admin division were filed under `000000_未定县` silently.
#[test]
fn imagery_of_other_dates_and_tasks_in_no_division_are_warned() {
    let d = tempfile::tempdir().unwrap();
    let (a, b) = (
        fixture("real/nanjing_L5TM_20000503_nw400.tif"),
        fixture("real/nanjing_L5TM_20020712_nw400.tif"),
    );
    // Nanjing's corridor, no admin layer.
    let layers = d.path().join("layers.toml");
    std::fs::write(
        &layers,
        format!(
            "[[layer]]\nname = \"yangtze_1km\"\npath = \"{}\"\nlayer = \"yangtze_lines\"\nkind = \"river_corridor\"\nbuffer_m = 1000\n",
            fixture("vectors/china_nanjing.gpkg").display()
        ),
    )
    .unwrap();
    let [det, ov, rk, pk] = ["det", "ov", "rk", "pk"].map(|n| d.path().join(n));
    // The same images, said to be of 2019 and 2020: the tasks' pair is 2019→2020.
    for args in [
        vec![
            "detect",
            s(&a),
            s(&b),
            "--dates",
            "2019-06-01,2020-06-01",
            "--out",
            s(&det),
        ],
        vec!["overlay", s(&det), "--layers", s(&layers), "--out", s(&ov)],
        vec!["rank", s(&ov), "--out", s(&rk)],
    ] {
        let o = minewatch(&args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    }
    let n = csv_rows(&rk.join("tasks.csv")).len();
    assert!(n > 10);
    let o = minewatch(&[
        "package",
        s(&rk),
        "--imagery",
        s(&a),
        s(&b),
        "--out",
        s(&pk),
    ]);
    let e = stderr(&o);
    assert!(o.status.success(), "{e}");
    assert!(
        e.contains(&format!(
            "{n} of {n} tasks with chips changed between dates the imagery (2000-05-03, 2002-07-12) does not have (2019-06-01→2020-06-01: {n})"
        )),
        "{e}"
    );
    assert!(
        e.contains(&format!("{n} of {n} tasks lie in no admin division"))
            && e.contains("000000_未定县")
            && e.contains("add an admin_division layer"),
        "{e}"
    );
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(pk.join("package_manifest.json")).unwrap()).unwrap();
    assert_eq!(
        m["summary"]["tasks_of_other_dates"].as_u64(),
        Some(n as u64)
    );
    assert_eq!(
        m["summary"]["tasks_without_admin_place"].as_u64(),
        Some(n as u64)
    );
    assert_eq!(
        m["tasks_of_other_dates"][0]["pair"].as_str(),
        Some("2019-06-01→2020-06-01")
    );
    let html = std::fs::read_to_string(pk.join("000000_未定县/index.html")).unwrap();
    assert_eq!(html.matches("class=\"other-dates\"").count(), n);
}

/// Review finding (revV F8): a growing pit's form gave rank's centre (on its latest
/// change) while centres.kml, centres.gpx, the chip captions and index.html gave the
/// centroid of the whole site, 285 m away. Every file of the package gives the form's
/// point: here the first task's centre is moved off its polygon's centroid, as a
/// multi-year site's is.
#[test]
fn every_file_of_a_package_gives_the_forms_centre() {
    let d = tempfile::tempdir().unwrap();
    let (rk, [a, b]) = nanjing_chain(d.path(), &[]);
    sql(
        &rk.join("tasks.gpkg"),
        "UPDATE tasks SET centre_lon = centre_lon + 0.0003 WHERE fid = 1",
    );
    let out = d.path().join("pkg");
    let o = package_nanjing(&rk, &[&a, &b], &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let folder = out.join("320000_江苏省");
    let kml = std::fs::read_to_string(folder.join("centres.kml")).unwrap();
    let gpx = std::fs::read_to_string(folder.join("centres.gpx")).unwrap();
    let html = std::fs::read_to_string(folder.join("index.html")).unwrap();
    let rows = csv_rows(&folder.join("tasks.csv"));
    // tasks.csv still has rank's own centre of the task moved in tasks.gpkg (fid 1).
    let first = &csv_rows(&rk.join("tasks.csv"))[0];
    let moved = first["centre_lon"].parse::<f64>().unwrap() + 0.0003;
    let form = rows
        .iter()
        .find(|r| r["图斑地块编号"] == first["site_id"])
        .unwrap();
    let lon: f64 = form["中心点经度"].parse().unwrap();
    assert!((lon - moved).abs() < 1e-9, "{lon} vs {moved}");
    for r in &rows {
        let lon: f64 = r["中心点经度"].parse().unwrap();
        let lat: f64 = r["中心点纬度"].parse().unwrap();
        let id = &r["图斑地块编号"];
        assert!(
            kml.contains(&format!("<coordinates>{lon:.7},{lat:.7},0</coordinates>")),
            "{id}: KML"
        );
        assert!(
            gpx.contains(&format!("<wpt lat=\"{lat:.7}\" lon=\"{lon:.7}\">")),
            "{id}: GPX"
        );
        assert!(
            html.contains(&format!("{lon:.6}, {lat:.6}")),
            "{id}: index.html"
        );
    }
}

/// Run SQLite statement `statement` on GeoPackage `gpkg` with ogrinfo.
fn sql(gpkg: &std::path::Path, statement: &str) {
    let o = Command::new("ogrinfo")
        .arg(gpkg)
        .args(["-q", "-dialect", "SQLite", "-sql", statement])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Review revZ2 F5, F6, F7: site ids with `/`, `\` and characters Windows forbids give chip
/// names every system and zip accepts, and the page links the names written; unranked
/// tasks carry no number anywhere (page map, KML, GPX), as on the 一张图; the county form
/// (tasks.csv) and page show coded values in Chinese, while the GeoPackage keeps codes.
#[test]
fn chip_names_are_safe_unranked_tasks_unnumbered_and_values_chinese() {
    let d = tempfile::tempdir().unwrap();
    let (rk, [a, b]) = nanjing_chain(d.path(), &[]);
    for (fid, id) in [
        (1, "2023/001"),
        (2, "STB*002?"),
        (3, "Sx\\003"),
        (4, "a\"b<4>:|#%"),
    ] {
        sql(
            &rk.join("tasks.gpkg"),
            &format!("UPDATE tasks SET site_id = '{id}' WHERE fid = {fid}"),
        );
    }
    let out = d.path().join("pkg");
    let o = package_nanjing(&rk, &[&a, &b], &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let folder = out.join("320000_江苏省");
    let html = std::fs::read_to_string(folder.join("index.html")).unwrap();
    // F5: every chip is a plain file in chips/ with no character Windows refuses, and
    // every src of the page is a file that exists; the ids are on the page as they are.
    let bad = |n: &str| n.chars().any(|c| "\\/:*?\"<>|#%".contains(c));
    let chips: Vec<String> = std::fs::read_dir(folder.join("chips"))
        .unwrap()
        .flatten()
        .map(|e| {
            assert!(e.path().is_file(), "{}", e.path().display());
            e.file_name().to_string_lossy().to_string()
        })
        .collect();
    assert!(!chips.is_empty());
    for c in &chips {
        assert!(!bad(c), "{c}");
    }
    assert!(chips.iter().any(|c| c.contains("_2023_001_")), "{chips:?}");
    let srcs: Vec<&str> = html
        .split("src=\"")
        .skip(1)
        .map(|x| x.split('"').next().unwrap())
        .collect();
    assert_eq!(srcs.len(), chips.len());
    for src in &srcs {
        assert!(folder.join(src).is_file(), "{src}");
    }
    for id in ["2023/001", "STB*002?", "Sx\\003", "a&quot;b&lt;4&gt;:|#%"] {
        assert!(html.contains(id), "{id}");
    }
    if have_tool("unzip") {
        let o = Command::new("unzip")
            .arg("-Z1")
            .arg(out.join("320000_江苏省.zip"))
            .output()
            .unwrap();
        for e in String::from_utf8_lossy(&o.stdout).lines() {
            let rest = e.strip_prefix("320000_江苏省/").unwrap();
            let file = rest.strip_prefix("chips/").unwrap_or(rest);
            assert!(!bad(file), "zip entry {e}");
        }
    }
    // F6: the unranked tasks (no rank at any level) have no number in the KML, GPX or the
    // page's map, and the ranked ones keep theirs.
    let rows = csv_rows(&folder.join("tasks.csv"));
    let kml = std::fs::read_to_string(folder.join("centres.kml")).unwrap();
    let gpx = std::fs::read_to_string(folder.join("centres.gpx")).unwrap();
    let unranked: Vec<&String> = rows
        .iter()
        .filter(|r| {
            ["县内排序", "市内排序", "省内排序"]
                .iter()
                .all(|c| r[*c].is_empty())
        })
        .map(|r| &r["图斑地块编号"])
        .collect();
    assert!(!unranked.is_empty() && unranked.len() < rows.len());
    for (i, r) in rows.iter().enumerate() {
        let id = r["图斑地块编号"]
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;");
        let want = if unranked.contains(&&r["图斑地块编号"]) {
            format!("<name>暂不排序 {id}</name>")
        } else {
            format!("<name>{} {id}</name>", i + 1)
        };
        assert!(kml.contains(&want) && gpx.contains(&want), "{want}");
    }
    assert_eq!(html.matches("fill=\"#969696\"").count(), unranked.len());
    assert_eq!(
        html.matches("fill=\"#d22\"").count(),
        rows.len() - unranked.len()
    );
    assert_eq!(
        html.matches("<td class=\"nw\">暂不排序</td>").count(),
        unranked.len()
    );
    // F7: the demo has no rights layer: 矿权状态 reads 未核对矿权, 优先级 高/中/低, and no
    // English code is left in the coded columns; the GeoPackage keeps the codes.
    for r in &rows {
        assert_eq!(r["矿权状态"], "未核对矿权");
        assert!(
            ["高", "中", "低"].contains(&r["优先级"].as_str()),
            "{}",
            r["优先级"]
        );
        for c in ["最近变化类型", "最近置信度", "压占区域类别"] {
            assert!(
                !r[c].contains('_') && !r[c].contains("high"),
                "{c}: {}",
                r[c]
            );
        }
    }
    assert!(html.contains("<td class=\"nw\">未核对矿权</td>") && !html.contains("not_checked"));
    let o = Command::new("ogrinfo")
        .arg(folder.join("tasks.gpkg"))
        .args(["-q", "-sql", "SELECT DISTINCT licence_status FROM tasks"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("not_checked"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

/// A site the county verified after its latest change (rank `--history` makes it
/// `verified_unchanged`) is sent to no county again: `package` leaves it out of the form
/// (tasks.csv), the GeoPackage and GeoJSON, the KML / GPX points, the page, the chips and
/// the zip; and `audit` does not list it as not returned (English tasks folder and
/// `rank --header zh`'s tasks.csv), while without the verdict it is a task like any other.
#[test]
fn a_verified_unchanged_site_is_not_packaged_nor_missing_in_the_audit() {
    let d = tempfile::tempdir().unwrap();
    let (rk, [a, b]) = nanjing_chain(d.path(), &[]);
    let tasks = csv_rows(&rk.join("tasks.csv"));
    let n = tasks.len();
    assert!(n > 10);
    let site = tasks[0]["site_id"].clone();
    let patch = tasks[0]["patch_ids"].clone();
    assert!(tasks[0]["last_date"].as_str() < "2002-08-01");
    // Verified legal after the change's later image (2002-07-12), nothing new since.
    let history = d.path().join("history.csv");
    std::fs::write(
        &history,
        format!("patch_id,verdict,reason,handling,date\n{patch},合法,有证开采,不处理,2002-08-01\n"),
    )
    .unwrap();
    let ov = d.path().join("ov");
    let (rk2, rk_zh) = (d.path().join("rank2"), d.path().join("rank_zh"));
    for (out, extra) in [(&rk2, &[][..]), (&rk_zh, &["--header", "zh"][..])] {
        let mut args = vec!["rank", s(&ov), "--history", s(&history), "--out", s(out)];
        args.extend(extra);
        let o = minewatch(&args);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let t2 = csv_rows(&rk2.join("tasks.csv"));
    let row = t2.iter().find(|r| r["site_id"] == site).unwrap();
    assert_eq!(row["verified_unchanged"], "1", "{row:?}");
    assert_eq!(
        t2.iter().filter(|r| r["verified_unchanged"] == "1").count(),
        1
    );

    // package: the other n - 1 tasks, and no trace of the verified site.
    let out = d.path().join("pkg");
    let o = package_nanjing(&rk2, &[&a, &b], &out, &["--format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("not sent again ({site})")),
        "{}",
        stderr(&o)
    );
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["tasks"].as_u64(), Some(n as u64 - 1), "{summary}");
    let folder = out.join("320000_江苏省");
    let form = csv_rows(&folder.join("tasks.csv"));
    assert_eq!(form.len(), n - 1);
    assert!(form.iter().all(|r| r["图斑地块编号"] != site));
    for f in [
        "tasks.csv",
        "tasks.geojson",
        "centres.kml",
        "centres.gpx",
        "index.html",
    ] {
        let text = std::fs::read_to_string(folder.join(f)).unwrap();
        assert!(!text.contains(site.as_str()), "{site} in {f}");
    }
    let kml = std::fs::read_to_string(folder.join("centres.kml")).unwrap();
    assert_eq!(kml.matches("<Placemark>").count(), n - 1);
    let boxes = task_boxes(&folder.join("tasks.gpkg"));
    assert_eq!(boxes.len(), n - 1);
    assert!(!boxes.contains_key(&site), "{site} in tasks.gpkg");
    let chips: Vec<String> = std::fs::read_dir(folder.join("chips"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(chips.len(), 4 * (n - 1));
    assert!(chips.iter().all(|c| !c.contains(site.as_str())));
    let zip = std::fs::read(out.join("320000_江苏省.zip")).unwrap();
    assert!(
        !zip.windows(site.len()).any(|w| w == site.as_bytes()),
        "{site} in the zip"
    );

    // audit: two other sites returned; the verified one is not "not returned".
    let returned = d.path().join("returned.csv");
    std::fs::write(
        &returned,
        format!(
            "site_id,verdict,violation_type,handling,responsible,date\n{},合法,,,王五,2002-08-01\n{},合法,,,王五,2002-08-01\n",
            tasks[1]["site_id"], tasks[2]["site_id"]
        ),
    )
    .unwrap();
    let not_returned = |tasks_in: &std::path::Path, name: &str| -> Vec<String> {
        let out = d.path().join(name);
        let o = minewatch(&[
            "audit",
            s(&returned),
            "--tasks",
            s(tasks_in),
            "--seed",
            "1",
            "--out",
            s(&out),
        ]);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        csv_rows(&out.join("not_returned.csv"))
            .iter()
            .map(|r| r["site_id"].clone())
            .collect()
    };
    // Without the verdict the site is a task, and not returned.
    let before = not_returned(&rk, "audit0");
    assert_eq!(before.len(), n - 2);
    assert!(before.contains(&site));
    for (tasks_in, name) in [
        (rk2.clone(), "audit_en"),
        (rk_zh.join("tasks.csv"), "audit_zh"),
    ] {
        let after = not_returned(&tasks_in, name);
        assert_eq!(after.len(), n - 3, "{name}");
        assert!(
            !after.contains(&site),
            "{name}: {site} listed as not returned"
        );
    }
}

/// Review finding (revX F2): running `package` again into the same --out deleted each
/// county folder whole, with the form the county had filled in place and the photos it
/// had put beside it, without a word. Now a file edited since the earlier run wrote it,
/// or not written by it, is moved to `OUT/kept-edits/FOLDER/…` and named on stderr (as
/// `minewatch run` does); an unedited rerun moves nothing.
#[test]
fn a_rerun_keeps_a_countys_filled_form_and_photos() {
    let d = tempfile::tempdir().unwrap();
    let (rk, [a, b]) = nanjing_chain(d.path(), &[]);
    let out = d.path().join("pkg");
    let o = package_nanjing(&rk, &[&a, &b], &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let county = out.join("320000_江苏省");
    let form = county.join("tasks.csv");
    let original = std::fs::read(&form).unwrap();
    let mut filled = original.clone();
    filled.extend_from_slice("S_extra,伪变化,,,大棚,张三\n".as_bytes());
    std::fs::write(&form, &filled).unwrap();
    let photo = county.join("photos/IMG_0001.jpg");
    std::fs::create_dir_all(photo.parent().unwrap()).unwrap();
    std::fs::write(&photo, b"a photo").unwrap();

    let o = package_nanjing(&rk, &[&a, &b], &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("320000_江苏省/tasks.csv was edited since minewatch package wrote it"),
        "{err}"
    );
    assert!(
        err.contains("320000_江苏省/photos/IMG_0001.jpg was not written by minewatch package"),
        "{err}"
    );
    let kept = out.join("kept-edits/320000_江苏省");
    assert_eq!(std::fs::read(kept.join("tasks.csv")).unwrap(), filled);
    assert_eq!(
        std::fs::read(kept.join("photos/IMG_0001.jpg")).unwrap(),
        b"a photo"
    );
    // The package itself is whole again, and only what the county changed was moved.
    assert_eq!(std::fs::read(&form).unwrap(), original);
    assert!(!photo.exists());
    let moved = walk(&out.join("kept-edits"));
    assert_eq!(moved.len(), 2, "{moved:?}");

    // Unedited, a rerun moves nothing.
    let o = package_nanjing(&rk, &[&a, &b], &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("kept as"), "{}", stderr(&o));
    assert_eq!(walk(&out.join("kept-edits")), moved);
}

/// Every file under `dir`, sorted.
fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Twice the signed area of a GeoJSON ring (> 0: counter-clockwise, lon east, lat north).
fn signed_area2(ring: &serde_json::Value) -> f64 {
    let p: Vec<(f64, f64)> = ring
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c[0].as_f64().unwrap(), c[1].as_f64().unwrap()))
        .collect();
    p.windows(2)
        .map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1)
        .sum()
}

/// revZ2 F2: rank's and the county packages' tasks.geojson wrote 26 of the demo's 29 holes
/// counter-clockwise (the footprint union's order), and overlay copied its input's winding
/// (a Shapefile's clockwise shells). Every GeoJSON written, from any stage and from a
/// Shapefile of patches, now has counter-clockwise shells and clockwise holes (RFC 7946
/// §3.1.6), which web renderers that fill by winding need to leave the holes empty.
#[test]
fn every_geojson_ring_follows_rfc7946_winding() {
    let d = tempfile::tempdir().unwrap();
    let (rk, [a, b]) = nanjing_chain(d.path(), &[]);
    let out = d.path().join("pkg");
    let o = package_nanjing(&rk, &[&a, &b], &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut files = vec![
        d.path().join("det/patches.geojson"),
        d.path().join("ov/findings.geojson"),
        rk.join("tasks.geojson"),
        rk.join("hotspots.geojson"),
        out.join("320000_江苏省/tasks.geojson"),
    ];
    if have_tool("ogr2ogr") {
        // Patches handed over as a Shapefile: its shells are clockwise by convention.
        let shp = d.path().join("patches.shp");
        let st = Command::new("ogr2ogr")
            .args(["-q", "-f", "ESRI Shapefile", s(&shp)])
            .arg(d.path().join("det/patches.gpkg"))
            .args(["-lco", "ENCODING=UTF-8"])
            .status()
            .unwrap();
        assert!(st.success());
        let layers = root().join("pipelines/layers/nanjing.toml");
        let ov = d.path().join("ov_shp");
        let o = minewatch(&["overlay", s(&shp), "--layers", s(&layers), "--out", s(&ov)]);
        assert!(o.status.success(), "{}", stderr(&o));
        files.push(ov.join("findings.geojson"));
    }
    for f in &files {
        let j: serde_json::Value = serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap();
        let (mut shells, mut holes, mut wrong) = (0, 0, Vec::new());
        for ft in j["features"].as_array().unwrap() {
            for p in ft["geometry"]["coordinates"].as_array().unwrap() {
                for (k, r) in p.as_array().unwrap().iter().enumerate() {
                    let a = signed_area2(r);
                    if k == 0 {
                        shells += 1;
                    } else {
                        holes += 1;
                    }
                    if (k == 0) != (a > 0.0) {
                        wrong.push((k, a));
                    }
                }
            }
        }
        assert!(shells > 0, "{}: no polygons", f.display());
        if !f.ends_with("hotspots.geojson") {
            assert!(holes > 10, "{}: {holes} holes", f.display());
        }
        assert!(
            wrong.is_empty(),
            "{}: {} of {shells} shells + {holes} holes wound the wrong way (ring, 2·area): {:?}",
            f.display(),
            wrong.len(),
            &wrong[..wrong.len().min(5)]
        );
    }
}

/// revZ2 F4: `package` given a county package's own tasks.gpkg (which `package --help`
/// allows: "a tasks GeoPackage") stopped with "choose a folder you can write to", the
/// form's columns written twice. What a county entered in the form is kept in the new
/// package's form, once.
#[test]
fn a_packages_own_tasks_keep_their_form() {
    use gdal::vector::LayerAccess;
    let d = tempfile::tempdir().unwrap();
    let (rk, [a, b]) = nanjing_chain(d.path(), &[]);
    let out = d.path().join("pkg");
    let o = package_nanjing(&rk, &[&a, &b], &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let tasks = d.path().join("filled.gpkg");
    std::fs::copy(out.join("320000_江苏省/tasks.gpkg"), &tasks).unwrap();
    let site = {
        let ds = gdal::Dataset::open_ex(
            &tasks,
            gdal::DatasetOptions {
                open_flags: gdal::GdalOpenFlags::GDAL_OF_UPDATE,
                ..Default::default()
            },
        )
        .unwrap();
        let layer = ds.layer(0).unwrap();
        let mut f = layer.feature(1).unwrap();
        f.set_field_string(f.field_index("verdict").unwrap(), "违法")
            .unwrap();
        layer.set_feature(f).unwrap();
        let f = layer.feature(1).unwrap();
        f.field_as_string(f.field_index("site_id").unwrap())
            .unwrap()
            .unwrap()
    };
    let again = d.path().join("pkg2");
    let o = package_nanjing(&tasks, &[&a, &b], &again, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("verdict"), "{}", stderr(&o));
    let csv = again.join("320000_江苏省/tasks.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    let header = text.trim_start_matches('\u{feff}').lines().next().unwrap();
    assert_eq!(header.matches("核查结果").count(), 1, "{header}");
    let rows = csv_rows(&csv);
    let row = rows.iter().find(|r| r["图斑地块编号"] == site).unwrap();
    assert_eq!(row["核查结果"], "违法");
    assert!(rows
        .iter()
        .filter(|r| r["图斑地块编号"] != site)
        .all(|r| r["核查结果"].is_empty()));
}

/// Review findings (session 22): a package killed while it removed the earlier run's
/// county folders lost the list of them with the earlier manifest, and the next run left a
/// stale county package beside its own; and a rank folder without its manifest (a rank
/// killed while publishing) was packaged.
#[test]
fn a_package_killed_while_clearing_leaves_no_stale_county_and_unfinished_ranks_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let (rk, [a, b]) = nanjing_chain(d.path(), &[]);
    let out = d.path().join("pkg");
    let o = package_nanjing(&rk, &[&a, &b], &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    // The state a kill leaves right after the earlier manifest was set aside, when that
    // earlier run also had a county this run does not have.
    let manifest = out.join("package_manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    let stale = "320115_江宁区";
    m["summary"]["counties"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"folder": stale}));
    std::fs::remove_file(&manifest).unwrap();
    std::fs::write(out.join(".package_manifest.clearing.json"), m.to_string()).unwrap();
    std::fs::create_dir_all(out.join(stale)).unwrap();
    std::fs::write(out.join(stale).join("tasks.csv"), "old").unwrap();
    std::fs::write(out.join(format!("{stale}.zip")), "old").unwrap();

    let o = package_nanjing(&rk, &[&a, &b], &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!out.join(stale).exists(), "stale county folder left");
    assert!(!out.join(format!("{stale}.zip")).exists(), "stale zip left");
    assert!(!out.join(".package_manifest.clearing.json").exists());
    assert!(manifest.is_file());
    assert!(out.join("320000_江苏省/tasks.csv").is_file());

    // A rank folder whose manifest is missing did not finish: refused, nothing written.
    let rk2 = d.path().join("rank_unfinished");
    std::fs::create_dir(&rk2).unwrap();
    for f in ["tasks.csv", "tasks.gpkg"] {
        std::fs::copy(rk.join(f), rk2.join(f)).unwrap();
    }
    let out2 = d.path().join("pkg2");
    let o = package_nanjing(&rk2, &[&a, &b], &out2, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("rank_manifest.json") && stderr(&o).contains("did not finish"),
        "{}",
        stderr(&o)
    );
    assert!(!out2.join("package_manifest.json").exists());
    let o = minewatch(&[
        "sample",
        s(&rk2),
        "--seed",
        "1",
        "--rate",
        "0.5",
        "--out",
        s(&d.path().join("smp")),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("did not finish"), "{}", stderr(&o));
}

/// Every GeoPackage of the chain types its date columns as dates (QGIS filters and sorts
/// them as such; `ogrinfo` says `Date`) and columns that can hold other text (the form's
/// 核查日期, `history`) as text; the dates are the same at every step — detect's CSV,
/// each GeoPackage read back as a date, the county's form — and `sample`, which reads
/// tasks.gpkg, repeats them as the CSVs write them, not as GDAL prints a date (2002/07/12).
#[test]
fn dates_are_dates_in_every_geopackage_and_the_same_through_the_chain() {
    use gdal::vector::{LayerAccess, OGRFieldType};
    let d = tempfile::tempdir().unwrap();
    let (rk, [a, b]) = nanjing_chain(d.path(), &[]);
    let out = d.path().join("pkg");
    let o = package_nanjing(&rk, &[&a, &b], &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let folder = out.join("320000_江苏省");
    let patches = csv_rows(&d.path().join("det/patches.csv"));
    assert!(patches.len() > 10);
    let pairs: std::collections::BTreeSet<(String, String)> = patches
        .iter()
        .map(|r| (r["date_before"].clone(), r["date_after"].clone()))
        .collect();
    let want =
        std::collections::BTreeSet::from([("2000-05-03".to_string(), "2002-07-12".to_string())]);
    assert_eq!(pairs, want);

    let cases: [(PathBuf, &str, [&str; 2], &[&str]); 4] = [
        (
            d.path().join("det/patches.gpkg"),
            "patches",
            ["date_before", "date_after"],
            &["id"],
        ),
        (
            d.path().join("ov/findings.gpkg"),
            "findings",
            ["date_before", "date_after"],
            &["zones"],
        ),
        (
            rk.join("tasks.gpkg"),
            "tasks",
            ["last_date_before", "last_date"],
            &["history"],
        ),
        (
            folder.join("tasks.gpkg"),
            "tasks",
            ["last_date_before", "last_date"],
            &["history", "check_date"],
        ),
    ];
    for (gpkg, layer, dates, texts) in &cases {
        let ds = gdal::Dataset::open(gpkg).unwrap();
        let mut l = ds.layer_by_name(layer).unwrap();
        let ty = |c: &str| {
            l.defn()
                .fields()
                .find(|f| f.name() == c)
                .unwrap_or_else(|| panic!("{}: no {c}", gpkg.display()))
                .field_type()
        };
        for c in dates {
            assert_eq!(ty(c), OGRFieldType::OFTDate, "{} {c}", gpkg.display());
        }
        for c in *texts {
            assert_eq!(ty(c), OGRFieldType::OFTString, "{} {c}", gpkg.display());
        }
        let ix: Vec<usize> = dates
            .iter()
            .map(|c| l.defn().field_index(c).unwrap())
            .collect();
        let mut n = 0;
        for f in l.features() {
            let got: Vec<String> = ix
                .iter()
                .map(|&i| {
                    f.field(i)
                        .unwrap()
                        .unwrap()
                        .into_date()
                        .unwrap()
                        .to_string()
                })
                .collect();
            assert_eq!(got, ["2000-05-03", "2002-07-12"], "{}", gpkg.display());
            n += 1;
        }
        assert!(n > 10, "{}: {n} features", gpkg.display());
        if have_tool("ogrinfo") {
            let o = Command::new("ogrinfo")
                .args(["-so", s(gpkg), layer])
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&o.stdout);
            for c in dates {
                assert!(text.contains(&format!("{c}: Date")), "{text}");
            }
        }
    }
    // The county's form (Chinese headers) and the rank CSV.
    for r in csv_rows(&rk.join("tasks.csv")) {
        assert_eq!(
            (r["last_date_before"].as_str(), r["last_date"].as_str()),
            ("2000-05-03", "2002-07-12")
        );
    }
    for r in csv_rows(&folder.join("tasks.csv")) {
        assert_eq!(
            (r["最近对比前时相"].as_str(), r["最近时相"].as_str()),
            ("2000-05-03", "2002-07-12")
        );
    }
    // sample reads the rank folder's tasks.gpkg and repeats its columns.
    let sp = d.path().join("sample");
    let o = minewatch(&[
        "sample",
        s(&rk),
        "--seed",
        "3",
        "--count",
        "4",
        "--out",
        s(&sp),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let picked = csv_rows(&sp.join("sample.csv"));
    assert!(picked.len() >= 4);
    for r in picked {
        assert_eq!(
            (r["last_date_before"].as_str(), r["last_date"].as_str()),
            ("2000-05-03", "2002-07-12")
        );
    }
}
