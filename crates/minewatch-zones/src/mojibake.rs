//! Attribute text read in the wrong encoding. GDAL reads a layer's text in the encoding
//! the file declares (a Shapefile's .cpg or code-page byte, UTF-8 for GeoPackage and
//! GeoJSON) and says nothing when the declaration is wrong: bytes invalid in it reach us
//! as U+FFFD, and GDAL's own recoding warnings are emitted once per process, if at all.
//! Chinese licence registers are mostly GBK, often shipped with a `.cpg` of `UTF-8` or a
//! Western code page, and a holder's name turned into `ÄÏ¾©` or `鍗椾含` is a wrong
//! name on every county's form. This looks at the text itself and tells the user which
//! layer, field and feature, and what the value likely was.

use encoding_rs::{Encoding, GB18030, UTF_8, WINDOWS_1252};

/// What is wrong with one value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Misread {
    /// Bytes not valid in the declared encoding (shown as U+FFFD).
    Invalid,
    /// Chinese (GBK / GB18030) text read as a Western code page; the likely text.
    GbkAsWestern(String),
    /// UTF-8 text read as GBK / GB18030; the likely text.
    Utf8AsGbk(String),
}

/// How `s` was misread, if it plainly was. Conservative: a value is flagged only when
/// re-reading its bytes gives Chinese text without a single invalid sequence.
pub fn misread(s: &str) -> Option<Misread> {
    if s.contains('\u{FFFD}') {
        return Some(Misread::Invalid);
    }
    // A Chinese character read as a Western code page is two non-ASCII characters (both
    // bytes of a GB2312 character are ≥ 0xA1): most of them must pair up, or accented
    // Latin text (`Müller`: ü + l is a valid GBK pair) would be taken for Chinese.
    let non_ascii = s.chars().filter(|c| !c.is_ascii()).count();
    if non_ascii >= 4 && !s.chars().any(is_cjk) {
        if let Some(t) = reread(s, WINDOWS_1252, GB18030) {
            if !t.contains('\u{FFFD}') && cjk_count(&t) >= 2 && 2 * non_ascii >= 3 * cjk_count(&t) {
                return Some(Misread::GbkAsWestern(t));
            }
        }
    }
    // Two or more Chinese characters that are, byte for byte, UTF-8 holding Chinese: GBK
    // pairs rarely line up into UTF-8's three-byte sequences by chance. A few broken
    // sequences are allowed: GDAL drops the bytes it cannot convert (an odd byte count
    // leaves one at the end), so the text it shows is short of a byte or two.
    if cjk_count(s) >= 2 {
        if let Some(t) = reread(s, GB18030, UTF_8) {
            let broken = t.chars().filter(|c| *c == '\u{FFFD}').count();
            if cjk_count(&t) >= 2 && 3 * broken <= cjk_count(&t) {
                return Some(Misread::Utf8AsGbk(t));
            }
        }
    }
    None
}

/// `s` encoded back in `was` and decoded as `is` (broken sequences as U+FFFD), when it
/// encodes cleanly.
fn reread(s: &str, was: &'static Encoding, is: &'static Encoding) -> Option<String> {
    let (bytes, _, unmappable) = was.encode(s);
    if unmappable {
        return None;
    }
    Some(is.decode_without_bom_handling(&bytes).0.into_owned())
}

fn cjk_count(s: &str) -> usize {
    s.chars().filter(|c| is_cjk(*c)).count()
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}')
}

/// Misread values of one layer: counted, the first few kept to show.
#[derive(Default)]
pub struct Misreads {
    pub values: usize,
    pub shown: Vec<String>,
}

impl Misreads {
    const SHOWN: usize = 3;

    /// Look at one value of `field` of feature `id`.
    pub fn check(&mut self, id: &str, field: &str, value: &str) {
        let Some(m) = misread(value) else { return };
        self.values += 1;
        if self.shown.len() < Self::SHOWN {
            self.shown.push(match m {
                Misread::Invalid => {
                    format!("feature {id} field `{field}` = \"{value}\" (bytes not valid in the declared encoding)")
                }
                Misread::GbkAsWestern(t) => format!(
                    "feature {id} field `{field}` = \"{value}\" (looks like GBK text \"{t}\" read as a Western code page)"
                ),
                Misread::Utf8AsGbk(t) => format!(
                    "feature {id} field `{field}` = \"{value}\" (looks like UTF-8 text \"{t}\" read as GBK)"
                ),
            });
        }
    }

    /// The warning for the layer, if any value was misread.
    pub fn warning(&self, layer: &str, path: &std::path::Path) -> Option<String> {
        (self.values > 0).then(|| {
            format!(
                "layer `{layer}` ({}): {} text value(s) look read in the wrong encoding, so names on findings and forms will be garbled: {}{}; declare the file's real encoding (a Shapefile's .cpg: GB18030 or UTF-8) or convert it, e.g. `ogr2ogr -lco ENCODING=UTF-8 out.shp in.shp` after fixing the .cpg",
                path.display(),
                self.values,
                self.shown.join("; "),
                if self.values > self.shown.len() { "; …" } else { "" }
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn as_western(t: &str) -> String {
        let (b, _, _) = GB18030.encode(t);
        WINDOWS_1252.decode_without_bom_handling(&b).0.into_owned()
    }

    fn as_gbk(t: &str) -> String {
        GB18030
            .decode_without_bom_handling(t.as_bytes())
            .0
            .into_owned()
    }

    #[test]
    fn gbk_read_as_a_western_code_page_is_recognised() {
        let shown = as_western("南京市矿业有限公司");
        assert_eq!(
            misread(&shown),
            Some(Misread::GbkAsWestern("南京市矿业有限公司".into()))
        );
    }

    #[test]
    fn utf8_read_as_gbk_is_recognised() {
        // An even number of characters: three bytes each, so GBK's pairs use them all.
        let shown = as_gbk("南京矿业有限公司");
        assert!(shown.chars().any(is_cjk), "{shown}");
        assert_eq!(
            misread(&shown),
            Some(Misread::Utf8AsGbk("南京矿业有限公司".into()))
        );
    }

    /// GDAL drops the byte it cannot convert: 27 bytes of UTF-8 read as GBK lose the last.
    #[test]
    fn utf8_read_as_gbk_short_of_a_byte_is_recognised() {
        let t = "南京甲矿业有限公司";
        let bytes = &t.as_bytes()[..t.len() - 1];
        let shown = GB18030.decode_without_bom_handling(bytes).0.into_owned();
        assert!(!shown.contains('\u{FFFD}'), "{shown}");
        match misread(&shown) {
            Some(Misread::Utf8AsGbk(x)) => assert!(x.starts_with("南京甲矿业有限公"), "{x}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn replacement_characters_are_invalid_text() {
        assert_eq!(misread("南\u{FFFD}公司"), Some(Misread::Invalid));
    }

    #[test]
    fn right_text_is_left_alone() {
        for s in [
            "南京市矿业有限公司",
            "C3200002010127120093581",
            "江苏省南京市江宁区",
            "Müller & Söhne GmbH",
            "São Paulo Mineração",
            "Société Générale Énergie",
            "Ærø Ørsted Ålborg",
            "建筑石料用灰岩",
            "",
            "长江",
            "堃昇喆矿业",
        ] {
            assert_eq!(misread(s), None, "{s}");
        }
    }
}
