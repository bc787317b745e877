//! One function per command: wiring between the command line, the
//! session and the crates. Results go to stdout (one JSON document with
//! `--json`), messages to stderr.

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Result;
use encrypted_audit_log::{Event, Filter, LogReader};
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::cli::{
    AuditCommand, Cli, Command, ExportFormat, ImportFormat, KeysCommand, ModelCommand, PiiFlags,
};
use crate::entry::{Entry, EntryId, normalize_tag};
use crate::error::{Code, error, fail, integrity};
use crate::session::{self, AUDIT_DIR, Keyring, Session};
use crate::settings::Settings;
use crate::ui::Ui;
use crate::{dates, pii};

/// Global options every command gets.
#[derive(Debug, Clone)]
pub struct Globals {
    /// The data directory.
    pub dir: PathBuf,
    /// `--passphrase-file`.
    pub pass_file: Option<PathBuf>,
    /// How to talk to the user.
    pub ui: Ui,
}

impl Globals {
    pub(crate) fn unlock(&self) -> Result<Keyring> {
        session::unlock(&self.dir, self.pass_file.as_ref(), self.ui)
    }

    pub(crate) fn session(&self) -> Result<Session> {
        self.unlock()?.into_session()
    }
}

fn out(s: impl AsRef<str>) -> Result<()> {
    let mut o = std::io::stdout().lock();
    match o.write_all(s.as_ref().as_bytes()).and_then(|()| o.flush()) {
        // The reader went away (`journal list | head`): not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => Ok(r?),
    }
}

fn out_json(v: &Value) -> Result<()> {
    out(format!("{}\n", serde_json::to_string_pretty(v)?))
}

/// Runs a parsed command line.
///
/// # Errors
/// The command's failure, carrying its exit code (see [`crate::error`]).
pub fn dispatch(cli: Cli, ui: Ui) -> Result<()> {
    // Commands that need no journal.
    match &cli.command {
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            crate::cli::completions(*shell, &mut buf);
            return out(String::from_utf8_lossy(&buf));
        }
        Command::Man { dir } => {
            for p in crate::cli::man_pages(dir)? {
                ui.info(format!("wrote {}", p.display()));
            }
            return Ok(());
        }
        Command::Demo => return crate::demo::run(ui),
        Command::Model(ModelCommand::Verify { dir, manifest }) if manifest.is_some() => {
            return crate::model::verify_cmd(None, dir, manifest.as_deref(), ui);
        }
        _ => {}
    }
    let g = Globals {
        dir: session::data_dir(cli.data_dir.as_deref())?,
        pass_file: cli.passphrase_file,
        ui,
    };
    run_command(&g, cli.command)
}

/// Runs one command against the journal of `g`.
///
/// # Errors
/// The command's failure.
pub fn run_command(g: &Globals, command: Command) -> Result<()> {
    match command {
        Command::Init => init(g),
        Command::Add { tags, pii, text } => add(g, &tags, pii, text.as_deref()),
        Command::List {
            tag,
            since,
            until,
            json,
        } => list(g, tag.as_deref(), since.as_deref(), until.as_deref(), json),
        Command::Show { id, json } => show(g, &id, json),
        Command::Search { query, json } => search(g, &query, json),
        Command::Edit { id, pii } => edit(g, &id, pii),
        Command::Delete { id } => delete(g, &id),
        Command::Export { format, out, force } => export(g, format, out.as_deref(), force),
        Command::Import { format, file, pii } => import(g, format, &file, pii),
        Command::Keys(k) => keys(g, &k),
        Command::Audit(a) => audit(g, a),
        Command::Doctor {
            fix,
            json,
            binary_manifest,
        } => crate::doctor::run(g, fix, json, binary_manifest.as_deref()),
        Command::Model(ModelCommand::Fetch {
            urls,
            sha256,
            out,
            name,
            allow,
            ca_file,
            resolve,
        }) => crate::model::fetch_cmd(
            g,
            &urls,
            &sha256,
            out.as_deref(),
            &name,
            &crate::model::Mirror {
                allow: &allow,
                ca_file: ca_file.as_deref(),
                resolve: &resolve,
            },
        ),
        Command::Model(ModelCommand::Verify { dir, manifest }) => {
            crate::model::verify_cmd(Some(g), &dir, manifest.as_deref(), g.ui)
        }
        Command::Reflect { id, model } => crate::model::reflect_cmd(g, &id, model.as_deref()),
        Command::Demo => crate::demo::run(g.ui),
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            crate::cli::completions(shell, &mut buf);
            out(String::from_utf8_lossy(&buf))
        }
        Command::Man { dir } => {
            crate::cli::man_pages(&dir)?;
            Ok(())
        }
    }
}

