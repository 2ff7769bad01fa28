//! Reading the tables users bring (history verdicts, penalties, prices, previous ledgers):
//! CSV in UTF-8 (with or without BOM) or GBK, a spreadsheet (.xlsx, .xls, .ods: what a
//! county office gets when it opens the CSV in Excel and saves it), or any GDAL vector
//! file (GeoPackage, …) whose point or polygon geometry gives a location. Rows keep their
//! number for messages. A text our CSVs wrote quoted against formulas reads as it was.

use crate::error::PipelineError;
use crate::write::formula_guard::unguard;
use gdal::vector::LayerAccess;
use minewatch_zones::text_table;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub struct Row {
    /// 1-based data row (CSV: line 2 is row 1 … reported as the line number).
    pub line: usize,
    pub fields: BTreeMap<String, String>,
    /// (lon, lat) from the row's geometry (GDAL files) — CSV uses `lon`/`lat` columns.
    pub lonlat: Option<(f64, f64)>,
}

pub struct Table {
    pub path: PathBuf,
    pub columns: Vec<String>,
    pub rows: Vec<Row>,
    /// Of a workbook with several sheets: the sheet read, and every sheet's name.
    pub sheets: Option<(String, Vec<String>)>,
}

impl Table {
    pub fn err(&self, line: usize, field: &str, msg: impl std::fmt::Display) -> PipelineError {
        PipelineError::Input(format!(
            "{} row {line}, field `{field}`: {msg}",
            self.path.display()
        ))
    }

    /// Fail unless every column is present.
    /// The columns, for a message about a missing one ("it has: …", or that it has none).
    pub fn columns_listed(&self) -> String {
        let cols = if self.columns.is_empty() {
            "it has no columns (an empty file?)".to_string()
        } else {
            format!("it has: {}", self.columns.join(", "))
        };
        cols + &match &self.sheets {
            Some((read, all)) => format!(
                " (sheet `{read}` read; the workbook's sheets: {}; none has a site_id / 图斑地块编号 column: put the form on the first sheet)",
                all.join(", ")
            ),
            None => String::new(),
        }
    }

    /// Read column `from` as `to`, in the header and in every row.
    pub fn rename(&mut self, from: &str, to: &str) {
        for c in self.columns.iter_mut().filter(|c| *c == from) {
            *c = to.to_string();
        }
        for r in &mut self.rows {
            if let Some(v) = r.fields.remove(from) {
                r.fields.insert(to.to_string(), v);
            }
        }
    }

    pub fn require(&self, cols: &[&str], what: &str) -> Result<(), PipelineError> {
        for c in cols {
            if !self.columns.iter().any(|x| x == c) {
                return Err(PipelineError::Input(format!(
                    "{} ({what}): no column `{c}`; {}",
                    self.path.display(),
                    self.columns_listed()
                )));
            }
        }
        Ok(())
    }
}

impl Row {
    pub fn get(&self, k: &str) -> Option<&str> {
        self.fields
            .get(k)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }
}

pub fn read(path: &Path) -> Result<Table, PipelineError> {
    if !path.is_file() {
        return Err(PipelineError::Input(format!(
            "{}: not found",
            path.display()
        )));
    }
    let is_csv = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv") || e.eq_ignore_ascii_case("txt"));
    let table = if is_csv {
        read_csv(path)
    } else {
        read_ogr(path)
    }?;
    Ok(without_invisible(table))
}

/// Zero-width characters (U+200B–U+200D, U+2060) and stray byte-order marks (U+FEFF) that
/// text pasted from WeChat or a web page carries: invisible in Excel and in our messages,
/// they made `伪变化\u{200b}` an unknown verdict and `核查结果\u{200b}` a missing column,
/// which the county could not see to correct (revX F5). `str::trim` leaves them.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}')
}

fn without_invisible(mut t: Table) -> Table {
    let clean = |s: &str| -> Option<String> {
        s.contains(is_invisible)
            .then(|| s.chars().filter(|c| !is_invisible(*c)).collect())
    };
    for c in &mut t.columns {
        if let Some(x) = clean(c) {
            *c = x;
        }
    }
    for r in &mut t.rows {
        if r.fields
            .iter()
            .any(|(k, v)| k.contains(is_invisible) || v.contains(is_invisible))
        {
            r.fields = std::mem::take(&mut r.fields)
                .into_iter()
                .map(|(k, v)| (clean(&k).unwrap_or(k), clean(&v).unwrap_or(v)))
                .collect();
        }
    }
    t
}

