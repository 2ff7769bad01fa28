//! The overlay at national scale: 10⁵ patches against ~3,000 county polygons (200-vertex
//! wavy cells) and 10⁴ red-line stars over a 550 km × 550 km area, in UTM metres.
//! Measures index build and the per-patch cost of findings (R-tree candidates, exact
//! overlaps, licence status, admin place).
//!
//! `cargo bench -p minewatch-benches --bench overlay`

use criterion::{criterion_group, criterion_main, Criterion};
use geo_types::{LineString, MultiPolygon, Polygon};
use minewatch_zones::{LayersSpec, Overlay, PatchInput, PatchShape, Zone, ZoneSet};
use std::f64::consts::TAU;
use std::path::Path;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

const X0: f64 = 300_000.0;
const Y0: f64 = 3_000_000.0;
const SIDE: f64 = 550_000.0;
const COUNTY_GRID: usize = 55; // 55 × 55 = 3,025 counties

fn poly(pts: Vec<(f64, f64)>) -> Polygon<f64> {
    let mut pts = pts;
    pts.push(pts[0]);
    Polygon::new(LineString::from(pts), vec![])
}

/// County cells: squares whose edges wiggle (50 vertices per side), sharing edges with
/// their neighbours so they tile the area.
fn county(i: usize, j: usize) -> Polygon<f64> {
    let c = SIDE / COUNTY_GRID as f64;
    let wig = |a: f64, b: f64, t: f64| {
        0.04 * c * ((a * 7.1 + b * 3.3) + t * TAU * 2.0).sin() * (t * std::f64::consts::PI).sin()
    };
    let (x0, y0) = (X0 + i as f64 * c, Y0 + j as f64 * c);
    let n = 50;
    let mut pts = Vec::with_capacity(4 * n);
    for k in 0..n {
        let t = k as f64 / n as f64;
        pts.push((x0 + t * c, y0 + wig(i as f64, j as f64, t)));
    }
    for k in 0..n {
        let t = k as f64 / n as f64;
        pts.push((x0 + c + wig(i as f64 + 1.0, j as f64 + 0.5, t), y0 + t * c));
    }
    for k in 0..n {
        let t = k as f64 / n as f64;
        pts.push((
            x0 + c - t * c,
            y0 + c + wig(i as f64, j as f64 + 1.0, 1.0 - t),
        ));
    }
    for k in 0..n {
        let t = k as f64 / n as f64;
        pts.push((
            x0 + wig(i as f64 + 0.0, j as f64 + 0.5, 1.0 - t),
            y0 + c - t * c,
        ));
    }
    poly(pts)
}

fn star(rng: &mut Rng, cx: f64, cy: f64, r0: f64) -> Polygon<f64> {
    let n = 48;
    poly(
        (0..n)
            .map(|k| {
                let t = k as f64 / n as f64 * TAU;
                let r = r0 * (0.6 + 0.4 * rng.next());
                (cx + r * t.cos(), cy + r * t.sin())
            })
            .collect(),
    )
}

/// A pixel patch: an L of 10 m pixels, 5–40 px a side.
fn patch(rng: &mut Rng) -> MultiPolygon<f64> {
    let x = X0 + (rng.next() * SIDE / 10.0).floor() * 10.0;
    let y = Y0 + (rng.next() * SIDE / 10.0).floor() * 10.0;
    let (w, h) = (
        10.0 * (5.0 + 35.0 * rng.next()).floor(),
        10.0 * (5.0 + 35.0 * rng.next()).floor(),
    );
    let (a, b) = ((w / 20.0).floor() * 10.0, (h / 20.0).floor() * 10.0);
    MultiPolygon(vec![poly(vec![
        (x, y),
        (x + w, y),
        (x + w, y + b),
        (x + a, y + b),
        (x + a, y + h),
        (x, y + h),
    ])])
}

fn setup() -> (ZoneSet, Vec<PatchInput>) {
    let spec = LayersSpec::from_str(
        "[[layer]]\nname='counties'\npath='c'\nkind='admin_division'\nlevel='county'\ncode_field='c'\n[[layer]]\nname='redlines'\npath='r'\nkind='ecological_red_line'\n",
        Path::new("bench.toml"),
        Path::new("."),
    )
    .unwrap();
    let mut zones = Vec::new();
    for i in 0..COUNTY_GRID {
        for j in 0..COUNTY_GRID {
            zones.push(Zone {
                layer: 0,
                id: format!("C{i:02}{j:02}"),
                name: String::new(),
                attrs: vec![],
                geom: MultiPolygon(vec![county(i, j)]),
                right: None,
                admin_code: Some(format!("{:06}", 110000 + i * 100 + j)),
                feature: Some(i * COUNTY_GRID + j),
            });
        }
    }
    let mut rng = Rng(42);
    for k in 0..10_000 {
        let (cx, cy) = (X0 + rng.next() * SIDE, Y0 + rng.next() * SIDE);
        let r0 = 500.0 + 2500.0 * rng.next();
        zones.push(Zone {
            layer: 1,
            id: format!("RL{k:05}"),
            name: String::new(),
            attrs: vec![],
            geom: MultiPolygon(vec![star(&mut rng, cx, cy, r0)]),
            right: None,
            admin_code: None,
            feature: Some(k),
        });
    }
    let set = ZoneSet {
        layers: spec.layers,
        zones,
        ..Default::default()
    };
    let patches = (0..100_000)
        .map(|k| {
            let shape = PatchShape::new(patch(&mut rng)).unwrap();
            PatchInput {
                id: format!("p{k}"),
                area_m2: shape.area,
                shape,
                date: None,
                date_before: None,
            }
        })
        .collect();
    (set, patches)
}

fn bench(c: &mut Criterion) {
    let (set, patches) = setup();
    let mut g = c.benchmark_group("overlay_national");
    g.sample_size(10);
    g.bench_function("index_build_13k_zones", |b| {
        b.iter(|| Overlay::new(&set, None, 1.0).pieces())
    });
    let ov = Overlay::new(&set, None, 1.0);
    g.bench_function("findings_100k_patches", |b| {
        b.iter(|| ov.run(&patches).len())
    });
    g.finish();
    let f = ov.run(&patches);
    let hits: usize = f.iter().map(|(f, _)| f.hits.len()).sum();
    let placed = f
        .iter()
        .filter(|(f, _)| f.admin.county_code.is_some())
        .count();
    eprintln!(
        "{} pieces; {hits} red-line hits; {placed} of {} patches placed in a county",
        ov.pieces(),
        patches.len()
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
