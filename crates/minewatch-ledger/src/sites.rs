//! From linked patches to sites: stable ids, years of change, runs, areas, growth, and the
//! earlier verdicts and penalties that belong to each site.

use crate::false_change::{since_verdict, SinceVerdict};
use crate::link::{bbox, link, within};
use crate::match_key::key;
use crate::referral::referral;
use crate::runs::{persistence, Persistence};
use geo::Contains;
use geo_types::{Coord, MultiPolygon, Point};
use minewatch_core::{
    AcqDate, DatePair, Finding, HistoryRecord, LicenceStatus, Penalty, Site, Verdict, ZoneKind,
};
use std::collections::{BTreeMap, BTreeSet};

/// One patch handed to the ledger.
#[derive(Debug, Clone)]
pub struct LedgerPatch {
    pub id: String,
    pub pair: DatePair,
    /// In a projected CRS in metres (the same for all patches).
    pub geom: MultiPolygon<f64>,
    pub area_m2: f64,
    pub change_type: String,
    pub confidence: String,
    pub centre_lonlat: (f64, f64),
    pub finding: Finding,
    /// The change reverses mining (vegetation came back on the ground: 复绿): the land
    /// recovered, so it is no act, no area and no year of 多年连续变化 (see `restoration`).
    pub restores: bool,
}

/// Knobs of the ledger (from the policy file's `[ledger]` table).
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerParams {
    /// Patches of different pairs this close (m) belong to one site.
    pub link_distance_m: f64,
    /// Years a run of consecutive changed comparisons must cover to make a site
    /// `multi_year_change` (see `runs`).
    pub min_run_years: u32,
    /// A false-change site counts as grown when its footprint found after the verdict,
    /// outside the footprint known at the verdict, exceeds this share (percent) of the
    /// known footprint (see `false_change`).
    pub false_change_growth_pct: f64,
    /// A history record or penalty given by location matches a site this close (m).
    pub location_link_m: f64,
    /// Count the two years back from the new change (the strict reading of art. 3 (3):
    /// 二年内 before the new act; the default) instead of any two-year window before it.
    pub referral_window_ends_at_change: bool,
}

impl Default for LedgerParams {
    fn default() -> Self {
        Self {
            link_distance_m: 30.0,
            min_run_years: 2,
            false_change_growth_pct: 20.0,
            location_link_m: 100.0,
            referral_window_ends_at_change: true,
        }
    }
}

/// History and penalties with their location in the patches' CRS (None: no location).
pub struct Outside<'a> {
    pub history: &'a [(HistoryRecord, Option<(f64, f64)>)],
    pub penalties: &'a [(Penalty, Option<(f64, f64)>)],
}

/// The sites with what the ledger knows beyond them.
#[derive(Debug, Clone)]
pub struct Ledger {
    /// By id.
    pub sites: Vec<Site>,
    /// Runs and growth of each site, in the order of `sites`.
    pub persistence: Vec<Persistence>,
    /// Indices of history rows that matched no site.
    pub unmatched_history: Vec<usize>,
    /// Indices of penalty rows that link to no site (by licence or location) and whose
    /// party links to none either: they weigh nothing.
    pub unmatched_penalties: Vec<usize>,
    /// The latest pair of each chain of comparisons (pairs linked by a shared date): one
    /// for a region imaged on the same dates, several when findings of regions imaged on
    /// other dates are ranked together.
    pub chain_ends: Vec<DatePair>,
    /// Sites filed as 伪变化 none of whose patches predates the verdict, with the verdict's
    /// date: growth since cannot be measured, so the verdict stands; the caller warns.
    pub false_change_unassessed: Vec<(String, AcqDate)>,
}

/// Each pair's chain end: the latest pair (by later date, then earlier date) of the pairs
/// linked to it through shared dates. A site has new change when it changed in the latest
/// comparison *of its own imagery*: a region whose images were taken a month later must not
/// make every site of another region look old.
pub fn chain_ends(pairs: &[DatePair]) -> BTreeMap<DatePair, DatePair> {
    // A handful of pairs: a plain union-find over their indices.
    let mut parent: Vec<usize> = (0..pairs.len()).collect();
    fn root(p: &[usize], mut x: usize) -> usize {
        while p[x] != x {
            x = p[x];
        }
        x
    }
    let mut by_date: BTreeMap<AcqDate, usize> = BTreeMap::new();
    for (i, p) in pairs.iter().enumerate() {
        for d in [p.before, p.after] {
            let j = *by_date.entry(d).or_insert(i);
            let (a, b) = (root(&parent, i), root(&parent, j));
            parent[a.max(b)] = a.min(b);
        }
    }
    let mut end: BTreeMap<usize, DatePair> = BTreeMap::new();
    for (i, p) in pairs.iter().enumerate() {
        let e = end.entry(root(&parent, i)).or_insert(*p);
        if (p.after, p.before) > (e.after, e.before) {
            *e = *p;
        }
    }
    pairs
        .iter()
        .enumerate()
        .map(|(i, p)| (*p, end[&root(&parent, i)]))
        .collect()
}

/// Two different pairs of one chain of dates whose intervals overlap (2019→2021 beside
/// 2019→2020): the same change would be counted twice. Pairs of regions imaged on other
/// dates (no date shared) overlap in time without sharing any change.
pub fn overlapping_pairs(pairs: &[DatePair]) -> Option<(DatePair, DatePair)> {
    let ends = chain_ends(pairs);
    pairs.iter().enumerate().find_map(|(i, a)| {
        pairs[i + 1..]
            .iter()
            .find(|b| *a != **b && a.before < b.after && b.before < a.after && ends[a] == ends[*b])
            .map(|b| (*a, *b))
    })
}

/// Build the sites. `prior` maps patch ids of an earlier ledger to their site ids.
pub fn build(
    patches: &[LedgerPatch],
    prior: &BTreeMap<String, String>,
    outside: &Outside,
    p: &LedgerParams,
) -> Vec<Site> {
    build_ledger(patches, prior, outside, p).sites
}

/// [`build`], keeping each site's runs and the rows that matched nothing. The date pairs
/// are those of the patches only: a comparison that found nothing is unknown (see
/// [`build_ledger_compared`]).
pub fn build_ledger(
    patches: &[LedgerPatch],
    prior: &BTreeMap<String, String>,
    outside: &Outside,
    p: &LedgerParams,
) -> Ledger {
    build_ledger_compared(patches, &[], prior, outside, p)
}

