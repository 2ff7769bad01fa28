//! The counties' returned tables an audit reads. Files are read as given; a folder gives
//! its CSV, spreadsheet and GeoPackage tables in name order, then those of each of its
//! subfolders read the same way (county folders: see `returned_folder`) — but a county
//! package folder holds its form twice (`tasks.csv` for spreadsheets, `tasks.gpkg` for
//! QGIS), and the county fills in one of them. Tables of one folder that list mostly the
//! same sites (more than half of the smaller one's), with no two county codes in their
//! names, are therefore copies of one form: the copy holding verdicts is read, and when
//! several do the user says which — unless they answer different sites (a form with rows
//! not done yet and its supplement, 补报), when all are read. A file named twice (or given and also inside a given
//! folder) is read once.

use crate::error::PipelineError;
use crate::returned_folder;
use crate::table_read::{self, Table};
use minewatch_verify::audit;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One returned table with the audit field each of its columns is read as.
pub struct ReturnedTable {
    pub table: Table,
    pub fields: Vec<Option<&'static str>>,
}

impl ReturnedTable {
    fn read(path: &Path) -> Result<Self, PipelineError> {
        let table = table_read::read(path)?;
        let fields = audit::header_fields(&table.columns)
            .map_err(|e| PipelineError::Input(format!("{}: {e}", path.display())))?;
        for need in ["site_id", "verdict"] {
            if !fields.contains(&Some(need)) {
                return Err(PipelineError::Input(format!(
                    "{}: no `{need}` column (Chinese header {}); {}",
                    path.display(),
                    if need == "site_id" {
                        "图斑地块编号"
                    } else {
                        "核查结果"
                    },
                    table.columns_listed()
                )));
            }
        }
        Ok(ReturnedTable { table, fields })
    }

    /// Values of one audit field, row by row.
    fn values<'a>(&'a self, field: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let col = self
            .fields
            .iter()
            .position(|f| *f == Some(field))
            .map(|i| self.table.columns[i].as_str());
        self.table.rows.iter().filter_map(move |r| {
            col.and_then(|c| r.fields.get(c))
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
        })
    }

    fn holds_verdicts(&self) -> bool {
        self.values("verdict").next().is_some()
    }

    /// The sites this table gives a verdict for (a placeholder such as `/` is none).
    fn answered(&self) -> BTreeSet<&str> {
        let col = |field| {
            self.fields
                .iter()
                .position(|f| *f == Some(field))
                .map(|i| self.table.columns[i].as_str())
        };
        let (Some(id), Some(verdict)) = (col("site_id"), col("verdict")) else {
            return BTreeSet::new();
        };
        self.table
            .rows
            .iter()
            .filter(|r| r.fields.get(verdict).is_some_and(|v| !audit::is_blank(v)))
            .filter_map(|r| r.fields.get(id).map(|v| v.trim()))
            .collect()
    }
}

/// The tables to audit, in the order given (a folder's in name order). `counties`: the
/// tasks' county codes, the only six-digit runs in a file name that say whose form it is.
pub fn read_all(
    given: &[PathBuf],
    counties: &BTreeSet<&str>,
) -> Result<Vec<ReturnedTable>, PipelineError> {
    let mut out: Vec<ReturnedTable> = Vec::new();
    let mut seen: BTreeSet<PathBuf> = BTreeSet::new();
    // Every form is read before stopping: each bad one is named, not one per rerun.
    let mut bad: Vec<PipelineError> = Vec::new();
    for p in given {
        let chosen = if p.is_dir() {
            from_given_folder(p, counties, &mut bad)?
        } else {
            match ReturnedTable::read(p) {
                Ok(t) => vec![t],
                Err(e) => {
                    bad.push(e);
                    Vec::new()
                }
            }
        };
        for t in chosen {
            let key = t
                .table
                .path
                .canonicalize()
                .unwrap_or_else(|_| t.table.path.clone());
            if seen.insert(key) {
                out.push(t);
            }
        }
    }
    if bad.len() == 1 {
        return Err(bad.remove(0));
    }
    if !bad.is_empty() {
        let each: Vec<String> = bad.iter().map(|e| format!("  - {e}")).collect();
        return Err(PipelineError::Input(format!(
            "{} returned forms cannot be read (nothing is written; correct them and run again):\n{}",
            bad.len(),
            each.join("\n")
        )));
    }
    if out.is_empty() {
        let given: Vec<String> = given.iter().map(|p| p.display().to_string()).collect();
        return Err(PipelineError::Input(format!(
            "no returned tables (CSV, spreadsheet or GeoPackage) found in {} (a folder is searched with its subfolders, one level down)",
            given.join(", ")
        )));
    }
    Ok(out)
}