fn init(g: &Globals) -> Result<()> {
    let pass = crate::passphrase::new(
        g.pass_file
            .clone()
            .or_else(|| std::env::var_os(crate::passphrase::PASSPHRASE_ENV).map(PathBuf::from))
            .as_deref(),
    )?;
    let created = session::init(&g.dir, &pass, &Settings::default(), &g.ui)?;
    g.ui.info(format!("Created a journal in {}", g.dir.display()));
    g.ui.info(
        "The audit log's public verification key is below. Keep a copy somewhere this machine cannot change \
(a password manager, a printout): it proves the log was not rewritten.",
    );
    out(format!(
        "audit verification key: {}\n",
        created.verifying_key
    ))?;
    Ok(())
}

/// Splits text into a title and a body the way jrnl does: the title ends
/// at the first line break or the first sentence end (`.`, `?`, `!`
/// followed by a space).
pub fn split_text(text: &str) -> (String, String) {
    let t = text.trim();
    let line_end = t.find('\n').unwrap_or(t.len());
    let first = &t[..line_end];
    let mut cut = line_end;
    for (i, c) in first.char_indices() {
        if matches!(c, '.' | '?' | '!') && first[i + 1..].starts_with(' ') {
            cut = i + 1;
            break;
        }
    }
    (t[..cut].trim().to_owned(), t[cut..].trim().to_owned())
}

/// The text an entry is edited as: the title, a blank line, the body.
pub fn compose(e: &Entry) -> String {
    if e.body.is_empty() {
        format!("{}\n", e.title)
    } else {
        format!("{}\n\n{}\n", e.title, e.body)
    }
}

fn read_text(text: Option<&str>) -> Result<Zeroizing<String>> {
    match text {
        Some("-") => {
            let mut s = Zeroizing::new(String::new());
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| error(format!("cannot read the text from stdin: {e}")))?;
            Ok(s)
        }
        Some(t) => Ok(Zeroizing::new(t.to_owned())),
        // The editor is $VISUAL/$EDITOR, terminal or not (a scripted
        // editor works too); without one the error says how to pass text.
        None => crate::editor::edit(""),
    }
}

/// What the PII gate decided.
enum Gate {
    /// Save this text and these tags; whether they were redacted.
    Save(Zeroizing<String>, Vec<String>, bool),
}

fn ask(ui: &Ui) -> Result<char> {
    loop {
        eprint!(
            "{} ",
            ui.bold_err("Save anyway, redact, or cancel? [s/r/c]")
        );
        let mut line = String::new();
        let n = std::io::stdin().lock().read_line(&mut line)?;
        if n == 0 {
            return Ok('c');
        }
        match line.trim().to_ascii_lowercase().chars().next() {
            Some(c @ ('s' | 'r' | 'c')) => return Ok(c),
            _ => continue,
        }
    }
}

