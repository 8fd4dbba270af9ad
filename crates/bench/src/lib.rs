//! Shared helpers of the benchmarks: a deterministic generator and process measurements.

use std::io::Write;
use std::path::Path;

/// A small deterministic generator (xorshift64*), so every run measures the same data.
#[derive(Debug, Clone)]
pub struct Gen(u64);

impl Gen {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// How many times each benchmark repeats its measurement (`ACCORD_BENCH_RUNS`, default 3); the
/// figures printed are the medians.
pub fn runs() -> usize {
    std::env::var("ACCORD_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).filter(|n| *n > 0).unwrap_or(3)
}

/// The median of some measurements (the upper one of an even count).
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Empties a PostgreSQL benchmark database (drops and re-creates its `public` schema), so each
/// run starts from a fresh hub as the SQLite runs do.
/// The previous run's hub may still be finishing (its commit thread writes the last rollups as it
/// stops), so a deadlock with it is retried.
pub fn empty_postgres(url: &str) {
    let mut client = postgres::Client::connect(url, postgres::NoTls).expect("connect to ACCORD_BENCH_STORE");
    for attempt in 1.. {
        match client.batch_execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;") {
            Ok(()) => return,
            Err(e) if attempt < 10 => {
                eprintln!("emptying ACCORD_BENCH_STORE failed ({e}); retrying");
                std::thread::sleep(std::time::Duration::from_millis(500));
            }
            Err(e) => panic!("empty ACCORD_BENCH_STORE: {e}"),
        }
    }
}

/// Starts a new peak-memory measurement (Linux: resets `VmHWM` to the current resident size).
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Peak resident memory of this process so far, in MiB (Linux `VmHWM`).
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Writes `n` SOR accounts (`id,name,joined,website`) as CSV.
pub fn write_accounts_csv(path: &Path, n: u64) -> std::io::Result<()> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(w, "id,name,joined,website")?;
    for i in 0..n {
        writeln!(w, "{},Account {i},2023-01-{:02},acct{i}.example.com", 100_000 + i, 1 + i % 28)?;
    }
    w.flush()
}

/// Writes `n` support tickets linked by account id, with 2% carrying a float-formatted id.
pub fn write_tickets_csv(path: &Path, n: u64, accounts: u64) -> std::io::Result<()> {
    let mut g = Gen::new(42);
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(w, "ticket_id,account_id,subject,status,priority,requester,created")?;
    let statuses = ["open", "pending", "solved", "closed"];
    for i in 0..n {
        let account = 100_000 + g.below(accounts);
        let id = if g.below(50) == 0 { format!("{account}.0") } else { account.to_string() };
        writeln!(
            w,
            "T{i},{id},Subject number {i} about the dashboard,{},p{},user{}@acct{}.example.com,2024-0{}-{:02}T10:{:02}:00Z",
            statuses[(i % 4) as usize],
            i % 3,
            g.below(1000),
            account - 100_000,
            1 + i % 9,
            1 + i % 28,
            i % 60
        )?;
    }
    w.flush()
}

/// CPU time (user + system) this process has used so far, all threads, in seconds (Linux
/// `/proc/self/stat`, counted in `USER_HZ` = 100 ticks a second, fixed by the kernel ABI).
pub fn process_cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the `(comm)` one, which may hold spaces: utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// CPU time used so far by this process's live threads named `name` (as `/proc` shows it, at most
/// 15 bytes), in seconds: the scheduler's nanosecond count of each (`/proc/self/task/*/schedstat`).
pub fn threads_cpu_secs(name: &str) -> Option<f64> {
    Some(threads_cpu(name)?.values().sum::<u64>() as f64 / 1e9)
}

/// The CPU time of each live thread named `name`, in nanoseconds, by thread id.
pub fn threads_cpu(name: &str) -> Option<std::collections::HashMap<u64, u64>> {
    let mut out = std::collections::HashMap::new();
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let dir = task.ok()?.path();
        let Ok(comm) = std::fs::read_to_string(dir.join("comm")) else { continue };
        if comm.trim_end() != name {
            continue;
        }
        let Some(tid) = dir.file_name().and_then(|n| n.to_str()).and_then(|n| n.parse().ok()) else { continue };
        let Ok(sched) = std::fs::read_to_string(dir.join("schedstat")) else { continue };
        out.insert(tid, sched.split_whitespace().next()?.parse::<u64>().ok()?);
    }
    Some(out)
}

/// CPU seconds the threads named `name` used since `before` (a [`threads_cpu`] reading): a thread
/// that ended in between (an earlier run's, still stopping at the first reading) is left out
/// instead of making the figure negative.
pub fn threads_cpu_secs_since(name: &str, before: &std::collections::HashMap<u64, u64>) -> Option<f64> {
    let now = threads_cpu(name)?;
    Some(now.iter().map(|(tid, ns)| ns - before.get(tid).copied().unwrap_or(0).min(*ns)).sum::<u64>() as f64 / 1e9)
}
