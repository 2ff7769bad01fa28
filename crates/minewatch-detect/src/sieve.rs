//! Streaming minimum-mapping-unit sieve with `gdal_sieve.py -8 -nomask` semantics.
//!
//! Every 8-connected region of either value smaller than `mmu` pixels takes the value of
//! its largest 8-adjacent region (ties: the neighbour met first in GDAL's raster scan,
//! which compares each pixel with its up, up-left, up-right and left neighbour in that
//! order); a small region whose largest neighbour is small too follows that neighbour's
//! choice, chain-wise, to the first region of at least `mmu` pixels; cycles and regions
//! without neighbours stay as they are. Sizes are the original region sizes.
//!
//! The sweep reads rows top to bottom as runs, joins them with a union-find and emits a
//! sieved row as soon as every region touching it is decided. A small region is decided
//! a few rows after it closes, so only a handful of rows are ever held back. Memory: the
//! held rows and open regions' neighbour lists (O(width)); the label table is compacted
//! to the regions still in play whenever it doubles past 2²⁰ entries.
//! Because it is one sequential pass in raster order, its output cannot depend on how the
//! rows were computed (window size, thread count).

use crate::disjoint::DisjointSets;
use crate::runs::{encode_row, first_candidate, Run};
use std::collections::VecDeque;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Take this value (the value of the first large region at the end of the chain).
    Terminal(u8),
    /// A cycle of small regions or no neighbour at all: keep the region's own value.
    Unchanged,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    Closed,
    Decided(Outcome),
}

#[derive(Debug, Clone)]
struct Region {
    value: u8,
    size: u64,
    last_row: u32,
    state: State,
    /// (neighbour node, scan position of the first pixel pair that met it); kept only
    /// while the region may still be small.
    nbrs: Vec<(u32, u64)>,
}

enum Link {
    NoNeighbour,
    Big(u8),
    Next(u32),
}

struct Pending<P> {
    runs: Vec<(Run, u32)>,
    payload: P,
}

/// Sieve a binary mask streamed row by row. `P` is any per-row payload that must travel
/// with the row (for example the per-pixel index differences), emitted unchanged.
pub struct SieveSweep<P> {
    width: u32,
    mmu: u64,
    sets: DisjointSets,
    regions: Vec<Region>,
    prev: Vec<(Run, u32)>,
    runs: Vec<Run>,
    y: u32,
    pending: VecDeque<Pending<P>>,
    undecided: Vec<u32>,
    out_row: Vec<u8>,
    /// Compact the label table when it reaches this many entries.
    compact_at: usize,
    /// Regions whose value the sieve flipped, for the run manifest.
    pub flipped_regions: u64,
}

impl<P> SieveSweep<P> {
    pub fn new(width: usize, mmu: u64) -> Self {
        Self {
            width: width as u32,
            mmu,
            sets: DisjointSets::default(),
            regions: Vec::new(),
            prev: Vec::new(),
            runs: Vec::new(),
            y: 0,
            pending: VecDeque::new(),
            undecided: Vec::new(),
            out_row: vec![0; width],
            compact_at: 1 << 20,
            flipped_regions: 0,
        }
    }

    /// Compact the label table from `n` entries on (tests use tiny values).
    pub fn with_compaction_at(mut self, n: usize) -> Self {
        self.compact_at = n.max(1);
        self
    }

