//! `minewatch detect`: dated images in, patches out.
//!
//! Per consecutive date pair: windows are read and run through the kernel in parallel
//! (rayon, one GDAL handle per worker), a batch of window rows at a time; the finished
//! rows go in raster order to one sweep thread that sieves, labels and closes patches.
//! Memory is a few window rows of the scene's width plus the open patches; cost is
//! linear in pixels.

use crate::auto_run::AutoSetup;
use crate::compact::{CompactWindow, RowValues};
use crate::error::PipelineError;
use crate::georef::{GeoPatch, Georef};
use crate::inputs::{check_grids, resolve, DatedImage};
use crate::manifest::{self, InputRecord, Manifest, PairCounts};
use crate::params::{DetectParams, Method};
use crate::staging::Staging;
use crate::write;
use minewatch_core::{
    grid::{window_rows, window_rows_shaped},
    AcqDate, BandRole, ChannelStat, DatePair, PatchRecord, Window,
};
use minewatch_detect::{
    polygons_of_runs, Kernel, PatchPixels, PatchSweep, Planes, Rule, SieveSweep, Var,
};
use minewatch_raster::reader::{apply_mask, close_thread_handles, read_window};
use minewatch_raster::ImageInfo;
use rayon::prelude::*;
use serde::Serialize;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::mpsc::sync_channel;
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct DetectRequest {
    pub images: Vec<PathBuf>,
    pub dates: Option<Vec<AcqDate>>,
    pub params: DetectParams,
    pub out: PathBuf,
    pub threads: usize,
    /// Window side in pixels.
    pub window: usize,
    pub progress: bool,
    /// Also write `quicklook.png` (first pair, true colour, patch outlines).
    pub quicklook: bool,
    /// Warp dates whose grid differs onto the first date's grid instead of failing.
    pub align: bool,
    /// A mask raster on the first date's grid: non-zero pixels are never change.
    pub mask: Option<PathBuf>,
    /// Read the kernel's output from the tiles of a sharded run instead of computing it:
    /// `minewatch merge`.
    pub shards: Option<crate::shard::store::ShardSource>,
}

/// What `--format json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct DetectSummary {
    pub out: PathBuf,
    pub patches: usize,
    pub total_area_m2: f64,
    pub total_area_mu: f64,
    pub pairs: Vec<PairCounts>,
    pub files: Vec<PathBuf>,
}

pub const OUTPUT_FILES: [&str; 4] = [
    "patches.geojson",
    "patches.gpkg",
    "patches.csv",
    "manifest.json",
];

/// Everything a detection needs before the first pixel is read: dated images in order,
/// the kernel, the statistics skipped for want of bands, and the grid.
pub(crate) struct Prepared {
    pub images: Vec<DatedImage>,
    pub kernel: Kernel,
    pub skipped: Vec<String>,
    pub auto: bool,
}

impl Prepared {
    /// The date pairs compared, in order.
    pub fn pairs(&self) -> Vec<DatePair> {
        self.images
            .windows(2)
            .map(|w| DatePair {
                before: w[0].info.date,
                after: w[1].info.date,
            })
            .collect()
    }

    /// The automatic method's fitted setup for pair `k`, or `None` under `method = "rule"`.
    pub fn fit(&self, k: usize, params: &DetectParams) -> Result<Option<AutoSetup>, PipelineError> {
        let (a, b) = (&self.images[k], &self.images[k + 1]);
        let grid = &self.images[0].info.grid;
        Ok(match params.method {
            Method::Auto => Some(crate::auto_run::fit_pair(a, b, grid, false, params)?),
            Method::Cva => Some(crate::auto_run::fit_pair(a, b, grid, true, params)?),
            Method::Rule => None,
        })
    }

    /// The kernel's output for one window of pair `k` (before the sieve).
    pub fn compute_window(
        &self,
        k: usize,
        setup: Option<&AutoSetup>,
        w: &Window,
    ) -> Result<WindowOut, PipelineError> {
        let (a, b) = (&self.images[k], &self.images[k + 1]);
        match setup {
            Some(s) => {
                crate::auto_run::compute_window(a, b, &self.kernel, s, w, &self.images[0].info.grid)
            }
            None => compute_window(a, b, &self.kernel, w),
        }
    }

    /// Statistic channels carried per pixel (score, cloud and shadow last under the
    /// automatic methods).
    pub fn n_channels(&self) -> usize {
        self.kernel.channels.len() + self.auto as usize * crate::auto_run::AUTO_CHANNELS
    }
}