/// Spreadsheet formats GDAL reads as tables (first sheet).
pub const SPREADSHEETS: [&str; 3] = ["xlsx", "xls", "ods"];

fn is_spreadsheet(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| SPREADSHEETS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// A spreadsheet's first row is its header, always: GDAL's guess (a header only when the
/// second row's types differ) takes an all-text form's header for data, and a saved CSV
/// is all text. Cells are read as text, so a county code or a date stays as typed.
/// GDAL 3.6's spreadsheet drivers take these as configuration options only, and read
/// them lazily (at the first feature, not at the open), so they are set for the process:
/// minewatch reads every spreadsheet this way.
fn open_table(path: &Path) -> Result<gdal::Dataset, gdal::errors::GdalError> {
    if is_spreadsheet(path) {
        for d in ["XLSX", "XLS", "ODS"] {
            gdal::config::set_config_option(&format!("OGR_{d}_HEADERS"), "FORCE")?;
            gdal::config::set_config_option(&format!("OGR_{d}_FIELD_TYPES"), "STRING")?;
        }
    }
    gdal::Dataset::open(path)
}

fn read_csv(path: &Path) -> Result<Table, PipelineError> {
    let bytes = std::fs::read(path)
        .map_err(|e| PipelineError::Input(format!("{}: cannot read: {e}", path.display())))?;
    let text = text_table::decode_text(&bytes);
    let delimiter = text_table::delimiter_of(&text);
    // Rows of another length are told apart here, with the rows as an editor numbers them
    // (the reader's own message gave "row 2 … line: 1").
    let mut r = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let columns: Vec<String> = r
        .headers()
        .map_err(|e| PipelineError::Input(format!("{}: {e}", path.display())))?
        .iter()
        .map(|h| unguard(h.trim()).to_string())
        .collect();
    let mut rows = Vec::new();
    // The line a row starts on, as an editor shows it: counted from the row's byte offset,
    // as the reader's own line count is one short after CRLF line ends and skipped empty
    // lines. Quoted cells may span lines.
    let mut lines = LineCounter::new(&text);
    let header_line = r
        .headers()
        .ok()
        .and_then(|h| h.position())
        .map_or(1, |p| lines.line_at(p.byte() as usize));
    let filled = |rec: &csv::StringRecord| rec.iter().filter(|v| !v.trim().is_empty()).count();
    let header_filled = columns.iter().filter(|c| !c.is_empty()).count();
    for (i, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| {
            let at = e
                .position()
                .map_or(i + 2, |p| lines.line_at(p.byte() as usize));
            PipelineError::Input(format!("{} row {at}: {e}", path.display()))
        })?;
        let line = rec
            .position()
            .map_or(i + 2, |p| lines.line_at(p.byte() as usize));
        // A row with every cell blank (`,,` as Excel leaves it, or a spreadsheet's empty
        // row) is no row.
        if rec.iter().all(|v| v.trim().is_empty()) {
            continue;
        }
        // A title above the header (一张表's 六合区矿产卫片核查结果汇总表): one cell, then
        // a row of many. Said with the row that looks like the header.
        if rows.is_empty() && header_filled <= 1 && filled(&rec) > 2 {
            let cells: Vec<&str> = rec.iter().collect();
            return Err(title_row(path, header_line, &columns, line, &cells));
        }
        // Cells beyond the header's that are all empty are Excel's leftovers; any other
        // length is an error naming both rows.
        if rec.len() < columns.len() || rec.iter().skip(columns.len()).any(|v| !v.trim().is_empty())
        {
            let sep = match delimiter {
                b'\t' => "tabs",
                b';' => "semicolons",
                _ => "commas",
            };
            return Err(PipelineError::Input(format!(
                "{} row {line}: {} cells, but the header (row {header_line}) has {}; cells are read as separated by {sep} — a cell with a separator or a line break in it must be quoted (\"…\")",
                path.display(),
                rec.len(),
                columns.len()
            )));
        }
        let fields: BTreeMap<String, String> = columns
            .iter()
            .cloned()
            .zip(rec.iter().map(|v| unguard(v).to_string()))
            .collect();
        let num = |k: &str| fields.get(k).and_then(|v| v.trim().parse::<f64>().ok());
        let lonlat = match (num("lon"), num("lat")) {
            (Some(x), Some(y)) => Some((x, y)),
            _ => None,
        };
        rows.push(Row {
            line,
            fields,
            lonlat,
        });
    }
    Ok(Table {
        path: path.to_path_buf(),
        columns,
        rows,
        sheets: None,
    })
}

