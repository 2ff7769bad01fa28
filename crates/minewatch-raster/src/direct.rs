//! Direct tile decoding for the common GeoTIFF layout (tiled or stripped, pixel
//! interleaved, Byte or UInt16, DEFLATE or uncompressed, predictor 1 or 2).
//!
//! Why: decoding dominates the run. GDAL's path reads each band separately through its
//! block cache and converts samples one band at a time; here each tile's bytes are read
//! once with `pread` (no GDAL handle, so any thread can do it), inflated with libdeflate,
//! the horizontal predictor undone, and the needed samples scattered straight into f32
//! planes. Any other layout falls back to GDAL. Tests check both paths give the same bits.

use crate::error::RasterError;
use gdal::{Dataset, Metadata};
use minewatch_core::Window;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    None,
    Deflate,
}

/// Where each block of a file lives and how to decode it.
#[derive(Debug, Clone)]
pub struct DirectLayout {
    path: PathBuf,
    width: usize,
    height: usize,
    block_w: usize,
    block_h: usize,
    blocks_across: usize,
    bands: usize,
    bytes_per_sample: usize,
    predictor: bool,
    compression: Compression,
    little_endian: bool,
    /// (offset, size) per block in raster order.
    blocks: Vec<(u64, u64)>,
}

impl DirectLayout {
    /// The layout of `ds` if the direct path can read it, else `None` (GDAL reads it).
    pub fn probe(path: &Path, ds: &Dataset) -> Option<Self> {
        if std::env::var("MINEWATCH_DECODE").is_ok_and(|v| v == "gdal") {
            return None;
        }
        // The direct path reads blocks with `pread`: files only, not `/vsis3/…` objects.
        if ds.driver().short_name() != "GTiff"
            || path.to_str().is_some_and(|s| s.starts_with("/vsi"))
        {
            return None;
        }
        let bands = ds.raster_count();
        let interleave = ds
            .metadata_item("INTERLEAVE", "IMAGE_STRUCTURE")
            .unwrap_or_else(|| "PIXEL".into());
        if bands > 1 && interleave != "PIXEL" {
            return None;
        }
        let compression = match ds
            .metadata_item("COMPRESSION", "IMAGE_STRUCTURE")
            .as_deref()
        {
            None => Compression::None,
            Some("DEFLATE") => Compression::Deflate,
            _ => return None,
        };
        let predictor = match ds.metadata_item("PREDICTOR", "IMAGE_STRUCTURE").as_deref() {
            None | Some("1") => false,
            Some("2") => true,
            _ => return None,
        };
        // Packed samples (NBITS 1-7, 9-15) are Byte/UInt16 to GDAL but not byte-aligned on disk.
        if let Some(nbits) = ds
            .rasterband(1)
            .ok()?
            .metadata_item("NBITS", "IMAGE_STRUCTURE")
        {
            if nbits != "8" && nbits != "16" {
                return None;
            }
        }
        let b1 = ds.rasterband(1).ok()?;
        let bytes_per_sample = match b1.band_type().name().as_str() {
            "Byte" => 1,
            "UInt16" => 2,
            _ => return None,
        };
        for i in 2..=bands {
            if ds.rasterband(i).ok()?.band_type().name() != b1.band_type().name() {
                return None;
            }
        }
        let (width, height) = ds.raster_size();
        let (block_w, block_h) = b1.block_size();
        let blocks_across = width.div_ceil(block_w);
        let blocks_down = height.div_ceil(block_h);
        let mut blocks = Vec::with_capacity(blocks_across * blocks_down);
        for by in 0..blocks_down {
            for bx in 0..blocks_across {
                let off: u64 = b1
                    .metadata_item(&format!("BLOCK_OFFSET_{bx}_{by}"), "TIFF")?
                    .parse()
                    .ok()?;
                let size: u64 = b1
                    .metadata_item(&format!("BLOCK_SIZE_{bx}_{by}"), "TIFF")?
                    .parse()
                    .ok()?;
                if off == 0 || size == 0 {
                    return None; // sparse file: let GDAL fill the blanks
                }
                blocks.push((off, size));
            }
        }
        let mut head = [0u8; 2];
        File::open(path).ok()?.read_exact_at(&mut head, 0).ok()?;
        let little_endian = match &head {
            b"II" => true,
            b"MM" => false,
            _ => return None,
        };
        Some(Self {
            path: path.to_path_buf(),
            width,
            height,
            block_w,
            block_h,
            blocks_across,
            bands,
            bytes_per_sample,
            predictor,
            compression,
            little_endian,
            blocks,
        })
    }

