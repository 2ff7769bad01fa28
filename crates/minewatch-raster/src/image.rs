//! One dated input image: what GDAL says about it, resolved once before any pixel is read.

use crate::error::RasterError;
use gdal::{Dataset, Metadata};
use minewatch_core::{AcqDate, BandRole, Grid, SensorProfile};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Where an image's date came from (recorded in the manifest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DateSource {
    Flag,
    /// An acquisition-date item (ACQUISITION_DATE, DATE_ACQUIRED, SENSING_TIME, …).
    Metadata,
    FileName,
    /// TIFFTAG_DATETIME, the time the file was written (the TIFF standard's DateTime):
    /// only when nothing better exists, and with a warning.
    TiffDatetime,
}

/// Per-band facts needed to turn stored values into reflectances.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BandInfo {
    pub index: usize,
    pub description: String,
    pub data_type: String,
    pub nodata: Option<f64>,
    pub scale: f64,
    pub offset: f64,
    /// GDAL's colour interpretation (`Red`, `Green`, `Blue`, `Alpha`, `Gray`, `Undefined`…):
    /// an RGB export declares which band is red, whatever the band order.
    #[serde(skip)]
    pub colour: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImageInfo {
    pub path: PathBuf,
    pub date: AcqDate,
    pub date_source: DateSource,
    /// Why the date deserves a look (a file-writing time used, or the name disagreeing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_note: Option<String>,
    #[serde(skip)]
    pub grid: Grid,
    pub bands: Vec<BandInfo>,
    /// Block (tile or strip) size of band 1: windows aligned to it decode each block once.
    pub block: (usize, usize),
    /// The fast decode path for this file, when its layout allows it.
    #[serde(skip)]
    pub direct: Option<crate::direct::DirectLayout>,
    /// `direct (...)` or `gdal`: which path reads the pixels.
    pub decode: String,
    /// Reflectance = (value + offset) / quantification, when the file says so in the
    /// Sentinel-2 convention (`QUANTIFICATION_VALUE` or `BOA_QUANTIFICATION_VALUE`, and
    /// `BOA_ADD_OFFSET` / `RADIO_ADD_OFFSET` from processing baseline 04.00). The offset
    /// is also in each unscaled band's `offset`, which the reader applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantification: Option<(f64, f64)>,
    /// The file carries a validity mask of its own (a TIFF internal mask, a `.msk` file or
    /// an alpha band): pixels it masks are no observation, whatever their values.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dataset_mask: bool,
    /// A band declared alpha (transparency) that GDAL's mask does not already cover — it
    /// does so only for 2- and 4-band files, not for a `gdalwarp -dstalpha` of a 13-band
    /// stack or of a 4-band GF-2 scene (5 bands): read as the validity mask (0 = no
    /// observation) and never as a spectral band.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alpha_band: Option<usize>,
    /// GDAL's mask of this file is its alpha band (GDAL's flag): the mask goes when that
    /// band is read as data.
    #[serde(skip)]
    pub mask_is_alpha: bool,
    /// A band declared alpha is read as data because the user's profile or `[bands]`
    /// names it (GDAL tags the 4th band of any 4-band Byte file alpha by default).
    #[serde(skip)]
    pub alpha_read_as_data: bool,
}

pub(crate) fn open(path: &Path) -> Result<Dataset, RasterError> {
    // GDAL virtual file systems (`/vsis3/…`) are not files; GDAL's own error names them.
    let virtual_path = path.to_str().is_some_and(|s| s.starts_with("/vsi"));
    if !virtual_path && !path.exists() {
        return Err(RasterError::NotFound {
            path: path.to_path_buf(),
        });
    }
    let opts = gdal::DatasetOptions {
        open_flags: gdal::GdalOpenFlags::GDAL_OF_RASTER | gdal::GdalOpenFlags::GDAL_OF_READONLY,
        ..Default::default()
    };
    Dataset::open_ex(path, opts).map_err(|e| RasterError::NotRaster {
        path: path.to_path_buf(),
        msg: e.to_string(),
    })
}

