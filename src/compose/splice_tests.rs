//! The splice path against the full path: random edits of random services
//! of generated compose files and of the awesome-compose corpus must give
//! byte-for-byte the same text; files the splice cannot prove fall back.
use serde_yaml_ng::{Mapping, Value};

use super::{Edits, apply, splice};
use crate::compose::edit::apply_verified;
use crate::compose::yaml::to_yaml;

use crate::test_rng::Rng;

fn word(rng: &mut Rng, odd: &[String]) -> String {
    if !odd.is_empty() && rng.chance(15) {
        let odd = &odd[rng.below(odd.len())];
        // Keys past the simple-key limit are refused before sync writes.
        if crate::compose::yaml::string(odd).len() < 900 {
            return odd.clone();
        }
    }
    const WORDS: &[&str] = &[
        "node",
        "mcp/fetch",
        "info",
        "no",
        "22:22",
        "x y",
        "/data",
        "ALL",
        "true",
        "1.5",
        "",
    ];
    let base = WORDS[rng.below(WORDS.len())];
    if rng.chance(50) {
        format!("{base}{}", rng.below(1000))
    } else {
        base.to_string()
    }
}

fn scalar(rng: &mut Rng, odd: &[String]) -> Value {
    match rng.below(6) {
        0 => Value::Bool(rng.chance(50)),
        1 => Value::from(rng.below(5000) as u64),
        2 => Value::from(0.5),
        _ => Value::String(word(rng, odd)),
    }
}

fn mapping(rng: &mut Rng, odd: &[String], len: usize) -> Mapping {
    let mut map = Mapping::new();
    for _ in 0..len {
        let key = if rng.chance(80) {
            format!("K_{}", rng.below(40))
        } else {
            word(rng, odd)
        };
        map.insert(key.into(), scalar(rng, odd));
    }
    map
}

fn service(rng: &mut Rng, odd: &[String], name: &str) -> Value {
    let mut s = Mapping::new();
    s.insert("image".into(), Value::String(word(rng, odd)));
    if rng.chance(70) {
        let n = rng.below(4);
        let args = (0..n).map(|_| Value::String(word(rng, odd))).collect();
        s.insert("command".into(), Value::Sequence(args));
    }
    if rng.chance(60) {
        let n = rng.below(5);
        s.insert("environment".into(), Value::Mapping(mapping(rng, odd, n)));
    }
    if rng.chance(30) {
        let mut long = Mapping::new();
        long.insert("type".into(), "bind".into());
        long.insert("source".into(), Value::String(word(rng, odd)));
        long.insert("target".into(), "/work".into());
        s.insert(
            "volumes".into(),
            Value::Sequence(vec![Value::Mapping(long), "data:/data".into()]),
        );
    }
    if rng.chance(30) {
        s.insert("tmpfs".into(), Value::Sequence(Vec::new()));
    }
    for (key, value) in [
        ("mem_limit", Value::from("512m")),
        ("cpus", Value::from(1.0)),
        ("read_only", Value::Bool(true)),
    ] {
        if rng.chance(50) {
            s.insert(key.into(), value);
        }
    }
    let mut labels = Mapping::new();
    labels.insert("io.mcpm.server".into(), name.into());
    s.insert("labels".into(), Value::Mapping(labels));
    Value::Mapping(s)
}

