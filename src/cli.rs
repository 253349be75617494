//! The command line, declared with clap derive: definitions only, no logic.
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Turn profiles of MCP servers into Docker Compose deployments and keep the two in sync.
#[derive(Debug, Parser)]
#[command(name = "mcpm", version = crate::VERSION, about, long_about = None, propagate_version = true)]
#[command(
    after_help = "Examples:\n  mcpm profile import ~/.config/Claude/claude_desktop_config.json -o work.toml\n  mcpm docker generate profiles-example/dev.toml\n  mcpm docker generate work -o docker-compose.yml\n  mcpm docker generate prod -o compose.yaml --check\n  mcpm completions bash > /etc/bash_completion.d/mcpm"
)]
pub struct Cli {
    /// Directory with `profiles/` and `templates/` [default: $MCPM_CONFIG_DIR, else the platform config dir, e.g. ~/.config/mcpm]
    #[arg(long, global = true, value_name = "DIR")]
    pub config_dir: Option<PathBuf>,

    /// Print only errors: no warnings, no summaries.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// The Docker Engine to use (unix:///path, tcp://HOST:PORT), like `docker -H`.
    /// Beats DOCKER_HOST, DOCKER_CONTEXT and the current context.
    #[arg(
        short = 'H',
        long,
        global = true,
        value_name = "URL",
        conflicts_with = "context"
    )]
    pub host: Option<String>,

    /// The docker context to use (`docker context ls`), like `docker --context`.
    /// Beats DOCKER_HOST, DOCKER_CONTEXT and the current context.
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Work with Docker Compose deployments of MCP servers.
    #[command(
        subcommand,
        after_help = "Examples:\n  mcpm docker generate work -o docker-compose.yml   # profile -> compose file\n  mcpm docker sync work                              # bring profile and compose file into step\n  mcpm docker deploy --profile work --wait           # converge the engine to the file\n  mcpm docker status work                            # profile, compose and container side by side\n  mcpm docker status -p mcp-work                     # a project as the engine has it, no file needed\n  mcpm docker logs fetch --profile work -f           # follow one server's output\n  mcpm docker down --profile work\n\nA profile named NAME lives in <config dir>/profiles/NAME.toml; its compose file\ndefaults to <config dir>/compose/NAME/compose.yaml."
    )]
    Docker(DockerCommand),
    /// Work with profiles: list, show, add and remove servers, or import a client's config.
    #[command(
        subcommand,
        after_help = "Examples:\n  mcpm profile ls\n  mcpm profile add work fetch --command uvx --arg mcp-server-fetch\n  mcpm profile add work github --from-client ~/.config/Claude/claude_desktop_config.json --sync-docker\n  mcpm profile show work github --json\n  mcpm profile rm work fetch --sync-docker\n  mcpm profile import .vscode/mcp.json -o work.toml\n  mcpm profile import --from-mcpm work -o work.toml"
    )]
    Profile(ProfileCommand),
    /// Add a server to a profile (MCPM's spelling of `mcpm profile add`).
    #[command(after_help = ADD_EXAMPLES)]
    Add(ProfileAddArgs),
    /// Remove a server from a profile (MCPM's spelling of `mcpm profile rm`).
    #[command(visible_alias = "remove", after_help = RM_EXAMPLES)]
    Rm(ProfileRmArgs),
    /// Point MCP clients (Claude Desktop, Claude Code, Cursor, VS Code, Windsurf) at a profile's servers.
    #[command(subcommand)]
    Client(ClientCommand),
    /// mcpm as an MCP server for agents: serve its operations as tools, manage its tokens.
    #[command(
        subcommand,
        after_help = "Examples:\n  mcpm mcp serve --profile dev --role read            # stdio, for Claude Desktop / Claude Code\n  mcpm mcp token create --name ci --role operate      # prints the secret once\n  mcpm mcp serve --profile dev --http 127.0.0.1:8765  # streamable HTTP at /mcp, bearer tokens"
    )]
    Mcp(McpCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(
        after_help = "Examples:\n  mcpm completions bash > ~/.local/share/bash-completion/completions/mcpm\n  mcpm completions zsh > ~/.zfunc/_mcpm        # with fpath+=(~/.zfunc) before compinit\n  mcpm completions fish > ~/.config/fish/completions/mcpm.fish\n\nThese scripts complete commands and flags. To also complete profile, server\nand service names, load the dynamic completer instead (it asks mcpm itself):\n  bash:  echo 'source <(COMPLETE=bash mcpm)' >> ~/.bashrc\n  zsh:   echo 'source <(COMPLETE=zsh mcpm)' >> ~/.zshrc\n  fish:  echo 'COMPLETE=fish mcpm | source' >> ~/.config/fish/config.fish"
    )]
    Completions(CompletionsArgs),
    /// Write the man pages (one per command) and the shell completion scripts
    /// into a directory, laid out as packages install them (used by scripts/release.sh).
    #[command(hide = true)]
    DistAssets(DistAssetsArgs),
}

