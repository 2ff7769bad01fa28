//! Shared vocabulary of minewatch: grids, windows, acquisition dates, band roles and
//! sensor profiles, patch records, zone kinds and findings, and units. No I/O lives here, so every stage crate can
//! depend on it without pulling GDAL or threads in.

pub mod band;
pub mod date;
pub mod datum;
pub mod grid;
pub mod memory;
pub mod patch;
pub mod site;
pub mod units;
pub mod zone;

pub use band::{BandRole, Numbering, SensorProfile};
pub use date::{AcqDate, DatePair};
pub use grid::{Grid, Window};
pub use patch::{ChannelStat, PatchGeometry, PatchRecord, PixelRing};
pub use site::{HistoryRecord, Penalty, Referral, Site, Verdict};
pub use zone::{AdminLevel, AdminPlace, Finding, LicenceStatus, ZoneHit, ZoneKind};
