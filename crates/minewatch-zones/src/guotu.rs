//! Reader for the "国土 TXT" corner-coordinate file (拐点坐标) used by Chinese
//! natural-resources authorities for mining rights and land parcels.
//!
//! ```text
//! [属性描述]
//! 坐标系=2000国家大地坐标系
//! 几度分带=3
//! 投影类型=高斯克吕格
//! 计量单位=米
//! 带号=38
//! [地块坐标]
//! 5,1.0000,DK01,地块1,面,,采矿用地,,@
//! J1,1,3512345.67,38512345.67
//! ...
//! ```
//!
//! A parcel header ends with `@` (point count, area in hectares, id, name,
//! kind, map sheet, use, ...). Each point line is `name,ring,X,Y` with X the
//! northing and Y the easting; ring 1 is the outer boundary, 2+ are holes, and
//! every ring repeats its first point at the end.
//!
//! Decisions worth knowing:
//! * Only CGCS2000 is accepted. Xian 1980 and Beijing 1954 are different
//!   datums whose grid coordinates differ from CGCS2000 by tens of metres or
//!   more, so they are refused instead of being silently mislabelled.
//! * Which number is the northing is decided by digit count (7 digits for a
//!   northing, 8 with the zone prefix or 6 without for an easting), because
//!   published files and templates disagree on whether X or Y comes first.
//! * Output coordinates stay in the file's own grid; `epsg` names that grid
//!   (prefixed eastings map to EPSG:4513..4533 / 4491..4501, unprefixed ones to
//!   EPSG:4534..4554 / 4502..4512).
//! * Geometry tests (self-intersection, point-in-polygon, orientation) use
//!   exact integer arithmetic: after the range checks every coordinate lies in
//!   [2^16, 2^26), so it is an exact multiple of 2^-36 and fits an i64 once
//!   scaled by 2^36; cross products then fit an i128 without rounding.
//! * Rings of one parcel must not cross or touch each other either (a hole
//!   touching its outer ring at a single vertex is rejected, stricter than OGC),
//!   and a hole's first vertex must lie strictly inside the outer ring.
//! * Bytes are read as UTF-8 when they are valid UTF-8 (BOM optional), else as
//!   GB18030, the superset of GBK; a UTF-16 BOM is honoured too. Line numbers
//!   are physical lines, blank ones included, so they match an editor.
//! * A `key=` with an empty value counts as missing. Parcels sharing an id stay
//!   separate (one licence, several areas); grouping is the caller's job.
//! * The first error aborts parsing; suspicious but usable input (point-count
//!   or area mismatch, missing 坐标系 or 几度分带, swapped axes) only adds a
//!   warning.

use std::collections::HashMap;

use encoding_rs::{DecoderResult, Encoding, GB18030};

/// Geodetic datum of a parsed file. Only CGCS2000 is ever produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Datum {
    Cgcs2000,
}

/// A parsed corner-coordinate file.
#[derive(Debug, Clone, PartialEq)]
pub struct CornerFile {
    pub datum: Datum,
    /// 3 or 6 (degrees).
    pub zone_width: u8,
    pub zone: u32,
    /// Eastings carry the two-digit zone prefix.
    pub prefixed: bool,
    pub epsg: u32,
    pub parcels: Vec<Parcel>,
    pub warnings: Vec<String>,
    /// No coordinate-system key in the header: CGCS2000 was assumed (to be said loudly:
    /// an old file may be Xian 1980).
    pub datum_assumed: bool,
}

/// One polygon of the file. Several parcels may share an `id`.
#[derive(Debug, Clone, PartialEq)]
pub struct Parcel {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub land_use: String,
    /// Area from the parcel header (hectares), if given.
    pub area_ha: Option<f64>,
    /// 1-based line of the parcel header.
    pub line: usize,
    /// Closed ring (first == last), counter-clockwise, (easting, northing).
    pub outer: Vec<(f64, f64)>,
    /// Closed rings, clockwise.
    pub holes: Vec<Vec<(f64, f64)>>,
    /// Outer area minus holes, in m², in the projected plane.
    pub planar_area_m2: f64,
}

/// Why a file was refused. `line` is 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}{}: {msg}", context(.parcel.as_deref(), .point.as_deref()))]
pub struct GuotuError {
    pub line: usize,
    pub parcel: Option<String>,
    pub point: Option<String>,
    pub msg: String,
}

fn context(parcel: Option<&str>, point: Option<&str>) -> String {
    let mut s = String::new();
    if let Some(p) = parcel {
        s.push_str(", parcel ");
        s.push_str(if p.is_empty() { "(no id)" } else { p });
    }
    if let Some(p) = point {
        s.push_str(", point ");
        s.push_str(p);
    }
    s
}

impl GuotuError {
    fn new(line: usize, msg: impl Into<String>) -> Self {
        GuotuError {
            line,
            parcel: None,
            point: None,
            msg: msg.into(),
        }
    }

    fn at(mut self, parcel: &str, point: Option<&str>) -> Self {
        self.parcel = Some(parcel.to_string());
        self.point = point.map(str::to_string);
        self
    }
}

/// EPSG code of a CGCS2000 Gauss-Krüger zone (None when out of range).
pub fn gk_epsg(zone_width: u8, zone: u32, prefixed: bool) -> Option<u32> {
    match (zone_width, zone, prefixed) {
        (3, 25..=45, true) => Some(4513 + zone - 25),
        (3, 25..=45, false) => Some(4534 + zone - 25),
        (6, 13..=23, true) => Some(4491 + zone - 13),
        (6, 13..=23, false) => Some(4502 + zone - 13),
        _ => None,
    }
}

/// Central meridian in degrees of a zone (NaN for a zone width other than 3 or 6).
pub fn central_meridian(zone_width: u8, zone: u32) -> f64 {
    match zone_width {
        3 => 3.0 * f64::from(zone),
        6 => 6.0 * f64::from(zone) - 3.0,
        _ => f64::NAN,
    }
}

/// Decodes UTF-8 (with or without BOM), UTF-16 with BOM, or GBK/GB18030, then parses.
pub fn parse_bytes(bytes: &[u8]) -> Result<CornerFile, GuotuError> {
    let fail = |line: usize, what: &str| {
        GuotuError::new(
            line,
            format!("undecodable bytes on this line ({what}); re-save the file as UTF-8 or GBK"),
        )
    };
    if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
        let text = decode(enc, &bytes[bom_len..])
            .map_err(|(line, _)| fail(line, &format!("not valid {}", enc.name())))?;
        return parse_str(&text);
    }
    let utf8_error = match std::str::from_utf8(bytes) {
        Ok(text) => return parse_str(text),
        Err(e) => e,
    };
    // GB18030 is a superset of GBK, so one decoder covers both.
    match decode(GB18030, bytes) {
        Ok(text) => parse_str(&text),
        // Blame the encoding that got further: a UTF-8 file with one stray
        // byte fails much earlier as GB18030.
        Err((_, read)) if utf8_error.valid_up_to() >= read => {
            let upto = &bytes[..utf8_error.valid_up_to()];
            let line = upto.iter().filter(|&&b| b == b'\n').count() + 1;
            Err(fail(line, "not valid UTF-8"))
        }
        Err((line, _)) => Err(fail(line, "neither UTF-8 nor GBK/GB18030")),
    }
}

