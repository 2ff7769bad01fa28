//! Change type, confidence and reasons of a patch, from the means of its channels: so the
//! policy can rank by type and a field team can read why a patch was flagged.
//!
//! Types, first match wins: `water_gain` / `water_loss` (MNDWI moved by ≥ 0.15: a pit
//! filling with water, a pond drained), `vegetation_loss` (NDVI dropped by ≥ 0.10),
//! `vegetation_gain` (NDVI rose by ≥ 0.10: 复绿, see [`restores`]), `bare_soil_gain` (BSI
//! rose by ≥ 0.05), `brightening` / `darkening` (the visible mean moved), else `other`. Confidence (automatic methods): the patch's mean score over the
//! threshold, ≥ 2.5 `highest`, ≥ 1.5 `high`, else `low`; the explicit rule says `rule`.

use minewatch_core::ChannelStat;

pub struct Verdict {
    pub change_type: &'static str,
    pub confidence: &'static str,
    pub reasons: String,
}

fn mean(stats: &[ChannelStat], name: &str) -> Option<f64> {
    stats
        .iter()
        .find(|s| s.name == name)
        .map(|s| s.mean)
        .filter(|m| m.is_finite())
}

/// MNDWI move that makes a patch `water_gain` / `water_loss`.
const WATER_MNDWI: f64 = 0.15;
/// NDVI drop that makes a patch `vegetation_loss`.
const VEGETATION_NDVI: f64 = 0.10;

/// Whether a patch's change reverses mining: NDVI rose by at least the drop that makes
/// `vegetation_loss` (0.10), and water did not move enough to make it `water_gain` /
/// `water_loss`. Vegetation back on the ground (复绿) is a pit restored, never a pit dug,
/// so the ledger counts it as no change (docs/rank.md). Means from the findings' columns.
pub fn restores(mean_ndvi_drop: Option<f64>, mean_mndwi_rise: Option<f64>) -> bool {
    let water_moved = mean_mndwi_rise.is_some_and(|w| w.abs() >= WATER_MNDWI);
    !water_moved && mean_ndvi_drop.is_some_and(|n| n <= -VEGETATION_NDVI)
}

