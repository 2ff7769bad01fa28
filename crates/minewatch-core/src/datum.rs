//! China's older geodetic datums. Xian 1980 and Beijing 1954 (and New Beijing) differ
//! from CGCS2000 / WGS 84 by up to ~100 m on the ground. PROJ (checked with `projinfo`,
//! PROJ of Debian 12) offers only a "ballpark" from any of them to CGCS2000 and from Xian
//! 1980 and New Beijing to WGS 84, which ignores the datum shift; Beijing 1954 → WGS 84 has
//! published transformations only over a few regions (1–15 m). GDAL converts without a
//! word either way. Every position minewatch derives from such a file
//! (lon/lat outputs, the CGCS2000 centroid, the overlap with CGCS2000 layers) then
//! carries the whole offset, so the user must be told.

/// The legacy datum a CRS (as WKT) is on, if any: `Xian 1980`, `Beijing 1954` or
/// `New Beijing`.
pub fn legacy_datum(wkt: &str) -> Option<&'static str> {
    let w = wkt.to_ascii_lowercase().replace([' ', '-'], "_");
    // Every DATUM's name, ESRI's `D_` prefix (a Shapefile's .prj) taken off.
    w.split("datum[\"").skip(1).find_map(|rest| {
        let name = rest.strip_prefix("d_").unwrap_or(rest);
        [
            ("xian_1980", "Xian 1980"),
            ("new_beijing", "New Beijing"),
            ("beijing_1954", "Beijing 1954"),
        ]
        .into_iter()
        .find(|(key, _)| name.starts_with(key))
        .map(|(_, label)| label)
    })
}

/// The warning for a file on a legacy datum: what, which file, how far off, what to do.
pub fn legacy_datum_warning(what: &str, crs_name: &str, datum: &str) -> String {
    format!(
        "{what} is on the {datum} datum ({crs_name}): PROJ converts it to CGCS2000 (and, outside a few regions, to WGS 84) with a ballpark that ignores the datum shift, so its positions (lon/lat outputs, centroids, overlaps with CGCS2000 layers) may be off by up to ~100 m; reproject it to CGCS2000 (e.g. EPSG:4490 or a CGCS2000 Gauss-Krüger zone, EPSG:4513–4554) with your office's published 7-parameter or grid transformation first"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_old_datums_are_recognised_and_cgcs2000_is_not() {
        let xian = r#"PROJCS["Xian 1980 / 3-degree Gauss-Kruger CM 120E",GEOGCS["Xian 1980",DATUM["Xian_1980",SPHEROID["IAG 1975",6378140,298.257]]]]"#;
        let bj = r#"GEOGCRS["Beijing 1954",DATUM["Beijing 1954",ELLIPSOID["Krassowsky 1940",6378245,298.3]]]"#;
        let nbj = r#"GEOGCS["New Beijing",DATUM["New_Beijing",SPHEROID["Krassowsky 1940",6378245,298.3]]]"#;
        let cgcs = r#"GEOGCS["China Geodetic Coordinate System 2000",DATUM["China_2000",SPHEROID["CGCS2000",6378137,298.257222101]]]"#;
        let wgs = r#"GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]]]"#;
        assert_eq!(legacy_datum(xian), Some("Xian 1980"));
        assert_eq!(legacy_datum(bj), Some("Beijing 1954"));
        assert_eq!(legacy_datum(nbj), Some("New Beijing"));
        let esri = r#"PROJCS["Xian_1980_3_Degree_GK_CM_111E",GEOGCS["GCS_Xian_1980",DATUM["D_Xian_1980",SPHEROID["Xian_1980",6378140.0,298.257]]]]"#;
        assert_eq!(legacy_datum(esri), Some("Xian 1980"));
        assert_eq!(legacy_datum(cgcs), None);
        assert_eq!(legacy_datum(wgs), None);
    }
}
