//! The patch-level half of the cloud and shadow screen (pixel tests, opening and moat in
//! `minewatch_detect::cloud`): a patch that is mostly cloud (or haze over water) at one
//! date is dropped; a patch that is mostly shadow-like at one date is dropped only when a
//! cloud patch of the same date lies within `SHADOW_REACH_M`, because darkening alone is
//! also what new asphalt or a burnt field looks like.

use minewatch_detect::cloud::{PATCH_SHARE, SHADOW_REACH_M};
use minewatch_detect::PatchPixels;

/// What the screen removed from one pair.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Screened {
    pub cloud_patches: u64,
    pub cloud_pixels: u64,
    pub shadow_patches: u64,
    pub shadow_pixels: u64,
    /// Each removed patch: first pixel (row, col), `cloud` or `cloud_shadow`, and the
    /// date it was seen at (`before` / `after`), so nothing leaves the output unrecorded.
    pub removed: Vec<((u32, u32), &'static str, &'static str, u64)>,
}

fn date_name(d: i8) -> &'static str {
    if d > 0 {
        "after"
    } else {
        "before"
    }
}

/// +1 / −1: the patch is mostly flagged at date 2 / date 1 in channel `c`; 0: it is not.
fn date_of(p: &PatchPixels, c: usize) -> i8 {
    let m = p.mean(c);
    if m >= PATCH_SHARE {
        1
    } else if m <= -PATCH_SHARE {
        -1
    } else {
        0
    }
}

/// Gap in pixels between two bounding boxes (min col, min row, max col, max row; max
/// exclusive), 0 when they touch or overlap.
fn gap_px(a: (u32, u32, u32, u32), b: (u32, u32, u32, u32)) -> f64 {
    let axis = |a0: u32, a1: u32, b0: u32, b1: u32| -> f64 {
        if b0 >= a1 {
            (b0 - a1) as f64
        } else if a0 >= b1 {
            (a0 - b1) as f64
        } else {
            0.0
        }
    };
    axis(a.0, a.2, b.0, b.2).hypot(axis(a.1, a.3, b.1, b.3))
}

/// Drop cloud patches and the shadow patches near a cloud of their date. `cloud` and
/// `shadow` are the channels holding the pixel flags; `pixel_m` the ground pixel size.
/// The order of the kept patches is the order given.
pub fn drop_clouds_and_shadows(
    patches: Vec<PatchPixels>,
    cloud: usize,
    shadow: usize,
    pixel_m: f64,
) -> (Vec<PatchPixels>, Screened) {
    let mut s = Screened::default();
    let clouds: Vec<((u32, u32, u32, u32), i8)> = patches
        .iter()
        .filter_map(|p| match date_of(p, cloud) {
            0 => None,
            d => Some((p.bbox, d)),
        })
        .collect();
    let reach_px = if pixel_m > 0.0 {
        SHADOW_REACH_M / pixel_m
    } else {
        0.0
    };
    let kept = patches
        .into_iter()
        .filter(|p| {
            let c = date_of(p, cloud);
            if c != 0 {
                s.cloud_patches += 1;
                s.cloud_pixels += p.pixels;
                s.removed.push((p.first, "cloud", date_name(c), p.pixels));
                return false;
            }
            let d = date_of(p, shadow);
            if d != 0
                && clouds
                    .iter()
                    .any(|(b, cd)| *cd == d && gap_px(*b, p.bbox) <= reach_px)
            {
                s.shadow_patches += 1;
                s.shadow_pixels += p.pixels;
                s.removed
                    .push((p.first, "cloud_shadow", date_name(d), p.pixels));
                return false;
            }
            true
        })
        .collect();
    (kept, s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A patch at `bbox` whose cloud and shadow channel means are `c` and `sh`.
    fn patch(bbox: (u32, u32, u32, u32), c: f64, sh: f64) -> PatchPixels {
        PatchPixels {
            first: (bbox.1, bbox.0),
            runs: Vec::new(),
            pixels: 100,
            bbox,
            channels: vec![(c * 100.0, 100, 1.0), (sh * 100.0, 100, 1.0)],
        }
    }

    #[test]
    fn clouds_go_and_shadows_go_only_beside_a_cloud_of_their_date() {
        let ps = vec![
            patch((0, 0, 10, 10), 0.9, 0.0),      // cloud at date 2
            patch((20, 0, 30, 10), 0.0, 0.8),     // shadow at date 2, 100 m away
            patch((20, 400, 30, 410), 0.0, 0.8),  // shadow at date 2, 3.9 km away
            patch((20, 600, 30, 610), 0.0, 0.8),  // shadow-like, 5.9 km away: kept
            patch((40, 0, 50, 10), 0.0, -0.8),    // shadow at date 1: no date-1 cloud near
            patch((60, 0, 70, 10), 0.3, 0.3),     // a real change beside them
            patch((80, 900, 90, 910), -0.7, 0.0), // cloud at date 1, 8.9 km away
        ];
        let (kept, s) = drop_clouds_and_shadows(ps, 0, 1, 10.0);
        let left: Vec<u32> = kept.iter().map(|p| p.bbox.1 * 1000 + p.bbox.0).collect();
        assert_eq!(left, vec![600_020, 40, 60]);
        assert_eq!(
            (
                s.cloud_patches,
                s.cloud_pixels,
                s.shadow_patches,
                s.shadow_pixels
            ),
            (2, 200, 2, 200)
        );
        let removed: Vec<(u32, &str, &str)> =
            s.removed.iter().map(|r| (r.0 .0, r.1, r.2)).collect();
        assert_eq!(
            removed,
            vec![
                (0, "cloud", "after"),
                (0, "cloud_shadow", "after"),
                (400, "cloud_shadow", "after"),
                (900, "cloud", "before")
            ]
        );
    }

    #[test]
    fn gaps_are_euclidean_between_boxes() {
        assert_eq!(gap_px((0, 0, 10, 10), (5, 5, 20, 20)), 0.0);
        assert_eq!(gap_px((0, 0, 10, 10), (13, 0, 20, 10)), 3.0);
        assert_eq!(gap_px((0, 0, 10, 10), (13, 14, 20, 20)), 5.0);
    }
}
