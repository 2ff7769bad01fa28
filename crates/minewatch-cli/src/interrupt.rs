//! Ctrl-C, and the SIGTERM a batch engine sends at a task's time limit or on `scancel`:
//! the default action kills the process at once, which leaves the staging folder of the
//! outputs it was writing (hundreds of files for a package) until a later run into the
//! same folder sweeps it. Here the signals are blocked in every thread and one thread
//! waits for them, removes the open staging folders and exits as a partial run.

/// Block SIGINT, SIGTERM and SIGHUP in this thread (and so in every thread spawned after
/// it: call this first) and start the thread that waits for them. `code` is the exit
/// code of an interrupted run.
// The workspace denies unsafe code; these libc calls are the whole of it here.
#[allow(unsafe_code)]
pub fn install(code: i32) {
    // SAFETY: plain libc calls on a zeroed, then initialised, signal set.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::sigaddset(&mut set, s);
        }
        if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            return; // the default actions stay: no worse than before
        }
        set
    };
    let spawned = std::thread::Builder::new()
        .name("mw-signals".into())
        .spawn(move || {
            let mut sig = 0;
            // SAFETY: `set` is initialised above; `sig` is a valid out-pointer.
            if unsafe { libc::sigwait(&set, &mut sig) } != 0 {
                return;
            }
            let name = match sig {
                libc::SIGINT => "SIGINT",
                libc::SIGTERM => "SIGTERM",
                _ => "SIGHUP",
            };
            let removed = minewatch_pipeline::staging::remove_open();
            let what = if removed.is_empty() {
                String::new()
            } else {
                format!(
                    "; removed the unfinished outputs in {}",
                    removed
                        .iter()
                        .map(|d| d.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            eprintln!("minewatch: stopped by {name}{what}; outputs already in place are whole, run again to finish");
            // `_exit`, not `exit`: the workers are still running, and `exit` would run
            // the C libraries' destructors (GDAL's drivers, PROJ's contexts) under them,
            // which crashed the process with a signal instead of the code (seen in CI).
            // SAFETY: ends the process; nothing runs after it.
            unsafe { libc::_exit(code) }
        });
    if spawned.is_err() {
        // No thread to wait for the signals: unblock them so they still stop the process.
        // SAFETY: as above.
        unsafe {
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        }
    }
}
