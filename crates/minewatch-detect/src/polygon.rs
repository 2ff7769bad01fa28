//! Exact pixel-edge polygons of a patch that are valid OGC geometry.
//!
//! An 8-connected patch can touch itself only at pixel corners (diagonal pinch points).
//! GDAL's polygonize writes such a patch as one polygon whose ring touches itself there,
//! which is invalid. Here a patch becomes a MultiPolygon with one polygon per
//! 4-connected part: polygons of a patch meet only at corners, which is valid. Inside a
//! part, a corner where the part touches itself diagonally is passed by keeping the
//! outside quadrant on the same side, so every ring is simple and a hole may touch its
//! shell at a single point, as OGC allows.
//!
//! Coordinates are pixel corners (col, row), row growing downwards. Shells run
//! counter-clockwise as seen on a north-up map and holes clockwise (RFC 7946's
//! right-hand rule).

use minewatch_core::{PatchGeometry, PixelRing};
use std::collections::HashMap;

/// Polygons of the pixels covered by `runs` = `(row, start, end)` sorted by (row, start).
pub fn polygons_of_runs(runs: &[(u32, u32, u32)]) -> PatchGeometry {
    let parts = four_connected_parts(runs);
    let polygons = parts.iter().map(|part| trace_part(part)).collect();
    PatchGeometry { polygons }
}

/// Split runs into 4-connected parts, each sorted, parts ordered by their first run.
fn four_connected_parts(runs: &[(u32, u32, u32)]) -> Vec<Vec<(u32, u32, u32)>> {
    let n = runs.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    // Row starts, then two pointers between consecutive rows.
    let mut row_start = 0;
    let mut prev: (usize, usize) = (0, 0);
    while row_start < n {
        let y = runs[row_start].0;
        let mut row_end = row_start;
        while row_end < n && runs[row_end].0 == y {
            row_end += 1;
        }
        if prev.1 > prev.0 && runs[prev.0].0 + 1 == y {
            let mut j = prev.0;
            for i in row_start..row_end {
                let (_, a, b) = runs[i];
                while j < prev.1 && runs[j].2 <= a {
                    j += 1;
                }
                let mut k = j;
                while k < prev.1 && runs[k].1 < b {
                    let (ri, rk) = (find(&mut parent, i), find(&mut parent, k));
                    if ri != rk {
                        parent[ri.max(rk)] = ri.min(rk);
                    }
                    k += 1;
                }
            }
        }
        prev = (row_start, row_end);
        row_start = row_end;
    }
    let mut index: HashMap<usize, usize> = HashMap::new();
    let mut parts: Vec<Vec<(u32, u32, u32)>> = Vec::new();
    for (i, run) in runs.iter().enumerate() {
        let r = find(&mut parent, i);
        let k = *index.entry(r).or_insert_with(|| {
            parts.push(Vec::new());
            parts.len() - 1
        });
        parts[k].push(*run);
    }
    parts
}

/// Intervals of `[a, b)` not covered by `others` (sorted, disjoint).
fn uncovered(a: u32, b: u32, others: &[(u32, u32, u32)], out: &mut Vec<(u32, u32)>) {
    out.clear();
    let mut x = a;
    let start = others.partition_point(|r| r.2 <= a);
    for r in &others[start..] {
        if r.1 >= b {
            break;
        }
        if r.1 > x {
            out.push((x, r.1));
        }
        x = x.max(r.2);
        if x >= b {
            break;
        }
    }
    if x < b {
        out.push((x, b));
    }
}

#[derive(Clone, Copy)]
struct Edge {
    from: (i64, i64),
    to: (i64, i64),
}

impl Edge {
    fn dir(&self) -> (i64, i64) {
        (
            (self.to.0 - self.from.0).signum(),
            (self.to.1 - self.from.1).signum(),
        )
    }
}

