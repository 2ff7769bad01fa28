//! Matching keys for names and numbers typed by hand: party names, licence numbers and
//! penalty decision numbers. Offices type one decision as 宁国土资罚〔2022〕12号 in one
//! table and 宁国土资罚[2022]12号 in another, one company as 丁矿业（集团）有限公司 and
//! 丁矿业(集团)有限公司; compared as typed, one penalty counted twice (a false criminal
//! referral) and one party split in two (a repeat offender missed). The key is for
//! comparing only: outputs keep the text as given.

/// The key two spellings of one name or number share: full-width ASCII folded to
/// half-width (an NFKC subset: ＡＢＣ１２３ → ABC123), every kind of whitespace dropped
/// (including the ideographic space), every bracket style made `(` `)` (（）〔〕［］【】
/// 〖〗「」{} []), and ASCII letters upper-cased (licence numbers are typed in either
/// case). Chinese text is otherwise left as it is: 国土 and 国土资源 stay different.
///
/// ```
/// use minewatch_ledger::match_key::key;
/// assert_eq!(key("宁国土资罚〔2022〕12号"), key("宁国土资罚[２０２２] 12号"));
/// assert_eq!(key("丁矿业（集团）有限公司"), key("丁矿业(集团)有限公司"));
/// assert_eq!(key(" c3201 0020 "), "C32010020");
/// assert_ne!(key("甲公司"), key("乙公司"));
/// ```
pub fn key(text: &str) -> String {
    text.chars()
        .map(fold_width)
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '(' | '[' | '{' | '〔' | '【' | '〖' | '「' | '『' | '〈' | '《' => '(',
            ')' | ']' | '}' | '〕' | '】' | '〗' | '」' | '』' | '〉' | '》' => ')',
            c => c.to_ascii_uppercase(),
        })
        .collect()
}

/// Full-width forms U+FF01–U+FF5E are ASCII U+0021–U+007E shifted by 0xFEE0; the
/// ideographic space is a space.
fn fold_width(c: char) -> char {
    match c as u32 {
        0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        0x3000 => ' ',
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    use super::key;

    /// Review finding (revR F4, F5): bracket styles, widths and spaces split one decision
    /// or one party in two.
    #[test]
    fn spellings_of_one_name_share_a_key() {
        for (a, b) in [
            ("宁国土资罚〔2022〕12号", "宁国土资罚[2022]12号"),
            ("宁国土资罚〔2022〕12号", "宁国土资罚［2022］12号"),
            ("宁国土资罚〔2022〕12号", "宁国土资罚【2022】12号"),
            ("宁国土资罚〔2022〕12号", "宁国土资罚(2022)１２号"),
            ("宁国土资罚〔2022〕12号", "宁国土资罚 〔2022〕 12 号"),
            ("丁矿业（集团）有限公司", "丁矿业(集团)有限公司"),
            ("戊公司", "戊 公司"),
            ("戊公司", "戊\u{3000}公司"),
            ("ＡＢＣ矿业", "abc矿业"),
            ("C3201002010127120012345", " c3201002010127120012345 "),
        ] {
            assert_eq!(key(a), key(b), "{a} / {b}");
        }
        assert_ne!(key("宁国土资罚〔2022〕12号"), key("宁国土资罚〔2022〕13号"));
        assert_ne!(key("国土"), key("国土资源"));
    }
}
