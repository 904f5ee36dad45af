//! The `local_process` provider: members are OS processes on this machine.
//!
//! Each member runs in its own process group with `PORT`, `EBB_GROUP_ID`, `EBB_MEMBER_ID`
//! and `EBB_MEMBER_NAME` in its environment, and its standard output and error appended to
//! `{logs_dir}/{group_id}/{member_id}.log`. A task per member probes readiness and another waits for
//! the exit; both report to the converger by sending the group id on the event channel.
//! Stopping sends the configured signal to the process group, waits `stop_timeout`, then
//! kills the group. Processes left by a previous run of the server are found by their
//! `EBB_MEMBER_ID` and stopped, so none is left unmanaged or doubled.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ebb_core::launch::{ProcessSpec, Readiness};
use nix::sys::signal::{Signal, killpg};
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

/// The processes this server started.
pub struct LocalProcesses {
    logs_dir: PathBuf,
    running: Mutex<HashMap<String, Handle>>,
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

/// A free TCP port on the loopback interface.
pub fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

impl LocalProcesses {
    /// Processes logging under `logs_dir`, reporting ready and exit events on `events`.
    pub fn new(logs_dir: PathBuf, events: mpsc::UnboundedSender<String>) -> std::io::Result<Self> {
        std::fs::create_dir_all(&logs_dir)?;
        Ok(LocalProcesses { logs_dir, running: Mutex::new(HashMap::new()), events })
    }

    /// Where a member's output goes: `{logs_dir}/{group_id}/{member_id}.log`.
    pub fn log_path(&self, group_id: &str, member_id: &str) -> PathBuf {
        self.logs_dir.join(group_id).join(format!("{member_id}.log"))
    }

    /// Starts a member; returns its process id.
    pub fn start(&self, member: &MemberSpec<'_>) -> Result<u32, StartError> {
        let process = member.process;
        if let Some(cwd) = &process.cwd
            && !Path::new(cwd).is_dir()
        {
            return Err(StartError::WorkingDirectory(cwd.clone()));
        }
        let log_path = self.log_path(member.group_id, member.member_id);
        if let Some(dir) = log_path.parent() {
            std::fs::create_dir_all(dir).map_err(|err| StartError::Other {
                command: process.command.clone(),
                message: format!("cannot create the log directory: {err}"),
            })?;
        }
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&log_path).map_err(|err| {
            StartError::Other { command: process.command.clone(), message: format!("cannot open the log file: {err}") }
        })?;
        let log_err = log.try_clone().map_err(|err| StartError::Other {
            command: process.command.clone(),
            message: format!("cannot open the log file: {err}"),
        })?;
        let mut command = tokio::process::Command::new(&process.command);
        command
            .args(&process.args)
            .envs(process.env.iter().filter_map(|(k, v)| v.as_str().map(|v| (k, v))))
            .env("PORT", member.port.to_string())
            .env("EBB_GROUP_ID", member.group_id)
            .env("EBB_MEMBER_ID", member.member_id)
            .env("EBB_MEMBER_NAME", member.name)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .process_group(0)
            .kill_on_drop(false);
        if let Some(cwd) = &process.cwd {
            command.current_dir(cwd);
        }
        let mut child = command.spawn().map_err(|err| match err.kind() {
            std::io::ErrorKind::NotFound => StartError::CommandNotFound(process.command.clone()),
            std::io::ErrorKind::PermissionDenied => StartError::NotExecutable(process.command.clone()),
            _ => StartError::Other { command: process.command.clone(), message: err.to_string() },
        })?;
        let pid = child.id().ok_or_else(|| StartError::Other {
            command: process.command.clone(),
            message: "the process exited at once".to_string(),
        })?;
        let ready = Arc::new(AtomicBool::new(matches!(process.readiness, Readiness::None)));
        let exit = Arc::new(Mutex::new(None));
        tracing::info!(group = member.group_id, member = member.member_id, pid, port = member.port, "member started");

