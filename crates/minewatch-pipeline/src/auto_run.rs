//! The automatic method in a run: fit the normalisation and the threshold on a fixed set
//! of sample blocks (independent of `--window`, so results do not depend on it), then
//! score each window with a halo. See `minewatch_detect::auto` for the method.

use crate::detect_run::WindowOut;
use crate::error::PipelineError;
use crate::inputs::DatedImage;
use crate::params::DetectParams;
use minewatch_core::{grid::window_rows, BandRole, Grid, Numbering, SensorProfile, Window};
use minewatch_detect::auto::{
    cva_window, fit, fit_gains, fit_with_gains, otsu, robust_sigma, score_window, AutoModel, Cap,
    Neighbourhood,
};
use minewatch_detect::cloud::{Reflectance, Screen, ScreenBands};
use minewatch_detect::{Kernel, Planes};
use minewatch_raster::read_window;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Sample blocks of 256 × 256 pixels, at most this many, evenly spread.
const SAMPLE_BLOCKS: usize = 48;
const SAMPLE_BLOCK_SIDE: usize = 256;
/// Fewer valid sampled pixels than this: sample every block, or give up.
const MIN_SAMPLE: usize = 1000;
/// A share of sampled pixels repeated from the earlier date worth a warning.
const REPEATED_WARN: f64 = 0.05;
/// At most this many pixels go into the normalisation fit.
const FIT_PIXELS: usize = 400_000;
/// Threshold = median + K robust sigma of the scene's score.
pub const K_SIGMA: f64 = 3.0;
/// Patches smaller than this many minimum mapping units must score higher to stay.
pub const SMALL_PATCH_MMUS: u64 = 3;
pub const SMALL_PATCH_FACTOR: f64 = 1.5;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoSetup {
    /// `auto` (normalised Mahalanobis, median + 3 sigma) or `cva` (raw magnitude, Otsu).
    pub score: String,
    pub roles: Vec<BandRole>,
    /// The fitted normalisation (`auto` only).
    pub model: Option<AutoModel>,
    /// Ground pixel size (m, square root of the ellipsoidal pixel area at the centre).
    pub pixel_m: f64,
    /// The score's neighbourhoods in pixels for that size (`auto` only).
    pub neighbourhood: Option<Neighbourhood>,
    pub score_median: f64,
    pub score_sigma: f64,
    pub threshold: f64,
    pub sample_blocks: usize,
    pub fit_pixels: usize,
    /// The dates are identical on every pixel (a copied file, a repeated
    /// acquisition): there is no no-change variability to measure change against, and
    /// no change; the pair gets no patches rather than an error that would stop a
    /// multi-date run.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub identical: bool,
    /// Share of the sampled valid pixels equal on both dates in every band: no new
    /// observation there (a mosaic reusing the earlier scene), left out of the fit and
    /// the threshold, which measure how re-observed ground varies.
    #[serde(default)]
    pub repeated_share: f64,
    /// The cloud and shadow screen (`minewatch_detect::cloud`): each date's scale to
    /// reflectance, when both are known and the bands allow it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screen: Option<Screen>,
    /// Why the screen is off, when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screen_skipped: Option<String>,
}

/// Channels the automatic methods carry after the kernel's: score, cloud, shadow.
pub const AUTO_CHANNELS: usize = 3;

/// Median blue reflectance of a scene's sample must lie in this range, or the scale that
/// made it is taken to be wrong and the screen stays off (a wrong scale would screen
/// every pixel or none, silently).
const PLAUSIBLE_BLUE: (f64, f64) = (0.005, 0.5);

