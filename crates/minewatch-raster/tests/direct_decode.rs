//! The direct tile decoder gives exactly GDAL's values, for every layout it accepts:
//! DEFLATE with and without predictor, uncompressed, Byte and UInt16, tiled and
//! stripped, windows aligned and not aligned to blocks.

use gdal::raster::{Buffer, RasterCreationOptions};
use gdal::DriverManager;
use minewatch_core::{BandRole, SensorProfile, Window};
use minewatch_raster::ImageInfo;
use std::path::Path;

fn write(path: &Path, w: usize, h: usize, opts: &[&str], byte: bool) {
    write_bands(path, w, h, opts, byte, 5)
}

fn write_bands(path: &Path, w: usize, h: usize, opts: &[&str], byte: bool, bands: usize) {
    let drv = DriverManager::get_driver_by_name("GTiff").unwrap();
    let o = RasterCreationOptions::from_iter(opts.iter().copied().chain(["INTERLEAVE=PIXEL"]));
    let mut seed = 12345u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let srs = gdal::spatial_ref::SpatialRef::from_epsg(32650).unwrap();
    if byte {
        let mut ds = drv
            .create_with_band_type_with_options::<u8, _>(path, w, h, bands, &o)
            .unwrap();
        ds.set_geo_transform(&[0.0, 1.0, 0.0, 0.0, 0.0, -1.0])
            .unwrap();
        ds.set_spatial_ref(&srs).unwrap();
        for b in 1..=bands {
            let data: Vec<u8> = (0..w * h).map(|_| (next() % 256) as u8).collect();
            ds.rasterband(b)
                .unwrap()
                .write((0, 0), (w, h), &mut Buffer::new((w, h), data))
                .unwrap();
        }
    } else {
        let mut ds = drv
            .create_with_band_type_with_options::<u16, _>(path, w, h, bands, &o)
            .unwrap();
        ds.set_geo_transform(&[0.0, 1.0, 0.0, 0.0, 0.0, -1.0])
            .unwrap();
        ds.set_spatial_ref(&srs).unwrap();
        for b in 1..=bands {
            let data: Vec<u16> = (0..w * h).map(|_| (next() % 65536) as u16).collect();
            ds.rasterband(b)
                .unwrap()
                .write((0, 0), (w, h), &mut Buffer::new((w, h), data))
                .unwrap();
        }
    }
}

fn compare(path: &Path, windows: &[Window]) {
    let info = ImageInfo::inspect(path, minewatch_core::AcqDate::new(2020, 1, 1)).unwrap();
    assert!(
        info.direct.is_some(),
        "{} should take the direct path ({})",
        path.display(),
        info.decode
    );
    let mut gdal_info = info.clone();
    gdal_info.direct = None;
    let profile = SensorProfile::builtin("bgrns").unwrap();
    let roles = [BandRole::Blue, BandRole::Red, BandRole::Swir1];
    for w in windows {
        let mut v1 = vec![1u8; w.len()];
        let mut v2 = vec![1u8; w.len()];
        let a = minewatch_raster::read_window(&info, &profile, &roles, w, &mut v1).unwrap();
        let b = minewatch_raster::read_window(&gdal_info, &profile, &roles, w, &mut v2).unwrap();
        for r in roles {
            assert!(
                a.get(r).unwrap() == b.get(r).unwrap(),
                "{} band {r} window {}",
                path.display(),
                w.name()
            );
        }
    }
}

#[test]
fn direct_decode_equals_gdal() {
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (300, 170);
    let windows = [
        Window {
            col: 0,
            row: 0,
            width: 300,
            height: 170,
        },
        Window {
            col: 37,
            row: 61,
            width: 101,
            height: 77,
        },
        Window {
            col: 256,
            row: 128,
            width: 44,
            height: 42,
        },
    ];
    let cases: [(&str, &[&str], bool); 6] = [
        (
            "deflate_pred2_u16.tif",
            &[
                "TILED=YES",
                "BLOCKXSIZE=128",
                "BLOCKYSIZE=64",
                "COMPRESS=DEFLATE",
                "PREDICTOR=2",
            ],
            false,
        ),
        ("deflate_u16.tif", &["TILED=YES", "COMPRESS=DEFLATE"], false),
        (
            "raw_u16.tif",
            &["TILED=YES", "BLOCKXSIZE=64", "BLOCKYSIZE=64"],
            false,
        ),
        (
            "deflate_pred2_u8.tif",
            &[
                "TILED=YES",
                "BLOCKXSIZE=64",
                "BLOCKYSIZE=64",
                "COMPRESS=DEFLATE",
                "PREDICTOR=2",
            ],
            true,
        ),
        (
            "strips_deflate_pred2_u16.tif",
            &["BLOCKYSIZE=16", "COMPRESS=DEFLATE", "PREDICTOR=2"],
            false,
        ),
        ("strips_raw_u8.tif", &[], true),
    ];
    for (name, opts, byte) in cases {
        let p = dir.path().join(name);
        write(&p, w, h, opts, byte);
        compare(&p, &windows);
    }
}