/// Decodes strictly; on failure gives the 1-based line and the bytes consumed.
fn decode(encoding: &'static Encoding, bytes: &[u8]) -> Result<String, (usize, usize)> {
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let capacity = decoder
        .max_utf8_buffer_length_without_replacement(bytes.len())
        .ok_or((1, 0))?;
    let mut text = String::with_capacity(capacity);
    match decoder.decode_to_string_without_replacement(bytes, &mut text, true) {
        (DecoderResult::InputEmpty, _) => Ok(text),
        (_, read) => Err((text.matches('\n').count() + 1, read)),
    }
}

/// Parses already-decoded text.
pub fn parse_str(text: &str) -> Result<CornerFile, GuotuError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut warnings = Vec::new();

    // Pass 1: split into sections, so the header is known before any point is read.
    let mut attrs: HashMap<String, (usize, String)> = HashMap::new();
    let mut coord_lines: Vec<(usize, &str)> = Vec::new();
    let mut coord_section: Option<usize> = None;
    let mut section: Option<&str> = None;
    let mut last_line = 1;
    for (idx, raw) in text.split('\n').enumerate() {
        let line_no = idx + 1;
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        last_line = line_no;
        if let Some(name) = section_name(line) {
            match name {
                "属性描述" => section = Some("attr"),
                "地块坐标" => {
                    coord_section.get_or_insert(line_no);
                    section = Some("coords");
                }
                other => {
                    warnings.push(format!("line {line_no}: unknown section [{other}] ignored"));
                    section = Some("ignored");
                }
            }
            continue;
        }
        match section {
            None => {
                return Err(GuotuError::new(
                    line_no,
                    "text before the first section; a 国土 TXT file starts with [属性描述] \
                     (header) followed by [地块坐标] (coordinates)",
                ));
            }
            Some("attr") => {
                let Some((key, value)) = line.split_once(['=', '＝']) else {
                    return Err(GuotuError::new(
                        line_no,
                        format!("expected key=value in [属性描述], found {line:?}"),
                    ));
                };
                let key = key.trim().to_string();
                if let Some((prev, _)) = attrs.get(&key) {
                    warnings.push(format!(
                        "line {line_no}: {key} repeated (first at line {prev}); the later value is used"
                    ));
                }
                attrs.insert(key, (line_no, value.trim().to_string()));
            }
            Some("coords") => coord_lines.push((line_no, line)),
            Some(_) => {}
        }
    }
    // The header first: a refused datum explains more than a missing section.
    let header = read_header(&attrs, &mut warnings)?;
    let Some(coord_section) = coord_section else {
        return Err(GuotuError::new(
            last_line,
            "missing [地块坐标] section: the file has no coordinates; \
             is this really a 国土 TXT corner-coordinate file?",
        ));
    };

    let mut reader = PointReader {
        zone_width: header.zone_width,
        width_given: header.width_given,
        header_zone: header.zone,
        zone: header.zone.map(|(_, z)| z),
        form: None,
        swapped_warned: false,
    };

    // Pass 2: parcels and their points.
    let mut raw_parcels: Vec<RawParcel> = Vec::new();
    for (line_no, line) in coord_lines {
        if let Some(head) = line.strip_suffix(['@', '＠']) {
            raw_parcels.push(parse_parcel_header(line_no, head, &mut warnings)?);
            continue;
        }
        let Some(parcel) = raw_parcels.last_mut() else {
            return Err(GuotuError::new(
                line_no,
                "point line before any parcel header; each parcel must start with a header \
                 line ending in @ (count,area,id,name,面,...,@)",
            ));
        };
        let point = reader.read_point(line_no, line, &parcel.id, &mut warnings)?;
        parcel.points.push(point);
    }
    if raw_parcels.is_empty() {
        return Err(GuotuError::new(
            coord_section,
            "[地块坐标] contains no parcel; add a header line ending in @ followed by the points",
        ));
    }
    let parcels = raw_parcels
        .into_iter()
        .map(|p| build_parcel(p, &mut warnings))
        .collect::<Result<Vec<_>, _>>()?;

    // Every parcel has at least one point, so the zone and the form are known.
    let (zone, prefixed) = match (reader.zone, reader.form) {
        (Some(zone), Some((prefixed, ..))) => (zone, prefixed),
        _ => return Err(GuotuError::new(coord_section, "no coordinates found")),
    };
    let epsg = gk_epsg(header.zone_width, zone, prefixed).ok_or_else(|| {
        GuotuError::new(
            coord_section,
            format!(
                "zone {zone} is out of range for {}-degree zones",
                header.zone_width
            ),
        )
    })?;
    Ok(CornerFile {
        datum: Datum::Cgcs2000,
        zone_width: header.zone_width,
        zone,
        prefixed,
        epsg,
        parcels,
        warnings,
        datum_assumed: header.datum_assumed,
    })
}

fn section_name(line: &str) -> Option<&str> {
    let inner = line
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .or_else(|| line.strip_prefix('【').and_then(|s| s.strip_suffix('】')))?;
    Some(inner.trim())
}

struct Header {
    datum_assumed: bool,
    zone_width: u8,
    /// 几度分带 is in the header (not assumed 3).
    width_given: bool,
    /// (line, zone) of 带号.
    zone: Option<(usize, u32)>,
}

fn read_header(
    attrs: &HashMap<String, (usize, String)>,
    warnings: &mut Vec<String>,
) -> Result<Header, GuotuError> {
    let get = |key: &str| attrs.get(key).filter(|(_, v)| !v.is_empty());

    // Every key that names the coordinate system is checked (坐标系统=1980西安坐标系 is
    // as much Xian 1980 as 坐标系=…), in line order.
    let mut datum_keys: Vec<(&String, &(usize, String))> = attrs
        .iter()
        .filter(|(k, (_, v))| is_datum_key(k) && !v.is_empty())
        .collect();
    datum_keys.sort_by_key(|(_, (line, _))| *line);
    for (key, (line, value)) in &datum_keys {
        check_datum(key, value).map_err(|msg| GuotuError::new(*line, msg))?;
    }
    let datum_assumed = datum_keys.is_empty();
    if datum_assumed {
        warnings.push(format!(
            "no coordinate system in the header (looked for {}); assuming CGCS2000 (2000国家大地坐标系): if the file is Xian 1980 or Beijing 1954, convert it first",
            DATUM_KEYS.join(", ")
        ));
    }

    let zone_width = match get("几度分带") {
        None => {
            warnings.push("几度分带 (zone width) not given; assuming 3-degree zones".into());
            3
        }
        Some((line, value)) => match value.trim_end_matches(['度', '°']).trim().parse::<u8>() {
            Ok(w @ (3 | 6)) => w,
            _ => {
                return Err(GuotuError::new(
                    *line,
                    format!("几度分带 (zone width) is {value:?}; it must be 3 or 6"),
                ));
            }
        },
    };

    let not_gauss =
        |(_, v): &&(usize, String)| !v.contains("高斯") && !v.to_lowercase().contains("gauss");
    if let Some((line, value)) = get("投影类型").filter(not_gauss) {
        return Err(GuotuError::new(
            *line,
            format!(
                "投影类型 (projection) is {value:?}; only Gauss-Krüger (高斯克吕格) is supported"
            ),
        ));
    }
    let not_metre = |(_, v): &&(usize, String)| v != "米" && !v.eq_ignore_ascii_case("m");
    if let Some((line, value)) = get("计量单位").filter(not_metre) {
        return Err(GuotuError::new(
            *line,
            format!("计量单位 (unit) is {value:?}; coordinates must be in metres (米)"),
        ));
    }

    let zone = match get("带号") {
        None => None,
        Some((line, value)) => {
            let zone = value.parse::<u32>().map_err(|_| {
                GuotuError::new(
                    *line,
                    format!("带号 (zone number) {value:?} is not a number"),
                )
            })?;
            check_zone_range(zone_width, zone, get("几度分带").is_some())
                .map_err(|msg| GuotuError::new(*line, msg))?;
            Some((*line, zone))
        }
    };
    Ok(Header {
        datum_assumed,
        zone_width,
        width_given: get("几度分带").is_some(),
        zone,
    })
}