/// How `img`'s values may become reflectance, most likely first (the screen takes the
/// first the scene's median blue finds plausible), or why that is unknown.
fn reflectance_of(img: &DatedImage, params: &DetectParams) -> Result<Vec<Reflectance>, String> {
    if let Some(scale) = params.reflectance_scale {
        return Ok(vec![Reflectance {
            scale,
            offset: params.reflectance_offset.unwrap_or(0.0),
        }]);
    }
    let used: Vec<&minewatch_raster::image::BandInfo> = img
        .profile
        .bands
        .iter()
        .filter_map(|(_, b)| img.info.bands.get(b - 1))
        .collect();
    // The file states its quantification (the Sentinel-2 convention): values read at
    // scale 1 are digital numbers on that scale, any offset (the metadata's
    // `BOA_ADD_OFFSET` included, see `ImageInfo::quantification`) already removed by the
    // reader, as for the indices.
    if let Some((q, _)) = img.info.quantification {
        if !used.is_empty() && used.iter().all(|b| b.scale == 1.0) {
            return Ok(vec![Reflectance {
                scale: 1.0 / q,
                offset: 0.0,
            }]);
        }
    }
    // The reader has applied the file's own scale and offset: values are physical.
    if !used.is_empty() && used.iter().all(|b| b.scale != 1.0 || b.offset != 0.0) {
        return Ok(vec![Reflectance::UNIT]);
    }
    // Landsat Collection 2 Level-2 surface reflectance (bands named SR_B<n>) is stored as
    // DN × 2.75e-5 − 0.2 (USGS product guide), on every Landsat sensor.
    let c2_sr = !used.is_empty()
        && used.iter().all(|b| {
            b.description
                .trim()
                .get(..4)
                .is_some_and(|p| p.eq_ignore_ascii_case("sr_b"))
        });
    if c2_sr {
        return Ok(vec![Reflectance::LANDSAT_C2_SR]);
    }
    // Sentinel-2 L1C / L2A digital numbers are reflectance × 10000 (B8A names the stack,
    // as do names read in Sentinel-2 numbering: a `B2,B3,B4,B8,B11,B12` export has no B8A
    // but its profile came from those names); `bgrns` is the peers' synthetic reflectance
    // × 10000.
    let s2_named = img
        .info
        .bands
        .iter()
        .any(|b| b.description.trim().eq_ignore_ascii_case("b8a"))
        || read_as_sentinel2_names(img);
    if s2_named
        || matches!(
            img.profile.name.as_str(),
            "sentinel2" | "sentinel2-l2a" | "bgrns"
        )
    {
        // Floating-point stacks are as often reflectance itself (exports of 0–1 values;
        // a reviewer's lost their screen): the two ranges cannot both be plausible.
        return Ok(if is_float(&used) {
            vec![Reflectance::TIMES_10000, Reflectance::UNIT]
        } else {
            vec![Reflectance::TIMES_10000]
        });
    }
    Err(format!(
        "{}: digital numbers of unknown scale (profile {}, no QUANTIFICATION_VALUE or band scale in the file); patches under clouds and shadows are kept; to screen them, give reflectance_scale in a params file (0.0001 for Sentinel-2 digital numbers, reflectance × 10000; docs/config.md, \"The detect params file\")",
        img.source.display(),
        img.profile.name
    ))
}

/// Whether the band names decide Sentinel-2 numbering and the profile's bands are the
/// ones those names give (not a profile chosen by name or count over other names).
fn read_as_sentinel2_names(img: &DatedImage) -> bool {
    let desc: Vec<String> = img
        .info
        .bands
        .iter()
        .map(|b| b.description.clone())
        .collect();
    if Numbering::of(&desc) != Some(Numbering::Sentinel2) {
        return false;
    }
    let (named, _) = SensorProfile::described_roles_as(&desc, Some(Numbering::Sentinel2));
    !img.profile.bands.is_empty() && img.profile.bands.iter().all(|rb| named.contains(rb))
}

/// The pair's screen, or why there is none.
fn screen_for(
    a: &DatedImage,
    b: &DatedImage,
    roles: &[BandRole],
    params: &DetectParams,
    sample: (&[Vec<f64>], &[Vec<f64>]),
) -> Result<Screen, String> {
    if !params.cloud_screen {
        return Err("cloud_screen = false in the params".into());
    }
    let need = [
        BandRole::Blue,
        BandRole::Green,
        BandRole::Red,
        BandRole::Nir,
        BandRole::Swir1,
    ];
    if let Some(r) = need.iter().find(|r| !roles.contains(r)) {
        return Err(format!(
            "no {r} band in both dates: clouds cannot be told from bright bare ground without blue, green, red, NIR and SWIR1"
        ));
    }
    let blue = roles.iter().position(|r| *r == BandRole::Blue).unwrap_or(0);
    let mut chosen = [Reflectance::UNIT; 2];
    for (k, (img, t)) in [(a, sample.0), (b, sample.1)].into_iter().enumerate() {
        let median = robust_sigma(&t[blue]).0;
        let candidates = reflectance_of(img, params).inspect_err(|why| {
            // Patches under clouds and shadows stay in: worth a line where the user looks.
            eprintln!("warning: cloud screen off: {why}");
        })?;
        let plausible = |r: &Reflectance| {
            (PLAUSIBLE_BLUE.0..=PLAUSIBLE_BLUE.1).contains(&(median * r.scale + r.offset))
        };
        chosen[k] = match candidates.iter().find(|r| plausible(r)) {
            Some(r) => *r,
            None => {
                let r = candidates[0];
                let why = format!(
                    "{}: median blue reflectance {:.4} on the sample is implausible (scale {} offset {}); check reflectance_scale",
                    img.source.display(),
                    median * r.scale + r.offset,
                    r.scale,
                    r.offset
                );
                // A scale that makes no sense is likely a wrong file or setting: say it
                // where the user looks, not only in the manifest.
                eprintln!("warning: cloud screen off: {why}");
                return Err(why);
            }
        };
    }
    Ok(Screen {
        before: chosen[0],
        after: chosen[1],
    })
}

