//! Server processes under test: started with their output in a log file, waited for until they
//! answer, measured (peak and current resident memory of the process and its children, from
//! `/proc/<pid>/status`), and stopped with SIGTERM (SIGKILL if they linger).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{BenchError, Result};
use crate::http;

/// How a started server tells it is ready.
#[derive(Debug, Clone)]
pub enum Ready {
    /// It writes its URL to this file once it listens.
    PortFile(PathBuf),
    /// It listens at `url` and answers 200 to `GET <url><path>`.
    Health { url: String, path: String },
}

/// A running server process; dropping it kills the process.
#[derive(Debug)]
pub struct Server {
    name: String,
    child: Option<Child>,
    url: String,
    log: PathBuf,
    started: Instant,
    ready_after: Duration,
}

impl Server {
    /// Starts `command` (stdout and stderr to `<log_dir>/<name>.log`) and waits up to `timeout`
    /// for it to be ready.
    pub fn start(
        name: &str,
        mut command: Command,
        log_dir: &Path,
        ready: Ready,
        timeout: Duration,
    ) -> Result<Server> {
        let log = log_dir.join(format!("{name}.log"));
        let out = File::create(&log).map_err(BenchError::at("creating", &log))?;
        let err = out.try_clone().map_err(BenchError::at("opening", &log))?;
        let started = Instant::now();
        let child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(BenchError::io(format!("starting {name} ({command:?})")))?;
        let mut server = Server {
            name: name.to_owned(),
            child: Some(child),
            url: String::new(),
            log,
            started,
            ready_after: Duration::ZERO,
        };
        server.url = server.wait_ready(&ready, timeout)?;
        server.ready_after = started.elapsed();
        Ok(server)
    }

    fn wait_ready(&mut self, ready: &Ready, timeout: Duration) -> Result<String> {
        let deadline = self.started + timeout;
        loop {
            match ready {
                Ready::PortFile(path) => {
                    if let Ok(text) = std::fs::read_to_string(path)
                        && !text.trim().is_empty()
                    {
                        return Ok(text.trim().to_owned());
                    }
                }
                Ready::Health { url, path } => {
                    if let Ok(answer) = http::get(url, path, Duration::from_secs(2))
                        && answer.status == 200
                    {
                        return Ok(url.clone());
                    }
                }
            }
            if !self.is_running() || Instant::now() > deadline {
                return Err(BenchError::NotReady {
                    what: self.name.clone(),
                    seconds: timeout.as_secs(),
                    log: self.log_tail(30),
                });
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The base URL it serves.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// How long it took from spawn to ready.
    pub fn ready_after(&self) -> Duration {
        self.ready_after
    }

    /// Its process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// True while the process has not exited.
    pub fn is_running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// The peak resident set (VmHWM) of the process plus that of each of its live descendants,
    /// in KiB.
    pub fn peak_rss_kib(&self) -> Result<u64> {
        self.sum_status("VmHWM")
    }

    /// The current resident set (VmRSS) of the process and its descendants, in KiB.
    pub fn rss_kib(&self) -> Result<u64> {
        self.sum_status("VmRSS")
    }

    fn sum_status(&self, field: &str) -> Result<u64> {
        let Some(pid) = self.pid() else { return Ok(0) };
        let mut total = 0;
        for pid in std::iter::once(pid).chain(descendants(pid)) {
            total += status_kib(pid, field)?;
        }
        Ok(total)
    }

    /// The last `lines` lines of its log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Sends SIGTERM and waits up to 10 s, then SIGKILL.
    pub fn stop(mut self) -> Result<()> {
        self.terminate()
    }

    fn terminate(&mut self) -> Result<()> {
        let Some(mut child) = self.child.take() else { return Ok(()) };
        if matches!(child.try_wait(), Ok(Some(_))) {
            return Ok(());
        }
        // The children first (uvicorn workers, say), then the process.
        let mut pids = descendants(child.id());
        pids.push(child.id());
        for pid in &pids {
            let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(child.try_wait(), Ok(Some(_))) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.kill().map_err(BenchError::io(format!("killing {}", self.name)))?;
        child.wait().map_err(BenchError::io(format!("waiting for {}", self.name)))?;
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A `/proc/<pid>/status` field in KiB (0 if the process is gone).
fn status_kib(pid: u32, field: &str) -> Result<u64> {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else { return Ok(0) };
    parse_status_kib(&status, field).ok_or_else(|| BenchError::Unexpected {
        what: format!("/proc/{pid}/status"),
        expected: format!("a `{field}: N kB` line"),
        got: status.lines().take(3).collect::<Vec<_>>().join(" | "),
    })
}

/// The value of `field` in a `/proc/<pid>/status` text, in KiB.
pub fn parse_status_kib(status: &str, field: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim().strip_suffix("kB")?.trim().parse().ok()
    })
}

/// Every live descendant of `pid`, from the parent ids in `/proc/*/stat`.
pub fn descendants(pid: u32) -> Vec<u32> {
    let mut parents = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(child) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
            // `pid (comm) state ppid …`; comm may hold spaces and parentheses.
            let Some(after) = stat.rsplit_once(')').map(|(_, rest)| rest) else { continue };
            if let Some(ppid) = after.split_whitespace().nth(1).and_then(|p| p.parse::<u32>().ok())
            {
                parents.push((child, ppid));
            }
        }
    }
    let mut found = Vec::new();
    let mut frontier = vec![pid];
    while let Some(parent) = frontier.pop() {
        for (child, _) in parents.iter().filter(|(_, ppid)| *ppid == parent) {
            found.push(*child);
            frontier.push(*child);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_fields_are_read_in_kib() {
        let status =
            "Name:\tpython3\nVmPeak:\t  812340 kB\nVmHWM:\t  201116 kB\nVmRSS:\t  198000 kB\n";
        assert_eq!(parse_status_kib(status, "VmHWM"), Some(201_116));
        assert_eq!(parse_status_kib(status, "VmRSS"), Some(198_000));
        assert_eq!(parse_status_kib(status, "VmSwap"), None);
    }

    #[test]
    fn a_started_process_is_found_among_our_descendants() {
        let mut child = Command::new("sleep").arg("5").spawn().expect("sleep starts");
        let found = descendants(std::process::id());
        let _ = child.kill();
        let _ = child.wait();
        assert!(found.contains(&child.id()), "{found:?} lacks {}", child.id());
    }
}
