//! The repeat-offender test of 法释〔2016〕25号 art. 3 (3): 二年内曾因非法采矿受过两次以上
//! 行政处罚, 又实施非法采矿行为. A penalty is one decision: the same decision number of the
//! same party listed twice (say once per licence it covers) counts once. Parties and
//! decision numbers are compared by their [`key`]: 〔2022〕 and [2022], 丁矿业（集团） and
//! 丁矿业(集团) are one.

use crate::match_key::key;
use minewatch_core::{AcqDate, Penalty, Referral};
use std::collections::BTreeMap;

/// The same day two years later (29 February → 28 February).
pub fn plus_two_years(d: AcqDate) -> AcqDate {
    AcqDate::new(d.year + 2, d.month, d.day)
        .or_else(|| AcqDate::new(d.year + 2, d.month, d.day - 1))
        .unwrap_or(d)
}

/// The party's distinct penalties, oldest first. A decision given with two dates is an
/// input error the caller reports; here the earlier date stands. One decision written two
/// ways (〔2022〕12号, [2022]12号) is one: the first row's spelling is cited.
pub fn distinct<'a>(penalties: impl IntoIterator<Item = &'a Penalty>) -> Vec<&'a Penalty> {
    let mut by: BTreeMap<String, &Penalty> = BTreeMap::new();
    for p in penalties {
        let e = by.entry(key(&p.decision)).or_insert(p);
        if p.date < e.date {
            *e = p;
        }
    }
    let mut v: Vec<&Penalty> = by.into_values().collect();
    v.sort_by(|a, b| (a.date, &a.decision).cmp(&(b.date, &b.decision)));
    v
}

/// Referral of `party` for a new act somewhere in one of `acts`: the site's changed date
/// pairs (earlier image, later image], since the images only bound when the digging was
/// done. `ends_at_change`: the two years run back from the act, so the party is a
/// candidate when some day of some pair has at least two of its penalties in the two years
/// before it (the strict reading, the default) — checked at the latest such day, and every
/// penalty counting on that day is cited; otherwise any two penalties within two years of
/// each other before the latest act will do.
pub fn referral(
    party: &str,
    penalties: &[&Penalty],
    acts: &[(AcqDate, AcqDate)],
    ends_at_change: bool,
) -> Option<Referral> {
    let who = key(party);
    let ps = distinct(penalties.iter().copied().filter(|p| key(&p.party) == who));
    let cite = |v: Vec<&Penalty>| Referral {
        party: party.to_string(),
        decisions: v.iter().map(|p| p.decision.clone()).collect(),
    };
    if ends_at_change {
        // Penalty p counts for an act on day t when p.date < t <= p.date + 2 years. Two
        // penalties (oldest first) both count on the days (later.date, older.date + 2y];
        // an act is possible on the days (before, after]. The witness is the latest day of
        // the overlap.
        let mut best: Option<AcqDate> = None;
        for &(before, after) in acts {
            for j in 1..ps.len() {
                for i in 0..j {
                    let from = ps[j].date.max(before);
                    let to = plus_two_years(ps[i].date).min(after);
                    if from < to {
                        best = best.max(Some(to));
                    }
                }
            }
        }
        let t = best?;
        let inside: Vec<&Penalty> = ps
            .into_iter()
            .filter(|p| p.date < t && t <= plus_two_years(p.date))
            .collect();
        return (inside.len() >= 2).then(|| cite(inside));
    }
    let act = acts.iter().map(|a| a.1).max()?;
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
        // An act known to the day (a pair one day long): exactly two years after the
        // first penalty is still inside, the day after is not.
        let june1 = [(d(2024, 5, 31), d(2024, 6, 1))];
        let june2 = [(d(2024, 6, 1), d(2024, 6, 2))];
        assert!(referral("甲", &refs, &june1, true).is_some());
        assert!(referral("甲", &refs, &june2, true).is_none());
        // On the day of the second penalty there is no act after it yet.
        assert!(referral("甲", &refs, &[(d(2022, 12, 31), d(2023, 1, 1))], true).is_none());
        // Another party's penalties do not count.
        assert!(referral("乙", &refs, &june1, true).is_none());
    }

    /// Review finding (revR F4): one decision listed as 〔2022〕12号 on one row and
    /// [2022]12号 on another counted as two penalties: a criminal referral on one.
    #[test]
    fn one_decision_in_two_bracket_styles_is_one_penalty() {
        let ps = [
            pen("宁国土资罚〔2022〕12号", d(2022, 6, 1)),
            pen("宁国土资罚[2022]12号", d(2022, 6, 1)),
        ];
        let refs: Vec<&Penalty> = ps.iter().collect();
        let act = [(d(2022, 7, 1), d(2023, 6, 1))];
        assert_eq!(distinct(refs.iter().copied()).len(), 1);
        assert!(referral("甲", &refs, &act, true).is_none());
        assert!(referral("甲", &refs, &act, false).is_none());
    }

    /// Review finding (revR F5): 丁矿业（集团）有限公司 and 丁矿业(集团)有限公司, 戊公司 and
    /// 戊 公司 were two parties each, so two penalties of one party never met.
    #[test]
    fn spellings_of_one_party_are_one_party() {
        let act = [(d(2023, 6, 1), d(2024, 6, 1))];
        for (a, b) in [
            ("丁矿业（集团）有限公司", "丁矿业(集团)有限公司"),
            ("戊公司", "戊 公司"),
        ] {
            let mut ps = [pen("a", d(2023, 1, 1)), pen("b", d(2023, 2, 1))];
            ps[0].party = a.into();
            ps[1].party = b.into();
            let refs: Vec<&Penalty> = ps.iter().collect();
            let r = referral(a, &refs, &act, true).expect(a);
            // Outputs keep the text as given.
            assert_eq!((r.party.as_str(), r.decisions.len()), (a, 2));
        }
    }

    /// The images only bound the act: a change between 2024-03-01 and 2024-09-01 may have
    /// been dug on 2024-05-01, within two years of both penalties, though the later image
    /// is not — a candidate for the prosecutors' review. A pair wholly after the window is
    /// not.
    #[test]
    fn an_act_anywhere_in_the_pair_can_refer() {
        let ps = [pen("a", d(2022, 6, 1)), pen("b", d(2023, 1, 1))];
        let refs: Vec<&Penalty> = ps.iter().collect();
        let r = referral("甲", &refs, &[(d(2024, 3, 1), d(2024, 9, 1))], true).unwrap();
        assert_eq!(r.decisions, vec!["a", "b"]);
        assert!(referral("甲", &refs, &[(d(2024, 6, 1), d(2025, 6, 1))], true).is_none());
        // Any of the site's changed pairs will do.
        let acts = [
            (d(2024, 6, 1), d(2025, 6, 1)),
            (d(2023, 1, 1), d(2023, 6, 1)),
        ];
        assert!(referral("甲", &refs, &acts, true).is_some());
    }
}