    /// Read 0-based samples `bands` of `window` into `planes` (one per band, window-sized).
    pub fn read(
        &self,
        window: &Window,
        bands: &[usize],
        planes: &mut [Vec<f32>],
    ) -> Result<(), RasterError> {
        SCRATCH.with(|s| {
            let mut s = s.borrow_mut();
            let s = &mut *s;
            if !s.files.contains_key(&self.path) {
                let f = File::open(&self.path).map_err(|e| self.err(0, window, e.to_string()))?;
                s.files.insert(self.path.clone(), f);
            }
            for p in planes.iter_mut() {
                p.resize(window.len(), 0.0);
            }
            let bx0 = window.col / self.block_w;
            let bx1 = (window.col + window.width - 1) / self.block_w;
            let by0 = window.row / self.block_h;
            let by1 = (window.row + window.height - 1) / self.block_h;
            // A window on block boundaries never needs a block twice; only windows with a
            // halo (which read into their neighbours' blocks) go through the cache.
            let aligned = window.col.is_multiple_of(self.block_w)
                && window.row.is_multiple_of(self.block_h)
                && ((window.col + window.width).is_multiple_of(self.block_w)
                    || window.col + window.width == self.width)
                && ((window.row + window.height).is_multiple_of(self.block_h)
                    || window.row + window.height == self.height);
            for by in by0..=by1 {
                for bx in bx0..=bx1 {
                    if aligned {
                        self.decode_block(bx, by, s, window)?;
                        self.scatter(bx, by, &s.raw, window, bands, planes);
                        continue;
                    }
                    // Windows with a halo read their neighbours' blocks too: keep the last
                    // few inflated blocks of this thread instead of inflating them again.
                    let hit = s
                        .cache
                        .iter()
                        .position(|(p, x, y, _)| *x == bx && *y == by && *p == self.path);
                    if hit.is_none() && self.read_edge(bx, by, s, window)? {
                        let raw = std::mem::take(&mut s.raw);
                        self.scatter(bx, by, &raw, window, bands, planes);
                        s.raw = raw;
                        continue;
                    }
                    let k = match hit {
                        Some(k) => k,
                        None => {
                            self.decode_block(bx, by, s, window)?;
                            self.keep_tail(bx, by, &s.raw);
                            let raw = std::mem::take(&mut s.raw);
                            let bytes: usize =
                                s.cache.iter().map(|c| c.3.len()).sum::<usize>() + raw.len();
                            // Room for a window's left, own and right blocks of two dates
                            // whatever the band count, so the next window finds two of them.
                            let cap = CACHE_BYTES.load(std::sync::atomic::Ordering::Relaxed);
                            let cap = if cap == 0 { 0 } else { cap.max(7 * raw.len()) };
                            if bytes > cap {
                                if let Some(old) = s.cache.pop_front() {
                                    s.raw = old.3; // reuse its allocation
                                }
                            }
                            s.cache.push_back((self.path.clone(), bx, by, raw));
                            s.cache.len() - 1
                        }
                    };
                    let raw = std::mem::take(&mut s.cache[k].3);
                    self.scatter(bx, by, &raw, window, bands, planes);
                    s.cache[k].3 = raw;
                }
            }
            Ok(())
        })
    }

    fn err(&self, band: usize, window: &Window, msg: String) -> RasterError {
        RasterError::Read {
            path: self.path.clone(),
            band,
            window: window.name(),
            msg,
        }
    }

    /// Rows that hold image data in block row `by`. Tiles are stored padded to the full
    /// block height; strips usually are not, but some writers pad them too, and a tiled
    /// file whose tile width equals the image width looks like a strip: so both sizes are
    /// accepted when inflating and only these rows are read.
    fn stored_rows(&self, by: usize) -> usize {
        self.block_h.min(self.height - by * self.block_h)
    }

