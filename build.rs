//! Compiles the catalog in `templates/` into the binary: writes a list of
//! `(file name, include_str!)` pairs that `catalog::builtin` includes. Also
//! records the git commit the binary is built from for `mcpm --version`.
use std::{env, fs, path::Path, process::Command};

fn main() {
    println!("cargo:rustc-env=MCPM_BUILD_COMMIT={}", build_commit());
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = fs::read_dir(&dir)
        .expect("templates/ must exist")
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".toml"))
        .collect();
    // Sorted so the binary (and anything derived from catalog order) is reproducible.
    names.sort();
    let mut code = String::from("&[\n");
    for name in &names {
        let path = dir.join(name);
        println!("cargo:rerun-if-changed={}", path.display());
        code.push_str(&format!(
            "    ({name:?}, include_str!({path:?})),\n",
            path = path.display().to_string()
        ));
    }
    code.push_str("]\n");
    let out = Path::new(&env::var("OUT_DIR").unwrap()).join("builtin_templates.rs");
    fs::write(out, code).expect("write builtin_templates.rs");
}

/// `commit abc123def456`, or why there is none. Only a checkout whose top level is this crate
/// counts: the crate unpacked inside another repository (`cargo package`
/// verifies it under target/package/) must not take that repository's commit.
/// A crate tarball carries the commit it was packaged from in
/// `.cargo_vcs_info.json`.
fn build_commit() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let git = |args: &[&str]| -> Option<String> {
        let output = Command::new("git")
            .args(args)
            .current_dir(root)
            .output()
            .ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
    };
    let top = git(&["rev-parse", "--show-toplevel"]).map(|top| Path::new(&top).to_path_buf());
    let ours = top
        .and_then(|top| top.canonicalize().ok())
        .is_some_and(|top| root.canonicalize().is_ok_and(|root| root == top));
    if ours && let Some(commit) = git(&["rev-parse", "--short=12", "HEAD"]) {
        // Rebuild when HEAD moves (a commit, a checkout).
        for name in ["HEAD", "packed-refs"] {
            if let Some(path) = git(&["rev-parse", "--git-path", name]) {
                watch(&root.join(path));
            }
        }
        if let Some(path) = git(&["rev-parse", "--symbolic-full-name", "HEAD"])
            .filter(|name| name.starts_with("refs/"))
            .and_then(|name| git(&["rev-parse", "--git-path", &name]))
        {
            watch(&root.join(path));
        }
        return format!("commit {commit}");
    }
    let vcs_info = root.join(".cargo_vcs_info.json");
    watch(&vcs_info);
    if let Some(sha) = fs::read_to_string(&vcs_info).ok().and_then(|text| {
        let start = text.find("\"sha1\"")?;
        let rest = &text[start + 6..];
        let open = rest.find('"')? + 1;
        let len = rest[open..].find('"')?;
        Some(rest[open..open + len].chars().take(12).collect::<String>())
    }) {
        return format!("commit {sha}, from the crate package");
    }
    "git commit unknown: not built from a git checkout".to_string()
}

/// Reruns this script when `path` changes; a path that does not exist is not
/// named, since cargo would then rerun it on every build.
fn watch(path: &Path) {
    if path.exists() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}