/// Whether every band used is stored as floating point.
fn is_float(used: &[&minewatch_raster::image::BandInfo]) -> bool {
    !used.is_empty()
        && used
            .iter()
            .all(|b| b.data_type.starts_with("Float") || b.data_type.starts_with("CFloat"))
}

/// The bands the score uses: every reflective band the profiles of both dates share.
fn score_roles(a: &DatedImage, b: &DatedImage) -> Vec<BandRole> {
    BandRole::ALL
        .into_iter()
        .filter(|r| a.profile.has(*r) && b.profile.has(*r))
        .collect()
}

fn sample_blocks(grid: &Grid) -> Vec<Window> {
    let all: Vec<Window> = window_rows(grid.width, grid.height, SAMPLE_BLOCK_SIDE)
        .into_iter()
        .flatten()
        .collect();
    if all.len() <= SAMPLE_BLOCKS {
        return all;
    }
    (0..SAMPLE_BLOCKS)
        .map(|k| all[k * all.len() / SAMPLE_BLOCKS])
        .collect()
}

/// Band planes of both dates for one window, and the joint validity mask.
struct PairPlanes {
    t1: Vec<Vec<f32>>,
    t2: Vec<Vec<f32>>,
    valid: Vec<u8>,
}

fn read_pair(
    a: &DatedImage,
    b: &DatedImage,
    roles: &[BandRole],
    w: &Window,
) -> Result<PairPlanes, PipelineError> {
    let mut valid = vec![1u8; w.len()];
    if let Some(m) = &a.mask {
        minewatch_raster::reader::apply_mask(m, w, &mut valid)?;
    }
    let mut t1 = read_window(&a.info, &a.profile, roles, w, &mut valid)?;
    let mut t2 = read_window(&b.info, &b.profile, roles, w, &mut valid)?;
    Ok(PairPlanes {
        t1: roles.iter().map(|r| t1.take(*r)).collect(),
        t2: roles.iter().map(|r| t2.take(*r)).collect(),
        valid,
    })
}

impl Drop for PairPlanes {
    fn drop(&mut self) {
        minewatch_raster::reader::recycle_planes(self.t1.drain(..).chain(self.t2.drain(..)));
    }
}

impl AutoSetup {
    /// Halo (pixels) each window is read with: the score's, and the cloud screen's reach
    /// when it is on.
    pub fn halo(&self) -> usize {
        let h = self.neighbourhood.map_or(0, |n| n.halo());
        if self.screen.is_some() {
            h.max(minewatch_detect::cloud::CLOUD_REACH)
        } else {
            h
        }
    }
}

/// The window grown by the halo, clipped to the grid, and the inner window's offset in it.
fn with_halo(w: &Window, grid: &Grid, halo: usize) -> (Window, usize, usize) {
    let c0 = w.col.saturating_sub(halo);
    let r0 = w.row.saturating_sub(halo);
    let c1 = (w.col + w.width + halo).min(grid.width);
    let r1 = (w.row + w.height + halo).min(grid.height);
    (
        Window {
            col: c0,
            row: r0,
            width: c1 - c0,
            height: r1 - r0,
        },
        w.col - c0,
        w.row - r0,
    )
}

/// The score of planes read for window `big` (its halo included).
/// The fit's samples of one block, date 1 taken at the best match of each sampled
/// date-2 pixel (`picks`, indices in `big`) within `radius`: the smallest Mahalanobis
/// length under `model`, the pixel itself on a tie, then raster order.
fn matched_samples(
    p: &PairPlanes,
    big: &Window,
    picks: impl Iterator<Item = usize>,
    model: &AutoModel,
    radius: usize,
) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let nb = p.t1.len();
    let (w, h) = (big.width as isize, big.height as isize);
    let r = radius as isize;
    let (mut s1, mut s2) = (vec![Vec::new(); nb], vec![Vec::new(); nb]);
    let mut d = vec![0.0f64; nb];
    let diff = |i: usize, j: usize, d: &mut [f64]| {
        for (b, x) in d.iter_mut().enumerate() {
            *x = p.t2[b][i] as f64 * model.gains[b] + model.offsets[b] - p.t1[b][j] as f64;
        }
        model.mahalanobis2(d)
    };
    for i in picks {
        let (x, y) = ((i as isize) % w, (i as isize) / w);
        let mut best = (diff(i, i, &mut d), i);
        for yy in (y - r).max(0)..=(y + r).min(h - 1) {
            for xx in (x - r).max(0)..=(x + r).min(w - 1) {
                let j = (yy * w + xx) as usize;
                if j == i || p.valid[j] == 0 {
                    continue;
                }
                let q = diff(i, j, &mut d);
                if q < best.0 {
                    best = (q, j);
                }
            }
        }
        for b in 0..nb {
            s1[b].push(p.t1[b][best.1] as f64);
            s2[b].push(p.t2[b][i] as f64);
        }
    }
    (s1, s2)
}

