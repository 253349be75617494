//! What a server's `command` and `args` run: an npm or PyPI package through a
//! package runner, a `docker run`, a Python module, a script, or a binary.
//! Pure parsing; matching against the catalog happens in `detect`.
use super::docker_run::{self, DockerRun};

/// A server's command line, understood.
#[derive(Debug, Clone, PartialEq)]
pub enum Invocation {
    /// An npm package through npx, bunx, `bun x`, `pnpm dlx`, `yarn dlx` or `npm exec`.
    Npm(PackageRun),
    /// A PyPI package through uvx, `uv tool run` or `pipx run`.
    Pypi(PackageRun),
    /// `docker run …` (or `docker container run …`).
    DockerRun(Box<DockerRun>),
    /// `python -m MODULE …`.
    PythonModule {
        interpreter: String,
        module: String,
        tail: Vec<String>,
    },
    /// `node server.js`, `python server.py`, `bun index.ts`: a file on the host.
    Script {
        interpreter: String,
        script: String,
        tail: Vec<String>,
    },
    /// `uv run …` (or `uv --directory D run …`): a script or a project's command
    /// from the host, run by uv.
    UvRun(UvRun),
    /// `deno run [flags] TARGET …`; `target` may be remote (`jsr:`, `npm:`, `https:`).
    Deno { args: Vec<String>, target: String },
    /// A bare executable name, found on the host's PATH.
    Binary { name: String, tail: Vec<String> },
    /// `./server` or `/opt/bin/server`: a file on the host.
    LocalExecutable { path: String, tail: Vec<String> },
    /// A command line this tool cannot understand; the reason says why.
    Unsupported {
        reason: String,
        arg_index: Option<usize>,
    },
}

/// `uv run` of something on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UvRun {
    /// `--directory D`, before or after `run`: uv changes into it first.
    pub directory: Option<String>,
    /// `--project P`: the project, without changing directory.
    pub project: Option<String>,
    /// The file run, when there is one: the target itself when it names a file
    /// (`server.py`, `/p/server.py`), or the file given to `mcp run`/`fastmcp run`.
    pub script: Option<String>,
    /// What `uv run` runs: a script, a module (`-m`), or a project's command.
    pub target: String,
}

/// A package started by a package runner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageRun {
    /// The runner as written (`npx`, `pnpm dlx`, `uvx`, …).
    pub runner: String,
    /// The package name without version: `@scope/name`, `mcp-server-fetch`.
    pub package: String,
    /// The package as written, version included: `@scope/name@1.2`.
    pub spec: String,
    /// The executable to run from the package, when it is not the package's own
    /// (`npx -p PKG CMD`, `uvx --from PKG CMD`).
    pub command: Option<String>,
    /// Runner options that change what runs (`--python 3.12`, `--with x`), kept for
    /// the generic runtimes.
    pub runner_options: Vec<String>,
    /// The arguments passed to the server.
    pub tail: Vec<String>,
    /// Index in `args` of the package, for error locations.
    pub package_index: usize,
}

/// Parses a server's command line.
pub fn parse(command: &str, args: &[String]) -> Invocation {
    let program = program_name(command);
    match program.as_str() {
        "npx" => npm_like("npx", args, 0),
        "bunx" => npm_like("bunx", args, 0),
        "bun" if args.first().is_some_and(|a| a == "x") => npm_like("bun x", args, 1),
        "pnpm" | "yarn" if args.first().is_some_and(|a| a == "dlx") => {
            npm_like(&format!("{program} dlx"), args, 1)
        }
        "npm" if args.first().is_some_and(|a| a == "exec" || a == "x") => {
            npm_like("npm exec", args, 1)
        }
        "uvx" => uv_like("uvx", args, 0),
        "uv" if args.len() >= 2 && args[0] == "tool" && args[1] == "run" => {
            uv_like("uv tool run", args, 2)
        }
        "uv" => uv_run(args),
        "pipx" if args.first().is_some_and(|a| a == "run") => pipx_run(args),
        "docker" | "podman" => docker(args),
        "deno" => deno(args),
        _ if is_python(&program) => python(&program, args),
        "node" | "nodejs" | "bun" | "tsx" | "ts-node" => script(&program, args),
        _ if command.contains('/') || command.contains('\\') => Invocation::LocalExecutable {
            path: command.to_string(),
            tail: args.to_vec(),
        },
        _ => Invocation::Binary {
            name: program,
            tail: args.to_vec(),
        },
    }
}

