//! `bonemask drr` (being written).
use clap::Args;
/// Arguments of `bonemask drr`.
#[derive(Debug, Args)]
pub struct DrrArgs {}
/// Runs `bonemask drr`.
pub fn run(_args: &DrrArgs) -> anyhow::Result<()> {
    anyhow::bail!("not yet")
}
