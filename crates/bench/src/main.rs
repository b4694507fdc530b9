//! `vouch-bench`: runs vouch and its peers on the same inputs in one run and prints ratios.
//!
//! ```text
//! cargo run --release -p vouch-bench -- copy [--mb 256] [--layers 4] [--runs 3]
//! ```
//!
//! Each benchmark builds its inputs, starts the services it needs on loopback (a real
//! docker-registry), runs the release `vouch` binary and the peer as processes under
//! `/usr/bin/time` (wall time and peak RSS), and prints a table. No assertions: numbers are
//! for people and for the closing notes of issues.

mod copy;
mod measure;

use anyhow::{Context, bail};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(which) = args.first() else {
        bail!("usage: vouch-bench copy [--mb N] [--layers N] [--runs N]");
    };
    let flag = |name: &str, default: u64| -> anyhow::Result<u64> {
        match args.iter().position(|a| a == name) {
            Some(i) => args
                .get(i + 1)
                .context("flag value")?
                .parse()
                .context(name.to_owned()),
            None => Ok(default),
        }
    };
    match which.as_str() {
        "copy" => copy::run(flag("--mb", 256)?, flag("--layers", 4)?, flag("--runs", 3)?),
        other => bail!("unknown benchmark {other:?}; known: copy"),
    }
}
