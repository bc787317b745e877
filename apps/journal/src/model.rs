//! Models: `model fetch` (pinned-downloader with the Hugging Face
//! defaults, a progress bar, and a manifest kept in the journal's data
//! directory, out of the model writer's reach), `model verify`
//! (model-verify), and `reflect` (inference-tch, cargo feature `ai`).

use std::path::Path;
#[cfg(feature = "ai")]
use std::path::PathBuf;

use anyhow::Result;
use encrypted_audit_log::Event;

use crate::commands::Globals;
use crate::error::{Code, error, fail};
use crate::session::MODELS_DIR;
use crate::ui::Ui;

/// A model name usable as a file name.
/// The model's name in a download URL: the repository before `resolve`
/// on Hugging Face (`.../SmolLM2-135M-Instruct/resolve/main/x`), else the
/// directory that holds the file.
pub fn name_from_url(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    let segs: Vec<&str> = u.path_segments()?.filter(|s| !s.is_empty()).collect();
    let i = segs.iter().position(|s| *s == "resolve");
    let cand = match i {
        Some(i) if i > 0 => segs[i - 1],
        _ if segs.len() >= 2 => segs[segs.len() - 2],
        _ => return None,
    };
    check_name(cand).is_ok().then(|| cand.to_owned())
}

/// The last component of a path: audit events name files, not where the
/// user keeps them (a full path can name the user).
fn base_name(p: &Path) -> String {
    p.file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}

fn check_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 100
        || name.starts_with('.')
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(fail(
            Code::Usage,
            "a model name is 1-100 characters of letters, digits, `-`, `_`, `.` (not starting with `.`)",
        ));
    }
    Ok(())
}

/// The file name a URL's last path segment gives.
fn file_name_of(url: &str) -> Result<String> {
    let u = url::Url::parse(url).map_err(|e| fail(Code::Usage, format!("bad URL `{url}`: {e}")))?;
    let name = u
        .path_segments()
        .and_then(|mut s| s.next_back())
        .filter(|n| !n.is_empty() && *n != "." && *n != "..")
        .ok_or_else(|| fail(Code::Usage, format!("the URL `{url}` names no file")))?;
    Ok(name.to_owned())
}

/// Where a private mirror differs from the default hosts: more allowed
/// (unpinned) hosts, an extra CA file, and fixed addresses.
#[derive(Debug, Default)]
pub struct Mirror<'a> {
    /// Hosts allowed besides the model-hosting defaults (not pinned).
    pub allow: &'a [String],
    /// A PEM file of CA certificates trusted besides the built-in roots.
    pub ca_file: Option<&'a Path>,
    /// `HOST:PORT:ADDR` overrides of name resolution.
    pub resolve: &'a [String],
}

