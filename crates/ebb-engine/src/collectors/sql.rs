//! `sql`: one query in a read-only transaction with a statement timeout, its first column of
//! its one row read as a number, on PostgreSQL or on MariaDB and MySQL. A connection is made for each read: reads are seconds
//! apart, and nothing is held open on the database between them.

use ebb_core::collector::sources::Sql;
use tokio_postgres::types::Type;

/// How long the statement may run on the server, whatever the collector's timeout.
const STATEMENT_TIMEOUT_MS: u32 = 30_000;

fn failed(err: &tokio_postgres::Error) -> String {
    match err.as_db_error() {
        Some(db) => format!("PostgreSQL answered: {} ({})", db.message(), db.code().code()),
        None => format!("PostgreSQL: {err}"),
    }
}

/// One read against PostgreSQL.
pub(super) async fn postgres(sql: &Sql) -> Result<f64, String> {
    let (client, connection) =
        tokio_postgres::connect(&sql.url, tokio_postgres::NoTls).await.map_err(|err| failed(&err))?;
    let driver = tokio::spawn(connection);
    let result = async {
        client
            .batch_execute(&format!("SET statement_timeout = {STATEMENT_TIMEOUT_MS}; START TRANSACTION READ ONLY"))
            .await
            .map_err(|err| failed(&err))?;
        let rows = client.query(sql.query.as_str(), &[]).await.map_err(|err| failed(&err))?;
        let _ = client.batch_execute("ROLLBACK").await;
        let row = match rows.as_slice() {
            [row] => row,
            [] => return Err("the query returned no row".to_string()),
            many => return Err(format!("the query returned {} rows, and a collector reads one", many.len())),
        };
        let column = row.columns().first().ok_or("the query returned no column")?;
        let value = match *column.type_() {
            Type::INT2 => row.try_get::<_, Option<i16>>(0).map(|v| v.map(f64::from)),
            Type::INT4 => row.try_get::<_, Option<i32>>(0).map(|v| v.map(f64::from)),
            Type::INT8 => row.try_get::<_, Option<i64>>(0).map(|v| v.map(|n| n as f64)),
            Type::FLOAT4 => row.try_get::<_, Option<f32>>(0).map(|v| v.map(f64::from)),
            Type::FLOAT8 => row.try_get::<_, Option<f64>>(0),
            Type::TEXT | Type::VARCHAR => {
                let text = row.try_get::<_, Option<String>>(0).map_err(|err| failed(&err))?;
                return match text {
                    Some(text) => text.trim().parse().map_err(|_| format!("the query returned {text:?}, not a number")),
                    None => Err("the query returned NULL".to_string()),
                };
            }
            ref other => {
                return Err(format!(
                    "the query's column {:?} is of type {other}: return an integer or a float (cast it: ::float8)",
                    column.name()
                ));
            }
        };
        value.map_err(|err| failed(&err))?.ok_or_else(|| "the query returned NULL".to_string())
    }
    .await;
    drop(client);
    let _ = driver.await;
    result
}

fn mysql_failed(err: &mysql_async::Error) -> String {
    match err {
        mysql_async::Error::Server(server) => format!("the database answered: {} ({})", server.message, server.code),
        other => format!("MySQL: {other}"),
    }
}

/// One read against MariaDB or MySQL (`mariadb://` is read as `mysql://`).
pub(super) async fn mysql(sql: &Sql) -> Result<f64, String> {
    use mysql_async::prelude::Queryable;
    let url = match sql.url.strip_prefix("mariadb://") {
        Some(rest) => format!("mysql://{rest}"),
        None => sql.url.clone(),
    };
    let opts = mysql_async::Opts::from_url(&url).map_err(|err| format!("bad MySQL URL: {err}"))?;
    let mut conn = mysql_async::Conn::new(opts).await.map_err(|err| mysql_failed(&err))?;
    let result = async {
        // MariaDB's statement limit is in seconds, MySQL's in milliseconds.
        if conn.query_drop(format!("SET SESSION max_statement_time = {}", STATEMENT_TIMEOUT_MS / 1000)).await.is_err() {
            conn.query_drop(format!("SET SESSION max_execution_time = {STATEMENT_TIMEOUT_MS}"))
                .await
                .map_err(|err| mysql_failed(&err))?;
        }
        conn.query_drop("START TRANSACTION READ ONLY").await.map_err(|err| mysql_failed(&err))?;
        let rows: Vec<mysql_async::Row> = conn.query(sql.query.as_str()).await.map_err(|err| mysql_failed(&err))?;
        let _ = conn.query_drop("ROLLBACK").await;
        let row = match rows.as_slice() {
            [row] => row,
            [] => return Err("the query returned no row".to_string()),
            many => return Err(format!("the query returned {} rows, and a collector reads one", many.len())),
        };
        match row.as_ref(0).ok_or("the query returned no column")? {
            mysql_async::Value::NULL => Err("the query returned NULL".to_string()),
            mysql_async::Value::Int(n) => Ok(*n as f64),
            mysql_async::Value::UInt(n) => Ok(*n as f64),
            mysql_async::Value::Float(n) => Ok(f64::from(*n)),
            mysql_async::Value::Double(n) => Ok(*n),
            mysql_async::Value::Bytes(bytes) => {
                let text = String::from_utf8_lossy(bytes);
                text.trim().parse().map_err(|_| format!("the query returned {text:?}, not a number"))
            }
            other => Err(format!("the query returned {other:?}, not a number")),
        }
    }
    .await;
    let _ = conn.disconnect().await;
    result
}
