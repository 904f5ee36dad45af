//! Sources read over HTTP: a probe's response time or header, an app's decision, a Prometheus
//! query, a RabbitMQ queue through the management API.

use std::time::Instant;

use ebb_core::collector::sources::{AppDecision, HttpProbe, ProbeValue, Prometheus, RabbitMq, RabbitProtocol, Request};
use serde_json::Value;

use super::read::number;

/// The most of an answer read: a decision or a query result is small.
const MAX_BODY: usize = 1 << 20;

fn sent(err: reqwest::Error) -> String {
    let err = err.without_url();
    if err.is_timeout() {
        "the request timed out".to_string()
    } else if err.is_connect() {
        format!("cannot connect: {}", source_chain(&err))
    } else {
        format!("the request failed: {}", source_chain(&err))
    }
}

/// An error with its causes, `a: b: c`.
fn source_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(inner) = cause {
        let line = inner.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        cause = inner.source();
    }
    text
}

/// `url` without its user and password, and them apart.
fn credentials(url: &str) -> Result<(reqwest::Url, Option<(String, String)>), String> {
    let mut parsed = reqwest::Url::parse(url).map_err(|err| format!("not a URL: {err}"))?;
    let user = parsed.username().to_string();
    let password = parsed.password().map(str::to_string);
    if user.is_empty() && password.is_none() {
        return Ok((parsed, None));
    }
    let _ = parsed.set_username("");
    let _ = parsed.set_password(None);
    Ok((parsed, Some((percent_decode(&user), percent_decode(password.as_deref().unwrap_or(""))))))
}

fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text).decode_utf8_lossy().into_owned()
}

fn request(http: &reqwest::Client, spec: &Request) -> Result<reqwest::RequestBuilder, String> {
    let method = reqwest::Method::from_bytes(spec.method.as_bytes()).map_err(|err| err.to_string())?;
    let (url, auth) = credentials(&spec.url)?;
    let mut builder = http.request(method, url);
    if let Some((user, password)) = auth {
        builder = builder.basic_auth(user, Some(password));
    }
    for (name, value) in &spec.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    if let Some(body) = &spec.body {
        builder = builder.body(body.clone());
    }
    Ok(builder)
}

fn expected(spec: &Request, status: reqwest::StatusCode) -> Result<(), String> {
    if spec.expected(status.as_u16()) {
        return Ok(());
    }
    let wanted = if spec.expect_status.is_empty() {
        "2xx".to_string()
    } else {
        spec.expect_status.iter().map(u16::to_string).collect::<Vec<_>>().join(" or ")
    };
    Err(format!("answered {status}, expected {wanted}"))
}

async fn body(response: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut response = response;
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(sent)? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_BODY {
            return Err(format!("the answer is longer than {MAX_BODY} bytes"));
        }
    }
    Ok(bytes)
}

async fn json(response: reqwest::Response) -> Result<Value, String> {
    let bytes = body(response).await?;
    serde_json::from_slice(&bytes).map_err(|err| format!("the answer is not JSON: {err}"))
}

/// `http_probe`: the whole response's time in ms, or a header's number.
pub(super) async fn probe(http: &reqwest::Client, probe: &HttpProbe) -> Result<f64, String> {
    let started = Instant::now();
    let response = request(http, &probe.request)?.send().await.map_err(sent)?;
    let status = response.status();
    let header = match &probe.value {
        ProbeValue::Header(name) => Some(
            response
                .headers()
                .get(name.as_str())
                .ok_or_else(|| format!("the answer has no {name} header"))?
                .to_str()
                .map_err(|_| format!("the {name} header is not text"))?
                .to_string(),
        ),
        ProbeValue::ResponseTime => None,
    };
    body(response).await?;
    let took = started.elapsed();
    expected(&probe.request, status)?;
    match header {
        None => Ok(took.as_secs_f64() * 1000.0),
        Some(text) => leading_number(&text).ok_or_else(|| format!("the header's value {text:?} is not a number")),
    }
}

/// The number a header value starts with: `250`, `250ms`, `12.5 ms`.
fn leading_number(text: &str) -> Option<f64> {
    let text = text.trim();
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+' || c == 'e'))
        .unwrap_or(text.len());
    text[..end].parse().ok()
}