fn score_planes(
    planes: &PairPlanes,
    model: Option<(&AutoModel, Neighbourhood)>,
    big: &Window,
    cap: Cap,
    score: &mut Vec<f32>,
) {
    let r1: Vec<&[f32]> = planes.t1.iter().map(|v| v.as_slice()).collect();
    let r2: Vec<&[f32]> = planes.t2.iter().map(|v| v.as_slice()).collect();
    match model {
        Some((m, hood)) => score_window(
            m,
            hood,
            &r1,
            &r2,
            &planes.valid,
            big.width,
            big.height,
            cap,
            score,
        ),
        None => cva_window(&r1, &r2, &planes.valid, score),
    }
}

/// A sample block read with the halo its score needs: the planes of the grown window
/// `big` and the block's offset in it.
struct SampleBlock {
    w: Window,
    big: Window,
    ox: usize,
    oy: usize,
    planes: PairPlanes,
}

impl SampleBlock {
    /// Indices (in `big`) of the block's own pixels, in raster order.
    fn inner(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.w.height).flat_map(move |r| {
            let s = (self.oy + r) * self.big.width + self.ox;
            s..s + self.w.width
        })
    }

    /// Free the planes now (not into this thread's spare pool: a pool sized for window
    /// planes would keep up to 16 of these after the fit).
    fn discard(mut self) {
        self.planes.t1.clear();
        self.planes.t2.clear();
    }
}

/// Where the fit's three passes over the sample blocks (count, sample, score) get their
/// planes: the 48 evenly spread blocks are read once and held (5 bands of two dates on
/// 262² grown blocks: ~130 MB, freed before the first window, below the window phase's
/// peak); when a small footprint makes every block of the scene a sample block, each pass
/// reads them again instead, so memory stays bounded by a block per thread.
enum SampleSource {
    Held(Vec<SampleBlock>),
    Streamed(Vec<Window>),
}

impl SampleSource {
    fn len(&self) -> usize {
        match self {
            Self::Held(b) => b.len(),
            Self::Streamed(w) => w.len(),
        }
    }

    /// `f` on every block, in block order, in parallel.
    fn map<T: Send>(
        &self,
        read: &(dyn Fn(&Window) -> Result<SampleBlock, PipelineError> + Sync),
        f: impl Fn(usize, &SampleBlock) -> T + Sync + Send,
    ) -> Result<Vec<T>, PipelineError> {
        match self {
            Self::Held(blocks) => Ok(blocks
                .par_iter()
                .enumerate()
                .map(|(k, b)| f(k, b))
                .collect()),
            Self::Streamed(ws) => ws
                .par_iter()
                .enumerate()
                .map(|(k, w)| {
                    let b = read(w)?;
                    let t = f(k, &b);
                    b.discard();
                    Ok(t)
                })
                .collect(),
        }
    }

    fn discard(self) {
        if let Self::Held(blocks) = self {
            blocks.into_iter().for_each(SampleBlock::discard);
        }
    }
}

/// Ground pixel size in metres: the square root of the ellipsoidal area of a pixel at
/// the grid's centre (a geographic grid's degrees become metres at its latitude).
fn ground_pixel_size(grid: &Grid) -> Result<f64, String> {
    let g = crate::georef::Georef::new(grid)?;
    let a = g.pixel_area_at(grid, grid.width as f64 / 2.0, grid.height as f64 / 2.0)?;
    Ok(a.sqrt())
}

/// The part of `v` (a plane of window `big`) that is window `w`, at offset (`ox`, `oy`) in
/// `big`, into `out` (replacing what it held).
fn crop_into<T: Copy>(v: &[T], big: &Window, ox: usize, oy: usize, w: &Window, out: &mut Vec<T>) {
    out.clear();
    for r in 0..w.height {
        let s = (oy + r) * big.width + ox;
        out.extend_from_slice(&v[s..s + w.width]);
    }
}