/// `journal model fetch`.
///
/// # Errors
/// Exit 2 for mismatched flags; exit 3 for a refused download (checksum,
/// size, pin); exit 1 otherwise.
pub fn fetch_cmd(
    g: &Globals,
    urls: &[String],
    sha256: &[String],
    out: Option<&Path>,
    name: &str,
    mirror: &Mirror<'_>,
) -> Result<()> {
    // Without --out the files go to DATA_DIR/models/NAME; the default
    // name "model" then gives way to the one the URL names.
    let name = match (out, name, urls.first()) {
        (None, "model", Some(u)) => name_from_url(u).unwrap_or_else(|| name.to_owned()),
        _ => name.to_owned(),
    };
    let name = name.as_str();
    check_name(name)?;
    let default_out;
    let out = match out {
        Some(o) => o,
        None => {
            default_out = g.dir.join(MODELS_DIR).join(name);
            default_out.as_path()
        }
    };
    if urls.len() != sha256.len() {
        return Err(fail(
            Code::Usage,
            format!(
                "{} --url but {} --sha256: give one --sha256 per --url, in the same order",
                urls.len(),
                sha256.len()
            ),
        ));
    }
    let mut plan = Vec::new();
    for (u, h) in urls.iter().zip(sha256) {
        let d = pinned_downloader::Sha256Digest::from_hex(h)
            .map_err(|_| fail(Code::Usage, format!("`{h}` is not a SHA-256 in hex")))?;
        plan.push((u.clone(), d, file_name_of(u)?));
    }
    let s = g.session()?;
    let mut b = pinned_downloader::Downloader::builder()
        .allow_defaults(pinned_downloader::defaults::HUGGING_FACE);
    for h in mirror.allow {
        b = b.allow_unpinned(h);
    }
    if let Some(pem) = mirror.ca_file {
        b = b.ca_file(pem);
    }
    for spec in mirror.resolve {
        b = b.resolve_spec(spec);
    }
    let downloader = b.build()?;
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(out)?;
    }
    for (url, digest, file) in &plan {
        let pb = g.ui.progress(0, file);
        let pb2 = pb.clone();
        let req = pinned_downloader::Request::new(url.clone())
            .sha256(*digest)
            .resume(true)
            .on_progress(move |p| {
                if let Some(t) = p.total {
                    pb2.set_length(t);
                }
                pb2.set_position(p.bytes);
            });
        let r = downloader.download(req, out.join(file));
        pb.finish_and_clear();
        match r {
            Ok(d) => {
                s.audit(
                    Event::new("model.fetch")
                        .with("file", file.clone())
                        .with(
                            "url",
                            d.redirect_chain
                                .first()
                                .map_or(url.as_str(), |h| h.url_without_query())
                                .to_owned(),
                        )
                        .with("sha256", d.sha256.to_hex())
                        .with("bytes", d.size),
                )?;
                g.ui.info(format!(
                    "fetched {file} ({} bytes, SHA-256 verified)",
                    d.size
                ));
            }
            Err(e) => {
                s.audit(
                    Event::new("model.fetch.refused")
                        .with("file", file.clone())
                        .with("reason", e.to_string()),
                )?;
                let code = if e.is_refusal() {
                    Code::Integrity
                } else {
                    Code::Error
                };
                return Err(fail(code, format!("{file}: {e}; nothing kept")));
            }
        }
    }
    let manifest = model_verify::ManifestBuilder::new(name).build(out)?;
    let models = ensure_models_dir(&s.root)?;
    models.write_atomic(
        format!("{name}.manifest.json"),
        manifest.to_json().as_bytes(),
    )?;
    let abs = std::path::absolute(out)?;
    models.write_atomic(format!("{name}.dir"), abs.display().to_string().as_bytes())?;
    s.audit(
        Event::new("model.manifest")
            .with("model", name.to_owned())
            .with("files", plan.len() as u64),
    )?;
    s.close()?;
    g.ui.info(format!(
        "manifest of {name} kept in the journal's data directory ({MODELS_DIR}/{name}.manifest.json)"
    ));
    Ok(())
}

fn ensure_models_dir(root: &secure_fs::PrivateDir) -> Result<secure_fs::PrivateDir> {
    if root.exists(MODELS_DIR)? {
        Ok(root.open_dir(MODELS_DIR)?)
    } else {
        Ok(root.create_dir(MODELS_DIR)?)
    }
}

/// Verifies `dir` against the manifest bytes; the verified files' paths.
///
/// # Errors
/// model-verify's refusal, as text.
pub fn verify_with(manifest: &[u8], dir: &Path) -> Result<Vec<String>, String> {
    let m = model_verify::Manifest::parse(manifest).map_err(|e| e.to_string())?;
    let r = model_verify::Verifier::new(&m)
        .verify(dir)
        .map_err(|e| e.to_string())?;
    Ok(r.files().iter().map(|f| f.path.clone()).collect())
}

