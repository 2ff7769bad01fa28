//! Distance from a patch to the nearest river (of every corridor layer), exact in the work
//! CRS: to a river line, or to a river drawn as polygons (the water surface, or a corridor
//! drawn as such), 0 inside one. Two polylines that do not cross are nearest at a vertex
//! of one of them, so the distance is the smallest vertex-to-segment distance either way
//! between the patch's rings (holes too) and the river segments the R-tree finds nearer
//! to the patch's box than the best distance so far; a river
//! line or polygon edge crossing or inside the patch gives 0, and so does a polygon
//! holding the patch (a ray from a patch vertex crosses its rings an odd number of times).

use crate::overlap::PatchShape;
use crate::source::RIVER_SEARCH_M;
use geo::Intersects;
use geo_types::{Coord, Line, LineString, Polygon};
use rstar::{PointDistance, RTree, RTreeObject, SelectionFunction, AABB};

#[derive(Debug, Clone)]
struct Seg {
    a: [f64; 2],
    b: [f64; 2],
    /// The river polygon whose ring this is; `None` for a river line.
    area: Option<u32>,
}

impl RTreeObject for Seg {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        AABB::from_corners(self.a, self.b)
    }
}

impl PointDistance for Seg {
    fn distance_2(&self, p: &[f64; 2]) -> f64 {
        seg_dist2(self.a, self.b, *p)
    }
}

fn seg_dist2(a: [f64; 2], b: [f64; 2], p: [f64; 2]) -> f64 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (x, y) = (a[0] + t * dx - p[0], a[1] + t * dy - p[1]);
    x * x + y * y
}

/// Selects the segments nearer than `best` (squared) to a box, `best` read as it shrinks.
struct NearBox<'a> {
    bbox: [f64; 4],
    best: &'a std::cell::Cell<f64>,
}

impl NearBox<'_> {
    fn gap2(&self, lo: [f64; 2], hi: [f64; 2]) -> f64 {
        let b = self.bbox;
        let dx = (b[0] - hi[0]).max(lo[0] - b[2]).max(0.0);
        let dy = (b[1] - hi[1]).max(lo[1] - b[3]).max(0.0);
        dx * dx + dy * dy
    }
}

impl SelectionFunction<Seg> for NearBox<'_> {
    fn should_unpack_parent(&self, env: &AABB<[f64; 2]>) -> bool {
        self.gap2(env.lower(), env.upper()) < self.best.get()
    }
    fn should_unpack_leaf(&self, s: &Seg) -> bool {
        let env = s.envelope();
        self.gap2(env.lower(), env.upper()) < self.best.get()
    }
}

pub struct RiverIndex {
    tree: RTree<Seg>,
    /// Number of river polygons (their rings are in the tree).
    areas: usize,
}

