//! The overlay run: patches (a `detect` folder or a polygon file) against the layers file,
//! findings written as GeoPackage (patch CRS, with a `zone_hits` table), RFC 7946 GeoJSON,
//! CSV (UTF-8 with BOM, English or Chinese header), a hits CSV and a manifest, all through
//! the staging folder.

use crate::error::PipelineError;
use crate::manifest::HashJob;
use crate::patch_table::{self, PatchTable};
use crate::staging::Staging;
use crate::write::table::{self, GpkgLayer, Polys};
use crate::write::{round, Attr, Kind};
use geo::orient::{Direction, Orient};
use geo::GeodesicArea;
use geo_types::MultiPolygon;
use minewatch_core::units::m2_to_mu;
use minewatch_core::{Finding, LicenceStatus, ZoneKind};
use minewatch_zones::{
    findings::KindAreas, AdminCodes, LayersSpec, LoadOptions, Overlay, PatchInput, PatchShape,
    ReadLayers, Reprojector, WorkCrs,
};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Column names for the tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Header {
    En,
    Zh,
}

impl Header {
    /// CSV header of typed columns: the field names, or their Chinese names by `zh`.
    pub fn names(self, cols: &[(String, Kind)], zh: fn(&str) -> String) -> Vec<String> {
        cols.iter()
            .map(|(c, _)| match self {
                Header::En => c.clone(),
                Header::Zh => zh(c),
            })
            .collect()
    }
}

