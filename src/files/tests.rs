//! The writer and the locks against hostile file systems: links planted at
//! backup names, symlinked destinations, setuid bits, secrets' modes.
use std::fs;
use std::time::Duration;

use super::*;

fn backup() -> WriteOptions {
    WriteOptions {
        backup: true,
        ..Default::default()
    }
}

#[test]
fn writes_backs_up_and_skips_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.yaml");
    assert_eq!(
        write_atomic(&path, b"one", backup()).unwrap(),
        WriteOutcome::Created
    );
    assert_eq!(
        write_atomic(&path, b"one", backup()).unwrap(),
        WriteOutcome::Unchanged
    );
    assert_eq!(
        write_atomic(&path, b"two", backup()).unwrap(),
        WriteOutcome::Updated
    );
    assert_eq!(fs::read(&path).unwrap(), b"two");
    assert_eq!(fs::read(backup_path(&path)).unwrap(), b"one");
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[cfg(unix)]
mod unix {
    use std::os::unix::fs::{PermissionsExt, symlink};

    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    fn chmod(path: &Path, mode: u32) {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn mode_is_applied() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        let options = WriteOptions {
            mode: Some(0o600),
            backup: true,
        };
        write_atomic(&path, b"A=1\n", options).unwrap();
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn the_backup_of_a_private_file_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.toml");
        fs::write(&path, "API_KEY = \"sk-live-secret\"\n").unwrap();
        chmod(&path, 0o600);
        write_atomic(&path, b"API_KEY = \"sk-live-other\"\n", backup()).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&backup_path(&path)), 0o600);
    }

    #[test]
    fn a_widened_env_is_tightened_and_its_backup_never_wider() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        fs::write(&path, "TOKEN=old\n").unwrap();
        chmod(&path, 0o644);
        let options = WriteOptions {
            mode: Some(0o600),
            backup: true,
        };
        write_atomic(&path, b"TOKEN=new\n", options).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&backup_path(&path)), 0o600);
    }

    #[test]
    fn a_link_planted_at_the_backup_name_is_replaced_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, "untouched").unwrap();
        let path = dir.path().join("c.yml");
        fs::write(&path, "secret: old\n").unwrap();
        symlink(&victim, backup_path(&path)).unwrap();
        write_atomic(&path, b"secret: new\n", backup()).unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "untouched");
        let bak = backup_path(&path);
        assert!(!fs::symlink_metadata(&bak).unwrap().file_type().is_symlink());
        assert_eq!(fs::read_to_string(&bak).unwrap(), "secret: old\n");
    }

    #[test]
    fn a_symlinked_destination_is_written_through_and_stays_a_link() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("real")).unwrap();
        let target = dir.path().join("real/p.toml");
        fs::write(&target, "old\n").unwrap();
        chmod(&target, 0o640);
        let link = dir.path().join("p.toml");
        symlink("real/p.toml", &link).unwrap();
        write_atomic(&link, b"new\n", backup()).unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&target).unwrap(), "new\n");
        assert_eq!(mode(&target), 0o640);
        assert_eq!(fs::read_to_string(backup_path(&target)).unwrap(), "old\n");
        // A chain of links, and a dangling one that creates its target.
        let chain = dir.path().join("chain");
        symlink(&link, &chain).unwrap();
        write_atomic(&chain, b"newer\n", backup()).unwrap();
        assert_eq!(fs::read_to_string(&target).unwrap(), "newer\n");
        let dangling = dir.path().join("d.yml");
        symlink("real/d.yml", &dangling).unwrap();
        write_atomic(&dangling, b"x\n", backup()).unwrap();
        assert!(
            fs::symlink_metadata(&dangling)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            fs::read_to_string(dir.path().join("real/d.yml")).unwrap(),
            "x\n"
        );
    }

    #[test]
    fn only_rwx_bits_carry_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.yml");
        fs::write(&path, "old\n").unwrap();
        chmod(&path, 0o6755);
        write_atomic(&path, b"new\n", backup()).unwrap();
        assert_eq!(mode(&path), 0o755);
        assert_eq!(mode(&backup_path(&path)), 0o755);
    }

    /// The backup is the old file itself under a second name (nothing copied
    /// or flushed again), and the new text a new file: writing it cannot
    /// touch the backup.
    #[test]
    fn the_backup_is_the_old_file_linked_not_copied() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.yml");
        fs::write(&path, "v1\n").unwrap();
        let old_inode = fs::metadata(&path).unwrap().ino();
        write_atomic(&path, b"v2\n", backup()).unwrap();
        let bak = backup_path(&path);
        assert_eq!(fs::metadata(&bak).unwrap().ino(), old_inode);
        assert_ne!(fs::metadata(&path).unwrap().ino(), old_inode);
        assert_eq!(fs::read_to_string(&bak).unwrap(), "v1\n");
        // Twice: the backup already holds a name of the file being replaced.
        write_atomic(&path, b"v3\n", backup()).unwrap();
        assert_eq!(fs::read_to_string(&bak).unwrap(), "v2\n");
        assert_eq!(fs::read_to_string(&path).unwrap(), "v3\n");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 2, "no temp name left: {names:?}");
    }

    #[test]
    fn a_loop_of_links_is_an_error_not_a_hang() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        symlink(&b, &a).unwrap();
        symlink(&a, &b).unwrap();
        assert!(write_atomic(&a, b"x", backup()).is_err());
    }
}

