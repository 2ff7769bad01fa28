//! Patches that no admin division holds: at each level an `admin_division` layer
//! declares, the patches left without a division there, said once per level with how many
//! and the first ids. Their place columns are empty, and everything that groups by
//! division (a county's task list, its package) would file them under no county, so the
//! run says so rather than leave it to be found in the tables.

use crate::spec::LayerSpec;
use crate::zoneset::{some_ids, SHOWN};
use minewatch_core::{AdminLevel, Finding, ZoneKind};

/// One warning per declared level that leaves patches without a division, naming the
/// layers of that level; none when every patch is placed or no layer is an admin layer.
pub fn unplaced_warnings(layers: &[LayerSpec], findings: &[Finding]) -> Vec<String> {
    let mut out = Vec::new();
    for (level, word) in [
        (AdminLevel::Province, "province"),
        (AdminLevel::Prefecture, "prefecture"),
        (AdminLevel::County, "county"),
    ] {
        // A layer without a level is read as counties (as the overlay places it).
        let names: Vec<String> = layers
            .iter()
            .filter(|l| {
                l.kind == ZoneKind::AdminDivision && l.level.unwrap_or(AdminLevel::County) == level
            })
            .map(|l| format!("`{}`", l.name))
            .collect();
        if names.is_empty() {
            continue;
        }
        let missing: Vec<String> = findings
            .iter()
            .filter(|f| {
                let a = &f.admin;
                match level {
                    AdminLevel::Province => a.province_code.is_none(),
                    AdminLevel::Prefecture => a.prefecture_code.is_none(),
                    AdminLevel::County => a.county_code.is_none(),
                }
            })
            .map(|f| f.patch_id.clone())
            .collect();
        if missing.is_empty() {
            continue;
        }
        out.push(format!(
            "{} of {} patch(es) lie outside every {word} of admin layer(s) {}: {}; their {word} code and name are empty — check that the layer covers the patches' area (its extent, its `where`, its CRS)",
            missing.len(),
            findings.len(),
            names.join(", "),
            some_ids(&missing, SHOWN)
        ));
    }
    out
}

/// One warning listing the patches a coarser admin layer puts in a division other than
/// the one their finest division belongs to (placed by the finest, see
/// `Overlay::assess`), the first five with what the coarser layer said; none when every
/// patch's levels agree.
pub fn overruled_warning(findings: &[Finding]) -> Option<String> {
    let odd: Vec<String> = findings
        .iter()
        .filter(|f| !f.admin_overruled.is_empty())
        .map(|f| format!("{} ({})", f.patch_id, f.admin_overruled.join("; ")))
        .collect();
    (!odd.is_empty()).then(|| {
        format!(
            "{} of {} patch(es) lie in another division by a coarser admin layer than their finest division belongs to; each is placed by its finest division and that division's parents (GB/T 2260 code): {} — the layers' borders differ (scales, editions): check those patches' place",
            odd.len(),
            findings.len(),
            some_ids(&odd, SHOWN)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::LayersSpec;
    use minewatch_core::{AdminPlace, LicenceStatus};
    use std::path::Path;

    fn finding(id: &str, county: Option<&str>) -> Finding {
        Finding {
            patch_id: id.into(),
            area_m2: 1.0,
            hits: vec![],
            licence_status: LicenceStatus::OutsideAllRights,
            outside_licence_m2: 1.0,
            licence_granted_in_pair: None,
            licence_validity_checked: None,
            admin_overruled: Vec::new(),
            licences: vec![],
            holders: vec![],
            minerals: vec![],
            in_restoration_project: false,
            in_construction_project: false,
            special_land: false,
            admin: AdminPlace {
                province_code: county.map(|c| format!("{}0000", &c[..2])),
                county_code: county.map(str::to_string),
                ..Default::default()
            },
            river_distance_m: None,
            over_10_mu_illegal: false,
        }
    }

    #[test]
    fn patches_without_a_division_are_counted_per_declared_level() {
        let spec = LayersSpec::from_str(
            "[[layer]]\nname = \"counties\"\npath = \"c.gpkg\"\nkind = \"admin_division\"\nlevel = \"county\"\ncode_field = \"code\"\n\
             [[layer]]\nname = \"red\"\npath = \"r.gpkg\"\nkind = \"ecological_red_line\"\n",
            Path::new("l.toml"),
            Path::new("."),
        )
        .unwrap();
        let mut findings: Vec<Finding> =
            (0..8).map(|k| finding(&format!("r{k}c1"), None)).collect();
        findings.push(finding("in", Some("320115")));
        let w = unplaced_warnings(&spec.layers, &findings);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].starts_with(
                "8 of 9 patch(es) lie outside every county of admin layer(s) `counties`: r0c1, r1c1, r2c1, r3c1, r4c1 and 3 more;"
            ),
            "{}",
            w[0]
        );
        // Every patch placed, or no admin layer: nothing to say.
        assert!(unplaced_warnings(&spec.layers, &findings[8..]).is_empty());
        assert!(unplaced_warnings(&spec.layers[1..], &findings).is_empty());
    }
}
