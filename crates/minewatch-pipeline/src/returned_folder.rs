//! What of a folder given to `audit` is read as returned forms. Counties send back files
//! (`320111_返回.csv`) or folders (their package folder `320106_鼓楼区/`, filled in), and
//! the province gathers both in one folder: so a given folder's own tables are read, and
//! each subfolder's as if that subfolder were given by itself — one level down, no
//! deeper, so a package's `chips/` or an older copy further down is never read by
//! surprise. Whatever is passed over that could hold a form is said on stderr: a subfolder
//! without tables (a prefecture folder of county folders: give it itself), an archive
//! (a returned zip: unpack it), a spreadsheet format it cannot read (WPS .et: save it as
//! .xlsx or .csv), a text file that is no form, a spreadsheet lock file (the form is open in Excel), a
//! minewatch output folder (an earlier audit written into the folder of forms).

use crate::error::PipelineError;
use std::path::{Path, PathBuf};

/// Manifests minewatch writes beside tables of its own (tasks, samples, audit findings):
/// a subfolder holding one is an output, never a county's form.
const OUTPUT_MANIFESTS: [&str; 6] = [
    "audit_manifest.json",
    "sample_manifest.json",
    "rank_manifest.json",
    "overlay_manifest.json",
    "run_manifest.json",
    "manifest.json",
];

/// Archive formats a county may return its package in; not read.
const ARCHIVES: [&str; 3] = ["zip", "rar", "7z"];

/// Spreadsheet formats a county may save its form in that minewatch cannot read (WPS 表格's
/// own .et / .ett, Excel's binary .xlsb, Apple Numbers): said on stderr with what to do,
/// never passed over unseen — the county would count as not returned.
const UNREADABLE_SHEETS: [(&str, &str); 4] = [
    ("et", "a WPS 表格 workbook"),
    ("ett", "a WPS 表格 template"),
    ("xlsb", "an Excel binary workbook"),
    ("numbers", "an Apple Numbers file"),
];

/// Text files read as CSV (comma- or tab-separated), as they are when given as files: a
/// form saved as 文本文件 from Excel or WPS.
pub(crate) const TEXT_TABLES: [&str; 1] = ["txt"];

/// The entries of one folder, sorted by name.
pub(crate) struct Listing {
    /// Files read as tables (CSV, spreadsheet, GeoPackage).
    pub tables: Vec<PathBuf>,
    /// Subfolders (hidden ones left out: staging folders, `__MACOSX` metadata).
    pub folders: Vec<PathBuf>,
    /// Files that could be a form but are not read: each with "note" or "warning" and
    /// what to say.
    pub passed_over: Vec<(PathBuf, &'static str, String)>,
    /// The minewatch manifest it holds, if it is a minewatch output folder.
    pub output_manifest: Option<&'static str>,
}

/// Whether `p`'s extension is one of `exts`, in any case.
pub(crate) fn has_ext(p: &Path, exts: &[&str]) -> bool {
    p.extension()
        .and_then(|x| x.to_str())
        .is_some_and(|x| exts.iter().any(|e| e.eq_ignore_ascii_case(x)))
}

pub(crate) fn list(dir: &Path) -> Result<Listing, PipelineError> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| PipelineError::Input(format!("{}: {e}", dir.display())))?
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    let mut l = Listing {
        tables: Vec::new(),
        folders: Vec::new(),
        passed_over: Vec::new(),
        output_manifest: None,
    };
    let mut table_exts = vec!["csv", "gpkg"];
    table_exts.extend(crate::table_read::SPREADSHEETS);
    table_exts.extend(TEXT_TABLES);
    for p in &entries {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        // Hidden: staging folders, editors' `.~lock.*#`, macOS `._*` copies of a file's
        // metadata (unreadable as tables) and `__MACOSX`.
        if name.starts_with('.') || name == "__MACOSX" {
            continue;
        }
        if p.is_dir() {
            l.folders.push(p.clone());
        } else if let Some(m) = OUTPUT_MANIFESTS.iter().find(|m| **m == name) {
            l.output_manifest = Some(m);
        } else if name.starts_with("~$") && has_ext(p, &table_exts) {
            // Excel and WPS keep a `~$…` file beside a workbook while it is open (its name
            // cut short, so which workbook is not always plain).
            l.passed_over.push((
                p.clone(),
                "warning",
                "a lock file: a workbook here is open in Excel or WPS; save and close it if it has changes, then audit again".into(),
            ));
        } else if has_ext(p, &table_exts) {
            l.tables.push(p.clone());
        } else if let Some((_, what)) = UNREADABLE_SHEETS.iter().find(|(e, _)| has_ext(p, &[e])) {
            l.passed_over.push((
                p.clone(),
                "warning",
                format!(
                    "{what}, which minewatch cannot read: save it as .xlsx or .csv (文件 → 另存为 → Excel 工作簿 或 CSV) and audit again; until then its county counts as not returned"
                ),
            ));
        } else if has_ext(p, &ARCHIVES) {
            let unpacked = p.with_extension("");
            // A package's own zip beside its folder (the province's packages folder, filled
            // in place) is a copy: a note. A zip alone is a return that would be missed.
            l.passed_over
                .push(if entries.contains(&unpacked) && unpacked.is_dir() {
                    (
                        p.clone(),
                        "note",
                        format!(
                            "an archive; the folder beside it, {}, is read",
                            unpacked.display()
                        ),
                    )
                } else {
                    (
                        p.clone(),
                        "warning",
                        "an archive: unpack it and give the folder".into(),
                    )
                });
        }
    }
    Ok(l)
}

/// Say on stderr what a folder's listing passes over.
pub(crate) fn say_passed_over(l: &Listing) {
    for (p, level, why) in &l.passed_over {
        eprintln!("audit: {level}: not read: {} ({why})", p.display());
    }
}

/// Whether a subfolder is read, saying on stderr what it passes over and why it is not
/// read when it could hold forms.
pub(crate) fn read_subfolder(sub: &Path, l: &Listing) -> bool {
    if let Some(m) = l.output_manifest {
        eprintln!(
            "audit: note: not read: {} (an output of minewatch: it holds {m})",
            sub.display()
        );
        return false;
    }
    say_passed_over(l);
    if !l.tables.is_empty() {
        return true;
    }
    // A folder of pictures alone is no form; one of folders may hold forms further down.
    if !l.folders.is_empty() {
        eprintln!(
            "audit: warning: not read: {} (no returned tables in it; folders further down are not searched: give such a folder itself)",
            sub.display()
        );
    }
    false
}
