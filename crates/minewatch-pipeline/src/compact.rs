//! Window outputs in the form the sweep consumes and tile objects store: per pixel one
//! state byte (change, valid, values kept), and the statistic channels' values only for
//! the pixels that can end in a patch. A full window output of the automatic method is
//! 30 bytes a pixel (four index channels, score, cloud and shadow flags, two masks); a
//! window row of a 16384 px wide scene is 245 MB of it, two or three of which wait for
//! the sweep at any time. The compact form is a small fraction of that.

use crate::detect_run::WindowOut;
use minewatch_core::Window;

pub(crate) const CHANGE: u8 = 1;
pub(crate) const VALID: u8 = 2;
pub(crate) const KEPT: u8 = 4;

/// One window's kernel output, compact.
#[derive(Debug, Clone, PartialEq)]
pub struct CompactWindow {
    pub window: Window,
    /// Per pixel, raster order: [`CHANGE`] | [`VALID`] | [`KEPT`].
    pub state: Vec<u8>,
    /// The kept pixels' channel values, pixel by pixel in raster order.
    pub values: Vec<f32>,
    /// Kept pixels before each row of the window (height + 1 entries).
    pub row_start: Vec<u32>,
    pub n_ch: usize,
    pub valid: u64,
    pub flagged: u64,
}

impl CompactWindow {
    /// Compact `o`, keeping values where the sieve (threshold `sieve_px`, 0 = none) can
    /// still put a pixel in a patch: valid pixels that are flagged, or that may lie in a
    /// region of unflagged pixels smaller than the threshold. Nothing else can end in a
    /// patch: the sieve turns a region of zeros into change only when the whole region is
    /// smaller than the threshold, and a region's runs inside one window are never longer
    /// than its runs in the scene. Deciding per window (not per tile) lets a worker compact
    /// each window as soon as it is computed.
    pub fn new(o: &WindowOut, sieve_px: usize) -> Self {
        let (w, h) = (o.window.width, o.window.height);
        let n_ch = o.channels.len();
        SCRATCH.with(|s| {
            let s = &mut *s.borrow_mut();
            let (mut state, mut values, mut row_start) = spare_buffers();
            state.reserve(w * h);
            if sieve_px == 0 {
                // No sieve: only flagged pixels can be in a patch.
                state.extend(o.mask.iter().zip(&o.valid_mask).map(|(&m, &v)| {
                    let (m, v) = ((m != 0) as u8, (v != 0) as u8);
                    (m * CHANGE) | (v * VALID) | ((m & v) * KEPT)
                }));
            } else {
                small_zero_candidates_into(&o.mask, w, h, sieve_px, &mut s.small, &mut s.up);
                state.extend(o.mask.iter().zip(&o.valid_mask).zip(&s.small).map(
                    |((&m, &v), &z)| {
                        let (m, v) = ((m != 0) as u8, (v != 0) as u8);
                        (m * CHANGE) | (v * VALID) | ((v & (m | z)) * KEPT)
                    },
                ));
            }
            let chs: Vec<&[f32]> = o.channels.iter().map(|c| &c[..w * h]).collect();
            row_start.reserve(h + 1);
            let mut kept = 0u32;
            row_start.push(kept);
            for (y, row) in state.chunks(w.max(1)).enumerate() {
                for (x, _) in row.iter().enumerate().filter(|(_, &s)| s & KEPT != 0) {
                    let i = y * w + x;
                    values.extend(chs.iter().map(|c| c[i]));
                    kept += 1;
                }
                row_start.push(kept);
            }
            CompactWindow {
                window: o.window,
                state,
                values,
                row_start,
                n_ch,
                valid: o.valid,
                flagged: o.flagged,
            }
        })
    }

    /// From the state bytes and the kept values (pixel by pixel); counts are derived
    /// (what a tile decode must agree with).
    #[cfg(test)]
    pub(crate) fn from_parts(
        window: Window,
        state: Vec<u8>,
        values: Vec<f32>,
        n_ch: usize,
    ) -> Self {
        let w = window.width.max(1);
        let mut row_start = Vec::with_capacity(window.height + 1);
        let (mut kept, mut valid, mut flagged) = (0u32, 0u64, 0u64);
        row_start.push(0);
        for row in state.chunks(w) {
            for &s in row {
                kept += (s & KEPT != 0) as u32;
                valid += (s & VALID != 0) as u64;
                flagged += (s & CHANGE != 0) as u64;
            }
            row_start.push(kept);
        }
        CompactWindow {
            window,
            state,
            values,
            row_start,
            n_ch,
            valid,
            flagged,
        }
    }

