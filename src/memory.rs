//! Transparent huge pages, chosen by how much input a run reads.
//!
//! mimalloc asks for huge pages for its heaps. The kernel zeroes 2 MB at the
//! first touch of each one: for a sync of a few servers that zeroing is a
//! quarter of the run, while a sync of a thousand servers saves ten thousand
//! 4 KB page faults with them (both measured with `scripts/bench.sh`). So the
//! binary starts with huge pages off ([`start_small`], first thing in `main`)
//! and turns them back on once it is about to read enough input to be a large
//! run ([`read_input`], which profiles and compose files are read with).
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Input read from here on makes a run large: a 1000-server compose file is
/// about 900 KB, a 100-server one 90 KB.
const LARGE_INPUT: usize = 128 * 1024;

/// Input bytes read so far.
static READ: AtomicUsize = AtomicUsize::new(0);
/// Whether [`start_small`] turned huge pages off (and so may turn them on).
static TURNED_OFF: AtomicBool = AtomicBool::new(false);

/// Turns huge pages off for this process until a large input shows up. Not
/// earlier than `main`: mimalloc advises its arena for huge pages when it
/// sets itself up, and an arena mapped while they are off is never advised,
/// so a large run would get none (a thousand more page faults at 1000
/// servers). Left alone when something else turned them off already (a
/// parent process, or `MIMALLOC_ALLOW_THP=0`): that choice is not undone.
pub fn start_small() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: prctl with these options reads or sets a per-process flag
        // and touches no memory of ours.
        let already_off = unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) } != 0;
        if !already_off && unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) } == 0 {
            TURNED_OFF.store(true, Ordering::Relaxed);
        }
    }
}

/// Reads a whole input file (a profile, a compose file), counting its size
/// first: a large file turns huge pages on before its buffer is touched, so
/// the regions it and the trees parsed from it land in are backed by them.
pub fn read_input(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    if let Ok(meta) = std::fs::metadata(path) {
        note_input(usize::try_from(meta.len()).unwrap_or(usize::MAX));
    }
    std::fs::read(path)
}

/// Counts `bytes` of input; the read that makes the run large turns huge
/// pages back on, for the allocations still to come.
pub fn note_input(bytes: usize) {
    let before = READ.fetch_add(bytes, Ordering::Relaxed);
    if before < LARGE_INPUT
        && before.saturating_add(bytes) >= LARGE_INPUT
        && TURNED_OFF.swap(false, Ordering::Relaxed)
    {
        #[cfg(target_os = "linux")]
        // SAFETY: as in `start_small`.
        unsafe {
            libc::prctl(libc::PR_SET_THP_DISABLE, 0, 0, 0, 0);
        }
    }
}
