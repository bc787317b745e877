//! Process hardening at start: no core dumps, not dumpable (Linux), and a
//! panic hook that prints no payload (a payload could hold entry text or a
//! secret). `doctor` reports each of these.

use serde::Serialize;

/// What hardening is in effect for this process.
#[derive(Debug, Clone, Serialize)]
pub struct Hardening {
    /// RLIMIT_CORE is 0 (soft and hard).
    pub core_dumps_off: bool,
    /// PR_GET_DUMPABLE says not dumpable (Linux; `None` elsewhere).
    pub not_dumpable: Option<bool>,
    /// The payload-free panic hook is installed.
    pub panic_hook: bool,
}

static HOOK: std::sync::OnceLock<()> = std::sync::OnceLock::new();

/// Turns off core dumps, makes the process non-dumpable (Linux) and
/// installs the panic hook. Failures are reported by [`status`], never
/// fatal (a container may forbid `setrlimit`).
pub fn harden_process() {
    let _ = rustix::process::setrlimit(
        rustix::process::Resource::Core,
        rustix::process::Rlimit {
            current: Some(0),
            maximum: Some(0),
        },
    );
    #[cfg(target_os = "linux")]
    {
        let _ =
            rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
    }
    HOOK.get_or_init(|| {
        std::panic::set_hook(Box::new(|info| {
            let at = info
                .location()
                .map(|l| format!(" at {}:{}", l.file(), l.line()))
                .unwrap_or_default();
            // The payload is deliberately not printed.
            eprintln!(
                "journal: internal error{at} (details withheld: they could hold entry text). Nothing half-written is left: writes are atomic."
            );
        }));
    });
}

/// The hardening in effect now.
pub fn status() -> Hardening {
    let core = rustix::process::getrlimit(rustix::process::Resource::Core);
    #[cfg(target_os = "linux")]
    let not_dumpable = Some(matches!(
        rustix::process::dumpable_behavior(),
        Ok(rustix::process::DumpableBehavior::NotDumpable)
    ));
    #[cfg(not(target_os = "linux"))]
    let not_dumpable = None;
    Hardening {
        core_dumps_off: core.current == Some(0) && core.maximum == Some(0),
        not_dumpable,
        panic_hook: HOOK.get().is_some(),
    }
}
