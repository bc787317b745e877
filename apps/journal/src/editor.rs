//! Editing without leaks: the text goes to a 0600 file in a private
//! directory on a memory file system (`$XDG_RUNTIME_DIR`, else `/dev/shm`),
//! the editor (`$VISUAL`, else `$EDITOR`) runs on it, and the file is
//! securely deleted afterwards: also when the editor fails, and when
//! SIGINT or SIGTERM arrives meanwhile. Without such a place the editor is
//! refused, with the ways to pass text instead.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Result;
use secure_fs::{DeleteOptions, FileSystem, PrivateDir};
use zeroize::Zeroizing;

use crate::error::error;

const RAMFS_MAGIC: u64 = 0x8584_58f6;
const FILE: &str = "entry.txt";

/// A memory file system directory usable for the editor's file, if any:
/// `$XDG_RUNTIME_DIR`, then `/dev/shm`, each checked to be tmpfs or ramfs.
pub fn memory_dir() -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(x) = std::env::var_os("XDG_RUNTIME_DIR").filter(|x| !x.is_empty()) {
        candidates.push(PathBuf::from(x));
    }
    candidates.push(PathBuf::from("/dev/shm"));
    candidates.into_iter().find(|c| is_memory_fs(c))
}

fn is_memory_fs(p: &Path) -> bool {
    let Ok(f) = std::fs::File::open(p) else {
        return false;
    };
    #[cfg(target_os = "linux")]
    {
        match rustix::fs::fstatfs(&f) {
            Ok(s) => {
                #[allow(clippy::cast_sign_loss, reason = "f_type is a magic number")]
                let t = s.f_type as u64;
                t == 0x0102_1994 || t == RAMFS_MAGIC
            }
            Err(_) => false,
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (f, RAMFS_MAGIC);
        false
    }
}

/// The private directory and file; shredded and removed on drop.
struct Scratch {
    dir: PrivateDir,
    path: PathBuf,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if self.dir.exists(FILE).unwrap_or(false) {
            let _ = self
                .dir
                .secure_delete(FILE, &DeleteOptions::default().passes(1));
        }
        let _ = self.dir.remove_stale_temp_files();
        // Whatever else the editor left (backups such as `entry.txt~`,
        // swap files) holds the text too: every regular file is shredded,
        // anything else removed.
        for name in self.dir.entries().unwrap_or_default() {
            let p = self.path.join(&name);
            match std::fs::symlink_metadata(&p) {
                Ok(m) if m.is_file() => {
                    if self
                        .dir
                        .secure_delete(&name, &DeleteOptions::default().passes(1))
                        .is_err()
                    {
                        let _ = std::fs::remove_file(&p);
                    }
                }
                Ok(m) if m.is_dir() => {
                    let _ = std::fs::remove_dir_all(&p);
                }
                Ok(_) => {
                    let _ = std::fs::remove_file(&p);
                }
                Err(_) => {}
            }
        }
        let _ = std::fs::remove_file(self.path.join(".lock"));
        let _ = std::fs::remove_dir(&self.path);
    }
}

/// Whether a scratch directory is on a memory file system.
fn check_fs(dir: &PrivateDir) -> bool {
    matches!(
        dir.filesystem(),
        Ok(FileSystem::Tmpfs) | Ok(FileSystem::Other(RAMFS_MAGIC))
    )
}

/// Opens `initial` in the user's editor and returns the edited text.
///
/// # Errors
/// Exit 1 when there is no memory file system, no editor, the editor
/// fails, or the command is interrupted; the file is shredded in every case.
pub fn edit(initial: &str) -> Result<Zeroizing<String>> {
    let Some(base) = memory_dir() else {
        return Err(error(
            "no memory file system for the editor's file ($XDG_RUNTIME_DIR or /dev/shm on tmpfs): \
pass the text as an argument (journal add \"text\") or on stdin (echo text | journal add -)",
        ));
    };
    let editor = std::env::var("VISUAL")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .or_else(|| std::env::var("EDITOR").ok().filter(|v| !v.trim().is_empty()))
        .ok_or_else(|| {
            error("no editor: set $VISUAL or $EDITOR, or pass the text as an argument or `-` for stdin")
        })?;
    let mut rnd = [0u8; 12];
    getrandom::fill(&mut rnd).map_err(|e| error(format!("the OS random generator failed: {e}")))?;
    let path = base.join(format!(
        "journal-edit-{}",
        data_encoding::HEXLOWER.encode(&rnd)
    ));
    let dir = PrivateDir::create(&path)?;
    let scratch = Scratch {
        dir,
        path: path.clone(),
    };
    if !check_fs(&scratch.dir) {
        return Err(error(format!(
            "{} is not on a memory file system: pass the text as an argument or `-` for stdin",
            base.display()
        )));
    }
    scratch.dir.write_atomic(FILE, initial.as_bytes())?;
    let stop = Arc::new(AtomicBool::new(false));
    // Once the file is shredded, SIGINT and SIGTERM act as before again
    // (signal-hook's unregister does not restore the default action): this
    // handler, kept for the life of the process, performs it once armed.
    let restored = Arc::new(AtomicBool::new(false));
    let mut ids = Vec::new();
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let _ = signal_hook::flag::register_conditional_default(sig, Arc::clone(&restored));
        if let Ok(id) = signal_hook::flag::register(sig, Arc::clone(&stop)) {
            ids.push(id);
        }
    }
    let result = (|| -> Result<()> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(format!("{editor} \"$1\""))
            .arg("journal-editor")
            .arg(path.join(FILE))
            .spawn()
            .map_err(|e| error(format!("cannot start the editor `{editor}`: {e}")))?;
        loop {
            if let Some(status) = child.try_wait()? {
                if stop.load(Ordering::SeqCst) {
                    return Err(error(
                        "interrupted; nothing saved, the editor's file was shredded",
                    ));
                }
                if !status.success() {
                    return Err(error(format!(
                        "the editor `{editor}` failed ({status}); nothing saved, its file was shredded"
                    )));
                }
                return Ok(());
            }
            if stop.load(Ordering::SeqCst) {
                let _ = child.kill();
                let _ = child.wait();
                return Err(error(
                    "interrupted; nothing saved, the editor's file was shredded",
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    })();
    for id in ids {
        signal_hook::low_level::unregister(id);
    }
    let text = (move || -> Result<Zeroizing<String>> {
        result?;
        let bytes = Zeroizing::new(scratch.dir.read(FILE)?);
        drop(scratch);
        let text = String::from_utf8(bytes.to_vec())
            .map_err(|_| error("the edited text is not UTF-8; nothing saved"))?;
        Ok(Zeroizing::new(text))
    })();
    // The scratch directory is gone: the default actions are back.
    restored.store(true, Ordering::SeqCst);
    text
}
