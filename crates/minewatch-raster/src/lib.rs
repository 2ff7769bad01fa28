//! GDAL raster I/O for minewatch: open dated images, resolve their band profile, check
//! that all dates share one grid, and read windows of the bands a rule needs as f32
//! planes with a validity mask. One GDAL handle per worker thread, because a GDAL
//! dataset must not be used from two threads at once.

pub mod align;
pub mod crs;
pub mod direct;
pub mod error;
pub mod image;
pub mod reader;

pub use crs::LonLat;
pub use error::RasterError;
pub use image::{DateSource, ImageInfo};
pub use reader::{read_window, WindowBands};

/// GDAL settings every minewatch process wants: errors as Rust errors only, a bounded
/// block cache (memory must not grow with the scene), and no timestamps in GeoPackages
/// (outputs must be byte-identical run to run).
pub fn configure_gdal(cache_mb: usize) {
    let _ = gdal::config::set_config_option("GDAL_CACHEMAX", &cache_mb.to_string());
    let _ = gdal::config::set_config_option("OGR_CURRENT_DATE", "2000-01-01T00:00:00.000Z");
    let _ = gdal::config::set_config_option("CPL_LOG", "/dev/null");
    // No directory listing on open (a national tile folder holds thousands of files, an
    // S3 prefix costs a LIST per open), but sidecars are still probed by name: NoData,
    // scale and band names kept in `.aux.xml` (what GDAL writes for a file it cannot
    // edit, and ArcGIS writes) and ENVI's `.hdr` are part of the image. `EMPTY_DIR`
    // skipped them, and a NoData strip in a sidecar became change.
    let _ = gdal::config::set_config_option("GDAL_DISABLE_READDIR_ON_OPEN", "TRUE");
    s3_endpoint_for_gdal(
        |k| std::env::var(k).ok(),
        |k, v| {
            let _ = gdal::config::set_config_option(k, v);
        },
    );
}

/// One set of variables for both S3 clients: minewatch's own (the `object_store` crate)
/// takes `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT`) and `AWS_ALLOW_HTTP`; GDAL 3.6's `/vsis3/`
/// takes `AWS_S3_ENDPOINT` (host and port), `AWS_HTTPS` and `AWS_VIRTUAL_HOSTING`. When
/// the user set the former and not the latter, GDAL is given the same endpoint, path-style
/// as `object_store` asks.
fn s3_endpoint_for_gdal(var: impl Fn(&str) -> Option<String>, mut set: impl FnMut(&str, &str)) {
    if var("AWS_S3_ENDPOINT").is_some() {
        return;
    }
    let Some(url) = var("AWS_ENDPOINT_URL").or_else(|| var("AWS_ENDPOINT")) else {
        return;
    };
    let (https, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (!scheme.eq_ignore_ascii_case("http"), rest),
        None => (true, url.as_str()),
    };
    set("AWS_S3_ENDPOINT", rest.trim_end_matches('/'));
    set("AWS_HTTPS", if https { "YES" } else { "NO" });
    set("AWS_VIRTUAL_HOSTING", "FALSE");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gdal_is_given_the_endpoint_object_store_uses() {
        let set = |vars: &[(&str, &str)]| {
            let mut got = Vec::new();
            s3_endpoint_for_gdal(
                |k| {
                    vars.iter()
                        .find(|(n, _)| *n == k)
                        .map(|(_, v)| v.to_string())
                },
                |k, v| got.push(format!("{k}={v}")),
            );
            got
        };
        assert_eq!(
            set(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:9000/")]),
            [
                "AWS_S3_ENDPOINT=127.0.0.1:9000",
                "AWS_HTTPS=NO",
                "AWS_VIRTUAL_HOSTING=FALSE"
            ]
        );
        assert_eq!(
            set(&[("AWS_ENDPOINT", "https://obs.cn-north-4.example.com")]),
            [
                "AWS_S3_ENDPOINT=obs.cn-north-4.example.com",
                "AWS_HTTPS=YES",
                "AWS_VIRTUAL_HOSTING=FALSE"
            ]
        );
        // GDAL's own variables win; AWS itself needs nothing.
        assert!(set(&[("AWS_S3_ENDPOINT", "h:1"), ("AWS_ENDPOINT_URL", "http://x")]).is_empty());
        assert!(set(&[]).is_empty());
    }
}