/// Fill the rows a merged range of data cells covers with the value of its first cell,
/// as Excel shows them (GDAL reads them blank: a batch of verdicts merged into one cell
/// came back as rows "without a verdict"), and say so on stderr. Only a range's first
/// column is filled: the cells to its right under a merge across columns stay blank, as
/// their columns hold other things. Ranges over the header row are left alone.
fn fill_merged(path: &Path, columns: &[String], rows: &mut [Row]) {
    let mut filled = Vec::new();
    for m in crate::xlsx_merges::first_sheet(path) {
        let Some(col) = columns
            .get(m.left)
            .filter(|_| m.top >= 2 && m.bottom > m.top)
        else {
            continue;
        };
        let Some(value) = rows
            .iter()
            .find(|r| r.line == m.top)
            .and_then(|r| r.fields.get(col))
            .filter(|v| !v.trim().is_empty())
            .cloned()
        else {
            continue;
        };
        let mut n = 0;
        for r in rows
            .iter_mut()
            .filter(|r| r.line > m.top && r.line <= m.bottom)
        {
            if let Some(v) = r.fields.get_mut(col).filter(|v| v.trim().is_empty()) {
                *v = value.clone();
                n += 1;
            }
        }
        if n > 0 {
            filled.push(format!("{} ({col})", m.range));
        }
    }
    if !filled.is_empty() {
        let more = filled.len().saturating_sub(6);
        filled.truncate(6);
        eprintln!(
            "{}: merged cells {}{} are read as the spreadsheet shows them: their first cell's value on every row they cover",
            path.display(),
            filled.join(", "),
            if more > 0 { format!(" and {more} more") } else { String::new() }
        );
    }
}

/// The error for a title above the header (一张表's 六合区矿产卫片核查结果汇总表): row
/// `header_line` holds one cell of `columns` (the one read as the header), row `line` holds
/// `cells`, many: said with the row that looks like the header, for a CSV and a sheet alike.
fn title_row(
    path: &Path,
    header_line: usize,
    columns: &[String],
    line: usize,
    cells: &[&str],
) -> PipelineError {
    let filled: Vec<&str> = cells
        .iter()
        .copied()
        .filter(|v| !v.trim().is_empty())
        .collect();
    PipelineError::Input(format!(
        "{} row {header_line} holds one cell (`{}`), row {line} has {} cells ({}…): row {header_line} looks like a title above the header, which seems to be row {line}; delete the title row(s) so that the header is the first row",
        path.display(),
        columns.iter().find(|c| !c.is_empty()).map_or("", String::as_str),
        filled.len(),
        cells.iter().take(3).copied().collect::<Vec<_>>().join(", "),
    ))
}

/// Line numbers (1-based) of byte offsets into a text, asked in increasing order. A line
/// ends at `\n`, `\r\n` or a lone `\r`.
struct LineCounter<'a> {
    text: &'a [u8],
    at: usize,
    line: usize,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a str) -> Self {
        LineCounter {
            text: text.as_bytes(),
            at: 0,
            line: 1,
        }
    }

    /// The line of the row starting at `byte`: the reader gives the offset after the
    /// previous row, before any empty lines it skipped.
    fn line_at(&mut self, byte: usize) -> usize {
        let mut end = byte.min(self.text.len());
        while end < self.text.len() && matches!(self.text[end], b'\r' | b'\n') {
            end += 1;
        }
        while self.at < end {
            match self.text[self.at] {
                b'\n' => self.line += 1,
                b'\r' if self.text.get(self.at + 1) != Some(&b'\n') => self.line += 1,
                _ => {}
            }
            self.at += 1;
        }
        self.line
    }
}

