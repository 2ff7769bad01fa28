//! Tile objects: one file per tile holding, for every date pair, the kernel's output the
//! sieve and labeller consume — the change mask, the validity mask and the statistic
//! channels — compactly and checksummed.
//!
//! Layout: `MWTILE1\n`, a little-endian u32 header length, the JSON header (plan hash,
//! tile id, channel count, and per pair the windows with their byte ranges in the body),
//! the body, and the sha256 of everything before it. Per window the body holds one
//! run-length-coded state byte per pixel (bit 0 change, bit 1 valid, bit 2 values kept)
//! and then, channel by channel, the f32 values of the kept pixels. Values are kept only
//! where they can reach a patch: flagged valid pixels, and valid pixels of unflagged regions
//! that may be smaller than the sieve threshold (see `kept_plane`).

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
    /// The whole file as read; the body starts at `body_start`.
    bytes: Vec<u8>,
    body_start: usize,
}

/// Zeros that may belong to a region of fewer than `s` zeros (8-connected): those whose
/// run of zeros along the row and along the column are both shorter than `s`. A region
/// smaller than `s` has every run shorter than `s`, so this is a superset, found in four
/// linear passes (an exact labelling costs ten times more and saves little).
pub fn small_zero_candidates(m: &[u8], w: usize, h: usize, s: usize) -> Vec<u8> {
    let mut out = vec![0u8; w * h];
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
    let cap = s.min(u16::MAX as usize) as u16;
    let mut up = vec![0u16; w * h];
    for y in 0..h {
        for x in 0..w {
            if m[y * w + x] == 0 {
                let above = if y > 0 { up[(y - 1) * w + x] } else { 0 };
                up[y * w + x] = above.saturating_add(1).min(cap);
            }
        }
    }
    let mut down = vec![0u16; w];
    for y in (0..h).rev() {
        let row = y * w..(y + 1) * w;
        for (((d, &v), &u), o) in down
            .iter_mut()
            .zip(&m[row.clone()])
            .zip(&up[row.clone()])
            .zip(&mut out[row])
        {
            *d = if v == 0 {
                d.saturating_add(1).min(cap)
            } else {
                0
            };
            if (u as usize + *d as usize).saturating_sub(1) >= s {
                *o = 0;
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

/// Which pixels of a window keep their values: valid pixels that are flagged, or that may
/// lie in a region of unflagged pixels smaller than the sieve's threshold. Nothing else can
/// end in a patch: the sieve turns a region of zeros into change only when the whole region
/// is smaller than the threshold, and a region's runs inside one window are never longer
/// than its runs in the scene. Deciding per window (not per tile) lets a shard encode each
/// window as soon as it is computed and never hold a whole tile.
fn kept_plane(o: &WindowOut, sieve_px: usize) -> Vec<u8> {
    if sieve_px == 0 {
        // No sieve: only flagged pixels can be in a patch.
        return o
            .mask
            .iter()
            .zip(&o.valid_mask)
            .map(|(&m, &v)| m & v)
            .collect();
    }
    let small = small_zero_candidates(&o.mask, o.window.width, o.window.height, sieve_px);
    o.mask
        .iter()
        .zip(&o.valid_mask)
        .zip(&small)
        .map(|((&m, &v), &z)| v & ((m != 0) as u8 | z))
        .collect()
}

/// One window's block of a tile object (the unit a shard encodes in its workers).
pub fn encode_window_block(o: &WindowOut, sieve_px: usize) -> Vec<u8> {
    let kept = kept_plane(o, sieve_px);
    let mut buf = Vec::new();
    encode_window(o, &kept, &mut buf);
    buf
}

fn encode_window(o: &WindowOut, kept: &[u8], buf: &mut Vec<u8>) {
    let state: Vec<u8> = o
        .mask
        .iter()
        .zip(&o.valid_mask)
        .zip(kept)
        .map(|((&m, &v), &k)| ((m != 0) as u8 * CHANGE) | ((v != 0) as u8 * VALID) | (k * KEPT))
        .collect();
    let mut i = 0;
    while i < state.len() {
        let s = state[i];
        let len = state[i..]
            .iter()
            .position(|&x| x != s)
            .unwrap_or(state.len() - i);
        buf.push(s);
        put_varint(buf, len as u64);
        i += len;
    }
    let n_kept = kept.iter().filter(|&&k| k != 0).count();
    buf.reserve(n_kept * 4 * o.channels.len());
    for ch in &o.channels {
        for (v, &k) in ch.iter().zip(kept) {
            if k != 0 {
                buf.extend_from_slice(&v.to_le_bytes());
            }
        }
    }
}

/// A tile object from its windows' blocks: `pairs[k]` holds pair k's windows in raster
/// order with their encoded blocks.
pub fn assemble(
    plan_hash: &str,
    tile_id: &str,
    channels: usize,
    pairs: &[Vec<(Window, Vec<u8>)>],
) -> Vec<u8> {
    let mut body = Vec::new();
    let mut entries = Vec::new();
    for blocks in pairs {
        let mut pe = Vec::new();
        for (w, b) in blocks {
            let offset = body.len() as u64;
            body.extend_from_slice(b);
            pe.push(WindowEntry {
                col: w.col,
                row: w.row,
                width: w.width,
                height: w.height,
                offset,
                len: b.len() as u64,
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
    assert!(hj.len() < u32::MAX as usize, "tile header over 4 GiB");
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
    let (body_start, end) = (12 + hl, data.len());
    let mut bytes = bytes;
    bytes.truncate(end);
    Ok(TileObject {
        header,
        bytes,
        body_start,
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
    if 12 + hl as u64 + 32 > total {
        return None;
    }
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
        let body = &self.bytes[self.body_start..];
        let b = body
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

/// Write bytes atomically: a temp file beside the target, unique to this writer (host,
/// process, time — two pods of one index may run at once, both as PID 1), flushed, then
/// renamed. Concurrent writers of one tile write identical bytes, so the last rename wins
/// harmlessly.
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
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let tmp = path.with_file_name(format!(".{name}.tmp-{host}-{}-{nanos}", std::process::id()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(oe)?;
    let done = f
        .write_all(bytes)
        .and_then(|_| f.sync_all())
        .and_then(|_| std::fs::rename(&tmp, path));
    if done.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    done.map_err(oe)
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
        let blocks: Vec<(Window, Vec<u8>)> = outs
            .iter()
            .map(|o| (o.window, encode_window_block(o, 2)))
            .collect();
        let bytes = assemble("h", "t", 3, &[blocks.clone(), blocks]);
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