#[derive(Debug, Args)]
pub struct DistAssetsArgs {
    /// The directory to write `man/*.1` and `completions/{bash,zsh,fish}/…` into.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum DockerCommand {
    /// Generate a compose file from a profile.
    #[command(
        after_help = "Examples:\n  mcpm docker generate profiles-example/dev.toml          # print to stdout\n  mcpm docker generate dev -o docker-compose.yml          # write the file (and .env for secrets)\n  mcpm docker generate dev -o docker-compose.yml --check  # exit 4 if the file is stale\n  mcpm docker generate dev --explain                      # how each server was matched\n\nLiteral secrets in the profile never reach the compose file: they become ${VAR}\nreferences and, with -o, are written to a .env file beside it with mode 0600."
    )]
    Generate(GenerateArgs),
    /// Check that the compose files of the profiles among FILES are current (CI, pre-commit).
    #[command(
        after_help = "Examples:\n  mcpm docker check profiles/*.toml                   # each profile's compose file is current\n  mcpm docker check --sync profiles/dev.toml          # profile and compose file in step\n  mcpm docker check --format github $(git ls-files)   # annotations for GitHub Actions\n\nFILES may be any files (a commit's, as pre-commit passes them): a .toml file with a\n[servers] table is a profile; a YAML file with an x-mcpm block is a compose file and\nstands for its profile (looked for beside it, in the folders above it up to the current\ndirectory, and in their profiles/ folders); other files are passed over.\nWithout --sync, each compose file must be what `mcpm docker generate PROFILE` writes;\nwith --sync, `mcpm docker sync PROFILE` must have nothing to do.\nExit codes: 0 all current; 4 some file is stale; 2 invalid input (a broken profile, a\ncompose file whose profile is not found); 3 compose edits no sync can bring over.\nWith several failures, the exit code is the first one's."
    )]
    Check(CheckArgs),
    /// Bring a profile and its compose file into step, in both directions.
    #[command(
        after_help = "Examples:\n  mcpm docker sync work                                 # on a terminal, asks about each conflict\n  mcpm docker sync work --dry-run                       # show the diffs of both files, write nothing\n  mcpm docker sync prod --strategy profile_wins --yes --json   # in CI\n  mcpm docker sync prod --check                         # exit 4 if a sync would change anything\n\nChanges are detected against the base recorded in the compose file's `x-mcpm`\nblock at the last sync, so a fresh checkout syncs like the machine that wrote it.\nExit codes: 0 in step, 2 invalid input, 3 conflicts left unresolved, 4 --check found work."
    )]
    Sync(SyncArgs),
    /// Converge the Docker Engine to the compose file (create, recreate, start).
    #[command(
        after_help = "Examples:\n  mcpm docker deploy --profile dev                  # the profile's compose file\n  mcpm docker deploy -f docker-compose.yml --dry-run  # print the plan only\n  mcpm docker deploy fetch                          # one server (and what it depends on)\n  mcpm docker deploy --wait --timeout 120 --json    # scripted: wait until healthy\n  mcpm docker deploy --wait --probe                 # ...and until each stdio server answers MCP\n\nOnly what changed is recreated: a container whose config hash and image are current\nis left alone, so a second deploy touches nothing. On-demand servers are created but\nnot started unless named. Exit code 1 when any step fails; a rerun converges."
    )]
    Deploy(DeployArgs),
    /// Bring a profile to the engine: sync, deploy, and point a running gateway at the result.
    #[command(
        after_help = "Examples:\n  mcpm docker up dev                    # sync both ways, deploy, restart a gateway on an older file\n  mcpm docker up dev --wait --json      # scripted: wait until healthy, one JSON document\n  mcpm docker up dev --wait --probe     # ...and until each stdio server answers MCP\n  mcpm docker up dev --dry-run          # the sync's diff; nothing written or deployed\n  mcpm docker up dev --strategy merge   # settle conflicts field by field\n\nThe same as `mcpm docker sync PROFILE --deploy`, then: a gateway running for the project\nreads its compose file once at start, so one started before the file was written is\nrestarted on the same address (its clients reconnect on their next request).\nExit codes: 0 ok; 1 a deploy step failed or the engine is unreachable; 2 invalid input;\n3 conflicts left unresolved (nothing deployed)."
    )]
    Up(UpArgs),
    /// Show each server's profile, compose and container state side by side.
    #[command(
        after_help = "Examples:\n  mcpm docker status dev\n  mcpm docker status -f docker-compose.yml --json\n  mcpm docker status dev --stats                  # with MEM and CPU % (about a second longer)\n  mcpm docker status dev --probe                  # is each server answering MCP?\n  mcpm docker status dev --probe --probe-timeout 10 --json\n\nWorks without a Docker Engine: the container column then says `unreachable`."
    )]
    Status(StatusArgs),
    /// Show the CPU, memory, network, block I/O and pids of the project's containers.
    #[command(
        after_help = "Examples:\n  mcpm docker stats --profile dev                 # a live table, refreshed in place, until Ctrl-C\n  mcpm docker stats fetch time --no-stream        # one reading\n  mcpm docker stats -p mcp-dev --json             # one JSON line per refresh\n  mcpm docker stats --no-stream --alert memory=90%,cpu=80%,pids=90% --json\n\nFigures as `docker stats` computes them: CPU % over the last second (100% = one CPU),\nmemory without the page cache against the limit, network and block I/O since start,\npids against the service's pids_limit (`-` when unlimited). Containers that are not\nrunning are listed without numbers.\n--alert METRIC=PERCENT: memory and pids are % of the limit, cpu is CPU %; a value at or\nabove its threshold is crossed. While streaming, crossed values are marked `!` and each\ncrossing is said once on stderr.\nExit codes: 0 ok (also when streaming ends with Ctrl-C); 1 engine error; 2 invalid input\n(an unknown service, a bad --alert); 5 with --no-stream, a threshold was crossed (each\none named on stderr, and in the JSON's `alerts`)."
    )]
    Stats(StatsArgs),
    /// Print the logs of a deployed server.
    #[command(
        after_help = "Examples:\n  mcpm docker logs github --profile dev\n  mcpm docker logs fetch -f --tail 50\n  mcpm docker logs memory --since 10m"
    )]
    Logs(LogsArgs),
    /// Stop deployed servers (all, or the ones named).
    #[command(
        after_help = "Examples:\n  mcpm docker stop --profile dev\n  mcpm docker stop github fetch -f docker-compose.yml -t 30"
    )]
    Stop(StopArgs),
    /// Restart deployed servers (all, or the ones named).
    #[command(
        after_help = "Examples:\n  mcpm docker restart --profile dev\n  mcpm docker restart memory\n\nOn-demand servers that were never started stay stopped unless named."
    )]
    Restart(StopArgs),
    /// Remove the project's containers and networks (and volumes with --volumes).
    #[command(
        after_help = "Examples:\n  mcpm docker down --profile dev\n  mcpm docker down -p mcp-dev --volumes   # by project name, without the file"
    )]
    Down(DownArgs),
    /// Pull the images of the compose file's services.
    #[command(
        after_help = "Examples:\n  mcpm docker pull --profile dev\n  mcpm docker pull github -f docker-compose.yml"
    )]
    Pull(PullArgs),
    /// Serve the project's stdio servers to MCP clients (streamable HTTP, and `connect`).
    #[command(
        after_help = "Examples:\n  mcpm docker gateway --profile dev --detach       # start it in the background\n  mcpm docker gateway --profile dev                # in the foreground, until Ctrl-C\n  mcpm docker gateway status --profile dev --json\n  mcpm docker gateway stop --profile dev\n\nOne gateway per compose project. It listens on 127.0.0.1 on the port it picked at its\nfirst start (kept in <config dir>/gateway/PROJECT/port so client configs stay valid);\nevery HTTP request needs `Authorization: Bearer <token>` (the token is in\n<config dir>/gateway/token). MCP clients launch `mcpm docker connect SERVER`, which\nstarts the gateway when it is not running.\nExit codes: 0 ok (also: already running, not running), 1 runtime failure (port taken),\n2 invalid input."
    )]
    Gateway(GatewayArgs),
    /// The stdio command an MCP client launches: bridges to the project's gateway.
    #[command(
        after_help = "Examples:\n  mcpm docker connect time --profile dev\n  mcpm docker connect fetch -f docker-compose.yml\n\nSpeaks MCP on stdin/stdout and forwards to the project's gateway over its unix socket,\nstarting the gateway in the background when none runs. If the gateway goes away, the\nrequests in flight get a JSON-RPC error and the next request reconnects.\nExit codes: 0 when stdin closes, 1 when the gateway cannot be started, 2 for an unknown\nor remote server."
    )]
    Connect(ConnectArgs),
    /// Show which Docker Engine mcpm uses and why, and what it answers.
    #[command(
        after_help = "Examples:\n  mcpm docker engine                       # the chosen engine, TLS, API and server version\n  mcpm docker engine --json                # one JSON document, for scripts\n  mcpm --context dind docker engine        # what a context resolves to\n  DOCKER_HOST=tcp://10.0.0.5:2376 DOCKER_TLS_VERIFY=1 mcpm docker engine\n\nThe engine is chosen as the docker CLI chooses it: --context, --host/-H, DOCKER_HOST,\nDOCKER_CONTEXT, currentContext in $DOCKER_CONFIG/config.json (default ~/.docker),\nthen unix:///var/run/docker.sock. The output lists what each of these said.\nExit codes: 0 the engine answered; 1 it did not (the choice is still printed);\n2 the choice itself failed (a missing context, ssh://, conflicting flags)."
    )]
    Engine(EngineArgs),
    /// Check that the profile's services can work in a container, and fix what is safe to.
    #[command(
        after_help = "Examples:\n  mcpm docker doctor work                 # list what would keep services from working\n  mcpm docker doctor work --fix           # apply the safe fixes to the profile (a .bak is kept)\n  mcpm docker doctor work --pin           # pin images to their digest (needs the engine)\n  mcpm docker doctor work --json          # one JSON document, for scripts\n  mcpm docker doctor work --strict        # warnings count as errors (CI)\n  mcpm docker doctor dev.toml -f docker-compose.yml\n\nChecks: localhost in a containerized server's values (the container itself), host paths\nno volume covers, variables and VS Code inputs with no value, a network the server needs\nbut lacks (or gets without needing it), images not pinned. `generate` and `sync` print\nthe same findings as warnings.\nExit codes: 0 nothing found, or warnings only; 2 errors remain (with --strict: any\nfinding), or invalid input; 1 runtime failure (with --pin: no engine reachable; nothing\nis written)."
    )]
    Doctor(DoctorArgs),
}

