//! The up-front checks of a run config (`minewatch validate`, and `minewatch run` before its
//! first stage): everything a stage would refuse that can be known without running one, so
//! a wrong sample rate or layer name is reported in seconds, not after detection and
//! overlay. Messages name the config file and key, as the user wrote them there.

use crate::error::PipelineError;
use crate::inputs::DatedImage;
use crate::params::DetectParams;
use crate::rank_run::{check_table, UserTable};
use crate::run_config::{Resolved, RunConfig};
use minewatch_core::AcqDate;
use minewatch_verify::sample::Size;
use std::path::Path;

/// The config loaded and checked, and every input it names opened: the images (dates,
/// band profile, grid), layers (file, layer, fields) and the rank's tables read as the
/// rank reads them.
pub fn validate(config: &Path, data_root: Option<&Path>) -> Result<Resolved, PipelineError> {
    let r = validate_config(config, data_root)?;
    check_inputs(&r)?;
    check_images(&r)?;
    Ok(r)
}

/// The images dated, ordered, profiled and grid-checked as `detect` will: a glob that also
/// matched an undated quicklook, or a backup copy with the same date, passed `validate`
/// and failed the run (a reviewer's case). Returns them in date order.
pub fn check_images(r: &Resolved) -> Result<Vec<DatedImage>, PipelineError> {
    let keyed = |e| keyed(r, "detect.images", e);
    let params = r.config.detect_params()?;
    let dates = r.config.detect_dates();
    let images = crate::inputs::resolve(&r.images, dates.as_deref(), &params).map_err(keyed)?;
    crate::inputs::check_grids(&images).map_err(keyed)?;
    Ok(images)
}

/// The config loaded and checked with the small files it names parsed (detect params,
/// layers file, policy), without opening layers or tables: what a shard task, which only
/// detects, needs.
pub fn validate_config(config: &Path, data_root: Option<&Path>) -> Result<Resolved, PipelineError> {
    let r = RunConfig::load(config, data_root)?;
    let key_err = |msg: String| PipelineError::Params {
        path: config.to_path_buf(),
        msg,
    };
    if let Some(p) = &r.config.detect.params {
        DetectParams::from_file(p).map_err(|msg| PipelineError::Params {
            path: p.clone(),
            msg,
        })?;
    }
    if let Some(o) = &r.config.overlay {
        minewatch_zones::LayersSpec::from_file(&o.layers)?;
    }
    if let Some(Some(p)) = r.config.package.as_ref().map(|x| &x.layers) {
        minewatch_zones::LayersSpec::from_file(p)?;
    }
    if let Some(Some(p)) = r.config.rank.as_ref().map(|x| &x.policy) {
        minewatch_policy::Policy::from_file(p).map_err(|msg| PipelineError::Params {
            path: p.clone(),
            msg,
        })?;
    }
    check_dates(&r, config)?;
    if let Some(s) = &r.config.sample {
        if let Some(x) = s.rate {
            if Size::Rate(x).check().is_err() {
                return Err(key_err(format!(
                    "sample.rate = {x} must be in (0, 1]: the share of tasks to draw"
                )));
            }
        }
        // The columns are the tasks table's: a typo would otherwise surface only after
        // detection, overlay, ranking and packaging have run.
        let columns = crate::rank_run::task_column_names();
        let unknown = |key: &str, c: &str| {
            key_err(format!(
                "{key} names `{c}`, which is not a column of tasks.csv (e.g. county_code, priority_class, licence_status)"
            ))
        };
        for c in &s.strata {
            if !columns.iter().any(|k| k == c) {
                return Err(unknown("sample.strata", c));
            }
        }
        for m in &s.must {
            let c = crate::verify_run::must_column(m)
                .map_err(|e| key_err(format!("sample.must = \"{m}\": {e}")))?;
            if !columns.contains(&c) {
                return Err(unknown(&format!("sample.must = \"{m}\""), &c));
            }
        }
    }
    Ok(r)
}

/// `detect.dates`: valid dates, distinct, one per image.
fn check_dates(r: &Resolved, config: &Path) -> Result<(), PipelineError> {
    let d = &r.config.detect.dates;
    if d.is_empty() {
        return Ok(());
    }
    let key_err = |msg: String| PipelineError::Params {
        path: config.to_path_buf(),
        msg,
    };
    let mut seen: Vec<AcqDate> = Vec::with_capacity(d.len());
    for t in d {
        let date = AcqDate::parse(t).map_err(|e| key_err(format!("detect.dates: {e}")))?;
        if seen.contains(&date) {
            return Err(key_err(format!(
                "detect.dates: {date} is given twice; give one distinct date per image"
            )));
        }
        seen.push(date);
    }
    if d.len() != r.images.len() {
        let names: Vec<String> = r
            .images
            .iter()
            .map(|p| {
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        return Err(key_err(format!(
            "detect.dates gives {} date(s) for {} image(s) ({}); give one date per image, in this order (detect.images, each glob's matches sorted by path)",
            d.len(),
            r.images.len(),
            names.join(", ")
        )));
    }
    Ok(())
}

/// An input's error under the config key that names it. Internal errors stay internal
/// (exit 2): the user cannot fix them in the config.
fn keyed(r: &Resolved, key: &str, e: PipelineError) -> PipelineError {
    match e {
        PipelineError::Internal(_) => e,
        PipelineError::Zones(ref z) if z.is_internal() => e,
        e => PipelineError::Params {
            path: r.source.clone(),
            msg: format!("{key}: {e}"),
        },
    }
}

/// Open what the later stages read, naming the config key of each input in errors.
pub fn check_inputs(r: &Resolved) -> Result<(), PipelineError> {
    let c = &r.config;
    let keyed = |key: &str, e| keyed(r, key, e);
    let mut layers = Vec::new();
    if let Some(o) = &c.overlay {
        layers.push(("overlay.layers", &o.layers));
    }
    if let Some(Some(p)) = c.package.as_ref().map(|x| &x.layers) {
        layers.push(("package.layers", p));
    }
    for (key, p) in layers {
        minewatch_zones::LayersSpec::from_file(p)
            .and_then(|spec| minewatch_zones::check(&spec))
            .map_err(|e| keyed(key, e.into()))?;
    }
    if let Some(x) = &c.rank {
        for (key, which, p) in [
            ("rank.history", UserTable::History, &x.history),
            ("rank.penalties", UserTable::Penalties, &x.penalties),
            ("rank.prices", UserTable::Prices, &x.prices),
            ("rank.ledger", UserTable::Ledger, &x.ledger),
        ] {
            if let Some(p) = p {
                check_table(which, p).map_err(|e| keyed(key, e))?;
            }
        }
    }
    Ok(())
}
