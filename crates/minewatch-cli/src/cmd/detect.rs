//! `minewatch detect IMAGE IMAGE [IMAGE...] --out DIR`

use clap::{Args, ValueEnum};
use minewatch_pipeline::{run_detect, DetectParams, DetectRequest, Method, MmuMode};
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum MethodArg {
    Rule,
    Auto,
    Cva,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum MmuModeArg {
    Gdal,
    Objects,
    None,
}

#[derive(Args)]
pub struct DetectArgs {
    /// Two or more co-registered images (GeoTIFF/COG or any GDAL raster), in any order.
    #[arg(required = true, num_args = 1..)]
    pub images: Vec<PathBuf>,
    /// Output folder (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Acquisition dates, one per image in the order given (YYYYMMDD or YYYY-MM-DD, comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub dates: Option<Vec<String>>,
    /// Params file (TOML): profile, band mapping, rule, minimum mapping unit.
    #[arg(long)]
    pub params: Option<PathBuf>,
    /// How change is decided: `auto` (the default: normalised Mahalanobis change score
    /// with a scene-derived threshold; no per-scene parameters), `rule` (the explicit rule
    /// of the params file or `--rule`; chosen by them when this flag is absent) or `cva`
    /// (the textbook baseline: raw change-vector magnitude, Otsu threshold).
    #[arg(long, value_enum)]
    pub method: Option<MethodArg>,
    /// Band profile: auto, sentinel2, sentinel2-l2a, landsat-tm, landsat-oli, gf-wfv, gf2-pms, bgrn, bgrns.
    #[arg(long)]
    pub profile: Option<String>,
    /// A rule condition such as "ndvi_drop >= 0.2" (repeatable; replaces the params file's rule).
    #[arg(long = "rule")]
    pub rule: Vec<String>,
    /// Minimum mapping unit in pixels.
    #[arg(long)]
    pub mmu: Option<u64>,
    /// How the minimum mapping unit is applied.
    #[arg(long, value_enum)]
    pub mmu_mode: Option<MmuModeArg>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Window side in pixels (memory grows with it; results do not change).
    #[arg(long, default_value_t = 512)]
    pub window: usize,
    /// Summary format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Warp dates whose grid differs onto the first date's grid (GDAL warper, bilinear)
    /// instead of stopping with an error.
    #[arg(long)]
    pub align: bool,
    /// A mask raster on the first date's grid (band 1): non-zero pixels are never change
    /// (clouds, shadows, areas not to assess).
    #[arg(long)]
    pub mask: Option<PathBuf>,
    /// Also write quicklook.png: both dates of the first pair with the patches outlined.
    #[arg(long)]
    pub quicklook: bool,
    /// No progress bar on stderr.
    #[arg(long)]
    pub quiet: bool,
}

pub fn run(a: DetectArgs) -> i32 {
    match run_inner(a) {
        Ok(()) => 0,
        Err((code, msg)) => {
            eprintln!("error: {msg}");
            code
        }
    }
}

fn run_inner(a: DetectArgs) -> Result<(), (i32, String)> {
    let user = |m: String| (1, m);
    let mut params = match &a.params {
        Some(p) => DetectParams::from_file(p).map_err(|e| user(format!("{}: {e}", p.display())))?,
        None => DetectParams::default(),
    };
    if let Some(p) = a.profile {
        params.profile = p;
        params.bands.clear();
    }
    if !a.rule.is_empty() {
        params.rule = a.rule;
        // A rule on the command line is what the user wants applied.
        params.method = Method::Rule;
    }
    if let Some(m) = a.method {
        params.method = match m {
            MethodArg::Rule => Method::Rule,
            MethodArg::Auto => Method::Auto,
            MethodArg::Cva => Method::Cva,
        };
    }
    if let Some(m) = a.mmu {
        params.mmu_px = m;
    }
    if let Some(m) = a.mmu_mode {
        params.mmu_mode = match m {
            MmuModeArg::Gdal => MmuMode::Gdal,
            MmuModeArg::Objects => MmuMode::Objects,
            MmuModeArg::None => MmuMode::None,
        };
    }
    let dates = super::parse_dates(a.dates).map_err(user)?;
    if a.window < 16 {
        return Err(user(format!(
            "--window {}: use at least 16 pixels",
            a.window
        )));
    }
    let threads = a
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if threads == 0 {
        return Err(user("--threads 0: use at least one thread".into()));
    }
    minewatch_pipeline::configure();
    let req = DetectRequest {
        shards: None,
        images: a.images,
        dates,
        params,
        out: a.out,
        threads,
        window: a.window,
        progress: !a.quiet && std::io::stderr().is_terminal(),
        quicklook: a.quicklook,
        align: a.align,
        mask: a.mask,
    };
    let s = run_detect(&req).map_err(|e| (e.exit_code(), e.to_string()))?;
    match a.format {
        Format::Json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&s).map_err(|e| (2, e.to_string()))?
            );
        }
        Format::Text => {
            println!(
                "{} patches, {:.1} m² ({:.2} 亩) in {} date pair(s)",
                s.patches,
                s.total_area_m2,
                s.total_area_mu,
                s.pairs.len()
            );
            for f in &s.files {
                println!("  {}", f.display());
            }
        }
    }
    Ok(())
}