/// A given folder's tables, then each subfolder's as if it were given (a county's
/// returned package folder), saying on stderr what is passed over.
fn from_given_folder(
    dir: &Path,
    counties: &BTreeSet<&str>,
    bad: &mut Vec<PipelineError>,
) -> Result<Vec<ReturnedTable>, PipelineError> {
    let top = returned_folder::list(dir)?;
    returned_folder::say_passed_over(&top);
    let mut out = from_folder(dir, &top.tables, counties, bad);
    for sub in &top.folders {
        let l = returned_folder::list(sub)?;
        if returned_folder::read_subfolder(sub, &l) {
            out.extend(from_folder(sub, &l.tables, counties, bad));
        }
    }
    Ok(out)
}

/// Whether no site is answered in two of these sets.
fn disjoint_answers<'a>(sets: impl Iterator<Item = BTreeSet<&'a str>>) -> bool {
    let mut all: BTreeSet<&str> = BTreeSet::new();
    for set in sets {
        for id in set {
            if !all.insert(id) {
                return false;
            }
        }
    }
    true
}

/// A folder's tables (`paths`), copies of one form reduced to the copy holding verdicts.
/// A form that cannot be read, or copies that cannot be told apart, go to `bad`.
fn from_folder(
    dir: &Path,
    paths: &[PathBuf],
    counties: &BTreeSet<&str>,
    bad: &mut Vec<PipelineError>,
) -> Vec<ReturnedTable> {
    let mut tables: Vec<ReturnedTable> = Vec::new();
    for p in paths {
        let text = returned_folder::has_ext(p, &returned_folder::TEXT_TABLES);
        match ReturnedTable::read(p) {
            Ok(t) => tables.push(t),
            // A .txt in a folder of forms may be a note (说明.txt): said, not an error.
            Err(e) if text => {
                eprintln!(
                    "audit: warning: not read: {} (a text file that is no returned form: {e})",
                    p.display()
                );
            }
            Err(e) => bad.push(e),
        }
    }
    // Group copies (union-find over the folder's few tables): tables that list mostly the
    // same sites — more than half of the smaller one's — and whose names carry no two
    // different county codes. Two counties' forms share a border site now and then; each
    // is read, and the shared site goes through the audit's wrong_county / duplicate checks.
    let mut group: Vec<usize> = (0..tables.len()).collect();
    fn root(g: &mut [usize], mut i: usize) -> usize {
        while g[i] != i {
            g[i] = g[g[i]];
            i = g[i];
        }
        i
    }
    let ids: Vec<BTreeSet<&str>> = tables
        .iter()
        .map(|t| t.values("site_id").collect())
        .collect();
    let codes: Vec<Option<&str>> = tables
        .iter()
        .map(|t| {
            let stem = t.table.path.file_stem().and_then(|s| s.to_str());
            stem.and_then(|n| county_in_name(n, counties))
        })
        .collect();
    for i in 0..tables.len() {
        for j in i + 1..tables.len() {
            if matches!((codes[i], codes[j]), (Some(a), Some(b)) if a != b) {
                continue;
            }
            let shared = ids[i].intersection(&ids[j]).count();
            if shared > 0 && 2 * shared > ids[i].len().min(ids[j].len()) {
                let (a, b) = (root(&mut group, i), root(&mut group, j));
                group[a.max(b)] = a.min(b);
            }
        }
    }
    let mut members: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..tables.len() {
        let r = root(&mut group, i);
        members.entry(r).or_default().push(i);
    }
    let mut keep: BTreeSet<usize> = BTreeSet::new();
    for m in members.values() {
        if m.len() == 1 {
            keep.insert(m[0]);
            continue;
        }
        let filled: Vec<usize> = m
            .iter()
            .copied()
            .filter(|&i| tables[i].holds_verdicts())
            .collect();
        let name = |i: usize| tables[i].table.path.display().to_string();
        match filled.as_slice() {
            [] => {
                keep.insert(m[0]);
            }
            [one] => {
                keep.insert(*one);
                let others: Vec<String> =
                    m.iter().filter(|&&i| i != *one).map(|&i| name(i)).collect();
                eprintln!(
                    "audit: note: {} holds the verdicts; {} (a copy of the same form: mostly the same sites, no verdicts) is not read",
                    name(*one),
                    others.join(", ")
                );
            }
            // A form with rows not done yet and a supplement (补报) filling them: no site
            // answered twice, so both are read (the audit takes each site's filled row).
            many if disjoint_answers(many.iter().map(|&i| tables[i].answered())) => {
                keep.extend(many.iter().copied());
                let names: Vec<String> = many.iter().map(|&i| name(i)).collect();
                eprintln!(
                    "audit: note: {} list mostly the same sites but give verdicts for different ones (a form and its supplement): all are read",
                    names.join(", ")
                );
            }
            many => {
                let mut names: Vec<String> = many.iter().map(|&i| name(i)).collect();
                let last = names.pop().unwrap_or_default();
                bad.push(PipelineError::Input(format!(
                    "{} and {last} hold verdicts for the same sites (copies of one form); say which to audit by giving that file instead of the folder {}",
                    names.join(", "),
                    dir.display()
                )));
            }
        }
    }
    tables
        .into_iter()
        .enumerate()
        .filter(|(i, _)| keep.contains(i))
        .map(|(_, t)| t)
        .collect()
}

