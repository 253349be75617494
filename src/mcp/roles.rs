//! Who may call what: the three roles of `mcpm mcp serve` and the role each
//! tool needs. Pure, so the rule is tested without a server.
use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// A caller's role. Each includes the ones before it: `read` < `operate` <
/// `admin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// See status, logs, stats, previews; change nothing.
    Read,
    /// Also start, stop, restart, deploy and pull the servers.
    Operate,
    /// Also rewrite files (`sync`) and remove the project (`down`).
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Read, Role::Operate, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Operate => "operate",
            Role::Admin => "admin",
        }
    }

    /// Whether a caller with this role may do what `needed` allows.
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or_else(|| {
                Error::invalid(format!("unknown role `{text}`"))
                    .hint("roles are read, operate and admin")
            })
    }
}

/// The tools each role adds, in the order `tools/list` gives them.
pub const READ_TOOLS: &[&str] = &[
    "list_servers",
    "logs",
    "stats",
    "sync_check",
    "generate_preview",
    "list_networks",
    "inspect_server",
];
pub const OPERATE_TOOLS: &[&str] = &["start", "stop", "restart", "deploy", "pull"];
pub const ADMIN_TOOLS: &[&str] = &["sync", "down"];

/// Every tool, read ones first.
pub fn all_tools() -> impl Iterator<Item = &'static str> {
    READ_TOOLS
        .iter()
        .chain(OPERATE_TOOLS)
        .chain(ADMIN_TOOLS)
        .copied()
}

/// The role a tool needs; `None` for a tool that does not exist.
pub fn required_role(tool: &str) -> Option<Role> {
    [
        (READ_TOOLS, Role::Read),
        (OPERATE_TOOLS, Role::Operate),
        (ADMIN_TOOLS, Role::Admin),
    ]
    .into_iter()
    .find(|(tools, _)| tools.contains(&tool))
    .map(|(_, role)| role)
}

/// Why a call is refused: the role it needs and the caller's, as the
/// JSON-RPC error's message says it.
pub fn denial(tool: &str, needed: Role, caller: Role) -> String {
    format!(
        "`{tool}` needs the `{needed}` role; this caller has `{caller}` (ask for a token with --role {needed}: mcpm mcp token create --name NAME --role {needed})"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered() {
        assert!(Role::Admin.allows(Role::Operate));
        assert!(Role::Admin.allows(Role::Read));
        assert!(Role::Operate.allows(Role::Read));
        assert!(Role::Operate.allows(Role::Operate));
        assert!(!Role::Operate.allows(Role::Admin));
        assert!(!Role::Read.allows(Role::Operate));
    }

    #[test]
    fn every_tool_has_its_role() {
        assert_eq!(required_role("logs"), Some(Role::Read));
        assert_eq!(required_role("inspect_server"), Some(Role::Read));
        assert_eq!(required_role("restart"), Some(Role::Operate));
        assert_eq!(required_role("deploy"), Some(Role::Operate));
        assert_eq!(required_role("sync"), Some(Role::Admin));
        assert_eq!(required_role("down"), Some(Role::Admin));
        assert_eq!(required_role("rm_rf"), None);
        assert_eq!(required_role(""), None);
        assert_eq!(all_tools().count(), 14);
        assert!(all_tools().all(|tool| required_role(tool).is_some()));
    }

    #[test]
    fn roles_parse_and_print() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        let err = "root".parse::<Role>().unwrap_err();
        assert!(err.message.contains("root"));
        assert!(err.hint.unwrap().contains("read, operate and admin"));
        assert!(denial("restart", Role::Operate, Role::Read).contains("`operate`"));
        assert!(denial("restart", Role::Operate, Role::Read).contains("`read`"));
    }
}
