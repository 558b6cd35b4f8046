//! Where the fetched real data live, shared by the tests that use them.

use std::io::Write;
use std::path::PathBuf;

/// Prints `skipped: <why>` on its own line straight to standard error, which the test harness
/// does not capture, so the skip shows in `cargo test` output even when the test passes.
pub fn skip(why: &str) {
    let _ = writeln!(std::io::stderr().lock(), "\nskipped: {why}");
}

/// `.cache/` at the repository root, filled by `tools/fetch-data.sh`.
pub fn cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(".cache")
}

/// The path of a fetched file, or `None` after printing `skipped: <why>` on its own line.
pub fn fetched(sub: &str, name: &str) -> Option<PathBuf> {
    let path = cache_dir().join(sub).join(name);
    if path.is_file() {
        Some(path)
    } else {
        skip(&format!(
            "{} missing; run tools/fetch-data.sh",
            path.display()
        ));
        None
    }
}
