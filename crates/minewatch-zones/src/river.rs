//! Distance from a patch to the nearest river line (of every corridor layer), exact in the
//! work CRS. Two polylines that do not cross are nearest at a vertex of one of them, so
//! the distance is the smaller of (patch vertices → nearest river segment, from the R-tree)
//! and (river vertices near the patch → patch boundary); a river crossing or inside the
//! patch gives 0.

use crate::overlap::PatchShape;
use crate::source::RIVER_SEARCH_M;
use geo::Intersects;
use geo_types::{Coord, Line, LineString};
use rstar::{PointDistance, RTree, RTreeObject, AABB};

#[derive(Debug, Clone)]
struct Seg {
    a: [f64; 2],
    b: [f64; 2],
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

pub struct RiverIndex {
    tree: RTree<Seg>,
}

impl RiverIndex {
    pub fn new(lines: &[LineString<f64>]) -> Self {
        let segs: Vec<Seg> = lines
            .iter()
            .flat_map(|l| l.0.windows(2))
            .map(|w| Seg {
                a: [w[0].x, w[0].y],
                b: [w[1].x, w[1].y],
            })
            .collect();
        Self {
            tree: RTree::bulk_load(segs),
        }
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
        let mut d2 = f64::INFINITY;
        for poly in &p.geom.0 {
            for c in &poly.exterior().0 {
                if let Some(s) = self.tree.nearest_neighbor(&[c.x, c.y]) {
                    d2 = d2.min(s.distance_2(&[c.x, c.y]));
                }
            }
        }
        let d1 = d2.sqrt();
        let grown = AABB::from_corners([b[0] - d1, b[1] - d1], [b[2] + d1, b[3] + d1]);
        for s in self.tree.locate_in_envelope_intersecting(&grown) {
            for v in [s.a, s.b] {
                for poly in &p.geom.0 {
                    for w in poly.exterior().0.windows(2) {
                        d2 = d2.min(seg_dist2([w[0].x, w[0].y], [w[1].x, w[1].y], v));
                    }
                }
            }
        }
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
        let idx = RiverIndex::new(&[river]);
        let p = square(0.0, 100.0, 100.0);
        assert!((idx.distance(&p).unwrap() - 30.0).abs() < 1e-9);
        // A patch vertex nearest to a river segment's middle.
        let far = LineString::from(vec![(-1000.0, 0.0), (1000.0, 0.0)]);
        let idx = RiverIndex::new(&[far]);
        assert!((idx.distance(&p).unwrap() - 100.0).abs() < 1e-9);
        // Crossing and inside give 0; none beyond the search radius.
        let through = LineString::from(vec![(50.0, 150.0), (60.0, 160.0)]);
        assert_eq!(RiverIndex::new(&[through]).distance(&p), Some(0.0));
        let remote = LineString::from(vec![(1e6, 1e6), (1e6 + 1.0, 1e6)]);
        assert_eq!(RiverIndex::new(&[remote]).distance(&p), None);
        assert_eq!(RiverIndex::new(&[]).distance(&p), None);
    }
}
