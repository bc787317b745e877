//! One download: hops with their checks, the body with its limits, the
//! digest, the install; and resume.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use secure_fs::PrivateDir;
use sha2::{Digest, Sha256};
use url::Url;

use crate::config::{Downloader, OverrideResolver, Progress, ProgressFn, Request};
use crate::error::{Error, ErrorKind, Result, TimeoutKind};
use crate::host::normalize_host;
use crate::report::{Download, Hop, Sha256Digest};
use crate::resume::{self, Sidecar};
use crate::sink::{ChunkLog, Filled, Output, Written, writer};
use crate::tls::{PinnedTls, PinningVerifier, client_config};

/// Size of one network read buffer handed to the writer thread.
const BUF_LEN: usize = 256 << 10;
/// Buffers in flight between the two threads.
const BUFFERS: usize = 4;
/// How often the progress callback runs at most.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// (scheme, host, port): where credentials may go.
type Origin = (String, String, u16);

fn origin(url: &Url) -> Origin {
    (
        url.scheme().to_owned(),
        url.host_str().and_then(normalize_host).unwrap_or_default(),
        url.port_or_known_default().unwrap_or(0),
    )
}

/// The headers of a response that matter here.
struct Answer {
    status: u16,
    content_length: Option<u64>,
    content_range: Option<String>,
    etag: Option<String>,
    last_modified: Option<String>,
    reader: Box<dyn Read + Send + Sync>,
}

/// Per-download state: the agent with this download's verifier, the hop
/// log, the deadline.
struct Session<'a> {
    dl: &'a Downloader,
    agent: ureq::Agent,
    verifier: Arc<PinningVerifier>,
    chain: Vec<Hop>,
    origin: Origin,
    request: &'a Request,
    deadline: Option<Instant>,
    linked_sha256: Option<Sha256Digest>,
    linked_size: Option<u64>,
}

impl<'a> Session<'a> {
    fn new(dl: &'a Downloader, request: &'a Request, first: &Url) -> Result<Self> {
        let verifier = Arc::new(PinningVerifier::new(
            dl.roots.clone(),
            dl.provider.clone(),
            dl.pins.clone(),
        ));
        let config = client_config(dl.provider.clone(), verifier.clone())?;
        let mut agent = ureq::AgentBuilder::new()
            .tls_connector(Arc::new(PinnedTls(Arc::new(config))))
            .https_only(true)
            .redirects(0)
            .resolver(OverrideResolver(dl.resolve.clone()))
            .timeout_connect(dl.connect_timeout)
            .timeout_read(dl.read_timeout)
            .timeout_write(dl.read_timeout)
            .user_agent(concat!("pinned-downloader/", env!("CARGO_PKG_VERSION")));
        if let Some(proxy) = &dl.proxy {
            agent = agent.proxy(proxy.clone());
        }
        let started = Instant::now();
        Ok(Session {
            dl,
            agent: agent.build(),
            verifier,
            chain: Vec::new(),
            origin: origin(first),
            request,
            deadline: dl.total_timeout.and_then(|t| started.checked_add(t)),
            linked_sha256: None,
            linked_size: None,
        })
    }

    fn fail(&self, kind: ErrorKind) -> Error {
        Error::new(kind).with_chain(self.chain.clone())
    }

    fn err(&self, e: Error) -> Error {
        if e.redirect_chain().is_empty() {
            e.with_chain(self.chain.clone())
        } else {
            e
        }
    }

    /// Scheme and allow-list check of one URL (the first or a redirect).
    fn check_url(&self, url: &Url) -> Result<crate::report::PinStatus> {
        if url.scheme() != "https" {
            return Err(self.fail(ErrorKind::PlainHttp {
                scheme: url.scheme().to_owned(),
            }));
        }
        let host = url.host_str().and_then(normalize_host).ok_or_else(|| {
            self.fail(ErrorKind::Config {
                reason: format!("URL {url} has no usable host"),
            })
        })?;
        self.dl
            .host_status(&host)
            .ok_or_else(|| self.fail(ErrorKind::NotAllowedHost { host }))
    }

    fn timed_out(&self, during_connect: bool) -> ErrorKind {
        let what = if self.deadline.is_some_and(|d| Instant::now() >= d) {
            TimeoutKind::Total
        } else if during_connect {
            TimeoutKind::Connect
        } else {
            TimeoutKind::Idle
        };
        ErrorKind::Timeout { what }
    }

