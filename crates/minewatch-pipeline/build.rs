//! Embeds the git revision the binary was built from: a plan records it in its settings
//! digest, so shards built from another revision (a changed kernel under the same crate
//! version) refuse the plan instead of mixing tiles. `unknown` outside a git checkout.

use std::path::Path;
use std::process::Command;

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let root = Path::new(&manifest).join("../..");
    let git = root.join(".git");
    // Rebuild when HEAD moves: HEAD itself, and the branch file it points at if loose.
    if git.join("HEAD").is_file() {
        println!("cargo:rerun-if-changed={}", git.join("HEAD").display());
        if let Ok(h) = std::fs::read_to_string(git.join("HEAD")) {
            if let Some(r) = h.strip_prefix("ref: ") {
                let f = git.join(r.trim());
                if f.is_file() {
                    println!("cargo:rerun-if-changed={}", f.display());
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