/// Resolve, date and check the images and build the kernel; `check_grid = false` leaves
/// the grid check to the caller (after `--align`).
/// The explicit rule compares values across dates as stored (after any scale in the
/// file): dates stored differently (16-bit digital numbers and float reflectance, or one
/// scaled in its metadata) make its differences and band thresholds meaningless, which
/// only a look at the inputs shows. The automatic method normalises dates onto each
/// other and needs no warning.
fn warn_mixed_storage(images: &[DatedImage]) {
    let storage = |img: &DatedImage| -> Vec<(BandRole, String, f64, f64)> {
        img.profile
            .bands
            .iter()
            .filter_map(|&(r, b)| {
                let i = img.info.bands.get(b - 1)?;
                Some((r, i.data_type.clone(), i.scale, i.offset))
            })
            .collect()
    };
    let first = storage(&images[0]);
    for img in &images[1..] {
        let other = storage(img);
        if let Some((a, b)) = first.iter().zip(&other).find(|(a, b)| a != b) {
            eprintln!(
                "warning: {} and {} store {} differently ({} × {} + {} against {} × {} + {}); the explicit rule compares the values as read, so convert one of them or use the automatic method",
                images[0].source.display(),
                img.source.display(),
                a.0,
                a.1,
                a.2,
                a.3,
                b.1,
                b.2,
                b.3
            );
            return;
        }
    }
}

/// A rule's band-value thresholds are in the units the values are read in. Thresholds
/// written for digital numbers (the peers' `blue_t2 < 2500`, for reflectance × 10000) hold
/// on every pixel of data read as reflectance (stored as floating point, or scaled by the
/// file's own scale), so the condition silently does nothing; only the inputs tell. And
/// the mirror case: a reflectance threshold (`blue_t2 < 0.25`) on integer digital numbers
/// read at scale 1.
fn warn_band_thresholds(rule: &Rule, images: &[DatedImage]) {
    for c in &rule.all {
        let Var::Band(role, date) = c.var else {
            continue;
        };
        // `blue_t2` is read from the later image of each pair, `blue_t1` from the earlier.
        let images = match date {
            minewatch_detect::index::Date::T1 => &images[..images.len().saturating_sub(1)],
            minewatch_detect::index::Date::T2 => &images[images.len().min(1)..],
        };
        if c.value.abs() <= 2.0 {
            warn_reflectance_threshold_on_dn(c, role, images);
            continue;
        }
        let reflectance = images.iter().find(|img| {
            img.profile
                .band(role)
                .and_then(|b| img.info.bands.get(b - 1))
                .is_some_and(|b| b.data_type.starts_with("Float") || b.scale != 1.0)
        });
        if let Some(img) = reflectance {
            eprintln!(
                "warning: rule condition `{c}`: {} stores its {role} band as floating point or with a scale, which is usually reflectance (0–1), where {} holds everywhere or nowhere; if it is reflectance, write the threshold in those units (e.g. {}); if it holds digital numbers, the threshold stands",
                img.source.display(),
                c.value,
                c.value / 10000.0
            );
            continue;
        }
        // Integer data: a threshold past the type's range (the peers' `blue_t2 < 2500`,
        // written for 16-bit reflectance × 10000, on 8-bit digital numbers) is as vacuous.
        let beyond = images.iter().find_map(|img| {
            let b = img
                .profile
                .band(role)
                .and_then(|b| img.info.bands.get(b - 1))?;
            let (lo, hi) = integer_range(&b.data_type)?;
            let (lo, hi) = (lo + b.offset, hi + b.offset);
            let v = c.value as f64;
            (v > hi || v < lo).then(|| (img, b.data_type.clone(), lo, hi))
        });
        if let Some((img, ty, lo, hi)) = beyond {
            eprintln!(
                "warning: rule condition `{c}`: the {role} band of {} is {ty}, whose values lie in {lo}..{hi}; {} is outside that range, so the condition holds everywhere or nowhere; write the threshold in the data's units",
                img.source.display(),
                c.value,
            );
        }
    }
}

/// A fractional threshold of at most 2 in magnitude (`blue_t2 < 0.25`) is a reflectance;
/// on an integer band read at scale 1 the values are digital numbers (0, 1, … 10000), so
/// the condition holds everywhere or nowhere. Integer thresholds (`blue_t2 < 2`) may be
/// meant for digital numbers and are left alone.
fn warn_reflectance_threshold_on_dn(
    c: &minewatch_detect::Condition,
    role: BandRole,
    images: &[DatedImage],
) {
    if c.value.fract() == 0.0 {
        return;
    }
    let dn = images.iter().find_map(|img| {
        let b = img
            .profile
            .band(role)
            .and_then(|b| img.info.bands.get(b - 1))?;
        let range = integer_range(&b.data_type)?;
        (b.scale == 1.0).then_some((img, b.data_type.clone(), range))
    });
    let Some((img, ty, (lo, hi))) = dn else {
        return;
    };
    let v = c.value as f64;
    // The file's own quantification (Sentinel-2's QUANTIFICATION_VALUE) says the scale;
    // else reflectance × 10000, the common one of 16-bit products.
    let (q, whose) = match img.info.quantification {
        Some((q, _)) => (q, format!("its QUANTIFICATION_VALUE {q}")),
        None => (10000.0, "reflectance × 10000 data".to_string()),
    };
    let scaled = (v * q * 1000.0).round() / 1000.0;
    let advice = if (lo..=hi).contains(&scaled) {
        format!("write the threshold in digital numbers (e.g. {scaled} for {whose})")
    } else {
        format!(
            "write the threshold in the file's digital numbers ({lo}..{hi}; {scaled}, as for {whose}, is past them)"
        )
    };
    eprintln!(
        "warning: rule condition `{c}`: the {role} band of {} is {ty} read at scale 1 (digital numbers), but {} looks like a reflectance, so the condition holds everywhere or nowhere; {advice}",
        img.source.display(),
        c.value,
    );
}

