//! The command line (clap derive): every command and flag of the contract,
//! `--help` with an example for each, shell completions and the man page
//! generated from the same definitions.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::error::{Code, code_of};
use crate::ui::Ui;

/// An encrypted, tamper-evident diary.
#[derive(Debug, Parser)]
#[command(
    name = "journal",
    version,
    about = "An encrypted, tamper-evident diary",
    long_about = "An encrypted, tamper-evident diary: every entry encrypted under a rotating key, \
an encrypted audit log that anyone with its public key can verify, PII warnings before saving, \
secure deletion, and optional local AI reflections from verified models.",
    after_help = "Examples:\n  journal init\n  journal add --tag work \"Shipped the release.\"\n  journal list --since 2024-03-01\n  journal search release --json\n\n\
Exit codes: 0 ok, 1 error, 2 usage, 3 integrity failure (tampering or corruption), 4 wrong passphrase, 5 PII found and nothing saved.\n\
Environment: JOURNAL_DIR (data directory), JOURNAL_PASSPHRASE_FILE, JOURNAL_NEW_PASSPHRASE_FILE, VISUAL/EDITOR, NO_COLOR."
)]
pub struct Cli {
    /// The journal's data directory (default: $JOURNAL_DIR, else the platform's data directory).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Read the passphrase from the first line of FILE (default: $JOURNAL_PASSPHRASE_FILE, else a prompt on the terminal).
    #[arg(long, global = true, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Export formats.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ExportFormat {
    /// One JSON document: {"entries": [...]}.
    Json,
    /// Markdown, one section per entry.
    Markdown,
}

/// Import formats.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ImportFormat {
    /// jrnl's `--export json` output.
    #[value(name = "jrnl-json")]
    JrnlJson,
}

/// Shells for completions.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Shell {
    /// bash
    Bash,
    /// zsh
    Zsh,
    /// fish
    Fish,
}