#[derive(Debug, Args)]
pub struct EngineArgs {
    /// Print one JSON document.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The profile: a path to a .toml file, or a name in <config dir>/profiles/.
    #[arg(add = clap_complete::ArgValueCompleter::new(crate::completion::complete_profile))]
    pub profile: String,

    /// The compose file whose `.env` and other services count [default: the profile's].
    #[arg(
        short = 'f',
        long = "compose-file",
        visible_alias = "file",
        value_name = "FILE"
    )]
    pub compose_file: Option<PathBuf>,

    /// Print one JSON document (findings, and what --fix fixed).
    #[arg(long)]
    pub json: bool,

    /// Apply every fix that is safe to the profile (lossless, atomic, FILE.bak kept),
    /// then check again and report what is left.
    #[arg(long)]
    pub fix: bool,

    /// Pin every unpinned image: resolve its digest (the engine's local image,
    /// else the registry) and write `[servers.X.docker] image = "repo:tag@sha256:…"`
    /// (lossless, atomic, FILE.bak kept). Alone it applies only the pins; with
    /// --fix, every fix. Needs the Docker Engine.
    #[arg(long)]
    pub pin: bool,

    /// Warnings count as errors for the exit code.
    #[arg(long)]
    pub strict: bool,

    /// Wait at most this long for another mcpm run on the profile; then
    /// exit 1 naming the lock file and the pid holding it.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub lock_timeout: u64,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct GatewayArgs {
    #[command(subcommand)]
    pub command: Option<GatewayCommand>,

    #[command(flatten)]
    pub target: ComposeTarget,

    /// Where to listen [default: 127.0.0.1 on the port of the first start].
    /// Anything but loopback makes the gateway reachable from the network.
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<std::net::SocketAddr>,

    /// Run in the background (output in <config dir>/gateway/PROJECT/gateway.log).
    #[arg(long)]
    pub detach: bool,
}

#[derive(Debug, Subcommand)]
pub enum GatewayCommand {
    /// Show whether the project's gateway runs, and its sessions per server.
    Status(GatewayStatusArgs),
    /// Stop the project's gateway (SIGTERM, then SIGKILL after 10 s).
    Stop(GatewayStopArgs),
}

#[derive(Debug, Args)]
pub struct GatewayStatusArgs {
    #[command(flatten)]
    pub target: ComposeTarget,

    /// Print JSON (`{"running":false}` when none runs).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct GatewayStopArgs {
    #[command(flatten)]
    pub target: ComposeTarget,
}

