//! `ebb simulate`: replays a request-rate trace — a file, or a live group's recorded stretch
//! ([`live`]) — through a policy on a virtual clock, with the decisions `ebb serve` takes, and
//! prints the elasticity scores (`ebb-sim`).

mod live;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use comfy_table::{Table, presets};
use ebb_sim::compare::{self, Bench, Contender, Scored};
use ebb_sim::model::CapacityModel;
use ebb_sim::scores::Step;
use ebb_sim::trace::Trace;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value, json};

use crate::cli::input::read_document;
use crate::cli::{Connection, Failure, Output};

/// Replay a request-rate trace through a policy and score its decisions.
#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// The trace: `timestamp,requests` per interval (CSV).
    #[arg(long, required_unless_present = "group", conflicts_with = "group")]
    trace: Option<PathBuf>,
    /// Replay this live group instead: the requests its members served (its recorded
    /// `throughput`) and its own decisions, read from a running server (--url, --token).
    #[arg(long, requires = "since")]
    group: Option<String>,
    /// With --group: from this time (RFC 3339, or a duration ago such as 6h or 90m).
    #[arg(long, requires = "group")]
    since: Option<String>,
    /// With --group: until this time (RFC 3339, or a duration ago; default: now).
    #[arg(long, requires = "group")]
    until: Option<String>,
    /// With --group: the server's base URL.
    #[arg(long, env = "EBB_URL", default_value = "http://127.0.0.1:9000")]
    url: String,
    /// With --group: an API token of the group's tenant.
    #[arg(long, env = "EBB_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// The policy: the body of `POST /groups` or a Cloud Foundry policy, JSON or YAML.
    #[arg(long)]
    policy: PathBuf,
    /// Also run the peers' defaults (hpa, cf, autoscalebot, step), a fixed capacity and the
    /// oracles, and print them in one table.
    #[arg(long)]
    compare: bool,
    /// Print JSON for scripts.
    #[arg(long)]
    json: bool,
    /// Draw demand, supply and SLO violations over time into this .svg or .png file.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Requests a second one member serves within the SLO.
    #[arg(long, default_value_t = 10.0)]
    member_rps: f64,
    /// The SLO: mean response time, ms.
    #[arg(long, default_value_t = 500.0)]
    slo_ms: f64,
    /// Seconds from the decision to add a member to its serving.
    #[arg(long, default_value_t = 60.0)]
    provisioning: f64,
    /// Seconds from the decision to remove a member to its being gone.
    #[arg(long, default_value_t = 30.0)]
    deprovisioning: f64,
    /// Seconds between members' metric reports (and evaluations).
    #[arg(long, default_value_t = 15.0)]
    report_interval: f64,
    /// Relative noise of reported metrics (0.1 is 10 %).
    #[arg(long, default_value_t = 0.0)]
    noise: f64,
    /// Seed of the noise.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Multiplies the trace's request rate (BUNGEE's calibration: a trace sized for the
    /// service simulated).
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// Members of the fixed-capacity baseline (default: the mean demand, rounded up).
    #[arg(long)]
    fixed: Option<u32>,
}

