//! The `bonemask` command line: one module per subcommand, each with its own clap `Args`
//! struct and a `run` function.
//!
//! To add a subcommand: write `cli/NAME.rs` with `pub struct NameArgs` (clap `Args`) and
//! `pub fn run(args: &NameArgs) -> anyhow::Result<()>`, add a variant to [`Command`], and a
//! line to [`run`]. Errors returned here carry context naming the file and the operation;
//! `main` prints them and exits with status 1.

pub mod bench;
pub mod drr;
pub mod eval;
pub mod info;
pub mod phantom;
pub mod progress;
pub mod segment;
pub mod train;
pub mod verify;

use clap::{Parser, Subcommand};

/// bonemask: label every pixel of an X-ray image as bone or not.
#[derive(Debug, Parser)]
#[command(name = "bonemask", version, propagate_version = true)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug); BONEMASK_LOG=... overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Label every pixel of radiographs (DICOM or PNG): mask, probability, overlay, DICOM SEG.
    Segment(segment::SegmentArgs),
    /// Train a network on radiographs with bone masks; export f32 and int8 weights files.
    Train(train::TrainArgs),
    /// Time the dense scan of an image against window-by-window scanning.
    Bench(bench::BenchArgs),
    /// Check the fast path against the streaming dense scan and the per-window reference.
    Verify(verify::VerifyArgs),
    /// Compare predicted bone masks with ground truth (pixel, Rand, warping error, Dice, IoU).
    Eval(eval::EvalArgs),
    /// Generate synthetic radiographs with exact bone masks (DICOM + PNG mask).
    Phantom(phantom::PhantomArgs),
    /// Render radiographs with exact bone masks from a labelled CT volume (NIfTI).
    Drr(drr::DrrArgs),
    /// Describe a DICOM file (size, bits, photometric, transfer syntax, UIDs) or a weights file.
    Info(info::InfoArgs),
}

/// The one-line message `main` prints for a failed command: the error, then each cause in turn
/// unless its text already stands in the message. Many errors here embed their cause's text
/// and also report it as their source, so printing the whole chain would say it twice.
pub fn error_message(error: &anyhow::Error) -> String {
    let mut message = error.to_string();
    for cause in error.chain().skip(1) {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
    }
    message
}

/// Runs one parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Segment(args) => segment::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Train(args) => train::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Phantom(args) => phantom::run(args),
        Command::Drr(args) => drr::run(args),
        Command::Info(args) => info::run(args),
    }
}

#[cfg(test)]
mod tests {
    use super::error_message;

    #[derive(Debug, thiserror::Error)]
    #[error("{path}: cannot read: {source}")]
    struct Embedding {
        path: &'static str,
        source: std::io::Error,
    }

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let source = std::io::Error::other("file is truncated");
        let error = anyhow::Error::new(Embedding {
            path: "a.weights",
            source,
        });
        assert_eq!(
            error_message(&error),
            "a.weights: cannot read: file is truncated"
        );
    }

    #[test]
    fn a_cause_not_in_the_message_is_appended() {
        let error = anyhow::Error::new(std::io::Error::other("disk full")).context("out/a.png");
        assert_eq!(error_message(&error), "out/a.png: disk full");
    }
}
