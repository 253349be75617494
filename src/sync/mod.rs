//! Three-way sync between a profile and its compose file (SPEC §5): change
//! detection against the base the file carries, strategies, field-level merge,
//! and fitting profile entries to compose-side edits.
pub mod fit;
pub mod merge;
pub mod plan;
pub mod state;

pub use plan::{Action, Choice, Direction, PlanInput, ServerPlan, plan, resolve, resolve_fields};
pub use state::Change;
pub mod write;
