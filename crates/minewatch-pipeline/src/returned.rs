//! The counties' returned tables an audit reads. Files are read as given; a folder gives
//! its CSV, spreadsheet and GeoPackage tables in name order, then those of each of its
//! subfolders read the same way (county folders: see `returned_folder`) — but a county
//! package folder holds its form twice (`tasks.csv` for spreadsheets, `tasks.gpkg` for
//! QGIS), and the county fills in one of them. Tables of one folder that list the same
//! sites are therefore copies of one form: the copy holding verdicts is read, and when
//! several do the user says which. A file named twice (or given and also inside a given
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
}

/// The tables to audit, in the order given (a folder's in name order).
pub fn read_all(given: &[PathBuf]) -> Result<Vec<ReturnedTable>, PipelineError> {
    let mut out: Vec<ReturnedTable> = Vec::new();
    let mut seen: BTreeSet<PathBuf> = BTreeSet::new();
    for p in given {
        let chosen = if p.is_dir() {
            from_given_folder(p)?
        } else {
            vec![ReturnedTable::read(p)?]
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
fn from_given_folder(dir: &Path) -> Result<Vec<ReturnedTable>, PipelineError> {
    let top = returned_folder::list(dir)?;
    returned_folder::say_passed_over(&top);
    let mut out = from_folder(dir, &top.tables)?;
    for sub in &top.folders {
        let l = returned_folder::list(sub)?;
        if returned_folder::read_subfolder(sub, &l) {
            out.extend(from_folder(sub, &l.tables)?);
        }
    }
    Ok(out)
}

/// A folder's tables (`paths`), copies of one form reduced to the copy holding verdicts.
fn from_folder(dir: &Path, paths: &[PathBuf]) -> Result<Vec<ReturnedTable>, PipelineError> {
    let tables: Vec<ReturnedTable> = paths
        .iter()
        .map(|p| ReturnedTable::read(p))
        .collect::<Result<_, _>>()?;
    // Group tables sharing a site id (union-find over the folder's few tables).
    let mut group: Vec<usize> = (0..tables.len()).collect();
    fn root(g: &mut [usize], mut i: usize) -> usize {
        while g[i] != i {
            g[i] = g[g[i]];
            i = g[i];
        }
        i
    }
    let mut owner: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, t) in tables.iter().enumerate() {
        for id in t.values("site_id") {
            match owner.get(id) {
                Some(&j) => {
                    let (a, b) = (root(&mut group, i), root(&mut group, j));
                    group[a.max(b)] = a.min(b);
                }
                None => {
                    owner.insert(id, i);
                }
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
                    "audit: note: {} holds the verdicts; {} (the same sites, no verdicts) is not read",
                    name(*one),
                    others.join(", ")
                );
            }
            many => {
                let mut names: Vec<String> = many.iter().map(|&i| name(i)).collect();
                let last = names.pop().unwrap_or_default();
                return Err(PipelineError::Input(format!(
                    "{} and {last} hold verdicts for the same sites (copies of one form); say which to audit by giving that file instead of the folder {}",
                    names.join(", "),
                    dir.display()
                )));
            }
        }
    }
    Ok(tables
        .into_iter()
        .enumerate()
        .filter(|(i, _)| keep.contains(i))
        .map(|(_, t)| t)
        .collect())
}
