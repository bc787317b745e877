//! `journal doctor`: process hardening, permissions (repaired with
//! `--fix`), keystore age and rotation date, audit chain and seal status,
//! entry files, model verification, and this binary against its manifest.

use std::path::{Path, PathBuf};

use anyhow::Result;
use encrypted_audit_log::Event;
use serde_json::{Value, json};

use crate::commands::{Globals, verify_log};
use crate::error::{Code, fail};
use crate::session::{self, MODELS_DIR};

/// The binary's manifest file name, looked for beside the executable.
pub const BINARY_MANIFEST: &str = "journal.manifest.json";

/// Verifies the running executable against a model-verify manifest listing
/// its file name: `Ok(None)` when there is no manifest.
///
/// # Errors
/// A message naming the mismatch (size, digest, not listed, bad manifest).
pub fn verify_binary(manifest: Option<&Path>) -> Result<Option<String>, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
    let path = match manifest {
        Some(p) => p.to_path_buf(),
        None => {
            let p = exe.parent().map_or_else(
                || PathBuf::from(BINARY_MANIFEST),
                |d| d.join(BINARY_MANIFEST),
            );
            if !p.exists() {
                return Ok(None);
            }
            p
        }
    };
    let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let m =
        model_verify::Manifest::parse(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    let name = exe
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or("the executable's name is not UTF-8")?;
    let entry = m
        .entries()
        .iter()
        .find(|e| e.path() == name || e.path().rsplit('/').next() == Some(name))
        .ok_or_else(|| format!("{} does not list {name}", path.display()))?;
    let data = std::fs::read(&exe).map_err(|e| format!("cannot read {}: {e}", exe.display()))?;
    if let Some(size) = entry.size()
        && size != data.len() as u64
    {
        return Err(format!(
            "{name} is {} bytes, the manifest says {size}",
            data.len()
        ));
    }
    let digest = model_verify::Sha256Digest::of(&data);
    match entry.sha256() {
        Some(d) if d == digest => Ok(Some(format!("{name} matches {}", path.display()))),
        Some(_) => Err(format!("{name}'s SHA-256 differs from {}", path.display())),
        None => Err(format!("{} gives no SHA-256 for {name}", path.display())),
    }
}