#[test]
fn a_shared_lock_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/c.yml");
    let locks = lock_files(&[&path], LockMode::Shared, Duration::ZERO).unwrap();
    assert_eq!(locks.len(), 1);
    assert!(!dir.path().join("sub").exists());
}

#[test]
fn a_held_lock_times_out_naming_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.toml");
    let b = dir.path().join("b.yml");
    let mut held = lock_files(&[&b, &a], LockMode::Exclusive, Duration::ZERO).unwrap();
    held[0].set_note("cache");
    assert_eq!(held[0].note(), "cache");
    // File locks belong to the open file, so a second open in this process
    // waits like another process would.
    let err = match lock_files(&[&a, &b], LockMode::Exclusive, Duration::from_millis(50)) {
        Ok(_) => panic!("the lock was taken twice"),
        Err(err) => err,
    };
    assert_eq!(err.status, crate::error::ExitStatus::Runtime);
    assert!(
        err.message.contains(&format!("pid {}", std::process::id())),
        "{}",
        err.message
    );
    assert!(err.message.contains(".mcpm-lock"), "{}", err.message);
    drop(held);
    let mut again = lock_files(&[&a, &b], LockMode::Exclusive, Duration::ZERO).unwrap();
    assert_eq!(again[1].note(), "cache");
}

#[test]
fn an_interrupted_pair_write_is_finished_and_a_stale_record_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("p.toml");
    let second = dir.path().join("c.yml");
    let record = dir.path().join(".c.yml.mcpm-pending");
    fs::write(&first, "p0").unwrap();
    fs::write(&second, "c0").unwrap();
    write_pair((&first, Some("p1")), (&second, Some("c0"), Some("c1"))).unwrap();
    assert_eq!(fs::read_to_string(&second).unwrap(), "c1");
    assert!(!record.exists());
    // Cut off after the first file: the record is what a write leaves then.
    fs::write(
        &record,
        format!(
            "mcpm-pending 1\n{}\n{}\nc2",
            crate::hash::digest(b"p2"),
            crate::hash::digest(b"c1")
        ),
    )
    .unwrap();
    fs::write(&first, "p2").unwrap();
    assert_eq!(
        finish_interrupted(&first, &second, true).unwrap(),
        Interrupted::Pending("c2".into())
    );
    assert!(record.exists(), "a read-only run changed something");
    assert_eq!(
        finish_interrupted(&first, &second, false).unwrap(),
        Interrupted::Finished
    );
    assert_eq!(fs::read_to_string(&second).unwrap(), "c2");
    assert_eq!(fs::read_to_string(backup_path(&second)).unwrap(), "c1");
    assert!(!record.exists());
    // A record whose first file was edited since is stale: dropped, nothing written.
    fs::write(
        &record,
        format!(
            "mcpm-pending 1\n{}\n{}\nc3",
            crate::hash::digest(b"p3"),
            crate::hash::digest(b"c2")
        ),
    )
    .unwrap();
    assert_eq!(
        finish_interrupted(&first, &second, false).unwrap(),
        Interrupted::None
    );
    assert_eq!(fs::read_to_string(&second).unwrap(), "c2");
    assert!(!record.exists());
}