    /// Number of pixels that keep their values.
    pub fn kept(&self) -> usize {
        self.row_start.last().copied().unwrap_or(0) as usize
    }

    /// Values of channel `c` for the kept pixels, in raster order.
    pub fn channel(&self, c: usize) -> impl Iterator<Item = f32> + '_ {
        self.values
            .iter()
            .skip(c)
            .step_by(self.n_ch.max(1))
            .copied()
    }

    /// Write row `r` of the window into a scene-wide pixel row: change and valid masks, and
    /// the kept pixels' channel values into `row`. Pixels without kept values stay 0 (no
    /// patch can hold them) as long as `row` was cleared before the first window of the row.
    pub fn stitch_row(
        &self,
        r: usize,
        mask_row: &mut [u8],
        valid_row: &mut [u8],
        row: &mut RowValues,
    ) {
        let (c0, ww) = (self.window.col, self.window.width);
        let st = &self.state[r * ww..(r + 1) * ww];
        for ((m, v), &s) in mask_row[c0..c0 + ww]
            .iter_mut()
            .zip(&mut valid_row[c0..c0 + ww])
            .zip(st)
        {
            *m = s & CHANGE;
            *v = (s & VALID) >> 1;
        }
        let width = row.width;
        let mut k = self.row_start[r] as usize * self.n_ch;
        for (x, _) in st.iter().enumerate().filter(|(_, &s)| s & KEPT != 0) {
            let col = c0 + x;
            for c in 0..self.n_ch {
                row.vals[c * width + col] = self.values[k + c];
            }
            row.written.push(col as u32);
            k += self.n_ch;
        }
    }
}

/// One scene-wide pixel row of channel values as the sweep consumes it (`vals`:
/// channel-major rows of `width`), 0 wherever no kept value was stitched. The buffer goes
/// round from row to row, and `clear` zeroes only the pixels the last row wrote: clearing
/// whole rows (channels × width f32 per pixel row, ~0.3 MB at 16384 px) was a tenth of the
/// sweep thread's time in a merge, where that thread sets the pace.
pub struct RowValues {
    pub vals: Vec<f32>,
    written: Vec<u32>,
    n_ch: usize,
    width: usize,
}

impl RowValues {
    pub fn new(n_ch: usize, width: usize) -> Self {
        RowValues {
            vals: vec![0.0; n_ch * width],
            written: Vec::new(),
            n_ch,
            width,
        }
    }

    /// All values back to 0.
    pub fn clear(&mut self) {
        for &x in &self.written {
            for c in 0..self.n_ch {
                self.vals[c * self.width + x as usize] = 0.0;
            }
        }
        self.written.clear();
    }
}

/// Buffers of compact windows the sweep has stitched, for the next windows: a fresh
/// window-sized buffer costs a page fault and a page clear per 4 KiB, which in a merge
/// (windows decoded from tiles as fast as the sweep takes them) was 15 % of its CPU.
type Buffers = (Vec<u8>, Vec<f32>, Vec<u32>);
static SPARE: std::sync::Mutex<Vec<Buffers>> = std::sync::Mutex::new(Vec::new());
/// Two window rows of a wide scene in flight; more are dropped.
const SPARE_MAX: usize = 64;

/// Empty buffers for a compact window (state, values, row starts), recycled when there
/// are any.
pub(crate) fn spare_buffers() -> Buffers {
    let spare = SPARE.lock().unwrap_or_else(|p| p.into_inner()).pop();
    let (mut s, mut v, mut r) = spare.unwrap_or_default();
    s.clear();
    v.clear();
    r.clear();
    (s, v, r)
}

/// Free the recycled buffers (a pair is done: later stages need the memory).
pub(crate) fn drop_spare_buffers() {
    SPARE.lock().unwrap_or_else(|p| p.into_inner()).clear();
}