/// Runs the checks.
///
/// # Errors
/// Exit 3 when an integrity check fails, exit 1 when problems remain
/// (for example permissions without `--fix`).
pub fn run(g: &Globals, fix: bool, json_out: bool, binary_manifest: Option<&Path>) -> Result<()> {
    let mut report = serde_json::Map::new();
    let mut integrity_bad = Vec::<String>::new();
    let mut problems = Vec::<String>::new();
    let h = crate::harden::status();
    report.insert("hardening".into(), serde_json::to_value(&h)?);
    if !h.core_dumps_off {
        problems.push("core dumps are not off (RLIMIT_CORE)".into());
    }
    if h.not_dumpable == Some(false) {
        problems.push("the process is dumpable".into());
    }
    report.insert(
        "zeroize".into(),
        json!("keys, passphrases and entry text are wiped from memory when dropped"),
    );
    let binary = match verify_binary(binary_manifest) {
        Ok(None) => json!({"status": "no manifest", "manifest": BINARY_MANIFEST}),
        Ok(Some(m)) => json!({"status": "verified", "detail": m}),
        Err(m) => {
            integrity_bad.push(format!("binary: {m}"));
            json!({"status": "mismatch", "detail": m})
        }
    };
    report.insert("binary".into(), binary);

    let k = session::unlock(&g.dir, g.pass_file.as_ref(), g.ui)?;
    // Permissions first: a bad mode is reported (and repaired) whatever else fails.
    let audit = k.root.audit()?;
    let mut perms = json!({
        "checked": audit.entries,
        "findings": audit.findings.iter().map(|f| json!({
            "path": f.path.display().to_string(),
            "problem": f.problem.to_string(),
        })).collect::<Vec<_>>(),
    });
    let mut repaired = Vec::new();
    if !audit.is_clean() {
        if fix {
            let r = k.root.repair()?;
            for c in &r.changed {
                repaired.push(json!({
                    "path": c.path.display().to_string(),
                    "from": format!("{:o}", c.from),
                    "to": format!("{:o}", c.to),
                }));
            }
            for f in &r.remaining {
                problems.push(format!("{}: {}", f.path.display(), f.problem));
            }
        } else {
            for f in &audit.findings {
                problems.push(format!(
                    "{}: {} (run `journal doctor --fix`)",
                    f.path.display(),
                    f.problem
                ));
            }
        }
    }
    if let Some(o) = perms.as_object_mut() {
        o.insert("repaired".into(), Value::Array(repaired.clone()));
    }
    report.insert("permissions".into(), perms);

    let keys = k.ks.keys();
    let primary = keys
        .iter()
        .find(|x| x.state == keystore_rotation::KeyState::Primary);
    let days = u64::from(k.settings.rotation_days);
    let now = std::time::SystemTime::now();
    report.insert(
        "keystore".into(),
        json!({
            "generation": k.ks.generation(),
            "primary": primary.map(|p| u32::from(p.id)),
            "primary_age_days": primary.map(|p| now.duration_since(p.created).map_or(0, |d| d.as_secs() / 86_400)),
            "rotation_days": days,
            "rotation_due": k.ks.rotation_due(),
            "next_rotation": primary.map(|p| encrypted_audit_log::rfc3339(p.created + std::time::Duration::from_secs(days * 86_400))),
            "versions": keys.len(),
        }),
    );

    let audit_ok = match verify_log(&k) {
        Ok(r) => {
            report.insert(
                "audit_log".into(),
                json!({
                    "status": "ok",
                    "records": r.next_seq - r.first_seq,
                    "sealed_through": r.sealed.map(|s| s.seq),
                    "sealed_at": r.sealed.map(|s| encrypted_audit_log::rfc3339(s.time)),
                    "unsealed_records": r.unsealed_records,
                    "quarantines": r.quarantines.len(),
                }),
            );
            if !r.quarantines.is_empty() {
                problems.push("the audit log went through a quarantine (tampered before): look at `journal audit verify`".into());
            }
            true
        }
        Err(e) => {
            integrity_bad.push(format!("audit log: {e:#}"));
            report.insert(
                "audit_log".into(),
                json!({"status": "tampered", "detail": format!("{e:#}")}),
            );
            false
        }
    };
    let anchor_ok = match k.check_anchor() {
        Ok(_) => true,
        Err(e) => {
            integrity_bad.push(format!("keystore: {e:#}"));
            false
        }
    };

    let mut models = Vec::new();
    if k.root.exists(MODELS_DIR)? {
        let mdir = k.root.open_dir(MODELS_DIR)?;
        for name in mdir.entries()? {
            let Some(name) = name.to_str().map(str::to_owned) else {
                continue;
            };
            let Some(model) = name.strip_suffix(".manifest.json") else {
                continue;
            };
            let dir_file = format!("{model}.dir");
            let dir = mdir
                .read(&dir_file)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .map(|s| PathBuf::from(s.trim()));
            let status = match dir {
                None => json!({"model": model, "status": "no directory recorded"}),
                Some(d) => match crate::model::verify_with(&mdir.read(&name)?, &d) {
                    Ok(r) => {
                        json!({"model": model, "dir": d.display().to_string(), "status": "verified", "files": r})
                    }
                    Err(e) => {
                        integrity_bad.push(format!("model {model}: {e}"));
                        json!({"model": model, "dir": d.display().to_string(), "status": "refused", "detail": e})
                    }
                },
            };
            models.push(status);
        }
    }
    report.insert("models".into(), Value::Array(models));

    let mut session_opt = None;
    if audit_ok && anchor_ok {
        let s = k.into_session()?;
        {
            // Opened without starting or finishing a key rotation: doctor
            // reports, it does not re-encrypt the journal.
            let store = crate::store::Store::open(&s.root, &s.ks, &s.keys.names)?;
            let r = store.repairs();
            report.insert(
                "entries".into(),
                json!({
                    "count": store.len(),
                    "index_rebuilt": r.rebuilt,
                    "added_to_index": r.added,
                    "dropped_from_index": r.dropped,
                    "damaged_files": r.damaged,
                }),
            );
            for d in &r.damaged {
                integrity_bad.push(format!("entry file {d} does not decrypt"));
            }
        }
        s.audit(
            Event::new("doctor")
                .with("fix", fix)
                .with("repaired", repaired.len() as u64)
                .with("problems", (problems.len() + integrity_bad.len()) as u64),
        )?;
        session_opt = Some(s);
    }
    if let Some(s) = session_opt {
        s.close()?;
    }
    report.insert("problems".into(), json!(problems));
    report.insert("integrity_failures".into(), json!(integrity_bad));
    let ok = problems.is_empty() && integrity_bad.is_empty();
    report.insert("ok".into(), json!(ok));
    if json_out {
        let mut o = std::io::stdout().lock();
        std::io::Write::write_all(
            &mut o,
            format!(
                "{}\n",
                serde_json::to_string_pretty(&Value::Object(report))?
            )
            .as_bytes(),
        )?;
    } else {
        print_human(g, &report);
    }
    if !integrity_bad.is_empty() {
        return Err(fail(
            Code::Integrity,
            format!("integrity check failed: {}", integrity_bad.join("; ")),
        ));
    }
    if !problems.is_empty() {
        return Err(fail(
            Code::Error,
            format!("{} problem(s) found", problems.len()),
        ));
    }
    Ok(())
}