    fn remaining(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// Turns a ureq error into ours; the verifier knows the real reason of
    /// a refused handshake.
    fn map_ureq(&self, e: ureq::Error) -> Error {
        if let Some(f) = self.verifier.take_failure() {
            return self.fail(f.into_kind());
        }
        match e {
            ureq::Error::Status(code, _) => self.fail(ErrorKind::BadResponse {
                reason: format!("HTTP status {code}"),
            }),
            ureq::Error::Transport(t) => {
                let timed_out = source_chain_has(&t, std::io::ErrorKind::TimedOut);
                let connecting = matches!(
                    t.kind(),
                    ureq::ErrorKind::ConnectionFailed | ureq::ErrorKind::Dns
                ) || source_chain_is::<crate::tls::HandshakeTimeout>(&t);
                let kind = if timed_out || self.deadline.is_some_and(|d| Instant::now() >= d) {
                    self.timed_out(connecting)
                } else if t.kind() == ureq::ErrorKind::InsecureRequestHttpsOnly {
                    ErrorKind::PlainHttp {
                        scheme: "http".into(),
                    }
                } else if matches!(
                    t.kind(),
                    ureq::ErrorKind::BadStatus | ureq::ErrorKind::BadHeader
                ) {
                    ErrorKind::BadResponse {
                        reason: t.to_string(),
                    }
                } else {
                    ErrorKind::Network {
                        reason: t.to_string(),
                    }
                };
                self.fail(kind)
            }
        }
    }

    /// GETs `url`, following redirects under the policy, and returns the
    /// final 2xx (or 416) answer and its URL.
    fn get(
        &mut self,
        url: &Url,
        range: Option<(u64, Option<u64>)>,
        if_range: Option<&str>,
    ) -> Result<(Answer, Url)> {
        let mut url = url.clone();
        let mut redirects = 0u32;
        loop {
            let pin = self.check_url(&url)?;
            self.chain.push(Hop {
                url: url.to_string(),
                status: 0,
                pin,
            });
            let mut req = self.agent.request_url("GET", &url);
            if let Some(left) = self.remaining() {
                if left.is_zero() {
                    return Err(self.fail(ErrorKind::Timeout {
                        what: TimeoutKind::Total,
                    }));
                }
                req = req.timeout(left);
            }
            req = req.set("Accept-Encoding", "identity");
            // Credentials only to the first URL's origin, never across.
            if origin(&url) == self.origin {
                if let Some(a) = &self.request.authorization {
                    req = req.set("Authorization", a.expose());
                }
                if let Some(c) = &self.request.cookie {
                    req = req.set("Cookie", c.expose());
                }
            }
            if let Some((start, end)) = range {
                let value = match end {
                    Some(end) => format!("bytes={start}-{end}"),
                    None => format!("bytes={start}-"),
                };
                req = req.set("Range", &value);
                if let Some(v) = if_range {
                    req = req.set("If-Range", v);
                }
            }
            let resp = match req.call() {
                Ok(r) => r,
                Err(ureq::Error::Status(416, r)) => r,
                Err(ureq::Error::Status(code, r)) => {
                    self.record_status(code);
                    self.note_linked(&r)?;
                    return Err(self.fail(ErrorKind::BadResponse {
                        reason: format!("HTTP status {code} from {}", url_for_message(&url)),
                    }));
                }
                Err(e) => return Err(self.map_ureq(e)),
            };
            let status = resp.status();
            self.record_status(status);
            self.note_linked(&resp)?;
            if (300..400).contains(&status) {
                if !matches!(status, 301 | 302 | 303 | 307 | 308) {
                    return Err(self.fail(ErrorKind::RedirectRefused {
                        reason: format!("unexpected status {status}"),
                    }));
                }
                if redirects >= self.dl.max_redirects {
                    return Err(self.fail(ErrorKind::RedirectRefused {
                        reason: format!("more than {} redirects", self.dl.max_redirects),
                    }));
                }
                let location = resp.header("location").ok_or_else(|| {
                    self.fail(ErrorKind::RedirectRefused {
                        reason: format!("status {status} without a Location header"),
                    })
                })?;
                let next = url.join(location).map_err(|e| {
                    self.fail(ErrorKind::RedirectRefused {
                        reason: format!("Location {location:?} is not a URL: {e}"),
                    })
                })?;
                redirects += 1;
                url = next;
                continue;
            }
            let answer = self.answer(resp)?;
            return Ok((answer, url));
        }
    }

    fn record_status(&mut self, status: u16) {
        if let Some(last) = self.chain.last_mut() {
            last.status = status;
        }
    }

    /// Remembers `X-Linked-Etag` / `X-Linked-Size` (first seen wins) when
    /// the caller opted in, and refuses a digest that contradicts the
    /// caller's before any body byte.
    fn note_linked(&mut self, resp: &ureq::Response) -> Result<()> {
        if !self.request.trust_linked_etag {
            return Ok(());
        }
        if self.linked_sha256.is_none()
            && let Some(tag) = resp.header("x-linked-etag")
        {
            let tag = tag.trim().trim_start_matches("W/").trim_matches('"');
            if let Ok(d) = Sha256Digest::from_hex(tag) {
                if let Some(want) = self.request.sha256
                    && want != d
                {
                    return Err(self.fail(ErrorKind::ChecksumMismatch {
                        expected: want.to_hex(),
                        got: format!("{} (announced by X-Linked-Etag)", d.to_hex()),
                    }));
                }
                self.linked_sha256 = Some(d);
            }
        }
        if self.linked_size.is_none()
            && let Some(size) = resp.header("x-linked-size")
            && let Ok(size) = size.trim().parse::<u64>()
        {
            self.linked_size = Some(size);
        }
        Ok(())
    }

    fn answer(&self, resp: ureq::Response) -> Result<Answer> {
        let chunked = resp.header("transfer-encoding").is_some();
        let content_length = if chunked {
            None
        } else {
            let values = resp.all("content-length");
            match values.as_slice() {
                [] => None,
                [first, rest @ ..] => {
                    let n = first.trim().parse::<u64>().map_err(|_| {
                        self.fail(ErrorKind::BadResponse {
                            reason: format!("Content-Length {first:?} is not a number"),
                        })
                    })?;
                    if rest.iter().any(|v| v.trim().parse::<u64>().ok() != Some(n)) {
                        return Err(self.fail(ErrorKind::BadResponse {
                            reason: "conflicting Content-Length headers".into(),
                        }));
                    }
                    Some(n)
                }
            }
        };
        Ok(Answer {
            status: resp.status(),
            content_length,
            content_range: resp.header("content-range").map(str::to_owned),
            etag: resp.header("etag").map(str::to_owned),
            last_modified: resp.header("last-modified").map(str::to_owned),
            reader: resp.into_reader(),
        })
    }

    fn expected_sha256(&self) -> Option<Sha256Digest> {
        self.request.sha256.or(self.linked_sha256)
    }

    fn expected_size(&self) -> Option<u64> {
        self.request.expected_size.or(self.linked_size)
    }

    /// Checks the announced size against the maximum and the expected size
    /// before any body byte.
    fn check_announced(&self, total: Option<u64>) -> Result<()> {
        let Some(total) = total else {
            return Ok(());
        };
        if total > self.dl.max_size {
            return Err(self.fail(ErrorKind::TooLarge {
                max: self.dl.max_size,
                got: total,
            }));
        }
        if let Some(want) = self.expected_size()
            && want != total
        {
            return Err(self.fail(ErrorKind::SizeMismatch {
                expected: Some(want),
                got: total,
                truncated: false,
            }));
        }
        Ok(())
    }
}

fn url_for_message(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

/// Whether any error in the source chain (looking through `io::Error`
/// wrappers) is an `io::Error` of `kind`.
fn source_chain_has(e: &(dyn std::error::Error + 'static), kind: std::io::ErrorKind) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if io.kind() == kind {
                return true;
            }
            if let Some(inner) = io.get_ref() {
                cur = Some(inner);
                continue;
            }
        }
        cur = err.source();
    }
    false
}

