//! Structured inputs: profiles and compose-side edits built from a small
//! vocabulary of the keys and values mcpm cares about, mixed with hostile
//! strings, so the fuzzer spends its time past the TOML parser.
use arbitrary::Arbitrary;
use serde_yaml_ng::{Mapping, Value};
use toml::Table;

/// Strings that have broken YAML, TOML, `.env` or `$` handling somewhere.
const HOSTILE: &[&str] = &[
    "",
    " ",
    "$",
    "$$",
    "${",
    "${X}",
    "${X:-d}",
    "${X:?need it}",
    "$1",
    "$X",
    "'",
    "\"",
    "\\",
    "\n",
    "\r\n",
    "\t",
    "#",
    " # c",
    "\u{85}",
    "\u{2028}",
    "\u{2029}",
    "\u{80}",
    "\u{9f}",
    "\u{feff}",
    "\u{fffe}",
    "\u{ffff}",
    "\u{7f}",
    "\u{1b}[0m",
    "é",
    "日本",
    "🙂",
    "a: b",
    "- x",
    "&anchor",
    "*alias",
    "!tag",
    "~",
    "null",
    "yes",
    "off",
    "0x1F",
    "1e3",
    "0o7",
    ".inf",
    "0755",
    "-",
    "--",
    "key=value",
    "postgresql://readonly:hunter2@warehouse:5432/analytics",
    "sk_live_abc123",
    "sk_live_abc${SUFFIX}",
    "/abs/path",
    "./rel:/in:ro",
    "8080:80",
    "${GITHUB_TOKEN}",
    "C:\\x",
    "[[",
    "{a: 1}",
    "x-mcpm",
    "services",
];

const NAMES: &[&str] = &[
    "github",
    "fetch",
    "filesystem",
    "memory",
    "custom",
    "search",
    "db",
    "a",
    "x-y",
    "a_b",
    "db2",
];

const COMMANDS: &[&str] = &[
    "npx",
    "uvx",
    "docker",
    "python",
    "node",
    "uv",
    "bunx",
    "deno",
    "/usr/bin/srv",
    "podman",
];

const ARGS: &[&str] = &[
    "-y",
    "@modelcontextprotocol/server-filesystem",
    "@modelcontextprotocol/server-github",
    "@modelcontextprotocol/server-memory",
    "@modelcontextprotocol/server-postgres",
    "mcp-server-fetch",
    "mcp-server-git",
    "some-unknown-pkg",
    "run",
    "-i",
    "--rm",
    "-e",
    "GITHUB_TOKEN",
    "TOKEN=abc",
    "-v",
    "/data:/data",
    "-p",
    "8080:80",
    "--network",
    "host",
    "--name",
    "--mount",
    "type=bind,src=/a,dst=/b",
    "-it",
    "--unknown",
    "ghcr.io/github/github-mcp-server",
    "mcp/fetch",
    "busybox:latest",
    "-m",
    "my_mcp_server",
    "/projects",
    "--db=mysql://root:s3cretpass@db/x",
];

const NPM: &[&str] = &[
    "@modelcontextprotocol/server-filesystem",
    "@modelcontextprotocol/server-github",
    "@modelcontextprotocol/server-memory",
    "@modelcontextprotocol/server-postgres",
    "@modelcontextprotocol/server-brave-search",
    "some-unknown-pkg",
];

const PYPI: &[&str] = &["mcp-server-fetch", "mcp-server-git", "mcp-server-time"];

const IMAGES: &[&str] = &[
    "ghcr.io/github/github-mcp-server",
    "mcp/fetch",
    "busybox:latest",
    "mcp/postgres:1.0",
];

const KEYS: &[&str] = &[
    "GITHUB_TOKEN",
    "GITHUB_PERSONAL_ACCESS_TOKEN",
    "API_KEY",
    "OPENAI_API_KEY",
    "PASSWORD",
    "DEBUG",
    "PATH",
    "LOG_LEVEL",
    "lower_case",
    "HTTPS_PROXY",
];

const DOCKER_KEYS: &[&str] = &[
    "image",
    "environment",
    "restart",
    "labels",
    "command",
    "user",
    "working_dir",
    "entrypoint",
    "read_only",
    "restart_policy",
    "deploy",
    "healthcheck",
    "ports",
    "volumes",
    "networks",
    "unset",
    "cap_add",
    "container_name",
];

