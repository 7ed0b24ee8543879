//! Every row of the README's "Who sees what", for every kind of caller. The facts a resolver would gather (is the
//! caller a member of the resource's organisation; has the volunteer applied to the caller's organisation) are
//! set per caller, as the loaders find them; the rules are the functions under test.
use super::*;

/// The kinds of caller the README's table distinguishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    Anonymous,
    /// A partner's API key, with both scopes (scopes open queries; they never open personal data).
    ApiKey,
    /// Signed in, with no tie to the resource.
    Stranger,
    /// The volunteer (or user) the data is about, who also made the offer.
    Themselves,
    /// A member of the organisation that owns the need or offer, to whose needs the volunteer has applied.
    MemberAppliedTo,
    /// A member of an organisation that invited the volunteer, who has not applied to it.
    MemberInvitedOnly,
    PlatformAdmin,
}

const CALLERS: [Caller; 7] = [
    Caller::Anonymous,
    Caller::ApiKey,
    Caller::Stranger,
    Caller::Themselves,
    Caller::MemberAppliedTo,
    Caller::MemberInvitedOnly,
    Caller::PlatformAdmin,
];

struct World {
    volunteer: Uuid,
    organisation: Uuid,
}

impl World {
    fn viewer(&self, caller: Caller) -> Viewer {
        let user = |id, role| Some(AuthUser { id, role });
        match caller {
            Caller::Anonymous => Viewer::anonymous(),
            Caller::ApiKey => Viewer::for_api_key(ApiKeyCaller {
                id: Uuid::new_v4(),
                scopes: ApiKeyScope::ALL.to_vec(),
                organisation_id: Some(self.organisation),
                rate_limit_per_minute: 600,
            }),
            Caller::Stranger | Caller::MemberAppliedTo | Caller::MemberInvitedOnly => {
                Viewer::new(user(Uuid::new_v4(), PlatformRole::Member))
            }
            Caller::Themselves => Viewer::new(user(self.volunteer, PlatformRole::Member)),
            Caller::PlatformAdmin => Viewer::new(user(Uuid::new_v4(), PlatformRole::Admin)),
        }
    }

    /// Whether the caller is a member of the resource's organisation (as `Viewer::is_member_of` finds it: platform
    /// admins count).
    fn member(&self, caller: Caller) -> bool {
        matches!(caller, Caller::MemberAppliedTo | Caller::MemberInvitedOnly | Caller::PlatformAdmin)
    }

    /// Whether the volunteer has applied to a need of the caller's organisation (the contact-visibility loader).
    fn applied_to(&self, caller: Caller) -> bool {
        caller == Caller::MemberAppliedTo
    }
}

/// One row of the README's table: what it covers, and the callers who see it.
struct Row {
    data: &'static str,
    sees: fn(&World, Caller) -> bool,
    who: &'static [Caller],
}

fn profile(world: &World, caller: Caller, field: ProfileField) -> bool {
    let access = profile_access(&world.viewer(caller), world.volunteer, world.applied_to(caller));
    may_see_profile_field(access, field)
}

const EVERYONE: &[Caller] = &CALLERS;
const MEMBERS: &[Caller] = &[Caller::MemberAppliedTo, Caller::MemberInvitedOnly, Caller::PlatformAdmin];
const APPLIED_TO: &[Caller] = &[Caller::Themselves, Caller::MemberAppliedTo, Caller::PlatformAdmin];
const THEMSELVES: &[Caller] = &[Caller::Themselves, Caller::PlatformAdmin];
const ADMINS: &[Caller] = &[Caller::PlatformAdmin];