/// Header keys that name the coordinate system, as provinces write them.
const DATUM_KEYS: [&str; 8] = [
    "坐标系",
    "坐标系统",
    "大地坐标系",
    "大地坐标系统",
    "坐标系名称",
    "坐标参考系",
    "大地基准",
    "坐标基准",
];

/// A header key naming the coordinate system: one of `DATUM_KEYS`, or any key with 坐标系
/// in it (平面坐标系, 所用坐标系 …) — not 坐标 alone (坐标单位) nor 高程基准 (heights).
fn is_datum_key(key: &str) -> bool {
    let k = key.trim();
    DATUM_KEYS.contains(&k) || k.contains("坐标系")
}

fn check_datum(key: &str, value: &str) -> Result<(), String> {
    // Match digit runs whole, so e.g. an EPSG code like 4549 is not read as "54".
    let runs: Vec<&str> = value
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .collect();
    let lower = value.to_lowercase();
    let has = |words: &[&str], numbers: &[&str]| {
        words.iter().any(|w| lower.contains(w)) || runs.iter().any(|r| numbers.contains(r))
    };
    let convert = "convert the file to CGCS2000 (2000国家大地坐标系) first, then load it again";
    if has(&["西安", "xian"], &["80", "1980"]) {
        return Err(format!(
            "{key} is {value:?}: Xian 1980 (西安80) is a different datum from CGCS2000; {convert}"
        ));
    }
    if has(&["北京", "beijing"], &["54", "1954"]) {
        return Err(format!(
            "{key} is {value:?}: Beijing 1954 (北京54) is a different datum from CGCS2000; {convert}"
        ));
    }
    if runs.contains(&"2000") {
        return Ok(());
    }
    Err(format!(
        "{key} {value:?} is not recognised; only CGCS2000 (2000国家大地坐标系) is supported: {convert}"
    ))
}

fn check_zone_range(width: u8, zone: u32, width_given: bool) -> Result<(), String> {
    if gk_epsg(width, zone, true).is_some() {
        return Ok(());
    }
    let hint = if width == 3 && gk_epsg(6, zone, true).is_some() {
        if width_given {
            "; it looks like a 6-degree zone: check 几度分带"
        } else {
            "; it looks like a 6-degree zone: add 几度分带=6 to the header"
        }
    } else {
        ""
    };
    let range = if width == 3 { "25..45" } else { "13..23" };
    Err(format!(
        "zone {zone} is outside China's {width}-degree zones ({range}){hint}"
    ))
}

struct RawPoint {
    line: usize,
    name: String,
    ring: u32,
    east: f64,
    north: f64,
}

struct RawParcel {
    line: usize,
    count: Option<usize>,
    area_ha: Option<f64>,
    id: String,
    name: String,
    land_use: String,
    points: Vec<RawPoint>,
}

fn split_fields(line: &str) -> Vec<&str> {
    line.split([',', '，']).map(str::trim).collect()
}

fn parse_parcel_header(
    line: usize,
    head: &str,
    warnings: &mut Vec<String>,
) -> Result<RawParcel, GuotuError> {
    let f = split_fields(head);
    if f.len() < 5 {
        return Err(GuotuError::new(
            line,
            format!(
                "parcel header has {} fields; expected at least 5 \
                 (point count, area, id, name, kind 面, ..., @)",
                f.len()
            ),
        ));
    }
    let id = f[2].to_string();
    let err = |msg: String| GuotuError::new(line, msg).at(&id, None);
    let count = match f[0] {
        "" => None,
        s => Some(s.parse::<usize>().map_err(|_| {
            err(format!(
                "point count {s:?} in the parcel header is not a whole number"
            ))
        })?),
    };
    let area_ha = match f[1] {
        "" => None,
        s => match s.parse::<f64>() {
            Ok(a) if a.is_finite() && a >= 0.0 => Some(a),
            _ => {
                return Err(err(format!(
                    "area {s:?} in the parcel header is not a number"
                )));
            }
        },
    };
    match f[4] {
        "面" => {}
        "" => warnings.push(format!(
            "line {line}, parcel {id}: geometry kind not given; assuming polygon (面)"
        )),
        other => {
            return Err(err(format!(
                "geometry kind is {other:?}; a mining right must be a polygon (面)"
            )));
        }
    }
    if id.is_empty() {
        warnings.push(format!("line {line}: parcel has no id (地块编号)"));
    }
    Ok(RawParcel {
        line,
        count,
        area_ha,
        name: f[3].to_string(),
        land_use: f.get(6).copied().unwrap_or("").to_string(),
        id,
        points: Vec::new(),
    })
}

/// Parses a non-negative decimal number; returns it with its count of
/// significant integer digits, which is what tells northing from easting.
fn parse_coord(s: &str) -> Option<(f64, usize)> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let digits_only = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits_only(int) || !digits_only(frac) {
        return None;
    }
    let value = s.parse::<f64>().ok()?;
    Some((value, int.trim_start_matches('0').len()))
}

struct PointReader {
    zone_width: u8,
    /// 几度分带 is in the header: a wrong zone is then a wrong header value, not a
    /// missing one.
    width_given: bool,
    header_zone: Option<(usize, u32)>,
    zone: Option<u32>,
    /// (prefixed, line, point) of the first point, which fixes the form for the file.
    form: Option<(bool, usize, String)>,
    swapped_warned: bool,
}

