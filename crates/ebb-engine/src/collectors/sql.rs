//! `sql`: one query in a read-only transaction with a statement timeout, its first column of
//! its one row read as a number. A connection is made for each read: reads are seconds
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