/// Whether any error in the source chain (looking through `io::Error`
/// wrappers) is a `T`.
fn source_chain_is<T: std::error::Error + 'static>(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.is::<T>() {
            return true;
        }
        if let Some(inner) = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            cur = Some(inner);
            continue;
        }
        cur = err.source();
    }
    false
}

/// Parses `bytes START-END/TOTAL` (TOTAL may be `*`).
fn parse_content_range(v: &str) -> Option<(u64, u64, Option<u64>)> {
    let rest = v.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (start, end) = range.split_once('-')?;
    let start: u64 = start.trim().parse().ok()?;
    let end: u64 = end.trim().parse().ok()?;
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse::<u64>().ok()?),
    };
    if end < start || total.is_some_and(|t| end >= t) {
        return None;
    }
    Some((start, end, total))
}

/// Limits of one body: where it starts in the file and where it must end.
struct BodyPlan {
    offset: u64,
    /// The file's total size, when announced or expected.
    total: Option<u64>,
}

impl Downloader {
    /// Downloads `request` to `out`: checks every hop, streams the body
    /// under the size limits while a second thread writes and hashes it,
    /// and renames the file into place only when its size and digest
    /// match. The directory of `out` must be owned by this user, not
    /// writable by group or others, and reached without a symlink in any
    /// component; its mode is left as it is (a 0755 directory stays 0755).
    /// A missing directory is created 0700. The file itself is 0600.
    ///
    /// On any error nothing exists at `out` (an existing file there is left
    /// as it was) and no temporary file remains, except that a resumable
    /// request keeps `out.part` and `out.part.resume` after a transient
    /// failure (network, timeout, cut) for the next attempt.
    ///
    /// # Errors
    /// See [`ErrorKind`]: every refusal and failure has its own kind.
    pub fn download(&self, mut request: Request, out: impl AsRef<Path>) -> Result<Download> {
        let out = out.as_ref();
        let (dir_path, name) = split_out(out)?;
        let url = Url::parse(request.url.trim())
            .map_err(|e| Error::config(format!("URL {:?} does not parse: {e}", request.url)))?;
        let mut progress = request.progress.take();
        let mut session = Session::new(self, &request, &url)?;
        // Scheme and host first: a refused URL touches nothing on disk.
        session.check_url(&url)?;
        // Not `PrivateDir::open`, which would tighten the user's existing
        // directory to 0700: a download must not change the mode of a
        // directory it did not create.
        let dir = PrivateDir::create_keeping_mode(&dir_path)?;
        let result = if request.resume {
            self.download_resumable(&mut session, &url, &dir, &name, &mut progress)
        } else {
            self.download_fresh(&mut session, &url, &dir, &name, &mut progress)
        };
        result
            .map(|mut d| {
                d.path = dir.path().join(&name);
                d
            })
            .map_err(|e| session.err(e))
    }

