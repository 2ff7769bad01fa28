//! The law-driven priority policy: a TOML file of weights (defaults shipped in
//! `pipelines/policy/default.toml`), the score of each site as a sum of named terms with
//! reasons in English and Chinese, ranks within county / prefecture / province, trends and
//! surges per county and mineral, and hot-spot clusters. Pure: core `Site`s in, tasks out.

pub mod minerals;
pub mod policy;
pub mod prices;
pub mod score;
pub mod trends;

pub use policy::Policy;
pub use score::{rank, score, Context, RunDates, Task, TERMS};
pub use trends::{hotspots, trends, Hotspot, PatchFact, SitePoint, TrendRow};