/// Fit normalisation and threshold for one date pair.
pub fn fit_pair(
    a: &DatedImage,
    b: &DatedImage,
    grid: &Grid,
    cva: bool,
    params: &DetectParams,
) -> Result<AutoSetup, PipelineError> {
    let roles = score_roles(a, b);
    if roles.len() < 3 {
        return Err(PipelineError::Input(format!(
            "{} / {}: the automatic method needs at least 3 shared bands, found {}",
            a.source.display(),
            b.source.display(),
            roles.len()
        )));
    }
    // Each sample block is read once, with the halo the score needs, and held for the
    // three passes (count, sample, score): reading them per pass inflated the same tiles
    // three times. The counts and the sample come from the block's own pixels, which read
    // the same with or without the halo (validity and values are per pixel).
    let pixel_size = ground_pixel_size(grid);
    let hood = match (&pixel_size, cva) {
        (Ok(m), false) => Some(Neighbourhood::for_pixel_size(*m)),
        _ => None,
    };
    let halo = hood.map_or(0, |n| n.halo());
    let read = |w: &Window| -> Result<SampleBlock, PipelineError> {
        let (big, ox, oy) = with_halo(w, grid, halo);
        Ok(SampleBlock {
            w: *w,
            big,
            ox,
            oy,
            planes: read_pair(a, b, &roles, &big)?,
        })
    };
    // A pixel equal on both dates in every band was not observed again (a mosaic that
    // reused the earlier scene there, a copied file): its zero difference says nothing
    // about how re-observed, unchanged ground varies, and a large share of them collapsed
    // the fit (every sampled block copied: no patch in the scene; half copied: a
    // singular covariance, exit 1; less: a threshold five times too high).
    let repeated = |p: &PairPlanes, i: usize| (0..roles.len()).all(|k| p.t1[k][i] == p.t2[k][i]);
    // Per block: valid pixels, and those of them observed again.
    let summarise = |_: usize, s: &SampleBlock| -> (usize, usize) {
        let p = &s.planes;
        s.inner()
            .filter(|&i| p.valid[i] != 0)
            .fold((0, 0), |(n, o), i| (n + 1, o + !repeated(p, i) as usize))
    };
    let mut source = SampleSource::Held(
        sample_blocks(grid)
            .par_iter()
            .map(read)
            .collect::<Result<_, _>>()?,
    );
    let mut summary: Vec<(usize, usize)> = source.map(&read, summarise)?;
    // A small footprint can miss every evenly spread sample block, and a mosaic can have
    // reused the earlier scene on all of them: then sample every block.
    if summary.iter().map(|s| s.1).sum::<usize>() < MIN_SAMPLE {
        let all: Vec<Window> = window_rows(grid.width, grid.height, SAMPLE_BLOCK_SIDE)
            .into_iter()
            .flatten()
            .collect();
        if all.len() > source.len() {
            source.discard();
            source = SampleSource::Streamed(all);
            summary = source.map(&read, summarise)?;
        }
    }
    let n_blocks = source.len();
    let total_valid: usize = summary.iter().map(|s| s.0).sum();
    let observed: usize = summary.iter().map(|s| s.1).sum();
    if total_valid == 0 {
        return Err(PipelineError::Input(format!(
            "{} / {}: no pixel is valid in both dates (nodata or masked everywhere in at least one); check the files' nodata values and that the dates cover the same ground",
            a.source.display(),
            b.source.display()
        )));
    }
    let repeated_share = 1.0 - observed as f64 / total_valid as f64;
    if observed == 0 {
        source.discard();
        return Ok(AutoSetup {
            score: if cva { "cva" } else { "auto" }.into(),
            roles,
            model: None,
            pixel_m: pixel_size.unwrap_or(0.0),
            neighbourhood: None,
            score_median: 0.0,
            score_sigma: 0.0,
            threshold: 0.0,
            sample_blocks: n_blocks,
            fit_pixels: 0,
            identical: true,
            repeated_share,
            screen: None,
            screen_skipped: Some("identical dates".into()),
        });
    }
    // Every stride-th valid pixel in block order: block k starts at the valid pixels of
    // the blocks before it.
    if repeated_share >= REPEATED_WARN {
        eprintln!(
            "warning: {} / {}: {:.0} % of the sampled pixels are equal on both dates in every band: {} repeats {} there (a mosaic reusing the earlier scene?); no change can be seen there, and the fit uses the other pixels",
            a.source.display(),
            b.source.display(),
            100.0 * repeated_share,
            b.source.display(),
            a.source.display()
        );
    }
    let stride = observed.div_ceil(FIT_PIXELS).max(1);
    let starts: Vec<usize> = summary
        .iter()
        .scan(0usize, |acc, s| {
            let k0 = *acc;
            *acc += s.1;
            Some(k0)
        })
        .collect();
    type Sample = (Vec<Vec<f64>>, Vec<Vec<f64>>);
    let samples: Vec<Sample> = source.map(&read, |block, s| {
        let p = &s.planes;
        let (mut s1, mut s2) = (vec![Vec::new(); roles.len()], vec![Vec::new(); roles.len()]);
        let valid = s.inner().filter(|&i| p.valid[i] != 0 && !repeated(p, i));
        for (k, i) in (starts[block]..).zip(valid) {
            if k.is_multiple_of(stride) {
                for bnd in 0..roles.len() {
                    s1[bnd].push(p.t1[bnd][i] as f64);
                    s2[bnd].push(p.t2[bnd][i] as f64);
                }
            }
        }
        (s1, s2)
    })?;
    let (mut t1, mut t2) = (vec![Vec::new(); roles.len()], vec![Vec::new(); roles.len()]);
    for (s1, s2) in samples {
        for bnd in 0..roles.len() {
            t1[bnd].extend_from_slice(&s1[bnd]);
            t2[bnd].extend_from_slice(&s2[bnd]);
        }
    }
    let fit_pixels = t1[0].len();
    let pixel_m = pixel_size.map_err(|e| {
        PipelineError::Input(format!(
            "{}: cannot tell the ground size of a pixel: {e}",
            a.source.display()
        ))
    })?;
    // The textbook baseline stays unscreened.
    let (screen, screen_skipped) = if cva {
        (None, Some("the cva baseline is not screened".to_string()))
    } else {
        match screen_for(a, b, &roles, params, (&t1, &t2)) {
            Ok(s) => (Some(s), None),
            Err(why) => (None, Some(why)),
        }
    };
    let fit_err = |e: String| {
        PipelineError::Input(format!(
            "{} / {}: {e}",
            a.source.display(),
            b.source.display()
        ))
    };
    let model = match (cva, hood) {
        (true, _) => None,
        (false, None) => Some(fit(&t1, &t2).map_err(fit_err)?),
        (false, Some(h)) => {
            // The gains again, each sampled date-2 pixel paired with its best match in
            // date 1 within the score's tolerance: a shift between the dates pairs a
            // pixel with its neighbour's ground, which bent the gains (one 10 m pixel
            // moved Hong Kong's blue gain 1.02 → 1.09) and with them every score. The
            // covariance stays that of co-located pixels with those gains: the score's
            // own match forgives the shift, not the whitening.
            let first = fit_gains(&t1, &t2).map_err(fit_err)?;
            let m0 = fit_with_gains(
                &t1,
                &t2,
                first.gains.clone(),
                first.offsets.clone(),
                &first.among,
            )
            .map_err(fit_err)?;
            let matched: Vec<Sample> = source.map(&read, |block, s| {
                let p = &s.planes;
                // The co-located sample's pixels, in its order.
                let picks = (starts[block]..)
                    .zip(s.inner().filter(|&i| p.valid[i] != 0 && !repeated(p, i)))
                    .filter(|(k, _)| k.is_multiple_of(stride))
                    .map(|(_, i)| i);
                matched_samples(p, &s.big, picks, &m0, h.match_radius)
            })?;
            let (mut m1, mut m2) = (vec![Vec::new(); roles.len()], vec![Vec::new(); roles.len()]);
            for (a1, a2) in matched {
                for bnd in 0..roles.len() {
                    m1[bnd].extend_from_slice(&a1[bnd]);
                    m2[bnd].extend_from_slice(&a2[bnd]);
                }
            }
            let g = fit_gains(&m1, &m2).map_err(fit_err)?;
            Some(fit_with_gains(&t1, &t2, g.gains, g.offsets, &first.among).map_err(fit_err)?)
        }
    };
    let scores: Vec<Vec<f64>> = source.map(&read, |_, s| {
        let mut sc = Vec::new();
        // The threshold is set from the plain mean's no-change statistics.
        score_planes(
            &s.planes,
            model.as_ref().zip(hood),
            &s.big,
            Cap::None,
            &mut sc,
        );
        s.inner()
            .filter(|&i| !repeated(&s.planes, i))
            .map(|i| sc[i])
            .filter(|v| v.is_finite())
            .map(|v| v as f64)
            .collect()
    })?;
    source.discard();
    let all: Vec<f64> = scores.into_iter().flatten().collect();
    let (med, sig) = robust_sigma(&all);
    let threshold = if cva { otsu(&all) } else { med + K_SIGMA * sig };
    // A flat score (identical dates, a constant fill) has no change to separate: refuse
    // rather than flag every pixel.
    if all.len() < MIN_SAMPLE
        || sig.is_nan()
        || sig <= 0.0
        || threshold.is_nan()
        || threshold <= med
    {
        return Err(PipelineError::Input(format!(
            "{} / {}: the change score has no spread on the {} sampled pixels (identical dates or a constant fill?); nothing can be told apart, use --method rule",
            a.source.display(),
            b.source.display(),
            all.len()
        )));
    }
    Ok(AutoSetup {
        score: if cva { "cva" } else { "auto" }.into(),
        threshold,
        roles,
        model,
        pixel_m,
        neighbourhood: hood,
        score_median: med,
        score_sigma: sig,
        sample_blocks: n_blocks,
        fit_pixels,
        identical: false,
        repeated_share,
        screen,
        screen_skipped,
    })
}

