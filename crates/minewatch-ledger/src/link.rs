//! Linking patches of different date pairs into sites. Two patches belong to one site when
//! they overlap or lie within the link distance of each other: a pit that grows each year
//! shows as a new ring of change next to last year's, not on top of it.

use geo::Intersects;
use geo_types::{Coord, MultiPolygon};
use rayon::prelude::*;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};

/// Envelope (min x, min y, max x, max y) of a MultiPolygon; None when empty.
pub fn bbox(g: &MultiPolygon<f64>) -> Option<[f64; 4]> {
    use geo::BoundingRect;
    g.bounding_rect()
        .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y])
}

fn seg_dist2(a: Coord<f64>, b: Coord<f64>, p: Coord<f64>) -> f64 {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p.x - a.x) * dx + (p.y - a.y) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (x, y) = (a.x + t * dx - p.x, a.y + t * dy - p.y);
    x * x + y * y
}

/// Is some vertex of `a` (inside `b`'s box grown by `d`) within `d` of an edge of `b`?
fn vertex_near(a: &MultiPolygon<f64>, b: &MultiPolygon<f64>, bb: [f64; 4], d: f64) -> bool {
    let d2 = d * d;
    for pa in &a.0 {
        for ra in std::iter::once(pa.exterior()).chain(pa.interiors()) {
            for &v in &ra.0 {
                if v.x < bb[0] - d || v.x > bb[2] + d || v.y < bb[1] - d || v.y > bb[3] + d {
                    continue;
                }
                for pb in &b.0 {
                    for rb in std::iter::once(pb.exterior()).chain(pb.interiors()) {
                        for w in rb.0.windows(2) {
                            if seg_dist2(w[0], w[1], v) <= d2 {
                                return true;
                            }
                        }
                    }
                }
            }
        }
    }
    false
}

/// Overlap, touch or within `d` metres (exact: polygons that do not intersect are
/// nearest at a vertex of one of them).
pub fn within(
    a: &MultiPolygon<f64>,
    ba: [f64; 4],
    b: &MultiPolygon<f64>,
    bb: [f64; 4],
    d: f64,
) -> bool {
    if ba[0] > bb[2] + d || bb[0] > ba[2] + d || ba[1] > bb[3] + d || bb[1] > ba[3] + d {
        return false;
    }
    if d > 0.0 && (vertex_near(a, b, bb, d) || vertex_near(b, a, ba, d)) {
        return true;
    }
    a.intersects(b)
}

/// Union-find over patches: `group[i]` for each patch i, linking patches of different
/// groups-of-origin (`pair[i]`) within `d`. Same-pair patches are never linked directly
/// (detection already made them separate), only through other years.
pub fn link(geoms: &[MultiPolygon<f64>], pair: &[usize], d: f64) -> Vec<usize> {
    let boxes: Vec<Option<[f64; 4]>> = geoms.par_iter().map(bbox).collect();
    let entries: Vec<GeomWithData<Rectangle<[f64; 2]>, usize>> = boxes
        .iter()
        .enumerate()
        .filter_map(|(i, b)| {
            b.map(|b| GeomWithData::new(Rectangle::from_corners([b[0], b[1]], [b[2], b[3]]), i))
        })
        .collect();
    let tree = RTree::bulk_load(entries);
    let edges: Vec<(usize, usize)> = (0..geoms.len())
        .into_par_iter()
        .flat_map_iter(|i| {
            let Some(bi) = boxes[i] else {
                return Vec::new();
            };
            let env = AABB::from_corners([bi[0] - d, bi[1] - d], [bi[2] + d, bi[3] + d]);
            let mut out: Vec<(usize, usize)> = tree
                .locate_in_envelope_intersecting(&env)
                .map(|e| e.data)
                .filter(|&j| j > i && pair[j] != pair[i])
                .filter(|&j| within(&geoms[i], bi, &geoms[j], boxes[j].unwrap_or(bi), d))
                .map(|j| (i, j))
                .collect();
            out.sort_unstable();
            out
        })
        .collect();
    let mut parent: Vec<usize> = (0..geoms.len()).collect();
    fn find(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    for (i, j) in edges {
        let (a, b) = (find(&mut parent, i), find(&mut parent, j));
        if a != b {
            // The smaller index is the root: roots depend on the data order only.
            let (lo, hi) = if a < b { (a, b) } else { (b, a) };
            parent[hi] = lo;
        }
    }
    (0..geoms.len()).map(|i| find(&mut parent, i)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_shapes::square as sq;

    #[test]
    fn rings_of_a_growing_pit_link_and_far_patches_do_not() {
        // Year 1 pit, year 2 ring beside it (touching), year 3 a strip 20 m away,
        // year 2 a patch 500 m away.
        let g = vec![
            sq(0.0, 0.0, 100.0),
            sq(100.0, 0.0, 50.0),
            sq(170.0, 0.0, 30.0),
            sq(700.0, 0.0, 30.0),
        ];
        let groups = link(&g, &[0, 1, 2, 1], 30.0);
        assert_eq!(groups, vec![0, 0, 0, 3]);
        // Same pair: never linked directly.
        let groups = link(&[sq(0.0, 0.0, 10.0), sq(10.0, 0.0, 10.0)], &[0, 0], 30.0);
        assert_eq!(groups, vec![0, 1]);
        // Distance 0: only overlap or touch.
        let groups = link(&[sq(0.0, 0.0, 10.0), sq(15.0, 0.0, 10.0)], &[0, 1], 0.0);
        assert_eq!(groups, vec![0, 1]);
    }
}
