//! A pickle opcode-stream reader: tells whether bytes are a pickle that
//! `pickle.load` would act on, whatever the file is called and whether or
//! not the stream starts with a protocol header, and lists the globals it
//! imports, classified the way picklescan classifies them.
//!
//! It never executes anything: it follows the unpickler's stack and memo
//! (Python 3's `_pickle` semantics: a `MARK` opens a new stack frame) only as
//! far as types go, so that an `import` can be named even when it is
//! assembled from memoized strings (`STACK_GLOBAL` after `BINGET`), which
//! defeats scanners that look at neighbouring opcodes only.
//!
//! The verdict does not depend on the classification: every pickle is
//! refused. The list of imports is there to tell the user what the file
//! would have done.

use std::collections::HashMap;

/// Where the bytes come from: a slice, or an open file read positionally.
pub(crate) trait Source {
    /// Total length in bytes.
    fn len(&self) -> u64;
    /// Reads exactly `buf.len()` bytes at `pos`.
    fn read_at(&self, pos: u64, buf: &mut [u8]) -> std::io::Result<()>;
}

impl Source for &[u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }
    fn read_at(&self, pos: u64, buf: &mut [u8]) -> std::io::Result<()> {
        let start = usize::try_from(pos).map_err(|_| std::io::ErrorKind::UnexpectedEof)?;
        let src = start
            .checked_add(buf.len())
            .and_then(|end| self.get(start..end))
            .ok_or(std::io::ErrorKind::UnexpectedEof)?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

/// A file opened by the verifier, with its size as checked.
pub(crate) struct FileSource<'f> {
    pub(crate) file: &'f std::fs::File,
    pub(crate) size: u64,
}

impl Source for FileSource<'_> {
    fn len(&self) -> u64 {
        self.size
    }
    fn read_at(&self, pos: u64, buf: &mut [u8]) -> std::io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(self.file, buf, pos)
    }
}

/// How dangerous an imported global is, by picklescan 1.0.5's lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Safety {
    /// On picklescan's list of globals that run code, touch files or the
    /// network (`os.system`, `builtins.eval`, `subprocess.*`, ...).
    Dangerous,
    /// Neither list: picklescan calls these "suspicious".
    Suspicious,
    /// On picklescan's short list of tensor-rebuilding globals.
    Innocuous,
}

/// One global imported by a pickle (`GLOBAL`, `INST`, `STACK_GLOBAL`; an
/// `EXT*` opcode imports through the copyreg registry and is reported as
/// module `copyreg`, name `extension N`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Import {
    pub(crate) safety: Safety,
    pub(crate) module: String,
    pub(crate) name: String,
}

impl Import {
    pub(crate) fn dotted(&self) -> String {
        format!("{}.{}", self.module, self.name)
    }
}

/// What the reader found.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// The first stream is a pickle: it starts with a `PROTO` opcode, or it
    /// parses up to `STOP`, or it imports a global (or calls something)
    /// before it stops parsing, which `pickle.load` would have done before
    /// failing.
    pub(crate) is_pickle: bool,
    /// The protocol named by a leading `PROTO` opcode (none for protocol 0
    /// and 1 streams, which have no header).
    pub(crate) protocol: Option<u8>,
    /// Every global imported, in all the pickles of the stream (a file may
    /// hold several, one after the other), without repeats.
    pub(crate) imports: Vec<Import>,
    /// The bound on bytes read was hit while the stream was still valid:
    /// the rest was not looked at.
    pub(crate) truncated: bool,
}

/// Protocols the unpickler accepts.
const HIGHEST_PROTOCOL: u8 = 5;

/// Longest line argument (protocol 0 `GLOBAL`, `STRING`, ...) followed.
const MAX_LINE: usize = 1 << 16;

/// Most stack items, open marks or memo entries followed: memory stays
/// bounded whatever the stream.
const MAX_ITEMS: usize = 1 << 20;

/// Longest string kept for `STACK_GLOBAL` (module and attribute names).
const MAX_KEPT_STR: usize = 256;

#[derive(Clone, Debug)]
enum Item {
    /// A `str` (module and name of `STACK_GLOBAL`), when short enough to
    /// keep.
    Str(String),
    Other,
}

