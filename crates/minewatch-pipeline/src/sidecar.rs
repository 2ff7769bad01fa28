//! Sidecar files: what GDAL reads beside an image when it opens it (NoData, scale and band
//! names in `.aux.xml`, an ENVI header, a `.msk` validity mask). Editing, adding or removing one changes the
//! pixels minewatch sees, so a sidecar is an input wherever an image is: in a run's
//! fingerprint and in a plan's identity of its inputs.

use std::path::{Path, PathBuf};

/// The sidecars of `image` that exist, in a fixed order.
pub fn sidecars(image: &Path) -> Vec<PathBuf> {
    let mut aux = image.as_os_str().to_owned();
    aux.push(".aux.xml");
    let mut hdr = image.as_os_str().to_owned();
    hdr.push(".hdr");
    let mut msk = image.as_os_str().to_owned();
    msk.push(".msk");
    [
        PathBuf::from(aux),
        image.with_extension("hdr"),
        PathBuf::from(hdr),
        PathBuf::from(msk),
    ]
    .into_iter()
    .filter(|p| p != image && p.is_file())
    .collect()
}
