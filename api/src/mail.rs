//! Outgoing mail: the transports the notifications dispatcher (`notifications::sender`) hands messages to. Nothing
//! here runs inside an API request: requests write to the outbox, and the dispatcher sends.
//! - `SmtpMailer`: a real SMTP server (lettre), with implicit TLS (`smtps://`) or STARTTLS (`?tls=required`), a
//!   timeout per delivery and a small connection pool.
//! - `LogMailer`: development only, where no SMTP URL is set: logs each message, its content included, so a
//!   developer can follow a verification link. Production refuses to start without an SMTP URL.
use std::sync::Arc;
use std::time::Duration;

use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::Settings;
use crate::error::{AppError, AppResult};

/// One message to one address, written: both bodies, and the one-click unsubscribe link when it has one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// RFC 8058: sent as `List-Unsubscribe` with `List-Unsubscribe-Post: List-Unsubscribe=One-Click`.
    pub unsubscribe: Option<String>,
}

/// Why a message was not taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendError {
    pub message: String,
    /// The server said it will never take it (an SMTP 5xx, an address it cannot parse): not retried.
    pub permanent: bool,
}

#[async_trait::async_trait]
pub trait Mailer: Send + Sync {
    /// Hands the message to the transport; `Ok` once it has taken it.
    async fn send(&self, email: &Email) -> Result<(), SendError>;
}

/// The transport the settings call for.
pub fn from_settings(settings: &Settings) -> AppResult<Arc<dyn Mailer>> {
    match settings.smtp_url.as_deref().filter(|u| !u.trim().is_empty()) {
        Some(url) => Ok(Arc::new(SmtpMailer::new(url, &settings.mail_from, settings.smtp_timeout_ms)?)),
        None if settings.production() => Err(AppError::internal(
            "PITCHIN_SMTP_URL is not set: production sends email (verification codes, reminders) through SMTP",
        )),
        None => Ok(Arc::new(LogMailer)),
    }
}

pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

/// Longest a delivery may take, whatever the settings say.
const MAX_TIMEOUT: Duration = Duration::from_secs(60);

impl SmtpMailer {
    pub fn new(url: &str, from: &str, timeout_ms: u64) -> AppResult<Self> {
        let from: Mailbox = from.parse().map_err(|e| AppError::internal(format!("PITCHIN_MAIL_FROM: {e}")))?;
        let timeout = Duration::from_millis(timeout_ms.max(1)).min(MAX_TIMEOUT);
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| AppError::internal(format!("PITCHIN_SMTP_URL: {e}")))?
            .timeout(Some(timeout))
            .build();
        Ok(Self { transport, from })
    }
}

#[async_trait::async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, email: &Email) -> Result<(), SendError> {
        let message = message(&self.from, email)?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| SendError { permanent: e.is_permanent(), message: describe(&e) })
    }
}

/// What went wrong, with its innermost cause (never the message's content).
fn describe(error: &lettre::transport::smtp::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_permanent() {
        "refused"
    } else if error.is_transient() {
        "refused for now"
    } else {
        "could not send"
    };
    let mut cause: &dyn std::error::Error = error;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    format!("{kind}: {cause}")
}

/// The message lettre sends: plain text and HTML as alternatives, and the unsubscribe headers.
pub fn message(from: &Mailbox, email: &Email) -> Result<Message, SendError> {
    let permanent = |message: String| SendError { message, permanent: true };
    let to: Mailbox = email.to.parse().map_err(|e| permanent(format!("the address cannot be used: {e}")))?;
    let mut builder = Message::builder().from(from.clone()).to(to).subject(email.subject.clone());
    if let Some(url) = &email.unsubscribe {
        builder = builder.header(ListUnsubscribe(format!("<{url}>"))).header(ListUnsubscribePost);
    }
    let body = MultiPart::alternative()
        .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(email.text.clone()))
        .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(email.html.clone()));
    builder.multipart(body).map_err(|e| permanent(format!("the message cannot be built: {e}")))
}

/// `List-Unsubscribe` (RFC 2369): where to unsubscribe, as `<https://…>`.
#[derive(Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.to_owned()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// `List-Unsubscribe-Post` (RFC 8058): the link unsubscribes with one POST, no page to click through.
#[derive(Clone)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_owned())
    }
}

/// Development's transport where no SMTP URL is set: the message, content included, goes to the log.
pub struct LogMailer;

#[async_trait::async_trait]
impl Mailer for LogMailer {
    async fn send(&self, email: &Email) -> Result<(), SendError> {
        tracing::info!(to = %email.to, subject = %email.subject, body = %email.text, "mail (not sent: logged)");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_carries_both_bodies_and_the_one_click_unsubscribe_headers() {
        let from: Mailbox = "Pitch In <no-reply@pitchin.example>".parse().expect("a mailbox");
        let email = Email {
            to: "amira@mail.example".into(),
            subject: "Your session tomorrow".into(),
            text: "See you at 19:00".into(),
            html: "<p>See you at 19:00</p>".into(),
            unsubscribe: Some("https://pitchin.example/unsubscribe/abc".into()),
        };
        let raw = String::from_utf8(message(&from, &email).expect("built").formatted()).expect("utf-8");
        assert!(raw.contains("List-Unsubscribe: <https://pitchin.example/unsubscribe/abc>"), "{raw}");
        assert!(raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"), "{raw}");
        assert!(raw.contains("multipart/alternative") && raw.contains("text/plain") && raw.contains("text/html"));
        let bad = Email { to: "not an address".into(), ..email };
        assert!(message(&from, &bad).expect_err("refused").permanent);
    }
}
