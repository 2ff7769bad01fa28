//! Seeded enforcement zones over a synthetic scene, shaped like the peers' generator:
//! four provinces cut by a wavy meridian and parallel (256-vertex borders), a river
//! corridor (500 m buffer of a meandering centre line, clipped to the scene), star-shaped
//! ecological red lines and no-mining zones, and rectangular licensed mines. Written as
//! GeoJSON in EPSG:32650 with `zone_id`, `zone_type`, `name`, coordinates on a 1 cm grid.

use crate::SceneSpec;
use gdal::errors::GdalError;
use gdal::spatial_ref::SpatialRef;
use gdal::vector::{FieldValue, Geometry, LayerAccess, LayerOptions, OGRFieldType};
use gdal::DriverManager;
use std::f64::consts::TAU;
use std::path::Path;

const X0: f64 = 400_000.0;
const Y0: f64 = 4_420_000.0;
const PIX: f64 = 10.0;

/// How many zones of each type, per the peers' proportions for the scene's size.
#[derive(Debug, Clone, Copy)]
pub struct ZoneCounts {
    pub redlines: usize,
    pub nomining: usize,
    pub mines: usize,
}

impl ZoneCounts {
    pub fn like_peers() -> Self {
        Self {
            redlines: 500,
            nomining: 100,
            mines: 400,
        }
    }
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
    fn uniform(&mut self, a: f64, b: f64) -> f64 {
        a + (b - a) * self.next()
    }
}

fn snap(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn ring_wkt(pts: &[(f64, f64)]) -> String {
    let mut s = String::from("(");
    for (i, (x, y)) in pts.iter().chain(pts.first()).enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!("{} {}", snap(*x), snap(*y)));
    }
    s.push(')');
    s
}

fn polygon(pts: &[(f64, f64)]) -> Result<Geometry, GdalError> {
    Geometry::from_wkt(&format!("POLYGON ({})", ring_wkt(pts)))
}

fn star(rng: &mut Rng, cx: f64, cy: f64, r0: f64, nv: usize) -> Vec<(f64, f64)> {
    let mut th: Vec<f64> = (0..nv).map(|_| rng.uniform(0.0, TAU)).collect();
    th.sort_by(f64::total_cmp);
    th.dedup();
    let harmonics: Vec<(f64, f64, f64)> = (2..6)
        .map(|k| {
            let k = k as f64;
            (
                k,
                rng.uniform(0.0, 0.3) / (k - 1.0).sqrt(),
                rng.uniform(0.0, TAU),
            )
        })
        .collect();
    th.iter()
        .map(|&t| {
            let mut r = r0
                * (1.0
                    + harmonics
                        .iter()
                        .map(|(k, a, p)| a * (k * t + p).cos())
                        .sum::<f64>());
            r *= rng.uniform(0.85, 1.15);
            r = r.max(0.2 * r0);
            (cx + r * t.cos(), cy + r * t.sin())
        })
        .collect()
}

