//! Loading the declared layers through GDAL/OGR (or the corner-coordinate parser): each
//! file read once, fields checked up front, features kept in their own CRS (`ReadLayers`),
//! then projected onto each work CRS the patches need, invalid polygons
//! repaired with `make_valid` and reported, lines and points buffered in metres, river
//! lines kept for distances. Nothing is dropped silently: every skipped or repaired feature
//! leaves a note.

use crate::buffer;
use crate::crs::{self, Reprojector, WorkCrs};
use crate::error::ZonesError;
use crate::guotu;
use crate::mojibake::Misreads;
use crate::ogr_layer;
use crate::repair;
use crate::spec::{Format, LayerSpec, LayersSpec};
use crate::text_table;
use crate::validity::UnknownValidity;
use crate::zoneset::{Right, Zone, ZoneSet};
use gdal::spatial_ref::SpatialRef;
use gdal::vector::{Geometry, LayerAccess, OGRwkbGeometryType};
use gdal::Dataset;
use geo_types::{LineString, MultiPolygon, Polygon};
use minewatch_core::datum::{legacy_datum, legacy_datum_warning};
use minewatch_core::{AcqDate, ZoneKind};
use std::collections::BTreeMap;
use std::path::Path;

/// River lines are kept this far beyond the patches for the nearest-river distance.
pub const RIVER_SEARCH_M: f64 = 50_000.0;

/// Where the patches are, so layers are read only there.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub work: WorkCrs,
    /// Bounding box of the patches in the work CRS (min x, min y, max x, max y); `None`
    /// reads every feature.
    pub aoi: Option<[f64; 4]>,
}

/// The layers in one work CRS around its patches (for several, [`ReadLayers`]).
pub fn load(spec: &LayersSpec, opts: &LoadOptions) -> Result<ZoneSet, ZonesError> {
    ReadLayers::read(spec, std::slice::from_ref(opts))?.project(0)
}

/// Every declared layer read from its file once, in its own CRS, around the patches of
/// every work CRS: a file (a corner-coordinate text and its licence table, a GeoJSON
/// parsed whole) is read once however many CRSs the patches need, each feature counts
/// once in [`ReadLayers::features_read`], and what reading finds is said once per CRS's
/// zone set alike. [`ReadLayers::project`] then builds one work CRS's zones.
pub struct ReadLayers {
    areas: Vec<LoadOptions>,
    layers: Vec<LayerRead>,
}

/// One layer as read from its file.
struct LayerRead {
    /// The layer's own CRS (a corner file's Gauss-Krüger zone).
    srs: SpatialRef,
    features: Vec<ReadFeature>,
    /// Features read (a corner file's parcels).
    read: usize,
    /// No features at all under its filter, not just none near the patches.
    empty: bool,
    /// The notes and warnings reading it gave.
    said: ZoneSet,
}

/// A feature as read: what it contributes, and its geometry in its layer's CRS.
struct ReadFeature {
    info: FeatureInfo,
    geom: Geometry,
    /// Whether it lies near the patches of each work CRS (an index into the areas).
    near: Vec<bool>,
    /// Its index among its layer's features as read (`Zone::feature`).
    index: usize,
}

impl ReadFeature {
    /// Its geometry in the work CRS.
    fn in_work(&self, l: &LayerSpec, to_work: &Reprojector) -> Result<Geometry, ZonesError> {
        let mut g = self.geom.clone();
        to_work
            .apply(&mut g)
            .map_err(|e| feature_err(l, &self.info.id, format!("cannot reproject: {e}")))?;
        Ok(g)
    }

    /// The zone of layer `li` it makes with `geom` (in the work CRS).
    fn zone(&self, li: usize, geom: MultiPolygon<f64>) -> Zone {
        let info = self.info.clone();
        Zone {
            layer: li,
            id: info.id,
            name: info.name,
            attrs: info.attrs,
            geom,
            right: info.right,
            admin_code: info.admin_code,
            feature: Some(self.index),
        }
    }
}

impl ReadLayers {
    /// Read `spec`'s layers around the patches of `areas` (one per work CRS).
    pub fn read(spec: &LayersSpec, areas: &[LoadOptions]) -> Result<Self, ZonesError> {
        let works = areas
            .iter()
            .map(|a| Ok((a.work.srs()?, a.aoi)))
            .collect::<Result<Vec<_>, ZonesError>>()?;
        let mut open = ogr_layer::OpenFiles::new();
        let mut layers = Vec::with_capacity(spec.layers.len());
        for l in &spec.layers {
            layers.push(match l.format {
                Format::Ogr => {
                    let (ds, guessed) = ogr_layer::open_dataset(&mut open, l)?;
                    read_ogr(l, ds, &works, guessed)?
                }
                Format::GuotuTxt => read_corners(l, areas.len())?,
            });
        }
        Ok(Self {
            areas: areas.to_vec(),
            layers,
        })
    }

    /// Features read per layer, in layer order, each feature once.
    pub fn features_read(&self) -> Vec<usize> {
        self.layers.iter().map(|r| r.read).collect()
    }

    /// The zones of work CRS `g` (an index into the areas read around): each layer's
    /// features near its patches reprojected onto it, repaired, buffered and dissolved,
    /// with what reading said.
    pub fn project(&self, g: usize) -> Result<ZoneSet, ZonesError> {
        let work_srs = self.areas[g].work.srs()?;
        let mut set = ZoneSet::default();
        for (li, r) in self.layers.iter().enumerate() {
            let l = &r.said.layers[0];
            set.layers.push(l.clone());
            set.notes.extend(r.said.notes.iter().cloned());
            set.warnings.extend(r.said.warnings.iter().cloned());
            set.features_read.push(r.read);
            if r.empty {
                set.empty_layers.push(li);
            }
            let before = set.zones.len();
            let near: Vec<&ReadFeature> = r.features.iter().filter(|f| f.near[g]).collect();
            match l.format {
                Format::Ogr => {
                    let to_work = Reprojector::new(&r.srs, &work_srs)
                        .map_err(|e| layer_err(l, format!("CRS: {e}")))?;
                    project_ogr(li, l, &near, &to_work, &mut set)?;
                }
                Format::GuotuTxt => {
                    let to_work = Reprojector::new(&r.srs, &work_srs)
                        .map_err(|e| layer_err(l, e.to_string()))?;
                    project_corners(li, l, &near, &to_work, &mut set)?;
                }
            }
            set.warn_duplicate_ids(li, before);
            if r.empty {
                set.notes.push(empty_note(l));
            }
            if set.zones.len() == before && !near.is_empty() {
                set.notes.push(format!(
                    "layer `{}`: {} features read, none near the patches",
                    l.name,
                    near.len()
                ));
            }
        }
        Ok(set)
    }
}

/// A rectangle (min x, min y, max x, max y) as a polygon.
fn rectangle(b: [f64; 4]) -> Result<Geometry, ZonesError> {
    let [x0, y0, x1, y1] = b;
    Geometry::from_wkt(&format!(
        "POLYGON (({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0}))"
    ))
    .map_err(|e| ZonesError::Crs(format!("rectangle {b:?}: {e}")))
}

