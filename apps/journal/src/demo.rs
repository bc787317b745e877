//! `journal demo`: a non-interactive tour in a fresh temporary directory
//! with a demo passphrase. Every step runs the real command code; the
//! directory is removed at the end (also on failure).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;

use crate::cli::{AuditCommand, Command, ExportFormat, KeysCommand, PiiFlags};
use crate::commands::{Globals, run_command};
use crate::error::code_of;
use crate::ui::Ui;

/// The demo's passphrase (a demo journal protects nothing).
pub const DEMO_PASSPHRASE: &str = "correct horse battery staple (demo only)";
/// A model directory for the demo's `reflect` step (feature `ai`).
pub const DEMO_MODEL_ENV: &str = "JOURNAL_DEMO_MODEL";

struct TempTree(PathBuf);

impl Drop for TempTree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_tree() -> Result<TempTree> {
    let mut r = [0u8; 8];
    getrandom::fill(&mut r)
        .map_err(|e| crate::error::error(format!("the OS random generator failed: {e}")))?;
    let base = std::env::temp_dir();
    let base = std::fs::canonicalize(&base).unwrap_or(base);
    let p = base.join(format!(
        "journal-demo-{}",
        data_encoding::HEXLOWER.encode(&r)
    ));
    secure_fs::PrivateDir::create(&p)?;
    Ok(TempTree(p))
}

struct Tour {
    g: Globals,
    ui: Ui,
    step: usize,
}

impl Tour {
    fn say(&mut self, title: &str, what: &str) {
        self.step += 1;
        let head = format!("\n== {}. {title}", self.step);
        println!("{}", self.ui.bold(&head));
        if !what.is_empty() {
            println!("{}", self.ui.dim(what));
        }
    }

    fn cmd(&self, shown: &str, c: Command) -> Result<()> {
        println!("$ journal {shown}");
        let r = run_command(&self.g, c);
        if let Err(e) = &r {
            println!("(exit {}: {e:#})", code_of(e).as_u8());
        }
        r
    }

    fn expect_fail(&self, shown: &str, c: Command) -> Result<u8> {
        println!("$ journal {shown}");
        match run_command(&self.g, c) {
            Ok(()) => Err(crate::error::error(format!(
                "demo: `{shown}` should have failed"
            ))),
            Err(e) => {
                let code = code_of(&e).as_u8();
                println!("(exit {code}: {e:#})");
                Ok(code)
            }
        }
    }
}

