//! `minewatch overlay PATCHES --layers layers.toml --out DIR`

use super::detect::Format;
use clap::{Args, ValueEnum};
use minewatch_pipeline::{run_overlay, Header, OverlayRequest, OverlaySummary};
use std::path::PathBuf;

#[derive(Args)]
pub struct OverlayArgs {
    /// A `minewatch detect` output folder, or a patches file (GeoPackage, GeoJSON, any OGR
    /// polygon layer with a CRS).
    pub patches: PathBuf,
    /// The layers file (TOML) declaring zone layers, mining rights and admin divisions.
    #[arg(long)]
    pub layers: PathBuf,
    /// Output folder for findings.{gpkg,geojson,csv}, zone_hits.csv and the manifest.
    #[arg(long)]
    pub out: PathBuf,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Column names of the CSV tables: English field names or Chinese (for county offices).
    #[arg(long, value_enum, default_value_t = HeaderArg::En)]
    pub header: HeaderArg,
    /// Summary format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum HeaderArg {
    En,
    Zh,
}

impl From<HeaderArg> for Header {
    fn from(h: HeaderArg) -> Self {
        match h {
            HeaderArg::En => Header::En,
            HeaderArg::Zh => Header::Zh,
        }
    }
}

pub fn run(a: OverlayArgs) -> i32 {
    let req = OverlayRequest {
        patches: a.patches,
        layers: a.layers,
        out: a.out,
        threads: a.threads,
        header: a.header.into(),
        command: std::env::args().collect::<Vec<_>>().join(" "),
    };
    minewatch_pipeline::configure();
    super::report(run_overlay(&req), a.format, print_text)
}

fn print_text(s: &OverlaySummary) {
    println!(
        "{} patches, {} with zone hits ({} hits), {} in protected zones, {} on special land",
        s.patches, s.patches_with_zone_hits, s.zone_hits, s.in_protected_zones, s.special_land
    );
    let st: Vec<String> = s
        .licence_status
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    println!("licence status: {}", st.join(", "));
    println!(
        "{} patches with ≥ 10 亩 suspected illegal area (provincial field check)",
        s.over_10_mu_illegal
    );
    println!("findings in {}:", s.out.display());
    for f in minewatch_pipeline::overlay_run::OUTPUTS {
        println!("  {}", s.out.join(f).display());
    }
}
