//! Handing freed memory back to the system between stages. The allocator is the binary's
//! choice (mimalloc); it keeps freed pages for reuse, which is what the window loop wants,
//! but a stage that frees a large working set (the automatic method's fit, the sweep)
//! would otherwise carry it into the next stage's peak. The binary registers how to give
//! memory back; the stages say when.

use std::sync::OnceLock;

static RELEASE: OnceLock<fn()> = OnceLock::new();

/// Register the allocator's "return freed memory now" call (once, at start-up).
pub fn set_release_hook(f: fn()) {
    let _ = RELEASE.set(f);
}

/// Return this thread's freed memory to the system, if the binary said how.
pub fn release_freed() {
    if let Some(f) = RELEASE.get() {
        f();
    }
}
