//! Streaming 8-connected labelling of the sieved mask into patches, with per-patch pixel
//! runs and statistics of the per-pixel channels (index differences).
//!
//! Rows arrive top to bottom; a patch is handed out as soon as a row no longer touches
//! it, so memory holds the open patches' runs plus 12 bytes per label ever created.
//! Statistics are summed within this one sequential pass (a union adds the partial sums
//! of the parts it joins, in an order fixed by the data), so they are the same for any
//! window size or thread count.

use crate::disjoint::DisjointSets;
use crate::runs::{encode_row, first_candidate, Run};

/// A finished patch in pixel space.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPixels {
    /// First pixel in raster order (row, col).
    pub first: (u32, u32),
    /// Runs `(row, start, end)` sorted by row, then start.
    pub runs: Vec<(u32, u32, u32)>,
    pub pixels: u64,
    /// min col, min row, max col (exclusive), max row (exclusive).
    pub bbox: (u32, u32, u32, u32),
    /// Per channel: (sum of finite values, count of finite values, max of finite values).
    pub channels: Vec<(f64, u64, f32)>,
}

impl PatchPixels {
    pub fn mean(&self, c: usize) -> f64 {
        let (s, n, _) = self.channels[c];
        if n == 0 {
            f64::NAN
        } else {
            s / n as f64
        }
    }
}

struct Acc {
    patch: PatchPixels,
    last_row: u32,
}

/// Label a sieved mask streamed row by row. `channels` values per row are laid out
/// channel-major: `row_values[c * width + x]`.
pub struct PatchSweep {
    width: u32,
    n_channels: usize,
    min_pixels: u64,
    sets: DisjointSets,
    accs: Vec<Option<Box<Acc>>>,
    prev: Vec<(Run, u32)>,
    runs: Vec<Run>,
    y: u32,
    /// Patches dropped for being smaller than `min_pixels`.
    pub dropped: u64,
}

impl PatchSweep {
    /// `min_pixels` drops smaller patches when they close (the "objects" minimum mapping
    /// unit; 0 or 1 keeps everything).
    pub fn new(width: usize, n_channels: usize, min_pixels: u64) -> Self {
        Self {
            width: width as u32,
            n_channels,
            min_pixels,
            sets: DisjointSets::default(),
            accs: Vec::new(),
            prev: Vec::new(),
            runs: Vec::new(),
            y: 0,
            dropped: 0,
        }
    }

    fn find(&mut self, x: u32) -> u32 {
        self.sets.find(x)
    }

