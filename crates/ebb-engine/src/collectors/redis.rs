//! `redis`: a list's length, a sorted set's size, a stream consumer group's lag. The
//! connection is kept between reads, and made again after an error.

use ebb_core::collector::sources::{Redis, RedisRead};
use redis::Value;

/// A kept connection.
pub(super) type Connection = redis::aio::MultiplexedConnection;

fn failed(err: &redis::RedisError) -> String {
    if err.is_connection_refusal() { format!("cannot connect: {err}") } else { format!("Redis answered: {err}") }
}

/// One read, connecting first if `kept` holds no connection.
pub(super) async fn read(kept: &mut Option<Connection>, source: &Redis) -> Result<f64, String> {
    if kept.is_none() {
        let client = redis::Client::open(source.url.as_str()).map_err(|err| format!("bad Redis URL: {err}"))?;
        *kept = Some(client.get_multiplexed_async_connection().await.map_err(|err| failed(&err))?);
    }
    let Some(connection) = kept.as_mut() else { unreachable!("connected just above") };
    let answer = match &source.read {
        RedisRead::List(key) => redis::cmd("LLEN").arg(key).query_async::<i64>(connection).await.map(|n| n as f64),
        RedisRead::SortedSet(key) => {
            redis::cmd("ZCARD").arg(key).query_async::<i64>(connection).await.map(|n| n as f64)
        }
        RedisRead::Stream { stream, group } => {
            match redis::cmd("XINFO").arg("GROUPS").arg(stream).query_async::<Value>(connection).await {
                Ok(groups) => return lag(&groups, stream, group),
                Err(err) => Err(err),
            }
        }
    };
    answer.map_err(|err| {
        // A broken connection is made again on the next read.
        if err.is_io_error() || err.is_connection_dropped() {
            *kept = None;
        }
        failed(&err)
    })
}

/// The `lag` of `group` in an `XINFO GROUPS` answer.
fn lag(groups: &Value, stream: &str, group: &str) -> Result<f64, String> {
    let Value::Array(groups) = groups else { return Err(format!("XINFO GROUPS {stream} answered {groups:?}")) };
    for entry in groups {
        let fields = fields(entry);
        if fields.iter().any(|(k, v)| k == "name" && text(v).as_deref() == Some(group)) {
            return match fields.iter().find(|(k, _)| k == "lag").map(|(_, v)| v) {
                Some(Value::Int(lag)) => Ok(*lag as f64),
                Some(Value::Nil) => Err(format!(
                    "Redis does not know the lag of group {group:?} of stream {stream:?} (entries were deleted or trimmed)"
                )),
                _ => Err("this Redis tells no lag: stream lag needs Redis 7 or later".to_string()),
            };
        }
    }
    Err(format!("stream {stream:?} has no consumer group {group:?}"))
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
        Value::SimpleString(text) => Some(text.clone()),
        _ => None,
    }
}

/// A group's fields, from RESP2's flat array or RESP3's map.
fn fields(entry: &Value) -> Vec<(String, &Value)> {
    match entry {
        Value::Array(flat) => flat.chunks(2).filter_map(|pair| Some((text(&pair[0])?, pair.get(1)?))).collect(),
        Value::Map(pairs) => pairs.iter().filter_map(|(k, v)| Some((text(k)?, v))).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(text: &str) -> Value {
        Value::BulkString(text.as_bytes().to_vec())
    }

    #[test]
    fn the_lag_of_the_named_group_is_read() {
        let groups = Value::Array(vec![
            Value::Array(vec![bulk("name"), bulk("other"), bulk("lag"), Value::Int(1)]),
            Value::Array(vec![bulk("name"), bulk("workers"), bulk("lag"), Value::Int(42)]),
        ]);
        assert_eq!(lag(&groups, "jobs", "workers"), Ok(42.0));
        assert!(lag(&groups, "jobs", "nobody").unwrap_err().contains("no consumer group \"nobody\""));
        let unknown = Value::Array(vec![Value::Array(vec![bulk("name"), bulk("workers"), bulk("lag"), Value::Nil])]);
        assert!(lag(&unknown, "jobs", "workers").unwrap_err().contains("does not know the lag"));
    }
}
