//! Terminal output: colour only on a terminal and never with `NO_COLOR`,
//! progress bars only on a terminal (stderr), messages on stderr.

use std::io::IsTerminal;

/// How to talk to the user.
#[derive(Debug, Clone, Copy)]
pub struct Ui {
    /// Colour on stderr (warnings, errors, prompts).
    pub color: bool,
    /// Colour on stdout ([`Ui::bold`], [`Ui::dim`]): decided apart, so that
    /// `journal list > file` holds no escapes when stderr is a terminal.
    pub color_out: bool,
    /// Progress bars and prompts (stderr and stdin are terminals).
    pub interactive: bool,
    /// Print nothing but errors on stderr (the demo's inner commands).
    pub quiet: bool,
}

/// Whether colour may be used on a stream that is (or is not) a terminal.
pub fn color_allowed(is_terminal: bool) -> bool {
    is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn paint(on: bool, code: &str, s: &str) -> String {
    if on {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_owned()
    }
}

impl Ui {
    /// Decides from the environment.
    pub fn detect() -> Ui {
        Ui::for_terminals(
            std::io::stdout().is_terminal(),
            std::io::stderr().is_terminal(),
            std::io::stdin().is_terminal(),
        )
    }

    /// Decides from which of stdout, stderr and stdin are terminals (and
    /// `NO_COLOR`).
    pub fn for_terminals(stdout: bool, stderr: bool, stdin: bool) -> Ui {
        Ui {
            color: color_allowed(stderr),
            color_out: color_allowed(stdout),
            interactive: stderr && stdin,
            quiet: false,
        }
    }

    /// A plain UI for tests and the demo: no colour, no prompts.
    pub fn plain() -> Ui {
        Ui {
            color: false,
            color_out: false,
            interactive: false,
            quiet: false,
        }
    }

    fn paint(&self, code: &str, s: &str) -> String {
        paint(self.color, code, s)
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

    /// Bold text for stdout (headings), when colour is on there.
    pub fn bold(&self, s: &str) -> String {
        paint(self.color_out, "1", s)
    }

    /// Dim text for stdout, when colour is on there.
    pub fn dim(&self, s: &str) -> String {
        paint(self.color_out, "2", s)
    }

    /// Bold text for stderr (prompts), when colour is on there.
    pub fn bold_err(&self, s: &str) -> String {
        self.paint("1", s)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdout_colour_is_decided_by_stdout_alone() {
        // stderr a terminal, stdout a file or pipe: no escapes on stdout.
        let ui = Ui::for_terminals(false, true, true);
        assert_eq!(ui.dim("x"), "x");
        assert_eq!(ui.bold("x"), "x");
        let ui = Ui::for_terminals(true, false, false);
        assert!(!ui.color);
        if std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) {
            assert_eq!(ui.dim("x"), "\x1b[2mx\x1b[0m");
            assert_eq!(ui.bold_err("x"), "x");
        }
    }
}