/// What a layer without features means for the findings. Not an error: a county may
/// have no red-line area, or a filter may rightly match nothing.
pub fn empty_note(l: &LayerSpec) -> String {
    let filter = match &l.filter {
        Some(w) => format!(" with `where = \"{w}\"`"),
        None => String::new(),
    };
    let what = if matches!(l.kind, ZoneKind::MiningRight | ZoneKind::ExplorationRight) {
        "no patch can be inside one of its rights"
    } else {
        "no patch can be in it"
    };
    format!(
        "layer `{}` ({}): no features{filter}, so {what}; if it should have some, check its `path`, `layer` and `where`",
        l.name,
        l.path.display()
    )
}

pub(crate) fn layer_err(l: &LayerSpec, msg: impl Into<String>) -> ZonesError {
    ZonesError::Layer {
        layer: l.name.clone(),
        path: l.path.clone(),
        msg: msg.into(),
    }
}

fn feature_err(l: &LayerSpec, feature: &str, msg: impl Into<String>) -> ZonesError {
    ZonesError::Feature {
        layer: l.name.clone(),
        path: l.path.clone(),
        feature: feature.to_string(),
        msg: msg.into(),
    }
}

pub(crate) fn check_exists(l: &LayerSpec, p: &Path) -> Result<(), ZonesError> {
    if !p.exists() {
        return Err(layer_err(
            l,
            format!(
                "file {} not found; fix `path` in the layers file",
                p.display()
            ),
        ));
    }
    Ok(())
}

/// Field indexes of one layer, checked against its definition.
pub(crate) struct Fields {
    id: Option<usize>,
    name: Option<usize>,
    code: Option<usize>,
    carry: Vec<(String, usize)>,
    holder: Option<usize>,
    mineral: Option<usize>,
    right_type: Option<usize>,
    valid_from: Option<usize>,
    valid_to: Option<usize>,
}

pub(crate) fn resolve_fields(l: &LayerSpec, names: &[String]) -> Result<Fields, ZonesError> {
    let find = |f: &Option<String>, role: &str| -> Result<Option<usize>, ZonesError> {
        let Some(f) = f else { return Ok(None) };
        match names.iter().position(|n| n == f) {
            Some(i) => Ok(Some(i)),
            None => Err(ZonesError::Field {
                layer: l.name.clone(),
                path: l.path.clone(),
                field: f.clone(),
                role: role.to_string(),
                available: if names.is_empty() {
                    "no fields".into()
                } else {
                    names.join(", ")
                },
            }),
        }
    };
    let mut carry = Vec::new();
    for c in &l.carry {
        carry.push((c.clone(), find(&Some(c.clone()), "carry")?.unwrap_or(0)));
    }
    Ok(Fields {
        id: find(&l.id_field, "id_field")?,
        name: find(&l.name_field, "name_field")?,
        code: find(&l.code_field, "code_field")?,
        carry,
        holder: find(&l.right.holder, "holder_field")?,
        mineral: find(&l.right.mineral, "mineral_field")?,
        right_type: find(&l.right.right_type, "right_type_field")?,
        valid_from: find(&l.right.valid_from, "valid_from_field")?,
        valid_to: find(&l.right.valid_to, "valid_to_field")?,
    })
}

/// What one feature contributes before geometry handling.
#[derive(Clone)]
struct FeatureInfo {
    id: String,
    name: String,
    attrs: Vec<(String, String)>,
    right: Option<Right>,
    admin_code: Option<String>,
}