fn rows() -> Vec<Row> {
    vec![
        Row {
            data: "open, filled and closed needs",
            sees: |w, c| {
                [NeedStatus::Open, NeedStatus::Filled, NeedStatus::Closed].iter().all(|s| may_see_need(*s, w.member(c)))
            },
            who: EVERYONE,
        },
        Row { data: "active offers", sees: |w, c| may_see_offer(OfferStatus::Active, w.member(c)), who: EVERYONE },
        Row { data: "draft needs", sees: |w, c| may_see_need(NeedStatus::Draft, w.member(c)), who: MEMBERS },
        Row {
            data: "draft needs among the statuses listed",
            sees: |w, c| visible_statuses(None, w.member(c)).contains(&NeedStatus::Draft),
            who: MEMBERS,
        },
        Row {
            data: "Need.applications, Organisation.members",
            sees: |w, c| may_see_organisation_private(w.member(c)),
            who: MEMBERS,
        },
        Row {
            data: "an organisation's paused and closed offers",
            sees: |w, c| {
                let owner = owns_offer(&w.viewer(c), OfferOwner::Organisation(w.organisation), w.member(c));
                may_see_offer(OfferStatus::Paused, owner) && may_see_offer(OfferStatus::Closed, owner)
            },
            who: MEMBERS,
        },
        Row {
            data: "a volunteer's paused offer",
            sees: |w, c| {
                let owner = owns_offer(&w.viewer(c), OfferOwner::Volunteer { user_id: w.volunteer }, w.member(c));
                may_see_offer(OfferStatus::Paused, owner)
            },
            who: THEMSELVES,
        },
        Row {
            data: "a volunteer's display name, bio, skills, interests, languages",
            sees: |w, c| profile(w, c, ProfileField::Public),
            who: EVERYONE,
        },
        Row { data: "a volunteer's email", sees: |w, c| profile(w, c, ProfileField::Email), who: APPLIED_TO },
        Row {
            data: "a volunteer's availability",
            sees: |w, c| profile(w, c, ProfileField::Availability),
            who: APPLIED_TO,
        },
        Row { data: "a volunteer's DBS status", sees: |w, c| profile(w, c, ProfileField::DbsStatus), who: APPLIED_TO },
        Row { data: "a volunteer's postcode", sees: |w, c| profile(w, c, ProfileField::Postcode), who: THEMSELVES },
        Row {
            data: "a volunteer's exact location",
            sees: |w, c| profile(w, c, ProfileField::Location),
            who: THEMSELVES,
        },
        Row {
            data: "a volunteer's applications (from their profile)",
            sees: |w, c| profile(w, c, ProfileField::Applications),
            who: THEMSELVES,
        },
        Row {
            data: "a volunteer's profile by its id",
            sees: |w, c| may_find_profile(profile_access(&w.viewer(c), w.volunteer, w.applied_to(c))),
            who: APPLIED_TO,
        },
        Row {
            data: "one application (the need's organisation sees it too)",
            sees: |w, c| may_see_application(&w.viewer(c), Some(w.volunteer), w.member(c)),
            who: &[Caller::Themselves, Caller::MemberAppliedTo, Caller::MemberInvitedOnly, Caller::PlatformAdmin],
        },
        Row {
            data: "an organisation's record of a volunteer's DBS check (dbsVerifications)",
            sees: |w, c| may_see_dbs_verification(&w.viewer(c), w.volunteer, w.member(c)),
            who: &[Caller::Themselves, Caller::MemberAppliedTo, Caller::MemberInvitedOnly, Caller::PlatformAdmin],
        },
        Row {
            data: "a volunteer's hours and statements (VolunteerProfile.hours, .statements)",
            sees: |w, c| profile(w, c, ProfileField::Applications),
            who: THEMSELVES,
        },
        Row {
            data: "an organisation's hours entries (Organisation.hoursEntries)",
            sees: |w, c| may_see_organisation_private(w.member(c)),
            who: MEMBERS,
        },
        Row {
            data: "an organisation's impact over four weeks or more",
            sees: |w, c| may_see_impact(PUBLIC_IMPACT_DAYS, w.member(c)),
            who: EVERYONE,
        },
        Row {
            data: "an organisation's impact over a shorter span",
            sees: |w, c| may_see_impact(PUBLIC_IMPACT_DAYS - 1, w.member(c)),
            who: MEMBERS,
        },
        Row {
            data: "who comes to a session (Session.attendees)",
            sees: |w, c| may_see_session_attendee(&w.viewer(c), w.volunteer, w.member(c)),
            who: &[Caller::Themselves, Caller::MemberAppliedTo, Caller::MemberInvitedOnly, Caller::PlatformAdmin],
        },
        Row {
            data: "a user's email, when they verified it",
            sees: |w, c| may_see_account(&w.viewer(c), w.volunteer),
            who: THEMSELVES,
        },
        Row {
            data: "the audit log, API keys",
            sees: |w, c| require_platform_admin(&w.viewer(c), "read the audit log").is_ok(),
            who: ADMINS,
        },
        Row {
            // A seat shows its holder's name, role and ward to anyone; the account behind it is theirs.
            data: "the account behind a partnership seat",
            sees: |w, c| may_see_account(&w.viewer(c), w.volunteer),
            who: THEMSELVES,
        },
        Row {
            data: "approved, paid and completed bids",
            sees: |w, c| {
                use crate::funding::BidStatus as S;
                [S::Approved, S::Paid, S::Completed].iter().all(|s| may_see_bid(*s, w.member(c), false))
            },
            who: EVERYONE,
        },
        Row {
            // Members here are the bidding organisation's; a fund's deciders see them too (`bids` e2e tests).
            data: "draft, submitted, under-review, rejected and withdrawn bids",
            sees: |w, c| {
                use crate::funding::BidStatus as S;
                [S::Draft, S::Submitted, S::UnderReview, S::Rejected, S::Withdrawn]
                    .iter()
                    .all(|s| may_see_bid(*s, w.member(c), false))
            },
            who: MEMBERS,
        },
        Row {
            data: "launched campaigns and their pledges",
            sees: |w, c| may_see_campaign(true, w.member(c)),
            who: EVERYONE,
        },
        Row { data: "a draft campaign", sees: |w, c| may_see_campaign(false, w.member(c)), who: MEMBERS },
        Row {
            // The backer here is the volunteer; the payment reference and `myPledges` follow the same rule.
            data: "an anonymous pledge's name",
            sees: |w, c| may_see_backer_name(&w.viewer(c), Some(w.volunteer), true),
            who: &[Caller::Themselves],
        },
        Row {
            data: "a pledge's name when not anonymous",
            sees: |w, c| may_see_backer_name(&w.viewer(c), Some(w.volunteer), false),
            who: EVERYONE,
        },
        Row {
            // The organisation's members here are coordinators; its owners and admins: `organisation_roles`.
            data: "a key's webhook endpoints and deliveries",
            sees: |w, c| {
                let role = (c != Caller::PlatformAdmin && w.member(c)).then_some(MemberRole::Coordinator);
                w.viewer(c).require_user().is_ok_and(|user| can_manage_webhooks(&user, role))
            },
            who: ADMINS,
        },
    ]
}

