//! Where passphrases come from: `--passphrase-file`, then
//! `JOURNAL_PASSPHRASE_FILE`, then a no-echo prompt on the terminal.
//! The new passphrase of `keys passwd` (and of `init`) comes from
//! `JOURNAL_NEW_PASSPHRASE_FILE` when there is no terminal.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Result;
use zeroize::Zeroizing;

use crate::error::error;

/// The environment variable naming the passphrase file.
pub const PASSPHRASE_ENV: &str = "JOURNAL_PASSPHRASE_FILE";
/// The environment variable naming the new passphrase's file (`keys passwd`).
pub const NEW_PASSPHRASE_ENV: &str = "JOURNAL_NEW_PASSPHRASE_FILE";

/// A passphrase, wiped from memory when dropped.
pub type Passphrase = Zeroizing<Vec<u8>>;

/// Reads the first line of `path` (without its line ending).
///
/// # Errors
/// Exit 1 when the file cannot be read or its first line is empty.
pub fn from_file(path: &Path) -> Result<Passphrase> {
    let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| {
        error(format!(
            "cannot read the passphrase file {}: {e}",
            path.display()
        ))
    })?);
    let line = bytes.split(|b| *b == b'\n').next().unwrap_or(&[]);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.is_empty() {
        return Err(error(format!(
            "the passphrase file {} starts with an empty line",
            path.display()
        )));
    }
    Ok(Zeroizing::new(line.to_vec()))
}

fn prompt(label: &str) -> Result<Passphrase> {
    let p = rpassword::prompt_password(label)
        .map_err(|e| error(format!("cannot read the passphrase from the terminal: {e}")))?;
    let p = Zeroizing::new(p.into_bytes());
    if p.is_empty() {
        return Err(error("the passphrase is empty"));
    }
    Ok(p)
}

fn on_terminal() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// The passphrase that unlocks the journal.
///
/// # Errors
/// Exit 1 when there is no source (no file given and no terminal).
pub fn current(file: Option<&PathBuf>) -> Result<Passphrase> {
    if let Some(f) = file {
        return from_file(f);
    }
    if let Some(f) = std::env::var_os(PASSPHRASE_ENV) {
        return from_file(Path::new(&f));
    }
    if on_terminal() {
        return prompt("Passphrase: ");
    }
    Err(error(format!(
        "no passphrase: not on a terminal; give --passphrase-file FILE or set {PASSPHRASE_ENV}"
    )))
}

/// A new passphrase: `file` if given (init: the same sources as
/// [`current`]), else the terminal (asked twice), else `JOURNAL_NEW_PASSPHRASE_FILE`.
///
/// # Errors
/// Exit 1 when there is no source or the two entries differ.
pub fn new(file: Option<&Path>) -> Result<Passphrase> {
    if let Some(f) = file {
        return from_file(f);
    }
    if on_terminal() {
        let a = prompt("New passphrase: ")?;
        let b = prompt("Repeat the new passphrase: ")?;
        if *a != *b {
            return Err(error("the two passphrases differ; nothing changed"));
        }
        return Ok(a);
    }
    if let Some(f) = std::env::var_os(NEW_PASSPHRASE_ENV) {
        return from_file(Path::new(&f));
    }
    Err(error(format!(
        "no new passphrase: not on a terminal; set {NEW_PASSPHRASE_ENV} to a file holding it"
    )))
}
