//! Member logs: what a member writes to its standard output and error, copied from a pipe
//! into `{member}.log`, capped and rotated, and read back in bounded slices.
//!
//! The member never holds the file: it writes into a pipe this server drains, so a member
//! cannot grow its log past the cap, seek in it, or keep it after it is gone. When the live
//! file reaches half the cap it becomes `{member}.log.1` (replacing the previous one) and a
//! new file is started, so a member's logs take at most the cap. Files are created 0600 in
//! folders created 0700: readable by the server's user only.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tokio::io::AsyncReadExt;

/// The default cap of one member's logs, live and rotated together: 10 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 10 * 1024 * 1024;

/// The smallest cap accepted, so that a rotation always leaves something to read.
pub const MIN_MAX_BYTES: u64 = 4 * 1024;

/// Creates `dir` and its missing parents readable by this user only, and makes sure `dir`
/// itself is (it may have been created before with looser rights).
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// Opens `path` for appending, creating it 0600.
fn open_private(path: &Path) -> std::io::Result<File> {
    let file = OpenOptions::new().create(true).append(true).mode(0o600).open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    Ok(file)
}

/// The rotated file beside a live log.
pub fn rotated(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".1");
    PathBuf::from(name)
}

/// A log file that rotates at half of `max_bytes`.
struct RotatingLog {
    path: PathBuf,
    file: File,
    written: u64,
    max_bytes: u64,
}

impl RotatingLog {
    fn open(path: PathBuf, max_bytes: u64) -> std::io::Result<Self> {
        let file = open_private(&path)?;
        let written = file.metadata()?.len();
        Ok(RotatingLog { path, file, written, max_bytes: max_bytes.max(MIN_MAX_BYTES) })
    }

    fn per_file(&self) -> u64 {
        self.max_bytes / 2
    }

    fn write(&mut self, mut bytes: &[u8]) -> std::io::Result<()> {
        while !bytes.is_empty() {
            if self.written >= self.per_file() {
                self.rotate()?;
            }
            let room = (self.per_file() - self.written) as usize;
            let (now, later) = bytes.split_at(bytes.len().min(room));
            self.file.write_all(now)?;
            self.written += now.len() as u64;
            bytes = later;
        }
        Ok(())
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        std::fs::rename(&self.path, rotated(&self.path))?;
        self.file = open_private(&self.path)?;
        self.written = 0;
        Ok(())
    }
}

/// The write end of a member's output pipe, for its standard output and error, and the task
/// that drains the read end into the member's log until every writer is gone.
pub fn output_pipe(path: PathBuf, max_bytes: u64) -> std::io::Result<std::io::PipeWriter> {
    let (reader, writer) = std::io::pipe()?;
    let mut log = RotatingLog::open(path, max_bytes)?;
    let mut receiver = tokio::net::unix::pipe::Receiver::from_owned_fd(reader.into())?;
    tokio::spawn(async move {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            match receiver.read(&mut buffer).await {
                Ok(0) => break,
                Ok(n) => {
                    if let Err(err) = log.write(&buffer[..n]) {
                        // A full disk must not stop the member: its output is dropped instead.
                        tracing::warn!(path = %log.path.display(), error = %err, "cannot write a member log");
                    }
                }
                Err(err) => {
                    tracing::warn!(path = %log.path.display(), error = %err, "cannot read a member's output");
                    break;
                }
            }
        }
    });
    Ok(writer)
}

/// The last `max_bytes` (at most) of a member's logs, rotated part first; and whether older
/// output was left out.
pub fn read_tail(path: &Path, max_bytes: u64) -> std::io::Result<(Vec<u8>, bool)> {
    let mut live = match File::open(path) {
        Ok(file) => Some(file),
        // Between the two steps of a rotation only the rotated file exists.
        Err(err) if err.kind() == std::io::ErrorKind::NotFound && rotated(path).exists() => None,
        Err(err) => return Err(err),
    };
    let live_len = match &live {
        Some(file) => file.metadata()?.len(),
        None => 0,
    };
    let mut out = Vec::new();
    let mut truncated = false;
    if live_len < max_bytes
        && let Ok(mut old) = File::open(rotated(path))
    {
        let old_len = old.metadata()?.len();
        let wanted = max_bytes - live_len;
        if old_len > wanted {
            old.seek(SeekFrom::Start(old_len - wanted))?;
            truncated = true;
        }
        old.take(wanted).read_to_end(&mut out)?;
    }
    if let Some(mut live) = live.take() {
        if live_len > max_bytes {
            live.seek(SeekFrom::Start(live_len - max_bytes))?;
            truncated = true;
        }
        live.take(max_bytes).read_to_end(&mut out)?;
    }
    Ok((out, truncated))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_rotates_at_half_its_cap_and_never_exceeds_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.log");
        let mut log = RotatingLog::open(path.clone(), 8192).unwrap();
        for i in 0..1000 {
            log.write(format!("line {i:05}\n").as_bytes()).unwrap();
        }
        let live = std::fs::metadata(&path).unwrap();
        let old = std::fs::metadata(rotated(&path)).unwrap();
        assert!(live.len() <= 4096 && old.len() == 4096, "{} {}", live.len(), old.len());
        assert_eq!(live.permissions().mode() & 0o777, 0o600);
        let (tail, truncated) = read_tail(&path, 100).unwrap();
        assert!(truncated);
        assert_eq!(tail.len(), 100);
        assert!(String::from_utf8(tail).unwrap().ends_with("line 00999\n"));
        let (all, truncated) = read_tail(&path, 1 << 20).unwrap();
        assert!(!truncated);
        assert_eq!(all.len() as u64, live.len() + old.len());
    }
}
