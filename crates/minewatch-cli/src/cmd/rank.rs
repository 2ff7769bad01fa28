//! `minewatch rank FINDINGS... --policy policy.toml [--history H] [--penalties P] [--prices Q] --out DIR`

use super::detect::Format;
use super::overlay::HeaderArg;
use clap::Args;
use minewatch_pipeline::{run_rank, RankRequest, RankSummary};
use std::path::PathBuf;

#[derive(Args)]
pub struct RankArgs {
    /// `minewatch overlay` output folders (or their findings.gpkg), one per run: together
    /// they hold the date pairs of the years to link.
    #[arg(required = true)]
    pub findings: Vec<PathBuf>,
    /// Priority policy (TOML); default: the weights of pipelines/policy/default.toml.
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Earlier cycles' verdicts (CSV, spreadsheet or GeoPackage): patch_id / site_id / lon,lat (or a
    /// geometry), verdict (合法 | 违法 | 伪变化), reason, handling (立案 …) or case_filed, date.
    #[arg(long)]
    pub history: Option<PathBuf>,
    /// Administrative penalties (CSV, spreadsheet or GeoPackage): party, licence and/or lon,lat, date, decision.
    #[arg(long)]
    pub penalties: Option<PathBuf>,
    /// Mineral prices by period (CSV): mineral, period, price or change_pct.
    #[arg(long)]
    pub prices: Option<PathBuf>,
    /// The previous run's ledger (its output folder or ledger.csv): keeps site ids.
    #[arg(long)]
    pub ledger: Option<PathBuf>,
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Column names of the CSV tables.
    #[arg(long, value_enum, default_value_t = HeaderArg::En)]
    pub header: HeaderArg,
    /// Summary format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(a: RankArgs) -> i32 {
    let req = RankRequest {
        findings: a.findings,
        policy: a.policy,
        history: a.history,
        penalties: a.penalties,
        prices: a.prices,
        ledger: a.ledger,
        out: a.out,
        threads: a.threads,
        header: a.header.into(),
        command: std::env::args().collect::<Vec<_>>().join(" "),
    };
    minewatch_pipeline::configure();
    super::report(run_rank(&req), a.format, print_text)
}

fn print_text(s: &RankSummary) {
    println!(
        "{} patches of {} date pairs ({} compared) → {} sites ({} ranked, {} suppressed as earlier 伪变化)",
        s.patches,
        s.pairs.len(),
        s.compared_pairs.len(),
        s.sites,
        s.ranked,
        s.suppressed
    );
    println!(
        "{} multi-year change, {} need a provincial field check (≥ 10 亩), {} criminal referral candidates",
        s.multi_year_change, s.provincial_field_check_required, s.criminal_referral_candidates
    );
    if s.sites_without_admin_place > 0 {
        println!(
            "{} sites in no admin division: not ranked (see the warning above)",
            s.sites_without_admin_place
        );
    }
    if !s.rising_fast_counties.is_empty() {
        println!(
            "counties rising fast: {}",
            s.rising_fast_counties.join(", ")
        );
    }
    println!("{} hot spots; tasks in {}:", s.hotspots, s.out.display());
    for f in minewatch_pipeline::rank_run::OUTPUTS {
        println!("  {}", s.out.join(f).display());
    }
}