/// [`build_ledger`] knowing every pair detect compared (`compared`), patches or not. A pair
/// that found nothing is still the latest comparison of its chain of dates: a site dug in
/// 2019→2020 and untouched through 2021→2022 has no new change. Without it the chains end
/// at the latest pair with patches and such a site looks new.
pub fn build_ledger_compared(
    patches: &[LedgerPatch],
    compared: &[DatePair],
    prior: &BTreeMap<String, String>,
    outside: &Outside,
    p: &LedgerParams,
) -> Ledger {
    // Data order: by after date, before date, id — never the input order.
    let mut order: Vec<usize> = (0..patches.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (&patches[a], &patches[b]);
        (x.pair.after, x.pair.before, &x.id).cmp(&(y.pair.after, y.pair.before, &y.id))
    });
    let pairs: Vec<DatePair> = {
        let s: BTreeSet<(AcqDate, AcqDate)> = patches
            .iter()
            .map(|x| x.pair)
            .chain(compared.iter().copied())
            .map(|q| (q.after, q.before))
            .collect();
        s.into_iter()
            .map(|(after, before)| DatePair { before, after })
            .collect()
    };
    let pair_ix: Vec<usize> = order
        .iter()
        .map(|&i| {
            pairs
                .iter()
                .position(|q| *q == patches[i].pair)
                .unwrap_or(0)
        })
        .collect();
    let geoms: Vec<MultiPolygon<f64>> = order.iter().map(|&i| patches[i].geom.clone()).collect();
    let groups = link(&geoms, &pair_ix, p.link_distance_m);
    let ends = chain_ends(&pairs);
    let mut members: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (k, g) in groups.iter().enumerate() {
        members.entry(*g).or_default().push(order[k]);
    }
    let boxes: Vec<Option<[f64; 4]>> = patches.iter().map(|x| bbox(&x.geom)).collect();
    let made: Vec<Made> = members
        .values()
        .map(|m| make_site(patches, m, prior, &ends, &boxes, outside, p))
        .collect();
    let mut used_history = vec![false; outside.history.len()];
    let mut used_penalty = vec![false; outside.penalties.len()];
    // By key: 戊 公司 on an unlinked row is the 戊公司 a site links to.
    let mut parties: BTreeSet<String> = BTreeSet::new();
    for x in &made {
        x.history.iter().for_each(|&i| used_history[i] = true);
        x.penalties.iter().for_each(|&i| used_penalty[i] = true);
        parties.extend(x.site.parties.iter().map(|p| key(p)));
    }
    let mut sites: Vec<(Site, Persistence, Option<AcqDate>)> = made
        .into_iter()
        .map(|x| (x.site, x.persistence, x.unassessed))
        .collect();
    // An earlier site whose bridging patch is gone splits: the group holding its earliest
    // patch keeps the id, the others take ids of their own.
    sites.sort_by(|(a, ..), (b, ..)| (&a.id, &a.patch_ids[0]).cmp(&(&b.id, &b.patch_ids[0])));
    let mut taken: BTreeSet<String> = sites.iter().map(|(s, ..)| s.id.clone()).collect();
    for k in 1..sites.len() {
        if sites[..k].iter().any(|(s, ..)| s.id == sites[k].0.id) {
            let site = &mut sites[k].0;
            // From its own earliest patch, unless another site holds that id already (an
            // earlier ledger may have given it one): then the first free `-2`, `-3` …
            let base = format!("S{}", site.patch_ids[0]);
            let mut fresh = base.clone();
            let mut n = 1;
            while taken.contains(&fresh) {
                n += 1;
                fresh = format!("{base}-{n}");
            }
            taken.insert(fresh.clone());
            let old = std::mem::replace(&mut site.id, fresh);
            site.merged_ids.retain(|m| *m != old);
        }
    }
    sites.sort_by(|(a, ..), (b, ..)| a.id.cmp(&b.id));
    let false_change_unassessed = sites
        .iter()
        .filter_map(|(s, _, u)| u.map(|d| (s.id.clone(), d)))
        .collect();
    let (sites, persistence) = sites.into_iter().map(|(s, r, _)| (s, r)).unzip();
    Ledger {
        sites,
        persistence,
        unmatched_history: (0..used_history.len())
            .filter(|&i| !used_history[i])
            .collect(),
        unmatched_penalties: (0..used_penalty.len())
            .filter(|&i| !used_penalty[i] && !parties.contains(&key(&outside.penalties[i].0.party)))
            .collect(),
        chain_ends: ends
            .values()
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
        false_change_unassessed,
    }
}

/// One site and the outside rows it took.
struct Made {
    site: Site,
    persistence: Persistence,
    history: Vec<usize>,
    penalties: Vec<usize>,
    /// A 伪变化 verdict (its date) whose growth since cannot be measured.
    unassessed: Option<AcqDate>,
}