    fn union(&mut self, a: u32, b: u32) -> u32 {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return ra;
        }
        // Keep the bigger run list in place and move the smaller one: linear total cost.
        let la = self.accs[ra as usize]
            .as_ref()
            .map_or(0, |x| x.patch.runs.len());
        let lb = self.accs[rb as usize]
            .as_ref()
            .map_or(0, |x| x.patch.runs.len());
        let (root, child) = if la >= lb { (ra, rb) } else { (rb, ra) };
        self.sets.link(child, root);
        let c = self.accs[child as usize].take().expect("child accumulator");
        let r = self.accs[root as usize].as_mut().expect("root accumulator");
        let (p, q) = (&mut r.patch, c.patch);
        p.first = p.first.min(q.first);
        p.runs.extend(q.runs);
        p.pixels += q.pixels;
        p.bbox = (
            p.bbox.0.min(q.bbox.0),
            p.bbox.1.min(q.bbox.1),
            p.bbox.2.max(q.bbox.2),
            p.bbox.3.max(q.bbox.3),
        );
        for (a, b) in p.channels.iter_mut().zip(q.channels) {
            a.0 += b.0;
            a.1 += b.1;
            if b.1 > 0 && (a.1 == b.1 || b.2 > a.2) {
                a.2 = b.2;
            }
        }
        r.last_row = r.last_row.max(c.last_row);
        root
    }

    /// Feed the next sieved row and its channel values; `emit` receives closed patches.
    pub fn push_row(&mut self, mask: &[u8], values: &[f32], emit: &mut impl FnMut(PatchPixels)) {
        let w = self.width as usize;
        assert_eq!(mask.len(), w, "row width");
        assert_eq!(values.len(), w * self.n_channels, "channel row length");
        let mut runs = std::mem::take(&mut self.runs);
        encode_row(mask, &mut runs);
        let prev = std::mem::take(&mut self.prev);
        let mut cur: Vec<(Run, u32)> = Vec::new();
        let mut j0 = 0;
        for r in runs.iter().filter(|r| r.value == 1) {
            j0 = first_candidate(&prev, j0, r.start);
            let mut label: Option<u32> = None;
            let mut j = j0;
            while j < prev.len() && prev[j].0.start <= r.end {
                label = Some(match label {
                    None => self.find(prev[j].1),
                    Some(l) => self.union(l, prev[j].1),
                });
                j += 1;
            }
            let label = match label {
                Some(l) => l,
                None => {
                    let id = self.sets.add();
                    self.accs.push(Some(Box::new(Acc {
                        patch: PatchPixels {
                            first: (self.y, r.start),
                            runs: Vec::new(),
                            pixels: 0,
                            bbox: (r.start, self.y, r.end, self.y + 1),
                            channels: vec![(0.0, 0, f32::NAN); self.n_channels],
                        },
                        last_row: self.y,
                    })));
                    id
                }
            };
            let acc = self.accs[label as usize]
                .as_mut()
                .expect("root accumulator");
            acc.last_row = self.y;
            let p = &mut acc.patch;
            p.runs.push((self.y, r.start, r.end));
            p.pixels += (r.end - r.start) as u64;
            p.bbox = (
                p.bbox.0.min(r.start),
                p.bbox.1.min(self.y),
                p.bbox.2.max(r.end),
                p.bbox.3.max(self.y + 1),
            );
            for (c, ch) in p.channels.iter_mut().enumerate() {
                let vals = &values[c * w + r.start as usize..c * w + r.end as usize];
                for &v in vals {
                    if v.is_finite() {
                        ch.0 += v as f64;
                        ch.1 += 1;
                        if ch.1 == 1 || v > ch.2 {
                            ch.2 = v;
                        }
                    }
                }
            }
            cur.push((*r, label));
        }
        // Labels of this row point at current roots; a root whose last row is the previous
        // one has closed.
        for &(_, l) in prev.iter() {
            let root = self.find(l);
            if let Some(acc) = self.accs[root as usize].as_ref() {
                if acc.last_row < self.y {
                    let acc = self.accs[root as usize].take().unwrap();
                    self.hand_out(acc.patch, emit);
                }
            }
        }
        self.runs = runs;
        self.prev = cur;
        self.y += 1;
    }

    fn hand_out(&mut self, mut p: PatchPixels, emit: &mut impl FnMut(PatchPixels)) {
        if p.pixels < self.min_pixels {
            self.dropped += 1;
            return;
        }
        p.runs.sort_unstable();
        emit(p);
    }

    /// Close the patches touching the last row.
    pub fn finish(&mut self, emit: &mut impl FnMut(PatchPixels)) {
        let prev = std::mem::take(&mut self.prev);
        for &(_, l) in prev.iter() {
            let root = self.find(l);
            if let Some(acc) = self.accs[root as usize].take() {
                self.hand_out(acc.patch, emit);
            }
        }
    }
}

/// Label a whole in-memory mask without channels (tests and small rasters).
pub fn label_mask(mask: &[u8], width: usize) -> Vec<PatchPixels> {
    let mut out = Vec::new();
    let mut s = PatchSweep::new(width, 0, 0);
    let mut emit = |p: PatchPixels| out.push(p);
    for row in mask.chunks(width) {
        s.push_row(row, &[], &mut emit);
    }
    s.finish(&mut emit);
    out.sort_by_key(|p| p.first);
    out
}