/// An OGR layer's features near the patches of any of `works` (each work CRS with its
/// patches' box), checked and parsed, their geometries as stored; `guessed`: what opening
/// its file guessed, to say.
fn read_ogr(
    l: &LayerSpec,
    ds: &Dataset,
    works: &[(SpatialRef, Option<[f64; 4]>)],
    guessed: Option<String>,
) -> Result<LayerRead, ZonesError> {
    let mut said = ZoneSet {
        layers: vec![l.clone()],
        ..Default::default()
    };
    if let Some(w) = guessed {
        said.warn(w);
    }
    let ogr_layer::Opened {
        mut layer,
        srs,
        field_names,
    } = ogr_layer::open_layer(l, ds)?;
    if let Some(d) = srs.to_wkt().ok().as_deref().and_then(legacy_datum) {
        said.warn(legacy_datum_warning(
            &format!("layer `{}` ({})", l.name, l.path.display()),
            &srs.name().unwrap_or_else(|| "unnamed CRS".into()),
            d,
        ));
    }
    // Before any filter: the whole layer's extent against where its CRS is used.
    if let Ok(e) = layer.get_extent() {
        crate::area_of_use::check(&srs, [e.MinX, e.MinY, e.MaxX, e.MaxY], &l.path)
            .map_err(|m| layer_err(l, m))?;
    }
    ogr_layer::set_filter(l, &mut layer, &field_names)?;
    let fields = resolve_fields(l, &field_names)?;
    if matches!(l.kind, ZoneKind::MiningRight | ZoneKind::ExplorationRight)
        && l.right.valid_from.is_none()
        && l.right.valid_to.is_none()
    {
        said.warn(format!(
            "layer `{}` ({}): no valid_from_field or valid_to_field declared: licence validity is not checked (an expired licence counts as valid); the layer has fields: {}",
            l.name,
            l.path.display(),
            field_names.join(", ")
        ));
    }
    let is_river = l.kind == ZoneKind::RiverCorridor;
    let margin = l.buffer_m.unwrap_or(0.0) + 1_000.0 + if is_river { RIVER_SEARCH_M } else { 0.0 };
    // Each work CRS's patches, grown by the margin, as a box in the layer's CRS (none:
    // every feature, as when it cannot be placed there).
    let mut boxes = Vec::with_capacity(works.len());
    for (work_srs, aoi) in works {
        boxes.push(match aoi {
            None => None,
            Some(a) => {
                let back = Reprojector::new(work_srs, &srs)
                    .map_err(|e| layer_err(l, format!("CRS: {e}")))?;
                let grown = [a[0] - margin, a[1] - margin, a[2] + margin, a[3] + margin];
                back.bounds(grown).ok()
            }
        });
    }
    // Read only near the patches: with one box, OGR's filter is the test; with several,
    // their envelope is read and each feature tested against each box, so that a feature
    // near several CRSs' patches is read once, and one between them not at all.
    let several: Vec<Option<Geometry>> = match boxes.iter().copied().collect::<Option<Vec<_>>>() {
        Some(bs) if bs.len() == 1 => {
            let b = bs[0];
            layer.set_spatial_filter_rect(b[0], b[1], b[2], b[3]);
            Vec::new()
        }
        Some(bs) if !bs.is_empty() => {
            let all = crs::union(&bs);
            layer.set_spatial_filter_rect(all[0], all[1], all[2], all[3]);
            bs.into_iter()
                .map(rectangle)
                .map(|r| r.map(Some))
                .collect::<Result<_, _>>()?
        }
        _ => boxes
            .iter()
            .map(|b| b.map(rectangle).transpose())
            .collect::<Result<_, _>>()?,
    };
    let filtered = boxes.iter().all(Option::is_some) && !boxes.is_empty();
    let mut read = 0usize;
    let mut unknown = UnknownValidity::default();
    let mut kept: Vec<ReadFeature> = Vec::new();
    // Features without geometry (null or empty), by id: skipped, and said.
    let mut no_geometry: Vec<String> = Vec::new();
    let mut misreads = Misreads::default();
    let mut features = layer.features();
    while let Some(feature) = ogr_layer::next_feature(&mut features, l, &field_names, read)? {
        // Rings closed first: GEOS refuses an unclosed one, in the tests below and in
        // the repair (some exporters leave the last point off).
        let geom = feature.geometry().filter(|g| !g.is_empty()).map(|g| {
            let mut g = g.clone();
            let open = repair::close_rings(&mut g);
            (g, open)
        });
        let near: Vec<bool> = match geom.as_ref().map(|(g, _)| g) {
            Some(g) if !several.is_empty() => several
                .iter()
                .map(|b| b.as_ref().is_none_or(|b| g.intersects(b)))
                .collect(),
            _ => vec![true; works.len()],
        };
        if !near.contains(&true) && !near.is_empty() {
            continue;
        }
        read += 1;
        let fid = feature
            .fid()
            .map_or_else(|| read.to_string(), |f| f.to_string());
        // Every value read, kept to look for text read in the wrong encoding once the
        // feature's id is known.
        let seen = std::cell::RefCell::new(std::collections::BTreeMap::new());
        let text = |i: Option<usize>| -> Option<String> {
            let i = i?;
            let s = feature
                .field_as_string(i)
                .ok()
                .flatten()?
                .trim()
                .to_string();
            seen.borrow_mut().insert(i, s.clone());
            Some(s)
        };
        let id = text(fields.id).filter(|s| !s.is_empty()).unwrap_or(fid);
        let info = FeatureInfo {
            name: text(fields.name).unwrap_or_default(),
            attrs: fields
                .carry
                .iter()
                .map(|(n, i)| (n.clone(), text(Some(*i)).unwrap_or_default()))
                .collect(),
            right: right_of(l, &id, &fields, &text, &mut unknown)?,
            admin_code: match fields.code {
                Some(_) => Some(
                    normalise_code(&text(fields.code).unwrap_or_default())
                        .map_err(|m| feature_err(l, &id, m))?,
                ),
                None => None,
            },
            id,
        };
        for (i, v) in seen.take() {
            let field = field_names.get(i).map_or("?", String::as_str);
            misreads.check(&info.id, field, &v);
        }
        let Some((geom, open)) = geom else {
            no_geometry.push(info.id);
            continue;
        };
        if let Some(((x0, y0), (x1, y1))) = open {
            said.notes.push(format!(
                "layer `{}` feature {}: ring not closed (first point {x0} {y0}, last point {x1} {y1}); closed by repeating its first point",
                l.name, info.id
            ));
        }
        kept.push(ReadFeature {
            info,
            geom,
            near,
            index: kept.len(),
        });
    }
    drop(features);
    // The spatial filter never returns a feature without geometry: look for them in the
    // whole layer (under its `where`), so none is dropped unsaid.
    if filtered {
        layer.clear_spatial_filter();
        let mut features = layer.features();
        let mut n = 0usize;
        while let Some(feature) = ogr_layer::next_feature(&mut features, l, &field_names, n)? {
            n += 1;
            if feature.geometry().is_some_and(|g| !g.is_empty()) {
                continue;
            }
            let id = fields
                .id
                .and_then(|i| feature.field_as_string(i).ok().flatten())
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .or_else(|| feature.fid().map(|f| f.to_string()))
                .unwrap_or_else(|| n.to_string());
            no_geometry.push(id);
        }
    }
    if !no_geometry.is_empty() {
        // In file order, each once (the spatial read and the search may both see one).
        let mut seen = std::collections::BTreeSet::new();
        no_geometry.retain(|id| seen.insert(id.clone()));
        const SHOWN: usize = 20;
        let more = no_geometry.len().saturating_sub(SHOWN);
        said.warn(format!(
            "layer `{}` ({}): {} feature(s) without geometry skipped (no zone from them): {}{}",
            l.name,
            l.path.display(),
            no_geometry.len(),
            no_geometry[..no_geometry.len().min(SHOWN)].join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ));
    }
    unknown.warn(l, None, &mut said);
    if let Some(w) = misreads.warning(&l.name, &l.path) {
        said.warn(w);
    }
    // Nothing near the patches may be right; nothing at all under the filter is said (a
    // mining-rights layer that reads empty makes every patch unlicensed).
    let empty = if read == 0 && filtered {
        layer.clear_spatial_filter();
        ogr_layer::next_feature(&mut layer.features(), l, &field_names, 0)?.is_none()
    } else {
        read == 0
    };
    // Features, but none near the patches: a mining-rights layer then makes every patch
    // unlicensed, which a layer in the wrong place (or CRS) does too.
    if read == 0 && !empty && matches!(l.kind, ZoneKind::MiningRight | ZoneKind::ExplorationRight) {
        said.warn(format!(
            "layer `{}` ({}): none of its features lies within {margin:.0} m of the patches, so no patch is inside one of its rights; if some should be, check the layer's extent and CRS ({})",
            l.name,
            l.path.display(),
            srs.name().unwrap_or_else(|| "unnamed".into())
        ));
    }
    Ok(LayerRead {
        srs,
        features: kept,
        read,
        empty,
        said,
    })
}