impl ImageInfo {
    /// Open `path`, read its grid, bands and date. `date` overrides the file's own.
    pub fn inspect(path: &Path, date: Option<AcqDate>) -> Result<Self, RasterError> {
        let ds = open(path)?;
        let p = || path.to_path_buf();
        let (width, height) = ds.raster_size();
        if ds.raster_count() == 0 || width == 0 || height == 0 {
            return Err(RasterError::NotRaster {
                path: p(),
                msg: "no raster bands".into(),
            });
        }
        let transform = ds
            .geo_transform()
            .map_err(|_| RasterError::NoGeoref { path: p() })?;
        let crs_wkt = ds.projection();
        if crs_wkt.is_empty() {
            return Err(RasterError::NoGeoref { path: p() });
        }
        let mut bands = Vec::new();
        for i in 1..=ds.raster_count() {
            let b = ds.rasterband(i).map_err(|e| RasterError::Other {
                path: p(),
                msg: e.to_string(),
            })?;
            // GDAL's SENTINEL2 driver also states the band's name as `BANDNAME`.
            let description = b
                .description()
                .ok()
                .filter(|d| !d.trim().is_empty())
                .or_else(|| b.metadata_item("BANDNAME", ""))
                .unwrap_or_default();
            bands.push(BandInfo {
                index: i,
                description,
                data_type: b.band_type().name(),
                nodata: b.no_data_value(),
                scale: b.scale().unwrap_or(1.0),
                offset: b.offset().unwrap_or(0.0),
                colour: b.color_interpretation().name(),
            });
        }
        let block = ds
            .rasterband(1)
            .map(|b| b.block_size())
            .unwrap_or((256, 256));
        let (date, date_source, date_note) = match date {
            // The user's date wins, but a name saying otherwise is worth a word: two dates
            // given in the wrong order compare the pair backwards.
            Some(d) => {
                let named = path
                    .file_name()
                    .and_then(|n| AcqDate::find_in_name(&n.to_string_lossy()));
                let note = named
                    .filter(|n| *n != d)
                    .map(|n| format!("--dates gives {d} for it, its name says {n}; {d} is used"));
                (d, DateSource::Flag, note)
            }
            None => date_of(&ds, path)?.ok_or_else(|| {
                // Eight digits in the name that are no date (`scene_20001303`) are a typo
                // to quote, not an absent date.
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default();
                let digits = AcqDate::non_dates_in_name(&name);
                if digits.is_empty() {
                    RasterError::NoDate { path: p() }
                } else {
                    RasterError::NotADateInName {
                        path: p(),
                        digits: digits
                            .iter()
                            .map(|d| format!("`{d}`"))
                            .collect::<Vec<_>>()
                            .join(", "),
                    }
                }
            })?,
        };
        let quantification = metadata_quantification(&ds);
        // The additive offset of Sentinel-2 processing baseline 04.00 is part of reading
        // the values, like a GDAL band offset: the reader removes it once, so indices,
        // rule and cloud screen all see digital numbers on the L1C scale (reflectance ×
        // the quantification). Left to the screen alone, NDVI and BSI ran on +1000 DN.
        // A band's own offset or scale says how to read it already.
        if let Some((_, add)) = quantification.filter(|(_, add)| *add != 0.0) {
            for b in bands
                .iter_mut()
                .filter(|b| b.scale == 1.0 && b.offset == 0.0)
            {
                b.offset = add;
            }
        }
        // A nodata value is already read band by band; only a mask of the dataset's own
        // (per-dataset or alpha) adds anything.
        let flags = ds.rasterband(1).and_then(|b| b.mask_flags()).ok();
        let dataset_mask = flags.as_ref().is_some_and(|f| {
            !f.is_all_valid() && !f.is_nodata() && (f.is_per_dataset() || f.is_alpha())
        });
        let mask_is_alpha = flags.as_ref().is_some_and(|f| f.is_alpha());
        let alpha_band = bands
            .iter()
            .find(|b| b.colour == "Alpha")
            .map(|b| b.index)
            .filter(|_| !flags.as_ref().is_some_and(|f| f.is_alpha()));
        let direct = crate::direct::DirectLayout::probe(path, &ds);
        let decode = direct
            .as_ref()
            .map_or_else(|| "gdal".to_string(), |d| d.describe());
        Ok(Self {
            direct,
            decode,
            quantification,
            path: p(),
            date,
            date_source,
            date_note,
            grid: Grid {
                width,
                height,
                transform,
                crs_wkt,
            },
            bands,
            block,
            dataset_mask,
            alpha_band,
            mask_is_alpha,
            alpha_read_as_data: false,
        })
    }

