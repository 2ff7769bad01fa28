//! Accuracy assessment of a change map against reference data, with the measures the
//! field uses: pixel confusion (precision, recall, F1, IoU, Cohen's kappa), object
//! matching (a reference object is found when a patch overlaps it), and the stratified
//! estimator of Olofsson et al. (2014) for area-weighted error matrices and changed area
//! with a 95 % confidence interval. Pure functions over in-memory masks; no I/O.

pub mod confusion;
pub mod objects;
pub mod olofsson;

pub use confusion::Confusion;
pub use objects::{object_scores, ObjectScores};
pub use olofsson::{stratified_estimate, StratifiedEstimate};

/// Reference value of one pixel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truth {
    Change,
    NoChange,
    /// Unlabelled or outside the reference: not scored.
    Unknown,
}
