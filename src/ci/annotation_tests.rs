use std::path::PathBuf;

use super::*;

fn unescape(text: &str) -> String {
    text.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
}

#[test]
fn a_full_annotation_is_one_command() {
    let annotation = Annotation {
        level: Level::Error,
        file: PathBuf::from("deploy/compose.yaml"),
        line: Some(12),
        column: Some(3),
        title: "mcpm: fetch is stale".into(),
        message: "the profile changed\nregenerate it".into(),
    };
    assert_eq!(
        annotation.github(),
        "::error file=deploy/compose.yaml,line=12,col=3,title=mcpm%3A fetch is stale::the profile changed%0Aregenerate it\n"
    );
}

#[test]
fn missing_places_and_titles_are_left_out() {
    let annotation = Annotation {
        level: Level::Warning,
        file: PathBuf::from("c.yml"),
        line: None,
        column: None,
        title: String::new(),
        message: "m".into(),
    };
    assert_eq!(annotation.github(), "::warning file=c.yml::m\n");
}

#[test]
fn escaping_round_trips_every_special_character() {
    let nasty = "100% a:b, c\r\nd %0A literal";
    let data = escape_data(nasty);
    assert!(!data.contains('\n') && !data.contains('\r'));
    assert_eq!(unescape(&data), nasty);
    let property = escape_property(nasty);
    assert!(!property.contains(',') && !property.contains(':'));
    assert_eq!(unescape(&property), nasty);
    // The literal `%0A` must not come back as a newline.
    assert!(data.contains("%250A"));
}

#[test]
fn a_file_name_with_commas_stays_one_property() {
    let annotation = Annotation {
        level: Level::Error,
        file: PathBuf::from("a,b:c.yml"),
        line: Some(1),
        column: None,
        title: "t".into(),
        message: "m".into(),
    };
    let line = annotation.github();
    let properties = line
        .strip_prefix("::error ")
        .and_then(|rest| rest.split_once("::"))
        .map(|(properties, _)| properties)
        .unwrap();
    assert_eq!(properties.split(',').count(), 3);
    assert_eq!(properties.split(',').next(), Some("file=a%2Cb%3Ac.yml"));
}