const FIELDS: &[&str] = &[
    "image",
    "command",
    "environment",
    "restart",
    "user",
    "ports",
    "volumes",
    "labels",
    "working_dir",
    "entrypoint",
    "read_only",
    "deploy",
    "stdin_open",
    "tty",
    "networks",
    "profiles",
    "mem_limit",
    "cpus",
    "pids_limit",
    "network_mode",
    "healthcheck",
];

/// A string: mostly from the field's vocabulary (so most profiles load and
/// the fuzzer's time goes past validation), else hostile, raw, or glued.
#[derive(Debug)]
pub enum Word {
    Vocab(u8),
    Hostile(u8),
    Raw(String),
    Pair(u8, u8),
    Long(u8, u16),
}

impl<'a> Arbitrary<'a> for Word {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let tag: u8 = u.arbitrary()?;
        Ok(match tag {
            0..=179 => Word::Vocab(u.arbitrary()?),
            180..=219 => Word::Hostile(u.arbitrary()?),
            220..=237 => Word::Pair(u.arbitrary()?, u.arbitrary()?),
            238..=243 => Word::Long(u.arbitrary()?, u.arbitrary()?),
            _ => Word::Raw(u.arbitrary()?),
        })
    }
}

impl Word {
    pub fn text(&self, vocab: &[&str]) -> String {
        let pick = |list: &[&str], i: u8| list[i as usize % list.len()].to_string();
        match self {
            Word::Vocab(i) => pick(vocab, *i),
            Word::Hostile(i) => pick(HOSTILE, *i),
            Word::Raw(text) => text.clone(),
            Word::Pair(a, b) => format!("{}{}", pick(vocab, *a), pick(HOSTILE, *b)),
            Word::Long(i, n) => pick(HOSTILE, *i).repeat(*n as usize % 1200 + 1),
        }
    }
}

/// A TOML or YAML value built from words.
#[derive(Debug, Arbitrary)]
pub enum Val {
    Text(Word),
    Int(i64),
    Bool(bool),
    Float(f64),
    List(Vec<Word>),
    Map(Vec<(Word, Word)>),
}

impl Val {
    fn toml(&self, vocab: &[&str]) -> toml::Value {
        match self {
            Val::Text(w) => toml::Value::String(w.text(vocab)),
            Val::Int(i) => toml::Value::Integer(*i),
            Val::Bool(b) => toml::Value::Boolean(*b),
            Val::Float(f) if f.is_finite() => toml::Value::Float(*f),
            Val::Float(_) => toml::Value::Float(0.5),
            Val::List(items) => toml::Value::Array(
                items
                    .iter()
                    .map(|w| toml::Value::String(w.text(vocab)))
                    .collect(),
            ),
            Val::Map(pairs) => toml::Value::Table(
                pairs
                    .iter()
                    .map(|(k, v)| (k.text(KEYS), toml::Value::String(v.text(vocab))))
                    .collect(),
            ),
        }
    }

    fn yaml(&self, vocab: &[&str]) -> Value {
        match self {
            Val::Text(w) => Value::String(w.text(vocab)),
            Val::Int(i) => Value::Number((*i).into()),
            Val::Bool(b) => Value::Bool(*b),
            Val::Float(f) => Value::Number((*f).into()),
            Val::List(items) => {
                Value::Sequence(items.iter().map(|w| Value::String(w.text(vocab))).collect())
            }
            Val::Map(pairs) => Value::Mapping(
                pairs
                    .iter()
                    .map(|(k, v)| (Value::String(k.text(KEYS)), Value::String(v.text(vocab))))
                    .collect(),
            ),
        }
    }
}

#[derive(Debug, Arbitrary)]
pub struct GenServer {
    /// Valid names only: hostile names are the `profile` target's work.
    pub name: u8,
    /// Below 40: a remote server (`url`, `headers`), else a stdio one.
    pub kind: u8,
    pub command: Word,
    pub args: Vec<Word>,
    pub env: Vec<(Word, Val)>,
    pub url: Option<Word>,
    pub headers: Vec<(Word, Word)>,
    /// The rarer keys, all at once or none, so half the servers are plain.
    pub extras: Option<Box<Extras>>,
}

#[derive(Debug, Arbitrary)]
pub struct Extras {
    pub enabled: Option<bool>,
    pub strategy: Option<u8>,
    pub volumes: Vec<Word>,
    pub ports: Vec<Word>,
    pub network: Option<bool>,
    pub resources: Option<(Option<Word>, Option<Val>, Option<i64>)>,
    pub docker: Vec<(u8, Val)>,
    pub unset: Vec<u8>,
}

