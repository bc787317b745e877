//! pinned-downloader: Content-Range, redirect Location URLs, host patterns, --resolve specs: invariants.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| pinned_downloader::fuzz_headers(data));
