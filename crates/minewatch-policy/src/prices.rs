//! Mineral price surges from a price table: per mineral, the change between its last two
//! periods (or a given `change_pct` of its last period), counted only when that last period
//! is the table's latest (an old surge is no reason to rank a site today). Periods are read
//! as dates, by the day they end: `2023`, `2023Q4`, `2023H2`, `2024-06`, `2024-6`,
//! `2024年6月`, `202406`, `2024-06-30`; text sorting would put `2022-9` after `2022-12`.

use crate::minerals::canonical;
use crate::policy::Policy;
use std::collections::BTreeMap;

/// One row of the price table.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceRow {
    pub mineral: String,
    pub period: String,
    pub price: Option<f64>,
    pub change_pct: Option<f64>,
}

/// The day a period ends, (year, month, day) — comparable across granularities.
pub fn period_end(text: &str) -> Result<(u16, u8, u8), String> {
    let bad = || {
        format!(
            "period `{text}` is not a year (2023), half (2023H2), quarter (2023Q4), month (2024-06, 2024年6月) or date (2024-06-30)"
        )
    };
    // 2023年第2季度 → 2023-Q2; 2024年6月 → 2024-6.
    let mut t: String = text.trim().to_uppercase();
    if let Some(q) = t.strip_suffix("季度") {
        let (head, n) = q.split_at(q.trim_end_matches(|c: char| c.is_ascii_digit()).len());
        t = format!("{}Q{n}", head.trim_end_matches('第'));
    }
    let t = t
        .replace(['年', '/', '.', '_'], "-")
        .replace(['月', '日'], "");
    let t = t.trim_end_matches('-');
    let year = |y: &str| -> Option<u16> {
        (y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()))
            .then(|| y.parse().ok())
            .flatten()
    };
    let month_end = |y: u16, m: u8| -> (u16, u8, u8) {
        let leap = (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
        let d = match m {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        (y, m, d)
    };
    let num = |s: &str| -> Option<u8> {
        (!s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    // YYYYMM and YYYYMMDD without separators.
    let t = if (t.len() == 6 || t.len() == 8) && t.bytes().all(|b| b.is_ascii_digit()) {
        let mut x = format!("{}-{}", &t[..4], &t[4..6]);
        if t.len() == 8 {
            x = format!("{x}-{}", &t[6..]);
        }
        x
    } else {
        t.to_string()
    };
    let t = t.as_str();
    if let Some(y) = year(t) {
        return Ok((y, 12, 31));
    }
    let (y, rest) = t.split_at(4.min(t.len()));
    let y = year(y).ok_or_else(bad)?;
    let rest = rest.trim_start_matches('-');
    if let Some(q) = rest.strip_prefix('Q') {
        let q = num(q).filter(|q| (1..=4).contains(q)).ok_or_else(bad)?;
        return Ok(month_end(y, 3 * q));
    }
    if let Some(h) = rest.strip_prefix('H') {
        let h = num(h).filter(|h| (1..=2).contains(h)).ok_or_else(bad)?;
        return Ok(month_end(y, 6 * h));
    }
    let mut parts = rest.split('-');
    let m = parts
        .next()
        .and_then(num)
        .filter(|m| (1..=12).contains(m))
        .ok_or_else(bad)?;
    match (parts.next(), parts.next()) {
        (None, _) => Ok(month_end(y, m)),
        (Some(d), None) => {
            let d = num(d)
                .filter(|&d| d >= 1 && d <= month_end(y, m).2)
                .ok_or_else(bad)?;
            Ok((y, m, d))
        }
        _ => Err(bad()),
    }
}

/// Minerals whose latest change exceeds the policy's threshold, with the change in percent,
/// by canonical name (金矿 and 金 are one series: see `minerals`); and the minerals left out
/// because their prices stop before the table's latest period (name, their last period).
/// Periods that cannot be read sort last (the reader refuses them first).
pub fn surges(rows: &[PriceRow], p: &Policy) -> (BTreeMap<String, f64>, Vec<(String, String)>) {
    let end = |r: &PriceRow| period_end(&r.period).unwrap_or((u16::MAX, 12, 31));
    let latest = rows.iter().map(end).max();
    let mut by: BTreeMap<String, Vec<&PriceRow>> = BTreeMap::new();
    for r in rows {
        by.entry(canonical(&r.mineral)).or_default().push(r);
    }
    let mut out = BTreeMap::new();
    let mut stale = Vec::new();
    for (m, mut v) in by {
        v.sort_by_key(|r| end(r));
        let last = v[v.len() - 1];
        let change = last.change_pct.or_else(|| {
            let prev = v.len().checked_sub(2).map(|i| v[i])?;
            match (prev.price, last.price) {
                (Some(a), Some(b)) if a > 0.0 => Some(100.0 * (b - a) / a),
                _ => None,
            }
        });
        if let Some(c) = change.filter(|c| *c > p.minerals.price_surge_pct) {
            if Some(end(last)) == latest {
                out.insert(m, c);
            } else {
                stale.push((m, last.period.clone()));
            }
        }
    }
    (out, stale)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(m: &str, period: &str, price: f64) -> PriceRow {
        PriceRow {
            mineral: m.into(),
            period: period.into(),
            price: Some(price),
            change_pct: None,
        }
    }

    #[test]
    fn surge_is_the_last_change_over_the_threshold() {
        let p = Policy::default();
        let rows = vec![
            row("铜", "2023", 100.0),
            row("铜", "2024", 140.0),
            row("煤", "2023", 100.0),
            row("煤", "2024", 120.0),
            row("稀土", "2022", 100.0),
            row("稀土", "2024", 90.0),
            row("稀土", "2023", 50.0),
        ];
        let (s, _) = surges(&rows, &p);
        // 煤 +20 % stays under 30 %; 稀土 is judged on 2023 → 2024 (+80 %), not file order.
        assert_eq!(s.len(), 2);
        assert!((s["铜"] - 40.0).abs() < 1e-9);
        assert!((s["稀土"] - 80.0).abs() < 1e-9);
    }

    /// Review findings: periods sorted as text put `2022-9` after `2022-12` (a 40 % rise in
    /// December was missed), and a surge of 2018→2019 still counted in a table running to
    /// 2022.
    #[test]
    fn periods_are_dates_and_old_surges_do_not_count() {
        let p = Policy::default();
        let rows = vec![
            row("萤石", "2022-9", 100.0),
            row("萤石", "2022-10", 100.0),
            row("萤石", "2022年11月", 100.0),
            row("萤石", "2022-12", 140.0),
            row("钨", "2018", 100.0),
            row("钨", "2019", 200.0),
        ];
        let (s, stale) = surges(&rows, &p);
        assert_eq!(s.len(), 1, "{s:?}");
        assert!((s["萤石"] - 40.0).abs() < 1e-9);
        assert_eq!(stale, vec![("钨".to_string(), "2019".to_string())]);
        for (t, want) in [
            ("2023", (2023, 12, 31)),
            ("2023Q1", (2023, 3, 31)),
            ("2023年第2季度", (2023, 6, 30)),
            ("2024H1", (2024, 6, 30)),
            ("2024-2", (2024, 2, 29)),
            ("202406", (2024, 6, 30)),
            ("2024/06/15", (2024, 6, 15)),
            ("20240615", (2024, 6, 15)),
        ] {
            assert_eq!(period_end(t), Ok(want), "{t}");
        }
        for t in ["June 2024", "2024-13", "2024Q5", "24-06", "2024-02-30"] {
            assert!(period_end(t).is_err(), "{t}");
        }
    }
}
