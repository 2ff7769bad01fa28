pub mod detect;
pub mod eval;
pub mod overlay;
