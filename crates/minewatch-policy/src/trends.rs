//! Trends and surges: new patches per period (the year of the later image) per county and
//! per mineral, growth over the previous period (of new patches per comparison of the
//! key's own imagery, so a year of quarterly releases compares with a part year fairly and
//! another county's chain of dates does not count), and the `rising_fast` rule: in a
//! period, at least `rising_min_count` new patches and either none in the period before or
//! a rise of at least `rising_growth_pct` percent; never in the first period the key was
//! imaged. Hot spots: site centres on a grid of `cell_m`
//! metres (equirectangular at the sites' mean latitude); cells with at least `min_sites`
//! sites, joined with their 8 neighbours, are clusters for concentrated rectification.

use crate::policy::Policy;
use std::collections::{BTreeMap, BTreeSet};

/// One patch as the trends see it.
#[derive(Debug, Clone)]
pub struct PatchFact {
    pub year: u16,
    /// The comparison it was found in (its pair's dates, as text): a period's comparisons
    /// are counted so that growth compares like with like.
    pub pair: String,
    pub county_code: Option<String>,
    pub county_name: Option<String>,
    pub minerals: Vec<String>,
    pub area_m2: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TrendRow {
    /// County code or mineral name.
    pub key: String,
    pub name: String,
    pub period: u16,
    pub new_patches: usize,
    pub area_m2: f64,
    pub previous_patches: usize,
    /// Comparisons (date pairs) whose later image falls in the period, of the chains of
    /// dates that imaged the key (not every pair of the run).
    pub comparisons: usize,
    /// Growth of new patches per comparison over the period before.
    pub growth_pct: Option<f64>,
    pub rising_fast: bool,
}

/// The chain of dates of each comparison: pairs linked through a shared image date (the
/// `pair` text is `DatePair::key`, `BEFORE_AFTER`) are one chain, one region's imagery.
/// Regions imaged on other dates are other chains. Returns a chain number per pair text.
fn chains(facts: &[PatchFact]) -> BTreeMap<&str, usize> {
    let pairs: BTreeSet<&str> = facts.iter().map(|f| f.pair.as_str()).collect();
    let pairs: Vec<&str> = pairs.into_iter().collect();
    let mut parent: Vec<usize> = (0..pairs.len()).collect();
    fn root(p: &[usize], mut x: usize) -> usize {
        while p[x] != x {
            x = p[x];
        }
        x
    }
    let mut by_date: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, pair) in pairs.iter().enumerate() {
        // A text that is not two dates is a chain of its own.
        let dates: Vec<&str> = match pair.split_once('_') {
            Some((b, a)) => vec![b, a],
            None => vec![],
        };
        for d in dates {
            let j = *by_date.entry(d).or_insert(i);
            let (a, b) = (root(&parent, i), root(&parent, j));
            parent[a.max(b)] = a.min(b);
        }
    }
    pairs
        .iter()
        .enumerate()
        .map(|(i, p)| (*p, root(&parent, i)))
        .collect()
}