/// The values an integer GDAL data type can hold (`None` for floating point).
fn integer_range(data_type: &str) -> Option<(f64, f64)> {
    Some(match data_type {
        "Byte" => (0.0, 255.0),
        "Int8" => (-128.0, 127.0),
        "UInt16" => (0.0, 65535.0),
        "Int16" => (-32768.0, 32767.0),
        "UInt32" => (0.0, u32::MAX as f64),
        "Int32" => (i32::MIN as f64, i32::MAX as f64),
        _ => return None,
    })
}

/// Bands some dates have and others lack (a date exported without SWIR2): each pair is
/// compared on the bands both of its dates have, which the user should hear of rather
/// than find a different score in the manifest. One line per band, for the manifest's
/// `skipped_statistics`, and the same on stderr.
fn roles_not_in_every_date(images: &[DatedImage]) -> Vec<String> {
    let mut lines = Vec::new();
    for role in BandRole::ALL {
        let lacking: Vec<String> = images
            .iter()
            .filter(|img| !img.profile.has(role))
            .map(|img| img.source.display().to_string())
            .collect();
        if lacking.is_empty() || lacking.len() == images.len() {
            continue;
        }
        let line = format!(
            "{role} band: not in {} (profile {}); the dates are compared without it",
            lacking.join(", "),
            images
                .iter()
                .find(|img| !img.profile.has(role))
                .map_or("", |img| img.profile.name.as_str())
        );
        eprintln!("warning: {line}");
        lines.push(line);
    }
    lines
}

/// Imagery on Xian 1980 / Beijing 1954: said once per CRS, naming the first file on it.
fn warn_legacy_datum(images: &[DatedImage]) {
    let mut said = std::collections::BTreeSet::new();
    for img in images {
        let wkt = &img.info.grid.crs_wkt;
        if let Some(d) = minewatch_core::datum::legacy_datum(wkt) {
            if said.insert(wkt.clone()) {
                let name = gdal::spatial_ref::SpatialRef::from_wkt(wkt)
                    .ok()
                    .and_then(|s| s.name())
                    .unwrap_or_else(|| "unnamed CRS".into());
                eprintln!(
                    "warning: {}",
                    minewatch_core::datum::legacy_datum_warning(
                        &img.source.display().to_string(),
                        &name,
                        d
                    )
                );
            }
        }
    }
}

pub(crate) fn prepare(
    paths: &[PathBuf],
    dates: Option<&[AcqDate]>,
    params: &DetectParams,
    mask: Option<&std::path::Path>,
    check_grid: bool,
) -> Result<Prepared, PipelineError> {
    params.validate().map_err(PipelineError::Input)?;
    let mut images = resolve(paths, dates, params)?;
    let auto = params.method != Method::Rule;
    let rule = if auto {
        Rule { all: Vec::new() }
    } else {
        Rule::parse(&params.rule).map_err(|e| PipelineError::Input(e.to_string()))?
    };
    if check_grid {
        check_grids(&images)?;
    }
    warn_legacy_datum(&images);
    // Rule roles must exist in every date's profile; statistics are skipped where they cannot be computed.
    for img in &images {
        for c in &rule.all {
            for role in c.var.roles() {
                if !img.profile.has(role) {
                    return Err(PipelineError::Input(format!(
                        "{}: rule condition `{c}` needs the {role} band, which profile {} does not have; drop the condition or map the band in [bands]",
                        img.source.display(),
                        img.profile.name
                    )));
                }
            }
        }
    }
    if !auto {
        warn_mixed_storage(&images);
        warn_band_thresholds(&rule, &images);
    }
    let mut channels: Option<Vec<Var>> = None;
    let mut skipped = Vec::new();
    for img in &images {
        let (kept, skip) = params
            .stat_channels(&img.profile)
            .map_err(PipelineError::Input)?;
        channels = Some(match channels {
            None => kept,
            Some(prev) => prev.into_iter().filter(|v| kept.contains(v)).collect(),
        });
        skipped.extend(skip);
    }
    skipped.extend(roles_not_in_every_date(&images));
    skipped.sort();
    skipped.dedup();
    let kernel = Kernel {
        rule,
        channels: channels.unwrap_or_default(),
    };
    if let Some(mp) = mask {
        // Any date will do: the mask carries none of its own.
        let m = ImageInfo::inspect(mp, Some(images[0].info.date)).map_err(|e| match e {
            // A failed read or GDAL's own trouble keeps its kind (retry or internal).
            minewatch_raster::RasterError::Read { .. }
            | minewatch_raster::RasterError::Other { .. } => PipelineError::from(e),
            e => PipelineError::Input(format!("--mask: {e}")),
        })?;
        let g = &images[0].info.grid;
        if let Some(diff) = g.difference(&m.grid, images[0].info.same_crs(&m)) {
            return Err(PipelineError::Input(format!(
                "mask {} is not on the grid of {} ({diff}); rasterise or warp it onto that grid",
                mp.display(),
                images[0].source.display()
            )));
        }
        for img in images.iter_mut() {
            img.mask = Some(m.clone());
        }
    }
    Ok(Prepared {
        images,
        kernel,
        skipped,
        auto,
    })
}