impl RiverIndex {
    /// River lines and river polygons (exterior and interior rings alike are edges).
    pub fn new(lines: &[LineString<f64>], areas: &[Polygon<f64>]) -> Self {
        let seg = |w: &[Coord<f64>], area| Seg {
            a: [w[0].x, w[0].y],
            b: [w[1].x, w[1].y],
            area,
        };
        let mut segs: Vec<Seg> = lines
            .iter()
            .flat_map(|l| l.0.windows(2))
            .map(|w| seg(w, None))
            .collect();
        for (k, poly) in areas.iter().enumerate() {
            for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
                segs.extend(ring.0.windows(2).map(|w| seg(w, Some(k as u32))));
            }
        }
        Self {
            tree: RTree::bulk_load(segs),
            areas: areas.len(),
        }
    }

    /// Whether `c` lies inside a river polygon: a ray from it eastwards crosses that
    /// polygon's rings (holes included) an odd number of times. Only the segments
    /// straddling the ray's line are read from the tree.
    fn in_area(&self, c: Coord<f64>) -> bool {
        if self.areas == 0 {
            return false;
        }
        let ray = AABB::from_corners([c.x, c.y], [f64::MAX, c.y]);
        let mut odd = vec![false; self.areas];
        for s in self.tree.locate_in_envelope_intersecting(&ray) {
            let Some(k) = s.area else { continue };
            // Half-open in y, so a vertex on the ray is counted once.
            if (s.a[1] > c.y) != (s.b[1] > c.y) {
                let x = s.a[0] + (c.y - s.a[1]) * (s.b[0] - s.a[0]) / (s.b[1] - s.a[1]);
                if x > c.x {
                    odd[k as usize] = !odd[k as usize];
                }
            }
        }
        odd.contains(&true)
    }

    pub fn is_empty(&self) -> bool {
        self.tree.size() == 0
    }

    /// Metres to the nearest river line; `None` without rivers or beyond the search radius.
    pub fn distance(&self, p: &PatchShape) -> Option<f64> {
        if self.is_empty() {
            return None;
        }
        let b = p.bbox;
        let near = AABB::from_corners([b[0], b[1]], [b[2], b[3]]);
        for s in self.tree.locate_in_envelope_intersecting(&near) {
            let line = Line::new(
                Coord {
                    x: s.a[0],
                    y: s.a[1],
                },
                Coord {
                    x: s.b[0],
                    y: s.b[1],
                },
            );
            if line.intersects(&p.geom) {
                return Some(0.0);
            }
        }
        // No edge meets the patch: it lies wholly inside or wholly outside each polygon.
        if let Some(c) = p.geom.0.first().and_then(|poly| poly.exterior().0.first()) {
            if self.in_area(*c) {
                return Some(0.0);
            }
        }
        // Holes count: a river in a patch's hole is nearest to the hole's ring.
        let rings = || {
            p.geom
                .0
                .iter()
                .flat_map(|poly| std::iter::once(poly.exterior()).chain(poly.interiors()))
        };
        // Two polylines that do not cross are nearest at a vertex of one of them. Seeded
        // with the segment nearest to one patch vertex, the segment tree is walked with
        // that bound, tightened as segments are measured, so only the few segments facing
        // the patch meet its vertices and edges. (A nearest-segment query per patch vertex
        // and a scan of the river vertices within that distance made the 8192² bench's
        // overlay stage, one corridor polygon of 1,526 vertices, 0.51 s; with this 0.20 s.)
        let c0 = rings().next().and_then(|r| r.0.first())?;
        let seed = self
            .tree
            .nearest_neighbor(&[c0.x, c0.y])
            .map_or(f64::INFINITY, |s| s.distance_2(&[c0.x, c0.y]));
        let best = std::cell::Cell::new(seed);
        for s in self.tree.locate_with_selection_function(NearBox {
            bbox: b,
            best: &best,
        }) {
            let mut d2 = best.get();
            for ring in rings() {
                for w in ring.0.windows(2) {
                    let (e0, e1) = ([w[0].x, w[0].y], [w[1].x, w[1].y]);
                    d2 = d2
                        .min(seg_dist2(s.a, s.b, e0))
                        .min(seg_dist2(e0, e1, s.a))
                        .min(seg_dist2(e0, e1, s.b));
                }
            }
            best.set(d2);
        }
        let d2 = best.get();
        let d = d2.sqrt();
        (d <= RIVER_SEARCH_M).then_some(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::rect_polygon;
    use geo_types::MultiPolygon;

    fn square(x: f64, y: f64, s: f64) -> PatchShape {
        PatchShape::new(MultiPolygon(vec![rect_polygon([x, y, x + s, y + s])])).unwrap()
    }

    #[test]
    fn distances_from_vertices_of_either_side() {
        // A river bend whose vertex pokes towards the patch's edge: the nearest point is a
        // river vertex facing the middle of a patch edge.
        let river = LineString::from(vec![(0.0, 0.0), (50.0, 70.0), (100.0, 0.0)]);
        let idx = RiverIndex::new(&[river], &[]);
        let p = square(0.0, 100.0, 100.0);
        assert!((idx.distance(&p).unwrap() - 30.0).abs() < 1e-9);
        // A patch vertex nearest to a river segment's middle.
        let far = LineString::from(vec![(-1000.0, 0.0), (1000.0, 0.0)]);
        let idx = RiverIndex::new(&[far], &[]);
        assert!((idx.distance(&p).unwrap() - 100.0).abs() < 1e-9);
        // Crossing and inside give 0; none beyond the search radius.
        let through = LineString::from(vec![(50.0, 150.0), (60.0, 160.0)]);
        assert_eq!(RiverIndex::new(&[through], &[]).distance(&p), Some(0.0));
        let remote = LineString::from(vec![(1e6, 1e6), (1e6 + 1.0, 1e6)]);
        assert_eq!(RiverIndex::new(&[remote], &[]).distance(&p), None);
        assert_eq!(RiverIndex::new(&[], &[]).distance(&p), None);
    }

    /// The smallest vertex-to-segment distance either way between a line and a ring.
    fn brute(river: &LineString<f64>, ring: &LineString<f64>) -> f64 {
        let one_way = |a: &LineString<f64>, b: &LineString<f64>| {
            let mut d2 = f64::INFINITY;
            for w in a.0.windows(2) {
                for c in &b.0 {
                    d2 = d2.min(seg_dist2([w[0].x, w[0].y], [w[1].x, w[1].y], [c.x, c.y]));
                }
            }
            d2
        };
        one_way(river, ring).min(one_way(ring, river)).sqrt()
    }

    /// A river in a patch's hole (a ring of disturbance around a stream) is as far as the
    /// hole's ring, not the outer ring; and the answer is the brute-force minimum over
    /// every pair of (vertex, segment) of either side.
    #[test]
    fn distance_counts_the_patch_holes() {
        let mut ring = rect_polygon([0.0, 0.0, 1000.0, 1000.0]);
        ring.interiors_push(
            rect_polygon([300.0, 300.0, 700.0, 700.0])
                .exterior()
                .clone(),
        );
        let p = PatchShape::new(MultiPolygon(vec![ring])).unwrap();
        let stream = LineString::from(vec![(450.0, 350.0), (480.0, 650.0)]);
        let idx = RiverIndex::new(&[stream], &[]);
        assert!(
            (idx.distance(&p).unwrap() - 50.0).abs() < 1e-9,
            "{:?}",
            idx.distance(&p)
        );

        // A wiggly river beside a ragged patch, against every vertex–segment pair.
        let river = LineString::from(
            (0..200)
                .map(|i| (i as f64 * 37.0, 2000.0 + ((i * 7919) % 113) as f64 * 9.0))
                .collect::<Vec<_>>(),
        );
        let patch = geo_types::Polygon::new(
            LineString::from(vec![
                (1200.0, 100.0),
                (1900.0, 300.0),
                (2400.0, 1500.0),
                (2000.0, 1700.0),
                (1500.0, 1100.0),
                (1200.0, 100.0),
            ]),
            vec![],
        );
        let shape = PatchShape::new(MultiPolygon(vec![patch.clone()])).unwrap();
        let idx = RiverIndex::new(std::slice::from_ref(&river), &[]);
        let want = brute(&river, patch.exterior());
        assert!((idx.distance(&shape).unwrap() - want).abs() < 1e-9);

        // Seeded random rivers and triangles that do not meet them, against brute force.
        let mut seed = 7u64;
        let mut rnd = |scale: f64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64 * scale
        };
        let mut checked = 0;
        for _ in 0..300 {
            let river = LineString::from(
                (0..40)
                    .map(|_| (rnd(10_000.0), rnd(10_000.0)))
                    .collect::<Vec<_>>(),
            );
            let (x, y) = (rnd(10_000.0), rnd(10_000.0));
            let tri = geo_types::Polygon::new(
                LineString::from(vec![
                    (x, y),
                    (x + rnd(300.0) + 1.0, y + rnd(50.0)),
                    (x + rnd(50.0), y + rnd(300.0) + 1.0),
                    (x, y),
                ]),
                vec![],
            );
            let shape = PatchShape::new(MultiPolygon(vec![tri.clone()])).unwrap();
            if river.intersects(&tri) {
                continue;
            }
            let want = brute(&river, tri.exterior());
            let got = RiverIndex::new(&[river], &[]).distance(&shape).unwrap();
            assert!((got - want).abs() < 1e-9, "{got} vs {want}");
            checked += 1;
        }
        assert!(
            checked > 100,
            "only {checked} random cases missed their river"
        );
    }

    /// A river drawn as polygons: 0 for a patch inside one (it crosses no edge), the
    /// distance to the nearest edge outside it or in a hole (an island), 0 across an edge
    /// or with the polygon inside the patch; overlapping polygons each count.
    #[test]
    fn distances_to_river_polygons() {
        let mut water = rect_polygon([0.0, 0.0, 1000.0, 400.0]);
        water.interiors_push(
            rect_polygon([400.0, 100.0, 600.0, 300.0])
                .exterior()
                .clone(),
        );
        let idx = RiverIndex::new(&[], &[water.clone()]);
        assert_eq!(idx.distance(&square(100.0, 100.0, 50.0)), Some(0.0));
        assert_eq!(idx.distance(&square(980.0, 380.0, 40.0)), Some(0.0));
        assert!((idx.distance(&square(450.0, 150.0, 50.0)).unwrap() - 50.0).abs() < 1e-9);
        assert!((idx.distance(&square(100.0, 700.0, 50.0)).unwrap() - 300.0).abs() < 1e-9);
        assert_eq!(
            idx.distance(&square(-100.0, -100.0, 2000.0)),
            Some(0.0),
            "the river inside the patch"
        );
        // A second polygon over the first's hole: inside it, whatever the first says.
        let over = rect_polygon([420.0, 120.0, 580.0, 280.0]);
        let idx = RiverIndex::new(&[], &[water, over]);
        assert_eq!(idx.distance(&square(450.0, 150.0, 50.0)), Some(0.0));
        // Lines and polygons together: the nearer.
        let line = LineString::from(vec![(0.0, 800.0), (1000.0, 800.0)]);
        let idx = RiverIndex::new(&[line], &[rect_polygon([0.0, 0.0, 1000.0, 400.0])]);
        assert!((idx.distance(&square(100.0, 700.0, 50.0)).unwrap() - 50.0).abs() < 1e-9);
    }
}
