//! Fuzz target `docker_run`: see `mcpm_fuzz::props::docker_run` for the properties.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mcpm_fuzz::props::enforce(mcpm_fuzz::props::docker_run(data));
});
