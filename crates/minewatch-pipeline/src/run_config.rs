//! The run config (`pipelines/*.toml`): what a whole run computes — images (globs allowed),
//! detect parameters, layers, policy, history, penalties, prices, packages and the
//! spot-check design. Paths resolve relative to the config file; `data_root` (or
//! `--data-root`, or `MINEWATCH_DATA_ROOT`) replaces the config folder for inputs that
//! start with `@data/`.

use crate::error::PipelineError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// A name for the run (manifest, messages).
    pub name: String,
    /// Output folder; each stage writes a sub-folder.
    pub out: PathBuf,
    /// Root for paths written `@data/...`.
    #[serde(default)]
    pub data_root: Option<PathBuf>,
    pub detect: DetectStage,
    #[serde(default)]
    pub overlay: Option<OverlayStage>,
    #[serde(default)]
    pub rank: Option<RankStage>,
    #[serde(default)]
    pub package: Option<PackageStage>,
    #[serde(default)]
    pub sample: Option<SampleStage>,
    /// Tiling of a sharded run (`plan`, `run --shard`, `merge`); defaults apply without it.
    #[serde(default)]
    pub shards: Option<ShardsStage>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardsStage {
    /// Tile side in pixels (a shard's unit of work and storage).
    #[serde(default = "default_tile")]
    pub tile: usize,
    /// Tiles per array task.
    #[serde(default = "default_batch")]
    pub batch: usize,
    /// Where the plan, tile objects and input-hash records live: a folder (relative to the
    /// config; default `OUT/shards`) or `s3://BUCKET/PREFIX` on S3-compatible object
    /// storage, for tasks that share no file system (credentials and endpoint from the
    /// AWS_* environment variables).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
}

impl Default for ShardsStage {
    fn default() -> Self {
        Self {
            tile: default_tile(),
            batch: default_batch(),
            store: None,
        }
    }
}

fn default_tile() -> usize {
    2048
}

