//! `minewatch sample TASKS --seed S (--rate R | --count N | --proportion) --out DIR`

use super::detect::Format;
use clap::{Args, ValueEnum};
use minewatch_pipeline::verify_run::{run_sample, SampleRequest, SampleSummary};
use minewatch_verify::sample::{Allocation, Size};
use std::path::PathBuf;

#[derive(Args)]
pub struct SampleArgs {
    /// A `minewatch rank` output folder, of which tasks.gpkg is read (English field names
    /// whatever `rank --header`; edits to the folder's tasks.csv are not seen), or any table
    /// of units (CSV, spreadsheet, GeoPackage). sample.csv repeats the columns of the table
    /// read: give a folder's tasks.csv itself to keep its headers (Chinese after
    /// `rank --header zh`). Rows whose `verified_unchanged` (已核查且无新变化) is 1 are
    /// sites verified earlier and unchanged since, in no county package: they are no
    /// sampling units (counted on stderr and in the manifest), and no `--must` rule forces
    /// them in.
    pub input: PathBuf,
    /// Seed of the draw (recorded in the manifest): the same inputs and seed give the same sample.
    #[arg(long)]
    pub seed: u64,
    /// Sample this share of each stratum's units (e.g. 0.1).
    #[arg(long, conflicts_with_all = ["count", "proportion"])]
    pub rate: Option<f64>,
    /// Draw this many random units in all strata together, besides the mandatory ones
    /// (`--must`), which are always in the sample and come on top.
    #[arg(long, conflicts_with = "proportion")]
    pub count: Option<usize>,
    /// Size the sample to estimate a proportion (e.g. the misjudgement rate).
    #[arg(long)]
    pub proportion: bool,
    /// Confidence of the proportion's interval.
    #[arg(long, default_value_t = 0.95)]
    pub confidence: f64,
    /// Margin (half-width) of the proportion's interval.
    #[arg(long, default_value_t = 0.05)]
    pub margin: f64,
    /// Prior guess of the proportion (0.5 is the safe maximum).
    #[arg(long, default_value_t = 0.5)]
    pub p: f64,
    /// Columns that define strata, e.g. county_code,priority_class (or verdict); an empty cell
    /// is the value `(blank)`.
    #[arg(long, value_delimiter = ',')]
    pub strata: Vec<String>,
    /// Allocation of the sample to strata.
    #[arg(long, value_enum, default_value_t = AllocArg::Proportional)]
    pub allocation: AllocArg,
    /// For Neyman: a numeric column (score) or an indicator COLUMN=VALUE (verdict=违法).
    /// Only with --allocation neyman (an error otherwise).
    #[arg(long)]
    pub neyman_by: Option<String>,
    /// At least this many random units per stratum (when it has them).
    #[arg(long, default_value_t = 0)]
    pub min_per_stratum: usize,
    /// Units always included: COLUMN (true / 1), COLUMN=VALUE, COLUMN~TEXT or COLUMN>=NUMBER.
    /// E.g. --must provincial_field_check_required --must zone_kinds~ecological_red_line.
    /// A rule that matches no unit is warned about (stderr and manifest notes).
    #[arg(long = "must")]
    pub must: Vec<String>,
    /// Column holding the unit id.
    #[arg(long, default_value = "site_id")]
    pub id_column: String,
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
    /// Summary format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum AllocArg {
    Proportional,
    Neyman,
}

pub fn run(a: SampleArgs) -> i32 {
    let size = match (a.rate, a.count, a.proportion) {
        (Some(r), _, _) if r > 0.0 && r <= 1.0 => Size::Rate(r),
        (Some(r), _, _) => {
            eprintln!("error: --rate {r}: give a share between 0 and 1");
            return 1;
        }
        (_, Some(c), _) => Size::Count(c),
        (_, _, true) => {
            if !(a.confidence > 0.0 && a.confidence < 1.0 && a.margin > 0.0 && a.margin < 1.0) {
                eprintln!("error: --confidence and --margin must lie between 0 and 1");
                return 1;
            }
            Size::Proportion {
                confidence: a.confidence,
                margin: a.margin,
                p: a.p,
            }
        }
        _ => {
            eprintln!("error: say how many: --rate R, --count N or --proportion");
            return 1;
        }
    };
    let req = SampleRequest {
        input: a.input,
        id_column: a.id_column,
        strata: a.strata,
        must: a.must,
        size,
        allocation: match a.allocation {
            AllocArg::Proportional => Allocation::Proportional,
            AllocArg::Neyman => Allocation::Neyman,
        },
        neyman_by: a.neyman_by,
        min_per_stratum: a.min_per_stratum,
        seed: a.seed,
        out: a.out,
        command: std::env::args().collect::<Vec<_>>().join(" "),
    };
    minewatch_pipeline::configure();
    super::report(run_sample(&req), a.format, print_text)
}

fn print_text(s: &SampleSummary) {
    println!(
        "sampled {} of {} units ({} mandatory) in {} strata, seed {}{}",
        s.sampled,
        s.population,
        s.mandatory,
        s.strata,
        s.seed,
        if s.left_out_verified_unchanged > 0 {
            format!(
                "; {} verified_unchanged tasks left out",
                s.left_out_verified_unchanged
            )
        } else {
            String::new()
        }
    );
    println!("  {}", s.out.join("sample.csv").display());
    println!("  {}", s.out.join("sample_report.txt").display());
}
