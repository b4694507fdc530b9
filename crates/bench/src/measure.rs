//! Running a command under `/usr/bin/time` for wall time and peak memory.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// Wall seconds and peak resident set size of one run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    pub(crate) seconds: f64,
    pub(crate) peak_kb: u64,
}

/// Runs `program args…` and measures it; fails if the command fails.
///
/// Wall time is taken here with a monotonic clock (`/usr/bin/time`'s `%e` has 10 ms
/// resolution, which rounds a fast command to zero); `/usr/bin/time` gives the peak RSS.
pub(crate) fn measure(program: &Path, args: &[String]) -> anyhow::Result<Sample> {
    let start = std::time::Instant::now();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "VOUCHBENCH %e %M"])
        .arg(program)
        .args(args)
        .output()
        .context("running /usr/bin/time (apt-get install time)")?;
    let seconds = start.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!("{} {:?} failed:\n{stderr}", program.display(), args);
    }
    let line = stderr
        .lines()
        .rev()
        .find(|l| l.starts_with("VOUCHBENCH "))
        .context("no timing line")?;
    let mut parts = line.split_whitespace().skip(2);
    let peak_kb = parts.next().context("rss")?.parse()?;
    Ok(Sample { seconds, peak_kb })
}

/// The release `vouch` binary next to this benchmark binary.
pub(crate) fn vouch_binary() -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe()?;
    let p = me.with_file_name("vouch");
    if !p.is_file() {
        bail!(
            "{} not found: build it first (cargo build --release -p vouch)",
            p.display()
        );
    }
    Ok(p)
}

/// Median of the samples' times and of their memory.
pub(crate) fn median(samples: &[Sample]) -> Sample {
    let mut t: Vec<f64> = samples.iter().map(|s| s.seconds).collect();
    let mut m: Vec<u64> = samples.iter().map(|s| s.peak_kb).collect();
    t.sort_by(f64::total_cmp);
    m.sort_unstable();
    Sample {
        seconds: t[t.len() / 2],
        peak_kb: m[m.len() / 2],
    }
}