    /// Renumber the regions still referenced (open ones, held rows, undecided ones and
    /// their neighbours) densely and drop the rest, so the table tracks the regions in
    /// play instead of every region the scene ever had. Decisions do not depend on label
    /// numbers, so the output is unchanged.
    fn compact(&mut self) {
        let mut map: std::collections::HashMap<u32, u32> = std::collections::HashMap::new();
        let mut order: Vec<u32> = Vec::new();
        let visit =
            |root: u32, map: &mut std::collections::HashMap<u32, u32>, order: &mut Vec<u32>| {
                map.entry(root).or_insert_with(|| {
                    order.push(root);
                    (order.len() - 1) as u32
                });
            };
        let mut labels: Vec<u32> = self.prev.iter().map(|&(_, l)| l).collect();
        for p in &self.pending {
            labels.extend(p.runs.iter().map(|&(_, l)| l));
        }
        labels.extend(self.undecided.iter().copied());
        for l in labels {
            let r = self.find(l);
            visit(r, &mut map, &mut order);
        }
        // Neighbour lists of the regions kept point at regions that must be kept too.
        let mut i = 0;
        while i < order.len() {
            let nbrs: Vec<u32> = self.regions[order[i] as usize]
                .nbrs
                .iter()
                .map(|&(c, _)| c)
                .collect();
            for c in nbrs {
                let r = self.find(c);
                visit(r, &mut map, &mut order);
            }
            i += 1;
        }
        let mut regions = Vec::with_capacity(order.len());
        let mut sets = DisjointSets::default();
        for &old in &order {
            let mut r = std::mem::replace(
                &mut self.regions[old as usize],
                Region {
                    value: 0,
                    size: 0,
                    last_row: 0,
                    state: State::Closed,
                    nbrs: Vec::new(),
                },
            );
            for n in r.nbrs.iter_mut() {
                let root = self.find(n.0);
                n.0 = map[&root];
            }
            regions.push(r);
            sets.add();
        }
        let remap = |this: &mut Self, l: u32| {
            let r = this.find(l);
            map[&r]
        };
        let mut prev = std::mem::take(&mut self.prev);
        for run in prev.iter_mut() {
            run.1 = remap(self, run.1);
        }
        let mut pending = std::mem::take(&mut self.pending);
        for p in pending.iter_mut() {
            for run in p.runs.iter_mut() {
                run.1 = remap(self, run.1);
            }
        }
        let undecided: Vec<u32> = std::mem::take(&mut self.undecided)
            .into_iter()
            .map(|l| remap(self, l))
            .collect();
        self.prev = prev;
        self.pending = pending;
        self.undecided = undecided;
        self.regions = regions;
        self.sets = sets;
        self.compact_at = self.compact_at.max(2 * self.regions.len());
    }

    /// Rows pushed but not yet emitted (bounded in practice by a few rows).
    pub fn held_rows(&self) -> usize {
        self.pending.len()
    }

    fn find(&mut self, x: u32) -> u32 {
        self.sets.find(x)
    }

    fn new_region(&mut self, value: u8) -> u32 {
        let id = self.sets.add();
        self.regions.push(Region {
            value,
            size: 0,
            last_row: self.y,
            state: State::Open,
            nbrs: Vec::new(),
        });
        id
    }

