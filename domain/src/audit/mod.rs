//! The audit log: who saw or changed whose personal data, and platform admins' key changes.
crate::db_enum! {
    /// What an audit entry records.
    pub enum AuditAction {
        /// Someone saw another person's personal data.
        Viewed => "VIEWED",
        /// Someone changed another person's data (an application's status, an organisation membership).
        Changed => "CHANGED",
        /// An account was erased (by its owner, or by the retention rule).
        Erased => "ERASED",
        /// A platform admin issued an API key.
        KeyIssued => "KEY_ISSUED",
        /// A platform admin revoked an API key.
        KeyRevoked => "KEY_REVOKED",
    }
}