/// PII handling of `add`, `edit`, `import`.
#[derive(Debug, Clone, Copy, Args, Default)]
pub struct PiiFlags {
    /// Replace PII found with its type (e.g. <EMAIL_ADDRESS>) and save.
    #[arg(long, conflicts_with = "allow_pii")]
    pub redact: bool,
    /// Save even though PII was found.
    #[arg(long)]
    pub allow_pii: bool,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new journal (prints the audit log's public verification key: keep it elsewhere).
    #[command(
        after_help = "Example:\n  journal --data-dir ~/diary init\n  JOURNAL_PASSPHRASE_FILE=pass.txt journal init"
    )]
    Init,
    /// Add an entry (TEXT, `-` for stdin, or the editor when omitted).
    #[command(
        after_help = "Examples:\n  journal add --tag work \"Shipped the release. Team lunch after.\"\n  echo \"From a script\" | journal add -\n  journal add            # opens $VISUAL/$EDITOR on a memory file system\n\n\
The first line (or sentence) is the title. PII (cards, bank and national ids, passport and licence numbers, e-mail addresses, phone numbers, crypto addresses) is reported by type and position; on a terminal you choose save/redact/cancel, otherwise exit 5 unless --allow-pii or --redact."
    )]
    Add {
        /// A tag (repeatable).
        #[arg(long = "tag", short = 't', value_name = "T")]
        tags: Vec<String>,
        /// PII handling.
        #[command(flatten)]
        pii: PiiFlags,
        /// The text, or `-` to read it from stdin.
        #[arg(value_name = "TEXT")]
        text: Option<String>,
    },
    /// List entries, oldest first.
    #[command(
        after_help = "Examples:\n  journal list\n  journal list --tag work --since 2024-03-01 --until 2024-03-31\n  journal list --since yesterday --json\n\nDates: YYYY-MM-DD, YYYY-MM-DD HH:MM, RFC 3339, today, yesterday (local time; --until DATE includes that day)."
    )]
    List {
        /// Only entries with this tag.
        #[arg(long, value_name = "T")]
        tag: Option<String>,
        /// Only entries created at or after D.
        #[arg(long, value_name = "D")]
        since: Option<String>,
        /// Only entries created at or before D.
        #[arg(long, value_name = "D")]
        until: Option<String>,
        /// One JSON array on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Show one entry (read from its own file, not the index).
    #[command(
        after_help = "Example:\n  journal show 5d0c9e1a\n  journal show 5d0c9e1a-7c3f-4b2e-9a1d-2f6c8e0b4a17 --json\n\nAny unique prefix of 8 or more characters of the id works."
    )]
    Show {
        /// The entry id or a unique prefix (8+ characters).
        id: String,
        /// One JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Search titles, bodies and tags (case-insensitive).
    #[command(
        after_help = "Example:\n  journal search \"team lunch\"\n  journal search release --json"
    )]
    Search {
        /// The text to find.
        query: String,
        /// One JSON array on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Edit an entry in $VISUAL/$EDITOR (on a memory file system, shredded afterwards).
    #[command(
        after_help = "Example:\n  journal edit 5d0c9e1a\n  EDITOR=nano journal edit 5d0c9e1a --redact"
    )]
    Edit {
        /// The entry id or a unique prefix.
        id: String,
        /// PII handling.
        #[command(flatten)]
        pii: PiiFlags,
    },
    /// Delete an entry: its file is securely deleted and it leaves the index.
    #[command(after_help = "Example:\n  journal delete 5d0c9e1a")]
    Delete {
        /// The entry id or a unique prefix.
        id: String,
    },
    /// Export every entry in plaintext (0600; refuses to overwrite without --force).
    #[command(
        after_help = "Examples:\n  journal export --format json --out diary.json\n  journal export --format markdown > diary.md\n\nThe export is PLAINTEXT: keep it somewhere safe and delete it when done."
    )]
    Export {
        /// json or markdown.
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// Write to FILE (created 0600) instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Overwrite FILE if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Import entries (all good records at once, or nothing).
    #[command(
        after_help = "Example:\n  jrnl --export json > jrnl.json && journal import --format jrnl-json jrnl.json\n\nBad records are named and skipped; the good ones are committed together. PII in imported entries is handled as for add."
    )]
    Import {
        /// jrnl-json.
        #[arg(long, value_enum)]
        format: ImportFormat,
        /// The file to import (`-` for stdin).
        file: PathBuf,
        /// PII handling.
        #[command(flatten)]
        pii: PiiFlags,
    },
    /// Key status, rotation and passphrase change.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// The encrypted audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Check the journal and this process: permissions, keys, audit log, models, binary.
    #[command(
        after_help = "Examples:\n  journal doctor\n  journal doctor --fix --json\n\n--fix repairs file and directory modes (0700/0600) and rebuilds a damaged index."
    )]
    Doctor {
        /// Repair what can be repaired (modes, the index).
        #[arg(long)]
        fix: bool,
        /// One JSON object on stdout.
        #[arg(long)]
        json: bool,
        /// The manifest to verify this binary against (default: journal.manifest.json beside it).
        #[arg(long, value_name = "FILE")]
        binary_manifest: Option<PathBuf>,
    },
    /// Fetch and verify local models.
    #[command(subcommand)]
    Model(ModelCommand),
    /// A short reflection on an entry from a verified local model (cargo feature `ai`).
    #[command(
        after_help = "Example:\n  journal reflect 5d0c9e1a --model ~/models/SmolLM2-135M-Instruct\n\nNeeds a build with `--features ai` (libtorch). Nothing leaves the machine."
    )]
    Reflect {
        /// The entry id or a unique prefix.
        id: String,
        /// The model directory (verified against the manifest kept in the data directory).
        #[arg(long, value_name = "DIR")]
        model: Option<PathBuf>,
    },
    /// A non-interactive tour in a temporary directory.
    #[command(after_help = "Example:\n  cargo run --release -p journal -- demo")]
    Demo,
    /// Print shell completions.
    #[command(
        after_help = "Examples:\n  journal completions bash > ~/.local/share/bash-completion/completions/journal\n  journal completions zsh > ~/.zfunc/_journal\n  journal completions fish > ~/.config/fish/completions/journal.fish"
    )]
    Completions {
        /// bash, zsh or fish.
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Write the man pages (journal.1 and one per command) into DIR.
    #[command(after_help = "Example:\n  journal man target/man && man target/man/journal.1")]
    Man {
        /// The output directory.
        dir: PathBuf,
    },
}

/// `journal keys ...`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Key versions, ages and the next rotation.
    #[command(after_help = "Example:\n  journal keys status --json")]
    Status {
        /// One JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Rotate the data key and re-encrypt every entry under it; the old key is destroyed.
    #[command(
        after_help = "Example:\n  journal keys rotate\n  journal keys rotate --if-due     # from cron"
    )]
    Rotate {
        /// Only when the rotation period has passed.
        #[arg(long)]
        if_due: bool,
    },
    /// Change the passphrase (only the key-encryption layer is re-wrapped).
    #[command(
        after_help = "Example:\n  journal keys passwd\n  JOURNAL_NEW_PASSPHRASE_FILE=new.txt journal --passphrase-file old.txt keys passwd"
    )]
    Passwd,
}

