//! Crash consistency: `mcpm docker sync` of a 1000-server profile, killed
//! with SIGKILL at random points (and at every named write step), never
//! leaves a state the next sync cannot repair. After each kill: both files
//! parse (each is byte for byte its old or its new text), backups are whole
//! copies of the old texts, leftover temp files are hidden and harmless, and
//! from that state `sync --check` agrees with `generate --check`, one sync
//! reaches exactly what an uninterrupted sync writes, and a second writes
//! nothing.
//!
//! `MCPM_CRASH_ITERATIONS` sets the number of random kills (default 200
//! under CI, 30 elsewhere); `MCPM_CRASH_SEED` replays a run; `MCPM_CRASH_BIN`
//! runs it against another build of mcpm (a release build has no named crash
//! points, so only the random kills run).
#![cfg(unix)]
mod common;

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const SERVERS: usize = 1000;

/// A profile of `SERVERS` servers in the mix of scripts/bench-profile.py.
fn big_profile() -> String {
    // Importing is on: the crash points of an import are covered too.
    let mut out = String::from(
        "name = \"crash\"\n\n[docker]\ncompose_file = \"compose.yaml\"\nimport_services = true\n",
    );
    for i in 0..SERVERS {
        let name = format!("srv-{i:04}");
        out.push_str(&match i % 5 {
            0 => format!("\n[servers.{name}]\ncommand = \"npx\"\nargs = [\"-y\", \"@modelcontextprotocol/server-filesystem\", \"/data/p{i}\"]\n"),
            1 => format!("\n[servers.{name}]\ncommand = \"uvx\"\nargs = [\"mcp-server-fetch\", \"--user-agent\", \"bench-{i}\"]\n"),
            2 => format!("\n[servers.{name}]\ncommand = \"npx\"\nargs = [\"-y\", \"@acme/mcp-tool-{i}@1.{i}.0\"]\nenv = {{ LOG_LEVEL = \"info\", API_KEY = \"sk-crash-{i}\" }}\n"),
            3 => format!("\n[servers.{name}]\nurl = \"https://mcp{i}.example.com/mcp\"\n"),
            _ => format!("\n[servers.{name}]\ncommand = \"python\"\nargs = [\"-m\", \"bench_server_{i}\"]\n[servers.{name}.docker]\nimage = \"registry.example.com/bench/{i}:1\"\n"),
        });
    }
    out
}

/// Every regular file in `dir` by name.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

fn restore(dir: &Path, state: &BTreeMap<String, Vec<u8>>) {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir).unwrap();
    for (name, bytes) in state {
        fs::write(dir.join(name), bytes).unwrap();
    }
}

