//! Community partnerships: informal bodies of ward members, the county councillor, police, health, youth, business
//! and community representatives that agree a district's local priorities. A partnership is an organisation of
//! kind COMMUNITY_PARTNERSHIP tied to its council; its seats say whom each member represents (`service`), and its
//! seat balance shows whether elected members hold most of them.
pub mod priorities;
pub mod service;

crate::db_enum! {
    /// Whom a partnership member represents.
    pub enum PartnershipRole {
        /// An elected ward member of the district council (with their ward).
        WardMember => "WARD_MEMBER",
        /// The elected county councillor.
        CountyCouncillor => "COUNTY_COUNCILLOR",
        Police => "POLICE",
        Health => "HEALTH",
        Youth => "YOUTH",
        Business => "BUSINESS",
        Community => "COMMUNITY",
        CouncilOfficer => "COUNCIL_OFFICER",
    }
}

impl PartnershipRole {
    /// Ward members and county councillors are elected; the others are appointed or represent a group.
    pub fn is_elected(self) -> bool {
        matches!(self, Self::WardMember | Self::CountyCouncillor)
    }
}

/// Seats of one role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoleSeats {
    pub role: PartnershipRole,
    pub seats: i64,
    pub votes: i64,
}

/// How a partnership's seats are shared between the roles, and whether elected members hold more than half.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeatBalance {
    pub seats: i64,
    pub elected_seats: i64,
    pub votes: i64,
    pub elected_votes: i64,
    /// Every role, in the enum's order, with none where no one holds it.
    pub by_role: Vec<RoleSeats>,
    /// Said when elected members hold more than half of the seats or of the votes: the partnership is meant to hear
    /// the rest.
    pub warning: Option<String>,
}

/// The balance of a partnership's members (their roles and votes).
pub fn seat_balance(members: &[(PartnershipRole, i32)]) -> SeatBalance {
    let by_role: Vec<RoleSeats> = PartnershipRole::ALL
        .iter()
        .map(|&role| {
            let held = members.iter().filter(|(r, _)| *r == role);
            RoleSeats { role, seats: held.clone().count() as i64, votes: held.map(|(_, v)| i64::from(*v)).sum() }
        })
        .collect();
    let seats = members.len() as i64;
    let elected_seats = by_role.iter().filter(|r| r.role.is_elected()).map(|r| r.seats).sum::<i64>();
    let votes = by_role.iter().map(|r| r.votes).sum::<i64>();
    let elected_votes = by_role.iter().filter(|r| r.role.is_elected()).map(|r| r.votes).sum::<i64>();
    let warning = if elected_seats * 2 > seats {
        Some(format!(
            "elected members hold {elected_seats} of {seats} seats: more than half, so other voices are outnumbered"
        ))
    } else if elected_votes * 2 > votes {
        Some(format!(
            "elected members hold {elected_votes} of {votes} votes: more than half, so other voices are outvoted"
        ))
    } else {
        None
    };
    SeatBalance { seats, elected_seats, votes, elected_votes, by_role, warning }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elected_members_holding_more_than_half_the_seats_is_a_warning() {
        use PartnershipRole as R;
        let even = seat_balance(&[(R::WardMember, 1), (R::CountyCouncillor, 1), (R::Police, 1), (R::Youth, 2)]);
        assert_eq!((even.seats, even.elected_seats, even.warning.is_none()), (4, 2, true));
        let youth = even.by_role.iter().find(|r| r.role == R::Youth).expect("every role listed");
        assert_eq!((youth.seats, youth.votes), (1, 2));
        assert_eq!(even.by_role.len(), PartnershipRole::ALL.len());
        let elected = seat_balance(&[(R::WardMember, 1), (R::WardMember, 1), (R::Business, 1)]);
        assert!(elected.warning.is_some_and(|w| w.contains("2 of 3")));
        assert_eq!(seat_balance(&[]).warning, None);
        // Half the seats, but most of the votes.
        let weighted = seat_balance(&[(R::WardMember, 3), (R::Police, 1)]);
        assert!(weighted.warning.is_some_and(|w| w.contains("3 of 4 votes")));
    }
}
