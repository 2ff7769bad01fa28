//! Linking and ranking at provincial scale: 10⁵ sites over 6 years (6 × 10⁵ patches, a
//! pit that grows by a ring every year, 1 km apart), in metres. Measures the ledger
//! (R-tree candidates, adjacency tests, union-find, site statistics) and the policy
//! (scores with reasons, ranks within 100 counties).
//!
//! `cargo bench -p minewatch-benches --bench ledger`

use criterion::{criterion_group, criterion_main, Criterion};
use geo_types::{LineString, MultiPolygon, Polygon};
use minewatch_core::{AcqDate, AdminPlace, DatePair, Finding, LicenceStatus};
use minewatch_ledger::{LedgerParams, LedgerPatch, Outside};
use minewatch_policy::{Context, Policy};
use std::collections::BTreeMap;

const SITES: usize = 100_000;
const YEARS: u16 = 6;

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon<f64> {
    MultiPolygon(vec![Polygon::new(
        LineString::from(vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]),
        vec![],
    )])
}

fn patches() -> Vec<LedgerPatch> {
    let side = (SITES as f64).sqrt().ceil() as usize;
    let mut out = Vec::with_capacity(SITES * YEARS as usize);
    for y in 0..YEARS {
        let pair = DatePair {
            before: AcqDate::new(2019 + y, 6, 1).unwrap(),
            after: AcqDate::new(2020 + y, 6, 1).unwrap(),
        };
        for s in 0..SITES {
            let (i, j) = (s % side, s / side);
            let (x, yy) = (
                300_000.0 + i as f64 * 1000.0,
                3_000_000.0 + j as f64 * 1000.0,
            );
            // Year k adds a 20 m strip east of last year's extent.
            let x0 = x + 100.0 + 20.0 * y as f64;
            let geom = if y == 0 {
                rect(x, yy, x + 100.0, yy + 100.0)
            } else {
                rect(x0 - 20.0, yy, x0, yy + 100.0)
            };
            let area = if y == 0 { 10_000.0 } else { 2_000.0 };
            let county = format!("{:06}", 320_100 + (s % 100));
            out.push(LedgerPatch {
                id: format!("{}_r{j}c{i}", pair.key()),
                pair,
                geom,
                area_m2: area,
                change_type: "bare_soil_gain".into(),
                confidence: "high".into(),
                centre_lonlat: (117.0 + i as f64 * 0.01, 27.0 + j as f64 * 0.009),
                restores: false,
                finding: Finding {
                    patch_id: String::new(),
                    area_m2: area,
                    hits: vec![],
                    licence_status: LicenceStatus::OutsideAllRights,
                    outside_licence_m2: area,
                    licence_granted_in_pair: None,
                    licences: vec![],
                    holders: vec![],
                    minerals: vec![],
                    in_restoration_project: false,
                    in_construction_project: false,
                    special_land: false,
                    admin: AdminPlace {
                        county_code: Some(county),
                        ..Default::default()
                    },
                    river_distance_m: None,
                    over_10_mu_illegal: false,
                    licence_validity_checked: Some(true),
                    admin_overruled: vec![],
                },
            });
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let ps = patches();
    let p = LedgerParams::default();
    let none = Outside {
        history: &[],
        penalties: &[],
    };
    let mut g = c.benchmark_group("ledger_100k_sites_6_years");
    g.sample_size(10);
    g.bench_function("link_and_sites", |b| {
        b.iter(|| minewatch_ledger::build(&ps, &BTreeMap::new(), &none, &p).len())
    });
    let sites = minewatch_ledger::build(&ps, &BTreeMap::new(), &none, &p);
    assert_eq!(sites.len(), SITES);
    assert!(sites.iter().all(|s| s.longest_run == YEARS as u32));
    let policy = Policy::default();
    let ctx = Context::default();
    // The dates only shape the reasons' wording, not the cost.
    let dates = minewatch_policy::RunDates::default();
    g.bench_function("score_and_rank", |b| {
        b.iter(|| {
            use rayon::prelude::*;
            let mut t: Vec<_> = sites
                .par_iter()
                .map(|s| minewatch_policy::score(s, &dates, &policy, &ctx))
                .collect();
            minewatch_policy::rank(&mut t);
            t.len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
