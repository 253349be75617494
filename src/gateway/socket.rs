//! (placeholder: see mod.rs)