/// Runs the tour.
///
/// # Errors
/// Any step that fails unexpectedly.
pub fn run(ui: Ui) -> Result<()> {
    let started = Instant::now();
    let tree = temp_tree()?;
    let dir = tree.0.join("journal");
    let pass = tree.0.join("passphrase.txt");
    std::fs::write(&pass, format!("{DEMO_PASSPHRASE}\n"))?;
    let inner = Ui {
        color: ui.color,
        color_out: ui.color_out,
        interactive: false,
        quiet: false,
    };
    let mut t = Tour {
        g: Globals {
            dir: dir.clone(),
            pass_file: Some(pass),
            ui: inner,
        },
        ui,
        step: 0,
    };
    println!(
        "{}",
        ui.bold("journal demo: an encrypted, tamper-evident diary, in a temporary directory")
    );
    println!("{}", ui.dim(&format!("data directory: {}", dir.display())));

    t.say("init", "Creates the keystore (PBKDF2, 600,000 iterations), the encrypted audit log and an empty index.");
    t.cmd("init", Command::Init)?;

    t.say("add", "Every entry is one AES-256-GCM envelope, bound to its id, in a file named by a keyed hash.");
    t.cmd(
        "add --tag work \"Shipped the 1.0 release. Lunch with the team at 12:30 on 2024-03-05.\"",
        Command::Add {
            tags: vec!["work".into()],
            pii: PiiFlags::default(),
            text: Some(
                "Shipped the 1.0 release. Lunch with the team at 12:30 on 2024-03-05.".into(),
            ),
        },
    )?;
    t.cmd(
        "add --tag home \"Planted tomatoes. See https://example.com/tomatoes for the variety.\"",
        Command::Add {
            tags: vec!["home".into()],
            pii: PiiFlags::default(),
            text: Some(
                "Planted tomatoes. See https://example.com/tomatoes for the variety.".into(),
            ),
        },
    )?;
    println!("{}", ui.dim("(dates, times and links never block a save)"));

    let pii_text =
        "Call the bank. My card 4111 1111 1111 1111 was blocked; they will mail bob@example.org.";
    t.say("PII warning", "Cards, bank and national ids, e-mail, phone, crypto addresses: named by type and place, never by value.");
    let code = t.expect_fail(
        "add \"Call the bank. My card 4111 ... was blocked; they will mail bob@...\"",
        Command::Add {
            tags: vec![],
            pii: PiiFlags::default(),
            text: Some(pii_text.into()),
        },
    )?;
    println!(
        "{}",
        ui.dim(&format!("not on a terminal: nothing saved, exit {code}"))
    );
    t.cmd(
        "add --redact \"...\"",
        Command::Add {
            tags: vec!["money".into()],
            pii: PiiFlags {
                redact: true,
                allow_pii: false,
            },
            text: Some(pii_text.into()),
        },
    )?;

    t.say(
        "list",
        "From the encrypted index: no entry is decrypted one by one.",
    );
    t.cmd(
        "list",
        Command::List {
            tag: None,
            since: None,
            until: None,
            json: false,
        },
    )?;
    t.say("search", "");
    t.cmd(
        "search bank",
        Command::Search {
            query: "bank".into(),
            json: false,
        },
    )?;
    let id = first_id(&t.g, "bank")?;
    t.cmd(
        &format!("show {}", &id[..8]),
        Command::Show {
            id: id[..8].to_owned(),
            json: false,
        },
    )?;

    t.say(
        "key rotation",
        "A new data key; every entry and the index re-encrypted; the old key destroyed.",
    );
    t.cmd(
        "keys rotate",
        Command::Keys(KeysCommand::Rotate { if_due: false }),
    )?;
    t.cmd(
        "keys status",
        Command::Keys(KeysCommand::Status { json: false }),
    )?;

    t.say(
        "delete",
        "The entry file is overwritten, renamed, truncated and unlinked; the index forgets it.",
    );
    t.cmd(
        &format!("delete {}", &id[..8]),
        Command::Delete {
            id: id[..8].to_owned(),
        },
    )?;

    t.say(
        "export",
        "Plaintext, 0600, never over an existing file without --force.",
    );
    let out = tree.0.join("export.md");
    t.cmd(
        "export --format markdown --out export.md",
        Command::Export {
            format: ExportFormat::Markdown,
            out: Some(out.clone()),
            force: false,
        },
    )?;
    t.expect_fail(
        "export --format markdown --out export.md    (again)",
        Command::Export {
            format: ExportFormat::Markdown,
            out: Some(out),
            force: false,
        },
    )?;

    t.say("audit log", "Every unlock, read, change, export and rotation; encrypted, chained, sealed by signatures.");
    t.cmd(
        "audit verify",
        Command::Audit(AuditCommand::Verify { checkpoint: None }),
    )?;

    t.say(
        "tamper detection",
        "One byte changed in a COPY of the audit log:",
    );
    tamper_copy(&t.g, &tree.0)?;

    t.say("no plaintext on disk", "");
    let hits = grep_tree(&dir, &["Shipped", "tomatoes", "work", "bank"])?;
    println!(
        "searched every byte under the data directory for entry words: {}",
        if hits.is_empty() {
            "none found".to_owned()
        } else {
            format!("FOUND in {hits:?}")
        }
    );
    if !hits.is_empty() {
        return Err(crate::error::integrity(
            "plaintext found under the data directory",
        ));
    }

    t.say("doctor", "");
    t.cmd(
        "doctor",
        Command::Doctor {
            fix: false,
            json: false,
            binary_manifest: None,
        },
    )?;

    t.say("reflect", "");
    reflect_step(&t, &id)?;

    drop(tree);
    println!(
        "\n{} ({:.1} s; the temporary directory was removed)",
        ui.bold("Done."),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn first_id(g: &Globals, query: &str) -> Result<String> {
    let s = g.session()?;
    let id = {
        let store = s.store()?;
        let q = query.to_lowercase();
        store
            .all_sorted()
            .into_iter()
            .find(|e| e.body.to_lowercase().contains(&q) || e.title.to_lowercase().contains(&q))
            .map(|e| e.id.to_string())
    };
    s.close()?;
    id.ok_or_else(|| crate::error::error("demo: entry not found"))
}

fn tamper_copy(g: &Globals, tmp: &Path) -> Result<()> {
    let k = crate::session::unlock(&g.dir, g.pass_file.as_ref(), g.ui)?;
    let vk = k.keys.verifying_key()?;
    let src = k.root.path().join(crate::session::AUDIT_DIR);
    let copy = tmp.join("audit-copy");
    let dst = secure_fs::PrivateDir::create(&copy)?;
    let mut segment = None;
    for e in std::fs::read_dir(&src)? {
        let e = e?;
        let name = e.file_name();
        let Some(n) = name.to_str() else { continue };
        if n.starts_with('.') || !e.file_type()?.is_file() {
            continue;
        }
        let data = std::fs::read(e.path())?;
        dst.write_atomic(n, &data)?;
        if n.starts_with("segment")
            && segment
                .as_ref()
                .is_none_or(|(_, l): &(String, usize)| data.len() > *l)
        {
            segment = Some((n.to_owned(), data.len()));
        }
    }
    drop(k);
    let (seg, len) = segment.ok_or_else(|| crate::error::error("demo: no audit segment found"))?;
    let mut data = dst.read(&seg)?;
    let pos = len / 2;
    data[pos] ^= 0x01;
    dst.write_atomic(&seg, &data)?;
    println!(
        "$ (flip one bit at byte {pos} of {seg} in the copy, then verify the copy with the public key)"
    );
    match encrypted_audit_log::LogReader::open(&copy, &vk).and_then(|r| r.verify()) {
        Ok(_) => Err(crate::error::error("demo: the tampered copy verified")),
        Err(e) => {
            println!("tampering detected (exit 3): {e}");
            Ok(())
        }
    }
}

/// Files under `dir` holding any of `needles` (case-sensitive bytes).
fn grep_tree(dir: &Path, needles: &[&str]) -> Result<Vec<PathBuf>> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let e = e?;
            let ft = e.file_type()?;
            if ft.is_dir() {
                stack.push(e.path());
            } else if ft.is_file() {
                let data = std::fs::read(e.path())?;
                if needles
                    .iter()
                    .any(|n| data.windows(n.len()).any(|w| w == n.as_bytes()))
                {
                    hits.push(e.path());
                }
            }
        }
    }
    Ok(hits)
}

fn reflect_step(t: &Tour, _id: &str) -> Result<()> {
    let model = std::env::var_os(DEMO_MODEL_ENV).map(PathBuf::from);
    match (crate::model::AI, model) {
        (true, Some(m)) => {
            let s = t.g.session()?;
            let id = {
                let store = s.store()?;
                store.all_sorted().first().map(|e| e.id.to_string())
            };
            s.close()?;
            if let Some(id) = id {
                t.cmd(
                    &format!("reflect {} --model {}", &id[..8], m.display()),
                    Command::Reflect {
                        id,
                        model: Some(m),
                    },
                )?;
            }
        }
        (true, None) => println!(
            "{}",
            t.ui.dim(&format!("skipped: set {DEMO_MODEL_ENV}=DIR to a verified model directory to see a local reflection"))
        ),
        (false, _) => println!(
            "{}",
            t.ui.dim("skipped: this build has no `ai` feature (cargo run --release -p journal --features ai -- demo, with libtorch)")
        ),
    }
    Ok(())
}