/// The county code a file or folder name carries (`320111_返回.csv`): a run of six digits
/// that is one of `counties` (the tasks'), so that a month (`回执_202401_320102.csv`) or a
/// phone number's digits in the name are not taken for one.
pub(crate) fn county_in_name<'a>(name: &'a str, counties: &BTreeSet<&str>) -> Option<&'a str> {
    name.split(|c: char| !c.is_ascii_digit())
        .find(|d| d.len() == 6 && counties.contains(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "图斑地块编号,核查结果,核查责任人\n";

    /// The tasks' counties of these tests.
    fn counties() -> BTreeSet<&'static str> {
        ["320102", "320111", "320113", "320116"].into()
    }

    fn names(tables: &[ReturnedTable]) -> Vec<String> {
        tables
            .iter()
            .map(|t| {
                t.table
                    .path
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .to_string()
            })
            .collect()
    }

    /// Review U F5: two counties' forms sharing one border site were taken for copies of
    /// one form (exit 1, or the blank one dropped as "the same sites"). Copies are tables
    /// with mostly the same sites and no two county codes in their names.
    #[test]
    fn forms_of_two_counties_sharing_a_site_are_both_read() {
        let d = tempfile::tempdir().unwrap();
        let w = |n: &str, rows: &str| {
            std::fs::write(d.path().join(n), format!("{HEAD}{rows}")).unwrap()
        };
        w(
            "320111_返回.csv",
            "A,违法,张\nB,合法,张\nC,合法,张\nD,合法,张\n",
        );
        w("320116_返回.csv", "D,违法,李\nE,合法,李\nF,合法,李\n");
        let got = read_all(&[d.path().to_path_buf()], &counties()).unwrap();
        assert_eq!(names(&got), ["320111_返回.csv", "320116_返回.csv"]);
        // Still blank, 320116's form is read (its sites returned without verdicts).
        w("320116_返回.csv", "D,,\nE,,\nF,,\n");
        let got = read_all(&[d.path().to_path_buf()], &counties()).unwrap();
        assert_eq!(names(&got), ["320111_返回.csv", "320116_返回.csv"]);
        // A package folder's two copies of one form: the filled one is read.
        let pkg = tempfile::tempdir().unwrap();
        let w = |n: &str, rows: &str| {
            std::fs::write(pkg.path().join(n), format!("{HEAD}{rows}")).unwrap()
        };
        w("tasks.csv", "A,违法,张\nB,合法,张\nC,合法,张\n");
        w("tasks_copy.csv", "A,,\nB,,\nC,,\nD,,\n");
        let got = read_all(&[pkg.path().to_path_buf()], &counties()).unwrap();
        assert_eq!(names(&got), ["tasks.csv"]);
    }

    /// Review U F4: a form saved as .txt, or as WPS .et, in a returned folder was passed
    /// over without a word and its county counted as not returned. A .txt is read as a
    /// CSV (one that is no form is said and passed over); an .et is named with what to do.
    #[test]
    fn text_forms_are_read_and_unreadable_workbooks_named() {
        let d = tempfile::tempdir().unwrap();
        let w = |n: &str, t: &str| std::fs::write(d.path().join(n), t).unwrap();
        w("320111_返回.csv", &format!("{HEAD}A,违法,张\n"));
        w(
            "320116_返回.txt",
            "图斑地块编号\t核查结果\t核查责任人\r\nE\t合法\t李\r\n",
        );
        w("320113_返回.et", "binary");
        w("说明.txt", "请于三月底前返回\n");
        let got = read_all(&[d.path().to_path_buf()], &counties()).unwrap();
        assert_eq!(names(&got), ["320111_返回.csv", "320116_返回.txt"]);
        let l = returned_folder::list(d.path()).unwrap();
        let over: Vec<(String, &str, &str)> = l
            .passed_over
            .iter()
            .map(|(p, lvl, why)| {
                (
                    p.file_name().unwrap().to_string_lossy().to_string(),
                    *lvl,
                    why.as_str(),
                )
            })
            .collect();
        assert_eq!(over.len(), 1, "{over:?}");
        assert_eq!(
            (over[0].0.as_str(), over[0].1),
            ("320113_返回.et", "warning")
        );
        assert!(over[0].2.contains(".xlsx or .csv"), "{}", over[0].2);
    }

    /// A six-digit run in a file name that is no task county (a month, 202401) said
    /// nothing of whose form it is: two counties' forms `回执_202401_…` sharing a border site
    /// were taken for copies of one form (exit 1: both hold verdicts), and a county's
    /// package copy `320102_tasks.csv` for another county's form than its filled
    /// `回执_202401_320102.csv`.
    #[test]
    fn only_task_counties_in_a_name_say_whose_form_it_is() {
        assert_eq!(
            county_in_name("回执_202401_320102", &counties()),
            Some("320102")
        );
        assert_eq!(county_in_name("回执_202401_13905", &counties()), None);
        let d = tempfile::tempdir().unwrap();
        let w = |n: &str, rows: &str| {
            std::fs::write(d.path().join(n), format!("{HEAD}{rows}")).unwrap()
        };
        w(
            "回执_202401_320102.csv",
            "A,违法,张\nB,合法,张\nD,合法,张\n",
        );
        w("回执_202401_320111.csv", "D,违法,李\n");
        let got = read_all(&[d.path().to_path_buf()], &counties()).unwrap();
        assert_eq!(
            names(&got),
            ["回执_202401_320102.csv", "回执_202401_320111.csv"]
        );
        let d = tempfile::tempdir().unwrap();
        let w = |n: &str, rows: &str| {
            std::fs::write(d.path().join(n), format!("{HEAD}{rows}")).unwrap()
        };
        w("320102_tasks.csv", "A,,\nB,,\nD,,\n");
        w(
            "回执_202401_320102.csv",
            "A,违法,张\nB,合法,张\nD,合法,张\n",
        );
        let got = read_all(&[d.path().to_path_buf()], &counties()).unwrap();
        assert_eq!(names(&got), ["回执_202401_320102.csv"]);
    }
}