impl GenServer {
    fn table(&self) -> Table {
        let mut t = Table::new();
        let text = |w: &Word, v: &[&str]| toml::Value::String(w.text(v));
        let no_extras = Extras {
            enabled: None,
            strategy: None,
            volumes: Vec::new(),
            ports: Vec::new(),
            network: None,
            resources: None,
            docker: Vec::new(),
            unset: Vec::new(),
        };
        let x = self.extras.as_deref().unwrap_or(&no_extras);
        if let Some(e) = x.enabled {
            t.insert("enabled".into(), toml::Value::Boolean(e));
        }
        if self.kind < 40 {
            let url = self.url.as_ref().unwrap_or(&Word::Vocab(0));
            t.insert(
                "url".into(),
                text(url, &["https://example.com/mcp", "http://u:pw@h/x"]),
            );
            if !self.headers.is_empty() {
                let h: Table = self
                    .headers
                    .iter()
                    .map(|(k, v)| (k.text(&["Authorization"]), text(v, HOSTILE)))
                    .collect();
                t.insert("headers".into(), toml::Value::Table(h));
            }
            return t;
        }
        // Most stdio servers follow a recipe the catalog knows, so they
        // render to a service; the rest are free-form.
        let extra = self.args.iter().map(|a| text(a, ARGS));
        let pick = |list: &[&str]| list[self.kind as usize % list.len()].to_string();
        let (command, args): (String, Vec<toml::Value>) = match self.kind {
            40..=99 => (
                "npx".into(),
                ["-y".to_string(), pick(NPM)]
                    .into_iter()
                    .map(toml::Value::String)
                    .chain(extra)
                    .collect(),
            ),
            100..=139 => (
                "uvx".into(),
                std::iter::once(toml::Value::String(pick(PYPI)))
                    .chain(extra)
                    .collect(),
            ),
            140..=199 => {
                let mut args: Vec<toml::Value> = ["run", "-i", "--rm"]
                    .iter()
                    .map(|a| toml::Value::String(a.to_string()))
                    .collect();
                for pair in self.args.chunks(2) {
                    let flag = ["-e", "-v", "-p", "--network", "-e", "--memory"][pair.len() % 6];
                    args.push(toml::Value::String(flag.into()));
                    args.push(text(&pair[0], ARGS));
                }
                args.push(toml::Value::String(pick(IMAGES)));
                ("docker".into(), args)
            }
            _ => (self.command.text(COMMANDS), extra.collect()),
        };
        t.insert("command".into(), toml::Value::String(command));
        if !args.is_empty() {
            t.insert("args".into(), toml::Value::Array(args));
        }
        if !self.env.is_empty() {
            let env: Table = self
                .env
                .iter()
                .map(|(k, v)| (k.text(KEYS), v.toml(HOSTILE).clone()))
                .map(|(k, v)| match v {
                    toml::Value::Array(_) | toml::Value::Table(_) => {
                        (k, toml::Value::String("v".into()))
                    }
                    other => (k, other),
                })
                .collect();
            t.insert("env".into(), toml::Value::Table(env));
        }
        if let Some(s) = x.strategy {
            let s = ["always-on", "pre-warmed", "on-demand"][s as usize % 3];
            t.insert("strategy".into(), toml::Value::String(s.into()));
        }
        for (key, list, vocab) in [
            (
                "volumes",
                &x.volumes,
                &["./w:/projects:ro", "data:/data", "/a:/b"][..],
            ),
            ("ports", &x.ports, &["8080:80", "127.0.0.1:1:2", "9000"][..]),
        ] {
            if !list.is_empty() {
                t.insert(
                    key.into(),
                    toml::Value::Array(list.iter().map(|w| text(w, vocab)).collect()),
                );
            }
        }
        if let Some(n) = x.network {
            let n = if n { "none" } else { "bridge" };
            t.insert("network".into(), toml::Value::String(n.into()));
        }
        if let Some((memory, cpus, pids)) = &x.resources {
            let mut r = Table::new();
            if let Some(m) = memory {
                r.insert("memory".into(), text(m, &["256m", "1g", "0"]));
            }
            if let Some(c) = cpus {
                r.insert("cpus".into(), c.toml(&["0.25", "2", "x"]));
            }
            if let Some(p) = pids {
                r.insert("pids".into(), toml::Value::Integer(*p));
            }
            t.insert("resources".into(), toml::Value::Table(r));
        }
        if !x.docker.is_empty() {
            let d: Table = x
                .docker
                .iter()
                .map(|(k, v)| {
                    let key = DOCKER_KEYS[*k as usize % DOCKER_KEYS.len()];
                    (key.to_string(), v.toml(ARGS))
                })
                .collect();
            t.insert("docker".into(), toml::Value::Table(d));
        }
        if !x.unset.is_empty() {
            let u = x
                .unset
                .iter()
                .map(|i| toml::Value::String(FIELDS[*i as usize % FIELDS.len()].into()))
                .collect();
            t.insert("unset".into(), toml::Value::Array(u));
        }
        t
    }
}

