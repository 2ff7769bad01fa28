//! `minewatch audit RETURNED... --tasks TASKS --out DIR [--recheck RESULTS]`

use super::detect::Format;
use clap::Args;
use minewatch_core::AcqDate;
use minewatch_pipeline::verify_run::{
    run_audit, AuditDate, AuditRequest, AuditSummary, AUDIT_OUTPUTS,
};
use minewatch_verify::sample::Size;
use std::path::PathBuf;

#[derive(Args)]
pub struct AuditArgs {
    /// The counties' filled tables (CSV, Excel .xlsx/.xls, .ods or GeoPackage; English or Chinese headers), or folders of them.
    /// A folder's tables are read and those of each of its subfolders (county folders such as
    /// a returned package), one level down; what is passed over (a subfolder with no tables
    /// but folders further down, an archive, a lock file, a minewatch output, a WPS .et to save
    /// as .xlsx/.csv, a .txt that is no form) is said on stderr; a .txt form is read as CSV.
    /// Tables of one folder listing mostly the same sites (a package's tasks.csv and
    /// tasks.gpkg), with no two county codes in their names, are copies of one form: the one
    /// holding verdicts is read.
    #[arg(required = true)]
    pub returned: Vec<PathBuf>,
    /// The ranked tasks they answer: a `minewatch rank` folder, of which tasks.gpkg is read
    /// (edits to its tasks.csv are not seen), or a tasks table such as that tasks.csv
    /// (English or `rank --header zh` headers).
    #[arg(long)]
    pub tasks: PathBuf,
    /// Share of valid verdicts drawn for the re-check, per county and verdict.
    #[arg(long, default_value_t = 0.1)]
    pub recheck_rate: f64,
    /// At least this many re-checks per county and verdict (when there are that many).
    #[arg(long, default_value_t = 1)]
    pub recheck_min: usize,
    /// Seed of the re-check draw (recorded in the manifest).
    #[arg(long)]
    pub seed: u64,
    /// Re-check results: adds the misjudgement rate per county. Give the earlier audit's
    /// recheck_sample.csv with its recheck_verdict column filled in: the sample stays as it
    /// was drawn (its picks, strata populations and inclusion probabilities), whatever the
    /// counties corrected since. A file of site_id, recheck_verdict (or 图斑地块编号,
    /// 复核结果) only draws the sample again from the current forms with --seed.
    #[arg(long)]
    pub recheck: Option<PathBuf>,
    /// The audit's date (YYYY-MM-DD): a 核查日期 after it is flagged. Default: today in
    /// China (UTC+8). Recorded in the manifest; give it to rerun an audit alike.
    #[arg(long)]
    pub today: Option<String>,
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
    /// Summary format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(a: AuditArgs) -> i32 {
    if !(a.recheck_rate > 0.0 && a.recheck_rate <= 1.0) {
        eprintln!(
            "error: --recheck-rate {}: give a share between 0 and 1",
            a.recheck_rate
        );
        return 1;
    }
    let today = match a.today.as_deref().map(AcqDate::parse_lenient) {
        None => AuditDate::clock(),
        Some(Ok(d)) => AuditDate::Given(d),
        Some(Err(e)) => {
            eprintln!("error: --today: {e}");
            return 1;
        }
    };
    let req = AuditRequest {
        returned: a.returned,
        tasks: a.tasks,
        recheck_size: Size::Rate(a.recheck_rate),
        recheck_min_per_stratum: a.recheck_min,
        seed: a.seed,
        recheck_results: a.recheck,
        out: a.out,
        command: std::env::args().collect::<Vec<_>>().join(" "),
        today,
    };
    minewatch_pipeline::configure();
    super::report(run_audit(&req), a.format, print_text)
}

fn print_text(s: &AuditSummary) {
    println!(
        "{} tasks, {} rows returned: {} valid verdicts, {} invalid rows ({} without a verdict yet), {} flagged for review, {} not returned",
        s.tasks,
        s.returned_rows,
        s.valid_verdicts,
        s.invalid_rows,
        s.rows_without_verdict,
        s.review_flags,
        s.not_returned
    );
    println!("re-check sample: {} sites", s.recheck_sample);
    for f in AUDIT_OUTPUTS {
        println!("  {}", s.out.join(f).display());
    }
}
