//! The `local_process` provider: members are OS processes on this machine.
//!
//! Each member runs in its own process group, with a clean environment: exactly what its
//! launch configuration sets, plus `PATH` (the server's, unless the launch configuration
//! sets it), `PORT`, `EBB_GROUP_ID`, `EBB_MEMBER_ID` and `EBB_MEMBER_NAME`, never anything
//! else of the server's (its operator token least of all). With a member user configured it
//! runs as that account. Its standard output and error go through a pipe into its capped,
//! rotated log (`log`). A task per member probes readiness and another waits for the exit;
//! both report to the converger by sending the group id on the event channel.
//!
//! Stopping sends the configured signal to every process of the member (`procfs`: its group,
//! its descendants, and whatever carries its `EBB_MEMBER_ID`, so a child that called
//! `setsid` or daemonized is found too), waits `stop_timeout`, then kills what is left.
//! The server is a child subreaper, so orphans of members stay its children: they are
//! reaped here, and stopped with the server. Processes left by a previous run of the server
//! are found by their `EBB_MEMBER_ID` and stopped, so none is left unmanaged or doubled.

pub mod log;
pub mod procfs;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ebb_core::launch::{ProcessSpec, Readiness};
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// Why a member could not be started: each message is meant for the user who can fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    /// The command does not exist.
    #[error("command not found: {0}")]
    CommandNotFound(String),
    /// The command exists but may not be run.
    #[error("command is not executable: {0}")]
    NotExecutable(String),
    /// The working directory does not exist.
    #[error("working directory not found: {0}")]
    WorkingDirectory(String),
    /// Anything else the operating system refused.
    #[error("cannot start {command}: {message}")]
    Other {
        /// The command.
        command: String,
        /// The error.
        message: String,
    },
}

/// What is known of a running member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessStatus {
    /// Its readiness check passed.
    pub ready: bool,
    /// It exited: how.
    pub exited: Option<String>,
    /// It exited before it was ever ready.
    pub exited_before_ready: bool,
}

/// The account members run as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberUser {
    /// Its user id.
    pub uid: u32,
    /// Its group id.
    pub gid: u32,
    /// As the operator named it.
    pub name: String,
}

impl MemberUser {
    /// Looks up a user (name or numeric id) and, optionally, a group (name or numeric id);
    /// without a group, the user's primary group.
    pub fn resolve(user: &str, group: Option<&str>) -> Result<MemberUser, String> {
        use nix::unistd::{Group, Uid, User};
        let found = match user.parse::<u32>() {
            Ok(uid) => User::from_uid(Uid::from_raw(uid)),
            Err(_) => User::from_name(user),
        }
        .map_err(|err| format!("cannot look up user {user:?}: {err}"))?;
        let (uid, primary) = match (found, user.parse::<u32>()) {
            (Some(entry), _) => (entry.uid.as_raw(), Some(entry.gid.as_raw())),
            (None, Ok(uid)) => (uid, None),
            (None, Err(_)) => return Err(format!("no such user: {user:?}")),
        };
        let gid = match group {
            Some(group) => match group.parse::<u32>() {
                Ok(gid) => gid,
                Err(_) => Group::from_name(group)
                    .map_err(|err| format!("cannot look up group {group:?}: {err}"))?
                    .map(|entry| entry.gid.as_raw())
                    .ok_or_else(|| format!("no such group: {group:?}"))?,
            },
            None => primary.ok_or_else(|| format!("user id {uid} has no entry; name its group too"))?,
        };
        Ok(MemberUser { uid, gid, name: user.to_string() })
    }
}

/// How members are run.
#[derive(Debug, Clone)]
pub struct ProcessSettings {
    /// Where member logs go: `{logs_dir}/{group_id}/{member_id}.log`.
    pub logs_dir: PathBuf,
    /// The most bytes one member's logs take, live and rotated together.
    pub log_max_bytes: u64,
    /// The account members run as; the server's own when `None`.
    pub member_user: Option<MemberUser>,
    /// `PATH` for members whose launch configuration does not set one.
    pub path: String,
}