/// Scans the text and tags; decides as the contract says. `what` names the
/// item ("this entry").
fn pii_gate(
    s: &Session,
    gate: &pii::Gate<'_>,
    text: Zeroizing<String>,
    tags: Vec<String>,
    flags: PiiFlags,
    what: &str,
    places: Option<&str>,
) -> Result<Gate> {
    let found = gate.scan(&text)?;
    let mut tag_found: Vec<(usize, Vec<pii_scan::Finding>)> = Vec::new();
    for (i, t) in tags.iter().enumerate() {
        let f = gate.scan(t)?;
        if !f.is_empty() {
            tag_found.push((i, f));
        }
    }
    if found.is_empty() && tag_found.is_empty() {
        return Ok(Gate::Save(text, tags, false));
    }
    let mut types: Vec<String> = found
        .iter()
        .chain(tag_found.iter().flat_map(|(_, f)| f.iter()))
        .map(|f| f.entity_type.as_str().to_owned())
        .collect();
    types.sort();
    types.dedup();
    let mut msg = format!("possible personal data in {what} (values not shown):\n");
    match places {
        Some(p) => msg.push_str(p),
        None => msg.push_str(&pii::describe(&text, &found)),
    }
    for (i, f) in &tag_found {
        for x in f {
            msg.push_str(&format!("  {} in tag {}\n", x.entity_type, i + 1));
        }
    }
    s.ui.warn(msg.trim_end());
    let choice = if flags.allow_pii {
        's'
    } else if flags.redact {
        'r'
    } else if s.ui.interactive {
        ask(&s.ui)?
    } else {
        'n'
    };
    s.audit(Event::new("pii.warning").with("types", types.clone()).with(
        "decision",
        match choice {
            's' => "saved",
            'r' => "redacted",
            _ => "not saved",
        },
    ))?;
    match choice {
        's' => Ok(Gate::Save(text, tags, false)),
        'r' => {
            let red = Zeroizing::new(pii::redact(&text, &found)?);
            let mut new_tags = Vec::with_capacity(tags.len());
            for (i, t) in tags.iter().enumerate() {
                match tag_found.iter().find(|(j, _)| *j == i) {
                    Some((_, f)) => new_tags.push(pii::redact(t, f)?),
                    None => new_tags.push(t.clone()),
                }
            }
            s.ui.info("redacted: each finding was replaced by its type, e.g. <EMAIL_ADDRESS>");
            Ok(Gate::Save(red, new_tags, true))
        }
        'c' => Err(fail(Code::Pii, "cancelled: PII found, nothing saved")),
        _ => Err(fail(
            Code::Pii,
            "PII found, nothing saved: use --redact to replace it by its type, or --allow-pii to save it as is",
        )),
    }
}

fn entry_json(e: &Entry, body: bool) -> Value {
    let mut v = json!({
        "id": e.id.to_string(),
        "created": dates::rfc3339(e.created),
        "updated": dates::rfc3339(e.updated),
        "tags": e.tags,
        "title": e.title,
    });
    if body && let Some(o) = v.as_object_mut() {
        o.insert("body".into(), Value::String(e.body.clone()));
    }
    v
}

fn entry_line(ui: &Ui, e: &Entry) -> String {
    let tags = if e.tags.is_empty() {
        String::new()
    } else {
        format!(
            "  {}",
            e.tags
                .iter()
                .map(|t| format!("@{t}"))
                .collect::<Vec<_>>()
                .join(" ")
        )
    };
    format!(
        "{}  {}  {}{}\n",
        ui.dim(&e.id.short()),
        dates::human(e.created),
        e.title,
        tags
    )
}

fn add(g: &Globals, tags: &[String], flags: PiiFlags, text: Option<&str>) -> Result<()> {
    let text = read_text(text)?;
    if text.trim().is_empty() {
        return Err(error("the entry is empty; nothing saved"));
    }
    let tags: Vec<String> = tags
        .iter()
        .map(|t| normalize_tag(t))
        .filter(|t| !t.is_empty())
        .collect();
    let s = g.session()?;
    let gate = pii::Gate::new(&s.settings)?;
    let Gate::Save(text, tags, _) = pii_gate(&s, &gate, text, tags, flags, "this entry", None)?;
    let mut store = s.store_for_append()?;
    let (title, body) = split_text(&text);
    let now = dates::now_micros();
    let e = Entry {
        id: EntryId::generate()
            .map_err(|e| error(format!("the OS random generator failed: {e}")))?,
        created: now,
        updated: now,
        tags,
        title,
        body,
    };
    e.check().map_err(error)?;
    let id = e.id;
    store.upsert(vec![e])?;
    s.audit(Event::new("entry.add").with("entry", id.to_string()))?;
    drop(store);
    s.close()?;
    out(format!("{id}\n"))?;
    g.ui.info(format!("Added entry {}", id.short()));
    Ok(())
}

fn list(
    g: &Globals,
    tag: Option<&str>,
    since: Option<&str>,
    until: Option<&str>,
    json: bool,
) -> Result<()> {
    let since = since.map(|d| dates::parse(d, false)).transpose()?;
    let until = until.map(|d| dates::parse(d, true)).transpose()?;
    let s = g.session()?;
    let store = s.store()?;
    let picked: Vec<&Entry> = store
        .all_sorted()
        .into_iter()
        .filter(|e| tag.is_none_or(|t| e.has_tag(t)))
        .filter(|e| since.is_none_or(|t| e.created >= t))
        .filter(|e| until.is_none_or(|t| e.created <= t))
        .collect();
    s.audit(Event::new("entry.list").with("count", picked.len() as u64))?;
    let text = if json {
        format!(
            "{}\n",
            serde_json::to_string_pretty(&Value::Array(
                picked.iter().map(|e| entry_json(e, false)).collect()
            ))?
        )
    } else {
        picked.iter().map(|e| entry_line(&g.ui, e)).collect()
    };
    drop(store);
    s.close()?;
    out(text)
}