    fn union(&mut self, a: u32, b: u32) -> u32 {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return ra;
        }
        let (root, child) = if ra < rb { (ra, rb) } else { (rb, ra) };
        self.sets.link(child, root);
        let c = std::mem::take(&mut self.regions[child as usize].nbrs);
        let (csize, clast) = (
            self.regions[child as usize].size,
            self.regions[child as usize].last_row,
        );
        let r = &mut self.regions[root as usize];
        r.size += csize;
        r.last_row = r.last_row.max(clast);
        if r.size < self.mmu {
            r.nbrs.extend(c);
        } else {
            r.nbrs = Vec::new();
        }
        root
    }

    fn add_size(&mut self, root: u32, n: u64) {
        let r = &mut self.regions[root as usize];
        r.size += n;
        if r.size >= self.mmu && !r.nbrs.is_empty() {
            r.nbrs = Vec::new();
        }
    }

    fn record(&mut self, owner: u32, cand: u32, pos: u64) {
        let root = self.find(owner);
        let r = &mut self.regions[root as usize];
        if r.size < self.mmu {
            r.nbrs.push((cand, pos));
        }
    }

    /// Feed the next row of the mask (0 = no change, anything else = change).
    pub fn push_row(&mut self, mask: &[u8], payload: P, emit: &mut impl FnMut(&[u8], P)) {
        assert_eq!(mask.len(), self.width as usize, "row width");
        if self.mmu <= 1 {
            // No sieve, but the same 0/1 contract as the sieved path.
            self.out_row
                .iter_mut()
                .zip(mask)
                .for_each(|(o, &m)| *o = (m != 0) as u8);
            emit(&self.out_row, payload);
            self.y += 1;
            return;
        }
        let mut runs = std::mem::take(&mut self.runs);
        encode_row(mask, &mut runs);
        let prev = std::mem::take(&mut self.prev);
        let mut cur: Vec<(Run, u32)> = Vec::with_capacity(runs.len());
        let y = self.y as u64;
        let w = self.width as u64;
        let mut j0 = 0;
        for r in runs.iter() {
            j0 = first_candidate(&prev, j0, r.start);
            let mut label: Option<u32> = None;
            let mut j = j0;
            while j < prev.len() && prev[j].0.start <= r.end {
                if prev[j].0.value == r.value {
                    label = Some(match label {
                        None => self.find(prev[j].1),
                        Some(l) => self.union(l, prev[j].1),
                    });
                }
                j += 1;
            }
            let label = match label {
                Some(l) => l,
                None => self.new_region(r.value),
            };
            self.add_size(label, (r.end - r.start) as u64);
            // Opposite-valued neighbours above: pairs first met at the smallest scan position.
            let mut j = j0;
            while j < prev.len() && prev[j].0.start <= r.end {
                let (s, sl) = prev[j];
                if s.value != r.value {
                    if let Some(pos) = vertical_pos(y, w, r, &s) {
                        self.record(label, sl, pos);
                        self.record(sl, label, pos);
                    }
                }
                j += 1;
            }
            if let Some(&(_, left)) = cur.last() {
                let pos = (y * w + r.start as u64) * 4 + 3;
                self.record(label, left, pos);
                self.record(left, label, pos);
            }
            cur.push((*r, label));
        }
        for &(_, l) in cur.iter() {
            let root = self.find(l);
            self.regions[root as usize].last_row = self.y;
        }
        for &(_, l) in prev.iter() {
            let root = self.find(l);
            if self.regions[root as usize].last_row < self.y {
                self.close(root);
            }
        }
        self.runs = runs;
        self.prev = cur.clone();
        self.pending.push_back(Pending { runs: cur, payload });
        self.y += 1;
        self.decide_and_emit(emit);
        if self.regions.len() >= self.compact_at {
            self.compact();
        }
    }

    /// Flush: close every region and emit all held rows.
    pub fn finish(&mut self, emit: &mut impl FnMut(&[u8], P)) {
        let prev = std::mem::take(&mut self.prev);
        for &(_, l) in prev.iter() {
            let root = self.find(l);
            self.close(root);
        }
        self.decide_and_emit(emit);
        debug_assert!(self.pending.is_empty());
    }

    fn close(&mut self, root: u32) {
        let r = &mut self.regions[root as usize];
        if r.state != State::Open {
            return;
        }
        if r.size >= self.mmu {
            r.state = State::Decided(Outcome::Unchanged);
            r.nbrs = Vec::new();
        } else {
            r.state = State::Closed;
            self.undecided.push(root);
        }
    }

    fn link(&mut self, id: u32) -> Option<Link> {
        let nbrs = std::mem::take(&mut self.regions[id as usize].nbrs);
        let mut resolved: Vec<(u32, u64)> = nbrs.iter().map(|&(c, p)| (self.find(c), p)).collect();
        self.regions[id as usize].nbrs = nbrs;
        resolved.sort_unstable();
        let value = self.regions[id as usize].value;
        let (mut any_big, mut any_open) = (false, false);
        let mut best: Option<(u64, u64, u32)> = None;
        let mut last = u32::MAX;
        for (root, pos) in resolved {
            if root == last || root == id {
                continue; // sorted: the first entry of a root has its smallest position
            }
            last = root;
            let r = &self.regions[root as usize];
            if r.size >= self.mmu {
                any_big = true;
            } else if r.state == State::Open {
                any_open = true;
            } else {
                let better = match best {
                    None => true,
                    Some((bs, bp, _)) => r.size > bs || (r.size == bs && pos < bp),
                };
                if better {
                    best = Some((r.size, pos, root));
                }
            }
        }
        if any_big {
            return Some(Link::Big(1 - value));
        }
        if any_open {
            return None;
        }
        Some(match best {
            None => Link::NoNeighbour,
            Some((_, _, root)) => Link::Next(root),
        })
    }

    fn resolve(&mut self, id: u32) -> Option<Outcome> {
        let mut visited = vec![id];
        let mut cur = id;
        loop {
            if cur != id {
                if let State::Decided(o) = self.regions[cur as usize].state {
                    return Some(o);
                }
            }
            match self.link(cur)? {
                Link::NoNeighbour => return Some(Outcome::Unchanged),
                Link::Big(v) => return Some(Outcome::Terminal(v)),
                Link::Next(n) => {
                    if visited.contains(&n) {
                        return Some(Outcome::Unchanged);
                    }
                    visited.push(n);
                    cur = n;
                }
            }
        }
    }

    fn decide_and_emit(&mut self, emit: &mut impl FnMut(&[u8], P)) {
        loop {
            let mut progress = false;
            let list = std::mem::take(&mut self.undecided);
            let mut keep = Vec::new();
            for id in list {
                match self.resolve(id) {
                    Some(o) => {
                        let r = &mut self.regions[id as usize];
                        if matches!(o, Outcome::Terminal(v) if v != r.value) {
                            self.flipped_regions += 1;
                        }
                        r.state = State::Decided(o);
                        // Chains through this region now stop at its outcome.
                        r.nbrs = Vec::new();
                        progress = true;
                    }
                    None => keep.push(id),
                }
            }
            self.undecided = keep;
            if !progress || self.undecided.is_empty() {
                break;
            }
        }
        while let Some(front) = self.pending.front() {
            let runs = front.runs.clone();
            let mut ready = true;
            for (run, l) in runs.iter() {
                let root = self.find(*l);
                let r = &self.regions[root as usize];
                let v = if r.size >= self.mmu {
                    r.value
                } else {
                    match r.state {
                        State::Decided(Outcome::Terminal(v)) => v,
                        State::Decided(Outcome::Unchanged) => r.value,
                        _ => {
                            ready = false;
                            break;
                        }
                    }
                };
                self.out_row[run.start as usize..run.end as usize].fill(v);
            }
            if !ready {
                break;
            }
            let p = self.pending.pop_front().unwrap();
            emit(&self.out_row, p.payload);
        }
    }
}

