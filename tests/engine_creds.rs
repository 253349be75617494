//! Registry credentials against the real engine and the local registry that
//! wants a login (127.0.0.1:5001, htpasswd; `scripts/test-engine.sh` starts
//! it): a fake `docker-credential-test` helper on PATH through `credHelpers`
//! and `credsStore`, plain `auths`, and every way it goes wrong. The password
//! must never show in mcpm's output. Skipped without the engine, failing
//! under `CI`.
#[path = "engine/support.rs"]
#[allow(dead_code)] // the helpers other engine tests use
mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Output;
use std::time::{Duration, Instant};

use support::{Project, docker, engine, sleeper, stderr, stdout, test_var};

/// The registry that wants a login, and what the script put in it.
struct AuthRegistry {
    registry: String,
    user: String,
    password: String,
    image: String,
}

fn auth_registry() -> Option<AuthRegistry> {
    engine()?;
    let vars = (
        test_var("MCPM_TEST_AUTH_REGISTRY"),
        test_var("MCPM_TEST_AUTH_USER"),
        test_var("MCPM_TEST_AUTH_PASSWORD"),
        test_var("MCPM_TEST_AUTH_IMAGE"),
    );
    if let (Some(registry), Some(user), Some(password), Some(image)) = vars {
        return Some(AuthRegistry {
            registry,
            user,
            password,
            image,
        });
    }
    let why = "the registry with a login is not set up (run scripts/test-engine.sh)";
    if std::env::var_os("CI").is_some() {
        panic!("engine test cannot run in CI: {why}");
    }
    eprintln!("skipped: {why}");
    None
}

/// Removes the pulled image on drop (declared before the project, so the
/// project's containers are gone first).
struct PulledImage(String);

impl PulledImage {
    fn remove(&self) {
        docker(&["rmi", "-f", &self.0]);
    }

    fn present(&self) -> bool {
        docker(&["image", "inspect", "--format", "{{.Id}}", &self.0])
            .status
            .success()
    }
}

impl Drop for PulledImage {
    fn drop(&mut self) {
        self.remove();
    }
}

/// A temp `DOCKER_CONFIG` and a temp dir put first on PATH for the helper.
struct Setup {
    reg: AuthRegistry,
    config_dir: tempfile::TempDir,
    bin_dir: tempfile::TempDir,
}

/// How the fake helper behaves.
enum Helper {
    /// Answers with the right user and password for the registry.
    Answers,
    /// Says what real helpers say when they hold nothing.
    NotFound,
    /// Exits 1 with a message on stderr, and the password on stdout (which
    /// mcpm must not show).
    Fails,
    /// Never answers.
    Hangs,
}

impl Setup {
    fn new(reg: AuthRegistry) -> Self {
        Self {
            reg,
            config_dir: tempfile::tempdir().unwrap(),
            bin_dir: tempfile::tempdir().unwrap(),
        }
    }

    fn config(&self, value: serde_json::Value) {
        self.config_text(&value.to_string());
    }

    fn config_text(&self, text: &str) {
        std::fs::write(self.config_path(), text).unwrap();
    }

    fn config_path(&self) -> PathBuf {
        self.config_dir.path().join("config.json")
    }

    /// Where the helper writes what it read on stdin.
    fn asked_file(&self) -> PathBuf {
        self.bin_dir.path().join("asked")
    }