fn make_site(
    patches: &[LedgerPatch],
    m: &[usize],
    prior: &BTreeMap<String, String>,
    ends: &BTreeMap<DatePair, DatePair>,
    boxes: &[Option<[f64; 4]>],
    outside: &Outside,
    p: &LedgerParams,
) -> Made {
    let earliest = &patches[m[0]];
    let prior_ids: BTreeSet<&String> = m
        .iter()
        .filter_map(|&i| prior.get(&patches[i].id))
        .collect();
    let (id, merged_ids) = match prior_ids.iter().next() {
        None => (format!("S{}", earliest.id), Vec::new()),
        Some(first) => (
            (*first).clone(),
            prior_ids.iter().skip(1).map(|s| (*s).clone()).collect(),
        ),
    };
    // A reversal (vegetation back on ground the site had dug) is the land recovering, not
    // another year of mining: it adds no area, no year to a run and no act. A site of
    // reversals only keeps them as its latest patches, so it still has a place.
    let mining: Vec<usize> = m
        .iter()
        .copied()
        .filter(|&i| !patches[i].restores)
        .collect();
    let basis: &[usize] = if mining.is_empty() { m } else { &mining };
    let mut by_year: BTreeMap<u16, f64> = BTreeMap::new();
    let mut by_pair: BTreeMap<DatePair, f64> = BTreeMap::new();
    for &i in &mining {
        *by_year.entry(patches[i].pair.after.year).or_default() += patches[i].area_m2;
        *by_pair.entry(patches[i].pair).or_default() += patches[i].area_m2;
    }
    let years: Vec<u16> = by_year.keys().copied().collect();
    let last_year = *years.last().unwrap_or(&earliest.pair.after.year);
    // The latest patches are those of the site's latest comparison, not of its last
    // calendar year: three quarterly pairs of one year are three changes, and summing them
    // counted the same ground up to three times (docs/rank.md: calendar-year numbers play
    // no part). Pairs of one chain never share a later date (overlapping pairs are
    // refused), so the latest pair is one comparison.
    let newest = |ix: &[usize]| {
        ix.iter()
            .map(|&i| patches[i].pair)
            .max_by_key(|q| (q.after, q.before))
            .unwrap_or(earliest.pair)
    };
    let latest_pair = newest(basis);
    let latest: Vec<usize> = basis
        .iter()
        .copied()
        .filter(|&i| patches[i].pair == latest_pair)
        .collect();
    // Restored: the site's latest comparison shows only reversals.
    let restored = Some(newest(m)).filter(|q| {
        m.iter()
            .filter(|&&i| patches[i].pair == *q)
            .all(|&i| patches[i].restores)
    });
    let biggest = latest
        .iter()
        .copied()
        .max_by(|&a, &b| {
            patches[a]
                .area_m2
                .total_cmp(&patches[b].area_m2)
                .then_with(|| patches[b].id.cmp(&patches[a].id))
        })
        .unwrap_or(m[0]);
    let conf_rank = |c: &str| match c {
        "highest" => 3,
        "high" => 2,
        "low" => 1,
        _ => 0,
    };
    let last_confidence = latest
        .iter()
        .map(|&i| patches[i].confidence.as_str())
        .max_by_key(|c| conf_rank(c))
        .unwrap_or("")
        .to_string();
    let w: f64 = latest.iter().map(|&i| patches[i].area_m2).sum();
    let centre = if w > 0.0 {
        let (x, y) = latest.iter().fold((0.0, 0.0), |(x, y), &i| {
            let a = patches[i].area_m2 / w;
            (
                x + a * patches[i].centre_lonlat.0,
                y + a * patches[i].centre_lonlat.1,
            )
        });
        (x, y)
    } else {
        earliest.centre_lonlat
    };
    let areas: Vec<(u16, f64)> = by_year.into_iter().collect();
    let patch_ids: BTreeSet<&str> = m.iter().map(|&i| patches[i].id.as_str()).collect();
    // A point matches when inside a patch of the site or within the location distance.
    let near = |pt: (f64, f64)| {
        let c = Point(Coord { x: pt.0, y: pt.1 });
        let pb = [pt.0, pt.1, pt.0, pt.1];
        m.iter().any(|&i| {
            let Some(b) = boxes[i] else { return false };
            patches[i].geom.contains(&c)
                || within(
                    &point_square(pt),
                    pb,
                    &patches[i].geom,
                    b,
                    p.location_link_m,
                )
        })
    };
    let history_ix: Vec<usize> = (0..outside.history.len())
        .filter(|&k| {
            let (h, at) = &outside.history[k];
            h.site_id
                .as_ref()
                .is_some_and(|s| *s == id || merged_ids.contains(s))
                || h.patch_id
                    .as_ref()
                    .is_some_and(|x| patch_ids.contains(x.as_str()))
                || at.is_some_and(near)
        })
        .collect();
    let mut history: Vec<HistoryRecord> = history_ix
        .iter()
        .map(|&k| outside.history[k].0.clone())
        .collect();
    history.sort_by(|a, b| (a.date, &a.source).cmp(&(b.date, &b.source)));
    // The site's latest verdict, when it is 伪变化 (as the policy reads it): change the
    // county saw and judged false is no change. Growth since is new ground outside what it
    // saw; re-detecting the same ground is not growth.
    let false_change = history
        .last()
        .filter(|h| h.verdict == Verdict::FalseChange)
        .map(|h| h.date);
    let since = false_change.map(|date| {
        let (known, later): (Vec<usize>, Vec<usize>) =
            basis.iter().partition(|&&i| patches[i].pair.after <= date);
        let geoms = |ix: &[usize]| -> Vec<&MultiPolygon<f64>> {
            ix.iter().map(|&i| &patches[i].geom).collect()
        };
        since_verdict(&geoms(&known), &geoms(&later), p.false_change_growth_pct)
    });
    // None when it cannot be measured (no patch before the verdict): the verdict stands.
    let grew = since.and_then(|x| match x {
        SinceVerdict::Unknown => None,
        x => Some(x.grown()),
    });
    // Runs and growth count only comparisons after a 伪变化 verdict: the pairs the county
    // judged are not change, so a re-detection of their ground earns no 多年连续变化 for
    // the years before the verdict.
    let runs = match false_change {
        None => persistence(&by_pair),
        Some(date) => persistence(
            &by_pair
                .iter()
                .filter(|(q, _)| q.after > date)
                .map(|(q, a)| (*q, *a))
                .collect(),
        ),
    };
    let (growth_m2, growth_pct) = runs.growth.map_or((0.0, None), |g| (g.m2, g.pct));
    // A licence ties the site to its holder's penalties where it holds at least half of
    // one of the site's patches, or where a patch is 越界 (`partly_outside`) and the licence
    // holds at least `OVERREACH_LINK_PCT` of it: the licensee digging past its boundary is
    // the offender, and a 越界 pit is often mostly outside. A sliver along a licence line
    // still does not pin the case on the holder (as for the licence status;
    // docs/overlay.md). Penalties given with a location still link by distance.
    // Licence numbers by key: a penalty table's ` c3201…` is the register's `C3201…`.
    let licences: BTreeSet<String> = m
        .iter()
        .flat_map(|&i| {
            let f = &patches[i].finding;
            let overreach = f.licence_status == LicenceStatus::PartlyOutside;
            f.hits.iter().filter(move |h| {
                matches!(h.kind, ZoneKind::MiningRight | ZoneKind::ExplorationRight)
                    && (h.overlap_pct >= 50.0
                        || (overreach
                            && h.kind == ZoneKind::MiningRight
                            && h.overlap_pct >= OVERREACH_LINK_PCT))
            })
        })
        .map(|h| key(&h.zone_id))
        .collect();
    let penalty_ix: Vec<usize> = (0..outside.penalties.len())
        .filter(|&k| {
            let (pn, at) = &outside.penalties[k];
            pn.licence
                .as_deref()
                .is_some_and(|l| licences.contains(&key(l)))
                || at.is_some_and(near)
        })
        .collect();
    // One party per key (丁矿业（集团） and 丁矿业(集团) are one), named as its first
    // linked row spells it.
    let mut by_party: BTreeMap<String, String> = BTreeMap::new();
    for &k in &penalty_ix {
        let name = &outside.penalties[k].0.party;
        by_party.entry(key(name)).or_insert_with(|| name.clone());
    }
    let parties: BTreeSet<String> = by_party.into_values().collect();
    let last_date = latest_pair.after;
    // Each changed pair bounds one act: dug after its earlier image, by its later one.
    // Only suspected illegal mining is an act (法释〔2016〕25号 art. 3(3): 又实施非法采矿):
    // change inside the holder's own valid licence, or on special land, is not.
    // Nor is a change the county verified as 伪变化 or 合法: the verdict that judged a pair
    // is the one naming its patch, else the site's first verdict dated on or after its later
    // image (the field check that saw it).
    let judged_not_illegal = |i: usize| {
        let q = &patches[i];
        let by_patch = history
            .iter()
            .rfind(|h| h.patch_id.as_deref() == Some(q.id.as_str()));
        let first_after = || history.iter().find(|h| h.date >= q.pair.after);
        by_patch
            .or_else(first_after)
            .is_some_and(|h| matches!(h.verdict, Verdict::FalseChange | Verdict::Legal))
    };
    let mut acts: Vec<(AcqDate, AcqDate)> = mining
        .iter()
        .filter(|&&i| {
            let f = &patches[i].finding;
            f.licence_status.suspect() && !f.special_land && !judged_not_illegal(i)
        })
        .map(|&i| (patches[i].pair.before, patches[i].pair.after))
        .collect();
    acts.sort();
    acts.dedup();
    // A party's penalties count wherever they were given, not only at this site.
    let all: Vec<&Penalty> = outside.penalties.iter().map(|(pn, _)| pn).collect();
    let criminal_referral = parties
        .iter()
        .find_map(|party| referral(party, &all, &acts, p.referral_window_ends_at_change));
    let site = Site {
        merged_ids,
        patch_ids: m.iter().map(|&i| patches[i].id.clone()).collect(),
        first_year: years.first().copied().unwrap_or(last_year),
        change_years: years,
        longest_run: runs.longest.map_or(0, |r| r.years),
        multi_year_change: runs.multi_year(p.min_run_years),
        total_area_m2: areas.iter().map(|a| a.1).sum(),
        area_by_year: areas,
        growth_m2,
        growth_pct,
        last_change_type: patches[biggest].change_type.clone(),
        last_confidence,
        new_change: mining
            .iter()
            .any(|&i| ends.get(&patches[i].pair) == Some(&patches[i].pair)),
        restored,
        last_date,
        latest_pair,
        centre_lonlat: centre,
        latest: latest.iter().map(|&i| patches[i].finding.clone()).collect(),
        history,
        grew_since_false_change: grew,
        parties: parties.into_iter().collect(),
        criminal_referral,
        id,
    };
    Made {
        site,
        persistence: runs,
        history: history_ix,
        penalties: penalty_ix,
        unassessed: match (since, false_change) {
            (Some(SinceVerdict::Unknown), Some(date)) => Some(date),
            _ => None,
        },
    }
}