struct Reader<'s, S: Source + ?Sized> {
    src: &'s S,
    pos: u64,
    end: u64,
    buf: Vec<u8>,
    buf_at: u64,
    /// The source is itself a prefix of the data: running out of it is the
    /// bound, not the end of the stream.
    eof_is_bound: bool,
}

/// Why reading stopped.
enum Stop {
    /// Not a valid opcode or argument here: `pickle.load` would raise.
    Invalid,
    /// The read bound was hit while the stream was valid.
    Bound,
    /// An I/O error reading the file.
    Io(std::io::Error),
}

impl<'s, S: Source + ?Sized> Reader<'s, S> {
    fn byte(&mut self) -> Result<u8, Stop> {
        let mut b = [0u8; 1];
        self.bytes(&mut b)?;
        Ok(b[0])
    }

    fn bytes(&mut self, out: &mut [u8]) -> Result<(), Stop> {
        let n = out.len() as u64;
        let end = self.pos.checked_add(n).ok_or(Stop::Invalid)?;
        if end > self.src.len() && !self.eof_is_bound {
            return Err(Stop::Invalid);
        }
        if end > self.end {
            return Err(Stop::Bound);
        }
        for slot in out.iter_mut() {
            if self.pos < self.buf_at || self.pos >= self.buf_at + self.buf.len() as u64 {
                let want = (self.src.len() - self.pos).min(64 << 10);
                self.buf
                    .resize(usize::try_from(want).unwrap_or(64 << 10), 0);
                self.src
                    .read_at(self.pos, &mut self.buf)
                    .map_err(Stop::Io)?;
                self.buf_at = self.pos;
            }
            let i = usize::try_from(self.pos - self.buf_at).map_err(|_| Stop::Invalid)?;
            *slot = self.buf[i];
            self.pos += 1;
        }
        Ok(())
    }

    /// Skips `n` bytes of a length-prefixed argument without reading them.
    fn skip(&mut self, n: u64) -> Result<(), Stop> {
        let end = self.pos.checked_add(n).ok_or(Stop::Invalid)?;
        if end > self.src.len() && !self.eof_is_bound {
            return Err(Stop::Invalid);
        }
        if end > self.end {
            return Err(Stop::Bound);
        }
        self.pos = end;
        Ok(())
    }

    fn le(&mut self, n: usize) -> Result<u64, Stop> {
        let mut b = [0u8; 8];
        self.bytes(&mut b[..n])?;
        Ok(u64::from_le_bytes(b))
    }

    /// A `\n`-terminated line, without the newline.
    fn line(&mut self) -> Result<Vec<u8>, Stop> {
        let mut out = Vec::new();
        loop {
            let b = self.byte()?;
            if b == b'\n' {
                return Ok(out);
            }
            if out.len() >= MAX_LINE {
                return Err(Stop::Invalid);
            }
            out.push(b);
        }
    }

    /// A length-prefixed string kept when short (for `STACK_GLOBAL`).
    fn counted_str(&mut self, len: u64) -> Result<Item, Stop> {
        if len <= MAX_KEPT_STR as u64 {
            let mut v = vec![0u8; usize::try_from(len).map_err(|_| Stop::Invalid)?];
            self.bytes(&mut v)?;
            let s = String::from_utf8(v).map_err(|_| Stop::Invalid)?;
            Ok(Item::Str(s))
        } else {
            self.skip(len)?;
            Ok(Item::Other)
        }
    }
}

/// `module` or `name` of a `GLOBAL`: what `find_class` could import.
/// A line that is not a dotted Python identifier makes the import fail.
fn identifier_path(s: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(s).ok()?;
    let ok = !s.is_empty()
        && s.split('.').all(|part| {
            let mut chars = part.chars();
            chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
                && chars.all(|c| c == '_' || c.is_alphanumeric())
        });
    ok.then(|| s.to_owned())
}

