//! Servers that run a script found only on the host (`node /p/server.js`,
//! `python3 -u /p/server.py`, `uv run --directory /p server.py`,
//! `deno run -A /p/main.ts`): packaged as a service of the runtime's image with
//! the script's directory bind-mounted read-only at the same absolute path, so
//! the command line runs unchanged inside the container.
//!
//! Whether that can work is decided here, from the host's filesystem at
//! generate time: the directory must exist, and the path must be one a
//! container can see the same way (absolute, POSIX, literal).
use std::path::{Component, Path};

use super::invocation::{Invocation, UvRun};
use crate::profile::ServerSpec;

/// What a host-script service needs beyond its image and command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostScript {
    /// Host directories, each bind-mounted read-only at the same path.
    pub mounts: Vec<String>,
    /// The container's working directory: the original's `uv --directory`.
    pub working_dir: Option<String>,
    /// Environment that keeps the runtime's writes (caches, virtual
    /// environments) on the `/tmp` tmpfs, since the root filesystem and the
    /// mounted directory are read-only.
    pub environment: Vec<(String, String)>,
}

/// A host script that can run in its runtime's image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The catalog runtime whose image runs it: `node`, `python`, `uv`, `deno`.
    pub runtime: &'static str,
    /// The container command: the original arguments after the runtime's own program.
    pub command: Vec<String>,
    pub host: HostScript,
    /// The invocation as `--explain` shows it: `node /home/dev/tools/server.js`.
    pub shown: String,
    pub notes: Vec<String>,
}

/// Why a host script cannot run in a container, and the argument to blame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub reason: String,
    pub arg_index: Option<usize>,
}

/// Directories a same-path bind mount must never cover: mounting one would
/// shadow the image's own programs and libraries.
const SYSTEM_DIRS: &[&str] = &[
    "/",
    "/bin",
    "/sbin",
    "/lib",
    "/lib64",
    "/usr",
    "/usr/bin",
    "/usr/sbin",
    "/usr/lib",
    "/usr/local",
    "/usr/local/bin",
    "/usr/local/lib",
    "/etc",
    "/var",
    "/opt",
    "/home",
    "/root",
    "/tmp",
    "/proc",
    "/sys",
    "/dev",
    "/run",
];

/// How far above a script's own directory its project root is looked for.
const PROJECT_LEVELS: usize = 2;

/// Plans a host script's service; `None` when the invocation runs no host file
/// (a package, an image, a remote module), which other rules handle.
pub fn plan(
    name: &str,
    command: &str,
    args: &[String],
    invocation: &Invocation,
) -> Option<Result<Plan, Refusal>> {
    match invocation {
        Invocation::Script {
            interpreter,
            script,
            ..
        } => Some(interpreter_script(name, command, interpreter, script, args)),
        Invocation::UvRun(run) => Some(uv_run(name, run, args)),
        Invocation::Deno { target, .. } if !remote_module(target) => {
            Some(deno_script(name, target, args))
        }
        _ => None,
    }
}

/// What the host's filesystem contributes to the services of `servers`: per
/// host-script server, the directories it mounts or why it cannot run. Part
/// of sync's no-op cache key, so that creating (or removing) a script's
/// directory is noticed although no file mcpm reads has changed.
pub fn host_fingerprint(servers: &std::collections::BTreeMap<String, ServerSpec>) -> String {
    let mut out = String::new();
    for (name, server) in servers {
        let Some(command) = &server.command else {
            continue;
        };
        let invocation = super::invocation::parse(command, &server.args);
        match plan(name, command, &server.args, &invocation) {
            Some(Ok(plan)) => out.push_str(&format!("{name}\0{:?}\n", plan.host)),
            Some(Err(refusal)) => out.push_str(&format!("{name}\0{}\n", refusal.reason)),
            None => {}
        }
    }
    out
}