/// Rows per key and period: the periods the key's imagery covers (the years of the
/// comparisons of every chain of dates it has patches in), from its first patch on, zeros
/// included. Comparisons, growth and `rising_fast` are the key's own: another county's
/// imagery neither dilutes its rate nor makes its first imaged year "none before".
pub fn trends(
    facts: &[PatchFact],
    key: impl Fn(&PatchFact) -> Vec<(String, String)>,
    p: &Policy,
) -> Vec<TrendRow> {
    let chain = chains(facts);
    // The comparisons of each chain by period. Quarterly releases put one comparison in a
    // part year and four in the next: growth is per comparison, or a steady rate would
    // read as a fourfold rise. A county without patches in a comparison of its chain was
    // still imaged in it.
    let mut comparisons: BTreeMap<(usize, u16), BTreeSet<&str>> = BTreeMap::new();
    for f in facts {
        comparisons
            .entry((chain[f.pair.as_str()], f.year))
            .or_default()
            .insert(f.pair.as_str());
    }
    let mut acc: BTreeMap<(String, u16), (usize, f64)> = BTreeMap::new();
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut chains_of: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    for f in facts {
        for (k, n) in key(f) {
            let e = acc.entry((k.clone(), f.year)).or_default();
            e.0 += 1;
            e.1 += f.area_m2;
            chains_of
                .entry(k.clone())
                .or_default()
                .insert(chain[f.pair.as_str()]);
            names.entry(k).or_insert(n);
        }
    }
    let mut rows = Vec::new();
    for (k, name) in &names {
        // The key's periods and comparisons in each, over the chains it was imaged in.
        let mut covered: BTreeMap<u16, BTreeSet<&str>> = BTreeMap::new();
        for ((c, y), pairs) in &comparisons {
            if chains_of[k].contains(c) {
                covered.entry(*y).or_default().extend(pairs.iter().copied());
            }
        }
        let first_patch = covered
            .keys()
            .find(|y| acc.contains_key(&(k.clone(), **y)))
            .copied();
        let first_observed = covered.keys().next().copied();
        let mut prev: Option<(usize, usize)> = None;
        for (&y, pairs) in &covered {
            let per = pairs.len().max(1);
            let (n, a) = acc.get(&(k.clone(), y)).copied().unwrap_or((0, 0.0));
            let growth = prev.filter(|&(q, _)| q > 0).map(|(q, qc)| {
                let (now, before) = (n as f64 / per as f64, q as f64 / qc as f64);
                100.0 * (now - before) / before
            });
            let prev_n = prev.map(|(q, _)| q);
            // The key's first imaged period has nothing to rise from: "none before" there
            // means "not seen before", not "none found".
            let rising = Some(y) != first_observed
                && n >= p.trends.rising_min_count
                && match prev_n {
                    None | Some(0) => true,
                    Some(_) => growth.is_some_and(|g| g >= p.trends.rising_growth_pct),
                };
            prev = Some((n, per));
            if Some(y) < first_patch {
                // Imaged with nothing found: the period before the first patch, not a row.
                continue;
            }
            rows.push(TrendRow {
                key: k.clone(),
                name: name.clone(),
                period: y,
                new_patches: n,
                area_m2: a,
                previous_patches: prev_n.unwrap_or(0),
                comparisons: per,
                growth_pct: growth,
                rising_fast: rising,
            });
        }
    }
    rows
}

pub fn by_county(f: &PatchFact) -> Vec<(String, String)> {
    f.county_code
        .as_ref()
        .map(|c| vec![(c.clone(), f.county_name.clone().unwrap_or_default())])
        .unwrap_or_default()
}

/// The minerals a patch's rights name, as the price rule reads them (whole names through
/// the alias list: 离子型稀土矿 and 稀土 are one series, 铜矿、金矿 two), each once.
pub fn by_mineral(f: &PatchFact) -> Vec<(String, String)> {
    let mut names: Vec<String> = f
        .minerals
        .iter()
        .flat_map(|m| crate::minerals::names_in(m))
        .collect();
    names.sort();
    names.dedup();
    names.into_iter().map(|n| (n.clone(), n)).collect()
}

/// Keys rising fast in the latest period of the data.
pub fn rising_latest(rows: &[TrendRow]) -> BTreeSet<String> {
    let last = rows.iter().map(|r| r.period).max();
    rows.iter()
        .filter(|r| Some(r.period) == last && r.rising_fast)
        .map(|r| r.key.clone())
        .collect()
}

