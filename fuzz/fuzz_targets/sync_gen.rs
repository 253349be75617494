//! Fuzz target `sync_gen`: (profile, compose, base) triples from a profile
//! synced once and both sides edited since; a sync that writes, then a second
//! sync over its outputs, writes nothing (`mcpm_fuzz::props::sync`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcpm_fuzz::r#gen::SyncCase;

fuzz_target!(|case: SyncCase| {
    let Some(bytes) = mcpm_fuzz::sync_case_bytes(&case) else {
        return;
    };
    mcpm_fuzz::dump(&bytes);
    mcpm_fuzz::props::enforce(mcpm_fuzz::props::sync(&bytes));
});