/// One to four random edits of a service: set, replace or remove fields,
/// add or remove environment entries.
fn mutate(rng: &mut Rng, odd: &[String], old: &Value) -> Value {
    let mut s = old.as_mapping().cloned().unwrap_or_default();
    for _ in 0..=rng.below(4) {
        match rng.below(7) {
            0 => {
                s.insert("image".into(), Value::String(word(rng, odd)));
            }
            1 => {
                let args = (0..rng.below(4))
                    .map(|_| Value::String(word(rng, odd)))
                    .collect();
                s.insert("command".into(), Value::Sequence(args));
            }
            2 => {
                let keys: Vec<Value> = s.keys().cloned().collect();
                if let Some(key) = keys.get(rng.below(keys.len()))
                    && key.as_str() != Some("image")
                {
                    s.remove(key);
                }
            }
            3 | 4 => {
                let mut env = s
                    .get("environment")
                    .and_then(Value::as_mapping)
                    .cloned()
                    .unwrap_or_default();
                let key = if rng.chance(70) {
                    format!("K_{}", rng.below(40))
                } else {
                    word(rng, odd)
                };
                if rng.chance(30) {
                    env.remove(key.as_str());
                } else {
                    env.insert(key.into(), scalar(rng, odd));
                }
                s.insert("environment".into(), Value::Mapping(env));
            }
            5 => {
                s.insert(format!("x-note-{}", rng.below(3)).into(), scalar(rng, odd));
            }
            _ => {
                s.insert("labels".into(), Value::Mapping(mapping(rng, odd, 2)));
            }
        }
    }
    Value::Mapping(s)
}

/// Edits as the tests build them: services set or removed, volumes added,
/// the new `x-mcpm` block.
type OwnedEdits = (Vec<(String, Option<Value>)>, Vec<(String, Value)>, Value);

fn base_line(rng: &mut Rng) -> Value {
    format!(
        "{:016x} {:016x} image={:08x}",
        rng.next(),
        rng.next(),
        rng.next() as u32
    )
    .into()
}

/// Random edits of `document`'s services: some changed, some removed, some
/// added; the base gets fresh lines for them; a new service may need a volume.
fn random_edits(rng: &mut Rng, odd: &[String], document: &Value) -> OwnedEdits {
    let services = document["services"]
        .as_mapping()
        .cloned()
        .unwrap_or_default();
    let names: Vec<String> = services
        .keys()
        .filter_map(|k| k.as_str().map(str::to_string))
        .collect();
    let mut edits: Vec<(String, Option<Value>)> = Vec::new();
    let mut base = document
        .get("x-mcpm")
        .cloned()
        .unwrap_or_else(|| serde_yaml_ng::from_str("profile: p\nbase: {}\n").unwrap());
    let mut base_map = base["base"].as_mapping().cloned().unwrap_or_default();
    let count = 1 + rng.below(names.len().min(50));
    for _ in 0..count {
        let name = &names[rng.below(names.len())];
        if edits.iter().any(|(n, _)| n == name) {
            continue;
        }
        if rng.chance(15) {
            edits.push((name.clone(), None));
            base_map.remove(name.as_str());
        } else {
            edits.push((
                name.clone(),
                Some(mutate(rng, odd, &services[name.as_str()])),
            ));
            base_map.insert(name.clone().into(), base_line(rng));
        }
    }
    let mut additions = Vec::new();
    for i in 0..rng.below(3) {
        let name = format!("new-{i}-{}", rng.below(100));
        if services.contains_key(name.as_str()) || edits.iter().any(|(n, _)| *n == name) {
            continue;
        }
        edits.push((name.clone(), Some(service(rng, odd, &name))));
        base_map.insert(name.clone().into(), base_line(rng));
        if rng.chance(50) {
            let volume = format!("vol-{}", rng.below(1000));
            if document
                .get("volumes")
                .and_then(|v| v.get(volume.as_str()))
                .is_none()
                && !additions.iter().any(|(v, _)| *v == volume)
            {
                additions.push((volume, Value::Mapping(Mapping::new())));
            }
        }
    }
    if let Some(map) = base.as_mapping_mut() {
        map.insert("base".into(), Value::Mapping(base_map));
    }
    (edits, additions, base)
}