impl CompactWindow {
    /// Hand the buffers back once the window is stitched.
    pub(crate) fn recycle(self) {
        let mut spare = SPARE.lock().unwrap_or_else(|p| p.into_inner());
        if spare.len() < SPARE_MAX {
            spare.push((self.state, self.values, self.row_start));
        }
    }
}

/// Per-thread buffers of the compaction, reused from window to window.
#[derive(Default)]
struct Scratch {
    small: Vec<u8>,
    up: Vec<u16>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = Default::default();
}

/// Free this thread's compaction buffers (when a pair's windows are done).
pub(crate) fn release_thread_buffers() {
    SCRATCH.with(|s| *s.borrow_mut() = Scratch::default());
}

/// Zeros that may belong to a region of fewer than `s` zeros (8-connected): those whose
/// run of zeros along the row and along the column are both shorter than `s`. A region
/// smaller than `s` has every run shorter than `s`, so this is a superset, found in four
/// linear passes (an exact labelling costs ten times more and saves little).
#[cfg(test)]
fn small_zero_candidates(m: &[u8], w: usize, h: usize, s: usize) -> Vec<u8> {
    let (mut out, mut up) = (Vec::new(), Vec::new());
    small_zero_candidates_into(m, w, h, s, &mut out, &mut up);
    out
}

