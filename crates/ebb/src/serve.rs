//! `ebb serve`: opens the store, finds or creates the operator token, and serves the API
//! until SIGINT or SIGTERM (a second signal exits at once).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use ebb_api::{ApiConfig, AppState};
use ebb_engine::converger::{Converger, Trigger};
use ebb_engine::metrics::BalancerCollector;
use ebb_engine::provider::cloud::tenant::Clouds;
use ebb_engine::provider::local_process::{
    LocalProcessProvider, LocalProcesses, MemberUser, ProcessSettings, become_subreaper,
};
use ebb_engine::provider::{BuiltinBalancers, Provider};
use ebb_engine::samples::SampleSettings;
use ebb_engine::scheduler::Scheduler;
use ebb_engine::{Engine, EngineMetrics, SystemClock};
use ebb_store::StoreMetrics;
use prometheus_client::registry::Registry;

use crate::config::{FileConfig, Settings};

/// Flags of `ebb serve`; each also reads an environment variable.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:9000].
    #[arg(long, env = "EBB_LISTEN")]
    listen: Option<String>,
    /// The store [default: sqlite://ebb.db].
    #[arg(long, env = "EBB_STORE")]
    store: Option<String>,
    /// Base of generated links [default: http:// and the listen address].
    #[arg(long, env = "EBB_PUBLIC_URL")]
    public_url: Option<String>,
    /// A TOML file with the same settings.
    #[arg(long, env = "EBB_CONFIG")]
    config: Option<PathBuf>,
    /// Requests a tenant may make per minute [default: 1000].
    #[arg(long, env = "EBB_TENANT_REQUESTS_PER_MINUTE")]
    tenant_requests_per_minute: Option<u32>,
    /// Requests one capability URL may take per second [default: 10].
    #[arg(long, env = "EBB_CAPABILITY_REQUESTS_PER_SECOND")]
    capability_requests_per_second: Option<u32>,
    /// Seconds a member may take to become ready before it is replaced [default: 60].
    #[arg(long, env = "EBB_BUILD_TIMEOUT")]
    build_timeout: Option<f64>,
    /// Seconds between self-heal passes over every group [default: 10].
    #[arg(long, env = "EBB_SELF_HEAL_INTERVAL")]
    self_heal_interval: Option<f64>,
    /// Seconds a cloud server may stay in BUILD before it is deleted and replaced [default: 3600].
    #[arg(long, env = "EBB_SERVER_BUILD_TIMEOUT")]
    server_build_timeout: Option<f64>,
    /// Seconds before a cloud group that is not settled is gathered again [default: 1].
    #[arg(long, env = "EBB_CLOUD_RETRY_INTERVAL")]
    cloud_retry_interval: Option<f64>,
    /// Least seconds between two server creations of a tenant [default: 1].
    #[arg(long, env = "EBB_CLOUD_CREATE_INTERVAL")]
    cloud_create_interval: Option<f64>,
    /// Least seconds between two server deletions of a tenant [default: 0.4].
    #[arg(long, env = "EBB_CLOUD_DELETE_INTERVAL")]
    cloud_delete_interval: Option<f64>,
    /// Least seconds between two changes to a tenant's Cloud Load Balancers [default: 0.5].
    #[arg(long, env = "EBB_CLB_CHANGE_INTERVAL")]
    clb_change_interval: Option<f64>,
    /// Address the built-in load balancers listen on [default: 0.0.0.0].
    #[arg(long, env = "EBB_BALANCER_HOST")]
    balancer_host: Option<std::net::Ipv4Addr>,
    /// Seconds after which a schedule missed while the server was down is skipped instead of
    /// run [default: 300].
    #[arg(long, env = "EBB_SCHEDULE_GRACE")]
    schedule_grace: Option<f64>,
    /// Run members as this user (name or id) instead of the server's own; needs root.
    #[arg(long, env = "EBB_MEMBER_USER")]
    member_user: Option<String>,
    /// Run members with this group (name or id) [default: the member user's primary group].
    #[arg(long, env = "EBB_MEMBER_GROUP")]
    member_group: Option<String>,
    /// The most bytes one member's logs take, live and rotated together [default: 10485760].
    #[arg(long, env = "EBB_MEMBER_LOG_MAX_BYTES")]
    member_log_max_bytes: Option<u64>,
    /// Days the history of desired capacity is kept [default: 30].
    #[arg(long, env = "EBB_HISTORY_RETENTION_DAYS")]
    history_retention_days: Option<f64>,
    /// Seconds between measurements of the built-in metrics of `local_process` members
    /// [default: 5].
    #[arg(long, env = "EBB_MEASURE_INTERVAL")]
    measure_interval: Option<f64>,
    /// Days per-minute aggregates of metrics are kept for history queries [default: 10].
    #[arg(long, env = "EBB_METRIC_RETENTION_DAYS")]
    metric_retention_days: Option<f64>,
    /// Requests one Cloud Foundry app (a group) may make per second on `/v1/apps`, in bursts of
    /// twice as many [default: 10].
    #[arg(long, env = "EBB_APP_REQUESTS_PER_SECOND")]
    app_requests_per_second: Option<u32>,
    /// For tests only: multiplies every metric rule's breach duration and cooldown (0 to 1), so
    /// that a test need not wait minutes for a breach [default: 1].
    #[arg(long, env = "EBB_RULES_TIME_SCALE", hide = true)]
    rules_time_scale: Option<f64>,
    /// Turns the service broker (`/v2`, Open Service Broker API) on, with this user name for
    /// its HTTP Basic credentials; needs `--broker-password`.
    #[arg(long, env = "EBB_BROKER_USERNAME")]
    broker_username: Option<String>,
    /// The service broker's password (prefer the environment variable: a flag shows in `ps`).
    #[arg(long, env = "EBB_BROKER_PASSWORD", hide_env_values = true)]
    broker_password: Option<String>,
    /// Log as JSON lines instead of text.
    #[arg(long, env = "EBB_LOG_JSON")]
    log_json: bool,
    /// Also set up a demo tenant and group of `ebb demo-app` members (see the README).
    #[arg(long)]
    demo: bool,
    /// The port of the demo group's load balancer.
    #[arg(long, default_value_t = 8080)]
    demo_port: u16,
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("EBB_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// The SQLite file of a store URL; files that belong with the store are named after it.
fn store_file(store_url: &str) -> &str {
    store_url.strip_prefix("sqlite://").or_else(|| store_url.strip_prefix("sqlite:")).unwrap_or("ebb.db")
}

/// Where the generated operator token lives: beside the SQLite file.
fn token_file(store_url: &str) -> PathBuf {
    PathBuf::from(format!("{}.operator-token", store_file(store_url)))
}

/// The operator token: `EBB_OPERATOR_TOKEN`, else the token file, else a new one written
/// to the token file (mode 0600). The token itself is never logged.
fn operator_token(store_url: &str) -> anyhow::Result<String> {
    if let Ok(token) = std::env::var("EBB_OPERATOR_TOKEN")
        && !token.trim().is_empty()
    {
        tracing::info!("operator token taken from EBB_OPERATOR_TOKEN");
        return Ok(token.trim().to_string());
    }
    let path = token_file(store_url);
    match std::fs::read_to_string(&path) {
        Ok(token) if !token.trim().is_empty() => {
            tracing::info!(path = %path.display(), "operator token read from file");
            return Ok(token.trim().to_string());
        }
        Ok(_) => anyhow::bail!("operator token file {} is empty; delete it to have a new token made", path.display()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => {
            return Err(err).with_context(|| format!("cannot read operator token file {}", path.display()));
        }
    }
    let token = format!("ebb_op_{}", ebb_api::otter::webhooks::random_hex().map_err(|err| anyhow::anyhow!("{err}"))?);
    write_secret(&path, &token)?;
    tracing::info!(path = %path.display(), "new operator token written");
    Ok(token)
}

/// Whether the server runs as root.
fn nix_is_root() -> bool {
    std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0).unwrap_or(false)
}

/// Creates an SQLite store file readable by the server's user only (0600) before SQLite
/// opens it; SQLite gives its `-wal` and `-shm` files the same mode.
fn prepare_store_file(store_url: &str) -> anyhow::Result<()> {
    let Some(path) = store_url.strip_prefix("sqlite://").or_else(|| store_url.strip_prefix("sqlite:")) else {
        return Ok(());
    };
    if path.is_empty() || path.starts_with(':') {
        return Ok(());
    }
    match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(err) => Err(err).with_context(|| format!("cannot create the store file {path}")),
    }
}

