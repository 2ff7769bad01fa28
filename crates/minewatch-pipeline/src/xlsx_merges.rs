//! Merged cells (合并单元格) of an .xlsx's first sheet. GDAL's XLSX driver reads a merged
//! range as its first cell and blanks below, while Excel shows the value on every row it
//! covers: a county that merges 核查结果 over a batch of rows sees every row filled. The
//! sheet's `<mergeCells>` list, read here straight from the workbook (a zip of XML parts),
//! lets the table reader fill each covered row as the clerk sees it.

use std::io::Read;
use std::path::Path;

/// A merged range: 1-based sheet rows `top..=bottom`, 0-based columns `left..=right`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merge {
    /// As the sheet names it (`F2:F4`).
    pub range: String,
    pub top: usize,
    pub bottom: usize,
    pub left: usize,
    pub right: usize,
}

/// The merged ranges of the first sheet of the workbook at `path` (the one GDAL reads as
/// layer 0), in the sheet's order; none when the file is not a readable .xlsx (GDAL then
/// says what is wrong with it).
pub fn first_sheet(path: &Path) -> Vec<Merge> {
    let Ok(f) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let Ok(mut z) = zip::ZipArchive::new(f) else {
        return Vec::new();
    };
    let mut part = |name: &str| -> Option<String> {
        let mut s = String::new();
        z.by_name(name).ok()?.read_to_string(&mut s).ok()?;
        Some(s)
    };
    let sheet = first_sheet_part(part("xl/workbook.xml"), part("xl/_rels/workbook.xml.rels"))
        .unwrap_or_else(|| "xl/worksheets/sheet1.xml".into());
    let Some(xml) = part(&sheet) else {
        return Vec::new();
    };
    elements(&xml, "mergeCell")
        .filter_map(|e| attr(e, "ref"))
        .filter_map(|r| parse_range(&r))
        .collect()
}

/// The zip path of the workbook's first sheet: its `r:id` in workbook.xml, looked up in
/// the workbook's relationships.
fn first_sheet_part(workbook: Option<String>, rels: Option<String>) -> Option<String> {
    let (workbook, rels) = (workbook?, rels?);
    let first = elements(&workbook, "sheet").next()?;
    // The relationship id's prefix is the document's choice (`r:id` as Excel writes it).
    let id = first
        .split_whitespace()
        .find_map(|a| {
            let (k, v) = a.split_once('=')?;
            k.ends_with(":id")
                .then(|| v.trim_matches(['"', '\'', '/', '>']))
        })?
        .to_string();
    let target = elements(&rels, "Relationship")
        .find(|e| attr(e, "Id").as_deref() == Some(id.as_str()))
        .and_then(|e| attr(e, "Target"))?;
    Some(match target.strip_prefix('/') {
        Some(abs) => abs.to_string(),
        None => format!("xl/{target}"),
    })
}

/// The start tags (text between `<` and `>`) of the elements named `name`, with or
/// without a namespace prefix.
fn elements<'a>(xml: &'a str, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    xml.split('<').filter_map(move |t| {
        let tag = t.split('>').next()?;
        let qname = tag.split(|c: char| c.is_whitespace() || c == '/').next()?;
        let local = qname.rsplit(':').next()?;
        (local == name).then_some(tag)
    })
}

/// Attribute `key` of a start tag, unescaped for the few entities a path or range holds.
fn attr(tag: &str, key: &str) -> Option<String> {
    let at = tag
        .match_indices(key)
        .find(|(i, _)| {
            tag[..*i].ends_with(char::is_whitespace) && tag[i + key.len()..].starts_with('=')
        })?
        .0;
    let rest = &tag[at + key.len() + 1..];
    let q = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let v = rest[1..].split(q).next()?;
    Some(
        v.replace("&amp;", "&")
            .replace("&apos;", "'")
            .replace("&quot;", "\""),
    )
}

/// `B2:B4` → rows 2..=4, columns 1..=1.
fn parse_range(r: &str) -> Option<Merge> {
    let (a, b) = r.split_once(':')?;
    let (c1, r1) = cell(a)?;
    let (c2, r2) = cell(b)?;
    Some(Merge {
        range: r.to_string(),
        top: r1.min(r2),
        bottom: r1.max(r2),
        left: c1.min(c2),
        right: c1.max(c2),
    })
}

/// `AB12` → (column 27, row 12).
fn cell(a: &str) -> Option<(usize, usize)> {
    let a = a.replace('$', "");
    let split = a.find(|c: char| c.is_ascii_digit())?;
    let (letters, digits) = a.split_at(split);
    if letters.is_empty() || !letters.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let col = letters.chars().try_fold(0usize, |n, c| {
        n.checked_mul(26)?
            .checked_add((c.to_ascii_uppercase() as u8 - b'A') as usize + 1)
    })?;
    Some((col - 1, digits.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_parts_are_read_as_excel_writes_them() {
        assert_eq!(
            parse_range("$B$2:AB4"),
            Some(Merge {
                range: "$B$2:AB4".into(),
                top: 2,
                bottom: 4,
                left: 1,
                right: 27
            })
        );
        let wb = r#"<workbook xmlns:r="x"><sheets><sheet name="汇总" sheetId="3" r:id="rId7"/><sheet name="b" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
        let rels = r#"<Relationships><Relationship Id="rId1" Target="worksheets/sheet1.xml"/><Relationship Target="/xl/worksheets/sheet3.xml" Id="rId7"/></Relationships>"#;
        assert_eq!(
            first_sheet_part(Some(wb.into()), Some(rels.into())).as_deref(),
            Some("xl/worksheets/sheet3.xml")
        );
        let sheet = r#"<x:mergeCells count="2"><x:mergeCell ref="B2:B4"/><mergeCell ref='F5:F7'/></x:mergeCells>"#;
        let got: Vec<String> = elements(sheet, "mergeCell")
            .filter_map(|e| attr(e, "ref"))
            .collect();
        assert_eq!(got, ["B2:B4", "F5:F7"]);
    }
}