impl ProcessSettings {
    /// Settings with defaults: logs under `logs_dir`, the server's `PATH`, the server's user.
    pub fn new(logs_dir: PathBuf) -> Self {
        ProcessSettings {
            logs_dir,
            log_max_bytes: log::DEFAULT_MAX_BYTES,
            member_user: None,
            path: std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".to_string()),
        }
    }
}

struct Handle {
    group_id: String,
    pid: u32,
    ready: Arc<AtomicBool>,
    exit: Arc<Mutex<Option<String>>>,
    stop_signal: Signal,
    stop_timeout: Duration,
}

/// A member to start.
#[derive(Debug, Clone)]
pub struct MemberSpec<'a> {
    /// Its group.
    pub group_id: &'a str,
    /// Its id.
    pub member_id: &'a str,
    /// Its name.
    pub name: &'a str,
    /// The port it must listen on.
    pub port: u16,
    /// How to run it.
    pub process: &'a ProcessSpec,
}

#[derive(Default)]
struct Running {
    /// Members this server started, by member id.
    members: HashMap<String, Handle>,
    /// Process ids whose exit tokio still has to collect: never reaped by [`LocalProcesses::reap`].
    awaited: HashSet<u32>,
}

/// The processes this server started.
pub struct LocalProcesses {
    settings: ProcessSettings,
    running: Arc<Mutex<Running>>,
    events: mpsc::UnboundedSender<String>,
}

fn signal_named(name: &str) -> Signal {
    name.parse().unwrap_or(Signal::SIGTERM)
}

/// Sends `signal` to a process group; a group that is already gone is not an error.
fn signal_group(pid: u32, signal: Signal) {
    let Ok(raw) = i32::try_from(pid) else { return };
    if let Err(err) = killpg(Pid::from_raw(raw), signal)
        && err != nix::errno::Errno::ESRCH
    {
        tracing::warn!(pid, ?signal, error = %err, "cannot signal a member's process group");
    }
}

/// Sends `signal` to one process; one that is already gone is not an error.
fn signal_process(pid: u32, signal: Signal) {
    let Ok(raw) = i32::try_from(pid) else { return };
    if let Err(err) = kill(Pid::from_raw(raw), signal)
        && err != nix::errno::Errno::ESRCH
    {
        tracing::warn!(pid, ?signal, error = %err, "cannot signal a member process");
    }
}

/// Sends `signal` to every live process of a member; returns how many there were.
async fn signal_member(member_id: &str, leader: Option<u32>, signal: Signal) -> usize {
    let member_id = member_id.to_string();
    let pids = tokio::task::spawn_blocking(move || procfs::of_member(&member_id, leader, &procfs::all()))
        .await
        .unwrap_or_default();
    if let Some(leader) = leader {
        signal_group(leader, signal);
    }
    for pid in &pids {
        signal_process(*pid, signal);
    }
    pids.len()
}

/// Kills every process of a member until none is left (a process may fork while it is
/// being killed), for at most a few seconds.
async fn kill_member(member_id: &str, leader: Option<u32>) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while signal_member(member_id, leader, Signal::SIGKILL).await > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A free TCP port on the loopback interface.
pub fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Makes this process a child subreaper: orphans of its members become its children rather
/// than init's, so they can be found, reaped and stopped.
pub fn become_subreaper() -> std::io::Result<()> {
    nix::sys::prctl::set_child_subreaper(true).map_err(std::io::Error::from)
}

impl LocalProcesses {
    /// Processes run with `settings`, reporting ready and exit events on `events`. Creates the
    /// log folder, readable by the server's user only.
    pub fn new(settings: ProcessSettings, events: mpsc::UnboundedSender<String>) -> std::io::Result<Self> {
        log::private_dir(&settings.logs_dir)?;
        Ok(LocalProcesses { settings, running: Arc::new(Mutex::new(Running::default())), events })
    }

    /// Where a member's output goes: `{logs_dir}/{group_id}/{member_id}.log`.
    pub fn log_path(&self, group_id: &str, member_id: &str) -> PathBuf {
        self.settings.logs_dir.join(group_id).join(format!("{member_id}.log"))
    }

    /// The last `max_bytes` (at most) of a member's output, and whether older output was left out.
    pub async fn read_log(&self, group_id: &str, member_id: &str, max_bytes: u64) -> std::io::Result<(Vec<u8>, bool)> {
        let path = self.log_path(group_id, member_id);
        tokio::task::spawn_blocking(move || log::read_tail(&path, max_bytes)).await.map_err(std::io::Error::other)?
    }