/// An OGR layer's features (those near the patches) as zones in the work CRS.
fn project_ogr(
    li: usize,
    l: &LayerSpec,
    features: &[&ReadFeature],
    to_work: &Reprojector,
    set: &mut ZoneSet,
) -> Result<(), ZonesError> {
    let is_river = l.kind == ZoneKind::RiverCorridor;
    let mut dissolved: Vec<Geometry> = Vec::new();
    for f in features {
        let info = &f.info;
        let mut g = f.in_work(l, to_work)?;
        let flat = gdal::vector::geometry_type_flatten(g.geometry_type());
        let polygonal = matches!(
            flat,
            OGRwkbGeometryType::wkbPolygon | OGRwkbGeometryType::wkbMultiPolygon
        );
        let collection = flat == OGRwkbGeometryType::wkbGeometryCollection;
        if is_river && !polygonal {
            set.river_lines.extend(lines_of(&g));
        }
        if !polygonal && !collection && l.buffer_m.is_none() {
            return Err(feature_err(
                l,
                &info.id,
                format!(
                    "is a {}; lines and points become zones only with a distance: set `buffer_m`",
                    g.geometry_name()
                ),
            ));
        }
        // Collections too: their polygons are what the overlay measures. Repaired to
        // cover every part as drawn (overlapping parts unioned), holes taken away.
        if (polygonal || collection) && !g.is_valid() {
            for h in repair::stray_holes(&g) {
                set.warn(format!(
                    "layer `{}` ({}) feature {}: hole (ring {} of polygon {}) lies outside its outer ring; its ground is kept out of the zone, not added to it (a hole must lie inside its outer ring: check the ring order)",
                    l.name,
                    l.path.display(),
                    info.id,
                    h.ring,
                    h.polygon
                ));
            }
            // A repair that leaves no geometry the overlay can read is no repair either.
            let repaired = repair::make_valid(&g).and_then(|r| to_multipolygon(&r).map(|_| r));
            match repaired {
                Ok(r) => g = r,
                Err(e) => {
                    // One feature GEOS cannot repair does not stop the run: said by id,
                    // counted in the manifest.
                    set.warn(format!(
                        "layer `{}` ({}) feature {}: invalid polygon that GEOS cannot repair ({e}); skipped, no zone from it",
                        l.name,
                        l.path.display(),
                        info.id
                    ));
                    set.skipped.push((li, info.id.clone()));
                    continue;
                }
            }
            set.notes.push(format!(
                "layer `{}` feature {}: invalid polygon repaired (make_valid)",
                l.name, info.id
            ));
        }
        // A river drawn as polygons (its water, or a corridor so drawn): the distance to
        // it is to the polygons as drawn, not as `buffer_m` grows them.
        if is_river && (polygonal || collection) {
            let water = to_multipolygon(&g).map_err(|e| feature_err(l, &info.id, e))?;
            set.river_areas.extend(water.0);
        }
        if l.dissolve {
            dissolved.push(g);
            continue;
        }
        let g = match l.buffer_m {
            Some(d) => buffer::buffer(&g, d).map_err(|e| feature_err(l, &info.id, e))?,
            None => g,
        };
        let geom = to_multipolygon(&g).map_err(|e| feature_err(l, &info.id, e))?;
        if geom.0.is_empty() {
            set.notes.push(format!(
                "layer `{}` feature {}: no polygon area after repair; skipped",
                l.name, info.id
            ));
            continue;
        }
        set.zones.push(f.zone(li, geom));
    }
    if l.dissolve && !dissolved.is_empty() {
        let merged =
            buffer::dissolve(&dissolved, l.buffer_m.unwrap_or(0.0)).map_err(|e| layer_err(l, e))?;
        let geom = to_multipolygon(&merged).map_err(|e| layer_err(l, e))?;
        set.zones.push(Zone {
            layer: li,
            id: l.name.clone(),
            name: l.name.clone(),
            attrs: Vec::new(),
            geom,
            right: None,
            admin_code: None,
            feature: None,
        });
    }
    Ok(())
}

fn right_of(
    l: &LayerSpec,
    id: &str,
    f: &Fields,
    text: &dyn Fn(Option<usize>) -> Option<String>,
    unknown: &mut UnknownValidity,
) -> Result<Option<Right>, ZonesError> {
    if !matches!(l.kind, ZoneKind::MiningRight | ZoneKind::ExplorationRight) {
        return Ok(None);
    }
    let date = |i: Option<usize>, role: &str| -> Result<Option<AcqDate>, ZonesError> {
        match text(i).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => validity_date(&s, role == "valid_to", false)
                .map_err(|e| feature_err(l, id, format!("{role}: {e}"))),
        }
    };
    // A declared date left blank (or NULL) is no bound: said, not taken as an open end
    // (registers write 长期 or 至今 for that).
    let blank = |i: Option<usize>| i.is_some() && text(i).is_none_or(|s| s.is_empty());
    unknown.blank(id, blank(f.valid_from), blank(f.valid_to));
    let mut right = Right {
        licence: id.to_string(),
        holder: text(f.holder).unwrap_or_default(),
        mineral: text(f.mineral).unwrap_or_default(),
        exploration: l.kind == ZoneKind::ExplorationRight
            || is_exploration(&text(f.right_type).unwrap_or_default(), id),
        valid_from: date(f.valid_from, "valid_from")?,
        valid_to: date(f.valid_to, "valid_to")?,
    };
    unknown.check_order(&mut right);
    Ok(Some(right))
}

/// Whether a right is an exploration right (探矿权), from its type text and, when that
/// says neither, its licence number. Registers write the type as 采矿许可证 / 勘查许可证
/// (the exploration licence's official name, 矿产资源勘查许可证, has no 探), 采矿权 /
/// 探矿权, or 采矿权（探转采） — a mining right converted from exploration. Licence numbers
/// of the national register start with C (采矿许可证) or T (勘查许可证) and a long run of
/// digits.
fn is_exploration(t: &str, licence: &str) -> bool {
    let t = t.to_lowercase();
    let n = licence.trim();
    let numbered = |c: char| {
        n.starts_with([c, c.to_ascii_lowercase()])
            && n.get(1..)
                .is_some_and(|d| d.len() >= 10 && d.bytes().all(|b| b.is_ascii_digit()))
    };
    // A C number is a mining licence (采矿许可证) whatever the type text adds: a
    // converted right keeps its exploration history in the text (采矿权（原探矿权）).
    if numbered('C') {
        return false;
    }
    const EXPLORATION: [&str; 5] = ["勘查", "勘探", "探矿", "explor", "prospect"];
    const MINING: [&str; 4] = ["采矿", "开采", "mining", "exploitation"];
    let has = |s: &str, words: &[&str]| words.iter().any(|w| s.contains(w));
    // Exploration converted to mining, in any spelling (探转采, 探矿权转采矿权, 勘查转采矿,
    // 原探矿权): the right that results is a mining right.
    if has(&t, &["转采", "转为采", "原探", "原勘查"]) {
        return false;
    }
    // The right named outside brackets is the right; the brackets qualify it
    // (采矿权（…探矿权…）).
    let mut head = String::new();
    let mut depth = 0usize;
    for c in t.chars() {
        match c {
            '(' | '（' | '[' | '【' => depth += 1,
            ')' | '）' | ']' | '】' => depth = depth.saturating_sub(1),
            c if depth == 0 => head.push(c),
            _ => {}
        }
    }
    for s in [head.as_str(), t.as_str()] {
        match (has(s, &EXPLORATION), has(s, &MINING)) {
            (true, false) => return true,
            (false, true) => return false,
            // Both named and no conversion spelt out: the licence number decides.
            (true, true) => return numbered('T'),
            (false, false) => {}
        }
    }
    if t.contains('探') {
        return true;
    }
    numbered('T')
}

