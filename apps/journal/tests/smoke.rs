//! One smoke test of the binary: init, add, list, show, search, delete,
//! audit verify, in a temporary directory, with the passphrase from a file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

fn journal(dir: &std::path::Path, pass: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_journal"))
        .arg("--data-dir")
        .arg(dir)
        .arg("--passphrase-file")
        .arg(pass)
        .args(args)
        .env_remove("JOURNAL_DIR")
        .env_remove("JOURNAL_PASSPHRASE_FILE")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn init_add_list_show_search_delete_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("journal");
    let pass = tmp.path().join("pass");
    std::fs::write(&pass, "smoke test passphrase\n").unwrap();

    let o = journal(&dir, &pass, &["init"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("audit verification key: "));

    let o = journal(
        &dir,
        &pass,
        &["add", "--tag", "smoke", "Marker xyzzy-smoke. A body line."],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let id = String::from_utf8(o.stdout).unwrap().trim().to_owned();
    assert_eq!(id.len(), 36);

    let o = journal(&dir, &pass, &["list", "--json"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["id"], id.as_str());
    assert_eq!(v[0]["tags"][0], "smoke");

    let o = journal(&dir, &pass, &["show", &id[..8], "--json"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["title"], "Marker xyzzy-smoke.");
    assert_eq!(v["body"], "A body line.");

    let o = journal(&dir, &pass, &["search", "XYZZY", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);

    // Nothing in plaintext under the data directory.
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                let data = std::fs::read(e.path()).unwrap();
                assert!(
                    !data.windows(5).any(|w| w == b"xyzzy"),
                    "{}",
                    e.path().display()
                );
            }
        }
    }

    let o = journal(&dir, &pass, &["delete", &id]);
    assert!(o.status.success());
    let o = journal(&dir, &pass, &["list", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v.as_array().unwrap().is_empty());

    let o = journal(&dir, &pass, &["audit", "verify"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    std::fs::write(&pass, "wrong\n").unwrap();
    assert_eq!(journal(&dir, &pass, &["list"]).status.code(), Some(4));
}