    /// Removes the logs of a group that is gone.
    pub fn remove_logs(&self, group_id: &str) {
        let dir = self.settings.logs_dir.join(group_id);
        if let Err(err) = std::fs::remove_dir_all(&dir)
            && err.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(dir = %dir.display(), error = %err, "cannot remove the logs of a deleted group");
        }
    }

    /// Removes the logs of every group not in `groups` (deleted while the server was down).
    pub fn remove_logs_except(&self, groups: &HashSet<String>) {
        let Ok(entries) = std::fs::read_dir(&self.settings.logs_dir) else { return };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.path().is_dir() && !groups.contains(&name) {
                self.remove_logs(&name);
            }
        }
    }

    /// Starts a member; returns its process id.
    pub fn start(&self, member: &MemberSpec<'_>) -> Result<u32, StartError> {
        let process = member.process;
        let other = |message: String| StartError::Other { command: process.command.clone(), message };
        if let Some(cwd) = &process.cwd
            && !Path::new(cwd).is_dir()
        {
            return Err(StartError::WorkingDirectory(cwd.clone()));
        }
        let log_path = self.log_path(member.group_id, member.member_id);
        if let Some(dir) = log_path.parent() {
            log::private_dir(dir).map_err(|err| other(format!("cannot create the log directory: {err}")))?;
        }
        let output = log::output_pipe(log_path, self.settings.log_max_bytes)
            .map_err(|err| other(format!("cannot open the log: {err}")))?;
        let errors = output.try_clone().map_err(|err| other(format!("cannot open the log: {err}")))?;
        let mut command = tokio::process::Command::new(&process.command);
        command
            .args(&process.args)
            .env_clear()
            .env("PATH", &self.settings.path)
            .envs(process.env.iter().filter_map(|(k, v)| v.as_str().map(|v| (k, v))))
            .env("PORT", member.port.to_string())
            .env("EBB_GROUP_ID", member.group_id)
            .env("EBB_MEMBER_ID", member.member_id)
            .env("EBB_MEMBER_NAME", member.name)
            .stdin(Stdio::null())
            .stdout(Stdio::from(output))
            .stderr(Stdio::from(errors))
            .process_group(0)
            .kill_on_drop(false);
        if let Some(user) = &self.settings.member_user {
            command.uid(user.uid).gid(user.gid);
        }
        if let Some(cwd) = &process.cwd {
            command.current_dir(cwd);
        }
        // Spawned and registered under the lock the reaper takes, so that it never collects
        // the exit of a child tokio is waiting for.
        let mut running = self.running.lock().map_err(|_| other("the process table is poisoned".to_string()))?;
        let spawned = command.spawn();
        // The server's copies of the pipe's write end go with the command: the log sees the
        // end of the output when the member's last process is gone.
        drop(command);
        let mut child = spawned.map_err(|err| match err.kind() {
            std::io::ErrorKind::NotFound => StartError::CommandNotFound(process.command.clone()),
            std::io::ErrorKind::PermissionDenied => StartError::NotExecutable(process.command.clone()),
            _ => other(err.to_string()),
        })?;
        let pid = child.id().ok_or_else(|| other("the process exited at once".to_string()))?;
        running.awaited.insert(pid);
        let ready = Arc::new(AtomicBool::new(matches!(process.readiness, Readiness::None)));
        let exit = Arc::new(Mutex::new(None));
        running.members.insert(
            member.member_id.to_string(),
            Handle {
                group_id: member.group_id.to_string(),
                pid,
                ready: ready.clone(),
                exit: exit.clone(),
                stop_signal: signal_named(&process.stop_signal),
                stop_timeout: Duration::from_secs_f64(process.stop_timeout.clamp(0.0, 3600.0)),
            },
        );
        drop(running);
        tracing::info!(group = member.group_id, member = member.member_id, pid, port = member.port, "member started");

        let (events, group_id, member_id) =
            (self.events.clone(), member.group_id.to_string(), member.member_id.to_string());
        let (exit_slot, table) = (exit.clone(), self.running.clone());
        tokio::spawn(async move {
            let how = match child.wait().await {
                Ok(status) => describe_exit(status),
                Err(err) => format!("could not be waited for: {err}"),
            };
            if let Ok(mut running) = table.lock() {
                running.awaited.remove(&pid);
            }
            tracing::info!(group = %group_id, member = %member_id, exit = %how, "member exited");
            if let Ok(mut slot) = exit_slot.lock() {
                *slot = Some(how);
            }
            let _ = events.send(group_id);
        });
        if !ready.load(Ordering::Relaxed) {
            let (events, group_id) = (self.events.clone(), member.group_id.to_string());
            let (readiness, port) = (process.readiness.clone(), member.port);
            tokio::spawn(async move {
                let started = Instant::now();
                loop {
                    if exit.lock().map(|slot| slot.is_some()).unwrap_or(true) {
                        return;
                    }
                    if probe(&readiness, port).await {
                        ready.store(true, Ordering::Relaxed);
                        let _ = events.send(group_id);
                        return;
                    }
                    tokio::time::sleep(probe_interval(started.elapsed())).await;
                }
            });
        }
        Ok(pid)
    }

    /// What is known of a member this server started; `None` for any other.
    pub fn status(&self, member_id: &str) -> Option<ProcessStatus> {
        let running = self.running.lock().ok()?;
        let handle = running.members.get(member_id)?;
        let exited = handle.exit.lock().ok().and_then(|slot| slot.clone());
        let ready = handle.ready.load(Ordering::Relaxed);
        Some(ProcessStatus { ready, exited_before_ready: exited.is_some() && !ready, exited })
    }

    /// Asks a member to stop: its stop signal to every process of the member, then, after its
    /// stop timeout (or as soon as its main process exited), SIGKILL to whatever is left.
    pub fn stop(&self, member_id: &str) {
        let Ok(running) = self.running.lock() else { return };
        let Some(handle) = running.members.get(member_id) else { return };
        let (pid, signal, timeout, exit) = (handle.pid, handle.stop_signal, handle.stop_timeout, handle.exit.clone());
        let (events, group_id, member_id) = (self.events.clone(), handle.group_id.clone(), member_id.to_string());
        drop(running);
        tokio::spawn(async move {
            signal_member(&member_id, Some(pid), signal).await;
            let deadline = Instant::now() + timeout;
            while Instant::now() < deadline {
                if exit.lock().map(|slot| slot.is_some()).unwrap_or(true) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            // Also reaches children the member left behind, in its group or out of it.
            kill_member(&member_id, Some(pid)).await;
            let _ = events.send(group_id);
        });
    }

    /// Forgets a member whose main process exited, stopping whatever it left behind
    /// (children that outlived it).
    pub fn forget(&self, member_id: &str) {
        let Ok(mut running) = self.running.lock() else { return };
        let Some(handle) = running.members.remove(member_id) else { return };
        let (member_id, leader) = (member_id.to_string(), handle.pid);
        tokio::spawn(async move { kill_member(&member_id, Some(leader)).await });
    }

    /// Kills every process left of a member and waits until they are gone.
    pub async fn sweep(&self, member_id: &str) {
        let leader = self.running.lock().ok().and_then(|running| running.members.get(member_id).map(|h| h.pid));
        kill_member(member_id, leader).await;
    }

    /// Forgets a member and leaves its processes running, unmanaged (`purge=false`).
    pub fn disown(&self, member_id: &str) {
        if let Ok(mut running) = self.running.lock() {
            running.members.remove(member_id);
        }
    }

    /// Stops the processes of members recorded by an earlier run of the server, found by the
    /// `EBB_MEMBER_ID` in their environment, and waits until they are gone (SIGTERM, then
    /// SIGKILL after `grace`). Returns how many processes there were.
    pub async fn stop_leftovers(&self, member_ids: &HashSet<String>, grace: Duration) -> usize {
        let find = |ids: HashSet<String>| async move {
            tokio::task::spawn_blocking(move || procfs::marked(&ids, &procfs::all()))
                .await
                .unwrap_or_default()
                .into_values()
                .flatten()
                .collect::<Vec<u32>>()
        };
        let found = find(member_ids.clone()).await;
        for pid in &found {
            signal_process(*pid, Signal::SIGTERM);
        }
        let deadline = Instant::now() + grace;
        while !find(member_ids.clone()).await.is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let final_deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let left = find(member_ids.clone()).await;
            if left.is_empty() || Instant::now() > final_deadline {
                break;
            }
            for pid in left {
                signal_process(pid, Signal::SIGKILL);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        found.len()
    }

    /// Kills every remaining child of the server that is not a member it manages: orphans of
    /// members that cleared their environment, found only because the server is their
    /// subreaper. Called when the server stops.
    pub async fn kill_orphans(&self) -> usize {
        let managed: HashSet<u32> = match self.running.lock() {
            Ok(running) => running.members.values().map(|h| h.pid).collect(),
            Err(_) => return 0,
        };
        let orphans: Vec<u32> = tokio::task::spawn_blocking(|| procfs::live_children(&procfs::all()))
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|pid| !managed.contains(pid))
            .collect();
        for pid in &orphans {
            signal_process(*pid, Signal::SIGKILL);
        }
        orphans.len()
    }

    /// Collects the exit of every zombie child tokio is not waiting for: orphans of members
    /// that the server, as their subreaper, inherited.
    pub fn reap(&self) -> usize {
        let zombies = procfs::zombie_children(&procfs::all());
        if zombies.is_empty() {
            return 0;
        }
        // A child tokio waits for is in `awaited` from the moment it exists (both happen under
        // this lock), so checking under the lock after the scan is enough.
        let Ok(running) = self.running.lock() else { return 0 };
        let mut reaped = 0;
        for pid in zombies {
            if running.awaited.contains(&pid) {
                continue;
            }
            let Ok(raw) = i32::try_from(pid) else { continue };
            if nix::sys::wait::waitpid(Pid::from_raw(raw), Some(nix::sys::wait::WaitPidFlag::WNOHANG)).is_ok() {
                reaped += 1;
            }
        }
        reaped
    }

    /// Reaps inherited orphans whenever a child exits, until `shutdown` completes.
    pub async fn run_reaper(self: Arc<Self>, shutdown: impl Future<Output = ()> + Send) {
        let Ok(mut children) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::child()) else {
            tracing::warn!("cannot listen for exits of children; orphans of members are not reaped");
            return;
        };
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                _ = children.recv() => {}
                // Signals coalesce; a periodic look catches what one may have hidden.
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            }
            let this = self.clone();
            let reaped = tokio::task::spawn_blocking(move || this.reap()).await.unwrap_or(0);
            if reaped > 0 {
                tracing::debug!(reaped, "orphans of members reaped");
            }
        }
    }
}

