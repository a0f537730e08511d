//! The source revision a model was trained with, for its provenance.

use std::process::Command;

/// The `git` commit of the source tree this binary was built from (`-dirty` when tracked files
/// differ from it), or `unknown` outside a checkout or without git.
pub fn source_commit() -> String {
    let dir = env!("CARGO_MANIFEST_DIR");
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match git(&["rev-parse", "HEAD"]) {
        Some(head) if !head.is_empty() => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty { format!("{head}-dirty") } else { head }
        }
        _ => "unknown".into(),
    }
}

/// The current time, UTC, ISO 8601.
pub fn now_utc() -> String {
    let s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    fallkd_core::provenance::iso_utc(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commit_is_a_hash_or_says_unknown() {
        let c = source_commit();
        let head = c.trim_end_matches("-dirty");
        assert!(
            c == "unknown" || (head.len() == 40 && head.chars().all(|c| c.is_ascii_hexdigit())),
            "{c}"
        );
        assert!(now_utc().ends_with('Z') && now_utc().starts_with("20"));
    }
}
