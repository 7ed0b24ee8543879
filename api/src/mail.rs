//! Outgoing mail. The only transport built so far writes messages to the log (`LogMailer`): in development with
//! their content, so a developer can follow a verification link; in production only that a message was due, never
//! its token. A real transport (SMTP, or a provider's API) implements `Mailer`.
use std::sync::Arc;

use crate::config::Settings;

/// One message to one address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailMessage {
    pub to: String,
    pub subject: String,
    pub body: String,
}

pub trait Mailer: Send + Sync {
    /// Hands a message over for delivery; delivery itself may happen later.
    fn send(&self, message: MailMessage);
}

pub struct LogMailer {
    /// Whether the content (which may hold one-time tokens) may be logged.
    show_content: bool,
}

impl Mailer for LogMailer {
    fn send(&self, message: MailMessage) {
        if self.show_content {
            tracing::info!(to = %message.to, subject = %message.subject, body = %message.body, "mail (not sent: logged)");
        } else {
            tracing::warn!(subject = %message.subject, "mail not sent: no mail transport is configured");
        }
    }
}

/// The transport and what messages link to.
pub struct Mail {
    pub mailer: Arc<dyn Mailer>,
    /// The page (a frontend's) that takes a verification token as `?token=`.
    pub verify_email_url: String,
}

impl Mail {
    /// The mail setup the settings call for.
    pub fn from_settings(settings: &Settings) -> Self {
        Self::with_mailer(settings, Arc::new(LogMailer { show_content: !settings.production() }))
    }

    pub fn with_mailer(settings: &Settings, mailer: Arc<dyn Mailer>) -> Self {
        Self { mailer, verify_email_url: settings.verify_email_url.clone() }
    }
}