/// Shell first, then holes, of one 4-connected part.
fn trace_part(part: &[(u32, u32, u32)]) -> Vec<PixelRing> {
    // Slices of the part's runs per row.
    let mut rows: Vec<(u32, usize, usize)> = Vec::new();
    for (i, r) in part.iter().enumerate() {
        match rows.last_mut() {
            Some(last) if last.0 == r.0 => last.2 = i + 1,
            _ => rows.push((r.0, i, i + 1)),
        }
    }
    let row_slice = |y: i64| -> &[(u32, u32, u32)] {
        if y < 0 {
            return &[];
        }
        match rows.binary_search_by_key(&(y as u32), |r| r.0) {
            Ok(k) => &part[rows[k].1..rows[k].2],
            Err(_) => &[],
        }
    };
    let mut edges: Vec<Edge> = Vec::with_capacity(part.len() * 4);
    let mut gaps = Vec::new();
    for &(y, a, b) in part {
        let (yi, ai, bi) = (y as i64, a as i64, b as i64);
        // Left edge goes up, right edge goes down (clockwise on screen).
        edges.push(Edge {
            from: (ai, yi + 1),
            to: (ai, yi),
        });
        uncovered(a, b, row_slice(yi - 1), &mut gaps);
        for &(u, v) in &gaps {
            edges.push(Edge {
                from: (u as i64, yi),
                to: (v as i64, yi),
            });
        }
        edges.push(Edge {
            from: (bi, yi),
            to: (bi, yi + 1),
        });
        uncovered(a, b, row_slice(yi + 1), &mut gaps);
        for &(u, v) in gaps.iter().rev() {
            edges.push(Edge {
                from: (v as i64, yi + 1),
                to: (u as i64, yi + 1),
            });
        }
    }
    let mut out_of: HashMap<(i64, i64), [u32; 2]> = HashMap::with_capacity(edges.len());
    for (i, e) in edges.iter().enumerate() {
        let slot = out_of.entry(e.from).or_insert([u32::MAX; 2]);
        if slot[0] == u32::MAX {
            slot[0] = i as u32;
        } else {
            slot[1] = i as u32;
        }
    }
    let mut used = vec![false; edges.len()];
    let mut rings: Vec<PixelRing> = Vec::new();
    for start in 0..edges.len() {
        if used[start] {
            continue;
        }
        let mut ring: Vec<(i64, i64)> = Vec::new();
        let mut e = start;
        loop {
            used[e] = true;
            ring.push(edges[e].from);
            let cands = out_of[&edges[e].to];
            let din = edges[e].dir();
            let next = if cands[1] == u32::MAX {
                cands[0]
            } else {
                // Pinch: keep the outside quadrant on the same side (see module doc).
                let pick = |c: u32| {
                    let d = edges[c as usize].dir();
                    din.0 * d.1 - din.1 * d.0 == -1
                };
                if pick(cands[0]) {
                    cands[0]
                } else {
                    cands[1]
                }
            } as usize;
            if next == start {
                break;
            }
            debug_assert!(!used[next], "ring tracing revisited an edge");
            e = next;
        }
        rings.push(simplify(ring));
    }
    // Exactly one ring of a 4-connected part has positive (screen, clockwise) area: the shell.
    let shell = rings
        .iter()
        .position(|r| signed_area2(r) > 0)
        .expect("a 4-connected part has a shell");
    let shell_ring = rings.swap_remove(shell);
    let mut out = vec![shell_ring];
    out.extend(rings);
    // Traced clockwise on screen, which is clockwise on the map too (north up): reverse so
    // shells are counter-clockwise and holes clockwise.
    for r in out.iter_mut() {
        r.reverse();
    }
    out
}

/// Drop vertices between collinear edges and close the ring.
fn simplify(ring: Vec<(i64, i64)>) -> PixelRing {
    let n = ring.len();
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(n + 1);
    for i in 0..n {
        let p = ring[(i + n - 1) % n];
        let c = ring[i];
        let q = ring[(i + 1) % n];
        let cross = (c.0 - p.0) * (q.1 - c.1) - (c.1 - p.1) * (q.0 - c.0);
        if cross != 0 {
            out.push(c);
        }
    }
    // Start at the smallest (row, col) vertex so the ring's text does not depend on tracing order.
    let k = (0..out.len())
        .min_by_key(|&i| (out[i].1, out[i].0))
        .unwrap_or(0);
    out.rotate_left(k);
    if let Some(&f) = out.first() {
        out.push(f);
    }
    out
}

/// Twice the signed area (screen coordinates, clockwise positive) of a closed ring.
pub fn signed_area2(ring: &[(i64, i64)]) -> i64 {
    ring.windows(2)
        .map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1)
        .sum()
}