    fn download_fresh(
        &self,
        s: &mut Session<'_>,
        url: &Url,
        dir: &PrivateDir,
        name: &str,
        progress: &mut Option<ProgressFn>,
    ) -> Result<Download> {
        let (answer, _) = s.get(url, None, None)?;
        if answer.status != 200 {
            return Err(s.fail(ErrorKind::BadResponse {
                reason: format!("unexpected status {}", answer.status),
            }));
        }
        s.check_announced(answer.content_length)?;
        let written = Written {
            out: Output::Atomic(dir.atomic_file(name)?),
            full: Sha256::new(),
            log: None,
        };
        let plan = BodyPlan {
            offset: 0,
            total: answer.content_length,
        };
        let shown = dir.path().join(name);
        let (size, written) = stream(s, answer.reader, &plan, written, progress, &shown)?;
        let digest = finish_checks(s, size, written.full)?;
        let Output::Atomic(file) = written.out else {
            return Err(s.fail(ErrorKind::Config {
                reason: "internal: output kind changed".into(),
            }));
        };
        file.commit()?;
        Ok(report(s, size, digest, 0, Vec::new(), false))
    }

    fn download_resumable(
        &self,
        s: &mut Session<'_>,
        url: &Url,
        dir: &PrivateDir,
        name: &str,
        progress: &mut Option<ProgressFn>,
    ) -> Result<Download> {
        let result = self.resumable_inner(s, url, dir, name, progress);
        if let Err(e) = &result
            && !e.kind().keeps_partial()
        {
            // Bytes or answers that cannot be trusted are not kept for a
            // next attempt.
            let _ = resume::discard(dir, name);
        }
        result
    }

