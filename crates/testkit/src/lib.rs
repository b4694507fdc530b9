//! Test harness for vouch: real services on loopback, started per test.
//!
//! * [`free_port`] picks a free port on 127.0.0.1.
//! * [`RegistryServer`] runs Debian's `docker-registry` (CNCF distribution) in a temporary
//!   directory, open, behind htpasswd Basic auth, or behind token auth with a small token
//!   server of ours ([`TokenServer`]) that mints RS256 JWTs the registry verifies.
//! * [`require_tool`] finds a peer tool (skopeo, umoci, …) and fails loudly when it is
//!   missing: a test that silently skips proves nothing.
//!
//! This crate depends on no vouch crate, so any vouch crate can use it as a dev-dependency
//! without building a second copy of itself.
#![allow(clippy::unwrap_used, missing_docs)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// A free TCP port on 127.0.0.1 (bound, then released for the caller), never handed to
/// another test process of the same run.
///
/// nextest runs every test in a process of its own. A port released here is free again
/// until the caller's server binds it, and the kernel can give it to another process's
/// `bind(0)` in between: two docker-registry servers were then asked for one port, one
/// failed to start, and its test talked to the other test's registry. Each port handed out
/// is therefore reserved by a file in the temp dir, created exclusively; a reservation
/// older than ten minutes belongs to a finished run and is taken over.
pub fn free_port() -> u16 {
    let dir = std::env::temp_dir().join("vouch-test-ports");
    let _ = std::fs::create_dir_all(&dir);
    for _ in 0..256 {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = l.local_addr().expect("local addr").port();
        let mark = dir.join(port.to_string());
        let stale = std::fs::metadata(&mark)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().unwrap_or_default() > Duration::from_secs(600));
        if stale {
            let _ = std::fs::remove_file(&mark);
        }
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&mark)
        {
            Ok(_) => return port,
            // Reserved by another test process (or the directory is unusable: then a
            // reservation cannot be made, and the port is used as before).
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(_) => return port,
        }
    }
    panic!(
        "no unreserved port on 127.0.0.1 in 256 tries (see {})",
        dir.display()
    );
}

/// The path of a required tool, or a panic saying how to install it.
pub fn require_tool(name: &str) -> PathBuf {
    for dir in std::env::var("PATH").unwrap_or_default().split(':') {
        let p = Path::new(dir).join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "required tool `{name}` is not installed; .ci/run installs it \
         (apt-get install docker-registry skopeo umoci apache2-utils openssl debootstrap \
         softhsm2 opensc postgresql; the list is .ci/apt-packages.txt)"
    );
}

/// Runs a command, panicking with its output if it fails; returns stdout.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    if !out.status.success() {
        panic!(
            "{cmd:?} failed ({}):\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// How the test registry authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryAuth {
    /// No authentication.
    None,
    /// Basic auth against an htpasswd file with one user.
    Htpasswd { user: String, password: String },
    /// Token auth: the registry challenges with Bearer and trusts our token server, which
    /// wants this user (Basic) before it issues a token.
    Token { user: String, password: String },
}

/// A running `docker-registry`, killed on drop.
pub struct RegistryServer {
    child: Child,
    /// `127.0.0.1:PORT`
    pub host: String,
    _dir: tempfile::TempDir,
    token: Option<TokenServer>,
}

impl RegistryServer {
    /// Starts an open registry.
    pub fn start() -> Self {
        Self::start_with(RegistryAuth::None)
    }

