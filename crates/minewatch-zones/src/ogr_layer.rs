//! One declared GDAL/OGR layer opened for reading: its file (opened once however many
//! entries use it), the layer within it, its CRS and field names, and its `where` filter —
//! and the check `validate` runs on every layer without loading it.

use crate::error::ZonesError;
use crate::gdal_error;
use crate::source::{check_exists, layer_err, resolve_fields};
use crate::spec::{Format, LayerSpec, LayersSpec};
use gdal::spatial_ref::SpatialRef;
use gdal::vector::{Feature, FeatureIterator, Layer, LayerAccess};
use gdal::{Dataset, DatasetOptions, GdalOpenFlags};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Open datasets by path: several layers often come from one file (a GeoPackage, or one
/// GeoJSON split by `where`), and GeoJSON is parsed whole on every open.
pub type OpenFiles = BTreeMap<PathBuf, Dataset>;

/// The layer's file, opened on first use, with what was guessed in opening it (a
/// Shapefile's text encoding) the first time: a warning for stderr and the manifest.
pub fn open_dataset<'a>(
    open: &'a mut OpenFiles,
    l: &LayerSpec,
) -> Result<(&'a Dataset, Option<String>), ZonesError> {
    check_exists(l, &l.path)?;
    let mut said = None;
    if !open.contains_key(&l.path) {
        let guess = shapefile_encoding_guess(&l.path);
        let encoding = guess.as_ref().map(|(e, _)| format!("ENCODING={e}"));
        let options: Vec<&str> = encoding.iter().map(String::as_str).collect();
        let ds = Dataset::open_ex(
            &l.path,
            DatasetOptions {
                open_flags: GdalOpenFlags::GDAL_OF_VECTOR | GdalOpenFlags::GDAL_OF_READONLY,
                open_options: (!options.is_empty()).then_some(options.as_slice()),
                ..Default::default()
            },
        )
        .map_err(|e| layer_err(l, format!("cannot open it as a vector file: {e}")))?;
        open.insert(l.path.clone(), ds);
        said = guess.map(|(e, why)| match why {
            Declared::Nothing => format!(
                "layer `{}` ({}): the Shapefile has no .cpg and its .dbf declares no code page, and its text is not UTF-8: read as GBK ({e}, its superset); if that is wrong, add a .cpg naming the encoding",
                l.name,
                l.path.display()
            ),
            Declared::Gbk(cpg) => format!(
                "layer `{}` ({}): its .cpg says {cpg}; read as {e}, the superset, so that names with characters {cpg} lacks (堃, 昇, 喆) are not garbled",
                l.name,
                l.path.display()
            ),
        });
    }
    Ok((&open[&l.path], said))
}

/// What declared a Shapefile's encoding, when minewatch reads it otherwise.
pub enum Declared {
    /// Nothing: no .cpg, no language-driver byte.
    Nothing,
    /// A .cpg naming a subset of GB18030 (`GB2312`, `GBK`, `936`), as many Chinese tools
    /// write for code-page-936 data holding GBK-only characters.
    Gbk(String),
}

/// The encoding to read a Shapefile's attributes in when the files say nothing or too
/// little: GDAL reads undeclared text as it is, so GBK text (what Chinese offices mostly
/// write) would come out as U+FFFD. GB18030, the superset of GB2312 and GBK (CP936), is
/// read for a `.shp` with no `.cpg`, a .dbf whose language-driver byte is 0 (none) and
/// whose field names or records are not UTF-8 — CP936 garbled a GB18030-only character
/// and the rest of its value (revY F4) — and for a `.cpg` naming GB2312, GBK or 936.
/// `None` when the files declare another encoding, the text is UTF-8 (ASCII included),
/// or it is no Shapefile.
pub fn shapefile_encoding_guess(path: &Path) -> Option<(&'static str, Declared)> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    if ext != "shp" && ext != "dbf" {
        return None;
    }
    let sibling = |e: &str| {
        [e.to_string(), e.to_ascii_uppercase()]
            .into_iter()
            .map(|x| path.with_extension(x))
            .find(|p| p.is_file())
    };
    if let Some(cpg) = sibling("cpg") {
        let said = std::fs::read_to_string(cpg).ok()?;
        let said = said.trim();
        let key = said.to_ascii_uppercase().replace([' ', '-', '_'], "");
        return matches!(
            key.as_str(),
            "GB2312" | "GBK" | "936" | "CP936" | "ANSI936" | "EUCCN"
        )
        .then(|| ("GB18030", Declared::Gbk(said.to_string())));
    }
    let dbf = std::fs::read(sibling("dbf")?).ok()?;
    if dbf.len() < 32 || dbf[29] != 0 {
        return None;
    }
    let header = u16::from_le_bytes([dbf[8], dbf[9]]) as usize;
    // Field names (the first 11 bytes of each 32-byte descriptor, NUL-padded) count too:
    // Chinese names over ASCII records (licence numbers, dates) were read as U+FFFD.
    let names = dbf
        .get(32..header.saturating_sub(1))
        .unwrap_or(&[])
        .chunks_exact(32)
        .flat_map(|d| d[..11].iter().copied().take_while(|b| *b != 0));
    let text: Vec<u8> = names
        .chain(dbf.get(header..).unwrap_or(&[]).iter().copied())
        .collect();
    match std::str::from_utf8(&text) {
        Ok(_) => None,
        Err(_) => Some(("GB18030", Declared::Nothing)),
    }
}

