//! Licences whose validity a layer leaves unknown — a blank date where the layer declares
//! its field, a start after the end, a corner-coordinate licence without a row in its
//! attributes table — gathered while a layer loads and said once per layer and cause, on
//! stderr and in the manifest: such a licence counts as valid wherever no known date says
//! otherwise, so an expired one would pass for valid unsaid.

use crate::spec::LayerSpec;
use crate::zoneset::{some_ids, Right, ZoneSet, SHOWN};
use std::path::Path;

/// What is unknown about the validity of one layer's licences, by cause.
#[derive(Debug, Default)]
pub struct UnknownValidity {
    /// Licence and which declared date is blank.
    blank: Vec<String>,
    /// Licence with its start and end, the start after the end.
    reversed: Vec<String>,
    /// Corner-coordinate licences without a row in the attributes table.
    no_row: Vec<String>,
}

impl UnknownValidity {
    /// A licence whose declared start (`from_blank`) or end (`to_blank`) is blank: no bound
    /// on that side.
    pub fn blank(&mut self, licence: &str, from_blank: bool, to_blank: bool) {
        let which = match (from_blank, to_blank) {
            (true, true) => "no dates",
            (true, false) => "no start",
            (false, true) => "no end",
            (false, false) => return,
        };
        self.blank.push(format!("{licence} ({which})"));
    }

    pub fn no_row(&mut self, licence: &str) {
        self.no_row.push(licence.to_string());
    }

    /// A start after the end is no period at all (a typo in one of them, and which is not
    /// known): both dates are dropped, so the licence's validity is unknown like one
    /// without dates, and said — it would otherwise be expired or not yet valid by
    /// whichever date the image falls against.
    pub fn check_order(&mut self, r: &mut Right) {
        if let (Some(from), Some(to)) = (r.valid_from, r.valid_to) {
            if from > to {
                self.reversed.push(format!("{} ({from} → {to})", r.licence));
                r.valid_from = None;
                r.valid_to = None;
            }
        }
    }

    /// One warning per cause, naming the layer, its file and the first licences.
    pub fn warn(self, l: &LayerSpec, table: Option<&Path>, set: &mut ZoneSet) {
        let head = format!("layer `{}` ({})", l.name, l.path.display());
        if !self.blank.is_empty() {
            set.warn(format!(
                "{head}: {} licence(s) with a blank validity date: {}; a blank date sets no bound (no start: valid until its end; no end: valid from its start on; no dates: valid on every date), so an expired licence counts as valid — fill in the register (长期 or 至今 for a right without an end)",
                self.blank.len(),
                some_ids(&self.blank, SHOWN)
            ));
        }
        if !self.reversed.is_empty() {
            set.warn(format!(
                "{head}: {} licence(s) whose validity starts after it ends: {}; their validity is unknown, so they count as valid on every date — correct the dates in the register",
                self.reversed.len(),
                some_ids(&self.reversed, SHOWN)
            ));
        }
        if !self.no_row.is_empty() {
            set.warn(format!(
                "{head}: {} licence(s) without a row in {}: {}; without its row a licence has no holder, mineral, type or validity dates, so it counts as valid on every date — add their rows",
                self.no_row.len(),
                table.unwrap_or(Path::new("the attributes table")).display(),
                some_ids(&self.no_row, SHOWN)
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use minewatch_core::AcqDate;

    fn d(y: u16, m: u8, dd: u8) -> Option<AcqDate> {
        AcqDate::new(y, m, dd)
    }

    fn right(from: Option<AcqDate>, to: Option<AcqDate>) -> Right {
        Right {
            licence: "C1".into(),
            holder: String::new(),
            mineral: String::new(),
            exploration: false,
            valid_from: from,
            valid_to: to,
        }
    }

    #[test]
    fn a_start_after_the_end_leaves_validity_unknown() {
        let mut u = UnknownValidity::default();
        let mut r = right(d(2003, 1, 1), d(2001, 6, 30));
        u.check_order(&mut r);
        assert_eq!((r.valid_from, r.valid_to), (None, None));
        assert_eq!(u.reversed, vec!["C1 (2003-01-01 → 2001-06-30)"]);
        // In order, one day long, or open: kept.
        for (from, to) in [
            (d(2001, 1, 1), d(2001, 6, 30)),
            (d(2001, 6, 30), d(2001, 6, 30)),
            (d(2001, 1, 1), None),
        ] {
            let mut r = right(from, to);
            u.check_order(&mut r);
            assert_eq!((r.valid_from, r.valid_to), (from, to));
        }
        assert_eq!(u.reversed.len(), 1);
    }
}