#[test]
fn who_sees_what() {
    let world = World { volunteer: Uuid::new_v4(), organisation: Uuid::new_v4() };
    let mut wrong = Vec::new();
    for row in rows() {
        for caller in CALLERS {
            let expected = row.who.contains(&caller);
            if (row.sees)(&world, caller) != expected {
                wrong.push(format!("{}: {caller:?} {}", row.data, if expected { "is refused" } else { "sees it" }));
            }
        }
    }
    assert!(wrong.is_empty(), "the policy differs from the README:\n{}", wrong.join("\n"));
}

/// "Anything, through a partner API key: what a stranger may see": on every row, a key sees what an anonymous
/// caller and a signed-in stranger see, whatever its scopes.
#[test]
fn an_api_key_sees_what_a_stranger_sees() {
    let world = World { volunteer: Uuid::new_v4(), organisation: Uuid::new_v4() };
    for row in rows() {
        let key = (row.sees)(&world, Caller::ApiKey);
        assert_eq!(key, (row.sees)(&world, Caller::Stranger), "{}", row.data);
        assert_eq!(key, (row.sees)(&world, Caller::Anonymous), "{}", row.data);
    }
}

#[test]
fn organisation_roles() {
    let member = AuthUser { id: Uuid::new_v4(), role: PlatformRole::Member };
    let admin = AuthUser { id: Uuid::new_v4(), role: PlatformRole::Admin };
    assert!(can_manage_organisation(&admin, None));
    assert!(!can_manage_organisation(&member, None));
    assert!(!can_manage_organisation(&member, Some(MemberRole::Coordinator)));
    assert!(can_manage_organisation(&member, Some(MemberRole::Admin)));
    assert!(can_coordinate(&member, Some(MemberRole::Coordinator)));
    assert!(!can_coordinate(&member, None));
    assert!(!can_grant(&member, Some(MemberRole::Admin), MemberRole::Owner));
    assert!(can_grant(&member, Some(MemberRole::Owner), MemberRole::Owner));
    assert!(can_grant(&member, Some(MemberRole::Admin), MemberRole::Coordinator));
    assert!(can_grant(&admin, None, MemberRole::Owner));
    // A key's webhooks: the platform's admins, and the owners and admins of the key's organisation.
    assert!(can_manage_webhooks(&admin, None));
    assert!(can_manage_webhooks(&member, Some(MemberRole::Owner)));
    assert!(can_manage_webhooks(&member, Some(MemberRole::Admin)));
    assert!(!can_manage_webhooks(&member, Some(MemberRole::Coordinator)));
    assert!(!can_manage_webhooks(&member, None));
}

#[test]
fn an_api_key_reads_only_its_own_organisations_matches() {
    let organisation = Uuid::new_v4();
    let key = |scopes: Vec<ApiKeyScope>| ApiKeyCaller {
        id: Uuid::new_v4(),
        scopes,
        organisation_id: Some(organisation),
        rate_limit_per_minute: 60,
    };
    assert!(key(vec![ApiKeyScope::ReadOrganisationMatches]).reads_matches_of(organisation));
    assert!(!key(vec![ApiKeyScope::ReadOrganisationMatches]).reads_matches_of(Uuid::new_v4()));
    assert!(!key(vec![ApiKeyScope::ReadPublicListings]).reads_matches_of(organisation));
    assert!(Viewer::for_api_key(key(ApiKeyScope::ALL.to_vec())).require_user().is_err());
}