/// The journal's copy of the manifest for the model in `dir`, if any.
fn kept_manifest(g: &Globals, dir: &Path) -> Result<Option<Vec<u8>>> {
    let Ok(root) = crate::session::open_root(&g.dir) else {
        return Ok(None);
    };
    if !root.exists(MODELS_DIR)? {
        return Ok(None);
    }
    let models = root.open_dir(MODELS_DIR)?;
    let want = std::path::absolute(dir)?;
    for n in models.entries()? {
        let Some(n) = n.to_str() else { continue };
        let Some(model) = n.strip_suffix(".dir") else {
            continue;
        };
        let d = String::from_utf8(models.read(n)?).unwrap_or_default();
        if Path::new(d.trim()) == want {
            return Ok(Some(models.read(format!("{model}.manifest.json"))?));
        }
    }
    Ok(None)
}

/// `journal model verify DIR [--manifest FILE]`: the manifest given, else
/// the journal's own copy for DIR, else `DIR/model.manifest.json` (which
/// only proves integrity against accidents).
///
/// # Errors
/// Exit 3 when the model is refused.
pub fn verify_cmd(g: Option<&Globals>, dir: &Path, manifest: Option<&Path>, ui: Ui) -> Result<()> {
    let (bytes, source) = match manifest {
        Some(p) => (
            std::fs::read(p).map_err(|e| error(format!("cannot read {}: {e}", p.display())))?,
            p.display().to_string(),
        ),
        None => match g.map(|g| kept_manifest(g, dir)).transpose()?.flatten() {
            Some(b) => (b, "the journal's own copy".to_owned()),
            None => {
                let p = dir.join(model_verify::MANIFEST_FILE_NAME);
                ui.warn(format!(
                    "using {} beside the model: it only proves integrity against accidents (whoever wrote the model could rewrite it)",
                    p.display()
                ));
                (
                    std::fs::read(&p)
                        .map_err(|e| error(format!("cannot read {}: {e}", p.display())))?,
                    p.display().to_string(),
                )
            }
        },
    };
    let result = verify_with(&bytes, dir);
    // Audit it when a journal is there to log to (a failed unlock does not stop the check).
    if let Some(g) = g
        && let Ok(s) = g.session()
    {
        s.audit(
            Event::new("model.verify")
                .with("dir", base_name(dir))
                .with("ok", result.is_ok()),
        )?;
        s.close()?;
    }
    match result {
        Ok(files) => {
            let mut o = String::new();
            o.push_str(&format!(
                "verified {} ({} files, manifest: {source})\n",
                dir.display(),
                files.len()
            ));
            for f in files {
                o.push_str(&format!("  {f}\n"));
            }
            std::io::Write::write_all(&mut std::io::stdout().lock(), o.as_bytes())?;
            Ok(())
        }
        Err(e) => Err(fail(Code::Integrity, format!("model refused: {e}"))),
    }
}

/// `journal reflect ID [--model DIR]`.
///
/// # Errors
/// Without the `ai` feature: exit 1 saying how to build with it.
#[cfg(not(feature = "ai"))]
pub fn reflect_cmd(_g: &Globals, _id: &str, _model: Option<&Path>) -> Result<()> {
    Err(error(
        "reflections need the `ai` feature (libtorch): build with `cargo xtask torch` then \
`cargo run --release -p journal --features ai -- reflect ID --model DIR`",
    ))
}