/// Whether a Deno target is fetched rather than read from the host.
pub fn remote_module(target: &str) -> bool {
    ["jsr:", "npm:", "https://", "http://"]
        .iter()
        .any(|prefix| target.starts_with(prefix))
}

fn interpreter_script(
    name: &str,
    command: &str,
    interpreter: &str,
    script: &str,
    args: &[String],
) -> Result<Plan, Refusal> {
    let at = args.iter().position(|a| a == script);
    let (runtime, program, markers): (_, _, &[&str]) = match interpreter {
        "node" | "nodejs" => ("node", "node", &["package.json"]),
        "python" => ("python", "python", &["pyproject.toml", "setup.py"]),
        _ if interpreter.starts_with("python3") => {
            ("python", "python3", &["pyproject.toml", "setup.py"])
        }
        other => {
            return Err(Refusal {
                reason: format!(
                    "`{other} {script}` needs `{other}`, which none of the catalog's runtime images (node, python, uv, deno) has"
                ),
                arg_index: at,
            });
        }
    };
    let file = existing_path(script, Kind::File, name).map_err(|reason| Refusal {
        reason,
        arg_index: at,
    })?;
    let root = project_root(file, markers);
    let mut notes = home_note(root);
    notes.extend(unreadable_note(file, root));
    if root != parent(file) {
        notes.push(format!(
            "{root} is mounted, not only the script's directory: it is the script's project (it has {})",
            markers
                .iter()
                .find(|m| Path::new(root).join(m).exists())
                .copied()
                .unwrap_or("a project file")
        ));
    }
    if command.contains('/') {
        notes.push(format!(
            "`{command}` runs as `{program}` from the image: packages installed only in that host environment are not there"
        ));
    }
    if interpreter.starts_with("python3.") {
        notes.push(format!(
            "`{interpreter}` runs as `python3` from the image, whose Python version may differ"
        ));
    }
    if runtime == "python" {
        notes.push(
            "the python image has only the standard library: a script that imports other packages should be run with `uv run` and declare them (pyproject.toml or inline metadata)".into(),
        );
    }
    let mut command_line = vec![program.to_string()];
    command_line.extend(args.iter().cloned());
    let environment = match runtime {
        // Bytecode caches would be written next to the script, which is read-only.
        "python" => vec![("PYTHONDONTWRITEBYTECODE".into(), "1".into())],
        _ => Vec::new(),
    };
    Ok(Plan {
        runtime,
        command: command_line,
        host: HostScript {
            mounts: vec![root.to_string()],
            working_dir: None,
            environment,
        },
        shown: format!("{program} {script}"),
        notes,
    })
}