/// Share of a 越界 (`partly_outside`) patch, percent, a mining right must hold for its
/// holder to answer for the site. Overlay calls a patch 越界 once valid rights hold more than
/// its inside tolerance (1 % by default), so a neighbour's unlicensed pit grazing a licence
/// line is 越界 of that licence too; 10 % is a pixel row across a 10-pixel-wide patch,
/// more than the misregistration of the imagery against the licence corners, so what lies
/// inside is the licensee's own working, dug on past its line (the 40 %-inside pit of review
/// 22-A F6 links; a 5 % graze does not).
pub const OVERREACH_LINK_PCT: f64 = 10.0;

/// A point as a degenerate polygon, so the vertex-distance test applies to it.
fn point_square(pt: (f64, f64)) -> MultiPolygon<f64> {
    use geo_types::{LineString, Polygon};
    MultiPolygon(vec![Polygon::new(
        LineString::from(vec![pt, pt, pt, pt]),
        vec![],
    )])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patch(id: &str, y: u16, x0: f64, x1: f64) -> LedgerPatch {
        super::tests_support::patch_at(id, y, x0, x1, &[])
    }

    const NONE: Outside = Outside {
        history: &[],
        penalties: &[],
    };

    #[test]
    fn a_bridging_patch_merges_sites_and_keeps_both_ids() {
        let p = LedgerParams::default();
        let old = vec![
            patch("e1", 2021, 0.0, 50.0),
            patch("e2", 2022, 200.0, 250.0),
        ];
        let first = build(&old, &BTreeMap::new(), &NONE, &p);
        assert_eq!(first.len(), 2, "150 m apart: two sites");
        let prior: BTreeMap<String, String> = first
            .iter()
            .flat_map(|s| s.patch_ids.iter().map(move |x| (x.clone(), s.id.clone())))
            .collect();
        let mut all = old.clone();
        all.push(patch("bridge", 2023, 50.0, 200.0));
        let merged = build(&all, &prior, &NONE, &p);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].id, "Se1");
        assert_eq!(merged[0].merged_ids, vec!["Se2".to_string()]);
        assert_eq!(merged[0].change_years, vec![2021, 2022, 2023]);
        assert_eq!(merged[0].longest_run, 3);
        // Input order never changes ids.
        all.reverse();
        assert_eq!(build(&all, &prior, &NONE, &p), merged);
    }
}

#[cfg(test)]
mod referral_tests {
    use super::tests_support::*;
    use super::*;
    use minewatch_core::{LicenceStatus, Referral};

    fn refer(pens: &[Penalty], ps: &[LedgerPatch], p: &LedgerParams) -> Option<Referral> {
        let pen_refs: Vec<(Penalty, Option<(f64, f64)>)> =
            pens.iter().cloned().map(|p| (p, None)).collect();
        let out = Outside {
            history: &[],
            penalties: &pen_refs,
        };
        let s = build(ps, &BTreeMap::new(), &out, p);
        assert_eq!(s.len(), 1, "one site");
        s[0].criminal_referral.clone()
    }

    /// Review finding: penalties of 1990 and 1991 made a change of 2002 a referral.
    #[test]
    fn by_default_the_two_years_end_at_the_new_change() {
        let old = [penalty("罚1", 1990, 1, 10), penalty("罚2", 1991, 3, 10)];
        let site = [licensed("a", 2002)];
        assert_eq!(refer(&old, &site, &LedgerParams::default()), None);
        // Penalties within the two years before the change (2002-06-01) still refer.
        let recent = [penalty("罚1", 2000, 8, 1), penalty("罚2", 2001, 3, 10)];
        let r = refer(&recent, &site, &LedgerParams::default()).expect("referral");
        assert_eq!(r.decisions, vec!["罚1".to_string(), "罚2".to_string()]);
    }

    /// Review finding: one decision listed twice made a referral citing "罚1;罚1".
    #[test]
    fn one_decision_listed_twice_is_one_penalty() {
        let site = [licensed("a", 2024)];
        let twice = [penalty("罚1", 2023, 1, 10), penalty("罚1", 2023, 1, 10)];
        for strict in [true, false] {
            let p = LedgerParams {
                referral_window_ends_at_change: strict,
                ..LedgerParams::default()
            };
            assert_eq!(refer(&twice, &site, &p), None, "strict: {strict}");
        }
        let three = [
            penalty("罚1", 2023, 1, 10),
            penalty("罚2", 2023, 3, 10),
            penalty("罚1", 2023, 1, 10),
        ];
        let r = refer(&three, &site, &LedgerParams::default()).expect("referral");
        assert_eq!(r.decisions, vec!["罚1".to_string(), "罚2".to_string()]);
    }