/// GB/T 2260 codes to six digits: `32` → `320000`, `3201` → `320100`; longer township or
/// village codes keep their county part.
pub fn normalise_code(raw: &str) -> Result<String, String> {
    let d = raw.trim();
    let d = d.strip_suffix(".0").unwrap_or(d);
    if d.is_empty() || !d.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "admin code `{raw}` is not a GB/T 2260 code (2, 4, 6, 9 or 12 digits)"
        ));
    }
    match d.len() {
        2 => Ok(format!("{d}0000")),
        4 => Ok(format!("{d}00")),
        6 => Ok(d.to_string()),
        9 | 12 => Ok(d[..6].to_string()),
        _ => Err(format!(
            "admin code `{raw}` is not a GB/T 2260 code (2, 4, 6, 9 or 12 digits)"
        )),
    }
}

/// A corner-coordinate layer's licences with their attributes table, in the file's
/// Gauss-Krüger zone; the whole file, near the patches of each of `areas` work CRSs.
fn read_corners(l: &LayerSpec, areas: usize) -> Result<LayerRead, ZonesError> {
    let mut said = ZoneSet {
        layers: vec![l.clone()],
        ..Default::default()
    };
    let set = &mut said;
    check_exists(l, &l.path)?;
    let bytes = std::fs::read(&l.path).map_err(|e| layer_err(l, format!("cannot read: {e}")))?;
    let file = guotu::parse_bytes(&bytes).map_err(|source| ZonesError::Corners {
        path: l.path.clone(),
        source,
    })?;
    for w in &file.warnings {
        let w = format!("layer `{}` ({}): {w}", l.name, l.path.display());
        // CGCS2000 assumed for a file that names no coordinate system: said at once
        // (an old file may be Xian 1980, some 100 m off).
        if file.datum_assumed && w.contains("no coordinate system in the header") {
            set.warn(w);
        } else {
            set.notes.push(w);
        }
    }
    let gk = crs::from_epsg(file.epsg)?;
    let (attrs, range) = match &l.attributes {
        Some(p) => {
            check_exists(l, p)?;
            licence_table(l, p, set)?
        }
        None if l.name_field.is_some() => {
            return Err(layer_err(
                l,
                "`name_field` names a column of the licence table, and the layer has no `attributes` table; add `attributes = \"…\"` or remove `name_field`",
            ));
        }
        None => {
            set.warn(format!(
                "layer `{}` ({}): no `attributes` table, so no validity dates: licence validity is not checked (an expired licence counts as valid)",
                l.name,
                l.path.display()
            ));
            (BTreeMap::new(), false)
        }
    };
    let mut unknown = UnknownValidity::default();
    let mut features = Vec::new();
    // A licence with several separate areas comes as several parcels with one id.
    let mut by_id: BTreeMap<&str, Vec<&guotu::Parcel>> = BTreeMap::new();
    for p in &file.parcels {
        by_id.entry(p.id.as_str()).or_default().push(p);
    }
    // A parcel name several licences share (地块1 in every licence of a file) names none.
    let mut licences_named: BTreeMap<&str, std::collections::BTreeSet<&str>> = BTreeMap::new();
    for p in &file.parcels {
        licences_named
            .entry(p.name.as_str())
            .or_default()
            .insert(p.id.as_str());
    }
    let shared_names: std::collections::BTreeSet<&str> = licences_named
        .into_iter()
        .filter(|(n, ids)| n.is_empty() || ids.len() > 1)
        .map(|(n, _)| n)
        .collect();
    for (id, parcels) in by_id {
        let wkt = parcels_wkt(&parcels);
        let mut g = Geometry::from_wkt(&wkt).map_err(|e| feature_err(l, id, e.to_string()))?;
        if parcels.len() > 1 {
            // Parcels of one licence may overlap (depth blocks drawn on one outline): one
            // union, so an overlap is never counted twice.
            g = g
                .buffer(0.0, 8)
                .map_err(|e| feature_err(l, id, format!("cannot merge its parcels: {e}")))?;
        }
        let row = attrs.get(id);
        if l.attributes.is_some() && row.is_none() {
            unknown.no_row(id);
        }
        let get = |k: &str| row.and_then(|r| r.get(k)).cloned().unwrap_or_default();
        // A validity column the table has, blank for this licence (a missing column is
        // warned about once, by `licence_table`).
        let blank = |k: &str| row.and_then(|r| r.get(k)).is_some_and(|v| v.is_empty());
        unknown.blank(id, blank("valid_from"), blank("valid_to"));
        let date = |k: &str| -> Result<Option<AcqDate>, ZonesError> {
            let v = get(k);
            if v.is_empty() {
                return Ok(None);
            }
            validity_date(&v, k == "valid_to", range)
                .map_err(|e| feature_err(l, id, format!("{k} in the attributes table: {e}")))
        };
        let mut right = Right {
            licence: id.to_string(),
            holder: get("holder"),
            mineral: get("mineral"),
            exploration: l.kind == ZoneKind::ExplorationRight
                || is_exploration(&get("right_type"), id),
            valid_from: date("valid_from")?,
            valid_to: date("valid_to")?,
        };
        unknown.check_order(&mut right);
        features.push(ReadFeature {
            info: FeatureInfo {
                id: id.to_string(),
                name: zone_name(l, row, &right, &parcels[0].name, &shared_names),
                attrs: l.carry.iter().map(|c| (c.clone(), get(c))).collect(),
                right: Some(right),
                admin_code: None,
            },
            geom: g,
            near: vec![true; areas],
            index: features.len(),
        });
    }
    unknown.warn(l, l.attributes.as_deref(), set);
    Ok(LayerRead {
        srs: gk,
        features,
        read: file.parcels.len(),
        empty: file.parcels.is_empty(),
        said,
    })
}

/// A corner-coordinate layer's licences as zones in the work CRS.
fn project_corners(
    li: usize,
    l: &LayerSpec,
    features: &[&ReadFeature],
    to_work: &Reprojector,
    set: &mut ZoneSet,
) -> Result<(), ZonesError> {
    for f in features {
        let g = f.in_work(l, to_work)?;
        let geom = to_multipolygon(&g).map_err(|e| feature_err(l, &f.info.id, e))?;
        set.zones.push(f.zone(li, geom));
    }
    Ok(())
}

/// Headers of a licence table's mine name (矿山名称), the zone name when the layer
/// declares no `name_field`.
const MINE_NAME_COLUMNS: [&str; 4] = ["mine_name", "矿山名称", "矿山名", "项目名称"];

/// A corner-file licence's zone name: the table's `name_field` column, else its mine name,
/// else the parcel's name when no other licence of the file shares it (a mine's name in
/// the parcel header), else the holder, else the parcel's name — 地块1 in every licence
/// of many files, which names nothing in the hits.
fn zone_name(
    l: &LayerSpec,
    row: Option<&BTreeMap<String, String>>,
    right: &Right,
    parcel: &str,
    shared: &std::collections::BTreeSet<&str>,
) -> String {
    let cell = |k: &str| row.and_then(|r| r.get(k)).filter(|v| !v.is_empty());
    let mine = match &l.name_field {
        Some(f) => cell(f),
        None => MINE_NAME_COLUMNS.iter().find_map(|k| cell(k)),
    };
    match mine {
        Some(m) => m.clone(),
        None if !shared.contains(parcel) => parcel.to_string(),
        None if !right.holder.is_empty() => right.holder.clone(),
        None => parcel.to_string(),
    }
}