/// One site for the hot-spot grid.
#[derive(Debug, Clone)]
pub struct SitePoint {
    pub site_id: String,
    pub lonlat: (f64, f64),
    pub area_m2: f64,
    pub county: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Hotspot {
    /// `H<row>_<col>` of its first cell (south-west first): from the data.
    pub id: String,
    pub cells: usize,
    pub sites: usize,
    pub area_m2: f64,
    pub counties: Vec<String>,
    /// west, south, east, north of its sites' centres.
    pub extent: [f64; 4],
    pub site_ids: Vec<String>,
}

pub fn hotspots(sites: &[SitePoint], p: &Policy) -> Vec<Hotspot> {
    if sites.is_empty() {
        return Vec::new();
    }
    let lat0 = sites.iter().map(|s| s.lonlat.1).sum::<f64>() / sites.len() as f64;
    let kx = 111_320.0 * lat0.to_radians().cos();
    let ky = 110_540.0;
    let cell = |s: &SitePoint| -> (i64, i64) {
        (
            (s.lonlat.1 * ky / p.hotspots.cell_m).floor() as i64,
            (s.lonlat.0 * kx / p.hotspots.cell_m).floor() as i64,
        )
    };
    let mut cells: BTreeMap<(i64, i64), Vec<usize>> = BTreeMap::new();
    for (i, s) in sites.iter().enumerate() {
        cells.entry(cell(s)).or_default().push(i);
    }
    let dense: BTreeSet<(i64, i64)> = cells
        .iter()
        .filter(|(_, v)| v.len() >= p.hotspots.min_sites)
        .map(|(k, _)| *k)
        .collect();
    let mut seen: BTreeSet<(i64, i64)> = BTreeSet::new();
    let mut out = Vec::new();
    for &start in &dense {
        if !seen.insert(start) {
            continue;
        }
        let mut stack = vec![start];
        let mut comp = vec![start];
        while let Some((r, c)) = stack.pop() {
            for dr in -1..=1 {
                for dc in -1..=1 {
                    let n = (r + dr, c + dc);
                    if dense.contains(&n) && seen.insert(n) {
                        stack.push(n);
                        comp.push(n);
                    }
                }
            }
        }
        comp.sort();
        let mut idx: Vec<usize> = comp.iter().flat_map(|c| cells[c].clone()).collect();
        idx.sort_by(|&a, &b| sites[a].site_id.cmp(&sites[b].site_id));
        let mut ext = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
        for &i in &idx {
            let (x, y) = sites[i].lonlat;
            ext = [ext[0].min(x), ext[1].min(y), ext[2].max(x), ext[3].max(y)];
        }
        let counties: BTreeSet<String> = idx
            .iter()
            .filter_map(|&i| sites[i].county.clone())
            .collect();
        out.push(Hotspot {
            id: format!("H{}_{}", comp[0].0, comp[0].1),
            cells: comp.len(),
            sites: idx.len(),
            area_m2: idx.iter().map(|&i| sites[i].area_m2).sum(),
            counties: counties.into_iter().collect(),
            extent: ext,
            site_ids: idx.iter().map(|&i| sites[i].site_id.clone()).collect(),
        });
    }
    out.sort_by(|a, b| b.sites.cmp(&a.sites).then_with(|| a.id.cmp(&b.id)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fact(year: u16, county: &str) -> PatchFact {
        PatchFact {
            year,
            pair: format!("{}_{year}", year - 1),
            county_code: Some(county.into()),
            county_name: Some(format!("县{county}")),
            minerals: vec!["稀土".into()],
            area_m2: 1000.0,
        }
    }

    #[test]
    fn rising_fast_follows_the_documented_rule() {
        let p = Policy::default();
        let mut f = Vec::new();
        // County A: 2, 2, 4 (+100 %) → rising in 2023. County B: 4, 5 (+25 %) → not.
        for (y, n) in [(2021, 2), (2022, 2), (2023, 4)] {
            f.extend((0..n).map(|_| fact(y, "A")));
        }
        for (y, n) in [(2022, 4), (2023, 5)] {
            f.extend((0..n).map(|_| fact(y, "B")));
        }
        let rows = trends(&f, by_county, &p);
        let a23 = rows
            .iter()
            .find(|r| r.key == "A" && r.period == 2023)
            .unwrap();
        assert_eq!((a23.new_patches, a23.previous_patches), (4, 2));
        assert_eq!(a23.growth_pct, Some(100.0));
        assert!(a23.rising_fast);
        let b23 = rows
            .iter()
            .find(|r| r.key == "B" && r.period == 2023)
            .unwrap();
        assert!(!b23.rising_fast);
        let b22 = rows
            .iter()
            .find(|r| r.key == "B" && r.period == 2022)
            .unwrap();
        assert!(b22.rising_fast, "4 new where there were none");
        assert_eq!(rising_latest(&rows), ["A".to_string()].into());
        let m = trends(&f, by_mineral, &p);
        assert_eq!(m.iter().find(|r| r.period == 2023).unwrap().new_patches, 9);
    }

    /// Review finding: quarterly comparisons (one in 2023's last quarter, two in 2024's
    /// first half) with 3 new patches each read as +100 % and `rising_fast`.
    #[test]
    fn growth_is_per_comparison() {
        let p = Policy::default();
        let mut f = Vec::new();
        for (y, pair) in [
            (2023, "20231001_20231215"),
            (2024, "20231215_20240315"),
            (2024, "20240315_20240615"),
        ] {
            f.extend((0..3).map(|_| PatchFact {
                pair: pair.into(),
                ..fact(y, "A")
            }));
        }
        let rows = trends(&f, by_county, &p);
        let a24 = rows.iter().find(|r| r.period == 2024).unwrap();
        assert_eq!((a24.new_patches, a24.comparisons), (6, 2));
        assert_eq!(a24.growth_pct, Some(0.0));
        assert!(!a24.rising_fast);
    }

    /// Review finding (revR F2): county A on an annual chain (2 new patches in 2023, 3 in
    /// 2024: +50 %) ranked with county B, imaged for the first time in 2024 by a quarterly
    /// chain of its own, read 2 comparisons in 2024 (−25 %, not rising), while B — never
    /// imaged before — was "none before" and rising.
    #[test]
    fn each_county_is_judged_on_its_own_imagery() {
        let p = Policy::default();
        let at = |y: u16, county: &str, pair: &str| PatchFact {
            pair: pair.into(),
            ..fact(y, county)
        };
        let mut f = Vec::new();
        f.extend((0..2).map(|_| at(2023, "A", "20220601_20230601")));
        f.extend((0..3).map(|_| at(2024, "A", "20230601_20240601")));
        let alone = trends(&f, by_county, &p);
        f.extend((0..3).map(|_| at(2024, "B", "20240105_20240410")));
        let both = trends(&f, by_county, &p);
        let row = |rows: &[TrendRow], k: &str, y: u16| {
            rows.iter()
                .find(|r| r.key == k && r.period == y)
                .cloned()
                .unwrap()
        };
        let a = row(&both, "A", 2024);
        assert_eq!(
            a,
            row(&alone, "A", 2024),
            "B's imagery changes nothing of A's"
        );
        assert_eq!((a.comparisons, a.growth_pct), (1, Some(50.0)));
        assert!(a.rising_fast);
        let b = row(&both, "B", 2024);
        assert_eq!((b.comparisons, b.previous_patches), (1, 0));
        assert!(!b.rising_fast, "B's first imaged period");
        assert_eq!(rising_latest(&both), ["A".to_string()].into());
        // A county imaged in 2023 with nothing found, then 3 in 2024: none before, rising.
        f.extend((0..3).map(|_| at(2024, "C", "20230601_20240601")));
        let c = row(&trends(&f, by_county, &p), "C", 2024);
        assert_eq!((c.previous_patches, c.comparisons), (0, 1));
        assert!(c.rising_fast, "imaged in 2023 on A's chain, none found");
    }

    /// Minerals are grouped by the names the price rule uses: register spellings of one
    /// mineral are one series, and a right naming two minerals counts for both, once each.
    #[test]
    fn mineral_trends_group_register_spellings() {
        let p = Policy::default();
        let with = |m: &[&str]| PatchFact {
            minerals: m.iter().map(|s| s.to_string()).collect(),
            ..fact(2023, "A")
        };
        let f = vec![
            with(&["离子型稀土矿"]),
            with(&["稀土"]),
            with(&["铜矿、金矿", "金"]),
        ];
        let rows = trends(&f, by_mineral, &p);
        let n = |k: &str| rows.iter().find(|r| r.key == k).map(|r| r.new_patches);
        assert_eq!(n("稀土"), Some(2));
        assert_eq!((n("铜"), n("金")), (Some(1), Some(1)));
        assert_eq!(rows.len(), 3, "{rows:?}");
    }

    #[test]
    fn hotspots_join_dense_neighbouring_cells() {
        let mut p = Policy::default();
        p.hotspots.min_sites = 3;
        let site = |i: usize, lon: f64, lat: f64| SitePoint {
            site_id: format!("S{i:03}"),
            lonlat: (lon, lat),
            area_m2: 10.0,
            county: Some("320115".into()),
        };
        let mut s: Vec<SitePoint> = (0..3)
            .map(|i| site(i, 118.001 + 0.001 * i as f64, 32.001))
            .collect();
        // A neighbouring dense cell (~10 km east) and a lone far site.
        s.extend((3..6).map(|i| site(i, 118.101 + 0.001 * i as f64, 32.001)));
        s.push(site(9, 119.5, 33.0));
        let h = hotspots(&s, &p);
        assert_eq!(h.len(), 1);
        assert_eq!((h[0].cells, h[0].sites), (2, 6));
        assert!(h[0].extent[0] < 118.002 && h[0].extent[2] > 118.1);
    }
}