/// `/usr/local/bin/npx.cmd` → `npx`.
fn program_name(command: &str) -> String {
    let base = command.rsplit(['/', '\\']).next().unwrap_or(command);
    let base = base
        .strip_suffix(".cmd")
        .or_else(|| base.strip_suffix(".exe"))
        .unwrap_or(base);
    base.to_ascii_lowercase()
}

fn is_python(program: &str) -> bool {
    program == "python"
        || program
            .strip_prefix("python3")
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

/// `npx`, `bunx`, `pnpm dlx`, `yarn dlx`, `npm exec`: options, then the package
/// (or `-p PKG` and a command), then the server's arguments.
fn npm_like(runner: &str, args: &[String], start: usize) -> Invocation {
    let mut package: Option<(String, usize)> = None;
    let mut index = start;
    while index < args.len() {
        let arg = &args[index];
        if arg == "--" {
            index += 1;
            break;
        }
        if arg == "-c" || arg == "--call" || arg == "--shell-mode" {
            return Invocation::Unsupported {
                reason: format!(
                    "`{runner} {arg}` runs a shell command line; name the package instead"
                ),
                arg_index: Some(index),
            };
        }
        if arg == "-p" || arg == "--package" {
            let Some(value) = args.get(index + 1) else {
                return missing_value(runner, arg, index);
            };
            package.get_or_insert((value.clone(), index + 1));
            index += 2;
            continue;
        }
        if let Some(value) = arg.strip_prefix("--package=") {
            package.get_or_insert((value.to_string(), index));
            index += 1;
            continue;
        }
        if arg.starts_with('-') {
            index += 1;
            continue;
        }
        break;
    }
    let Some(first) = args.get(index) else {
        return match package {
            Some((spec, at)) => npm_run(runner, spec, None, Vec::new(), at),
            None => Invocation::Unsupported {
                reason: format!("`{runner}` names no package"),
                arg_index: None,
            },
        };
    };
    match package {
        Some((spec, at)) => npm_run(
            runner,
            spec,
            Some(first.clone()),
            args[index + 1..].to_vec(),
            at,
        ),
        None => npm_run(
            runner,
            first.clone(),
            None,
            args[index + 1..].to_vec(),
            index,
        ),
    }
}

fn npm_run(
    runner: &str,
    spec: String,
    command: Option<String>,
    tail: Vec<String>,
    at: usize,
) -> Invocation {
    Invocation::Npm(PackageRun {
        runner: runner.to_string(),
        package: npm_package_name(&spec),
        spec,
        command,
        runner_options: Vec::new(),
        tail,
        package_index: at,
    })
}

/// `@scope/name@1.2.3` → `@scope/name`; `name@latest` → `name`.
pub fn npm_package_name(spec: &str) -> String {
    let search_from = usize::from(spec.starts_with('@'));
    match spec[search_from..].find('@') {
        Some(at) => spec[..search_from + at].to_string(),
        None => spec.to_string(),
    }
}

/// uvx options that take a value (the next argument, unless written `--opt=value`).
const UV_VALUE_OPTIONS: &[&str] = &[
    "--from",
    "--with",
    "--with-editable",
    "--with-requirements",
    "--python",
    "-p",
    "--index",
    "--index-url",
    "-i",
    "--extra-index-url",
    "--default-index",
    "--find-links",
    "-f",
    "--directory",
    "--project",
    "--cache-dir",
    "--config-file",
    "--constraints",
    "--overrides",
    "--index-strategy",
    "--keyring-provider",
    "--resolution",
    "--prerelease",
    "--exclude-newer",
    "--python-preference",
    "--refresh-package",
    "--reinstall-package",
    "--upgrade-package",
    "-P",
    "--color",
    "--allow-insecure-host",
    "--link-mode",
    "--env-file",
    "--build-constraints",
    // `uv run`'s own.
    "--extra",
    "--group",
    "--only-group",
    "--no-group",
    "--package",
    "--script",
];

/// `uvx [options] PACKAGE[@version] args…` or `uvx --from SPEC COMMAND args…`.
fn uv_like(runner: &str, args: &[String], start: usize) -> Invocation {
    let mut from: Option<(String, usize)> = None;
    let mut options = Vec::new();
    let mut index = start;
    while index < args.len() {
        let arg = &args[index];
        if arg == "--" {
            index += 1;
            break;
        }
        if !arg.starts_with('-') {
            break;
        }
        if let Some(value) = arg.strip_prefix("--from=") {
            from = Some((value.to_string(), index));
            index += 1;
            continue;
        }
        if UV_VALUE_OPTIONS.contains(&arg.as_str()) {
            let Some(value) = args.get(index + 1) else {
                return missing_value(runner, arg, index);
            };
            if arg == "--from" {
                from = Some((value.clone(), index + 1));
            } else {
                options.push(arg.clone());
                options.push(value.clone());
            }
            index += 2;
            continue;
        }
        options.push(arg.clone());
        index += 1;
    }
    let Some(first) = args.get(index) else {
        return Invocation::Unsupported {
            reason: format!("`{runner}` names no package"),
            arg_index: None,
        };
    };
    let tail = args[index + 1..].to_vec();
    let (spec, command, at) = match from {
        Some((spec, at)) => (spec, Some(first.clone()), at),
        None => (first.clone(), None, index),
    };
    Invocation::Pypi(PackageRun {
        runner: runner.to_string(),
        package: pypi_package_name(&spec),
        spec,
        command,
        runner_options: options,
        tail,
        package_index: at,
    })
}

/// `uv [global options] run [options] TARGET args…`; `uv [options] tool run` is uvx.
fn uv_run(args: &[String]) -> Invocation {
    let mut directory = None;
    let mut project = None;
    let mut module = false;
    let mut seen_run = false;
    let mut index = 0;
    while index < args.len() {
        let arg = args[index].as_str();
        if arg == "--" && seen_run {
            index += 1;
            break;
        }
        if !arg.starts_with('-') {
            if seen_run {
                break;
            }
            match arg {
                "run" => {
                    seen_run = true;
                    index += 1;
                    continue;
                }
                "tool" if args.get(index + 1).is_some_and(|a| a == "run") => {
                    return uv_like("uv tool run", args, index + 2);
                }
                other => {
                    return Invocation::Unsupported {
                        reason: format!(
                            "only `uv run` and `uv tool run` can be containerized, not `uv {other}`"
                        ),
                        arg_index: Some(index),
                    };
                }
            }
        }
        if arg == "-m" || arg == "--module" {
            module = true;
            index += 1;
            continue;
        }
        let (option, inline) = match arg.split_once('=') {
            Some((option, value)) if option.starts_with("--") => (option, Some(value.to_string())),
            _ => (arg, None),
        };
        let value = if inline.is_some() {
            inline
        } else if UV_VALUE_OPTIONS.contains(&option) {
            let Some(value) = args.get(index + 1) else {
                return missing_value("uv", option, index);
            };
            index += 1;
            Some(value.clone())
        } else {
            None
        };
        match option {
            "--directory" => directory = value,
            "--project" => project = value,
            _ => {}
        }
        index += 1;
    }
    if !seen_run {
        return Invocation::Unsupported {
            reason:
                "`uv` names no subcommand; only `uv run` and `uv tool run` can be containerized"
                    .into(),
            arg_index: None,
        };
    }
    let Some(target) = args.get(index) else {
        return Invocation::Unsupported {
            reason: "`uv run` names nothing to run".into(),
            arg_index: None,
        };
    };
    let script = if module {
        None
    } else if names_a_file(target) {
        Some(target.clone())
    } else if matches!(target.as_str(), "mcp" | "fastmcp")
        && args.get(index + 1).is_some_and(|a| a == "run")
    {
        // `mcp install` writes `uv run --with mcp[cli] mcp run /p/server.py`.
        args.get(index + 2).filter(|a| !a.starts_with('-')).cloned()
    } else {
        None
    };
    Invocation::UvRun(UvRun {
        directory,
        project,
        script,
        target: target.clone(),
    })
}

/// Whether a `uv run` target is a file rather than a command: it has a path
/// separator or a Python suffix, as uv itself decides.
fn names_a_file(target: &str) -> bool {
    target.contains('/')
        || target.contains('\\')
        || target.ends_with(".py")
        || target.ends_with(".pyw")
}

/// `pipx run [--spec SPEC] APP args…`.
fn pipx_run(args: &[String]) -> Invocation {
    let mut spec: Option<(String, usize)> = None;
    let mut options = Vec::new();
    let mut index = 1;
    while index < args.len() {
        let arg = &args[index];
        if !arg.starts_with('-') {
            break;
        }
        if matches!(
            arg.as_str(),
            "--spec" | "--python" | "--pip-args" | "--index-url" | "-i"
        ) {
            let Some(value) = args.get(index + 1) else {
                return missing_value("pipx run", arg, index);
            };
            if arg == "--spec" {
                spec = Some((value.clone(), index + 1));
            } else {
                options.push(arg.clone());
                options.push(value.clone());
            }
            index += 2;
            continue;
        }
        index += 1;
    }
    let Some(app) = args.get(index) else {
        return Invocation::Unsupported {
            reason: "`pipx run` names no package".into(),
            arg_index: None,
        };
    };
    let (spec, command, at) = match spec {
        Some((spec, at)) => (spec, Some(app.clone()), at),
        None => (app.clone(), None, index),
    };
    Invocation::Pypi(PackageRun {
        runner: "pipx run".into(),
        package: pypi_package_name(&spec),
        spec,
        command,
        runner_options: options,
        tail: args[index + 1..].to_vec(),
        package_index: at,
    })
}

/// `mcp-server-fetch==1.0`, `mcp-obsidian@latest`, `pkg[extra]>=2` → the bare name.
pub fn pypi_package_name(spec: &str) -> String {
    if spec.contains("://") || spec.starts_with("git+") {
        // A URL or VCS requirement: the last path segment is the best name we have.
        let last = spec
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(spec);
        let last = last.split(['@', '#']).next().unwrap_or(last);
        return last.trim_end_matches(".git").to_string();
    }
    let end = spec
        .find(['@', '=', '<', '>', '!', '~', '[', ';', ' '])
        .unwrap_or(spec.len());
    spec[..end].to_string()
}

fn docker(args: &[String]) -> Invocation {
    let run_at = match args {
        [first, ..] if first == "run" => 1,
        [first, second, ..] if first == "container" && second == "run" => 2,
        _ => {
            let what = args
                .first()
                .map_or("nothing".to_string(), |a| format!("`docker {a}`"));
            return Invocation::Unsupported {
                reason: format!("only `docker run` can be turned into a service, not {what}"),
                arg_index: Some(0),
            };
        }
    };
    match docker_run::parse(&args[run_at..]) {
        Ok(run) => Invocation::DockerRun(Box::new(run)),
        Err(err) => Invocation::Unsupported {
            reason: err.message,
            arg_index: Some(err.index + run_at),
        },
    }
}

fn python(interpreter: &str, args: &[String]) -> Invocation {
    let mut index = 0;
    while index < args.len() {
        let arg = &args[index];
        match arg.as_str() {
            "-m" => {
                let Some(module) = args.get(index + 1) else {
                    return missing_value(interpreter, arg, index);
                };
                return Invocation::PythonModule {
                    interpreter: interpreter.to_string(),
                    module: module.clone(),
                    tail: args[index + 2..].to_vec(),
                };
            }
            "-c" => {
                return Invocation::Unsupported {
                    reason: format!(
                        "`{interpreter} -c` runs inline code; package the server or give an image"
                    ),
                    arg_index: Some(index),
                };
            }
            "-X" | "-W" => index += 2,
            _ if arg.starts_with('-') => index += 1,
            _ => {
                return Invocation::Script {
                    interpreter: interpreter.to_string(),
                    script: arg.clone(),
                    tail: args[index + 1..].to_vec(),
                };
            }
        }
    }
    Invocation::Unsupported {
        reason: format!("`{interpreter}` names no module or script"),
        arg_index: None,
    }
}

fn script(interpreter: &str, args: &[String]) -> Invocation {
    let mut index = 0;
    while index < args.len() {
        let arg = &args[index];
        match arg.as_str() {
            "-e" | "--eval" | "-p" | "--print" => {
                return Invocation::Unsupported {
                    reason: format!(
                        "`{interpreter} {arg}` runs inline code; package the server or give an image"
                    ),
                    arg_index: Some(index),
                };
            }
            "-r" | "--require" | "--import" | "--loader" => index += 2,
            _ if arg.starts_with('-') => index += 1,
            _ => {
                return Invocation::Script {
                    interpreter: interpreter.to_string(),
                    script: arg.clone(),
                    tail: args[index + 1..].to_vec(),
                };
            }
        }
    }
    Invocation::Unsupported {
        reason: format!("`{interpreter}` names no script"),
        arg_index: None,
    }
}

fn deno(args: &[String]) -> Invocation {
    let Some(subcommand) = args.first() else {
        return Invocation::Unsupported {
            reason: "`deno` names no subcommand".into(),
            arg_index: None,
        };
    };
    if subcommand != "run" {
        return Invocation::Unsupported {
            reason: format!("only `deno run` can be containerized, not `deno {subcommand}`"),
            arg_index: Some(0),
        };
    }
    let mut index = 1;
    while index < args.len() {
        let arg = &args[index];
        if matches!(
            arg.as_str(),
            "-c" | "--config" | "--import-map" | "--lock" | "--cert" | "--location" | "--seed"
        ) {
            index += 2;
        } else if arg.starts_with('-') {
            index += 1;
        } else {
            return Invocation::Deno {
                args: args.to_vec(),
                target: arg.clone(),
            };
        }
    }
    Invocation::Unsupported {
        reason: "`deno run` names no module".into(),
        arg_index: None,
    }
}

fn missing_value(runner: &str, option: &str, index: usize) -> Invocation {
    Invocation::Unsupported {
        reason: format!("`{runner} {option}` is missing its value"),
        arg_index: Some(index),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn package(invocation: Invocation) -> PackageRun {
        match invocation {
            Invocation::Npm(run) | Invocation::Pypi(run) => run,
            other => panic!("not a package run: {other:?}"),
        }
    }

    #[test]
    fn npx_strips_versions_and_keeps_scopes() {
        let run = package(parse(
            "npx",
            &args(&["-y", "@modelcontextprotocol/server-memory@2025.4.25", "--x"]),
        ));
        assert_eq!(run.package, "@modelcontextprotocol/server-memory");
        assert_eq!(run.spec, "@modelcontextprotocol/server-memory@2025.4.25");
        assert_eq!(run.tail, args(&["--x"]));
        assert_eq!(run.package_index, 1);
        assert_eq!(
            package(parse("npx", &args(&["tavily-mcp@latest"]))).package,
            "tavily-mcp"
        );
    }

    #[test]
    fn every_npm_runner_is_recognised() {
        for (command, list) in [
            ("bunx", vec!["--bun", "pkg@1"]),
            ("bun", vec!["x", "pkg"]),
            ("pnpm", vec!["dlx", "pkg"]),
            ("yarn", vec!["dlx", "pkg@2"]),
            ("npm", vec!["exec", "--yes", "--", "pkg"]),
            ("/usr/local/bin/npx.cmd", vec!["-y", "pkg"]),
        ] {
            let run = package(parse(command, &args(&list)));
            assert_eq!(run.package, "pkg", "{command} {list:?}");
        }
    }

    #[test]
    fn npx_package_option_names_the_package_and_command() {
        let run = package(parse(
            "npx",
            &args(&["-y", "-p", "@acme/tools@3", "acme-mcp", "--port", "1"]),
        ));
        assert_eq!(run.package, "@acme/tools");
        assert_eq!(run.command.as_deref(), Some("acme-mcp"));
        assert_eq!(run.tail, args(&["--port", "1"]));
    }

    #[test]
    fn uvx_forms() {
        let run = package(parse(
            "uvx",
            &args(&["mcp-server-time", "--local-timezone", "Europe/Paris"]),
        ));
        assert_eq!(run.package, "mcp-server-time");
        assert_eq!(run.tail, args(&["--local-timezone", "Europe/Paris"]));
        let run = package(parse(
            "uvx",
            &args(&[
                "--python",
                "3.12",
                "--from",
                "mcp-obsidian==0.2",
                "mcp-obsidian",
            ]),
        ));
        assert_eq!(run.package, "mcp-obsidian");
        assert_eq!(run.command.as_deref(), Some("mcp-obsidian"));
        assert_eq!(run.runner_options, args(&["--python", "3.12"]));
        assert_eq!(
            package(parse(
                "uvx",
                &args(&["awslabs.aws-documentation-mcp-server@latest"])
            ))
            .package,
            "awslabs.aws-documentation-mcp-server"
        );
        assert_eq!(
            package(parse("uv", &args(&["tool", "run", "pkg[cli]>=2"]))).package,
            "pkg"
        );
        let run = package(parse(
            "pipx",
            &args(&["run", "--spec", "mcp-x==1", "mcp-x-server", "-v"]),
        ));
        assert_eq!(
            (run.package.as_str(), run.command.as_deref()),
            ("mcp-x", Some("mcp-x-server"))
        );
        assert_eq!(
            pypi_package_name("git+https://github.com/acme/mcp-thing.git@main"),
            "mcp-thing"
        );
    }

    #[test]
    fn python_node_deno_and_binaries() {
        assert_eq!(
            parse("python3", &args(&["-u", "-m", "mcp_server_fetch", "--x"])),
            Invocation::PythonModule {
                interpreter: "python3".into(),
                module: "mcp_server_fetch".into(),
                tail: args(&["--x"])
            }
        );
        assert!(matches!(
            parse("node", &args(&["/opt/mcp/server.js"])),
            Invocation::Script { .. }
        ));
        assert!(matches!(
            parse("python", &args(&["-c", "print()"])),
            Invocation::Unsupported { .. }
        ));
        assert!(
            matches!(parse("deno", &args(&["run", "-A", "jsr:@x/y"])), Invocation::Deno { ref target, .. } if target == "jsr:@x/y")
        );
        assert!(matches!(
            parse("mcp-server-fetch", &[]),
            Invocation::Binary { .. }
        ));
        assert!(matches!(
            parse("./bin/server", &[]),
            Invocation::LocalExecutable { .. }
        ));
        assert!(matches!(
            parse("uv", &args(&["run", "server.py"])),
            Invocation::UvRun(_)
        ));
    }

    fn uv_run(command: &str, list: &[&str]) -> UvRun {
        match parse(command, &args(list)) {
            Invocation::UvRun(run) => run,
            other => panic!("{list:?}: not a uv run: {other:?}"),
        }
    }

    #[test]
    fn uv_run_forms_name_their_directory_and_script() {
        let run = uv_run("uv", &["run", "--directory", "/p/weather", "weather.py"]);
        assert_eq!(run.directory.as_deref(), Some("/p/weather"));
        assert_eq!(run.script.as_deref(), Some("weather.py"));
        // The MCP quickstart's form: the global option before `run`.
        let run = uv_run(
            "uv",
            &["--directory", "/p/weather", "run", "weather.py", "--v"],
        );
        assert_eq!(
            (
                run.directory.as_deref(),
                run.script.as_deref(),
                run.target.as_str()
            ),
            (Some("/p/weather"), Some("weather.py"), "weather.py")
        );
        let run = uv_run(
            "/usr/bin/uv",
            &["run", "--directory=/p/x", "-m", "x.server"],
        );
        assert_eq!(
            (run.directory.as_deref(), run.script, run.target.as_str()),
            (Some("/p/x"), None, "x.server")
        );
        let run = uv_run(
            "uv",
            &["run", "--project", "/p/y", "--with", "httpx", "y-server"],
        );
        assert_eq!(
            (run.project.as_deref(), run.script, run.target.as_str()),
            (Some("/p/y"), None, "y-server")
        );
        // What `mcp install` writes: the file is given to `mcp run`.
        let run = uv_run(
            "uv",
            &[
                "run",
                "--with",
                "mcp[cli]",
                "mcp",
                "run",
                "/home/dev/server.py",
            ],
        );
        assert_eq!(
            (run.directory, run.script.as_deref(), run.target.as_str()),
            (None, Some("/home/dev/server.py"), "mcp")
        );
        let run = uv_run("uv", &["run", "--", "/p/s.py", "--flag"]);
        assert_eq!(run.script.as_deref(), Some("/p/s.py"));
        assert_eq!(
            uv_run("uv", &["run", "tool.pyw"]).script.as_deref(),
            Some("tool.pyw")
        );
        assert_eq!(uv_run("uv", &["run", "my-server"]).script, None);
    }

    #[test]
    fn uv_other_than_run_is_unsupported_and_tool_run_is_uvx() {
        for list in [
            vec!["sync"],
            vec![],
            vec!["--directory", "/p"],
            vec!["run"],
            vec!["run", "--directory"],
        ] {
            assert!(
                matches!(parse("uv", &args(&list)), Invocation::Unsupported { .. }),
                "{list:?}"
            );
        }
        assert_eq!(
            package(parse(
                "uv",
                &args(&["--offline", "tool", "run", "mcp-server-time"])
            ))
            .package,
            "mcp-server-time"
        );
    }

    #[test]
    fn scripts_keep_the_flags_before_them() {
        for (command, list, script) in [
            (
                "node",
                vec!["--experimental-x", "/p/s.js", "--port", "1"],
                "/p/s.js",
            ),
            ("node", vec!["-r", "dotenv/config", "/p/s.js"], "/p/s.js"),
            ("python3", vec!["-u", "/p/s.py"], "/p/s.py"),
            ("python", vec!["-X", "utf8", "/p/s.py"], "/p/s.py"),
            ("nodejs", vec!["./s.js"], "./s.js"),
        ] {
            match parse(command, &args(&list)) {
                Invocation::Script { script: found, .. } => assert_eq!(found, script),
                other => panic!("{command} {list:?}: {other:?}"),
            }
        }
        assert!(
            matches!(parse("deno", &args(&["run", "-A", "/p/main.ts"])), Invocation::Deno { ref target, .. } if target == "/p/main.ts")
        );
    }

    #[test]
    fn docker_other_than_run_is_unsupported() {
        assert!(matches!(
            parse("docker", &args(&["mcp", "gateway", "run"])),
            Invocation::Unsupported { .. }
        ));
        assert!(matches!(
            parse("docker", &args(&["container", "run", "-i", "mcp/time"])),
            Invocation::DockerRun(_)
        ));
    }
}
