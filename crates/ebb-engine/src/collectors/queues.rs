//! Queues read over their own protocols: a RabbitMQ queue's ready messages by a passive
//! declare over AMQP 0-9-1, and a NATS JetStream consumer's pending messages. A connection is
//! made for each AMQP read (a passive declare on a missing queue closes its channel); the
//! NATS client is kept, and reconnects by itself.

use ebb_core::collector::sources::{Nats, RabbitMq};
use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;

/// Messages ready in the queue, by a passive declare.
pub(super) async fn amqp(rabbit: &RabbitMq) -> Result<f64, String> {
    let connection = lapin::Connection::connect(&rabbit.url, lapin::ConnectionProperties::default())
        .await
        .map_err(|err| format!("cannot connect over AMQP: {err}"))?;
    let result = async {
        let channel = connection.create_channel().await.map_err(|err| format!("cannot open a channel: {err}"))?;
        let passive = QueueDeclareOptions { passive: true, ..QueueDeclareOptions::default() };
        let queue = channel.queue_declare(rabbit.queue.clone().into(), passive, FieldTable::default()).await.map_err(
            |err| match err.to_string() {
                text if text.contains("NOT_FOUND") => format!("no queue {:?}", rabbit.queue),
                text => format!("the queue cannot be read: {text}"),
            },
        )?;
        Ok(f64::from(queue.message_count()))
    }
    .await;
    let _ = connection.close(200, "read".into()).await;
    result
}

/// A NATS connection kept between reads.
pub(super) type NatsClient = async_nats::Client;

/// The consumer's pending messages.
pub(super) async fn nats(kept: &mut Option<NatsClient>, source: &Nats) -> Result<f64, String> {
    if kept.is_none() {
        let client = async_nats::connect(source.url.as_str()).await.map_err(|err| format!("cannot connect: {err}"))?;
        *kept = Some(client);
    }
    let Some(client) = kept.as_ref() else { unreachable!("connected just above") };
    let jetstream = async_nats::jetstream::new(client.clone());
    let stream = jetstream.get_stream(&source.stream).await.map_err(|err| match err.kind() {
        async_nats::jetstream::context::GetStreamErrorKind::JetStream(js) if js.code() == 404 => {
            format!("no stream {:?}", source.stream)
        }
        _ => format!("the stream {:?} cannot be read: {err}", source.stream),
    })?;
    let info = stream.consumer_info(&source.consumer).await.map_err(|err| {
        let text = err.to_string();
        if text.contains("not found") {
            format!("stream {:?} has no consumer {:?}", source.stream, source.consumer)
        } else {
            format!("the consumer {:?} cannot be read: {text}", source.consumer)
        }
    })?;
    Ok(info.num_pending as f64)
}