fn parcels_wkt(parcels: &[&guotu::Parcel]) -> String {
    use std::fmt::Write;
    let ring = |r: &[(f64, f64)], s: &mut String| {
        s.push('(');
        for (k, (x, y)) in r.iter().enumerate() {
            if k > 0 {
                s.push(',');
            }
            let _ = write!(s, "{x} {y}");
        }
        s.push(')');
    };
    let mut s = String::from("MULTIPOLYGON (");
    for (k, p) in parcels.iter().enumerate() {
        if k > 0 {
            s.push(',');
        }
        s.push('(');
        ring(&p.outer, &mut s);
        for h in &p.holes {
            s.push(',');
            ring(h, &mut s);
        }
        s.push(')');
    }
    s.push(')');
    s
}

/// The right fields a licence table can hold, each with the headers that name it when
/// the layer does not declare its column: the English names and those of the
/// ministry's and provinces' licence registers.
const RIGHT_COLUMNS: [(&str, &[&str]); 5] = [
    (
        "holder",
        &["holder", "采矿权人", "探矿权人", "矿业权人", "权利人"],
    ),
    (
        "mineral",
        &["mineral", "开采矿种", "勘查矿种", "主矿种", "矿种"],
    ),
    (
        "right_type",
        &["right_type", "矿业权类型", "权利类型", "许可证类型"],
    ),
    (
        "valid_from",
        &[
            "valid_from",
            "有效期起",
            "有效期限起",
            "有效期始",
            "起始日期",
        ],
    ),
    (
        "valid_to",
        &["valid_to", "有效期止", "有效期限止", "截止日期", "终止日期"],
    ),
];

/// Headers of a column holding a right's whole validity period (`A至B`), as registers
/// write it, used when the table has no start and end columns.
const VALIDITY_COLUMNS: [&str; 4] = ["validity", "有效期限", "有效期", "有效期间"];

/// The licence attribute table of a corner-coordinate layer: first column the licence
/// id. Each row holds every column under its own header, and the right fields also
/// under their canonical names (`holder`, `mineral`, `right_type`, `valid_from`,
/// `valid_to`), taken from the column the layer declares (`holder_field`, …) or, when it
/// declares none, from the first known header present. A declared column that is
/// missing, or a licence listed twice, is an error; a right field found under no header
/// is a note (a table without validity dates cannot tell expired licences, which is also
/// a warning). Without start and end columns, one column holding the whole period
/// (`有效期限` = `1995-01-01至2001-06-30`, headers `VALIDITY_COLUMNS`) gives both; the flag
/// returned says so.
#[allow(clippy::type_complexity)]
fn licence_table(
    l: &LayerSpec,
    p: &Path,
    set: &mut ZoneSet,
) -> Result<(BTreeMap<String, BTreeMap<String, String>>, bool), ZonesError> {
    let bytes = std::fs::read(p).map_err(|e| layer_err(l, format!("{}: {e}", p.display())))?;
    let text = text_table::decode_text(&bytes);
    // Tab-separated too: Excel's and WPS's "Unicode 文本" and 文本文件 saves of a register.
    let mut r = csv::ReaderBuilder::new()
        .delimiter(text_table::delimiter_of(&text))
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = r
        .headers()
        .map_err(|e| layer_err(l, format!("{}: {e}", p.display())))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    if headers.is_empty() {
        return Err(layer_err(l, format!("{}: no header row", p.display())));
    }
    let declared = [
        &l.right.holder,
        &l.right.mineral,
        &l.right.right_type,
        &l.right.valid_from,
        &l.right.valid_to,
    ];
    let column = |f: &str, declared_as: &str| {
        headers.iter().position(|h| h == f).ok_or_else(|| {
            layer_err(
                l,
                format!(
                    "{}: no column `{f}` (declared as {declared_as}); its columns: {}",
                    p.display(),
                    headers.join(", ")
                ),
            )
        })
    };
    let mut columns: Vec<(&str, usize)> = Vec::new();
    let mut missing: Vec<(&str, &[&str])> = Vec::new();
    for ((key, aliases), decl) in RIGHT_COLUMNS.iter().zip(declared) {
        let found = match decl {
            Some(f) => Some(column(f, &format!("{key}_field"))?),
            None => aliases
                .iter()
                .find_map(|a| headers.iter().position(|h| h == a)),
        };
        match found {
            Some(k) => columns.push((key, k)),
            None => missing.push((key, aliases)),
        }
    }
    // No start or end column: a column with the whole period gives both.
    let mut range = false;
    if missing.iter().any(|(k, _)| k.starts_with("valid"))
        && !columns.iter().any(|(k, _)| k.starts_with("valid"))
    {
        if let Some(k) = VALIDITY_COLUMNS
            .iter()
            .find_map(|a| headers.iter().position(|h| h == a))
        {
            columns.push(("valid_from", k));
            columns.push(("valid_to", k));
            missing.retain(|(k, _)| !k.starts_with("valid"));
            range = true;
        }
    }
    // A declared name column the table lacks is an error, never a silent fallback (to a
    // guessed mine-name column, the holder or the parcel's name). The right fields found
    // also go by their canonical names (`holder` …).
    if let Some(f) = &l.name_field {
        if !columns.iter().any(|(key, _)| key == f) {
            column(f, "name_field")?;
        }
    }
    for (key, aliases) in missing {
        let note = format!(
            "layer `{}`: {} has no {key} column (looked for {}{}; declare {key}_field)",
            l.name,
            p.display(),
            aliases.join(", "),
            if key.starts_with("valid") {
                format!(", or a period column {}", VALIDITY_COLUMNS.join(", "))
            } else {
                String::new()
            }
        );
        if key.starts_with("valid") {
            set.warn(format!(
                "{note}: licence validity is not checked (an expired licence counts as valid)"
            ));
        } else {
            set.notes.push(note);
        }
    }
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut first_row: BTreeMap<String, usize> = BTreeMap::new();
    for (n, rec) in r.records().enumerate() {
        let line = n + 2;
        let rec = rec.map_err(|e| layer_err(l, format!("{} row {line}: {e}", p.display())))?;
        let mut row: BTreeMap<String, String> = headers
            .iter()
            .cloned()
            .zip(rec.iter().map(|v| v.trim().to_string()))
            .collect();
        for (key, k) in &columns {
            row.insert(
                key.to_string(),
                rec.get(*k).unwrap_or("").trim().to_string(),
            );
        }
        let id = rec.get(0).unwrap_or("").trim().to_string();
        if let Some(before) = first_row.insert(id.clone(), line) {
            return Err(layer_err(
                l,
                format!(
                    "{}: licence {id} is listed twice (rows {before} and {line}); keep one row per licence",
                    p.display()
                ),
            ));
        }
        out.insert(id, row);
    }
    Ok((out, range))
}

