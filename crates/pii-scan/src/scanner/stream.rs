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
            // The cut, and how far it may move past a window that straddles
            // it (the findings before it still see a whole finding and its
            // context after them).
            let seam = (!eof).then(|| {
                (
                    floor_boundary(text, valid.saturating_sub(OVERLAP)),
                    floor_boundary(text, valid.saturating_sub(MAX_FINDING_LEN + BACK)),
                )
            });
            let (found, seam) = self.scan_range(text, from, &fixed, seam);
            let cut = seam.cut;
            // Spans carried over from the previous chunk (reported there):
            // a finding of this chunk that starts where one of them does is
            // that finding again. Only they are compared: the findings of
            // one chunk never share a start, and comparing each with every
            // one reported before it made a chunk of many findings
            // quadratic (a 1 MiB chunk of URLs every 15 bytes took seconds).
            let carried = fixed.len();
            for f in found {
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
            // The next chunk resumes at the window that straddles the cut
            // (always after `from`: the stream moves on), with `BACK` bytes
            // before it for look-behind context.
            let keep = floor_boundary(text, seam.resume.saturating_sub(BACK));
            fixed.retain(|&(_, e)| e > keep);
            for span in &mut fixed {
                span.0 = span.0.saturating_sub(keep);
                span.1 -= keep;
            }
            buf.drain(..keep);
            base += keep as u64;
            from = seam.resume - keep;
        }
    }
}

/// How far consecutive stream chunks overlap: a whole finding plus its
/// look-ahead context.
const STREAM_OVERLAP: usize = 2 * MAX_FINDING_LEN;
/// Text kept before a chunk's first candidate, for look-behind context.
const STREAM_BACK: usize = 256;
/// Smallest chunk [`Scanner::scan_stream`] uses: a cut then lies about 1 KiB
/// past where the chunk resumed, so a chunk moves the stream on by that much
/// less the window that straddles the cut (always by at least one byte: the
/// next chunk resumes after this one's start).
pub(crate) const MIN_STREAM_CHUNK: usize = STREAM_OVERLAP + STREAM_BACK + 1024;

fn offset(base: u64, i: usize) -> usize {
    usize::try_from(base)
        .unwrap_or(usize::MAX)
        .saturating_add(i)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Streams `text` with the smallest chunk, after every number of
    /// leading spaces that moves the first cut across it, and compares with
    /// the whole-text scan.
    fn assert_stream_matches(text: &str) {
        let scanner = Scanner::new();
        let pad = " ".repeat(MIN_STREAM_CHUNK);
        let first_cut = MIN_STREAM_CHUNK - STREAM_OVERLAP;
        for lead in (first_cut - text.len() - 8..first_cut + 8).chain([0, MIN_STREAM_CHUNK]) {
            let padded = format!("{}{text}{pad}", &pad[..lead]);
            let mut streamed = Vec::new();
            scanner
                .scan_stream(padded.as_bytes(), MIN_STREAM_CHUNK, |f, _| streamed.push(f))
                .unwrap();
            assert_eq!(streamed, scanner.scan(&padded), "lead {lead}: {text:?}");
        }
    }

    /// The two inputs the `pii_scan` fuzz target found (88 bytes each): a
    /// chunk's scan resumed at the previous chunk's cut, so the candidate
    /// window straddling the cut started elsewhere than in the whole-text
    /// scan and yielded other matches ("98 7654 321" was missed).
    #[test]
    fn stream_resumes_at_the_window_straddling_the_cut() {
        assert_stream_matches(
            "IBAN GB02 W\0\x0034AN GB02 W\0\x00345 5698 7655698 5476 4 3\0[345698 7654 3211 5 5698 98 7654 321",
        );
        assert_stream_matches(
            " GB82 41ST 01 765698 M$coIBA82 41ST 01 765698 M$cN GB82 41ST 00 76560198 2\0\0\x0000\0\0\0\x00105\x10.",
        );
    }

    /// An e-mail address whose window the next chunk starts afresh: its
    /// local part is looked back for before the resume point, as in the
    /// whole-text scan (found by the generated test below, when the look-back
    /// stopped at the resume point: "jane.doe@example.com" was missed).
    #[test]
    fn stream_looks_back_for_a_local_part_before_the_resume_point() {
        assert_stream_matches(
            "192.168.0.1 x.y+z@mail.example.com \0 5698+44 20 7946 0958 4111 1111 1111 1111 [ SSN 078-05-1120 \0IBAN 7655698+44 20 7946 0958x.y+z@mail.example.com[\0+44 20 7946 0958a@b.coaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbb \n 01jane.doe@example.comx.y+z@mail.example.com IBAN GB82 WEST 1234 5698 7654 32 GB02 W7655698 \0 +44 20 7946 0958 [192.168.0.1 DE89 3704 0044 0532 0130 00 98 7654 321M$c x.y+z@mail.example.com 192.168.0.1 \0 SSN 078-05-1120 jane.doe@example.com ",
        );
    }

    /// Dense runs of look-alike values (digit groups, IBAN-like and phone-like
    /// text, e-mail addresses with long local parts, URLs), generated, streamed with the cut at
    /// every place across them: the same findings as the whole-text scan.
    #[test]
    fn dense_look_alikes_stream_like_the_whole_text() {
        const PARTS: &[&str] = &[
            "98 7654 321",
            "5698",
            "7655698",
            "IBAN GB82 WEST 1234 5698 7654 32",
            "GB02 W",
            "+44 20 7946 0958",
            "jane.doe@example.com",
            "a@b.co",
            "https://example.com/x?y=1",
            "4111 1111 1111 1111",
            "192.168.0.1",
            "call 555-123-4567",
            " ",
            " ",
            "\n",
            "\0",
            "[",
            "M$c",
            "01",
            "2024-01-05",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbb",
            "@ex.org",
            "x.y+z@mail.example.com",
            "phone",
            "IBAN",
            "SSN 078-05-1120",
            "DE89 3704 0044 0532 0130 00",
        ];
        let mut x = 0x2545_F491_4F6C_DD1D_u64;
        for _ in 0..24 {
            let mut text = String::new();
            while text.len() < 240 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                text.push_str(PARTS[usize::try_from(x % PARTS.len() as u64).unwrap()]);
                if x & 0x100 != 0 {
                    text.push(' ');
                }
            }
            assert_stream_matches(&text);
        }
    }
}