/// `journal reflect ID [--model DIR]`: loads the verified model with
/// inference-tch and streams a short reflection; the prompt and output are
/// logged only as keyed fingerprints.
///
/// # Errors
/// Exit 3 when the model is refused; exit 1 otherwise.
#[cfg(feature = "ai")]
pub fn reflect_cmd(g: &Globals, id: &str, model: Option<&Path>) -> Result<()> {
    use inference_tch::{GenerateOptions, LanguageModel, LoadOptions, Role, chatml};
    let s = g.session()?;
    let store = s.store()?;
    let id = store.resolve(id)?;
    let e = store.read_entry(&id)?;
    s.audit(
        Event::new("entry.read")
            .with("entry", id.to_string())
            .with("ok", true),
    )?;
    let (dir, manifest) = pick_model(&s, model)?;
    let m = model_verify::Manifest::parse(&manifest)?;
    let files = match model_verify::Verifier::new(&m).load_each(&dir) {
        Ok(f) => f,
        Err(err) => {
            s.audit(
                Event::new("model.verify")
                    .with("dir", base_name(&dir))
                    .with("ok", false),
            )?;
            return Err(fail(Code::Integrity, format!("model refused: {err}")));
        }
    };
    s.audit(
        Event::new("model.verify")
            .with("dir", base_name(&dir))
            .with("ok", true),
    )?;
    let lm = LanguageModel::load(files, &LoadOptions::new())?;
    let user = format!(
        "Here is a diary entry.\n\nTitle: {}\n\n{}\n\nWrite a short, kind reflection on it (two or three sentences).",
        e.title, e.body
    );
    let prompt_text = chatml(&[
        (Role::System, "You are a thoughtful journaling companion."),
        (Role::User, &user),
    ]);
    let ids = lm.tokenizer().encode(&prompt_text, false)?;
    let mut stdout = std::io::stdout().lock();
    let generation = lm.generate(&ids, &GenerateOptions::greedy(120), |t| {
        let _ = std::io::Write::write_all(&mut stdout, t.text.as_bytes());
        let _ = std::io::Write::flush(&mut stdout);
        std::ops::ControlFlow::Continue(())
    })?;
    let _ = std::io::Write::write_all(&mut stdout, b"\n");
    let fp = s.keys.fingerprinter();
    s.audit(
        Event::new("inference")
            .with("entry", id.to_string())
            .with("model", base_name(&dir))
            .with_fingerprint("prompt", &fp, &prompt_text)
            .with_fingerprint("output", &fp, &generation.text)
            .with("tokens", generation.tokens.len() as u64),
    )?;
    drop(store);
    s.close()
}

/// The model to use: `--model DIR` (with the journal's manifest for it, or
/// the one beside it), else the only model fetched.
#[cfg(feature = "ai")]
fn pick_model(s: &crate::session::Session, model: Option<&Path>) -> Result<(PathBuf, Vec<u8>)> {
    let models = ensure_models_dir(&s.root)?;
    let mut known = Vec::new();
    for n in models.entries()? {
        let Some(n) = n.to_str() else { continue };
        let Some(m) = n.strip_suffix(".dir") else {
            continue;
        };
        let d = PathBuf::from(
            String::from_utf8(models.read(n)?)
                .unwrap_or_default()
                .trim(),
        );
        known.push((d, models.read(format!("{m}.manifest.json"))?));
    }
    match model {
        Some(dir) => {
            let want = std::path::absolute(dir)?;
            if let Some((d, m)) = known.into_iter().find(|(d, _)| *d == want) {
                return Ok((d, m));
            }
            let p = dir.join(model_verify::MANIFEST_FILE_NAME);
            s.ui.warn("no manifest for this model in the journal: using the one beside it (integrity against accidents only)");
            Ok((
                dir.to_path_buf(),
                std::fs::read(&p)
                    .map_err(|e| error(format!("cannot read {}: {e}", p.display())))?,
            ))
        }
        None => known.into_iter().next().ok_or_else(|| {
            error("no model: give --model DIR or fetch one with `journal model fetch`")
        }),
    }
}

/// Whether this build has the `ai` feature.
pub const AI: bool = cfg!(feature = "ai");

#[cfg(test)]
mod tests {
    #[test]
    fn a_model_name_is_read_from_its_url() {
        assert_eq!(
            super::name_from_url(
                "https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct/resolve/main/model.safetensors"
            )
            .as_deref(),
            Some("SmolLM2-135M-Instruct")
        );
        assert_eq!(
            super::name_from_url("https://example.org/models/tiny/weights.bin").as_deref(),
            Some("tiny")
        );
        assert_eq!(
            super::name_from_url("https://example.org/weights.bin"),
            None
        );
    }
}