#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// The server (its name in the profile; `io.mcpm.server` in the compose file).
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::completion::server_candidates))]
    pub server: String,

    #[command(flatten)]
    pub target: ComposeTarget,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Files to look at: profiles, compose files, and anything else (passed over).
    #[arg(value_name = "FILES")]
    pub files: Vec<PathBuf>,

    /// Check that sync has nothing to do (`sync --check`), instead of that
    /// each compose file is what generate writes (`generate --check`).
    #[arg(long)]
    pub sync: bool,

    /// How to report: text (a diff per stale file), json, or github (a GitHub
    /// Actions `::error` annotation on each drifted service's line).
    #[arg(long, value_enum, value_name = "FORMAT", default_value = "text")]
    pub format: crate::ci::Format,

    /// Wait at most this long for another mcpm run on the same files; then
    /// exit 1 naming the lock file and the pid holding it.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub lock_timeout: u64,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The profile: a path to a .toml file, or a name in <config dir>/profiles/.
    #[arg(add = clap_complete::ArgValueCompleter::new(crate::completion::complete_profile))]
    pub profile: String,

    /// The compose file [default: the profile's `[docker] compose_file`, else
    /// <config dir>/compose/NAME/compose.yaml for a profile kept in the config
    /// dir, else docker-compose.yml beside the profile].
    #[arg(short = 'f', long, value_name = "FILE")]
    pub compose_file: Option<PathBuf>,

    /// Which way changes may flow.
    #[arg(long, value_enum, default_value = "both")]
    pub direction: crate::sync::Direction,

    /// How to settle servers changed on both sides [default: the profile's
    /// `[docker] conflict_resolution`, else manual].
    #[arg(long, value_enum)]
    pub strategy: Option<crate::profile::ConflictStrategy>,

    /// Never prompt: conflicts the strategy leaves open are listed and exit 3.
    #[arg(short, long)]
    pub yes: bool,

    /// Print the unified diffs of both files and write nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Write nothing; exit 4 if a sync would change either file.
    #[arg(long)]
    pub check: bool,

    /// Print a JSON report of what changed per server (`--format json`).
    #[arg(long, conflicts_with = "format")]
    pub json: bool,

    /// How to report: text, json (as --json), or github (with --check: a
    /// GitHub Actions `::error` annotation on each server's line of the
    /// compose file).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<crate::ci::Format>,

    /// Import services mcpm does not own (hand-added to the compose file) as
    /// new servers [default: the profile's `[docker] import_services`, else no].
    #[arg(long, conflicts_with = "no_import")]
    pub import: bool,

    /// Leave services mcpm does not own alone, even with `[docker]
    /// import_services = true`.
    #[arg(long)]
    pub no_import: bool,

    /// Deploy after a successful sync [default: the profile's `[docker] auto_deploy`].
    #[arg(long, conflicts_with = "no_deploy")]
    pub deploy: bool,

    /// Do not deploy, even with `[docker] auto_deploy = true`.
    #[arg(long)]
    pub no_deploy: bool,

    /// Wait at most this long for another mcpm run on the same files; then
    /// exit 1 naming the lock file and the pid holding it.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub lock_timeout: u64,
}

impl SyncArgs {
    /// `--import`/`--no-import` as `SyncOptions::import` takes it: `None`
    /// leaves the choice to the profile's `[docker] import_services`.
    pub fn import_choice(&self) -> Option<bool> {
        match (self.import, self.no_import) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        }
    }
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The profile: a path to a .toml file, or a name in <config dir>/profiles/.
    #[arg(add = clap_complete::ArgValueCompleter::new(crate::completion::complete_profile))]
    pub profile: String,

    /// Write the compose file here (atomically, keeping FILE.bak) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Write nothing; exit 4 and show a diff when the file differs from what
    /// would be generated. Checks -o FILE, else the profile's compose file.
    #[arg(long)]
    pub check: bool,

    /// Fail when a server cannot be containerized, instead of skipping it.
    #[arg(long)]
    pub strict: bool,

    /// Show how every server was matched (rule, catalog entry, image, why).
    #[arg(long)]
    pub explain: bool,

    /// Print a JSON report (servers, secrets, warnings) instead of the YAML;
    /// with --check, a JSON report of what drifted (`--format json`).
    #[arg(long, conflicts_with = "format")]
    pub json: bool,

    /// How to report: text, json (as --json), or github (with --check: a
    /// GitHub Actions `::error` annotation on each drifted service's line).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<crate::ci::Format>,

    /// Overwrite FILE even when it holds services mcpm does not own.
    #[arg(long)]
    pub force: bool,

    /// Wait at most this long for another mcpm run on the same files; then
    /// exit 1 naming the lock file and the pid holding it.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub lock_timeout: u64,
}

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Create a profile from an MCP client config or an MCPM profile.
    #[command(
        long_about = "Create a TOML profile from the servers you already have: an MCP client's JSON config \
(Claude Desktop, Cursor, Claude Code, Windsurf: `mcpServers`; VS Code: `servers`), or the servers \
MCPM tags with a profile name in ~/.config/mcpm/servers.json.\n\n\
Server names become valid profile names (lowercase letters, digits, `_`, `.`, `-`; renamed servers \
are listed), `disabled` servers get `enabled = false`, and fields a profile cannot hold are reported, \
not silently dropped. The result is checked to load as a profile before it is printed or written.",
        after_help = "Examples:\n  mcpm profile import ~/Library/Application\\ Support/Claude/claude_desktop_config.json\n  mcpm profile import ~/.config/Claude/claude_desktop_config.json -o work.toml\n  mcpm profile import .cursor/mcp.json --name app -o profiles/app.toml\n  mcpm profile import .vscode/mcp.json --json\n  mcpm profile import --from-mcpm work -o work.toml\n  mcpm profile import --from-mcpm work --mcpm-config backup/servers.json\n\nThen: mcpm docker generate work.toml"
    )]
    Import(ImportArgs),
    /// Add a server to a profile (creating the profile when it is new).
    #[command(
        long_about = "Add a server to a profile: a stdio server (--command, --arg, --env), a remote one \
(--url, --header), or the entry of an MCP client config (--from-client FILE). The profile is edited \
in place: comments, key order and every other server stay as they were; the old file is kept as \
FILE.bak. The edited profile must load like any profile before it is written.\n\n\
PROFILE is a path to a .toml file or a name in <config dir>/profiles/; a name (or path) that does \
not exist yet creates the profile. A server that exists already is refused (exit 2) unless --force.",
        after_help = ADD_EXAMPLES
    )]
    Add(ProfileAddArgs),
    /// Remove a server from a profile.
    #[command(visible_alias = "remove", after_help = RM_EXAMPLES)]
    Rm(ProfileRmArgs),
    /// List the profiles in <config dir>/profiles, or the servers of one.
    #[command(
        visible_alias = "list",
        after_help = "Examples:\n  mcpm profile ls                 # the profiles in <config dir>/profiles, with server counts\n  mcpm profile ls work            # the servers of one: kind, command or url, enabled\n  mcpm profile ls ./team.toml --json\n\nSecrets in arguments and urls are shown as ****."
    )]
    Ls(ProfileLsArgs),
    /// Show one server of a profile (secrets masked).
    #[command(
        after_help = "Examples:\n  mcpm profile show work github\n  mcpm profile show ./team.toml fetch --json\n\nValues of secret-looking keys (GITHUB_TOKEN, Authorization, --api-key …) and URL\npasswords are shown as ****; `${VAR}` references are shown as they are."
    )]
    Show(ProfileShowArgs),
}

