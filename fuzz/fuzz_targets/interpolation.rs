//! Fuzz target `interpolation`: see `mcpm_fuzz::props::interpolation` for the properties.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mcpm_fuzz::props::enforce(mcpm_fuzz::props::interpolation(data));
});