fn name(i: u8) -> String {
    NAMES[i as usize % NAMES.len()].to_string()
}

#[derive(Debug, Arbitrary)]
pub struct GenProfile {
    pub name: u8,
    pub description: Option<Word>,
    pub conflict: Option<u8>,
    pub ignore: Vec<Word>,
    pub servers: Vec<GenServer>,
}

impl GenProfile {
    pub fn table(&self) -> Table {
        let mut t = Table::new();
        t.insert(
            "name".into(),
            toml::Value::String(["dev", "team", "p"][self.name as usize % 3].into()),
        );
        if let Some(d) = &self.description {
            t.insert("description".into(), toml::Value::String(d.text(HOSTILE)));
        }
        let mut docker = Table::new();
        if let Some(c) = self.conflict {
            let c = ["profile_wins", "docker_wins", "merge", "manual"][c as usize % 4];
            docker.insert("conflict_resolution".into(), toml::Value::String(c.into()));
        }
        if !self.ignore.is_empty() {
            let i = self
                .ignore
                .iter()
                .map(|w| toml::Value::String(w.text(NAMES)))
                .collect();
            docker.insert("ignore_services".into(), toml::Value::Array(i));
        }
        if !docker.is_empty() {
            t.insert("docker".into(), toml::Value::Table(docker));
        }
        let servers: Table = self
            .servers
            .iter()
            .take(8)
            .map(|s| (name(s.name), toml::Value::Table(s.table())))
            .collect();
        t.insert("servers".into(), toml::Value::Table(servers));
        t
    }

    pub fn text(&self) -> String {
        toml::to_string(&self.table()).unwrap_or_default()
    }
}

/// An edit made to the profile between two syncs.
#[derive(Debug, Arbitrary)]
pub enum ProfileOp {
    Remove(u8),
    Add(Box<GenServer>),
    Replace(u8, Box<GenServer>),
    SetEnv(u8, Word, Word),
    SetArg(u8, u8, Word),
    Disable(u8),
    SetDocker(u8, u8, Val),
}

/// An edit made to the compose file by hand.
#[derive(Debug, Arbitrary)]
pub enum ComposeOp {
    SetField(u8, u8, Val),
    RemoveField(u8, u8),
    RemoveService(u8),
    AddService(Word, Word, Vec<(Word, Word)>),
    SetEnv(u8, Word, Word),
    RemoveBase,
    SetTop(u8, Val),
    RenameService(u8, Word),
}

fn nth_key(table: &Table, i: u8) -> Option<String> {
    let n = table.len();
    (n > 0).then(|| table.keys().nth(i as usize % n).cloned())?
}

fn server(servers: &mut Table, i: u8) -> Option<&mut Table> {
    let key = nth_key(servers, i)?;
    servers.get_mut(&key)?.as_table_mut()
}

