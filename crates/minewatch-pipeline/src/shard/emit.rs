//! `minewatch emit slurm|k8s`: launchers for an existing batch engine. The Slurm script
//! plans, asks `missing` which array indices are left, submits only those as a job array
//! and the merge with an `afterok` dependency, so running it again after a failure
//! resubmits exactly what is missing (and refuses while the run's jobs are still queued or
//! running, which `missing` would list again). The Kubernetes manifest is an Indexed Job (exit 65
//! fails the index for good, 75 is retried) and a merge Job that waits for the tiles
//! (`merge --wait` streams them row by row), so both can be applied at once.

use sha2::Digest;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct EmitOptions {
    /// The minewatch binary as the compute nodes see it.
    pub bin: PathBuf,
    /// The run config (absolute, on the shared file system).
    pub config: PathBuf,
    /// `--out` passed through to every command, if the run's output folder is overridden.
    pub out: Option<PathBuf>,
    /// `--data-root` passed through.
    pub data_root: Option<PathBuf>,
    /// The run's output folder (logs go to `shards/logs` inside it).
    pub run_out: PathBuf,
    pub name: String,
    pub batch: usize,
    pub shards: usize,
    /// The plan a Kubernetes launcher is emitted for (its shard count depends on it).
    pub plan_hash: Option<String>,
    /// The planned tile size, kept when the Slurm script re-plans.
    pub tile: Option<usize>,
    pub cpus: usize,
    /// Memory per shard task.
    pub mem: MemSize,
    /// Memory for the merge (grows with the mosaic's width, docs/scaling.md).
    pub merge_mem: MemSize,
    pub time: String,
    pub partition: Option<String>,
    pub max_parallel: Option<usize>,
    pub retries: usize,
    pub image: String,
    pub claim: String,
    pub mount: PathBuf,
    /// The run's `[shards] store` when it is on object storage (an s3:// URL).
    pub object_store: Option<String>,
    /// The Kubernetes Secret whose keys (AWS_ACCESS_KEY_ID, …) the pods get as variables.
    pub s3_secret: String,
}

/// A memory size as `emit --mem` takes it: a whole number and a binary unit K, M, G or T
/// (either case, optionally followed by `B`, `i` or `iB`; a plain number is MiB, as Slurm
/// reads it). Slurm and Kubernetes read one string differently (`4096` is 4096 MB to
/// sbatch and 4096 bytes to Kubernetes, `500m` 0.5 byte there, `4Gi` an error to sbatch;
/// review S), so the size is checked at emit time and written in each engine's syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemSize {
    n: u64,
    /// `K`, `M`, `G` or `T`.
    unit: char,
}

impl MemSize {
    /// The accepted forms, for messages.
    pub const FORMS: &'static str = "a whole number with a binary unit K, M, G or T (either case, optionally followed by B, i or iB: 4G, 4g, 4GiB, 500M), or a plain number of MiB (4096, as Slurm reads it)";

    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("`{text}` is not a memory size: write {}", Self::FORMS);
        let digits = text.bytes().take_while(u8::is_ascii_digit).count();
        let (num, suffix) = text.split_at(digits);
        let suffix = suffix.to_ascii_uppercase();
        let unit = match suffix.as_str() {
            "" => 'M',
            _ => {
                let rest = suffix
                    .strip_suffix("IB")
                    .or_else(|| suffix.strip_suffix('I'))
                    .or_else(|| suffix.strip_suffix('B'))
                    .unwrap_or(&suffix);
                match rest {
                    "K" | "M" | "G" | "T" => rest.chars().next().expect("one letter"),
                    _ => return Err(bad()),
                }
            }
        };
        let n: u64 = num.parse().map_err(|_| bad())?;
        if n == 0 {
            return Err(format!(
                "`{text}`: a task needs more than no memory; write {}",
                Self::FORMS
            ));
        }
        let shift = 10 * (1 + "KMGT".find(unit).expect("a unit") as u32);
        if n.checked_mul(1 << shift).is_none() {
            return Err(format!(
                "`{text}` is more memory than can be counted in bytes"
            ));
        }
        Ok(Self { n, unit })
    }

    /// As sbatch `--mem` reads it (binary units): `4G`, `4096M`.
    pub fn slurm(&self) -> String {
        format!("{}{}", self.n, self.unit)
    }

    /// As a Kubernetes quantity: `4Gi`, `4096Mi`.
    pub fn k8s(&self) -> String {
        format!("{}{}i", self.n, self.unit)
    }
}

