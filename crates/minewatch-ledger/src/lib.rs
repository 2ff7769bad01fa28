//! The multi-year ledger: links each cycle's patches into sites whose ids survive re-runs
//! and new years, finds runs of change along the chain of image dates, areas and growth, and attaches earlier
//! verdicts and administrative penalties (with the repeat-offender test of
//! 法释〔2016〕25号 art. 3). Pure: geometry in, core `Site`s out.

pub mod false_change;
pub mod footprint;
pub mod link;
pub mod match_key;
pub mod referral;
pub mod runs;
pub mod same_change;
pub mod sites;
#[cfg(test)]
mod test_shapes;

pub use footprint::footprint;
pub use referral::plus_two_years;
pub use runs::{ChangeRun, Growth, Persistence};
pub use sites::{
    build, build_ledger, build_ledger_compared, chain_ends, overlapping_pairs, Ledger,
    LedgerParams, LedgerPatch, Outside,
};
