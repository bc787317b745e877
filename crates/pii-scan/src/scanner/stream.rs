//! Scanning streams larger than memory, in overlapping chunks.

use std::io::Read;

use super::{Finding, MAX_FINDING_LEN, Scanner, floor_boundary};
use crate::Error;

impl Scanner {
    /// Scans a stream larger than memory, calling `on_finding` with each
    /// finding (in order) and its text. Offsets count bytes from the start of
    /// the stream. Returns the number of bytes read.
    ///
    /// The stream is read in chunks of about `chunk_size` bytes (at least
    /// 16 KiB) that overlap by [`MAX_FINDING_LEN`] plus a context margin, so a
    /// finding across a chunk boundary is reported once, exactly as
    /// [`Scanner::scan`] would report it on the whole text.
    ///
    /// # Errors
    /// [`Error::Io`] when reading fails, [`Error::InvalidUtf8`] when the input
    /// is not UTF-8. Findings before the error have been delivered.
    pub fn scan_reader<R: Read, F: FnMut(Finding, &str)>(
        &self,
        reader: R,
        chunk_size: usize,
        on_finding: F,
    ) -> Result<u64, Error> {
        self.scan_stream(reader, chunk_size.max(4 * STREAM_OVERLAP), on_finding)
    }

    /// [`Scanner::scan_reader`] without its 16 KiB floor: chunks as small as
    /// [`MIN_STREAM_CHUNK`], so tests and the fuzz target cross chunk
    /// boundaries with small inputs.
    pub(crate) fn scan_stream<R: Read, F: FnMut(Finding, &str)>(
        &self,
        mut reader: R,
        chunk_size: usize,
        mut on_finding: F,
    ) -> Result<u64, Error> {
        const OVERLAP: usize = STREAM_OVERLAP;
        const BACK: usize = STREAM_BACK;
        let chunk = chunk_size.max(MIN_STREAM_CHUNK);
        let mut buf: Vec<u8> = Vec::with_capacity(chunk + 4);
        let mut base: u64 = 0;
        let mut from = 0usize;
        let mut fixed: Vec<(usize, usize)> = Vec::new();
        let mut eof = false;
        loop {
            while buf.len() < chunk && !eof {
                let old = buf.len();
                buf.resize(chunk, 0);
                match reader.read(&mut buf[old..]) {
                    Ok(0) => {
                        buf.truncate(old);
                        eof = true;
                    }
                    Ok(n) => buf.truncate(old + n),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => buf.truncate(old),
                    Err(e) => return Err(Error::Io(e)),
                }
            }
            let valid = match std::str::from_utf8(&buf) {
                Ok(_) => buf.len(),
                Err(e) if e.error_len().is_none() && !eof => e.valid_up_to(),
                Err(e) => {
                    return Err(Error::InvalidUtf8 {
                        offset: base + e.valid_up_to() as u64,
                    });
                }
            };
            let text = std::str::from_utf8(&buf[..valid]).map_err(|e| Error::InvalidUtf8 {
                offset: base + e.valid_up_to() as u64,
            })?;
            let cut = if eof {
                valid
            } else {
                floor_boundary(text, valid.saturating_sub(OVERLAP))
            };
            // Spans carried over from the previous chunk (reported there):
            // a finding of this chunk that starts where one of them does is
            // that finding again. Only they are compared: the findings of
            // one chunk never share a start, and comparing each with every
            // one reported before it made a chunk of many findings
            // quadratic (a 1 MiB chunk of URLs every 15 bytes took seconds).
            let carried = fixed.len();
            for f in self.scan_range(text, from, &fixed) {
                if f.start < cut && !fixed[..carried].iter().any(|&(s, _)| s == f.start) {
                    let (s, e) = (f.start, f.end);
                    fixed.push((s, e));
                    let found = Finding {
                        start: offset(base, s),
                        end: offset(base, e),
                        ..f
                    };
                    on_finding(found, &text[s..e]);
                }
            }
            if eof {
                return Ok(base + valid as u64);
            }
            let keep = floor_boundary(text, cut.saturating_sub(BACK));
            fixed.retain(|&(_, e)| e > keep);
            for span in &mut fixed {
                span.0 = span.0.saturating_sub(keep);
                span.1 -= keep;
            }
            buf.drain(..keep);
            base += keep as u64;
            from = cut - keep;
        }
    }
}

/// How far consecutive stream chunks overlap: a whole finding plus its
/// look-ahead context.
const STREAM_OVERLAP: usize = 2 * MAX_FINDING_LEN;
/// Text kept before a chunk's first candidate, for look-behind context.
const STREAM_BACK: usize = 256;
/// Smallest chunk [`Scanner::scan_stream`] uses: every refill then moves
/// the stream on by at least 55 bytes (a cut can fall back up to 3 bytes to a
/// character boundary, three times).
pub(crate) const MIN_STREAM_CHUNK: usize = STREAM_OVERLAP + STREAM_BACK + 64;

fn offset(base: u64, i: usize) -> usize {
    usize::try_from(base)
        .unwrap_or(usize::MAX)
        .saturating_add(i)
}