impl PointReader {
    fn read_point(
        &mut self,
        line: usize,
        text: &str,
        parcel: &str,
        warnings: &mut Vec<String>,
    ) -> Result<RawPoint, GuotuError> {
        let mut f = split_fields(text);
        if f.len() == 5 && f[4].is_empty() {
            f.pop(); // tolerate a trailing comma
        }
        if f.len() != 4 {
            return Err(GuotuError::new(
                line,
                format!(
                    "point line has {} fields; expected 4 (point name, ring number, X, Y)",
                    f.len()
                ),
            )
            .at(parcel, None));
        }
        let name = if f[0].is_empty() {
            format!("<unnamed, line {line}>")
        } else {
            f[0].to_string()
        };
        let err = |msg: String| GuotuError::new(line, msg).at(parcel, Some(&name));
        let ring = match f[1].parse::<u32>() {
            Ok(r) if r >= 1 => r,
            _ => {
                return Err(err(format!(
                    "ring number {:?} must be a whole number ≥ 1 (1 = outer ring, 2+ = holes)",
                    f[1]
                )));
            }
        };
        let (a, b) = match (parse_coord(f[2]), parse_coord(f[3])) {
            (Some(a), Some(b)) => (a, b),
            _ => {
                return Err(err(format!(
                    "coordinates {:?}, {:?} are not plain decimal numbers",
                    f[2], f[3]
                )));
            }
        };
        let ((north, _), (east, east_digits)) = match (a.1, b.1) {
            (7, 6 | 8) => (a, b),
            (6 | 8, 7) => {
                if !self.swapped_warned {
                    self.swapped_warned = true;
                    warnings.push(format!(
                        "line {line}: easting given before northing; read by digit count"
                    ));
                }
                (b, a)
            }
            (da, db) => {
                return Err(err(format!(
                    "cannot tell northing from easting: {:?} has {da} and {:?} has {db} integer \
                     digits; expected a 7-digit northing (X) and an easting (Y) of 8 digits \
                     (with zone prefix) or 6 digits (without)",
                    f[2], f[3]
                )));
            }
        };

        let prefixed = east_digits == 8;
        match &self.form {
            None => self.form = Some((prefixed, line, name.clone())),
            Some((first, first_line, first_name)) if *first != prefixed => {
                let digits = |p: bool| {
                    if p {
                        "8 digits, with"
                    } else {
                        "6 digits, without"
                    }
                };
                return Err(err(format!(
                    "easting {east} has {} zone prefix but point {first_name} (line {first_line}) \
                     has {}; all points of a file must use the same form",
                    digits(prefixed),
                    digits(*first)
                )));
            }
            Some(_) => {}
        }

        let local_east = if prefixed {
            let prefix = (east / 1e6).floor() as u32;
            if let Some((hline, hzone)) = self.header_zone {
                if prefix != hzone {
                    return Err(err(format!(
                        "the file contradicts its header: 带号 (line {hline}) is {hzone} but \
                         easting {east} carries zone prefix {prefix}; fix 带号 or the coordinates"
                    )));
                }
            } else if let Some(zone) = self.zone {
                if prefix != zone {
                    return Err(err(format!(
                        "easting {east} carries zone prefix {prefix} but earlier points are in \
                         zone {zone}; a file must lie in a single zone"
                    )));
                }
            } else {
                check_zone_range(self.zone_width, prefix, self.width_given).map_err(err)?;
                self.zone = Some(prefix);
            }
            east - f64::from(prefix) * 1e6
        } else {
            if self.zone.is_none() {
                return Err(err(
                    "zone unknown: eastings have no zone prefix and the header has no 带号; \
                     add 带号=<zone number> to [属性描述]"
                        .into(),
                ));
            }
            east
        };
        if !(100_000.0..=900_000.0).contains(&local_east) {
            return Err(err(format!(
                "easting {east} is outside the zone (500000 ± 400000 m); check the coordinates"
            )));
        }
        if !(1_000_000.0..=6_000_000.0).contains(&north) {
            return Err(err(format!(
                "northing {north} is outside China (1000000..6000000 m); check the coordinates"
            )));
        }
        Ok(RawPoint {
            line,
            name,
            ring,
            east,
            north,
        })
    }
}

/// 2^36: every range-checked coordinate is an integer multiple of 2^-36.
const SCALE: f64 = 68_719_476_736.0;

type Fixed = (i64, i64);

fn fixed(p: &RawPoint) -> Fixed {
    // Exact by the range argument in the module docs; `as` cannot truncate here.
    ((p.east * SCALE) as i64, (p.north * SCALE) as i64)
}

fn orient(a: Fixed, b: Fixed, c: Fixed) -> i128 {
    let d = |u: i64, v: i64| i128::from(u) - i128::from(v);
    (d(b.0, a.0) * d(c.1, a.1) - d(b.1, a.1) * d(c.0, a.0)).signum()
}

/// For `p` collinear with `a`–`b`: is it on the closed segment?
fn within(a: Fixed, b: Fixed, p: Fixed) -> bool {
    a.0.min(b.0) <= p.0 && p.0 <= a.0.max(b.0) && a.1.min(b.1) <= p.1 && p.1 <= a.1.max(b.1)
}

fn segments_meet(p1: Fixed, p2: Fixed, p3: Fixed, p4: Fixed) -> bool {
    // Cheap bounding-box rejection keeps the O(n²) ring checks fast.
    let apart = |a: i64, b: i64, c: i64, d: i64| a.max(b) < c.min(d) || c.max(d) < a.min(b);
    if apart(p1.0, p2.0, p3.0, p4.0) || apart(p1.1, p2.1, p3.1, p4.1) {
        return false;
    }
    let (d1, d2) = (orient(p3, p4, p1), orient(p3, p4, p2));
    let (d3, d4) = (orient(p1, p2, p3), orient(p1, p2, p4));
    (d1 * d2 < 0 && d3 * d4 < 0)
        || (d1 == 0 && within(p3, p4, p1))
        || (d2 == 0 && within(p3, p4, p2))
        || (d3 == 0 && within(p1, p2, p3))
        || (d4 == 0 && within(p1, p2, p4))
}

enum Location {
    Inside,
    Outside,
    Boundary,
}

fn locate(p: Fixed, ring: &[Fixed]) -> Location {
    let mut inside = false;
    for w in ring.windows(2) {
        let (a, b) = (w[0], w[1]);
        let o = orient(a, b, p);
        if o == 0 && within(a, b, p) {
            return Location::Boundary;
        }
        // Count crossings of the ray from p towards +easting.
        if (a.1 > p.1) != (b.1 > p.1) && (b.1 > a.1) == (o > 0) {
            inside = !inside;
        }
    }
    if inside {
        Location::Inside
    } else {
        Location::Outside
    }
}

struct Ring<'a> {
    number: u32,
    points: &'a [RawPoint],
    fixed: Vec<Fixed>,
}

impl Ring<'_> {
    fn segment_name(&self, i: usize) -> String {
        format!("{}–{}", self.points[i].name, self.points[i + 1].name)
    }

    /// Counter-clockwise? Exact: the turn at the lowest-then-leftmost vertex of a
    /// simple polygon has the polygon's orientation.
    fn is_ccw(&self) -> bool {
        let m = self.fixed.len() - 1;
        let (k, _) = self.fixed[..m]
            .iter()
            .enumerate()
            .min_by_key(|(_, p)| (p.1, p.0))
            .unwrap_or((0, &self.fixed[0]));
        let prev = self.fixed[(k + m - 1) % m];
        orient(prev, self.fixed[k], self.fixed[k + 1]) > 0
    }

    fn coords(&self, ccw: bool) -> Vec<(f64, f64)> {
        let mut v: Vec<_> = self.points.iter().map(|p| (p.east, p.north)).collect();
        if self.is_ccw() != ccw {
            v.reverse();
        }
        v
    }
}

