//! The per-window change kernel: band planes of two dates in, change mask and per-pixel
//! channel values out. Pure and element-wise, so windows can run on any thread in any
//! order and give the same bits.

use crate::index::{Date, Index, Var};
use crate::rule::Rule;
use minewatch_core::BandRole;
use std::collections::HashMap;

/// Band planes of one date for one window, indexed by role.
#[derive(Default)]
pub struct Planes<'a> {
    planes: [Option<&'a [f32]>; 6],
}

impl<'a> Planes<'a> {
    pub fn set(&mut self, role: BandRole, plane: &'a [f32]) {
        self.planes[role as usize] = Some(plane);
    }

    fn get(&self, role: BandRole) -> &'a [f32] {
        self.planes[role as usize]
            .unwrap_or_else(|| panic!("band {role} was not read for this window"))
    }
}

/// A compiled rule plus the channels to keep for patch statistics.
#[derive(Debug, Clone)]
pub struct Kernel {
    pub rule: Rule,
    pub channels: Vec<Var>,
}

impl Kernel {
    /// Roles the kernel needs from each date.
    pub fn roles(&self) -> Vec<BandRole> {
        let mut r: Vec<BandRole> = self
            .rule
            .all
            .iter()
            .map(|c| c.var)
            .chain(self.channels.iter().copied())
            .flat_map(|v| v.roles())
            .collect();
        r.sort();
        r.dedup();
        r
    }

    /// Evaluate one window. `valid[i] == 0` marks nodata at either date: never change, NaN
    /// in every channel. `mask` gets 0/1; `channels` gets one plane per channel.
    pub fn run(
        &self,
        t1: &Planes,
        t2: &Planes,
        valid: &[u8],
        mask: &mut Vec<u8>,
        channels: &mut Vec<Vec<f32>>,
    ) {
        let n = valid.len();
        let mut cache: HashMap<(Index, Date), Vec<f32>> = HashMap::new();
        let mut plane = Vec::with_capacity(n);
        mask.clear();
        mask.extend_from_slice(valid);
        for c in &self.rule.all {
            self.var_plane(c.var, t1, t2, &mut cache, &mut plane);
            for (m, &x) in mask.iter_mut().zip(plane.iter()) {
                *m &= c.holds(x) as u8;
            }
        }
        channels.resize_with(self.channels.len(), Vec::new);
        for (k, v) in self.channels.iter().enumerate() {
            self.var_plane(*v, t1, t2, &mut cache, &mut channels[k]);
            for (x, &ok) in channels[k].iter_mut().zip(valid) {
                if ok == 0 {
                    *x = f32::NAN;
                }
            }
        }
    }

    fn var_plane(
        &self,
        var: Var,
        t1: &Planes,
        t2: &Planes,
        cache: &mut HashMap<(Index, Date), Vec<f32>>,
        out: &mut Vec<f32>,
    ) {
        let mut at = |idx: Index, d: Date| -> Vec<f32> {
            cache
                .entry((idx, d))
                .or_insert_with(|| {
                    let p = if d == Date::T1 { t1 } else { t2 };
                    let mut v = Vec::new();
                    idx.compute(|r| p.get(r), &mut v);
                    v
                })
                .clone()
        };
        out.clear();
        match var {
            Var::Drop(i) => {
                let (a, b) = (at(i, Date::T1), at(i, Date::T2));
                out.extend(a.iter().zip(&b).map(|(x, y)| x - y));
            }
            Var::Rise(i) => {
                let (a, b) = (at(i, Date::T1), at(i, Date::T2));
                out.extend(a.iter().zip(&b).map(|(x, y)| y - x));
            }
            Var::At(i, d) => out.extend_from_slice(&at(i, d)),
            Var::Band(r, d) => {
                out.extend_from_slice(if d == Date::T1 { t1.get(r) } else { t2.get(r) })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_rule_on_hand_made_pixels() {
        use BandRole::*;
        // pixel 0: vegetation -> bare soil (change); 1: same but t2 blue too bright (cloud);
        // 2: no change; 3: nodata.
        let b1 = [300.0, 300.0, 300.0, 300.0];
        let r1 = [400.0, 400.0, 400.0, 400.0];
        let n1 = [3500.0, 3500.0, 3500.0, 3500.0];
        let s1 = [1700.0, 1700.0, 1700.0, 1700.0];
        let b2 = [1000.0, 2600.0, 300.0, 1000.0];
        let r2 = [1700.0, 1700.0, 400.0, 1700.0];
        let n2 = [2400.0, 2400.0, 3500.0, 2400.0];
        let s2 = [3000.0, 3000.0, 1700.0, 3000.0];
        let (mut p1, mut p2) = (Planes::default(), Planes::default());
        for (role, a, b) in [
            (Blue, &b1, &b2),
            (Red, &r1, &r2),
            (Nir, &n1, &n2),
            (Swir1, &s1, &s2),
        ] {
            p1.set(role, a);
            p2.set(role, b);
        }
        let k = Kernel {
            rule: Rule::peer_reference(),
            channels: vec![Var::Drop(Index::Ndvi)],
        };
        assert_eq!(k.roles(), vec![Blue, Red, Nir, Swir1]);
        let (mut mask, mut ch) = (Vec::new(), Vec::new());
        k.run(&p1, &p2, &[1, 1, 1, 0], &mut mask, &mut ch);
        assert_eq!(mask, vec![1, 0, 0, 0]);
        assert!(ch[0][3].is_nan());
        assert_eq!(ch[0][2], 0.0);
    }
}