    fn resumable_inner(
        &self,
        s: &mut Session<'_>,
        url: &Url,
        dir: &PrivateDir,
        name: &str,
        progress: &mut Option<ProgressFn>,
    ) -> Result<Download> {
        let (part, side) = resume::names(name);
        let shown = dir.path().join(&part);
        let want_sha = s.request.sha256.map(|d| d.to_hex());
        let found = resume::load(
            dir,
            name,
            url.as_str(),
            self.chunk_size,
            want_sha.as_deref(),
            s.request.expected_size,
        )?;
        let mut refetched = Vec::new();
        let mut restarted = false;
        if let Some(mut found) = found {
            // 1. Fetch again the chunks that no longer match on disk; each
            //    must hash to what was recorded when it first arrived.
            for &i in &found.bad_chunks.clone() {
                if !self.refetch_chunk(s, url, &mut found, i, &shown)? {
                    restarted = true;
                    break;
                }
                refetched.push(i);
            }
            if !restarted {
                let offset = found.sidecar.covered();
                let prefix = resume::hash_prefix(&mut found.file, offset, &shown)?;
                found
                    .file
                    .seek(SeekFrom::Start(offset))
                    .map_err(|e| Error::io(&shown, e))?;
                if found.sidecar.total_size == Some(offset) && offset > 0 {
                    // Everything is on disk already.
                    let written = Written {
                        out: Output::Part(found.file),
                        full: prefix,
                        log: None,
                    };
                    let digest = finish_checks(s, offset, written.full)?;
                    install_part(dir, name, &part, &side, written.out, &shown)?;
                    return Ok(report(s, offset, digest, offset, refetched, false));
                }
                // 2. Continue after the verified chunks.
                let validator = found.sidecar.validator().map(str::to_owned);
                let (answer, _) = s.get(url, Some((offset, None)), validator.as_deref())?;
                match answer.status {
                    206 => {
                        let (start, end, total) = answer
                            .content_range
                            .as_deref()
                            .and_then(parse_content_range)
                            .ok_or_else(|| {
                                s.fail(ErrorKind::ResumeRefused {
                                    reason: "206 without a valid Content-Range".into(),
                                })
                            })?;
                        let known = found.sidecar.total_size.or(s.expected_size());
                        if start != offset
                            || total.is_some_and(|t| end + 1 != t)
                            || (total.is_some() && known.is_some() && total != known)
                            || answer.content_length.is_some_and(|l| l != end - start + 1)
                        {
                            return Err(s.fail(ErrorKind::ResumeRefused {
                                reason: format!(
                                    "asked for bytes {offset}- and got {}",
                                    answer.content_range.unwrap_or_default()
                                ),
                            }));
                        }
                        let total = total.or(known);
                        s.check_announced(total)?;
                        found.sidecar.total_size = total;
                        let log = ChunkLog {
                            dir,
                            name: side.clone(),
                            sidecar: found.sidecar,
                            in_chunk: 0,
                            hasher: Sha256::new(),
                        };
                        let written = Written {
                            out: Output::Part(found.file),
                            full: prefix,
                            log: Some(log),
                        };
                        let plan = BodyPlan { offset, total };
                        let (size, written) =
                            stream(s, answer.reader, &plan, written, progress, &shown)?;
                        let digest = finish_checks(s, size, written.full)?;
                        install_part(dir, name, &part, &side, written.out, &shown)?;
                        return Ok(report(s, size, digest, offset, refetched, false));
                    }
                    200 => {
                        // The server ignored Range, or the file changed
                        // (If-Range failed): start over with this answer.
                        restarted = true;
                        drop(found);
                        return self
                            .fresh_part(s, dir, name, url, answer, progress, refetched, restarted);
                    }
                    other => {
                        return Err(s.fail(ErrorKind::ResumeRefused {
                            reason: format!("status {other} to a Range request"),
                        }));
                    }
                }
            }
        }
        resume::discard(dir, name)?;
        let (answer, _) = s.get(url, None, None)?;
        if answer.status != 200 {
            return Err(s.fail(ErrorKind::BadResponse {
                reason: format!("unexpected status {}", answer.status),
            }));
        }
        self.fresh_part(s, dir, name, url, answer, progress, refetched, restarted)
    }

