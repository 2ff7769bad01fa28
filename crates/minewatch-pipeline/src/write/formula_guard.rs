//! Text cells of the CSVs meant for Excel, kept from being read as formulas (CSV or
//! formula injection, OWASP): Excel evaluates a cell that starts with `=`, `+`, `-` or `@`
//! (and some readers a tab or carriage return first), so a zone named
//! `=HYPERLINK("http://…")` in a layer would become a live link in findings.csv. Such a
//! text gets a leading `'`, which Excel shows as text. Numbers are left alone (a negative
//! number must stay a number), and so is a text that is a plain number (`-12.5`).
//!
//! The guard is undone on reading (`unguard`), so a table that went out and comes back
//! (a returned form, a previous ledger) reads as it was written. Texts that already start
//! with quotes before such a character get one more, so `unguard` is exact for every text.

use std::borrow::Cow;

/// Characters that make Excel (or LibreOffice) take a cell for a formula.
const TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Whether `s` (after any leading quotes) would be taken for a formula.
fn formula_like(s: &str) -> bool {
    let rest = s.trim_start_matches('\'');
    rest.starts_with(TRIGGERS) && !plain_number(rest)
}

/// A decimal number as Excel reads it into a number cell: sign, digits, point, exponent.
fn plain_number(s: &str) -> bool {
    s.parse::<f64>().is_ok_and(f64::is_finite)
        && s.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | '.' | 'e' | 'E'))
}

/// The cell text to write for a text value.
pub fn guard(s: &str) -> Cow<'_, str> {
    if formula_like(s) {
        Cow::Owned(format!("'{s}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// The text a guarded cell stood for (a cell Excel saved with its quote kept reads the same).
pub fn unguard(s: &str) -> &str {
    match s.strip_prefix('\'') {
        Some(rest) if formula_like(rest) => rest,
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_quoted_and_numbers_are_not() {
        for (raw, cell) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+86 25 1234", "'+86 25 1234"),
            ("-|high", "'-|high"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("-inf", "'-inf"),
            ("- 5", "'- 5"),
            ("'=1", "''=1"),
            ("-12.5", "-12.5"),
            ("+3", "+3"),
            ("-1e-5", "-1e-5"),
            ("南京", "南京"),
            ("a=b", "a=b"),
            ("'quoted'", "'quoted'"),
            ("'-5", "'-5"),
            ("", ""),
        ] {
            assert_eq!(guard(raw), cell, "{raw:?}");
            assert_eq!(unguard(&guard(raw)), raw, "{raw:?} back");
        }
        // A cell Excel re-saved without the quote reads as it is.
        assert_eq!(unguard("=1"), "=1");
    }
}