fn default_batch() -> usize {
    1
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectStage {
    /// Image paths or globs (`*`, `?` in the file name), dated by metadata or name.
    pub images: Vec<String>,
    /// Dates in image order (after glob expansion, sorted by path), when names lack them.
    #[serde(default)]
    pub dates: Vec<String>,
    /// A detect params file (method, profile, rule, MMU …); default parameters otherwise.
    #[serde(default)]
    pub params: Option<PathBuf>,
    #[serde(default)]
    pub quicklook: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverlayStage {
    pub layers: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RankStage {
    #[serde(default)]
    pub policy: Option<PathBuf>,
    #[serde(default)]
    pub history: Option<PathBuf>,
    #[serde(default)]
    pub penalties: Option<PathBuf>,
    #[serde(default)]
    pub prices: Option<PathBuf>,
    #[serde(default)]
    pub ledger: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageStage {
    /// Layers to outline on chips (default: the overlay's).
    #[serde(default)]
    pub layers: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleStage {
    pub seed: u64,
    #[serde(default)]
    pub rate: Option<f64>,
    #[serde(default)]
    pub count: Option<usize>,
    #[serde(default)]
    pub strata: Vec<String>,
    #[serde(default)]
    pub must: Vec<String>,
    #[serde(default)]
    pub min_per_stratum: usize,
}

/// The folder `@data/` paths resolve against, and where that choice came from.
struct DataRoot {
    path: PathBuf,
    from: &'static str,
}

impl DataRoot {
    const HOW: &'static str =
        "give the folder with --data-root DIR or MINEWATCH_DATA_ROOT=DIR (or `data_root` in the config)";

    /// `--data-root`, else `MINEWATCH_DATA_ROOT`, else the config's `data_root` (relative to
    /// the config), else the config's folder.
    fn choose(flag: Option<&Path>, config: Option<&Path>, base: &Path) -> Self {
        if let Some(p) = flag {
            return Self {
                path: p.to_path_buf(),
                from: "from --data-root",
            };
        }
        if let Some(p) = std::env::var_os("MINEWATCH_DATA_ROOT").filter(|v| !v.is_empty()) {
            return Self {
                path: PathBuf::from(p),
                from: "from MINEWATCH_DATA_ROOT",
            };
        }
        match config {
            Some(d) => Self {
                path: base.join(d),
                from: "from the config's data_root",
            },
            None => Self {
                path: base.to_path_buf(),
                from: "the config's own folder, as no data root was given",
            },
        }
    }
}

/// A config with every path resolved and every glob expanded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resolved {
    pub source: PathBuf,
    pub config: RunConfig,
    pub images: Vec<PathBuf>,
}

impl RunConfig {
    /// The detect parameters the config names, or the defaults.
    pub fn detect_params(&self) -> Result<crate::params::DetectParams, PipelineError> {
        match &self.detect.params {
            Some(p) => {
                crate::params::DetectParams::from_file(p).map_err(|msg| PipelineError::Params {
                    path: p.clone(),
                    msg,
                })
            }
            None => Ok(crate::params::DetectParams::default()),
        }
    }

    /// The configured dates (checked by `validate`), or `None` to date images by name or
    /// metadata.
    pub fn detect_dates(&self) -> Option<Vec<minewatch_core::AcqDate>> {
        (!self.detect.dates.is_empty()).then(|| {
            self.detect
                .dates
                .iter()
                .filter_map(|d| minewatch_core::AcqDate::parse(d).ok())
                .collect()
        })
    }

    /// The paths of single-file inputs as written in the config, by key.
    fn raw_paths(&self) -> std::collections::BTreeMap<&'static str, String> {
        let mut m = std::collections::BTreeMap::new();
        let mut add = |k: &'static str, p: Option<&PathBuf>| {
            if let Some(p) = p {
                m.insert(k, p.to_string_lossy().into_owned());
            }
        };
        add("detect.params", self.detect.params.as_ref());
        add("overlay.layers", self.overlay.as_ref().map(|o| &o.layers));
        if let Some(r) = &self.rank {
            add("rank.policy", r.policy.as_ref());
            add("rank.history", r.history.as_ref());
            add("rank.penalties", r.penalties.as_ref());
            add("rank.prices", r.prices.as_ref());
            add("rank.ledger", r.ledger.as_ref());
        }
        add(
            "package.layers",
            self.package.as_ref().and_then(|p| p.layers.as_ref()),
        );
        m
    }

    /// Whether any path is written `@data/...` (and so needs the data root).
    fn uses_data_root(&self) -> bool {
        let data = |s: &str| s.starts_with("@data/");
        data(&self.out.to_string_lossy())
            || self.detect.images.iter().any(|g| data(g))
            || self.raw_paths().values().any(|p| data(p))
            || self
                .shards
                .as_ref()
                .and_then(|t| t.store.as_deref())
                .is_some_and(data)
    }

    pub fn load(path: &Path, data_root: Option<&Path>) -> Result<Resolved, PipelineError> {
        let perr = |msg: String| PipelineError::Params {
            path: path.to_path_buf(),
            msg,
        };
        let text =
            std::fs::read_to_string(path).map_err(|e| perr(format!("cannot read it: {e}")))?;
        let mut c: RunConfig = toml::from_str(&text).map_err(|e| perr(e.to_string()))?;
        let base = folder_of(path).to_path_buf();
        let root = DataRoot::choose(data_root, c.data_root.as_deref(), &base);
        if c.uses_data_root() && !root.path.is_dir() {
            return Err(perr(format!(
                "data root {} ({}) is not a folder; {}",
                root.path.display(),
                root.from,
                DataRoot::HOW
            )));
        }
        let res = |p: &Path| -> PathBuf {
            match p.to_str().and_then(|s| s.strip_prefix("@data/")) {
                Some(rest) => root.path.join(rest),
                None if p.is_absolute() => p.to_path_buf(),
                None => base.join(p),
            }
        };
        // Where an `@data/` path was looked for, for messages about it.
        let looked = |raw: &str, p: &Path| -> String {
            if raw.starts_with("@data/") {
                format!(
                    " (looked for {}: `@data/` resolves against the data root {}, {}; {})",
                    p.display(),
                    root.path.display(),
                    root.from,
                    DataRoot::HOW
                )
            } else {
                String::new()
            }
        };
        let raw_paths = c.raw_paths();
        // The root actually used, whichever of flag, variable or key chose it (the manifest
        // recorded the config's key even when --data-root overrode it); none when no input
        // is written `@data/...`.
        c.data_root = c.uses_data_root().then(|| root.path.clone());
        c.out = res(&c.out);
        let mut images = Vec::new();
        for g in &c.detect.images {
            let object = crate::object_image::from_user(Path::new(g));
            if crate::object_image::is_virtual(&object) {
                if g.contains(['*', '?']) {
                    return Err(perr(format!(
                        "detect.images: `{g}`: patterns are not expanded on object storage; list each image"
                    )));
                }
                crate::object_image::stat(&object).map_err(|e| match e {
                    PipelineError::Input(m) => perr(format!("detect.images: {m}")),
                    e => e,
                })?;
                images.push(object);
                continue;
            }
            let at = res(Path::new(g));
            let found = glob(&at);
            if found.is_empty() {
                return Err(perr(format!(
                    "detect.images: `{g}` matches no file{}",
                    looked(g, &at)
                )));
            }
            images.extend(found);
        }
        if images.len() < 2 {
            return Err(perr(format!(
                "detect.images: {} image(s) found; a run needs two or more dates",
                images.len()
            )));
        }
        let opt = |o: &mut Option<PathBuf>| {
            if let Some(p) = o.as_mut() {
                *p = res(p);
            }
        };
        opt(&mut c.detect.params);
        if let Some(o) = c.overlay.as_mut() {
            o.layers = res(&o.layers);
        }
        if let Some(r) = c.rank.as_mut() {
            for f in [
                &mut r.policy,
                &mut r.history,
                &mut r.penalties,
                &mut r.prices,
                &mut r.ledger,
            ] {
                opt(f);
            }
        }
        if let Some(p) = c.package.as_mut() {
            opt(&mut p.layers);
        }
        if let Some(st) = c.shards.as_mut().and_then(|t| t.store.as_mut()) {
            if !st.contains("://") {
                *st = res(Path::new(st.as_str())).to_string_lossy().into_owned();
            } else if !st.starts_with("s3://") || st.len() <= "s3://".len() {
                return Err(perr(format!(
                    "[shards] store = \"{st}\": a folder or an s3://BUCKET/PREFIX URL"
                )));
            }
        }
        if c.rank.is_some() && c.overlay.is_none() {
            return Err(perr(
                "[rank] needs [overlay]: ranking reads the findings".into(),
            ));
        }
        if c.package.is_some() && c.rank.is_none() {
            return Err(perr(
                "[package] needs [rank]: packages hold ranked tasks".into(),
            ));
        }
        if c.sample.is_some() && c.rank.is_none() {
            return Err(perr(
                "[sample] needs [rank]: samples are drawn from ranked tasks".into(),
            ));
        }
        if let Some(s) = &c.sample {
            if s.rate.is_some() == s.count.is_some() {
                return Err(perr(
                    "[sample] needs exactly one of `rate` or `count`".into(),
                ));
            }
        }
        if let Some(t) = &c.shards {
            if t.tile < 64 || t.batch == 0 {
                return Err(perr(format!(
                    "[shards] tile = {} and batch = {}: the tile must be at least 64 pixels and the batch at least 1",
                    t.tile, t.batch
                )));
            }
        }
        // Every named input must exist now, not halfway through a run.
        let mut named: Vec<(&str, &PathBuf)> = Vec::new();
        if let Some(p) = &c.detect.params {
            named.push(("detect.params", p));
        }
        if let Some(o) = &c.overlay {
            named.push(("overlay.layers", &o.layers));
        }
        if let Some(r) = &c.rank {
            for (k, v) in [
                ("rank.policy", &r.policy),
                ("rank.history", &r.history),
                ("rank.penalties", &r.penalties),
                ("rank.prices", &r.prices),
                ("rank.ledger", &r.ledger),
            ] {
                if let Some(p) = v {
                    named.push((k, p));
                }
            }
        }
        if let Some(Some(p)) = c.package.as_ref().map(|p| &p.layers) {
            named.push(("package.layers", p));
        }
        for (k, p) in named {
            if !p.exists() {
                let raw = raw_paths.get(k).map(String::as_str).unwrap_or("");
                return Err(perr(format!(
                    "{k}: {} not found{}",
                    p.display(),
                    looked(raw, p)
                )));
            }
        }
        Ok(Resolved {
            source: path.to_path_buf(),
            config: c,
            images,
        })
    }
}

/// Files matching a path whose last component may hold `*` and `?`, sorted. As in the
/// shell, a wildcard never matches a leading dot: hidden files (`.x_20030101.tif`, macOS
/// `._…` copies) were taken as extra dates.
pub fn glob(p: &Path) -> Vec<PathBuf> {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    if !name.contains(['*', '?']) {
        return if p.is_file() {
            vec![p.to_path_buf()]
        } else {
            Vec::new()
        };
    }
    let dir = folder_of(p);
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .map(|e| e.path())
                .filter(|f| f.is_file())
                .filter(|f| {
                    f.file_name().is_some_and(|n| {
                        let n = n.to_string_lossy();
                        (!n.starts_with('.') || name.starts_with('.')) && matches(&name, &n)
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn matches(pat: &str, s: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pat.chars().collect(), s.chars().collect());
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < t.len() {
        if i < p.len() && (p[i] == '?' || p[i] == t[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    while i < p.len() && p[i] == '*' {
        i += 1;
    }
    i == p.len()
}

/// The folder a path is in: `.` for a bare file name, whose parent is "" — no folder to
/// list, test or take a data root from (`minewatch validate p.toml` run beside the file).
fn folder_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_patterns() {
        assert!(matches(
            "nanjing_*_nw400.tif",
            "nanjing_L5TM_20000503_nw400.tif"
        ));
        assert!(!matches(
            "nanjing_*_nw400.tif",
            "nanjing_L5TM_20000503_clip400.tif"
        ));
        assert!(matches("a?c*", "abcdef"));
        assert!(!matches("a?c", "abcd"));
    }

    /// Hidden files are not matched by a wildcard (a copy `.x_20030101.tif` or a macOS
    /// `._x_20000503.tif` became a third date), unless the pattern itself starts with a dot.
    #[test]
    fn globs_skip_hidden_files() {
        let d = tempfile::tempdir().unwrap();
        for n in ["a_20000503.tif", ".a_20030101.tif", "._a_20020712.tif"] {
            std::fs::write(d.path().join(n), b"x").unwrap();
        }
        let names = |pat: &str| -> Vec<String> {
            glob(&d.path().join(pat))
                .iter()
                .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(names("*.tif"), ["a_20000503.tif"]);
        assert_eq!(names("*_2*.tif"), ["a_20000503.tif"]);
        assert_eq!(names(".a_*.tif"), [".a_20030101.tif"]);
    }
}

/// Keys of the run config with their types and meaning: the source of `minewatch schema`
/// and of `docs/config.md`.
pub const KEYS: &[(&str, &str, bool, &str)] = &[
    ("name", "string", true, "A name for the run, recorded in the run manifest."),
    ("out", "path", true, "Output folder; each stage writes a sub-folder (detect, overlay, rank, packages, sample) and the run writes run_manifest.json and run_state.json."),
    ("data_root", "path", false, "Folder that inputs written `@data/...` resolve against (overridden by --data-root or MINEWATCH_DATA_ROOT)."),
    ("detect.images", "array of path/glob", true, "Dated images (GeoTIFF/COG); `*` and `?` allowed in file names; two or more."),
    ("detect.dates", "array of date", false, "Dates in image order (after sorting expanded paths) when file names and metadata lack them: one distinct date per image."),
    ("detect.params", "path", false, "A detect params file (method, profile, bands, rule, mmu_px, mmu_mode, connectivity, stats, reflectance_scale, reflectance_offset, cloud_screen): see \"The detect params file\" below."),
    ("detect.quicklook", "bool", false, "Also write quicklook.png."),
    ("overlay.layers", "path", true, "Layers file (zones, mining rights, admin divisions); see docs/overlay.md. Enables the overlay stage."),
    ("rank.policy", "path", false, "Priority policy (default pipelines/policy/default.toml weights). The [rank] table enables ranking."),
    ("rank.history", "path", false, "Earlier verdicts (CSV, spreadsheet or GeoPackage)."),
    ("rank.penalties", "path", false, "Administrative penalties (CSV, spreadsheet or GeoPackage)."),
    ("rank.prices", "path", false, "Mineral prices by period (CSV)."),
    ("rank.ledger", "path", false, "The previous run's ledger.csv, to keep site ids."),
    ("package.layers", "path", false, "Layers to outline on chips (default: overlay.layers). The [package] table enables county packages from the detect images."),
    ("sample.seed", "integer", true, "Seed of the spot-check draw. The [sample] table enables it."),
    ("sample.rate", "number", false, "Share of tasks to draw, above 0 and at most 1 (exactly one of rate or count)."),
    ("sample.count", "integer", false, "Number of tasks to draw (exactly one of rate or count)."),
    ("sample.strata", "array of string", false, "Task columns that define strata, e.g. county_code, priority_class."),
    ("sample.must", "array of string", false, "Mandatory inclusions: COLUMN, COLUMN=VALUE, COLUMN~TEXT or COLUMN>=NUMBER."),
    ("sample.min_per_stratum", "integer", false, "At least this many random tasks per stratum."),
    ("shards.tile", "integer", false, "Tile side in pixels for a sharded run (default 2048, at least 64): the unit `run --shard` computes and stores; memory per task is the windows in flight, not the tile: measured 230–380 MB at 2048 px on 2 threads (5 bands with the rule; 6 bands with the automatic method), growing with threads and bands, not with the tile."),
    ("shards.batch", "integer", false, "Tiles per array task (default 1, at least 1); `--batch` on the command line overrides it."),
    ("shards.store", "string", false, "Where `plan`, the shards and `merge` exchange the plan, tile objects and input-hash records: a folder (default `OUT/shards`; a shared file system) or `s3://BUCKET/PREFIX` on S3-compatible object storage, for tasks that share no file system. Endpoint, region and credentials come from the usual AWS variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`; `AWS_ENDPOINT_URL` and `AWS_ALLOW_HTTP=true` for a server other than AWS). Each object is written by one PUT, so a half-written tile never exists."),
];

/// JSON schema of the run config.
pub fn schema() -> serde_json::Value {
    use serde_json::{json, Map, Value};
    let ty = |t: &str| -> Value {
        match t {
            "string" | "path" | "date" => json!({"type": "string"}),
            "bool" => json!({"type": "boolean"}),
            "integer" => json!({"type": "integer", "minimum": 0}),
            "number" => json!({"type": "number"}),
            _ => json!({"type": "array", "items": {"type": "string"}}),
        }
    };
    // Bounds the loader enforces beyond the type (RunConfig::load, run_check).
    let bounds = |k: &str| -> Value {
        match k {
            "detect.images" => json!({"minItems": 1}),
            "sample.rate" => json!({"exclusiveMinimum": 0, "maximum": 1}),
            "shards.tile" => json!({"minimum": 64}),
            "shards.batch" => json!({"minimum": 1}),
            _ => json!({}),
        }
    };
    let mut top = Map::new();
    let mut required_top = Vec::new();
    let mut tables: BTreeMapLike = BTreeMapLike::default();
    for (k, t, req, d) in KEYS {
        let mut v = ty(t);
        if let Value::Object(b) = bounds(k) {
            v.as_object_mut().expect("an object").extend(b);
        }
        v["description"] = json!(d);
        match k.split_once('.') {
            None => {
                top.insert(k.to_string(), v);
                if *req {
                    required_top.push(k.to_string());
                }
            }
            Some((tbl, key)) => tables.add(tbl, key, v, *req),
        }
    }
    for (tbl, (props, req)) in tables.0 {
        let mut t = json!({"type": "object", "additionalProperties": false, "properties": props, "required": req});
        if tbl == "sample" {
            t["oneOf"] = json!([{"required": ["rate"]}, {"required": ["count"]}]);
        }
        top.insert(tbl.clone(), t);
        if tbl == "detect" {
            required_top.push(tbl);
        }
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "minewatch run config (pipelines/*.toml)",
        "type": "object",
        "additionalProperties": false,
        "properties": top,
        "required": required_top,
        // The stages read each other's outputs: ranking the findings, packaging and
        // sampling the ranked tasks.
        "dependentRequired": {"rank": ["overlay"], "package": ["rank"], "sample": ["rank"]},
    })
}

#[derive(Default)]
struct BTreeMapLike(
    std::collections::BTreeMap<String, (serde_json::Map<String, serde_json::Value>, Vec<String>)>,
);

impl BTreeMapLike {
    fn add(&mut self, tbl: &str, key: &str, v: serde_json::Value, req: bool) {
        let e = self.0.entry(tbl.to_string()).or_default();
        e.0.insert(key.to_string(), v);
        if req {
            e.1.push(key.to_string());
        }
    }
}

/// `docs/config.md`, generated from `KEYS` (CI checks the committed file is current).
pub fn config_markdown() -> String {
    let mut s = String::from(
        "# Run config reference (`pipelines/*.toml`)\n\n\
         Generated by `minewatch docs config`; do not edit by hand. Paths are relative to the\n\
         config file; `@data/...` resolves against `data_root` (or `--data-root`, or\n\
         `MINEWATCH_DATA_ROOT`). Every input is checked by `minewatch validate CONFIG` before a\n\
         run. JSON schema: `minewatch schema`.\n\n| key | type | required | meaning |\n|---|---|---|---|\n",
    );
    for (k, t, req, d) in KEYS {
        // A key of an optional table is required only where the table is given.
        let required = match k.split_once('.') {
            Some((tbl, _)) if *req && tbl != "detect" => format!("with `[{tbl}]`"),
            _ if *req => "yes".into(),
            _ => "no".into(),
        };
        s.push_str(&format!("| `{k}` | {t} | {required} | {d} |\n"));
    }
    s.push_str("\nExamples: `pipelines/demo.toml` (the bundled Nanjing chain), `pipelines/provincial.toml` (a multi-year provincial run), `pipelines/smoke.toml` (fixture smoke run).\n");
    s.push_str(PARAMS_DOC);
    s
}

/// The detect params file (`detect --params`, `detect.params`), which band-layout errors
/// point at: its keys live in `params.rs::DetectParams`.
const PARAMS_DOC: &str = r#"
## The detect params file

`minewatch detect --params FILE` (or `detect.params` above) reads a TOML file of detection
settings. Every key is optional; an unknown key is an error.

| key | type | default | meaning |
|---|---|---|---|
| `method` | string | `auto` | `auto` (automatic score and threshold), `rule` (the explicit `rule`) or `cva` (baseline). A file that gives `rule` but no `method` means `rule`. |
| `profile` | string | `auto` | Band profile: `auto` (band names, then band count) or one of `sentinel2`, `sentinel2-l2a`, `landsat-tm`, `landsat-oli`, `gf-wfv`, `gf2-pms`, `bgrn`, `bgrns`; same as `--profile`. A named profile is read by position (band names in its own sensor's numbering may reorder it; other names are warned of, not obeyed). |
| `bands` | table | none | Which band holds which role, `ROLE = BAND`: roles `blue`, `green`, `red`, `nir`, `swir1`, `swir2` (lower case), bands numbered from 1 as GDAL numbers them; each role its own band; roles left out are not read (statistics that need them are skipped, a rule that needs them is refused). Overrides `profile`. A band the file declares alpha is read as data when named here, with a warning. |
| `rule` | array of string | the peers' rule | Conditions that must all hold for a pixel to count as change (`method = "rule"`), e.g. `"ndvi_drop >= 0.2"`. |
| `mmu_px` | integer | 10 | Minimum mapping unit in pixels. |
| `mmu_mode` | string | `gdal` | `gdal` (gdal_sieve -8 -nomask: small patches dropped, small holes filled), `objects` (drop small patches only) or `none`. |
| `connectivity` | integer | 8 | Pixel connectivity of patches; only 8 is supported. |
| `stats` | array of string | the index differences the bands allow | Per-patch statistics (mean and max) of these variables. |
| `reflectance_scale` | number | none | Reflectance = value × scale + offset, for the automatic method's cloud and shadow screen where minewatch cannot tell (Landsat DN, GF digital numbers, unnamed bands); 0.0001 for Sentinel-2 digital numbers. |
| `reflectance_offset` | number | 0 | With `reflectance_scale`; −0.1 for Sentinel-2 processing baseline 04.00 or later without `BOA_ADD_OFFSET` metadata. |
| `cloud_screen` | boolean | true | Screen clouds and cloud shadows (automatic method). |

Example: a GF-6 WFV 8-band file (B1 blue, B2 green, B3 red, B4 NIR, B5–B8 red edge,
purple, yellow) whose bands are named only `B1`…`B8`, or a 4-band 8-bit file whose fourth
band GDAL tagged alpha:

```toml
# minewatch detect T1.tif T2.tif --params gf6.toml --out OUT
[bands]
blue = 1
green = 2
red = 3
nir = 4
```

A Landsat 7 ETM+ stack of all eight bands in order (B6 thermal, B8 pan) is
`--profile landsat-tm`, or `[bands]` with `blue = 1`, `green = 2`, `red = 3`, `nir = 4`,
`swir1 = 5`, `swir2 = 7`. The explicit rule of the peers is `pipelines/peer-rule.toml`.
"#;