    /// The profile to use: a named built-in, or `auto` (band descriptions, then band count).
    /// The band profile `name` (or, for `auto`, the one the band names or count imply),
    /// checked against the file, and notes (for stderr) when the choice was a guess worth
    /// a look or the user's profile overrode what the names say. A named profile may
    /// take a band declared alpha as data (see [`ImageInfo::read_alpha_as_data`]).
    pub fn resolve_profile(
        &mut self,
        name: &str,
    ) -> Result<(SensorProfile, Option<String>), RasterError> {
        let count = self.bands.len();
        let desc: Vec<String> = self.bands.iter().map(|b| b.description.clone()).collect();
        let explicit = name != "auto";
        let mut note = None;
        let mut profile = if !explicit {
            let (found, named) = SensorProfile::described_roles(&desc);
            match SensorProfile::from_descriptions(&desc) {
                Some(p) => p,
                // Every band named, but not blue, red and NIR among them (a subset such as
                // B01–B04, where B04 is red): a guess by count would take some other band
                // for NIR.
                None if count >= 2 && named == count => {
                    let missing: Vec<String> = [BandRole::Blue, BandRole::Red, BandRole::Nir]
                        .iter()
                        .filter(|r| !found.iter().any(|(x, _)| x == *r))
                        .map(|r| r.to_string())
                        .collect();
                    let found: Vec<String> = found
                        .iter()
                        .map(|(r, b)| format!("{r} = band {b}"))
                        .collect();
                    return Err(RasterError::Other {
                        path: self.path.clone(),
                        msg: format!(
                            "its band names ({}) leave out {} (found: {}); minewatch needs blue, red and NIR — export those bands too, or map the bands in a params file's [bands] (docs/config.md, \"The detect params file\") if the names are wrong",
                            desc.join(", "),
                            missing.join(" and "),
                            if found.is_empty() { "none".into() } else { found.join(", ") }
                        ),
                    });
                }
                None => {
                    // B1…Bn only count the bands: several sensors fit (B1…B7 alone is
                    // left to the count of 7, which tells TM from OLI and says so).
                    if let Some(n) = minewatch_core::Numbering::bare_run(&desc) {
                        if self.spectral_count() != 7 {
                            return Err(self.bare_run_refusal(n));
                        }
                    }
                    let guess = self.guess_by_count().ok_or_else(|| {
                        let n = self.spectral_count();
                        if n < count {
                            RasterError::Other {
                                path: self.path.clone(),
                                msg: format!(
                                    "band {} is declared alpha (the validity mask), and no band profile has the other {n} band(s) without band names; minewatch needs blue, red and NIR — if band {} holds data (GDAL tags the last band of a 4-band 8-bit file alpha by default), give --profile gf-wfv or a params file's [bands] mapping naming it (docs/config.md, \"The detect params file\") to read it as data, or clear the tag: gdal_edit.py -colorinterp_{} undefined {}",
                                    n + 1,
                                    n + 1,
                                    n + 1,
                                    self.path.display()
                                ),
                            }
                        } else {
                            RasterError::UnknownProfile {
                                path: self.path.clone(),
                                count,
                            }
                        }
                    })?;
                    if self.spectral_count() == 7 {
                        note = Some(format!(
                            "7 bands of {}, no band names that tell the sensor: read as {} ({}); give --profile landsat-tm or landsat-oli if that is wrong",
                            self.bands[0].data_type,
                            guess.name,
                            if guess.name == "landsat-tm" {
                                "TM/ETM+ digital numbers with the thermal band 6"
                            } else {
                                "OLI, coastal band first"
                            }
                        ));
                    } else if let Some(b) = self.undecided_landsat_number(&desc) {
                        // Only a 7-band stack's count tells TM from OLI (and says so).
                        return Err(self.ambiguous_numbers(b));
                    } else {
                        // Other sensors share these counts too (Sentinel-2's six 10 m and
                        // 20 m bands are six bands like TM's): say what was assumed.
                        note = Some(format!(
                            "{} bands of {}, no band names that tell the sensor: read as {} by the band count alone ({}); if that is wrong, give --profile ({}) or map the bands in a params file's [bands] (docs/config.md, \"The detect params file\")",
                            self.spectral_count(),
                            self.bands[0].data_type,
                            guess.name,
                            show(&guess.bands),
                            SensorProfile::BUILTIN.join(", ")
                        ));
                    }
                    match self.colour_profile(&guess)? {
                        Some((p, why)) => {
                            note = Some(why);
                            p
                        }
                        None => guess,
                    }
                }
            }
        } else {
            SensorProfile::builtin(name).ok_or_else(|| RasterError::Other {
                path: self.path.clone(),
                msg: format!(
                    "unknown band profile `{name}`; known: auto, {}",
                    SensorProfile::BUILTIN.join(", ")
                ),
            })?
        };
        // A TM/ETM+ stack of all 7 bands has the thermal band 6 between SWIR1 and SWIR2;
        // a trailing alpha band is no eighth spectral band.
        if profile.name == "landsat-tm" && self.spectral_count() >= 7 {
            profile = SensorProfile::landsat_tm_with_thermal();
        }
        if profile.name != "from-band-descriptions" {
            if let Some((p, why)) = self.by_description(&profile, &desc, explicit)? {
                note = Some(why);
                profile = p;
            }
        }
        if explicit {
            if let Some(why) = self.read_alpha_as_data(&profile) {
                note = Some(match note {
                    Some(n) => format!("{n}; {why}"),
                    None => why,
                });
            }
        }
        self.check_profile(&profile)?;
        Ok((profile, note))
    }

