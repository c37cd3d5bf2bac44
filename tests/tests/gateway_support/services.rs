//! Throwaway PostgreSQL and Valkey servers for the team-tier tests: real servers on
//! random free loopback ports, with their data in temp dirs, passwords required,
//! stopped (and their data removed) when dropped.
//!
//! PostgreSQL 15 comes from Debian's `postgresql-15` (`/usr/lib/postgresql/15/bin`),
//! Valkey is Debian's `redis-server` (the same protocol); `scripts/test.sh` installs
//! both. PostgreSQL refuses to run as root, so when the tests run as root its
//! commands run as the unprivileged `nobody` (with `runuser`), which then owns the
//! temp dir.

use std::fs;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use super::{free_port, wait_for};

/// Where Debian puts PostgreSQL 15's server programs.
pub const POSTGRES_BIN: &str = "/usr/lib/postgresql/15/bin";
/// The role and database the gateway uses in the tests.
pub const DATABASE_USER: &str = "mosaic";
/// The role's password (SCRAM over TCP, so a wrong one is really refused).
pub const DATABASE_PASSWORD: &str = "pg-pass-7d1e9";
/// Valkey's `requirepass`.
pub const VALKEY_PASSWORD: &str = "valkey-pass-3b8c2";

/// The user that runs PostgreSQL when the tests run as root.
fn unprivileged_user() -> Option<nix::unistd::User> {
    if !nix::unistd::geteuid().is_root() {
        return None;
    }
    let user = nix::unistd::User::from_name("nobody")
        .expect("cannot read the user database")
        .expect("no `nobody` user to run PostgreSQL as (it refuses to run as root)");
    Some(user)
}

/// A command for `program` (run as `nobody` when the tests run as root).
fn server_tool(program: &Path) -> Command {
    let mut command = match unprivileged_user() {
        Some(user) => {
            let mut command = Command::new("runuser");
            command.args(["-u", &user.name, "--"]).arg(program);
            command
        }
        None => Command::new(program),
    };
    command.current_dir("/").stdin(Stdio::null());
    command
}