        let (events, group_id, member_id) =
            (self.events.clone(), member.group_id.to_string(), member.member_id.to_string());
        let exit_slot = exit.clone();
        tokio::spawn(async move {
            let how = match child.wait().await {
                Ok(status) => describe_exit(status),
                Err(err) => format!("could not be waited for: {err}"),
            };
            tracing::info!(group = %group_id, member = %member_id, exit = %how, "member exited");
            if let Ok(mut slot) = exit_slot.lock() {
                *slot = Some(how);
            }
            let _ = events.send(group_id);
        });
        if !ready.load(Ordering::Relaxed) {
            let (events, group_id) = (self.events.clone(), member.group_id.to_string());
            let (ready, exit, readiness, port) = (ready.clone(), exit.clone(), process.readiness.clone(), member.port);
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
        let handle = Handle {
            group_id: member.group_id.to_string(),
            pid,
            ready,
            exit,
            stop_signal: signal_named(&process.stop_signal),
            stop_timeout: Duration::from_secs_f64(process.stop_timeout.clamp(0.0, 3600.0)),
        };
        if let Ok(mut running) = self.running.lock() {
            running.insert(member.member_id.to_string(), handle);
        }
        Ok(pid)
    }

    /// What is known of a member this server started; `None` for any other.
    pub fn status(&self, member_id: &str) -> Option<ProcessStatus> {
        let running = self.running.lock().ok()?;
        let handle = running.get(member_id)?;
        let exited = handle.exit.lock().ok().and_then(|slot| slot.clone());
        let ready = handle.ready.load(Ordering::Relaxed);
        Some(ProcessStatus { ready, exited_before_ready: exited.is_some() && !ready, exited })
    }

    /// Asks a member to stop: its stop signal to its process group, then, after its stop
    /// timeout, SIGKILL to whatever is left of the group.
    pub fn stop(&self, member_id: &str) {
        let Ok(running) = self.running.lock() else { return };
        let Some(handle) = running.get(member_id) else { return };
        let (pid, signal, timeout, exit) = (handle.pid, handle.stop_signal, handle.stop_timeout, handle.exit.clone());
        let (events, group_id) = (self.events.clone(), handle.group_id.clone());
        signal_group(pid, signal);
        tokio::spawn(async move {
            let deadline = Instant::now() + timeout;
            while Instant::now() < deadline {
                if exit.lock().map(|slot| slot.is_some()).unwrap_or(true) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            // Also reaches children the member left behind in its group.
            signal_group(pid, Signal::SIGKILL);
            let _ = events.send(group_id);
        });
    }

    /// Forgets a member that exited.
    pub fn forget(&self, member_id: &str) {
        if let Ok(mut running) = self.running.lock() {
            running.remove(member_id);
        }
    }

    /// Stops the processes of members recorded by an earlier run of the server, found by the
    /// `EBB_MEMBER_ID` in their environment, and waits until they are gone (SIGTERM, then
    /// SIGKILL after `grace`). Returns how many there were.
    pub async fn stop_leftovers(&self, member_ids: &HashSet<String>, grace: Duration) -> usize {
        let found = find_members(member_ids);
        for pid in found.values() {
            signal_group(*pid, Signal::SIGTERM);
        }
        let deadline = Instant::now() + grace;
        let alive = |pids: &HashMap<String, u32>| pids.values().any(|pid| Path::new(&format!("/proc/{pid}")).exists());
        while alive(&found) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for pid in found.values() {
            signal_group(*pid, Signal::SIGKILL);
        }
        while alive(&found) && Instant::now() < deadline + Duration::from_secs(2) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        found.len()
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

/// Processes whose environment names one of `member_ids`, by member id.
fn find_members(member_ids: &HashSet<String>) -> HashMap<String, u32> {
    let mut found = HashMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else { return found };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|name| name.parse::<u32>().ok()) else { continue };
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else { continue };
        for variable in environ.split(|b| *b == 0) {
            if let Some(id) = variable.strip_prefix(b"EBB_MEMBER_ID=").and_then(|id| std::str::from_utf8(id).ok())
                && member_ids.contains(id)
            {
                // Signals go to the member's process group, which its children share.
                let leader =
                    nix::unistd::getpgid(Some(Pid::from_raw(pid as i32))).map(|p| p.as_raw() as u32).unwrap_or(pid);
                found.insert(id.to_string(), leader);
            }
        }
    }
    found
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
