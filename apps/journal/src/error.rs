//! Exit codes and the failures that carry them. The wording users see is
//! made here and at the call sites; no message ever holds entry text or a
//! secret.

use std::fmt;

/// The process exit codes of the contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Code {
    /// 0: success.
    Ok,
    /// 1: an error (bad input, a missing journal, a held lock, I/O).
    Error,
    /// 2: a usage error (unknown command or flag, bad value).
    Usage,
    /// 3: an integrity failure: tampering or corruption detected.
    Integrity,
    /// 4: wrong passphrase.
    WrongPassphrase,
    /// 5: PII found and nothing saved.
    Pii,
}

impl Code {
    /// The numeric exit status.
    pub fn as_u8(self) -> u8 {
        match self {
            Code::Ok => 0,
            Code::Error => 1,
            Code::Usage => 2,
            Code::Integrity => 3,
            Code::WrongPassphrase => 4,
            Code::Pii => 5,
        }
    }
}

/// A failure with its exit code; carried inside `anyhow::Error` and found
/// again by [`code_of`].
#[derive(Debug)]
pub struct Failure {
    /// The exit code.
    pub code: Code,
    /// What to tell the user.
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// An `anyhow::Error` with an exit code.
pub fn fail(code: Code, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Failure {
        code,
        message: message.into(),
    })
}

/// Exit 1 with `message`.
pub fn error(message: impl Into<String>) -> anyhow::Error {
    fail(Code::Error, message)
}

/// Exit 3 with `message`.
pub fn integrity(message: impl Into<String>) -> anyhow::Error {
    fail(Code::Integrity, message)
}

/// The exit code for an error: the [`Failure`]'s if it carries one, 3 for
/// integrity errors of the crates found in the chain, else 1.
pub fn code_of(err: &anyhow::Error) -> Code {
    for cause in err.chain() {
        if let Some(f) = cause.downcast_ref::<Failure>() {
            return f.code;
        }
        if let Some(k) = cause.downcast_ref::<keystore_rotation::Error>() {
            return keystore_code(k);
        }
        if let Some(a) = cause.downcast_ref::<encrypted_audit_log::Error>() {
            return audit_code(a);
        }
    }
    Code::Error
}

/// The exit code of a keystore error.
pub fn keystore_code(e: &keystore_rotation::Error) -> Code {
    use keystore_rotation::Error as K;
    match e {
        K::WrongCredential => Code::WrongPassphrase,
        K::Tampered { .. }
        | K::RolledBack { .. }
        | K::DecryptionFailed
        | K::Malformed { .. }
        | K::UnsupportedVersion { .. } => Code::Integrity,
        _ => Code::Error,
    }
}

/// The exit code of an audit-log error.
pub fn audit_code(e: &encrypted_audit_log::Error) -> Code {
    use encrypted_audit_log::Error as A;
    match e {
        A::Tampered(_) | A::DecryptionFailed | A::BadAnchor(_) | A::WrongLog { .. } => {
            Code::Integrity
        }
        _ => Code::Error,
    }
}
