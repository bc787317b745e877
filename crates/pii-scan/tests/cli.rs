//! The `pii-scan` binary against the contract in DESIGN.md §4.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn run(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pii-scan"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

const TEXT: &str = "Mail jöhn@example.com, card 4111 1111 1111 1111.";

#[test]
fn json_findings_with_byte_offsets() {
    let o = run(&["--json"], TEXT);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 2);
    let first = &arr[0];
    assert_eq!(first["entity_type"], "EMAIL_ADDRESS");
    assert_eq!(first["text"], "jöhn@example.com");
    let s = usize::try_from(first["start"].as_u64().unwrap()).unwrap();
    let e = usize::try_from(first["end"].as_u64().unwrap()).unwrap();
    assert_eq!(&TEXT[s..e], "jöhn@example.com");
    assert!(first["score"].as_f64().unwrap() > 0.5);
    let keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut want = vec!["end", "entity_type", "recognizer", "score", "start", "text"];
    want.sort_unstable();
    let mut keys_sorted = keys.clone();
    keys_sorted.sort_unstable();
    assert_eq!(keys_sorted, want);
    // The keys come in the documented order.
    let raw = stdout(&o);
    let order: Vec<usize> = [
        "\"entity_type\"",
        "\"start\"",
        "\"end\"",
        "\"text\"",
        "\"score\"",
        "\"recognizer\"",
    ]
    .iter()
    .map(|k| raw.find(k).unwrap())
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{raw}");
}

#[test]
fn empty_result_is_an_empty_array() {
    let o = run(&["--json", "-"], "nothing here");
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o).trim(), "[]");
}

#[test]
fn entities_and_min_score_filter() {
    let o = run(&["--json", "--entities", "CREDIT_CARD"], TEXT);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["entity_type"], "CREDIT_CARD");
    let o = run(
        &[
            "--json",
            "--min-score",
            "0.99",
            "--entities=EMAIL_ADDRESS,PHONE_NUMBER",
        ],
        "at 415-555-0132, a@b.com",
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["entity_type"], "EMAIL_ADDRESS");
}

#[test]
fn file_input_and_human_output() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.txt");
    std::fs::write(&path, TEXT).unwrap();
    let o = run(&[path.to_str().unwrap()], "");
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].starts_with("EMAIL_ADDRESS\t5\t22\t"), "{out}");
}

#[test]
fn jsonl_batch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("batch.jsonl");
    std::fs::write(
        &path,
        "{\"id\": 1, \"text\": \"a@example.com\"}\n\n{\"id\": \"two\", \"text\": \"none\"}\n{\"id\": [3], \"text\": \"ssn 536-90-4399\"}\n",
    )
    .unwrap();
    let o = run(&["--jsonl", path.to_str().unwrap()], "");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["id"], 1);
    assert_eq!(lines[0]["findings"][0]["entity_type"], "EMAIL_ADDRESS");
    assert_eq!(lines[0]["findings"][0]["start"], 0);
    assert_eq!(lines[1]["id"], "two");
    assert_eq!(lines[1]["findings"].as_array().unwrap().len(), 0);
    assert_eq!(lines[2]["id"][0], 3);
    assert_eq!(lines[2]["findings"][0]["text"], "536-90-4399");
    // Stdin works too. A bad line gets an error line of its own (naming the
    // line, never quoting it), the batch goes on, and the exit code is 1.
    let o = run(
        &["--jsonl", "-"],
        "{\"id\": 1, \"text\": \"x\"}\nnot json 536-90-4399\n{\"id\": 7, \"txt\": \"a\"}\n\
         {\"id\": 8, \"text\": \"b@example.com\"}\r\n",
    );
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(!out.contains("536-90-4399"), "{out}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert_eq!(lines[0]["id"], 1);
    assert_eq!(lines[1]["id"], serde_json::Value::Null);
    assert!(
        lines[1]["error"]
            .as_str()
            .unwrap()
            .starts_with("line 2: not JSON")
    );
    assert!(lines[1].get("findings").is_none());
    assert_eq!(lines[2]["id"], 7);
    assert_eq!(lines[2]["error"], "line 3: no string field `text`");
    assert_eq!(lines[3]["id"], 8);
    assert_eq!(lines[3]["findings"][0]["text"], "b@example.com");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("2 line(s)"), "{err}");
    // Invalid UTF-8 on one line is that line's error only.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.jsonl");
    std::fs::write(
        &path,
        b"{\"id\": 1, \"text\": \"\xff\"}\n{\"id\": 2, \"text\": \"ok\"}\n",
    )
    .unwrap();
    let o = run(&["--jsonl", path.to_str().unwrap()], "");
    assert_eq!(o.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines[0]["error"].as_str().unwrap().contains("not UTF-8"));
    assert_eq!(lines[1]["id"], 2);
}

#[test]
fn hash_key_file_is_raw_unless_text() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = |key: &[u8]| {
        let path = dir.path().join("key");
        std::fs::write(&path, key).unwrap();
        let o = run(
            &[
                "--anonymize",
                "hash",
                "--hash-key-file",
                path.to_str().unwrap(),
            ],
            TEXT,
        );
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        stdout(&o)
    };
    // A binary key ending in a newline byte keeps it.
    let mut binary = vec![0xff_u8; 16];
    assert_ne!(tokens(&binary), {
        binary.push(b'\n');
        tokens(&binary)
    });
    // A text key loses exactly one trailing line ending.
    let plain = tokens(b"a very secret key of 32 bytes!!");
    assert_eq!(plain, tokens(b"a very secret key of 32 bytes!!\n"));
    assert_eq!(plain, tokens(b"a very secret key of 32 bytes!!\r\n"));
    assert_ne!(plain, tokens(b"a very secret key of 32 bytes!!\n\n"));
}

