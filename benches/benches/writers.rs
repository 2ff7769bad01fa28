//! Writing GeoJSON positions: a pixel-edge polygon has a vertex per boundary corner, so
//! patch files carry millions of lon/lat pairs at 16384². Compares the float formatter
//! (`{}` of the value rounded to 7 decimals, the writers until session 19) with
//! `push_position`, which prints the same bytes from the rounded integer.
//!
//! `cargo bench -p minewatch-benches --bench writers`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use minewatch_pipeline::write::{push_position, round};
use std::fmt::Write as _;

/// 100,000 vertices of a 10 m grid near 118.8° E, 32.0° N, as a patch's corners are.
fn vertices() -> Vec<(f64, f64)> {
    let (dx, dy) = (10.0 / 94_400.0, 10.0 / 111_000.0);
    (0..100_000)
        .map(|i| {
            let (c, r) = ((i % 317) as f64, (i / 317) as f64);
            (118.8 + c * dx, 32.0 - r * dy)
        })
        .collect()
}

fn positions(c: &mut Criterion) {
    let v = vertices();
    let mut g = c.benchmark_group("geojson_positions");
    g.throughput(Throughput::Elements(v.len() as u64));
    g.bench_function("float_formatter", |b| {
        let mut s = String::with_capacity(v.len() * 30);
        b.iter(|| {
            s.clear();
            for &(x, y) in &v {
                let _ = write!(s, "[{},{}]", round(x, 7), round(y, 7));
            }
            s.len()
        })
    });
    g.bench_function("push_position", |b| {
        let mut s = String::with_capacity(v.len() * 30);
        b.iter(|| {
            s.clear();
            for &(x, y) in &v {
                push_position(&mut s, x, y);
            }
            s.len()
        })
    });
    g.finish();
}

criterion_group!(benches, positions);
criterion_main!(benches);
