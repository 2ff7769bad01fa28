//! The layers file (TOML): which zone layers to overlay, where they are, what kind each
//! is and which fields hold its id, name and the attributes to carry. Paths are relative
//! to the layers file. See `docs/overlay.md` for every key.

use crate::error::ZonesError;
use minewatch_core::{AdminLevel, ZoneKind};
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    /// Folder with the GB/T 2260 tables `provinces.csv`, `cities.csv`, `areas.csv`.
    admin_codes: Option<PathBuf>,
    /// A patch whose area outside valid mining rights is at most this share (percent) of
    /// the patch still counts as inside (pixel edges cross licence lines).
    inside_tolerance_pct: Option<f64>,
    #[serde(default)]
    layer: Vec<RawLayer>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLayer {
    name: String,
    path: PathBuf,
    layer: Option<String>,
    #[serde(rename = "where")]
    filter: Option<String>,
    kind: String,
    weight: Option<String>,
    #[serde(default = "default_format")]
    format: String,
    id_field: Option<String>,
    name_field: Option<String>,
    #[serde(default)]
    carry: Vec<String>,
    buffer_m: Option<f64>,
    dissolve: Option<bool>,
    level: Option<AdminLevel>,
    code_field: Option<String>,
    holder_field: Option<String>,
    mineral_field: Option<String>,
    right_type_field: Option<String>,
    valid_from_field: Option<String>,
    valid_to_field: Option<String>,
    /// For corner-coordinate files: a CSV keyed by licence id with holder, mineral,
    /// right_type, valid_from, valid_to columns.
    attributes: Option<PathBuf>,
}

fn default_format() -> String {
    "ogr".into()
}

/// How a layer's geometry is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// Anything GDAL/OGR opens (GeoPackage, GeoJSON, Shapefile, FlatGeobuf, …).
    Ogr,
    /// The ministry's corner-coordinate text (国土 TXT, 拐点坐标).
    GuotuTxt,
}

/// Fields of a mining or exploration right.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RightFields {
    pub holder: Option<String>,
    pub mineral: Option<String>,
    pub right_type: Option<String>,
    pub valid_from: Option<String>,
    pub valid_to: Option<String>,
}

/// One declared layer, paths resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerSpec {
    /// Label used in outputs and messages.
    pub name: String,
    pub path: PathBuf,
    pub layer: Option<String>,
    /// OGR attribute filter (SQL WHERE), e.g. `zone_type = 'redline'`.
    pub filter: Option<String>,
    pub kind: ZoneKind,
    pub format: Format,
    pub id_field: Option<String>,
    pub name_field: Option<String>,
    pub carry: Vec<String>,
    /// Lines and points become zones of this half-width, metres.
    pub buffer_m: Option<f64>,
    /// Merge every feature into one zone (a river corridor from all its lines).
    pub dissolve: bool,
    pub level: Option<AdminLevel>,
    pub code_field: Option<String>,
    pub right: RightFields,
    pub attributes: Option<PathBuf>,
}

/// The whole layers file.
#[derive(Debug, Clone, PartialEq)]
pub struct LayersSpec {
    pub source: PathBuf,
    pub admin_codes: Option<PathBuf>,
    pub inside_tolerance_pct: f64,
    pub layers: Vec<LayerSpec>,
}

/// Whether any of `layers` holds mining or exploration rights: without one no licence
/// is screened, and no patch is unlicensed (无证) for want of the data (revY F3).
pub fn screens_rights(layers: &[LayerSpec]) -> bool {
    layers
        .iter()
        .any(|l| matches!(l.kind, ZoneKind::MiningRight | ZoneKind::ExplorationRight))
}

impl LayersSpec {
    pub fn from_file(path: &Path) -> Result<Self, ZonesError> {
        let text = std::fs::read_to_string(path).map_err(|e| ZonesError::Spec {
            path: path.to_path_buf(),
            msg: format!("cannot read it: {e}"),
        })?;
        // A bare file name's parent is "", which is no folder to list or test.
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        Self::from_str(&text, path, base)
    }