fn show(g: &Globals, id: &str, json: bool) -> Result<()> {
    let s = g.session()?;
    let store = s.store()?;
    let id = store.resolve(id)?;
    let e = store.read_entry(&id);
    s.audit(
        Event::new("entry.read")
            .with("entry", id.to_string())
            .with("ok", e.is_ok()),
    )?;
    let e = e?;
    drop(store);
    s.close()?;
    if json {
        out_json(&entry_json(&e, true))
    } else {
        let mut t = format!(
            "{}  {}\n{}\n",
            g.ui.dim(&e.id.to_string()),
            dates::human(e.created),
            g.ui.bold(&e.title)
        );
        if !e.body.is_empty() {
            t.push_str(&format!("\n{}\n", e.body));
        }
        if !e.tags.is_empty() {
            t.push_str(&format!(
                "\n{}\n",
                e.tags
                    .iter()
                    .map(|t| format!("@{t}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ));
        }
        out(t)
    }
}

fn search(g: &Globals, query: &str, json: bool) -> Result<()> {
    let q = query.to_lowercase();
    if q.trim().is_empty() {
        return Err(fail(Code::Usage, "the search text is empty"));
    }
    let s = g.session()?;
    let store = s.store()?;
    let hits: Vec<&Entry> = store
        .all_sorted()
        .into_iter()
        .filter(|e| {
            contains_ci(&e.title, &q)
                || contains_ci(&e.body, &q)
                || e.tags.iter().any(|t| contains_ci(t, &q))
        })
        .collect();
    s.audit(Event::new("entry.search").with("hits", hits.len() as u64))?;
    let text = if json {
        format!(
            "{}\n",
            serde_json::to_string_pretty(&Value::Array(
                hits.iter().map(|e| entry_json(e, false)).collect()
            ))?
        )
    } else {
        hits.iter().map(|e| entry_line(&g.ui, e)).collect()
    };
    drop(store);
    s.close()?;
    out(text)
}

/// Case-insensitive substring test; `needle` is already lower case.
fn contains_ci(hay: &str, needle: &str) -> bool {
    if hay.is_ascii() && needle.is_ascii() {
        let (h, n) = (hay.as_bytes(), needle.as_bytes());
        if n.len() > h.len() {
            return false;
        }
        return h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n));
    }
    hay.to_lowercase().contains(needle)
}

fn edit(g: &Globals, id: &str, flags: PiiFlags) -> Result<()> {
    let s = g.session()?;
    let mut store = s.store()?;
    let id = store.resolve(id)?;
    let old = store.read_entry(&id)?;
    s.audit(
        Event::new("entry.read")
            .with("entry", id.to_string())
            .with("ok", true),
    )?;
    let edited = crate::editor::edit(&compose(&old))?;
    if edited.trim().is_empty() {
        return Err(error(
            "the edited entry is empty; nothing changed (use `journal delete` to delete it)",
        ));
    }
    if edited.trim() == compose(&old).trim() {
        s.ui.info("no change");
        drop(store);
        return s.close();
    }
    let gate = pii::Gate::new(&s.settings)?;
    let Gate::Save(text, tags, _) = pii_gate(
        &s,
        &gate,
        edited,
        old.tags.clone(),
        flags,
        "this entry",
        None,
    )?;
    let (title, body) = split_text(&text);
    let mut e = old;
    e.title = title;
    e.body = body;
    e.tags = tags;
    e.updated = dates::now_micros();
    store.upsert(vec![e])?;
    s.audit(Event::new("entry.edit").with("entry", id.to_string()))?;
    drop(store);
    s.close()?;
    g.ui.info(format!("Saved entry {}", id.short()));
    Ok(())
}

fn delete(g: &Globals, id: &str) -> Result<()> {
    let s = g.session()?;
    let mut store = s.store()?;
    let id = store.resolve(id)?;
    let overwrite = store.remove(&id)?;
    s.audit(
        Event::new("entry.delete")
            .with("entry", id.to_string())
            .with("overwrite", format!("{overwrite:?}").to_lowercase()),
    )?;
    drop(store);
    s.close()?;
    g.ui.info(format!(
        "Deleted entry {} (its file was overwritten and removed)",
        id.short()
    ));
    if !matches!(overwrite, secure_fs::Overwrite::Reliable) {
        g.ui.warn(
            "this file system does not guarantee that overwriting reaches the old blocks (copy-on-write, SSD or network storage); the entry was encrypted, and its key is destroyed at the next rotation",
        );
    }
    Ok(())
}

/// The export document of `entries` (oldest first).
///
/// # Errors
/// JSON serialization errors.
pub fn export_text(entries: &[&Entry], format: ExportFormat) -> Result<Zeroizing<String>> {
    Ok(Zeroizing::new(match format {
        ExportFormat::Json => {
            let v = json!({
                "format": "journal-export",
                "version": 1,
                "entries": entries.iter().map(|e| entry_json(e, true)).collect::<Vec<_>>(),
            });
            format!("{}\n", serde_json::to_string_pretty(&v)?)
        }
        ExportFormat::Markdown => {
            let mut s = String::from("# Journal\n");
            for e in entries {
                s.push_str(&format!("\n## {} {}\n\n", dates::human(e.created), e.title));
                if !e.tags.is_empty() {
                    s.push_str(&format!(
                        "Tags: {}\n\n",
                        e.tags
                            .iter()
                            .map(|t| format!("@{t}"))
                            .collect::<Vec<_>>()
                            .join(" ")
                    ));
                }
                if !e.body.is_empty() {
                    s.push_str(&e.body);
                    s.push('\n');
                }
                s.push_str(&format!("\n<!-- id: {} -->\n", e.id));
            }
            s
        }
    }))
}

/// Writes `data` to a new 0600 file (or replaces one with `force`).
fn write_private(path: &Path, data: &[u8], force: bool) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::fs::PermissionsExt;
    let mut o = std::fs::OpenOptions::new();
    o.write(true)
        .mode(0o600)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits().cast_signed());
    if force {
        o.create(true).truncate(true);
    } else {
        o.create_new(true);
    }
    let mut f = o.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            error(format!(
                "{} exists: refusing to overwrite it (give --force)",
                path.display()
            ))
        } else {
            error(format!("cannot write {}: {e}", path.display()))
        }
    })?;
    f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    f.write_all(data)?;
    f.sync_all()?;
    Ok(())
}

