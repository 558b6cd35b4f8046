//! The one place progress bars are made, so every command looks the same and bars vanish
//! when stderr is not a terminal (indicatif hides itself then).

use indicatif::{ProgressBar, ProgressStyle};

/// A bar over `len` items with a short `what` label, e.g. "phantoms".
pub fn bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    let style = ProgressStyle::with_template(
        "{msg:>10} [{bar:30}] {pos}/{len} {elapsed_precise} eta {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar.set_message(what.to_string());
    bar
}
