//! The limit on open files: raised at start from the soft to the hard
//! limit, as other clients do (the soft default, often 1024, is a relic
//! of `select(2)`, which monsoon does not use), so many peers and files fit.
//!
//! std has no `getrlimit`/`setrlimit`, hence the two `unsafe` calls below.

/// Raises the soft `RLIMIT_NOFILE` to the hard limit, and returns the soft
/// limit now in force (`None` if it cannot be read). Failing to raise it is
/// not an error: the old limit stays, and is what is returned.
pub(crate) fn raise() -> Option<u64> {
    let mut lim = get()?;
    if lim.rlim_cur < lim.rlim_max {
        let wanted = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: `wanted` is a valid `struct rlimit` borrowed for the call;
        // setrlimit only reads it.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) } == 0 {
            lim = wanted;
        }
    }
    // `rlim_t` is 64 bits on every Unix we build for; RLIM_INFINITY (all
    // ones) reads as u64::MAX, no limit.
    #[allow(clippy::useless_conversion)]
    Some(u64::try_from(lim.rlim_cur).unwrap_or(u64::MAX))
}

fn get() -> Option<libc::rlimit> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable `struct rlimit` on this stack
    // frame; getrlimit writes exactly one.
    (unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0).then_some(lim)
}
