//! The same change given twice: two inputs holding findings of one date pair over the same
//! ground (two detect runs over the same dates whose mosaics differ in origin). Patch ids
//! come from the grid's rows and columns, so shifted grids give other ids and the id check
//! passes them; the ledger never links patches of one pair, so the area counted twice and
//! one pit became two tasks.

use crate::link::{bbox, within};
use geo::{Area, BooleanOps};
use geo_types::MultiPolygon;
use minewatch_core::DatePair;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::RTree;

/// Share of the smaller patch two patches must have in common to be one change found
/// twice: tiles of one run that meet along an edge share no area.
pub const SAME_GROUND_SHARE: f64 = 0.10;

/// The first two patches (indices) of the same pair from different inputs whose common
/// ground exceeds [`SAME_GROUND_SHARE`] of the smaller; None when every pair's findings
/// come from one input or lie on separate ground.
pub fn given_twice(
    geoms: &[MultiPolygon<f64>],
    pairs: &[DatePair],
    input: &[usize],
) -> Option<(usize, usize)> {
    let boxes: Vec<Option<[f64; 4]>> = geoms.iter().map(bbox).collect();
    let tree = RTree::bulk_load(
        boxes
            .iter()
            .enumerate()
            .filter_map(|(i, b)| {
                b.map(|b| GeomWithData::new(Rectangle::from_corners([b[0], b[1]], [b[2], b[3]]), i))
            })
            .collect(),
    );
    (0..geoms.len()).find_map(|i| {
        let bi = boxes[i]?;
        let env = rstar::AABB::from_corners([bi[0], bi[1]], [bi[2], bi[3]]);
        let mut js: Vec<usize> = tree
            .locate_in_envelope_intersecting(&env)
            .map(|e| e.data)
            .filter(|&j| j > i && pairs[j] == pairs[i] && input[j] != input[i])
            .collect();
        js.sort_unstable();
        js.into_iter().find_map(|j| {
            let bj = boxes[j]?;
            if !within(&geoms[i], bi, &geoms[j], bj, 0.0) {
                return None;
            }
            let common = geoms[i].intersection(&geoms[j]).unsigned_area();
            let smaller = geoms[i].unsigned_area().min(geoms[j].unsigned_area());
            (common > SAME_GROUND_SHARE * smaller).then_some((i, j))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_shapes::square as sq;
    use minewatch_core::AcqDate;

    /// Review finding (revV F2): the same pairs from two detect runs on grids 300 m apart
    /// passed (other ids), doubling areas and making one pit two tasks.
    #[test]
    fn one_pairs_change_from_two_inputs_is_found() {
        let p = DatePair {
            before: AcqDate::new(2001, 5, 10).unwrap(),
            after: AcqDate::new(2002, 5, 8).unwrap(),
        };
        let q = DatePair {
            before: p.after,
            after: AcqDate::new(2003, 5, 12).unwrap(),
        };
        // The same pit from two inputs, shifted by a pixel: found.
        let g = vec![sq(0.0, 0.0, 100.0), sq(30.0, 0.0, 100.0)];
        assert_eq!(given_twice(&g, &[p, p], &[0, 1]), Some((0, 1)));
        // One input (detect never repeats a patch), or other pairs: not.
        assert_eq!(given_twice(&g, &[p, p], &[0, 0]), None);
        assert_eq!(given_twice(&g, &[p, q], &[0, 1]), None);
        // Tiles of one pair meeting along an edge share no ground.
        let tiles = vec![sq(0.0, 0.0, 100.0), sq(100.0, 0.0, 100.0)];
        assert_eq!(given_twice(&tiles, &[p, p], &[0, 1]), None);
    }
}