/// Runs both paths on one file and edit set; returns whether the splice applied.
fn compare(label: &str, text: &str, edits: &OwnedEdits) -> Option<bool> {
    let document: Value = serde_yaml_ng::from_str(text).unwrap();
    let edits = Edits {
        services: edits
            .0
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_ref()))
            .collect(),
        additions: edits
            .1
            .iter()
            .map(|(n, v)| ("volumes", n.as_str(), v))
            .collect(),
        top: ("x-mcpm", &edits.2),
    };
    let fast = splice(text, &document, &edits);
    let full = match apply_verified(text, &document, &edits) {
        Ok(full) => full,
        // The tree editor cannot write some values (it says so and writes
        // nothing); the splice's text is then proven by its own checks.
        Err(_) => return None,
    };
    if let Some(fast) = &fast {
        if fast != &full {
            // The first differing lines, which the whole texts bury.
            for (a, b) in fast
                .lines()
                .zip(full.lines())
                .filter(|(a, b)| a != b)
                .take(3)
            {
                eprintln!("splice: {a:?}\nfull:   {b:?}");
            }
        }
        assert_eq!(fast, &full, "{label}: the splice and the full path differ");
    }
    assert_eq!(apply(text, &document, &edits).unwrap(), full, "{label}");
    Some(fast.is_some())
}

fn generated(rng: &mut Rng, odd: &[String], count: usize) -> String {
    let mut services = Mapping::new();
    let mut base = Mapping::new();
    for i in 0..count {
        let name = format!("srv-{i:04}");
        services.insert(name.clone().into(), service(rng, odd, &name));
        base.insert(name.into(), base_line(rng));
    }
    let mut block = Mapping::new();
    block.insert("profile".into(), "p".into());
    block.insert("base".into(), Value::Mapping(base));
    let mut document = Mapping::new();
    document.insert("name".into(), "mcp-p".into());
    document.insert("services".into(), Value::Mapping(services));
    if rng.chance(50) {
        let volumes: Mapping = [("data".into(), Value::Mapping(Mapping::new()))]
            .into_iter()
            .collect();
        document.insert("volumes".into(), Value::Mapping(volumes));
    }
    document.insert("x-mcpm".into(), Value::Mapping(block));
    format!(
        "# Generated by mcpm\n{}",
        to_yaml(&Value::Mapping(document))
    )
}

#[test]
fn random_edits_of_generated_files_splice_as_the_full_path_writes() {
    let odd = crate::compose::yaml::tests::odd_strings();
    let (mut spliced, mut refused, mut unwritable) = (0, 0, 0);
    for seed in 1..=120u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let count = if seed % 40 == 0 {
            1000
        } else {
            1 + rng.below(60)
        };
        let text = generated(&mut rng, &odd, count);
        let document: Value = serde_yaml_ng::from_str(&text).unwrap();
        for round in 0..3 {
            let edits = random_edits(&mut rng, &odd, &document);
            match compare(&format!("seed {seed} round {round}"), &text, &edits) {
                Some(true) => spliced += 1,
                Some(false) => refused += 1,
                None => unwritable += 1,
            }
        }
    }
    eprintln!(
        "generated files: {spliced} spliced, {refused} left to the full path, {unwritable} the tree editor refused"
    );
    // mcpm's own files are what the splice is for. It refuses here only for
    // an odd key added to a mapping the file has (the tree editor writes such
    // keys in its own style), which these edits do often.
    assert!(
        spliced > (spliced + refused) / 3,
        "{spliced} spliced, {refused} refused"
    );
}

