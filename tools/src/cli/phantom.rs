//! `bonemask phantom` (being written).
use clap::Args;
/// Arguments of `bonemask phantom`.
#[derive(Debug, Args)]
pub struct PhantomArgs {}
/// Runs `bonemask phantom`.
pub fn run(_args: &PhantomArgs) -> anyhow::Result<()> {
    anyhow::bail!("not yet")
}