#[derive(Debug, Clone)]
pub struct OverlayRequest {
    pub patches: PathBuf,
    pub layers: PathBuf,
    pub out: PathBuf,
    pub threads: Option<usize>,
    pub header: Header,
    pub command: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct OverlaySummary {
    pub out: PathBuf,
    pub patches: usize,
    pub patches_with_zone_hits: usize,
    pub zone_hits: usize,
    pub licence_status: BTreeMap<String, usize>,
    pub over_10_mu_illegal: usize,
    pub in_protected_zones: usize,
    pub special_land: usize,
}

#[derive(Debug, Clone, Serialize)]
struct FileRecord {
    path: PathBuf,
    bytes: u64,
    sha256: String,
}

#[derive(Debug, Clone, Serialize)]
struct LayerRecord {
    name: String,
    kind: String,
    path: PathBuf,
    layer: Option<String>,
    #[serde(rename = "where")]
    filter: Option<String>,
    buffer_m: Option<f64>,
    dissolve: bool,
    features_read: usize,
    /// Features left out because GEOS could not repair their geometry (each warned by id).
    features_skipped: usize,
    zones: usize,
}

#[derive(Debug, Clone, Serialize)]
struct WorkCrsGroup {
    patches: usize,
    reason: String,
    wkt: String,
}

#[derive(Debug, Clone, Serialize)]
struct OverlayManifest {
    tool: String,
    version: String,
    gdal: String,
    command: String,
    patches: FileRecord,
    /// Every date pair the detect run that wrote the patches compared, with or without
    /// patches (from its manifest), for rank: `null` when the patches came from elsewhere.
    detect_pairs: Option<Vec<crate::compared_pairs::ComparedPair>>,
    layers_file: FileRecord,
    layers: Vec<LayerRecord>,
    other_inputs: Vec<FileRecord>,
    work_crs_is_patch_crs: bool,
    /// Which CRS buffers and distances are measured in, and why (scale over the patches).
    work_crs_reason: String,
    /// The first work CRS (the only one unless `work_crs_groups` lists several).
    work_crs_wkt: String,
    /// Patches whose own CRS cannot measure them all are measured each in a CRS local to
    /// it: the CRSs and how many patches each (empty with one CRS).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    work_crs_groups: Vec<WorkCrsGroup>,
    inside_tolerance_pct: f64,
    zone_pieces: usize,
    notes: Vec<String>,
    threads: usize,
    header: Header,
    summary: OverlaySummary,
    timings_s: BTreeMap<String, f64>,
    outputs: Vec<String>,
}

pub const OUTPUTS: [&str; 5] = [
    "findings.gpkg",
    "findings.geojson",
    "findings.csv",
    "zone_hits.csv",
    "overlay_manifest.json",
];

pub fn run_overlay(req: &OverlayRequest) -> Result<OverlaySummary, PipelineError> {
    let t0 = Instant::now();
    let mut timings = BTreeMap::new();
    let spec = LayersSpec::from_file(&req.layers)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(req.threads.unwrap_or(0))
        .build()
        .map_err(|e| PipelineError::Internal(format!("thread pool: {e}")))?;
    let threads = pool.current_num_threads();
    let table = pool.install(|| patch_table::read(&req.patches))?;
    let detect_pairs = crate::compared_pairs::from_detect(&req.patches, &table.path)?;
    let mut hash_paths = vec![table.path.clone(), req.layers.clone()];
    let mut other = Vec::new();
    for l in &spec.layers {
        hash_paths.push(l.path.clone());
        if let Some(a) = &l.attributes {
            other.push(a.clone());
        }
    }
    if let Some(d) = &spec.admin_codes {
        for f in ["provinces.csv", "cities.csv", "areas.csv"] {
            other.push(d.join(f));
        }
    }
    // Layer files are checked when loaded (with the layer named); hash only what exists.
    let hashable: Vec<PathBuf> = hash_paths
        .iter()
        .chain(&other)
        .filter(|p| p.is_file())
        .cloned()
        .collect();
    let hashes = HashJob::start(hashable.clone())?;

    // Work CRSs local to the patches, patches in them, and their ellipsoidal areas.
    let groups = prepare_patches(&table)?;
    timings.insert("read_patches".into(), t0.elapsed().as_secs_f64());

    // The layers read once around all the patches, then projected onto each work CRS
    // around its own (one CRS unless the patches span zones their own CRS cannot
    // measure): each file is read, and each feature counted, once.
    let t = Instant::now();
    let areas: Vec<LoadOptions> = groups
        .iter()
        .map(|g| LoadOptions {
            work: g.work.clone(),
            aoi: g.aoi,
        })
        .collect();
    let read = ReadLayers::read(&spec, &areas)?;
    let sets = (0..areas.len())
        .map(|g| read.project(g))
        .collect::<Result<Vec<_>, _>>()?;
    let features_read = read.features_read();
    drop(read);
    let admin = match &spec.admin_codes {
        Some(d) => Some(AdminCodes::load(d)?),
        None => None,
    };
    timings.insert("load_layers".into(), t.elapsed().as_secs_f64());
    // Said at once, not only in the manifest: an empty mining-rights layer (a typo in a
    // path or filter) would make every patch unlicensed without it. Each said once, as
    // every work CRS's zone set carries what reading found.
    let mut notes = table.notes.clone();
    let mut said: Vec<String> = Vec::new();
    for set in &sets {
        for w in &set.warnings {
            if !said.contains(w) {
                eprintln!("overlay: warning: {w}");
                said.push(w.clone());
            }
        }
        for &i in &set.empty_layers {
            let w = minewatch_zones::source::empty_note(&set.layers[i]);
            if !said.contains(&w) {
                eprintln!("overlay: warning: {w}");
                said.push(w);
            }
        }
        for n in &set.notes {
            if !notes.contains(n) {
                notes.push(n.clone());
            }
        }
    }
    // Projected patches measured in another CRS: said, as whoever chose their CRS would
    // expect it to be the one (geographic patches are always measured elsewhere).
    let projected = minewatch_zones::crs::from_wkt(&table.crs_wkt)?.is_projected();
    for g in groups.iter().filter(|g| !g.work.is_patch_crs && projected) {
        notes.push(format!(
            "buffers, overlaps and river distances are measured in {}",
            g.work.reason
        ));
    }
    let all_patches = || groups.iter().flat_map(|g| &g.patches);
    // A patch without its date cannot be checked against licence validity: every right
    // counts as valid for it. Said once, with how many.
    let undated = all_patches().filter(|p| p.date.is_none()).count();
    let dated_rights = sets
        .iter()
        .flat_map(|s| &s.zones)
        .any(|z| z.right.as_ref().is_some_and(|r| r.validity_known()));
    // Said at once, as for a rights layer without validity fields: without the date an
    // expired licence counts as valid, so 无证 reads as 证内 (licence_validity_checked 0).
    if undated > 0 && dated_rights {
        let w = format!(
            "patches {}: {undated} patch(es) have no date_after (or 后时相): licence validity is not checked for them (every right counts as valid; licence_validity_checked is 0); overlay a detect output, or add the column",
            table.path.display()
        );
        eprintln!("overlay: warning: {w}");
        notes.push(w);
    }
    let no_before = all_patches()
        .filter(|p| p.date_before.is_none() || p.date.is_none())
        .count();
    let granted_dates = sets
        .iter()
        .flat_map(|s| &s.zones)
        .any(|z| z.right.as_ref().is_some_and(|r| r.grant_known()));
    if no_before > 0 && granted_dates {
        let w = format!(
            "patches {}: {no_before} patch(es) lack date_before or date_after (or 前时相 / 后时相): whether a licence was granted between the image dates is not checked for them (licence_granted_in_pair left empty); overlay a detect output, or add the column",
            table.path.display()
        );
        eprintln!("overlay: warning: {w}");
        notes.push(w);
    }

    // No rights layer: every patch would read as unlicensed (无证) for want of the data,
    // and rank would add the 无证 term and a provincial check to every site. The status is
    // `not_checked` instead, which the user should hear of (revY F3).
    if !minewatch_zones::spec::screens_rights(&spec.layers) {
        let w = format!(
            "layers {}: no mining_right or exploration_right layer: licence status is not checked (licence_status not_checked, 未核对矿权; no 无证/越界 and no ≥ 10 亩 suspected-illegal flag); add the mining-rights layer to screen legality",
            req.layers.display()
        );
        eprintln!("overlay: warning: {w}");
        notes.push(w);
    }

    let t = Instant::now();
    // Each group in its own CRS, the findings back in the patches' order.
    let mut by_row: Vec<Option<(Finding, KindAreas)>> = vec![None; table.rows.len()];
    let mut pieces = 0;
    for (g, set) in groups.iter().zip(&sets) {
        let found = pool.install(|| {
            let ov = Overlay::new(set, admin.as_ref(), spec.inside_tolerance_pct);
            pieces += ov.pieces();
            ov.run(&g.patches)
        });
        for (&row, f) in g.rows.iter().zip(found) {
            by_row[row] = Some(f);
        }
    }
    let (findings, kind_areas): (Vec<Finding>, Vec<KindAreas>) = by_row
        .into_iter()
        .map(|f| f.expect("every patch is in one group"))
        .unzip();
    timings.insert("overlay".into(), t.elapsed().as_secs_f64());
    // Said at once: a patch outside every division has empty place columns, which rank
    // and package would otherwise file under no county without a word.
    let overruled = minewatch_zones::unplaced::overruled_warning(&findings);
    for w in minewatch_zones::unplaced::unplaced_warnings(&spec.layers, &findings)
        .into_iter()
        .chain(overruled)
    {
        eprintln!("overlay: warning: {w}");
        notes.push(w);
    }

    let t = Instant::now();
    let summary = summarise(&req.out, &findings);
    let (columns, rows, replaced) = finding_rows(&table, &findings, &kind_areas);
    if !replaced.is_empty() {
        let w = format!(
            "patches {}: column(s) {} are also finding columns overlay writes: the input's are left out and this run's written in their place (rename them in the input to keep them beside the findings)",
            table.path.display(),
            replaced.join(", ")
        );
        eprintln!("overlay: warning: {w}");
        notes.push(w);
    }
    let staging = Staging::new(&req.out)?;
    let (hit_cols, hit_rows) = hit_rows(&findings);
    let polys: Vec<Polys> = table.rows.iter().map(|r| to_polys(&r.geom)).collect();
    let header = |cols: &[(String, Kind)]| req.header.names(cols, zh);
    // The GeoPackage (GDAL, one thread) and the lon/lat files beside it.
    let (gpkg, rest) = pool.install(|| {
        rayon::join(
            || {
                table::write_gpkg(
                    &staging.path("findings.gpkg"),
                    &table.crs_wkt,
                    &[
                        GpkgLayer {
                            name: "findings",
                            columns: &columns,
                            rows: &rows,
                            geoms: Some(&polys),
                        },
                        GpkgLayer {
                            name: "zone_hits",
                            columns: &hit_cols,
                            rows: &hit_rows,
                            geoms: None,
                        },
                    ],
                )
            },
            || -> Result<(), PipelineError> {
                let lonlat = lonlat_polys(&table, &polys)?;
                table::write_geojson(
                    &staging.path("findings.geojson"),
                    "findings",
                    &columns,
                    &rows,
                    &lonlat,
                )?;
                table::write_csv(&staging.path("findings.csv"), &header(&columns), &rows)?;
                table::write_csv(
                    &staging.path("zone_hits.csv"),
                    &header(&hit_cols),
                    &hit_rows,
                )
            },
        )
    });
    gpkg?;
    rest?;
    timings.insert("write".into(), t.elapsed().as_secs_f64());

    let sums = hashes.finish()?;
    let rec = |p: &Path| -> FileRecord {
        let i = hashable.iter().position(|h| h == p);
        let (bytes, sha256) = i.map(|i| sums[i].clone()).unwrap_or_default();
        FileRecord {
            path: p.to_path_buf(),
            bytes,
            sha256,
        }
    };
    timings.insert("total".into(), t0.elapsed().as_secs_f64());
    let m = OverlayManifest {
        tool: "minewatch overlay".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        gdal: gdal::version::version_info("RELEASE_NAME"),
        command: req.command.clone(),
        patches: rec(&table.path),
        detect_pairs,
        layers_file: rec(&req.layers),
        layers: spec
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| LayerRecord {
                name: l.name.clone(),
                kind: l.kind.name(),
                path: l.path.clone(),
                layer: l.layer.clone(),
                filter: l.filter.clone(),
                buffer_m: l.buffer_m,
                dissolve: l.dissolve,
                features_read: features_read.get(i).copied().unwrap_or(0),
                // A feature near the patches of several work CRSs counts once.
                features_skipped: sets
                    .iter()
                    .flat_map(|s| &s.skipped)
                    .filter(|(li, _)| *li == i)
                    .map(|(_, id)| id)
                    .collect::<std::collections::BTreeSet<_>>()
                    .len(),
                // Distinct features: one near the patches of two work CRSs has a zone in
                // each set, but is one zone of the layer.
                zones: sets
                    .iter()
                    .flat_map(|s| s.zones.iter().filter(|z| z.layer == i))
                    .map(|z| z.feature)
                    .collect::<std::collections::BTreeSet<_>>()
                    .len(),
            })
            .collect(),
        other_inputs: other.iter().map(|p| rec(p)).collect(),
        work_crs_is_patch_crs: groups.iter().all(|g| g.work.is_patch_crs),
        work_crs_reason: match groups.as_slice() {
            [g] => g.work.reason.clone(),
            _ => format!(
                "each patch in a CRS local to it ({} CRSs, so that no finding depends on the other patches of the batch): {}",
                groups.len(),
                groups
                    .iter()
                    .map(|g| g.work.reason.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        },
        work_crs_wkt: groups[0].work.wkt.clone(),
        work_crs_groups: match groups.as_slice() {
            [_] => Vec::new(),
            _ => groups
                .iter()
                .map(|g| WorkCrsGroup {
                    patches: g.rows.len(),
                    reason: g.work.reason.clone(),
                    wkt: g.work.wkt.clone(),
                })
                .collect(),
        },
        inside_tolerance_pct: spec.inside_tolerance_pct,
        zone_pieces: pieces,
        notes: notes.clone(),
        threads,
        header: req.header,
        summary: summary.clone(),
        timings_s: timings.into_iter().map(|(k, v)| (k, round(v, 3))).collect(),
        outputs: OUTPUTS.iter().map(|s| s.to_string()).collect(),
    };
    crate::manifest::write(&staging.path("overlay_manifest.json"), &m)?;
    staging.commit(&OUTPUTS, &[])?;
    Ok(summary)
}

/// The patches measured in one work CRS.
struct Prepared {
    work: WorkCrs,
    patches: Vec<PatchInput>,
    /// Each patch's row in the table.
    rows: Vec<usize>,
    aoi: Option<[f64; 4]>,
}

fn prepare_patches(table: &PatchTable) -> Result<Vec<Prepared>, PipelineError> {
    let input = |m: String| PipelineError::Input(format!("patches {}: {m}", table.path.display()));
    let patch_srs = minewatch_zones::crs::from_wkt(&table.crs_wkt)?;
    let lonlat_srs = minewatch_zones::crs::from_epsg(4326)?;
    let to_lonlat = Reprojector::new(&patch_srs, &lonlat_srs)?;
    let (works, of) = WorkCrs::choose_local(&table.crs_wkt, table.lonlat_extent()?, || {
        table
            .rows
            .iter()
            .map(|r| {
                let b = minewatch_zones::index::bbox_of(&r.geom).unwrap_or_default();
                to_lonlat.bounds(b).map_err(|e| {
                    minewatch_zones::ZonesError::Crs(format!(
                        "patches {}: patch {}: cannot place it on the globe: {e}",
                        table.path.display(),
                        r.id
                    ))
                })
            })
            .collect()
    })?;
    let mut groups = Vec::with_capacity(works.len());
    for work in works {
        groups.push((Reprojector::new(&patch_srs, &work.srs()?)?, work));
    }
    let mut out: Vec<Prepared> = groups
        .iter()
        .map(|(_, work)| Prepared {
            work: work.clone(),
            patches: Vec::new(),
            rows: Vec::new(),
            aoi: None,
        })
        .collect();
    for (i, r) in table.rows.iter().enumerate() {
        let g = of.get(i).copied().unwrap_or(0);
        let to_work = &groups[g].0;
        let geom = if to_work.is_identity() {
            r.geom.clone()
        } else {
            reproject(&r.geom, to_work).map_err(|e| input(format!("patch {}: {e}", r.id)))?
        };
        let shape = PatchShape::new(geom)
            .ok_or_else(|| input(format!("patch {} has an empty geometry", r.id)))?;
        let b = shape.bbox;
        let group = &mut out[g];
        group.aoi = Some(match group.aoi {
            None => b,
            Some(a) => [
                a[0].min(b[0]),
                a[1].min(b[1]),
                a[2].max(b[2]),
                a[3].max(b[3]),
            ],
        });
        let area_m2 = match r.area_m2 {
            Some(a) => a,
            None => reproject(&r.geom, &to_lonlat)
                .map_err(|e| input(format!("patch {}: {e}", r.id)))?
                // Karney's area follows ring order: a clockwise shell would measure the
                // rest of the globe.
                .orient(Direction::Default)
                .geodesic_area_unsigned(),
        };
        group.patches.push(PatchInput {
            id: r.id.clone(),
            shape,
            area_m2,
            date: r.date_after,
            date_before: r.date_before,
        });
        group.rows.push(i);
    }
    // No patches: nothing to place, so read no zone either (a point far from any data).
    for g in &mut out {
        g.aoi = g.aoi.or(Some([0.0, 0.0, 0.0, 0.0]));
    }
    Ok(out)
}

pub(crate) fn reproject(
    g: &MultiPolygon<f64>,
    r: &Reprojector,
) -> Result<MultiPolygon<f64>, String> {
    let mut gg = gdal::vector::Geometry::from_wkb(&crate::write::gpkg::wkb(&to_polys(g)))
        .map_err(|e| e.to_string())?;
    r.apply(&mut gg)?;
    minewatch_zones::source::to_multipolygon(&gg)
}

pub(crate) fn to_polys(g: &MultiPolygon<f64>) -> Polys {
    g.0.iter()
        .map(|p| {
            std::iter::once(p.exterior())
                .chain(p.interiors())
                .map(|r| r.0.iter().map(|c| (c.x, c.y)).collect())
                .collect()
        })
        .collect()
}

fn lonlat_polys(table: &PatchTable, polys: &[Polys]) -> Result<Vec<Polys>, PipelineError> {
    lonlat_of(&table.crs_wkt, polys)
        .map_err(|e| PipelineError::Input(format!("patches {}: {e}", table.path.display())))
}

/// Polygons from a CRS to EPSG:4326 lon/lat.
pub(crate) fn lonlat_of(crs_wkt: &str, polys: &[Polys]) -> Result<Vec<Polys>, PipelineError> {
    // Checked once here so that a bad CRS is an input error, not a worker's failure.
    minewatch_raster::crs::LonLat::new(crs_wkt, 4326).map_err(PipelineError::Input)?;
    // PROJ transforms are most of this; a transformer per chunk keeps them on every
    // thread (a PROJ object is not shared between threads).
    let chunks: Vec<Result<Vec<Polys>, PipelineError>> = polys
        .par_chunks(LONLAT_CHUNK)
        .map(|chunk| {
            let t =
                minewatch_raster::crs::LonLat::new(crs_wkt, 4326).map_err(PipelineError::Input)?;
            chunk
                .iter()
                .map(|p| {
                    let mut xs: Vec<f64> = p.iter().flatten().flatten().map(|c| c.0).collect();
                    let mut ys: Vec<f64> = p.iter().flatten().flatten().map(|c| c.1).collect();
                    t.apply(&mut xs, &mut ys)
                        .map_err(|e| PipelineError::Internal(format!("to lon/lat: {e}")))?;
                    let mut q = p.clone();
                    for (k, c) in q.iter_mut().flatten().flatten().enumerate() {
                        *c = (xs[k], ys[k]);
                    }
                    Ok(q)
                })
                .collect()
        })
        .collect();
    let mut out = Vec::with_capacity(polys.len());
    for c in chunks {
        out.extend(c?);
    }
    Ok(out)
}

/// Patches per lon/lat transformer: enough to amortise creating it (measured, session 9:
/// 1–2 ms the first time on a thread, 0.02 ms after, as GDAL reuses its set-up).
const LONLAT_CHUNK: usize = 512;

/// Overlap columns by kind: the built-in kinds other than admin divisions, then custom.
const KIND_COLUMNS: &[&str] = ZoneKind::NAMES.split_at(9).0;

/// Columns, rows, and the input columns left out as `finding_rows` says.
type FindingTable = (Vec<(String, Kind)>, Vec<Vec<Attr>>, Vec<String>);

/// The items of `xs` whose `keep` is true.
fn kept<T: Clone>(xs: &[T], keep: &[bool]) -> Vec<T> {
    xs.iter()
        .zip(keep)
        .filter(|(_, &k)| k)
        .map(|(x, _)| x.clone())
        .collect()
}

/// The findings table: the patch file's columns, then the ones overlay adds. An input
/// column that overlay also writes (the same name, case aside: GeoPackage and Shapefile
/// names ignore case) is left out and its name returned, so that overlay run again on
/// its own findings, or on a file that has `county_code` or `zones` of its own, writes
/// the findings of this run once, not a table GDAL refuses.
fn finding_rows(
    table: &PatchTable,
    findings: &[Finding],
    kind_areas: &[KindAreas],
) -> FindingTable {
    use Kind::*;
    // A patches file from elsewhere may lack areas: add the ellipsoidal ones computed here.
    let add_area = !table.columns.iter().any(|(c, _)| c == "area_m2");
    let mut added: Vec<(String, Kind)> = Vec::new();
    if add_area {
        added.push(("area_m2".into(), Real));
        added.push(("area_mu".into(), Real));
    }
    let own: Vec<(&str, Kind)> = vec![
        ("licence_status", Text),
        ("licence_status_zh", Text),
        ("licences", Text),
        ("licence_holders", Text),
        ("minerals", Text),
        ("outside_licence_m2", Real),
        ("outside_licence_mu", Real),
        ("licence_granted_in_pair", Int),
        ("licence_validity_checked", Int),
        ("over_10_mu_illegal", Int),
        ("in_restoration_project", Int),
        ("in_construction_project", Int),
        ("special_land", Int),
        ("false_change_by_rule", Int),
        ("province_code", Text),
        ("province_name", Text),
        ("prefecture_code", Text),
        ("prefecture_name", Text),
        ("county_code", Text),
        ("county_name", Text),
        ("river_distance_m", Real),
        ("zone_hits", Int),
        ("zones", Text),
    ];
    added.extend(own.iter().map(|(n, k)| (n.to_string(), *k)));
    for k in KIND_COLUMNS {
        added.push((format!("{k}_m2"), Real));
    }
    added.push(("custom_m2".into(), Real));
    let keep: Vec<bool> = table
        .columns
        .iter()
        .map(|(c, _)| !added.iter().any(|(a, _)| a.eq_ignore_ascii_case(c)))
        .collect();
    let replaced: Vec<String> = table
        .columns
        .iter()
        .zip(&keep)
        .filter(|(_, &k)| !k)
        .map(|((c, _), _)| c.clone())
        .collect();
    let mut cols = kept(&table.columns, &keep);
    cols.extend(added);
    let text = |s: &Option<String>| s.clone().map_or(Attr::Null, Attr::Text);
    let rows = table
        .rows
        .iter()
        .zip(findings)
        .zip(kind_areas)
        .map(|((r, f), by_kind)| {
            let mut v = kept(&r.values, &keep);
            if add_area {
                v.push(Attr::Real(round(f.area_m2, 2)));
                v.push(Attr::Real(round(m2_to_mu(f.area_m2), 4)));
            }
            let zones: Vec<String> = f
                .hits
                .iter()
                .map(|h| {
                    let name = if h.zone_name.is_empty() || h.zone_name == h.zone_id {
                        String::new()
                    } else {
                        format!(" {}", h.zone_name)
                    };
                    format!("{}/{}{} ({:.1}%)", h.layer, h.zone_id, name, h.overlap_pct)
                })
                .collect();
            v.extend([
                Attr::Text(f.licence_status.name().into()),
                Attr::Text(f.licence_status.label_zh().into()),
                Attr::Text(f.licences.join(";")),
                Attr::Text(f.holders.join(";")),
                Attr::Text(f.minerals.join(";")),
                Attr::Real(round(f.outside_licence_m2, 2)),
                Attr::Real(round(m2_to_mu(f.outside_licence_m2), 4)),
                f.licence_granted_in_pair
                    .map_or(Attr::Null, |b| Attr::Int(b as i64)),
                f.licence_validity_checked
                    .map_or(Attr::Null, |b| Attr::Int(b as i64)),
                Attr::Int(f.over_10_mu_illegal as i64),
                Attr::Int(f.in_restoration_project as i64),
                Attr::Int(f.in_construction_project as i64),
                Attr::Int(f.special_land as i64),
                Attr::Int(f.special_land as i64),
                text(&f.admin.province_code),
                text(&f.admin.province_name),
                text(&f.admin.prefecture_code),
                text(&f.admin.prefecture_name),
                text(&f.admin.county_code),
                text(&f.admin.county_name),
                f.river_distance_m
                    .map_or(Attr::Null, |d| Attr::Real(round(d, 2))),
                Attr::Int(f.hits.len() as i64),
                Attr::Text(zones.join("; ")),
            ]);
            // The patch inside the union of each kind's zones (overlapping zones of one
            // kind count once), never more than the patch.
            v.extend(
                KIND_COLUMNS
                    .iter()
                    .copied()
                    .chain(["custom"])
                    .map(|k| Attr::Real(round(by_kind.get(k).copied().unwrap_or(0.0), 2))),
            );
            v
        })
        .collect();
    (cols, rows, replaced)
}

fn hit_rows(findings: &[Finding]) -> (Vec<(String, Kind)>, Vec<Vec<Attr>>) {
    use Kind::*;
    let cols: Vec<(String, Kind)> = crate::write::columns(&[
        ("patch_id", Text),
        ("layer", Text),
        ("kind", Text),
        ("zone_id", Text),
        ("zone_name", Text),
        ("overlap_m2", Real),
        ("overlap_mu", Real),
        ("overlap_pct", Real),
        ("overlap_grid_m2", Real),
        ("attributes", Text),
    ]);
    let rows = findings
        .iter()
        .flat_map(|f| {
            f.hits.iter().map(|h| {
                vec![
                    Attr::Text(f.patch_id.clone()),
                    Attr::Text(h.layer.clone()),
                    Attr::Text(h.kind.name()),
                    Attr::Text(h.zone_id.clone()),
                    Attr::Text(h.zone_name.clone()),
                    Attr::Real(round(h.overlap_m2, 2)),
                    Attr::Real(round(m2_to_mu(h.overlap_m2), 4)),
                    Attr::Real(round(h.overlap_pct, 3)),
                    Attr::Real(round(h.grid_overlap_m2, 6)),
                    Attr::Text(
                        h.attrs
                            .iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<_>>()
                            .join("; "),
                    ),
                ]
            })
        })
        .collect();
    (cols, rows)
}

fn summarise(out: &Path, findings: &[Finding]) -> OverlaySummary {
    let mut status = BTreeMap::new();
    for s in [
        LicenceStatus::Inside,
        LicenceStatus::PartlyOutside,
        LicenceStatus::Expired,
        LicenceStatus::ExplorationOnly,
        LicenceStatus::OutsideAllRights,
    ] {
        status.insert(s.name().to_string(), 0);
    }
    for f in findings {
        *status
            .entry(f.licence_status.name().to_string())
            .or_insert(0) += 1;
    }
    OverlaySummary {
        out: out.to_path_buf(),
        patches: findings.len(),
        patches_with_zone_hits: findings.iter().filter(|f| !f.hits.is_empty()).count(),
        zone_hits: findings.iter().map(|f| f.hits.len()).sum(),
        licence_status: status,
        over_10_mu_illegal: findings.iter().filter(|f| f.over_10_mu_illegal).count(),
        in_protected_zones: findings
            .iter()
            .filter(|f| f.hits.iter().any(|h| h.kind.is_protected()))
            .count(),
        special_land: findings.iter().filter(|f| f.special_land).count(),
    }
}

/// Chinese column names for county offices (see [`zh`]).
pub const ZH: &[(&str, &str)] = &[
    ("id", "图斑编号"),
    ("date_before", "前时相"),
    ("date_after", "后时相"),
    ("pixels", "像元数"),
    ("area_m2", "监测面积(平方米)"),
    ("area_mu", "监测面积(亩)"),
    ("grid_area_m2", "格网面积(平方米)"),
    ("centroid_lon", "中心点经度"),
    ("centroid_lat", "中心点纬度"),
    ("first_row", "首像元行"),
    ("first_col", "首像元列"),
    ("parts", "部件数"),
    ("change_type", "变化类型"),
    ("confidence", "置信度"),
    ("reasons", "判定依据"),
    ("licence_status", "矿权状态"),
    ("licence_status_zh", "矿权状态(中文)"),
    ("licences", "涉及矿权"),
    ("licence_holders", "矿权人"),
    ("minerals", "矿种"),
    ("outside_licence_m2", "证外面积(平方米)"),
    ("outside_licence_mu", "证外面积(亩)"),
    ("licence_granted_in_pair", "矿权于前后时相间取得"),
    ("licence_validity_checked", "矿权有效期已核对"),
    ("over_10_mu_illegal", "疑似违法面积≥10亩"),
    ("in_restoration_project", "位于生态修复项目"),
    ("in_construction_project", "位于建设项目"),
    ("special_land", "特殊用地"),
    ("false_change_by_rule", "按规则判定伪变化"),
    ("province_code", "省级代码"),
    ("province_name", "省级名称"),
    ("prefecture_code", "市级代码"),
    ("prefecture_name", "市级名称"),
    ("county_code", "县级代码"),
    ("county_name", "县级名称"),
    ("river_distance_m", "距江河干流距离(米)"),
    ("zone_hits", "压占区域数"),
    ("zones", "压占区域"),
    ("ecological_red_line_m2", "压占生态保护红线面积(平方米)"),
    ("nature_reserve_m2", "压占自然保护地面积(平方米)"),
    ("no_mining_zone_m2", "压占禁止开采区面积(平方米)"),
    ("river_corridor_m2", "压占江河廊道面积(平方米)"),
    ("mining_right_m2", "压占采矿权面积(平方米)"),
    ("exploration_right_m2", "压占探矿权面积(平方米)"),
    ("restoration_project_m2", "压占生态修复项目面积(平方米)"),
    ("construction_project_m2", "压占建设项目面积(平方米)"),
    ("special_land_m2", "压占特殊用地面积(平方米)"),
    ("custom_m2", "压占自定义图层面积(平方米)"),
    ("patch_id", "图斑编号"),
    ("layer", "图层"),
    ("kind", "类别"),
    ("zone_id", "区域编号"),
    ("zone_name", "区域名称"),
    ("overlap_m2", "压占面积(平方米)"),
    ("overlap_mu", "压占面积(亩)"),
    ("overlap_pct", "占图斑比例(%)"),
    ("overlap_grid_m2", "压占面积(投影平面,平方米)"),
    ("attributes", "属性"),
];

/// Chinese column names for county offices; names without one stay English.
pub fn zh(col: &str) -> String {
    zh_name(col).map_or_else(|| col.to_string(), str::to_string)
}

/// The Chinese name of a column, if it has one.
pub fn zh_name(col: &str) -> Option<&'static str> {
    ZH.iter().find(|(k, _)| *k == col).map(|(_, v)| *v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Several chunks on several threads give the points one transformer gives, in order.
    #[test]
    fn lonlat_in_chunks_equals_one_transformer() {
        let wkt = gdal::spatial_ref::SpatialRef::from_epsg(32650)
            .unwrap()
            .to_wkt()
            .unwrap();
        let polys: Vec<Polys> = (0..3 * LONLAT_CHUNK + 7)
            .map(|k| {
                let (x, y) = (400_000.0 + 37.0 * k as f64, 3_500_000.0 + 11.0 * k as f64);
                vec![vec![vec![
                    (x, y),
                    (x + 10.0, y),
                    (x + 10.0, y + 10.0),
                    (x, y),
                ]]]
            })
            .collect();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let got = pool.install(|| lonlat_of(&wkt, &polys)).unwrap();
        let t = minewatch_raster::crs::LonLat::new(&wkt, 4326).unwrap();
        assert_eq!(got.len(), polys.len());
        for (p, g) in polys.iter().zip(&got) {
            let ring = &p[0][0];
            let mut xs: Vec<f64> = ring.iter().map(|c| c.0).collect();
            let mut ys: Vec<f64> = ring.iter().map(|c| c.1).collect();
            t.apply(&mut xs, &mut ys).unwrap();
            let want: Vec<(f64, f64)> = xs.into_iter().zip(ys).collect();
            assert_eq!(g[0][0], want);
        }
        assert!(lonlat_of("not a CRS", &polys).is_err());
    }
}