fn export(g: &Globals, format: ExportFormat, out_path: Option<&Path>, force: bool) -> Result<()> {
    if let Some(p) = out_path
        && !force
        && std::fs::symlink_metadata(p).is_ok()
    {
        return Err(error(format!(
            "{} exists: refusing to overwrite it (give --force)",
            p.display()
        )));
    }
    let s = g.session()?;
    let store = s.store()?;
    let entries = store.all_sorted();
    let text = export_text(&entries, format)?;
    g.ui.warn(
        "the export is PLAINTEXT: anyone who can read it reads your journal. Keep it safe and delete it when done.",
    );
    s.audit(
        Event::new("export")
            .with("format", format!("{format:?}").to_lowercase())
            .with("entries", entries.len() as u64)
            .with(
                "to",
                // The file's name only: a full path can name the user.
                out_path.map_or_else(
                    || "stdout".to_owned(),
                    |p| {
                        p.file_name()
                            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
                    },
                ),
            ),
    )?;
    let n = entries.len();
    drop(entries);
    drop(store);
    s.close()?;
    match out_path {
        Some(p) => {
            write_private(p, text.as_bytes(), force)?;
            g.ui.info(format!(
                "Exported {n} entries to {} (mode 0600)",
                p.display()
            ));
        }
        None => out(text.as_str())?,
    }
    Ok(())
}