/// `exited with status 1`, `killed by signal 9`.
fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => "exited".to_string(),
    }
}

/// How long to wait before the next readiness probe: often at first, since most members are
/// ready within a few milliseconds and every one of them is time a member could be serving;
/// then less often, so that a slow starter is not probed thousands of times.
fn probe_interval(since_start: Duration) -> Duration {
    if since_start < Duration::from_millis(200) {
        Duration::from_millis(1)
    } else if since_start < Duration::from_secs(2) {
        Duration::from_millis(10)
    } else {
        Duration::from_millis(50)
    }
}

/// Describes a readiness check for messages: `an HTTP GET of /health answering 2xx`.
pub fn describe_readiness(readiness: &Readiness) -> String {
    match readiness {
        Readiness::Http { path } => format!("an HTTP GET of {path} on the member's port answering 2xx"),
        Readiness::Tcp => "a TCP connection to the member's port".to_string(),
        Readiness::None => "none".to_string(),
    }
}

/// One readiness probe.
async fn probe(readiness: &Readiness, port: u16) -> bool {
    let connect = tokio::time::timeout(Duration::from_millis(500), tokio::net::TcpStream::connect(("127.0.0.1", port)));
    let Ok(Ok(mut stream)) = connect.await else { return false };
    match readiness {
        Readiness::Tcp | Readiness::None => true,
        Readiness::Http { path } => {
            let request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: ebb-readiness\r\n\r\n");
            if stream.write_all(request.as_bytes()).await.is_err() {
                return false;
            }
            let mut head = [0u8; 16];
            let read = tokio::time::timeout(Duration::from_secs(1), stream.read(&mut head)).await;
            match read {
                Ok(Ok(n)) if n >= 12 => head.starts_with(b"HTTP/1.") && head[9] == b'2',
                _ => false,
            }
        }
    }
}

