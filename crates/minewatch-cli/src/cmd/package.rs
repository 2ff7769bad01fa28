//! `minewatch package TASKS --imagery IMAGE... --out DIR [--layers layers.toml]`

use super::detect::Format;
use clap::Args;
use minewatch_pipeline::package_run::{run_package, PackageRequest, PackageSummary};
use std::path::PathBuf;

#[derive(Args)]
pub struct PackageArgs {
    /// A `minewatch rank` output folder (its tasks.gpkg) or a tasks GeoPackage.
    pub tasks: PathBuf,
    /// The dated images to cut chips from (the detect inputs), two or more.
    #[arg(long, num_args = 1.., required = true)]
    pub imagery: Vec<PathBuf>,
    /// The imagery's acquisition dates, one per image in the order given (YYYYMMDD or
    /// YYYY-MM-DD, comma-separated), for files whose names and metadata have none: as
    /// given to detect's --dates.
    #[arg(long, value_delimiter = ',')]
    pub dates: Option<Vec<String>>,
    /// Detect's params file, when it set a band profile or band mapping: the imagery is
    /// read with the same bands.
    #[arg(long)]
    pub params: Option<PathBuf>,
    /// Layers file: outline mining rights (cyan) and zones (magenta) on the chips.
    #[arg(long)]
    pub layers: Option<PathBuf>,
    /// Output folder: one folder and one zip per county.
    #[arg(long)]
    pub out: PathBuf,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// TrueType/TTC font with Chinese glyphs (default: WenQuanYi Micro Hei from fonts-wqy-microhei).
    #[arg(long)]
    pub font: Option<PathBuf>,
    /// Summary format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(a: PackageArgs) -> i32 {
    let format = a.format;
    minewatch_pipeline::configure();
    super::report(request(a).and_then(|r| run_package(&r)), format, print_text)
}

fn request(a: PackageArgs) -> Result<PackageRequest, minewatch_pipeline::PipelineError> {
    use minewatch_pipeline::{DetectParams, PipelineError};
    let dates = super::parse_dates(a.dates).map_err(PipelineError::Input)?;
    let params = match &a.params {
        None => DetectParams::default(),
        Some(p) => DetectParams::from_file(p).map_err(|msg| PipelineError::Params {
            path: p.clone(),
            msg,
        })?,
    };
    Ok(PackageRequest {
        tasks: a.tasks,
        imagery: a.imagery,
        dates,
        params,
        layers: a.layers,
        out: a.out,
        threads: a.threads,
        font: a.font,
        command: std::env::args().collect::<Vec<_>>().join(" "),
    })
}

fn print_text(s: &PackageSummary) {
    println!(
        "{} tasks, {} chips, {} county packages in {}:",
        s.tasks,
        s.chips,
        s.counties.len(),
        s.out.display()
    );
    if s.tasks_outside_imagery > 0 {
        println!(
            "{} tasks outside the imagery have no chips (listed in package_manifest.json)",
            s.tasks_outside_imagery
        );
    }
    if s.tasks_of_other_dates > 0 {
        println!(
            "{} tasks have chips of other dates than their change (see the warning above)",
            s.tasks_of_other_dates
        );
    }
    if s.tasks_without_admin_place > 0 {
        println!(
            "{} tasks in no admin division are filed under 000000_未定县",
            s.tasks_without_admin_place
        );
    }
    for c in &s.counties {
        println!(
            "  {}/ ({} tasks, {} chips; {}.zip {:.1} MB)",
            c.folder,
            c.tasks,
            c.chips,
            c.folder,
            c.zip_bytes as f64 / 1e6
        );
    }
}