fn mcpm(dir: &Path, args: &[&str]) -> Command {
    let binary = std::env::var_os("MCPM_CRASH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| assert_cmd::cargo::cargo_bin("mcpm"));
    let mut command = Command::new(binary);
    command
        .args(args)
        .env("MCPM_CONFIG_DIR", dir)
        .env_remove("CI")
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

const SYNC: &[&str] = &["docker", "sync", "crash.toml", "--yes"];

fn run(dir: &Path, args: &[&str]) -> i32 {
    let out = mcpm(dir, args).output().unwrap();
    out.status
        .code()
        .unwrap_or_else(|| panic!("{args:?} died: {}", String::from_utf8_lossy(&out.stderr)))
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} lacks {from:?}", path.display());
    fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// A tiny xorshift: the kill points need no more, and the seed replays them.
struct Random(u64);

impl Random {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound.max(1)
    }
}

struct Fixture {
    /// Before the sync: the synced pair, then edited on both sides.
    before: BTreeMap<String, Vec<u8>>,
    /// After one uninterrupted sync.
    after: BTreeMap<String, Vec<u8>>,
    /// States whose repair was already verified (the next sync is a function
    /// of the files, so one check per distinct state covers them all).
    verified: Mutex<HashSet<u64>>,
}

const KEPT: [&str; 3] = ["crash.toml", "compose.yaml", ".env"];

impl Fixture {
    fn new(root: &Path) -> Self {
        let dir = root.join("setup");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("crash.toml"), big_profile()).unwrap();
        assert_eq!(run(&dir, SYNC), 0, "the first sync failed");
        // A change on each side, and a rotated secret for `.env`.
        edit(&dir.join("crash.toml"), "\"bench-1\"]", "\"bench-one\"]");
        edit(
            &dir.join("crash.toml"),
            "sk-crash-7\"",
            "sk-crash-rotated\"",
        );
        let compose = fs::read_to_string(dir.join("compose.yaml")).unwrap();
        let at = compose.find("  srv-0002:").unwrap();
        let level = at + compose[at..].find("LOG_LEVEL: info").unwrap();
        // ... and a service mcpm does not own, which the sync imports.
        let compose = format!(
            "{}LOG_LEVEL: debug{}",
            &compose[..level],
            &compose[level + 15..]
        )
        .replacen(
            "services:\n",
            "services:\n  redis:\n    image: redis:7\n",
            1,
        );
        fs::write(dir.join("compose.yaml"), compose).unwrap();
        let before = files(&dir);
        assert_eq!(run(&dir, SYNC), 0, "the uninterrupted sync failed");
        let after = files(&dir);
        for name in KEPT {
            assert_ne!(before[name], after[name], "the sync does not change {name}");
        }
        Fixture {
            before,
            after,
            verified: Mutex::new(HashSet::new()),
        }
    }

    /// What a killed sync left in `dir` is consistent, and the next sync
    /// repairs it.
    fn check(&self, dir: &Path, what: &str) {
        let now = files(dir);
        for name in KEPT {
            let text = &now[name];
            assert!(
                *text == self.before[name] || *text == self.after[name],
                "{what}: {name} is neither its old nor its new text"
            );
            // A backup, when there is one, is the whole old text.
            if let Some(backup) = now.get(&format!("{name}.bak")) {
                assert_eq!(
                    backup, &self.before[name],
                    "{what}: {name}.bak is not the old text"
                );
            }
        }
        for name in now.keys() {
            let known = KEPT.contains(&name.as_str())
                || name.ends_with(".bak")
                || name.ends_with(".mcpm-lock")
                || name.ends_with(".mcpm-pending")
                || (name.starts_with('.') && name.ends_with(".tmp"));
            assert!(known, "{what}: unexpected file {name}");
        }
        let key = {
            use std::hash::{Hash, Hasher};
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            for (name, bytes) in &now {
                if name.ends_with(".mcpm-lock") {
                    // The note, not the pid line.
                    bytes
                        .split(|b| *b == b'\n')
                        .skip(1)
                        .for_each(|l| l.hash(&mut hasher));
                } else if KEPT.contains(&name.as_str()) || name.ends_with(".mcpm-pending") {
                    name.hash(&mut hasher);
                    bytes.hash(&mut hasher);
                }
            }
            hasher.finish()
        };
        if !self.verified.lock().unwrap().insert(key) {
            return;
        }
        let sync_check = run(dir, &["docker", "sync", "crash.toml", "--check"]);
        let generate_check = run(dir, &["docker", "generate", "crash.toml", "--check"]);
        assert_eq!(
            sync_check, generate_check,
            "{what}: sync --check and generate --check disagree"
        );
        assert_eq!(run(dir, SYNC), 0, "{what}: the next sync failed");
        let repaired = files(dir);
        let leftovers: Vec<&String> = repaired
            .keys()
            .filter(|n| n.ends_with(".tmp") || n.ends_with(".mcpm-pending"))
            .collect();
        assert!(
            leftovers.is_empty(),
            "{what}: the next sync left {leftovers:?}"
        );
        for name in KEPT {
            assert!(
                repaired[name] == self.after[name],
                "{what}: the next sync left {name} stale"
            );
        }
        let mtimes: Vec<_> = KEPT
            .iter()
            .map(|n| fs::metadata(dir.join(n)).unwrap().modified().unwrap())
            .collect();
        assert_eq!(run(dir, SYNC), 0);
        let again: Vec<_> = KEPT
            .iter()
            .map(|n| fs::metadata(dir.join(n)).unwrap().modified().unwrap())
            .collect();
        assert_eq!(mtimes, again, "{what}: a second sync wrote again");
        assert_eq!(
            run(dir, &["docker", "sync", "crash.toml", "--check"]),
            0,
            "{what}"
        );
        assert_eq!(
            run(dir, &["docker", "generate", "crash.toml", "--check"]),
            0,
            "{what}"
        );
    }
}