fn read_ogr(path: &Path) -> Result<Table, PipelineError> {
    let e = |m: String| PipelineError::Input(format!("{}: {m}", path.display()));
    let ds = open_table(path).map_err(|x| e(cannot_open(path, x)))?;
    // A sheet's data start on its row 2, which is what Excel shows and what messages say.
    let sheet = is_spreadsheet(path);
    let first_row = if sheet { 2 } else { 1 };
    // A workbook whose first sheet is instructions (填表说明): the sheet with a form's id
    // column is read, else the first.
    let mut sheets = None;
    let mut index = 0;
    if sheet && ds.layer_count() > 1 {
        let names: Vec<String> = ds.layers().map(|l| l.name()).collect();
        let keyed = |i: usize| {
            ds.layer(i).is_ok_and(|l| {
                l.defn()
                    .fields()
                    .any(|f| SHEET_KEYS.contains(&unguard(f.name().trim())))
            })
        };
        if let Some(i) = (0..names.len()).find(|&i| keyed(i)) {
            index = i;
        } else {
            sheets = Some((names[0].clone(), names));
        }
    }
    let mut layer = ds.layer(index).map_err(|x| e(x.to_string()))?;
    // A sheet is a CSV of ours saved from Excel: its guarded cells are undone as the CSV's
    // are (other GDAL files hold the text as written).
    let text = |v: String| if sheet { unguard(&v).to_string() } else { v };
    // Header names trimmed, as a CSV's are (`核查结果 ` is 核查结果).
    let columns: Vec<String> = layer
        .defn()
        .fields()
        .map(|f| {
            let n = f.name();
            if sheet {
                text(n.trim().to_string())
            } else {
                n
            }
        })
        .collect();
    // Date and date-time fields (a tasks.gpkg's `last_date`, a form's 核查日期 typed as a
    // date) are read as minewatch writes dates, not as GDAL prints them (`2002/07/12`).
    let is_date: Vec<bool> = layer
        .defn()
        .fields()
        .map(|f| {
            matches!(
                f.field_type(),
                gdal::vector::OGRFieldType::OFTDate | gdal::vector::OGRFieldType::OFTDateTime
            )
        })
        .collect();
    // Header cells a sheet leaves empty, which GDAL names `Field<column number>`.
    let placeholder = |k: usize, c: &str| sheet && c == format!("Field{}", k + 1);
    let header_filled = columns
        .iter()
        .enumerate()
        .filter(|(k, c)| !c.trim().is_empty() && !placeholder(*k, c))
        .count();
    let to_lonlat = match layer.spatial_ref() {
        Some(s) => Some(
            minewatch_zones::Reprojector::new(&s, &minewatch_zones::crs::from_epsg(4326)?)
                .map_err(|x| e(x.to_string()))?,
        ),
        None => None,
    };
    let mut rows = Vec::new();
    for (i, f) in layer.features().enumerate() {
        let mut fields = BTreeMap::new();
        for (k, c) in columns.iter().enumerate() {
            let v = if is_date[k] {
                // A value GDAL cannot read as a date is left as its text, for the row's
                // reader to name.
                match f.field(k) {
                    Ok(Some(d)) => crate::patch_table::date_text(&d).unwrap_or_default(),
                    Ok(None) => String::new(),
                    Err(_) => f.field_as_string(k).ok().flatten().unwrap_or_default(),
                }
            } else {
                f.field_as_string(k).ok().flatten().unwrap_or_default()
            };
            fields.insert(c.clone(), text(v));
        }
        // A row with every cell blank and no geometry is no row (its number is kept for
        // the rows after it).
        if f.geometry().is_none() && fields.values().all(|v| v.trim().is_empty()) {
            continue;
        }
        // A title above the header, as for a CSV (GDAL reads the title row as the header).
        if sheet && rows.is_empty() && header_filled <= 1 {
            let cells: Vec<&str> = columns.iter().map(|c| fields[c].as_str()).collect();
            if cells.iter().filter(|v| !v.trim().is_empty()).count() > 2 {
                let shown: Vec<String> = columns
                    .iter()
                    .enumerate()
                    .map(|(k, c)| {
                        if placeholder(k, c) {
                            String::new()
                        } else {
                            c.clone()
                        }
                    })
                    .collect();
                return Err(title_row(path, 1, &shown, i + first_row, &cells));
            }
        }
        let mut lonlat = None;
        if let (Some(g), Some(t)) = (f.geometry(), &to_lonlat) {
            let env = g.envelope();
            let mut p = gdal::vector::Geometry::from_wkt(&format!(
                "POINT ({} {})",
                0.5 * (env.MinX + env.MaxX),
                0.5 * (env.MinY + env.MaxY)
            ))
            .map_err(|x| e(x.to_string()))?;
            t.apply(&mut p).map_err(e)?;
            let (x, y, _) = p.get_point(0);
            lonlat = Some((x, y));
        }
        rows.push(Row {
            line: i + first_row,
            fields,
            lonlat,
        });
    }
    let is_xlsx = path
        .extension()
        .is_some_and(|x| x.eq_ignore_ascii_case("xlsx"));
    if is_xlsx {
        fill_merged(path, &columns, &mut rows);
    }
    Ok(Table {
        path: path.to_path_buf(),
        columns,
        rows,
        sheets,
    })
}