const ADD_EXAMPLES: &str = "Examples:\n  mcpm profile add work fetch --command uvx --arg mcp-server-fetch\n  mcpm profile add work github --command npx --arg -y --arg @modelcontextprotocol/server-github \\\n      --env 'GITHUB_PERSONAL_ACCESS_TOKEN=${GITHUB_TOKEN}'\n  mcpm profile add work docs --url https://mcp.example.com/mcp --header 'Authorization=Bearer ${DOCS_TOKEN}'\n  mcpm profile add work github --from-client ~/.config/Claude/claude_desktop_config.json\n  mcpm profile add work gh --from-client .vscode/mcp.json --server github --force\n  mcpm profile add work fetch --command uvx --arg mcp-server-fetch --sync-docker --deploy\n  mcpm add fetch --target %work --command uvx --arg mcp-server-fetch --sync-docker   # MCPM's syntax\n\n--sync-docker then syncs that one server into the profile's compose file (profile -> compose),\nso `mcpm docker sync PROFILE --check` passes; --deploy also deploys it.\nExit codes: 0 done, 1 runtime failure, 2 invalid input (nothing written), 3 sync conflicts left open.";

const RM_EXAMPLES: &str = "Examples:\n  mcpm profile rm work fetch\n  mcpm profile rm work fetch --sync-docker            # and remove its compose service\n  mcpm profile rm work fetch --sync-docker --deploy   # and converge the engine\n  mcpm rm fetch --target %work                        # MCPM's syntax\n\nExit codes: 0 done, 1 runtime failure, 2 no such server or invalid input (nothing written),\n3 sync conflicts left open.";

/// Which profile and server a `profile add`/`rm` edits: `PROFILE SERVER`, or
/// `SERVER --target %PROFILE` as MCPM writes it.
#[derive(Debug, Args)]
pub struct ProfileServerArgs {
    /// PROFILE SERVER; only SERVER when --target names the profile.
    #[arg(value_name = "PROFILE SERVER", num_args = 1..=2, required = true)]
    pub names: Vec<String>,

    /// The profile, as MCPM writes it: `%NAME` (or a path). Without `%`, it must
    /// name an existing profile (in MCPM a bare target is a client).
    #[arg(short = 't', long, value_name = "%PROFILE")]
    pub target: Option<String>,
}

/// After the profile is written: sync the server into the compose file.
#[derive(Debug, Args)]
pub struct SyncDockerArgs {
    /// Then sync this server into the profile's compose file (profile -> compose).
    #[arg(long)]
    pub sync_docker: bool,

    /// With --sync-docker: deploy after the sync.
    #[arg(long, requires = "sync_docker")]
    pub deploy: bool,

    /// Wait at most this long for another mcpm run on the same files; then
    /// exit 1 naming the lock file and the pid holding it.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub lock_timeout: u64,
}

#[derive(Debug, Args)]
pub struct ProfileAddArgs {
    #[command(flatten)]
    pub which: ProfileServerArgs,

    /// A stdio server: the program to run.
    #[arg(long, value_name = "C", conflicts_with_all = ["url", "from_client"])]
    pub command: Option<String>,

    /// An argument of --command (repeatable, in order; `--arg=-y` for one that starts with `-`).
    #[arg(
        long = "arg",
        value_name = "A",
        allow_hyphen_values = true,
        requires = "command"
    )]
    pub args: Vec<String>,

    /// An environment variable of --command, `K=V` (repeatable; V may hold `=`).
    #[arg(long = "env", value_name = "K=V")]
    pub env: Vec<String>,

    /// A remote server: its http(s) URL.
    #[arg(long, value_name = "U", conflicts_with = "from_client")]
    pub url: Option<String>,

    /// An HTTP header of --url, `K=V` (repeatable).
    #[arg(long = "header", value_name = "K=V")]
    pub headers: Vec<String>,

    /// Take the server from an MCP client config (Claude Desktop, Cursor, VS Code, …).
    #[arg(long, value_name = "FILE")]
    pub from_client: Option<PathBuf>,

    /// With --from-client: the server's name in that file [default: SERVER].
    #[arg(long = "server", value_name = "NAME", requires = "from_client")]
    pub client_server: Option<String>,

    /// Replace a server of the same name (its place and comments are kept where they can be).
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub sync: SyncDockerArgs,

    /// Print a JSON report instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ProfileRmArgs {
    #[command(flatten)]
    pub which: ProfileServerArgs,

    #[command(flatten)]
    pub sync: SyncDockerArgs,

    /// Print a JSON report instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ProfileLsArgs {
    /// A profile (a path to a .toml file, or a name) [default: list the profiles].
    pub profile: Option<String>,

    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ProfileShowArgs {
    /// The profile (a path to a .toml file, or a name in <config dir>/profiles/).
    pub profile: String,

    /// The server to show.
    pub server: String,

    /// Print JSON instead of TOML.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("source").required(true).args(["file", "from_mcpm"]))]
pub struct ImportArgs {
    /// An MCP client config: claude_desktop_config.json, .cursor/mcp.json,
    /// .vscode/mcp.json, .mcp.json, … (`-` reads standard input).
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// Import the servers MCPM tags with this profile name (instead of FILE).
    #[arg(long, value_name = "TAG")]
    pub from_mcpm: Option<String>,

    /// MCPM's server list [default: ~/.config/mcpm/servers.json; MCPM 1.x's
    /// profiles.json is read when servers.json is absent].
    #[arg(long, value_name = "FILE", requires = "from_mcpm")]
    pub mcpm_config: Option<PathBuf>,

    /// Write the profile here (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Replace FILE when it exists (the old one is kept as FILE.bak).
    #[arg(long, requires = "output")]
    pub force: bool,

    /// The profile name [default: the MCPM tag, or the file's name].
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// Print a JSON report (servers imported, renamed, skipped, warnings)
    /// instead of the TOML; with -o the file is still written.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    pub shell: clap_complete::Shell,
}

/// Which compose file (and project) an engine command works on.
#[derive(Debug, Args)]
pub struct ComposeTarget {
    /// The compose file [default: the profile's, else compose.yaml or docker-compose.yml here].
    #[arg(
        short = 'f',
        long = "compose-file",
        visible_alias = "file",
        value_name = "FILE"
    )]
    pub compose_file: Option<PathBuf>,

    /// Use this profile's compose file (a path to a .toml file, or a name).
    #[arg(long, value_name = "PROFILE", add = clap_complete::ArgValueCompleter::new(crate::completion::complete_profile))]
    pub profile: Option<String>,

    /// The compose project name [default: `name:` in the file, else the profile's project].
    #[arg(short = 'p', long = "project-name", value_name = "NAME")]
    pub project_name: Option<String>,
}