    fn decode_block(
        &self,
        bx: usize,
        by: usize,
        s: &mut Scratch,
        window: &Window,
    ) -> Result<(), RasterError> {
        let (off, size) = self.blocks[by * self.blocks_across + bx];
        let rows = self.stored_rows(by);
        let row_len = self.block_w * self.bands * self.bytes_per_sample;
        let expect = rows * row_len;
        let padded = self.block_h * row_len;
        s.compressed.resize(size as usize, 0);
        let file = &s.files[&self.path];
        file.read_exact_at(&mut s.compressed, off)
            .map_err(|e| self.err(1, window, format!("block {bx},{by}: {e}")))?;
        s.raw.resize(padded, 0);
        match self.compression {
            Compression::None => {
                if s.compressed.len() < expect {
                    return Err(self.err(1, window, format!("block {bx},{by} is short")));
                }
                s.raw[..expect].copy_from_slice(&s.compressed[..expect]);
            }
            Compression::Deflate => {
                let n = s
                    .inflater
                    .zlib_decompress(&s.compressed, &mut s.raw)
                    .map_err(|e| self.err(1, window, format!("block {bx},{by}: deflate: {e:?}")))?;
                if n != expect && n != padded {
                    return Err(self.err(
                        1,
                        window,
                        format!("block {bx},{by}: {n} bytes inflated, {expect} expected"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The rows of block (`bx`, `by`) that `window` covers, relative to the block.
    fn rows_needed(&self, by: usize, window: &Window) -> (usize, usize) {
        let y0 = by * self.block_h;
        let r0 = window.row.max(y0) - y0;
        let r1 = (window.row + window.height).min(y0 + self.stored_rows(by)) - y0;
        (r0, r1)
    }

    /// A halo that reaches only a few edge rows of a block gets them without inflating
    /// the whole block: the first rows by inflating just that much of the stream, the last
    /// rows from the copy kept when the block above was inflated whole. Returns whether
    /// `s.raw` now holds the rows `window` needs (at their places in the block).
    fn read_edge(
        &self,
        bx: usize,
        by: usize,
        s: &mut Scratch,
        window: &Window,
    ) -> Result<bool, RasterError> {
        if self.compression != Compression::Deflate {
            return Ok(false);
        }
        let rows = self.stored_rows(by);
        let (r0, r1) = self.rows_needed(by, window);
        let row_len = self.block_w * self.bands * self.bytes_per_sample;
        s.raw.resize(self.block_h * row_len, 0);
        if r1 <= EDGE_ROWS && r1 < rows {
            let (off, size) = self.blocks[by * self.blocks_across + bx];
            s.compressed.resize(size as usize, 0);
            let file = &s.files[&self.path];
            file.read_exact_at(&mut s.compressed, off)
                .map_err(|e| self.err(1, window, format!("block {bx},{by}: {e}")))?;
            let mut z = flate2::read::ZlibDecoder::new(&s.compressed[..]);
            std::io::Read::read_exact(&mut z, &mut s.raw[..r1 * row_len])
                .map_err(|e| self.err(1, window, format!("block {bx},{by}: deflate: {e}")))?;
            return Ok(true);
        }
        if r0 + EDGE_ROWS >= rows && r0 > 0 {
            let tails = TAILS.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(t) = tails.map.get(&(self.path.clone(), bx, by)) {
                let from = rows - t.len() / row_len;
                if from <= r0 {
                    s.raw[from * row_len..rows * row_len].copy_from_slice(t);
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// Keep the last rows of a block inflated whole, for the halo of the window row below.
    fn keep_tail(&self, bx: usize, by: usize, raw: &[u8]) {
        if self.compression != Compression::Deflate {
            return;
        }
        let rows = self.stored_rows(by);
        let row_len = self.block_w * self.bands * self.bytes_per_sample;
        let from = rows.saturating_sub(EDGE_ROWS);
        let tail = raw[from * row_len..rows * row_len].to_vec();
        let mut tails = TAILS.lock().unwrap_or_else(|p| p.into_inner());
        tails.insert((self.path.clone(), bx, by), tail);
    }

    /// Undo the predictor (per band, along each block row) and write the window's part of
    /// the needed bands as f32, in one pass over the block's rows.
    fn scatter(
        &self,
        bx: usize,
        by: usize,
        raw: &[u8],
        window: &Window,
        bands: &[usize],
        planes: &mut [Vec<f32>],
    ) {
        let all: Vec<(usize, usize)> = bands.iter().copied().enumerate().collect();
        let block = Lanes {
            bx,
            by,
            raw,
            window,
            first: 0,
            want: &[],
        };
        // One monomorphised copy per band count keeps each pixel's samples in registers.
        macro_rules! by_count {
            ($($n:literal)*) => {
                match self.bands {
                    $($n => self.scatter_lanes::<$n>(Lanes { want: &all, ..block }, planes),)*
                    // More bands (hyperspectral stacks): groups of 8 lanes, only the groups
                    // holding a needed band; the last group may overlap the one before, as
                    // each band's running sum is independent.
                    n => {
                        let mut first = 0;
                        while first < n {
                            let g = first.min(n - GROUP);
                            let want: Vec<(usize, usize)> = all
                                .iter()
                                .filter(|(_, b)| (g..g + GROUP).contains(b) && *b >= first)
                                .map(|&(k, b)| (k, b - g))
                                .collect();
                            if !want.is_empty() {
                                self.scatter_lanes::<GROUP>(Lanes { first: g, want: &want, ..block }, planes);
                            }
                            first += GROUP;
                        }
                    }
                }
            };
        }
        const GROUP: usize = 8;
        by_count!(1 2 3 4 5 6 7 8 9 10 11 12 13)
    }

    /// Samples `first .. first + NB` of each pixel, in the sample format of the file.
    fn scatter_lanes<const NB: usize>(&self, a: Lanes, planes: &mut [Vec<f32>]) {
        match (self.bytes_per_sample, self.little_endian) {
            (1, _) => self.scatter_fixed::<NB>(a, planes, |r, i| r[i] as u16),
            (_, true) => self.scatter_fixed::<NB>(a, planes, |r, i| {
                u16::from_le_bytes([r[2 * i], r[2 * i + 1]])
            }),
            (_, false) => self.scatter_fixed::<NB>(a, planes, |r, i| {
                u16::from_be_bytes([r[2 * i], r[2 * i + 1]])
            }),
        }
    }

    /// The block's part of `window` for samples `first .. first + NB` of each pixel,
    /// decoded together: the predictor's running sums are `NB` independent chains (one per
    /// band) instead of one pass over the row per band. Then each wanted (plane, lane) is
    /// copied out as f32.
    #[inline(always)]
    fn scatter_fixed<const NB: usize>(
        &self,
        Lanes {
            bx,
            by,
            raw,
            window,
            first,
            want,
        }: Lanes,
        planes: &mut [Vec<f32>],
        get: impl Fn(&[u8], usize) -> u16,
    ) {
        let (x0, y0) = (bx * self.block_w, by * self.block_h);
        let cx0 = window.col.max(x0);
        let cx1 = (window.col + window.width)
            .min(x0 + self.block_w)
            .min(self.width);
        let cy0 = window.row.max(y0);
        let cy1 = (window.row + window.height)
            .min(y0 + self.block_h)
            .min(self.height);
        let px = self.bands * self.bytes_per_sample;
        let row_len = self.block_w * px;
        // Horizontal differencing wraps at the sample's width; sums run in u16 and are
        // cut to 8 bits on the way out for byte samples.
        let mask: u16 = if self.bytes_per_sample == 1 {
            0xFF
        } else {
            0xFFFF
        };
        let mut pix = vec![[0u16; NB]; cx1 - cx0];
        for y in cy0..cy1 {
            let row = &raw[(y - y0) * row_len..(y - y0 + 1) * row_len];
            // Pixel chunks make the sample offsets constant: no bounds checks in the loops.
            let pixels = row.chunks_exact(px);
            if self.predictor {
                let mut acc = [0u16; NB];
                let mut it = pixels.take(cx1 - x0);
                for p in it.by_ref().take(cx0 - x0) {
                    for (l, a) in acc.iter_mut().enumerate() {
                        *a = a.wrapping_add(get(p, first + l));
                    }
                }
                for (t, p) in pix.iter_mut().zip(it) {
                    for (l, a) in acc.iter_mut().enumerate() {
                        *a = a.wrapping_add(get(p, first + l));
                    }
                    *t = acc;
                }
            } else {
                for (t, p) in pix.iter_mut().zip(pixels.skip(cx0 - x0)) {
                    for (l, v) in t.iter_mut().enumerate() {
                        *v = get(p, first + l);
                    }
                }
            }
            let dst_row = (y - window.row) * window.width;
            for &(k, lane) in want {
                let dst = &mut planes[k][dst_row + cx0 - window.col..dst_row + cx1 - window.col];
                for (d, t) in dst.iter_mut().zip(&pix) {
                    *d = (t[lane] & mask) as f32;
                }
            }
        }
    }
}

/// What [`DirectLayout::scatter_fixed`] decodes: block (`bx`, `by`) inflated in `raw`, the
/// part inside `window`, samples `first ..` of each pixel, and which (plane, lane) to write.
struct Lanes<'a> {
    bx: usize,
    by: usize,
    raw: &'a [u8],
    window: &'a Window,
    first: usize,
    want: &'a [(usize, usize)],
}

/// Inflated blocks kept per thread (bytes; at least seven blocks unless set to 0).
static CACHE_BYTES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(24 << 20);

/// Set how many bytes of whole inflated blocks each thread keeps (default 24 MiB). Tests
/// set it to 0 so that halo reads take the edge-row paths even on small files.
#[doc(hidden)]
pub fn set_block_cache_bytes(n: usize) {
    CACHE_BYTES.store(n, std::sync::atomic::Ordering::Relaxed);
}
/// A halo that reaches at most this many rows into a block above or below is served
/// from those rows alone (halos are a few pixels: 3 for the automatic method at 10 m).
const EDGE_ROWS: usize = 8;
/// Last rows of whole-inflated blocks, kept for the window row below (bytes, all files).
const TAIL_BYTES: usize = 64 << 20;

/// Last [`EDGE_ROWS`] rows of blocks inflated whole, by (file, block col, block row), with
/// their insertion order so the oldest go first once [`TAIL_BYTES`] is reached. Windows
/// are computed a row at a time, top to bottom, so the row below finds them here.
struct Tails {
    map: HashMap<(PathBuf, usize, usize), Vec<u8>>,
    order: std::collections::VecDeque<(PathBuf, usize, usize)>,
    bytes: usize,
}

impl Tails {
    fn insert(&mut self, k: (PathBuf, usize, usize), v: Vec<u8>) {
        if self.map.contains_key(&k) {
            return;
        }
        // Window rows go top to bottom: a tail two block rows above the newest one of the
        // same file has served its window row. (If it is wanted after all, the block is
        // inflated whole again: slower, never different.)
        let row = k.2;
        if row >= 2 && self.order.iter().any(|o| o.0 == k.0 && o.2 + 2 <= row) {
            let map = &mut self.map;
            let bytes = &mut self.bytes;
            self.order.retain(|o| {
                let stale = o.0 == k.0 && o.2 + 2 <= row;
                if stale {
                    if let Some(v) = map.remove(o) {
                        *bytes -= v.len();
                    }
                }
                !stale
            });
        }
        self.bytes += v.len();
        self.order.push_back(k.clone());
        self.map.insert(k, v);
        while self.bytes > TAIL_BYTES {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some(v) = self.map.remove(&old) {
                self.bytes -= v.len();
            }
        }
    }
}

static TAILS: std::sync::LazyLock<std::sync::Mutex<Tails>> = std::sync::LazyLock::new(|| {
    std::sync::Mutex::new(Tails {
        map: HashMap::new(),
        order: std::collections::VecDeque::new(),
        bytes: 0,
    })
});

struct Scratch {
    files: HashMap<PathBuf, File>,
    compressed: Vec<u8>,
    raw: Vec<u8>,
    /// (file, block col, block row, inflated bytes), oldest first.
    cache: std::collections::VecDeque<(PathBuf, usize, usize, Vec<u8>)>,
    inflater: libdeflater::Decompressor,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch {
        files: HashMap::new(),
        cache: std::collections::VecDeque::new(),
        compressed: Vec::new(),
        raw: Vec::new(),
        inflater: libdeflater::Decompressor::new(),
    });
}

/// Close this thread's files (end of a run).
pub fn close_thread_files() {
    SCRATCH.with(|s| {
        let mut s = s.borrow_mut();
        s.files.clear();
        s.cache.clear();
        s.compressed = Vec::new();
        s.raw = Vec::new();
    });
    let mut tails = TAILS.lock().unwrap_or_else(|p| p.into_inner());
    tails.map.clear();
    tails.order.clear();
    tails.bytes = 0;
}

impl DirectLayout {
    /// Human-readable name of the decode path, for the manifest.
    /// Blocks span the full width (strips, or full-width tiles): windows should too, or
    /// every window would inflate whole strips again.
    pub fn full_width_blocks(&self) -> bool {
        self.block_w >= self.width
    }

    pub fn describe(&self) -> String {
        format!(
            "direct ({}, predictor {}, {}x{} blocks)",
            if self.compression == Compression::Deflate {
                "deflate"
            } else {
                "uncompressed"
            },
            if self.predictor { 2 } else { 1 },
            self.block_w,
            self.block_h
        )
    }
}
