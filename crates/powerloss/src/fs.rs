//! The recording FUSE file system: a passthrough onto a backing directory
//! that appends every successful change to the trace.
//!
//! Every node the kernel knows is held open as an `O_PATH` descriptor on
//! the backing file system, so operations never resolve paths there (a
//! rename of a directory cannot leave a stale path behind) and a backing
//! inode number cannot be reused while the kernel still names it. Nodes get
//! fresh numbers on every create, so the trace's inode numbers are never
//! reused either.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, OpenFlags,
    RenameFlags, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory, ReplyEmpty, ReplyEntry,
    ReplyOpen, ReplyStatfs, ReplyWrite, Request, TimeOrNow,
};
use rustix::fs::{AtFlags, Mode, OFlags, Stat};

use crate::trace::{Ino, NodeKind, Op, ROOT, SharedTrace};

/// Nothing is cached by the kernel: every lookup and attribute read comes
/// here, so what the workload sees is always what the backing holds.
const TTL: Duration = Duration::ZERO;

struct Node {
    /// `O_PATH | O_NOFOLLOW` descriptor of the backing node.
    fd: OwnedFd,
    /// Backing (device, inode), to find the node again on lookup.
    backing: (u64, u64),
    /// Kernel references (lookups minus forgets).
    lookups: u64,
}

#[derive(Default)]
struct State {
    nodes: HashMap<Ino, Node>,
    by_backing: HashMap<(u64, u64), Ino>,
    next_ino: Ino,
    files: HashMap<u64, File>,
    dirs: HashMap<u64, Vec<(OsString, u64, FileType)>>,
    next_fh: u64,
}

pub(crate) struct RecordingFs {
    state: Mutex<State>,
    trace: SharedTrace,
}

type Res<T> = Result<T, Errno>;

fn errno(e: rustix::io::Errno) -> Errno {
    Errno::from_i32(e.raw_os_error())
}

fn io_errno(e: &std::io::Error) -> Errno {
    Errno::from_i32(e.raw_os_error().unwrap_or(libc_eio()))
}

const fn libc_eio() -> i32 {
    5
}

/// The magic-link path of a descriptor, for the calls that need a path
/// (reopening an `O_PATH` descriptor, chmod, chown).
fn proc_path(fd: &OwnedFd) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

fn time(sec: i64, nsec: u64) -> SystemTime {
    let nsec = u32::try_from(nsec.min(999_999_999)).unwrap_or(0);
    match u64::try_from(sec) {
        Ok(s) => UNIX_EPOCH + Duration::new(s, nsec),
        Err(_) => UNIX_EPOCH,
    }
}

fn kind_of(mode: u32) -> FileType {
    match rustix::fs::FileType::from_raw_mode(mode) {
        rustix::fs::FileType::Directory => FileType::Directory,
        rustix::fs::FileType::Symlink => FileType::Symlink,
        rustix::fs::FileType::Fifo => FileType::NamedPipe,
        rustix::fs::FileType::Socket => FileType::Socket,
        rustix::fs::FileType::CharacterDevice => FileType::CharDevice,
        rustix::fs::FileType::BlockDevice => FileType::BlockDevice,
        _ => FileType::RegularFile,
    }
}

#[allow(clippy::useless_conversion)] // field types differ between targets
fn attr(ino: Ino, st: &Stat) -> FileAttr {
    let mtime = time(
        i64::try_from(st.st_mtime).unwrap_or(0),
        u64::try_from(st.st_mtime_nsec).unwrap_or(0),
    );
    FileAttr {
        ino: INodeNo(ino),
        size: u64::try_from(st.st_size).unwrap_or(0),
        blocks: u64::try_from(st.st_blocks).unwrap_or(0),
        atime: time(
            i64::try_from(st.st_atime).unwrap_or(0),
            u64::try_from(st.st_atime_nsec).unwrap_or(0),
        ),
        mtime,
        ctime: time(
            i64::try_from(st.st_ctime).unwrap_or(0),
            u64::try_from(st.st_ctime_nsec).unwrap_or(0),
        ),
        crtime: mtime,
        kind: kind_of(st.st_mode),
        perm: u16::try_from(st.st_mode & 0o7777).unwrap_or(0),
        nlink: u32::try_from(st.st_nlink).unwrap_or(u32::MAX),
        uid: st.st_uid,
        gid: st.st_gid,
        rdev: u32::try_from(st.st_rdev).unwrap_or(0),
        blksize: 4096,
        flags: 0,
    }
}