    /// Writes `docker-credential-test`.
    fn helper(&self, how: Helper) {
        let asked = self.asked_file();
        let (user, password, registry) = (&self.reg.user, &self.reg.password, &self.reg.registry);
        let body = match how {
            Helper::Answers => format!(
                "if [ \"$server\" = '{registry}' ]; then\n  printf '{{\"ServerURL\":\"%s\",\"Username\":\"{user}\",\"Secret\":\"{password}\"}}\\n' \"$server\"\n  exit 0\nfi\necho 'credentials not found in native keychain'\nexit 1\n"
            ),
            Helper::NotFound => "echo 'credentials not found in native keychain'\nexit 1\n".into(),
            Helper::Fails => format!(
                "echo '{password}'\necho 'the test keychain is locked (mcpm creds test)' >&2\nexit 1\n"
            ),
            Helper::Hangs => "exec sleep 60\n".into(),
        };
        let script = format!(
            "#!/bin/bash\n[ \"$1\" = get ] || {{ echo \"unexpected action $1\" >&2; exit 2; }}\nIFS= read -r server || true\nprintf '%s' \"$server\" > '{}'\n{body}",
            asked.display()
        );
        let path = self.bin_dir.path().join("docker-credential-test");
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// `mcpm docker ARGS` for `project` with this config and PATH.
    fn mcpm(&self, project: &Project, args: &[&str]) -> assert_cmd::Command {
        let path = format!(
            "{}:{}",
            self.bin_dir.path().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut cmd = project.mcpm(args);
        cmd.env("DOCKER_CONFIG", self.config_dir.path())
            .env("PATH", path)
            .env_remove("CI")
            .env_remove("MCPM_CREDENTIAL_HELPER_TIMEOUT");
        cmd
    }

    fn auths_entry(&self, password: &str) -> serde_json::Value {
        let auth = base64(&format!("{}:{password}", self.reg.user));
        serde_json::json!({"auths": {&self.reg.registry: {"auth": auth}}})
    }

    /// The output as text, after checking the password is not in it.
    fn text(&self, out: &Output) -> String {
        let text = format!("{}{}", stdout(out), stderr(out));
        assert!(
            !text.contains(&self.reg.password),
            "the password shows in mcpm's output:\n{text}"
        );
        assert!(
            !text.contains(&base64(&format!("{}:{}", self.reg.user, self.reg.password))),
            "the auth string shows in mcpm's output:\n{text}"
        );
        text
    }
}

fn base64(text: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = text.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn project_for(image: &str, what: &str) -> Project {
    let project = Project::new(&format!("creds-{what}"));
    project.write(&format!("services:\n  a:\n{}", sleeper(image, "")));
    project
}

fn asked(setup: &Setup) -> String {
    std::fs::read_to_string(setup.asked_file()).unwrap_or_default()
}

/// Every way credentials can be found pulls the image for real (one test, so
/// that no other test removes the image between a pull and its check).
#[test]
fn helpers_creds_store_and_auths_each_pull_from_the_registry_with_a_login() {
    let Some(reg) = auth_registry() else { return };
    let image = PulledImage(reg.image.clone());
    let setup = Setup::new(reg);
    let registry = setup.reg.registry.clone();
    let project = project_for(&image.0, "ok");

    // credHelpers names the helper for this registry; credsStore names one
    // that does not exist, which must not be asked.
    setup.helper(Helper::Answers);
    setup.config(serde_json::json!({
        "credsStore": "mcpm-test-absent",
        "credHelpers": {&registry: "test"}
    }));
    image.remove();
    let out = setup.mcpm(&project, &["pull"]).output().unwrap();
    let text = setup.text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(image.present(), "credHelpers: not pulled\n{text}");
    assert_eq!(
        asked(&setup),
        registry,
        "the helper gets the registry's key"
    );

    // A deploy that needs the pull.
    image.remove();
    let out = setup
        .mcpm(&project, &["deploy", "--json"])
        .output()
        .unwrap();
    let text = setup.text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(
        project.inspect(&format!("{}-a-1", project.name), "{{.State.Status}}"),
        "running"
    );
    project.mcpm(&["down"]).assert().success();

    // credsStore: the helper for every registry.
    std::fs::remove_file(setup.asked_file()).unwrap();
    setup.config(serde_json::json!({"credsStore": "test"}));
    image.remove();
    let out = setup.mcpm(&project, &["pull"]).output().unwrap();
    let text = setup.text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(image.present(), "credsStore: not pulled\n{text}");
    assert_eq!(asked(&setup), registry);

    // Plain auths, as `docker login` writes it without a helper.
    std::fs::remove_file(setup.asked_file()).unwrap();
    setup.config(setup.auths_entry(&setup.reg.password));
    image.remove();
    let out = setup.mcpm(&project, &["pull"]).output().unwrap();
    let text = setup.text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(image.present(), "auths: not pulled\n{text}");
    assert_eq!(asked(&setup), "", "no helper is asked for auths");

    // `doctor --pin` asks the registry for the digest with the same
    // credentials, once the image is not on this engine.
    image.remove();
    let mcpm_config = tempfile::tempdir().unwrap();
    let profile = mcpm_config.path().join("creds.toml");
    let profile_text = format!(
        "name = \"creds\"\n\n[servers.a]\ncommand = \"sleep\"\nargs = [\"3600\"]\n[servers.a.docker]\nimage = \"{}\"\n",
        image.0
    );
    let pin = |config: serde_json::Value| {
        setup.config(config);
        std::fs::write(&profile, &profile_text).unwrap();
        let out = assert_cmd::Command::cargo_bin("mcpm")
            .unwrap()
            .env("MCPM_CONFIG_DIR", mcpm_config.path())
            .env("DOCKER_CONFIG", setup.config_dir.path())
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    setup.bin_dir.path().display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            )
            .env_remove("CI")
            .env_remove("DOCKER_HOST")
            .args(["docker", "doctor", "--pin", "--json"])
            .arg(&profile)
            .output()
            .unwrap();
        let text = setup.text(&out);
        (out, text)
    };
    let (out, text) = pin(serde_json::json!({"credHelpers": {&registry: "test"}}));
    assert_eq!(out.status.code(), Some(0), "{text}");
    let pinned = std::fs::read_to_string(&profile).unwrap();
    assert!(
        pinned.contains(&format!("image = \"{}@sha256:", image.0)),
        "{pinned}\n{text}"
    );
    assert!(!image.present(), "pinning does not pull");
    // Without credentials the finding says why it cannot pin.
    let (_, text) = pin(serde_json::json!({}));
    assert!(
        text.contains(&format!(
            "registry {registry} refused the digest lookup: no credentials were sent"
        )),
        "{text}"
    );
    assert_eq!(std::fs::read_to_string(&profile).unwrap(), profile_text);
}

#[test]
fn a_refused_pull_says_whether_credentials_were_sent_and_from_where() {
    let Some(reg) = auth_registry() else { return };
    // Nothing is pulled here (and the image is not removed: the test above
    // may be pulling it at the same time).
    let image = reg.image.clone();
    let setup = Setup::new(reg);
    let registry = setup.reg.registry.clone();
    let project = project_for(&image, "refused");
    let login = format!("docker login {registry}");

    // No config at all.
    let out = setup.mcpm(&project, &["pull"]).output().unwrap();
    let text = setup.text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!("registry {registry} refused the pull")),
        "{text}"
    );
    assert!(text.contains("no credentials were sent"), "{text}");
    assert!(text.contains(&login), "{text}");

