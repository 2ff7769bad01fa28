//! The pixel grid of a run and the windows it is cut into. Every stage works in integer
//! pixel coordinates on this one grid until polygons are written, which is what keeps
//! outputs identical for any window size or thread count.

use serde::{Deserialize, Serialize};

/// A georeferenced pixel grid: size, GDAL affine geotransform and CRS (WKT).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    pub width: usize,
    pub height: usize,
    /// GDAL order: x0, dx/dcol, dx/drow, y0, dy/dcol, dy/drow.
    pub transform: [f64; 6],
    pub crs_wkt: String,
}

impl Grid {
    /// Map coordinates of a pixel corner (`col`, `row` may equal width/height).
    pub fn corner(&self, col: i64, row: i64) -> (f64, f64) {
        let t = &self.transform;
        let (c, r) = (col as f64, row as f64);
        (t[0] + c * t[1] + r * t[2], t[3] + c * t[4] + r * t[5])
    }

    /// Area of one pixel in the grid's own units squared (planar).
    pub fn pixel_area(&self) -> f64 {
        let t = &self.transform;
        (t[1] * t[5] - t[2] * t[4]).abs()
    }

    pub fn pixels(&self) -> u64 {
        self.width as u64 * self.height as u64
    }

    /// Describe how `other` differs from `self`, or `None` when both grids are the same.
    /// Transforms are compared to 1e-9 of a pixel so that rounding in file headers is not a difference.
    pub fn difference(&self, other: &Grid, same_crs: bool) -> Option<String> {
        // Every difference, the CRS first: a size difference is often only the symptom of
        // a file in another CRS, and naming the size alone sent users to the wrong fix.
        let mut diffs = Vec::new();
        if !same_crs {
            diffs.push("coordinate reference systems differ".to_string());
        }
        if (self.width, self.height) != (other.width, other.height) {
            diffs.push(format!(
                "size {}x{} vs {}x{}",
                self.width, self.height, other.width, other.height
            ));
        }
        let px = self.transform[1]
            .abs()
            .max(self.transform[5].abs())
            .max(1e-300);
        let moved = (0..6).any(|i| {
            (self.transform[i] - other.transform[i]).abs() > 1e-9 * px.max(1.0)
                && (self.transform[i] - other.transform[i]).abs() > 1e-6 * px
        });
        if moved {
            diffs.push(format!(
                "geotransform {:?} vs {:?}",
                self.transform, other.transform
            ));
        }
        (!diffs.is_empty()).then(|| diffs.join("; "))
    }
}

/// A rectangle of pixels on the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Window {
    pub col: usize,
    pub row: usize,
    pub width: usize,
    pub height: usize,
}

impl Window {
    pub fn len(&self) -> usize {
        self.width * self.height
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `r3c7`-style name of the window for error messages (row and column of its origin).
    pub fn name(&self) -> String {
        format!(
            "rows {}..{} cols {}..{}",
            self.row,
            self.row + self.height,
            self.col,
            self.col + self.width
        )
    }
}

/// Cut a `width` x `height` grid into rows of `size` x `size` windows, in raster order.
/// The last row/column of windows is clipped to the grid.
pub fn window_rows(width: usize, height: usize, size: usize) -> Vec<Vec<Window>> {
    window_rows_shaped(width, height, size, size)
}

/// Like [`window_rows`] with windows `cols` wide and `rows` tall.
pub fn window_rows_shaped(
    width: usize,
    height: usize,
    cols: usize,
    rows: usize,
) -> Vec<Vec<Window>> {
    let (size, cols) = (rows.max(1), cols.max(1));
    (0..height)
        .step_by(size)
        .map(|row| {
            (0..width)
                .step_by(cols)
                .map(|col| Window {
                    col,
                    row,
                    width: cols.min(width - col),
                    height: size.min(height - row),
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_cover_the_grid_once() {
        let rows = window_rows(1000, 700, 256);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].len(), 4);
        let total: usize = rows.iter().flatten().map(|w| w.len()).sum();
        assert_eq!(total, 1000 * 700);
        assert_eq!(
            rows[2][3],
            Window {
                col: 768,
                row: 512,
                width: 232,
                height: 188
            }
        );
    }

    #[test]
    fn corners_follow_the_geotransform() {
        let g = Grid {
            width: 10,
            height: 10,
            transform: [400000.0, 10.0, 0.0, 4420000.0, 0.0, -10.0],
            crs_wkt: String::new(),
        };
        assert_eq!(g.corner(3, 2), (400030.0, 4419980.0));
        assert_eq!(g.pixel_area(), 100.0);
        let mut h = g.clone();
        assert_eq!(g.difference(&h, true), None);
        h.transform[0] += 5.0;
        assert!(g.difference(&h, true).unwrap().contains("geotransform"));
        assert!(g.difference(&g, false).unwrap().contains("reference"));
    }
}
