//! Verification: seeded spot-check and re-check samples, and the audit of the verdicts
//! counties return (validation, inconsistencies, per-county statistics, misjudgement rates
//! from a re-check). Pure: rows in, samples and findings out.

pub mod audit;
pub mod sample;