pub fn classify(stats: &[ChannelStat], threshold: Option<f64>) -> Verdict {
    let ndvi = mean(stats, "ndvi_drop");
    let bsi = mean(stats, "bsi_rise");
    let mndwi = mean(stats, "mndwi_rise");
    let bright = mean(stats, "brightness_rise");
    let change_type = match (mndwi, ndvi, bsi, bright) {
        (Some(w), ..) if w >= WATER_MNDWI => "water_gain",
        (Some(w), ..) if w <= -WATER_MNDWI => "water_loss",
        (_, Some(n), ..) if n >= VEGETATION_NDVI => "vegetation_loss",
        // The type says what rank reads it as (restored ground), not the visible mean:
        // a pit revegetated also darkens, and read as `darkening` it looked like work.
        (_, Some(n), ..) if n <= -VEGETATION_NDVI => "vegetation_gain",
        (_, _, Some(b), _) if b >= 0.05 => "bare_soil_gain",
        (.., Some(l)) if l > 0.0 => "brightening",
        (.., Some(l)) if l < 0.0 => "darkening",
        _ => "other",
    };
    let mut reasons = Vec::new();
    if let Some(n) = ndvi {
        reasons.push(format!("NDVI {:+.2}", -n));
    }
    if let Some(b) = bsi {
        reasons.push(format!("BSI {b:+.2}"));
    }
    if let Some(w) = mndwi {
        reasons.push(format!("MNDWI {w:+.2}"));
    }
    if let Some(l) = bright {
        // Digital numbers move by tens, reflectance by hundredths: whole numbers for the
        // first, three decimals for the second (reflectance read "brightness -0").
        if l.abs() >= 10.0 {
            reasons.push(format!("brightness {l:+.0}"));
        } else {
            reasons.push(format!("brightness {l:+.3}"));
        }
    }
    let confidence = match (threshold, mean(stats, "score")) {
        (Some(t), Some(s)) if t > 0.0 => {
            let r = s / t;
            reasons.push(format!("score {r:.1}x threshold"));
            if r >= 2.5 {
                "highest"
            } else if r >= 1.5 {
                "high"
            } else {
                "low"
            }
        }
        _ => "rule",
    };
    Verdict {
        change_type,
        confidence,
        reasons: reasons.join(", "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(pairs: &[(&str, f64)]) -> Vec<ChannelStat> {
        pairs
            .iter()
            .map(|(n, m)| ChannelStat {
                name: n.to_string(),
                mean: *m,
                max: *m,
            })
            .collect()
    }

    /// Review finding (revV F1): a pit revegetated (NDVI +0.60, BSI −0.38) read as a
    /// `darkening` change and counted as a second year of mining.
    #[test]
    fn vegetation_coming_back_restores_unless_water_moved() {
        assert!(restores(Some(-0.60), Some(0.09)));
        assert!(!restores(Some(-0.05), None), "noise");
        assert!(!restores(Some(0.60), None), "vegetation lost");
        assert!(!restores(Some(-0.30), Some(-0.20)), "a pit drained");
        assert!(!restores(None, None));
    }

    #[test]
    fn types_in_order() {
        assert_eq!(
            classify(&st(&[("mndwi_rise", 0.3), ("ndvi_drop", 0.4)]), None).change_type,
            "water_gain"
        );
        assert_eq!(
            classify(&st(&[("mndwi_rise", 0.0), ("ndvi_drop", 0.4)]), None).change_type,
            "vegetation_loss"
        );
        assert_eq!(
            classify(&st(&[("ndvi_drop", 0.01), ("bsi_rise", 0.08)]), None).change_type,
            "bare_soil_gain"
        );
        assert_eq!(
            classify(&st(&[("brightness_rise", -300.0)]), None).change_type,
            "darkening"
        );
        assert_eq!(classify(&[], None).change_type, "other");
    }

    /// Review finding (revV F1, left in session 19): the revegetated pit rank calls
    /// restored was typed `darkening` (brightness fell with it), so the findings and the
    /// county form called 复绿 "地表变暗", a change of the surface worth a look.
    #[test]
    fn vegetation_coming_back_is_typed_as_such_and_agrees_with_restores() {
        let regrown = st(&[
            ("ndvi_drop", -0.60),
            ("bsi_rise", -0.38),
            ("mndwi_rise", 0.09),
            ("brightness_rise", -300.0),
        ]);
        assert_eq!(classify(&regrown, None).change_type, "vegetation_gain");
        assert!(restores(Some(-0.60), Some(0.09)));
        // Water moving first: a pit filling is water_gain whatever NDVI does.
        let flooded = st(&[("ndvi_drop", -0.30), ("mndwi_rise", 0.40)]);
        assert_eq!(classify(&flooded, None).change_type, "water_gain");
        assert!(!restores(Some(-0.30), Some(0.40)));
        // Below the 0.10 step it stays what the other channels say.
        let faint = st(&[("ndvi_drop", -0.05), ("brightness_rise", -300.0)]);
        assert_eq!(classify(&faint, None).change_type, "darkening");
        assert!(!restores(Some(-0.05), None));
    }

    #[test]
    fn brightness_reads_in_the_data_units() {
        let dn = classify(&st(&[("brightness_rise", -42.4)]), None).reasons;
        assert!(dn.contains("brightness -42"), "{dn}");
        let refl = classify(&st(&[("brightness_rise", -0.0312)]), None).reasons;
        assert!(refl.contains("brightness -0.031"), "{refl}");
    }

    #[test]
    fn confidence_from_the_score_margin() {
        let v = classify(&st(&[("ndvi_drop", 0.3), ("score", 9.0)]), Some(3.0));
        assert_eq!(v.confidence, "highest");
        assert_eq!(v.reasons, "NDVI -0.30, score 3.0x threshold");
        assert_eq!(
            classify(&st(&[("score", 3.3)]), Some(3.0)).confidence,
            "low"
        );
        assert_eq!(classify(&st(&[("score", 3.3)]), None).confidence, "rule");
    }
}
