//! Parses the arguments of `docker run` (as MCP clients write them) into the
//! parts a compose service needs. Flags with no compose meaning (`--rm`, `-d`,
//! `--name`) are noted and dropped; flags it does not know are an error, because
//! guessing whether they take a value would misplace the image.
use std::collections::BTreeMap;

/// An environment flag: `-e K` / `-e ${K}` passes the variable through,
/// `-e K=V` sets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvArg {
    Pass(String),
    Set(String, String),
}

/// A volume flag: `-v` short syntax or a `--mount` in compose's long syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeArg {
    Short(String),
    Long(BTreeMap<String, MountValue>),
}

/// A value in a long-syntax mount: text or a flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountValue {
    Text(String),
    Flag(bool),
}

/// What a `docker run` command line asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DockerRun {
    pub image: String,
    /// Index of the image among the `run` arguments.
    pub image_index: usize,
    pub command: Vec<String>,
    pub env: Vec<EnvArg>,
    pub env_files: Vec<String>,
    pub volumes: Vec<VolumeArg>,
    pub ports: Vec<String>,
    /// `--network`: `None` when not given.
    pub network: Option<String>,
    pub workdir: Option<String>,
    pub entrypoint: Option<String>,
    pub user: Option<String>,
    pub interactive: bool,
    pub tty: bool,
    pub init: bool,
    pub read_only: bool,
    pub privileged: bool,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub security_opt: Vec<String>,
    pub tmpfs: Vec<String>,
    pub dns: Vec<String>,
    pub extra_hosts: Vec<String>,
    pub labels: Vec<(String, String)>,
    pub memory: Option<String>,
    pub cpus: Option<String>,
    pub pids_limit: Option<String>,
    pub hostname: Option<String>,
    pub platform: Option<String>,
    pub shm_size: Option<String>,
    pub pull_policy: Option<String>,
    /// Flags that mean nothing in compose and were dropped (`--rm`, `--name x`).
    pub dropped: Vec<String>,
}

/// Why the arguments could not be parsed, and at which argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerRunError {
    pub index: usize,
    pub message: String,
}

/// Short boolean flags that may be combined (`-it`, `-dit`).
const SHORT_BOOLS: &[char] = &['i', 't', 'd', 'P'];

/// Parses the arguments after `run`.
pub fn parse(args: &[String]) -> Result<DockerRun, DockerRunError> {
    let mut run = DockerRun::default();
    let mut index = 0;
    while index < args.len() {
        let arg = &args[index];
        if arg == "--" {
            index += 1;
            break;
        }
        if !arg.starts_with('-') || arg == "-" {
            break;
        }
        if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value.to_string())),
                None => (long, None),
            };
            index = long_flag(&mut run, args, index, name, inline)?;
            continue;
        }
        let short = &arg[1..];
        if short.chars().all(|c| SHORT_BOOLS.contains(&c)) {
            for c in short.chars() {
                short_bool(&mut run, c);
            }
            index += 1;
            continue;
        }
        let mut chars = short.chars();
        let flag = chars.next().unwrap_or('?');
        let Some(long) = short_to_long(flag) else {
            return Err(unknown(index, arg));
        };
        let attached = chars.as_str();
        let inline = (!attached.is_empty()).then(|| attached.trim_start_matches('=').to_string());
        index = long_flag(&mut run, args, index, long, inline)?;
    }
    let Some(image) = args.get(index) else {
        return Err(DockerRunError {
            index: args.len().saturating_sub(1),
            message: "`docker run` names no image".into(),
        });
    };
    run.image = image.clone();
    run.image_index = index;
    run.command = args[index + 1..].to_vec();
    Ok(run)
}

fn short_bool(run: &mut DockerRun, flag: char) {
    match flag {
        'i' => run.interactive = true,
        't' => run.tty = true,
        // Detaching and publishing all ports are the engine's business, not the service's.
        _ => {}
    }
}

fn short_to_long(flag: char) -> Option<&'static str> {
    Some(match flag {
        'e' => "env",
        'v' => "volume",
        'p' => "publish",
        'w' => "workdir",
        'u' => "user",
        'l' => "label",
        'm' => "memory",
        'h' => "hostname",
        'a' => "attach",
        _ => return None,
    })
}