fn check_ring(ring: &Ring, parcel: &str) -> Result<(), GuotuError> {
    let pts = ring.points;
    let r = ring.number;
    let err = |p: &RawPoint, msg: String| GuotuError::new(p.line, msg).at(parcel, Some(&p.name));
    let (first, last) = (&pts[0], &pts[pts.len() - 1]);
    if ring.fixed[0] != ring.fixed[pts.len() - 1] {
        return Err(err(
            last,
            format!(
                "ring {r} is not closed: first point {} ({}, {}) differs from last point {} \
                 ({}, {}); repeat the first point at the end of the ring",
                first.name, first.north, first.east, last.name, last.north, last.east
            ),
        ));
    }
    let m = pts.len() - 1;
    let mut seen: HashMap<Fixed, usize> = HashMap::new();
    for j in 0..m {
        if let Some(&i) = seen.get(&ring.fixed[j]) {
            let what = if i + 1 == j {
                "duplicate consecutive points"
            } else {
                "repeated vertex"
            };
            return Err(err(
                &pts[j],
                format!(
                    "{what} in ring {r}: {} and {} have the same coordinates; remove one",
                    pts[i].name, pts[j].name
                ),
            ));
        }
        seen.insert(ring.fixed[j], j);
    }
    if m < 3 {
        return Err(err(
            last,
            format!(
                "ring {r} has only {} distinct points; a polygon needs at least 3",
                m.max(1)
            ),
        ));
    }
    let f = &ring.fixed;
    for i in 0..m {
        // Adjacent segments meet only at their shared vertex unless the ring doubles back.
        let (p, q, s) = (f[i], f[i + 1], f[(i + 2) % m]);
        let dot = |u: Fixed, v: Fixed, w: Fixed| {
            let d = |a: i64, b: i64| i128::from(a) - i128::from(b);
            d(v.0, u.0) * d(w.0, v.0) + d(v.1, u.1) * d(w.1, v.1)
        };
        if orient(p, q, s) == 0 && dot(p, q, s) < 0 {
            return Err(err(
                &pts[i + 1],
                format!(
                    "ring {r} doubles back on itself at point {}: segment {} overlaps segment {}",
                    pts[i + 1].name,
                    ring.segment_name(i),
                    ring.segment_name((i + 1) % m)
                ),
            ));
        }
    }
    for i in 0..m {
        for j in i + 2..m {
            if i == 0 && j == m - 1 {
                continue; // adjacent through the closing point
            }
            if segments_meet(f[i], f[i + 1], f[j], f[j + 1]) {
                return Err(err(
                    &pts[j],
                    format!(
                        "segment {} crosses segment {} (ring {r} intersects itself); \
                         fix the point order or coordinates",
                        ring.segment_name(i),
                        ring.segment_name(j)
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn build_parcel(raw: RawParcel, warnings: &mut Vec<String>) -> Result<Parcel, GuotuError> {
    let id = raw.id.as_str();
    let header_err = |msg: String| GuotuError::new(raw.line, msg).at(id, None);
    if raw.points.is_empty() {
        return Err(header_err("parcel has no point lines".into()));
    }
    if let Some(count) = raw.count.filter(|&c| c != raw.points.len()) {
        warnings.push(format!(
            "line {}, parcel {id}: header says {count} points but {} point lines follow",
            raw.line,
            raw.points.len()
        ));
    }

    let mut rings: Vec<Ring> = Vec::new();
    let mut start = 0;
    for k in 1..=raw.points.len() {
        if k < raw.points.len() && raw.points[k].ring == raw.points[start].ring {
            continue;
        }
        let number = raw.points[start].ring;
        if rings.iter().any(|r| r.number == number) {
            let p = &raw.points[start];
            return Err(GuotuError::new(
                p.line,
                format!(
                    "points of ring {number} are not contiguous: ring {number} starts again \
                     here; list all points of a ring together"
                ),
            )
            .at(id, Some(&p.name)));
        }
        let points = &raw.points[start..k];
        rings.push(Ring {
            number,
            points,
            fixed: points.iter().map(fixed).collect(),
        });
        start = k;
    }
    for ring in &rings {
        check_ring(ring, id)?;
    }
    let Some(outer_idx) = rings.iter().position(|r| r.number == 1) else {
        return Err(header_err(
            "parcel has holes (ring 2+) but no outer ring (ring 1)".into(),
        ));
    };

    for (a, ra) in rings.iter().enumerate() {
        for rb in &rings[a + 1..] {
            let (fa, fb) = (&ra.fixed, &rb.fixed);
            for i in 0..fa.len() - 1 {
                for j in 0..fb.len() - 1 {
                    if segments_meet(fa[i], fa[i + 1], fb[j], fb[j + 1]) {
                        let p = &rb.points[j];
                        return Err(GuotuError::new(
                            p.line,
                            format!(
                                "segment {} of ring {} crosses or touches segment {} of ring {}; \
                                 rings of a parcel must not meet",
                                rb.segment_name(j),
                                rb.number,
                                ra.segment_name(i),
                                ra.number
                            ),
                        )
                        .at(id, Some(&p.name)));
                    }
                }
            }
        }
    }

    let outer = &rings[outer_idx];
    let mut holes = Vec::new();
    let mut hole_area = 0.0;
    for hole in rings.iter().filter(|r| r.number != 1) {
        let where_ = match locate(hole.fixed[0], &outer.fixed) {
            Location::Inside => None,
            Location::Outside => Some("outside"),
            Location::Boundary => Some("on the boundary of"),
        };
        if let Some(where_) = where_ {
            let p = &hole.points[0];
            return Err(GuotuError::new(
                p.line,
                format!(
                    "hole (ring {}) starts at point {} which lies {where_} the outer ring \
                     (ring 1); a hole must lie inside the outer ring — check ring numbers",
                    hole.number, p.name
                ),
            )
            .at(id, Some(&p.name)));
        }
        let coords = hole.coords(false);
        hole_area += shoelace(&coords).abs();
        holes.push(coords);
    }
    // Rings do not cross (checked above), so a hole is inside another hole or apart
    // from it; a hole inside a hole would be land of the licence again, which the
    // format cannot say and the area would count twice as excluded.
    let inner: Vec<&Ring> = rings.iter().filter(|r| r.number != 1).collect();
    for a in &inner {
        for b in &inner {
            if a.number != b.number && matches!(locate(b.fixed[0], &a.fixed), Location::Inside) {
                let p = &b.points[0];
                return Err(GuotuError::new(
                    p.line,
                    format!(
                        "hole (ring {}) lies inside hole (ring {}); holes must not nest — \
                         check ring numbers",
                        b.number, a.number
                    ),
                )
                .at(id, Some(&p.name)));
            }
        }
    }
    let outer_coords = outer.coords(true);
    let planar_area_m2 = shoelace(&outer_coords).abs() - hole_area;

    if let Some(ha) = raw.area_ha {
        let computed = planar_area_m2 / 10_000.0;
        if (computed - ha).abs() > 0.01 * ha + 0.01 {
            warnings.push(format!(
                "line {}, parcel {id}: header area {ha} ha differs from the area computed from \
                 the coordinates, {computed:.4} ha",
                raw.line
            ));
        }
    }
    Ok(Parcel {
        id: raw.id.clone(),
        name: raw.name.clone(),
        kind: "面".into(),
        land_use: raw.land_use.clone(),
        area_ha: raw.area_ha,
        line: raw.line,
        outer: outer_coords,
        holes,
        planar_area_m2,
    })
}

/// Signed area of a closed ring; relative to its first vertex to keep precision.
fn shoelace(ring: &[(f64, f64)]) -> f64 {
    let (x0, y0) = ring[0];
    let twice: f64 = ring
        .windows(2)
        .map(|w| (w[0].0 - x0) * (w[1].1 - y0) - (w[1].0 - x0) * (w[0].1 - y0))
        .sum();
    twice / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    const N0: f64 = 3_512_345.67;

    fn attrs(zone_line: &str) -> String {
        format!(
            "[属性描述]\n坐标系=2000国家大地坐标系\n几度分带=3\n投影类型=高斯克吕格\n计量单位=米\n\
             {zone_line}\n精度=0.01\n转换参数=,,,,,,\n[地块坐标]\n"
        )
    }

    /// Point lines `J{first}..` of one ring from (east, north) offsets, closed
    /// by repeating the first point.
    fn ring(ring_no: u32, first: usize, e0: f64, offsets: &[(f64, f64)]) -> String {
        let mut s = String::new();
        let closed = offsets.iter().chain(offsets.first());
        for (k, (de, dn)) in closed.enumerate() {
            let k = if k == offsets.len() { first } else { first + k };
            s += &format!("J{k},{ring_no},{:.2},{:.2}\n", N0 + dn, e0 + de);
        }
        s
    }

    const SQUARE: [(f64, f64); 4] = [(0.0, 0.0), (100.0, 0.0), (100.0, -100.0), (0.0, -100.0)];
    const E43: f64 = 43_512_345.67;

    fn one_square(zone_line: &str, e0: f64) -> String {
        attrs(zone_line) + "5,1.0000,DK01,地块1,面,,采矿用地,,@\n" + &ring(1, 1, e0, &SQUARE)
    }

    fn err(text: &str) -> GuotuError {
        match parse_str(text) {
            Ok(f) => panic!("expected an error, got {f:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn utf8_single_parcel_zone_43() {
        let f = parse_str(&one_square("带号=43", E43)).unwrap();
        assert_eq!(
            (f.zone_width, f.zone, f.prefixed, f.epsg),
            (3, 43, true, 4513 + 18)
        );
        assert_eq!(f.datum, Datum::Cgcs2000);
        assert!(f.warnings.is_empty(), "{:?}", f.warnings);
        let p = &f.parcels[0];
        assert_eq!(
            (p.id.as_str(), p.name.as_str(), p.line),
            ("DK01", "地块1", 10)
        );
        assert_eq!((p.kind.as_str(), p.land_use.as_str()), ("面", "采矿用地"));
        assert_eq!(p.area_ha, Some(1.0));
        // The file lists the square clockwise; it must come back counter-clockwise.
        let expected = vec![
            (43_512_345.67, 3_512_345.67),
            (43_512_345.67, 3_512_245.67),
            (43_512_445.67, 3_512_245.67),
            (43_512_445.67, 3_512_345.67),
            (43_512_345.67, 3_512_345.67),
        ];
        assert_eq!(p.outer, expected);
        assert!(shoelace(&p.outer) > 0.0);
        assert!((p.planar_area_m2 - 10_000.0).abs() < 1e-6);
        assert_eq!(central_meridian(3, 43), 129.0);
    }

    #[test]
    fn hole_is_subtracted_and_clockwise() {
        let ccw_outer = [(0.0, 0.0), (100.0, 0.0), (100.0, 100.0), (0.0, 100.0)];
        let ccw_hole = [(40.0, 40.0), (60.0, 40.0), (60.0, 60.0), (40.0, 60.0)];
        let text = attrs("带号=43")
            + "10,0.96,DK01,,面,,,,@\n"
            + &ring(1, 1, E43, &ccw_outer)
            + &ring(2, 5, E43, &ccw_hole);
        let f = parse_str(&text).unwrap();
        let p = &f.parcels[0];
        assert_eq!(p.holes.len(), 1);
        assert!(shoelace(&p.outer) > 0.0);
        assert!(shoelace(&p.holes[0]) < 0.0);
        assert!((p.planar_area_m2 - 9_600.0).abs() < 1e-6);
        assert!(f.warnings.is_empty(), "{:?}", f.warnings);
    }

    #[test]
    fn parcels_sharing_an_id_stay_separate() {
        let text = one_square("带号=43", E43)
            + "5,1.0000,DK01,地块1,面,,采矿用地,,@\n"
            + &ring(1, 1, E43 + 1000.0, &SQUARE);
        let f = parse_str(&text).unwrap();
        assert_eq!(f.parcels.len(), 2);
        assert!(f.parcels.iter().all(|p| p.id == "DK01"));
        assert_eq!((f.parcels[0].line, f.parcels[1].line), (10, 16));
        assert_eq!(f.parcels[1].outer[0].0, E43 + 1000.0);
    }

    #[test]
    fn gbk_bytes_parse_like_utf8() {
        let text = one_square("带号=43", E43).replacen("地块1,面", "地块1，面", 1);
        let (gbk, _, bad) = encoding_rs::GBK.encode(&text);
        assert!(!bad);
        assert!(
            std::str::from_utf8(&gbk).is_err(),
            "test must exercise the GBK path"
        );
        let from_gbk = parse_bytes(&gbk).unwrap();
        assert_eq!(from_gbk, parse_str(&text).unwrap());
        assert_eq!(from_gbk.parcels[0].name, "地块1");
    }

    #[test]
    fn bom_and_crlf() {
        let text = one_square("带号=43", E43);
        let bytes = format!("\u{feff}{}", text.replace('\n', "\r\n\r\n"));
        let f = parse_bytes(bytes.as_bytes()).unwrap();
        assert_eq!(
            f.parcels[0].outer,
            parse_str(&text).unwrap().parcels[0].outer
        );
        // Blank lines do not shift line numbers: the header is on physical line 19.
        assert_eq!(f.parcels[0].line, 19);
    }

    #[test]
    fn unprefixed_easting_uses_header_zone() {
        let f = parse_str(&one_square("带号=39", 512_345.67)).unwrap();
        assert_eq!((f.zone, f.prefixed, f.epsg), (39, false, 4534 + (39 - 25)));
        assert_eq!(f.parcels[0].outer[0], (512_345.67, N0));
    }

    #[test]
    fn six_degree_prefixed() {
        let text = one_square("带号=20", 20_512_345.67).replace("几度分带=3", "几度分带=6");
        let f = parse_str(&text).unwrap();
        assert_eq!(
            (f.zone_width, f.zone, f.prefixed, f.epsg),
            (6, 20, true, 4498)
        );
        assert_eq!(central_meridian(6, 20), 117.0);
        // A 6-degree zone number under a 3-degree header is refused with a hint.
        let e = err(&one_square("带号=20", 20_512_345.67));
        assert!(e.msg.contains("check 几度分带"), "{e}");
    }

    /// A 6-degree zone prefix with no 几度分带 in the header (3 assumed): the hint says
    /// to add the key the header lacks, from 带号 and from the points' prefix alike
    /// (review finding 7).
    #[test]
    fn six_degree_zone_without_width_says_add_it() {
        let no_width =
            |zone_line: &str| one_square(zone_line, 20_512_345.67).replace("几度分带=3\n", "");
        for text in [no_width("带号=20"), no_width("备注=无")] {
            let e = err(&text);
            assert!(e.msg.contains("add 几度分带=6 to the header"), "{e}");
        }
        // With 几度分带=3 written and a prefix of a 6-degree zone: check the value.
        let e = err(&one_square("备注=无", 20_512_345.67));
        assert!(e.msg.contains("check 几度分带"), "{e}");
    }

    #[test]
    fn swapped_axes_are_detected_once() {
        let good = one_square("带号=43", E43);
        let mut swapped = String::new();
        for line in good.lines() {
            let f: Vec<&str> = line.split(',').collect();
            if f.len() == 4 {
                swapped += &format!("{},{},{},{}\n", f[0], f[1], f[3], f[2]);
            } else {
                swapped += &format!("{line}\n");
            }
        }
        let f = parse_str(&swapped).unwrap();
        assert_eq!(f.parcels, parse_str(&good).unwrap().parcels);
        assert_eq!(f.warnings.len(), 1);
        assert!(f.warnings[0].starts_with("line 11: easting given before northing"));
    }

    #[test]
    fn prefix_contradicting_header_names_point() {
        let e = err(&one_square("带号=43", 44_512_345.67));
        assert_eq!((e.line, e.point.as_deref()), (11, Some("J1")));
        assert!(e.msg.contains("contradicts its header"), "{e}");
        assert!(e.msg.contains("43") && e.msg.contains("prefix 44"), "{e}");
    }

    #[test]
    fn other_datums_are_refused() {
        for (value, name) in [("1980西安坐标系", "Xian 1980"), ("北京54", "Beijing 1954")] {
            let text = one_square("带号=43", E43).replace("2000国家大地坐标系", value);
            let e = err(&text);
            assert_eq!(e.line, 2);
            assert!(e.msg.contains(name) && e.msg.contains("convert"), "{e}");
        }
        // A bare EPSG-like number must not be mistaken for "54".
        assert!(check_datum("坐标系", "CGCS2000 4549").is_ok());
        assert!(check_datum("坐标系", "WGS84").is_err());
    }

    /// The coordinate system under another key (坐标系统, 大地坐标系 …) is checked as
    /// 坐标系 is: Xian 1980 there is refused, naming the key and line, not taken for
    /// CGCS2000; no such key at all is said and flagged, so the loader warns.
    #[test]
    fn datum_under_other_keys_is_checked() {
        for key in ["坐标系统", "大地坐标系", "平面坐标系", "坐标系名称"] {
            let text = one_square("带号=43", E43).replace(
                "坐标系=2000国家大地坐标系",
                &format!("{key}=1980西安坐标系"),
            );
            let e = err(&text);
            assert_eq!(e.line, 2, "{key}");
            assert!(e.msg.contains(key) && e.msg.contains("Xian 1980"), "{e}");
            let ok = text.replace("1980西安坐标系", "2000国家大地坐标系");
            let f = parse_str(&ok).unwrap();
            assert!(
                !f.datum_assumed && f.warnings.is_empty(),
                "{key}: {:?}",
                f.warnings
            );
        }
        // A height datum is no coordinate system.
        let f = parse_str(
            &one_square("带号=43", E43)
                .replace("计量单位=米", "计量单位=米\n高程基准=1985国家高程基准"),
        )
        .unwrap();
        assert!(!f.datum_assumed);
        let f = parse_str(&one_square("带号=43", E43).replace("坐标系=2000国家大地坐标系\n", ""))
            .unwrap();
        assert!(f.datum_assumed);
    }

    #[test]
    fn missing_datum_and_width_warn() {
        let text = one_square("带号=43", E43)
            .replace("坐标系=2000国家大地坐标系\n", "")
            .replace("几度分带=3\n", "");
        let f = parse_str(&text).unwrap();
        assert_eq!(f.epsg, 4531);
        assert_eq!(f.warnings.len(), 2, "{:?}", f.warnings);
        assert!(f.warnings[0].contains("assuming CGCS2000"));
    }

    #[test]
    fn unclosed_ring_names_ring_and_ends() {
        let text = attrs("带号=43")
            + "4,,DK01,,面,,,,@\n"
            + &ring(1, 1, E43, &SQUARE)
                .lines()
                .take(4)
                .collect::<Vec<_>>()
                .join("\n");
        let e = err(&text);
        assert_eq!((e.line, e.parcel.as_deref()), (14, Some("DK01")));
        assert!(e.msg.contains("ring 1 is not closed"), "{e}");
        assert!(
            e.msg.contains("first point J1 (3512345.67, 43512345.67)"),
            "{e}"
        );
        assert!(e.msg.contains("last point J4"), "{e}");
    }

    #[test]
    fn duplicate_point_names_both() {
        let pts = [(0.0, 0.0), (100.0, 0.0), (100.0, 0.0), (100.0, -100.0)];
        let e = err(&(attrs("带号=43") + "5,,DK01,,面,,,,@\n" + &ring(1, 1, E43, &pts)));
        assert!(e.msg.contains("J2 and J3"), "{e}");
        assert!(e.msg.contains("consecutive"), "{e}");
        assert_eq!(e.point.as_deref(), Some("J3"));
    }

    #[test]
    fn bow_tie_names_both_segments() {
        let pts = [(0.0, 0.0), (100.0, 100.0), (100.0, 0.0), (0.0, 100.0)];
        let e = err(&(attrs("带号=43") + "5,,DK01,,面,,,,@\n" + &ring(1, 1, E43, &pts)));
        assert!(e.msg.contains("segment J1–J2 crosses segment J3–J4"), "{e}");
    }

    #[test]
    fn spike_is_refused() {
        let pts = [(0.0, 0.0), (100.0, 0.0), (50.0, 0.0), (50.0, 50.0)];
        let e = err(&(attrs("带号=43") + "5,,DK01,,面,,,,@\n" + &ring(1, 1, E43, &pts)));
        assert!(e.msg.contains("doubles back"), "{e}");
    }

    #[test]
    fn hole_outside_outer_is_refused() {
        let hole = [(200.0, 200.0), (220.0, 200.0), (220.0, 220.0)];
        let text = attrs("带号=43")
            + "9,,DK01,,面,,,,@\n"
            + &ring(1, 1, E43, &SQUARE)
            + &ring(2, 5, E43, &hole);
        let e = err(&text);
        assert!(e.msg.contains("outside the outer ring"), "{e}");
        assert_eq!(e.point.as_deref(), Some("J5"));
        let only_hole = attrs("带号=43") + "4,,DK01,,面,,,,@\n" + &ring(2, 1, E43, &hole);
        assert!(err(&only_hole).msg.contains("no outer ring"));
    }

    #[test]
    fn a_hole_inside_a_hole_is_refused() {
        let outer = [(0.0, 0.0), (100.0, 0.0), (100.0, 100.0), (0.0, 100.0)];
        let big = [(20.0, 20.0), (80.0, 20.0), (80.0, 80.0), (20.0, 80.0)];
        let small = [(40.0, 40.0), (60.0, 40.0), (60.0, 60.0), (40.0, 60.0)];
        let text = attrs("带号=43")
            + "15,,DK01,,面,,,,@\n"
            + &ring(1, 1, E43, &outer)
            + &ring(2, 6, E43, &big)
            + &ring(3, 11, E43, &small);
        let e = err(&text);
        assert!(
            e.msg.contains("ring 3") && e.msg.contains("inside hole (ring 2)"),
            "{e}"
        );
        assert_eq!(e.point.as_deref(), Some("J11"));
    }

    #[test]
    fn hole_crossing_outer_or_touching_it_is_refused() {
        let crossing = [(50.0, -50.0), (150.0, -50.0), (150.0, -60.0)];
        let text = attrs("带号=43")
            + "9,,DK01,,面,,,,@\n"
            + &ring(1, 1, E43, &SQUARE)
            + &ring(2, 5, E43, &crossing);
        let e = err(&text);
        assert!(
            e.msg.contains("segment J5–J6 of ring 2 crosses or touches"),
            "{e}"
        );
        // Two separate holes are fine and both are subtracted.
        let h1 = [(10.0, -10.0), (10.0, -20.0), (20.0, -20.0)];
        let h2 = [(50.0, -50.0), (50.0, -60.0), (60.0, -60.0)];
        let text = attrs("带号=43")
            + "13,,DK01,,面,,,,@\n"
            + &ring(1, 1, E43, &SQUARE)
            + &ring(2, 5, E43, &h1)
            + &ring(3, 8, E43, &h2);
        let p = &parse_str(&text).unwrap().parcels[0];
        assert_eq!(p.holes.len(), 2);
        assert!((p.planar_area_m2 - 9_900.0).abs() < 1e-6);
    }

    #[test]
    fn line_kind_is_refused() {
        let text = one_square("带号=43", E43).replace(",面,", ",线,");
        let e = err(&text);
        assert_eq!((e.line, e.parcel.as_deref()), (10, Some("DK01")));
        assert!(e.msg.contains("must be a polygon (面)"), "{e}");
    }

    #[test]
    fn header_area_and_count_mismatch_warn() {
        let text = one_square("带号=43", E43).replace("5,1.0000,", "6,1.2345,");
        let f = parse_str(&text).unwrap();
        assert_eq!(f.warnings.len(), 2, "{:?}", f.warnings);
        assert!(f.warnings[0].contains("header says 6 points but 5"));
        let w = &f.warnings[1];
        assert!(
            w.contains("DK01") && w.contains("1.2345") && w.contains("1.0000"),
            "{w}"
        );
        // Within 1 % + 0.01 ha: no warning.
        let close = one_square("带号=43", E43).replace("5,1.0000,", "5,1.0150,");
        assert!(parse_str(&close).unwrap().warnings.is_empty());
    }

    #[test]
    fn zone_must_be_known() {
        let e = err(&one_square("", 512_345.67));
        assert!(e.msg.contains("zone unknown"), "{e}");
        // With prefixes the header zone is optional.
        assert_eq!(parse_str(&one_square("", E43)).unwrap().zone, 43);
    }

    #[test]
    fn mixed_prefix_forms_are_refused() {
        let text = one_square("带号=43", E43)
            .replace("J3,1,3512245.67,43512445.67", "J3,1,3512245.67,512445.67");
        let e = err(&text);
        assert_eq!(e.point.as_deref(), Some("J3"));
        assert!(e.msg.contains("point J1 (line 11) has 8 digits"), "{e}");
    }

    #[test]
    fn malformed_lines_are_refused_with_line_numbers() {
        let base = one_square("带号=43", E43);
        let cases = [
            (
                base.replace("J2,1,3512345.67,", "J2,1,3512345.67x,"),
                12,
                "not plain decimal",
            ),
            (base.replace("J2,1,3512345.67,", "J2,1,"), 12, "expected 4"),
            (
                base.replace("J2,1,3512345.67,", "J2,1,3512345.67,1,"),
                12,
                "expected 4",
            ),
            (
                base.replace("J2,1,3512345.67,43512445.67", "J2,1,3512345.67,3512445.67"),
                12,
                "northing from easting",
            ),
            (
                base.replace("5,1.0000,DK01,地块1,面,,采矿用地,,@\n", ""),
                10,
                "before any parcel",
            ),
            (
                base.replace("[地块坐标]", "[其他]"),
                15,
                "missing [地块坐标]",
            ),
            (
                base.replace("几度分带=3", "几度分带=4"),
                3,
                "must be 3 or 6",
            ),
            (base.replace("高斯克吕格", "UTM"), 4, "Gauss-Krüger"),
            (base.replace("J3,1", "J3,2"), 14, "not contiguous"),
        ];
        for (text, line, needle) in cases {
            let e = err(&text);
            assert_eq!(e.line, line, "{e}");
            assert!(e.msg.contains(needle), "{needle:?} not in {e}");
        }
    }

    #[test]
    fn error_display_names_line_parcel_point() {
        let e = GuotuError::new(12, "bad").at("DK01", Some("J3"));
        assert_eq!(e.to_string(), "line 12, parcel DK01, point J3: bad");
        assert_eq!(GuotuError::new(3, "bad").to_string(), "line 3: bad");
    }

    #[test]
    fn undecodable_bytes_report_their_line() {
        let mut bytes = one_square("带号=43", E43).into_bytes();
        bytes.extend_from_slice(b"J9,1,\xff\xff\n");
        let e = parse_bytes(&bytes).unwrap_err();
        assert_eq!(e.line, 16);
        assert!(e.msg.contains("GBK"), "{e}");
    }

    #[test]
    fn gk_epsg_table_edges() {
        assert_eq!(gk_epsg(3, 25, true), Some(4513));
        assert_eq!(gk_epsg(3, 25, false), Some(4534));
        assert_eq!(gk_epsg(3, 45, true), Some(4533));
        assert_eq!(gk_epsg(3, 45, false), Some(4554));
        assert_eq!(gk_epsg(6, 13, true), Some(4491));
        assert_eq!(gk_epsg(6, 13, false), Some(4502));
        assert_eq!(gk_epsg(6, 23, true), Some(4501));
        assert_eq!(gk_epsg(6, 23, false), Some(4512));
        assert_eq!(gk_epsg(3, 24, true), None);
        assert_eq!(gk_epsg(3, 46, false), None);
        assert_eq!(gk_epsg(6, 24, true), None);
        assert_eq!(gk_epsg(4, 30, true), None);
    }
}
