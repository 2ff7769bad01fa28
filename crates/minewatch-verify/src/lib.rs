//! Verification: drawing for county packages (chips, maps), seeded spot-check and re-check
//! samples, and the audit of the verdicts counties return (validation, inconsistencies,
//! per-county statistics, misjudgement rates from a re-check). Pure: no files.

pub mod audit;
pub mod render;
pub mod sample;
