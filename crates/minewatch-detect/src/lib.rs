//! Change detection on band planes, with no I/O: spectral indices, the explicit change
//! rule, the streaming minimum-mapping-unit sieve, streaming patch labelling and exact
//! pixel-edge polygons. Everything here is pure Rust over slices, deterministic by
//! construction, and cheap to test without GDAL.

pub mod auto;
pub mod cloud;
pub mod disjoint;
pub mod index;
pub mod kernel;
pub mod label;
pub mod polygon;
pub mod rule;
pub mod runs;
pub mod sieve;

pub use index::{Index, Var};
pub use kernel::{Kernel, Planes};
pub use label::{PatchPixels, PatchSweep};
pub use polygon::polygons_of_runs;
pub use rule::{Condition, Rule, RuleError};
pub use sieve::SieveSweep;
