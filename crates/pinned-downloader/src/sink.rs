//! The second thread of a transfer: it writes what the network thread
//! receives, hashes it (SHA-256 of the whole file, and per chunk when
//! resuming), and records completed chunks in the sidecar. The network
//! thread only decrypts and counts, so hashing does not slow the transfer
//! on a machine with a second core.

use std::fs::File;
use std::io::Write;
use std::sync::mpsc::{Receiver, Sender};

use secure_fs::{AtomicFile, PrivateDir};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::resume::Sidecar;

/// Where the bytes go: a fresh atomic temporary file, or the `.part` file
/// of a resumable download.
#[derive(Debug)]
pub(crate) enum Output<'d> {
    Atomic(AtomicFile<'d>),
    Part(File),
}

impl Write for Output<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Output::Atomic(f) => f.write(buf),
            Output::Part(f) => f.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match self {
            Output::Atomic(f) => f.write_all(buf),
            Output::Part(f) => f.write_all(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Output::Atomic(f) => f.flush(),
            Output::Part(f) => f.flush(),
        }
    }
}

/// Per-chunk digests of a resumable download, persisted as chunks
/// complete: the part file is synced first, then the sidecar is replaced
/// atomically, so a recorded chunk is always on disk.
#[derive(Debug)]
pub(crate) struct ChunkLog<'d> {
    pub(crate) dir: &'d PrivateDir,
    pub(crate) name: String,
    pub(crate) sidecar: Sidecar,
    pub(crate) in_chunk: u64,
    pub(crate) hasher: Sha256,
}

impl ChunkLog<'_> {
    pub(crate) fn persist(&self) -> Result<()> {
        self.dir
            .write_atomic(&self.name, &self.sidecar.to_bytes())
            .map_err(Error::from)
    }

    fn update(&mut self, mut data: &[u8], file: &File) -> Result<()> {
        while !data.is_empty() {
            let room = self.sidecar.chunk_size - self.in_chunk;
            let take = usize::try_from(room.min(data.len() as u64)).unwrap_or(data.len());
            self.hasher.update(&data[..take]);
            self.in_chunk += take as u64;
            data = &data[take..];
            if self.in_chunk == self.sidecar.chunk_size {
                let digest = std::mem::take(&mut self.hasher).finalize();
                self.sidecar
                    .chunks
                    .push(data_encoding::HEXLOWER.encode(&digest));
                self.in_chunk = 0;
                file.sync_data()
                    .map_err(|e| Error::io(self.dir.path().join(&self.name), e))?;
                self.persist()?;
            }
        }
        Ok(())
    }
}

/// What the writer thread hands back once the body is done.
#[derive(Debug)]
pub(crate) struct Written<'d> {
    pub(crate) out: Output<'d>,
    pub(crate) full: Sha256,
    pub(crate) log: Option<ChunkLog<'d>>,
}

/// A filled buffer and how many of its bytes are data.
pub(crate) type Filled = (Vec<u8>, usize);

/// The writer thread's loop: write, hash, log chunks, hand the buffer
/// back. Stops at the first error (dropping `rx`, which the network thread
/// sees as a failed send).
pub(crate) fn writer<'d>(
    mut w: Written<'d>,
    rx: Receiver<Filled>,
    free: Sender<Vec<u8>>,
    shown: &std::path::Path,
) -> Result<Written<'d>> {
    for (buf, len) in rx {
        let data = &buf[..len];
        w.out.write_all(data).map_err(|e| Error::io(shown, e))?;
        w.full.update(data);
        if let (Some(log), Output::Part(file)) = (w.log.as_mut(), &w.out) {
            log.update(data, file)?;
        }
        // The network thread may have finished; a lost buffer is fine.
        let _ = free.send(buf);
    }
    // Dropping the sender tells the network thread that no buffer will
    // come back.
    drop(free);
    Ok(w)
}
