//! Terminal output: colour only on a terminal and never with `NO_COLOR`,
//! progress bars only on a terminal (stderr), messages on stderr.

use std::io::IsTerminal;

/// How to talk to the user.
#[derive(Debug, Clone, Copy)]
pub struct Ui {
    /// Colour on stderr.
    pub color: bool,
    /// Progress bars and prompts (stderr and stdin are terminals).
    pub interactive: bool,
    /// Print nothing but errors on stderr (the demo's inner commands).
    pub quiet: bool,
}

/// Whether colour may be used on a stream that is (or is not) a terminal.
pub fn color_allowed(is_terminal: bool) -> bool {
    is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

impl Ui {
    /// Decides from the environment.
    pub fn detect() -> Ui {
        let err = std::io::stderr().is_terminal();
        Ui {
            color: color_allowed(err),
            interactive: err && std::io::stdin().is_terminal(),
            quiet: false,
        }
    }

    /// A plain UI for tests and the demo: no colour, no prompts.
    pub fn plain() -> Ui {
        Ui {
            color: false,
            interactive: false,
            quiet: false,
        }
    }

    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }

    /// A message on stderr.
    pub fn info(&self, msg: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("{}", msg.as_ref());
        }
    }

    /// A warning on stderr (yellow on a terminal).
    pub fn warn(&self, msg: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("{} {}", self.paint("33;1", "warning:"), msg.as_ref());
        }
    }

    /// An error on stderr (red on a terminal).
    pub fn error(&self, msg: impl AsRef<str>) {
        eprintln!("{} {}", self.paint("31;1", "journal:"), msg.as_ref());
    }

    /// Bold text (for headings), when colour is on.
    pub fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }

    /// Dim text, when colour is on.
    pub fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }

    /// A progress bar on stderr when interactive, hidden otherwise.
    pub fn progress(&self, len: u64, what: &str) -> indicatif::ProgressBar {
        if !self.interactive || self.quiet {
            return indicatif::ProgressBar::hidden();
        }
        let pb = indicatif::ProgressBar::new(len);
        let style = indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> ");
        pb.set_style(style);
        pb.set_message(what.to_owned());
        pb
    }
}
