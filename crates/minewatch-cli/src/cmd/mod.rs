pub mod detect;
pub mod eval;