/// `small_zero_candidates` into reused buffers (`up` is scratch).
fn small_zero_candidates_into(
    m: &[u8],
    w: usize,
    h: usize,
    s: usize,
    out: &mut Vec<u8>,
    up: &mut Vec<u16>,
) {
    out.clear();
    out.resize(w * h, 0);
    // Along rows.
    for y in 0..h {
        let (row, o) = (&m[y * w..(y + 1) * w], &mut out[y * w..(y + 1) * w]);
        let mut x = 0;
        while x < w {
            match row[x..].iter().position(|&v| v == 0) {
                None => break,
                Some(off) => x += off,
            }
            let len = row[x..].iter().position(|&v| v != 0).unwrap_or(w - x);
            if len < s {
                o[x..x + len].fill(1);
            }
            x += len;
        }
    }
    // Along columns: run lengths from above, then from below.
    let cap = s.min(u16::MAX as usize - 1) as u16;
    up.clear();
    up.resize(w * h, 0);
    for y in 0..h {
        let mrow = &m[y * w..(y + 1) * w];
        if y == 0 {
            for (u, &v) in up[..w].iter_mut().zip(mrow) {
                *u = (v == 0) as u16;
            }
        } else {
            let (done, rest) = up.split_at_mut(y * w);
            let above = &done[(y - 1) * w..];
            // Branch-free so that it vectorises (cap < u16::MAX, so `a + 1` cannot wrap).
            for ((u, &a), &v) in rest[..w].iter_mut().zip(above).zip(mrow) {
                *u = (a + 1).min(cap) * (v == 0) as u16;
            }
        }
    }
    let mut down = vec![0u16; w];
    // Run lengths are capped at `cap` < s, so u + d fits in u32 and the test is exact.
    let s32 = s.min(u32::MAX as usize) as u32;
    for y in (0..h).rev() {
        let row = y * w..(y + 1) * w;
        let (mrow, urow, orow) = (&m[row.clone()], &up[row.clone()], &mut out[row]);
        // Equal lengths up front, so the loop has no bounds checks and vectorises.
        let (mrow, urow, orow, down) = (&mrow[..w], &urow[..w], &mut orow[..w], &mut down[..w]);
        for x in 0..w {
            let z = (mrow[x] == 0) as u16;
            let d = (down[x] + 1).min(cap) * z;
            down[x] = d;
            // The column's run through this pixel is u + d - 1 long: keep it if under s.
            orow[x] &= ((urow[x] as u32 + d as u32) <= s32) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sizes of 8-connected zero regions by flood fill (the reference).
    fn zero_region_sizes(m: &[u8], w: usize, h: usize) -> Vec<usize> {
        let mut out = vec![0; w * h];
        for start in 0..w * h {
            if m[start] != 0 || out[start] != 0 {
                continue;
            }
            let mut seen = vec![start];
            let mut stack = vec![start];
            let mut mark = vec![false; w * h];
            mark[start] = true;
            while let Some(i) = stack.pop() {
                let (x, y) = (i % w, i / w);
                for yy in y.saturating_sub(1)..(y + 2).min(h) {
                    for xx in x.saturating_sub(1)..(x + 2).min(w) {
                        let j = yy * w + xx;
                        if m[j] == 0 && !mark[j] {
                            mark[j] = true;
                            seen.push(j);
                            stack.push(j);
                        }
                    }
                }
            }
            for &i in &seen {
                out[i] = seen.len();
            }
        }
        out
    }

    #[test]
    fn candidates_cover_every_small_zero_region() {
        let (w, h) = (53, 37);
        for (seed, ones) in [(1u64, 3u64), (2, 5), (3, 7), (4, 9)] {
            let mut st = seed;
            let m: Vec<u8> = (0..w * h)
                .map(|_| {
                    st = st
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    ((st >> 33) % 10 < ones) as u8
                })
                .collect();
            let sizes = zero_region_sizes(&m, w, h);
            for s in [1, 4, 10] {
                let c = small_zero_candidates(&m, w, h, s);
                for i in 0..w * h {
                    if m[i] != 0 {
                        assert_eq!(c[i], 0);
                    } else if sizes[i] < s {
                        assert_eq!(
                            c[i], 1,
                            "seed {seed}, s {s}, pixel {i} in a region of {}",
                            sizes[i]
                        );
                    }
                }
                // And it is not everything: long runs are excluded.
                if ones <= 3 && s == 4 {
                    assert!(
                        c.iter().filter(|&&v| v == 1).count()
                            < m.iter().filter(|&&v| v == 0).count() / 2
                    );
                }
            }
        }
    }

    #[test]
    fn stitched_rows_hold_the_masks_and_every_kept_value() {
        let window = Window {
            col: 3,
            row: 0,
            width: 7,
            height: 5,
        };
        let n = window.len();
        let mask: Vec<u8> = (0..n).map(|i| (i % 3 == 0) as u8).collect();
        let valid: Vec<u8> = (0..n).map(|i| (i % 11 != 5) as u8).collect();
        let channels: Vec<Vec<f32>> = (0..2)
            .map(|c| (0..n).map(|i| (i * 10 + c) as f32).collect())
            .collect();
        let o = WindowOut {
            window,
            mask: mask.clone(),
            valid_mask: valid.clone(),
            channels: channels.clone(),
            valid: valid.iter().map(|&v| v as u64).sum(),
            flagged: mask.iter().map(|&v| v as u64).sum(),
        };
        let cw = CompactWindow::new(&o, 4);
        // The state bytes agree with the counts (what a tile decode derives from them).
        let again = CompactWindow::from_parts(window, cw.state.clone(), cw.values.clone(), 2);
        assert_eq!(again, cw);
        // Without statistic channels the kept pixels are still counted.
        let bare = WindowOut {
            channels: Vec::new(),
            ..o.clone()
        };
        let cb = CompactWindow::new(&bare, 4);
        assert_eq!(cb.kept(), cw.kept());
        assert_eq!(
            cb,
            CompactWindow::from_parts(window, cb.state.clone(), Vec::new(), 0)
        );
        assert!(cw.kept() < n, "some pixels lose their values");
        let width = 12;
        let (mut m, mut v) = (vec![9u8; width], vec![9u8; width]);
        let mut row = RowValues::new(2, width);
        // Dirty the buffer where a previous row could have written: `clear` must undo it.
        row.vals.fill(-1.0);
        row.written = (0..width as u32).collect();
        for r in 0..window.height {
            row.clear();
            assert!(row.vals.iter().all(|&x| x == 0.0), "row {r}: cleared");
            cw.stitch_row(r, &mut m, &mut v, &mut row);
            for x in 0..window.width {
                let i = r * window.width + x;
                assert_eq!(m[3 + x], mask[i]);
                assert_eq!(v[3 + x], valid[i]);
                for (c, ch) in channels.iter().enumerate() {
                    let got = row.vals[c * width + 3 + x];
                    if mask[i] & valid[i] != 0 {
                        assert_eq!(got, ch[i], "flagged valid pixels keep values");
                    } else {
                        assert!(got == 0.0 || got == ch[i]);
                    }
                }
            }
            // Outside the window's columns nothing is touched.
            assert_eq!((m[0], v[0], row.vals[width - 1]), (9, 9, 0.0));
        }
    }
}