#[allow(clippy::useless_conversion)] // field types differ between targets
fn backing_id(st: &Stat) -> (u64, u64) {
    (
        u64::try_from(st.st_dev).unwrap_or(0),
        u64::try_from(st.st_ino).unwrap_or(0),
    )
}

fn open_path_at(dir: &OwnedFd, name: &OsStr) -> Res<OwnedFd> {
    rustix::fs::openat(
        dir,
        name,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(errno)
}

impl State {
    fn node(&self, ino: INodeNo) -> Res<&Node> {
        self.nodes.get(&ino.0).ok_or(Errno::ENOENT)
    }

    /// Registers a node found by lookup: the existing number if the backing
    /// inode is known, a fresh one otherwise. Counts one kernel reference.
    fn found(&mut self, fd: OwnedFd) -> Res<FileAttr> {
        let st = rustix::fs::fstat(&fd).map_err(errno)?;
        let backing = backing_id(&st);
        if let Some(&ino) = self.by_backing.get(&backing)
            && let Some(node) = self.nodes.get_mut(&ino)
        {
            node.lookups += 1;
            return Ok(attr(ino, &st));
        }
        Ok(self.fresh(fd, &st))
    }

    /// Registers a node just created: always a fresh number.
    fn fresh(&mut self, fd: OwnedFd, st: &Stat) -> FileAttr {
        let ino = self.next_ino;
        self.next_ino += 1;
        let backing = backing_id(st);
        self.by_backing.insert(backing, ino);
        self.nodes.insert(
            ino,
            Node {
                fd,
                backing,
                lookups: 1,
            },
        );
        attr(ino, st)
    }

    fn created(&mut self, parent: &OwnedFd, name: &OsStr) -> Res<FileAttr> {
        let fd = open_path_at(parent, name)?;
        let st = rustix::fs::fstat(&fd).map_err(errno)?;
        Ok(self.fresh(fd, &st))
    }

    fn parent_fd(&self, parent: INodeNo) -> Res<OwnedFd> {
        self.node(parent)?.fd.try_clone().map_err(|e| io_errno(&e))
    }

    fn add_handle(&mut self, file: File) -> u64 {
        self.next_fh += 1;
        self.files.insert(self.next_fh, file);
        self.next_fh
    }
}

impl RecordingFs {
    pub(crate) fn new(backing_root: &Path, trace: SharedTrace) -> std::io::Result<Self> {
        let fd = rustix::fs::openat(
            rustix::fs::CWD,
            backing_root,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let st = rustix::fs::fstat(&fd)?;
        let mut state = State {
            next_ino: ROOT + 1,
            ..State::default()
        };
        let backing = backing_id(&st);
        state.by_backing.insert(backing, ROOT);
        state.nodes.insert(
            ROOT,
            Node {
                fd,
                backing,
                lookups: 1,
            },
        );
        Ok(RecordingFs {
            state: Mutex::new(state),
            trace,
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(&self, op: Op) {
        self.trace.push(op);
    }

    fn do_lookup(&self, parent: INodeNo, name: &OsStr) -> Res<FileAttr> {
        let mut st = self.state();
        let fd = open_path_at(&st.node(parent)?.fd, name)?;
        st.found(fd)
    }

    fn do_setattr(
        &self,
        ino: INodeNo,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        fh: Option<FileHandle>,
    ) -> Res<FileAttr> {
        let st = self.state();
        let node = st.node(ino)?;
        let path = proc_path(&node.fd);
        if let Some(mode) = mode {
            let bits = mode & 0o7777;
            rustix::fs::chmodat(
                rustix::fs::CWD,
                path.as_str(),
                Mode::from_raw_mode(bits),
                AtFlags::empty(),
            )
            .map_err(errno)?;
            self.record(Op::SetMode {
                ino: ino.0,
                mode: bits,
            });
        }
        if uid.is_some() || gid.is_some() {
            rustix::fs::chownat(
                rustix::fs::CWD,
                path.as_str(),
                uid.map(rustix::fs::Uid::from_raw),
                gid.map(rustix::fs::Gid::from_raw),
                AtFlags::empty(),
            )
            .map_err(errno)?;
        }
        if let Some(len) = size {
            match fh.and_then(|fh| st.files.get(&fh.0)) {
                Some(file) => rustix::fs::ftruncate(file, len).map_err(errno)?,
                None => {
                    let file = rustix::fs::openat(
                        rustix::fs::CWD,
                        path.as_str(),
                        OFlags::WRONLY | OFlags::CLOEXEC,
                        Mode::empty(),
                    )
                    .map_err(errno)?;
                    rustix::fs::ftruncate(&file, len).map_err(errno)?;
                }
            }
            self.record(Op::SetLen { ino: ino.0, len });
        }
        let stat = rustix::fs::fstat(&node.fd).map_err(errno)?;
        Ok(attr(ino.0, &stat))
    }

    fn do_mknod(&self, parent: INodeNo, name: &OsStr, mode: u32) -> Res<FileAttr> {
        let kind = match rustix::fs::FileType::from_raw_mode(mode) {
            rustix::fs::FileType::RegularFile => NodeKind::File,
            rustix::fs::FileType::Fifo => NodeKind::Fifo,
            _ => return Err(Errno::EPERM),
        };
        let mut st = self.state();
        let pfd = st.parent_fd(parent)?;
        let bits = mode & 0o7777;
        rustix::fs::mknodat(
            &pfd,
            name,
            rustix::fs::FileType::from_raw_mode(mode),
            Mode::from_raw_mode(bits),
            0,
        )
        .map_err(errno)?;
        rustix::fs::chmodat(&pfd, name, Mode::from_raw_mode(bits), AtFlags::empty())
            .map_err(errno)?;
        let a = st.created(&pfd, name)?;
        self.record(Op::Create {
            parent: parent.0,
            name: name.to_owned(),
            ino: a.ino.0,
            kind,
            mode: bits,
        });
        Ok(a)
    }

    fn do_mkdir(&self, parent: INodeNo, name: &OsStr, mode: u32) -> Res<FileAttr> {
        let mut st = self.state();
        let pfd = st.parent_fd(parent)?;
        let bits = mode & 0o7777;
        rustix::fs::mkdirat(&pfd, name, Mode::from_raw_mode(bits)).map_err(errno)?;
        rustix::fs::chmodat(&pfd, name, Mode::from_raw_mode(bits), AtFlags::empty())
            .map_err(errno)?;
        let a = st.created(&pfd, name)?;
        self.record(Op::Create {
            parent: parent.0,
            name: name.to_owned(),
            ino: a.ino.0,
            kind: NodeKind::Dir,
            mode: bits,
        });
        Ok(a)
    }

    fn do_remove(&self, parent: INodeNo, name: &OsStr, flags: AtFlags) -> Res<()> {
        let st = self.state();
        rustix::fs::unlinkat(&st.node(parent)?.fd, name, flags).map_err(errno)?;
        self.record(Op::Unlink {
            parent: parent.0,
            name: name.to_owned(),
        });
        Ok(())
    }

    fn do_symlink(&self, parent: INodeNo, name: &OsStr, target: &Path) -> Res<FileAttr> {
        let mut st = self.state();
        let pfd = st.parent_fd(parent)?;
        rustix::fs::symlinkat(target, &pfd, name).map_err(errno)?;
        let a = st.created(&pfd, name)?;
        self.record(Op::Create {
            parent: parent.0,
            name: name.to_owned(),
            ino: a.ino.0,
            kind: NodeKind::Symlink(target.to_path_buf()),
            mode: 0o777,
        });
        Ok(a)
    }

    fn do_rename(
        &self,
        parent: INodeNo,
        name: &OsStr,
        new_parent: INodeNo,
        new_name: &OsStr,
        flags: RenameFlags,
    ) -> Res<()> {
        let st = self.state();
        let rflags = rustix::fs::RenameFlags::from_bits(flags.bits()).ok_or(Errno::EINVAL)?;
        rustix::fs::renameat_with(
            &st.node(parent)?.fd,
            name,
            &st.node(new_parent)?.fd,
            new_name,
            rflags,
        )
        .map_err(errno)?;
        self.record(Op::Rename {
            parent: parent.0,
            name: name.to_owned(),
            new_parent: new_parent.0,
            new_name: new_name.to_owned(),
            exchange: rflags.contains(rustix::fs::RenameFlags::EXCHANGE),
        });
        Ok(())
    }

    fn do_link(&self, ino: INodeNo, new_parent: INodeNo, new_name: &OsStr) -> Res<FileAttr> {
        let mut st = self.state();
        {
            let node = st.node(ino)?;
            rustix::fs::linkat(
                &node.fd,
                "",
                &st.node(new_parent)?.fd,
                new_name,
                AtFlags::EMPTY_PATH,
            )
            .map_err(errno)?;
        }
        let node = st.nodes.get_mut(&ino.0).ok_or(Errno::ENOENT)?;
        node.lookups += 1;
        let stat = rustix::fs::fstat(&node.fd).map_err(errno)?;
        self.record(Op::Link {
            ino: ino.0,
            parent: new_parent.0,
            name: new_name.to_owned(),
        });
        Ok(attr(ino.0, &stat))
    }

    fn do_open(&self, ino: INodeNo, flags: OpenFlags) -> Res<u64> {
        let mut st = self.state();
        let path = proc_path(&st.node(ino)?.fd);
        // Access mode only: the kernel turns O_TRUNC into a setattr, handles
        // O_APPEND offsets itself and sends an fsync for O_SYNC/O_DSYNC
        // writes; the backing needs none of them.
        let acc =
            OFlags::from_bits_retain(u32::try_from(flags.0).unwrap_or(0) & OFlags::ACCMODE.bits());
        let fd = rustix::fs::openat(
            rustix::fs::CWD,
            path.as_str(),
            acc | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(errno)?;
        Ok(st.add_handle(File::from(fd)))
    }

    fn do_create(
        &self,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        flags: i32,
    ) -> Res<(FileAttr, u64)> {
        let mut st = self.state();
        let pfd = st.parent_fd(parent)?;
        let bits = mode & 0o7777;
        let acc =
            OFlags::from_bits_retain(u32::try_from(flags).unwrap_or(0) & OFlags::ACCMODE.bits());
        let fd = rustix::fs::openat(
            &pfd,
            name,
            acc | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(bits),
        )
        .map_err(errno)?;
        rustix::fs::fchmod(&fd, Mode::from_raw_mode(bits)).map_err(errno)?;
        let a = st.created(&pfd, name)?;
        let fh = st.add_handle(File::from(fd));
        self.record(Op::Create {
            parent: parent.0,
            name: name.to_owned(),
            ino: a.ino.0,
            kind: NodeKind::File,
            mode: bits,
        });
        Ok((a, fh))
    }

    fn do_read(&self, fh: FileHandle, offset: u64, size: u32) -> Res<Vec<u8>> {
        let st = self.state();
        let file = st.files.get(&fh.0).ok_or(Errno::EBADF)?;
        let mut buf = vec![0u8; size as usize];
        let mut done = 0;
        while done < buf.len() {
            match file.read_at(&mut buf[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_errno(&e)),
            }
        }
        buf.truncate(done);
        Ok(buf)
    }

    fn do_write(&self, ino: INodeNo, fh: FileHandle, offset: u64, data: &[u8]) -> Res<u32> {
        let st = self.state();
        let file = st.files.get(&fh.0).ok_or(Errno::EBADF)?;
        file.write_all_at(data, offset).map_err(|e| io_errno(&e))?;
        self.record(Op::Write {
            ino: ino.0,
            offset,
            data: data.to_vec(),
        });
        u32::try_from(data.len()).map_err(|_| Errno::EINVAL)
    }

    fn do_opendir(&self, ino: INodeNo) -> Res<u64> {
        let mut st = self.state();
        let fd = rustix::fs::openat(
            &st.node(ino)?.fd,
            ".",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(errno)?;
        let root_dev = st.nodes.get(&ROOT).map_or(0, |n| n.backing.0);
        let mut entries = Vec::new();
        for entry in rustix::fs::Dir::new(fd).map_err(errno)? {
            let entry = entry.map_err(errno)?;
            let name = OsStr::from_bytes(entry.file_name().to_bytes()).to_owned();
            let kind = match entry.file_type() {
                rustix::fs::FileType::Directory => FileType::Directory,
                rustix::fs::FileType::Symlink => FileType::Symlink,
                rustix::fs::FileType::Fifo => FileType::NamedPipe,
                rustix::fs::FileType::Socket => FileType::Socket,
                rustix::fs::FileType::CharacterDevice => FileType::CharDevice,
                rustix::fs::FileType::BlockDevice => FileType::BlockDevice,
                _ => FileType::RegularFile,
            };
            // Directory listings only report numbers (readdirplus is off):
            // known nodes get theirs, others a placeholder that is never
            // looked up.
            let ino = st
                .by_backing
                .get(&(root_dev, entry.ino()))
                .copied()
                .unwrap_or(u64::MAX - entry.ino().min(u64::MAX - 2));
            entries.push((name, ino, kind));
        }
        st.next_fh += 1;
        let fh = st.next_fh;
        st.dirs.insert(fh, entries);
        Ok(fh)
    }
}

impl Filesystem for RecordingFs {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        match self.do_lookup(parent, name) {
            Ok(a) => reply.entry(&TTL, &a, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn forget(&self, _req: &Request, ino: INodeNo, nlookup: u64) {
        if ino.0 == ROOT {
            return;
        }
        let mut st = self.state();
        let gone = match st.nodes.get_mut(&ino.0) {
            Some(node) => {
                node.lookups = node.lookups.saturating_sub(nlookup);
                (node.lookups == 0).then_some(node.backing)
            }
            None => None,
        };
        if let Some(backing) = gone {
            st.nodes.remove(&ino.0);
            if st.by_backing.get(&backing) == Some(&ino.0) {
                st.by_backing.remove(&backing);
            }
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        let st = self.state();
        match st
            .node(ino)
            .and_then(|n| rustix::fs::fstat(&n.fd).map_err(errno))
        {
            Ok(stat) => reply.attr(&TTL, &attr(ino.0, &stat)),
            Err(e) => reply.error(e),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<TimeOrNow>,
        _mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        match self.do_setattr(ino, mode, uid, gid, size, fh) {
            Ok(a) => reply.attr(&TTL, &a),
            Err(e) => reply.error(e),
        }
    }

    fn readlink(&self, _req: &Request, ino: INodeNo, reply: ReplyData) {
        let st = self.state();
        match st
            .node(ino)
            .and_then(|n| rustix::fs::readlinkat(&n.fd, "", Vec::new()).map_err(errno))
        {
            Ok(target) => reply.data(target.as_bytes()),
            Err(e) => reply.error(e),
        }
    }

    fn mknod(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        _umask: u32,
        _rdev: u32,
        reply: ReplyEntry,
    ) {
        match self.do_mknod(parent, name, mode) {
            Ok(a) => reply.entry(&TTL, &a, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn mkdir(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        _umask: u32,
        reply: ReplyEntry,
    ) {
        match self.do_mkdir(parent, name, mode) {
            Ok(a) => reply.entry(&TTL, &a, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        match self.do_remove(parent, name, AtFlags::empty()) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        match self.do_remove(parent, name, AtFlags::REMOVEDIR) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn symlink(
        &self,
        _req: &Request,
        parent: INodeNo,
        link_name: &OsStr,
        target: &Path,
        reply: ReplyEntry,
    ) {
        match self.do_symlink(parent, link_name, target) {
            Ok(a) => reply.entry(&TTL, &a, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        match self.do_rename(parent, name, newparent, newname, flags) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn link(
        &self,
        _req: &Request,
        ino: INodeNo,
        newparent: INodeNo,
        newname: &OsStr,
        reply: ReplyEntry,
    ) {
        match self.do_link(ino, newparent, newname) {
            Ok(a) => reply.entry(&TTL, &a, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        match self.do_open(ino, flags) {
            Ok(fh) => reply.opened(FileHandle(fh), FopenFlags::empty()),
            Err(e) => reply.error(e),
        }
    }

    fn read(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<fuser::LockOwner>,
        reply: ReplyData,
    ) {
        match self.do_read(fh, offset, size) {
            Ok(data) => reply.data(&data),
            Err(e) => reply.error(e),
        }
    }

    fn write(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: fuser::WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<fuser::LockOwner>,
        reply: ReplyWrite,
    ) {
        match self.do_write(ino, fh, offset, data) {
            Ok(n) => reply.written(n),
            Err(e) => reply.error(e),
        }
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: fuser::LockOwner,
        reply: ReplyEmpty,
    ) {
        reply.ok();
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<fuser::LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        self.state().files.remove(&fh.0);
        reply.ok();
    }

    fn fsync(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        datasync: bool,
        reply: ReplyEmpty,
    ) {
        // The simulated disk is the trace: syncing the backing file would
        // only slow the workload down.
        self.record(Op::Fsync {
            ino: ino.0,
            datasync,
        });
        reply.ok();
    }

    fn opendir(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        match self.do_opendir(ino) {
            Ok(fh) => reply.opened(FileHandle(fh), FopenFlags::empty()),
            Err(e) => reply.error(e),
        }
    }

    fn readdir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let st = self.state();
        let Some(entries) = st.dirs.get(&fh.0) else {
            reply.error(Errno::EBADF);
            return;
        };
        let skip = usize::try_from(offset).unwrap_or(usize::MAX);
        for (i, (name, ino, kind)) in entries.iter().enumerate().skip(skip) {
            if reply.add(INodeNo(*ino), i as u64 + 1, *kind, name) {
                break;
            }
        }
        reply.ok();
    }

    fn releasedir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        reply: ReplyEmpty,
    ) {
        self.state().dirs.remove(&fh.0);
        reply.ok();
    }

    fn fsyncdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        self.record(Op::FsyncDir { ino: ino.0 });
        reply.ok();
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        let st = self.state();
        match st
            .node(INodeNo(ROOT))
            .and_then(|n| rustix::fs::fstatvfs(n.fd.as_fd()).map_err(errno))
        {
            Ok(v) => reply.statfs(
                v.f_blocks,
                v.f_bfree,
                v.f_bavail,
                v.f_files,
                v.f_ffree,
                u32::try_from(v.f_bsize).unwrap_or(4096),
                u32::try_from(v.f_namemax).unwrap_or(255),
                u32::try_from(v.f_frsize).unwrap_or(4096),
            ),
            Err(e) => reply.error(e),
        }
    }

    fn access(&self, _req: &Request, _ino: INodeNo, _mask: fuser::AccessFlags, reply: ReplyEmpty) {
        // `default_permissions` makes the kernel check modes itself.
        reply.ok();
    }

    fn create(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        _umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        match self.do_create(parent, name, mode, flags) {
            Ok((a, fh)) => {
                reply.created(&TTL, &a, Generation(0), FileHandle(fh), FopenFlags::empty());
            }
            Err(e) => reply.error(e),
        }
    }
}
