//! The clients mcpm writes configs for, and where each keeps its MCP servers
//! (see `shared/CLIENTS.md`). Path resolution is a pure function of the
//! client, the scope, the operating system and the user's directories, so the
//! macOS and Windows paths are tested on any machine.
use std::path::{Path, PathBuf};

use serde::Serialize;

/// An MCP client whose config file mcpm can edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Client {
    /// Claude Desktop: `claude_desktop_config.json`, user scope only.
    ClaudeDesktop,
    /// Claude Code: `~/.claude.json`, project `.mcp.json`.
    ClaudeCode,
    /// Cursor: `~/.cursor/mcp.json`, project `.cursor/mcp.json`.
    Cursor,
    /// VS Code: `Code/User/mcp.json`, project `.vscode/mcp.json` (key `servers`).
    Vscode,
    /// Windsurf: `~/.codeium/windsurf/mcp_config.json`, user scope only.
    Windsurf,
}

impl Client {
    /// Every client, in the order `list` shows them.
    pub const ALL: [Client; 5] = [
        Client::ClaudeDesktop,
        Client::ClaudeCode,
        Client::Cursor,
        Client::Vscode,
        Client::Windsurf,
    ];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Client::ClaudeDesktop => "claude-desktop",
            Client::ClaudeCode => "claude-code",
            Client::Cursor => "cursor",
            Client::Vscode => "vscode",
            Client::Windsurf => "windsurf",
        }
    }

    /// The product's own name, for messages.
    pub fn label(self) -> &'static str {
        match self {
            Client::ClaudeDesktop => "Claude Desktop",
            Client::ClaudeCode => "Claude Code",
            Client::Cursor => "Cursor",
            Client::Vscode => "VS Code",
            Client::Windsurf => "Windsurf",
        }
    }

    /// The top-level key holding the server entries.
    pub fn servers_key(self) -> &'static str {
        match self {
            Client::Vscode => "servers",
            _ => "mcpServers",
        }
    }

    /// Whether the config file can hold an HTTP server entry. Claude
    /// Desktop's file only starts stdio commands (remote servers go through
    /// its UI and need HTTPS).
    pub fn takes_http(self) -> bool {
        !matches!(self, Client::ClaudeDesktop)
    }

    /// The key an HTTP entry's URL goes under: Windsurf reads `serverUrl`
    /// (a Cursor-style `url` does not connect there).
    pub fn url_key(self) -> &'static str {
        match self {
            Client::Windsurf => "serverUrl",
            _ => "url",
        }
    }

    /// Whether entries carry a `type` (`stdio`, `http`): VS Code wants it on
    /// both, Claude Code on HTTP entries (without it a `url` entry is not
    /// taken as streamable HTTP).
    pub fn entry_type(self, http: bool) -> Option<&'static str> {
        match (self, http) {
            (Client::Vscode, false) => Some("stdio"),
            (Client::Vscode | Client::ClaudeCode, true) => Some("http"),
            _ => None,
        }
    }
}

/// Which config file of a client: the user's, or a project's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// The user's own config (every project sees these servers).
    #[default]
    User,
    /// The project's config file in the project directory.
    Project,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::User => "user",
            Scope::Project => "project",
        }
    }
}

/// The operating systems whose client paths mcpm knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    Linux,
    MacOs,
    Windows,
}

impl Os {
    /// The system this mcpm runs on (other Unixes use the Linux layout).
    pub fn current() -> Self {
        if cfg!(target_os = "macos") {
            Os::MacOs
        } else if cfg!(windows) {
            Os::Windows
        } else {
            Os::Linux
        }
    }

    fn separator(self) -> char {
        match self {
            Os::Windows => '\\',
            _ => '/',
        }
    }
}

/// The user's directories the client paths hang from. Taken from the
/// process's environment by [`UserDirs::from_env`], or set by tests, so no
/// test ever reads or writes the real home.
#[derive(Debug, Clone, Default)]
pub struct UserDirs {
    /// `HOME` (`%USERPROFILE%` on Windows).
    pub home: PathBuf,
    /// `%APPDATA%` (Windows' roaming app data).
    pub appdata: Option<PathBuf>,
    /// `%LOCALAPPDATA%` (where Microsoft Store apps keep their files).
    pub local_appdata: Option<PathBuf>,
    /// `XDG_CONFIG_HOME` (Linux; ignored unless absolute, as the spec says).
    pub xdg_config_home: Option<PathBuf>,
    /// `CLAUDE_CONFIG_DIR`: where Claude Code keeps `.claude.json` instead of the home.
    pub claude_config_dir: Option<PathBuf>,
}

