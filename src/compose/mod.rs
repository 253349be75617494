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

use std::path::Path;

use crate::error::{Error, Result};
use crate::source::SourceFile;

/// Parses a compose file's text; a syntax error names the file, line and
/// column. The one place that turns YAML errors into located errors.
pub fn parse_yaml(path: &Path, text: &str) -> Result<serde_yaml_ng::Value> {
    serde_yaml_ng::from_str(text).map_err(|err| {
        let location = err
            .location()
            .map(|loc| SourceFile::plain(path, text.to_string()).locate(loc.index()..loc.index()));
        Error::invalid(format!("{} is not valid YAML: {err}", path.display())).at(location)
    })
}