/// Write the zones of `spec`'s scene; returns how many were written.
pub fn write_zones(spec: &SceneSpec, counts: ZoneCounts, path: &Path) -> Result<usize, GdalError> {
    let mut rng = Rng(spec.seed ^ 0x5A0E_5A0E);
    let (w, h) = (spec.width as f64 * PIX, spec.height as f64 * PIX);
    let (xmin, ymax) = (X0, Y0);
    let (xmax, ymin) = (X0 + w, Y0 - h);
    let extent = polygon(&[(xmin, ymin), (xmax, ymin), (xmax, ymax), (xmin, ymax)])?;
    let mut feats: Vec<(String, String, Geometry)> = Vec::new();

    // Provinces: a wavy meridian and a wavy parallel, 256 vertices each.
    let (pm, pp) = (rng.uniform(0.0, 1.0), rng.uniform(0.0, 1.0));
    let n = 256;
    let mut west: Vec<(f64, f64)> = (0..n)
        .map(|i| {
            let t = i as f64 / (n - 1) as f64;
            (
                xmin + w * (0.5 + 0.08 * (TAU * (2.0 * t + pm)).sin()),
                ymax - h * t,
            )
        })
        .collect();
    west.extend([(xmin - 1.0, ymin - 1.0), (xmin - 1.0, ymax + 1.0)]);
    let mut north: Vec<(f64, f64)> = (0..n)
        .map(|i| {
            let t = i as f64 / (n - 1) as f64;
            (
                xmin + w * t,
                ymin + h * (0.5 + 0.08 * (TAU * (3.0 * t + pp)).sin()),
            )
        })
        .collect();
    north.extend([(xmax + 1.0, ymax + 1.0), (xmin - 1.0, ymax + 1.0)]);
    let west = polygon(&west)?;
    let north = polygon(&north)?;
    let clip = |a: &Geometry, b: &Geometry| a.intersection(b);
    let diff = |a: &Geometry, b: &Geometry| a.difference(b);
    let wx = clip(&extent, &west);
    let ex = diff(&extent, &west);
    for (name, g) in [
        ("P-NW", wx.as_ref().and_then(|g| clip(g, &north))),
        ("P-NE", ex.as_ref().and_then(|g| clip(g, &north))),
        ("P-SW", wx.as_ref().and_then(|g| diff(g, &north))),
        ("P-SE", ex.as_ref().and_then(|g| diff(g, &north))),
    ] {
        if let Some(g) = g {
            feats.push(("province".into(), name.into(), g));
        }
    }

    // River corridor: 500 m buffer of a meandering centre line.
    let (a1, l1, p1) = (
        rng.uniform(0.05, 0.1),
        rng.uniform(0.4, 0.7),
        rng.uniform(0.0, TAU),
    );
    let base = rng.uniform(0.3, 0.7);
    let mut line = String::from("LINESTRING (");
    let steps = 256;
    for i in 0..=steps {
        let t = i as f64 / steps as f64;
        let y = base + a1 * (TAU * t / l1 + p1).sin();
        if i > 0 {
            line.push(',');
        }
        line.push_str(&format!("{} {}", snap(xmin + w * t), snap(ymax - h * y)));
    }
    line.push(')');
    let river = Geometry::from_wkt(&line)?.buffer(500.0, 8)?;
    if let Some(g) = clip(&river, &extent) {
        feats.push(("river".into(), "river corridor 500 m".into(), g));
    }

    // Red lines and no-mining zones (stars), licensed mines (rectangles).
    let scale = w.max(h) / 500f64.sqrt();
    for (kind, count, r, nv, prefix) in [
        ("redline", counts.redlines, (0.12, 0.35), (24, 97), "RL"),
        ("nomining", counts.nomining, (0.25, 0.6), (32, 129), "NM"),
    ] {
        for i in 0..count {
            let (cx, cy) = (rng.uniform(xmin, xmax), rng.uniform(ymin, ymax));
            let r0 = scale * rng.uniform(r.0, r.1);
            let nv = rng.uniform(nv.0 as f64, nv.1 as f64) as usize;
            let g = polygon(&star(&mut rng, cx, cy, r0, nv))?;
            // Stars are simple polygons but may self-touch after snapping: repair.
            let g = if g.is_valid() { g } else { g.buffer(0.0, 8)? };
            if let Some(g) = clip(&g, &extent).filter(|g| !g.is_empty()) {
                feats.push((kind.into(), format!("{prefix}-{i:04}"), g));
            }
        }
    }
    let mscale = w.max(h) / 400f64.sqrt();
    for i in 0..counts.mines {
        let (mw, mh) = (
            mscale * rng.uniform(0.15, 0.5),
            mscale * rng.uniform(0.15, 0.5),
        );
        let cx = rng.uniform(xmin + mw, xmax - mw);
        let cy = rng.uniform(ymin + mh, ymax - mh);
        let (x0, y0, x1, y1) = (cx - mw / 2.0, cy - mh / 2.0, cx + mw / 2.0, cy + mh / 2.0);
        feats.push((
            "mine".into(),
            format!("LIC-{i:04}"),
            polygon(&[(x0, y0), (x1, y0), (x1, y1), (x0, y1)])?,
        ));
    }

    let _ = std::fs::remove_file(path);
    let drv = DriverManager::get_driver_by_name("GeoJSON")?;
    let mut ds = drv.create_vector_only(path)?;
    let srs = SpatialRef::from_epsg(32650)?;
    let layer = ds.create_layer(LayerOptions {
        name: "zones",
        srs: Some(&srs),
        ty: gdal::vector::OGRwkbGeometryType::wkbUnknown,
        options: None,
    })?;
    layer.create_defn_fields(&[
        ("zone_id", OGRFieldType::OFTInteger),
        ("zone_type", OGRFieldType::OFTString),
        ("name", OGRFieldType::OFTString),
    ])?;
    for (i, (kind, name, g)) in feats.iter().enumerate() {
        let mut f = gdal::vector::Feature::new(layer.defn())?;
        f.set_field(0, &FieldValue::IntegerValue(i as i32 + 1))?;
        f.set_field(1, &FieldValue::StringValue(kind.clone()))?;
        f.set_field(2, &FieldValue::StringValue(name.clone()))?;
        f.set_geometry(g.clone())?;
        f.create(&layer)?;
    }
    Ok(feats.len())
}
