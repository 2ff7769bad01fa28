//! The R-tree over zone pieces. A province polygon with thousands of vertices would make
//! every patch inside it pay for all of them and would match every patch's bounding box,
//! so large polygons are cut into pieces of at most `MAX_VERTICES` vertices along the
//! longer side of their bounding box. Pieces that come out as whole axis-aligned rectangles
//! (the inside of a province) are kept as rectangles: a patch there is clipped exactly by
//! four half-planes instead of a polygon overlay.

use geo::{BooleanOps, BoundingRect, CoordsIter};
use geo_types::{LineString, MultiPolygon, Polygon, Rect};
use rayon::prelude::*;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};

/// Pieces above this many vertices are cut in two.
pub const MAX_VERTICES: usize = 128;
/// Cuts stop at this depth whatever the vertex count (a 2^-16 sliver of a province).
const MAX_DEPTH: u32 = 16;

/// One indexed piece of a zone.
#[derive(Debug, Clone)]
pub struct Piece {
    pub zone: u32,
    pub shape: Shape,
}

#[derive(Debug, Clone)]
pub enum Shape {
    /// An axis-aligned rectangle (min x, min y, max x, max y).
    Rect([f64; 4]),
    Poly(Polygon<f64>),
}

type Entry = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// R-tree of the pieces of every zone polygon.
pub struct ZoneIndex {
    pub pieces: Vec<Piece>,
    tree: RTree<Entry>,
}

impl ZoneIndex {
    /// Index `zones` (one MultiPolygon per zone, by zone number).
    pub fn build(zones: &[&MultiPolygon<f64>]) -> Self {
        let per_zone: Vec<Vec<Piece>> = zones
            .par_iter()
            .enumerate()
            .map(|(z, mp)| {
                let mut out = Vec::new();
                for p in &mp.0 {
                    split(z as u32, p.clone(), 0, &mut out);
                }
                out
            })
            .collect();
        let pieces: Vec<Piece> = per_zone.into_iter().flatten().collect();
        let entries: Vec<Entry> = pieces
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let b = p.bbox()?;
                Some(GeomWithData::new(
                    Rectangle::from_corners([b[0], b[1]], [b[2], b[3]]),
                    i as u32,
                ))
            })
            .collect();
        Self {
            pieces,
            tree: RTree::bulk_load(entries),
        }
    }

    /// Pieces whose bounding box meets `b`, in piece order (deterministic).
    pub fn candidates(&self, b: [f64; 4]) -> Vec<u32> {
        let env = AABB::from_corners([b[0], b[1]], [b[2], b[3]]);
        let mut v: Vec<u32> = self
            .tree
            .locate_in_envelope_intersecting(&env)
            .map(|e| e.data)
            .collect();
        v.sort_unstable();
        v
    }
}

impl Piece {
    pub fn bbox(&self) -> Option<[f64; 4]> {
        match &self.shape {
            Shape::Rect(r) => Some(*r),
            Shape::Poly(p) => p.bounding_rect().map(|r| rect_arr(&r)),
        }
    }
}

pub fn rect_arr(r: &Rect<f64>) -> [f64; 4] {
    [r.min().x, r.min().y, r.max().x, r.max().y]
}

pub fn rect_polygon(b: [f64; 4]) -> Polygon<f64> {
    Polygon::new(
        LineString::from(vec![
            (b[0], b[1]),
            (b[2], b[1]),
            (b[2], b[3]),
            (b[0], b[3]),
            (b[0], b[1]),
        ]),
        vec![],
    )
}

/// The rectangle a polygon is, if it is one (four corners, axis-aligned, no holes).
fn as_rect(p: &Polygon<f64>) -> Option<[f64; 4]> {
    if !p.interiors().is_empty() {
        return None;
    }
    let mut pts: Vec<(f64, f64)> = p.exterior().coords().map(|c| (c.x, c.y)).collect();
    pts.dedup();
    if pts.len() > 1 && pts.first() == pts.last() {
        pts.pop();
    }
    if pts.len() != 4 {
        return None;
    }
    let (mut xs, mut ys): (Vec<f64>, Vec<f64>) = pts.iter().copied().unzip();
    xs.sort_by(f64::total_cmp);
    ys.sort_by(f64::total_cmp);
    xs.dedup();
    ys.dedup();
    if xs.len() != 2 || ys.len() != 2 {
        return None;
    }
    // Every corner present and consecutive corners share x or y.
    let axis = (0..4).all(|i| {
        let (a, b) = (pts[i], pts[(i + 1) % 4]);
        a.0 == b.0 || a.1 == b.1
    });
    axis.then_some([xs[0], ys[0], xs[1], ys[1]])
}