#[test]
fn anonymize_operators() {
    let o = run(&["--anonymize", "replace"], TEXT);
    assert_eq!(stdout(&o), "Mail <EMAIL_ADDRESS>, card <CREDIT_CARD>.");
    let o = run(&["--anonymize", "redact"], TEXT);
    assert_eq!(stdout(&o), "Mail , card .");
    let o = run(&["--anonymize", "mask"], TEXT);
    assert_eq!(
        stdout(&o),
        "Mail ************.com, card ***************1111."
    );
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key");
    std::fs::write(&key, "a very secret key of 32 bytes!!\n").unwrap();
    let a = run(
        &[
            "--anonymize",
            "hash",
            "--hash-key-file",
            key.to_str().unwrap(),
        ],
        TEXT,
    );
    let b = run(
        &[
            "--anonymize",
            "hash",
            "--hash-key-file",
            key.to_str().unwrap(),
        ],
        TEXT,
    );
    assert_eq!(a.status.code(), Some(0));
    assert_eq!(stdout(&a), stdout(&b));
    assert!(stdout(&a).starts_with("Mail <EMAIL_ADDRESS:"));
    assert!(!stdout(&a).contains("example"));
    // Without a key: a random one, and a note on stderr.
    let c = run(&["--anonymize", "hash"], TEXT);
    assert_eq!(c.status.code(), Some(0));
    assert_ne!(stdout(&c), stdout(&a));
    assert!(String::from_utf8_lossy(&c.stderr).contains("random key"));
}

#[test]
fn usage_errors_exit_2_and_input_errors_exit_1() {
    for args in [
        &["--bogus"][..],
        &["--min-score", "2"],
        &["--min-score"],
        &["--entities", "lower"],
        &["--entities", "NOT_AN_ENTITY"],
        &["--json", "--anonymize", "redact"],
        &["--anonymize", "scramble"],
        &["a.txt", "b.txt"],
        &["--mask-keep", "3"],
    ] {
        let o = run(args, "");
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("usage:"),
            "{args:?}"
        );
    }
    let o = run(&["/nonexistent/input.txt"], "");
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/input.txt"));
    let o = run(&["--json"], "\u{0}ok");
    assert_eq!(o.status.code(), Some(0));
    let mut child = Command::new(env!("CARGO_BIN_EXE_pii-scan"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"jane@example.com \xff\xfe")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(err.contains("UTF-8") && err.contains("17"), "{err}");
    assert!(!err.contains("jane"), "no scanned text in messages: {err}");
    assert!(o.stdout.is_empty(), "no half-written output");
    // The same in JSON mode: no half-written array.
    let mut child = Command::new(env!("CARGO_BIN_EXE_pii-scan"))
        .arg("--json")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"jane@example.com \xff\xfe")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        o.stdout.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&o.stdout)
    );
}

#[test]
fn config_file_and_help() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        "[[recognizer]]\nentity = \"TICKET\"\npattern = 'TCK-\\d{4}'\nscore = 0.9\n",
    )
    .unwrap();
    let o = run(
        &["--json", "--config", cfg.to_str().unwrap()],
        "see TCK-1234",
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v[0]["entity_type"], "TICKET");
    std::fs::write(&cfg, "min_score = 0.5\nscore = 1\n").unwrap();
    let o = run(&["--config", cfg.to_str().unwrap()], "");
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(err.contains("line 2") && err.contains("score"), "{err}");
    let o = run(&["--help"], "");
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("--anonymize"));
    let o = run(&["--list-entities"], "");
    assert!(stdout(&o).lines().any(|l| l == "UK_NHS"));
}

/// Arguments are parsed by clap: generated help that names every option with
/// its value, and errors that say what would have been accepted.
#[test]
fn clap_help_and_errors() {
    for help in ["--help", "-h"] {
        let o = run(&[help], "");
        assert_eq!(o.status.code(), Some(0));
        let out = stdout(&o);
        assert!(out.contains("Options:"), "{out}");
        for flag in [
            "--json ",
            "--jsonl <FILE>",
            "--anonymize <OP>",
            "--entities <A,B>",
            "--min-score <S>",
            "--config <FILE>",
            "--mask-keep <N>",
            "--hash-key-file <FILE>",
            "--list-entities",
            "Exit codes: 0 done, 1 error, 2 usage.",
        ] {
            assert!(out.contains(flag), "{flag}: {out}");
        }
    }
    let o = run(&["--anonymize", "scramble"], "");
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(
        err.contains("[possible values: redact, replace, mask, hash]"),
        "{err}"
    );
    let o = run(&["--anonymize=mask", "--mask-keep=x"], "");
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(
        err.contains("--mask-keep <N>") && err.contains("usage:"),
        "{err}"
    );
    // `--opt=value` and `-` still work as before.
    let o = run(
        &["--anonymize=replace", "--mask-keep=2", "-"],
        "mail jane@example.com",
    );
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o), "mail <EMAIL_ADDRESS>");
}