    // A config without an entry for it.
    setup.config(serde_json::json!({"auths": {"ghcr.io": {"auth": base64("a:b")}}}));
    let out = setup.mcpm(&project, &["pull"]).output().unwrap();
    let text = setup.text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "has no credential helper or auths entry for {registry}"
        )),
        "{text}"
    );
    assert!(text.contains(&login), "{text}");

    // The helper holds nothing: an anonymous pull, refused, as docker does.
    setup.helper(Helper::NotFound);
    setup.config(serde_json::json!({"credHelpers": {&registry: "test"}}));
    let out = setup.mcpm(&project, &["pull"]).output().unwrap();
    let text = setup.text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "helper docker-credential-test (credHelpers[\"{registry}\"] in {}) has none for {registry}",
            setup.config_path().display()
        )),
        "{text}"
    );

    // A wrong password from auths: sent, and refused.
    setup.config(setup.auths_entry("not-the-password"));
    let out = setup.mcpm(&project, &["deploy"]).output().unwrap();
    let text = setup.text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "credentials were sent, from auths[\"{registry}\"]"
        )),
        "{text}"
    );
    assert!(text.contains("wrong or expired"), "{text}");
    assert!(project.containers().is_empty());
}

#[test]
fn a_missing_failing_or_hung_helper_is_a_clear_error() {
    let Some(reg) = auth_registry() else { return };
    let image = reg.image.clone();
    let setup = Setup::new(reg);
    let registry = setup.reg.registry.clone();
    let project = project_for(&image, "helpers");
    let config = setup.config_path().display().to_string();

    // credHelpers names a helper that is not on PATH.
    setup.config(serde_json::json!({"credHelpers": {&registry: "mcpm-test-absent"}}));
    let out = setup.mcpm(&project, &["pull"]).output().unwrap();
    let text = setup.text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "credential helper docker-credential-mcpm-test-absent is not on PATH (credHelpers[\"{registry}\"] in {config}"
        )),
        "{text}"
    );
    assert!(
        text.contains("hint: install docker-credential-mcpm-test-absent"),
        "{text}"
    );

    // credsStore names one that is not on PATH.
    setup.config(serde_json::json!({"credsStore": "mcpm-test-absent"}));
    let out = setup.mcpm(&project, &["pull"]).output().unwrap();
    let text = setup.text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains(&format!("(credsStore in {config}")), "{text}");

    // A helper that fails: its stderr, never its stdout.
    setup.helper(Helper::Fails);
    setup.config(serde_json::json!({"credsStore": "test"}));
    let out = setup.mcpm(&project, &["pull"]).output().unwrap();
    let text = setup.text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "credential helper docker-credential-test (credsStore in {config}) exited 1 for {registry}: the test keychain is locked (mcpm creds test)"
        )),
        "{text}"
    );

    // A helper that never answers is stopped.
    setup.helper(Helper::Hangs);
    let started = Instant::now();
    let out = setup
        .mcpm(&project, &["pull"])
        .env("MCPM_CREDENTIAL_HELPER_TIMEOUT", "1")
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    let text = setup.text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("gave no answer for"), "{text}");
    assert!(text.contains("within 1 s"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(20), "{text}");

    // A config.json that does not parse: file:line:col, invalid input
    // (exit 2), found when the engine is chosen (`currentContext` lives in
    // the same file), before any pull.
    setup.config_text("{\n  \"credsStore\": \"test\",\n  \"auths\": {\n}\n");
    let out = setup.mcpm(&project, &["pull"]).output().unwrap();
    let text = setup.text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains(&format!("invalid docker config {config}:5:")),
        "{text}"
    );
}

/// The test's base64 agrees with what docker writes.
#[test]
fn base64_of_the_test() {
    assert_eq!(base64("user:pass"), "dXNlcjpwYXNz");
    assert_eq!(base64("a"), "YQ==");
    assert_eq!(base64("ab"), "YWI=");
}
