//! The compose side: building services from servers, assembling the document,
//! writing it as YAML, and the `.env` file that holds literal secrets.
pub mod base;
mod document;
pub mod dotenv;
pub mod edit;
pub mod fields;
pub mod host;
pub mod interpolation;
pub mod secrets;
pub mod service;
pub mod yaml;

pub use document::{
    RenderOptions, Rendered, ServerReport, ServerStatus, base_entry, render, render_server,
};
