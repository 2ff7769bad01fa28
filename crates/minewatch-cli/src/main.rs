//! The `minewatch` binary: parses arguments, calls the pipeline, prints. Data goes to
//! stdout, logs and progress to stderr. Exit codes: 0 ok, 1 input or configuration the
//! user can fix, 2 internal error; the commands a batch engine runs (`run --shard`,
//! `merge`) exit 0 done, 75 transient (retry), 65 permanent, argument errors included.
//! `plan`, `missing` and `emit` are the operator's (or a launcher script's) and keep
//! 0 / 1 / 2: a stale plan is 1 from `missing`, 65 from a shard.

mod cmd;
mod interrupt;

// Windows allocate and free megabyte planes at a high rate on every worker; glibc's
// per-thread arenas hand those pages back and fault them in again (measured: 11 % of
// the run in page faults). mimalloc keeps them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

// Stages that free a large working set ask for it to be handed back (see
// `minewatch_core::memory`); mimalloc's own delayed purge leaves it counted for seconds.
#[allow(unsafe_code)]
mod release {
    extern "C" {
        fn mi_collect(force: bool);
    }

    pub fn freed_memory() {
        // SAFETY: mi_collect takes no pointers and may be called from any thread at any time.
        unsafe { mi_collect(true) }
    }

    #[cfg(target_os = "linux")]
    extern "C" {
        fn prctl(option: std::ffi::c_int, ...) -> std::ffi::c_int;
    }

    /// Turns transparent huge pages off for this process. mimalloc asks for them on its
    /// arenas, and the kernel clears every 2 MiB page whole at its first touch. That pays
    /// off for the window planes a detecting run reuses; a merge allocates many small,
    /// short-lived records (patch runs, polygons, output buffers) and spent a quarter of
    /// its CPU clearing pages: with this, 16384² merge 2.33 → 2.13 s wall, 4.23 → 3.80 s
    /// CPU, 455 → 396 MiB (medians of 4, docs/performance.md, session 16). Best effort: a
    /// kernel without the option leaves the default.
    pub fn no_huge_pages() {
        #[cfg(target_os = "linux")]
        {
            const PR_SET_THP_DISABLE: std::ffi::c_int = 41;
            // SAFETY: PR_SET_THP_DISABLE takes integer arguments only and affects this
            // process's future page faults; a failure changes nothing.
            let _ = unsafe {
                prctl(
                    PR_SET_THP_DISABLE,
                    1 as std::ffi::c_ulong,
                    0 as std::ffi::c_ulong,
                    0 as std::ffi::c_ulong,
                    0 as std::ffi::c_ulong,
                )
            };
        }
    }
}

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "minewatch",
    version,
    about = "Satellite-image change patches for mineral-resource law enforcement (矿产卫片执法)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compare dated images and write suspected change patches (疑似变化图斑).
    Detect(cmd::detect::DetectArgs),
    /// Score a detection against a reference label raster or sparse samples.
    Eval(cmd::eval::EvalArgs),
    /// Place patches against zones, mining rights and admin divisions (findings).
    Overlay(cmd::overlay::OverlayArgs),
    /// Link years into sites and rank them by the law-driven policy (tasks with reasons).
    Rank(cmd::rank::RankArgs),
    /// Write verification packages per county: tables, chips, maps, KML/GPX, offline page.
    Package(cmd::package::PackageArgs),
    /// Run every stage of a pipeline config in order, resuming finished work.
    Run(cmd::run::RunArgs),
    /// Cut a run into tiles for a batch engine: plan.json in the shard store, OUT/shards by default (tile grid, fitted setup, inputs' size and modification time).
    Plan(cmd::shard::PlanArgs),
    /// List the array indices of shards not yet finished, as ranges for `sbatch --array=` (an operator's command: exit 1 when the plan is missing or stale, where a shard exits 65).
    Missing(cmd::shard::MissingArgs),
    /// Stitch the finished tiles of a sharded run and run the remaining stages (refuses while tiles are missing).
    Merge(cmd::shard::MergeArgs),
    /// Print a launcher for a batch engine: `emit slurm` (sbatch array + afterok merge) or `emit k8s`.
    Emit {
        #[command(subcommand)]
        what: cmd::shard::EmitWhat,
    },
    /// Check a pipeline config and every input it names; print the resolved settings.
    Validate(cmd::run::ValidateArgs),
    /// Print the JSON schema of pipeline configs.
    Schema,
    /// Print generated documentation (docs/cli.md, docs/config.md).
    Docs {
        #[command(subcommand)]
        what: cmd::run::DocsWhat,
    },
    /// Draw a seeded spot-check or re-check sample (抽查) of ranked tasks.
    Sample(cmd::sample::SampleArgs),
    /// Validate the counties' returned verdicts, flag inconsistencies, draw the re-check.
    Audit(cmd::audit::AuditArgs),
}

/// Whether the command line is one a batch engine runs (`run --shard`, `merge`), whose
/// exit codes are 0 / 75 / 65 rather than 0 / 1 / 2.
fn engine_task(args: &[String]) -> bool {
    match args.get(1).map(String::as_str) {
        Some("merge") => true,
        Some("run") => args[2..]
            .iter()
            .any(|a| a == "--shard" || a.starts_with("--shard=")),
        _ => false,
    }
}

fn main() {
    minewatch_core::memory::set_release_hook(release::freed_memory);
    // `minewatch … | head`: when the reader of stdout goes away, Rust's print macros panic
    // with a backtrace and exit 101. The outputs were written (atomically) before the
    // summary is printed, so leave quietly instead.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.starts_with("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(0);
        }
        default_hook(info);
    }));
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = match e.use_stderr() {
                false => 0,
                // A batch engine retries any code but 65: a task with a bad argument
                // would fail the same way on every attempt.
                true if engine_task(&std::env::args().collect::<Vec<_>>()) => 65,
                true => 1,
            };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    // An interrupted batch task is retried (75); an interrupted command is a partial run.
    interrupt::install(if engine_task(&std::env::args().collect::<Vec<_>>()) {
        75
    } else {
        2
    });
    let code = match cli.command {
        Command::Detect(a) => cmd::detect::run(a),
        Command::Eval(a) => cmd::eval::run(a),
        Command::Overlay(a) => cmd::overlay::run(a),
        Command::Rank(a) => cmd::rank::run(a),
        Command::Package(a) => cmd::package::run(a),
        Command::Sample(a) => cmd::sample::run(a),
        Command::Run(a) => cmd::run::run(a),
        Command::Plan(a) => cmd::shard::plan_cmd(a),
        Command::Missing(a) => cmd::shard::missing_cmd(a),
        Command::Merge(a) => cmd::shard::merge_cmd(a),
        Command::Emit { what } => cmd::shard::emit_cmd(what),
        Command::Validate(a) => cmd::run::validate_cmd(a),
        Command::Schema => cmd::run::schema(),
        Command::Docs { what } => cmd::run::docs(what, <Cli as clap::CommandFactory>::command()),
        Command::Audit(a) => cmd::audit::run(a),
    };
    std::process::exit(code);
}
