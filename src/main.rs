//! Entry point: parse the command line, run it, map the outcome to an exit code.
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

// A sync of a large profile builds and drops hundreds of thousands of small
// values (YAML nodes, map entries, strings): mimalloc's per-thread free lists
// make that markedly cheaper than the system allocator (`scripts/bench.sh`).
// Without transparent huge pages (`no_thp`, and `disable_huge_pages` below):
// a run touches a few MB, and the kernel zeroing whole 2 MB pages for it cost
// a sync of 20 servers about a third of its CPU time and added 16 MB of RSS.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    disable_huge_pages();
    // A bug must still read as one line a user can report, never a backtrace.
    std::panic::set_hook(Box::new(|info| {
        eprintln!(
            "error: internal error in mcpm: {info}\nhint: this is a bug; please report it with the command you ran"
        );
    }));
    // `COMPLETE=bash mcpm …`: the shell asks for candidates (dynamic
    // completion of profile, server and service names); answered, then exit.
    clap_complete::CompleteEnv::with_factory(mcpm::cli::Cli::command).complete();
    let cli = mcpm::cli::Cli::parse();
    match mcpm::commands::run(cli) {
        Ok(status) => ExitCode::from(status as u8),
        Err(err) => {
            eprint!("{}", err.render());
            ExitCode::from(err.status as u8)
        }
    }
}

/// Opts this process out of transparent huge pages where the system enables
/// them for every mapping (`always`); `no_thp` covers the `madvise` setting.
fn disable_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and only sets a flag on
    // this process's memory map; a failure (an old kernel) changes nothing.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}
