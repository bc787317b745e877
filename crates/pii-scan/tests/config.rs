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

/// A pattern that does not compile is named in the error, with the regex
/// compiler's reason (issue 12 item 8), from a config file and the builder.
#[test]
fn bad_patterns_are_named_with_the_regex_error() {
    let err = Scanner::builder()
        .config_toml("[[recognizer]]\nentity = \"X\"\npattern = 'EMP-(\\d{6}'\nscore = 0.5\n")
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("line 3"), "{msg}");
    assert!(msg.contains(r"`EMP-(\d{6}`"), "{msg}");
    assert!(msg.contains("unclosed group"), "{msg}");
    assert!(!msg.contains('\n'), "one line: {msg}");

    let rec = |pattern: &str| {
        let e = pii_scan::EntityType::custom("EMPLOYEE_ID").unwrap();
        let err = Scanner::builder()
            .recognizer(pii_scan::CustomRecognizer::new(e, pattern, 0.5).name("staff"))
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::InvalidPattern { .. }), "{err:?}");
        err.to_string()
    };
    let msg = rec(r"\bE\d{7");
    assert!(msg.contains("`staff`"), "{msg}");
    assert!(msg.contains(r"`\bE\d{7`"), "{msg}");
    assert!(msg.contains("unclosed counted repetition"), "{msg}");
    let msg = rec("a{1000}{1000}");
    assert!(msg.contains("`a{1000}{1000}`"), "{msg}");
    assert!(
        msg.contains("size limit") || msg.contains("limit of"),
        "{msg}"
    );
    // Long patterns are cut in the message.
    let long = format!("({}", "x".repeat(500));
    let msg = rec(&long);
    assert!(msg.contains('…') && msg.len() < 300, "{msg}");
}
