//! Exact planar overlap areas of a patch with zone pieces. Three paths, all exact:
//! a rectangle piece clips the patch's rings by four half-planes (Sutherland–Hodgman keeps
//! the area of any simple ring clipped by a convex window); a polygon piece whose edges all
//! miss the patch's bounding box holds the patch wholly or not at all (one point test);
//! anything else goes through geo's boolean intersection, summing polygon parts only.

use crate::index::{Piece, Shape, ZoneIndex};
use geo::{Area, BooleanOps, BoundingRect, CoordsIter};
use geo_types::{Coord, LineString, MultiPolygon, Polygon};

/// A patch prepared for overlays: geometry in the work CRS, its bounding box and planar area.
#[derive(Debug, Clone)]
pub struct PatchShape {
    pub geom: MultiPolygon<f64>,
    pub bbox: [f64; 4],
    pub area: f64,
}

impl PatchShape {
    pub fn new(geom: MultiPolygon<f64>) -> Option<Self> {
        let r = geom.bounding_rect()?;
        let area = geom.unsigned_area();
        Some(Self {
            bbox: [r.min().x, r.min().y, r.max().x, r.max().y],
            area,
            geom,
        })
    }
}

/// Planar overlap of the patch with every zone it meets: (zone number, m² in the work CRS),
/// by zone number, zero overlaps (touching only) left out.
pub fn zone_overlaps(p: &PatchShape, idx: &ZoneIndex) -> Vec<(u32, f64)> {
    let mut out: Vec<(u32, f64)> = Vec::new();
    let mut cands = idx.candidates(p.bbox);
    // Sum a zone's pieces in piece order so the total never depends on the tree.
    cands.sort_by_key(|&i| (idx.pieces[i as usize].zone, i));
    for i in cands {
        let piece = &idx.pieces[i as usize];
        let a = piece_overlap(p, piece);
        if a <= 0.0 {
            continue;
        }
        match out.last_mut() {
            Some((z, s)) if *z == piece.zone => *s += a,
            _ => out.push((piece.zone, a)),
        }
    }
    out
}

pub fn piece_overlap(p: &PatchShape, piece: &Piece) -> f64 {
    match &piece.shape {
        Shape::Rect(r) => {
            if contains_box(r, &p.bbox) {
                p.area
            } else if disjoint(r, &p.bbox) {
                0.0
            } else {
                clip_rect_area(&p.geom, r)
            }
        }
        Shape::Poly(z) => {
            if no_edge_meets_box(z, &p.bbox) {
                // The patch lies wholly inside or wholly outside the piece.
                let Some(v) = p.geom.coords_iter().next() else {
                    return 0.0;
                };
                if point_in_polygon(v, z) {
                    p.area
                } else {
                    0.0
                }
            } else {
                p.geom.intersection(z).unsigned_area()
            }
        }
    }
}

fn contains_box(outer: &[f64; 4], b: &[f64; 4]) -> bool {
    outer[0] <= b[0] && outer[1] <= b[1] && b[2] <= outer[2] && b[3] <= outer[3]
}

fn disjoint(a: &[f64; 4], b: &[f64; 4]) -> bool {
    a[2] <= b[0] || b[2] <= a[0] || a[3] <= b[1] || b[3] <= a[1]
}

/// Area of a MultiPolygon inside a rectangle: each ring clipped by Sutherland–Hodgman,
/// shells added and holes subtracted.
pub fn clip_rect_area(mp: &MultiPolygon<f64>, r: &[f64; 4]) -> f64 {
    let mut total = 0.0;
    let mut buf_a = Vec::new();
    let mut buf_b = Vec::new();
    for poly in &mp.0 {
        total += clipped_ring_area(poly.exterior(), r, &mut buf_a, &mut buf_b);
        for h in poly.interiors() {
            total -= clipped_ring_area(h, r, &mut buf_a, &mut buf_b);
        }
    }
    total.max(0.0)
}

