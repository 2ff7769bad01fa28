//! Text tables as offices send them (licence registers, returned forms, code lists):
//! their encoding and their separator, read the same way wherever a table is read.

/// UTF-8 (with or without BOM) or, failing that, GB18030 — what Chinese offices send; and
/// UTF-16 with its BOM (Excel's and WPS's "Unicode 文本" save).
pub fn decode_text(bytes: &[u8]) -> String {
    if let Some(b) = bytes.strip_prefix(b"\xFF\xFE") {
        return encoding_rs::UTF_16LE
            .decode_without_bom_handling(b)
            .0
            .into_owned();
    }
    if let Some(b) = bytes.strip_prefix(b"\xFE\xFF") {
        return encoding_rs::UTF_16BE
            .decode_without_bom_handling(b)
            .0
            .into_owned();
    }
    let b = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(b) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::GB18030.decode(b).0.into_owned(),
    }
}

/// The separator of a CSV text, from its first non-empty line: a tab (Excel's and WPS's
/// 文本文件 and "Unicode 文本" saves, a `.csv` written by hand) or a semicolon (European
/// Excel) when there are more of it than of commas outside quotes, else a comma.
pub fn delimiter_of(text: &str) -> u8 {
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let mut quoted = false;
    let (mut comma, mut tab, mut semi) = (0, 0, 0);
    for c in first.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => comma += 1,
            '\t' if !quoted => tab += 1,
            ';' if !quoted => semi += 1,
            _ => {}
        }
    }
    if tab > comma && tab >= semi {
        b'\t'
    } else if semi > comma {
        b';'
    } else {
        b','
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gbk_text_is_decoded() {
        let (bytes, _, _) = encoding_rs::GBK.encode("许可证号,矿种\nC1,煤\n");
        assert!(std::str::from_utf8(&bytes).is_err());
        assert_eq!(decode_text(&bytes), "许可证号,矿种\nC1,煤\n");
        assert_eq!(decode_text("\u{feff}a,b".as_bytes()), "a,b");
    }

    #[test]
    fn tabs_semicolons_and_commas_outside_quotes() {
        assert_eq!(
            delimiter_of("许可证号\t采矿权人\t有效期限\r\nC1\t甲\t1995"),
            b'\t'
        );
        assert_eq!(delimiter_of("\n\na;b;c\n"), b';');
        assert_eq!(delimiter_of("a,b,c"), b',');
        assert_eq!(delimiter_of("\"a\tb\",c"), b',');
    }
}
