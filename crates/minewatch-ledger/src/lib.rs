//! The multi-year ledger: links each cycle's patches into sites whose ids survive re-runs
//! and new years, counts years and runs of change, areas and growth, and attaches earlier
//! verdicts and administrative penalties (with the repeat-offender test of
//! 法释〔2016〕25号 art. 3). Pure: geometry in, core `Site`s out.

pub mod link;
pub mod sites;

pub use sites::{build, plus_two_years, LedgerParams, LedgerPatch, Outside};
