//! Allow-lists for model hosting, as dated data.
//!
//! Each list names the hosts a download from that service touches: the
//! API host and the storage hosts it redirects to, as the service
//! documents them. They carry **no pins**: the storage hosts are CDNs that
//! rotate keys and certificate authorities without notice, so a shipped pin
//! would break downloads on the day of a rotation while adding little, since
//! integrity rests on the expected SHA-256 of every file (a manifest,
//! the caller, or the `X-Linked-Etag` of the pinned or WebPKI-verified API
//! host). Pin the API host yourself with
//! [`DownloaderBuilder::allow_pinned`](crate::DownloaderBuilder::allow_pinned)
//! if you keep its pins up to date.
//!
//! ```
//! use pinned_downloader::{Downloader, defaults};
//! let downloader = Downloader::builder()
//!     .allow_defaults(defaults::HUGGING_FACE)
//!     .build()?;
//! # Ok::<(), pinned_downloader::Error>(())
//! ```

/// The date the lists below were last checked against the services'
/// documentation (ISO 8601).
pub const AS_OF: &str = "2026-12-01";

/// A host of a default list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefaultHost {
    /// The host pattern (exact, or an explicit `*.` wildcard).
    pub pattern: &'static str,
    /// What the host serves.
    pub role: &'static str,
}

/// Hugging Face Hub: the API host, the Xet storage bridge and servers
/// (`cas-bridge.xethub.hf.co`, `cas-server.xethub.hf.co`,
/// `transfer.xethub.hf.co`), and the LFS CDN hosts under `hf.co`
/// (`cdn-lfs.hf.co`, `cdn-lfs-us-1.hf.co`, `cdn-lfs-eu-1.hf.co`).
pub const HUGGING_FACE: &[DefaultHost] = &[
    DefaultHost {
        pattern: "huggingface.co",
        role: "Hub API and resolve URLs (sends X-Linked-Etag / X-Linked-Size)",
    },
    DefaultHost {
        pattern: "cas-bridge.xethub.hf.co",
        role: "Xet storage bridge (redirect target of resolve URLs)",
    },
    DefaultHost {
        pattern: "cas-server.xethub.hf.co",
        role: "Xet content-addressed storage server",
    },
    DefaultHost {
        pattern: "transfer.xethub.hf.co",
        role: "Xet transfer host",
    },
    DefaultHost {
        pattern: "cdn-lfs.hf.co",
        role: "LFS CDN",
    },
    DefaultHost {
        pattern: "cdn-lfs-us-1.hf.co",
        role: "LFS CDN (US)",
    },
    DefaultHost {
        pattern: "cdn-lfs-eu-1.hf.co",
        role: "LFS CDN (EU)",
    },
];

/// GitHub releases: `github.com` redirects release downloads to
/// `release-assets.githubusercontent.com` (and, for older assets,
/// `objects.githubusercontent.com`).
pub const GITHUB: &[DefaultHost] = &[
    DefaultHost {
        pattern: "github.com",
        role: "release download URLs",
    },
    DefaultHost {
        pattern: "release-assets.githubusercontent.com",
        role: "release asset storage (redirect target)",
    },
    DefaultHost {
        pattern: "objects.githubusercontent.com",
        role: "older release asset storage (redirect target)",
    },
];

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::HostPattern;

    #[test]
    fn every_default_host_parses_and_is_exact() {
        for h in HUGGING_FACE.iter().chain(GITHUB) {
            let p = HostPattern::parse(h.pattern).unwrap();
            assert!(!p.is_wildcard(), "{}", h.pattern);
        }
        assert_eq!(AS_OF.len(), 10);
    }
}