fn clipped_ring_area(
    ring: &LineString<f64>,
    r: &[f64; 4],
    a: &mut Vec<Coord<f64>>,
    b: &mut Vec<Coord<f64>>,
) -> f64 {
    a.clear();
    a.extend(ring.0.iter().copied());
    if a.len() > 1 && a.first() == a.last() {
        a.pop();
    }
    // Left, right, bottom, top half-planes.
    for side in 0..4 {
        b.clear();
        let inside = |c: &Coord<f64>| match side {
            0 => c.x >= r[0],
            1 => c.x <= r[2],
            2 => c.y >= r[1],
            _ => c.y <= r[3],
        };
        let cut = |p: &Coord<f64>, q: &Coord<f64>| -> Coord<f64> {
            match side {
                0 | 1 => {
                    let x = if side == 0 { r[0] } else { r[2] };
                    let t = (x - p.x) / (q.x - p.x);
                    Coord {
                        x,
                        y: p.y + t * (q.y - p.y),
                    }
                }
                _ => {
                    let y = if side == 2 { r[1] } else { r[3] };
                    let t = (y - p.y) / (q.y - p.y);
                    Coord {
                        x: p.x + t * (q.x - p.x),
                        y,
                    }
                }
            }
        };
        let n = a.len();
        for i in 0..n {
            let cur = a[i];
            let prev = a[(i + n - 1) % n];
            let (ci, pi) = (inside(&cur), inside(&prev));
            if ci {
                if !pi {
                    b.push(cut(&prev, &cur));
                }
                b.push(cur);
            } else if pi {
                b.push(cut(&prev, &cur));
            }
        }
        std::mem::swap(a, b);
        if a.is_empty() {
            return 0.0;
        }
    }
    shoelace(a).abs()
}

fn shoelace(pts: &[Coord<f64>]) -> f64 {
    let n = pts.len();
    if n < 3 {
        return 0.0;
    }
    // Relative to the first point: keeps digits at UTM magnitudes.
    let o = pts[0];
    let mut s = 0.0;
    for i in 1..n - 1 {
        let (p, q) = (pts[i], pts[i + 1]);
        s += (p.x - o.x) * (q.y - o.y) - (q.x - o.x) * (p.y - o.y);
    }
    0.5 * s
}

fn no_edge_meets_box(z: &Polygon<f64>, b: &[f64; 4]) -> bool {
    let rings = std::iter::once(z.exterior()).chain(z.interiors().iter());
    for ring in rings {
        for w in ring.0.windows(2) {
            if segment_meets_box(w[0], w[1], b) {
                return false;
            }
        }
    }
    true
}

/// Does the closed segment p–q meet the closed box? (Liang–Barsky.)
fn segment_meets_box(p: Coord<f64>, q: Coord<f64>, b: &[f64; 4]) -> bool {
    let (dx, dy) = (q.x - p.x, q.y - p.y);
    let mut t0 = 0.0f64;
    let mut t1 = 1.0f64;
    for (den, num) in [
        (-dx, p.x - b[0]),
        (dx, b[2] - p.x),
        (-dy, p.y - b[1]),
        (dy, b[3] - p.y),
    ] {
        if den == 0.0 {
            if num < 0.0 {
                return false;
            }
        } else {
            let t = num / den;
            if den < 0.0 {
                if t > t1 {
                    return false;
                }
                t0 = t0.max(t);
            } else {
                if t < t0 {
                    return false;
                }
                t1 = t1.min(t);
            }
        }
    }
    true
}