    /// Review finding: rows matching no site vanished without a count.
    #[test]
    fn rows_that_match_no_site_are_listed() {
        let verdict = |patch: &str| HistoryRecord {
            source: "h".into(),
            patch_id: Some(patch.into()),
            site_id: None,
            lonlat: None,
            verdict: Verdict::Illegal,
            reason: String::new(),
            case_filed: false,
            date: AcqDate::new(2023, 1, 1).unwrap(),
        };
        let history = [(verdict("zz"), None), (verdict("a"), None)];
        let mut elsewhere = penalty("罚2", 2023, 3, 1);
        elsewhere.licence = Some("C9".into());
        let mut stranger = elsewhere.clone();
        stranger.party = "乙".into();
        // Row 1 links by licence; row 2 not, but its party is linked; row 3 weighs nothing.
        let pens = [
            (penalty("罚1", 2023, 1, 10), None),
            (elsewhere, None),
            (stranger, Some((1.0e6, 1.0e6))),
        ];
        let out = Outside {
            history: &history,
            penalties: &pens,
        };
        let l = build_ledger(
            &[licensed("a", 2024)],
            &BTreeMap::new(),
            &out,
            &LedgerParams::default(),
        );
        assert_eq!(l.unmatched_history, vec![0]);
        assert_eq!(l.unmatched_penalties, vec![2]);
        assert_eq!(l.sites[0].history.len(), 1);
        assert!(l.sites[0].criminal_referral.is_some(), "罚1 and 罚2 count");
    }

    /// Review finding: a site wholly inside its holder's valid licence, or one that only
    /// touches a licence with a sliver, was made a criminal referral candidate of that
    /// holder (two penalties in the two years before the change).
    #[test]
    fn only_illegal_change_on_the_holders_licence_refers() {
        let pens = unplaced(vec![
            penalty("罚1", 2023, 1, 10),
            penalty("罚2", 2023, 3, 10),
        ]);
        let out = Outside {
            history: &[],
            penalties: &pens,
        };
        let p = LedgerParams::default();
        let refers = |patch: LedgerPatch| {
            build(&[patch], &BTreeMap::new(), &out, &p)[0]
                .criminal_referral
                .is_some()
        };
        assert!(
            refers(licensed("a", 2024)),
            "unlicensed change on C1's ground"
        );
        let mut inside = licensed("a", 2024);
        inside.finding.licence_status = LicenceStatus::Inside;
        assert!(!refers(inside), "mining inside one's own valid licence");
        let mut special = licensed("a", 2024);
        special.finding.special_land = true;
        assert!(!refers(special), "special land is a false change by rule");
        let mut sliver = licensed("a", 2024);
        sliver.finding.hits[0].overlap_pct = 1.8;
        assert!(
            !refers(sliver),
            "a sliver of C1 does not pin the case on its holder"
        );
        let mut half = licensed("a", 2024);
        half.finding.licence_status = LicenceStatus::PartlyOutside;
        half.finding.hits[0].overlap_pct = 50.0;
        assert!(refers(half), "越界 with half the patch inside C1");
    }

    /// Review 22-A F6: a 越界 pit 40 % inside 甲's licence was linked to nobody (the link
    /// needed half of a patch), so 甲's penalties matched no site. A graze of a few percent
    /// still pins nothing on the holder.
    #[test]
    fn an_overreaching_pit_links_to_the_licence_it_overlaps() {
        let pens = unplaced(vec![
            penalty("罚1", 2023, 1, 10),
            penalty("罚2", 2023, 3, 10),
        ]);
        let out = Outside {
            history: &[],
            penalties: &pens,
        };
        let p = LedgerParams::default();
        let with = |status: LicenceStatus, pct: f64| {
            let mut x = licensed("a", 2024);
            x.finding.licence_status = status;
            x.finding.hits[0].overlap_pct = pct;
            build_ledger(&[x], &BTreeMap::new(), &out, &p)
        };
        let l = with(LicenceStatus::PartlyOutside, 40.0);
        assert_eq!(l.sites[0].parties, vec!["某公司".to_string()]);
        assert!(
            l.sites[0].criminal_referral.is_some(),
            "越界 by C1's holder"
        );
        assert!(l.unmatched_penalties.is_empty());
        let graze = with(LicenceStatus::PartlyOutside, 5.0);
        assert!(graze.sites[0].parties.is_empty(), "5 % is a graze");
        assert_eq!(graze.unmatched_penalties, vec![0, 1]);
        // Unlicensed ground beside a licence: the status, not the share, says 越界.
        let beside = with(LicenceStatus::OutsideAllRights, 40.0);
        assert!(beside.sites[0].parties.is_empty());
    }

    fn verdict_on(patch: &str, verdict: Verdict, date: AcqDate) -> HistoryRecord {
        HistoryRecord {
            source: "h".into(),
            patch_id: Some(patch.into()),
            site_id: None,
            lonlat: None,
            verdict,
            reason: "核查".into(),
            case_filed: false,
            date,
        }
    }

    /// Review 22-A F3: a change verified 伪变化 (SE3) or 合法 (SC3) still made its site a
    /// criminal referral candidate through the holder's two penalties.
    #[test]
    fn a_change_verified_false_or_legal_is_no_act() {
        let pens = unplaced(vec![
            penalty("罚1", 2023, 1, 10),
            penalty("罚2", 2023, 3, 10),
        ]);
        let p = LedgerParams::default();
        let refers = |history: &[(HistoryRecord, Option<(f64, f64)>)], ps: &[LedgerPatch]| {
            let out = Outside {
                history,
                penalties: &pens,
            };
            build(ps, &BTreeMap::new(), &out, &p)[0]
                .criminal_referral
                .is_some()
        };
        let checked = AcqDate::new(2024, 7, 1).unwrap();
        for v in [Verdict::FalseChange, Verdict::Legal] {
            let h = [(verdict_on("a", v, checked), None)];
            assert!(!refers(&h, &[licensed("a", 2024)]), "{v:?}");
        }
        let illegal = [(verdict_on("a", Verdict::Illegal, checked), None)];
        assert!(
            refers(&illegal, &[licensed("a", 2024)]),
            "违法 stays an act"
        );
        assert!(refers(&[], &[licensed("a", 2024)]), "unverified: an act");
        // A verdict before the change did not judge it: new change after a 合法 is an act.
        let mut by_site = verdict_on("zz", Verdict::Legal, AcqDate::new(2023, 12, 1).unwrap());
        by_site.patch_id = None;
        by_site.site_id = Some("Sa".into());
        assert!(refers(&[(by_site, None)], &[licensed("a", 2024)]));
    }

