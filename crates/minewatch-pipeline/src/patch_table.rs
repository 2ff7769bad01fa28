//! Reading patches back from a `detect` output (or any polygon file a user brings): every
//! attribute with its type, the geometry in the file's CRS, and the facts the overlay
//! needs (id, ellipsoidal area, later date).

use crate::error::PipelineError;
use crate::run_folder::{self, Stage};
use crate::write::{Attr, Kind};
use gdal::vector::{FieldValue, Geometry, LayerAccess, OGRFieldType};
use gdal::Dataset;
use geo_types::MultiPolygon;
use minewatch_core::AcqDate;
use minewatch_zones::repair;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

pub struct PatchRow {
    pub id: String,
    pub values: Vec<Attr>,
    /// In the file's CRS.
    pub geom: MultiPolygon<f64>,
    pub area_m2: Option<f64>,
    pub date_after: Option<AcqDate>,
    pub date_before: Option<AcqDate>,
}

pub struct PatchTable {
    pub path: PathBuf,
    pub crs_wkt: String,
    /// The file's columns, those found under an alias (`图斑编号`, `date_befor` …) renamed to
    /// their minewatch names (`id`, `date_before` …).
    pub columns: Vec<(String, Kind)>,
    /// The file has a patch id column (`id` or an alias): without one the ids are
    /// feature numbers.
    pub has_id: bool,
    pub rows: Vec<PatchRow>,
    /// What was repaired on the way in (for the run manifest).
    pub notes: Vec<String>,
}

impl PatchTable {
    /// The patches' extent in lon/lat (west, south, east, north), its edges densified so
    /// that a curved parallel is not cut short; Nanjing's point when there are none (no
    /// patch to measure, so any work CRS does).
    pub fn lonlat_extent(&self) -> Result<[f64; 4], PipelineError> {
        if self.rows.is_empty() {
            return Ok([117.0, 31.0, 117.0, 31.0]);
        }
        let mut bb = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
        for r in &self.rows {
            if let Some(b) = minewatch_zones::index::bbox_of(&r.geom) {
                bb = [
                    bb[0].min(b[0]),
                    bb[1].min(b[1]),
                    bb[2].max(b[2]),
                    bb[3].max(b[3]),
                ];
            }
        }
        let src = minewatch_zones::crs::from_wkt(&self.crs_wkt)?;
        minewatch_zones::Reprojector::new(&src, &minewatch_zones::crs::from_epsg(4326)?)?
            .bounds(bb)
            .map_err(|e| {
                PipelineError::Input(format!(
                    "patches {}: cannot place the patches on the globe: {e}",
                    self.path.display()
                ))
            })
    }
}