    /// A profile the user chose (`--profile`, `[bands]`) that reads a band declared alpha
    /// reads it as data: GDAL's default for a 4-band Byte GTiff is red, green, blue, alpha,
    /// whatever the bands hold (a GF B,G,R,NIR conversion). The band then masks nothing.
    /// Returns the note to print, or `None` when no profile band is declared alpha.
    pub fn read_alpha_as_data(&mut self, profile: &SensorProfile) -> Option<String> {
        let mut taken = Vec::new();
        for (role, band) in &profile.bands {
            let Some(b) = band.checked_sub(1).and_then(|i| self.bands.get_mut(i)) else {
                continue;
            };
            if b.colour == "Alpha" {
                b.colour = "Undefined".into();
                taken.push(format!("band {band} as {role}"));
                if self.alpha_band == Some(*band) {
                    self.alpha_band = None;
                }
                if self.mask_is_alpha {
                    self.dataset_mask = false;
                    self.mask_is_alpha = false;
                }
            }
        }
        if taken.is_empty() {
            return None;
        }
        self.alpha_read_as_data = true;
        Some(format!(
            "profile {} reads {}, which the file declares alpha (transparency): read as data, the alpha tag ignored, as the profile says (clear the tag with gdal_edit.py -colorinterp_N undefined to silence this)",
            profile.name,
            taken.join(", ")
        ))
    }

    /// The refusal of `B1`…`Bn` names (see [`minewatch_core::Numbering::bare_run`]): the
    /// sensors they fit, and the `--profile` that reads each.
    fn bare_run_refusal(&self, n: usize) -> RasterError {
        let fits = match n {
            4 => "GF-1/GF-2/GF-6 4-band (B1 blue, B2 green, B3 red, B4 NIR: --profile gf-wfv or gf2-pms), Landsat TM/ETM+ B1–B4 (--profile bgrn), or Sentinel-2's B1–B4 (coastal, blue, green, red: no NIR)".to_string(),
            8 => "Landsat 7 ETM+ (B6 thermal, B8 pan: --profile landsat-tm), Landsat 8/9 OLI (B1 coastal … B7 SWIR2, B8 pan: --profile landsat-oli), GF-6 WFV (B1 blue … B4 NIR, B5–B8 red edge, purple, yellow: --profile gf-wfv), or Sentinel-2's B1–B8".to_string(),
            13 => "a Sentinel-2 L1C stack numbered by position (B8A as band 9: --profile sentinel2), but no sensor has a band B13".to_string(),
            12 => "a Sentinel-2 L2A stack numbered by position (--profile sentinel2-l2a)".to_string(),
            _ => format!("Landsat, GF and Sentinel-2 stacks of {n} bands alike"),
        };
        RasterError::Other {
            path: self.path.clone(),
            msg: format!(
                "its band names are B1 … B{n} in band order, which number the bands by position and fit several sensors: {fits}; give --profile ({}) to say which, or name the bands by role (`blue`, `B4 NIR`), or map them in a params file's [bands] (docs/config.md, \"The detect params file\")",
                SensorProfile::BUILTIN.join(", ")
            ),
        }
    }

