//! Criterion benches of the hot kernels: the per-window change kernel, the streaming
//! sieve, streaming labelling, polygon tracing, the automatic score and the compaction of
//! window outputs for the sweep, and the cloud screen. `cargo bench -p minewatch-benches`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use minewatch_benches::{blob_mask, Stream};
use minewatch_core::BandRole;
use minewatch_detect::label::label_mask;
use minewatch_detect::{
    polygons_of_runs, Index, Kernel, PatchSweep, Planes, Rule, SieveSweep, Var,
};
use std::hint::black_box;

fn kernel(c: &mut Criterion) {
    let n = 512 * 512;
    let mut s = Stream::new(7);
    let mut plane =
        |base: f32| -> Vec<f32> { (0..n).map(|_| (base + 2000.0 * s.unit()).round()).collect() };
    let (b1, r1, n1, s1) = (plane(300.0), plane(400.0), plane(3000.0), plane(1500.0));
    let (b2, r2, n2, s2) = (plane(600.0), plane(900.0), plane(2200.0), plane(2500.0));
    let (mut p1, mut p2) = (Planes::default(), Planes::default());
    for (role, a, b) in [
        (BandRole::Blue, &b1, &b2),
        (BandRole::Red, &r1, &r2),
        (BandRole::Nir, &n1, &n2),
        (BandRole::Swir1, &s1, &s2),
    ] {
        p1.set(role, a);
        p2.set(role, b);
    }
    let k = Kernel {
        rule: Rule::peer_reference(),
        channels: vec![Var::Drop(Index::Ndvi), Var::Rise(Index::Bsi)],
    };
    let valid = vec![1u8; n];
    let (mut mask, mut ch) = (Vec::new(), Vec::new());
    let mut g = c.benchmark_group("kernel");
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("peer_rule_512x512_2_channels", |b| {
        b.iter(|| {
            k.run(&p1, &p2, &valid, &mut mask, &mut ch);
            black_box(mask.len())
        })
    });
    g.finish();
}

fn sweeps(c: &mut Criterion) {
    let n = 2048;
    let mask = blob_mask(n, 42);
    let mut g = c.benchmark_group("sweeps");
    g.throughput(Throughput::Elements((n * n) as u64));
    g.sample_size(20);
    g.bench_function("sieve_gdal_mmu10_2048x2048", |b| {
        b.iter(|| {
            let mut s = SieveSweep::<()>::new(n, 10);
            let mut count = 0u64;
            let mut emit = |row: &[u8], _: ()| count += row.iter().map(|&v| v as u64).sum::<u64>();
            for row in mask.chunks(n) {
                s.push_row(row, (), &mut emit);
            }
            s.finish(&mut emit);
            black_box(count)
        })
    });
    let values = vec![0.25f32; n * 2];
    g.bench_function("label_2ch_2048x2048", |b| {
        b.iter(|| {
            let mut l = PatchSweep::new(n, 2, 0);
            let mut count = 0usize;
            let mut emit = |_p| count += 1;
            for row in mask.chunks(n) {
                l.push_row(row, &values, &mut emit);
            }
            l.finish(&mut emit);
            black_box(count)
        })
    });
    let patches = label_mask(&mask, n);
    let px: u64 = patches.iter().map(|p| p.pixels).sum();
    g.throughput(Throughput::Elements(px));
    g.bench_function("polygons_all_patches_2048x2048", |b| {
        b.iter(|| {
            black_box(
                patches
                    .iter()
                    .map(|p| polygons_of_runs(&p.runs).polygons.len())
                    .sum::<usize>(),
            )
        })
    });
    g.finish();
}

/// The automatic method's score on a 518² halo window of 5 bands: whitening plus the
/// best-match search, at Landsat's radius (1) and Sentinel-2's (2).
fn auto_score(c: &mut Criterion) {
    use minewatch_detect::auto::{score_window, AutoModel, Cap, Neighbourhood};
    let (w, h, nb) = (518usize, 518usize, 5usize);
    let n = w * h;
    let mut s = Stream::new(11);
    let mut plane =
        |base: f32| -> Vec<f32> { (0..n).map(|_| (base + 500.0 * s.unit()).round()).collect() };
    let t1: Vec<Vec<f32>> = (0..nb).map(|b| plane(300.0 + 400.0 * b as f32)).collect();
    let t2: Vec<Vec<f32>> = (0..nb).map(|b| plane(320.0 + 380.0 * b as f32)).collect();
    let r1: Vec<&[f32]> = t1.iter().map(|v| v.as_slice()).collect();
    let r2: Vec<&[f32]> = t2.iter().map(|v| v.as_slice()).collect();
    let mut whiten = vec![0.0; nb * nb];
    for i in 0..nb {
        for j in 0..=i {
            whiten[i * nb + j] = if i == j { 0.01 } else { -0.002 };
        }
    }
    let model = AutoModel {
        gains: vec![1.02; nb],
        offsets: vec![-5.0; nb],
        whiten,
        invariant_pixels: 0,
    };
    let valid = vec![1u8; n];
    let mut out = Vec::new();
    let mut g = c.benchmark_group("auto_score");
    g.throughput(Throughput::Elements(n as u64));
    for metres in [30.0, 10.0] {
        let hood = Neighbourhood::for_pixel_size(metres);
        g.bench_function(
            format!("518x518_5_bands_radius_{}", hood.match_radius),
            |b| {
                b.iter(|| {
                    score_window(
                        &model,
                        hood,
                        &r1,
                        &r2,
                        &valid,
                        w,
                        h,
                        Cap::OwnScore,
                        &mut out,
                    );
                    black_box(&out);
                })
            },
        );
    }
    g.finish();
}