/// Even-odd ray casting over every ring (holes included).
fn point_in_polygon(pt: Coord<f64>, z: &Polygon<f64>) -> bool {
    let mut inside = false;
    for ring in std::iter::once(z.exterior()).chain(z.interiors().iter()) {
        for w in ring.0.windows(2) {
            let (a, b) = (w[0], w[1]);
            if (a.y > pt.y) != (b.y > pt.y) {
                let x = a.x + (pt.y - a.y) / (b.y - a.y) * (b.x - a.x);
                if pt.x < x {
                    inside = !inside;
                }
            }
        }
    }
    inside
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::rect_polygon;
    use proptest::prelude::*;

    fn star(cx: f64, cy: f64, r: f64, n: usize, seed: u64) -> Polygon<f64> {
        let mut pts: Vec<(f64, f64)> = (0..n)
            .map(|i| {
                let t = i as f64 / n as f64 * std::f64::consts::TAU;
                let k = 0.55 + 0.45 * (((seed as f64) * 0.37 + i as f64 * 1.7).sin().abs());
                (cx + r * k * t.cos(), cy + r * k * t.sin())
            })
            .collect();
        pts.push(pts[0]);
        Polygon::new(LineString::from(pts), vec![])
    }

    /// A pixel patch with a hole, at UTM magnitudes.
    fn patch(x0: f64, y0: f64) -> MultiPolygon<f64> {
        let outer = LineString::from(vec![
            (x0, y0),
            (x0 + 100.0, y0),
            (x0 + 100.0, y0 + 60.0),
            (x0 + 50.0, y0 + 60.0),
            (x0 + 50.0, y0 + 90.0),
            (x0, y0 + 90.0),
            (x0, y0),
        ]);
        let hole = LineString::from(vec![
            (x0 + 10.0, y0 + 10.0),
            (x0 + 10.0, y0 + 30.0),
            (x0 + 30.0, y0 + 30.0),
            (x0 + 30.0, y0 + 10.0),
            (x0 + 10.0, y0 + 10.0),
        ]);
        MultiPolygon(vec![Polygon::new(outer, vec![hole])])
    }

    proptest! {
        /// Every fast path agrees with geo's boolean intersection.
        #[test]
        fn fast_paths_equal_boolean_ops(dx in -150.0f64..150.0, dy in -150.0f64..150.0,
                                        w in 5.0f64..300.0, h in 5.0f64..300.0, seed in 0u64..1000) {
            let x0 = 500_000.0;
            let y0 = 3_400_000.0;
            let p = PatchShape::new(patch(x0, y0)).unwrap();
            let r = [x0 + dx, y0 + dy, x0 + dx + w, y0 + dy + h];
            let want = p.geom.intersection(&rect_polygon(r)).unsigned_area();
            let got = clip_rect_area(&p.geom, &r);
            prop_assert!((got - want).abs() <= 1e-6 * p.area, "{} vs {}", got, want);
            let z = star(x0 + dx + 50.0, y0 + dy + 40.0, w.max(h), 40, seed);
            let want = p.geom.intersection(&z).unsigned_area();
            let piece = Piece { zone: 0, shape: Shape::Poly(z) };
            let got = piece_overlap(&p, &piece);
            prop_assert!((got - want).abs() <= 1e-6 * p.area, "{} vs {}", got, want);
        }
    }

    #[test]
    fn patch_inside_and_outside_a_big_zone() {
        let p = PatchShape::new(patch(500_000.0, 3_400_000.0)).unwrap();
        assert!((p.area - (100.0 * 60.0 + 50.0 * 30.0 - 400.0)).abs() < 1e-6);
        let big = star(500_050.0, 3_400_040.0, 5_000.0, 60, 3);
        let inside = Piece {
            zone: 0,
            shape: Shape::Poly(big),
        };
        assert_eq!(piece_overlap(&p, &inside), p.area);
        let far = Piece {
            zone: 0,
            shape: Shape::Poly(star(520_000.0, 3_400_000.0, 5_000.0, 60, 3)),
        };
        assert_eq!(piece_overlap(&p, &far), 0.0);
        // A zone with a hole around the patch: the patch is outside it.
        let mut ring = star(500_050.0, 3_400_040.0, 5_000.0, 60, 3);
        ring.interiors_push(
            rect_polygon([499_000.0, 3_399_000.0, 501_000.0, 3_401_000.0])
                .exterior()
                .clone(),
        );
        let holed = Piece {
            zone: 0,
            shape: Shape::Poly(ring),
        };
        assert_eq!(piece_overlap(&p, &holed), 0.0);
    }

    #[test]
    fn liang_barsky_edges() {
        let b = [0.0, 0.0, 10.0, 10.0];
        let c = |x, y| Coord { x, y };
        assert!(segment_meets_box(c(-5.0, 5.0), c(15.0, 5.0), &b));
        assert!(
            segment_meets_box(c(10.0, -5.0), c(10.0, 15.0), &b),
            "touching edge"
        );
        assert!(!segment_meets_box(c(-5.0, 11.0), c(15.0, 11.0), &b));
        assert!(!segment_meets_box(c(11.0, 20.0), c(20.0, 11.0), &b));
    }
}