/// The `local_process` provider: [`LocalProcesses`] behind the [`super::Provider`] boundary.
/// A member's reference is `{"pid": …, "port": …}`; it serves on `127.0.0.1:{port}`.
pub struct LocalProcessProvider {
    processes: Arc<LocalProcesses>,
}

impl LocalProcessProvider {
    /// The provider over `processes`.
    pub fn new(processes: Arc<LocalProcesses>) -> Self {
        LocalProcessProvider { processes }
    }
}

fn port_of(member: &ebb_store::MemberRecord) -> Option<u16> {
    member.reference.get("port").and_then(serde_json::Value::as_u64).and_then(|port| u16::try_from(port).ok())
}

#[async_trait::async_trait]
impl super::Provider for LocalProcessProvider {
    fn kind(&self) -> ebb_core::launch::LaunchKind {
        ebb_core::launch::LaunchKind::LocalProcess
    }

    fn name(&self) -> &'static str {
        "local_process"
    }

    async fn start(&self, member: &super::MemberToStart<'_>) -> Result<super::Started, super::ProviderError> {
        let launch = member.launch.local_process.as_ref().ok_or_else(|| {
            super::ProviderError::Refused("the launch configuration is not a local_process one".to_string())
        })?;
        let port =
            free_port().map_err(|err| super::ProviderError::Refused(format!("no free port for a member: {err}")))?;
        let spec = MemberSpec {
            group_id: member.group_id,
            member_id: member.member_id,
            name: member.name,
            port,
            process: &launch.process,
        };
        let pid = self.processes.start(&spec).map_err(|err| super::ProviderError::Refused(err.to_string()))?;
        Ok(super::Started {
            reference: serde_json::json!({"pid": pid, "port": port}),
            address: std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, port)),
        })
    }

    fn address(&self, member: &ebb_store::MemberRecord) -> Option<std::net::SocketAddr> {
        port_of(member).map(|port| std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, port)))
    }

    fn status(&self, member: &ebb_store::MemberRecord) -> super::MemberStatus {
        match self.processes.status(member.id.as_str()) {
            None => super::MemberStatus::Unknown,
            Some(ProcessStatus { exited: Some(how), exited_before_ready, .. }) => {
                super::MemberStatus::Exited { how, before_ready: exited_before_ready }
            }
            Some(status) => super::MemberStatus::Running { ready: status.ready },
        }
    }

    fn stop(&self, member: &ebb_store::MemberRecord) {
        self.processes.stop(member.id.as_str());
    }

    fn forget(&self, member: &ebb_store::MemberRecord) {
        self.processes.forget(member.id.as_str());
    }

    fn disown(&self, member: &ebb_store::MemberRecord) {
        self.processes.disown(member.id.as_str());
    }

    async fn stop_all(&self, members: &[ebb_store::MemberRecord]) {
        for member in members {
            self.processes.stop(member.id.as_str());
        }
        for member in members {
            while self.processes.status(member.id.as_str()).is_some_and(|s| s.exited.is_none()) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            self.processes.sweep(member.id.as_str()).await;
        }
        let orphans = self.processes.kill_orphans().await;
        if orphans > 0 {
            tracing::info!(orphans, "orphaned member processes killed");
        }
    }

    async fn clean_up(&self, recorded: &[ebb_store::MemberRecord], groups: &HashSet<String>) -> usize {
        let ids: HashSet<String> = recorded.iter().map(|m| m.id.to_string()).collect();
        let stopped = self.processes.stop_leftovers(&ids, Duration::from_secs(10)).await;
        self.processes.remove_logs_except(groups);
        stopped
    }

    fn group_gone(&self, group: &str) {
        self.processes.remove_logs(group);
    }

    async fn output(&self, group: &str, member: &str, max_bytes: u64) -> std::io::Result<(Vec<u8>, bool)> {
        self.processes.read_log(group, member, max_bytes).await
    }
}