/// The 39 awesome-compose files with mcpm services added (as a first sync
/// adds them), then random edits of random services, mcpm's and theirs.
#[test]
fn random_edits_of_the_corpus_splice_as_the_full_path_writes() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/awesome-compose");
    let Ok(listing) = std::fs::read_dir(&dir) else {
        eprintln!(
            "skipped: {} is missing (the corpus half of this test did not run)",
            dir.display()
        );
        return;
    };
    let mut files: Vec<_> = listing.filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    assert!(!files.is_empty(), "{} is empty", dir.display());
    let odd = crate::compose::yaml::tests::odd_strings();
    let (mut spliced, mut refused, mut unwritable) = (0, 0, 0);
    for (index, path) in files.iter().enumerate() {
        let original = std::fs::read_to_string(path).unwrap();
        let document: Value = serde_yaml_ng::from_str(&original).unwrap();
        let mut rng = Rng((index as u64 + 1).wrapping_mul(0x2545_f491_4f6c_dd1d) | 1);
        // The first sync: three mcpm services and the base, by the full path.
        let mut adds = Vec::new();
        let mut base = Mapping::new();
        for i in 0..3 {
            let name = format!("mcp-{i}");
            adds.push((name.clone(), Some(service(&mut rng, &odd, &name))));
            base.insert(name.into(), base_line(&mut rng));
        }
        let block: Value = serde_yaml_ng::from_str("profile: p\n").unwrap();
        let mut block = block.as_mapping().cloned().unwrap();
        block.insert("base".into(), Value::Mapping(base));
        let block = Value::Mapping(block);
        let first = Edits {
            services: adds.iter().map(|(n, v)| (n.as_str(), v.as_ref())).collect(),
            additions: Vec::new(),
            top: ("x-mcpm", &block),
        };
        let Ok(text) = apply(&original, &document, &first) else {
            unwritable += 1;
            continue;
        };
        let document: Value = serde_yaml_ng::from_str(&text).unwrap();
        for round in 0..6 {
            let edits = random_edits(&mut rng, &odd, &document);
            match compare(&format!("{} round {round}", path.display()), &text, &edits) {
                Some(true) => spliced += 1,
                Some(false) => refused += 1,
                None => unwritable += 1,
            }
        }
    }
    eprintln!(
        "corpus: {spliced} spliced, {refused} left to the full path, {unwritable} the tree editor refused"
    );
    assert!(
        spliced > 0 && refused > 0,
        "{spliced} spliced, {refused} refused"
    );
}

/// Files and edits the splice cannot prove go to the full path, which
/// writes them correctly.
#[test]
fn what_the_splice_cannot_prove_falls_back() {
    let new: Value = serde_yaml_ng::from_str("image: b\nenvironment:\n  K: v\n").unwrap();
    let base: Value = serde_yaml_ng::from_str("profile: p\nbase:\n  a: \"1\"\n").unwrap();
    let canonical = "services:\n  a:\n    image: a\nx-mcpm:\n  profile: p\n  base:\n    a: \"0\"\n";
    let cases = [
        (
            "flow-style services",
            "services: {a: {image: a}}\nx-mcpm:\n  profile: p\n  base:\n    a: \"0\"\n",
        ),
        (
            "a flow-style service",
            "services:\n  a: {image: a}\nx-mcpm:\n  profile: p\n  base:\n    a: \"0\"\n",
        ),
        (
            "an anchor in the changed service",
            "services:\n  a: &a\n    image: a\n  b: *a\nx-mcpm:\n  profile: p\n  base:\n    a: \"0\"\n",
        ),
        (
            "a merge key in the changed service",
            "x-c: &c\n  image: a\nservices:\n  a:\n    <<: *c\nx-mcpm:\n  profile: p\n  base:\n    a: \"0\"\n",
        ),
        (
            "a comment in the changed service",
            "services:\n  a:\n    image: a # pinned\nx-mcpm:\n  profile: p\n  base:\n    a: \"0\"\n",
        ),
        (
            "four-space indentation",
            "services:\n    a:\n        image: a\nx-mcpm:\n  profile: p\n  base:\n    a: \"0\"\n",
        ),
        (
            "services four columns in, fields two further",
            "services:\n    a:\n      image: a\nx-mcpm:\n  profile: p\n  base:\n    a: \"0\"\n",
        ),
        (
            "CRLF line ends",
            "services:\r\n  a:\r\n    image: a\r\nx-mcpm:\r\n  profile: p\r\n  base:\r\n    a: \"0\"\r\n",
        ),
        (
            "a document marker",
            "---\nservices:\n  a:\n    image: a\nx-mcpm:\n  profile: p\n  base:\n    a: \"0\"\n",
        ),
        (
            "a quoted value the emitter writes plain",
            "services:\n  a:\n    image: 'a'\nx-mcpm:\n  profile: p\n  base:\n    a: \"0\"\n",
        ),
        ("no base block yet", "services:\n  a:\n    image: a\n"),
        (
            "a comment in the base",
            "services:\n  a:\n    image: a\nx-mcpm:\n  profile: p\n  base:\n    # why\n    a: \"0\"\n",
        ),
        (
            "services with an anchor",
            "services: &s\n  a:\n    image: a\nx-mcpm:\n  profile: p\n  base:\n    a: \"0\"\n",
        ),
    ];
    for (what, text) in cases {
        let document: Value = serde_yaml_ng::from_str(text).unwrap();
        let edits = Edits {
            services: vec![("a", Some(&new))],
            additions: Vec::new(),
            top: ("x-mcpm", &base),
        };
        assert_eq!(
            splice(text, &document, &edits),
            None,
            "{what}: the splice should refuse"
        );
        if what.starts_with("an anchor") {
            // The alias would change with the anchor: the full path refuses.
            let err = apply(text, &document, &edits).unwrap_err();
            assert!(
                err.contains("does not say what was intended"),
                "{what}: {err}"
            );
            continue;
        }
        let written = apply(text, &document, &edits).unwrap_or_else(|err| panic!("{what}: {err}"));
        let reread: Value = serde_yaml_ng::from_str(&written).unwrap();
        assert_eq!(reread["services"]["a"], new, "{what}:\n{written}");
        assert_eq!(reread["x-mcpm"], base, "{what}:\n{written}");
    }
    // The same edit of the canonical file is spliced.
    let document: Value = serde_yaml_ng::from_str(canonical).unwrap();
    let edits = Edits {
        services: vec![("a", Some(&new))],
        additions: Vec::new(),
        top: ("x-mcpm", &base),
    };
    assert_eq!(
        splice(canonical, &document, &edits).as_deref(),
        Some(
            "services:\n  a:\n    image: b\n    environment:\n      K: v\nx-mcpm:\n  profile: p\n  base:\n    a: \"1\"\n"
        )
    );
}