fn uv_run(name: &str, run: &UvRun, args: &[String]) -> Result<Plan, Refusal> {
    let locate = |value: &str| {
        args.iter()
            .position(|a| a == value || a.ends_with(&format!("={value}")))
    };
    let mut mounts: Vec<String> = Vec::new();
    let mut notes = Vec::new();
    let mut environment: Vec<(String, String)> = vec![
        // uv writes its cache, the project's virtual environment and any
        // Python it downloads; all of it goes to the tmpfs.
        ("UV_CACHE_DIR".into(), "/tmp/uv/cache".into()),
        ("UV_PROJECT_ENVIRONMENT".into(), "/tmp/uv/venv".into()),
        ("UV_PYTHON_INSTALL_DIR".into(), "/tmp/uv/python".into()),
    ];
    let project_dir = run.directory.as_deref().or(run.project.as_deref());
    if let Some(dir) = project_dir {
        let dir = existing_path(dir, Kind::Directory, name).map_err(|reason| Refusal {
            reason,
            arg_index: locate(dir),
        })?;
        if Path::new(dir).join("pyproject.toml").is_file() {
            if Path::new(dir).join("uv.lock").is_file() {
                // With the project mounted read-only, uv must use the lock as it is.
                environment.push(("UV_FROZEN".into(), "1".into()));
            } else {
                return Err(Refusal {
                    reason: format!(
                        "`uv run` would write `uv.lock` in {dir}, which the container mounts read-only; run `uv lock` in {dir}, then generate again"
                    ),
                    arg_index: locate(dir),
                });
            }
        }
        mounts.push(dir.to_string());
    }
    match &run.script {
        Some(script) if !is_relative(script) => {
            let file = existing_path(script, Kind::File, name).map_err(|reason| Refusal {
                reason,
                arg_index: locate(script),
            })?;
            let root = project_root(file, &["pyproject.toml"]);
            if !mounts.iter().any(|m| within(root, m)) {
                mounts.push(root.to_string());
            }
        }
        Some(script) => match &run.directory {
            Some(dir) => {
                let file = Path::new(dir).join(script);
                if file.components().any(|c| matches!(c, Component::ParentDir)) {
                    return Err(Refusal {
                        reason: format!(
                            "`{script}` goes through `..`, out of {dir}; write its absolute path instead"
                        ),
                        arg_index: locate(script),
                    });
                }
                if !file.is_file() {
                    return Err(Refusal {
                        reason: format!(
                            "`{script}` is not a file in {dir} on this host; fix the path, then generate again"
                        ),
                        arg_index: locate(script),
                    });
                }
            }
            None => return Err(relative(script, name, locate(script))),
        },
        None if project_dir.is_none() => {
            return Err(Refusal {
                reason: format!(
                    "`uv run {}` runs a command of the project in the client's working directory, which mcpm cannot know; add `--directory /path/to/project` to the server's args",
                    run.target
                ),
                arg_index: locate(&run.target),
            });
        }
        None => {}
    }
    if run.script.is_none() && project_dir.is_some() {
        notes.push(format!(
            "`{}` must be a command of the project or its dependencies: uv installs them in the container at start",
            run.target
        ));
    }
    notes.push(
        "uv installs the dependencies at each start, into the container's tmpfs: the first start needs the network and takes longer".into(),
    );
    let mut command = vec!["uv".to_string()];
    command.extend(args.iter().cloned());
    let mut shown = "uv run".to_string();
    if let Some(dir) = &run.directory {
        shown.push_str(&format!(" --directory {dir}"));
    } else if let Some(project) = &run.project {
        shown.push_str(&format!(" --project {project}"));
    }
    shown.push(' ');
    shown.push_str(run.script.as_deref().unwrap_or(&run.target));
    Ok(Plan {
        runtime: "uv",
        command,
        host: HostScript {
            mounts,
            working_dir: run.directory.clone(),
            environment,
        },
        shown,
        notes,
    })
}