    /// Band names that say which band is which win over a profile chosen by band count
    /// or colour: the positions of a reordered export (`B4 NIR`, `B3 red`, … as
    /// `gdal_translate -b 4 -b 3 …` leaves them) contradict them. `B<n>` names the names
    /// themselves do not place on a sensor are read in the profile's sensor (TM/ETM+,
    /// OLI, Sentinel-2). `Some` with the mapping and a note when it differs from
    /// `positional`; an error when the names contradict it but lack blue, red or NIR.
    ///
    /// A profile the user named (`explicit`) is the user's word on the sensor: `B<n>`
    /// names are read in its numbering only (a guess from the names never overrides it),
    /// names that still contradict it without giving blue, red and NIR are warned of and
    /// the bands read by position, as the profile says.
    fn by_description(
        &self,
        positional: &SensorProfile,
        desc: &[String],
        explicit: bool,
    ) -> Result<Option<(SensorProfile, String)>, RasterError> {
        use minewatch_core::Numbering;
        let own = Numbering::of(desc);
        let of_profile = Numbering::of_profile(&positional.name);
        let numbering = if explicit {
            // Names that place themselves on another sensor say nothing in this one.
            of_profile.filter(|n| own.is_none_or(|o| o == *n))
        } else {
            own.or(of_profile)
        };
        let (found, _) = SensorProfile::described_roles_as(desc, numbering);
        let contradicts = |found: &[(BandRole, usize)]| {
            found
                .iter()
                .any(|(r, b)| positional.has(*r) && positional.band(*r) != Some(*b))
        };
        if !contradicts(&found) {
            if explicit {
                // The names in their own numbering may still disagree: say so.
                let (theirs, _) = SensorProfile::described_roles_as(desc, own);
                if contradicts(&theirs) {
                    return Ok(Some((
                        positional.clone(),
                        self.profile_over_names(positional, desc, &theirs),
                    )));
                }
            }
            return Ok(None);
        }
        // The profile decides which roles are read (`gf-wfv` none of SWIR, whatever the
        // file holds); the names only where: all of them, or none.
        let named = SensorProfile::from_descriptions_as(desc, numbering).and_then(|p| {
            let bands: Vec<(BandRole, usize)> = positional
                .bands
                .iter()
                .map(|(r, _)| p.band(*r).map(|b| (*r, b)))
                .collect::<Option<_>>()?;
            Some(SensorProfile::from_roles(&p.name, &bands))
        });
        match named {
            Some(p) => {
                let why = format!(
                    "its band names ({}) say {}, not {}'s band order: read by the names",
                    desc.join(", "),
                    show(&p.bands),
                    positional.name
                );
                Ok(Some((p, why)))
            }
            None if explicit => {
                self.check_profile_bands(positional)?;
                Ok(Some((
                    positional.clone(),
                    self.profile_over_names(positional, desc, &found),
                )))
            }
            None => {
                // A profile that does not fit the file at all says so first.
                self.check_profile(positional)?;
                let (role, band) = found
                    .iter()
                    .find(|(r, b)| positional.has(*r) && positional.band(*r) != Some(*b))
                    .copied()
                    .unwrap_or(found[0]);
                Err(RasterError::Other {
                    path: self.path.clone(),
                    msg: format!(
                        "band {band} is described `{}`, which is {role}, but profile {} reads {role} from {}; the band names ({}) do not give blue, red and NIR to read by instead — name the bands by role (`blue`, `B4 NIR`, `B02`) or map them in a params file's [bands] (docs/config.md, \"The detect params file\")",
                        desc[band - 1],
                        positional.name,
                        positional
                            .band(role)
                            .map_or("no band".to_string(), |b| format!("band {b}")),
                        desc.join(", ")
                    ),
                })
            }
        }
    }