/// The cloud screen of one halo window (518², the automatic method's 512 + 2 × 3): the
/// per-pixel cloud / shadow / haze tests, then the opening and moat of the cloud flags.
/// Values are reflectance × 10000; one pixel in 50 is cloud at date 2.
fn cloud_screen(c: &mut Criterion) {
    use minewatch_detect::cloud::{open_and_moat, Reflectance, Screen, ScreenBands};
    let (w, h) = (518usize, 518usize);
    let n = w * h;
    let mut s = Stream::new(13);
    let veg = [400.0, 700.0, 500.0, 3500.0, 1700.0];
    let cloud = [4500.0, 4400.0, 4400.0, 4600.0, 3200.0];
    let cloudy: Vec<bool> = (0..n).map(|i| (i / w / 8 + i % w / 8) % 50 == 0).collect();
    let mut planes = |date: usize| -> Vec<Vec<f32>> {
        (0..5)
            .map(|b| {
                (0..n)
                    .map(|i| {
                        let v = if date == 1 && cloudy[i] {
                            cloud[b]
                        } else {
                            veg[b]
                        };
                        (v + 200.0 * s.unit()).round()
                    })
                    .collect()
            })
            .collect()
    };
    let (p1, p2) = (planes(0), planes(1));
    let q1 = ScreenBands::select(&p1, [0, 1, 2, 3, 4]);
    let q2 = ScreenBands::select(&p2, [0, 1, 2, 3, 4]);
    let screen = Screen::both(Reflectance::TIMES_10000);
    let valid = vec![1u8; n];
    let (mut cl, mut sh) = (Vec::new(), Vec::new());
    let mut g = c.benchmark_group("cloud_screen");
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("518x518_flags", |b| {
        b.iter(|| {
            screen.flags(&q1, &q2, &q2, &valid, &mut cl, &mut sh);
            black_box(&cl);
        })
    });
    screen.flags(&q1, &q2, &q2, &valid, &mut cl, &mut sh);
    g.bench_function("518x518_open_and_moat", |b| {
        b.iter(|| {
            let mut c = cl.clone();
            black_box(open_and_moat(&mut c, w, h));
        })
    });
    g.finish();
}

/// A window's output made compact for the sweep (workers, once per window) and stitched
/// back row by row (the sweep thread), with the peer rule's 2 channels and the automatic
/// method's 5.
fn compact(c: &mut Criterion) {
    use minewatch_pipeline::compact::{CompactWindow, RowValues};
    use minewatch_pipeline::detect_run::WindowOut;
    let w = 512;
    let mask = blob_mask(w, 7);
    let mut s = Stream::new(11);
    let mut g = c.benchmark_group("compact");
    g.throughput(Throughput::Elements((w * w) as u64));
    for n_ch in [2usize, 5] {
        let o = WindowOut {
            window: minewatch_core::Window {
                col: 0,
                row: 0,
                width: w,
                height: w,
            },
            valid: (w * w) as u64,
            flagged: mask.iter().map(|&v| v as u64).sum(),
            mask: mask.clone(),
            valid_mask: vec![1u8; w * w],
            channels: (0..n_ch)
                .map(|_| (0..w * w).map(|_| s.unit()).collect())
                .collect(),
        };
        g.bench_function(format!("new_512x512_{n_ch}_channels_mmu10"), |b| {
            b.iter(|| black_box(CompactWindow::new(&o, 10).kept()))
        });
        let cw = CompactWindow::new(&o, 10);
        let (mut m, mut v) = (vec![0u8; w], vec![0u8; w]);
        let mut vals = RowValues::new(n_ch, w);
        // As the sweep does: each row cleared of the last row's values, then stitched.
        g.bench_function(format!("stitch_512_rows_{n_ch}_channels"), |b| {
            b.iter(|| {
                for r in 0..w {
                    vals.clear();
                    cw.stitch_row(r, &mut m, &mut v, &mut vals);
                }
                black_box(vals.vals[0])
            })
        });
    }
    g.finish();
}

criterion_group!(benches, kernel, sweeps, auto_score, compact, cloud_screen);
criterion_main!(benches);