fn int_line(s: &[u8]) -> bool {
    let t = s.trim_ascii();
    let t = t
        .strip_prefix(b"-")
        .or_else(|| t.strip_prefix(b"+"))
        .unwrap_or(t);
    let t = t.strip_suffix(b"L").unwrap_or(t);
    !t.is_empty() && t.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

fn float_line(s: &[u8]) -> bool {
    let t = s.trim_ascii();
    !t.is_empty()
        && t.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'+' | b'-' | b'_'))
}

fn memo_key(s: &[u8]) -> Option<u64> {
    std::str::from_utf8(s).ok()?.trim().parse().ok()
}

/// Classifies `module.name` as picklescan 1.0.5 does: its "unsafe" table
/// (with `*` covering submodules), then its "safe" table, else suspicious.
pub(crate) fn classify(module: &str, name: &str) -> Safety {
    use Safety::{Dangerous, Innocuous, Suspicious};
    const ALL: &[&str] = &["*"];
    const UNSAFE: &[(&str, &[&str])] = &[
        (
            "__builtin__",
            &[
                "eval",
                "compile",
                "getattr",
                "apply",
                "exec",
                "open",
                "breakpoint",
            ],
        ),
        (
            "builtins",
            &[
                "eval",
                "compile",
                "getattr",
                "apply",
                "exec",
                "open",
                "breakpoint",
            ],
        ),
        (
            "cloudpickle.cloudpickle",
            &[
                "_builtin_type",
                "_make_function",
                "_function_setstate",
                "_make_cell",
                "_make_empty_cell",
                "subimport",
            ],
        ),
        ("types", &["CodeType"]),
        ("aiohttp", ALL),
        ("asyncio", ALL),
        ("bdb", ALL),
        ("commands", ALL),
        ("ctypes", ALL),
        ("functools", &["partial"]),
        ("httplib", ALL),
        ("logging", &["FileHandler"]),
        ("_io", &["FileIO"]),
        ("numpy.f2py", ALL),
        ("numpy.testing._private.utils", ALL),
        ("nt", ALL),
        ("posix", ALL),
        ("_operator", &["attrgetter", "itemgetter", "methodcaller"]),
        ("operator", &["attrgetter", "itemgetter", "methodcaller"]),
        ("os", ALL),
        ("requests.api", ALL),
        ("runpy", ALL),
        ("shutil", ALL),
        ("socket", ALL),
        ("ssl", ALL),
        ("subprocess", ALL),
        ("sys", ALL),
        ("code", &["InteractiveInterpreter.runcode"]),
        ("cProfile", ALL),
        ("distutils.file_util", ALL),
        ("doctest", &["debug_script"]),
        ("ensurepip", &["_run_pip"]),
        (
            "idlelib.autocomplete",
            &["AutoComplete.get_entity", "AutoComplete.fetch_completions"],
        ),
        ("idlelib.calltip", &["Calltip.fetch_tip", "get_entity"]),
        ("idlelib.debugobj", &["ObjectTreeItem.SetText"]),
        (
            "idlelib.pyshell",
            &[
                "ModifiedInterpreter.runcode",
                "ModifiedInterpreter.runcommand",
            ],
        ),
        ("idlelib.run", &["Executive.runcode"]),
        ("imaplib", &["IMAP4_stream"]),
        ("lib2to3.pgen2.grammar", &["Grammar.loads"]),
        ("lib2to3.pgen2.pgen", &["ParserGenerator.make_label"]),
        ("pdb", ALL),
        ("pickle", ALL),
        ("_pickle", ALL),
        ("pip", ALL),
        ("pkgutil", &["resolve_name"]),
        ("pty", ALL),
        ("profile", ALL),
        ("pydoc", ALL),
        ("test", ALL),
        ("timeit", ALL),
        ("torch._dynamo.guards", &["GuardBuilder.get"]),
        ("torch._inductor.codecache", &["compile_file"]),
        (
            "torch.fx.experimental.symbolic_shapes",
            &["ShapeEnv.evaluate_guards_expression"],
        ),
        ("torch.jit.unsupported_tensor_ops", &["execWrapper"]),
        ("torch.serialization", &["load"]),
        ("torch.utils._config_module", &["ConfigModule.load_config"]),
        (
            "torch.utils.bottleneck.__main__",
            &["run_cprofile", "run_autograd_prof"],
        ),
        ("torch.utils.collect_env", &["run"]),
        (
            "torch.utils.data.datapipes.utils.decoder",
            &["basichandlers"],
        ),
        ("trace", &["Trace.run", "Trace.runctx"]),
        ("urllib.request", ALL),
        ("uuid", ALL),
        ("venv", ALL),
        ("webbrowser", ALL),
        ("_osx_support", ALL),
        ("_aix_support", ALL),
        ("_pyrepl", ALL),
    ];
    const SAFE: &[(&str, &[&str])] = &[
        ("collections", &["OrderedDict"]),
        (
            "torch",
            &[
                "LongStorage",
                "FloatStorage",
                "HalfStorage",
                "QUInt2x4Storage",
                "QUInt4x2Storage",
                "QInt32Storage",
                "QInt8Storage",
                "QUInt8Storage",
                "ComplexFloatStorage",
                "ComplexDoubleStorage",
                "DoubleStorage",
                "BFloat16Storage",
                "BoolStorage",
                "CharStorage",
                "ShortStorage",
                "IntStorage",
                "ByteStorage",
            ],
        ),
        ("numpy", &["dtype", "ndarray"]),
        ("numpy._core.multiarray", &["_reconstruct"]),
        ("numpy.core.multiarray", &["_reconstruct"]),
        ("torch._utils", &["_rebuild_tensor_v2"]),
    ];
    let lookup = |table: &[(&str, &'static [&'static str])], m: &str| {
        table.iter().find(|(k, _)| *k == m).map(|(_, v)| *v)
    };
    let mut unsafe_filter = lookup(UNSAFE, module);
    if unsafe_filter.is_none() {
        // A parent module marked "*" covers its submodules.
        let mut at = 0;
        while let Some(i) = module[at..].find('.') {
            let parent = &module[..at + i];
            if lookup(UNSAFE, parent) == Some(ALL) {
                unsafe_filter = Some(ALL);
                break;
            }
            at += i + 1;
        }
    }
    if module.contains("unknown") || name.contains("unknown") {
        return Dangerous;
    }
    if unsafe_filter.is_some_and(|f| f == ALL || f.contains(&name)) {
        return Dangerous;
    }
    if lookup(SAFE, module).is_some_and(|f| f.contains(&name)) {
        return Innocuous;
    }
    Suspicious
}

