//! The tracing subscriber, set up once per process: logs, and with `OTEL_EXPORTER_OTLP_ENDPOINT` set, traces sent
//! to an OpenTelemetry collector over OTLP/HTTP (protobuf; the exporter's own `OTEL_EXPORTER_OTLP_*` and
//! `OTEL_BSP_*` variables apply). Off by default.
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::LogFormat;

/// What `init` set up that must be flushed before the process ends (`shutdown`).
#[derive(Default)]
pub struct Telemetry {
    traces: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Sends the spans still batched (the exporter waits at most its timeout, 10 s by default).
    pub fn shutdown(self) {
        if let Some(traces) = self.traces
            && let Err(err) = traces.shutdown()
        {
            eprintln!("pitchin: the last traces were not sent: {err}");
        }
    }
}

/// Installs the global subscriber. `RUST_LOG` filters (default `info`) logs and traces alike; `format` picks
/// pretty or JSON lines. Calling it twice is harmless (the second call is ignored), which keeps tests simple.
pub fn init(format: LogFormat) -> Telemetry {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let traces = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
        .ok()
        .filter(|endpoint| !endpoint.trim().is_empty())
        .and_then(|_| match traces() {
            Ok(provider) => Some(provider),
            Err(err) => {
                eprintln!("pitchin: no traces: {err}");
                None
            }
        });
    let layer = traces.as_ref().map(|provider| tracing_opentelemetry::layer().with_tracer(provider.tracer("pitchin")));
    let registry = tracing_subscriber::registry().with(filter).with(layer);
    let _ = match format {
        LogFormat::Json => registry.with(fmt::layer().json().flatten_event(true)).try_init(),
        LogFormat::Pretty => registry.with(fmt::layer()).try_init(),
    };
    Telemetry { traces }
}

/// Spans batched and sent to the collector the environment names, as service `pitchin` unless
/// `OTEL_SERVICE_NAME` says otherwise.
fn traces() -> Result<SdkTracerProvider, String> {
    // The exporter's HTTP client uses the process's TLS provider: ring, as sqlx and the webhooks use (an error
    // here means one is installed already).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let exporter = opentelemetry_otlp::SpanExporter::builder().with_http().build().map_err(|e| e.to_string())?;
    let service = std::env::var("OTEL_SERVICE_NAME").ok().filter(|s| !s.is_empty()).unwrap_or_else(|| "pitchin".into());
    let resource = opentelemetry_sdk::Resource::builder().with_service_name(service).build();
    Ok(SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build())
}
