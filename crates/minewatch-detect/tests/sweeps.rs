//! The streaming sweeps against whole-array reference implementations on random masks:
//! the sieve against a direct port of the peers' gdal_sieve model, labelling against a
//! flood fill, and polygons against OGC validity and exact pixel area.

use geo::{Area, Validation};
use minewatch_detect::label::label_mask;
use minewatch_detect::polygon::polygons_of_runs;
use minewatch_detect::sieve::sieve_mask;
use proptest::prelude::*;

/// 8-connected components of equal value; returns (labels, sizes, values).
fn components(mask: &[u8], w: usize) -> (Vec<usize>, Vec<u64>, Vec<u8>) {
    let h = mask.len() / w;
    let mut lab = vec![usize::MAX; mask.len()];
    let (mut sizes, mut values) = (Vec::new(), Vec::new());
    for s in 0..mask.len() {
        if lab[s] != usize::MAX {
            continue;
        }
        let id = sizes.len();
        let v = mask[s];
        let mut stack = vec![s];
        lab[s] = id;
        let mut n = 0;
        while let Some(p) = stack.pop() {
            n += 1;
            let (y, x) = ((p / w) as i64, (p % w) as i64);
            for dy in -1..=1 {
                for dx in -1..=1 {
                    let (yy, xx) = (y + dy, x + dx);
                    if yy < 0 || xx < 0 || yy >= h as i64 || xx >= w as i64 {
                        continue;
                    }
                    let q = yy as usize * w + xx as usize;
                    if lab[q] == usize::MAX && mask[q] == v {
                        lab[q] = id;
                        stack.push(q);
                    }
                }
            }
        }
        sizes.push(n);
        values.push(v);
    }
    (lab, sizes, values)
}

/// Direct port of `sieve_gdal` in ../shared/peers/peer_b_py.py (checked there against
/// gdal_sieve.py pixel for pixel).
fn reference_sieve(mask: &[u8], w: usize, mmu: u64) -> Vec<u8> {
    let h = mask.len() / w;
    let (lab, sizes, values) = components(mask, w);
    let n = sizes.len();
    let small: Vec<bool> = sizes.iter().map(|&s| s < mmu).collect();
    // best (size, -pos) neighbour per small owner
    let mut big: Vec<Option<(u64, u64, usize)>> = vec![None; n];
    for y in 0..h {
        for x in 0..w {
            for (k, (dy, dx)) in [(-1i64, 0i64), (-1, -1), (-1, 1), (0, -1)]
                .iter()
                .enumerate()
            {
                let (yy, xx) = (y as i64 + dy, x as i64 + dx);
                if yy < 0 || xx < 0 || xx >= w as i64 {
                    continue;
                }
                let (p, q) = (y * w + x, yy as usize * w + xx as usize);
                if mask[p] == mask[q] {
                    continue;
                }
                let pos = (p as u64) * 4 + k as u64;
                for (owner, cand) in [(lab[p], lab[q]), (lab[q], lab[p])] {
                    if !small[owner] {
                        continue;
                    }
                    let better = match big[owner] {
                        None => true,
                        Some((s, bp, _)) => sizes[cand] > s || (sizes[cand] == s && pos < bp),
                    };
                    if better {
                        big[owner] = Some((sizes[cand], pos, cand));
                    }
                }
            }
        }
    }
    let mut newval = values.clone();
    for r in 0..n {
        if !small[r] {
            continue;
        }
        let Some((_, _, mut f)) = big[r] else {
            continue;
        };
        let mut steps = 0;
        while small[f] && steps <= n {
            match big[f] {
                Some((_, _, g)) => f = g,
                None => break,
            }
            steps += 1;
        }
        if !small[f] {
            newval[r] = values[f];
        }
    }
    lab.iter().map(|&l| newval[l]).collect()
}

