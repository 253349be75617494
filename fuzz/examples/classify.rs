//! Replays a corpus directory through a target's checks and counts the
//! distinct violations (first line, names masked): what a run that tolerated
//! the known kinds went past.
//!
//!   cargo run --release --example classify -- sync ../target/fuzz-corpus/sync
use std::collections::BTreeMap;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (target, dir) = (&args[1], &args[2]);
    std::panic::set_hook(Box::new(|_| {}));
    let mut seen: BTreeMap<String, (usize, String)> = BTreeMap::new();
    let mut total = 0;
    for entry in std::fs::read_dir(dir).expect("corpus dir").flatten() {
        let data = std::fs::read(entry.path()).unwrap_or_default();
        total += 1;
        let outcome = std::panic::catch_unwind(|| mcpm_fuzz::props::replay(target, &data));
        let why = match outcome {
            Ok(Ok(())) => continue,
            Ok(Err(v)) => format!("{:?}: {}", v.kind, v.message),
            Err(_) => "panic".to_string(),
        };
        let first = why.lines().next().unwrap_or_default();
        let masked: String = first.split('`').step_by(2).collect::<Vec<_>>().join("X");
        let slot = seen.entry(masked).or_insert((0, String::new()));
        slot.0 += 1;
        slot.1 = entry.path().display().to_string();
    }
    println!("{target}: {total} inputs");
    for (why, (count, example)) in seen {
        println!("  {count:6} {why}\n         e.g. {example}");
    }
}