pub fn run_detect(req: &DetectRequest) -> Result<DetectSummary, PipelineError> {
    let t0 = Instant::now();
    let mut prep = prepare(
        &req.images,
        req.dates.as_deref(),
        &req.params,
        req.mask.as_deref(),
        !req.align,
    )?;
    let shards = match &req.shards {
        Some(src) => Some(crate::shard::TileStore::open_source(src)?),
        None => None,
    };
    let staging = Staging::new(&req.out)?;
    if req.align {
        crate::inputs::align(&mut prep.images, &staging.path(".align"))?;
        check_grids(&prep.images)?;
    }
    let (images, kernel, skipped, auto) = (&prep.images, &prep.kernel, &prep.skipped, prep.auto);
    let t_resolve = t0.elapsed().as_secs_f64();

    // Input hashes run beside the detection: they only read files.
    let hash_paths: Vec<PathBuf> = images.iter().map(|i| i.source.clone()).collect();
    let hasher = manifest::HashJob::start(hash_paths)?;

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(req.threads.max(1))
        .thread_name(|i| format!("mw-worker-{i}"))
        .build()
        .map_err(|e| PipelineError::Internal(format!("thread pool: {e}")))?;
    let grid = images[0].info.grid.clone();
    let mut all: Vec<GeoPatch> = Vec::new();
    let mut pair_counts = Vec::new();
    let t_detect = Instant::now();
    for (k, pair) in prep.pairs().into_iter().enumerate() {
        let setup = pool.install(|| prep.fit(k, &req.params))?;
        release_freed(&pool);
        let source = match &shards {
            Some(store) => {
                store.check_pair(k, pair, setup.as_ref(), &grid)?;
                RowSource::Tiles(store)
            }
            None => RowSource::Compute,
        };
        let (mut geo, counts) =
            pool.install(|| detect_pair(&prep, k, pair, setup, &source, req))?;
        let threshold = counts.auto.as_ref().map(|a| a.threshold);
        for p in geo.iter_mut() {
            let v = crate::classify::classify(&p.record.stats, threshold);
            (p.change_type, p.confidence, p.reasons) = (v.change_type, v.confidence, v.reasons);
        }
        all.append(&mut geo);
        pair_counts.push(counts);
    }
    pool.broadcast(|_| close_thread_handles());
    let t_detect = t_detect.elapsed().as_secs_f64();
    all.sort_by(|a, b| {
        (a.record.pair, a.record.first_pixel).cmp(&(b.record.pair, b.record.first_pixel))
    });

    let t_write = Instant::now();
    let mut stat_names: Vec<String> = kernel.channels.iter().map(|v| v.to_string()).collect();
    if auto {
        stat_names.push("score".into());
    }
    // The three writers are independent: run them side by side.
    let (gj, (cs, gp)) = pool.install(|| {
        rayon::join(
            || write::geojson::write(&staging.path("patches.geojson"), &all, &stat_names),
            || {
                rayon::join(
                    || write::csv::write(&staging.path("patches.csv"), &all, &stat_names),
                    || write::gpkg::write(&staging.path("patches.gpkg"), &grid, &all, &stat_names),
                )
            },
        )
    });
    gj?;
    cs?;
    gp?;
    let mut files: Vec<&str> = OUTPUT_FILES[..3].to_vec();
    if req.quicklook {
        let first_pair: Vec<GeoPatch> = all
            .iter()
            .filter(|p| {
                p.record.pair.before == images[0].info.date
                    && p.record.pair.after == images[1].info.date
            })
            .cloned()
            .collect();
        write::quicklook::write(
            &staging.path("quicklook.png"),
            &images[0],
            &images[1],
            &first_pair,
        )?;
        files.push("quicklook.png");
    }
    files.push("manifest.json");
    let t_write = t_write.elapsed().as_secs_f64();

    let hashes = hasher.finish()?;
    let inputs: Vec<InputRecord> = images
        .iter()
        .zip(hashes)
        .map(|(img, (size, sha))| InputRecord::new(img, size, sha))
        .collect();
    // From +0.0: an f64 `sum()` starts at -0.0, which a run without patches would print
    // and write as a negative total.
    let total_area_m2 = all.iter().fold(0.0, |t, p| t + p.area_m2);
    let m = Manifest {
        tool: "minewatch".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        gdal: gdal::version::version_info("RELEASE_NAME"),
        command: "detect".into(),
        working_dir: std::env::current_dir().ok(),
        inputs,
        params: req.params.clone(),
        resolved_rule: kernel.rule.all.iter().map(|c| c.to_string()).collect(),
        statistics: stat_names.clone(),
        skipped_statistics: skipped.clone(),
        grid: manifest::GridRecord::from(&grid),
        mask: req.mask.clone(),
        mask_bytes: req
            .mask
            .as_ref()
            .and_then(|m| std::fs::metadata(m).ok())
            .map(|m| m.len()),
        threads: req.threads,
        window: req.window,
        from_plan: shards.as_ref().map(|s| s.plan.plan_hash.clone()),
        pairs: pair_counts.clone(),
        patches: all.len(),
        total_area_m2,
        timings_s: manifest::Timings {
            resolve: t_resolve,
            detect: t_detect,
            write: t_write,
            total: t0.elapsed().as_secs_f64(),
        },
        outputs: files.iter().map(|s| s.to_string()).collect(),
    };
    manifest::write(&staging.path("manifest.json"), &m)?;
    staging.commit(&files, &["quicklook.png"])?;
    Ok(DetectSummary {
        out: req.out.clone(),
        patches: all.len(),
        total_area_m2,
        total_area_mu: minewatch_core::units::m2_to_mu(total_area_m2),
        pairs: pair_counts,
        files: files.iter().map(|f| req.out.join(f)).collect(),
    })
}

