//! County verification packages: per county a folder and a zip with the task table (field
//! form left empty), GeoPackage and GeoJSON, before/after chips of every task for every date
//! (true colour and, with SWIR and NIR, false colour) with the patch, licence and zone
//! outlines, scale bar, north arrow and CGCS2000 centre coordinates, the county overview map
//! (一张图), KML and GPX of the centres, and an offline index.html. The manifest records the
//! size and sha256 of every input (tasks, imagery, layers), hashed beside the drawing.

use crate::error::PipelineError;
use crate::inputs::{self, DatedImage};
use crate::package_text::{file_safe, legend, subtitle, value_zh};
use crate::params::DetectParams;
use crate::patch_table::{self, PatchRow};
use crate::stage_outputs::{self, OutputFile, StageRecord};
use crate::staging::Staging;
use crate::write::table::{self as tw, GpkgLayer, Polys};
use crate::write::{round, Attr, Kind};
use ab_glyph::FontRef;
use image::{imageops, RgbImage};
use minewatch_core::{BandRole, Window};
use minewatch_verify::audit::FORM;
use minewatch_verify::render::{self, CYAN, MAGENTA, YELLOW};
use minewatch_zones::{LayersSpec, LoadOptions, Reprojector, WorkCrs};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

pub const FONT: &str = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc";
/// Chip side in pixels.
const CHIP: u32 = 320;
/// Overview marker of a task without a rank.
const GREY: image::Rgb<u8> = image::Rgb([150, 150, 150]);

#[derive(Debug, Clone)]
pub struct PackageRequest {
    pub tasks: PathBuf,
    pub imagery: Vec<PathBuf>,
    /// The imagery's dates in the order given, for files whose names and metadata have
    /// none (detect's `--dates`, a run's `detect.dates`).
    pub dates: Option<Vec<minewatch_core::AcqDate>>,
    /// Detect's parameters (their band profile reads the imagery as detect did).
    pub params: DetectParams,
    pub layers: Option<PathBuf>,
    pub out: PathBuf,
    pub threads: Option<usize>,
    pub font: Option<PathBuf>,
    pub command: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PackageSummary {
    pub out: PathBuf,
    pub counties: Vec<CountyPackage>,
    pub tasks: usize,
    pub chips: usize,
    /// Tasks outside the imagery's footprint: no chips (listed in the manifest).
    pub tasks_outside_imagery: usize,
    /// Tasks with chips whose latest pair's dates are not among the imagery's: the chips
    /// do not show the change that was ranked (warned; counted per pair in the manifest).
    pub tasks_of_other_dates: usize,
    /// Tasks in no admin division (filed under `000000_未定县`; warned).
    pub tasks_without_admin_place: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct CountyPackage {
    pub folder: String,
    pub tasks: usize,
    pub chips: usize,
    pub tasks_outside_imagery: usize,
    pub zip_bytes: u64,
}

/// Rings of a polygon, as x, y pairs.
type Rings = Vec<Vec<(f64, f64)>>;
/// A task's row and its rings in the imagery CRS (`None`: outside the imagery).
type Placed<'a> = (&'a PatchRow, Option<&'a Rings>);
/// Rings of a zone to outline on chips (imagery CRS); true for a mining or exploration right.
type Outline = (bool, Rings);

struct Task<'a> {
    row: &'a PatchRow,
    /// The patch's rings in the imagery CRS; `None` when the imagery does not cover it.
    rings: Option<&'a Rings>,
    n: usize,
    site: String,
    lonlat: (f64, f64),
    reasons: String,
    score: String,
    class: String,
    status: String,
    area_mu: String,
    /// It has a rank in the folder's division (the overview numbers only those).
    ranked: bool,
    /// Left out of the ranking as an earlier 伪变化.
    suppressed: bool,
    /// Its latest pair when the imagery lacks one of its dates (`before→after`).
    other_dates: Option<String>,
}

impl Task<'_> {
    /// The number it is shown with: only a ranked task has one, as on the 一张图 (an
    /// unranked task's place in the list is no priority; a crew reading "85" in the GPX
    /// takes it for one).
    fn number(&self) -> Option<usize> {
        self.ranked.then_some(self.n)
    }

    /// Its name as a waypoint or placemark: number and site id, or 暂不排序 and site id.
    fn point_name(&self) -> String {
        match self.number() {
            Some(n) => format!("{n} {}", self.site),
            None => format!("暂不排序 {}", self.site),
        }
    }
}

