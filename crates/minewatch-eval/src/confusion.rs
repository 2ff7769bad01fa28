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

/// Scores of the change class. Undefined ratios (0/0) are reported as 0.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Scores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub iou: f64,
    pub kappa: f64,
    pub overall_accuracy: f64,
    pub scored_pixels: u64,
}

fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        0.0
    } else {
        a / b
    }
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
        let precision = ratio(tp, tp + fp);
        let recall = ratio(tp, tp + fn_);
        let po = ratio(tp + tn, n);
        let pe = ratio((tp + fp) * (tp + fn_) + (fn_ + tn) * (fp + tn), n * n);
        Scores {
            precision,
            recall,
            f1: ratio(2.0 * tp, 2.0 * tp + fp + fn_),
            iou: ratio(tp, tp + fp + fn_),
            kappa: if pe >= 1.0 {
                0.0
            } else {
                (po - pe) / (1.0 - pe)
            },
            overall_accuracy: po,
            scored_pixels: n as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn textbook_numbers() {
        // 20 TP, 10 FP, 5 FN, 65 TN.
        let c = Confusion {
            tp: 20,
            fp: 10,
            fn_: 5,
            tn: 65,
        };
        let s = c.scores();
        assert!((s.precision - 20.0 / 30.0).abs() < 1e-12);
        assert!((s.recall - 0.8).abs() < 1e-12);
        assert!((s.f1 - 40.0 / 55.0).abs() < 1e-12);
        assert!((s.iou - 20.0 / 35.0).abs() < 1e-12);
        // po = 0.85, pe = (30*25 + 70*75)/100² = 0.6, kappa = 0.25/0.4
        assert!((s.kappa - 0.625).abs() < 1e-12);
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
