//! Running a command under `/usr/bin/time` for wall time and peak memory.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// Wall seconds, CPU seconds and peak resident set size of one run.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Sample {
    pub(crate) seconds: f64,
    /// User + system time of every thread. On a shared machine the wall time swings with
    /// the load; the CPU time much less, so benchmarks that compare tools report both.
    pub(crate) cpu: f64,
    pub(crate) peak_kb: u64,
}

/// Runs `program args…` and measures it; fails if the command fails.
///
/// Wall time is taken here with a monotonic clock (`/usr/bin/time`'s `%e` has 10 ms
/// resolution, which rounds a fast command to zero); `/usr/bin/time` gives the peak RSS
/// and the CPU time.
pub(crate) fn measure(program: &Path, args: &[String]) -> anyhow::Result<Sample> {
    let start = std::time::Instant::now();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "VOUCHBENCH %M %U %S"])
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
        .find_map(|l| l.strip_prefix("VOUCHBENCH "))
        .context("no timing line")?;
    let fields: Vec<&str> = line.split_whitespace().collect();
    let [peak, user, system] = fields[..] else {
        bail!("unexpected timing line {line:?}");
    };
    Ok(Sample {
        seconds,
        cpu: user.parse::<f64>()? + system.parse::<f64>()?,
        peak_kb: peak.parse()?,
    })
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

/// Medians of wall time, CPU time and memory, each taken on its own.
pub(crate) fn median(samples: &[Sample]) -> Sample {
    let mid = |mut x: Vec<f64>| {
        x.sort_by(f64::total_cmp);
        x[x.len() / 2]
    };
    let mut m: Vec<u64> = samples.iter().map(|s| s.peak_kb).collect();
    m.sort_unstable();
    Sample {
        seconds: mid(samples.iter().map(|s| s.seconds).collect()),
        cpu: mid(samples.iter().map(|s| s.cpu).collect()),
        peak_kb: m[m.len() / 2],
    }
}