/// The kernel's output for one window: what the sieve and the labeller consume.
#[derive(Debug, Clone)]
pub struct WindowOut {
    pub window: Window,
    pub mask: Vec<u8>,
    /// 1 where both dates have data (and the user mask allows): the sieve may fill holes,
    /// but never with these pixels' opposite.
    pub valid_mask: Vec<u8>,
    pub channels: Vec<Vec<f32>>,
    pub valid: u64,
    pub flagged: u64,
}

/// Outputs a worker has compacted, kept for the next window with their buffers: fresh
/// window-sized buffers cost a page fault and a page clear per 4 KiB (≈ 8 % of a run).
static SPARE_OUTS: std::sync::Mutex<Vec<WindowOut>> = std::sync::Mutex::new(Vec::new());
/// Spare outputs kept: one per worker is what a run reuses; dropped at the end of a pair.
const SPARE_OUTS_MAX: usize = 16;

impl WindowOut {
    /// An output for `window`: every pixel valid, no mask yet, on the buffers of an output
    /// already compacted when there is one (its channels are overwritten by the kernel).
    pub(crate) fn recycled(window: &Window) -> WindowOut {
        let spare = SPARE_OUTS.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut out = spare.unwrap_or_else(|| WindowOut {
            window: *window,
            mask: Vec::new(),
            valid_mask: Vec::new(),
            channels: Vec::new(),
            valid: 0,
            flagged: 0,
        });
        out.window = *window;
        out.valid_mask.clear();
        out.valid_mask.resize(window.len(), 1);
        out.mask.clear();
        (out.valid, out.flagged) = (0, 0);
        out
    }

