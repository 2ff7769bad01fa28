//! Embeds the git revision the binary was built from: a plan records it in its settings
//! digest, so shards built from another revision (a changed kernel under the same crate
//! version) refuse the plan instead of mixing tiles. `unknown` outside a git checkout.

use std::path::Path;
use std::process::Command;

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let root = Path::new(&manifest).join("../..");
    // The git folder: `.git` itself, or, in a worktree, the folder its `.git` file names
    // (the revision went stale there: a commit changed nothing this script watched).
    let dot = root.join(".git");
    let git = match std::fs::read_to_string(&dot) {
        Ok(f) => match f.strip_prefix("gitdir:") {
            Some(d) => root.join(d.trim()),
            None => dot.clone(),
        },
        Err(_) => dot.clone(),
    };
    // Branch files live in the common folder, which a worktree's `commondir` names.
    let common = std::fs::read_to_string(git.join("commondir"))
        .map(|c| git.join(c.trim()))
        .unwrap_or_else(|_| git.clone());
    // Rebuild when HEAD moves: HEAD itself, and the branch it points at (loose or packed).
    if git.join("HEAD").is_file() {
        println!("cargo:rerun-if-changed={}", git.join("HEAD").display());
        if let Ok(h) = std::fs::read_to_string(git.join("HEAD")) {
            if let Some(r) = h.strip_prefix("ref: ") {
                for f in [common.join(r.trim()), common.join("packed-refs")] {
                    if f.is_file() {
                        println!("cargo:rerun-if-changed={}", f.display());
                    }
                }
            }
        }
    } else {
        println!("cargo:rerun-if-changed=build.rs");
    }
    let rev = Command::new("git")
        .arg("-C")
        .arg(&root)
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=MINEWATCH_GIT_REV={rev}");
}
