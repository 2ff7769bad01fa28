//! Whether a site a county filed as 伪变化 (false change) has grown since the verdict. A
//! 伪变化 is often recurring (seasonal cropland, a pond drained every winter): the same
//! ground is detected again the next year. Comparing the change *area* after the verdict
//! with the area up to it read every re-detection as 100 % growth and ranked the site
//! again; growth is ground outside what the county had seen and judged.

use crate::footprint::footprint;
use geo::{Area, BooleanOps};
use geo_types::MultiPolygon;

/// What the ledger can say about a 伪变化 site's change after its verdict.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SinceVerdict {
    /// The footprint found after the verdict outside the one known at it is more than the
    /// threshold's share of the known one: new ground, ranked again.
    Grown { new_m2: f64, known_m2: f64 },
    /// Nothing or too little outside the known footprint: still the verdict's ground.
    NotGrown { new_m2: f64, known_m2: f64 },
    /// None of the site's patches predates the verdict (the verdict came by location or
    /// site id and the earlier findings were not given): what the county judged is unknown,
    /// so growth cannot be measured. The verdict stands (the site stays suppressed) and
    /// the caller warns.
    Unknown,
}

impl SinceVerdict {
    /// Whether the site counts as grown (an unknown footprint does not: the verdict stands).
    pub fn grown(self) -> bool {
        matches!(self, SinceVerdict::Grown { .. })
    }
}

/// `known`: the footprints of the site's patches found up to the verdict; `later`: those
/// found after it; `growth_pct`: the policy's `false_change_growth_pct`. Areas are planar
/// in the patches' (metric) CRS, union first so overlapping patches of several pairs count
/// their ground once. Cost: one polygon union and difference over the site's patches.
pub fn since_verdict(
    known: &[&MultiPolygon<f64>],
    later: &[&MultiPolygon<f64>],
    growth_pct: f64,
) -> SinceVerdict {
    if known.is_empty() {
        return SinceVerdict::Unknown;
    }
    let seen = footprint(known.iter().copied());
    let known_m2 = seen.unsigned_area();
    let new_m2 = if later.is_empty() {
        0.0
    } else {
        footprint(later.iter().copied())
            .difference(&seen)
            .unsigned_area()
    };
    if new_m2 > known_m2 * growth_pct / 100.0 {
        SinceVerdict::Grown { new_m2, known_m2 }
    } else {
        SinceVerdict::NotGrown { new_m2, known_m2 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_shapes::square;

    /// Review finding (revR F1): the same 100 m square detected again after its 伪变化
    /// verdict read as 100 % growth and was ranked again.
    #[test]
    fn the_same_ground_again_is_not_growth() {
        let a = square(0.0, 0.0, 100.0);
        assert!(!since_verdict(&[&a], &[&a], 20.0).grown());
        // One pixel's shift (10 m: 10 % new ground) stays under 20 %.
        let shifted = square(10.0, 0.0, 100.0);
        assert!(!since_verdict(&[&a], &[&shifted], 20.0).grown());
        // A pit dug on beside it (a 50 m square more: 25 %) is new ground.
        let wider = square(0.0, 0.0, 100.0).union(&square(100.0, 0.0, 50.0));
        match since_verdict(&[&a], &[&wider], 20.0) {
            SinceVerdict::Grown { new_m2, known_m2 } => {
                assert!((new_m2 - 2500.0).abs() < 1e-6 && (known_m2 - 10_000.0).abs() < 1e-6)
            }
            x => panic!("{x:?}"),
        }
        // Two re-detections of the same ground count it once.
        assert!(!since_verdict(&[&a], &[&a, &shifted], 20.0).grown());
    }

    #[test]
    fn without_the_verdicts_ground_growth_is_unknown_and_the_verdict_stands() {
        let a = square(0.0, 0.0, 100.0);
        assert_eq!(since_verdict(&[], &[&a], 20.0), SinceVerdict::Unknown);
        assert!(!SinceVerdict::Unknown.grown());
    }
}