    /// A resumable download from byte 0 of `answer` (a 200).
    #[allow(clippy::too_many_arguments)]
    fn fresh_part(
        &self,
        s: &mut Session<'_>,
        dir: &PrivateDir,
        name: &str,
        url: &Url,
        answer: Answer,
        progress: &mut Option<ProgressFn>,
        refetched: Vec<u64>,
        restarted: bool,
    ) -> Result<Download> {
        let (part, side) = resume::names(name);
        let shown = dir.path().join(&part);
        s.check_announced(answer.content_length)?;
        if dir.exists(&side)? {
            dir.remove_file(&side)?;
        }
        let file = dir.create_file(&part, secure_fs::Access::ReadWrite)?;
        file.set_len(0).map_err(|e| Error::io(&shown, e))?;
        let mut sidecar = Sidecar::new(
            url.as_str(),
            self.chunk_size,
            s.request.sha256.map(|d| d.to_hex()),
        );
        sidecar.total_size = answer.content_length.or(s.expected_size());
        sidecar.etag = answer.etag.clone();
        sidecar.last_modified = answer.last_modified.clone();
        let log = ChunkLog {
            dir,
            name: side.clone(),
            sidecar,
            in_chunk: 0,
            hasher: Sha256::new(),
        };
        let written = Written {
            out: Output::Part(file),
            full: Sha256::new(),
            log: Some(log),
        };
        let plan = BodyPlan {
            offset: 0,
            total: answer.content_length,
        };
        let (size, written) = stream(s, answer.reader, &plan, written, progress, &shown)?;
        let digest = finish_checks(s, size, written.full)?;
        install_part(dir, name, &part, &side, written.out, &shown)?;
        Ok(report(s, size, digest, 0, refetched, restarted))
    }

    /// Fetches chunk `i` again with a Range request and writes it in place
    /// if it hashes to the recorded digest. `Ok(false)`: the server cannot
    /// give the same bytes again (ignored Range, changed file): start over.
    fn refetch_chunk(
        &self,
        s: &mut Session<'_>,
        url: &Url,
        found: &mut resume::Found,
        i: u64,
        shown: &Path,
    ) -> Result<bool> {
        use std::os::unix::fs::FileExt;
        let cs = found.sidecar.chunk_size;
        let start = i * cs;
        let end = start + cs - 1;
        let validator = found.sidecar.validator().map(str::to_owned);
        let (answer, _) = s.get(url, Some((start, Some(end))), validator.as_deref())?;
        if answer.status != 206
            || answer
                .content_range
                .as_deref()
                .and_then(parse_content_range)
                .map(|(a, b, _)| (a, b))
                != Some((start, end))
        {
            return Ok(false);
        }
        let mut data = Vec::with_capacity(usize::try_from(cs).unwrap_or(0));
        let read = answer
            .reader
            .take(cs + 1)
            .read_to_end(&mut data)
            .map_err(|e| s.fail(classify_read_error(s, &e, 0, Some(cs))))?;
        if read as u64 != cs {
            return Ok(false);
        }
        let digest = data_encoding::HEXLOWER.encode(&Sha256::digest(&data));
        let recorded = usize::try_from(i)
            .ok()
            .and_then(|i| found.sidecar.chunks.get(i));
        if recorded != Some(&digest) {
            return Ok(false);
        }
        found
            .file
            .write_all_at(&data, start)
            .map_err(|e| Error::io(shown, e))?;
        found.file.sync_data().map_err(|e| Error::io(shown, e))?;
        Ok(true)
    }
}

fn split_out(out: &Path) -> Result<(PathBuf, String)> {
    let name = out
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| !n.is_empty() && *n != "." && *n != "..")
        .ok_or_else(|| {
            Error::config(format!(
                "output path {} does not end in a UTF-8 file name",
                out.display()
            ))
        })?;
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((parent, name.to_owned()))
}

fn report(
    s: &Session<'_>,
    size: u64,
    digest: (Sha256Digest, bool),
    resumed_from: u64,
    refetched_chunks: Vec<u64>,
    restarted: bool,
) -> Download {
    Download {
        path: PathBuf::new(),
        size,
        sha256: digest.0,
        sha256_verified: digest.1,
        redirect_chain: s.chain.clone(),
        resumed_from,
        refetched_chunks,
        restarted,
    }
}

