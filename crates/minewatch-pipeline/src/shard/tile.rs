//! Tile objects: one file per tile holding, for every date pair, the kernel's output the
//! sieve and labeller consume — the change mask, the validity mask and the statistic
//! channels — compactly and checksummed.
//!
//! Layout: `MWTILE1\n`, a little-endian u32 header length, the JSON header (plan hash,
//! tile id, channel count, and per pair the windows with their byte ranges in the body),
//! the body, and the CRC-32 of everything before it (little-endian). The checksum is there
//! to catch a truncated or damaged object, not tampering; a CRC-32 does that at memory speed
//! where a sha256 cost 5 % of a merge's CPU. Per window the body holds one
//! run-length-coded state byte per pixel (bit 0 change, bit 1 valid, bit 2 values kept)
//! and then, channel by channel, the f32 values of the kept pixels. Values are kept only
//! where they can reach a patch: flagged valid pixels, and valid pixels of unflagged regions
//! that may be smaller than the sieve threshold (see `crate::compact`).

use super::objects::ShardObjects;
use crate::compact::{CompactWindow, CHANGE, KEPT, VALID};
use crate::detect_run::WindowOut;
use crate::error::PipelineError;
use minewatch_core::Window;
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const MAGIC: &[u8; 8] = b"MWTILE2\n";
/// Bytes of the trailing checksum.
const SUM: usize = 4;

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

/// One window's block of a tile object (the unit a shard encodes in its workers).
pub fn encode_window_block(o: &WindowOut, sieve_px: usize) -> Vec<u8> {
    encode_compact(&CompactWindow::new(o, sieve_px))
}