fn deno_script(name: &str, target: &str, args: &[String]) -> Result<Plan, Refusal> {
    let file = existing_path(target, Kind::File, name).map_err(|reason| Refusal {
        reason,
        arg_index: args.iter().position(|a| a == target),
    })?;
    let root = project_root(file, &["deno.json", "deno.jsonc", "package.json"]);
    let mut notes = home_note(root);
    notes.extend(unreadable_note(file, root));
    let mut command = vec!["deno".to_string()];
    command.extend(args.iter().cloned());
    Ok(Plan {
        runtime: "deno",
        command,
        host: HostScript {
            mounts: vec![root.to_string()],
            working_dir: None,
            // Deno caches the modules the script imports.
            environment: vec![("DENO_DIR".into(), "/tmp/deno".into())],
        },
        shown: format!("deno run {target}"),
        notes,
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Directory,
}

/// Whether a path is relative in the POSIX sense and not one of the other
/// shapes `existing_path` explains on its own (`~`, Windows).
fn is_relative(path: &str) -> bool {
    !path.starts_with('/') && !path.starts_with('~') && !is_windows(path) && !path.contains('$')
}

fn is_windows(path: &str) -> bool {
    let bytes = path.as_bytes();
    (bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':')
        || path.starts_with("\\\\")
        || path.contains('\\')
}

fn relative(path: &str, name: &str, arg_index: Option<usize>) -> Refusal {
    Refusal {
        reason: format!(
            "`{path}` is relative to the client's working directory, which mcpm cannot know; write its absolute path in `servers.{name}.args`"
        ),
        arg_index,
    }
}

/// The path when a container can see it at the same place: absolute, POSIX,
/// literal, and present on this host; else why not.
fn existing_path<'p>(path: &'p str, kind: Kind, name: &str) -> Result<&'p str, String> {
    if is_windows(path) {
        return Err(format!(
            "`{path}` is a Windows path, and servers run in Linux containers; write the path as the Docker host sees it (`/mnt/c/…` under WSL, say)"
        ));
    }
    if path.starts_with('~') {
        return Err(format!(
            "MCP clients do not expand `~` in `{path}`; write the absolute path in `servers.{name}.args`"
        ));
    }
    if path.contains('$') {
        return Err(format!(
            "`{path}` holds a `$`, which would be read as a variable; write the path literally in `servers.{name}.args`"
        ));
    }
    if !path.starts_with('/') {
        return Err(relative(path, name, None).reason);
    }
    if Path::new(path)
        .components()
        .any(|c| matches!(c, Component::ParentDir))
    {
        return Err(format!(
            "`{path}` goes through `..`; write the path without it so the container sees the same one"
        ));
    }
    let found = match kind {
        Kind::File => Path::new(path).is_file(),
        Kind::Directory => Path::new(path).is_dir(),
    };
    if !found {
        let what = match kind {
            Kind::File => "file",
            Kind::Directory => "directory",
        };
        return Err(format!(
            "the {what} `{path}` does not exist on this host, so there is nothing to mount; fix the path (or create it), then generate again"
        ));
    }
    let dir = match kind {
        Kind::File => parent(path),
        Kind::Directory => path.trim_end_matches('/'),
    };
    if SYSTEM_DIRS.contains(&if dir.is_empty() { "/" } else { dir }) {
        return Err(format!(
            "`{path}` is in {}, which cannot be mounted over the image's own; move the script into a directory of its own",
            if dir.is_empty() { "/" } else { dir }
        ));
    }
    Ok(path.trim_end_matches('/'))
}

/// The directory holding `file` (`/a/b.js` → `/a`).
fn parent(file: &str) -> &str {
    match file.rfind('/') {
        Some(0) => "/",
        Some(at) => &file[..at],
        None => file,
    }
}

/// The script's project root: the nearest directory, from the script's own up
/// to `PROJECT_LEVELS` above it, that holds one of `markers`, so that a
/// script in `src/` still finds its `node_modules` or package; the script's
/// own directory when there is none. Never a system directory or the home
/// directory, which hold such files for other reasons.
fn project_root<'p>(file: &'p str, markers: &[&str]) -> &'p str {
    let own = parent(file);
    let home = std::env::var("HOME").unwrap_or_default();
    let mut dir = own;
    for _ in 0..=PROJECT_LEVELS {
        if SYSTEM_DIRS.contains(&dir) || dir == home.trim_end_matches('/') {
            break;
        }
        if markers.iter().any(|m| Path::new(dir).join(m).is_file()) {
            return dir;
        }
        dir = parent(dir);
    }
    own
}

/// A warning when the mount is the whole home directory.
fn home_note(root: &str) -> Vec<String> {
    let home = std::env::var("HOME").unwrap_or_default();
    if !home.is_empty() && root == home.trim_end_matches('/') {
        vec![format!(
            "the whole home directory {root} is mounted (read-only) because the script is in it; move the script into a directory of its own"
        )]
    } else {
        Vec::new()
    }
}