/// The id columns that mark a workbook's sheet as the table (a form, the tasks), not its
/// instructions.
const SHEET_KEYS: [&str; 3] = ["site_id", "图斑地块编号", "unit_id"];

const NOT_XLS: &str = "cannot open it: it is no .xls workbook inside (a CSV or another file renamed .xls?); open it in Excel or WPS and save it again as .xlsx, or give a CSV its .csv name";
const DAMAGED: &str = "cannot open it: the workbook is damaged (cut short or corrupt, as an interrupted download or copy leaves it); open it in Excel or WPS and save it again, or ask the county to send it again";

/// Why a table file does not open, in words for its user: a spreadsheet that is no
/// workbook inside (a CSV renamed .xlsx) or a damaged one, rather than GDAL's NULL pointer.
fn cannot_open(path: &Path, x: gdal::errors::GdalError) -> String {
    // GDAL says no more than "returned a NULL pointer" of a broken workbook: not repeated.
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_lowercase();
    let mut head = [0u8; 8];
    let n = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .unwrap_or(0);
    let head = &head[..n];
    let zip = head.starts_with(b"PK\x03\x04");
    let ole = head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]);
    match ext.as_str() {
        "xlsx" | "ods" if !zip && !ole => format!(
            "cannot open it: it is no .{ext} workbook inside (a CSV or another file renamed .{ext}?); open it in Excel or WPS and save it again as .{ext}, or give a CSV its .csv name"
        ),
        "xls" if !zip && !ole => NOT_XLS.to_string(),
        "xlsx" | "xls" | "ods" => DAMAGED.to_string(),
        _ => format!("cannot open it: {x}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::write::table::write_csv;
    use crate::write::Attr;

    const TEXTS: [&str; 7] = [
        "=HYPERLINK(\"http://x\")",
        "-S1",
        "@a",
        "'=b",
        "-5",
        "'-5",
        "plain",
    ];

    /// What `write_csv` quoted against formulas reads back as it was written: rank reads
    /// its previous ledger so, sample and audit the tasks and the returned forms.
    #[test]
    fn a_csv_of_ours_reads_back_as_written() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("t.csv");
        let rows: Vec<Vec<Attr>> = TEXTS
            .iter()
            .map(|t| vec![Attr::Text(t.to_string()), Attr::Real(-5.0)])
            .collect();
        write_csv(&p, &["id".into(), "=n".into()], &rows).unwrap();
        let raw = std::fs::read_to_string(&p).unwrap();
        assert!(raw.contains("\n'-S1,-5\n") && raw.contains("'=n"), "{raw}");
        let t = read(&p).unwrap();
        assert_eq!(t.columns, ["id", "=n"]);
        let got: Vec<&str> = t.rows.iter().map(|r| r.fields["id"].as_str()).collect();
        assert_eq!(got, TEXTS);
        assert!(t.rows.iter().all(|r| r.fields["=n"] == "-5"));
    }

    /// Review finding (revX F5): a zero-width space pasted after a verdict or a header
    /// (WeChat, web pages) made it unknown, and the message quoted a value that looked
    /// right. The reader drops such characters from headers and cells.
    #[test]
    fn zero_width_characters_are_dropped_from_headers_and_cells() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("r.csv");
        std::fs::write(
            &p,
            "图斑地块编号,核查结果\u{200b}\nS1,伪变化\u{200b}\nS\u{2060}2,\u{feff}违法\u{200d}\nS3,合法\n",
        )
        .unwrap();
        let t = read(&p).unwrap();
        assert_eq!(t.columns, ["图斑地块编号", "核查结果"]);
        let got: Vec<(&str, &str)> = t
            .rows
            .iter()
            .map(|r| {
                (
                    r.fields["图斑地块编号"].as_str(),
                    r.fields["核查结果"].as_str(),
                )
            })
            .collect();
        assert_eq!(got, [("S1", "伪变化"), ("S2", "违法"), ("S3", "合法")]);
    }

    /// Review finding: rows were numbered one short in CRLF files and after an empty line
    /// (the reader's own line count), and rows with every cell blank (`,,` as Excel
    /// leaves them) were read as rows, each an invalid row to the audit.
    #[test]
    fn rows_are_numbered_as_an_editor_shows_and_blank_rows_skipped() {
        let d = tempfile::tempdir().unwrap();
        for (name, text) in [
            ("lf.csv", "id,v\nA,1\nB,2\n,\nC,\"x\ny\"\n\nD,3\n"),
            (
                "crlf.csv",
                "\u{feff}id,v\r\nA,1\r\nB,2\r\n,\r\nC,\"x\r\ny\"\r\n\r\nD,3\r\n",
            ),
            ("cr.csv", "id,v\rA,1\rB,2\r,\rC,\"x\ry\"\r\rD,3\r"),
        ] {
            let p = d.path().join(name);
            std::fs::write(&p, text).unwrap();
            let t = read(&p).unwrap();
            let got: Vec<(usize, &str)> = t
                .rows
                .iter()
                .map(|r| (r.line, r.fields["id"].as_str()))
                .collect();
            assert_eq!(got, [(2, "A"), (3, "B"), (5, "C"), (8, "D")], "{name}");
        }
    }

    /// Review U F9: Excel's "Unicode 文本" (UTF-16, tabs), a tab-separated `.csv` and a
    /// title row above the header gave "row 2: CSV error: record 1 (line: 1, …)". The first
    /// two read; the title is named with the row that looks like the header; a short row
    /// is named by the row an editor shows.
    #[test]
    fn utf16_tabs_and_a_title_row_are_read_or_named() {
        let d = tempfile::tempdir().unwrap();
        let body =
            "图斑地块编号\t核查结果\t理由说明\r\nS1\t违法\t\"a,b\"\r\n\r\nS2\t伪变化\t大棚\r\n";
        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend(body.encode_utf16().flat_map(u16::to_le_bytes));
        let tab = d.path().join("tab.csv");
        std::fs::write(&tab, format!("\u{feff}{body}")).unwrap();
        let uni = d.path().join("unicode.txt");
        std::fs::write(&uni, utf16).unwrap();
        for p in [&tab, &uni] {
            let t = read(p).unwrap();
            assert_eq!(t.columns, ["图斑地块编号", "核查结果", "理由说明"], "{p:?}");
            let got: Vec<(usize, &str)> = t
                .rows
                .iter()
                .map(|r| (r.line, r.fields["理由说明"].as_str()))
                .collect();
            assert_eq!(got, [(2, "a,b"), (4, "大棚")], "{p:?}");
        }
        let title = d.path().join("title.csv");
        std::fs::write(
            &title,
            "六合区核查结果汇总表,,\nsite_id,verdict,reason\nS1,违法,x\n",
        )
        .unwrap();
        let e = read(&title).err().unwrap().to_string();
        assert!(
            e.contains("row 1") && e.contains("title") && e.contains("row 2"),
            "{e}"
        );
        let short = d.path().join("short.csv");
        std::fs::write(
            &short,
            "site_id,verdict,reason\r\n\r\nS1,违法,x\r\nS2,违法\r\n",
        )
        .unwrap();
        let e = read(&short).err().unwrap().to_string();
        assert!(
            e.contains("row 4: 2 cells") && e.contains("(row 1) has 3"),
            "{e}"
        );
        assert!(!e.contains("line:"), "{e}");
    }

    /// Excel opens `'=…` from a CSV as the text `'=…` and saves it so: a sheet reads as the
    /// CSV did.
    #[test]
    fn a_sheet_saved_from_our_csv_reads_back_as_written() {
        use gdal::vector::{Feature, LayerOptions, OGRFieldType, OGRwkbGeometryType};
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("t.xlsx");
        {
            let drv = gdal::DriverManager::get_driver_by_name("XLSX").unwrap();
            let mut ds = drv.create_vector_only(&p).unwrap();
            let l = ds
                .create_layer(LayerOptions {
                    name: "t",
                    srs: None,
                    ty: OGRwkbGeometryType::wkbNone,
                    options: None,
                })
                .unwrap();
            l.create_defn_fields(&[("id", OGRFieldType::OFTString)])
                .unwrap();
            for t in TEXTS {
                let mut f = Feature::new(l.defn()).unwrap();
                f.set_field_string(0, &crate::write::formula_guard::guard(t))
                    .unwrap();
                f.create(&l).unwrap();
            }
        }
        let t = read(&p).unwrap();
        let got: Vec<&str> = t.rows.iter().map(|r| r.fields["id"].as_str()).collect();
        assert_eq!(got, TEXTS);
    }

    /// A GeoPackage whose date columns are typed (a package's tasks.gpkg: `last_date`
    /// DATE; a county's form with 核查日期 as a date, or a time stamp) reads its dates as
    /// our CSVs hold them, `2002-07-12`, not as GDAL prints them (`2002/07/12`): sample.csv
    /// repeats them and audit parses them. A null date is an empty cell.
    #[test]
    fn typed_dates_in_a_geopackage_read_as_iso_text() {
        use gdal::vector::{Feature, LayerOptions, OGRFieldType, OGRwkbGeometryType};
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("returned.gpkg");
        {
            let drv = gdal::DriverManager::get_driver_by_name("GPKG").unwrap();
            let mut ds = drv.create_vector_only(&p).unwrap();
            let l = ds
                .create_layer(LayerOptions {
                    name: "tasks",
                    srs: None,
                    ty: OGRwkbGeometryType::wkbNone,
                    options: None,
                })
                .unwrap();
            l.create_defn_fields(&[
                ("site_id", OGRFieldType::OFTString),
                ("last_date", OGRFieldType::OFTDate),
                ("check_date", OGRFieldType::OFTDateTime),
            ])
            .unwrap();
            for (id, day, stamp) in [
                ("S1", Some("2002-07-12"), Some("2024-06-01T09:30:05+08:00")),
                ("S2", None, None),
            ] {
                let mut f = Feature::new(l.defn()).unwrap();
                f.set_field_string(0, id).unwrap();
                match day {
                    Some(x) => f.set_field_string(1, x).unwrap(),
                    None => f.set_field_null(1).unwrap(),
                }
                match stamp {
                    Some(x) => f.set_field_string(2, x).unwrap(),
                    None => f.set_field_null(2).unwrap(),
                }
                f.create(&l).unwrap();
            }
        }
        let t = read(&p).unwrap();
        assert_eq!(t.rows[0].fields["last_date"], "2002-07-12");
        assert_eq!(t.rows[0].fields["check_date"], "2024-06-01 09:30:05");
        assert_eq!(t.rows[1].get("last_date"), None);
        assert_eq!(t.rows[1].get("check_date"), None);
        // What the readers of these tables make of them.
        let day = minewatch_core::AcqDate::parse_lenient(&t.rows[0].fields["check_date"]);
        assert_eq!(day.unwrap().to_string(), "2024-06-01");
    }

    /// An .xlsx as Excel writes it: text cells (inline), a blank cell left out, merged
    /// ranges listed after the sheet's data with the value in their first cell only.
    fn write_xlsx(p: &Path, rows: &[Vec<&str>], merges: &[&str]) {
        use std::io::Write;
        let mut x = String::from(
            r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
        );
        for (ri, r) in rows.iter().enumerate() {
            x += &format!(r#"<row r="{}">"#, ri + 1);
            for (ci, v) in r.iter().enumerate().filter(|(_, v)| !v.is_empty()) {
                let col = (b'A' + ci as u8) as char;
                x += &format!(
                    r#"<c r="{col}{}" t="inlineStr"><is><t>{v}</t></is></c>"#,
                    ri + 1
                );
            }
            x += "</row>";
        }
        x += "</sheetData>";
        if !merges.is_empty() {
            x += &format!(r#"<mergeCells count="{}">"#, merges.len());
            for m in merges {
                x += &format!(r#"<mergeCell ref="{m}"/>"#);
            }
            x += "</mergeCells>";
        }
        x += "</worksheet>";
        let ns = "http://schemas.openxmlformats.org";
        let parts = [
            (
                "[Content_Types].xml",
                format!(
                    r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{ns}/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#
                ),
            ),
            (
                "_rels/.rels",
                format!(
                    r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{ns}/package/2006/relationships"><Relationship Id="rId1" Type="{ns}/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#
                ),
            ),
            (
                "xl/workbook.xml",
                format!(
                    r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{ns}/spreadsheetml/2006/main" xmlns:r="{ns}/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#
                ),
            ),
            (
                "xl/_rels/workbook.xml.rels",
                format!(
                    r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{ns}/package/2006/relationships"><Relationship Id="rId1" Type="{ns}/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#
                ),
            ),
            ("xl/worksheets/sheet1.xml", x),
        ];
        let mut z = zip::ZipWriter::new(std::fs::File::create(p).unwrap());
        for (name, text) in parts {
            z.start_file(name, zip::write::SimpleFileOptions::default())
                .unwrap();
            z.write_all(text.as_bytes()).unwrap();
        }
        z.finish().unwrap();
    }

    const FORM_HEADER: [&str; 4] = ["图斑地块编号", "核查结果", "理由说明", "核查责任人"];

    /// Review finding (revX F4): a title row above the header was named in a CSV but not
    /// in an .xlsx, where the message listed the title and GDAL's Field2…FieldN as the
    /// columns. The sheet gets the CSV's message, with the row that looks like the header.
    #[test]
    fn a_title_row_above_a_sheets_header_is_named() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("320106_返回.xlsx");
        let mut rows = vec![
            vec!["鼓楼区2024年度矿产卫片执法核查结果汇总表", "", "", ""],
            FORM_HEADER.to_vec(),
        ];
        rows.push(vec!["S1", "伪变化", "大棚", "张三"]);
        write_xlsx(&p, &rows, &["A1:D1"]);
        let e = read(&p).err().expect("a title row is refused").to_string();
        assert!(
            e.contains("row 1 holds one cell (`鼓楼区2024年度矿产卫片执法核查结果汇总表`)")
                && e.contains("row 2 has 4 cells (图斑地块编号, 核查结果, 理由说明…)")
                && e.contains("delete the title row(s)"),
            "{e}"
        );
        assert!(!e.contains("Field2"), "{e}");
        // A sheet whose header is its first row reads as before.
        write_xlsx(&p, &rows[1..], &[]);
        let t = read(&p).unwrap();
        assert_eq!(t.columns, FORM_HEADER);
        assert_eq!(t.rows[0].line, 2);
    }

    /// Review finding (revX F3): merged cells (合并单元格) over a batch of rows were read
    /// as blank below their first row (GDAL ignores merges), so rows Excel shows filled came
    /// back as having no verdict. Each covered row reads the range's value; rows keep
    /// their numbers, and a cell of its own under a merge keeps its value.
    #[test]
    fn merged_cells_read_as_the_sheet_shows_them() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("320106_返回.xlsx");
        let rows = vec![
            FORM_HEADER.to_vec(),
            vec!["S1", "伪变化", "大棚", "张三"],
            vec!["S2", "", "大棚", ""],
            vec!["S3", "", "", ""],
            vec!["S4", "违法", "采砂", "李四"],
            vec!["S5", "", "", "王五"],
        ];
        write_xlsx(&p, &rows, &["B2:B4", "D2:D4", "B5:B6", "D5:D6"]);
        let t = read(&p).unwrap();
        let col = |c: &str| -> Vec<&str> { t.rows.iter().map(|r| r.fields[c].as_str()).collect() };
        assert_eq!(
            col("核查结果"),
            ["伪变化", "伪变化", "伪变化", "违法", "违法"]
        );
        assert_eq!(col("核查责任人"), ["张三", "张三", "张三", "李四", "王五"]);
        assert_eq!(col("理由说明"), ["大棚", "大棚", "", "采砂", ""]);
        let lines: Vec<usize> = t.rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 3, 4, 5, 6]);
    }
}