/// A base of a thousand servers: one changed line is spliced and only that
/// line is parsed; the rest is copied.
#[test]
fn one_base_line_of_a_thousand_is_spliced() {
    let odd = Vec::new();
    let mut rng = Rng(7);
    let text = generated(&mut rng, &odd, 1000);
    let document: Value = serde_yaml_ng::from_str(&text).unwrap();
    let mut base = document["x-mcpm"].clone();
    base["base"]["srv-0500"] = "0123456789abcdef 0123456789abcdef".into();
    let edits = Edits {
        services: Vec::new(),
        additions: Vec::new(),
        top: ("x-mcpm", &base),
    };
    let written = splice(&text, &document, &edits).expect("spliced");
    let changed: Vec<(&str, &str)> = text
        .lines()
        .zip(written.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(
        changed[0].1,
        "    srv-0500: \"0123456789abcdef 0123456789abcdef\""
    );
    assert_eq!(written, apply_verified(&text, &document, &edits).unwrap());
}

/// Fifty services of a thousand changed the way sync changes them (values,
/// plain keys, a removal, an addition): spliced, the same as the full path.
#[test]
fn fifty_changes_of_a_thousand_are_spliced() {
    let mut rng = Rng(11);
    let text = generated(&mut rng, &[], 1000);
    let document: Value = serde_yaml_ng::from_str(&text).unwrap();
    let mut edits: Vec<(String, Option<Value>)> = Vec::new();
    let mut base = document["x-mcpm"].clone();
    for i in (0..1000).step_by(20) {
        let name = format!("srv-{i:04}");
        let mut service = document["services"][name.as_str()].clone();
        service["image"] = format!("img-{i}").into();
        service["environment"] =
            serde_yaml_ng::from_str("LOG_LEVEL: debug\nK_1: \"no\"\n").unwrap();
        edits.push((name.clone(), Some(service)));
        base["base"][name.as_str()] = base_line(&mut rng);
    }
    edits.push(("srv-0001".into(), None));
    base["base"].as_mapping_mut().unwrap().remove("srv-0001");
    let added = service(&mut rng, &[], "zz-new");
    edits.push(("zz-new".into(), Some(added)));
    base["base"]["zz-new"] = base_line(&mut rng);
    assert_eq!(
        compare("fifty of a thousand", &text, &(edits, Vec::new(), base)),
        Some(true)
    );
}

/// A new service goes after the last one; when blank or comment lines after
/// it could still belong to its value (a block scalar keeping its blank
/// lines), the splice leaves the file to the full path.
#[test]
fn an_added_service_after_a_block_scalar_falls_back() {
    let new: Value = serde_yaml_ng::from_str("image: n\n").unwrap();
    let base: Value = serde_yaml_ng::from_str("profile: p\nbase:\n  new: \"1\"\n").unwrap();
    for (text, spliced) in [
        (
            "services:\n  a:\n    image: a\n    x-doc: |+\n      kept\n\n# c\nx-mcpm:\n  profile: p\n  base: {}\n",
            false,
        ),
        (
            "services:\n  a:\n    image: a\n# c\n\nx-mcpm:\n  profile: p\n  base: {}\n",
            true,
        ),
    ] {
        let document: Value = serde_yaml_ng::from_str(text).unwrap();
        let edits = Edits {
            services: vec![("new", Some(&new))],
            additions: Vec::new(),
            top: ("x-mcpm", &base),
        };
        let full = apply_verified(text, &document, &edits).unwrap();
        match splice(text, &document, &edits) {
            Some(fast) => {
                assert!(spliced, "should have refused:\n{text}");
                assert_eq!(fast, full);
            }
            None => assert!(!spliced, "should have spliced:\n{text}"),
        }
        let reread: Value =
            serde_yaml_ng::from_str(&apply(text, &document, &edits).unwrap()).unwrap();
        assert_eq!(reread["services"]["new"], new);
        assert_eq!(reread["services"]["a"], document["services"]["a"]);
    }
}

/// Comments and blank lines between services stay where they are when a
/// service around them is removed or rewritten, in both paths.
#[test]
fn comments_between_services_stay_in_both_paths() {
    let text = "services:\n  a:\n    image: a\n  # about b\n\n  b:\n    image: b\n# end\nx-mcpm:\n  profile: p\n  base:\n    a: \"0\"\n    b: \"0\"\n";
    let document: Value = serde_yaml_ng::from_str(text).unwrap();
    let new: Value = serde_yaml_ng::from_str("image: z\n").unwrap();
    for (edit, base) in [
        (("a", None), "profile: p\nbase:\n  b: \"0\"\n"),
        (("b", None), "profile: p\nbase:\n  a: \"0\"\n"),
        (
            ("a", Some(&new)),
            "profile: p\nbase:\n  a: \"1\"\n  b: \"0\"\n",
        ),
        (
            ("b", Some(&new)),
            "profile: p\nbase:\n  a: \"0\"\n  b: \"1\"\n",
        ),
    ] {
        let base: Value = serde_yaml_ng::from_str(base).unwrap();
        let edits = Edits {
            services: vec![edit],
            additions: Vec::new(),
            top: ("x-mcpm", &base),
        };
        let full = apply_verified(text, &document, &edits).unwrap();
        let fast = splice(text, &document, &edits);
        assert_eq!(fast.as_deref(), Some(full.as_str()), "{edit:?}");
    }
}

/// Every service removed: the splice leaves that to the tree editor, which
/// writes `services: {}` (dropping the lines would leave `services:`, null).
#[test]
fn removing_every_service_falls_back() {
    let text = "name: p\nservices:\n  a:\n    image: x\n  b:\n    image: y\nx-mcpm:\n  profile: p\n  base: {}\n";
    let document: Value = serde_yaml_ng::from_str(text).unwrap();
    let base = document["x-mcpm"].clone();
    let edits = Edits {
        services: vec![("a", None), ("b", None)],
        additions: Vec::new(),
        top: ("x-mcpm", &base),
    };
    assert_eq!(splice(text, &document, &edits), None);
    let written = apply(text, &document, &edits).unwrap();
    let reread: Value = serde_yaml_ng::from_str(&written).unwrap();
    assert_eq!(
        reread["services"],
        Value::Mapping(Mapping::new()),
        "{written}"
    );
}
