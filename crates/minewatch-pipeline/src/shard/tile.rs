//! Tile objects: one file per tile holding, for every date pair, the kernel's output the
//! sieve and labeller consume — the change mask, the validity mask and the statistic
//! channels — compactly and checksummed.
//!
//! Layout: `MWTILE1\n`, a little-endian u32 header length, the JSON header (plan hash,
//! tile id, channel count, and per pair the windows with their byte ranges in the body),
//! the body, and the sha256 of everything before it. Per window the body holds one
//! run-length-coded state byte per pixel (bit 0 change, bit 1 valid, bit 2 values kept)
//! and then, channel by channel, the f32 values of the kept pixels. Values are kept only
//! where they can reach a patch: valid pixels within `keep_radius` of a changed pixel or
//! of the tile's edge (the sieve fills only holes smaller than the minimum mapping unit,
//! and every pixel of such a hole lies within that many pixels of change; at the tile
//! edge the neighbours are in another tile, so the edge band is kept whole).

use crate::detect_run::WindowOut;
use crate::error::PipelineError;
use minewatch_core::Window;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;

pub const MAGIC: &[u8; 8] = b"MWTILE1\n";
const CHANGE: u8 = 1;
const VALID: u8 = 2;
const KEPT: u8 = 4;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowEntry {
    pub col: usize,
    pub row: usize,
    pub width: usize,
    pub height: usize,
    pub offset: u64,
    pub len: u64,
}