/// `--pull`: when deploy pulls images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PullPolicyArg {
    /// Pull images that are not present locally.
    Missing,
    /// Pull every image, recreating containers whose image changed.
    Always,
    /// Never pull; a missing image fails its service.
    Never,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// The profile: a path to a .toml file, or a name in <config dir>/profiles/.
    pub profile: String,

    /// How to settle servers changed on both sides [default: the profile's
    /// `[docker] conflict_resolution`, else manual].
    #[arg(long, value_enum)]
    pub strategy: Option<crate::profile::ConflictStrategy>,

    /// Never prompt: conflicts the strategy leaves open are listed and exit 3.
    #[arg(short, long)]
    pub yes: bool,

    /// Wait until the started services have run --wait-grace seconds without
    /// restarting (and are healthy, when they have a healthcheck).
    #[arg(long)]
    pub wait: bool,

    /// Seconds --wait (and a dependency's service_healthy condition) may take.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub timeout: u64,

    /// With --wait: how long a container must run without restarting to count as ready.
    #[arg(long, value_name = "SECONDS", default_value = "2", value_parser = parse_grace)]
    pub wait_grace: std::time::Duration,

    /// With --wait: a stdio server is ready only once it answers MCP (initialize and
    /// tools/list); one that does not by the timeout fails the wait with the reason.
    #[arg(long, requires = "wait")]
    pub probe: bool,

    /// With --probe: seconds one probe may take (it is retried until --timeout).
    #[arg(long, value_name = "SECONDS", default_value = "5", value_parser = parse_probe_timeout)]
    pub probe_timeout: std::time::Duration,

    /// Print the sync's diffs; write, deploy and restart nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Print one JSON document: `sync`, `deploy` and `gateway`.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// Deploy only these services (and what they depend on); named on-demand servers are started.
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::completion::server_candidates))]
    pub services: Vec<String>,

    #[command(flatten)]
    pub target: ComposeTarget,

    /// Print the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// When to pull images [default: missing, or each service's pull_policy].
    #[arg(long, value_enum, value_name = "WHEN")]
    pub pull: Option<PullPolicyArg>,

    /// Wait until the started servers have run --wait-grace seconds without restarting (and are
    /// healthy, when they have a healthcheck); a crash loop fails at once with its last log lines.
    #[arg(long)]
    pub wait: bool,

    /// Seconds --wait (and a dependency's service_healthy condition) may take.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub timeout: u64,

    /// With --wait: how long a container must run without restarting to count as ready.
    #[arg(long, value_name = "SECONDS", default_value = "2", value_parser = parse_grace)]
    pub wait_grace: std::time::Duration,

    /// With --wait: a stdio server is ready only once it answers MCP (initialize and
    /// tools/list); one that does not by the timeout fails the wait with the reason.
    #[arg(long, requires = "wait")]
    pub probe: bool,

    /// With --probe: seconds one probe may take (it is retried until --timeout).
    #[arg(long, value_name = "SECONDS", default_value = "5", value_parser = parse_probe_timeout)]
    pub probe_timeout: std::time::Duration,

    /// Remove containers of services that are no longer in the compose file.
    #[arg(long)]
    pub remove_orphans: bool,

    /// Print a JSON report (plan, one result per step) instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The profile to compare (a path to a .toml file, or a name); optional.
    #[arg(add = clap_complete::ArgValueCompleter::new(crate::completion::complete_profile))]
    pub profile: Option<String>,

    /// The compose file [default: the profile's, else compose.yaml or docker-compose.yml here].
    #[arg(
        short = 'f',
        long = "compose-file",
        visible_alias = "file",
        value_name = "FILE"
    )]
    pub compose_file: Option<PathBuf>,

    /// The compose project name [default: `name:` in the file, else the profile's project].
    #[arg(short = 'p', long = "project-name", value_name = "NAME")]
    pub project_name: Option<String>,

    /// Speak MCP to each running stdio server (initialize, tools/list) and show its tool
    /// count and round-trip time, or why it does not answer. Goes through the project's
    /// gateway when one runs; never starts a stopped server.
    #[arg(long)]
    pub probe: bool,

    /// With --probe: seconds one server's probe may take.
    #[arg(long, value_name = "SECONDS", default_value = "5", value_parser = parse_probe_timeout)]
    pub probe_timeout: std::time::Duration,

    /// Print JSON (a stable schema) instead of a table.
    #[arg(long)]
    pub json: bool,

    /// Add MEM (used / limit) and CPU % columns for running containers (`resources` in
    /// --json). Costs one stats read per running container, made concurrently; the engine
    /// answers after its second sample, so status takes about a second longer.
    #[arg(long)]
    pub stats: bool,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Only these services [default: all of the project].
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::completion::server_candidates))]
    pub services: Vec<String>,

    #[command(flatten)]
    pub target: ComposeTarget,

    /// Read once and exit, instead of refreshing until Ctrl-C.
    #[arg(long)]
    pub no_stream: bool,

    /// Print JSON: one document with --no-stream, else one line per refresh.
    #[arg(long)]
    pub json: bool,

    /// Thresholds, e.g. memory=90%,cpu=80%,pids=90% (memory and pids: % of the
    /// limit; cpu: CPU %). With --no-stream a crossed one exits 5.
    #[arg(long, value_name = "METRIC=PERCENT,...", value_parser = parse_alert)]
    pub alert: Option<crate::engine::stats::Thresholds>,
}

fn parse_alert(text: &str) -> Result<crate::engine::stats::Thresholds, String> {
    crate::engine::stats::Thresholds::parse(text)
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The server (compose service) whose logs to print.
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::completion::server_candidates))]
    pub server: String,

    /// Keep printing new output until the container stops (or Ctrl-C).
    #[arg(short, long)]
    pub follow: bool,

    /// Only the last N lines.
    #[arg(long, value_name = "N")]
    pub tail: Option<u64>,

    /// Only output since a time: a duration (10m, 2h), Unix seconds, or 2026-01-02T15:04:05Z.
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,

    /// Prefix each line with its timestamp.
    #[arg(short, long)]
    pub timestamps: bool,

    /// The compose file (`-f` means --follow here, as in `docker logs`).
    #[arg(long = "compose-file", visible_alias = "file", value_name = "FILE")]
    pub compose_file: Option<PathBuf>,

    /// Use this profile's compose file.
    #[arg(long, value_name = "PROFILE", add = clap_complete::ArgValueCompleter::new(crate::completion::complete_profile))]
    pub profile: Option<String>,

    /// The compose project name.
    #[arg(short = 'p', long = "project-name", value_name = "NAME")]
    pub project_name: Option<String>,
}