    /// Starts a registry with the given authentication.
    pub fn start_with(auth: RegistryAuth) -> Self {
        let bin = require_tool("docker-registry");
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let mut token = None;
        let auth_yaml = match &auth {
            RegistryAuth::None => String::new(),
            RegistryAuth::Htpasswd { user, password } => {
                require_tool("htpasswd");
                let line = run(Command::new("htpasswd").args(["-Bbn", user, password]));
                let file = dir.path().join("htpasswd");
                std::fs::write(&file, line).expect("write htpasswd");
                format!(
                    "auth:\n  htpasswd:\n    realm: vouch-test\n    path: {}\n",
                    file.display()
                )
            }
            RegistryAuth::Token { user, password } => {
                let t = TokenServer::start(dir.path(), user, password);
                let yaml = format!(
                    "auth:\n  token:\n    realm: http://{}/token\n    service: vouch-test-registry\n    issuer: vouch-test-issuer\n    rootcertbundle: {}\n",
                    t.host,
                    t.cert.display()
                );
                token = Some(t);
                yaml
            }
        };
        let config = format!(
            "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n{auth_yaml}",
            dir.path().join("data").display()
        );
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).expect("write config");
        let log = std::fs::File::create(dir.path().join("registry.log")).expect("log");
        let child = Command::new(bin)
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn docker-registry");
        let mut server = Self {
            child,
            host: format!("127.0.0.1:{port}"),
            _dir: dir,
            token,
        };
        server.wait_ready();
        server
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            // A registry that exited (its port taken) must not pass for ready because
            // something else answers on that port.
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = std::fs::read_to_string(self._dir.path().join("registry.log"))
                    .unwrap_or_default();
                panic!(
                    "docker-registry on {} exited ({status}) while starting:\n{log}",
                    self.host
                );
            }
            if let Ok(mut s) = TcpStream::connect(&self.host) {
                let _ = s.write_all(b"GET /v2/ HTTP/1.0\r\nHost: x\r\n\r\n");
                let mut buf = [0u8; 12];
                if s.read_exact(&mut buf).is_ok() && buf.starts_with(b"HTTP/") {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let log =
            std::fs::read_to_string(self._dir.path().join("registry.log")).unwrap_or_default();
        panic!("docker-registry on {} did not start:\n{log}", self.host);
    }

    /// The registry's storage directory (for tests that tamper with stored blobs).
    pub fn data_dir(&self) -> PathBuf {
        self._dir.path().join("data")
    }

    /// The path where the registry stores a blob (`sha256:<hex>`), per distribution's
    /// filesystem driver layout.
    pub fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.data_dir()
            .join("docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    /// How many tokens the token server issued (0 without token auth).
    pub fn tokens_issued(&self) -> usize {
        self.token
            .as_ref()
            .map_or(0, |t| t.issued.load(Ordering::SeqCst))
    }
}

impl Drop for RegistryServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal distribution token server: `GET /token?service=…&scope=…` with Basic auth,
/// answering `{"token": JWT}`; the JWT is RS256, signed by `openssl` with a key whose
/// self-signed certificate the registry trusts (`x5c` header), as the distribution
/// "token authentication implementation" document describes.
pub struct TokenServer {
    pub host: String,
    cert: PathBuf,
    stop: Arc<AtomicBool>,
    issued: Arc<std::sync::atomic::AtomicUsize>,
}

impl TokenServer {
    fn start(dir: &Path, user: &str, password: &str) -> Self {
        require_tool("openssl");
        let key = dir.join("token.key");
        let cert = dir.join("token.crt");
        run(Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=vouch-test-token",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert));
        let pem = std::fs::read_to_string(&cert).unwrap();
        let der_b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let host = listener.local_addr().unwrap().to_string();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let issued = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let expected = format!("Basic {}", STANDARD.encode(format!("{user}:{password}")));
        let (stop2, issued2, user) = (stop.clone(), issued.clone(), user.to_owned());
        std::thread::spawn(move || {
            while !stop2.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((s, _)) => {
                        let _ = s.set_nonblocking(false);
                        handle_token(s, &expected, &user, &key, &der_b64, &issued2);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Self {
            host,
            cert,
            stop,
            issued,
        }
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn handle_token(
    mut s: TcpStream,
    expected_auth: &str,
    user: &str,
    key: &Path,
    x5c: &str,
    issued: &std::sync::atomic::AtomicUsize,
) {
    let mut reader = BufReader::new(s.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut auth = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some(v) = line
            .strip_prefix("Authorization: ")
            .or_else(|| line.strip_prefix("authorization: "))
        {
            auth = v.trim().to_owned();
        }
    }
    let target = request_line.split_whitespace().nth(1).unwrap_or("");
    let query = target.split_once('?').map(|x| x.1).unwrap_or("");
    let param = |name: &str| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .map(percent_decode)
    };
    if auth != expected_auth {
        let _ = s.write_all(b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: 27\r\nConnection: close\r\n\r\n{\"details\":\"bad password\"}\n");
        return;
    }
    let service = param("service").unwrap_or_default();
    let access: Vec<serde_json::Value> = param("scope")
        .into_iter()
        .filter_map(|scope| {
            let mut parts = scope.splitn(3, ':');
            let (t, n, a) = (parts.next()?, parts.next()?, parts.next()?);
            Some(serde_json::json!({"type": t, "name": n, "actions": a.split(',').collect::<Vec<_>>()}))
        })
        .collect();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "x5c": [x5c]});
    let claims = serde_json::json!({
        "iss": "vouch-test-issuer", "sub": user, "aud": service,
        "exp": now + 300, "nbf": now - 10, "iat": now, "jti": format!("{now}-{}", issued.load(Ordering::SeqCst)),
        "access": access,
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut child = Command::new("openssl")
        .args(["dgst", "-sha256", "-sign"])
        .arg(key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(signing_input.as_bytes())
        .unwrap();
    let sig = child.wait_with_output().unwrap().stdout;
    let jwt = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig));
    issued.fetch_add(1, Ordering::SeqCst);
    let body = serde_json::json!({"token": jwt, "expires_in": 300}).to_string();
    let _ = write!(
        s,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) =
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `../shared/` beside the project, if present (benchmarks only; tests must not need it).
pub fn shared_dir() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    root.is_dir().then_some(root)
}

/// Builds a small OCI image layout with umoci: `files` are (path, contents) added in one
/// layer on an empty base. Returns the layout directory (inside `dir`) and tag.
pub fn umoci_image(dir: &Path, tag: &str, layers: &[&[(&str, &[u8])]]) -> PathBuf {
    require_tool("umoci");
    let layout = dir.join("layout");
    if !layout.exists() {
        run(Command::new("umoci")
            .arg("init")
            .arg("--layout")
            .arg(&layout));
    }
    let image = format!("{}:{tag}", layout.display());
    run(Command::new("umoci").args(["new", "--image", &image]));
    for (i, files) in layers.iter().enumerate() {
        let bundle = dir.join(format!("bundle-{tag}-{i}"));
        run(Command::new("umoci")
            .args(["unpack", "--rootless", "--image", &image])
            .arg(&bundle));
        for (path, data) in *files {
            let p = bundle.join("rootfs").join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, data).unwrap();
        }
        run(Command::new("umoci")
            .args(["repack", "--image", &image])
            .arg(&bundle));
        std::fs::remove_dir_all(&bundle).unwrap();
    }
    run(Command::new("umoci").args([
        "config",
        "--image",
        &image,
        "--config.entrypoint",
        "/bin/app",
        "--config.env",
        "VOUCH=1",
    ]));
    layout
}

/// A peer tool built from the Go module proxy by `scripts/peers` (cosign, kyverno, syft ...), at
/// the version pinned in `scripts/peers.txt`, found in `$VOUCH_PEERS_DIR/bin` (default
/// `~/.cache/vouch/peers/bin`); panics with how to build it when missing: a peer test that
/// silently skips proves nothing.
pub fn peer_tool(name: &str) -> PathBuf {
    let dir = std::env::var_os("VOUCH_PEERS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(&std::env::var_os("HOME").unwrap_or_default()).join(".cache/vouch/peers")
        });
    let p = dir.join("bin").join(name);
    if p.is_file() {
        return p;
    }
    panic!(
        "peer tool `{name}` is not in {}; run scripts/peers (it builds the pinned versions of \
         scripts/peers.txt from the Go module proxy; scripts/test runs it first)",
        dir.join("bin").display()
    );
}

/// A tool installed in the project's Python venv (`$VOUCH_VENV`, default `<workspace>/.venv`)
/// by `.ci/run` from `.ci/requirements.txt`; panics with how to install it when missing.
pub fn venv_tool(name: &str) -> PathBuf {
    let venv = std::env::var_os("VOUCH_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv"));
    let p = venv.join("bin").join(name);
    if p.is_file() {
        return p;
    }
    panic!(
        "required Python tool `{name}` is not in {}; run .ci/run (or python3 -m venv .venv && \
         .venv/bin/pip install -r .ci/requirements.txt)",
        venv.display()
    );
}

/// A throwaway PostgreSQL cluster (Debian's `postgresql` package) on a free loopback port,
/// stopped and deleted on drop. `initdb` refuses to run as root, so as root the cluster is
/// created and run as the `postgres` user (`runuser`) in a temporary directory it owns.
pub struct PostgresServer {
    /// `postgres://postgres@127.0.0.1:PORT/postgres`
    pub url: String,
    bin: PathBuf,
    data: PathBuf,
    as_root: bool,
    /// `pg_ctl -o` options (port, listen address, socket directory).
    opts: String,
    _dir: tempfile::TempDir,
}

impl PostgresServer {
    /// Creates and starts a cluster (trust authentication, loopback only).
    pub fn start() -> Self {
        let bin = postgres_bin_dir();
        let dir = tempfile::tempdir().expect("tempdir");
        let as_root = run(Command::new("id").arg("-u")).trim() == "0";
        if as_root {
            run(Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path()));
        }
        let data = dir.path().join("data");
        let port = free_port();
        let opts = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -k {} -c max_connections=200",
            dir.path().display()
        );
        let server = Self {
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            bin,
            data: data.clone(),
            as_root,
            opts,
            _dir: dir,
        };
        let mut initdb = server.command("initdb");
        initdb.arg("-D").arg(&data).args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        ]);
        run(initdb.stdout(Stdio::null()));
        server.start_again();
        server
    }

    /// Stops the server as an operator restarting it would (`pg_ctl -m fast stop`: clients are
    /// disconnected, open transactions rolled back).
    pub fn stop(&self) {
        let mut stop = self.command("pg_ctl");
        stop.arg("-D")
            .arg(&self.data)
            .args(["-w", "-m", "fast", "stop"]);
        run(stop.stdout(Stdio::null()));
    }

    /// Starts the (stopped) server again on the same port and data.
    pub fn start_again(&self) {
        let mut start = self.command("pg_ctl");
        start
            .arg("-D")
            .arg(&self.data)
            .args(["-w", "-t", "60", "-o", &self.opts, "-l"])
            .arg(self._dir.path().join("postgres.log"))
            .arg("start");
        let out = start.output().expect("spawn pg_ctl");
        if !out.status.success() {
            let log =
                std::fs::read_to_string(self._dir.path().join("postgres.log")).unwrap_or_default();
            panic!(
                "pg_ctl start failed: {}\n{log}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    fn command(&self, tool: &str) -> Command {
        let path = self.bin.join(tool);
        if self.as_root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        let mut stop = self.command("pg_ctl");
        stop.arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "stop"]);
        let _ = stop.stdout(Stdio::null()).stderr(Stdio::null()).status();
    }
}

/// `/usr/lib/postgresql/<newest>/bin`, or a panic saying how to install it.
fn postgres_bin_dir() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, p): &(u32, PathBuf)| p.join("initdb").is_file())
        .collect();
    versions.sort();
    versions.pop().map(|(_, p)| p).unwrap_or_else(|| {
        panic!("PostgreSQL is not installed; .ci/run installs it (apt-get install postgresql)")
    })
}