    /// Review 22-A F1: a pit dug in 2019→2020 and untouched through 2021→2022 was ranked
    /// as new change, because the quiet pairs had no patches and the ledger never saw them.
    #[test]
    fn a_quiet_latest_pair_makes_an_old_site_not_new() {
        let d = |y| AcqDate::new(y, 6, 1).unwrap();
        let dug = patch_between("dug", d(2019), d(2020), 800.0);
        let quiet = [
            DatePair {
                before: d(2020),
                after: d(2021),
            },
            DatePair {
                before: d(2021),
                after: d(2022),
            },
        ];
        let p = LedgerParams::default();
        let blind = build_ledger(
            std::slice::from_ref(&dug),
            &BTreeMap::new(),
            &NO_OUTSIDE,
            &p,
        );
        assert!(
            blind.sites[0].new_change,
            "patches alone: the pit looks new"
        );
        let mut compared = quiet.to_vec();
        compared.push(dug.pair);
        let l = build_ledger_compared(&[dug], &compared, &BTreeMap::new(), &NO_OUTSIDE, &p);
        assert!(!l.sites[0].new_change);
        assert_eq!(l.chain_ends, vec![quiet[1]]);
    }

    fn pair(b: (u16, u8, u8), a: (u16, u8, u8)) -> DatePair {
        DatePair {
            before: AcqDate::new(b.0, b.1, b.2).unwrap(),
            after: AcqDate::new(a.0, a.1, a.2).unwrap(),
        }
    }

    /// Review finding: findings of a region imaged on 2021-06-15/2022-06-15 ranked with
    /// one imaged on 2021-07-20/2022-07-20 lost every new-change site (no rank, no
    /// warning): "the latest pair" was one pair for all. Pairs sharing a date are one
    /// chain; each chain has its own latest pair.
    #[test]
    fn each_chain_of_dates_has_its_own_latest_pair() {
        let (e1, e2) = (
            pair((2020, 6, 15), (2021, 6, 15)),
            pair((2021, 6, 15), (2022, 6, 15)),
        );
        let w = pair((2021, 7, 20), (2022, 7, 20));
        let ends = chain_ends(&[e1, e2, w]);
        assert_eq!((ends[&e1], ends[&e2], ends[&w]), (e2, e2, w));
        let mut east = licensed("a", 2022);
        east.pair = e2;
        let mut west = licensed("b", 2022);
        west.pair = w;
        west.geom = patch_at("b", 2022, 5000.0, 5050.0, &[]).geom;
        let l = build_ledger(
            &[east, west],
            &BTreeMap::new(),
            &NO_OUTSIDE,
            &LedgerParams::default(),
        );
        assert_eq!(l.chain_ends, vec![e2, w]);
        assert!(l.sites.iter().all(|s| s.new_change), "both regions' latest");
        // Overlapping intervals are found (rank refuses them).
        let long = pair((2020, 6, 15), (2022, 6, 15));
        assert_eq!(overlapping_pairs(&[e1, e2]), None);
        assert_eq!(overlapping_pairs(&[e1, long]), Some((e1, long)));
        assert_eq!(
            overlapping_pairs(&[e1, e2, w]),
            None,
            "other dates, other region"
        );
    }

    /// Review finding: a site renamed after a split took `S<its earliest patch>` even when
    /// an earlier ledger had given that id to another site: two sites, one id.
    #[test]
    fn a_split_never_takes_an_id_in_use() {
        let a = licensed("a", 2023);
        let mut b = licensed("b", 2024);
        b.geom = patch_at("b", 2024, 5000.0, 5050.0, &[]).geom;
        let mut c = licensed("c", 2024);
        c.geom = patch_at("c", 2024, 9000.0, 9050.0, &[]).geom;
        // The earlier ledger put a and b in one site, and gave c the id `Sb`.
        let prior: BTreeMap<String, String> = [
            ("a".to_string(), "S1".to_string()),
            ("b".to_string(), "S1".to_string()),
            ("c".to_string(), "Sb".to_string()),
        ]
        .into_iter()
        .collect();
        let l = build_ledger(&[a, b, c], &prior, &NO_OUTSIDE, &LedgerParams::default());
        let ids: BTreeSet<&str> = l.sites.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids.len(), 3, "{ids:?}");
        assert!(ids.contains("Sb-2"), "{ids:?}");
    }

    #[test]
    fn the_two_year_window_reading_is_a_policy_choice() {
        // Penalties 2020-01-10 and 2021-03-20 (14 months apart); changes dug between
        // 2022-06-01 and 2024-06-01: more than two years after the first penalty whenever
        // they were dug.
        let pens = vec![penalty("罚1", 2020, 1, 10), penalty("罚2", 2021, 3, 20)];
        let pen_refs: Vec<(Penalty, Option<(f64, f64)>)> =
            pens.into_iter().map(|p| (p, None)).collect();
        let out = Outside {
            history: &[],
            penalties: &pen_refs,
        };
        let mut ps = vec![licensed("a", 2023), licensed("b", 2024)];
        ps[1].geom = ps[0].geom.clone();
        let mut p = LedgerParams::default();
        let s = build(&ps, &BTreeMap::new(), &out, &p);
        assert!(
            s[0].criminal_referral.is_none(),
            "default: 2020-01-10 is more than two years before any day after 2022-06-01"
        );
        p.referral_window_ends_at_change = false;
        let s = build(&ps, &BTreeMap::new(), &out, &p);
        assert!(s[0].criminal_referral.is_some(), "any two-year window");
    }
}

#[cfg(test)]
mod run_tests {
    use super::tests_support::*;
    use super::*;

    fn d(y: u16, m: u8, dd: u8) -> AcqDate {
        AcqDate::new(y, m, dd).unwrap()
    }

    /// Patches of one site (all on the same ground), one per pair, with areas.
    fn site_of(pairs: &[(AcqDate, AcqDate, f64)]) -> Site {
        let ps: Vec<LedgerPatch> = pairs
            .iter()
            .enumerate()
            .map(|(k, &(b, a, area))| patch_between(&format!("p{k}"), b, a, area))
            .collect();
        let s = build(&ps, &BTreeMap::new(), &NO_OUTSIDE, &LedgerParams::default());
        assert_eq!(s.len(), 1, "one site");
        s.into_iter().next().unwrap()
    }

    /// Review finding: quarterly pairs over a year end were a "2-year run" (+25).
    #[test]
    fn quarterly_pairs_across_new_year_are_not_multi_year() {
        let s = site_of(&[
            (d(2023, 10, 1), d(2023, 12, 1), 100.0),
            (d(2023, 12, 1), d(2024, 4, 1), 100.0),
        ]);
        assert!(!s.multi_year_change);
        assert_eq!(s.longest_run, 1, "six months of change is less than a year");
    }