/// Applies one long flag; returns the index of the next argument.
fn long_flag(
    run: &mut DockerRun,
    args: &[String],
    index: usize,
    name: &str,
    inline: Option<String>,
) -> Result<usize, DockerRunError> {
    let boolean = |value: &Option<String>| value.as_deref().is_none_or(|v| v != "false");
    match name {
        "interactive" => run.interactive = boolean(&inline),
        "tty" => run.tty = boolean(&inline),
        "init" => run.init = boolean(&inline),
        "read-only" => run.read_only = boolean(&inline),
        "privileged" => run.privileged = boolean(&inline),
        // Compose removes and detaches containers itself: nothing to carry over.
        "rm" | "detach" | "sig-proxy" | "publish-all" => {}
        _ => {
            let (value, next) = match inline {
                Some(value) => (value, index + 1),
                None => match args.get(index + 1) {
                    Some(value) => (value.clone(), index + 2),
                    None => {
                        return Err(DockerRunError {
                            index,
                            message: format!("`{}` is missing its value", args[index]),
                        });
                    }
                },
            };
            valued_flag(run, index, name, value)?;
            return Ok(next);
        }
    }
    Ok(index + 1)
}

fn valued_flag(
    run: &mut DockerRun,
    index: usize,
    name: &str,
    value: String,
) -> Result<(), DockerRunError> {
    match name {
        "env" => run.env.push(env_arg(&value)),
        "env-file" => run.env_files.push(value),
        "volume" => run.volumes.push(VolumeArg::Short(value)),
        "mount" => run.volumes.push(VolumeArg::Long(
            mount(&value).map_err(|message| DockerRunError { index, message })?,
        )),
        "publish" => run.ports.push(value),
        "network" | "net" => run.network = Some(value),
        "workdir" => run.workdir = Some(value),
        "entrypoint" => run.entrypoint = Some(value),
        "user" => run.user = Some(value),
        "cap-add" => run.cap_add.push(value),
        "cap-drop" => run.cap_drop.push(value),
        "security-opt" => run.security_opt.push(value),
        "tmpfs" => run.tmpfs.push(value),
        "dns" => run.dns.push(value),
        "add-host" => run.extra_hosts.push(value),
        "label" => {
            let (key, label) = value.split_once('=').unwrap_or((&value, ""));
            run.labels.push((key.to_string(), label.to_string()));
        }
        "memory" => run.memory = Some(value),
        "cpus" => run.cpus = Some(value),
        "pids-limit" => run.pids_limit = Some(value),
        "hostname" => run.hostname = Some(value),
        "platform" => run.platform = Some(value),
        "shm-size" => run.shm_size = Some(value),
        "pull" => run.pull_policy = Some(value),
        // Compose names containers itself and attaches stdio through its own API.
        "name" | "attach" | "cidfile" => run.dropped.push(format!("--{name} {value}")),
        _ => return Err(unknown(index, &format!("--{name}"))),
    }
    Ok(())
}

/// `-e K=V` sets; `-e K` and `-e ${K}` pass `K` through from the environment.
fn env_arg(value: &str) -> EnvArg {
    if let Some((key, val)) = value.split_once('=') {
        return EnvArg::Set(key.to_string(), val.to_string());
    }
    let name = value
        .strip_prefix("${")
        .and_then(|rest| rest.strip_suffix('}'))
        .or_else(|| value.strip_prefix('$'))
        .unwrap_or(value);
    EnvArg::Pass(name.to_string())
}

/// `type=bind,src=/a,dst=/b,readonly` → compose long-syntax volume fields.
fn mount(spec: &str) -> Result<BTreeMap<String, MountValue>, String> {
    let mut fields = BTreeMap::new();
    for part in spec.split(',').filter(|part| !part.is_empty()) {
        let (key, value) = match part.split_once('=') {
            Some((key, value)) => (key.trim(), Some(value.trim())),
            None => (part.trim(), None),
        };
        let text = |value: Option<&str>| {
            value
                .map(|v| MountValue::Text(v.to_string()))
                .ok_or(format!("`--mount` option `{key}` needs a value"))
        };
        match key {
            "type" => fields.insert("type".into(), text(value)?),
            "source" | "src" => fields.insert("source".into(), text(value)?),
            "target" | "destination" | "dst" => fields.insert("target".into(), text(value)?),
            "readonly" | "ro" => {
                let on = value.is_none_or(|v| matches!(v, "1" | "true"));
                fields.insert("read_only".into(), MountValue::Flag(on))
            }
            _ => {
                return Err(format!(
                    "`--mount` option `{key}` is not supported; write the volume in `[servers.NAME.docker]`"
                ));
            }
        };
    }
    if !fields.contains_key("target") {
        return Err("`--mount` needs a target (`dst=/path`)".into());
    }
    fields
        .entry("type".into())
        .or_insert(MountValue::Text("volume".into()));
    Ok(fields)
}