impl UserDirs {
    /// Reads the directories from `var` (the process's environment in
    /// production). `None` when no home directory is known.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Option<Self> {
        let path = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        let home = if cfg!(windows) {
            path("USERPROFILE").or_else(|| path("HOME"))
        } else {
            path("HOME")
        }
        .or_else(|| directories::BaseDirs::new().map(|dirs| dirs.home_dir().to_path_buf()))?;
        Some(Self {
            home,
            appdata: path("APPDATA"),
            local_appdata: path("LOCALAPPDATA"),
            xdg_config_home: path("XDG_CONFIG_HOME").filter(|dir| dir.is_absolute()),
            claude_config_dir: path("CLAUDE_CONFIG_DIR"),
        })
    }
}

/// The package directory of Claude Desktop's Microsoft Store build, under
/// `%LOCALAPPDATA%\Packages`: when it exists, that build is installed and
/// reads its config from inside it.
pub const CLAUDE_STORE_PACKAGE: &str = "Claude_pzs8sxrjxfjjc";

/// Why a client has no config file for a scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoConfigFile {
    pub client: Client,
    pub scope: Scope,
}

impl std::fmt::Display for NoConfigFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} has no {} config file",
            self.client.label(),
            self.scope.as_str()
        )
    }
}

/// The config file of `client` for `scope` on `os`. `project_dir` is where a
/// project-scope file lives; `exists` tells whether a directory exists (only
/// asked for the Microsoft Store package of Claude Desktop on Windows).
pub fn config_path(
    client: Client,
    scope: Scope,
    os: Os,
    dirs: &UserDirs,
    project_dir: &Path,
    exists: &dyn Fn(&Path) -> bool,
) -> Result<PathBuf, NoConfigFile> {
    let join = |base: &Path, parts: &[&str]| join(os, base, parts);
    let none = || NoConfigFile { client, scope };
    if scope == Scope::Project {
        return match client {
            Client::ClaudeCode => Ok(join(project_dir, &[".mcp.json"])),
            Client::Cursor => Ok(join(project_dir, &[".cursor", "mcp.json"])),
            Client::Vscode => Ok(join(project_dir, &[".vscode", "mcp.json"])),
            Client::ClaudeDesktop | Client::Windsurf => Err(none()),
        };
    }
    let home = dirs.home.as_path();
    Ok(match client {
        Client::ClaudeDesktop => {
            if os == Os::Windows
                && let Some(local) = &dirs.local_appdata
            {
                let package = join(local, &["Packages", CLAUDE_STORE_PACKAGE]);
                if exists(&package) {
                    return Ok(join(
                        &package,
                        &[
                            "LocalCache",
                            "Roaming",
                            "Claude",
                            "claude_desktop_config.json",
                        ],
                    ));
                }
            }
            join(
                &app_config_dir(os, dirs),
                &["Claude", "claude_desktop_config.json"],
            )
        }
        Client::ClaudeCode => match &dirs.claude_config_dir {
            Some(dir) => join(dir, &[".claude.json"]),
            None => join(home, &[".claude.json"]),
        },
        Client::Cursor => join(home, &[".cursor", "mcp.json"]),
        Client::Vscode => join(&app_config_dir(os, dirs), &["Code", "User", "mcp.json"]),
        Client::Windsurf => join(home, &[".codeium", "windsurf", "mcp_config.json"]),
    })
}

/// Where desktop applications keep their settings: `~/Library/Application
/// Support`, `%APPDATA%`, or `$XDG_CONFIG_HOME` (`~/.config`).
fn app_config_dir(os: Os, dirs: &UserDirs) -> PathBuf {
    match os {
        Os::MacOs => join(os, &dirs.home, &["Library", "Application Support"]),
        Os::Windows => dirs
            .appdata
            .clone()
            .unwrap_or_else(|| join(os, &dirs.home, &["AppData", "Roaming"])),
        Os::Linux => dirs
            .xdg_config_home
            .clone()
            .unwrap_or_else(|| join(os, &dirs.home, &[".config"])),
    }
}