    /// Review finding: three quarterly pairs of 2023, each 4.05 亩, were all "latest"
    /// (their later images share the year): 12.15 亩 and a provincial field check. And
    /// 2020-06→2021-05→2021-12 took both pairs. The latest patches are the latest pair's.
    #[test]
    fn the_latest_patches_are_the_latest_pairs_not_the_last_years() {
        let q = site_of(&[
            (d(2023, 1, 1), d(2023, 4, 1), 2700.0),
            (d(2023, 4, 1), d(2023, 7, 1), 2700.0),
            (d(2023, 7, 1), d(2023, 10, 1), 2700.0),
        ]);
        let ids: Vec<&str> = q.latest.iter().map(|f| f.patch_id.as_str()).collect();
        assert_eq!(ids, vec!["p2"]);
        assert_eq!(
            q.latest_pair,
            DatePair {
                before: d(2023, 7, 1),
                after: d(2023, 10, 1)
            }
        );
        // The calendar-year areas stay a report of the year.
        assert_eq!(q.area_by_year, vec![(2023, 8100.0)]);
        let mixed = site_of(&[
            (d(2020, 6, 1), d(2021, 5, 1), 10_000.0),
            (d(2021, 5, 1), d(2021, 12, 1), 10_000.0),
        ]);
        let ids: Vec<&str> = mixed.latest.iter().map(|f| f.patch_id.as_str()).collect();
        assert_eq!(ids, vec!["p1"]);
        assert_eq!(mixed.last_date, d(2021, 12, 1));
    }

    /// Review finding: biennial imagery that changes in every pair never counted.
    #[test]
    fn biennial_pairs_changing_every_time_are_multi_year() {
        let s = site_of(&[
            (d(2019, 6, 1), d(2021, 6, 1), 100.0),
            (d(2021, 6, 1), d(2023, 6, 1), 150.0),
        ]);
        assert!(s.multi_year_change);
        assert_eq!(s.longest_run, 4, "2019-06-01 to 2023-06-01");
        assert_eq!(s.growth_pct, Some(50.0));
    }

    /// One comparison, however long, shows change once: no run of years.
    #[test]
    fn a_single_long_pair_is_no_run() {
        let s = site_of(&[(d(2019, 6, 1), d(2023, 6, 1), 100.0)]);
        assert!(!s.multi_year_change);
        assert_eq!(s.longest_run, 1);
    }

    /// Review finding: growth compared the last two change years however far apart.
    #[test]
    fn growth_compares_adjacent_pairs_only() {
        let far = site_of(&[
            (d(2018, 6, 1), d(2019, 6, 1), 100.0),
            (d(2023, 6, 1), d(2024, 6, 1), 300.0),
        ]);
        assert!(!far.multi_year_change);
        assert_eq!((far.growth_m2, far.growth_pct), (0.0, None));
        // Pairs that do not share an image date are not consecutive either.
        let gap = site_of(&[
            (d(2022, 6, 1), d(2023, 6, 1), 100.0),
            (d(2023, 7, 1), d(2024, 6, 1), 300.0),
        ]);
        assert_eq!(gap.growth_pct, None);
        assert!(!gap.multi_year_change);
        let next = site_of(&[
            (d(2022, 6, 1), d(2023, 6, 1), 100.0),
            (d(2023, 6, 1), d(2024, 6, 1), 300.0),
        ]);
        assert_eq!((next.growth_m2, next.growth_pct), (200.0, Some(200.0)));
        assert!(next.multi_year_change);
    }
}

#[cfg(test)]
mod false_change_tests {
    use super::tests_support::*;
    use super::*;

    fn false_change(patch: Option<&str>, at: Option<(f64, f64)>) -> HistoryRecord {
        HistoryRecord {
            source: "h:2".into(),
            patch_id: patch.map(String::from),
            site_id: None,
            lonlat: None,
            verdict: Verdict::FalseChange,
            reason: "季节性耕地".into(),
            case_filed: false,
            date: AcqDate::new(2022, 9, 1).unwrap(),
        }
        .with_at(at)
    }

    trait WithAt {
        fn with_at(self, at: Option<(f64, f64)>) -> Self;
    }
    impl WithAt for HistoryRecord {
        fn with_at(mut self, at: Option<(f64, f64)>) -> Self {
            self.lonlat = at;
            self
        }
    }

    /// Review finding (revR F1): a 伪变化 of 2021→2022 (verdict 2022-09-01) detected again on
    /// the same ground in 2022→2023 was "grown since" (100 %: change area after the verdict
    /// against the area up to it), ranked again, and given the multi-year bonus for the
    /// two pairs the county had judged once.
    #[test]
    fn a_recurring_false_change_is_not_grown_and_not_multi_year() {
        let (a, b) = (licensed("a", 2022), licensed("b", 2023));
        let history = [(false_change(Some("a"), None), None)];
        let out = Outside {
            history: &history,
            penalties: &[],
        };
        let l = build_ledger(&[a, b], &BTreeMap::new(), &out, &LedgerParams::default());
        assert_eq!(l.sites.len(), 1);
        let s = &l.sites[0];
        assert_eq!(s.grew_since_false_change, Some(false));
        assert!(!s.multi_year_change, "the judged pair is no change");
        assert_eq!(s.longest_run, 1);
        assert!(l.false_change_unassessed.is_empty());
        // New ground beside it (50 × 100 m on 50 × 100 m known: 100 %) is growth.
        let mut wider = licensed("b", 2023);
        wider.geom = patch_at("b", 2023, 0.0, 100.0, &[]).geom;
        let l = build_ledger(
            &[licensed("a", 2022), wider],
            &BTreeMap::new(),
            &out,
            &LedgerParams::default(),
        );
        assert_eq!(l.sites[0].grew_since_false_change, Some(true));
        assert!(!l.sites[0].multi_year_change);
    }

    /// Review finding (revR F1, second case): a verdict given by location whose earlier
    /// findings were not ranked had "nothing up to the verdict", so any change was growth.
    #[test]
    fn without_the_judged_ground_the_verdict_stands_and_is_reported() {
        let history = [(false_change(None, Some((25.0, 50.0))), Some((25.0, 50.0)))];
        let out = Outside {
            history: &history,
            penalties: &[],
        };
        let l = build_ledger(
            &[licensed("b", 2023)],
            &BTreeMap::new(),
            &out,
            &LedgerParams::default(),
        );
        assert_eq!(l.sites[0].grew_since_false_change, None, "not measured");
        assert_eq!(
            l.false_change_unassessed,
            vec![("Sb".to_string(), AcqDate::new(2022, 9, 1).unwrap())]
        );
    }

