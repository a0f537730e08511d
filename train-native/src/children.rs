//! Training runs as child `fallkd` processes: a queue worked `parallel` at a time, spread over
//! GPUs, with CPU threads shared out, runs that wait for another (a KD student for its teacher),
//! and finished runs skipped so that a killed sweep continues where it stopped.

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Result, bail};

/// One child run: `fallkd <sub> --quiet --out <out> <args...>`.
#[derive(Debug, Clone)]
pub struct Job {
    /// Name in progress lines and failure messages.
    pub name: String,
    /// Subcommand (`train-teacher`, `train-student`).
    pub sub: String,
    /// Run directory.
    pub out: PathBuf,
    /// Further arguments (`--config F`, `--set k=v`).
    pub args: Vec<String>,
    /// Index of a job that must succeed first.
    pub after: Option<usize>,
}

impl Job {
    /// A run is done when it wrote `metrics.json` (the trainer writes it last).
    pub fn is_done(&self) -> bool {
        crate::run_dir::RunDir::new(&self.out).is_finished()
    }
}

/// Child arguments for configuration: `--config F` per file, then `--set S` per override.
pub fn config_args<'a>(
    configs: &[PathBuf],
    sets: impl IntoIterator<Item = &'a String>,
) -> Vec<String> {
    let mut args = Vec::new();
    for c in configs {
        args.push("--config".to_string());
        args.push(c.display().to_string());
    }
    for s in sets {
        args.push("--set".to_string());
        args.push(s.clone());
    }
    args
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Waiting,
    Running,
    Ok,
    Failed,
}

/// CPU threads per child when `parallel` children share this machine: `RAYON_NUM_THREADS` if
/// set, else the cores divided among the children (burn's CPU backend uses rayon; on 2 cores one
/// two-thread run trained as fast as each of two one-thread runs side by side: docs/cli.md, "Splits").
fn threads_per_child(parallel: usize) -> Option<String> {
    if std::env::var_os("RAYON_NUM_THREADS").is_some() || parallel <= 1 {
        return None;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    Some((cores / parallel).max(1).to_string())
}

/// Runs `jobs`, `parallel` at a time (`num_gpus` > 0: `--device cuda:i` round-robin). Jobs whose
/// run directory already holds `metrics.json` are skipped; an interrupted one (`state.json`
/// without `metrics.json`) is continued with `--resume`. Returns the failures, one line each.
pub fn run_all(jobs: &[Job], parallel: usize, num_gpus: usize, tag: &str) -> Result<Vec<String>> {
    let exe = std::env::current_exe()?;
    let status: Vec<Status> = jobs
        .iter()
        .map(|j| {
            if j.is_done() {
                Status::Ok
            } else {
                Status::Waiting
            }
        })
        .collect();
    let skipped = status.iter().filter(|s| **s == Status::Ok).count();
    if skipped > 0 {
        eprintln!(
            "[{tag}] {skipped} of {} runs already finished: kept",
            jobs.len()
        );
    }
    let status = Arc::new(Mutex::new(status));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let threads = threads_per_child(parallel);
    let mut handles = Vec::new();
    for worker in 0..parallel.max(1) {
        let (status, failures, exe, jobs, threads, tag) = (
            status.clone(),
            failures.clone(),
            exe.clone(),
            jobs.to_vec(),
            threads.clone(),
            tag.to_string(),
        );
        handles.push(std::thread::spawn(move || {
            loop {
                let next = {
                    let mut st = status.lock().expect("status");
                    let mut pick = None;
                    let mut blocked = false;
                    for (i, j) in jobs.iter().enumerate() {
                        if st[i] != Status::Waiting {
                            continue;
                        }
                        match j.after.map(|a| (a, st[a])) {
                            None | Some((_, Status::Ok)) => {
                                pick = Some(i);
                                break;
                            }
                            Some((a, Status::Failed)) => {
                                st[i] = Status::Failed;
                                failures
                                    .lock()
                                    .expect("failures")
                                    .push(format!("{}: not run, {} failed", j.name, jobs[a].name));
                            }
                            Some(_) => blocked = true,
                        }
                    }
                    if let Some(i) = pick {
                        st[i] = Status::Running;
                    }
                    (pick, blocked)
                };
                let i = match next {
                    (Some(i), _) => i,
                    (None, true) => {
                        std::thread::sleep(Duration::from_millis(500));
                        continue;
                    }
                    (None, false) => break,
                };
                let j = &jobs[i];
                let mut cmd = Command::new(&exe);
                cmd.arg(&j.sub).arg("--quiet").arg("--out").arg(&j.out);
                if crate::run_dir::RunDir::new(&j.out).is_resumable() {
                    cmd.arg("--resume");
                }
                cmd.args(&j.args);
                if num_gpus > 0 {
                    cmd.arg("--device")
                        .arg(format!("cuda:{}", worker % num_gpus));
                }
                if let Some(t) = &threads {
                    cmd.env("RAYON_NUM_THREADS", t);
                }
                eprintln!("[{tag}] start {}", j.name);
                let ok = match cmd.status() {
                    Ok(s) if s.success() => {
                        eprintln!("[{tag}] done {}", j.name);
                        true
                    }
                    Ok(s) => {
                        failures
                            .lock()
                            .expect("failures")
                            .push(format!("{} exited with {s}", j.name));
                        false
                    }
                    Err(e) => {
                        failures
                            .lock()
                            .expect("failures")
                            .push(format!("{}: {e}", j.name));
                        false
                    }
                };
                status.lock().expect("status")[i] = if ok { Status::Ok } else { Status::Failed };
            }
        }));
    }
    for h in handles {
        if h.join().is_err() {
            bail!("a {tag} worker panicked");
        }
    }
    let f = failures.lock().expect("failures").clone();
    Ok(f)
}