/// `base` and `parts` joined with `os`'s separator (a Windows path built on
/// Linux in a test reads as it would on Windows).
fn join(os: Os, base: &Path, parts: &[&str]) -> PathBuf {
    let mut text = base.to_string_lossy().into_owned();
    for part in parts {
        if !text.ends_with(['/', '\\']) {
            text.push(os.separator());
        }
        text.push_str(part);
    }
    PathBuf::from(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unix_dirs() -> UserDirs {
        UserDirs {
            home: "/home/ada".into(),
            ..UserDirs::default()
        }
    }

    fn windows_dirs() -> UserDirs {
        UserDirs {
            home: r"C:\Users\ada".into(),
            appdata: Some(r"C:\Users\ada\AppData\Roaming".into()),
            local_appdata: Some(r"C:\Users\ada\AppData\Local".into()),
            ..UserDirs::default()
        }
    }

    fn user(client: Client, os: Os, dirs: &UserDirs) -> String {
        path(client, Scope::User, os, dirs, &|_| false)
    }

    fn path(
        client: Client,
        scope: Scope,
        os: Os,
        dirs: &UserDirs,
        exists: &dyn Fn(&Path) -> bool,
    ) -> String {
        let project = match os {
            Os::Windows => Path::new(r"D:\src\app"),
            _ => Path::new("/src/app"),
        };
        config_path(client, scope, os, dirs, project, exists)
            .unwrap()
            .display()
            .to_string()
    }

    #[test]
    fn user_paths_on_linux() {
        let dirs = unix_dirs();
        let cases = [
            (
                Client::ClaudeDesktop,
                "/home/ada/.config/Claude/claude_desktop_config.json",
            ),
            (Client::ClaudeCode, "/home/ada/.claude.json"),
            (Client::Cursor, "/home/ada/.cursor/mcp.json"),
            (Client::Vscode, "/home/ada/.config/Code/User/mcp.json"),
            (
                Client::Windsurf,
                "/home/ada/.codeium/windsurf/mcp_config.json",
            ),
        ];
        for (client, expected) in cases {
            assert_eq!(user(client, Os::Linux, &dirs), expected, "{client:?}");
        }
    }

    #[test]
    fn linux_follows_xdg_config_home_and_claude_config_dir() {
        let dirs = UserDirs {
            xdg_config_home: Some("/xdg".into()),
            claude_config_dir: Some("/cc".into()),
            ..unix_dirs()
        };
        assert_eq!(
            user(Client::ClaudeDesktop, Os::Linux, &dirs),
            "/xdg/Claude/claude_desktop_config.json"
        );
        assert_eq!(
            user(Client::Vscode, Os::Linux, &dirs),
            "/xdg/Code/User/mcp.json"
        );
        assert_eq!(
            user(Client::ClaudeCode, Os::Linux, &dirs),
            "/cc/.claude.json"
        );
        // Home-relative clients do not move with XDG.
        assert_eq!(
            user(Client::Cursor, Os::Linux, &dirs),
            "/home/ada/.cursor/mcp.json"
        );
    }

    #[test]
    fn user_paths_on_macos() {
        let dirs = UserDirs {
            // XDG is a Linux convention: macOS apps ignore it.
            xdg_config_home: Some("/xdg".into()),
            home: "/Users/ada".into(),
            ..UserDirs::default()
        };
        let cases = [
            (
                Client::ClaudeDesktop,
                "/Users/ada/Library/Application Support/Claude/claude_desktop_config.json",
            ),
            (Client::ClaudeCode, "/Users/ada/.claude.json"),
            (Client::Cursor, "/Users/ada/.cursor/mcp.json"),
            (
                Client::Vscode,
                "/Users/ada/Library/Application Support/Code/User/mcp.json",
            ),
            (
                Client::Windsurf,
                "/Users/ada/.codeium/windsurf/mcp_config.json",
            ),
        ];
        for (client, expected) in cases {
            assert_eq!(user(client, Os::MacOs, &dirs), expected, "{client:?}");
        }
    }

    #[test]
    fn user_paths_on_windows() {
        let dirs = windows_dirs();
        let cases = [
            (
                Client::ClaudeDesktop,
                r"C:\Users\ada\AppData\Roaming\Claude\claude_desktop_config.json",
            ),
            (Client::ClaudeCode, r"C:\Users\ada\.claude.json"),
            (Client::Cursor, r"C:\Users\ada\.cursor\mcp.json"),
            (
                Client::Vscode,
                r"C:\Users\ada\AppData\Roaming\Code\User\mcp.json",
            ),
            (
                Client::Windsurf,
                r"C:\Users\ada\.codeium\windsurf\mcp_config.json",
            ),
        ];
        for (client, expected) in cases {
            assert_eq!(user(client, Os::Windows, &dirs), expected, "{client:?}");
        }
        // Without %APPDATA% the roaming folder under the profile is used.
        let bare = UserDirs {
            appdata: None,
            ..windows_dirs()
        };
        assert_eq!(
            user(Client::Vscode, Os::Windows, &bare),
            r"C:\Users\ada\AppData\Roaming\Code\User\mcp.json"
        );
    }

    #[test]
    fn claude_desktop_from_the_microsoft_store_on_windows() {
        let dirs = windows_dirs();
        let package = r"C:\Users\ada\AppData\Local\Packages\Claude_pzs8sxrjxfjjc";
        let exists = |p: &Path| p == Path::new(package);
        assert_eq!(
            path(
                Client::ClaudeDesktop,
                Scope::User,
                Os::Windows,
                &dirs,
                &exists
            ),
            format!(r"{package}\LocalCache\Roaming\Claude\claude_desktop_config.json")
        );
        // The package dir is only a Windows thing.
        assert_eq!(
            path(
                Client::ClaudeDesktop,
                Scope::User,
                Os::Linux,
                &unix_dirs(),
                &|_| true
            ),
            "/home/ada/.config/Claude/claude_desktop_config.json"
        );
    }

    #[test]
    fn project_paths_on_every_os() {
        for (os, dirs, cases) in [
            (
                Os::Linux,
                unix_dirs(),
                [
                    "/src/app/.mcp.json",
                    "/src/app/.cursor/mcp.json",
                    "/src/app/.vscode/mcp.json",
                ],
            ),
            (
                Os::MacOs,
                unix_dirs(),
                [
                    "/src/app/.mcp.json",
                    "/src/app/.cursor/mcp.json",
                    "/src/app/.vscode/mcp.json",
                ],
            ),
            (
                Os::Windows,
                windows_dirs(),
                [
                    r"D:\src\app\.mcp.json",
                    r"D:\src\app\.cursor\mcp.json",
                    r"D:\src\app\.vscode\mcp.json",
                ],
            ),
        ] {
            let clients = [Client::ClaudeCode, Client::Cursor, Client::Vscode];
            for (client, expected) in clients.into_iter().zip(cases) {
                assert_eq!(
                    path(client, Scope::Project, os, &dirs, &|_| false),
                    expected,
                    "{client:?} on {os:?}"
                );
            }
            for client in [Client::ClaudeDesktop, Client::Windsurf] {
                let err = config_path(client, Scope::Project, os, &dirs, Path::new("/p"), &|_| {
                    false
                })
                .unwrap_err();
                assert_eq!(err.client, client);
            }
        }
    }

    #[test]
    fn directories_come_from_the_environment() {
        let env = |name: &str| match name {
            "HOME" => Some("/h".to_string()),
            "XDG_CONFIG_HOME" => Some("relative/xdg".to_string()),
            "CLAUDE_CONFIG_DIR" => Some("/cc".to_string()),
            "APPDATA" => Some(String::new()),
            _ => None,
        };
        let dirs = UserDirs::from_env(env).unwrap();
        assert_eq!(dirs.home, PathBuf::from("/h"));
        // A relative XDG_CONFIG_HOME is invalid and ignored; empty is unset.
        assert_eq!(dirs.xdg_config_home, None);
        assert_eq!(dirs.appdata, None);
        assert_eq!(dirs.claude_config_dir, Some(PathBuf::from("/cc")));
    }
}