impl std::str::FromStr for MemSize {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::parse(s)
    }
}

/// Single-quote for the shell.
fn q(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn qp(p: &Path) -> String {
    q(&p.to_string_lossy())
}

/// `--out X --data-root Y` as given.
fn pass_through(o: &EmitOptions) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(out) = &o.out {
        v.extend(["--out".to_string(), out.to_string_lossy().to_string()]);
    }
    if let Some(d) = &o.data_root {
        v.extend(["--data-root".to_string(), d.to_string_lossy().to_string()]);
    }
    v
}

/// The ASCII part of a run's name, for job names (the run tag tells runs apart).
fn slug(name: &str) -> String {
    let s: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let s: String = s.trim_matches('-').chars().take(40).collect();
    let s = s.trim_end_matches('-');
    if s.is_empty() {
        "run".into()
    } else {
        s.to_string()
    }
}

/// A short digest of what makes a run one run: its name, output folder, data root and
/// shard store. Job names carry it because Slurm's `scancel --name` and `squeue --name`
/// match names only: the same config run for two provinces (README: one data root each)
/// had the same job names, and one run's script cancelled the other's pending merge. It
/// also keeps names apart that differ only outside ASCII (江苏2019, 浙江2019 → "2019").
pub fn run_tag(
    name: &str,
    run_out: &Path,
    data_root: Option<&Path>,
    store: Option<&str>,
) -> String {
    let mut h = sha2::Sha256::new();
    for part in [
        name.as_bytes(),
        run_out.as_os_str().as_encoded_bytes(),
        data_root.map_or(&b""[..], |d| d.as_os_str().as_encoded_bytes()),
        store.unwrap_or("").as_bytes(),
    ] {
        h.update(part);
        h.update([0]);
    }
    h.finalize()
        .iter()
        .take(4)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `mw-<name>-<tag>`: the prefix of a run's job names (at most 52 characters, so that
/// `-shards` keeps a Kubernetes Job name within 63).
fn job_prefix(o: &EmitOptions) -> String {
    format!(
        "mw-{}-{}",
        slug(&o.name),
        run_tag(
            &o.name,
            &o.run_out,
            o.data_root.as_deref(),
            o.object_store.as_deref()
        )
    )
}

pub fn slurm(o: &EmitOptions) -> String {
    let pt: String = pass_through(o)
        .iter()
        .map(|a| format!(" {}", q(a)))
        .collect();
    let (bin, cfg) = (qp(&o.bin), qp(&o.config));
    let logs = o.run_out.join("shards").join("logs");
    let name = job_prefix(o);
    let part = o
        .partition
        .as_ref()
        .map(|p| format!(" --partition={}", q(p)))
        .unwrap_or_default();
    let throttle = o.max_parallel.map(|p| format!("%{p}")).unwrap_or_default();
    let tile = o.tile.map(|t| format!(" --tile {t}")).unwrap_or_default();
    format!(
        r#"#!/bin/bash
# Submit run `{name_raw}` to Slurm: plan, a job array over the unfinished shards, and the
# merge after all of them succeed. Generated by `minewatch emit slurm`; run it again
# after a failure to resubmit only the shards still missing.{store_note}
set -euo pipefail
# Job names end in a digest of this run's name, output folder and data root, so another
# run of the same config (another province's data root) keeps its own jobs.
# While this run's shards are queued or running, `missing` still lists them: submitting
# now would run them twice (and a second merge beside a running one). Refuse instead.
BUSY=$(squeue --noheader --format='%i %j %T' --name={name}-shards,{name}-merge \
  | awk '$2 ~ /-shards$/ || $3 != "PENDING"')
if [ -n "$BUSY" ]; then
  echo "{name}: this run's jobs are still queued or running; wait for them to end (squeue --name={name}-shards,{name}-merge) or cancel them (scancel --name={name}-shards,{name}-merge), then run this script again:" >&2
  echo "$BUSY" >&2
  exit 1
fi
mkdir -p {logs}
{bin} plan {cfg}{pt}{tile} >&2
ARRAY=$({bin} missing {cfg}{pt} --batch {batch})
# A merge left pending by an earlier submission whose array failed never starts: replace it.
scancel --state=PENDING --name={name}-merge 2>/dev/null || true
DEP=""
if [ -n "$ARRAY" ]; then
  SHARDS=$(sbatch --parsable --job-name={name}-shards --array="$ARRAY"{throttle} \
    --cpus-per-task={cpus} --mem={mem} --time={time}{part} \
    --output={logs_a}/%A_%a.log <<'MW_SHARD'
#!/bin/bash
# One array task: the tiles of shard $SLURM_ARRAY_TASK_ID. Exit 75 is transient and is
# retried here; 65 is permanent and fails the task.
for attempt in $(seq 1 {retries}); do
  rc=0
  {bin} run {cfg}{pt} --shard --batch {batch} --threads {cpus} || rc=$?
  [ "$rc" -eq 75 ] || exit "$rc"
  [ "$attempt" -lt {retries} ] && sleep $((attempt * 20))
done
exit 75
MW_SHARD
)
  DEP="--dependency=afterok:${{SHARDS%%;*}}"
fi
sbatch --parsable $DEP --job-name={name}-merge \
  --cpus-per-task={cpus} --mem={merge_mem} --time={time}{part} \
  --output={logs_a}/merge_%j.log <<'MW_MERGE'
#!/bin/bash
exec {bin} merge {cfg}{pt} --threads {cpus}
MW_MERGE
"#,
        name_raw = o.name.replace('\n', " "),
        store_note = match &o.object_store {
            Some(url) => format!(
                "\n# Plan and tiles go through {url}: sbatch passes this shell's environment to the\n# tasks, so export AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION (and\n# AWS_ENDPOINT_URL, AWS_ALLOW_HTTP for a store other than AWS) before running it."
            ),
            None => String::new(),
        },
        logs = qp(&logs),
        logs_a = qp(&logs),
        batch = o.batch,
        cpus = o.cpus,
        mem = o.mem.slurm(),
        merge_mem = o.merge_mem.slurm(),
        time = q(&o.time),
        retries = o.retries.max(1),
    )
}

fn yaml_list(args: &[String]) -> String {
    let items: Vec<String> = args
        .iter()
        .map(|a| serde_json::to_string(a).unwrap_or_default())
        .collect();
    format!("[{}]", items.join(", "))
}

pub fn k8s(o: &EmitOptions) -> String {
    let prefix = job_prefix(o);
    let name = prefix.trim_start_matches("mw-");
    let bin = o.bin.to_string_lossy().to_string();
    let cfg = o.config.to_string_lossy().to_string();
    let mut shard_cmd = vec![bin.clone(), "run".into(), cfg.clone()];
    shard_cmd.extend(pass_through(o));
    shard_cmd.extend([
        "--shard".into(),
        "--batch".into(),
        o.batch.to_string(),
        "--threads".into(),
        o.cpus.to_string(),
    ]);
    let pin: Vec<String> = o
        .plan_hash
        .iter()
        .flat_map(|h| ["--plan".to_string(), h.clone()])
        .collect();
    shard_cmd.extend(pin.clone());
    let mut merge_cmd = vec![bin, "merge".into(), cfg];
    merge_cmd.extend(pass_through(o));
    merge_cmd.extend([
        "--threads".into(),
        o.cpus.to_string(),
        "--wait".into(),
        "60".into(),
    ]);
    merge_cmd.extend(pin);
    let parallelism = o.max_parallel.unwrap_or(o.shards).min(o.shards).max(1);
    let env = match &o.object_store {
        Some(_) => format!(
            "\n          envFrom:\n            - secretRef: {{name: {}}}",
            serde_json::to_string(&o.s3_secret).unwrap_or_default()
        ),
        None => String::new(),
    };
    let pod = |cmd: &[String], mem: &MemSize| {
        format!(
            r#"      restartPolicy: Never
      containers:
        - name: minewatch
          image: {image}
          command: {cmd}{env}
          resources:
            requests: {{cpu: "{cpus}", memory: {mem}}}
            limits: {{memory: {mem}}}
          volumeMounts:
            - {{name: data, mountPath: {mount}}}
      volumes:
        - name: data
          persistentVolumeClaim: {{claimName: {claim}}}"#,
            image = serde_json::to_string(&o.image).unwrap_or_default(),
            cmd = yaml_list(cmd),
            cpus = o.cpus,
            mem = serde_json::to_string(&mem.k8s()).unwrap_or_default(),
            mount = serde_json::to_string(&o.mount).unwrap_or_default(),
            claim = serde_json::to_string(&o.claim).unwrap_or_default(),
        )
    };
    format!(
        r#"# Run `{name_raw}` on Kubernetes, generated by `minewatch emit k8s` from the current plan
# ({shards} shards of {batch} tile(s), plan {plan}); `kubectl apply -f` this file. Each shard pod reads
# its index from JOB_COMPLETION_INDEX; exit 65 fails that index for good (bad input), 75
# (transient) is retried up to backoffLimitPerIndex times (Kubernetes 1.29 or later); pods
# evicted or preempted are replaced without counting. Shards and merge refuse another plan
# (`--plan`): after `minewatch plan` changes it, emit this file again. The
# merge Job streams the tiles as they appear (`merge --wait 60`), computes a tile that it
# set aside as damaged itself when retried, and stops (65) if the plan changes under it.
# The pods run `{bin}` from the image and see the claim at {mount_raw};
# the paths below are as given to `minewatch emit` and must lie under it.{store_note}
apiVersion: batch/v1
kind: Job
metadata:
  name: mw-{name}-shards
  labels: {{app: minewatch, minewatch-run: "{name}"}}
spec:
  completionMode: Indexed
  completions: {shards}
  parallelism: {parallelism}
  backoffLimitPerIndex: {retries}
  podFailurePolicy:
    rules:
      - action: FailIndex
        onExitCodes: {{containerName: minewatch, operator: In, values: [65]}}
      - action: Ignore
        onPodConditions: [{{type: DisruptionTarget}}]
  template:
    metadata:
      labels: {{app: minewatch, minewatch-run: "{name}"}}
    spec:
{shard_pod}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: mw-{name}-merge
  labels: {{app: minewatch, minewatch-run: "{name}"}}
spec:
  backoffLimit: 3
  # The merge waits for the shards; give up after two days rather than poll forever
  # when an index has failed for good.
  activeDeadlineSeconds: 172800
  podFailurePolicy:
    rules:
      - action: FailJob
        onExitCodes: {{containerName: minewatch, operator: In, values: [65]}}
      - action: Ignore
        onPodConditions: [{{type: DisruptionTarget}}]
  template:
    metadata:
      labels: {{app: minewatch, minewatch-run: "{name}"}}
    spec:
{merge_pod}
"#,
        name_raw = o.name.replace('\n', " "),
        bin = o.bin.display(),
        mount_raw = o.mount.display(),
        store_note = match &o.object_store {
            Some(url) => format!(
                "\n# Plan and tiles go through {url}, not the volume: create Secret `{}` with\n# AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION (and AWS_ENDPOINT_URL,\n# AWS_ALLOW_HTTP for a store other than AWS) before applying.",
                o.s3_secret
            ),
            None => String::new(),
        },
        shards = o.shards,
        batch = o.batch,
        plan = o.plan_hash.as_deref().unwrap_or("?"),
        // backoffLimitPerIndex counts retries after the first attempt.
        retries = o.retries.max(1) - 1,
        shard_pod = pod(&shard_cmd, &o.mem),
        merge_pod = pod(&merge_cmd, &o.merge_mem),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sizes_are_checked_and_written_for_each_engine() {
        let both = |s: &str| {
            let m = MemSize::parse(s).unwrap();
            (m.slurm(), m.k8s())
        };
        // Review S: a plain number is MiB in Slurm, so it must not become bytes in Kubernetes.
        assert_eq!(both("4096"), ("4096M".into(), "4096Mi".into()));
        assert_eq!(both("4G"), ("4G".into(), "4Gi".into()));
        assert_eq!(both("4g"), ("4G".into(), "4Gi".into()));
        assert_eq!(both("500m"), ("500M".into(), "500Mi".into()));
        assert_eq!(both("4GB"), ("4G".into(), "4Gi".into()));
        assert_eq!(both("4Gi"), ("4G".into(), "4Gi".into()));
        assert_eq!(both("4gib"), ("4G".into(), "4Gi".into()));
        assert_eq!(both("512K"), ("512K".into(), "512Ki".into()));
        assert_eq!(both("2T"), ("2T".into(), "2Ti".into()));
        for bad in [
            "",
            "1.5G",
            "4 G",
            "+4G",
            "-4G",
            "G",
            "4X",
            "4GG",
            "4Gb ",
            "4e3",
            "0",
            "0G",
            "4BG",
            "99999999999T",
        ] {
            let e = MemSize::parse(bad).unwrap_err();
            assert!(e.contains(&format!("`{bad}`")), "{bad:?}: {e}");
        }
    }

    #[test]
    fn shell_quoting_survives_spaces_and_quotes() {
        assert_eq!(q("/a/b.toml"), "/a/b.toml");
        assert_eq!(q("a b"), "'a b'");
        assert_eq!(q("it's"), r"'it'\''s'");
        assert_eq!(slug("Jiangsu 2026 Q3!"), "jiangsu-2026-q3");
        assert_eq!(slug(&format!("{}-x", "a".repeat(39))), "a".repeat(39));
        assert_eq!(slug("!!!"), "run");
        assert_eq!(slug("全省"), "run");
        // Two provinces' runs whose names differ only outside ASCII keep apart by the tag.
        let out = Path::new("/data/runs/2024Q4");
        assert_eq!(slug("江苏2019-2024"), slug("浙江2019-2024"));
        assert_ne!(
            run_tag("江苏2019-2024", out, None, None),
            run_tag("浙江2019-2024", out, None, None)
        );
        // One config run for two provinces (review I): another data root or output folder
        // is another run; the same run always gets the same tag (its script finds its jobs).
        let tag = |out: &str, root: Option<&str>| {
            run_tag("jiangsu", Path::new(out), root.map(Path::new), None)
        };
        assert_eq!(
            tag("/d/js/runs/q4", Some("/d/js")),
            tag("/d/js/runs/q4", Some("/d/js"))
        );
        assert_ne!(
            tag("/d/js/runs/q4", Some("/d/js")),
            tag("/d/zj/runs/q4", Some("/d/zj"))
        );
        assert_ne!(tag("/d/runs/a", None), tag("/d/runs/b", None));
        assert_ne!(tag("/d/runs/a", None), tag("/d/runs/a", Some("/d")));
        let t = tag("/d/runs/a", None);
        assert!(
            t.len() == 8 && t.chars().all(|c| c.is_ascii_hexdigit()),
            "{t}"
        );
    }
}
