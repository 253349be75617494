//! Entry point: parse the command line, run it, map the outcome to an exit code.
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

// A sync of a large profile builds and drops hundreds of thousands of small
// values (YAML nodes, map entries, strings): mimalloc's per-thread free lists
// make that markedly cheaper than the system allocator (`scripts/bench.sh`).
// Its heaps use transparent huge pages in large runs only (`mcpm::memory`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    mcpm::memory::start_small();
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
    let code = match mcpm::commands::run(cli) {
        Ok(status) => status as u8,
        Err(err) => {
            eprint!("{}", err.render());
            err.status as u8
        }
    };
    exit_now(code)
}

/// Ends the process without the allocator's exit-time cleanup. A statically
/// linked mimalloc frees and purges every page at exit (one `madvise` per
/// page, splitting huge pages): about a hundred system calls after a small
/// sync, work the kernel does anyway when the process ends. Everything mcpm
/// writes is written and closed by now; stdout is flushed here, as a return
/// from `main` would.
fn exit_now(code: u8) -> ExitCode {
    use std::io::Write;
    if std::io::stdout().flush().is_err() {
        // A closed pipe: nothing more can be said; the status still counts.
        return ExitCode::from(code);
    }
    // SAFETY: `_exit` ends the process at once; no Rust code runs after it.
    unsafe { libc::_exit(i32::from(code)) }
}
