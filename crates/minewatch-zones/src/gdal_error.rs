//! GDAL's error state on this thread, for reads that fail without saying so in their
//! return value: OGR's next-feature call returns "no more features" both at the end of a
//! layer and when reading failed — a GeoPackage (SQLite) layer compiles its `where`
//! filter only when reading starts, so a bad filter reads as an empty layer, and a
//! damaged file can end a read early. GDAL keeps the last error per thread; the caller
//! resets it before the call and asks after it.

use std::ffi::CStr;

/// Forget earlier errors on this thread.
#[allow(unsafe_code)]
pub fn reset() {
    // SAFETY: no arguments; resets this thread's error context.
    unsafe { gdal_sys::CPLErrorReset() }
}

/// GDAL's message of the last failure (not a warning) on this thread since `reset`.
#[allow(unsafe_code)]
pub fn last_failure() -> Option<String> {
    // SAFETY: no arguments; reads this thread's error context.
    let class = unsafe { gdal_sys::CPLGetLastErrorType() };
    if class < gdal_sys::CPLErr::CE_Failure {
        return None;
    }
    // SAFETY: GDAL returns a NUL-terminated string it owns (empty when there is no
    // message), valid until the next error on this thread; it is copied at once.
    let msg = unsafe {
        let p = gdal_sys::CPLGetLastErrorMsg();
        if p.is_null() {
            String::new()
        } else {
            CStr::from_ptr(p).to_string_lossy().trim().to_string()
        }
    };
    Some(if msg.is_empty() {
        "GDAL reported a failure without a message".into()
    } else {
        msg
    })
}