fn print_human(g: &Globals, r: &serde_json::Map<String, Value>) {
    let mut t = String::new();
    let ok = |b: bool| if b { "ok" } else { "PROBLEM" };
    if let Some(h) = r.get("hardening") {
        t.push_str(&format!(
            "core dumps off ............ {}\nnon-dumpable .............. {}\npanic hook (no payload) ... {}\nsecrets zeroized .......... ok\n",
            ok(h["core_dumps_off"] == json!(true)),
            match &h["not_dumpable"] { Value::Bool(b) => ok(*b), _ => "n/a" },
            ok(h["panic_hook"] == json!(true)),
        ));
    }
    if let Some(b) = r.get("binary") {
        t.push_str(&format!(
            "binary .................... {}\n",
            b["status"].as_str().unwrap_or("?")
        ));
    }
    if let Some(p) = r.get("permissions") {
        let n = p["findings"].as_array().map_or(0, Vec::len);
        let fixed = p["repaired"].as_array().map_or(0, Vec::len);
        t.push_str(&format!(
            "permissions (0700/0600) ... {} ({} checked{})\n",
            if n == 0 {
                "ok"
            } else if fixed > 0 {
                "repaired"
            } else {
                "PROBLEM"
            },
            p["checked"],
            if fixed > 0 {
                format!(", {fixed} repaired")
            } else {
                String::new()
            }
        ));
    }
    if let Some(k) = r.get("keystore") {
        t.push_str(&format!(
            "keystore .................. key {} is {} days old; rotation every {} days, next {}{}\n",
            k["primary"], k["primary_age_days"], k["rotation_days"],
            k["next_rotation"].as_str().unwrap_or("?"),
            if k["rotation_due"] == json!(true) { " (due)" } else { "" }
        ));
    }
    if let Some(a) = r.get("audit_log") {
        if a["status"] == json!("ok") {
            t.push_str(&format!(
                "audit log ................. ok: {} records, sealed through {} ({}), {} unsealed\n",
                a["records"],
                a["sealed_through"],
                a["sealed_at"].as_str().unwrap_or("-"),
                a["unsealed_records"]
            ));
        } else {
            t.push_str("audit log ................. TAMPERED\n");
        }
    }
    if let Some(e) = r.get("entries") {
        t.push_str(&format!(
            "entries ................... {} ({} damaged file(s))\n",
            e["count"],
            e["damaged_files"].as_array().map_or(0, Vec::len)
        ));
    }
    if let Some(Value::Array(m)) = r.get("models") {
        if m.is_empty() {
            t.push_str("models .................... none fetched\n");
        }
        for x in m {
            t.push_str(&format!(
                "model {} ... {}\n",
                x["model"].as_str().unwrap_or("?"),
                x["status"].as_str().unwrap_or("?")
            ));
        }
    }
    for key in ["problems", "integrity_failures"] {
        if let Some(Value::Array(p)) = r.get(key) {
            for x in p {
                t.push_str(&format!("  ! {}\n", x.as_str().unwrap_or("")));
            }
        }
    }
    let mut o = std::io::stdout().lock();
    let _ = std::io::Write::write_all(&mut o, t.as_bytes());
    let _ = g;
}
