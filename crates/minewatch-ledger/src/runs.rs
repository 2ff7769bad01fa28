//! Runs of change along the chain of image dates (多年连续变化) and the growth between
//! adjacent comparisons. Pairs are joined only where one pair's later image is the next
//! pair's earlier image: calendar-year numbers say nothing about adjacency (quarterly
//! pairs straddle new year; biennial pairs skip years), the shared image date does.

use minewatch_core::{AcqDate, DatePair};
use std::collections::BTreeMap;

/// An unbroken chain of comparisons in which the site changed every time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChangeRun {
    /// The earlier image of the first comparison.
    pub first: AcqDate,
    /// The later image of the last comparison.
    pub last: AcqDate,
    /// Comparisons in the chain.
    pub pairs: u32,
    /// Its length in years: see [`run_years`].
    pub years: u32,
}

/// The site's latest comparison against the adjacent one before it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Growth {
    pub from: DatePair,
    pub to: DatePair,
    pub m2: f64,
    /// None when the earlier comparison's area is zero.
    pub pct: Option<f64>,
}

/// What the ledger learnt of a site's persistence; the policy cites these dates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Persistence {
    /// The longest run (most years, then most comparisons, then the latest).
    pub longest: Option<ChangeRun>,
    pub growth: Option<Growth>,
}

impl Persistence {
    /// Multi-year change: a run of at least two comparisons covering `min_years` years.
    /// One comparison, however far apart its images, shows the change once.
    pub fn multi_year(&self, min_years: u32) -> bool {
        self.longest
            .is_some_and(|r| r.pairs >= 2 && r.years >= min_years)
    }
}