/// Reads `src` as a pickle opcode stream, looking at no more than `limit`
/// bytes.
///
/// # Errors
/// An I/O error reading the file.
pub(crate) fn scan<S: Source + ?Sized>(src: &S, limit: u64) -> std::io::Result<Scan> {
    scan_inner(src, limit, false)
}

/// Reads `bytes`, the start of a longer stream (for example what a bounded
/// inflate produced): running out of bytes while the stream is still valid
/// counts as a pickle that cannot be ruled out.
pub(crate) fn scan_prefix(bytes: &[u8]) -> Scan {
    // Reading a slice cannot fail.
    scan_inner(&bytes, bytes.len() as u64, true).unwrap_or_default()
}

fn scan_inner<S: Source + ?Sized>(
    src: &S,
    limit: u64,
    eof_is_bound: bool,
) -> std::io::Result<Scan> {
    let mut r = Reader {
        src,
        pos: 0,
        end: limit.min(src.len()),
        buf: Vec::new(),
        buf_at: 0,
        eof_is_bound,
    };
    let mut scan = Scan::default();
    let mut imports: Vec<Import> = Vec::new();
    let mut memo: HashMap<u64, Item> = HashMap::new();
    let mut first = true;
    loop {
        let start = r.pos;
        let mut acted = false;
        let outcome = one_pickle(&mut r, &mut memo, &mut imports, &mut acted);
        let (stopped_ok, bound) = match outcome {
            Ok(proto) => {
                if first {
                    scan.protocol = proto;
                }
                (true, false)
            }
            Err(Stop::Io(e)) => return Err(e),
            Err(Stop::Bound) => (false, true),
            Err(Stop::Invalid) => (false, false),
        };
        if first {
            // A pickle: a complete stream, a leading PROTO opcode, or a
            // prefix that already imported or called something. A stream
            // that is still valid at the read bound is counted too: it
            // cannot be ruled out.
            let proto_header = {
                let mut b = [0u8; 2];
                src.read_at(0, &mut b).is_ok() && b[0] == 0x80 && b[1] <= HIGHEST_PROTOCOL
            };
            scan.is_pickle = stopped_ok || acted || bound || proto_header;
            if proto_header && scan.protocol.is_none() {
                let mut b = [0u8; 2];
                src.read_at(0, &mut b)?;
                scan.protocol = Some(b[1]);
            }
            first = false;
        }
        scan.truncated |= bound;
        // Keep reading pickles that follow (a torch legacy file holds
        // several); stop at the first that does not parse.
        if !stopped_ok || r.pos >= r.end || r.pos == start {
            break;
        }
    }
    imports.sort();
    imports.dedup();
    scan.imports = imports;
    Ok(scan)
}