/// Size and digest checks after the body; returns the digest and whether
/// it was checked against an expected one.
fn finish_checks(s: &Session<'_>, size: u64, full: Sha256) -> Result<(Sha256Digest, bool)> {
    if let Some(want) = s.expected_size()
        && want != size
    {
        return Err(s.fail(ErrorKind::SizeMismatch {
            expected: Some(want),
            got: size,
            truncated: size < want,
        }));
    }
    let got = Sha256Digest(full.finalize().into());
    match s.expected_sha256() {
        Some(want) if want != got => Err(s.fail(ErrorKind::ChecksumMismatch {
            expected: want.to_hex(),
            got: got.to_hex(),
        })),
        Some(_) => Ok((got, true)),
        None => Ok((got, false)),
    }
}

/// Syncs the part file and renames it over the target, then drops the
/// sidecar.
fn install_part(
    dir: &PrivateDir,
    name: &str,
    part: &str,
    side: &str,
    out: Output<'_>,
    shown: &Path,
) -> Result<()> {
    if let Output::Part(file) = out {
        file.sync_all().map_err(|e| Error::io(shown, e))?;
    }
    dir.rename_file(part, name)?;
    if dir.exists(side)? {
        dir.remove_file(side)?;
    }
    Ok(())
}

fn classify_read_error(
    s: &Session<'_>,
    e: &std::io::Error,
    got: u64,
    expected: Option<u64>,
) -> ErrorKind {
    match e.kind() {
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => s.timed_out(false),
        std::io::ErrorKind::UnexpectedEof => ErrorKind::SizeMismatch {
            expected,
            got,
            truncated: true,
        },
        _ if expected.is_some_and(|x| got < x) => ErrorKind::SizeMismatch {
            expected,
            got,
            truncated: true,
        },
        _ => ErrorKind::Network {
            reason: format!("reading the body: {e}"),
        },
    }
}

