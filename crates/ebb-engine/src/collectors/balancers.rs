//! `lb_stats`: connections, requests a second, requests in flight or queued, per member or in
//! all — loadscale's signal — from Ebb's built-in balancer of the group, or from HAProxy's
//! statistics (`show stat` on its admin socket, or its CSV page).

use ebb_core::collector::sources::{LbStats, LbValue};
use ebb_core::ids::GroupId;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::engine::Engine;

/// The most of HAProxy's statistics read.
const MAX_STATS: usize = 4 << 20;

fn combine(values: &[f64], per_member: bool) -> Result<f64, String> {
    if values.is_empty() {
        return Err("no member is up behind the balancer".to_string());
    }
    let total: f64 = values.iter().sum();
    Ok(if per_member { total / values.len() as f64 } else { total })
}

/// From the group's own built-in balancers.
pub(super) fn builtin(engine: &Engine, group: &GroupId, lb: &LbStats) -> Result<f64, String> {
    let stats = engine.converger().balancer_stats(group.as_str());
    if stats.is_empty() {
        return Err("the group has no built-in load balancer".to_string());
    }
    let values: Vec<f64> = stats
        .iter()
        .flat_map(|s| &s.members)
        .map(|m| match lb.value {
            LbValue::Connections => m.traffic.open_connections as f64,
            LbValue::RequestsPerSecond => m.traffic.requests_per_second,
            LbValue::InFlight | LbValue::Queue => m.traffic.in_flight as f64,
        })
        .collect();
    combine(&values, lb.per_member)
}

/// From HAProxy's admin socket.
pub(super) async fn socket(path: &str, lb: &LbStats) -> Result<f64, String> {
    let mut stream =
        tokio::net::UnixStream::connect(path).await.map_err(|err| format!("cannot connect to {path}: {err}"))?;
    stream.write_all(b"show stat\n").await.map_err(|err| format!("cannot ask {path}: {err}"))?;
    let mut answer = Vec::new();
    (&mut stream)
        .take(MAX_STATS as u64)
        .read_to_end(&mut answer)
        .await
        .map_err(|err| format!("cannot read {path}: {err}"))?;
    from_csv(&String::from_utf8_lossy(&answer), lb)
}

/// From HAProxy's statistics page as CSV.
pub(super) async fn page(http: &reqwest::Client, url: &str, lb: &LbStats) -> Result<f64, String> {
    let response =
        http.get(url).send().await.map_err(|err| format!("cannot read the statistics: {}", err.without_url()))?;
    if !response.status().is_success() {
        return Err(format!("the statistics page answered {}", response.status()));
    }
    let text = response.text().await.map_err(|err| format!("cannot read the statistics: {}", err.without_url()))?;
    if text.len() > MAX_STATS {
        return Err("the statistics are too long".to_string());
    }
    from_csv(&text, lb)
}

/// The value asked for from `show stat`'s CSV: the backend's servers that are not down or in
/// maintenance, or for the queue the backend's own line.
fn from_csv(text: &str, lb: &LbStats) -> Result<f64, String> {
    let mut lines = text.lines();
    let header = lines.next().ok_or("HAProxy's statistics are empty")?;
    let columns: Vec<&str> = header.trim_start_matches('#').trim().split(',').collect();
    let at = |name: &str| {
        columns.iter().position(|c| *c == name).ok_or(format!("HAProxy's statistics have no {name} column"))
    };
    let (pxname, svname, status) = (at("pxname")?, at("svname")?, at("status")?);
    let backend = lb.backend.as_deref().unwrap_or_default();
    let rows: Vec<Vec<&str>> =
        lines.map(|line| line.split(',').collect::<Vec<_>>()).filter(|row| row.get(pxname) == Some(&backend)).collect();
    if rows.is_empty() {
        return Err(format!("HAProxy has no backend {backend:?}"));
    }
    let number = |row: &Vec<&str>, column: usize| row.get(column).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    if lb.value == LbValue::Queue {
        let line = rows.iter().find(|row| row.get(svname) == Some(&"BACKEND")).ok_or("no BACKEND line")?;
        return Ok(number(line, at("qcur")?));
    }
    let column = match lb.value {
        LbValue::Connections => at("scur")?,
        // HTTP backends count requests; TCP ones only sessions.
        _ => at("req_rate").or_else(|_| at("rate"))?,
    };
    let servers: Vec<f64> = rows
        .iter()
        .filter(|row| !matches!(row.get(svname), Some(&"BACKEND") | Some(&"FRONTEND")))
        // Up, or not health-checked ("no check"); not down or in maintenance.
        .filter(|row| row.get(status).is_some_and(|s| !s.starts_with("DOWN") && !s.starts_with("MAINT")))
        .map(|row| {
            let value = row.get(column).filter(|v| !v.is_empty());
            // A server line leaves req_rate empty on older versions: its session rate then.
            value.and_then(|v| v.parse().ok()).unwrap_or_else(|| at("rate").map_or(0.0, |rate| number(row, rate)))
        })
        .collect();
    combine(&servers, lb.per_member)
}

#[cfg(test)]
mod tests {
    use ebb_core::collector::sources::Balancer;

    use super::*;

    const STATS: &str = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate
web,FRONTEND,,,12,20,100,500,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,1,0,,,,0,5,0,9,,,,0,0,0,0,0,0,,7
app,s1,0,0,4,8,,100,0,0,,0,,0,0,0,0,UP,1,1,0,0,0,10,0,,1,2,1,,100,,2,2,,5,L4OK,,0,0,0,0,0,0,0,,3
app,s2,0,0,6,9,,100,0,0,,0,,0,0,0,0,no check,1,1,0,0,0,10,0,,1,2,2,,100,,2,3,,5,L4OK,,0,0,0,0,0,0,0,,5
app,s3,0,0,9,9,,100,0,0,,0,,0,0,0,0,MAINT,1,1,0,0,0,10,0,,1,2,3,,100,,2,0,,5,L4CON,,0,0,0,0,0,0,0,,0
app,BACKEND,7,9,10,17,,300,0,0,0,0,,0,0,0,0,UP,2,2,0,,0,10,0,,1,2,0,,200,,1,5,,9,,,,0,0,0,0,0,0,,8
";

    fn lb(value: LbValue, per_member: bool) -> LbStats {
        LbStats { balancer: Balancer::HaProxySocket("/s".into()), backend: Some("app".into()), value, per_member }
    }

    #[test]
    fn servers_that_are_up_count_per_member_or_in_all() {
        assert_eq!(
            from_csv(STATS, &lb(LbValue::Connections, true)),
            Ok(5.0),
            "(4 + 6) / 2, the server in maintenance left out"
        );
        assert_eq!(from_csv(STATS, &lb(LbValue::Connections, false)), Ok(10.0));
        assert_eq!(from_csv(STATS, &lb(LbValue::RequestsPerSecond, false)), Ok(8.0));
        assert_eq!(from_csv(STATS, &lb(LbValue::Queue, false)), Ok(7.0), "the backend's queue");
        let missing = LbStats { backend: Some("nope".into()), ..lb(LbValue::Connections, true) };
        assert_eq!(from_csv(STATS, &missing), Err("HAProxy has no backend \"nope\"".to_string()));
    }
}