/// Reads one pickle up to `STOP`. Returns the protocol of a leading
/// `PROTO`. `acted` is set when an import or a call happened.
#[allow(clippy::too_many_lines)] // reason: one match arm per opcode reads best.
fn one_pickle<S: Source + ?Sized>(
    r: &mut Reader<'_, S>,
    memo: &mut HashMap<u64, Item>,
    imports: &mut Vec<Import>,
    acted: &mut bool,
) -> Result<Option<u8>, Stop> {
    // Python 3's unpickler: MARK pushes the current stack on a metastack
    // and starts an empty one; opcodes see only the current frame.
    let mut stack: Vec<Item> = Vec::new();
    let mut frames: Vec<Vec<Item>> = Vec::new();
    let mut proto = None;
    let mut first = true;
    fn pop(stack: &mut Vec<Item>) -> Result<Item, Stop> {
        stack.pop().ok_or(Stop::Invalid)
    }
    fn pop_mark(stack: &mut Vec<Item>, frames: &mut Vec<Vec<Item>>) -> Result<(), Stop> {
        *stack = frames.pop().ok_or(Stop::Invalid)?;
        Ok(())
    }
    let record = |module: String, name: String, imports: &mut Vec<Import>| {
        let safety = classify(&module, &name);
        if imports.len() < 1000 {
            imports.push(Import {
                safety,
                module,
                name,
            });
        }
    };
    loop {
        // Python would keep allocating; a stream this deep is not read
        // further, and counts as a pickle that cannot be ruled out.
        if stack.len() > MAX_ITEMS || frames.len() > MAX_ITEMS || memo.len() > MAX_ITEMS {
            return Err(Stop::Bound);
        }
        let op = r.byte()?;
        let was_first = first;
        first = false;
        match op {
            // PROTO
            0x80 => {
                let p = r.byte()?;
                if p > HIGHEST_PROTOCOL {
                    return Err(Stop::Invalid);
                }
                if was_first {
                    proto = Some(p);
                }
            }
            // FRAME: a length, no stack effect.
            0x95 => {
                r.le(8)?;
            }
            b'.' => {
                pop(&mut stack)?;
                return Ok(proto);
            }
            // Pushes of a value from a line argument.
            b'I' | b'L' => {
                if !int_line(&r.line()?) {
                    return Err(Stop::Invalid);
                }
                stack.push(Item::Other);
            }
            b'F' => {
                if !float_line(&r.line()?) {
                    return Err(Stop::Invalid);
                }
                stack.push(Item::Other);
            }
            b'S' => {
                let l = r.line()?;
                let l = l.trim_ascii_end();
                let quoted =
                    l.len() >= 2 && matches!(l[0], b'\'' | b'"') && l.last() == Some(&l[0]);
                if !quoted {
                    return Err(Stop::Invalid);
                }
                stack.push(match std::str::from_utf8(&l[1..l.len() - 1]) {
                    Ok(s) if !s.contains('\\') && s.len() <= MAX_KEPT_STR => {
                        Item::Str(s.to_owned())
                    }
                    _ => Item::Other,
                });
            }
            b'V' => {
                let l = r.line()?;
                stack.push(match String::from_utf8(l) {
                    Ok(s) if !s.contains('\\') && s.len() <= MAX_KEPT_STR => Item::Str(s),
                    _ => Item::Other,
                });
            }
            b'P' => {
                // PERSID: calls persistent_load.
                r.line()?;
                *acted = true;
                stack.push(Item::Other);
            }
            // Fixed-size binary pushes.
            b'J' => {
                r.le(4)?;
                stack.push(Item::Other);
            }
            b'K' => {
                r.le(1)?;
                stack.push(Item::Other);
            }
            b'M' => {
                r.le(2)?;
                stack.push(Item::Other);
            }
            b'G' => {
                r.le(8)?;
                stack.push(Item::Other);
            }
            b'N' | 0x88 | 0x89 | b']' | b')' | b'}' | 0x8f => stack.push(Item::Other),
            // Length-prefixed pushes.
            0x8a => {
                let n = r.le(1)?;
                r.skip(n)?;
                stack.push(Item::Other);
            }
            0x8b | b'T' => {
                let n = i32::from_le_bytes(
                    u32::try_from(r.le(4)?)
                        .map_err(|_| Stop::Invalid)?
                        .to_le_bytes(),
                );
                let n = u64::try_from(n).map_err(|_| Stop::Invalid)?;
                if op == b'T' {
                    let item = r.counted_str(n)?;
                    stack.push(item);
                } else {
                    r.skip(n)?;
                    stack.push(Item::Other);
                }
            }
            b'U' => {
                let n = r.le(1)?;
                let item = r.counted_str(n)?;
                stack.push(item);
            }
            b'B' => {
                let n = r.le(4)?;
                r.skip(n)?;
                stack.push(Item::Other);
            }
            b'C' => {
                let n = r.le(1)?;
                r.skip(n)?;
                stack.push(Item::Other);
            }
            0x8e | 0x96 => {
                let n = r.le(8)?;
                r.skip(n)?;
                stack.push(Item::Other);
            }
            0x8c => {
                let n = r.le(1)?;
                let item = r.counted_str(n)?;
                stack.push(item);
            }
            b'X' => {
                let n = r.le(4)?;
                let item = r.counted_str(n)?;
                stack.push(item);
            }
            0x8d => {
                let n = r.le(8)?;
                let item = r.counted_str(n)?;
                stack.push(item);
            }
            0x97 => {
                // NEXT_BUFFER: out-of-band buffers (none when loading a file).
                return Err(Stop::Invalid);
            }
            0x98 => {
                stack.last().ok_or(Stop::Invalid)?;
            }
            // Containers.
            b'a' => {
                pop(&mut stack)?;
                stack.last().ok_or(Stop::Invalid)?;
            }
            b'e' | b'u' | 0x90 => {
                pop_mark(&mut stack, &mut frames)?;
                stack.last().ok_or(Stop::Invalid)?;
            }
            b'l' | b't' | b'd' | 0x91 => {
                if op == b'd' && !stack.len().is_multiple_of(2) {
                    return Err(Stop::Invalid);
                }
                pop_mark(&mut stack, &mut frames)?;
                stack.push(Item::Other);
            }
            0x85..=0x87 => {
                for _ in 0..(op - 0x84) {
                    pop(&mut stack)?;
                }
                stack.push(Item::Other);
            }
            b's' => {
                pop(&mut stack)?;
                pop(&mut stack)?;
                stack.last().ok_or(Stop::Invalid)?;
            }
            // Stack manipulation.
            b'0' => {
                if stack.pop().is_none() {
                    pop_mark(&mut stack, &mut frames)?;
                }
            }
            b'1' => pop_mark(&mut stack, &mut frames)?,
            b'2' => {
                let top = stack.last().ok_or(Stop::Invalid)?.clone();
                stack.push(top);
            }
            b'(' => frames.push(std::mem::take(&mut stack)),
            // Memo.
            b'g' | b'h' | b'j' => {
                let key = match op {
                    b'g' => memo_key(&r.line()?).ok_or(Stop::Invalid)?,
                    b'h' => r.le(1)?,
                    _ => r.le(4)?,
                };
                let item = memo.get(&key).cloned().ok_or(Stop::Invalid)?;
                stack.push(item);
            }
            b'p' | b'q' | b'r' => {
                let key = match op {
                    b'p' => memo_key(&r.line()?).ok_or(Stop::Invalid)?,
                    b'q' => r.le(1)?,
                    _ => r.le(4)?,
                };
                let top = stack.last().ok_or(Stop::Invalid)?.clone();
                memo.insert(key, top);
            }
            0x94 => {
                let top = stack.last().ok_or(Stop::Invalid)?.clone();
                memo.insert(memo.len() as u64, top);
            }
            // Imports.
            b'c' | b'i' => {
                let module = identifier_path(&r.line()?).ok_or(Stop::Invalid)?;
                let name = identifier_path(&r.line()?).ok_or(Stop::Invalid)?;
                record(module, name, imports);
                *acted = true;
                if op == b'i' {
                    pop_mark(&mut stack, &mut frames)?;
                }
                stack.push(Item::Other);
            }
            0x93 => {
                let name = pop(&mut stack)?;
                let module = pop(&mut stack)?;
                let (module, name) = match (module, name) {
                    (Item::Str(m), Item::Str(n)) => (m, n),
                    // Not a str (or too long to keep): unknown, which
                    // picklescan counts as dangerous.
                    (m, n) => (
                        match m {
                            Item::Str(s) => s,
                            Item::Other => "unknown".to_owned(),
                        },
                        match n {
                            Item::Str(s) => s,
                            Item::Other => "unknown".to_owned(),
                        },
                    ),
                };
                record(module, name, imports);
                *acted = true;
                stack.push(Item::Other);
            }
            0x82..=0x84 => {
                let code = match op {
                    0x82 => r.le(1)?,
                    0x83 => r.le(2)?,
                    _ => r.le(4)?,
                };
                record("copyreg".to_owned(), format!("extension {code}"), imports);
                *acted = true;
                stack.push(Item::Other);
            }
            // Calls.
            b'R' | 0x81 | b'b' => {
                pop(&mut stack)?;
                pop(&mut stack)?;
                *acted = true;
                stack.push(Item::Other);
            }
            0x92 => {
                for _ in 0..3 {
                    pop(&mut stack)?;
                }
                *acted = true;
                stack.push(Item::Other);
            }
            b'o' => {
                let had = !stack.is_empty();
                pop_mark(&mut stack, &mut frames)?;
                if !had {
                    return Err(Stop::Invalid);
                }
                *acted = true;
                stack.push(Item::Other);
            }
            b'Q' => {
                pop(&mut stack)?;
                *acted = true;
                stack.push(Item::Other);
            }
            _ => return Err(Stop::Invalid),
        }
    }
}