/// `journal audit ...`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify the whole log with its public key (exit 3 on tampering).
    #[command(
        after_help = "Example:\n  journal audit verify\n  journal audit verify --checkpoint saved-checkpoint.txt"
    )]
    Verify {
        /// Also check against a checkpoint printed by `audit anchor`.
        #[arg(long, value_name = "FILE")]
        checkpoint: Option<PathBuf>,
    },
    /// Show the log's events (decrypted).
    #[command(after_help = "Example:\n  journal audit show --since 2024-03-01 --json")]
    Show {
        /// Only events at or after D.
        #[arg(long, value_name = "D")]
        since: Option<String>,
        /// One JSON array on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Seal the log and print a signed checkpoint to keep elsewhere.
    #[command(after_help = "Example:\n  journal audit anchor > checkpoint-$(date +%F).txt")]
    Anchor,
    /// Continue a tampered log: the damage is quarantined (kept), never destroyed.
    #[command(after_help = "Example:\n  journal audit verify || journal audit recover")]
    Recover,
}

/// `journal model ...`
#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Download model files over pinned HTTPS (Hugging Face hosts by default) and record a manifest.
    #[command(
        after_help = "Example:\n  journal model fetch --out ~/models/smollm2 --name SmolLM2-135M-Instruct \\\n    --url https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct/resolve/main/model.safetensors --sha256 <hex> \\\n    --url https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct/resolve/main/config.json --sha256 <hex>\n\nEach --url pairs with the --sha256 in the same position. The manifest is kept in the journal's data directory (out of the model writer's reach)."
    )]
    Fetch {
        /// A file's URL (repeatable; pairs with --sha256 in order).
        #[arg(long = "url", value_name = "URL", required = true)]
        urls: Vec<String>,
        /// The expected SHA-256 of each file, hex (repeatable).
        #[arg(long = "sha256", value_name = "HEX", required = true)]
        sha256: Vec<String>,
        /// The model directory to write (default: DATA_DIR/models/NAME, NAME from
        /// --name or else the model's name in the first URL).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// The model's name in the manifest.
        #[arg(long, default_value = "model")]
        name: String,
        /// Another allowed host (repeatable), e.g. for a mirror.
        #[arg(long = "allow", value_name = "HOST")]
        allow: Vec<String>,
        /// Also trust the CA certificates in this PEM file (a private mirror).
        #[arg(long = "ca-file", value_name = "PEM")]
        ca_file: Option<PathBuf>,
        /// Connect to ADDR for HOST:PORT, as curl's --resolve (repeatable).
        #[arg(long = "resolve", value_name = "HOST:PORT:ADDR")]
        resolve: Vec<String>,
    },
    /// Verify a model directory against its manifest (exit 3 when refused).
    #[command(
        after_help = "Example:\n  journal model verify ~/models/smollm2\n  journal model verify ~/models/smollm2 --manifest smollm2.manifest.json"
    )]
    Verify {
        /// The model directory.
        dir: PathBuf,
        /// The manifest (default: the copy in the journal's data directory, else DIR/model.manifest.json).
        #[arg(long, value_name = "FILE")]
        manifest: Option<PathBuf>,
    },
}

/// Parses the command line and runs it; the process's exit code.
pub fn run() -> ExitCode {
    let start = std::time::Instant::now();
    crate::harden::harden_process();
    let ui = Ui::detect();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp
                | clap::error::ErrorKind::DisplayVersion
                | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => 0,
                _ => 2,
            };
            let _ = e.print();
            return if code == 0
                && e.kind() != clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    let r = crate::commands::dispatch(cli, ui);
    crate::timing::mark("exit");
    crate::timing::report(start);
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let code = code_of(&err);
            ui.error(format!("{err:#}"));
            ExitCode::from(code.as_u8())
        }
    }
}

/// The clap command (for completions, man pages and tests).
pub fn command() -> clap::Command {
    let color = if crate::ui::color_allowed(std::io::IsTerminal::is_terminal(&std::io::stdout())) {
        clap::ColorChoice::Auto
    } else {
        clap::ColorChoice::Never
    };
    Cli::command().color(color)
}

/// Writes completions for `shell` to `out`.
pub fn completions(shell: Shell, out: &mut dyn std::io::Write) {
    let mut cmd = command();
    let sh = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    clap_complete::generate(sh, &mut cmd, "journal", out);
}

/// Writes `journal.1` and one page per command into `dir`.
///
/// # Errors
/// I/O errors.
pub fn man_pages(dir: &std::path::Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let cmd = command();
    let mut written = Vec::new();
    let page =
        |cmd: clap::Command, name: String, written: &mut Vec<PathBuf>| -> std::io::Result<()> {
            let mut buf = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut buf)?;
            let path = dir.join(format!("{name}.1"));
            std::fs::write(&path, buf)?;
            written.push(path);
            Ok(())
        };
    for sub in cmd.get_subcommands() {
        let name = format!("journal-{}", sub.get_name());
        let leaked: &'static str = Box::leak(name.clone().into_boxed_str());
        page(sub.clone().name(leaked), name, &mut written)?;
    }
    page(cmd, "journal".into(), &mut written)?;
    Ok(written)
}

/// Exit code of a clap parse error (2), for tests.
pub fn usage_code() -> Code {
    Code::Usage
}
