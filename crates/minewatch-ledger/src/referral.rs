//! The repeat-offender test of 法释〔2016〕25号 art. 3 (3): 二年内曾因非法采矿受过两次以上
//! 行政处罚, 又实施非法采矿行为. A penalty is one decision: the same decision number of the
//! same party listed twice (say once per licence it covers) counts once.

use minewatch_core::{AcqDate, Penalty, Referral};
use std::collections::BTreeMap;

/// The same day two years later (29 February → 28 February).
pub fn plus_two_years(d: AcqDate) -> AcqDate {
    AcqDate::new(d.year + 2, d.month, d.day)
        .or_else(|| AcqDate::new(d.year + 2, d.month, d.day - 1))
        .unwrap_or(d)
}

/// The party's distinct penalties, oldest first. A decision given with two dates is an
/// input error the caller reports; here the earlier date stands.
pub fn distinct<'a>(penalties: impl IntoIterator<Item = &'a Penalty>) -> Vec<&'a Penalty> {
    let mut by: BTreeMap<&str, &Penalty> = BTreeMap::new();
    for p in penalties {
        let e = by.entry(p.decision.as_str()).or_insert(p);
        if p.date < e.date {
            *e = p;
        }
    }
    let mut v: Vec<&Penalty> = by.into_values().collect();
    v.sort_by(|a, b| (a.date, &a.decision).cmp(&(b.date, &b.decision)));
    v
}

/// Referral of `party` for a new act on `act` (the later image of the site's latest change,
/// the latest the act can be). `ends_at_change`: the two years run back from the act and
/// every penalty in them is cited (the strict reading, the default); otherwise any two
/// penalties within two years of each other before the act will do.
pub fn referral(
    party: &str,
    penalties: &[&Penalty],
    act: AcqDate,
    ends_at_change: bool,
) -> Option<Referral> {
    let ps = distinct(penalties.iter().copied().filter(|p| p.party == party));
    let cite = |v: Vec<&Penalty>| Referral {
        party: party.to_string(),
        decisions: v.iter().map(|p| p.decision.clone()).collect(),
    };
    if ends_at_change {
        let inside: Vec<&Penalty> = ps
            .into_iter()
            .filter(|p| p.date < act && act <= plus_two_years(p.date))
            .collect();
        return (inside.len() >= 2).then(|| cite(inside));
    }
    for j in 1..ps.len() {
        for i in 0..j {
            if ps[j].date <= plus_two_years(ps[i].date) && act > ps[j].date {
                return Some(cite(vec![ps[i], ps[j]]));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: u16, m: u8, dd: u8) -> AcqDate {
        AcqDate::new(y, m, dd).unwrap()
    }

    fn pen(decision: &str, date: AcqDate) -> Penalty {
        Penalty {
            source: "t".into(),
            party: "甲".into(),
            licence: None,
            date,
            decision: decision.into(),
            lonlat: None,
        }
    }

    #[test]
    fn two_years_is_a_calendar_window() {
        assert_eq!(plus_two_years(d(2022, 1, 10)), d(2024, 1, 10));
        assert_eq!(plus_two_years(d(2024, 2, 29)), d(2026, 2, 28));
    }

    #[test]
    fn the_window_ends_at_the_act_and_includes_its_first_day() {
        let ps = [pen("a", d(2022, 6, 1)), pen("b", d(2023, 1, 1))];
        let refs: Vec<&Penalty> = ps.iter().collect();
        // Exactly two years after the first penalty: still inside.
        assert!(referral("甲", &refs, d(2024, 6, 1), true).is_some());
        assert!(referral("甲", &refs, d(2024, 6, 2), true).is_none());
        // On the day of the second penalty there is no act after it yet.
        assert!(referral("甲", &refs, d(2023, 1, 1), true).is_none());
        // Another party's penalties do not count.
        assert!(referral("乙", &refs, d(2024, 6, 1), true).is_none());
    }
}
