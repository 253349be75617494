//! How deep the structured targets' inputs get: reads a corpus directory of
//! `profile_gen` or `sync_gen` inputs and counts how many profiles load and
//! render, and how many sync cases reach a first sync that changes files.
//!
//!   cargo run --example reach -- sync_gen ../target/fuzz-corpus/sync_gen
use arbitrary::{Arbitrary, Unstructured};
use mcpm_fuzz::r#gen::{GenProfile, SyncCase};
use mcpm_fuzz::props::{Files, Outcome, SyncOptions, sync_once};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (target, dir) = (&args[1], &args[2]);
    if target == "sample" {
        return sample(dir);
    }
    let (mut total, mut reached, mut changed, mut refused) = (0, 0, 0, 0);
    for entry in std::fs::read_dir(dir).expect("corpus dir").flatten() {
        let data = std::fs::read(entry.path()).unwrap_or_default();
        let mut input = Unstructured::new(&data);
        total += 1;
        let bytes = match target.as_str() {
            "profile_gen" => {
                let Ok(profile) = GenProfile::arbitrary_take_rest(input) else {
                    continue;
                };
                let mut bytes = vec![0];
                bytes.extend_from_slice(profile.text().as_bytes());
                bytes
            }
            _ => {
                let Ok(case) = SyncCase::arbitrary(&mut input) else {
                    continue;
                };
                match mcpm_fuzz::sync_case_bytes(&case) {
                    Some(bytes) => bytes,
                    None => continue,
                }
            }
        };
        reached += 1;
        let text = String::from_utf8_lossy(&bytes[1..]).into_owned();
        let (profile, compose) = match text.split_once(mcpm_fuzz::props::SEPARATOR) {
            Some((p, c)) => (p.to_string(), Some(c.to_string())),
            None => (text, None),
        };
        let files = Files {
            profile,
            compose,
            env: String::new(),
        };
        match sync_once(&files, SyncOptions::from_byte(bytes[0])) {
            Ok(Outcome::Synced { files: out, .. }) if out != files => changed += 1,
            Ok(Outcome::Refused(why)) => {
                refused += 1;
                if std::env::var("REACH_VERBOSE").is_ok() {
                    eprintln!("refused: {}", why.lines().next().unwrap_or_default());
                }
            }
            _ => {}
        }
    }
    println!(
        "{target}: {total} inputs, {reached} past generation, {changed} first syncs that write, {refused} refused"
    );
}

#[allow(dead_code)]
fn sample(dir: &str) {
    for entry in std::fs::read_dir(dir).expect("dir").flatten().take(3) {
        let data = std::fs::read(entry.path()).unwrap_or_default();
        if let Ok(p) = GenProfile::arbitrary_take_rest(Unstructured::new(&data)) {
            println!("----\n{}", p.text());
        }
    }
}
