//! Repository rules, enforced as tests so that `cargo test` (and therefore
//! `cargo xtask ci`) fails when one is broken.

#[cfg(test)]
#[allow(clippy::panic, clippy::unwrap_used)]
mod tests {
    use std::path::{Path, PathBuf};

    use crate::util::project_root;

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// Every library crate under `crates/` and every app under `apps/`.
    fn packages() -> Vec<PathBuf> {
        let mut out = Vec::new();
        for parent in ["crates", "apps"] {
            let Ok(entries) = std::fs::read_dir(project_root().join(parent)) else {
                continue;
            };
            for entry in entries.flatten() {
                if entry.path().join("Cargo.toml").is_file() {
                    out.push(entry.path());
                }
            }
        }
        out.sort();
        assert!(!out.is_empty(), "no crates found");
        out
    }

    #[test]
    fn every_crate_has_a_readme_and_uses_the_workspace_lints() {
        for dir in packages() {
            assert!(
                dir.join("README.md").is_file(),
                "{}: missing README.md",
                dir.display()
            );
            let manifest = read(&dir.join("Cargo.toml"));
            assert!(
                manifest.contains("[lints]\nworkspace = true"),
                "{}: Cargo.toml must have `[lints] workspace = true`",
                dir.display()
            );
        }
    }

    #[test]
    fn every_library_forbids_unsafe_or_justifies_each_use() {
        for dir in packages() {
            let lib = dir.join("src/lib.rs");
            if !lib.is_file() {
                continue;
            }
            let text = read(&lib);
            if text.contains("#![forbid(unsafe_code)]") {
                continue;
            }
            // A crate that truly needs unsafe denies it crate-wide and allows
            // it only on small items, each with a SAFETY comment.
            assert!(
                text.contains("#![deny(unsafe_code)]"),
                "{}: lib.rs must start with #![forbid(unsafe_code)] (or deny with justified allows)",
                dir.display()
            );
            let mut stack = vec![dir.join("src")];
            while let Some(d) = stack.pop() {
                for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                    let p = entry.path();
                    if p.is_dir() {
                        stack.push(p);
                    } else if p.extension().is_some_and(|e| e == "rs") {
                        let src = read(&p);
                        for (i, line) in src.lines().enumerate() {
                            if line.contains("unsafe {")
                                || line.trim_start().starts_with("unsafe fn")
                            {
                                let before: Vec<&str> = src.lines().take(i).collect();
                                let window =
                                    before.iter().rev().take(8).any(|l| l.contains("SAFETY:"));
                                assert!(
                                    window,
                                    "{}:{}: unsafe without a SAFETY comment",
                                    p.display(),
                                    i + 1
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn ci_runs_exactly_the_readme_release_command() {
        let root = project_root();
        let ci = read(&root.join(".ci/run"));
        let readme = read(&root.join("README.md"));
        assert!(
            readme.contains("cargo xtask ci"),
            "README must name `cargo xtask ci` (the quick check)"
        );
        let commands: Vec<&str> = ci
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter(|l| !l.starts_with("set ") && !l.starts_with("cd "))
            .collect();
        let [command] = commands[..] else {
            panic!(".ci/run must run one command, release-check: {commands:?}");
        };
        assert!(
            command.starts_with("cargo xtask release-check"),
            ".ci/run must run `cargo xtask release-check`, not `{command}`"
        );
        assert!(
            readme.contains(command),
            ".ci/run must do nothing the README does not: `{command}` is not in README.md"
        );
    }

    #[test]
    fn third_party_versions_are_named_only_in_the_workspace_root() {
        for dir in packages()
            .into_iter()
            .chain([project_root().join("xtask"), project_root().join("benches")])
        {
            let manifest = read(&dir.join("Cargo.toml"));
            let mut in_deps = false;
            for line in manifest.lines() {
                let t = line.trim();
                if t.starts_with('[') {
                    in_deps = t.contains("dependencies");
                    continue;
                }
                // A crate's dev-dependency on itself (to turn on a test
                // feature for its integration tests) names no version:
                // `path = "."` only, which `cargo publish` strips.
                let self_dev_dep = t.contains("path = \".\"") && !t.contains("version");
                if in_deps && !t.is_empty() && !t.starts_with('#') && !self_dev_dep {
                    assert!(
                        t.contains("workspace = true") || t.contains(".workspace = true"),
                        "{}: `{t}` must use `workspace = true`",
                        dir.display()
                    );
                }
            }
        }
    }
}