pub struct Opened<'d> {
    pub layer: Layer<'d>,
    pub srs: SpatialRef,
    pub field_names: Vec<String>,
}

/// The declared layer of the file, with no filters left from an earlier entry.
pub fn open_layer<'d>(l: &LayerSpec, ds: &'d Dataset) -> Result<Opened<'d>, ZonesError> {
    let names: Vec<String> = ds.layers().map(|x| x.name()).collect();
    let mut layer = match &l.layer {
        Some(n) => ds.layer_by_name(n).map_err(|_| {
            layer_err(
                l,
                format!("no layer `{n}`; the file has: {}", names.join(", ")),
            )
        })?,
        None => {
            if names.len() != 1 {
                return Err(layer_err(
                    l,
                    format!(
                        "the file has {} layers ({}); say which with `layer = \"…\"`",
                        names.len(),
                        names.join(", ")
                    ),
                ));
            }
            ds.layer(0).map_err(|e| layer_err(l, e.to_string()))?
        }
    };
    let srs = layer.spatial_ref().ok_or_else(|| {
        layer_err(
            l,
            "the layer has no CRS; add a .prj or assign one, e.g. `ogr2ogr -a_srs EPSG:4490 out.gpkg in.shp`",
        )
    })?;
    let field_names: Vec<String> = layer.defn().fields().map(|f| f.name()).collect();
    // The dataset is shared between layer entries: start from no filters.
    layer.clear_attribute_filter();
    layer.clear_spatial_filter();
    layer.reset_feature_reading();
    Ok(Opened {
        layer,
        srs,
        field_names,
    })
}

/// Set the entry's `where` filter. Drivers that evaluate it with OGR SQL (GeoJSON,
/// Shapefile, …) reject a bad one here; SQLite-based ones (GeoPackage) only when reading
/// starts, which `read_failed` reports in the same words.
pub fn set_filter(
    l: &LayerSpec,
    layer: &mut Layer,
    field_names: &[String],
) -> Result<(), ZonesError> {
    if let Some(w) = &l.filter {
        layer
            .set_attribute_filter(w)
            .map_err(|e| bad_filter(l, field_names, w, &e))?;
    }
    Ok(())
}

fn bad_filter(
    l: &LayerSpec,
    field_names: &[String],
    w: &str,
    e: &dyn std::fmt::Display,
) -> ZonesError {
    layer_err(
        l,
        format!(
            "`where = \"{w}\"` is not a valid filter on fields {}: {e}; fix it in the layers file",
            field_names.join(", ")
        ),
    )
}

/// A read that ended on GDAL failure `msg` after `read` features rather than at the end
/// of the layer: with a filter, the filter is what failed.
pub fn read_failed(l: &LayerSpec, field_names: &[String], read: usize, msg: String) -> ZonesError {
    match &l.filter {
        Some(w) => bad_filter(l, field_names, w, &msg),
        None => layer_err(
            l,
            format!("reading stopped after {read} features: {msg}; check the file with `ogrinfo`"),
        ),
    }
}

/// The next feature of a read, `None` at the end of the layer: a read that stops on a GDAL
/// failure after `n` features is an error, not the end. The error state is reset first:
/// GDAL reports a null geometry's emptiness check (of the feature before) as an error.
pub fn next_feature<'a>(
    features: &mut FeatureIterator<'a>,
    l: &LayerSpec,
    field_names: &[String],
    n: usize,
) -> Result<Option<Feature<'a>>, ZonesError> {
    gdal_error::reset();
    match features.next() {
        Some(f) => Ok(Some(f)),
        None => match gdal_error::last_failure() {
            Some(msg) => Err(read_failed(l, field_names, n, msg)),
            None => Ok(None),
        },
    }
}

/// Check every layer of a layers file as loading would, without loading it: the file
/// opens, the layer exists and has a CRS, the declared fields exist and the `where`
/// filter runs (one feature is read). Corner-coordinate files and attribute tables must
/// exist. For `validate`, so a typo fails before the detection runs.
pub fn check(spec: &LayersSpec) -> Result<(), ZonesError> {
    let mut open = OpenFiles::new();
    for l in &spec.layers {
        match l.format {
            Format::Ogr => {
                let (ds, _) = open_dataset(&mut open, l)?;
                let Opened {
                    mut layer,
                    field_names,
                    ..
                } = open_layer(l, ds)?;
                set_filter(l, &mut layer, &field_names)?;
                resolve_fields(l, &field_names)?;
                next_feature(&mut layer.features(), l, &field_names, 0)?;
            }
            Format::GuotuTxt => {
                check_exists(l, &l.path)?;
                if let Some(a) = &l.attributes {
                    check_exists(l, a)?;
                }
            }
        }
    }
    Ok(())
}