/// One window of the automatic method: mask = score ≥ threshold; channels = the kernel's
/// statistic channels, then the score, the cloud flags and the shadow flags
/// ([`AUTO_CHANNELS`]).
/// A worker's buffers for [`compute_window`], reused from window to window: fresh
/// halo-sized planes cost a page fault and a page clear per 4 KiB (6 % of an automatic
/// run's CPU when each window allocated its own).
#[derive(Default)]
struct Scratch {
    score: Vec<f32>,
    /// Date 2 normalised onto date 1's scale, halo-sized.
    norm2: Vec<Vec<f32>>,
    /// Both dates' planes cut to the window (date 2 normalised).
    inner1: Vec<Vec<f32>>,
    inner2: Vec<Vec<f32>>,
    cloud: Vec<f32>,
    shadow: Vec<f32>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = Default::default();
}

/// Free this thread's window buffers (the pair's windows are done).
pub(crate) fn release_thread_buffers() {
    SCRATCH.with(|s| *s.borrow_mut() = Scratch::default());
}

pub(crate) fn compute_window(
    a: &DatedImage,
    b: &DatedImage,
    kernel: &Kernel,
    setup: &AutoSetup,
    window: &Window,
    grid: &Grid,
) -> Result<WindowOut, PipelineError> {
    SCRATCH.with(|s| compute_window_with(&mut s.borrow_mut(), a, b, kernel, setup, window, grid))
}

