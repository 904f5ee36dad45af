//! What `/proc` says about processes: which belong to a member, and which zombies this
//! server must reap.
//!
//! A member's processes are found three ways, so that one that leaves the member's process
//! group or session (`setsid`, a daemon's double fork) is still found:
//! - its process group (the member's leader started one);
//! - its descendants, by parent links from the leader;
//! - the `EBB_MEMBER_ID` every member process inherits in its environment, which also finds
//!   processes reparented away from the leader (to this server, a child subreaper, or to
//!   init after the server died).
//!
//! A process that both leaves the member's tree and clears its environment cannot be told
//! apart from any other; it is still this server's child (the subreaper) and is stopped with
//! the server.

use std::collections::{HashMap, HashSet};

/// One line of `/proc/{pid}/stat`, the fields used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessInfo {
    /// Its id.
    pub pid: u32,
    /// Its parent.
    pub ppid: u32,
    /// Its process group.
    pub pgid: u32,
    /// Whether it is a zombie (exited, not yet reaped).
    pub zombie: bool,
}

/// Parses `/proc/{pid}/stat`: `pid (comm) state ppid pgrp ...`, where `comm` may itself hold
/// spaces and parentheses, so the fields are read after the last `)`.
fn parse_stat(pid: u32, text: &str) -> Option<ProcessInfo> {
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?;
    let ppid = fields.next()?.parse().ok()?;
    let pgid = fields.next()?.parse().ok()?;
    Some(ProcessInfo { pid, ppid, pgid, zombie: state == "Z" || state == "X" })
}

/// Every process visible in `/proc`.
pub fn all() -> Vec<ProcessInfo> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let text = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            parse_stat(pid, &text)
        })
        .collect()
}

/// The member id in a process's environment, if it has one.
fn member_of(pid: u32) -> Option<String> {
    let environ = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    environ
        .split(|b| *b == 0)
        .find_map(|variable| variable.strip_prefix(b"EBB_MEMBER_ID="))
        .and_then(|id| std::str::from_utf8(id).ok())
        .map(str::to_string)
}

/// Live processes whose environment names one of `member_ids`, by member id.
pub fn marked(member_ids: &HashSet<String>, processes: &[ProcessInfo]) -> HashMap<String, Vec<u32>> {
    let mut found: HashMap<String, Vec<u32>> = HashMap::new();
    if member_ids.is_empty() {
        return found;
    }
    for process in processes.iter().filter(|p| !p.zombie) {
        if let Some(id) = member_of(process.pid).filter(|id| member_ids.contains(id)) {
            found.entry(id).or_default().push(process.pid);
        }
    }
    found
}

/// The live processes of one member: its leader's group and descendants, and every process
/// marked with its id. Never this server itself.
pub fn of_member(member_id: &str, leader: Option<u32>, processes: &[ProcessInfo]) -> Vec<u32> {
    let own = std::process::id();
    let mut found: HashSet<u32> = HashSet::new();
    if let Some(leader) = leader {
        let mut frontier = vec![leader];
        while let Some(parent) = frontier.pop() {
            for child in processes.iter().filter(|p| p.ppid == parent && p.pid != parent) {
                if found.insert(child.pid) {
                    frontier.push(child.pid);
                }
            }
        }
        found.extend(processes.iter().filter(|p| p.pgid == leader).map(|p| p.pid));
        found.insert(leader);
    }
    let ids = HashSet::from([member_id.to_string()]);
    found.extend(marked(&ids, processes).into_values().flatten());
    let live: HashSet<u32> = processes.iter().filter(|p| !p.zombie).map(|p| p.pid).collect();
    let mut pids: Vec<u32> = found.into_iter().filter(|pid| *pid != own && live.contains(pid)).collect();
    pids.sort_unstable();
    pids
}

/// What a process uses: resident memory in KiB and CPU time in clock ticks (user and system),
/// from `/proc/{pid}/status` and `/proc/{pid}/stat`.
pub fn usage(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some((rss_kib, cpu_ticks(&stat)?))
}

/// User plus system time of a `/proc/{pid}/stat` line, in clock ticks (fields 14 and 15).
fn cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
}

/// Zombie children of this process.
pub fn zombie_children(processes: &[ProcessInfo]) -> Vec<u32> {
    let own = std::process::id();
    processes.iter().filter(|p| p.ppid == own && p.zombie).map(|p| p.pid).collect()
}

/// Live children of this process.
pub fn live_children(processes: &[ProcessInfo]) -> Vec<u32> {
    let own = std::process::id();
    processes.iter().filter(|p| p.ppid == own && !p.zombie).map(|p| p.pid).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_with_odd_command_names_parse() {
        let info = parse_stat(42, "42 (my (odd) prog) S 7 42 42 0 -1 4194560").unwrap();
        assert_eq!(info, ProcessInfo { pid: 42, ppid: 7, pgid: 42, zombie: false });
        assert!(parse_stat(43, "43 (x) Z 1 43 43").unwrap().zombie);
        assert!(parse_stat(44, "garbage").is_none());
    }

    #[test]
    fn cpu_time_is_user_plus_system_after_the_command_name() {
        let stat = "42 (a (b) c) S 7 42 42 0 -1 4194560 100 0 0 0 250 31 0 0 20 0 1 0 5 1000 20";
        assert_eq!(cpu_ticks(stat), Some(281));
        let (rss, ticks) = usage(std::process::id()).expect("this process");
        assert!(rss > 0 && ticks < u64::MAX);
    }

    #[test]
    fn a_members_processes_are_its_tree_and_its_group() {
        let p = |pid, ppid, pgid| ProcessInfo { pid, ppid, pgid, zombie: false };
        // 100 leads; 101 is its child; 102 left the group (setsid) but is still a descendant;
        // 103 is still in the group though reparented to 1; 200 belongs to nobody.
        let processes = [p(100, 1, 100), p(101, 100, 100), p(102, 101, 102), p(103, 1, 100), p(200, 1, 200)];
        assert_eq!(of_member("m", Some(100), &processes), vec![100, 101, 102, 103]);
    }
}
