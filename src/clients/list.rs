//! `client list`: per client, which file it reads and which servers it
//! holds, with the entries mcpm wrote marked (and whose).
use serde::Serialize;

use crate::config::ConfigDir;
use crate::error::Result;

use super::entries::{self, Identity, Owner, Via};
use super::{Client, Place, Scope, document, load_context, read_config};
use crate::gateway::state;

/// Options of `client list`.
#[derive(Debug, Clone)]
pub struct ListOptions {
    /// One client, or every client.
    pub client: Option<Client>,
    pub scope: Scope,
    /// Mark this profile's entries (and name its servers that are missing).
    pub profile: Option<String>,
}

/// One entry as `list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ListedEntry {
    pub name: String,
    /// Written by mcpm.
    pub mcpm: bool,
    /// Written by mcpm for the profile given with `--profile`.
    pub this_profile: bool,
    /// How an mcpm entry reaches its server (none for a remote server's entry).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<Via>,
    /// The `--profile` of an mcpm stdio entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

/// One client's file as `list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ClientListing {
    pub client: Client,
    pub scope: Scope,
    pub file: String,
    pub exists: bool,
    pub entries: Vec<ListedEntry>,
    /// With `--profile`: its servers with no entry of this profile here.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
    /// Why the file could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `client list`: per client, which file and which servers it holds.
pub fn list(
    config: &ConfigDir,
    place: &Place,
    options: &ListOptions,
) -> Result<Vec<ClientListing>> {
    let context = match &options.profile {
        Some(profile) => Some(load_context(config, profile)?),
        None => None,
    };
    let identity = match &context {
        Some(context) => context.identity.clone(),
        None => Identity {
            token: state::existing_token(config)?,
            ..Identity::default()
        },
    };
    let clients: Vec<Client> = match options.client {
        Some(client) => vec![client],
        None => Client::ALL.to_vec(),
    };
    let mut out = Vec::new();
    for client in clients {
        let path = match place.config_path(client, options.scope) {
            Ok(path) => path,
            // Listing every client: those without a file for this scope are left out.
            Err(_) if options.client.is_none() => continue,
            Err(err) => return Err(err),
        };
        let mut listing = ClientListing {
            client,
            scope: options.scope,
            file: path.display().to_string(),
            exists: false,
            entries: Vec::new(),
            missing: Vec::new(),
            error: None,
        };
        let read = read_config(&path).and_then(|current| match current {
            Some(current) => document::entries(&path, &current, client.servers_key()).map(Some),
            None => Ok(None),
        });
        // What `add` would write for the profile: its remote servers'
        // entries are the profile's when they are exactly that.
        let due = context
            .as_ref()
            .map(|context| {
                entries::desired(client, Via::Stdio, &context.servers, &context.launch, None)
                    .entries
            })
            .unwrap_or_default();
        match read {
            Ok(None) => {}
            Ok(Some(existing)) => {
                listing.exists = true;
                for (name, entry) in &existing {
                    let remote = due.iter().any(|(key, value)| key == name && value == entry);
                    let owner = match entries::owner(client, name, entry, &identity) {
                        Owner::User if remote => None,
                        owner => Some(owner),
                    };
                    let (via, profile) = match &owner {
                        Some(Owner::This { via }) => (Some(*via), None),
                        Some(Owner::OtherProfile { via, profile }) => (Some(*via), profile.clone()),
                        Some(Owner::User) | None => (None, None),
                    };
                    listing.entries.push(ListedEntry {
                        name: name.clone(),
                        mcpm: owner.as_ref().is_none_or(Owner::is_mcpm),
                        this_profile: matches!(owner, None | Some(Owner::This { .. })),
                        via,
                        profile,
                    });
                }
            }
            Err(err) => {
                listing.exists = path.exists();
                listing.error = Some(err.to_string());
            }
        }
        if context.is_some() {
            listing.missing = due
                .iter()
                .map(|(name, _)| name)
                .filter(|name| {
                    !listing
                        .entries
                        .iter()
                        .any(|e| e.this_profile && &e.name == *name)
                })
                .cloned()
                .collect();
        }
        out.push(listing);
    }
    Ok(out)
}
