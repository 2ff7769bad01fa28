//! The per-window change kernel: band planes of two dates in, change mask and per-pixel
//! channel values out. Pure and element-wise, so windows can run on any thread in any
//! order and give the same bits.

use crate::index::{Date, Index, Var};
use crate::rule::{Condition, Op, Rule};
use minewatch_core::BandRole;

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
        INDEX_PLANES.with(|idx| self.run_with(&mut idx.borrow_mut(), t1, t2, valid, mask, channels))
    }

    fn run_with(
        &self,
        idx: &mut IndexPlanes,
        t1: &Planes,
        t2: &Planes,
        valid: &[u8],
        mask: &mut Vec<u8>,
        channels: &mut Vec<Vec<f32>>,
    ) {
        idx.done = [false; 5];
        mask.clear();
        mask.extend_from_slice(valid);
        for c in &self.rule.all {
            let m = mask.as_mut_slice();
            match c.var {
                Var::Drop(i) => {
                    idx.ensure(i, t1, t2);
                    let (a, b) = idx.pair(i);
                    and_where(m, a.iter().zip(b).map(|(x, y)| x - y), c);
                }
                Var::Rise(i) => {
                    idx.ensure(i, t1, t2);
                    let (a, b) = idx.pair(i);
                    and_where(m, a.iter().zip(b).map(|(x, y)| y - x), c);
                }
                Var::At(i, d) => {
                    idx.ensure(i, t1, t2);
                    let (a, b) = idx.pair(i);
                    and_where(m, (if d == Date::T1 { a } else { b }).iter().copied(), c);
                }
                Var::Band(r, d) => and_where(
                    m,
                    (if d == Date::T1 { t1 } else { t2 }).get(r).iter().copied(),
                    c,
                ),
            }
        }
        channels.resize_with(self.channels.len(), Vec::new);
        for (k, v) in self.channels.iter().enumerate() {
            let out = &mut channels[k];
            out.clear();
            match *v {
                Var::Drop(i) | Var::Rise(i) | Var::At(i, _) => {
                    idx.ensure(i, t1, t2);
                    let (a, b) = idx.pair(i);
                    match *v {
                        Var::Drop(_) => out.extend(a.iter().zip(b).map(|(x, y)| x - y)),
                        Var::Rise(_) => out.extend(a.iter().zip(b).map(|(x, y)| y - x)),
                        Var::At(_, Date::T1) => out.extend_from_slice(a),
                        _ => out.extend_from_slice(b),
                    }
                }
                Var::Band(r, d) => {
                    out.extend_from_slice((if d == Date::T1 { t1 } else { t2 }).get(r))
                }
            }
            for (x, &ok) in out.iter_mut().zip(valid) {
                if ok == 0 {
                    *x = f32::NAN;
                }
            }
        }
    }
}

thread_local! {
    /// Reused from window to window: fresh planes would cost a page fault per 4 KiB.
    static INDEX_PLANES: std::cell::RefCell<IndexPlanes> = Default::default();
}

/// Free this thread's reused index planes (when a run's windows are done).
pub fn release_thread_buffers() {
    INDEX_PLANES.with(|p| *p.borrow_mut() = IndexPlanes::default());
}

/// Index planes of both dates, computed on first use.
#[derive(Default)]
struct IndexPlanes {
    planes: [[Vec<f32>; 2]; 5],
    done: [bool; 5],
}

impl IndexPlanes {
    fn ensure(&mut self, i: Index, t1: &Planes, t2: &Planes) {
        let k = i as usize;
        if !self.done[k] {
            i.compute(|r| t1.get(r), &mut self.planes[k][0]);
            i.compute(|r| t2.get(r), &mut self.planes[k][1]);
            self.done[k] = true;
        }
    }

    fn pair(&self, i: Index) -> (&[f32], &[f32]) {
        let p = &self.planes[i as usize];
        (&p[0], &p[1])
    }
}

/// `mask &= (value op threshold)`, with the comparison chosen once per window.
fn and_where(mask: &mut [u8], values: impl Iterator<Item = f32>, c: &Condition) {
    let t = c.value;
    let it = mask.iter_mut().zip(values);
    match c.op {
        Op::Ge => it.for_each(|(m, x)| *m &= (x >= t) as u8),
        Op::Gt => it.for_each(|(m, x)| *m &= (x > t) as u8),
        Op::Le => it.for_each(|(m, x)| *m &= (x <= t) as u8),
        Op::Lt => it.for_each(|(m, x)| *m &= (x < t) as u8),
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
