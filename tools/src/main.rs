//! The `bonemask` command: parses the command line, sets up logging and reports errors.
//!
//! All the work is in the library (`bonemask_tools::cli` and below). Exit status: 0 on
//! success, 1 when a command fails (the message names the file and the problem), 2 for a
//! command-line usage error (from clap).

use clap::Parser;

use bonemask_tools::cli::{Cli, error_message, run};

fn main() {
    let cli = Cli::parse();
    let level = match cli.verbose {
        0 => log::LevelFilter::Warn,
        1 => log::LevelFilter::Info,
        2 => log::LevelFilter::Debug,
        _ => log::LevelFilter::Trace,
    };
    env_logger::Builder::new()
        .filter_level(level)
        .parse_env("BONEMASK_LOG")
        .format_timestamp(None)
        .init();
    if let Err(err) = run(cli) {
        eprintln!("error: {}", error_message(&err));
        std::process::exit(1);
    }
}