fn unknown(index: usize, flag: &str) -> DockerRunError {
    DockerRunError {
        index,
        message: format!(
            "`docker run` flag `{flag}` is not supported; move it into `[servers.NAME.docker]` as a compose field"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(list: &[&str]) -> DockerRun {
        parse(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>()).expect("parses")
    }

    fn error(list: &[&str]) -> DockerRunError {
        parse(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>()).expect_err("fails")
    }

    #[test]
    fn github_style_run() {
        let parsed = run(&[
            "-i",
            "--rm",
            "-e",
            "GITHUB_PERSONAL_ACCESS_TOKEN",
            "ghcr.io/github/github-mcp-server",
        ]);
        assert_eq!(parsed.image, "ghcr.io/github/github-mcp-server");
        assert_eq!(parsed.image_index, 4);
        assert!(parsed.interactive);
        assert_eq!(
            parsed.env,
            vec![EnvArg::Pass("GITHUB_PERSONAL_ACCESS_TOKEN".into())]
        );
        assert!(parsed.command.is_empty());
    }

    #[test]
    fn env_forms() {
        let parsed = run(&[
            "-e",
            "${API_KEY}",
            "-e",
            "MODE=fast",
            "--env=A=b=c",
            "-eX=1",
            "img",
        ]);
        assert_eq!(
            parsed.env,
            vec![
                EnvArg::Pass("API_KEY".into()),
                EnvArg::Set("MODE".into(), "fast".into()),
                EnvArg::Set("A".into(), "b=c".into()),
                EnvArg::Set("X".into(), "1".into()),
            ]
        );
    }

    #[test]
    fn volumes_mounts_and_env_files() {
        let parsed = run(&[
            "-v",
            "/data:/data:ro",
            "--mount",
            "type=bind,src=/Users/a/work,dst=/projects/work,readonly",
            "--env-file",
            "./x.env",
            "mcp/filesystem",
            "/projects",
        ]);
        assert_eq!(parsed.volumes[0], VolumeArg::Short("/data:/data:ro".into()));
        let VolumeArg::Long(mount) = &parsed.volumes[1] else {
            panic!("long mount")
        };
        assert_eq!(mount["source"], MountValue::Text("/Users/a/work".into()));
        assert_eq!(mount["target"], MountValue::Text("/projects/work".into()));
        assert_eq!(mount["read_only"], MountValue::Flag(true));
        assert_eq!(parsed.env_files, vec!["./x.env".to_string()]);
        assert_eq!(parsed.command, vec!["/projects".to_string()]);
    }

    #[test]
    fn combined_short_flags_ports_network_and_entrypoint() {
        let parsed = run(&[
            "-it",
            "-p",
            "3000:3000",
            "--network=none",
            "-w",
            "/app",
            "--entrypoint",
            "node",
            "--name",
            "x",
            "img:1",
            "server.js",
        ]);
        assert!(parsed.interactive && parsed.tty);
        assert_eq!(parsed.ports, vec!["3000:3000".to_string()]);
        assert_eq!(parsed.network.as_deref(), Some("none"));
        assert_eq!(parsed.workdir.as_deref(), Some("/app"));
        assert_eq!(parsed.entrypoint.as_deref(), Some("node"));
        assert_eq!(parsed.dropped, vec!["--name x".to_string()]);
        assert_eq!(parsed.image, "img:1");
        assert_eq!(parsed.command, vec!["server.js".to_string()]);
    }

    #[test]
    fn errors_name_the_argument() {
        assert_eq!(error(&["-i", "--frobnicate", "img"]).index, 1);
        assert_eq!(error(&["-i", "-e"]).index, 1);
        assert!(error(&["-i", "--rm"]).message.contains("no image"));
        assert!(
            error(&["--mount", "src=/a", "img"])
                .message
                .contains("target")
        );
    }
}