pub fn run_package(req: &PackageRequest) -> Result<PackageSummary, PipelineError> {
    let t0 = std::time::Instant::now();
    let font_path = req.font.clone().unwrap_or_else(|| PathBuf::from(FONT));
    let font_bytes = std::fs::read(&font_path).map_err(|e| {
        PipelineError::Input(format!(
            "font {}: {e}; install fonts-wqy-microhei (scripts/setup.sh does) or give --font",
            font_path.display()
        ))
    })?;
    let font = FontRef::try_from_slice_and_index(&font_bytes, 0)
        .map_err(|e| PipelineError::Input(format!("font {}: {e}", font_path.display())))?;
    // A rank folder without its manifest was left by a rank that did not finish.
    let tpath = crate::run_folder::data_file(&req.tasks, crate::run_folder::Stage::Rank)?;
    // Reading checks each polygon on the pool's threads (patch_table), as `--threads` says.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(req.threads.unwrap_or(0))
        .build()
        .map_err(|e| PipelineError::Internal(format!("thread pool: {e}")))?;
    let table = pool.install(|| patch_table::read_layer(&tpath, "tasks"))?;
    let col = |n: &str| table.columns.iter().position(|(c, _)| c == n);
    let carried: Vec<&str> = table
        .columns
        .iter()
        .map(|(c, _)| c.as_str())
        .filter(|c| FORM.iter().any(|(en, _)| en.eq_ignore_ascii_case(c)))
        .collect();
    if !carried.is_empty() {
        eprintln!(
            "package: note: {} already has the county form's column(s) {} (a package's own tasks): what they hold is kept in each county's form",
            tpath.display(),
            carried.join(", ")
        );
    }
    if col("site_id").is_none() {
        return Err(PipelineError::Input(format!(
            "{}: no site_id column; give a `minewatch rank` output",
            tpath.display()
        )));
    }
    let images = inputs::resolve(&req.imagery, req.dates.as_deref(), &req.params)?;
    inputs::check_grids(&images)?;
    let mut hash_paths: Vec<PathBuf> = vec![tpath.clone()];
    hash_paths.extend(images.iter().map(|i| i.source.clone()));
    let grid = images[0].info.grid.clone();
    let tasks_srs = minewatch_zones::crs::from_wkt(&table.crs_wkt)?;
    let to_img = Reprojector::new(&tasks_srs, &minewatch_zones::crs::from_wkt(&grid.crs_wkt)?)?;
    let to_ll = Reprojector::new(&tasks_srs, &minewatch_zones::crs::from_epsg(4490)?)?;
    // Chips are cut where each task is on the ground, found through the imagery's CRS and
    // geotransform (every date shares one grid). A task outside that footprint gets no
    // chip: a window clamped to the image's edge would show another place under the
    // task's caption and coordinates. Rings are made here, on one thread: GDAL transforms
    // are not shared between threads.
    let placed: Vec<Option<Rings>> = table
        .rows
        .iter()
        .map(|r| image_rings(r, &to_img).filter(|rings| covers(&grid, rings)))
        .collect();
    let outside: Vec<usize> = (0..placed.len()).filter(|&i| placed[i].is_none()).collect();
    let image_list = || {
        images
            .iter()
            .map(|i| i.source.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !table.rows.is_empty() && outside.len() == table.rows.len() {
        let tasks_ll = lonlat_extent(table.rows.iter().map(|r| &r.geom), &to_ll);
        let img_ll = grid_lonlat_extent(&grid)?;
        return Err(PipelineError::Input(format!(
            "the imagery ({}) covers none of the {} tasks of {}: the images span {img_ll}, the tasks lie in {tasks_ll}; give --imagery the images the tasks were detected on",
            image_list(),
            table.rows.len(),
            tpath.display()
        )));
    }
    // Zones to outline, in the imagery CRS.
    let mut outlines: Vec<Outline> = Vec::new();
    if let Some(l) = &req.layers {
        let spec = LayersSpec::from_file(l)?;
        hash_paths.push(l.clone());
        for layer in &spec.layers {
            hash_paths.push(layer.path.clone());
            hash_paths.extend(layer.attributes.iter().cloned());
        }
        if let Some(d) = &spec.admin_codes {
            hash_paths.extend(["provinces.csv", "cities.csv", "areas.csv"].map(|f| d.join(f)));
        }
        // Zones are built in a metric CRS (buffers are metres), then drawn in the imagery's.
        let g = &grid.transform;
        let (x0, y0) = (g[0], g[3]);
        let (x1, y1) = (
            g[0] + g[1] * grid.width as f64,
            g[3] + g[5] * grid.height as f64,
        );
        let img_box = [x0.min(x1), y0.min(y1), x0.max(x1), y0.max(y1)];
        let img_srs = minewatch_zones::crs::from_wkt(&grid.crs_wkt)?;
        let ll = Reprojector::new(&img_srs, &minewatch_zones::crs::from_epsg(4326)?)?
            .bounds(img_box)
            .map_err(PipelineError::Input)?;
        let work = WorkCrs::choose(&grid.crs_wkt, ll)?;
        let work_srs = work.srs()?;
        let aoi = Reprojector::new(&img_srs, &work_srs)?
            .bounds(img_box)
            .map_err(PipelineError::Input)?;
        let back = Reprojector::new(&work_srs, &img_srs)?;
        let set = minewatch_zones::load(
            &spec,
            &LoadOptions {
                work,
                aoi: Some(aoi),
            },
        )?;
        for z in &set.zones {
            let kind = &set.layers[z.layer].kind;
            if *kind == minewatch_core::ZoneKind::AdminDivision {
                continue;
            }
            let licence = matches!(
                kind,
                minewatch_core::ZoneKind::MiningRight | minewatch_core::ZoneKind::ExplorationRight
            );
            let geom = if back.is_identity() {
                z.geom.clone()
            } else {
                crate::overlay_run::reproject(&z.geom, &back).map_err(PipelineError::Input)?
            };
            let rings = geom
                .0
                .iter()
                .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
                .map(|r| r.0.iter().map(|c| (c.x, c.y)).collect())
                .collect();
            outlines.push((licence, rings));
        }
    }
    let hashes = crate::verify_run::InputHashes::start(hash_paths)?;
    let text = |r: &PatchRow, c: &str| match col(c).map(|i| &r.values[i]) {
        Some(Attr::Text(s)) => s.clone(),
        Some(Attr::Int(x)) => x.to_string(),
        Some(Attr::Real(x)) => x.to_string(),
        _ => String::new(),
    };
    if !outside.is_empty() {
        let ids: Vec<String> = outside
            .iter()
            .take(5)
            .map(|&i| text(&table.rows[i], "site_id"))
            .collect();
        eprintln!(
            "package: warning: {} of {} tasks lie outside the imagery ({}) and get no chips ({}{}); they are listed in package_manifest.json (tasks_outside_imagery) and marked on their county pages",
            outside.len(),
            table.rows.len(),
            image_list(),
            ids.join(", "),
            if outside.len() > 5 { ", …" } else { "" }
        );
    }
    // Chips are labelled with the imagery's dates: imagery of other dates than the task's
    // latest pair (last_date_before → last_date) shows something else under the task's
    // caption, with nothing to say so. Rank outputs without last_date_before are checked
    // on last_date alone.
    let image_dates: std::collections::BTreeSet<String> =
        images.iter().map(|i| i.info.date.to_string()).collect();
    let other_dates = |r: &PatchRow| -> Option<String> {
        let (before, after) = (text(r, "last_date_before"), text(r, "last_date"));
        let missing = [&before, &after]
            .iter()
            .any(|d| !d.is_empty() && !image_dates.contains(*d));
        missing.then(|| match before.is_empty() {
            true => after.clone(),
            false => format!("{before}→{after}"),
        })
    };
    let mut by_pair: BTreeMap<String, usize> = BTreeMap::new();
    for (r, rings) in table.rows.iter().zip(&placed) {
        if let (Some(_), Some(p)) = (rings, other_dates(r)) {
            *by_pair.entry(p).or_default() += 1;
        }
    }
    let n_other: usize = by_pair.values().sum();
    if n_other > 0 {
        let chipped = table.rows.len() - outside.len();
        eprintln!(
            "package: warning: {n_other} of {chipped} tasks with chips changed between dates the imagery ({}) does not have ({}): their chips show the imagery's dates, not the change that was ranked; give --imagery the images of the tasks' pairs (columns last_date_before, last_date), e.g. the images they were detected on",
            image_dates.iter().cloned().collect::<Vec<_>>().join(", "),
            by_pair
                .iter()
                .map(|(p, n)| format!("{p}: {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    // Site ids of the rows where `pick` holds, and the first five of them for a message.
    let sites_where = |pick: &dyn Fn(&PatchRow) -> bool| -> (usize, String) {
        let ids: Vec<String> = table
            .rows
            .iter()
            .filter(|r| pick(r))
            .map(|r| text(r, "site_id"))
            .collect();
        let more = if ids.len() > 5 { ", …" } else { "" };
        (
            ids.len(),
            format!("{}{more}", ids[..ids.len().min(5)].join(", ")),
        )
    };
    // Tasks in no admin division go to one folder that is no county: say so, and what
    // would place them.
    let (n_unplaced, unplaced) = sites_where(&|r: &PatchRow| {
        text(r, "county_code").is_empty() && text(r, "province_code").is_empty()
    });
    if n_unplaced > 0 {
        eprintln!(
            "package: warning: {n_unplaced} of {} tasks lie in no admin division ({unplaced}) and are filed under 000000_未定县; add an admin_division layer that covers them to the overlay's layers, then run overlay, rank and package again",
            table.rows.len(),
        );
    }
    // A site the county verified and that has not changed since is not sent again: each
    // county verifies a patch once (rank's `verified_unchanged`).
    let (n_verified, verified) = sites_where(&|r: &PatchRow| text(r, "verified_unchanged") == "1");
    if n_verified > 0 {
        eprintln!(
            "package: note: {n_verified} sites verified earlier with no change since are not sent again ({verified})"
        );
    }
    // Group by county (province when no county is known), in priority order.
    let mut groups: BTreeMap<(String, String), Vec<Placed>> = BTreeMap::new();
    for (r, rings) in table.rows.iter().zip(&placed) {
        if text(r, "verified_unchanged") == "1" {
            continue;
        }
        let key = match (text(r, "county_code"), text(r, "province_code")) {
            (c, _) if !c.is_empty() => (c, text(r, "county_name")),
            (_, p) if !p.is_empty() => (p, text(r, "province_name")),
            _ => ("000000".into(), "未定县".into()),
        };
        groups.entry(key).or_default().push((r, rings.as_ref()));
    }
    let staging = Staging::new(&req.out)?;
    let mut summary = PackageSummary {
        out: req.out.clone(),
        counties: Vec::new(),
        tasks: 0,
        chips: 0,
        tasks_outside_imagery: outside.len(),
        tasks_of_other_dates: n_other,
        tasks_without_admin_place: n_unplaced,
    };
    let mut names: Vec<String> = Vec::new();
    let mut outside_list: Vec<serde_json::Value> = Vec::new();
    for ((code, name), mut rows) in groups {
        // The rank of the folder's level (a province's folder holds sites without a
        // county: their province rank); the unranked after, by score.
        let level = if text(rows[0].0, "county_code").is_empty() {
            "rank_province"
        } else {
            "rank_county"
        };
        let rank = |r: &PatchRow| text(r, level).parse::<usize>().unwrap_or(usize::MAX);
        let score = |r: &PatchRow| text(r, "score").parse::<f64>().unwrap_or(f64::MIN);
        rows.sort_by(|(a, _), (b, _)| {
            rank(a)
                .cmp(&rank(b))
                .then_with(|| score(b).total_cmp(&score(a)))
                .then_with(|| a.id.cmp(&b.id))
        });
        let folder = format!("{code}_{}", if name.is_empty() { "未命名" } else { &name });
        let dir = staging.path(&folder);
        std::fs::create_dir_all(dir.join("chips")).map_err(|e| out_err(&dir, e))?;
        let mut tasks = Vec::new();
        for (n, &(r, rings)) in rows.iter().enumerate() {
            // One point per task: rank's centre (on the site's latest change), which the
            // form's 中心点 columns carry, is the point of the KML, GPX, chips and
            // index.html too; the geometry's own point only for a table without it.
            let given = |c: &str| text(r, c).parse::<f64>().ok().filter(|v| v.is_finite());
            let ll = match (given("centre_lon"), given("centre_lat")) {
                (Some(lon), Some(lat)) => (lon, lat),
                _ => centre(&r.geom, &to_ll).map_err(PipelineError::Input)?,
            };
            tasks.push(Task {
                row: r,
                rings,
                n: n + 1,
                site: text(r, "site_id"),
                lonlat: ll,
                reasons: text(r, "reasons_zh"),
                score: text(r, "score"),
                class: text(r, "priority_class"),
                status: text(r, "licence_status"),
                area_mu: text(r, "illegal_area_mu"),
                ranked: !text(r, level).is_empty(),
                suppressed: text(r, "suppressed") == "1",
                other_dates: rings.and_then(|_| other_dates(r)),
            });
        }
        // Chips in parallel, one file per task, date and composite; none for a task
        // outside the imagery.
        let chips: Vec<Vec<String>> = pool.install(|| {
            tasks
                .par_iter()
                .map(|t| match t.rings {
                    Some(r) => chips_for(t, r, &images, &outlines, &font, &dir),
                    None => Ok(Vec::new()),
                })
                .collect::<Result<Vec<_>, _>>()
        })?;
        let nchips: usize = chips.iter().map(Vec::len).sum();
        let n_outside = tasks.iter().filter(|t| t.rings.is_none()).count();
        for t in tasks.iter().filter(|t| t.rings.is_none()) {
            outside_list.push(serde_json::json!({
                "site_id": t.site,
                "folder": folder,
                "n": t.n,
                "lon": t.lonlat.0,
                "lat": t.lonlat.1,
            }));
        }
        // Tables: the task columns, then the form to fill. Tasks that already carry the
        // form (a county package's own tasks.gpkg given back) keep what was entered in
        // it, in the form's place: the same names twice are a table GDAL refuses.
        let form_of: Vec<Option<usize>> = table
            .columns
            .iter()
            .map(|(c, _)| FORM.iter().position(|(en, _)| en.eq_ignore_ascii_case(c)))
            .collect();
        let mut cols: Vec<(String, Kind)> = table
            .columns
            .iter()
            .zip(&form_of)
            .filter(|(_, f)| f.is_none())
            .map(|(c, _)| c.clone())
            .collect();
        // The spreadsheet a county opens is in Chinese throughout, as `rank --header zh`
        // writes it (it was Chinese for the site id and the form only); audit reads these
        // headers back.
        let mut header: Vec<String> = cols.iter().map(|(c, _)| crate::rank_run::zh(c)).collect();
        for (en, zh) in FORM {
            cols.push((en.to_string(), Kind::Text));
            header.push(zh.to_string());
        }
        header[0] = "图斑地块编号".into();
        let mut vals: Vec<Vec<Attr>> = Vec::new();
        let mut polys: Vec<Polys> = Vec::new();
        for t in &tasks {
            let mut form = vec![Attr::Text(String::new()); FORM.len()];
            let mut v = Vec::with_capacity(cols.len());
            for (a, f) in t.row.values.iter().zip(&form_of) {
                match f {
                    None => v.push(a.clone()),
                    Some(k) => {
                        form[*k] = match a {
                            Attr::Null => Attr::Text(String::new()),
                            Attr::Int(n) => Attr::Text(n.to_string()),
                            Attr::Real(x) => Attr::Text(x.to_string()),
                            Attr::Text(s) => Attr::Text(s.clone()),
                        }
                    }
                }
            }
            v.extend(form);
            vals.push(v);
            polys.push(crate::overlay_run::to_polys(&t.row.geom));
        }
        // The spreadsheet's coded values in Chinese too (优先级 高, 矿权状态 无证); the
        // GeoPackage and GeoJSON keep the codes programs read.
        let zh_vals: Vec<Vec<Attr>> = vals
            .iter()
            .map(|v| {
                v.iter()
                    .zip(&cols)
                    .map(|(a, (c, _))| match a {
                        Attr::Text(s) => value_zh(c, s).map_or_else(|| a.clone(), Attr::Text),
                        _ => a.clone(),
                    })
                    .collect()
            })
            .collect();
        // The first column is site_id in rank outputs; keep the English name in GIS files.
        tw::write_csv(&dir.join("tasks.csv"), &header, &zh_vals)?;
        tw::write_gpkg(
            &dir.join("tasks.gpkg"),
            &table.crs_wkt,
            &[GpkgLayer {
                name: "tasks",
                columns: &cols,
                rows: &vals,
                geoms: Some(&polys),
            }],
        )?;
        let ll = pool.install(|| crate::overlay_run::lonlat_of(&table.crs_wkt, &polys))?;
        tw::write_geojson(&dir.join("tasks.geojson"), "tasks", &cols, &vals, &ll)?;
        write_kml(&dir.join("centres.kml"), &folder, &tasks)?;
        write_gpx(&dir.join("centres.gpx"), &tasks)?;
        let year = rows
            .iter()
            .map(|(r, _)| text(r, "last_date"))
            .max()
            .unwrap_or_default();
        overview(
            &dir.join("overview.png"),
            &font,
            &code,
            &name,
            &year.chars().take(4).collect::<String>(),
            level,
            &tasks,
        )?;
        write_html(
            &dir.join("index.html"),
            &code,
            &name,
            &tasks,
            &chips,
            &images,
        )?;
        let zip_name = format!("{folder}.zip");
        let zip_bytes = zip_folder(&dir, &staging.path(&zip_name), &folder)?;
        summary.tasks += tasks.len();
        summary.chips += nchips;
        summary.counties.push(CountyPackage {
            folder: folder.clone(),
            tasks: tasks.len(),
            chips: nchips,
            tasks_outside_imagery: n_outside,
            zip_bytes,
        });
        names.push(folder);
        names.push(zip_name);
    }
    // What this run wrote (size and sha256 of every file; no inodes or times, so reruns
    // give the same record): the next run into this folder tells a form filled in place
    // from a file it may replace.
    let mut written = stage_outputs::record(&staging.path(""), "")?;
    for o in &mut written.outputs {
        o.identity = None;
    }
    let m = serde_json::json!({
        "tool": "minewatch package",
        "version": env!("CARGO_PKG_VERSION"),
        "command": req.command,
        "tasks": tpath,
        "imagery": images.iter().map(|i| serde_json::json!({"path": i.source, "date": i.info.date.to_string(), "profile": i.profile.name})).collect::<Vec<_>>(),
        "layers": req.layers,
        "inputs": hashes.records()?,
        "font": font_path,
        "summary": summary,
        "tasks_outside_imagery": outside_list,
        "tasks_of_other_dates": by_pair.iter().map(|(p, n)| serde_json::json!({"pair": p, "tasks": n})).collect::<Vec<_>>(),
        "seconds": round(t0.elapsed().as_secs_f64(), 3),
        "outputs": written.outputs,
    });
    crate::manifest::write(&staging.path("package_manifest.json"), &m)?;
    names.push("package_manifest.json".into());
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    make_room(&req.out, &names, &staging)?;
    staging.commit(&refs, &[])?;
    let _ = std::fs::remove_file(req.out.join(CLEARING));
    Ok(summary)
}

/// Clear the way in `out` for this run's county folders and zips (`names`, staged in
/// `staging`): an earlier run's folders of the same counties are replaced, and those of
/// counties this run does not have are removed (the earlier manifest names them), so that no
/// stale package goes out beside the new ones. A county's work is never lost: a file edited
/// since the earlier run wrote it (a form filled in place) or not written by it (photos
/// beside the form) is moved to `out/kept-edits/FOLDER/…` first, and named on stderr.
/// The earlier run's record is `outputs` in its manifest (size and sha256 of every file);
/// a manifest of a version before session 20 has none: a file is then replaced only when
/// this run writes the same bytes to it.
fn make_room(out: &Path, names: &[String], staging: &Staging) -> Result<(), PipelineError> {
    let read = |name: &str| -> Option<serde_json::Value> {
        std::fs::read_to_string(out.join(name))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
    };
    // A run killed while it cleared the way left the earlier manifest under its clearing
    // name: it still says which county folders are stale.
    let clearing = read(CLEARING);
    let earlier: Option<serde_json::Value> =
        read("package_manifest.json").or_else(|| clearing.clone());
    let recorded: Option<Vec<OutputFile>> = earlier
        .as_ref()
        .and_then(|m| serde_json::from_value(m["outputs"].clone()).ok());
    // Names from a manifest are trusted only as plain folder names beside it.
    let is_folder = |f: &str| {
        !f.is_empty()
            && !f.starts_with('.')
            && !f.contains(['/', '\\'])
            && !f.ends_with(".zip")
            && f != KEPT
    };
    // Counties of the earlier run, then this run's (a folder of the same name goes first).
    let mut going: Vec<String> = earlier
        .iter()
        .chain(clearing.iter())
        .flat_map(|m| {
            m["summary"]["counties"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|c| c["folder"].as_str().map(String::from))
        .chain(names.iter().cloned())
        .filter(|f| is_folder(f) && f != "package_manifest.json")
        .collect();
    going.sort();
    going.dedup();
    // A half-replaced folder must not sit beside the earlier manifest, but the manifest's
    // list of folders must outlive a kill halfway through the removals (a county folder
    // left from the earlier run would go out beside the new ones): it is set aside under
    // the clearing name, removed once this run's manifest is in place.
    if !going.is_empty() && out.join("package_manifest.json").is_file() {
        std::fs::rename(out.join("package_manifest.json"), out.join(CLEARING)).map_err(|e| {
            out_err(
                &out.join("package_manifest.json"),
                format!("cannot set the earlier manifest aside: {e}"),
            )
        })?;
    }
    let kept_root = out.join(KEPT);
    for f in &going {
        let dir = out.join(f);
        let zip = format!("{f}.zip");
        let (rec, unrecorded) = match &recorded {
            Some(outputs) => (under(outputs, &format!("{f}/")), false),
            None => {
                let staged = staging.path(f);
                let rec = if staged.is_dir() {
                    stage_outputs::record(&staged, "")?
                } else {
                    under(&[], "")
                };
                (rec, true)
            }
        };
        let mut kept = Vec::new();
        if dir.is_dir() {
            kept = stage_outputs::keep_edits(
                &dir,
                &rec,
                &kept_root.join(f),
                true,
                "minewatch package",
            )?;
        }
        // The zip: kept too when changed since written (never added: it is one file).
        if let Some(outputs) = recorded.as_ref().filter(|_| out.join(&zip).is_file()) {
            let only: Vec<OutputFile> = outputs.iter().filter(|o| o.path == zip).cloned().collect();
            let rec = under(&only, "");
            for mut k in
                stage_outputs::keep_edits(out, &rec, &kept_root, false, "minewatch package")?
            {
                k.rel = zip.clone();
                kept.push(k);
            }
        }
        if unrecorded && !kept.is_empty() {
            let why = if earlier.is_some() {
                "the earlier package_manifest.json there records no checksums (a version before session 20)"
            } else {
                "no package_manifest.json there says what an earlier run wrote"
            };
            eprintln!(
                "package: {} already holds {f} and {why}: its files that differ from this run's, or that this run does not write, are kept aside",
                out.display()
            );
        }
        for k in &kept {
            let rel = if k.rel == zip {
                zip.clone()
            } else {
                format!("{f}/{}", k.rel)
            };
            let how = match (k.edited, unrecorded) {
                (true, false) => "was edited since minewatch package wrote it",
                (true, true) => "differs from what this run writes",
                (false, _) => "was not written by minewatch package",
            };
            eprintln!(
                "package: {rel} {how}; kept as {} (the county folder is written anew: copy what you need back)",
                k.to.display()
            );
        }
        if dir.is_dir() {
            std::fs::remove_dir_all(&dir).map_err(|e| {
                out_err(
                    &dir,
                    format!("cannot remove the earlier package of this county: {e}"),
                )
            })?;
        }
        let _ = std::fs::remove_file(out.join(&zip));
    }
    Ok(())
}

/// Folder beside the packages where a rerun keeps a county's edits and added files.
const KEPT: &str = "kept-edits";
/// The earlier run's manifest while this run removes the folders it names (hidden: it
/// describes no package that is there).
const CLEARING: &str = ".package_manifest.clearing.json";

/// The records of `outputs` under `prefix`, as a record of that folder.
fn under(outputs: &[OutputFile], prefix: &str) -> StageRecord {
    StageRecord {
        fingerprint: String::new(),
        recorded_ns: 0,
        outputs: outputs
            .iter()
            .filter_map(|o| {
                Some(OutputFile {
                    path: o.path.strip_prefix(prefix)?.to_string(),
                    ..o.clone()
                })
            })
            .collect(),
        summary: serde_json::Value::Null,
    }
}

fn out_err(p: &Path, e: impl std::fmt::Display) -> PipelineError {
    PipelineError::Output {
        path: p.to_path_buf(),
        msg: e.to_string(),
    }
}

/// Where a field crew is sent when the task table has no centre (rank writes one): the
/// task's centroid when it lies on the patch, else a
/// point inside it (a C-shaped pit or a site of several parts has its centroid off the
/// ground to check; a reviewer found 4 of the demo's 92 centroids 7–23 m outside).
fn centre(g: &geo_types::MultiPolygon<f64>, to_ll: &Reprojector) -> Result<(f64, f64), String> {
    use geo::{Centroid, InteriorPoint, Intersects};
    let mut c = g.centroid().ok_or("empty geometry")?;
    if !g.intersects(&c) {
        c = g.interior_point().ok_or("empty geometry")?;
    }
    let mut p = gdal::vector::Geometry::from_wkt(&format!("POINT ({} {})", c.x(), c.y()))
        .map_err(|e| e.to_string())?;
    to_ll.apply(&mut p)?;
    let (x, y, _) = p.get_point(0);
    Ok((x, y))
}

/// A task's patch rings in the imagery CRS; `None` when they cannot be placed there (a
/// transform that fails lies far outside any image in that CRS).
fn image_rings(r: &PatchRow, to_img: &Reprojector) -> Option<Rings> {
    let rings_of = |g: &geo_types::MultiPolygon<f64>| -> Rings {
        g.0.iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            .map(|r| r.0.iter().map(|c| (c.x, c.y)).collect())
            .collect()
    };
    if to_img.is_identity() {
        Some(rings_of(&r.geom))
    } else {
        crate::overlay_run::reproject(&r.geom, to_img)
            .ok()
            .map(|g| rings_of(&g))
    }
}

/// Whether a patch (rings in the imagery CRS) overlaps the grid's footprint.
fn covers(grid: &minewatch_core::Grid, rings: &Rings) -> bool {
    let g = grid.transform;
    let (mut c0, mut r0, mut c1, mut r1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for &(x, y) in rings.iter().flatten() {
        let (c, r) = ((x - g[0]) / g[1], (y - g[3]) / g[5]);
        (c0, r0, c1, r1) = (c0.min(c), r0.min(r), c1.max(c), r1.max(r));
    }
    c0 < grid.width as f64 && c1 > 0.0 && r0 < grid.height as f64 && r1 > 0.0
}

/// `W–E °E, S–N °N` of a box in lon/lat, for messages.
fn lonlat_text(b: [f64; 4]) -> String {
    format!("{:.4}–{:.4} °E, {:.4}–{:.4} °N", b[0], b[2], b[1], b[3])
}

/// Where the imagery's grid lies, in lon/lat, for messages.
fn grid_lonlat_extent(grid: &minewatch_core::Grid) -> Result<String, PipelineError> {
    let g = &grid.transform;
    let (x1, y1) = (
        g[0] + g[1] * grid.width as f64,
        g[3] + g[5] * grid.height as f64,
    );
    let b = [g[0].min(x1), g[3].min(y1), g[0].max(x1), g[3].max(y1)];
    let srs = minewatch_zones::crs::from_wkt(&grid.crs_wkt)?;
    let ll = Reprojector::new(&srs, &minewatch_zones::crs::from_epsg(4490)?)?
        .bounds(b)
        .map_err(PipelineError::Input)?;
    Ok(lonlat_text(ll))
}

/// Where the tasks lie, in lon/lat (from their centres), for messages.
fn lonlat_extent<'a>(
    geoms: impl Iterator<Item = &'a geo_types::MultiPolygon<f64>>,
    to_ll: &Reprojector,
) -> String {
    let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    for g in geoms {
        if let Ok((x, y)) = centre(g, to_ll) {
            b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
        }
    }
    if b[0] > b[2] {
        return "an unknown place (no task centre could be computed)".into();
    }
    lonlat_text(b)
}

/// Chips of one task: for each date a true-colour chip and, with NIR and SWIR1, a false-
/// colour one. Returns their file names (relative to the county folder).
fn chips_for(
    t: &Task,
    rings: &[Vec<(f64, f64)>],
    images: &[DatedImage],
    outlines: &[Outline],
    font: &FontRef,
    dir: &Path,
) -> Result<Vec<String>, PipelineError> {
    let grid = &images[0].info.grid;
    let g = grid.transform;
    let to_px = |x: f64, y: f64| ((x - g[0]) / g[1], (y - g[3]) / g[5]);
    let (mut c0, mut r0, mut c1, mut r1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for &(x, y) in rings.iter().flatten() {
        let (c, r) = to_px(x, y);
        (c0, r0, c1, r1) = (c0.min(c), r0.min(r), c1.max(c), r1.max(r));
    }
    // A square window around the patch with half its size as margin, at least 48 px.
    let side = ((c1 - c0).max(r1 - r0) * 2.0).max(48.0).ceil() as usize;
    let side = side.min(grid.width).min(grid.height);
    let cc = ((c0 + c1) / 2.0 - side as f64 / 2.0).round().max(0.0) as usize;
    let rr = ((r0 + r1) / 2.0 - side as f64 / 2.0).round().max(0.0) as usize;
    let win = Window {
        col: cc.min(grid.width - side),
        row: rr.min(grid.height - side),
        width: side,
        height: side,
    };
    let k = CHIP as f64 / side as f64;
    let to_chip = |x: f64, y: f64| {
        let (c, r) = to_px(x, y);
        ((c - win.col as f64) * k, (r - win.row as f64) * k)
    };
    let m_per_px = g[1].abs() * metres_per_unit(grid) / k;
    let mut names = Vec::new();
    for img in images {
        let p = &img.profile;
        let mut combos: Vec<(&str, [BandRole; 3])> =
            vec![("tc", [BandRole::Red, BandRole::Green, BandRole::Blue])];
        if p.has(BandRole::Swir1) && p.has(BandRole::Nir) {
            combos.push(("fc", [BandRole::Swir1, BandRole::Nir, BandRole::Red]));
        }
        let roles: Vec<BandRole> = {
            let mut v: Vec<BandRole> = combos.iter().flat_map(|c| c.1).collect();
            v.sort();
            v.dedup();
            v.retain(|r| p.has(*r));
            v
        };
        let mut valid = vec![1u8; win.len()];
        let bands = minewatch_raster::read_window(&img.info, p, &roles, &win, &mut valid)?;
        for (tag, rgb) in combos {
            if !rgb.iter().all(|r| p.has(*r)) {
                continue;
            }
            let planes: Vec<Vec<f32>> = rgb
                .iter()
                .map(|r| {
                    let mut v = bands.get(*r).map(|x| x.to_vec()).unwrap_or_default();
                    for (x, ok) in v.iter_mut().zip(&valid) {
                        if *ok == 0 {
                            *x = f32::NAN;
                        }
                    }
                    v
                })
                .collect();
            let small = render::composite([&planes[0], &planes[1], &planes[2]], side, side);
            let mut chip: RgbImage =
                imageops::resize(&small, CHIP, CHIP, imageops::FilterType::Nearest);
            for (licence, rs) in outlines {
                for r in rs {
                    let pts: Vec<(f64, f64)> = r.iter().map(|&(x, y)| to_chip(x, y)).collect();
                    render::ring(&mut chip, &pts, if *licence { CYAN } else { MAGENTA }, 1);
                }
            }
            for r in rings {
                let pts: Vec<(f64, f64)> = r.iter().map(|&(x, y)| to_chip(x, y)).collect();
                render::ring(&mut chip, &pts, YELLOW, 2);
            }
            // Only a ranked task's chips carry its number (as on the 一张图).
            let label = format!(
                "{}{}  {}",
                t.number().map(|n| format!("{n}  ")).unwrap_or_default(),
                img.info.date,
                if tag == "tc" {
                    "真彩色"
                } else {
                    "假彩色 SWIR/NIR/R"
                }
            );
            render::text(
                &mut chip,
                font,
                &label,
                (6.0, 4.0),
                render::Pen::on_image(15.0),
            );
            render::north_arrow(&mut chip, font, CHIP as i64 - 18, 6);
            render::scale_bar(&mut chip, font, m_per_px, 8, CHIP as i64 - 44);
            let (lon, lat) = t.lonlat;
            let c1 = format!(
                "{} {}",
                render::dms(lon, 'E', 'W'),
                render::dms(lat, 'N', 'S')
            );
            let c2 = format!("{lon:.6}, {lat:.6} (CGCS2000)");
            render::text(
                &mut chip,
                font,
                &c1,
                (6.0, CHIP as f32 - 34.0),
                render::Pen::on_image(12.0),
            );
            render::text(
                &mut chip,
                font,
                &c2,
                (6.0, CHIP as f32 - 18.0),
                render::Pen::on_image(12.0),
            );
            // The task's place in the folder makes the name unique; the id is made safe
            // for every file system and zip (the page shows it as it is).
            let name = format!(
                "chips/{:03}_{}_{}_{tag}.png",
                t.n,
                file_safe(&t.site),
                img.info.date.compact()
            );
            chip.save(dir.join(&name))
                .map_err(|e| out_err(&dir.join(&name), e))?;
            names.push(name);
        }
    }
    Ok(names)
}

/// Metres per CRS unit: 1 for projected grids, ~111 km per degree (at the grid's centre
/// latitude) for geographic ones.
fn metres_per_unit(grid: &minewatch_core::Grid) -> f64 {
    let projected = minewatch_zones::crs::from_wkt(&grid.crs_wkt)
        .map(|s| s.is_projected())
        .unwrap_or(true);
    if projected {
        1.0
    } else {
        let lat = grid.transform[3] + grid.transform[5] * grid.height as f64 / 2.0;
        111_320.0 * lat.to_radians().cos()
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn write_kml(path: &Path, name: &str, tasks: &[Task]) -> Result<(), PipelineError> {
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<kml xmlns=\"http://www.opengis.net/kml/2.2\">\n<Document>\n");
    let _ = writeln!(s, "<name>{}</name>", esc(name));
    for t in tasks {
        let _ = writeln!(
            s,
            "<Placemark><name>{}</name><description>{}</description><Point><coordinates>{:.7},{:.7},0</coordinates></Point></Placemark>",
            esc(&t.point_name()),
            esc(&t.reasons),
            t.lonlat.0,
            t.lonlat.1
        );
    }
    s.push_str("</Document>\n</kml>\n");
    std::fs::write(path, s).map_err(|e| out_err(path, e))
}

fn write_gpx(path: &Path, tasks: &[Task]) -> Result<(), PipelineError> {
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<gpx version=\"1.1\" creator=\"minewatch\" xmlns=\"http://www.topografix.com/GPX/1/1\">\n");
    for t in tasks {
        let _ = writeln!(
            s,
            "<wpt lat=\"{:.7}\" lon=\"{:.7}\"><name>{}</name><desc>{}</desc></wpt>",
            t.lonlat.1,
            t.lonlat.0,
            esc(&t.point_name()),
            esc(&t.reasons)
        );
    }
    s.push_str("</gpx>\n");
    std::fs::write(path, s).map_err(|e| out_err(path, e))
}

/// Extent of the tasks' centres with a margin, and a projector into a `size` square.
fn frame(tasks: &[Task], size: f64, pad: f64) -> (impl Fn((f64, f64)) -> (f64, f64), f64) {
    let (mut w, mut s, mut e, mut n) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for t in tasks {
        (w, s, e, n) = (
            w.min(t.lonlat.0),
            s.min(t.lonlat.1),
            e.max(t.lonlat.0),
            n.max(t.lonlat.1),
        );
    }
    let lat = (s + n) / 2.0;
    let kx = lat.to_radians().cos();
    let span = ((e - w) * kx).max(n - s).max(0.005) * 1.25;
    let (cx, cy) = ((w + e) / 2.0, (s + n) / 2.0);
    let inner = size - 2.0 * pad;
    let f = move |(lon, la): (f64, f64)| {
        (
            pad + inner / 2.0 + (lon - cx) * kx / span * inner,
            pad + inner / 2.0 - (la - cy) / span * inner,
        )
    };
    // metres per map pixel
    (f, span * 111_320.0 / inner)
}

/// Whether a task is suspected illegal: it has suspected illegal area (sites inside a
/// valid licence and special land have none).
fn suspected(t: &Task) -> bool {
    !t.suppressed && t.area_mu.trim().parse::<f64>().is_ok_and(|a| a > 0.0)
}

/// The county monitoring map (一张图): title, county name and code, year, frame, numbered
/// patches, legend, projection note, scale bar and north arrow.
fn overview(
    path: &Path,
    font: &FontRef,
    code: &str,
    name: &str,
    year: &str,
    level: &str,
    tasks: &[Task],
) -> Result<(), PipelineError> {
    let size = 900u32;
    let mut img = RgbImage::from_pixel(size, size, image::Rgb([250, 250, 245]));
    let black = render::BLACK;
    render::text(
        &mut img,
        font,
        &format!("{year}年度矿产卫片执法监测图"),
        (30.0, 18.0),
        render::Pen::on_paper(30.0),
    );
    // Sites inside a valid licence are verified too but are not suspected illegal (a
    // review found them counted as such); unscreened ones are not counted either way.
    let sub = subtitle(
        name,
        code,
        tasks.len(),
        tasks.iter().filter(|t| suspected(t)).count(),
        tasks.iter().filter(|t| t.status == "not_checked").count(),
    );
    // A long line (a long name, both counts) in a smaller pen, to stay inside the frame.
    let pen = if sub.chars().count() > 40 { 17.0 } else { 20.0 };
    render::text(
        &mut img,
        font,
        &sub,
        (30.0, 60.0),
        render::Pen::on_paper(pen),
    );
    let (x0, y0, x1, y1) = (30i64, 100i64, size as i64 - 30, size as i64 - 120);
    for (a, b) in [
        ((x0, y0), (x1, y0)),
        ((x1, y0), (x1, y1)),
        ((x1, y1), (x0, y1)),
        ((x0, y1), (x0, y0)),
    ] {
        render::line(
            &mut img,
            (a.0 as f64, a.1 as f64),
            (b.0 as f64, b.1 as f64),
            black,
            2,
        );
    }
    let (proj, m_per_px) = frame(tasks, (x1 - x0) as f64, 40.0);
    for t in tasks {
        let (px, py) = proj(t.lonlat);
        let (px, py) = (
            px + x0 as f64,
            py + y0 as f64 - ((x1 - x0) - (y1 - y0)) as f64 / 2.0,
        );
        let py = py.clamp(y0 as f64 + 8.0, y1 as f64 - 8.0);
        // Only ranked tasks carry a number: the legend calls it the division's priority
        // order, and an unranked task (no new change, 伪变化) has none.
        if t.ranked {
            render::fill_rect(&mut img, px as i64 - 4, py as i64 - 4, 9, 9, render::RED);
            render::text(
                &mut img,
                font,
                &t.n.to_string(),
                (px as f32 + 6.0, py as f32 - 8.0),
                render::Pen::on_paper(14.0),
            );
        } else {
            render::fill_rect(&mut img, px as i64 - 4, py as i64 - 4, 9, 9, GREY);
        }
    }
    let ly = y1 + 14;
    render::fill_rect(&mut img, x0, ly + 6, 9, 9, render::RED);
    let legend_line = legend(level);
    for (k, (line, size, dx)) in [
        (legend_line.as_str(), 16.0, 14.0),
        (
            "坐标系：2000国家大地坐标系（CGCS2000，EPSG:4490），经纬度；图斑位置为中心点",
            14.0,
            0.0,
        ),
        ("制图：minewatch（卫片图斑为线索，须经实地核查）", 14.0, 0.0),
    ]
    .into_iter()
    .enumerate()
    {
        let at = (x0 as f32 + dx, ly as f32 + [0.0, 26.0, 48.0][k]);
        render::text(&mut img, font, line, at, render::Pen::on_paper(size));
    }
    // Scale bar and north arrow drawn on a dark plate so their white pen shows.
    let mut plate = RgbImage::from_pixel(230, 60, image::Rgb([60, 60, 60]));
    render::scale_bar(&mut plate, font, m_per_px, 10, 38);
    render::north_arrow(&mut plate, font, 205, 6);
    imageops::overlay(&mut img, &plate, x1 - 230, ly - 4);
    img.save(path).map_err(|e| out_err(path, e))
}

fn write_html(
    path: &Path,
    code: &str,
    name: &str,
    tasks: &[Task],
    chips: &[Vec<String>],
    images: &[DatedImage],
) -> Result<(), PipelineError> {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{name} {code} 核查任务</title>\n<style>\
body{{font-family:sans-serif;margin:16px;color:#222}} table{{border-collapse:collapse;width:100%}} td,th{{border:1px solid #bbb;padding:4px;vertical-align:top;font-size:13px}}\
th{{background:#eee}} .nw{{white-space:nowrap}} td.why{{min-width:12em}} td.chips{{width:332px}} @media screen and (min-width:1440px){{td.chips{{width:660px}}}} img.chip{{width:160px;height:160px;margin:1px;display:inline-block}} .map{{border:1px solid #888;background:#fafaf5}}\
@page{{size:A4 landscape;margin:10mm}} @media print{{body{{margin:0}} h1{{font-size:18px}} td,th{{font-size:10px;padding:2px}} td.chips{{min-width:0;width:168px}} img.chip{{width:82px;height:82px}} tr{{break-inside:avoid}}}}\
</style></head>\n<body>\n<h1>{name}（{code}）矿产卫片执法核查任务</h1>\n<p>共 {} 个任务，按优先级排序。影像时相：{}。本页离线可用（无需网络）。</p>\n",
        tasks.len(),
        images.iter().map(|i| i.info.date.to_string()).collect::<Vec<_>>().join("、")
    );
    // An SVG map of the centres.
    let (proj, _) = frame(tasks, 480.0, 24.0);
    s.push_str("<svg class=\"map\" width=\"480\" height=\"480\" viewBox=\"0 0 480 480\">\n");
    // As on the 一张图: a ranked task red with its number, an unranked one grey without.
    for t in tasks {
        let (x, y) = proj(t.lonlat);
        let _ = match t.number() {
            Some(n) => writeln!(
                s,
                "<a href=\"#t{}\"><circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"5\" fill=\"#d22\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\">{n}</text></a>",
                t.n,
                x + 6.0,
                y - 4.0
            ),
            None => writeln!(
                s,
                "<a href=\"#t{}\"><circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"4\" fill=\"#969696\"><title>暂不排序 {}</title></circle></a>",
                t.n,
                esc(&t.site)
            ),
        };
    }
    // Short coded columns (序号, 得分 / 优先级, 矿权状态, 面积) never wrap: squeezed by the
    // chips, 未核对矿权 stood one character per line. The reasons wrap, with room for a
    // dozen characters a line; the chips go two by two below 1440 px (four in a row beside
    // the rest would leave the reasons a few characters a line). Printed on
    // A4 landscape the chips are smaller, two by two, a task is not cut across pages, and
    // the header row (thead) is repeated on every page.
    s.push_str("</svg>\n<table>\n<thead><tr><th class=\"nw\">序号</th><th>图斑地块编号</th><th class=\"nw\">得分 /<br>优先级</th><th class=\"nw\">矿权状态</th><th class=\"nw\">疑似违法<br>面积(亩)</th><th>中心点</th><th>理由</th><th>影像</th></tr></thead>\n");
    for (t, c) in tasks.iter().zip(chips) {
        let _ = write!(
            s,
            "<tr id=\"t{}\" class=\"task\"><td class=\"nw\">{}</td><td>{}</td><td class=\"nw\">{} / {}</td><td class=\"nw\">{}</td><td class=\"nw\">{}</td><td>{}<br>{}<br>{:.6}, {:.6}</td><td class=\"why\">{}</td><td class=\"chips\">",
            t.n,
            t.number().map_or("暂不排序".to_string(), |n| n.to_string()),
            esc(&t.site),
            esc(&t.score),
            esc(&value_zh("priority_class", &t.class).unwrap_or_default()),
            esc(&value_zh("licence_status", &t.status).unwrap_or_default()),
            esc(&t.area_mu),
            render::dms(t.lonlat.0, 'E', 'W'),
            render::dms(t.lonlat.1, 'N', 'S'),
            t.lonlat.0,
            t.lonlat.1,
            esc(&t.reasons)
        );
        for f in c {
            let _ = write!(
                s,
                "<img class=\"chip\" src=\"{}\" alt=\"{} {}\">",
                esc(f),
                esc(&t.site),
                esc(f.rsplit('/').next().unwrap_or(f))
            );
        }
        if t.rings.is_none() {
            s.push_str("<span class=\"outside\">所给影像未覆盖此任务位置，无切片；请用覆盖该处的影像核查。</span>");
        }
        if let Some(p) = &t.other_dates {
            let _ = write!(
                s,
                "<span class=\"other-dates\">切片影像时相与本任务变化时相（{}）不符，未显示所排变化；请用该时相影像核查。</span>",
                esc(p)
            );
        }
        s.push_str("</td></tr>\n");
    }
    s.push_str("</table>\n<p><a href=\"tasks.csv\">tasks.csv</a>（填写核查结果后返回）· <a href=\"tasks.gpkg\">tasks.gpkg</a> · <a href=\"centres.kml\">centres.kml</a> · <a href=\"centres.gpx\">centres.gpx</a> · <a href=\"overview.png\">一张图</a></p>\n\
<script>window.addEventListener('load',function(){var im=document.querySelectorAll('img.chip');var ok=0;im.forEach(function(i){if(i.complete&&i.naturalWidth>0)ok++;});document.body.setAttribute('data-chips-loaded',ok);document.body.setAttribute('data-chips',im.length);});</script>\n</body></html>\n");
    std::fs::write(path, s).map_err(|e| out_err(path, e))
}

/// Zip a folder (sorted entries, fixed timestamps: the same files give the same bytes).
fn zip_folder(dir: &Path, zip_path: &Path, root: &str) -> Result<u64, PipelineError> {
    let f = std::fs::File::create(zip_path).map_err(|e| out_err(zip_path, e))?;
    let mut z = zip::ZipWriter::new(f);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).map_err(|e| out_err(&d, e))?.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    files.sort();
    for p in files {
        let rel = p
            .strip_prefix(dir)
            .unwrap_or(&p)
            .to_string_lossy()
            .replace('\\', "/");
        z.start_file(format!("{root}/{rel}"), opts)
            .map_err(|e| out_err(zip_path, e))?;
        let bytes = std::fs::read(&p).map_err(|e| out_err(&p, e))?;
        z.write_all(&bytes).map_err(|e| out_err(zip_path, e))?;
    }
    z.finish().map_err(|e| out_err(zip_path, e))?;
    Ok(std::fs::metadata(zip_path).map(|m| m.len()).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::Intersects;

    /// A C-shaped pit (UTM 50N, near Nanjing): its centroid lies in the mouth of the C,
    /// off the patch; the crew's point must be on it. A square keeps its centroid.
    #[test]
    fn the_crew_is_sent_onto_the_patch() {
        let utm = minewatch_zones::crs::from_epsg(32650).unwrap();
        let ll = minewatch_zones::crs::from_epsg(4326).unwrap();
        let to_ll = Reprojector::new(&utm, &ll).unwrap();
        let back = Reprojector::new(&ll, &utm).unwrap();
        let (x, y) = (670_000.0, 3_540_000.0);
        let c_shape = geo_types::MultiPolygon(vec![geo_types::Polygon::new(
            geo_types::LineString::from(vec![
                (x, y),
                (x + 300.0, y),
                (x + 300.0, y + 60.0),
                (x + 60.0, y + 60.0),
                (x + 60.0, y + 240.0),
                (x + 300.0, y + 240.0),
                (x + 300.0, y + 300.0),
                (x, y + 300.0),
                (x, y),
            ]),
            vec![],
        )]);
        let on_patch = |lon: f64, lat: f64| {
            let mut p = gdal::vector::Geometry::from_wkt(&format!("POINT ({lon} {lat})")).unwrap();
            back.apply(&mut p).unwrap();
            let (px, py, _) = p.get_point(0);
            c_shape.intersects(&geo_types::Point::new(px, py))
        };
        use geo::Centroid;
        let c = c_shape.centroid().unwrap();
        assert!(
            !c_shape.intersects(&c),
            "the test shape's centroid must be off it"
        );
        let (lon, lat) = centre(&c_shape, &to_ll).unwrap();
        assert!(on_patch(lon, lat), "{lon} {lat}");
        // A square's point is its centroid.
        let square = geo_types::MultiPolygon(vec![geo_types::Polygon::new(
            geo_types::LineString::from(vec![
                (x, y),
                (x + 100.0, y),
                (x + 100.0, y + 100.0),
                (x, y + 100.0),
                (x, y),
            ]),
            vec![],
        )]);
        let (lon, lat) = centre(&square, &to_ll).unwrap();
        let mut p = gdal::vector::Geometry::from_wkt(&format!("POINT ({lon} {lat})")).unwrap();
        back.apply(&mut p).unwrap();
        let (px, py, _) = p.get_point(0);
        assert!((px - (x + 50.0)).abs() < 1e-4 && (py - (y + 50.0)).abs() < 1e-4);
    }
}