/// Streams a body: the calling thread reads, counts and enforces the
/// limits; a second thread writes and hashes. Returns the file size.
fn stream<'d>(
    s: &Session<'_>,
    mut reader: Box<dyn Read + Send + Sync>,
    plan: &BodyPlan,
    written: Written<'d>,
    progress: &mut Option<ProgressFn>,
    shown: &Path,
) -> Result<(u64, Written<'d>)> {
    let max = s.dl.max_size;
    let expected = s.expected_size();
    // The most bytes the file may have: the announced total, the expected
    // size and the maximum, whichever is smallest.
    let limit = [plan.total, expected, Some(max)]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(max);
    let end_known = plan.total.or(expected);
    let (tx, rx) = mpsc::sync_channel::<Filled>(BUFFERS - 1);
    let (free_tx, free_rx) = mpsc::channel::<Vec<u8>>();
    for _ in 0..BUFFERS {
        let _ = free_tx.send(vec![0u8; BUF_LEN]);
    }
    std::thread::scope(|scope| {
        let handle = scope.spawn(move || writer(written, rx, free_tx, shown));
        let net = (|| -> Result<u64> {
            let started = Instant::now();
            let mut pos = plan.offset;
            let mut last_progress = started;
            let mut window = (started, pos);
            loop {
                let Ok(mut buf) = free_rx.recv() else {
                    return Ok(pos); // writer gone: its error wins
                };
                let mut filled = 0;
                let mut eof = false;
                let mut failure = None;
                while filled < buf.len() {
                    // Read at most one byte past the limit, to see it.
                    let room = limit.saturating_sub(pos).saturating_add(1);
                    let want = usize::try_from(room.min((buf.len() - filled) as u64))
                        .unwrap_or(buf.len() - filled);
                    match reader.read(&mut buf[filled..filled + want]) {
                        Ok(0) => {
                            eof = true;
                            break;
                        }
                        Ok(n) => {
                            filled += n;
                            pos += n as u64;
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(e) => {
                            failure = Some(classify_read_error(s, &e, pos, end_known));
                            break;
                        }
                    }
                    if pos > limit {
                        failure = Some(if pos > max {
                            ErrorKind::TooLarge { max, got: pos }
                        } else {
                            ErrorKind::SizeMismatch {
                                expected: Some(limit),
                                got: pos,
                                truncated: false,
                            }
                        });
                        break;
                    }
                    let now = Instant::now();
                    if s.deadline.is_some_and(|d| now >= d) {
                        failure = Some(ErrorKind::Timeout {
                            what: TimeoutKind::Total,
                        });
                        break;
                    }
                    if let Some((rate, span)) = s.dl.low_speed
                        && now.duration_since(window.0) >= span
                    {
                        let need = u64::try_from(u128::from(rate) * span.as_millis() / 1000)
                            .unwrap_or(u64::MAX);
                        if pos - window.1 < need {
                            failure = Some(ErrorKind::Timeout {
                                what: TimeoutKind::LowSpeed,
                            });
                            break;
                        }
                        window = (now, pos);
                    }
                    if let Some(cb) = progress.as_mut()
                        && now.duration_since(last_progress) >= PROGRESS_EVERY
                    {
                        last_progress = now;
                        cb(&Progress {
                            bytes: pos,
                            total: end_known,
                            bytes_per_sec: rate(pos - plan.offset, started),
                        });
                    }
                }
                // Bytes past the limit are never written.
                let keep = if pos > limit {
                    filled - usize::try_from(pos - limit).unwrap_or(filled).min(filled)
                } else {
                    filled
                };
                if keep > 0 && tx.send((buf, keep)).is_err() {
                    return Ok(pos); // writer gone
                }
                if let Some(kind) = failure {
                    return Err(s.fail(kind));
                }
                if eof {
                    if let Some(end) = end_known
                        && pos < end
                    {
                        return Err(s.fail(ErrorKind::SizeMismatch {
                            expected: Some(end),
                            got: pos,
                            truncated: true,
                        }));
                    }
                    if let Some(cb) = progress.as_mut() {
                        cb(&Progress {
                            bytes: pos,
                            total: Some(pos),
                            bytes_per_sec: rate(pos - plan.offset, started),
                        });
                    }
                    return Ok(pos);
                }
            }
        })();
        drop(tx);
        let written = handle.join().map_err(|_| {
            s.fail(ErrorKind::Io {
                path: shown.to_path_buf(),
            })
        })?;
        match (net, written) {
            (Err(e), _) => Err(e),
            (Ok(_), Err(e)) => Err(s.err(e)),
            (Ok(size), Ok(w)) => Ok((size, w)),
        }
    })
}

fn rate(bytes: u64, since: Instant) -> f64 {
    let secs = since.elapsed().as_secs_f64();
    if secs > 0.0 { bytes as f64 / secs } else { 0.0 }
}

#[cfg(fuzzing)]
/// Fuzzing hook for what a server or a command line hands us as text:
/// the first line is a `Content-Range` value, the second a URL (as a
/// redirect `Location` relative to a fixed base), the third a host pattern,
/// the fourth a `--resolve` spec. Checks the invariants the download relies
/// on, not only the absence of panics.
pub fn fuzz_headers(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.split('\n');
    if let Some((start, end, total)) = lines.next().and_then(parse_content_range) {
        assert!(start <= end);
        assert!(total.is_none_or(|t| end < t));
    }
    if let Some(loc) = lines.next()
        && let Ok(base) = Url::parse("https://good.test/a/b")
        && let Ok(url) = base.join(loc)
        && let Some(host) = url.host_str().and_then(normalize_host)
    {
        // A normalized host is stable and matches its own exact pattern.
        assert_eq!(normalize_host(&host).as_deref(), Some(host.as_str()));
        if let Ok(p) = crate::host::HostPattern::parse(&host) {
            assert!(p.matches(&host));
        }
    }
    if let Some(pattern) = lines.next()
        && let Ok(p) = crate::host::HostPattern::parse(pattern)
    {
        let again = crate::host::HostPattern::parse(&p.to_string()).expect("round trip");
        assert_eq!(again, p);
    }
    if let Some(spec) = lines.next() {
        let _ = crate::config::parse_resolve(spec);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn content_range_parsing() {
        assert_eq!(parse_content_range("bytes 0-9/10"), Some((0, 9, Some(10))));
        assert_eq!(parse_content_range("bytes 5-9/*"), Some((5, 9, None)));
        assert_eq!(parse_content_range("bytes 5-9/9"), None);
        assert_eq!(parse_content_range("bytes 9-5/10"), None);
        assert_eq!(parse_content_range("items 0-9/10"), None);
    }

    #[test]
    fn output_paths_split() {
        let (d, n) = split_out(Path::new("a/b.bin")).unwrap();
        assert_eq!((d, n.as_str()), (PathBuf::from("a"), "b.bin"));
        let (d, _) = split_out(Path::new("b.bin")).unwrap();
        assert_eq!(d, PathBuf::from("."));
        assert!(split_out(Path::new("a/..")).is_err());
    }
}