pub fn apply_profile(profile: &mut Table, op: &ProfileOp) {
    let Some(toml::Value::Table(servers)) = profile.get_mut("servers") else {
        return;
    };
    match op {
        ProfileOp::Remove(i) => {
            if let Some(key) = nth_key(servers, *i) {
                servers.remove(&key);
            }
        }
        ProfileOp::Add(s) => {
            servers.insert(name(s.name), toml::Value::Table(s.table()));
        }
        ProfileOp::Replace(i, s) => {
            if let Some(key) = nth_key(servers, *i) {
                servers.insert(key, toml::Value::Table(s.table()));
            }
        }
        ProfileOp::SetEnv(i, k, v) => {
            if let Some(t) = server(servers, *i) {
                let env = t
                    .entry("env")
                    .or_insert_with(|| toml::Value::Table(Table::new()));
                if let Some(env) = env.as_table_mut() {
                    env.insert(k.text(KEYS), toml::Value::String(v.text(HOSTILE)));
                }
            }
        }
        ProfileOp::SetArg(i, j, w) => {
            if let Some(t) = server(servers, *i)
                && let Some(args) = t.get_mut("args").and_then(toml::Value::as_array_mut)
                && !args.is_empty()
            {
                let n = args.len();
                args[*j as usize % n] = toml::Value::String(w.text(ARGS));
            }
        }
        ProfileOp::Disable(i) => {
            if let Some(t) = server(servers, *i) {
                t.insert("enabled".into(), toml::Value::Boolean(false));
            }
        }
        ProfileOp::SetDocker(i, k, v) => {
            if let Some(t) = server(servers, *i) {
                let docker = t
                    .entry("docker")
                    .or_insert_with(|| toml::Value::Table(Table::new()));
                if let Some(docker) = docker.as_table_mut() {
                    let key = DOCKER_KEYS[*k as usize % DOCKER_KEYS.len()];
                    docker.insert(key.into(), v.toml(ARGS));
                }
            }
        }
    }
}

fn nth_service(services: &Mapping, i: u8) -> Option<Value> {
    let n = services.len();
    (n > 0).then(|| services.keys().nth(i as usize % n).cloned())?
}

fn service(services: &mut Mapping, i: u8) -> Option<&mut Mapping> {
    let key = nth_service(services, i)?;
    services.get_mut(&key)?.as_mapping_mut()
}

pub fn apply_compose(document: &mut Value, op: &ComposeOp) {
    let Some(root) = document.as_mapping_mut() else {
        return;
    };
    if let ComposeOp::RemoveBase = op {
        root.remove("x-mcpm");
        return;
    }
    if let ComposeOp::SetTop(k, v) = op {
        let key = [
            "volumes", "networks", "name", "services", "x-mcpm", "version",
        ][*k as usize % 6];
        root.insert(Value::String(key.into()), v.yaml(NAMES));
        return;
    }
    let services = root
        .entry(Value::String("services".into()))
        .or_insert_with(|| Value::Mapping(Mapping::new()));
    let Some(services) = services.as_mapping_mut() else {
        return;
    };
    let field = |i: u8| Value::String(FIELDS[i as usize % FIELDS.len()].into());
    match op {
        ComposeOp::SetField(i, f, v) => {
            if let Some(s) = service(services, *i) {
                s.insert(field(*f), v.yaml(ARGS));
            }
        }
        ComposeOp::RemoveField(i, f) => {
            if let Some(s) = service(services, *i) {
                s.remove(field(*f));
            }
        }
        ComposeOp::RemoveService(i) => {
            if let Some(key) = nth_service(services, *i) {
                services.remove(&key);
            }
        }
        ComposeOp::AddService(name, image, env) => {
            let mut s = Mapping::new();
            s.insert("image".into(), Value::String(image.text(ARGS)));
            if !env.is_empty() {
                let e: Mapping = env
                    .iter()
                    .map(|(k, v)| (Value::String(k.text(KEYS)), Value::String(v.text(HOSTILE))))
                    .collect();
                s.insert("environment".into(), Value::Mapping(e));
            }
            services.insert(Value::String(name.text(NAMES)), Value::Mapping(s));
        }
        ComposeOp::SetEnv(i, k, v) => {
            if let Some(s) = service(services, *i) {
                let env = s
                    .entry(Value::String("environment".into()))
                    .or_insert_with(|| Value::Mapping(Mapping::new()));
                if let Some(env) = env.as_mapping_mut() {
                    env.insert(Value::String(k.text(KEYS)), Value::String(v.text(HOSTILE)));
                }
            }
        }
        ComposeOp::RenameService(i, name) => {
            if let Some(key) = nth_service(services, *i)
                && let Some(value) = services.remove(&key)
            {
                services.insert(Value::String(name.text(NAMES)), value);
            }
        }
        ComposeOp::RemoveBase | ComposeOp::SetTop(..) => {}
    }
}

/// A sync scenario: a profile synced once (the base), then both sides edited.
#[derive(Debug, Arbitrary)]
/// The profile comes last: `arbitrary` gives the last field the rest of the
/// input, so the edits are not starved.
pub struct SyncCase {
    pub options: u8,
    /// Write the edited compose file with mcpm's own emitter or serde's.
    pub own_emitter: bool,
    pub compose_ops: Vec<ComposeOp>,
    pub profile_ops: Vec<ProfileOp>,
    pub profile: GenProfile,
}