impl WindowEntry {
    pub fn window(&self) -> Window {
        Window {
            col: self.col,
            row: self.row,
            width: self.width,
            height: self.height,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TileHeader {
    pub plan_hash: String,
    pub tile: String,
    pub channels: usize,
    /// Per date pair, the tile's windows in raster order.
    pub pairs: Vec<Vec<WindowEntry>>,
}

/// A read and verified tile object.
pub struct TileObject {
    pub header: TileHeader,
    body: Vec<u8>,
}

/// Chebyshev dilation by `r` pixels of a `w` × `h` plane (separable: rows, then columns).
pub fn dilate(m: &[u8], w: usize, h: usize, r: usize) -> Vec<u8> {
    let mut hz = vec![0u8; w * h];
    for y in 0..h {
        let (row, out) = (&m[y * w..(y + 1) * w], &mut hz[y * w..(y + 1) * w]);
        let mut last: Option<usize> = None;
        for x in 0..w {
            if row[x] != 0 {
                last = Some(x);
            }
            if last.is_some_and(|l| x - l <= r) {
                out[x] = 1;
            }
        }
        let mut next: Option<usize> = None;
        for x in (0..w).rev() {
            if row[x] != 0 {
                next = Some(x);
            }
            if next.is_some_and(|n| n - x <= r) {
                out[x] = 1;
            }
        }
    }
    let mut out = vec![0u8; w * h];
    let mut last = vec![usize::MAX; w];
    for y in 0..h {
        for x in 0..w {
            if hz[y * w + x] != 0 {
                last[x] = y;
            }
            if last[x] != usize::MAX && y - last[x] <= r {
                out[y * w + x] = 1;
            }
        }
    }
    let mut next = vec![usize::MAX; w];
    for y in (0..h).rev() {
        for x in 0..w {
            if hz[y * w + x] != 0 {
                next[x] = y;
            }
            if next[x] != usize::MAX && next[x] - y <= r {
                out[y * w + x] = 1;
            }
        }
    }
    out
}

fn put_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

fn get_varint(b: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*pos)?;
        *pos += 1;
        v |= ((byte & 0x7f) as u64) << shift;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// Which pixels of a tile keep their values, per window (same order as `outs`).
fn kept_planes(tile: &Window, outs: &[WindowOut], radius: usize) -> Vec<Vec<u8>> {
    let (tw, th) = (tile.width, tile.height);
    if radius == 0 {
        // No sieve: only flagged pixels can be in a patch.
        return outs
            .iter()
            .map(|o| {
                o.mask
                    .iter()
                    .zip(&o.valid_mask)
                    .map(|(&m, &v)| m & v)
                    .collect()
            })
            .collect();
    }
    let mut mask = vec![0u8; tw * th];
    for o in outs {
        let (x0, y0) = (o.window.col - tile.col, o.window.row - tile.row);
        for r in 0..o.window.height {
            let dst = (y0 + r) * tw + x0;
            mask[dst..dst + o.window.width]
                .copy_from_slice(&o.mask[r * o.window.width..(r + 1) * o.window.width]);
        }
    }
    let near = dilate(&mask, tw, th, radius);
    outs.iter()
        .map(|o| {
            let ww = o.window.width;
            (0..o.window.len())
                .map(|i| {
                    let (x, y) = (
                        o.window.col - tile.col + i % ww,
                        o.window.row - tile.row + i / ww,
                    );
                    let edge = x < radius || y < radius || x + radius >= tw || y + radius >= th;
                    o.valid_mask[i] & (edge as u8 | near[y * tw + x])
                })
                .collect()
        })
        .collect()
}

fn encode_window(o: &WindowOut, kept: &[u8], buf: &mut Vec<u8>) {
    let state = |i: usize| -> u8 {
        ((o.mask[i] != 0) as u8 * CHANGE)
            | ((o.valid_mask[i] != 0) as u8 * VALID)
            | (kept[i] * KEPT)
    };
    let n = o.window.len();
    let mut i = 0;
    while i < n {
        let s = state(i);
        let mut j = i + 1;
        while j < n && state(j) == s {
            j += 1;
        }
        buf.push(s);
        put_varint(buf, (j - i) as u64);
        i = j;
    }
    for ch in &o.channels {
        for (v, &k) in ch.iter().zip(kept) {
            if k != 0 {
                buf.extend_from_slice(&v.to_le_bytes());
            }
        }
    }
}

/// Encode one tile: `pairs[k]` are pair k's window outputs in raster order.
pub fn encode(
    plan_hash: &str,
    tile_id: &str,
    tile: &Window,
    channels: usize,
    pairs: &[Vec<WindowOut>],
    keep_radius: usize,
) -> Vec<u8> {
    let mut body = Vec::new();
    let mut entries = Vec::new();
    for outs in pairs {
        let kept = kept_planes(tile, outs, keep_radius);
        let mut pe = Vec::new();
        for (o, k) in outs.iter().zip(&kept) {
            let offset = body.len() as u64;
            encode_window(o, k, &mut body);
            pe.push(WindowEntry {
                col: o.window.col,
                row: o.window.row,
                width: o.window.width,
                height: o.window.height,
                offset,
                len: body.len() as u64 - offset,
            });
        }
        entries.push(pe);
    }
    let header = TileHeader {
        plan_hash: plan_hash.into(),
        tile: tile_id.into(),
        channels,
        pairs: entries,
    };
    let hj = serde_json::to_vec(&header).unwrap_or_default();
    let mut out = Vec::with_capacity(12 + hj.len() + body.len() + 32);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(hj.len() as u32).to_le_bytes());
    out.extend_from_slice(&hj);
    out.extend_from_slice(&body);
    let sum = Sha256::digest(&out);
    out.extend_from_slice(&sum);
    out
}

fn corrupt(path: &Path, what: &str) -> PipelineError {
    PipelineError::Input(format!(
        "tile object {}: {what}; delete it and run its shard again",
        path.display()
    ))
}

/// Read and verify a whole tile object.
pub fn read(path: &Path) -> Result<TileObject, PipelineError> {
    let bytes = std::fs::read(path).map_err(|e| corrupt(path, &format!("cannot read it ({e})")))?;
    if bytes.len() < MAGIC.len() + 4 + 32 || &bytes[..8] != MAGIC {
        return Err(corrupt(path, "not a minewatch tile object"));
    }
    let (data, sum) = bytes.split_at(bytes.len() - 32);
    if Sha256::digest(data).as_slice() != sum {
        return Err(corrupt(path, "checksum mismatch (truncated or damaged)"));
    }
    let hl = u32::from_le_bytes(data[8..12].try_into().expect("4 bytes")) as usize;
    let header: TileHeader = data
        .get(12..12 + hl)
        .and_then(|h| serde_json::from_slice(h).ok())
        .ok_or_else(|| corrupt(path, "unreadable header"))?;
    Ok(TileObject {
        header,
        body: data[12 + hl..].to_vec(),
    })
}

/// The header alone and whether the file is as long as it claims (a cheap "is it done"
/// test for `missing`; `merge` verifies the checksum).
pub fn peek(path: &Path) -> Option<TileHeader> {
    let mut f = std::fs::File::open(path).ok()?;
    let total = f.metadata().ok()?.len();
    let mut head = [0u8; 12];
    f.read_exact(&mut head).ok()?;
    if &head[..8] != MAGIC {
        return None;
    }
    let hl = u32::from_le_bytes(head[8..12].try_into().ok()?) as usize;
    let mut h = vec![0u8; hl];
    f.read_exact(&mut h).ok()?;
    let header: TileHeader = serde_json::from_slice(&h).ok()?;
    let body: u64 = header.pairs.iter().flatten().map(|e| e.len).sum();
    (total == 12 + hl as u64 + body + 32).then_some(header)
}

impl TileObject {
    /// Decode one window of pair `k`; values that were not kept read as 0 (no patch
    /// pixel can be among them).
    pub fn window(&self, k: usize, i: usize, path: &Path) -> Result<WindowOut, PipelineError> {
        let e = self
            .header
            .pairs
            .get(k)
            .and_then(|p| p.get(i))
            .ok_or_else(|| corrupt(path, &format!("no window {i} for pair {k}")))?;
        let b = self
            .body
            .get(e.offset as usize..(e.offset + e.len) as usize)
            .ok_or_else(|| corrupt(path, "window outside the body"))?;
        let w = e.window();
        let n = w.len();
        let (mut mask, mut valid) = (Vec::with_capacity(n), Vec::with_capacity(n));
        let mut kept_idx = Vec::new();
        let mut pos = 0;
        while mask.len() < n {
            let s = *b
                .get(pos)
                .ok_or_else(|| corrupt(path, "short state runs"))?;
            pos += 1;
            let len =
                get_varint(b, &mut pos).ok_or_else(|| corrupt(path, "bad run length"))? as usize;
            if len == 0 || mask.len() + len > n {
                return Err(corrupt(path, "run lengths do not add up to the window"));
            }
            if s & KEPT != 0 {
                kept_idx.extend(mask.len()..mask.len() + len);
            }
            mask.resize(mask.len() + len, (s & CHANGE != 0) as u8);
            valid.resize(valid.len() + len, (s & VALID != 0) as u8);
        }
        let nc = self.header.channels;
        if b.len() - pos != kept_idx.len() * nc * 4 {
            return Err(corrupt(path, "value count does not match the kept pixels"));
        }
        let mut channels = vec![vec![0f32; n]; nc];
        for ch in channels.iter_mut() {
            for &i in &kept_idx {
                ch[i] = f32::from_le_bytes(b[pos..pos + 4].try_into().expect("4 bytes"));
                pos += 4;
            }
        }
        Ok(WindowOut {
            window: w,
            valid: valid.iter().map(|&v| v as u64).sum(),
            flagged: mask.iter().map(|&v| v as u64).sum(),
            mask,
            valid_mask: valid,
            channels,
        })
    }
}

/// Write bytes atomically: a temp file beside the target, flushed, then renamed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), PipelineError> {
    use std::io::Write;
    let oe = |e: std::io::Error| PipelineError::Output {
        path: path.to_path_buf(),
        msg: e.to_string(),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let mut f = std::fs::File::create(&tmp).map_err(oe)?;
    f.write_all(bytes).map_err(oe)?;
    f.sync_all().map_err(oe)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(oe)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute_dilate(m: &[u8], w: usize, h: usize, r: usize) -> Vec<u8> {
        let mut out = vec![0u8; w * h];
        for y in 0..h {
            for x in 0..w {
                let near = (y.saturating_sub(r)..(y + r + 1).min(h)).any(|yy| {
                    (x.saturating_sub(r)..(x + r + 1).min(w)).any(|xx| m[yy * w + xx] != 0)
                });
                out[y * w + x] = near as u8;
            }
        }
        out
    }

    #[test]
    fn dilation_matches_brute_force() {
        let (w, h) = (37, 23);
        let mut s = 12345u64;
        let m: Vec<u8> = (0..w * h)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (s >> 33).is_multiple_of(29) as u8
            })
            .collect();
        for r in [0, 1, 3, 10] {
            assert_eq!(dilate(&m, w, h, r), brute_dilate(&m, w, h, r), "radius {r}");
        }
    }

