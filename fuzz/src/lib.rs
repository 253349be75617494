//! Support for mcpm's fuzz targets: the properties they assert (`props`, also
//! replayed by the root crate's `tests/fuzz_regressions.rs`) and the
//! structured inputs of the `*_gen` targets (`gen`).
pub mod r#gen;
pub mod props;

use r#gen::{SyncCase, apply_compose, apply_profile};
use props::{Files, Outcome, SyncOptions, encode_sync, sync_once};

/// Writes the text form of a structured input to `$MCPM_FUZZ_DUMP`, so a
/// crash of a `*_gen` target can be saved as a regression file that
/// `props::replay` reads.
pub fn dump(bytes: &[u8]) {
    if let Ok(path) = std::env::var("MCPM_FUZZ_DUMP") {
        let _ = std::fs::write(path, bytes);
    }
}

/// The `sync` input a [`SyncCase`] stands for: its profile synced once into
/// a new compose file (that sync records the base), then both sides edited.
/// `None` when the first profile does not sync.
pub fn sync_case_bytes(case: &SyncCase) -> Option<Vec<u8>> {
    let mut table = case.profile.table();
    let first = Files {
        profile: toml::to_string(&table).ok()?,
        compose: None,
        env: String::new(),
    };
    let create = SyncOptions::from_byte(0);
    let Ok(Outcome::Synced { files, .. }) = sync_once(&first, create) else {
        return None;
    };
    let compose = files.compose?;
    for op in case.profile_ops.iter().take(6) {
        apply_profile(&mut table, op);
    }
    let mut document: serde_yaml_ng::Value = serde_yaml_ng::from_str(&compose).ok()?;
    for op in case.compose_ops.iter().take(6) {
        apply_compose(&mut document, op);
    }
    let compose = if case.own_emitter {
        mcpm::compose::yaml::to_yaml(&document)
    } else {
        serde_yaml_ng::to_string(&document).ok()?
    };
    let profile = toml::to_string(&table).ok()?;
    Some(encode_sync(
        SyncOptions::from_byte(case.options),
        &profile,
        Some(&compose),
    ))
}