#[test]
fn sweeping_removes_only_the_temp_files_of_that_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.yml");
    let names = [
        ".c.yml.aB3xZ9.tmp",
        ".c.yml.bak.aB3xZ9.tmp",
        ".c.yml.longer1.tmp",
        ".d.yml.aB3xZ9.tmp",
        "c.yml.aB3xZ9.tmp",
    ];
    for name in names {
        fs::write(dir.path().join(name), "x").unwrap();
    }
    sweep_temps(&path);
    let left: Vec<bool> = names.iter().map(|n| dir.path().join(n).exists()).collect();
    assert_eq!(left, [false, false, true, true, true]);
}

#[test]
fn a_shorter_note_replaces_a_longer_one_written_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.yml");
    let mut held = lock_files(&[&path], LockMode::Exclusive, Duration::ZERO).unwrap();
    held[0].set_note("a long cache key\nwith a second line\n");
    held[0].set_note("short");
    assert_eq!(held[0].note(), "short");
    drop(held);
    // The next holder keeps the note and names itself; the pid is read back.
    let mut again = lock_files(&[&path], LockMode::Exclusive, Duration::ZERO).unwrap();
    assert_eq!(again[0].note(), "short");
    let text = fs::read_to_string(dir.path().join(".c.yml.mcpm-lock")).unwrap();
    let pid = std::process::id().to_string();
    assert_eq!(
        text.lines().next().map(|l| l.trim_end()),
        Some(format!("mcpm-lock pid={pid}").as_str()),
        "{text:?}"
    );
}

#[test]
fn a_pair_write_leaves_both_files_and_backups_and_no_temp_files() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("p.toml");
    let second = dir.path().join("c.yml");
    fs::write(&first, "p0").unwrap();
    fs::write(&second, "c0").unwrap();
    write_pair((&first, Some("p1")), (&second, Some("c0"), Some("c1"))).unwrap();
    let mut names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["c.yml", "c.yml.bak", "p.toml", "p.toml.bak"]);
    assert_eq!(fs::read_to_string(&first).unwrap(), "p1");
    assert_eq!(fs::read_to_string(&second).unwrap(), "c1");
    assert_eq!(fs::read_to_string(backup_path(&first)).unwrap(), "p0");
    assert_eq!(fs::read_to_string(backup_path(&second)).unwrap(), "c0");
    // Only one side changed: no record is needed, and the other side stays.
    write_pair((&first, None), (&second, Some("c1"), Some("c2"))).unwrap();
    assert_eq!(fs::read_to_string(&first).unwrap(), "p1");
    assert_eq!(fs::read_to_string(&second).unwrap(), "c2");
    assert!(!dir.path().join(".c.yml.mcpm-pending").exists());
}

#[test]
fn a_record_temp_a_kill_left_is_swept_by_the_next_writing_run_only() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("p.toml");
    let second = dir.path().join("c.yml");
    fs::write(&first, "p0").unwrap();
    fs::write(&second, "c0").unwrap();
    // What a kill between staging and the record's rename leaves.
    let temp = dir.path().join("..c.yml.mcpm-pending.aB3xZ9.tmp");
    fs::write(&temp, "mcpm-pending 1\n").unwrap();
    assert_eq!(
        finish_interrupted(&first, &second, true).unwrap(),
        Interrupted::None
    );
    assert!(temp.exists(), "a read-only run removed a file");
    assert_eq!(
        finish_interrupted(&first, &second, false).unwrap(),
        Interrupted::None
    );
    assert!(!temp.exists());
    assert_eq!(fs::read_to_string(&second).unwrap(), "c0");
}
