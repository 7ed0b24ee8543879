//! Local funding: funds (ward members' budgets, partnerships' funds, councils' strategic funds, match funds), the
//! append-only ledger their money moves through, and the bids projects make to them. Money is integer pence.
pub mod bids;
pub mod campaigns;
pub mod funds;
pub mod insight;
pub mod open_data;
pub mod payments;

use chrono::NaiveDate;
use serde_json::{Value, json};

use crate::organisations::OrganisationKind;
use crate::values::Pence;

crate::db_enum! {
    pub enum FundKind {
        /// A ward member's budget for a year (£7,500 by default), decided by the ward member alone.
        WardBudget => "WARD_BUDGET",
        /// A community partnership's fund for a year (£25,000 by default), spent against its priorities.
        PartnershipFund => "PARTNERSHIP_FUND",
        /// A council's pot that groups bid into (£300,000 a year by default).
        StrategicFund => "STRATEGIC_FUND",
        /// Money a council or a business sets aside to match crowdfunding.
        MatchFund => "MATCH_FUND",
    }
}

impl FundKind {
    /// What a fund of this kind holds when its maker does not say.
    pub fn default_amount(self) -> Option<Pence> {
        match self {
            Self::WardBudget => Some(Pence(750_000)),
            Self::PartnershipFund => Some(Pence(2_500_000)),
            Self::StrategicFund => Some(Pence(30_000_000)),
            Self::MatchFund => None,
        }
    }

    /// The kind of organisation that owns a fund of this kind (any, for a match fund).
    pub fn owner_kind(self) -> Option<OrganisationKind> {
        match self {
            Self::WardBudget | Self::StrategicFund => Some(OrganisationKind::Council),
            Self::PartnershipFund => Some(OrganisationKind::CommunityPartnership),
            Self::MatchFund => None,
        }
    }
}

crate::db_enum! {
    pub enum DecisionMode {
        /// One person decides: the ward member for their budget, otherwise the fund's administrators.
        Sole => "SOLE",
        /// Named deciders score each bid against the fund's criteria; a quorum of scores before a decision.
        Panel => "PANEL",
    }
}

crate::db_enum! {
    pub enum LedgerKind {
        /// Money into the fund.
        Allocation => "ALLOCATION",
        /// An approved award, held for its bid.
        Commitment => "COMMITMENT",
        /// Money paid out against a commitment.
        Payment => "PAYMENT",
        /// What is left of a commitment, given back (a bid completed or cancelled).
        Release => "RELEASE",
        /// A correction or a transfer, with its reason; may be negative.
        Adjustment => "ADJUSTMENT",
    }
}

crate::db_enum! {
    pub enum BidStatus {
        Draft => "DRAFT",
        Submitted => "SUBMITTED",
        UnderReview => "UNDER_REVIEW",
        Approved => "APPROVED",
        Rejected => "REJECTED",
        Withdrawn => "WITHDRAWN",
        Paid => "PAID",
        Completed => "COMPLETED",
    }
}

impl BidStatus {
    /// Approved grants are public money, public to everyone; the rest is the bidder's and the deciders'.
    pub fn is_public(self) -> bool {
        matches!(self, Self::Approved | Self::Paid | Self::Completed)
    }
}

crate::db_enum! {
    /// The rules a bid's eligibility checks, as `failedRules` names them.
    pub enum FundRule {
        /// At least the fund's minimum award.
        MinimumAward => "MINIMUM_AWARD",
        /// At most the fund's maximum award.
        MaximumAward => "MAXIMUM_AWARD",
        /// The fund takes bids today (between its open and close dates, within its year).
        FundOpen => "FUND_OPEN",
        /// The bidding organisation is of a kind the fund funds.
        OrganisationKind => "ORGANISATION_KIND",
        /// A partnership fund's bid addresses one of the partnership's priorities for the year.
        Priority => "PRIORITY",
        /// An event is at least the fund's notice ahead.
        Notice => "NOTICE",
    }
}