/// Fuzzing hook: reads any bytes as a pickle opcode stream. Invariants: no
/// panic; the verdict with a bound equal to the length is the unbounded
/// verdict; a bound shorter than the data never turns a pickle found
/// within it into "not a pickle"; every import classified dangerous is
/// listed as an import.
#[cfg(fuzzing)]
#[doc(hidden)]
pub fn fuzz_pickle(data: &[u8]) {
    let whole = scan(&data, u64::MAX).unwrap_or_default();
    let exact = scan(&data, data.len() as u64).unwrap_or_default();
    assert_eq!(whole.is_pickle, exact.is_pickle);
    assert_eq!(whole.imports, exact.imports);
    if data.len() > 1 {
        let half = scan(&data, (data.len() / 2) as u64).unwrap_or_default();
        // Cut short, a pickle stays a pickle: valid up to the bound, or
        // it had already imported or called something, or it has a header.
        assert!(!whole.is_pickle || half.is_pickle, "bound hid a pickle");
    }
    let _ = scan_prefix(data);
    let _ = crate::policy::refuse_pickle("fuzz", &data, data, u64::MAX);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn s(b: &[u8]) -> Scan {
        scan(&b, u64::MAX).unwrap()
    }

    fn dangerous(sc: &Scan) -> Vec<String> {
        sc.imports
            .iter()
            .filter(|i| i.safety == Safety::Dangerous)
            .map(Import::dotted)
            .collect()
    }

    #[test]
    fn protocol_0_reduce_of_os_system() {
        let sc = s(b"cos\nsystem\n(S'echo pwned'\ntR.");
        assert!(sc.is_pickle);
        assert_eq!(sc.protocol, None);
        assert_eq!(dangerous(&sc), ["os.system"]);
    }

    #[test]
    fn protocol_0_inst_and_trailing_garbage() {
        // INST imports and calls; what follows STOP is ignored by pickle.load.
        let sc = s(b"(S'ls'\nisubprocess\ncheck_output\n.garbage that is not a pickle");
        assert!(sc.is_pickle);
        assert_eq!(dangerous(&sc), ["subprocess.check_output"]);
    }

    #[test]
    fn protocol_1_binary_opcodes() {
        // pickle.dumps({'a': [1, 2]}, protocol=1)
        let sc = s(b"}q\x00X\x01\x00\x00\x00aq\x01]q\x02(K\x01K\x02es.");
        assert!(sc.is_pickle);
        assert!(sc.imports.is_empty());
    }

    #[test]
    fn stack_global_through_memo_is_resolved() {
        // Strings memoized, then fetched back with BINGET before
        // STACK_GLOBAL: the import is still named.
        let p = b"\x80\x04\x8c\x08builtins\x94\x8c\x04eval\x94\x8c\x05print\x940h\x00h\x01\x93\x94\x8c\x011\x85R.";
        let sc = s(p);
        assert!(sc.is_pickle);
        assert_eq!(sc.protocol, Some(4));
        assert_eq!(dangerous(&sc), ["builtins.eval"]);
    }

    #[test]
    fn prefix_that_imports_before_failing_is_a_pickle() {
        // pickle.load runs os.system before it reaches the junk.
        let sc = s(b"cos\nsystem\n(S'id'\ntR\xff\xff");
        assert!(sc.is_pickle);
        assert_eq!(dangerous(&sc), ["os.system"]);
    }

    #[test]
    fn text_and_json_are_not_pickles() {
        for t in [
            &b"{\"model_type\": \"llama\"}"[..],
            b"[PAD]\n[UNK]\n",
            b"#version: 0.2\nh e\n",
            b"MIT License\n\nCopyright (c) 2024\n",
            b"Copyright (c) the authors\ncollections\nOrderedDict\n",
            b"",
            b"\n",
            b"(a",
            b"\x0a\x05hello",
        ] {
            let sc = s(t);
            assert!(!sc.is_pickle, "{:?}", String::from_utf8_lossy(t));
        }
    }

    #[test]
    fn classification_follows_picklescan() {
        assert_eq!(classify("os", "system"), Safety::Dangerous);
        assert_eq!(classify("os.path", "join"), Safety::Dangerous);
        assert_eq!(classify("builtins", "eval"), Safety::Dangerous);
        assert_eq!(classify("builtins", "set"), Safety::Suspicious);
        assert_eq!(
            classify("torch._utils", "_rebuild_tensor_v2"),
            Safety::Innocuous
        );
        assert_eq!(classify("collections", "OrderedDict"), Safety::Innocuous);
        assert_eq!(classify("mymodule", "thing"), Safety::Suspicious);
        assert_eq!(classify("unknown", "x"), Safety::Dangerous);
    }

    #[test]
    fn bound_on_a_still_valid_stream_counts_as_pickle() {
        let mut p = b"(".to_vec();
        p.extend(std::iter::repeat_n(b'N', 1000));
        let sc = scan(&p.as_slice(), 100).unwrap();
        assert!(sc.is_pickle && sc.truncated);
    }

    #[test]
    fn deep_streams_are_bounded() {
        // Two million NONE pushes: not followed to the end (memory stays
        // bounded), and counted as a pickle that cannot be ruled out.
        let p = vec![b'N'; 2 << 20];
        let sc = s(&p);
        assert!(sc.is_pickle && sc.truncated);
        let p = vec![b'('; 2 << 20];
        assert!(s(&p).is_pickle);
    }

    #[test]
    fn huge_lengths_do_not_allocate() {
        // BINBYTES8 claiming 2^63 bytes: invalid (past the end), no alloc.
        let mut p = vec![0x8e];
        p.extend_from_slice(&(1u64 << 63).to_le_bytes());
        assert!(!s(&p).is_pickle);
    }
}
