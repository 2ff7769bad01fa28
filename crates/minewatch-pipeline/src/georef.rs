//! From pixel space to the map: polygon coordinates in the imagery CRS (GeoPackage) and
//! in lon/lat (GeoJSON), geodesic area on the WGS 84 ellipsoid, and the centroid in
//! CGCS2000 (EPSG:4490) lon/lat.

use geo::GeodesicArea;
use minewatch_core::{units::m2_to_mu, Grid, PatchRecord};
use minewatch_detect::PatchPixels;
use minewatch_raster::LonLat;

/// A patch with everything the writers need.
#[derive(Debug, Clone)]
pub struct GeoPatch {
    pub record: PatchRecord,
    /// Polygons (shell, holes) in the imagery CRS.
    pub map_polygons: Vec<Vec<Vec<(f64, f64)>>>,
    /// The same in EPSG:4326 lon/lat.
    pub lonlat_polygons: Vec<Vec<Vec<(f64, f64)>>>,
    /// Geodesic area (m²) on the ellipsoid.
    pub area_m2: f64,
    pub area_mu: f64,
    /// Planar area in the imagery CRS (pixels × pixel area) when that CRS is projected.
    pub grid_area_m2: Option<f64>,
    /// Area-weighted centroid in EPSG:4490 lon/lat.
    pub centroid: (f64, f64),
    /// lon/lat bounding box: west, south, east, north.
    pub bbox: (f64, f64, f64, f64),
}

/// Thread-local transformers for one grid.
pub struct Georef {
    to_4326: LonLat,
    to_4490: LonLat,
    projected: bool,
}

impl Georef {
    pub fn new(grid: &Grid) -> Result<Self, String> {
        let projected = gdal::spatial_ref::SpatialRef::from_wkt(&grid.crs_wkt)
            .map(|s| s.is_projected())
            .unwrap_or(false);
        Ok(Self {
            to_4326: LonLat::new(&grid.crs_wkt, 4326)?,
            to_4490: LonLat::new(&grid.crs_wkt, 4490)?,
            projected,
        })
    }

    pub fn apply(
        &self,
        grid: &Grid,
        record: PatchRecord,
        pixels: &PatchPixels,
    ) -> Result<GeoPatch, String> {
        let map_polygons: Vec<Vec<Vec<(f64, f64)>>> = record
            .geometry
            .polygons
            .iter()
            .map(|rings| {
                rings
                    .iter()
                    .map(|r| r.iter().map(|&(c, rw)| grid.corner(c, rw)).collect())
                    .collect()
            })
            .collect();
        let mut lonlat_polygons = map_polygons.clone();
        for rings in lonlat_polygons.iter_mut() {
            for ring in rings.iter_mut() {
                let (mut xs, mut ys): (Vec<f64>, Vec<f64>) = ring.iter().copied().unzip();
                self.to_4326.apply(&mut xs, &mut ys)?;
                *ring = xs.into_iter().zip(ys).collect();
            }
        }
        let mp = geo::MultiPolygon::new(
            lonlat_polygons
                .iter()
                .map(|rings| {
                    let ls = |r: &Vec<(f64, f64)>| geo::LineString::from(r.clone());
                    geo::Polygon::new(ls(&rings[0]), rings[1..].iter().map(ls).collect())
                })
                .collect(),
        );
        let area_m2 = mp.geodesic_area_unsigned();
        let (mut w, mut s, mut e, mut n) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for rings in &lonlat_polygons {
            for &(x, y) in &rings[0] {
                w = w.min(x);
                e = e.max(x);
                s = s.min(y);
                n = n.max(y);
            }
        }
        // Centroid of the pixel set = mean of pixel centres (exact for pixel polygons).
        let (mut sx, mut sy) = (0f64, 0f64);
        for &(row, a, b) in &pixels.runs {
            let len = (b - a) as f64;
            sx += (a as f64 + b as f64) / 2.0 * len;
            sy += (row as f64 + 0.5) * len;
        }
        let npx = pixels.pixels as f64;
        let t = &grid.transform;
        let (cc, cr) = (sx / npx, sy / npx);
        let (mut cx, mut cy) = (
            [t[0] + cc * t[1] + cr * t[2]],
            [t[3] + cc * t[4] + cr * t[5]],
        );
        self.to_4490.apply(&mut cx, &mut cy)?;
        Ok(GeoPatch {
            grid_area_m2: self
                .projected
                .then(|| pixels.pixels as f64 * grid.pixel_area()),
            record,
            map_polygons,
            lonlat_polygons,
            area_m2,
            area_mu: m2_to_mu(area_m2),
            centroid: (cx[0], cy[0]),
            bbox: (w, s, e, n),
        })
    }
}
