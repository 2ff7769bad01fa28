//! `minewatch plan | missing | merge | emit slurm|k8s` and `run --shard`: a run split
//! into array tasks on an existing batch engine.

use super::detect::Format;
use clap::{Args, Subcommand};
use minewatch_pipeline::run_all::RunRequest;
use minewatch_pipeline::shard::emit::{self, EmitOptions, MemSize};
use minewatch_pipeline::shard::run::{
    merge, missing, plan, run_shard, shard_index, MissingSummary, PlanSummary, ShardSummary,
    ShardTarget,
};
use minewatch_pipeline::shard::{objects_of, Plan};
use minewatch_pipeline::PipelineError;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// The run a sharded command works on.
#[derive(Args, Clone)]
pub struct Target {
    /// The run config (pipelines/*.toml).
    pub config: PathBuf,
    /// Root for inputs written `@data/...` (else MINEWATCH_DATA_ROOT, else the config's data_root).
    #[arg(long)]
    pub data_root: Option<PathBuf>,
    /// Output folder (replaces the config's `out`); the plan and tiles live in OUT/shards unless `[shards] store` says otherwise.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

impl Target {
    fn shard_target(&self) -> ShardTarget {
        ShardTarget {
            config: self.config.clone(),
            out: self.out.clone(),
            data_root: self.data_root.clone(),
        }
    }
}

#[derive(Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub target: Target,
    /// Tile side in pixels (default: the config's shards.tile, else 2048).
    #[arg(long)]
    pub tile: Option<usize>,
    /// Worker threads for the automatic method's fit (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Summary on stdout: `text` (the plan's tiles, shards and hash) or `json`.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Args)]
pub struct MissingArgs {
    #[command(flatten)]
    pub target: Target,
    /// Tiles per array task (default: the config's shards.batch, else 1).
    #[arg(long, value_parser = super::at_least_one)]
    pub batch: Option<usize>,
    /// `text` prints only the compact ranges (`0-3,7`, empty when done) for `sbatch --array=`.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Args)]
pub struct MergeArgs {
    #[command(flatten)]
    pub target: Target,
    /// Start at once and stream: wait for each tile row's tiles, checking every SECONDS,
    /// instead of exiting 75 while tiles are missing (for engines without job dependencies,
    /// e.g. a Kubernetes merge Job started with the shards; the merge then ends soon after
    /// the last shard). A damaged tile (truncated, a bad header), or one an earlier merge
    /// set aside as damaged (`.bad`), is set aside and computed by the merge itself; a new
    /// plan in the store ends the wait with exit 65.
    #[arg(long, value_name = "SECONDS")]
    pub wait: Option<u64>,
    /// Refuse unless the current plan has this hash (launchers emitted for one plan pass it).
    #[arg(long, value_name = "HASH")]
    pub plan: Option<String>,
    /// Worker threads for decoding tile windows, the stitching sweep and the later
    /// stages (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Summary format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Subcommand)]
pub enum EmitWhat {
    /// A bash script that submits the missing shards as an sbatch array and the merge
    /// with `--dependency=afterok`; run it again to resubmit what failed (it refuses while
    /// the run's jobs are still queued or running).
    Slurm(SlurmArgs),
    /// A Kubernetes Indexed Job (one index per shard) and a merge Job, as YAML.
    K8s(K8sArgs),
}

/// What every launcher needs.
#[derive(Args)]
pub struct EmitCommon {
    #[command(flatten)]
    pub target: Target,
    /// Tiles per array task (default: the config's shards.batch, else 1).
    #[arg(long, value_parser = super::at_least_one)]
    pub batch: Option<usize>,
    /// CPUs (threads) per task.
    #[arg(long, default_value_t = 2)]
    pub cpus: usize,
    /// Memory per shard task: a whole number and a binary unit K, M, G or T (either case;
    /// a trailing B, i or iB is allowed and changes nothing), e.g. 4G, 500M, 4GiB; a plain
    /// number is MiB, as Slurm reads it. Written as each engine spells it (Slurm 4G,
    /// Kubernetes 4Gi); anything else is refused.
    #[arg(long, default_value = "4G", value_name = "SIZE")]
    pub mem: MemSize,
    /// Memory for the merge job, in the same forms (default: --mem). The merge's memory
    /// grows with the mosaic's width, not the tile size (docs/scaling.md).
    #[arg(long, value_name = "SIZE")]
    pub merge_mem: Option<MemSize>,
    /// At most this many tasks at once.
    #[arg(long, value_parser = super::at_least_one)]
    pub max_parallel: Option<usize>,
    /// Attempts per task for transient failures (exit 75).
    #[arg(long, default_value_t = 3)]
    pub retries: usize,
}

#[derive(Args)]
pub struct SlurmArgs {
    #[command(flatten)]
    pub common: EmitCommon,
    /// The minewatch binary on the compute nodes (default: this binary). A path (one with
    /// a `/`) is made absolute against this folder, like the config; a bare name is looked
    /// up on the nodes' PATH.
    #[arg(long)]
    pub bin: Option<PathBuf>,
    /// Wall time per task.
    #[arg(long, default_value = "02:00:00")]
    pub time: String,
    /// Partition to submit to (default: the cluster's).
    #[arg(long)]
    pub partition: Option<String>,
}

#[derive(Args)]
pub struct K8sArgs {
    #[command(flatten)]
    pub common: EmitCommon,
    /// The minewatch binary in the container image: a name is found on the image's PATH;
    /// a path is written as given (it names a file in the image, not on this machine).
    #[arg(long, default_value = "minewatch")]
    pub bin: PathBuf,
    /// Container image.
    #[arg(long, default_value = "minewatch:latest")]
    pub image: String,
    /// PersistentVolumeClaim holding inputs and outputs.
    #[arg(long, default_value = "minewatch-data")]
    pub claim: String,
    /// Where the claim is mounted in the pods: the config, outputs, data root and images must lie under it (emit warns otherwise).
    #[arg(long, default_value = "/data")]
    pub mount: PathBuf,
    /// Secret with the AWS_* variables, when `[shards] store` is on S3.
    #[arg(long, default_value = "minewatch-s3")]
    pub s3_secret: String,
}

/// The launcher's engine and what only that engine takes.
enum Engine {
    Slurm {
        bin: Option<PathBuf>,
        time: String,
        partition: Option<String>,
    },
    K8s {
        bin: PathBuf,
        image: String,
        claim: String,
        mount: PathBuf,
        s3_secret: String,
    },
}

/// Array indices Slurm accepts by default (`MaxArraySize` = 1001).
const SLURM_DEFAULT_MAX_ARRAY: usize = 1000;

fn threads(t: Option<usize>) -> usize {
    t.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Print and map errors to the batch engine's codes (0 / 75 retry / 65 permanent).
fn engine_report<T: serde::Serialize>(
    r: Result<T, PipelineError>,
    format: Format,
    text: fn(&T),
) -> i32 {
    match r {
        Ok(s) => super::report(Ok::<T, PipelineError>(s), format, text),
        Err(e) => {
            eprintln!("error: {e}");
            e.engine_exit_code()
        }
    }
}

/// `minewatch run CONFIG --shard [I]`.
pub fn run_one(a: super::run::RunArgs, shard: Option<usize>, threads: usize) -> i32 {
    minewatch_pipeline::configure();
    let t = ShardTarget {
        config: a.config,
        out: a.out,
        data_root: a.data_root,
    };
    let (batch, plan, format) = (a.batch, a.plan, a.format);
    let r = shard_index(shard).and_then(|i| run_shard(&t, i, batch, plan.as_deref(), threads));
    engine_report(r, format, |s: &ShardSummary| {
        let done = s.tiles.iter().filter(|t| t.status == "done").count();
        println!(
            "shard {}/{}: {} tile(s) computed, {} already done",
            s.shard,
            s.shards,
            done,
            s.tiles.len() - done
        );
    })
}

pub fn plan_cmd(a: PlanArgs) -> i32 {
    minewatch_pipeline::configure();
    let r = plan(&a.target.shard_target(), a.tile, threads(a.threads));
    super::report(r, a.format, |s: &PlanSummary| {
        println!(
            "plan {} ({}): {} tiles of {} px, {} shard(s) of {}; {} tile(s) already done",
            s.plan_hash,
            if s.changed { "written" } else { "unchanged" },
            s.tiles,
            s.tile_px,
            s.shards,
            s.batch,
            s.tiles_done
        );
        eprintln!("plan: {}", s.plan);
    })
}

pub fn missing_cmd(a: MissingArgs) -> i32 {
    let r = missing(&a.target.shard_target(), a.batch);
    super::report(r, a.format, |s: &MissingSummary| {
        println!("{}", s.ranges);
        eprintln!(
            "missing: {} of {} tiles unfinished, {} of {} shard(s)",
            s.tiles_missing,
            s.tiles,
            s.missing_shards.len(),
            s.shards
        );
    })
}

pub fn merge_cmd(a: MergeArgs) -> i32 {
    crate::release::no_huge_pages();
    minewatch_pipeline::configure();
    let req = RunRequest {
        config: a.target.config,
        out: a.target.out,
        data_root: a.target.data_root,
        threads: threads(a.threads),
        progress: std::io::stderr().is_terminal(),
        command: std::env::args().collect::<Vec<_>>().join(" "),
        from_shards: true,
        shard_wait: None,
    };
    let wait = a.wait.map(|s| std::time::Duration::from_secs(s.max(1)));
    engine_report(
        merge(&req, wait, a.plan.as_deref()),
        a.format,
        super::run::print_text,
    )
}

pub fn emit_cmd(what: EmitWhat) -> i32 {
    let (a, engine) = match what {
        EmitWhat::Slurm(a) => (
            a.common,
            Engine::Slurm {
                bin: a.bin,
                time: a.time,
                partition: a.partition,
            },
        ),
        EmitWhat::K8s(a) => (
            a.common,
            Engine::K8s {
                bin: a.bin,
                image: a.image,
                claim: a.claim,
                mount: a.mount,
                s3_secret: a.s3_secret,
            },
        ),
    };
    match emit_text(a, engine) {
        Ok(text) => {
            use std::io::Write;
            let _ = std::io::stdout().write_all(text.as_bytes());
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

/// Warn about each path a pod needs that is not under the claim's mount path: the pods
/// would not find it (the manifest passes paths as given; nothing maps them).
fn warn_outside_mount(mount: &Path, paths: &[(String, &Path)]) {
    for (what, p) in paths {
        if !under(p, mount) {
            eprintln!(
                "warning: emit k8s: {what} {} is not under {} (where the pods see the volume, --mount): the pods will not find it; keep the run's files on the claim and give their paths as mounted, or pass the right --mount",
                p.display(),
                mount.display()
            );
        }
    }
}

/// Whether `p` lies under `dir`, read lexically: `..` steps are taken back (a data root
/// given as `../droot` is made absolute as `/x/dr/../droot`), links are not followed
/// (the pods' view of the volume is not this machine's).
fn under(p: &Path, dir: &Path) -> bool {
    fn lexical(p: &Path) -> PathBuf {
        let mut out = PathBuf::new();
        for c in p.components() {
            match c {
                std::path::Component::ParentDir => {
                    out.pop();
                }
                std::path::Component::CurDir => {}
                c => out.push(c),
            }
        }
        out
    }
    lexical(p).starts_with(lexical(dir))
}

fn emit_text(a: EmitCommon, engine: Engine) -> Result<String, PipelineError> {
    let k8s = matches!(engine, Engine::K8s { .. });
    let r = minewatch_pipeline::run_all::validate(&a.target.config, a.target.data_root.as_deref())?;
    let abs = |p: &std::path::Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let run_out = abs(a.target.out.as_deref().unwrap_or(&r.config.out));
    let batch = a
        .batch
        .or(r.config.shards.as_ref().map(|s| s.batch))
        .unwrap_or(1)
        .max(1);
    // Kubernetes needs the shard count up front and pins the plan; Slurm asks `missing`
    // at submit time and re-plans with the planned tile size.
    let plan = objects_of(r.config.shards.as_ref(), &run_out).and_then(|o| Plan::load(&o));
    if let (false, Ok(p)) = (k8s, &plan) {
        // Slurm rejects array indices above MaxArraySize - 1 (1000 by default).
        let n = p.shard_count(batch);
        if n > SLURM_DEFAULT_MAX_ARRAY {
            eprintln!(
                "warning: {n} array tasks of {batch} tile(s): Slurm's default MaxArraySize admits indices up to {SLURM_DEFAULT_MAX_ARRAY}; pass --batch {} (or raise MaxArraySize in slurm.conf)",
                p.body.tiles.len().div_ceil(SLURM_DEFAULT_MAX_ARRAY)
            );
        }
    }
    // A Kubernetes Job pins the plan: one the shards would refuse must not be pinned.
    if k8s && plan.is_ok() {
        minewatch_pipeline::shard::run::check_current(&a.target.shard_target())?;
    }
    let (shards, plan_hash, tile) = match (k8s, plan) {
        (true, Err(e)) => return Err(e),
        (true, Ok(p)) => (
            p.shard_count(batch),
            Some(p.plan_hash.clone()),
            Some(p.body.tile),
        ),
        (false, p) => (0, None, p.ok().map(|p| p.body.tile)),
    };
    // A root from the environment is written into the launcher too: array tasks and
    // pods do not always inherit the submitting shell's variables.
    let data_root = a
        .target
        .data_root
        .clone()
        .or_else(|| {
            std::env::var_os("MINEWATCH_DATA_ROOT")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
        .as_deref()
        .map(abs);
    let config = abs(&a.target.config);
    let object_store = r
        .config
        .shards
        .as_ref()
        .and_then(|s| s.store.clone())
        .filter(|s| s.starts_with("s3://"));
    let mut o = EmitOptions {
        bin: PathBuf::new(),
        config,
        out: a.target.out.as_deref().map(abs),
        data_root,
        run_out,
        name: r.config.name.clone(),
        batch,
        shards,
        plan_hash,
        tile,
        cpus: a.cpus.max(1),
        mem: a.mem,
        merge_mem: a.merge_mem.unwrap_or(a.mem),
        time: String::new(),
        partition: None,
        max_parallel: a.max_parallel,
        retries: a.retries,
        image: String::new(),
        claim: String::new(),
        mount: PathBuf::new(),
        object_store,
        s3_secret: String::new(),
    };
    match engine {
        Engine::Slurm {
            bin,
            time,
            partition,
        } => {
            o.bin = match bin {
                // The jobs run in whatever folder the script is submitted from, so a path
                // is made absolute like the config's (review S: `bin/minewatch` worked
                // from one folder only); a bare name is left for the nodes' PATH.
                Some(b) if b.as_os_str().as_encoded_bytes().contains(&b'/') => abs(&b),
                Some(b) => b,
                None => std::env::current_exe().map_err(|e| {
                    PipelineError::Internal(format!("cannot tell this binary's path: {e}"))
                })?,
            };
            (o.time, o.partition) = (time, partition);
        }
        Engine::K8s {
            bin,
            image,
            claim,
            mount,
            s3_secret,
        } => {
            let store_dir = r
                .config
                .shards
                .as_ref()
                .and_then(|s| s.store.as_deref())
                .filter(|s| !s.contains("://"))
                .map(|s| abs(Path::new(s)));
            let mut paths: Vec<(String, &Path)> = vec![
                ("the config".into(), &o.config),
                ("the output folder".into(), &o.run_out),
            ];
            if let Some(d) = &o.data_root {
                paths.push(("the data root".into(), d));
            }
            if let Some(d) = &store_dir {
                paths.push(("the shard store".into(), d));
            }
            // Images on object storage are read from there, local ones from the volume.
            let images: Vec<PathBuf> = r
                .images
                .iter()
                .filter(|p| !minewatch_pipeline::object_image::is_virtual(p))
                .map(|p| abs(p))
                .filter(|p| !under(p, &mount))
                .collect();
            if let Some(first) = images.first() {
                paths.push((format!("the first of {} images", images.len()), first));
            }
            warn_outside_mount(&mount, &paths);
            o.bin = bin;
            (o.image, o.claim, o.mount, o.s3_secret) = (image, claim, mount, s3_secret);
        }
    }
    Ok(if k8s { emit::k8s(&o) } else { emit::slurm(&o) })
}