fn import(g: &Globals, format: ImportFormat, file: &Path, flags: PiiFlags) -> Result<()> {
    let ImportFormat::JrnlJson = format;
    let bytes = Zeroizing::new(if file == Path::new("-") {
        let mut b = Vec::new();
        std::io::stdin().read_to_end(&mut b)?;
        b
    } else {
        std::fs::read(file).map_err(|e| error(format!("cannot read {}: {e}", file.display())))?
    });
    let parsed = crate::import::parse_jrnl_json(&bytes)
        .map_err(|why| error(format!("{}: {why}; nothing imported", file.display())))?;
    for b in &parsed.bad {
        g.ui.warn(format!("record {} skipped: {}", b.index + 1, b.reason));
    }
    let s = g.session()?;
    let gate = pii::Gate::new(&s.settings)?;
    let mut flagged = Vec::new();
    // The warning names records by their place in the file (1-based), not
    // lines of the texts joined for the scan.
    let mut places = String::new();
    let skipped: std::collections::HashSet<usize> = parsed.bad.iter().map(|b| b.index).collect();
    let mut record = (0..).filter(|n| !skipped.contains(n));
    for (i, e) in parsed.good.iter().enumerate() {
        let n = record.next().unwrap_or(i);
        let text = format!("{}\n\n{}", e.title, e.body);
        let mut f = gate.scan(&text)?;
        for t in &e.tags {
            f.extend(gate.scan(t)?);
        }
        if !f.is_empty() {
            let mut types: Vec<&str> = f.iter().map(|x| x.entity_type.as_str()).collect();
            types.sort_unstable();
            types.dedup();
            places.push_str(&format!("  record {}: {}\n", n + 1, types.join(", ")));
            flagged.push(i);
        }
    }
    let mut good = parsed.good.clone();
    if !flagged.is_empty() {
        let all = Zeroizing::new(
            flagged
                .iter()
                .map(|i| format!("{}\n\n{}", good[*i].title, good[*i].body))
                .collect::<Vec<_>>()
                .join("\n"),
        );
        s.ui.warn(format!(
            "{} imported entr{} hold possible personal data",
            flagged.len(),
            if flagged.len() == 1 { "y" } else { "ies" }
        ));
        // One decision for the whole import; redaction is per entry.
        // "s" (save anyway) on a terminal keeps the text; only a redact
        // decision redacts.
        let Gate::Save(_, _, redacted) = pii_gate(
            &s,
            &gate,
            all,
            Vec::new(),
            flags,
            "the import",
            Some(&places),
        )?;
        if redacted {
            for i in &flagged {
                let e = &mut good[*i];
                let f = gate.scan(&e.title)?;
                e.title = pii::redact(&e.title, &f)?;
                let f = gate.scan(&e.body)?;
                e.body = pii::redact(&e.body, &f)?;
                for t in &mut e.tags {
                    let f = gate.scan(t)?;
                    *t = pii::redact(t, &f)?;
                }
            }
        }
    }
    let mut store = s.store()?;
    let now = dates::now_micros();
    let mut entries = Vec::with_capacity(good.len());
    for e in &good {
        entries.push(Entry {
            id: EntryId::generate()
                .map_err(|e| error(format!("the OS random generator failed: {e}")))?,
            created: e.created,
            updated: now,
            tags: e.tags.clone(),
            title: e.title.clone(),
            body: e.body.clone(),
        });
    }
    let n = entries.len();
    if n > 0 {
        store.upsert(entries)?;
    }
    s.audit(
        Event::new("import")
            .with("format", "jrnl-json")
            .with("imported", n as u64)
            .with("skipped", parsed.bad.len() as u64),
    )?;
    drop(store);
    s.close()?;
    g.ui.info(format!(
        "Imported {n} entr{} from {}; skipped {} bad record{}",
        if n == 1 { "y" } else { "ies" },
        file.display(),
        parsed.bad.len(),
        if parsed.bad.len() == 1 { "" } else { "s" }
    ));
    out(format!("imported {n}\nskipped {}\n", parsed.bad.len()))
}