/// Days since 1970-01-01 of a calendar date (proleptic Gregorian). A day past the month's
/// end runs on into the next month (29 February of a common year is 1 March).
fn days_ymd(year: i64, month: i64, day: i64) -> i64 {
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days(d: AcqDate) -> i64 {
    days_ymd(d.year as i64, d.month as i64, d.day as i64)
}

/// How far before an anniversary a run's last image may be taken and still complete that
/// year: images of "the same season" are taken days or weeks apart (clouds, revisits), and
/// annual images 2021-06-01, 2022-05-20, 2023-05-25 are two years of change. A month, no
/// more: a run of 1.5 years is not 2.
pub const ANNIVERSARY_SLACK_DAYS: i64 = 31;

/// The whole calendar years from `first` to `last`: the most N for which `last` is on or
/// after the N-th anniversary of `first`, less [`ANNIVERSARY_SLACK_DAYS`].
pub fn whole_years(first: AcqDate, last: AcqDate) -> u32 {
    let end = days(last) + ANNIVERSARY_SLACK_DAYS;
    let mut n = (last.year as i64 - first.year as i64 + 1).max(0);
    while n > 0 && days_ymd(first.year as i64 + n, first.month as i64, first.day as i64) > end {
        n -= 1;
    }
    n as u32
}

/// A run's length in years: the whole years from its first to its last image (see
/// [`whole_years`]), at least 1 — never rounded up, so a run of 1.5 years is 1, and
/// `min_run_years` is compared against dates, not a rounded span. A single comparison
/// counts 1 whatever its span.
pub fn run_years(first: AcqDate, last: AcqDate, pairs: u32) -> u32 {
    if pairs < 2 {
        return 1;
    }
    whole_years(first, last).max(1)
}

/// Runs and growth from the site's change area per comparison.
pub fn persistence(areas: &BTreeMap<DatePair, f64>) -> Persistence {
    // Longest chain ending at each pair: predecessors end where it begins. BTreeMap order
    // (earlier image first) visits every predecessor before the pairs it leads to.
    let mut chain: BTreeMap<DatePair, (AcqDate, u32)> = BTreeMap::new();
    for p in areas.keys() {
        let best = chain
            .iter()
            .filter(|(q, _)| q.after == p.before)
            .map(|(_, c)| *c)
            .min_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        let c = match best {
            Some((start, n)) => (start, n + 1),
            None => (p.before, 1),
        };
        chain.insert(*p, c);
    }
    let longest = chain
        .iter()
        .map(|(p, &(first, pairs))| ChangeRun {
            first,
            last: p.after,
            pairs,
            years: run_years(first, p.after, pairs),
        })
        .max_by(|a, b| {
            (a.years, a.pairs, a.last, std::cmp::Reverse(a.first)).cmp(&(
                b.years,
                b.pairs,
                b.last,
                std::cmp::Reverse(b.first),
            ))
        });
    let latest = areas.keys().max_by_key(|p| (p.after, p.before));
    let growth = latest.and_then(|to| {
        // The adjacent comparison before it: ends at its earlier image (the closest one
        // if several do).
        let from = areas
            .keys()
            .filter(|q| q.after == to.before)
            .max_by_key(|q| q.before)?;
        let (a, b) = (areas[from], areas[to]);
        Some(Growth {
            from: *from,
            to: *to,
            m2: b - a,
            pct: (a > 0.0).then(|| 100.0 * (b - a) / a),
        })
    });
    Persistence { longest, growth }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: u16, m: u8, dd: u8) -> AcqDate {
        AcqDate::new(y, m, dd).unwrap()
    }

    fn areas(v: &[(AcqDate, AcqDate, f64)]) -> BTreeMap<DatePair, f64> {
        v.iter()
            .map(|&(before, after, a)| (DatePair { before, after }, a))
            .collect()
    }

    #[test]
    fn day_numbers_match_the_calendar() {
        assert_eq!(days(d(1970, 1, 1)), 0);
        assert_eq!(
            days(d(2000, 3, 1)) - days(d(2000, 2, 28)),
            2,
            "2000 is leap"
        );
        assert_eq!(days(d(2024, 6, 1)) - days(d(2020, 6, 1)), 1461);
    }

    #[test]
    fn run_years_are_whole_years_between_the_dates() {
        assert_eq!(
            run_years(d(2020, 6, 1), d(2022, 5, 15), 2),
            2,
            "23.5 months: annual images a fortnight short of the anniversary"
        );
        assert_eq!(run_years(d(2023, 10, 1), d(2024, 4, 1), 2), 1, "6 months");
        assert_eq!(run_years(d(2019, 6, 1), d(2023, 6, 1), 2), 4);
        assert_eq!(
            run_years(d(2019, 6, 1), d(2023, 6, 1), 1),
            1,
            "one comparison"
        );
        assert_eq!(whole_years(d(2020, 2, 29), d(2021, 2, 28)), 1, "leap day");
        assert_eq!(whole_years(d(2020, 6, 1), d(2020, 6, 1)), 0);
        assert_eq!(
            whole_years(d(2020, 6, 1), d(2022, 4, 30)),
            1,
            "32 days short"
        );
    }

    /// Review finding: 2020-06-01→2021-05-01→2021-12-01 (1.5 years) rounded to "2 years"
    /// and was 多年连续变化 (+25), though a run must cover at least two years.
    #[test]
    fn a_run_of_a_year_and_a_half_is_not_two_years() {
        let p = persistence(&areas(&[
            (d(2020, 6, 1), d(2021, 5, 1), 1.0),
            (d(2021, 5, 1), d(2021, 12, 1), 1.0),
        ]));
        let r = p.longest.unwrap();
        assert_eq!((r.pairs, r.years), (2, 1));
        assert!(!p.multi_year(2));
        assert_eq!(run_years(d(2020, 6, 1), d(2022, 2, 1), 2), 1, "20 months");
    }

    #[test]
    fn the_longest_run_follows_shared_image_dates() {
        // Annual 2018→2019→2020, a gap, then quarterly 2023-01→04→07→10.
        let p = persistence(&areas(&[
            (d(2018, 6, 1), d(2019, 6, 1), 1.0),
            (d(2019, 6, 1), d(2020, 6, 1), 1.0),
            (d(2023, 1, 1), d(2023, 4, 1), 1.0),
            (d(2023, 4, 1), d(2023, 7, 1), 1.0),
            (d(2023, 7, 1), d(2023, 10, 1), 4.0),
        ]));
        let r = p.longest.unwrap();
        assert_eq!(
            (r.first, r.last, r.pairs, r.years),
            (d(2018, 6, 1), d(2020, 6, 1), 2, 2)
        );
        assert!(p.multi_year(2) && !p.multi_year(3));
        let g = p.growth.unwrap();
        assert_eq!(g.from.after, d(2023, 7, 1));
        assert_eq!((g.m2, g.pct), (3.0, Some(300.0)));
    }
}