fn mask_strategy() -> impl Strategy<Value = (usize, Vec<u8>)> {
    (1usize..24, 1usize..24, 0u32..100).prop_flat_map(|(w, h, density)| {
        (
            Just(w),
            proptest::collection::vec((0u32..100).prop_map(move |r| (r < density) as u8), w * h),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, .. ProptestConfig::default() })]

    #[test]
    fn sieve_matches_reference((w, mask) in mask_strategy(), mmu in 2u64..14) {
        prop_assert_eq!(sieve_mask(&mask, w, mmu), reference_sieve(&mask, w, mmu));
    }

    #[test]
    fn sieve_with_constant_compaction_matches_reference((w, mask) in mask_strategy(), mmu in 2u64..14, every in 1usize..6) {
        let mut out = Vec::new();
        let mut s = minewatch_detect::SieveSweep::<()>::new(w, mmu).with_compaction_at(every);
        let mut emit = |row: &[u8], _: ()| out.extend_from_slice(row);
        for row in mask.chunks(w) {
            s.push_row(row, (), &mut emit);
        }
        s.finish(&mut emit);
        prop_assert_eq!(out, reference_sieve(&mask, w, mmu));
    }

    #[test]
    fn labels_match_flood_fill((w, mask) in mask_strategy()) {
        let (lab, sizes, values) = components(&mask, w);
        let patches = label_mask(&mask, w);
        let expect: Vec<u64> = {
            let mut firsts: Vec<(usize, u64)> = Vec::new();
            let mut seen = vec![false; sizes.len()];
            for (p, &l) in lab.iter().enumerate() {
                if values[l] == 1 && !seen[l] { seen[l] = true; firsts.push((p, sizes[l])); }
            }
            firsts.into_iter().map(|(_, s)| s).collect()
        };
        let got: Vec<u64> = patches.iter().map(|p| p.pixels).collect();
        prop_assert_eq!(got, expect);
    }

    #[test]
    fn polygons_are_valid_and_exact((w, mask) in mask_strategy()) {
        for p in label_mask(&mask, w) {
            let g = polygons_of_runs(&p.runs);
            let mp = geo::MultiPolygon::new(g.polygons.iter().map(|rings| {
                let conv = |r: &Vec<(i64, i64)>| geo::LineString::from(r.iter().map(|&(x, y)| (x as f64, -(y as f64))).collect::<Vec<_>>());
                geo::Polygon::new(conv(&rings[0]), rings[1..].iter().map(conv).collect())
            }).collect());
            prop_assert!(mp.is_valid(), "invalid: {:?} from runs {:?}", mp, p.runs);
            prop_assert_eq!(mp.signed_area(), p.pixels as f64, "shells must be CCW with north up");
        }
    }
}

#[test]
fn diagonal_pinch_becomes_two_polygons() {
    // X.
    // .X
    let p = &label_mask(&[1, 0, 0, 1], 2)[0];
    assert_eq!(p.pixels, 2);
    assert_eq!(polygons_of_runs(&p.runs).polygons.len(), 2);
}

#[test]
fn ring_with_diagonal_hole_corner_is_one_polygon_with_a_hole() {
    // A 4x4 ring of pixels around a 2x2 hole whose corner also touches the outside diagonally
    // is still one part with a shell and one hole.
    let m = [
        1, 1, 1, 1, //
        1, 0, 0, 1, //
        1, 0, 0, 1, //
        1, 1, 1, 1,
    ];
    let p = &label_mask(&m, 4)[0];
    let g = polygons_of_runs(&p.runs);
    assert_eq!(g.polygons.len(), 1);
    assert_eq!(g.polygons[0].len(), 2);
    assert_eq!(
        g.polygons[0][0],
        vec![(0, 0), (0, 4), (4, 4), (4, 0), (0, 0)]
    );
}

#[test]
fn small_hole_is_filled_and_small_speck_dropped() {
    let mut m = vec![0u8; 12 * 12];
    for y in 2..8 {
        for x in 2..8 {
            m[y * 12 + x] = 1;
        }
    }
    m[4 * 12 + 4] = 0; // 1-pixel hole
    m[10 * 12 + 10] = 1; // 1-pixel speck
    let s = sieve_mask(&m, 12, 10);
    assert_eq!(s[4 * 12 + 4], 1);
    assert_eq!(s[10 * 12 + 10], 0);
    assert_eq!(s.iter().filter(|&&v| v == 1).count(), 36);
}