    /// Free the spare buffers (the pair is done: later stages need the memory).
    pub(crate) fn drop_spares() {
        SPARE_OUTS.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// Hand the buffers back for the next window (once compacted).
    pub(crate) fn give_back(self) {
        let mut spare = SPARE_OUTS.lock().unwrap_or_else(|p| p.into_inner());
        if spare.len() < SPARE_OUTS_MAX {
            spare.push(self);
        }
    }
}

fn compute_window(
    a: &DatedImage,
    b: &DatedImage,
    kernel: &Kernel,
    window: &Window,
) -> Result<WindowOut, PipelineError> {
    let roles = kernel.roles();
    let mut out = WindowOut::recycled(window);
    let valid = &mut out.valid_mask;
    if let Some(m) = &a.mask {
        apply_mask(m, window, valid)?;
    }
    let t1 = read_window(&a.info, &a.profile, &roles, window, valid)?;
    let t2 = read_window(&b.info, &b.profile, &roles, window, valid)?;
    let (mut p1, mut p2) = (Planes::default(), Planes::default());
    for &r in &roles {
        p1.set(r, t1.get(r).expect("read role"));
        p2.set(r, t2.get(r).expect("read role"));
    }
    kernel.run(&p1, &p2, &out.valid_mask, &mut out.mask, &mut out.channels);
    out.valid = out.valid_mask.iter().map(|&v| v as u64).sum();
    out.flagged = out.mask.iter().map(|&v| v as u64).sum();
    Ok(out)
}

/// Where a pair's kernel output comes from: computed from the images here, or read back
/// from the tiles a sharded run finished. Everything after it is one code path, which is
/// why a merged run is byte-identical to a single-process one.
pub(crate) enum RowSource<'a> {
    Compute,
    Tiles(&'a crate::shard::TileStore),
}

/// The window rows a single-process run computes, top to bottom.
fn compute_rows(prep: &Prepared, window: usize) -> Vec<Vec<Window>> {
    let grid = &prep.images[0].info.grid;
    // Inputs stored in full-width strips are read in full-width windows: a narrower window
    // would inflate every strip once per window across.
    let full_width = prep.images.iter().any(|d| {
        d.info
            .direct
            .as_ref()
            .is_some_and(|l| l.full_width_blocks())
    });
    if full_width {
        window_rows_shaped(grid.width, grid.height, grid.width, window)
    } else {
        window_rows(grid.width, grid.height, window)
    }
}

/// Hand what the workers and this thread freed back to the system (between stages).
fn release_freed(pool: &rayon::ThreadPool) {
    pool.broadcast(|_| minewatch_core::memory::release_freed());
    minewatch_core::memory::release_freed();
}

/// Closed patches per batch handed to georeferencing during the sweep: big enough that
/// a batch's own PROJ transformations (two per batch) cost little beside its records.
const GEOREF_BATCH: usize = 512;

fn detect_pair(
    prep: &Prepared,
    k: usize,
    pair: DatePair,
    auto: Option<AutoSetup>,
    source: &RowSource,
    req: &DetectRequest,
) -> Result<(Vec<GeoPatch>, PairCounts), PipelineError> {
    let t0 = Instant::now();
    let (a, b) = (&prep.images[k], &prep.images[k + 1]);
    let grid = &a.info.grid;
    let kernel = &prep.kernel;
    let width = grid.width;
    // The automatic methods carry score, cloud and shadow as three more channels, last.
    let n_ch = kernel.channels.len() + auto.is_some() as usize * crate::auto_run::AUTO_CHANNELS;
    let params = &req.params;
    let (mmu_sieve, min_pixels) = params.sieve_split();
    let bar = progress_bar(
        req.progress,
        grid.height as u64,
        &format!("detect {}", pair.key()),
    );
    // Window rows go to the sweep thread as computed (at most two in flight); it stitches
    // each pixel row from the windows' pieces, so the workers never wait on a copy.
    // Tiles decode faster than the sweep consumes: hand each row over directly (one row
    // decoded ahead), which bounds the memory.
    let depth = if matches!(source, RowSource::Tiles(_)) {
        1
    } else {
        2
    };
    let (tx, rx) = sync_channel::<Vec<CompactWindow>>(depth);
    // With the explicit rule a patch's record needs nothing but its own pixels: patches
    // the sweep closes go out in batches and are georeferenced on the pool while later
    // windows are computed (or, in a merge, while the sweep goes on), not all after the
    // sweep. The automatic method's screen needs every patch first.
    let stream = auto.is_none();
    let (ptx, prx) = std::sync::mpsc::channel::<Vec<PatchPixels>>();
    let sweep = std::thread::Builder::new()
        .name("mw-sweep".into())
        .spawn(move || {
            let mut sieve = SieveSweep::<(RowValues, Vec<u8>)>::new(width, mmu_sieve);
            let mut label = PatchSweep::new(width, n_ch, min_pixels);
            let mut patches: Vec<PatchPixels> = Vec::new();
            let mut sieved_px = 0u64;
            let mut on_patch = |p: PatchPixels| {
                patches.push(p);
                if stream && patches.len() >= GEOREF_BATCH {
                    // A closed receiver means the run is failing: keep the patch rows
                    // flowing, the error is reported by the caller.
                    let _ = ptx.send(std::mem::take(&mut patches));
                }
            };
            let mut mask_row = vec![0u8; width];
            // Row value buffers circle back here once labelled: no fresh pages per row.
            type RowBufs = (RowValues, Vec<u8>);
            let spare: std::cell::RefCell<Vec<RowBufs>> = Default::default();
            let mut clean = vec![0u8; width];
            {
                let mut on_row = |row: &[u8], (vals, vrow): RowBufs| {
                    // The sieve may fill a small hole with change; nodata and masked pixels
                    // stay out of every patch.
                    for ((c, &r), &v) in clean.iter_mut().zip(row).zip(&vrow) {
                        *c = r & v;
                    }
                    sieved_px += clean.iter().map(|&v| v as u64).sum::<u64>();
                    label.push_row(&clean, &vals.vals, &mut on_patch);
                    spare.borrow_mut().push((vals, vrow));
                };
                for outs in rx {
                    let h = outs.first().map_or(0, |o| o.window.height);
                    for r in 0..h {
                        let (mut vals, mut vrow) = spare
                            .borrow_mut()
                            .pop()
                            .unwrap_or_else(|| (RowValues::new(n_ch, width), vec![0u8; width]));
                        vals.clear();
                        for o in &outs {
                            o.stitch_row(r, &mut mask_row, &mut vrow, &mut vals);
                        }
                        sieve.push_row(&mask_row, (vals, vrow), &mut on_row);
                    }
                    outs.into_iter().for_each(CompactWindow::recycle);
                }
                sieve.finish(&mut on_row);
            }
            label.finish(&mut on_patch);
            (patches, sieved_px, sieve.flipped_regions, label.dropped)
        })
        .map_err(|e| PipelineError::Internal(format!("sweep thread: {e}")))?;
    let (mut valid, mut flagged) = (0u64, 0u64);
    let mut send = |row_outs: Vec<CompactWindow>| -> bool {
        for o in &row_outs {
            valid += o.valid;
            flagged += o.flagged;
        }
        let h = row_outs.first().map_or(0, |o| o.window.height) as u64;
        let ok = tx.send(row_outs).is_ok();
        bar.inc(h);
        ok
    };
    let mut names: Vec<String> = kernel.channels.iter().map(|v| v.to_string()).collect();
    if auto.is_some() {
        names.push("score".into());
    }
    // Record and georeference of one patch (its pixel runs are freed as it is made).
    let make =
        |g: &Result<Rc<Georef>, String>, p: PatchPixels| -> Result<GeoPatch, PipelineError> {
            let stats = names
                .iter()
                .enumerate()
                .map(|(c, n)| ChannelStat {
                    name: n.clone(),
                    mean: p.mean(c),
                    max: p.channels[c].2 as f64,
                })
                .collect();
            let rec = PatchRecord {
                id: PatchRecord::make_id(&pair, p.first.0, p.first.1),
                pair,
                first_pixel: p.first,
                pixels: p.pixels,
                bbox_px: p.bbox,
                stats,
                geometry: polygons_of_runs(&p.runs),
            };
            let g = g
                .as_ref()
                .map_err(|e| PipelineError::Input(format!("imagery CRS: {e}")))?;
            let id = rec.id.clone();
            g.apply(grid, rec, &p)
                .map_err(|e| PipelineError::Internal(format!("patch {id}: {e}")))
        };
    // Batches georeferenced while the windows ran; one job per batch.
    let streamed: std::sync::Mutex<Vec<GeoPatch>> = Default::default();
    let stream_failed: std::sync::Mutex<Option<PipelineError>> = Default::default();
    let georef_batch = |batch: Vec<PatchPixels>| {
        let g = Georef::for_thread(grid);
        match batch
            .into_iter()
            .map(|p| make(&g, p))
            .collect::<Result<Vec<GeoPatch>, _>>()
        {
            Ok(mut v) => streamed
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .append(&mut v),
            Err(e) => {
                stream_failed
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get_or_insert(e);
            }
        }
    };
    let failure = rayon::in_place_scope(|scope| {
        let spawn_ready = || {
            for batch in prx.try_iter() {
                scope.spawn(|_| georef_batch(batch));
            }
        };
        let mut send = |row_outs: Vec<CompactWindow>| -> bool {
            let ok = send(row_outs);
            spawn_ready();
            ok
        };
        match source {
            RowSource::Compute => {
                let rows = compute_rows(prep, req.window);
                let per_row = rows.first().map_or(1, |r| r.len()).max(1);
                // Enough window rows in flight to keep every worker busy, and no more.
                let batch = (2 * rayon::current_num_threads()).div_ceil(per_row).max(1);
                let mut failure = None;
                'batches: for chunk in rows.chunks(batch) {
                    let windows: Vec<&Window> = chunk.iter().flatten().collect();
                    // Each worker hands the sweep its window in compact form and keeps the
                    // full buffers for its next window.
                    let outs: Vec<Result<CompactWindow, PipelineError>> = windows
                        .par_iter()
                        .map(|w| {
                            let o = prep.compute_window(k, auto.as_ref(), w)?;
                            let cw = CompactWindow::new(&o, mmu_sieve as usize);
                            o.give_back();
                            Ok(cw)
                        })
                        .collect();
                    let mut it = outs.into_iter();
                    for row in chunk {
                        let row_outs: Result<Vec<CompactWindow>, PipelineError> =
                            it.by_ref().take(row.len()).collect();
                        match row_outs {
                            Ok(r) => {
                                if !send(r) {
                                    break 'batches;
                                }
                            }
                            Err(e) => {
                                failure = Some(e);
                                break 'batches;
                            }
                        }
                    }
                }
                failure
            }
            RowSource::Tiles(store) => store.stream_pair(k, n_ch, &mut send).err(),
        }
    });
    drop(tx);
    let swept = sweep.join();
    // The windows are done: free their buffers and caches on every worker before the
    // patch records take the memory (and before any return below).
    WindowOut::drop_spares();
    crate::compact::drop_spare_buffers();
    crate::shard::tile::drop_spare_bytes();
    rayon::broadcast(|_| {
        close_thread_handles();
        minewatch_detect::kernel::release_thread_buffers();
        crate::compact::release_thread_buffers();
        crate::auto_run::release_thread_buffers();
        // The batches' transformers too, so an early return below leaves none behind.
        Georef::release_thread();
        minewatch_core::memory::release_freed();
    });
    minewatch_core::memory::release_freed();
    bar.finish_and_clear();
    let (pixels, sieved_px, flipped, dropped) =
        swept.map_err(|_| PipelineError::Internal("sweep thread panicked".into()))?;
    if let Some(e) = failure {
        return Err(e);
    }
    if valid == 0 {
        return Err(PipelineError::Input(format!(
            "{} / {}: every pixel is nodata in at least one of the two dates; check the nodata value and that the images overlap",
            a.source.display(),
            b.source.display()
        )));
    }
    let t_sweep = t0.elapsed().as_secs_f64();
    if let Some(e) = stream_failed
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
    {
        return Err(e);
    }
    // The patches closed after the last window row (and, for the automatic method, all).
    let mut pixels = pixels;
    for mut batch in prx.try_iter() {
        pixels.append(&mut batch);
    }
    let mut dropped_small_weak = 0;
    let mut screened = crate::screen::Screened::default();
    let pixels = match &auto {
        None => pixels,
        Some(setup) => {
            // A stricter bar for small patches: isolated specks of modest change are the
            // commonest false alarm.
            // (not for the plain baseline)
            let small = if setup.score == "cva" {
                0
            } else {
                crate::auto_run::SMALL_PATCH_MMUS * params.mmu_px
            };
            let bar = crate::auto_run::SMALL_PATCH_FACTOR * setup.threshold;
            let score = kernel.channels.len();
            let before = pixels.len();
            let kept: Vec<PatchPixels> = pixels
                .into_iter()
                .filter(|p| p.pixels >= small || p.mean(score) >= bar)
                .collect();
            dropped_small_weak = before - kept.len();
            if setup.screen.is_some() {
                let (kept, s) = crate::screen::drop_clouds_and_shadows(
                    kept,
                    score + 1,
                    score + 2,
                    setup.pixel_m,
                );
                screened = s;
                kept
            } else {
                kept
            }
        }
    };
    // Records are built and georeferenced in one pass, so a patch's pixel runs are freed
    // as its georeferenced record is made (not all runs, records and results at once).
    let t_georef = Instant::now();
    let patches: Result<Vec<GeoPatch>, PipelineError> = pixels
        .into_par_iter()
        .map_init(|| Georef::for_thread(grid), |g, p| make(g, p))
        .collect::<Result<_, PipelineError>>();
    // Released on success and failure alike: a transformer must not outlive the stage in
    // a worker's thread-local (it would be dropped while the process tears GDAL down).
    rayon::broadcast(|_| Georef::release_thread());
    let mut patches = patches?;
    // Records are sorted by the caller; the streamed ones join in any order.
    patches.append(&mut streamed.into_inner().unwrap_or_else(|p| p.into_inner()));
    let counts = PairCounts {
        pair: pair.key(),
        before: a.source.clone(),
        after: b.source.clone(),
        valid_pixels: valid,
        rule_pixels: flagged,
        sieved_pixels: sieved_px,
        sieve_flipped_regions: flipped,
        dropped_small_patches: dropped + dropped_small_weak as u64,
        screened_cloud_patches: screened.cloud_patches,
        screened_cloud_pixels: screened.cloud_pixels,
        screened_shadow_patches: screened.shadow_patches,
        screened_shadow_pixels: screened.shadow_pixels,
        screened_patches: screened
            .removed
            .iter()
            .map(
                |&(first, reason, date, pixels)| crate::manifest::ScreenedPatch {
                    id: PatchRecord::make_id(&pair, first.0, first.1),
                    reason,
                    date,
                    pixels,
                },
            )
            .collect(),
        auto,
        patches: patches.len(),
        detect_s: t_sweep,
        georef_s: t_georef.elapsed().as_secs_f64(),
    };
    Ok((patches, counts))
}

fn progress_bar(enabled: bool, len: u64, msg: &str) -> indicatif::ProgressBar {
    if !enabled {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len),
        indicatif::ProgressDrawTarget::stderr(),
    );
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} rows ({eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message(msg.to_string());
    bar
}