/// A fund's rules.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rules {
    pub min_award: Option<Pence>,
    pub max_award: Option<Pence>,
    /// Empty: any kind.
    pub eligible_kinds: Vec<OrganisationKind>,
    pub opens_on: Option<NaiveDate>,
    pub closes_on: Option<NaiveDate>,
    /// Bids for an event must come at least this many days before it.
    pub min_days_ahead: Option<u32>,
    /// Whether a bid must address a current priority (always, for a partnership fund).
    pub requires_priority: bool,
    /// What a panel scores, each 1 to 5.
    pub criteria: Vec<String>,
}

impl Rules {
    pub fn to_json(&self) -> Value {
        json!({
            "minAward": self.min_award.map(|p| p.0),
            "maxAward": self.max_award.map(|p| p.0),
            "eligibleKinds": self.eligible_kinds.iter().map(|k| k.as_db()).collect::<Vec<_>>(),
            "opensOn": self.opens_on,
            "closesOn": self.closes_on,
            "minDaysAhead": self.min_days_ahead,
            "requiresPriority": self.requires_priority,
            "criteria": self.criteria,
        })
    }

    pub fn from_json(value: &Value) -> Self {
        let pence = |k: &str| value.get(k).and_then(Value::as_i64).map(Pence);
        let date = |k: &str| value.get(k).and_then(Value::as_str).and_then(|d| d.parse().ok());
        let strings = |k: &str| -> Vec<String> {
            value
                .get(k)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                .unwrap_or_default()
        };
        Self {
            min_award: pence("minAward"),
            max_award: pence("maxAward"),
            eligible_kinds: strings("eligibleKinds").iter().filter_map(|k| OrganisationKind::from_db(k)).collect(),
            opens_on: date("opensOn"),
            closes_on: date("closesOn"),
            min_days_ahead: value.get("minDaysAhead").and_then(Value::as_u64).and_then(|d| u32::try_from(d).ok()),
            requires_priority: value.get("requiresPriority").and_then(Value::as_bool).unwrap_or(false),
            criteria: strings("criteria"),
        }
    }
}

/// A fund's money as its ledger has it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Balance {
    /// Allocations and adjustments.
    pub allocated: Pence,
    /// Awards approved and not yet paid or released.
    pub committed: Pence,
    pub paid: Pence,
    /// What new awards may still take.
    pub available: Pence,
}

impl Balance {
    /// The balance from each kind of entry's total.
    pub fn from_totals(totals: impl IntoIterator<Item = (LedgerKind, i64)>) -> Self {
        // Saturating, never wrapping: a fund holds under 10^18 pence (`funds::give_available`), so it never saturates.
        let (mut allocated, mut commitments, mut paid, mut released) = (0i64, 0i64, 0i64, 0i64);
        for (kind, amount) in totals {
            let total = match kind {
                LedgerKind::Allocation | LedgerKind::Adjustment => &mut allocated,
                LedgerKind::Commitment => &mut commitments,
                LedgerKind::Payment => &mut paid,
                LedgerKind::Release => &mut released,
            };
            *total = total.saturating_add(amount);
        }
        let committed = commitments.saturating_sub(paid).saturating_sub(released);
        Self {
            allocated: Pence(allocated),
            committed: Pence(committed),
            paid: Pence(paid),
            available: Pence(allocated.saturating_sub(committed).saturating_sub(paid)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_balance_follows_its_entries() {
        let balance = Balance::from_totals([
            (LedgerKind::Allocation, 750_000),
            (LedgerKind::Adjustment, -100_000),
            (LedgerKind::Commitment, 300_000),
            (LedgerKind::Payment, 200_000),
            (LedgerKind::Release, 50_000),
        ]);
        assert_eq!(
            balance,
            Balance {
                allocated: Pence(650_000),
                committed: Pence(50_000),
                paid: Pence(200_000),
                available: Pence(400_000)
            }
        );
    }

    #[test]
    fn rules_keep_what_they_say() {
        let rules = Rules {
            min_award: Some(Pence(10_000)),
            max_award: Some(Pence(150_000)),
            eligible_kinds: vec![OrganisationKind::Charity, OrganisationKind::CommunityGroup],
            opens_on: NaiveDate::from_ymd_opt(2026, 4, 1),
            closes_on: NaiveDate::from_ymd_opt(2027, 2, 28),
            min_days_ahead: Some(28),
            requires_priority: true,
            criteria: vec!["Need".into(), "Value for money".into()],
        };
        assert_eq!(Rules::from_json(&rules.to_json()), rules);
    }
}