    /// A note when a `[bands]` mapping (read as given) disagrees with what the band names
    /// say in their own numbering.
    pub fn mapping_note(&self, mapping: &SensorProfile) -> Option<String> {
        let desc: Vec<String> = self.bands.iter().map(|b| b.description.clone()).collect();
        let (theirs, _) =
            SensorProfile::described_roles_as(&desc, minewatch_core::Numbering::of(&desc));
        theirs
            .iter()
            .any(|(r, b)| mapping.has(*r) && mapping.band(*r) != Some(*b))
            .then(|| {
                format!(
                    "its band names ({}) say {}, but the params file's [bands] reads {}: read as [bands] says",
                    desc.join(", "),
                    show(&theirs),
                    show(&mapping.bands)
                )
            })
    }

    /// The note when the user's profile is read by position over band names that say
    /// otherwise.
    fn profile_over_names(
        &self,
        profile: &SensorProfile,
        desc: &[String],
        found: &[(BandRole, usize)],
    ) -> String {
        format!(
            "its band names ({}) say {}, but --profile {} reads {}: read by position, as the profile says; if the names are right, drop --profile",
            desc.join(", "),
            show(found),
            profile.name,
            show(&profile.bands)
        )
    }

    /// The first band whose `B<n>` name is a Landsat number of no one sensor (the names
    /// hold B1, B6 and B7: OLI's coastal … SWIR2 or TM's blue … with thermal B6).
    fn undecided_landsat_number(&self, desc: &[String]) -> Option<usize> {
        if minewatch_core::Numbering::of(desc).is_some() {
            return None;
        }
        let plain = |d: &str| {
            let d = d.trim().to_ascii_lowercase();
            d.strip_prefix('b')
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()))
        };
        desc.iter().position(|d| plain(d)).map(|i| i + 1)
    }

    fn ambiguous_numbers(&self, band: usize) -> RasterError {
        RasterError::Other {
            path: self.path.clone(),
            msg: format!(
                "band {band} is named `{}`: Landsat band numbers differ by sensor (TM/ETM+: B1 blue, B2 green, B3 red, B4 NIR, B5 and B7 SWIR, B6 thermal; OLI: B1 coastal, B2 blue … B5 NIR, B6 and B7 SWIR) and these names do not tell which; give --profile landsat-tm or landsat-oli, or name the bands by role (`blue`, `B4 NIR`) or as Sentinel-2's (`B02`)",
                self.bands[band - 1].description.trim()
            ),
        }
    }

    /// The bands a file's colour interpretation declares red, green and blue (1-based,
    /// in that order), when each of the three is declared on exactly one band.
    fn colour_bands(&self) -> Option<[usize; 3]> {
        let one = |c: &str| {
            let mut it = self.bands.iter().filter(|b| b.colour == c);
            match (it.next(), it.next()) {
                (Some(b), None) => Some(b.index),
                _ => None,
            }
        };
        Some([one("Red")?, one("Green")?, one("Blue")?])
    }

    /// A band-count guess checked against the colour interpretation: a 4-band export
    /// tagged red, green, blue, (NIR) is not blue, green, red, NIR, and reading it so
    /// swaps red and blue in every index. Where the file declares red, green and blue
    /// elsewhere than the guess, those declarations decide, the guess keeps its other
    /// roles, and the returned note says so; a role the guess puts on a colour or alpha
    /// band is an error that asks for a `[bands]` mapping.
    fn colour_profile(
        &self,
        guess: &SensorProfile,
    ) -> Result<Option<(SensorProfile, String)>, RasterError> {
        use minewatch_core::BandRole::*;
        let Some([r, g, b]) = self.colour_bands() else {
            return Ok(None);
        };
        if guess.band(Red) == Some(r) && guess.band(Green) == Some(g) && guess.band(Blue) == Some(b)
        {
            return Ok(None);
        }
        let mut roles = vec![(Red, r), (Green, g), (Blue, b)];
        for (role, band) in &guess.bands {
            if matches!(role, Red | Green | Blue) {
                continue;
            }
            let colour = self.bands.get(band - 1).map_or("", |x| x.colour.as_str());
            if [r, g, b].contains(band) || colour == "Alpha" {
                return Err(RasterError::Other {
                    path: self.path.clone(),
                    msg: format!(
                        "{} bands with no band names: by count they would be {} ({role} = band {band}), but the file declares band {band} as {colour} (red = band {r}, green = band {g}, blue = band {b}); say which band is which in a params file's [bands] (docs/config.md, \"The detect params file\"), or --profile",
                        self.bands.len(),
                        guess.name,
                        colour = colour.to_lowercase(),
                    ),
                });
            }
            roles.push((*role, *band));
        }
        let p = SensorProfile::from_roles(&format!("{}-by-colour", guess.name), &roles);
        let why = format!(
            "{} bands with no band names, declared red = band {r}, green = band {g}, blue = band {b} by their colour interpretation: read so ({}), not in {}'s order; give --profile or a [bands] mapping if that is wrong",
            self.bands.len(),
            p.bands
                .iter()
                .map(|(role, band)| format!("{role} = {band}"))
                .collect::<Vec<_>>()
                .join(", "),
            guess.name,
        );
        Ok(Some((p, why)))
    }

    /// The profile a band count implies. Seven bands are OLI's 1–7 or TM/ETM+'s 1–7 with
    /// the thermal band: 8-bit values are TM/ETM+ digital numbers (OLI quantises to 12
    /// bits and ships 16), anything else is taken as OLI.
    fn guess_by_count(&self) -> Option<SensorProfile> {
        let count = self.spectral_count();
        if count == 7 && self.bands[0].data_type == "Byte" {
            return Some(SensorProfile::landsat_tm_with_thermal());
        }
        SensorProfile::from_band_count(count)
    }

    /// Bands before the trailing alpha bands (a warped export's transparency band is
    /// last): what a guess by band count counts.
    fn spectral_count(&self) -> usize {
        self.bands.len()
            - self
                .bands
                .iter()
                .rev()
                .take_while(|b| b.colour == "Alpha")
                .count()
    }

    /// Every band the profile names must exist in the file (alpha or not).
    pub fn check_profile_bands(&self, profile: &SensorProfile) -> Result<(), RasterError> {
        for (role, band) in &profile.bands {
            if *band == 0 || *band > self.bands.len() {
                return Err(RasterError::MissingBand {
                    path: self.path.clone(),
                    profile: profile.name.clone(),
                    role: role.to_string(),
                    band: *band,
                    count: self.bands.len(),
                });
            }
        }
        Ok(())
    }

    /// Every band the profile names must exist in the file, and none be declared alpha.
    pub fn check_profile(&self, profile: &SensorProfile) -> Result<(), RasterError> {
        self.check_profile_bands(profile)?;
        for (role, band) in &profile.bands {
            // Transparency read as reflectance would put 0/255 into every index.
            if self.bands[band - 1].colour == "Alpha" {
                return Err(RasterError::Other {
                    path: self.path.clone(),
                    msg: format!(
                        "band {band} is declared alpha (transparency), but profile {} reads it as {role}; if band {band} holds data (GDAL tags the last band of a 4-band 8-bit file alpha by default), give --profile (e.g. gf-wfv) or a params file's [bands] mapping naming it (docs/config.md, \"The detect params file\") to read it as data, or clear the tag: gdal_edit.py -colorinterp_{band} undefined {}",
                        profile.name,
                        self.path.display()
                    ),
                });
            }
        }
        Ok(())
    }

    /// Band info of a role under a profile.
    pub fn band_of(&self, profile: &SensorProfile, role: BandRole) -> Option<&BandInfo> {
        profile.band(role).and_then(|b| self.bands.get(b - 1))
    }

    /// Whether this image's CRS is the same as `other`'s (GDAL's OSRIsSame).
    pub fn same_crs(&self, other: &ImageInfo) -> bool {
        if self.grid.crs_wkt == other.grid.crs_wkt {
            return true;
        }
        match (
            gdal::spatial_ref::SpatialRef::from_wkt(&self.grid.crs_wkt),
            gdal::spatial_ref::SpatialRef::from_wkt(&other.grid.crs_wkt),
        ) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
    }
}