#[derive(Debug, Args)]
pub struct StopArgs {
    /// Only these services [default: all of the project].
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::completion::server_candidates))]
    pub services: Vec<String>,

    #[command(flatten)]
    pub target: ComposeTarget,

    /// Seconds to wait for a graceful stop before killing [default: the container's, 10].
    #[arg(short = 't', long, value_name = "SECONDS")]
    pub timeout: Option<i64>,

    /// Print a JSON report instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DownArgs {
    #[command(flatten)]
    pub target: ComposeTarget,

    /// Also remove the project's named volumes (their data is lost).
    #[arg(short = 'v', long)]
    pub volumes: bool,

    /// Seconds to wait for a graceful stop before killing.
    #[arg(short = 't', long, value_name = "SECONDS")]
    pub timeout: Option<i64>,

    /// Print a JSON report instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PullArgs {
    /// Only these services' images [default: all].
    #[arg(add = clap_complete::ArgValueCandidates::new(crate::completion::server_candidates))]
    pub services: Vec<String>,

    #[command(flatten)]
    pub target: ComposeTarget,

    /// Print a JSON report instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Write an entry per enabled server of a profile into a client's config.
    #[command(
        long_about = "Write an entry per enabled server of the profile into the client's MCP config. \
Stdio servers (deployed in containers) become entries that run `mcpm docker connect SERVER` \
(--via stdio, the default) or point at the gateway's URL with its token (--via http); remote \
servers are written as themselves. The file is edited in place: comments, trailing commas, key \
order and every other entry stay as they were; the old file is kept as FILE.bak.\n\n\
Only entries mcpm wrote are replaced; a name held by an entry you wrote is left alone and \
reported (exit 2) unless --force. Adding again writes nothing when nothing changed.",
        after_help = "Examples:\n  mcpm client add claude-desktop --profile dev\n  mcpm client add cursor --profile dev --scope project      # .cursor/mcp.json here\n  mcpm client add vscode --profile dev --via http          # needs a running gateway\n  mcpm client add claude-code --profile dev --dry-run      # show the diff only\n\nClients: claude-desktop, claude-code, cursor, vscode, windsurf."
    )]
    Add(ClientAddArgs),
    /// Remove the entries mcpm wrote for a profile from a client's config.
    #[command(
        after_help = "Examples:\n  mcpm client remove claude-desktop --profile dev\n  mcpm client remove cursor --profile dev --server fetch --dry-run\n\nEntries mcpm did not write are never removed."
    )]
    Remove(ClientRemoveArgs),
    /// Show which servers each client's config holds, and which mcpm wrote.
    #[command(
        after_help = "Examples:\n  mcpm client list\n  mcpm client list cursor --scope project --json\n  mcpm client list --profile dev     # mark dev's entries, name its missing servers"
    )]
    List(ClientListArgs),
}

/// Which client file: the client, the scope and the project directory.
#[derive(Debug, Args)]
pub struct ClientFileArgs {
    /// The user's config, or the project's (in --project-dir).
    #[arg(long, value_enum, default_value = "user")]
    pub scope: crate::clients::Scope,

    /// The project directory for --scope project [default: the current directory].
    #[arg(long, value_name = "DIR")]
    pub project_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ClientAddArgs {
    /// The client whose config to edit.
    #[arg(value_enum)]
    pub client: crate::clients::Client,

    /// The profile (a path to a .toml file, or a name in <config dir>/profiles/).
    #[arg(long, value_name = "PROFILE", add = clap_complete::ArgValueCompleter::new(crate::completion::complete_profile))]
    pub profile: String,

    #[command(flatten)]
    pub file: ClientFileArgs,

    /// How the client reaches containerized servers: `mcpm docker connect` (stdio)
    /// or the gateway's HTTP endpoint with its token (http).
    #[arg(long, value_enum, default_value = "stdio")]
    pub via: crate::clients::Via,

    /// Only this server (repeatable) [default: every enabled server].
    #[arg(long = "server", value_name = "SERVER")]
    pub servers: Vec<String>,

    /// Replace entries of the same name that mcpm did not write.
    #[arg(long)]
    pub force: bool,

    /// Print the unified diff of the config file and write nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Print a JSON report instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ClientRemoveArgs {
    /// The client whose config to edit.
    #[arg(value_enum)]
    pub client: crate::clients::Client,

    /// The profile whose entries to remove.
    #[arg(long, value_name = "PROFILE", add = clap_complete::ArgValueCompleter::new(crate::completion::complete_profile))]
    pub profile: String,

    #[command(flatten)]
    pub file: ClientFileArgs,

    /// Only this entry (repeatable) [default: all of the profile's].
    #[arg(long = "server", value_name = "SERVER")]
    pub servers: Vec<String>,

    /// Print the unified diff of the config file and write nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Print a JSON report instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ClientListArgs {
    /// One client [default: every client].
    #[arg(value_enum)]
    pub client: Option<crate::clients::Client>,

    /// Mark this profile's entries and name its servers a client lacks.
    #[arg(long, value_name = "PROFILE", add = clap_complete::ArgValueCompleter::new(crate::completion::complete_profile))]
    pub profile: Option<String>,

    #[command(flatten)]
    pub file: ClientFileArgs,

    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `--wait-grace`: whole or fractional seconds, at most an hour.
fn parse_grace(text: &str) -> Result<std::time::Duration, String> {
    text.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && (0.0..=3600.0).contains(s))
        .map(std::time::Duration::from_secs_f64)
        .ok_or_else(|| {
            format!("`{text}` is not a number of seconds between 0 and 3600 (e.g. 2 or 0.5)")
        })
}

/// `--probe-timeout`: seconds, more than 0 (a probe needs some time), at most an hour.
fn parse_probe_timeout(text: &str) -> Result<std::time::Duration, String> {
    text.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0 && *s <= 3600.0)
        .map(std::time::Duration::from_secs_f64)
        .ok_or_else(|| {
            format!("`{text}` is not a number of seconds above 0 and at most 3600 (e.g. 5 or 0.5)")
        })
}