/// A date as registers write it: the forms `AcqDate::parse_lenient` takes (with
/// `1995年1月1日`).
fn parse_register_date(text: &str) -> Option<AcqDate> {
    AcqDate::parse_lenient(text).ok()
}

/// Words registers write for a period without an end (`2019-01-01至今`, `至长期`,
/// `永久`): the right counts as in force on every later date, as one without an end date.
const OPEN_END: [&str; 6] = ["今", "长期", "永久", "无期限", "无固定期限", "现在"];

fn is_open_end(text: &str) -> bool {
    let t = text.trim().trim_start_matches('至').trim();
    OPEN_END.contains(&t)
}

/// A validity period in one field, as licence registers write it: `1995-01-01至2001-06-30`,
/// also with `~`, `～`, `到`, `—` or `-` between the dates (`2019.1.1-2024.1.1`,
/// `20190101-20240101`, `2019年1月1日至2024年1月1日`), or open-ended (`2019-01-01至今`,
/// `2019-01-01至长期`: no end, `None`). `None` if the text is not a start date so joined
/// to an end.
pub fn parse_validity_range(text: &str) -> Option<(AcqDate, Option<AcqDate>)> {
    let t = text.trim();
    for sep in ['至', '~', '～', '到', '—', '－'] {
        if let Some((a, b)) = t.split_once(sep) {
            let start = parse_register_date(a)?;
            if is_open_end(b) {
                return Some((start, None));
            }
            return Some((start, Some(parse_register_date(b)?)));
        }
    }
    // A hyphen may also sit inside the dates: try each one.
    t.match_indices('-').find_map(|(i, _)| {
        let start = parse_register_date(&t[..i])?;
        if is_open_end(&t[i + 1..]) {
            return Some((start, None));
        }
        Some((start, Some(parse_register_date(&t[i + 1..])?)))
    })
}

/// The start (`end` false) or end of a right's validity from a field: one date, or a
/// range (`A至B`) of which the start or end is taken; `None` for the end of an
/// open-ended period (`A至今`, or an end field holding only `长期`). A field that holds the
/// whole period (`range`: a recognised 有效期限 column) must hold a range.
fn validity_date(text: &str, end: bool, range: bool) -> Result<Option<AcqDate>, String> {
    // A period that ends before it starts is taken as written: the right's validity
    // check (`UnknownValidity::check_order`) finds it whichever fields it came from.
    if let Some((a, b)) = parse_validity_range(text) {
        return Ok(if end { b } else { Some(a) });
    }
    if range {
        return Err(format!(
            "validity `{text}` is not a period `start至end` (e.g. 2019-01-01至2024-01-01, or 2019-01-01至今 without an end)"
        ));
    }
    if end && is_open_end(text) {
        return Ok(None);
    }
    parse_register_date(text).map(Some).ok_or_else(|| {
        format!("`{text}` is not a date (YYYY-MM-DD) or a period (YYYY-MM-DD至YYYY-MM-DD)")
    })
}

/// Polygon parts of a GDAL geometry as a geo MultiPolygon (lines and points of a
/// collection are dropped: they have no area).
pub fn to_multipolygon(g: &Geometry) -> Result<MultiPolygon<f64>, String> {
    let geo = g
        .to_geo()
        .map_err(|e| format!("geometry conversion: {e}"))?;
    let mut out: Vec<Polygon<f64>> = Vec::new();
    collect_polygons(geo, &mut out);
    Ok(MultiPolygon(out))
}

pub(crate) fn collect_polygons(g: geo_types::Geometry<f64>, out: &mut Vec<Polygon<f64>>) {
    use geo_types::Geometry as G;
    match g {
        G::Polygon(p) => out.push(p),
        G::MultiPolygon(m) => out.extend(m.0),
        G::GeometryCollection(c) => c.0.into_iter().for_each(|g| collect_polygons(g, out)),
        _ => {}
    }
}

