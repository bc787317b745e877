//! Configuration files from disk.

use pii_scan::{Error, Scanner};

#[test]
fn toml_file_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pii.toml");
    std::fs::write(
        &path,
        r#"
version = 1
min_score = 0.5
allow_list = ["help@example.com"]

[[recognizer]]
name = "ticket"
entity = "TICKET_ID"
pattern = '\bTCK-\d{5}\b'
score = 0.8
"#,
    )
    .unwrap();
    let toml = std::fs::read_to_string(&path).unwrap();
    let s = Scanner::builder()
        .config_toml(&toml)
        .unwrap()
        .build()
        .unwrap();
    let text = "TCK-12345 from help@example.com and bob@example.com";
    let got: Vec<_> = s
        .scan(text)
        .iter()
        .map(|f| f.entity_type.to_string())
        .collect();
    assert_eq!(got, ["TICKET_ID", "EMAIL_ADDRESS"]);
}

#[test]
fn errors_are_clear() {
    let err = Scanner::builder()
        .config_toml("[[recognizer]]\nentity = \"T\"\nscore = 0.5\n")
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Config { .. }));
    assert!(msg.contains("pattern"), "{msg}");
    let err = Scanner::builder()
        .config_toml("entities = [\"EMAIL\", \"lower-case\"]\n")
        .unwrap_err();
    assert!(err.to_string().contains("line 1"), "{err}");
    assert!(err.to_string().contains("entities"), "{err}");
}