/// A compact window as a tile block: the state bytes run-length coded, then the kept
/// values channel by channel.
pub fn encode_compact(cw: &CompactWindow) -> Vec<u8> {
    let mut buf = Vec::new();
    let state = &cw.state;
    let mut i = 0;
    while i < state.len() {
        let s = state[i];
        let len = state[i..]
            .iter()
            .position(|&x| x != s)
            .unwrap_or(state.len() - i);
        buf.push(s);
        put_varint(&mut buf, len as u64);
        i += len;
    }
    buf.reserve(cw.values.len() * 4);
    for c in 0..cw.n_ch {
        for v in cw.channel(c) {
            buf.extend_from_slice(&v.to_le_bytes());
        }
    }
    buf
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
    let mut out = Vec::with_capacity(12 + hj.len() + body.len() + SUM);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(hj.len() as u32).to_le_bytes());
    out.extend_from_slice(&hj);
    out.extend_from_slice(&body);
    let sum = libdeflater::crc32(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

/// A damaged object left where it is: the user removes it and reruns its shard.
fn corrupt(name: &str, what: &str) -> PipelineError {
    PipelineError::Input(format!(
        "tile object {name}: {what}; delete it and run its shard again"
    ))
}

/// Read and verify a whole tile object (`name` in `objects`). A damaged object is an
/// input error; one that is gone (deleted since `missing` saw it) is unfinished work.
pub fn read(objects: &ShardObjects, name: &str) -> Result<TileObject, PipelineError> {
    let at = objects.describe(name);
    read_checked(objects, name)?.map_err(|what| corrupt(&at, &what))
}

/// Read a whole tile object and tell a failed read (the outer error: gone, or a read that
/// may work on retry) from a damaged object (the inner one: what is wrong with it), so the
/// merge can set the damaged one aside and say so instead of asking for its deletion.
pub fn read_checked(
    objects: &ShardObjects,
    name: &str,
) -> Result<Result<TileObject, String>, PipelineError> {
    let at = objects.describe(name);
    let mut bytes = SPARE_BYTES
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .pop()
        .unwrap_or_default();
    if !objects.read_into(name, &mut bytes)? {
        return Err(PipelineError::Incomplete(format!(
            "tile object {at} is gone; rerun its shard (`minewatch missing CONFIG`)"
        )));
    }
    Ok(parse(bytes))
}

/// Byte buffers of tile objects a merge has decoded, for the next tile row's objects
/// (a few MB each: fresh ones cost a page clear per 4 KiB).
static SPARE_BYTES: std::sync::Mutex<Vec<Vec<u8>>> = std::sync::Mutex::new(Vec::new());
/// A tile row of a 64 k px wide scene in 2048 px tiles; more are dropped.
const SPARE_BYTES_MAX: usize = 32;

impl TileObject {
    /// Hand the object's buffer back once its windows are decoded.
    pub fn recycle(self) {
        let mut spare = SPARE_BYTES.lock().unwrap_or_else(|p| p.into_inner());
        if spare.len() < SPARE_BYTES_MAX {
            spare.push(self.bytes);
        }
    }
}

/// Free the recycled object buffers (the merge's sweep is done).
pub fn drop_spare_bytes() {
    SPARE_BYTES
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clear();
}

/// Verify a tile object's bytes; the error says what is wrong.
fn parse(bytes: Vec<u8>) -> Result<TileObject, String> {
    if bytes.len() < MAGIC.len() + 4 + SUM || &bytes[..8] != MAGIC {
        return Err("not a minewatch tile object".into());
    }
    let (data, sum) = bytes.split_at(bytes.len() - SUM);
    if libdeflater::crc32(data).to_le_bytes() != sum {
        return Err("checksum mismatch (truncated or damaged)".into());
    }
    let hl = u32::from_le_bytes(data[8..12].try_into().expect("4 bytes")) as usize;
    let header: TileHeader = data
        .get(12..12 + hl)
        .and_then(|h| serde_json::from_slice(h).ok())
        .ok_or("unreadable header")?;
    let (body_start, end) = (12 + hl, data.len());
    let mut bytes = bytes;
    bytes.truncate(end);
    Ok(TileObject {
        header,
        bytes,
        body_start,
    })
}

/// What a cheap look at a tile object (its header and size, not its checksum) finds.
#[derive(Debug, Clone, PartialEq)]
pub enum Peek {
    /// No object under the name.
    Absent,
    /// As long as its header says, with a readable header (`merge` verifies the checksum).
    Whole(TileHeader),
    /// A tile object of another format version (`MWTILE1`): made by another build, so
    /// stale like a tile of another plan, and rewritten by its shard.
    OtherVersion,
    /// An object under the tile's final name that cannot be a whole tile: what is wrong.
    /// Tiles are written whole (temp name + rename, or one PUT), so this is damage, never
    /// a tile still being written.
    Damaged(String),
}

/// Whether `first` opens with the magic of another tile format version (`MWTILE<n>\n`).
fn other_version(first: &[u8]) -> bool {
    first.len() >= MAGIC.len()
        && first[..6] == MAGIC[..6]
        && first[6].is_ascii_digit()
        && first[7] == b'\n'
        && first[..8] != MAGIC[..]
}

/// The header alone and whether the object is as long as it claims (a cheap "is it done"
/// test for `missing`; `merge` verifies the checksum). An object that exists but is too
/// short, too long, or has a bad magic or header is [`Peek::Damaged`], not absent: a
/// waiting merge would otherwise wait for it forever (review S). On object storage the
/// first request asks for enough bytes to hold a usual header (a few hundred bytes per
/// window), so one request answers; a file is read 12 bytes, then the header.
pub fn peek(objects: &ShardObjects, name: &str) -> Result<Peek, PipelineError> {
    let want = match objects {
        ShardObjects::Dir(_) => 12,
        ShardObjects::S3(_) => 8 * 1024,
    };
    let Some((total, first)) = objects.head(name, want)? else {
        return Ok(Peek::Absent);
    };
    let damaged = |what: String| Ok(Peek::Damaged(what));
    if total < (MAGIC.len() + 4 + SUM) as u64 || first.len() < 12 {
        return damaged(format!(
            "truncated: {total} bytes, shorter than any tile object"
        ));
    }
    if &first[..8] != MAGIC {
        if other_version(&first) {
            return Ok(Peek::OtherVersion);
        }
        return damaged("not a minewatch tile object (bad magic)".into());
    }
    let hl = u32::from_le_bytes(first[8..12].try_into().expect("4 bytes")) as u64;
    if 12 + hl + SUM as u64 > total {
        return damaged(format!(
            "truncated or damaged header: {total} bytes, its header length field says {hl}"
        ));
    }
    let header_bytes = if 12 + hl <= first.len() as u64 {
        first[12..12 + hl as usize].to_vec()
    } else {
        match objects.read_range(name, 12..12 + hl)? {
            Some(b) => b,
            // Gone (or replaced by a shorter one) since its size was read.
            None => return Ok(Peek::Absent),
        }
    };
    let Ok(header) = serde_json::from_slice::<TileHeader>(&header_bytes) else {
        return damaged("unreadable header".into());
    };
    let body: u64 = header.pairs.iter().flatten().map(|e| e.len).sum();
    let want = 12 + hl + body + SUM as u64;
    if total != want {
        return damaged(format!(
            "{} ({total} bytes, its header says {want})",
            if total < want {
                "truncated"
            } else {
                "longer than its header says"
            }
        ));
    }
    Ok(Peek::Whole(header))
}

impl TileObject {
    /// Decode one window of pair `k`.
    pub fn window(&self, k: usize, i: usize, at: &str) -> Result<CompactWindow, PipelineError> {
        let e = self
            .header
            .pairs
            .get(k)
            .and_then(|p| p.get(i))
            .ok_or_else(|| corrupt(at, &format!("no window {i} for pair {k}")))?;
        let body = &self.bytes[self.body_start..];
        let b = body
            .get(e.offset as usize..(e.offset + e.len) as usize)
            .ok_or_else(|| corrupt(at, "window outside the body"))?;
        let w = e.window();
        let (n, ww) = (w.len(), w.width.max(1));
        // Counts and each row's first kept pixel come from the runs as they are laid out,
        // not from a second pass over the pixels; the buffers are ones the sweep handed back.
        let (mut state, mut values, mut row_start) = crate::compact::spare_buffers();
        state.reserve(n);
        row_start.reserve(w.height + 1);
        row_start.push(0);
        let (mut n_kept, mut valid, mut flagged) = (0usize, 0u64, 0u64);
        let mut pos = 0;
        while state.len() < n {
            let s = *b.get(pos).ok_or_else(|| corrupt(at, "short state runs"))?;
            pos += 1;
            let len =
                get_varint(b, &mut pos).ok_or_else(|| corrupt(at, "bad run length"))? as usize;
            if len == 0 || state.len() + len > n || s & !(CHANGE | VALID | KEPT) != 0 {
                return Err(corrupt(at, "run lengths do not add up to the window"));
            }
            let (start, end) = (state.len(), state.len() + len);
            let kept = (s & KEPT != 0) as usize;
            // Row ends this run reaches: the kept count up to each of them.
            let mut edge = (start / ww + 1) * ww;
            while edge <= end {
                row_start.push((n_kept + kept * (edge - start)) as u32);
                edge += ww;
            }
            n_kept += kept * len;
            valid += ((s & VALID != 0) as u64) * len as u64;
            flagged += ((s & CHANGE != 0) as u64) * len as u64;
            state.resize(end, s);
        }
        let nc = self.header.channels;
        if b.len() - pos != n_kept * nc * 4 {
            return Err(corrupt(at, "value count does not match the kept pixels"));
        }
        // Stored channel by channel; held pixel by pixel.
        values.resize(n_kept * nc, 0.0);
        for c in 0..nc {
            let block = &b[pos..pos + n_kept * 4];
            for (i, v) in block.chunks_exact(4).enumerate() {
                values[i * nc + c] = f32::from_le_bytes(v.try_into().expect("4 bytes"));
            }
            pos += n_kept * 4;
        }
        Ok(CompactWindow {
            window: w,
            state,
            values,
            row_start,
            n_ch: nc,
            valid,
            flagged,
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
        let objects = ShardObjects::Dir(dir.clone());
        objects.write("t.mwt", &bytes).unwrap();
        let Peek::Whole(h) = peek(&objects, "t.mwt").unwrap() else {
            panic!("a whole object")
        };
        assert_eq!(h.plan_hash, "h");
        let obj = read(&objects, "t.mwt").unwrap();
        for (i, o) in outs.iter().enumerate() {
            let d = obj.window(1, i, "t.mwt").unwrap();
            assert_eq!(d, CompactWindow::new(o, 2), "decoded as encoded");
            assert_eq!(d.window, o.window);
            assert_eq!((d.valid, d.flagged), (o.valid, o.flagged));
            for px in 0..o.window.len() {
                assert_eq!(d.state[px] & CHANGE, o.mask[px]);
                assert_eq!((d.state[px] & VALID) >> 1, o.valid_mask[px]);
                // Flagged valid pixels always keep their exact value.
                if o.mask[px] & o.valid_mask[px] != 0 {
                    assert_ne!(d.state[px] & KEPT, 0);
                }
            }
            let kept: Vec<usize> = (0..o.window.len())
                .filter(|&px| d.state[px] & KEPT != 0)
                .collect();
            for c in 0..3 {
                let got: Vec<u32> = d.channel(c).map(f32::to_bits).collect();
                let want: Vec<u32> = kept.iter().map(|&px| o.channels[c][px].to_bits()).collect();
                assert_eq!(got, want);
            }
        }
        // One flipped byte is caught by the checksum.
        let mut bad = bytes.clone();
        let mid = bad.len() / 2;
        bad[mid] ^= 0x40;
        std::fs::write(&p, &bad).unwrap();
        assert!(read(&objects, "t.mwt")
            .err()
            .unwrap()
            .to_string()
            .contains("checksum"));
        // A truncated file, or one with a damaged magic, header or length, is not taken as
        // done, nor as absent (a waiting merge would wait for it forever): it is damaged.
        let damaged = |b: &[u8]| {
            std::fs::write(&p, b).unwrap();
            match peek(&objects, "t.mwt").unwrap() {
                Peek::Damaged(what) => what,
                other => panic!("{other:?}"),
            }
        };
        assert!(damaged(&bytes[..bytes.len() - 5]).starts_with("truncated"));
        assert!(damaged(&bytes[..30]).contains("truncated"));
        assert!(damaged(&bytes[..5]).contains("truncated"));
        assert!(damaged(b"").contains("truncated: 0 bytes"));
        assert!(damaged(&[&bytes[..], b"xx"].concat()).contains("longer"));
        let mut b = bytes.clone();
        b[0] ^= 1;
        assert!(damaged(&b).contains("bad magic"));
        let mut b = bytes.clone();
        b[10] ^= 0x10;
        assert!(damaged(&b).contains("header"));
        let mut b = bytes.clone();
        b[14] = b'#';
        assert_eq!(damaged(&b), "unreadable header");
        // Another format version is stale (its shard rewrites it), not damage.
        let mut b = bytes.clone();
        b[6] = b'1';
        std::fs::write(&p, &b).unwrap();
        assert_eq!(peek(&objects, "t.mwt").unwrap(), Peek::OtherVersion);
        std::fs::remove_file(&p).unwrap();
        assert_eq!(peek(&objects, "t.mwt").unwrap(), Peek::Absent);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