#[derive(Debug, Subcommand)]
pub enum McpCommand {
    /// Serve mcpm's operations (status, logs, stats, deploy, restart, …) as MCP tools.
    #[command(
        after_help = "Examples:\n  mcpm mcp serve --profile dev --role read              # stdio (the default): what an MCP client launches\n  mcpm mcp serve --profile dev -f ops/compose.yaml      # two projects; tools take \"project\" to choose\n  mcpm mcp serve --profile dev --http 127.0.0.1:8765    # streamable HTTP at http://127.0.0.1:8765/mcp\n  mcpm mcp serve --profile dev --http 0.0.0.0:8765      # other hosts too (a container): tokens required\n  mcpm mcp serve --profile dev --http 8765 --metrics 127.0.0.1:9464\n\nTools act only on the compose projects of the profiles and files named here (the\ncompose file of the current directory when none is). Roles: read (list_servers,\nlogs, stats, sync_check, generate_preview, list_networks, inspect_server) <\noperate (start, stop, restart, deploy, pull) < admin (sync, down). Over stdio the\nrole is --role; over HTTP each bearer token carries its own (`mcpm mcp token create`).\nEvery tool call is appended to <config dir>/audit.log.\nExit codes: 0 when stdin closes or on Ctrl-C; 1 runtime failure (port taken);\n2 invalid input (no tokens for --http, an unknown profile)."
    )]
    Serve(McpServeArgs),
    /// Create, list and revoke the bearer tokens of `mcpm mcp serve --http`.
    #[command(subcommand)]
    Token(McpTokenCommand),
    /// Show the audit log: one line per tool call of `mcpm mcp serve`.
    #[command(
        after_help = "Examples:\n  mcpm mcp audit                       # every call still in the log, oldest first\n  mcpm mcp audit --tail 20             # the last 20 calls\n  mcpm mcp audit --tool restart --caller ci\n  mcpm mcp audit --tail 100 --json | jq 'select(.outcome == \"denied\")'\n\nThe log is <config dir>/audit.log (mode 0600), rotated at 10 MiB into audit.log.1 …\naudit.log.5; --tail reads older generations when it needs them. Secrets in the\narguments were masked before they were written. A line that is not an audit record\nis named on stderr (file:line) and skipped.\nExit codes: 0 ok (also when there is no log yet); 1 the log cannot be read."
    )]
    Audit(McpAuditArgs),
}

/// `mcpm mcp audit`.
#[derive(Debug, Args)]
pub struct McpAuditArgs {
    /// Only the last N calls (after the filters).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(usize))]
    pub tail: Option<usize>,

    /// Print the records as JSON lines, as they are in the log.
    #[arg(long)]
    pub json: bool,

    /// Only calls of this tool (e.g. restart).
    #[arg(long, value_name = "TOOL")]
    pub tool: Option<String>,

    /// Only calls by this caller: a token's name, or `stdio`.
    #[arg(long, value_name = "NAME")]
    pub caller: Option<String>,
}

/// `mcpm mcp serve`.
#[derive(Debug, Args)]
pub struct McpServeArgs {
    /// A profile whose project the tools may act on (repeatable).
    #[arg(long = "profile", value_name = "PROFILE", add = clap_complete::ArgValueCompleter::new(crate::completion::complete_profile))]
    pub profiles: Vec<String>,

    /// A compose file whose project the tools may act on (repeatable).
    #[arg(
        short = 'f',
        long = "compose-file",
        visible_alias = "file",
        value_name = "FILE"
    )]
    pub compose_files: Vec<PathBuf>,

    /// The role of the stdio client (HTTP clients get their token's role).
    #[arg(long, value_enum, default_value = "read")]
    pub role: RoleArg,

    /// Serve MCP streamable HTTP at /mcp on ADDR:PORT (or PORT on 127.0.0.1) instead of stdio.
    #[arg(long, value_name = "ADDR:PORT", value_parser = parse_listen)]
    pub http: Option<std::net::SocketAddr>,

    /// Serve Prometheus metrics at /metrics on ADDR:PORT (or PORT on 127.0.0.1).
    #[arg(long, value_name = "ADDR:PORT", value_parser = parse_listen)]
    pub metrics: Option<std::net::SocketAddr>,
}

/// A role of `mcpm mcp serve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RoleArg {
    /// See status, logs, stats and previews; change nothing.
    Read,
    /// Also start, stop, restart, deploy and pull.
    Operate,
    /// Also sync the files and take the project down.
    Admin,
}

#[derive(Debug, Subcommand)]
pub enum McpTokenCommand {
    /// Create a token; its secret is printed once and stored only hashed.
    #[command(
        after_help = "Examples:\n  mcpm mcp token create --name ci --role operate\n  mcpm mcp token create --name ci --role read --force   # replace it (the old secret stops working)\n\nExit codes: 0 ok; 2 the name exists (without --force) or is invalid."
    )]
    Create(McpTokenCreateArgs),
    /// List the tokens: names, roles and creation times (never the secrets).
    #[command(after_help = "Examples:\n  mcpm mcp token ls\n  mcpm mcp token ls --json")]
    Ls(McpTokenLsArgs),
    /// Revoke a token: a running server refuses it from its next request.
    #[command(after_help = "Examples:\n  mcpm mcp token revoke ci")]
    Revoke(McpTokenRevokeArgs),
}

#[derive(Debug, Args)]
pub struct McpTokenCreateArgs {
    /// The token's name (letters, digits, `-`, `_`, `.`): what the audit log shows.
    #[arg(long)]
    pub name: String,
    /// What the token may do.
    #[arg(long, value_enum)]
    pub role: RoleArg,
    /// Replace a token of the same name.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct McpTokenLsArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct McpTokenRevokeArgs {
    /// The token's name.
    pub name: String,
}

/// `ADDR:PORT`, or a bare `PORT` on 127.0.0.1 (loopback unless an address
/// is spelt out).
fn parse_listen(text: &str) -> Result<std::net::SocketAddr, String> {
    if let Ok(port) = text.parse::<u16>() {
        return Ok(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
    }
    text.parse().map_err(|_| {
        format!("`{text}` is not ADDR:PORT (127.0.0.1:8765, [::1]:8765, 0.0.0.0:8765) or a port")
    })
}
