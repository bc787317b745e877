//! PII in `add` when stdin is not a terminal: exit 5 and nothing saved,
//! unless `--redact` or `--allow-pii`; the warning names entity types,
//! never values, and no value reaches the audit log; dates, times and URLs
//! never block a save.

use crate::common::{Journal, grep_tree, stderr, stdout};

const EMAIL: &str = "alice.wonder@example.com";
const CARD: &str = "4111 1111 1111 1111";
const PHONE: &str = "+44 20 7946 0958";

fn assert_no_values(j: &Journal, text: &str, values: &[&str]) {
    for v in values {
        assert!(!text.contains(v), "the PII value {v:?} was shown: {text}");
        let hits = grep_tree(&j.data, v.as_bytes());
        assert!(
            hits.is_empty(),
            "{v:?} in plaintext under the data dir: {hits:?}"
        );
    }
}

#[test]
fn pii_without_a_terminal_exits_5_and_saves_nothing() {
    let j = Journal::init();
    let keep = j.add("Plain entry. nothing personal", &[]);
    for (text, kind) in [
        (format!("Mail me at {EMAIL} tomorrow"), "mail"),
        (format!("Card {CARD} expires soon"), "card"),
        (format!("Call {PHONE} after lunch"), "phone"),
    ] {
        let before_ids = j.ids();
        let out = j.code(&["add", &text], 5);
        let err = stderr(&out);
        assert!(
            err.to_ascii_lowercase().contains(kind),
            "the warning does not name the entity type ({kind}): {err}"
        );
        assert_no_values(&j, &format!("{err}{}", stdout(&out)), &[EMAIL, CARD, PHONE]);
        assert_eq!(j.ids(), before_ids, "an entry was saved despite exit 5");
        // Through stdin too.
        let out = j.run_stdin(&["add", "-"], text.as_bytes());
        assert_eq!(out.status.code(), Some(5), "add - : {}", stderr(&out));
        assert_eq!(j.ids(), before_ids);
    }
    assert_eq!(j.ids(), vec![keep]);
    // The audit log holds no value either.
    let audit = j.json(&["audit", "show", "--json"]).to_string();
    assert_no_values(&j, &audit, &[EMAIL, CARD, PHONE, "4111111111111111"]);
}

#[test]
fn redact_saves_the_entry_without_the_values() {
    let j = Journal::init();
    let out = j.ok(&[
        "add",
        "--redact",
        &format!("Lunch plans. Write to {EMAIL} or call {PHONE} about it"),
    ]);
    assert_no_values(
        &j,
        &format!("{}{}", stdout(&out), stderr(&out)),
        &[EMAIL, PHONE],
    );
    let texts = j.export_texts();
    assert_eq!(texts.len(), 1);
    let text = texts.values().next().unwrap();
    assert!(!text.contains(EMAIL) && !text.contains(PHONE), "{text}");
    assert!(
        text.contains("Lunch plans") && text.contains("about it"),
        "{text}"
    );
}

#[test]
fn allow_pii_flag_keeps_the_values() {
    let j = Journal::init();
    j.ok(&[
        "add",
        "--allow-pii",
        &format!("Contact. {EMAIL} and card {CARD}"),
    ]);
    let texts = j.export_texts();
    let text = texts.values().next().unwrap();
    assert!(text.contains(EMAIL) && text.contains(CARD), "{text}");
    // Still encrypted on disk.
    assert!(grep_tree(&j.data, EMAIL.as_bytes()).is_empty());
    // The audit log records the save but not the values.
    let audit = j.json(&["audit", "show", "--json"]).to_string();
    assert!(!audit.contains(EMAIL) && !audit.contains(CARD), "{audit}");
}

#[test]
fn dates_times_and_urls_never_block_a_save() {
    let j = Journal::init();
    for text in [
        "Met Sam on 2024-03-05 at 10:30, lovely morning",
        "Read https://example.org/articles/42?x=1 over breakfast",
        "Tuesday 5 March 2024, 14:00 to 15:30: long walk",
        "See www.rust-lang.org and 12/03/2023 notes",
    ] {
        j.ok(&["add", text]);
    }
    assert_eq!(j.ids().len(), 4);
}

#[test]
fn edit_with_pii_and_no_terminal_exits_5_and_keeps_the_old_text() {
    let j = Journal::init();
    let id = j.add("Edit target. harmless words", &[]);
    let editor = crate::common::script(
        &j.path("pii-editor.sh"),
        &format!("for f; do :; done\nprintf 'Now with {EMAIL}\\n' > \"$f\""),
    );
    let mut c = j.cmd();
    c.env("EDITOR", &editor)
        .env("VISUAL", &editor)
        .args(["edit", &id]);
    let out = crate::common::run(c);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(!stderr(&out).contains(EMAIL));
    let texts = j.export_texts();
    assert!(texts[&id].contains("harmless words"), "{}", texts[&id]);
    assert!(!texts[&id].contains(EMAIL));
}