/// A warning when the container could not read the script: it runs as root
/// without CAP_DAC_OVERRIDE (`cap_drop: [ALL]`), so the file must be readable
/// and the mounted directory searchable by other users.
fn unreadable_note(file: &str, root: &str) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |path: &str| std::fs::metadata(path).map(|m| m.permissions().mode());
        let file_ok = mode(file).is_ok_and(|m| m & 0o004 != 0);
        let dirs_ok = [parent(file), root]
            .iter()
            .all(|dir| mode(dir).is_ok_and(|m| m & 0o005 == 0o005));
        (!file_ok || !dirs_ok).then(|| {
            format!(
                "{file} is not readable by other users, and the container's root has no CAP_DAC_OVERRIDE (cap_drop: ALL): `chmod o+rX` it and its directory, or set `user` in the server's `[docker]` table to the owner's uid:gid"
            )
        })
    }
    #[cfg(not(unix))]
    {
        let _ = (file, root);
        None
    }
}

/// Whether `path` is `dir` or inside it.
fn within(path: &str, dir: &str) -> bool {
    path == dir
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::catalog::invocation::parse;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn planned(command: &str, list: &[String]) -> Result<Plan, Refusal> {
        plan("srv", command, list, &parse(command, list)).expect("a host-script invocation")
    }

    /// A directory with a script in it; returns (directory, script path).
    fn script_in(root: &Path, dir: &str, file: &str) -> (String, String) {
        let dir = root.join(dir);
        fs::create_dir_all(&dir).unwrap();
        let file = dir.join(file);
        fs::write(&file, "// server\n").unwrap();
        (
            dir.to_str().unwrap().to_string(),
            file.to_str().unwrap().to_string(),
        )
    }

    fn refused(command: &str, list: &[String]) -> Refusal {
        match planned(command, list) {
            Err(refusal) => refusal,
            Ok(plan) => panic!("{command} {list:?} was planned: {plan:?}"),
        }
    }

    #[test]
    fn node_script_mounts_its_directory_and_keeps_the_command_line() {
        let tmp = tempfile::tempdir().unwrap();
        let (dir, script) = script_in(tmp.path(), "tools", "server.js");
        let list = args(&["--experimental-x", &script, "--port", "1"]);
        let plan = planned("node", &list).unwrap();
        assert_eq!(plan.runtime, "node");
        let mut expected = vec!["node".to_string()];
        expected.extend(list.iter().cloned());
        assert_eq!(plan.command, expected, "the arguments are unchanged");
        assert_eq!(plan.host.mounts, vec![dir]);
        assert_eq!(plan.host.working_dir, None);
        assert_eq!(plan.shown, format!("node {script}"));
        // A host path to the interpreter runs the image's own.
        let plan = planned("/usr/local/bin/node", &args(&[&script])).unwrap();
        assert_eq!(plan.command[0], "node");
        assert!(plan.notes.iter().any(|n| n.contains("/usr/local/bin/node")));
    }

    #[test]
    fn a_script_below_its_package_mounts_the_package() {
        let tmp = tempfile::tempdir().unwrap();
        let (_, script) = script_in(tmp.path(), "app/dist/bin", "server.js");
        let app = tmp.path().join("app");
        fs::write(app.join("package.json"), "{}").unwrap();
        let plan = planned("node", &args(&[&script])).unwrap();
        assert_eq!(plan.host.mounts, vec![app.to_str().unwrap().to_string()]);
        assert!(plan.notes.iter().any(|n| n.contains("package.json")));
        // Three levels up is too far: only the script's own directory.
        let (deep_dir, deep) = script_in(tmp.path(), "app/a/b/c", "server.js");
        let plan = planned("node", &args(&[&deep])).unwrap();
        assert_eq!(plan.host.mounts, vec![deep_dir]);
    }

    #[test]
    fn python_scripts_run_in_the_python_runtime() {
        let tmp = tempfile::tempdir().unwrap();
        let (dir, script) = script_in(tmp.path(), "py", "server.py");
        let plan = planned("python3", &args(&["-u", &script])).unwrap();
        assert_eq!(plan.runtime, "python");
        assert_eq!(plan.command, args(&["python3", "-u", &script]));
        assert_eq!(plan.host.mounts, vec![dir]);
        assert!(
            plan.host
                .environment
                .contains(&("PYTHONDONTWRITEBYTECODE".into(), "1".into()))
        );
        let plan = planned("python3.11", &args(&[&script])).unwrap();
        assert_eq!(plan.command[0], "python3");
        assert!(plan.notes.iter().any(|n| n.contains("python3.11")));
        assert_eq!(
            planned("python", &args(&[&script])).unwrap().command[0],
            "python"
        );
    }

    #[test]
    fn uv_run_with_a_directory_works_there() {
        let tmp = tempfile::tempdir().unwrap();
        let (dir, _) = script_in(tmp.path(), "weather", "weather.py");
        for list in [
            args(&["--directory", &dir, "run", "weather.py"]),
            args(&["run", "--directory", &dir, "weather.py"]),
        ] {
            let plan = planned("uv", &list).unwrap();
            assert_eq!(plan.runtime, "uv");
            assert_eq!(plan.command[1..], list[..]);
            assert_eq!(plan.host.mounts, vec![dir.clone()]);
            assert_eq!(plan.host.working_dir.as_deref(), Some(dir.as_str()));
            assert!(!plan.host.environment.iter().any(|(k, _)| k == "UV_FROZEN"));
            assert_eq!(plan.shown, format!("uv run --directory {dir} weather.py"));
        }
        // A project: its lock is used as it is, since it cannot be rewritten.
        fs::write(Path::new(&dir).join("pyproject.toml"), "[project]\n").unwrap();
        let refusal = refused("uv", &args(&["--directory", &dir, "run", "weather.py"]));
        assert!(refusal.reason.contains("uv lock"), "{}", refusal.reason);
        assert_eq!(refusal.arg_index, Some(1));
        fs::write(Path::new(&dir).join("uv.lock"), "").unwrap();
        let plan = planned("uv", &args(&["--directory", &dir, "run", "weather.py"])).unwrap();
        assert!(
            plan.host
                .environment
                .contains(&("UV_FROZEN".into(), "1".into()))
        );
        // A project's own command, no file.
        let plan = planned("uv", &args(&["run", "--directory", &dir, "weather-server"])).unwrap();
        assert_eq!(plan.host.mounts, vec![dir.clone()]);
        // A file that is not in the directory.
        let refusal = refused("uv", &args(&["--directory", &dir, "run", "missing.py"]));
        assert!(refusal.reason.contains("missing.py"), "{}", refusal.reason);
        let refusal = refused("uv", &args(&["--directory", &dir, "run", "../x.py"]));
        assert!(refusal.reason.contains(".."), "{}", refusal.reason);
    }

    #[test]
    fn uv_run_of_an_absolute_script_mounts_its_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let (dir, script) = script_in(tmp.path(), "srv", "server.py");
        let list = args(&["run", "--with", "mcp[cli]", "mcp", "run", &script]);
        let plan = planned("uv", &list).unwrap();
        assert_eq!(plan.host.mounts, vec![dir]);
        assert_eq!(plan.host.working_dir, None);
        // Relative or unlocated: nothing to mount.
        let refusal = refused("uv", &args(&["run", "server.py"]));
        assert!(refusal.reason.contains("relative"), "{}", refusal.reason);
        assert_eq!(refusal.arg_index, Some(1));
        let refusal = refused("uv", &args(&["run", "my-server"]));
        assert!(refusal.reason.contains("--directory"), "{}", refusal.reason);
        let refusal = refused("uv", &args(&["run", "--project", "/p", "s.py"]));
        assert!(
            refusal.reason.contains("does not exist"),
            "{}",
            refusal.reason
        );
    }

    #[test]
    fn deno_local_module_mounts_its_project() {
        let tmp = tempfile::tempdir().unwrap();
        let (dir, script) = script_in(tmp.path(), "deno-srv", "main.ts");
        fs::write(Path::new(&dir).join("deno.json"), "{}").unwrap();
        let list = args(&["run", "-A", &script]);
        let deno = planned("deno", &list).unwrap();
        assert_eq!(deno.runtime, "deno");
        assert_eq!(deno.command[1..], list[..]);
        assert_eq!(deno.host.mounts, vec![dir]);
        assert!(deno.host.environment.iter().any(|(k, _)| k == "DENO_DIR"));
        assert!(
            plan(
                "x",
                "deno",
                &args(&["run", "jsr:@x/y"]),
                &parse("deno", &args(&["run", "jsr:@x/y"]))
            )
            .is_none(),
            "a remote module is not a host script"
        );
    }

    #[test]
    fn paths_a_container_cannot_see_the_same_way_are_refused() {
        for (command, path, needle) in [
            ("node", "server.js", "relative"),
            ("node", "./server.js", "relative"),
            ("node", "/no/such/dir/server.js", "does not exist"),
            ("python3", "C:\\Users\\dev\\server.py", "Windows"),
            ("node", "C:/Users/dev/server.js", "Windows"),
            ("node", "~/tools/server.js", "`~`"),
            ("node", "${HOME}/tools/server.js", "`$`"),
            ("node", "/srv/../etc/server.js", "`..`"),
            ("node", "/etc/passwd", "cannot be mounted"),
            ("bun", "/p/x.ts", "`bun`"),
            ("tsx", "/p/x.ts", "`tsx`"),
        ] {
            let refusal = refused(command, &args(&[path]));
            assert!(
                refusal.reason.contains(needle),
                "{command} {path}: {}",
                refusal.reason
            );
            assert!(
                refusal.reason.contains(path),
                "names the path: {}",
                refusal.reason
            );
        }
        let refusal = refused("node", &args(&["--inspect", "rel/s.js"]));
        assert_eq!(refusal.arg_index, Some(1), "points at the script");
    }

    #[cfg(unix)]
    #[test]
    fn a_script_other_users_cannot_read_is_noted() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let (_, script) = script_in(tmp.path(), "private", "server.js");
        let plan = planned("node", &args(&[&script])).unwrap();
        assert!(!plan.notes.iter().any(|n| n.contains("CAP_DAC_OVERRIDE")));
        fs::set_permissions(&script, fs::Permissions::from_mode(0o600)).unwrap();
        let plan = planned("node", &args(&[&script])).unwrap();
        assert!(
            plan.notes.iter().any(|n| n.contains("CAP_DAC_OVERRIDE")),
            "{:?}",
            plan.notes
        );
    }

    #[test]
    fn the_fingerprint_changes_when_a_script_directory_appears() {
        let tmp = tempfile::tempdir().unwrap();
        let script = tmp.path().join("later/server.js");
        let mut servers = std::collections::BTreeMap::new();
        servers.insert(
            "tools".to_string(),
            ServerSpec {
                command: Some("node".into()),
                args: args(&[script.to_str().unwrap()]),
                ..Default::default()
            },
        );
        servers.insert(
            "time".to_string(),
            ServerSpec {
                command: Some("uvx".into()),
                args: args(&["mcp-server-time"]),
                ..Default::default()
            },
        );
        let before = host_fingerprint(&servers);
        assert!(before.contains("does not exist") && !before.contains("time"));
        script_in(tmp.path(), "later", "server.js");
        assert_ne!(host_fingerprint(&servers), before);
    }

    #[test]
    fn unicode_and_spaces_in_paths_are_kept_as_they_are() {
        let tmp = tempfile::tempdir().unwrap();
        let (dir, script) = script_in(tmp.path(), "my tools/sérvér ü", "サーバー.js");
        let plan = planned("node", &args(&[&script])).unwrap();
        assert_eq!(plan.host.mounts, vec![dir]);
        assert_eq!(plan.command, args(&["node", &script]));
    }
}
