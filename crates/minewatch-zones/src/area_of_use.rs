//! Whether a layer's coordinates can be in the CRS it declares. The commonest CGCS2000
//! mix-up labels Gauss-Krüger eastings with the zone prefix (37544000) with the CRS
//! without it (EPSG:4546), or the reverse; the layer then lies thousands of kilometres
//! from the patches, no feature is read, and a mining-rights layer makes every patch
//! unlicensed without a word (review revY F2). The corner-coordinate reader refuses the
//! same mistake from the digits of the eastings (`guotu.rs`); an OGR layer is checked
//! from its extent against its CRS's area of use, and the error names the CRS the
//! coordinates fit, by the same digit rules.

use crate::crs::{self, Reprojector};
use crate::guotu::gk_epsg;
use gdal::spatial_ref::SpatialRef;
use std::path::Path;

/// How far outside its CRS's area of use a projected layer may lie (a county across a
/// zone boundary kept in its neighbour's zone is within ~200 km; a wrong zone prefix moves
/// a layer by 1,000 km or more).
pub const MARGIN_M: f64 = 500_000.0;
/// The same for a geographic CRS, in degrees.
pub const MARGIN_DEG: f64 = 5.0;

/// `Err` with what is wrong and the likely right CRS when `extent` (min x, min y, max x,
/// max y, easting or longitude first) of `file` lies wholly outside `srs`'s area of use grown by
/// the margin. A CRS without a known area of use passes.
pub fn check(srs: &SpatialRef, extent: [f64; 4], file: &Path) -> Result<(), String> {
    let Some(valid) = valid_box(srs) else {
        return Ok(());
    };
    let margin = if srs.is_geographic() {
        MARGIN_DEG
    } else {
        MARGIN_M / srs.linear_units()
    };
    let grown = [
        valid[0] - margin,
        valid[1] - margin,
        valid[2] + margin,
        valid[3] + margin,
    ];
    let apart = extent[2] < grown[0]
        || extent[0] > grown[2]
        || extent[3] < grown[1]
        || extent[1] > grown[3];
    if !apart {
        return Ok(());
    }
    let code = epsg_of(srs);
    let declared = describe(code, srs);
    let f = |v: f64| format!("{v:.0}");
    let mut msg = format!(
        "its coordinates (x {}..{}, y {}..{}) lie far outside where its CRS, {declared}, is used \
         (x {}..{}, y {}..{}), so no feature would land where it belongs",
        f(extent[0]),
        f(extent[2]),
        f(extent[1]),
        f(extent[3]),
        f(valid[0]),
        f(valid[2]),
        f(valid[1]),
        f(valid[3]),
    );
    match likely(code, srs.is_geographic(), extent) {
        Some((why, right)) => {
            let right_name = crs::from_epsg(right)
                .ok()
                .and_then(|s| s.name())
                .map(|n| format!(" ({n})"))
                .unwrap_or_default();
            msg.push_str(&format!(
                "; {why}: the CRS is likely EPSG:{right}{right_name}. Give the layer that CRS \
                 (fix its .prj, or `ogr2ogr -a_srs EPSG:{right} fixed.gpkg {}`)",
                file.display()
            ));
        }
        None => msg.push_str(
            "; check the layer's CRS (its .prj or declared EPSG) against its coordinates",
        ),
    }
    Err(msg)
}

/// The area of use of `srs` in its own coordinates (easting or longitude first).
fn valid_box(srs: &SpatialRef) -> Option<[f64; 4]> {
    let area = srs.area_of_use().or_else(|| {
        let code = epsg_of(srs)?;
        crs::from_epsg(code).ok()?.area_of_use()
    })?;
    let lonlat = [
        area.west_lon_degree,
        area.south_lat_degree,
        area.east_lon_degree,
        area.north_lat_degree,
    ];
    // Across the antimeridian: not a CRS of this tool's places; not checked.
    if lonlat[0] > lonlat[2] {
        return None;
    }
    if srs.is_geographic() {
        return Some(lonlat);
    }
    if !srs.is_projected() {
        return None;
    }
    let to = Reprojector::new(&crs::from_epsg(4326).ok()?, srs).ok()?;
    to.bounds(lonlat).ok()
}

/// The EPSG code of `srs`, as declared or as GDAL identifies it.
fn epsg_of(srs: &SpatialRef) -> Option<u32> {
    let from = |s: &SpatialRef| {
        (s.auth_name().as_deref() == Some("EPSG"))
            .then(|| s.auth_code().ok())
            .flatten()
            .and_then(|c| u32::try_from(c).ok())
    };
    from(srs).or_else(|| {
        let mut s = srs.clone();
        s.auto_identify_epsg().ok()?;
        from(&s)
    })
}