#[test]
fn sync_killed_anywhere_leaves_a_state_the_next_sync_repairs() {
    let root = tempfile::tempdir().unwrap();
    let fixture = Fixture::new(root.path());
    let ci = std::env::var_os("CI").is_some();
    let iterations: u64 = std::env::var("MCPM_CRASH_ITERATIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(if ci { 200 } else { 30 });
    let seed: u64 = std::env::var("MCPM_CRASH_SEED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("crash suite: {iterations} kills, MCPM_CRASH_SEED={seed}");

    // Every named step of the write sequence, deterministically (debug
    // builds; `files::debug_point`): the steps of the pair, then every
    // rename. Seven files are renamed into place: the pending record, `.env`,
    // the profile, the compose file, and the three backups — each either
    // linked to the old file (`backup-linked`) or, where it must be narrower
    // than the original, copied (`before-rename` like the new texts).
    let dir = root.path().join("steps");
    if cfg!(debug_assertions) {
        let crash_at = |point: &str| {
            restore(&dir, &fixture.before);
            let status = mcpm(&dir, SYNC)
                .env("MCPM_TEST_CRASH_AT", point)
                .status()
                .unwrap();
            if status.success() {
                return false;
            }
            fixture.check(&dir, &format!("crash at {point}"));
            true
        };
        for point in [
            "sync-writes",
            "sync-after-env",
            "sync-after-profile",
            "sync-after-compose",
        ] {
            assert!(crash_at(point), "the sync did not stop at {point}");
        }
        let mut renames = 0;
        for kind in ["before-rename", "backup-linked"] {
            let mut n = 1;
            while crash_at(&format!("{kind}#{n}")) {
                n += 1;
            }
            renames += n - 1;
        }
        assert_eq!(renames, 7, "every rename of the write sequence was tried");
    }

    // How long a whole sync takes, and when its writes begin.
    restore(&dir, &fixture.before);
    let start = Instant::now();
    assert_eq!(run(&dir, SYNC), 0);
    let whole = start.elapsed();
    let writes = if cfg!(debug_assertions) {
        restore(&dir, &fixture.before);
        let start = Instant::now();
        let _ = mcpm(&dir, SYNC)
            .env("MCPM_TEST_CRASH_AT", "sync-writes")
            .status();
        start.elapsed()
    } else {
        whole * 9 / 10
    };
    eprintln!("a whole sync takes {whole:?}; its writes begin at about {writes:?}");

    // Random kills on two workers: a third at any time in the run, the rest
    // at a random time after the first temp file appears, where a kill can
    // do harm (the writes take a few milliseconds of a run of seconds).
    // The write phase (four files, one of them the pending record, each
    // flushed) takes tens of milliseconds; timing noise between runs is
    // larger than its measured length, so a fixed window covers it.
    let tail = Duration::from_millis(120);
    let killed_in_writes = Mutex::new(0u32);
    std::thread::scope(|scope| {
        for worker in 0..2u64 {
            let fixture = &fixture;
            let killed_in_writes = &killed_in_writes;
            let dir = root.path().join(format!("worker-{worker}"));
            scope.spawn(move || {
                let mut random =
                    Random(seed.wrapping_add(worker.wrapping_mul(0x9e37_79b9_7f4a_7c15)) | 1);
                for i in (worker..iterations).step_by(2) {
                    restore(&dir, &fixture.before);
                    let mut child = mcpm(&dir, SYNC).stderr(Stdio::null()).spawn().unwrap();
                    let started = Instant::now();
                    if i % 3 == 0 {
                        std::thread::sleep(Duration::from_micros(
                            random.below(whole.as_micros() as u64),
                        ));
                    } else {
                        let writing = || {
                            fs::read_dir(&dir).unwrap().any(|e| {
                                e.is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
                            })
                        };
                        while !writing() && started.elapsed() < whole * 4 {
                            std::thread::sleep(Duration::from_micros(500));
                        }
                        std::thread::sleep(Duration::from_micros(
                            random.below(tail.as_micros() as u64),
                        ));
                    }
                    let _ = child.kill();
                    let status = child.wait().unwrap();
                    let what = format!("kill {i} after {:?}", started.elapsed());
                    if !status.success()
                        && files(&dir)["crash.toml"] != fixture.before["crash.toml"]
                    {
                        *killed_in_writes.lock().unwrap() += 1;
                    }
                    fixture.check(&dir, &what);
                }
            });
        }
    });
    let states = fixture.verified.lock().unwrap().len();
    eprintln!(
        "crash suite: {iterations} kills, {} between the profile's rename and the end, {states} distinct states verified",
        killed_in_writes.lock().unwrap()
    );
}