/// Runs `program ARGS` (see [`server_tool`]), failing the test with its output.
fn run_server_tool(program: &Path, arguments: &[&str]) {
    let output = server_tool(program)
        .args(arguments)
        .output()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", program.display()));
    assert!(
        output.status.success(),
        "{} {} failed ({}):\n{}\n{}",
        program.display(),
        arguments.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Whether something accepts TCP connections on `127.0.0.1:port`.
fn port_open(port: u16) -> bool {
    TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(200),
    )
    .is_ok()
}

/// A PostgreSQL 15 cluster of its own.
pub struct Postgres {
    directory: tempfile::TempDir,
    /// Its TCP port on 127.0.0.1.
    pub port: u16,
}

impl Postgres {
    /// Creates a cluster (initdb), starts it, and creates the `mosaic` role (with
    /// [`DATABASE_PASSWORD`]) owning a `mosaic` database.
    pub fn start() -> Postgres {
        let initdb = Path::new(POSTGRES_BIN).join("initdb");
        assert!(
            initdb.exists(),
            "{} is missing: install postgresql-15 (scripts/test.sh does)",
            initdb.display()
        );
        let directory = tempfile::tempdir().expect("temp dir");
        if let Some(user) = unprivileged_user() {
            nix::unistd::chown(directory.path(), Some(user.uid), Some(user.gid))
                .expect("cannot give the temp dir to nobody");
        }
        let postgres = Postgres {
            port: free_port(),
            directory,
        };
        fs::create_dir(postgres.socket_dir()).unwrap();
        if let Some(user) = unprivileged_user() {
            nix::unistd::chown(&postgres.socket_dir(), Some(user.uid), Some(user.gid)).unwrap();
        }
        let data = postgres.data_dir();
        run_server_tool(
            &initdb,
            &[
                "-D",
                data.to_str().unwrap(),
                "--username=postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",
            ],
        );
        postgres.start_again();
        postgres.superuser_sql(&format!(
            "CREATE ROLE {DATABASE_USER} LOGIN PASSWORD '{DATABASE_PASSWORD}'"
        ));
        postgres.superuser_sql(&format!(
            "CREATE DATABASE {DATABASE_USER} OWNER {DATABASE_USER}"
        ));
        postgres
    }

    fn data_dir(&self) -> PathBuf {
        self.directory.path().join("data")
    }

    fn socket_dir(&self) -> PathBuf {
        self.directory.path().join("socket")
    }

    /// The gateway's URL (role `mosaic`, its real password).
    pub fn url(&self) -> String {
        self.url_with_password(DATABASE_PASSWORD)
    }

    /// The gateway's URL with another password.
    pub fn url_with_password(&self, password: &str) -> String {
        format!(
            "postgres://{DATABASE_USER}:{password}@127.0.0.1:{}/{DATABASE_USER}?sslmode=disable",
            self.port
        )
    }

    /// Starts the (stopped) server again on the same port and data; waits until it
    /// accepts connections.
    pub fn start_again(&self) {
        let options = format!(
            "-k {} -p {} -c listen_addresses=127.0.0.1 -c shared_buffers=16MB \
             -c max_connections=60 -c fsync=off",
            self.socket_dir().display(),
            self.port
        );
        let log = self.directory.path().join("postgres.log");
        run_server_tool(
            &Path::new(POSTGRES_BIN).join("pg_ctl"),
            &[
                "-D",
                self.data_dir().to_str().unwrap(),
                "-l",
                log.to_str().unwrap(),
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
    }

    /// Stops the server (fast shutdown: open connections are closed).
    pub fn stop(&self) {
        run_server_tool(
            &Path::new(POSTGRES_BIN).join("pg_ctl"),
            &[
                "-D",
                self.data_dir().to_str().unwrap(),
                "-m",
                "fast",
                "-w",
                "-t",
                "60",
                "stop",
            ],
        );
    }

    /// Runs SQL as the superuser over the Unix socket (trusted) in the `mosaic`
    /// database once it exists; returns the unaligned, tuples-only output.
    pub fn superuser_sql(&self, sql: &str) -> String {
        let database = if sql.starts_with("CREATE DATABASE") || sql.starts_with("CREATE ROLE") {
            "postgres"
        } else {
            DATABASE_USER
        };
        let output = Command::new(Path::new(POSTGRES_BIN).join("psql"))
            .args(["-h", self.socket_dir().to_str().unwrap()])
            .args(["-p", &self.port.to_string()])
            .args(["-U", "postgres", "-d", database])
            .args(["-v", "ON_ERROR_STOP=1", "-At", "-c", sql])
            .stdin(Stdio::null())
            .output()
            .expect("cannot run psql");
        assert!(
            output.status.success(),
            "psql `{sql}` failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }
}

/// A superuser transaction left open (see [`Postgres::open_transaction`]).
pub struct OpenTransaction {
    psql: Child,
    /// psql's answers, read to the end on roll-back (a closed pipe would kill it).
    output: std::io::BufReader<std::process::ChildStdout>,
}

impl OpenTransaction {
    /// Rolls the transaction back and ends the session.
    pub fn roll_back(mut self) {
        use std::io::Write;
        let mut input = self.psql.stdin.take().expect("psql's stdin");
        input.write_all(b"ROLLBACK;\n").unwrap();
        drop(input);
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut self.output, &mut rest).unwrap();
        let status = self.psql.wait().unwrap();
        assert!(status.success(), "psql failed: {status}");
    }
}

impl Drop for OpenTransaction {
    fn drop(&mut self) {
        let _ = self.psql.kill();
        let _ = self.psql.wait();
    }
}

impl Postgres {
    /// Begins a transaction as the superuser in the `mosaic` database, runs `sql`
    /// in it and leaves it open (holding its locks) until
    /// [`OpenTransaction::roll_back`]. Returns once `sql` has run.
    pub fn open_transaction(&self, sql: &str) -> OpenTransaction {
        use std::io::{BufRead, Write};
        let mut psql = Command::new(Path::new(POSTGRES_BIN).join("psql"))
            .args(["-h", self.socket_dir().to_str().unwrap()])
            .args(["-p", &self.port.to_string()])
            .args(["-U", "postgres", "-d", DATABASE_USER])
            .args(["-v", "ON_ERROR_STOP=1", "-At"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot run psql");
        let mut input = psql.stdin.take().unwrap();
        writeln!(input, "BEGIN;\n{sql};\nSELECT 'ran';").unwrap();
        input.flush().unwrap();
        let mut output = std::io::BufReader::new(psql.stdout.take().unwrap());
        let mut line = String::new();
        while line.trim() != "ran" {
            line.clear();
            assert!(
                output.read_line(&mut line).unwrap() > 0,
                "psql ended before `{sql}` ran"
            );
        }
        psql.stdin = Some(input);
        OpenTransaction { psql, output }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if self.data_dir().join("postmaster.pid").exists() {
            let _ = server_tool(&Path::new(POSTGRES_BIN).join("pg_ctl"))
                .args(["-D", self.data_dir().to_str().unwrap_or_default()])
                .args(["-m", "immediate", "-w", "-t", "30", "stop"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// A Valkey (redis-server) of its own, with a password, no persistence.
pub struct Valkey {
    directory: tempfile::TempDir,
    /// Its TCP port on 127.0.0.1.
    pub port: u16,
    child: Mutex<Option<Child>>,
}

impl Valkey {
    /// Starts a server that requires [`VALKEY_PASSWORD`]; waits until it listens.
    pub fn start() -> Valkey {
        let valkey = Valkey {
            directory: tempfile::tempdir().expect("temp dir"),
            port: free_port(),
            child: Mutex::new(None),
        };
        valkey.start_again();
        valkey
    }

    /// The gateway's URL (the real password).
    pub fn url(&self) -> String {
        self.url_with_password(VALKEY_PASSWORD)
    }

    /// The gateway's URL with another password.
    pub fn url_with_password(&self, password: &str) -> String {
        format!("redis://:{password}@127.0.0.1:{}", self.port)
    }

    /// Starts the (stopped) server again on the same port (empty: no persistence).
    pub fn start_again(&self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--requirepass", VALKEY_PASSWORD])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .args(["--dir", self.directory.path().to_str().unwrap()])
            .args(["--daemonize", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot run redis-server (install redis-server; scripts/test.sh does)");
        *self.child.lock().unwrap() = Some(child);
        assert!(
            wait_for(Duration::from_secs(20), || port_open(self.port)),
            "redis-server did not listen on port {} within 20 s",
            self.port
        );
    }

    /// Stops the server (SIGTERM, then waits for it to exit).
    pub fn stop(&self) {
        if let Some(mut child) = self.child.lock().unwrap().take() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
            let exited = wait_for(Duration::from_secs(20), || {
                child.try_wait().ok().flatten().is_some()
            });
            if !exited {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        assert!(
            wait_for(Duration::from_secs(10), || !port_open(self.port)),
            "redis-server still listens on port {}",
            self.port
        );
    }
}

impl Drop for Valkey {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.lock().unwrap().take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