/// Pixels are decoded with one code path per band count up to 13 (Sentinel-2 stacks) and a
/// general one beyond: both must give GDAL's values, with and without the predictor.
#[test]
fn every_band_count_decodes_like_gdal() {
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (150, 90);
    let windows = [
        Window {
            col: 0,
            row: 0,
            width: 150,
            height: 90,
        },
        Window {
            col: 67,
            row: 33,
            width: 70,
            height: 41,
        },
    ];
    let tiled = [
        "TILED=YES",
        "BLOCKXSIZE=64",
        "BLOCKYSIZE=32",
        "COMPRESS=DEFLATE",
    ];
    for bands in [5, 6, 13, 14, 17] {
        for (pred, byte) in [(true, false), (false, false), (true, true)] {
            let mut opts = tiled.to_vec();
            if pred {
                opts.push("PREDICTOR=2");
            }
            let p = dir.path().join(format!("b{bands}_{pred}_{byte}.tif"));
            write_bands(&p, w, h, &opts, byte, bands);
            compare(&p, &windows);
        }
    }
}

/// Windows grown by a halo, visited a row at a time from the top as a run does: their
/// edge rows come from the streamed first rows of the block below and from the kept last
/// rows of the block above. Every value must still be GDAL's.
#[test]
fn halo_windows_read_edge_rows_exactly() {
    // Without the per-thread block cache (which would hold every block of a small file),
    // so the edge paths are taken.
    minewatch_raster::direct::set_block_cache_bytes(0);
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (300, 170);
    for (name, opts) in [
        (
            "halo_tiles.tif",
            &[
                "TILED=YES",
                "BLOCKXSIZE=64",
                "BLOCKYSIZE=32",
                "COMPRESS=DEFLATE",
                "PREDICTOR=2",
            ][..],
        ),
        (
            "halo_strips.tif",
            &["BLOCKYSIZE=16", "COMPRESS=DEFLATE"][..],
        ),
    ] {
        let p = dir.path().join(name);
        write(&p, w, h, opts, false);
        for (side, halo) in [(64usize, 3usize), (32, 1), (48, 8), (40, 9)] {
            let mut windows = Vec::new();
            for r in (0..h).step_by(side) {
                for c in (0..w).step_by(side) {
                    let (c0, r0) = (c.saturating_sub(halo), r.saturating_sub(halo));
                    let (c1, r1) = ((c + side + halo).min(w), (r + side + halo).min(h));
                    windows.push(Window {
                        col: c0,
                        row: r0,
                        width: c1 - c0,
                        height: r1 - r0,
                    });
                }
            }
            compare(&p, &windows);
        }
    }
}

#[test]
fn other_layouts_fall_back_to_gdal() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("lzw.tif");
    write(&p, 64, 64, &["COMPRESS=LZW"], false);
    let info = ImageInfo::inspect(&p, minewatch_core::AcqDate::new(2020, 1, 1)).unwrap();
    assert!(info.direct.is_none());
    assert_eq!(info.decode, "gdal");
}

#[test]
fn full_width_tiles_with_a_padded_last_row_decode() {
    // Tile width = image width: GDAL reports the same block shape as a strip, but the last
    // tile row is stored padded to the full tile height.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("fullwidth.tif");
    write(
        &p,
        256,
        300,
        &[
            "TILED=YES",
            "BLOCKXSIZE=256",
            "BLOCKYSIZE=128",
            "COMPRESS=DEFLATE",
            "PREDICTOR=2",
        ],
        false,
    );
    compare(
        &p,
        &[
            Window {
                col: 0,
                row: 0,
                width: 256,
                height: 300,
            },
            Window {
                col: 10,
                row: 250,
                width: 200,
                height: 50,
            },
        ],
    );
}
