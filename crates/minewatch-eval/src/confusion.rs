//! Binary confusion counts for the change class and the scores derived from them.

use crate::Truth;
use serde::Serialize;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Confusion {
    pub tp: u64,
    pub fp: u64,
    /// `fn` is a Rust keyword; reports spell it as the field is known.
    #[serde(rename = "fn")]
    pub fn_: u64,
    pub tn: u64,
}

/// Scores of the change class. A ratio with nothing to divide by (precision without a
/// patch on a labelled pixel, recall without a change pixel in the reference, kappa when
/// map and reference are both one class) is undefined: `None`, reported as `null` / `n/a`.
/// A 0 would read as "every patch wrong" or "every change missed", which did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Scores {
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    /// 2·TP / (2·TP + FP + FN): 0 when either precision or recall is 0 (a detection
    /// without patches over changed pixels scores 0, it missed them all), undefined only
    /// when the scored pixels hold neither a patch nor a reference change.
    pub f1: Option<f64>,
    /// TP / (TP + FP + FN), defined like F1.
    pub iou: Option<f64>,
    pub kappa: Option<f64>,
    pub overall_accuracy: Option<f64>,
    pub scored_pixels: u64,
}

/// `a / b`, undefined when `b` is 0.
pub fn ratio(a: f64, b: f64) -> Option<f64> {
    (b != 0.0).then(|| a / b)
}

impl Confusion {
    /// Count over paired pixels: `detected[i]` (non-zero = change) against `truth[i]`.
    pub fn count(detected: &[u8], truth: &[Truth]) -> Self {
        let mut c = Self::default();
        for (&d, &t) in detected.iter().zip(truth) {
            match (d != 0, t) {
                (true, Truth::Change) => c.tp += 1,
                (true, Truth::NoChange) => c.fp += 1,
                (false, Truth::Change) => c.fn_ += 1,
                (false, Truth::NoChange) => c.tn += 1,
                (_, Truth::Unknown) => {}
            }
        }
        c
    }

    pub fn scores(&self) -> Scores {
        let (tp, fp, fn_, tn) = (
            self.tp as f64,
            self.fp as f64,
            self.fn_ as f64,
            self.tn as f64,
        );
        let n = tp + fp + fn_ + tn;
        let po = ratio(tp + tn, n);
        let pe = ratio((tp + fp) * (tp + fn_) + (fn_ + tn) * (fp + tn), n * n);
        Scores {
            precision: ratio(tp, tp + fp),
            recall: ratio(tp, tp + fn_),
            f1: ratio(2.0 * tp, 2.0 * tp + fp + fn_),
            iou: ratio(tp, tp + fp + fn_),
            // pe = 1: map and reference agree by chance alone (both one class).
            kappa: po.zip(pe).and_then(|(po, pe)| ratio(po - pe, 1.0 - pe)),
            overall_accuracy: po,
            scored_pixels: n as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scores(tp: u64, fp: u64, fn_: u64, tn: u64) -> Scores {
        Confusion { tp, fp, fn_, tn }.scores()
    }

    #[test]
    fn textbook_numbers() {
        let s = scores(20, 10, 5, 65);
        let near = |v: Option<f64>, want: f64| (v.unwrap() - want).abs() < 1e-12;
        assert!(near(s.precision, 20.0 / 30.0));
        assert!(near(s.recall, 0.8));
        assert!(near(s.f1, 40.0 / 55.0));
        assert!(near(s.iou, 20.0 / 35.0));
        // po = 0.85, pe = (30*25 + 70*75)/100² = 0.6, kappa = 0.25/0.4
        assert!(near(s.kappa, 0.625));
    }

    /// Review, session 14: undefined ratios were reported as 0.
    #[test]
    fn undefined_scores_are_none_not_zero() {
        // No patch at all over changed and unchanged pixels: precision undefined, but the
        // detection missed every change, so recall, F1 and IoU are a real 0.
        let s = scores(0, 0, 7, 93);
        assert_eq!(s.precision, None);
        assert_eq!((s.recall, s.f1, s.iou), (Some(0.0), Some(0.0), Some(0.0)));
        // pe = 0.93 · 1 → kappa 0: no agreement beyond chance, a defined value.
        assert_eq!(s.kappa, Some(0.0));
        // A reference without change and a map without patches: only OA is defined.
        let s = scores(0, 0, 0, 50);
        assert_eq!(
            (s.precision, s.recall, s.f1, s.iou, s.kappa),
            (None, None, None, None, None)
        );
        assert_eq!(s.overall_accuracy, Some(1.0));
        // A reference without change and false alarms: precision 0, recall undefined.
        let s = scores(0, 5, 0, 45);
        assert_eq!((s.precision, s.recall, s.f1), (Some(0.0), None, Some(0.0)));
    }

    #[test]
    fn unknown_pixels_are_not_scored() {
        let c = Confusion::count(
            &[1, 1, 0, 0, 1],
            &[
                Truth::Change,
                Truth::Unknown,
                Truth::NoChange,
                Truth::Change,
                Truth::NoChange,
            ],
        );
        assert_eq!(
            c,
            Confusion {
                tp: 1,
                fp: 1,
                fn_: 1,
                tn: 1
            }
        );
    }
}
