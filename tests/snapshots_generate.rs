//! Snapshot tests: the exact YAML generated for each example profile. A change
//! in output shows up as a reviewed snapshot diff (`cargo insta review`).
mod common;

use common::{mcpm, root};

#[test]
fn example_profiles_render_as_recorded() {
    let config = tempfile::tempdir().unwrap();
    let mut profiles: Vec<_> = std::fs::read_dir(root().join("profiles-example"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    profiles.sort();
    for profile in profiles {
        // Relative to the repository root (mcpm runs there), as a user in
        // a clone would write it; the header's sync command repeats it.
        let output = mcpm(config.path())
            .args(["docker", "generate"])
            .arg(profile.strip_prefix(root()).unwrap())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let name = profile.file_stem().unwrap().to_string_lossy().into_owned();
        insta::assert_snapshot!(name, String::from_utf8(output.stdout).unwrap());
    }
}
