//! Opaque global IDs (`Node.id`): base64url of `Kind:uuid`, so clients treat them as strings they cannot forge meaning into.
use async_graphql::ID;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use crate::error::{AppError, AppResult};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    User,
    Organisation,
    Need,
    VolunteerProfile,
    Offer,
    Application,
    /// Not `Node`s (`node(id)` answers null): admin-only records with opaque ids all the same.
    ApiKey,
    AuditEvent,
    WebhookEndpoint,
    WebhookDelivery,
    Ward,
    PartnershipMember,
    Priority,
    Project,
    Fund,
    Bid,
    Campaign,
    Pledge,
    HoursEntry,
    VolunteeringStatement,
}

impl NodeKind {
    fn tag(self) -> &'static str {
        match self {
            Self::User => "User",
            Self::Organisation => "Organisation",
            Self::Need => "Need",
            Self::VolunteerProfile => "VolunteerProfile",
            Self::Offer => "Offer",
            Self::Application => "Application",
            Self::ApiKey => "ApiKey",
            Self::AuditEvent => "AuditEvent",
            Self::WebhookEndpoint => "WebhookEndpoint",
            Self::WebhookDelivery => "WebhookDelivery",
            Self::Ward => "Ward",
            Self::PartnershipMember => "PartnershipMember",
            Self::Priority => "Priority",
            Self::Project => "Project",
            Self::Fund => "Fund",
            Self::Bid => "Bid",
            Self::Campaign => "Campaign",
            Self::Pledge => "Pledge",
            Self::HoursEntry => "HoursEntry",
            Self::VolunteeringStatement => "VolunteeringStatement",
        }
    }

    fn from_tag(tag: &str) -> Option<Self> {
        [
            Self::User,
            Self::Organisation,
            Self::Need,
            Self::VolunteerProfile,
            Self::Offer,
            Self::Application,
            Self::ApiKey,
            Self::AuditEvent,
            Self::WebhookEndpoint,
            Self::WebhookDelivery,
            Self::Ward,
            Self::PartnershipMember,
            Self::Priority,
            Self::Project,
            Self::Fund,
            Self::Bid,
            Self::Campaign,
            Self::Pledge,
            Self::HoursEntry,
            Self::VolunteeringStatement,
        ]
        .into_iter()
        .find(|k| k.tag() == tag)
    }
}

pub fn encode(kind: NodeKind, id: Uuid) -> ID {
    // On the stack rather than through `format!`: a dashboard encodes hundreds of ids.
    let mut buffer = [0u8; 32 + 1 + uuid::fmt::Hyphenated::LENGTH];
    let tag = kind.tag().as_bytes();
    let Some(text) = buffer.get_mut(..tag.len() + 1 + uuid::fmt::Hyphenated::LENGTH) else {
        // A tag longer than the buffer: the same text, allocated.
        return ID(URL_SAFE_NO_PAD.encode(format!("{}:{}", kind.tag(), id)));
    };
    let (head, uuid) = text.split_at_mut(tag.len() + 1);
    head[..tag.len()].copy_from_slice(tag);
    head[tag.len()] = b':';
    id.hyphenated().encode_lower(uuid);
    ID(URL_SAFE_NO_PAD.encode(text))
}

pub fn decode_any(id: &str) -> Option<(NodeKind, Uuid)> {
    let bytes = URL_SAFE_NO_PAD.decode(id.trim()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (tag, uuid) = text.split_once(':')?;
    Some((NodeKind::from_tag(tag)?, Uuid::parse_str(uuid).ok()?))
}

/// A session's id: its need and its start (sessions are computed, not stored), so a session has the same id
/// however it is reached.
pub fn encode_session(need_id: Uuid, starts_at: chrono::DateTime<chrono::Utc>) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("Session:{need_id}:{}", starts_at.timestamp())))
}

/// A session's need and start from its id; anything else is a BAD_USER_INPUT naming the field.
pub fn decode_session(field: &str, id: &ID) -> AppResult<(Uuid, chrono::DateTime<chrono::Utc>)> {
    let invalid = || AppError::bad_input(field, "is not a valid Session id");
    let bytes = URL_SAFE_NO_PAD.decode(id.trim()).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let mut parts = text.splitn(3, ':');
    let (Some("Session"), Some(need), Some(start)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(invalid());
    };
    let need = Uuid::parse_str(need).map_err(|_| invalid())?;
    // Sessions are between 2000 and 2200: a start far outside is no session, and cannot overflow later arithmetic.
    let start = start
        .parse::<i64>()
        .ok()
        .filter(|s| (946_684_800..=7_258_118_400).contains(s))
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .ok_or_else(invalid)?;
    Ok((need, start))
}

/// Decodes an ID that must be of one kind; anything else is a BAD_USER_INPUT naming the field.
pub fn decode(field: &str, id: &ID, expected: NodeKind) -> AppResult<Uuid> {
    match decode_any(id) {
        Some((kind, uuid)) if kind == expected => Ok(uuid),
        _ => Err(AppError::bad_input(field, format!("is not a valid {} id", expected.tag()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_round_trip_and_others_are_refused() {
        let need = Uuid::new_v4();
        let start = chrono::DateTime::from_timestamp(1_796_000_400, 0).unwrap_or_default();
        assert_eq!(decode_session("id", &encode_session(need, start)).ok(), Some((need, start)));
        let far = ID(URL_SAFE_NO_PAD.encode(format!("Session:{need}:{}", i64::MAX / 1000)));
        for wrong in
            [encode(NodeKind::Need, need), ID("Session".into()), ID(URL_SAFE_NO_PAD.encode("Session:x:1")), far]
        {
            assert!(decode_session("id", &wrong).is_err(), "{wrong:?}");
        }
    }

    #[test]
    fn ids_round_trip_and_kinds_are_checked() {
        let uuid = Uuid::new_v4();
        let id = encode(NodeKind::Need, uuid);
        assert_eq!(decode("needId", &id, NodeKind::Need), Ok(uuid));
        assert!(decode("organisationId", &id, NodeKind::Organisation).is_err());
        assert!(decode("needId", &ID("not-an-id".into()), NodeKind::Need).is_err());
        assert_eq!(decode_any(&id), Some((NodeKind::Need, uuid)));
    }

    #[test]
    fn every_kind_encodes_as_base64_of_tag_and_uuid() {
        let uuid = Uuid::new_v4();
        let kinds = [
            NodeKind::User,
            NodeKind::Organisation,
            NodeKind::Need,
            NodeKind::VolunteerProfile,
            NodeKind::Offer,
            NodeKind::Application,
            NodeKind::ApiKey,
            NodeKind::AuditEvent,
            NodeKind::WebhookEndpoint,
            NodeKind::WebhookDelivery,
            NodeKind::Ward,
            NodeKind::PartnershipMember,
            NodeKind::Priority,
            NodeKind::Project,
            NodeKind::Fund,
            NodeKind::Bid,
            NodeKind::Campaign,
            NodeKind::Pledge,
            NodeKind::HoursEntry,
            NodeKind::VolunteeringStatement,
        ];
        for kind in kinds {
            let id = encode(kind, uuid);
            assert_eq!(id.0, URL_SAFE_NO_PAD.encode(format!("{}:{}", kind.tag(), uuid)), "{kind:?}");
            assert_eq!(decode_any(&id), Some((kind, uuid)));
        }
    }
}