fn write_secret(path: &Path, secret: &str) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create operator token file {}", path.display()))?;
    writeln!(file, "{secret}")
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut terminate) = signal(SignalKind::terminate()) else {
        // Without a SIGTERM handler, SIGINT alone stops the server.
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    tracing::info!("shutting down; a second signal exits at once");
    tokio::spawn(async {
        let _ = tokio::signal::ctrl_c().await;
        std::process::exit(130);
    });
}

/// Runs the service.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    init_logging(args.log_json);
    let file = match &args.config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    let settings = Settings::resolve(
        FileConfig {
            listen: args.listen,
            store: args.store,
            public_url: args.public_url,
            tenant_requests_per_minute: args.tenant_requests_per_minute,
            capability_requests_per_second: args.capability_requests_per_second,
            build_timeout: args.build_timeout,
            self_heal_interval: args.self_heal_interval,
            server_build_timeout: args.server_build_timeout,
            cloud_retry_interval: args.cloud_retry_interval,
            cloud_create_interval: args.cloud_create_interval,
            cloud_delete_interval: args.cloud_delete_interval,
            clb_change_interval: args.clb_change_interval,
            balancer_host: args.balancer_host,
            schedule_grace: args.schedule_grace,
            member_user: args.member_user,
            member_group: args.member_group,
            member_log_max_bytes: args.member_log_max_bytes,
            history_retention_days: args.history_retention_days,
            app_requests_per_second: args.app_requests_per_second,
            metric_retention_days: args.metric_retention_days,
            measure_interval: args.measure_interval,
            rules_time_scale: args.rules_time_scale,
            broker_username: args.broker_username,
            broker_password: args.broker_password,
            ..FileConfig::default()
        },
        file,
    );
    settings.broker()?;
    let member_user = match &settings.member_user {
        Some(user) => Some(MemberUser::resolve(user, settings.member_group.as_deref()).map_err(anyhow::Error::msg)?),
        None if settings.member_group.is_some() => anyhow::bail!("--member-group needs --member-user"),
        None => None,
    };
    let root = nix_is_root();
    match (&member_user, root) {
        (None, true) => tracing::warn!(
            "ebb serve runs as root and --member-user is not set: local_process members run as root and can read \
             everything the server can; see docs/security.md"
        ),
        (Some(user), false) => tracing::warn!(
            user = %user.name,
            "--member-user is set but ebb serve does not run as root: starting members will fail unless it may change user"
        ),
        _ => {}
    }
    if let Err(err) = become_subreaper() {
        tracing::warn!(error = %err, "cannot become a child subreaper; orphans of members go to init");
    }
    prepare_store_file(&settings.store)?;
    let mut registry = Registry::default();
    let store = ebb_store::open(&settings.store, StoreMetrics::new(&mut registry))
        .await
        .with_context(|| format!("cannot open store {}", settings.store))?;
    let operator_token = operator_token(&settings.store)?;
    let clock = Arc::new(SystemClock);
    let (events, event_queue) = tokio::sync::mpsc::unbounded_channel();
    let logs_dir = PathBuf::from(format!("{}.members", store_file(&settings.store)));
    let mut process_settings = ProcessSettings::new(logs_dir.clone());
    process_settings.log_max_bytes = settings.member_log_max_bytes;
    process_settings.member_user = member_user;
    let processes = Arc::new(
        LocalProcesses::new(process_settings, events)
            .with_context(|| format!("cannot create the member log directory {}", logs_dir.display()))?,
    );
    let (stop_reaping, reaping_stopped) = tokio::sync::oneshot::channel::<()>();
    let reaper_task = tokio::spawn(processes.clone().run_reaper(async move {
        let _ = reaping_stopped.await;
    }));
    let providers: Vec<Arc<dyn Provider>> = vec![Arc::new(LocalProcessProvider::new(processes.clone()))];
    let balancers = Arc::new(BuiltinBalancers { host: settings.balancer_host });
    let converger = Converger::new(store.clone(), clock.clone(), providers, balancers, settings.converge.clone());
    let clouds = Arc::new(Clouds::new(store.clone(), clock.clone(), settings.converge.cloud_throttles.clone()));
    registry.register_collector(Box::new(ebb_engine::metrics::CloudCallCollector(clouds.clone())));
    converger.set_clouds(clouds);
    converger.clean_up_previous_run().await.context("cannot clean up the members of the previous run")?;
    registry.register_collector(Box::new(BalancerCollector(converger.clone())));
    let engine_metrics = EngineMetrics::new(&mut registry);
    let sample_settings = SampleSettings { time_scale: settings.rules_time_scale, ..SampleSettings::default() };
    let engine =
        Arc::new(Engine::new(store, clock, engine_metrics, converger.clone()).with_sample_settings(sample_settings));
    registry.register_collector(Box::new(ebb_engine::metrics::CollectorMetrics(engine.clone())));
    let collectors = engine.start_collectors().await.context("cannot read the collectors")?;
    tracing::info!(collectors, "collectors started");
    let scheduler = Scheduler::new(engine.clone(), settings.schedule_grace);
    let listener = tokio::net::TcpListener::bind(&settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let address = listener.local_addr().context("cannot read the listen address")?;
    let public_url = settings.public_url.clone().unwrap_or_else(|| format!("http://{address}"));
    let config = ApiConfig {
        public_url: public_url.clone(),
        limits: settings.limits,
        operator_token_hash: ebb_core::secret::hash(&operator_token),
        tenant_requests_per_minute: settings.tenant_requests_per_minute,
        capability_requests_per_second: settings.capability_requests_per_second,
        app_requests_per_second: settings.app_requests_per_second,
        threshold_ranges: Default::default(),
        broker: settings.broker()?.map(|(username, password)| ebb_api::broker::BrokerAccount {
            username: username.to_string(),
            password_hash: ebb_core::secret::hash(password),
        }),
    };
    let demo_notes = if args.demo {
        Some(
            crate::demo::prepare(
                &engine,
                &ebb_api::links::Links::new(&public_url),
                args.demo_port,
                store_file(&settings.store),
            )
            .await?,
        )
    } else {
        None
    };
    let state = AppState::new(engine, config, registry);
    let (stop_converging, converging_stopped) = tokio::sync::oneshot::channel::<()>();
    let converger_task = tokio::spawn(converger.clone().run(event_queue, async move {
        let _ = converging_stopped.await;
    }));
    let (stop_pruning, pruning_stopped) = tokio::sync::oneshot::channel::<()>();
    let retention = ebb_engine::pruner::Retention {
        history: settings.history_retention,
        metric_minutes: settings.metric_retention,
    };
    let pruner_task = tokio::spawn(ebb_engine::pruner::run(state.engine.clone(), retention, async move {
        let _ = pruning_stopped.await;
    }));
    state.engine.load_metric_groups().await.context("cannot load the groups with metric rules")?;
    let (stop_measuring, measuring_stopped) = tokio::sync::oneshot::channel::<()>();
    let measure_task =
        tokio::spawn(ebb_engine::measure::run(state.engine.clone(), settings.measure_interval, async move {
            let _ = measuring_stopped.await;
        }));
    let (stop_archiving, archiving_stopped) = tokio::sync::oneshot::channel::<()>();
    let archiver_task = tokio::spawn(ebb_engine::archiver::run(state.engine.clone(), async move {
        let _ = archiving_stopped.await;
    }));
    let (stop_scheduling, scheduling_stopped) = tokio::sync::oneshot::channel::<()>();
    let scheduler_task = tokio::spawn(scheduler.run(async move {
        let _ = scheduling_stopped.await;
    }));
    for group in converger.group_ids().await.context("cannot list groups")? {
        converger.trigger(group.as_str(), Trigger::Started);
    }
    tracing::info!(%address, %public_url, store = %settings.store, "listening");
    // One line on stdout for scripts and tests to learn the address (useful with port 0).
    println!("listening on http://{address}");
    if let Some(notes) = demo_notes {
        println!(
            "demo group behind http://127.0.0.1:{}/ ; how to load and scale it: {}",
            args.demo_port,
            notes.display()
        );
    }
    ebb_api::router::serve(listener, state, shutdown_signal()).await.context("server failed")?;
    let _ = stop_pruning.send(());
    let _ = pruner_task.await;
    let _ = stop_measuring.send(());
    let _ = measure_task.await;
    let _ = stop_archiving.send(());
    let _ = archiver_task.await;
    let _ = stop_scheduling.send(());
    let _ = scheduler_task.await;
    let _ = stop_converging.send(());
    let _ = converger_task.await;
    let stopped = converger.stop_all().await;
    let _ = stop_reaping.send(());
    let _ = reaper_task.await;
    tracing::info!(members = stopped, "stopped");
    Ok(())
}