    fn window_out(window: Window, seed: u64, n_ch: usize) -> WindowOut {
        let mut s = seed;
        let mut next = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            s >> 33
        };
        let n = window.len();
        let valid: Vec<u8> = (0..n).map(|_| !next().is_multiple_of(10) as u8).collect();
        let mask: Vec<u8> = (0..n)
            .map(|i| valid[i] & next().is_multiple_of(7) as u8)
            .collect();
        let channels = (0..n_ch)
            .map(|_| (0..n).map(|_| next() as f32 / 7.0).collect())
            .collect();
        WindowOut {
            window,
            valid: valid.iter().map(|&v| v as u64).sum(),
            flagged: mask.iter().map(|&v| v as u64).sum(),
            mask,
            valid_mask: valid,
            channels,
        }
    }

    #[test]
    fn round_trip_keeps_masks_and_kept_values_and_detects_damage() {
        let tile = Window {
            col: 64,
            row: 32,
            width: 50,
            height: 40,
        };
        let spec = crate::shard::TileSpec {
            index: 0,
            id: "t".into(),
            col: tile.col,
            row: tile.row,
            width: tile.width,
            height: tile.height,
        };
        let outs: Vec<WindowOut> = spec
            .windows(16)
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(i, w)| window_out(w, i as u64 + 1, 3))
            .collect();
        let bytes = encode("h", "t", &tile, 3, &[outs.clone(), outs.clone()], 2);
        let dir = std::env::temp_dir().join(format!("mw-tile-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("t.mwt");
        write_atomic(&p, &bytes).unwrap();
        assert_eq!(peek(&p).unwrap().plan_hash, "h");
        let obj = read(&p).unwrap();
        for (i, o) in outs.iter().enumerate() {
            let d = obj.window(1, i, &p).unwrap();
            assert_eq!(d.window, o.window);
            assert_eq!(d.mask, o.mask);
            assert_eq!(d.valid_mask, o.valid_mask);
            assert_eq!((d.valid, d.flagged), (o.valid, o.flagged));
            for c in 0..3 {
                for px in 0..o.window.len() {
                    let v = d.channels[c][px];
                    // Flagged valid pixels always keep their exact value.
                    if o.mask[px] & o.valid_mask[px] != 0 {
                        assert_eq!(v.to_bits(), o.channels[c][px].to_bits());
                    } else {
                        assert!(v == 0.0 || v.to_bits() == o.channels[c][px].to_bits());
                    }
                }
            }
        }
        // One flipped byte is caught by the checksum.
        let mut bad = bytes.clone();
        let mid = bad.len() / 2;
        bad[mid] ^= 0x40;
        std::fs::write(&p, &bad).unwrap();
        assert!(read(&p).err().unwrap().to_string().contains("checksum"));
        // A truncated file is not taken as done.
        std::fs::write(&p, &bytes[..bytes.len() - 5]).unwrap();
        assert!(peek(&p).is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