fn keys(g: &Globals, cmd: &KeysCommand) -> Result<()> {
    match cmd {
        KeysCommand::Status { json } => {
            let json = *json;
            let s = g.session()?;
            let days = u64::from(s.settings.rotation_days);
            let keys = s.ks.keys();
            let now = std::time::SystemTime::now();
            let primary = keys
                .iter()
                .find(|k| k.state == keystore_rotation::KeyState::Primary)
                .cloned();
            let age_days = |t: std::time::SystemTime| {
                now.duration_since(t).map_or(0, |d| d.as_secs() / 86_400)
            };
            let due = primary.as_ref().map(|p| {
                let t = p.created + std::time::Duration::from_secs(days * 86_400);
                dates::rfc3339(
                    i64::try_from(
                        t.duration_since(std::time::UNIX_EPOCH)
                            .map_or(0, |d| d.as_micros()),
                    )
                    .unwrap_or(i64::MAX),
                )
            });
            let v = json!({
                "primary": primary.as_ref().map(|p| u32::from(p.id)),
                "primary_age_days": primary.as_ref().map(|p| age_days(p.created)),
                "rotation_days": days,
                "rotation_due": s.ks.rotation_due(),
                "next_rotation": due,
                "generation": s.ks.generation(),
                "kdf": format!("{:?}", s.ks.kdf()),
                "versions": keys.iter().map(|k| json!({
                    "id": u32::from(k.id),
                    "state": format!("{:?}", k.state).to_lowercase(),
                    "algorithm": format!("{:?}", k.algorithm),
                    "age_days": age_days(k.created),
                    "messages": k.messages,
                })).collect::<Vec<_>>(),
            });
            s.audit(Event::new("keys.status"))?;
            s.close()?;
            if json {
                out_json(&v)
            } else {
                let mut t = String::new();
                for k in &keys {
                    t.push_str(&format!(
                        "key {}  {:?}  {:?}  {} days old  {} messages\n",
                        k.id,
                        k.state,
                        k.algorithm,
                        age_days(k.created),
                        k.messages
                    ));
                }
                t.push_str(&format!(
                    "rotation every {days} days; next: {}{}\n",
                    due.unwrap_or_default(),
                    if v["rotation_due"] == json!(true) {
                        " (due now)"
                    } else {
                        ""
                    }
                ));
                out(t)
            }
        }
        KeysCommand::Rotate { if_due } => {
            let s = g.session()?;
            if *if_due && !s.ks.rotation_due() {
                s.ui.info("rotation not due");
                return s.close();
            }
            let mut store = store_without_rotation(&s)?;
            let r = s.rotate(&mut store, true)?;
            drop(store);
            s.close()?;
            g.ui.info(format!(
                "Rotated key {} -> {}: {} entr{} re-encrypted; destroyed version(s) {:?}",
                r.from,
                r.to,
                r.reencrypted,
                if r.reencrypted == 1 { "y" } else { "ies" },
                r.destroyed
            ));
            if r.damaged > 0 {
                return Err(integrity(format!(
                    "{} entry file(s) do not decrypt and were not re-encrypted; the previous key version is kept until they are deleted (`journal doctor` names them)",
                    r.damaged
                )));
            }
            Ok(())
        }
        KeysCommand::Passwd => {
            let s = g.session()?;
            let new = crate::passphrase::new(None)?;
            s.change_passphrase(&new)?;
            s.close()?;
            g.ui.info("Passphrase changed (the data keys and entries are unchanged)");
            Ok(())
        }
    }
}

fn store_without_rotation<'s>(s: &'s Session) -> Result<crate::store::Store<'s>> {
    crate::store::Store::open(&s.root, &s.ks, &s.keys.names)
}

