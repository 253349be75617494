//! Fuzz target `profile_gen`: profiles built from a vocabulary of keys and
//! hostile values, checked as `mcpm_fuzz::props::profile` checks any text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcpm_fuzz::r#gen::GenProfile;

fuzz_target!(|profile: GenProfile| {
    let text = profile.text();
    mcpm_fuzz::dump(text.as_bytes());
    mcpm_fuzz::props::enforce(mcpm_fuzz::props::profile_text_checks(&text));
});