/// `app_decision`: the number at the pointer of the JSON answer.
pub(super) async fn decision(http: &reqwest::Client, decision: &AppDecision) -> Result<f64, String> {
    let response = request(http, &decision.request)?.send().await.map_err(sent)?;
    expected(&decision.request, response.status())?;
    let answer = json(response).await?;
    let value =
        answer.pointer(&decision.pointer).ok_or_else(|| format!("the answer has nothing at {:?}", decision.pointer))?;
    number(value, &format!("the value at {:?}", decision.pointer))
}

/// `prometheus`: an instant query; a scalar or one series.
pub(super) async fn prometheus(http: &reqwest::Client, prometheus: &Prometheus) -> Result<f64, String> {
    let (mut url, auth) = credentials(&prometheus.url)?;
    let path = format!("{}/api/v1/query", url.path().trim_end_matches('/'));
    url.set_path(&path);
    let mut builder = http.get(url).query(&[("query", prometheus.query.as_str())]);
    if let Some((user, password)) = auth {
        builder = builder.basic_auth(user, Some(password));
    }
    for (name, value) in &prometheus.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let response = builder.send().await.map_err(sent)?;
    let status = response.status();
    let answer = json(response).await?;
    if answer["status"] != "success" {
        let error = answer["error"].as_str().unwrap_or("no reason given");
        return Err(format!("the query failed ({status}): {error}"));
    }
    let data = &answer["data"];
    match data["resultType"].as_str() {
        Some("scalar") => number(&data["result"][1], "the scalar"),
        Some("vector") => {
            let series = data["result"].as_array().map_or(&[][..], Vec::as_slice);
            match series {
                [one] => number(&one["value"][1], "the series' value"),
                [] => Err("the query returned no series".to_string()),
                many => Err(format!(
                    "the query returned {} series, and a collector reads one: aggregate them (sum, max, avg by nothing)",
                    many.len()
                )),
            }
        }
        other => Err(format!("the query returned a {}, not a scalar or a vector", other.unwrap_or("nothing"))),
    }
}

/// `rabbitmq` through the management API: messages ready, and unacknowledged if asked.
pub(super) async fn rabbitmq(http: &reqwest::Client, rabbit: &RabbitMq) -> Result<f64, String> {
    let RabbitProtocol::Http { vhost } = &rabbit.protocol else {
        return Err("RabbitMQ over AMQP is not available on this server yet".to_string());
    };
    let (mut url, auth) = credentials(&rabbit.url)?;
    let base = url.path().trim_end_matches('/').to_string();
    url.path_segments_mut()
        .map_err(|()| "the URL cannot have a path".to_string())?
        .clear()
        .extend(base.split('/').filter(|s| !s.is_empty()))
        .extend(["api", "queues", vhost.as_str(), rabbit.queue.as_str()]);
    let mut builder = http.get(url);
    if let Some((user, password)) = auth {
        builder = builder.basic_auth(user, Some(password));
    }
    let response = builder.send().await.map_err(sent)?;
    let status = response.status();
    if status == reqwest::StatusCode::NOT_FOUND {
        return Err(format!("no queue {:?} in virtual host {vhost:?}", rabbit.queue));
    }
    if status == reqwest::StatusCode::UNAUTHORIZED {
        return Err("the management API refused the credentials (401)".to_string());
    }
    if !status.is_success() {
        return Err(format!("the management API answered {status}"));
    }
    let queue = json(response).await?;
    let ready = number(&queue["messages_ready"], "messages_ready")?;
    if rabbit.include_unacknowledged {
        Ok(ready + number(&queue["messages_unacknowledged"], "messages_unacknowledged")?)
    } else {
        Ok(ready)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_are_read_up_to_their_unit() {
        assert_eq!(leading_number("250"), Some(250.0));
        assert_eq!(leading_number(" 12.5 ms"), Some(12.5));
        assert_eq!(leading_number("ms"), None);
    }

    #[test]
    fn credentials_leave_the_url_and_are_decoded() {
        let (url, auth) = credentials("http://guest:p%40ss@127.0.0.1:15672/").unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:15672/");
        assert_eq!(auth, Some(("guest".to_string(), "p@ss".to_string())));
        assert_eq!(credentials("http://h/").unwrap().1, None);
    }
}