/// The patches of a finished `detect` folder, or of the file itself.
/// Patch ids must be unique: findings, hits and the ledger are keyed by them.
pub fn read(input: &Path) -> Result<PatchTable, PipelineError> {
    let table = read_layer(&run_folder::data_file(input, Stage::Detect)?, "patches")?;
    // Ids key the hits, the ledger and the packages, and must be the same next cycle: a
    // feature number is neither stable nor known to the county.
    if !table.has_id {
        return Err(PipelineError::Input(format!(
            "patches {}: no patch id column (looked for {}); the file has {}. Add the patch numbers as a column `id` (or 图斑编号): feature numbers are not patch ids",
            table.path.display(),
            names_of(ALIASES[0].0, ALIASES[0].1).join(", "),
            if table.columns.is_empty() {
                "no attribute columns".to_string()
            } else {
                format!(
                    "columns {}",
                    table
                        .columns
                        .iter()
                        .map(|(c, _)| c.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        )));
    }
    let mut seen: std::collections::HashMap<&str, usize> = Default::default();
    for (n, r) in table.rows.iter().enumerate() {
        if let Some(first) = seen.insert(r.id.as_str(), n + 1) {
            return Err(PipelineError::Input(format!(
                "patches {}: patch id `{}` is used twice (features {first} and {}, in file order); patch ids must be unique",
                table.path.display(),
                r.id,
                n + 1
            )));
        }
    }
    Ok(table)
}

/// The columns the overlay reads, each with the names it is found under besides its own
/// and its Chinese one (`overlay_run::ZH`, what `--header zh` writes): a Shapefile's
/// 10-character cut.
const ALIASES: [(&str, &[&str]); 4] = [
    ("id", &[]),
    ("area_m2", &[]),
    ("date_after", &[]),
    ("date_before", &["date_befor"]),
];

/// The names column `canon` is found under, first match wins: its own, the `extra` cuts,
/// then its Chinese name.
fn names_of(canon: &'static str, extra: &[&'static str]) -> Vec<&'static str> {
    std::iter::once(canon)
        .chain(extra.iter().copied())
        .chain(crate::overlay_run::zh_name(canon))
        .collect()
}

/// Read layer `name` of `path` (or its only / first layer when there is no such layer).
pub fn read_layer(path: &Path, name: &str) -> Result<PatchTable, PipelineError> {
    let path = path.to_path_buf();
    let err = |m: String| PipelineError::Input(format!("patches {}: {m}", path.display()));
    if !path.exists() {
        // Each layer is another command's output: name the one that writes it.
        let advice = match name {
            "findings" => "a `minewatch overlay` output folder or its findings.gpkg",
            "tasks" => "a `minewatch rank` output folder or its tasks.gpkg",
            _ => "a `minewatch detect` output folder or a patches file",
        };
        return Err(err(format!("not found; give {advice}")));
    }
    let ds = Dataset::open(&path).map_err(|e| err(format!("cannot open it: {e}")))?;
    let mut layer = ds
        .layer_by_name(name)
        .or_else(|_| ds.layer(0))
        .map_err(|e| err(e.to_string()))?;
    let srs = layer.spatial_ref().ok_or_else(|| {
        err("the layer has no CRS; write the patches with their CRS (detect does)".into())
    })?;
    let crs_wkt = srs.to_wkt().map_err(|e| err(e.to_string()))?;
    let mut columns: Vec<(String, Kind)> = layer
        .defn()
        .fields()
        .map(|f| {
            let k = match f.field_type() {
                OGRFieldType::OFTInteger | OGRFieldType::OFTInteger64 => Kind::Int,
                OGRFieldType::OFTReal => Kind::Real,
                // A date column stays one in the findings, tasks and packages written from
                // it; a date-time's values carry a time, so they are text (`Kind::Date`).
                OGRFieldType::OFTDate => Kind::Date,
                _ => Kind::Text,
            };
            (f.name(), k)
        })
        .collect();
    let mut notes = Vec::new();
    // Each column under its minewatch name, so findings carry `id`, `date_before` … as a
    // detect output's do (and `--header zh` writes 图斑编号 in both tables).
    let mut found = [None; ALIASES.len()];
    let mut file_name = ALIASES.map(|(canon, _)| canon.to_string());
    for (k, (canon, extra)) in ALIASES.iter().enumerate() {
        // The exact name first, then the name case aside: a DBF's are upper-case
        // (`AREA_M2`), and a GeoPackage could not hold both spellings beside each other.
        let names = names_of(canon, extra);
        let Some((i, alias)) = names
            .iter()
            .find_map(|&n| columns.iter().position(|(c, _)| c == n))
            .or_else(|| {
                names
                    .iter()
                    .find_map(|&n| columns.iter().position(|(c, _)| c.eq_ignore_ascii_case(n)))
            })
            .map(|i| (i, columns[i].0.clone()))
        else {
            continue;
        };
        if alias != *canon {
            notes.push(format!("column `{alias}` read as `{canon}`"));
            columns[i].0 = canon.to_string();
        }
        found[k] = Some(i);
        file_name[k] = alias;
    }
    let [id_i, area_i, after_i, before_i] = found;
    let mut read = Vec::new();
    // Errors are reported in file order and, within a patch, in the order its fields are
    // checked (attributes, geometry, dates), as a serial read would: a row that fails
    // before its geometry ends the read, and the rows before it are still checked first;
    // date errors wait for the geometry check of their row.
    let mut stopped: Option<PipelineError> = None;
    for (n, f) in layer.features().enumerate() {
        let row = (|| -> Result<_, PipelineError> {
            let fid = f
                .fid()
                .map_or_else(|| (n + 1).to_string(), |x| x.to_string());
            let mut values = Vec::with_capacity(columns.len());
            for (i, (name, _)) in columns.iter().enumerate() {
                // A DATE the GeoPackage holds as text GDAL cannot read as a date fails here.
                let v = f
                    .field(i)
                    .map_err(|e| err(format!("feature {fid}, field `{name}`: {e}")))?;
                values.push(match v {
                    None => Attr::Null,
                    Some(FieldValue::IntegerValue(x)) => Attr::Int(x as i64),
                    Some(FieldValue::Integer64Value(x)) => Attr::Int(x),
                    Some(FieldValue::RealValue(x)) => Attr::Real(x),
                    Some(FieldValue::StringValue(s)) => Attr::Text(s),
                    Some(d @ (FieldValue::DateValue(_) | FieldValue::DateTimeValue(_))) => {
                        Attr::Text(date_text(&d).unwrap_or_default())
                    }
                    Some(FieldValue::IntegerListValue(v)) => Attr::Text(join(&v)),
                    Some(FieldValue::Integer64ListValue(v)) => Attr::Text(join(&v)),
                    Some(FieldValue::RealListValue(v)) => Attr::Text(join(&v)),
                    Some(FieldValue::StringListValue(v)) => Attr::Text(v.join(",")),
                });
            }
            let text = |i: Option<usize>| match i.map(|i| &values[i]) {
                Some(Attr::Text(s)) => Some(s.clone()),
                Some(Attr::Int(x)) => Some(x.to_string()),
                _ => None,
            };
            let id = text(id_i).unwrap_or(fid.clone());
            let Some(g) = f.geometry().filter(|g| !g.is_empty()) else {
                return Err(err(format!("patch {id} has no geometry")));
            };
            let wkb = g
                .wkb()
                .map_err(|e| err(format!("patch {id}: geometry to WKB: {e}")))?;
            let area_m2 = match area_i.map(|i| &values[i]) {
                Some(Attr::Real(a)) => Some(*a),
                Some(Attr::Int(a)) => Some(*a as f64),
                _ => None,
            };
            // A date that is there but unreadable must stop the run: without it, expired
            // licences would count as valid.
            let date = |i: Option<usize>, name: &str| match text(i).filter(|s| !s.is_empty()) {
                None => Ok(None),
                Some(s) => AcqDate::parse_lenient(&s)
                    .map(Some)
                    .map_err(|e| err(format!("patch {id}, field `{name}`: {e}"))),
            };
            let dates = (date(after_i, &file_name[2]), date(before_i, &file_name[3]));
            Ok((id, values, wkb, area_m2, dates))
        })();
        match row {
            Ok(r) => read.push(r),
            Err(e) => {
                stopped = Some(e);
                break;
            }
        }
    }
    // GEOS's validity check is most of the reading time (22 % of `overlay`'s CPU, ≈ 0.35 s,
    // on the 6,751 patches of the 8192² peers' scene, `perf record`); each geometry is
    // checked on its own, so the checks run on every thread.
    let shaped: Vec<Result<Shaped, PipelineError>> = read
        .par_iter()
        .map(|(id, _, wkb, _, _)| shape(id, wkb).map_err(err))
        .collect();
    let mut rows = Vec::with_capacity(read.len());
    for ((id, values, _, area_m2, (date_after, date_before)), shaped) in
        read.into_iter().zip(shaped)
    {
        let (geom, repaired) = shaped?;
        let (date_after, date_before) = (date_after?, date_before?);
        if let Some(what) = repaired {
            notes.push(format!("patch {id}: {what}"));
        }
        rows.push(PatchRow {
            id,
            values,
            geom,
            area_m2,
            date_after,
            date_before,
        });
    }
    if let Some(e) = stopped {
        return Err(e);
    }
    Ok(PatchTable {
        path,
        crs_wkt,
        columns,
        has_id: id_i.is_some(),
        rows,
        notes,
    })
}

/// A patch's polygons, and what repairing them did (to note), if anything.
type Shaped = (MultiPolygon<f64>, Option<String>);

/// A patch's polygons from its WKB, repaired when invalid (and what was repaired, to
/// note).
fn shape(id: &str, wkb: &[u8]) -> Result<Shaped, String> {
    let mut g =
        Geometry::from_wkb(wkb).map_err(|e| format!("patch {id}: geometry from WKB: {e}"))?;
    // Patches from other tools may be invalid (GDAL's polygonize leaves self-touching
    // rings; hand-drawn ones cross themselves, or leave a ring open; parts of one patch
    // overlap): a bow tie would measure next to nothing. Repaired as the zone layers are
    // (every part's ground kept, overlaps unioned), and reported.
    let mut said = Vec::new();
    if let Some(((x0, y0), (x1, y1))) = repair::close_rings(&mut g) {
        said.push(format!(
            "ring not closed (first point {x0} {y0}, last point {x1} {y1}); closed by repeating its first point"
        ));
    }
    if !g.is_valid() {
        g = repair::make_valid(&g)
            .map_err(|e| format!("patch {id}: invalid polygon that GEOS cannot repair: {e}"))?;
        said.push("invalid polygon repaired (make_valid)".into());
    }
    let geom =
        minewatch_zones::source::to_multipolygon(&g).map_err(|e| format!("patch {id}: {e}"))?;
    if geom.0.is_empty() {
        return Err(format!("patch {id} is not a polygon"));
    }
    Ok((geom, (!said.is_empty()).then(|| said.join("; "))))
}

/// A date as `YYYY-MM-DD` and a date-time as `YYYY-MM-DD HH:MM:SS` in its own offset (its
/// date part is the local date), as minewatch writes and reads dates. Not GDAL's text
/// (`OGR_F_GetFieldAsString`), which prints them `2000/05/03` and `2000/05/03 10:11:12+08`.
/// `None` for any other value.
pub(crate) fn date_text(v: &FieldValue) -> Option<String> {
    match v {
        FieldValue::DateValue(d) => Some(d.format("%Y-%m-%d").to_string()),
        FieldValue::DateTimeValue(t) => Some(t.format("%Y-%m-%d %H:%M:%S").to_string()),
        _ => None,
    }
}

/// A list field as text, comma-separated.
fn join<T: std::fmt::Display>(v: &[T]) -> String {
    v.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::write::table::{write_gpkg, GpkgLayer};
    use gdal::vector::{Feature, LayerOptions, OGRwkbGeometryType};

    /// A patches file made elsewhere with typed dates: `date_after` a DATE, `date_before`
    /// a DATETIME (as a GIS exports a time stamp). Both read as dates for the overlay; the
    /// DATE column stays a date in what is written from it (findings, tasks, packages), the
    /// time stamp, which holds more than a day, stays text.
    #[test]
    fn typed_dates_of_a_users_geopackage_are_read_and_carried() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("user_patches.gpkg");
        let srs = gdal::spatial_ref::SpatialRef::from_epsg(32650).unwrap();
        {
            let drv = gdal::DriverManager::get_driver_by_name("GPKG").unwrap();
            let mut ds = drv.create_vector_only(&p).unwrap();
            let l = ds
                .create_layer(LayerOptions {
                    name: "patches",
                    srs: Some(&srs),
                    ty: OGRwkbGeometryType::wkbPolygon,
                    options: None,
                })
                .unwrap();
            l.create_defn_fields(&[
                ("id", OGRFieldType::OFTString),
                ("date_after", OGRFieldType::OFTDate),
                ("date_before", OGRFieldType::OFTDateTime),
            ])
            .unwrap();
            let mut f = Feature::new(l.defn()).unwrap();
            f.set_field_string(0, "P1").unwrap();
            f.set_field_string(1, "2002-07-12").unwrap();
            f.set_field_string(2, "2000-05-03T10:20:30+08:00").unwrap();
            f.set_geometry(
                Geometry::from_wkt(
                    "POLYGON ((650000 3550000, 650100 3550000, 650100 3550100, 650000 3550100, 650000 3550000))",
                )
                .unwrap(),
            )
            .unwrap();
            f.create(&l).unwrap();
        }
        let t = read(&p).unwrap();
        let kind = |c: &str| t.columns.iter().find(|(n, _)| n == c).unwrap().1;
        assert_eq!(kind("date_after"), Kind::Date);
        assert_eq!(kind("date_before"), Kind::Text);
        let r = &t.rows[0];
        assert_eq!(r.date_after.unwrap().to_string(), "2002-07-12");
        assert_eq!(r.date_before.unwrap().to_string(), "2000-05-03");
        assert_eq!(r.values[1], Attr::Text("2002-07-12".into()));
        assert_eq!(r.values[2], Attr::Text("2000-05-03 10:20:30".into()));

        // Written again as overlay writes findings: the types and values come back.
        let out = d.path().join("findings.gpkg");
        let polys = vec![crate::overlay_run::to_polys(&r.geom)];
        let rows = vec![r.values.clone()];
        write_gpkg(
            &out,
            &t.crs_wkt,
            &[GpkgLayer {
                name: "findings",
                columns: &t.columns,
                rows: &rows,
                geoms: Some(&polys),
            }],
        )
        .unwrap();
        let ds = Dataset::open(&out).unwrap();
        let types: Vec<(String, u32)> = ds
            .layer(0)
            .unwrap()
            .defn()
            .fields()
            .map(|f| (f.name(), f.field_type()))
            .collect();
        assert_eq!(
            types,
            [
                ("id".to_string(), OGRFieldType::OFTString),
                ("date_after".to_string(), OGRFieldType::OFTDate),
                ("date_before".to_string(), OGRFieldType::OFTString),
            ]
        );
        let back = read_layer(&out, "findings").unwrap();
        assert_eq!(back.rows[0].values, r.values);
    }
}
