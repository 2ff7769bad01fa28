//! Change type, confidence and reasons of a patch, from the means of its channels: so the
//! policy can rank by type and a field team can read why a patch was flagged.
//!
//! Types, first match wins: `water_gain` / `water_loss` (MNDWI moved by ≥ 0.15: a pit
//! filling with water, a pond drained), `vegetation_loss` (NDVI dropped by ≥ 0.10),
//! `bare_soil_gain` (BSI rose by ≥ 0.05), `brightening` / `darkening` (the visible mean
//! moved), else `other`. Confidence (automatic methods): the patch's mean score over the
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

pub fn classify(stats: &[ChannelStat], threshold: Option<f64>) -> Verdict {
    let ndvi = mean(stats, "ndvi_drop");
    let bsi = mean(stats, "bsi_rise");
    let mndwi = mean(stats, "mndwi_rise");
    let bright = mean(stats, "brightness_rise");
    let change_type = match (mndwi, ndvi, bsi, bright) {
        (Some(w), ..) if w >= 0.15 => "water_gain",
        (Some(w), ..) if w <= -0.15 => "water_loss",
        (_, Some(n), ..) if n >= 0.10 => "vegetation_loss",
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