/// Runs `ebb simulate`; `runtime` reads a live group's history.
pub fn run(args: SimulateArgs, runtime: &tokio::runtime::Runtime) -> ExitCode {
    match simulate(&args, runtime) {
        Ok(code) => code,
        Err(Failure::Api { line, .. }) => {
            eprintln!("error: {line}");
            ExitCode::from(1)
        }
        Err(Failure::Usage(err)) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// What is replayed: a trace file's requests, or a live group's with its own decisions.
fn source(args: &SimulateArgs, runtime: &tokio::runtime::Runtime) -> Result<(Trace, Option<Vec<Step>>), Failure> {
    if let Some(path) = &args.trace {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let trace = Trace::parse(&text).with_context(|| format!("{} is not a trace", path.display()))?;
        return Ok((trace, None));
    }
    let Some(group) = &args.group else {
        return Err(Failure::Usage(anyhow::anyhow!("--trace FILE or --group ID says what to replay")));
    };
    let now = Timestamp::now();
    let Some(since) = &args.since else {
        return Err(Failure::Usage(anyhow::anyhow!("--group needs --since: from when to replay")));
    };
    let since = live::when(since, now, "since")?;
    let until = args.until.as_deref().map_or(Ok(now), |text| live::when(text, now, "until"))?;
    let connection =
        Connection { url: args.url.clone(), token: args.token.clone(), tenant: None, output: Output::Table, get: None };
    let recorded = runtime.block_on(live::fetch(&connection, group, since, until))?;
    Ok((recorded.trace, Some(recorded.desired)))
}

fn seconds(value: f64, flag: &str) -> anyhow::Result<SignedDuration> {
    anyhow::ensure!(value.is_finite() && (0.0..=86_400.0).contains(&value), "--{flag} must be 0 to 86400 seconds");
    Ok(SignedDuration::from_secs_f64(value))
}

fn model(args: &SimulateArgs) -> anyhow::Result<CapacityModel> {
    anyhow::ensure!(args.member_rps.is_finite() && args.member_rps > 0.0, "--member-rps must be positive");
    anyhow::ensure!(args.slo_ms.is_finite() && args.slo_ms > 0.0, "--slo-ms must be positive");
    anyhow::ensure!(args.noise.is_finite() && (0.0..=1.0).contains(&args.noise), "--noise must be 0 to 1");
    let report_interval = seconds(args.report_interval, "report-interval")?;
    anyhow::ensure!(report_interval.as_secs_f64() >= 1.0, "--report-interval must be at least 1 second");
    Ok(CapacityModel {
        member_rps: args.member_rps,
        slo_ms: args.slo_ms,
        provisioning: seconds(args.provisioning, "provisioning")?,
        deprovisioning: seconds(args.deprovisioning, "deprovisioning")?,
        report_interval,
        noise: args.noise,
    })
}

fn simulate(args: &SimulateArgs, runtime: &tokio::runtime::Runtime) -> Result<ExitCode, Failure> {
    let model = model(args)?;
    if !(args.scale.is_finite() && args.scale > 0.0) {
        return Err(Failure::Usage(anyhow::anyhow!("--scale must be positive")));
    }
    let document = read_document(&args.policy)?;
    let (trace, live) = source(args, runtime)?;
    let trace = trace.scaled(args.scale);
    let fixed = args.fixed.unwrap_or_else(|| compare::mean_demand(&trace, &model));
    // A replay starts every run where the live group was.
    let initial = live.as_ref().and_then(|desired| desired.first()?.value).map(|members| members as u32);
    let bench = Bench { trace: &trace, model: &model, seed: args.seed, fixed, initial };
    let mut contenders = vec![Contender::Policy { name: policy_name(&args.policy), document }];
    if args.compare {
        let max = (compare::peak_demand(&trace, &model) * 2).clamp(10, 1000);
        contenders.extend(compare::peers(max));
    }
    let bar = progress(args.json, contenders.len());
    // Each run is independent: they run side by side, one thread each.
    let runs: Vec<Result<Scored, ebb_sim::setup::SetupError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = contenders
            .iter()
            .map(|contender| {
                let (bar, bench) = (bar.clone(), &bench);
                scope.spawn(move || {
                    let mut done = 0u64;
                    let mut tick = |share: f64| {
                        let now = (share * 1000.0) as u64;
                        bar.inc(now.saturating_sub(done));
                        done = done.max(now);
                    };
                    bench.run(contender, &mut tick)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    });
    bar.finish_and_clear();
    let mut scored = Vec::with_capacity(contenders.len() + 3);
    for run in runs {
        match run {
            Ok(run) => scored.push(run),
            Err(err) => {
                eprintln!("error: {}: {err}", args.policy.display());
                return Ok(ExitCode::from(2));
            }
        }
    }
    if let Some(desired) = &live {
        scored.insert(1, bench.live("live", desired));
    }
    if let Some(path) = &args.plot {
        let policies: Vec<&Scored> = scored.iter().collect();
        crate::plot::draw(path, &bench.demand(), &policies, trace.end)?;
    }
    if args.compare {
        scored.extend(bench.references());
    }
    if args.json {
        let rows: Vec<Value> = scored.iter().map(json_of).collect();
        let out =
            if rows.len() > 1 { json!({ "policies": rows }) } else { rows.into_iter().next().unwrap_or(Value::Null) };
        println!("{}", serde_json::to_string_pretty(&out).context("cannot write JSON")?);
    } else {
        print_table(&scored, &trace, &model, fixed);
    }
    Ok(ExitCode::SUCCESS)
}

fn policy_name(path: &std::path::Path) -> String {
    path.file_stem().map_or_else(|| "policy".to_string(), |s| s.to_string_lossy().into_owned())
}

fn progress(json: bool, runs: usize) -> indicatif::ProgressBar {
    if json || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(runs as u64 * 1000);
    let style = indicatif::ProgressStyle::with_template("simulating [{bar:40}] {percent:>3}%")
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

fn round(value: f64) -> Value {
    json!((value * 1000.0).round() / 1000.0)
}

fn json_of(run: &Scored) -> Value {
    let s = &run.scores;
    let mut object = Map::new();
    object.insert("name".into(), json!(run.name));
    for (key, value) in [
        ("theta_u", s.theta_u),
        ("theta_o", s.theta_o),
        ("tau_u", s.tau_u),
        ("tau_o", s.tau_o),
        ("instability", s.instability),
        ("instability_up", s.instability_up),
        ("instability_down", s.instability_down),
        ("jitter", s.jitter),
        ("elastic_speedup", run.elastic_speedup),
        ("deviation", s.deviation),
        ("instance_hours", run.paid_hours),
        ("serving_hours", s.instance_hours),
        ("demand_hours", s.demand_hours),
        ("cost_ratio_oracle", run.cost_ratio_oracle),
        ("cost_ratio_reactive_oracle", run.cost_ratio_reactive_oracle),
        ("slo_violation_share", compare::slo_violation_share(run)),
    ] {
        object.insert(key.into(), round(value));
    }
    Value::Object(object)
}

fn print_table(scored: &[Scored], trace: &Trace, model: &CapacityModel, fixed: u32) {
    let hours = trace.end / 3600.0;
    println!(
        "{hours:.1} h of trace from {}; {} requests/s a member within a {} ms SLO, {} s to provision; fixed baseline {fixed} members",
        trace.start,
        model.member_rps,
        model.slo_ms,
        model.provisioning.as_secs_f64()
    );
    let mut table = Table::new();
    table.load_style(if std::io::stdout().is_terminal() { presets::UTF8_FULL_CONDENSED } else { presets::NOTHING });
    table.set_header([
        "policy",
        "θU %",
        "θO %",
        "τU %",
        "τO %",
        "υ %",
        "jitter/min",
        "speedup",
        "σ",
        "member-h",
        "×oracle",
        "×reactive",
        "SLO viol. %",
    ]);
    for run in scored {
        let s = &run.scores;
        table.add_row([
            run.name.clone(),
            format!("{:.2}", s.theta_u),
            format!("{:.2}", s.theta_o),
            format!("{:.2}", s.tau_u),
            format!("{:.2}", s.tau_o),
            format!("{:.2}", s.instability),
            format!("{:.3}", s.jitter),
            format!("{:.2}", run.elastic_speedup),
            format!("{:.1}", s.deviation),
            format!("{:.0}", run.paid_hours),
            format!("{:.2}", run.cost_ratio_oracle),
            format!("{:.2}", run.cost_ratio_reactive_oracle),
            format!("{:.2}", compare::slo_violation_share(run)),
        ]);
    }
    println!("{table}");
}
