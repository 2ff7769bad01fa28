//! Mineral price surges from a price table: per mineral, the change between its last two
//! periods (or a given `change_pct` of its last period). Periods sort as text
//! (`2023`, `2023Q4`, `2024-06` all work).

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

/// Minerals whose latest change exceeds the policy's threshold, with the change in percent,
/// by canonical name (金矿 and 金 are one series: see `minerals`).
pub fn surges(rows: &[PriceRow], p: &Policy) -> BTreeMap<String, f64> {
    let mut by: BTreeMap<String, Vec<&PriceRow>> = BTreeMap::new();
    for r in rows {
        by.entry(canonical(&r.mineral)).or_default().push(r);
    }
    let mut out = BTreeMap::new();
    for (m, mut v) in by {
        v.sort_by(|a, b| a.period.cmp(&b.period));
        let last = v[v.len() - 1];
        let change = last.change_pct.or_else(|| {
            let prev = v.len().checked_sub(2).map(|i| v[i])?;
            match (prev.price, last.price) {
                (Some(a), Some(b)) if a > 0.0 => Some(100.0 * (b - a) / a),
                _ => None,
            }
        });
        if let Some(c) = change.filter(|c| *c > p.minerals.price_surge_pct) {
            out.insert(m, c);
        }
    }
    out
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
        let s = surges(&rows, &p);
        // 煤 +20 % stays under 30 %; 稀土 is judged on 2023 → 2024 (+80 %), not file order.
        assert_eq!(s.len(), 2);
        assert!((s["铜"] - 40.0).abs() < 1e-9);
        assert!((s["稀土"] - 80.0).abs() < 1e-9);
    }
}