fn compute_window_with(
    sc: &mut Scratch,
    a: &DatedImage,
    b: &DatedImage,
    kernel: &Kernel,
    setup: &AutoSetup,
    window: &Window,
    grid: &Grid,
) -> Result<WindowOut, PipelineError> {
    let model = setup.model.as_ref().zip(setup.neighbourhood);
    let halo = setup.halo().max(model.map_or(0, |(_, n)| n.halo()));
    let (big, ox, oy) = with_halo(window, grid, halo);
    let planes = read_pair(a, b, &setup.roles, &big)?;
    score_planes(&planes, model, &big, Cap::OwnScore, &mut sc.score);
    let mut out = WindowOut::recycled(window);
    crop_into(&planes.valid, &big, ox, oy, window, &mut out.valid_mask);
    // Statistics, change types and the screen see date 2 on date 1's radiometric scale,
    // as the score does: normalised once, on the halo window.
    let normalised = match &setup.model {
        Some(m) => {
            sc.norm2.resize_with(planes.t2.len(), Vec::new);
            for (k, (p, n)) in planes.t2.iter().zip(sc.norm2.iter_mut()).enumerate() {
                let (g, o) = (m.gains[k] as f32, m.offsets[k] as f32);
                n.clear();
                n.extend(p.iter().map(|v| *v * g + o));
            }
            true
        }
        None => false,
    };
    let t2n: &[Vec<f32>] = if normalised { &sc.norm2 } else { &planes.t2 };
    // Cloud and shadow flags on the halo window, so that opening the clouds and fencing
    // them with their moat is exact for every inner pixel (CLOUD_REACH ≤ halo).
    let screened = match (&setup.screen, &setup.model) {
        (Some(screen), Some(_)) => {
            let at = |r: BandRole| {
                setup
                    .roles
                    .iter()
                    .position(|x| *x == r)
                    .expect("screened band")
            };
            let ix = [
                at(BandRole::Blue),
                at(BandRole::Green),
                at(BandRole::Red),
                at(BandRole::Nir),
                at(BandRole::Swir1),
            ];
            let (c, sh) = (&mut sc.cloud, &mut sc.shadow);
            screen.flags(
                &ScreenBands::select(&planes.t1, ix),
                &ScreenBands::select(&planes.t2, ix),
                &ScreenBands::select(t2n, ix),
                &planes.valid,
                c,
                sh,
            );
            let moat = minewatch_detect::cloud::open_and_moat(c, big.width, big.height);
            for r in 0..window.height {
                let s = (oy + r) * big.width + ox;
                let v = &mut out.valid_mask[r * window.width..(r + 1) * window.width];
                for (v, &m) in v.iter_mut().zip(&moat[s..s + window.width]) {
                    if m {
                        *v = 0;
                    }
                }
            }
            true
        }
        _ => false,
    };
    sc.inner1.resize_with(planes.t1.len(), Vec::new);
    sc.inner2.resize_with(t2n.len(), Vec::new);
    for (p, i) in planes.t1.iter().zip(sc.inner1.iter_mut()) {
        crop_into(p, &big, ox, oy, window, i);
    }
    for (p, i) in t2n.iter().zip(sc.inner2.iter_mut()) {
        crop_into(p, &big, ox, oy, window, i);
    }
    // The halo-sized planes are done with: back to the reader's pool for the next window.
    drop(planes);
    let (mut q1, mut q2) = (Planes::default(), Planes::default());
    for (k, r) in setup.roles.iter().enumerate() {
        q1.set(*r, &sc.inner1[k]);
        q2.set(*r, &sc.inner2[k]);
    }
    // A recycled output still holds its score, cloud and shadow channels (last): keep
    // their buffers.
    // (A spare from another run may carry any number of channels: take what is there
    // past the kernel's, then make it exactly three.)
    let mut extra: Vec<Vec<f32>> = out
        .channels
        .split_off(kernel.channels.len().min(out.channels.len()));
    extra.truncate(AUTO_CHANNELS);
    extra.resize_with(AUTO_CHANNELS, Vec::new);
    kernel.run(&q1, &q2, &out.valid_mask, &mut out.mask, &mut out.channels);
    let [score, cloud, shadow] = &mut extra[..] else {
        unreachable!("three automatic channels")
    };
    crop_into(&sc.score, &big, ox, oy, window, score);
    let t = setup.threshold as f32;
    for (m, &v) in out.mask.iter_mut().zip(score.iter()) {
        *m &= (v >= t && !setup.identical) as u8;
    }
    if screened {
        crop_into(&sc.cloud, &big, ox, oy, window, cloud);
        crop_into(&sc.shadow, &big, ox, oy, window, shadow);
    } else {
        cloud.clear();
        cloud.resize(window.len(), 0.0);
        shadow.clear();
        shadow.resize(window.len(), 0.0);
    }
    out.channels.append(&mut extra);
    // Assessed pixels: data on both dates, not masked, not in a cloud's moat (the tile
    // objects of a sharded run count the same from their state bytes).
    out.valid = out.valid_mask.iter().map(|&v| v as u64).sum();
    out.flagged = out.mask.iter().map(|&v| v as u64).sum();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Date 2 is date 1 moved one pixel east and halved (gain 2): the matched sample pairs
    /// each date-2 pixel with the date-1 pixel it came from, so a fit on it finds gain 2
    /// exactly, where co-located pairs (neighbouring ground) do not.
    #[test]
    fn matched_samples_pair_a_shifted_pixel_with_its_own_ground() {
        let (w, h) = (40usize, 40usize);
        // A texture with no repeats nearby: a hash of the position.
        let ground = |x: usize, y: usize| -> f32 {
            let v = (x as u32).wrapping_mul(2_654_435_761) ^ (y as u32).wrapping_mul(40_503);
            100.0 + (v.wrapping_mul(2_246_822_519) >> 22) as f32
        };
        let t1: Vec<f32> = (0..w * h).map(|i| ground(i % w, i / w)).collect();
        let t2: Vec<f32> = (0..w * h)
            .map(|i| ground((i % w).saturating_sub(1), i / w) / 2.0)
            .collect();
        let p = PairPlanes {
            t1: vec![t1.clone(), t1.iter().map(|v| v * 0.5 + 7.0).collect()],
            t2: vec![t2.clone(), t2.iter().map(|v| v * 0.5 + 3.5).collect()],
            valid: vec![1; w * h],
        };
        let big = Window {
            col: 0,
            row: 0,
            width: w,
            height: h,
        };
        // Inner pixels only, away from the edge the shift leaves.
        let picks: Vec<usize> = (2..h - 2)
            .flat_map(|y| (2..w - 2).map(move |x| y * w + x))
            .collect();
        let colocated = (
            (0..2)
                .map(|b| picks.iter().map(|&i| p.t1[b][i] as f64).collect())
                .collect::<Vec<Vec<f64>>>(),
            (0..2)
                .map(|b| picks.iter().map(|&i| p.t2[b][i] as f64).collect())
                .collect::<Vec<Vec<f64>>>(),
        );
        // A first fit that knows the gain: matching needs only a rough one.
        let m0 = fit_with_gains(
            &colocated.0,
            &colocated.1,
            vec![2.0, 2.0],
            vec![0.0, 0.0],
            &vec![true; picks.len()],
        )
        .unwrap();
        let (s1, s2) = matched_samples(&p, &big, picks.iter().copied(), &m0, 2);
        for b in 0..2 {
            for (x1, x2) in s1[b].iter().zip(&s2[b]) {
                assert_eq!(*x1, x2 * 2.0, "band {b}");
            }
        }
        let matched = fit_gains(&s1, &s2).unwrap();
        assert!((matched.gains[0] - 2.0).abs() < 1e-9, "{:?}", matched.gains);
        assert!(matched.offsets[0].abs() < 1e-6, "{:?}", matched.offsets);
        let off = (0..picks.len())
            .filter(|&k| colocated.0[0][k] != colocated.1[0][k] * 2.0)
            .count();
        assert!(
            off > picks.len() / 2,
            "co-located pairs are mostly other ground"
        );
    }
}