fn audit(g: &Globals, cmd: AuditCommand) -> Result<()> {
    match cmd {
        AuditCommand::Verify { checkpoint } => {
            let k = g.unlock()?;
            let vk = k.keys.verifying_key()?;
            let reader = LogReader::open(k.root.path().join(AUDIT_DIR), &vk)?;
            let report = match &checkpoint {
                Some(p) => {
                    let text = std::fs::read_to_string(p)
                        .map_err(|e| error(format!("cannot read {}: {e}", p.display())))?;
                    let (cp, key) = parse_checkpoint_file(&text)?;
                    reader.verify_with_anchor(&cp, &key)
                }
                None => reader.verify(),
            };
            let report = match report {
                Ok(r) => r,
                Err(e) => {
                    let code = crate::error::audit_code(&e);
                    return Err(fail(
                        if code == Code::Integrity {
                            Code::Integrity
                        } else {
                            Code::Error
                        },
                        format!("audit log verification FAILED: {e}"),
                    ));
                }
            };
            let anchor = k.check_anchor();
            let sealed = report.sealed.map_or_else(
                || "nothing sealed yet".to_owned(),
                |s| {
                    format!(
                        "sealed through record {} ({})",
                        s.seq,
                        encrypted_audit_log::rfc3339(s.time)
                    )
                },
            );
            out(format!(
                "audit log OK: {} records; {sealed}; {} unsealed record(s) after it\n",
                report.next_seq - report.first_seq,
                report.unsealed_records
            ))?;
            for q in &report.quarantines {
                g.ui.warn(format!(
                    "the log was tampered before and continued: damage (kind {}) in segment {} at offset {}, quarantined, continued at record {}",
                    q.kind_code, q.segment, q.offset, q.continued_at
                ));
            }
            if let Some(t) = &report.torn_tail {
                g.ui.info(format!(
                    "a torn final record (a crash, not tampering): {t:?}"
                ));
            }
            if let Some(n) = report.anchored_size {
                out(format!("checkpoint matches ({n} records anchored)\n"))?;
            }
            anchor?;
            Ok(())
        }
        AuditCommand::Show { since, json } => {
            let since = since
                .as_deref()
                .map(|d| dates::parse(d, false))
                .transpose()?;
            let s = g.session()?;
            s.log().flush()?;
            let reader = LogReader::open(s.root.path().join(AUDIT_DIR), &s.keys.verifying_key()?)?;
            let mut filter = Filter::all();
            if let Some(us) = since {
                let t = std::time::UNIX_EPOCH
                    + std::time::Duration::from_micros(u64::try_from(us).unwrap_or(0));
                filter = filter.since(t);
            }
            let mut items = Vec::new();
            for r in reader.records(&s.keys.read_key(), filter)? {
                items.push(r?.to_json());
            }
            s.audit(Event::new("log.show").with("records", items.len() as u64))?;
            s.close()?;
            if json {
                out_json(&Value::Array(items))
            } else {
                let mut t = String::new();
                for it in &items {
                    let fields = it.get("fields").map(Value::to_string).unwrap_or_default();
                    t.push_str(&format!(
                        "{:>6}  {}  {}  {}\n",
                        it.get("seq").map(Value::to_string).unwrap_or_default(),
                        it.get("time").and_then(Value::as_str).unwrap_or(""),
                        it.get("event")
                            .or_else(|| it.get("type"))
                            .and_then(Value::as_str)
                            .unwrap_or(""),
                        fields
                    ));
                }
                out(t)
            }
        }
        AuditCommand::Anchor => {
            let s = g.session()?;
            let key = s.keys.checkpoint_key();
            let cp = s.log().anchor(&key, "journal")?;
            let vk = data_encoding::HEXLOWER.encode(&key.verifying_key().to_bytes());
            s.close()?;
            g.ui.info("Keep this checkpoint somewhere this machine cannot change; `journal audit verify --checkpoint FILE` checks the log against it.");
            out(format!(
                "{}\n-- checkpoint key: {vk}\n",
                cp.text().trim_end()
            ))
        }
        AuditCommand::Recover => {
            let k = g.unlock()?;
            let (s, q) = k.into_recovered_session()?;
            match &q {
                Some(q) => {
                    s.audit(
                        Event::new("log.recover")
                            .with("kind", u64::from(q.kind_code))
                            .with("segment", u64::from(q.segment))
                            .with("offset", q.offset)
                            .with("continued_at", q.continued_at),
                    )?;
                    s.close()?;
                    out(format!(
                        "audit log continued: damage (kind {}) in segment {} at offset {} quarantined ({} file(s) kept read-only), continued at record {}\n",
                        q.kind_code,
                        q.segment,
                        q.offset,
                        q.files.len(),
                        q.continued_at
                    ))
                }
                None => {
                    s.close()?;
                    out("audit log is not tampered: nothing to recover\n")
                }
            }
        }
    }
}

/// Parses the text `audit anchor` printed: the checkpoint, then a line
/// `-- checkpoint key: HEX`.
fn parse_checkpoint_file(text: &str) -> Result<(String, encrypted_audit_log::VerifyingKey)> {
    let (cp, key) = text
        .rsplit_once("-- checkpoint key: ")
        .ok_or_else(|| error("not a checkpoint printed by `journal audit anchor`"))?;
    let key = data_encoding::HEXLOWER_PERMISSIVE
        .decode(key.trim().as_bytes())
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .and_then(|b| encrypted_audit_log::VerifyingKey::from_bytes(&b).ok())
        .ok_or_else(|| error("the checkpoint's key line is not an Ed25519 key"))?;
    Ok((format!("{}\n", cp.trim_end()), key))
}

/// For doctor and the demo: whether an audit log verifies.
pub(crate) fn verify_log(k: &Keyring) -> Result<encrypted_audit_log::VerifyReport> {
    let reader = LogReader::open(k.root.path().join(AUDIT_DIR), &k.keys.verifying_key()?)?;
    reader.verify().map_err(|e| {
        let c = crate::error::audit_code(&e);
        if c == Code::Integrity {
            integrity(format!("audit log tampered: {e}"))
        } else {
            anyhow::Error::new(e).context("verifying the audit log")
        }
    })
}