/// Smallest GDAL scan position `(y*w + x)*4 + k` of a pixel `x` of run `r` (row `y`)
/// whose neighbour `k` (0 up, 1 up-left, 2 up-right) lies in run `s` of row `y-1`.
fn vertical_pos(y: u64, w: u64, r: &Run, s: &Run) -> Option<u64> {
    let (a, b) = (r.start as i64, r.end as i64);
    let (c, d) = (s.start as i64, s.end as i64);
    let mut best: Option<u64> = None;
    for (k, lo, hi) in [(0u64, c, d), (1, c + 1, d + 1), (2, c - 1, d - 1)] {
        let x0 = a.max(lo);
        if x0 < b.min(hi) {
            let pos = (y * w + x0 as u64) * 4 + k;
            best = Some(best.map_or(pos, |p| p.min(pos)));
        }
    }
    best
}

/// Sieve a whole in-memory mask (tests and small rasters).
pub fn sieve_mask(mask: &[u8], width: usize, mmu: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(mask.len());
    let mut s = SieveSweep::<()>::new(width, mmu);
    let mut emit = |row: &[u8], _: ()| out.extend_from_slice(row);
    for row in mask.chunks(width) {
        s.push_row(row, (), &mut emit);
    }
    s.finish(&mut emit);
    out
}