/// (quantification value, additive offset) from the dataset's metadata.
fn metadata_quantification(ds: &Dataset) -> Option<(f64, f64)> {
    let num = |k: &str| -> Option<f64> {
        ds.metadata_item(k, "")
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite())
    };
    let q = num("QUANTIFICATION_VALUE")
        .or_else(|| num("BOA_QUANTIFICATION_VALUE"))
        .filter(|q| *q > 0.0)?;
    let offset = num("BOA_ADD_OFFSET")
        .or_else(|| num("RADIO_ADD_OFFSET"))
        .unwrap_or(0.0);
    Some((q, offset))
}

/// The acquisition date without `--dates`: an acquisition item of the metadata, else a
/// YYYYMMDD in the file name, else TIFFTAG_DATETIME. The last is when the file was
/// written (GIS exports stamp it), so it comes after the name and with a note: taken
/// before the name, it once reversed a pair whose files were exported in the other order.
fn date_of(
    ds: &Dataset,
    path: &Path,
) -> Result<Option<(AcqDate, DateSource, Option<String>)>, RasterError> {
    // GDAL puts a GF / WorldView / Pléiades acquisition time in the IMAGERY domain.
    let item = |key: &str| {
        ds.metadata_item(key, "")
            .or_else(|| ds.metadata_item(key, "IMAGERY"))
            .and_then(|v| AcqDate::parse(&v).ok())
            .map(|d| (key.to_string(), d))
    };
    let keys = [
        "ACQUISITION_DATE",
        "ACQUISITIONDATETIME",
        "DATE_ACQUIRED",
        "SENSING_TIME",
    ];
    // A date the file states but that cannot be read (`2000-13-03`, `03/05/2000`) is a
    // typo or a format to check, not an absent date: falling back to the name once
    // took an export date and compared the pair backwards.
    for key in keys {
        let raw = ds
            .metadata_item(key, "")
            .or_else(|| ds.metadata_item(key, "IMAGERY"));
        if let Some(v) = raw.filter(|v| AcqDate::parse(v).is_err()) {
            return Err(RasterError::Other {
                path: path.to_path_buf(),
                msg: format!(
                    "its {key} is `{}`, which is not a date (expected YYYY-MM-DD or YYYYMMDD with a real month and day); fix the metadata or give the dates with --dates (detect.dates in a run config)",
                    v.trim()
                ),
            });
        }
    }
    let acquired = keys.iter().find_map(|k| item(k));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let named = match AcqDate::from_name(&name) {
        Ok(d) => d,
        // The metadata's date decides; the name's dates cannot disagree with it usefully.
        Err(_) if acquired.is_some() => None,
        Err(dates) => {
            return Err(RasterError::AmbiguousDate {
                path: path.to_path_buf(),
                dates: dates
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
        }
    };
    Ok(match (acquired, named) {
        (Some((key, d)), Some(n)) if n != d => Some((
            d,
            DateSource::Metadata,
            Some(format!(
                "its {key} says {d}, its name says {n}; {d} is used (give --dates to choose)"
            )),
        )),
        (Some((_, d)), _) => Some((d, DateSource::Metadata, None)),
        (None, Some(n)) => Some((n, DateSource::FileName, None)),
        (None, None) => item("TIFFTAG_DATETIME").map(|(_, d)| {
            (
                d,
                DateSource::TiffDatetime,
                Some(format!(
                    "date {d} taken from TIFFTAG_DATETIME, which records when the file was written, not when the image was acquired; give --dates if that is not the acquisition date"
                )),
            )
        }),
    })
}

/// `blue = band 1, green = band 2, …`
fn show(bands: &[(BandRole, usize)]) -> String {
    bands
        .iter()
        .map(|(r, b)| format!("{r} = band {b}"))
        .collect::<Vec<_>>()
        .join(", ")
}