    /// Parse `text`; `source` names the file in messages, `base` resolves relative paths.
    pub fn from_str(text: &str, source: &Path, base: &Path) -> Result<Self, ZonesError> {
        let spec_err = |msg: String| ZonesError::Spec {
            path: source.to_path_buf(),
            msg,
        };
        let raw: RawFile = toml::from_str(text).map_err(|e| spec_err(e.to_string()))?;
        if raw.layer.is_empty() {
            return Err(spec_err(
                "no [[layer]] entries; declare at least one zone layer".into(),
            ));
        }
        let tol = raw.inside_tolerance_pct.unwrap_or(1.0);
        if !(0.0..=50.0).contains(&tol) {
            return Err(spec_err(format!(
                "inside_tolerance_pct = {tol}: must be between 0 and 50"
            )));
        }
        let resolve = |p: &Path| {
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            }
        };
        let mut layers = Vec::with_capacity(raw.layer.len());
        let mut seen = std::collections::BTreeSet::new();
        for l in raw.layer {
            let lerr = |msg: String| spec_err(format!("layer `{}`: {msg}", l.name));
            if l.name.trim().is_empty() {
                return Err(spec_err("a layer has an empty `name`".into()));
            }
            if !seen.insert(l.name.clone()) {
                return Err(lerr("the name is used twice; names must be unique".into()));
            }
            let kind = ZoneKind::parse(&l.kind, l.weight.as_deref()).map_err(&lerr)?;
            let format = match l.format.as_str() {
                "ogr" => Format::Ogr,
                "guotu_txt" => Format::GuotuTxt,
                f => {
                    return Err(lerr(format!(
                        "unknown format `{f}`; use `ogr` (any GDAL vector file) or `guotu_txt` (corner coordinates)"
                    )))
                }
            };
            let is_right = matches!(kind, ZoneKind::MiningRight | ZoneKind::ExplorationRight);
            if format == Format::GuotuTxt && !is_right {
                return Err(lerr(
                    "format `guotu_txt` is for mining_right or exploration_right layers".into(),
                ));
            }
            if l.filter.is_some() && format != Format::Ogr {
                return Err(lerr("`where` filters OGR layers only".into()));
            }
            if l.attributes.is_some() && format != Format::GuotuTxt {
                return Err(lerr(
                    "`attributes` is for corner-coordinate files; OGR layers carry fields".into(),
                ));
            }
            if kind == ZoneKind::AdminDivision {
                if l.level.is_none() {
                    return Err(lerr(
                        "an admin_division layer needs `level` = province, prefecture or county"
                            .into(),
                    ));
                }
                if l.code_field.is_none() {
                    return Err(lerr(
                        "an admin_division layer needs `code_field` (GB/T 2260 code)".into(),
                    ));
                }
            } else if l.level.is_some() || l.code_field.is_some() {
                return Err(lerr(
                    "`level` and `code_field` are for admin_division layers".into(),
                ));
            }
            if let Some(b) = l.buffer_m {
                if !(b.is_finite() && b > 0.0 && b <= 100_000.0) {
                    return Err(lerr(format!(
                        "buffer_m = {b}: must be a distance in metres, above 0 and at most 100000"
                    )));
                }
            }
            let has_right_fields = l.holder_field.is_some()
                || l.mineral_field.is_some()
                || l.right_type_field.is_some()
                || l.valid_from_field.is_some()
                || l.valid_to_field.is_some();
            if has_right_fields && !is_right {
                return Err(lerr(
                    "holder/mineral/right_type/valid_from/valid_to fields are for mining_right or exploration_right layers".into(),
                ));
            }
            // Dissolving merges features into one zone without an id: every right would
            // lose its licence (all patches unlicensed) and every division its code.
            let needs_identity = is_right || kind == ZoneKind::AdminDivision;
            if needs_identity && l.dissolve == Some(true) {
                return Err(lerr(format!(
                    "`dissolve = true` would merge the features of this {} layer into one zone without {}; remove it",
                    kind.name(),
                    if is_right {
                        "licence numbers, holders or validity (every patch would count as unlicensed)"
                    } else {
                        "division codes"
                    }
                )));
            }
            let dissolve = l
                .dissolve
                .unwrap_or(kind == ZoneKind::RiverCorridor && l.buffer_m.is_some());
            layers.push(LayerSpec {
                path: resolve(&l.path),
                attributes: l.attributes.as_deref().map(resolve),
                name: l.name,
                layer: l.layer,
                filter: l.filter,
                kind,
                format,
                id_field: l.id_field,
                name_field: l.name_field,
                carry: l.carry,
                buffer_m: l.buffer_m,
                dissolve,
                level: l.level,
                code_field: l.code_field,
                right: RightFields {
                    holder: l.holder_field,
                    mineral: l.mineral_field,
                    right_type: l.right_type_field,
                    valid_from: l.valid_from_field,
                    valid_to: l.valid_to_field,
                },
            });
        }
        Ok(Self {
            source: source.to_path_buf(),
            admin_codes: raw.admin_codes.as_deref().map(resolve),
            inside_tolerance_pct: tol,
            layers,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(t: &str) -> Result<LayersSpec, ZonesError> {
        LayersSpec::from_str(t, Path::new("layers.toml"), Path::new("/data"))
    }

    #[test]
    fn resolves_paths_and_defaults() {
        let s = parse(
            r#"
admin_codes = "codes"
[[layer]]
name = "yangtze"
path = "rivers.gpkg"
layer = "yangtze_lines"
kind = "river_corridor"
buffer_m = 5000
[[layer]]
name = "provinces"
path = "/abs/prov.gpkg"
kind = "admin_division"
level = "province"
code_field = "adcode99"
name_field = "name"
"#,
        )
        .unwrap();
        assert_eq!(s.layers[0].path, Path::new("/data/rivers.gpkg"));
        assert!(s.layers[0].dissolve, "river corridors dissolve by default");
        assert_eq!(s.layers[1].path, Path::new("/abs/prov.gpkg"));
        assert_eq!(s.layers[1].level, Some(AdminLevel::Province));
        assert_eq!(s.admin_codes.as_deref(), Some(Path::new("/data/codes")));
        assert_eq!(s.inside_tolerance_pct, 1.0);
    }

    #[test]
    fn rejects_what_cannot_work_and_names_the_layer() {
        let cases = [
            ("kind = \"red\"", "unknown kind `red`"),
            ("kind = \"custom\"", "needs `weight"),
            ("kind = \"admin_division\"", "needs `level`"),
            ("kind = \"nature_reserve\"\nbuffer_m = -3", "buffer_m = -3"),
            (
                "kind = \"nature_reserve\"\nformat = \"guotu_txt\"",
                "format `guotu_txt` is for",
            ),
            (
                "kind = \"nature_reserve\"\nholder_field = \"h\"",
                "are for mining_right",
            ),
            (
                "kind = \"nature_reserve\"\nbogus = 1",
                "unknown field `bogus`",
            ),
        ];
        for (body, want) in cases {
            let t = format!("[[layer]]\nname = \"z1\"\npath = \"a.gpkg\"\n{body}\n");
            let e = parse(&t).unwrap_err().to_string();
            assert!(e.contains(want), "{body}: {e}");
            assert!(e.contains("layers.toml"), "{e}");
        }
        for kind in ["mining_right", "exploration_right"] {
            let t = format!("[[layer]]\nname = \"lic\"\npath = \"a.gpkg\"\nkind = \"{kind}\"\ndissolve = true\n");
            let e = parse(&t).unwrap_err().to_string();
            assert!(
                e.contains("layer `lic`") && e.contains("dissolve = true"),
                "{e}"
            );
            assert!(e.contains("licence numbers"), "{e}");
        }
        let t = "[[layer]]\nname = \"cty\"\npath = \"a.gpkg\"\nkind = \"admin_division\"\nlevel = \"county\"\ncode_field = \"c\"\ndissolve = true\n";
        let e = parse(t).unwrap_err().to_string();
        assert!(
            e.contains("layer `cty`") && e.contains("division codes"),
            "{e}"
        );
        // `dissolve = false` is what they do anyway; zones without identity may dissolve.
        let t = "[[layer]]\nname = \"lic\"\npath = \"a.gpkg\"\nkind = \"mining_right\"\ndissolve = false\n[[layer]]\nname = \"red\"\npath = \"a.gpkg\"\nkind = \"ecological_red_line\"\ndissolve = true\n";
        assert!(parse(t).is_ok());
        let e = parse("").unwrap_err().to_string();
        assert!(e.contains("no [[layer]]"), "{e}");
        let dup = "[[layer]]\nname='a'\npath='x'\nkind='special_land'\n[[layer]]\nname='a'\npath='y'\nkind='special_land'\n";
        assert!(parse(dup).unwrap_err().to_string().contains("used twice"));
    }
}