fn describe(code: Option<u32>, srs: &SpatialRef) -> String {
    let name = srs.name().unwrap_or_else(|| "unnamed".into());
    match code {
        Some(c) => format!("EPSG:{c} ({name})"),
        None => name,
    }
}

/// A CGCS2000 Gauss-Krüger zone's (width, zone, prefixed) from its EPSG code.
fn gk_zone(code: u32) -> Option<(u8, u32, bool)> {
    [(3u8, 25..=45u32), (6, 13..=23)]
        .into_iter()
        .flat_map(|(w, zones)| zones.map(move |z| (w, z)))
        .flat_map(|(w, z)| [(w, z, true), (w, z, false)])
        .find(|&(w, z, p)| gk_epsg(w, z, p) == Some(code))
}

/// Why the coordinates fit another CRS, and its EPSG code, by the digits of the eastings
/// as the corner-coordinate reader tells them: 8 integer digits carry the zone prefix, 6
/// do not; numbers within ±180 / ±90 are degrees.
fn likely(code: Option<u32>, geographic: bool, e: [f64; 4]) -> Option<(String, u32)> {
    let degrees = e[0] >= -180.0 && e[2] <= 180.0 && e[1] >= -90.0 && e[3] <= 90.0;
    if degrees && !geographic {
        return Some(("the numbers look like longitude and latitude".into(), 4490));
    }
    let cx = (e[0] + e[2]) / 2.0;
    let prefix = (cx / 1e6).floor();
    if (10e6..100e6).contains(&cx) && (100_000.0..=900_000.0).contains(&(cx - prefix * 1e6)) {
        let zone = prefix as u32;
        let right = gk_epsg(3, zone, true).or_else(|| gk_epsg(6, zone, true))?;
        return (Some(right) != code).then(|| {
            (
                format!("the eastings have 8 digits, with the zone prefix {zone}"),
                right,
            )
        });
    }
    if (100_000.0..=900_000.0).contains(&cx) {
        let (w, zone, prefixed) = gk_zone(code?)?;
        if prefixed {
            return Some((
                format!("the eastings have 6 digits, without the zone prefix {zone}"),
                gk_epsg(w, zone, false)?,
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reviewer's layer: 1 km square at easting 544000, northing 4151000 (CM 111E).
    const NO_PREFIX: [f64; 4] = [544_000.0, 4_151_000.0, 545_000.0, 4_152_000.0];
    const PREFIX_37: [f64; 4] = [37_544_000.0, 4_151_000.0, 37_545_000.0, 4_152_000.0];

    fn check_epsg(code: u32, extent: [f64; 4]) -> Result<(), String> {
        check(&crs::from_epsg(code).unwrap(), extent, Path::new("lic.shp"))
    }

    #[test]
    fn coordinates_in_their_crs_pass() {
        assert_eq!(check_epsg(4546, NO_PREFIX), Ok(()));
        assert_eq!(check_epsg(4525, PREFIX_37), Ok(()));
        assert_eq!(check_epsg(4490, [111.4, 37.4, 111.6, 37.6]), Ok(()));
        // A county across the zone boundary, kept in its neighbour zone (~150 km out).
        assert_eq!(
            check_epsg(4546, [180_000.0, 4_151_000.0, 200_000.0, 4_152_000.0]),
            Ok(())
        );
    }

    #[test]
    fn a_zone_prefix_the_crs_does_not_have_names_the_right_one() {
        let e = check_epsg(4546, PREFIX_37).unwrap_err();
        assert!(
            e.contains("EPSG:4546")
                && e.contains("zone prefix 37")
                && e.contains("ogr2ogr -a_srs EPSG:4525 fixed.gpkg lic.shp"),
            "{e}"
        );
        let e = check_epsg(4525, NO_PREFIX).unwrap_err();
        assert!(
            e.contains("EPSG:4525")
                && e.contains("without the zone prefix 37")
                && e.contains("EPSG:4546"),
            "{e}"
        );
        // A prefix of the wrong zone: 1,000 km off.
        let e =
            check_epsg(4525, [38_544_000.0, 4_151_000.0, 38_545_000.0, 4_152_000.0]).unwrap_err();
        assert!(e.contains("EPSG:4526"), "{e}");
    }

    #[test]
    fn degrees_in_a_projected_crs_and_metres_in_a_geographic_one_are_refused() {
        let e = check_epsg(4546, [111.4, 37.4, 111.6, 37.6]).unwrap_err();
        assert!(
            e.contains("longitude and latitude") && e.contains("EPSG:4490"),
            "{e}"
        );
        let e = check_epsg(4490, NO_PREFIX).unwrap_err();
        assert!(e.contains("EPSG:4490"), "{e}");
    }
}