fn split(zone: u32, p: Polygon<f64>, depth: u32, out: &mut Vec<Piece>) {
    if let Some(r) = as_rect(&p) {
        out.push(Piece {
            zone,
            shape: Shape::Rect(r),
        });
        return;
    }
    let n = p.coords_count();
    let Some(bb) = p.bounding_rect() else { return };
    if n <= MAX_VERTICES || depth >= MAX_DEPTH {
        out.push(Piece {
            zone,
            shape: Shape::Poly(p),
        });
        return;
    }
    let b = rect_arr(&bb);
    let halves = if b[2] - b[0] >= b[3] - b[1] {
        let m = 0.5 * (b[0] + b[2]);
        [[b[0], b[1], m, b[3]], [m, b[1], b[2], b[3]]]
    } else {
        let m = 0.5 * (b[1] + b[3]);
        [[b[0], b[1], b[2], m], [b[0], m, b[2], b[3]]]
    };
    for h in halves {
        let clipped = p.intersection(&rect_polygon(h));
        for part in clipped.0 {
            split(zone, part, depth + 1, out);
        }
    }
}

/// Envelope of a MultiPolygon as an array.
pub fn bbox_of(mp: &MultiPolygon<f64>) -> Option<[f64; 4]> {
    mp.bounding_rect().map(|r| rect_arr(&r))
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::Area;

    fn circle(cx: f64, cy: f64, r: f64, n: usize) -> Polygon<f64> {
        let mut pts: Vec<(f64, f64)> = (0..n)
            .map(|i| {
                let t = i as f64 / n as f64 * std::f64::consts::TAU;
                (cx + r * t.cos(), cy + r * t.sin())
            })
            .collect();
        pts.push(pts[0]);
        Polygon::new(LineString::from(pts), vec![])
    }

    #[test]
    fn big_polygons_are_cut_into_small_pieces_that_keep_the_area() {
        let big = MultiPolygon(vec![circle(500_000.0, 3_400_000.0, 50_000.0, 4000)]);
        let idx = ZoneIndex::build(&[&big]);
        assert!(idx.pieces.len() > 30, "{}", idx.pieces.len());
        let mut rects = 0;
        let mut area = 0.0;
        for p in &idx.pieces {
            match &p.shape {
                Shape::Rect(r) => {
                    rects += 1;
                    area += (r[2] - r[0]) * (r[3] - r[1]);
                }
                Shape::Poly(q) => {
                    assert!(q.coords_count() <= MAX_VERTICES + 8);
                    area += q.unsigned_area();
                }
            }
        }
        assert!(rects > 0, "the inside of the disc comes out as rectangles");
        let want = big.unsigned_area();
        assert!((area - want).abs() / want < 1e-9, "{area} vs {want}");
    }

    #[test]
    fn rectangles_are_recognised_whatever_the_start_corner() {
        let r = Polygon::new(
            LineString::from(vec![
                (2.0, 5.0),
                (2.0, 1.0),
                (7.0, 1.0),
                (7.0, 5.0),
                (2.0, 5.0),
            ]),
            vec![],
        );
        assert_eq!(as_rect(&r), Some([2.0, 1.0, 7.0, 5.0]));
        let skew = Polygon::new(
            LineString::from(vec![
                (0.0, 0.0),
                (4.0, 1.0),
                (4.0, 5.0),
                (0.0, 4.0),
                (0.0, 0.0),
            ]),
            vec![],
        );
        assert_eq!(as_rect(&skew), None);
    }

    #[test]
    fn candidates_come_back_sorted_and_only_near_ones() {
        let a = MultiPolygon(vec![rect_polygon([0.0, 0.0, 10.0, 10.0])]);
        let b = MultiPolygon(vec![rect_polygon([100.0, 100.0, 110.0, 110.0])]);
        let idx = ZoneIndex::build(&[&a, &b, &a]);
        assert_eq!(idx.candidates([5.0, 5.0, 6.0, 6.0]), vec![0, 2]);
        assert_eq!(idx.candidates([105.0, 105.0, 106.0, 106.0]), vec![1]);
        assert!(idx.candidates([50.0, 50.0, 60.0, 60.0]).is_empty());
    }
}