    /// Review finding (revR F5): a penalty's licence typed in lower case or with spaces
    /// linked to no site, and a party's second spelling was a party of its own.
    #[test]
    fn licences_and_parties_match_by_key() {
        let mut first = penalty("罚1", 2023, 1, 10);
        first.licence = Some(" c1 ".into());
        first.party = "丁矿业（集团）有限公司".into();
        let mut second = penalty("罚2", 2023, 3, 10);
        second.licence = Some("C9".into());
        second.party = "丁矿业(集团)有限公司".into();
        let pens = [(first, None), (second, None)];
        let out = Outside {
            history: &[],
            penalties: &pens,
        };
        let l = build_ledger(
            &[licensed("a", 2024)],
            &BTreeMap::new(),
            &out,
            &LedgerParams::default(),
        );
        let s = &l.sites[0];
        assert_eq!(s.parties, vec!["丁矿业（集团）有限公司".to_string()]);
        let r = s
            .criminal_referral
            .as_ref()
            .expect("two penalties of one party");
        assert_eq!(r.decisions, vec!["罚1".to_string(), "罚2".to_string()]);
        assert!(l.unmatched_penalties.is_empty(), "row 2's party is linked");
    }
}

#[cfg(test)]
mod restoration_tests {
    use super::tests_support::*;
    use super::*;

    fn d(y: u16, m: u8, dd: u8) -> AcqDate {
        AcqDate::new(y, m, dd).unwrap()
    }

    /// Review finding (revV F1): a pit dug in 2000→2001 and revegetated in 2001→2002 was
    /// 多年连续变化 (+25), summed dig and reversal as its area, and with two penalties of
    /// 2001 after the dig became a criminal referral candidate for the revegetation.
    #[test]
    fn a_revegetated_pit_is_restored_not_continued_change() {
        let dig = patch_between("dig", d(2000, 5, 3), d(2001, 5, 10), 129_600.0);
        let mut back = patch_between("back", d(2001, 5, 10), d(2002, 5, 8), 129_600.0);
        back.restores = true;
        let pens = unplaced(vec![penalty("罚1", 2001, 6, 1), penalty("罚2", 2001, 9, 1)]);
        let out = Outside {
            history: &[],
            penalties: &pens,
        };
        let s = build(
            &[dig, back],
            &BTreeMap::new(),
            &out,
            &LedgerParams::default(),
        );
        assert_eq!(s.len(), 1, "one site");
        let s = &s[0];
        assert_eq!(
            s.restored.map(|q| (q.before, q.after)),
            Some((d(2001, 5, 10), d(2002, 5, 8)))
        );
        assert!(!s.multi_year_change);
        assert_eq!(s.longest_run, 1);
        assert_eq!(s.total_area_m2, 129_600.0, "the dig only");
        assert!(!s.new_change, "restoring is no new change");
        assert!(s.criminal_referral.is_none(), "no act after the penalties");
        let ids: Vec<&str> = s.latest.iter().map(|f| f.patch_id.as_str()).collect();
        assert_eq!(ids, vec!["dig"], "zones and licence of the ground it dug");
    }

    /// Digging again after a restoration is new change, but the reversal breaks the run.
    #[test]
    fn digging_again_after_a_restoration_is_new_change_without_a_run() {
        let dig = patch_between("dig", d(2000, 5, 3), d(2001, 5, 10), 100.0);
        let mut back = patch_between("back", d(2001, 5, 10), d(2002, 5, 8), 100.0);
        back.restores = true;
        let again = patch_between("again", d(2002, 5, 8), d(2003, 5, 12), 100.0);
        let s = build(
            &[dig, back, again],
            &BTreeMap::new(),
            &NO_OUTSIDE,
            &LedgerParams::default(),
        );
        assert_eq!(s[0].restored, None);
        assert!(s[0].new_change && !s[0].multi_year_change);
        assert_eq!(s[0].total_area_m2, 200.0);
    }
}

#[cfg(test)]
mod tests_support {
    use super::*;
    use geo_types::{LineString, Polygon};
    use minewatch_core::{AdminPlace, LicenceStatus, ZoneHit};

    pub fn penalty(decision: &str, y: u16, m: u8, d: u8) -> Penalty {
        Penalty {
            source: "t".into(),
            party: "某公司".into(),
            licence: Some("C1".into()),
            date: AcqDate::new(y, m, d).unwrap(),
            decision: decision.into(),
            lonlat: None,
        }
    }

    /// Penalties given without a location (they link by licence).
    pub fn unplaced(pens: Vec<Penalty>) -> Vec<(Penalty, Option<(f64, f64)>)> {
        pens.into_iter().map(|p| (p, None)).collect()
    }

    pub const NO_OUTSIDE: Outside = Outside {
        history: &[],
        penalties: &[],
    };

    /// A patch on the ground of `patch_at(.., 0.0, 50.0, ..)` between two dates, with its area.
    pub fn patch_between(id: &str, before: AcqDate, after: AcqDate, area: f64) -> LedgerPatch {
        let mut p = patch_at(id, after.year, 0.0, 50.0, &[]);
        p.pair = DatePair { before, after };
        p.area_m2 = area;
        p
    }

    pub fn licensed(id: &str, y: u16) -> LedgerPatch {
        patch_at(id, y, 0.0, 50.0, &["C1"])
    }

    /// A 100 m tall strip from x0 to x1 changed in year `y`, touching `licences`.
    pub fn patch_at(id: &str, y: u16, x0: f64, x1: f64, licences: &[&str]) -> LedgerPatch {
        let g = MultiPolygon(vec![Polygon::new(
            LineString::from(vec![
                (x0, 0.0),
                (x1, 0.0),
                (x1, 100.0),
                (x0, 100.0),
                (x0, 0.0),
            ]),
            vec![],
        )]);
        let area = (x1 - x0) * 100.0;
        LedgerPatch {
            id: id.into(),
            pair: DatePair {
                before: AcqDate::new(y - 1, 6, 1).unwrap(),
                after: AcqDate::new(y, 6, 1).unwrap(),
            },
            geom: g,
            area_m2: area,
            change_type: "bare_soil_gain".into(),
            confidence: "high".into(),
            centre_lonlat: (118.0, 32.0),
            restores: false,
            finding: Finding {
                patch_id: id.into(),
                area_m2: area,
                // Each licence holds the whole patch (an expired one: still not inside).
                hits: licences
                    .iter()
                    .map(|l| ZoneHit {
                        layer: "rights".into(),
                        kind: ZoneKind::MiningRight,
                        zone_id: l.to_string(),
                        zone_name: String::new(),
                        overlap_m2: area,
                        grid_overlap_m2: area,
                        overlap_pct: 100.0,
                        attrs: vec![],
                    })
                    .collect(),
                licence_status: LicenceStatus::OutsideAllRights,
                outside_licence_m2: 0.0,
                licence_granted_in_pair: None,
                licence_validity_checked: None,
                admin_overruled: Vec::new(),
                licences: licences.iter().map(|l| l.to_string()).collect(),
                holders: vec![],
                minerals: vec![],
                in_restoration_project: false,
                in_construction_project: false,
                special_land: false,
                admin: AdminPlace::default(),
                river_distance_m: None,
                over_10_mu_illegal: false,
            },
        }
    }
}