fn lines_of(g: &Geometry) -> Vec<LineString<f64>> {
    use geo_types::Geometry as G;
    fn walk(g: G<f64>, out: &mut Vec<LineString<f64>>) {
        match g {
            G::LineString(l) => out.push(l),
            G::MultiLineString(m) => out.extend(m.0),
            G::GeometryCollection(c) => c.0.into_iter().for_each(|g| walk(g, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Ok(geo) = g.to_geo() {
        walk(geo, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exploration_rights_by_type_and_licence_number() {
        for (t, lic, want) in [
            ("探矿权", "", true),
            ("勘查许可证", "", true),
            ("矿产资源勘查许可证", "", true),
            ("Exploration", "", true),
            ("采矿权", "", false),
            ("采矿许可证", "", false),
            ("采矿权（探转采）", "", false),
            ("mining", "", false),
            ("", "T32120080302005678", true),
            ("", "C3200002010064120067890", false),
            ("", "T-12", false),
            ("", "L2", false),
            // The type text decides over the number.
            ("采矿许可证", "T32120080302005678", false),
            ("勘查许可证", "T32120080302005678", true),
            // Exploration converted to mining, in every spelling registers use: a
            // mining right (review finding 3).
            ("新立(探转采)", "", false),
            ("探矿权转采矿权", "", false),
            ("采矿权（探矿权转采矿权）", "", false),
            ("新立（探矿权转采矿权）", "", false),
            ("采矿权(勘查转采矿)", "", false),
            ("采矿权(原探矿权)", "", false),
            ("探矿权转采矿权", "C1100002010011110000001", false),
            ("采矿权(原探矿权)", "C1100002010011110000001", false),
            // A C number is a mining licence; naming both rights, the number decides.
            ("", "C1100002010011110000001", false),
            ("探矿权", "C1100002010011110000001", false),
            ("探矿权/采矿权", "T32120080302005678", true),
            ("探矿权/采矿权", "", false),
            // Brackets qualify the right named outside them.
            ("探矿权（原采矿区）", "", true),
            ("采矿权（勘查区内）", "", false),
        ] {
            assert_eq!(is_exploration(t, lic), want, "{t} / {lic}");
        }
    }

    /// Three licences C…01, C…02, C…03 in a corner file of `d`, loaded with `attributes`
    /// (bytes of `lic.csv`) and the layer's extra TOML lines `extra`.
    fn corner_licences(
        d: &std::path::Path,
        attributes: &[u8],
        extra: &str,
    ) -> Result<ZoneSet, ZonesError> {
        let mut txt = String::from(
            "[属性描述]\n坐标系=2000国家大地坐标系\n几度分带=3\n投影类型=高斯克吕格\n计量单位=米\n带号=39\n[地块坐标]\n",
        );
        for (k, lic) in [
            "C1100002010011110000001",
            "C1100002010011110000002",
            "C1100002010011110000003",
        ]
        .iter()
        .enumerate()
        {
            let e = 39_525_540.0 + 1000.0 * k as f64;
            txt += &format!("5,100.0000,{lic},地块1,面,,采矿用地,,@\n");
            for (j, (x, y)) in [
                (0.0, 0.0),
                (0.0, 1000.0),
                (1000.0, 1000.0),
                (1000.0, 0.0),
                (0.0, 0.0),
            ]
            .iter()
            .enumerate()
            {
                txt += &format!("J{},1,{:.2},{:.2}\n", j + 1, 4_451_780.0 + x, e + y);
            }
        }
        std::fs::write(d.join("lic.txt"), txt).unwrap();
        std::fs::write(d.join("lic.csv"), attributes).unwrap();
        let spec = LayersSpec::from_str(
            &format!("[[layer]]\nname = \"lic\"\npath = \"lic.txt\"\nformat = \"guotu_txt\"\nkind = \"mining_right\"\nattributes = \"lic.csv\"\n{extra}"),
            &d.join("l.toml"),
            d,
        )
        .unwrap();
        let wkt = crate::crs::from_epsg(4527).unwrap().to_wkt().unwrap();
        let work = crate::WorkCrs::choose(&wkt, [117.2, 40.2, 117.3, 40.3]).unwrap();
        load(&spec, &LoadOptions { work, aoi: None })
    }

    const LICENCE_TABLE: &str = "licence,采矿权人,矿山名称,有效期起,有效期止\n\
         C1100002010011110000001,甲矿业公司,甲石灰岩矿,2010-01-01,2030-12-31\n\
         C1100002010011110000002,乙矿业公司,,2010-01-01,2030-12-31\n";

    /// A corner-file licence is named by its mine (矿山名称) or holder from the attributes
    /// table, not by the parcel name every licence of the file shares (地块1).
    #[test]
    fn corner_licences_take_the_mine_or_holder_name() {
        let d = tempfile::tempdir().unwrap();
        let set = corner_licences(d.path(), LICENCE_TABLE.as_bytes(), "").unwrap();
        let names: Vec<&str> = set.zones.iter().map(|z| z.name.as_str()).collect();
        assert_eq!(names, ["甲石灰岩矿", "乙矿业公司", "地块1"]);
    }

    /// A declared `name_field` the licence table lacks is an error naming the layer, the
    /// table, the column and the columns it has; it fell back to the guessed mine-name
    /// columns, the holder or the parcel name without a word.
    #[test]
    fn a_declared_name_field_missing_from_the_licence_table_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let e = corner_licences(
            d.path(),
            LICENCE_TABLE.as_bytes(),
            "name_field = \"矿山名\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("layer `lic`")
                && e.contains("lic.csv")
                && e.contains("no column `矿山名` (declared as name_field)")
                && e.contains("licence, 采矿权人, 矿山名称, 有效期起, 有效期止"),
            "{e}"
        );
        // Declared and present, as a header or as a right field's canonical name: its
        // column names the licence.
        for field in ["holder", "采矿权人"] {
            let extra = format!("name_field = \"{field}\"\n");
            let set = corner_licences(d.path(), LICENCE_TABLE.as_bytes(), &extra).unwrap();
            assert_eq!(set.zones[0].name, "甲矿业公司", "{field}");
        }
    }

    /// Excel's "Unicode 文本" save of a register (UTF-16LE with its BOM, tab-separated) was
    /// decoded but read as one column: no holder, no validity. It gives the rights the
    /// UTF-8 CSV gives, as does a tab-separated UTF-8 file.
    #[test]
    fn a_utf16_tab_separated_licence_table_reads_as_the_csv() {
        let d = tempfile::tempdir().unwrap();
        let rights = |bytes: &[u8]| -> Vec<(String, Option<Right>)> {
            let set = corner_licences(d.path(), bytes, "").unwrap();
            set.zones.into_iter().map(|z| (z.name, z.right)).collect()
        };
        let want = rights(LICENCE_TABLE.as_bytes());
        assert_eq!(want[0].1.as_ref().unwrap().holder, "甲矿业公司");
        assert!(want[0].1.as_ref().unwrap().valid_to.is_some());
        let tabs = LICENCE_TABLE.replace(',', "\t").replace('\n', "\r\n");
        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend(tabs.encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(rights(&utf16), want);
        assert_eq!(rights(tabs.as_bytes()), want);
    }

    #[test]
    fn codes_normalise_to_six_digits() {
        assert_eq!(normalise_code("32").unwrap(), "320000");
        assert_eq!(normalise_code("3201").unwrap(), "320100");
        assert_eq!(normalise_code("320115").unwrap(), "320115");
        assert_eq!(normalise_code("320115001").unwrap(), "320115");
        assert!(normalise_code("32a").is_err());
        assert!(normalise_code("3201151").is_err());
    }

    #[test]
    fn validity_periods_in_one_field() {
        let d = |y, m, dd| AcqDate::new(y, m, dd).unwrap();
        let want = (d(1995, 1, 1), d(2001, 6, 30));
        for t in [
            "1995-01-01至2001-06-30",
            " 1995-01-01 至 2001-06-30 ",
            "1995-01-01~2001-06-30",
            "1995-01-01～2001-06-30",
            "1995.1.1-2001.6.30",
            "1995-01-01-2001-06-30",
            "19950101-20010630",
            "1995/01/01到2001/06/30",
            "1995年1月1日至2001年6月30日",
            // 日 left off, as typed in Excel.
            "1995年1月1至2001年6月30",
        ] {
            assert_eq!(parse_validity_range(t), Some((want.0, Some(want.1))), "{t}");
        }
        for t in ["1995-01-01至今", "1995-01-01 至 长期", "1995年1月1日至今"] {
            assert_eq!(parse_validity_range(t), Some((want.0, None)), "{t}");
        }
        for t in [
            "2001-06-30",
            "1995-01-01至",
            "至今",
            "abc-def",
            "1995-01-01至明年",
        ] {
            assert_eq!(parse_validity_range(t), None, "{t}");
        }
        // A start field takes the start of a period, an end field its end.
        assert_eq!(
            validity_date("1995-01-01至2001-06-30", false, false),
            Ok(Some(want.0))
        );
        assert_eq!(
            validity_date("1995-01-01至2001-06-30", true, false),
            Ok(Some(want.1))
        );
        assert_eq!(validity_date("2001-06-30", true, false), Ok(Some(want.1)));
        // Open-ended: no end date, the start still read.
        assert_eq!(validity_date("1995-01-01至今", true, true), Ok(None));
        assert_eq!(
            validity_date("1995-01-01至今", false, true),
            Ok(Some(want.0))
        );
        assert_eq!(validity_date("长期", true, false), Ok(None));
        assert!(validity_date("长期", false, false).is_err());
        assert!(validity_date("2001-06-30", true, true)
            .unwrap_err()
            .contains("not a period"));
        // Reversed: read as written, for the right's check to find and warn about.
        assert_eq!(
            validity_date("2001-06-30至1995-01-01", true, true),
            Ok(Some(want.0))
        );
    }
}
