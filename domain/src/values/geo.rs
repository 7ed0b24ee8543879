//! Places: coordinates, distances, postcodes.
use crate::error::{AppError, AppResult};

const EARTH_RADIUS_KM: f64 = 6371.0088;
/// Kilometres per degree of latitude.
pub const KM_PER_DEGREE: f64 = 111.195;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Coordinates {
    lat: f64,
    lng: f64,
}

impl Coordinates {
    pub fn new(field: &str, lat: f64, lng: f64) -> AppResult<Self> {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(AppError::bad_input(format!("{field}.lat"), "must be between -90 and 90"));
        }
        if !lng.is_finite() || !(-180.0..=180.0).contains(&lng) {
            return Err(AppError::bad_input(format!("{field}.lng"), "must be between -180 and 180"));
        }
        Ok(Self { lat, lng })
    }

    /// For values already in the database, which were validated on the way in.
    pub fn from_stored(lat: Option<f64>, lng: Option<f64>) -> Option<Self> {
        Some(Self { lat: lat?, lng: lng? })
    }

    pub fn lat(&self) -> f64 {
        self.lat
    }
    pub fn lng(&self) -> f64 {
        self.lng
    }

    /// The same place to `decimals` decimal places (2 ≈ 1 km), for places that must stay approximate.
    pub fn rounded(&self, decimals: i32) -> Self {
        let scale = 10f64.powi(decimals);
        Self { lat: (self.lat * scale).round() / scale, lng: (self.lng * scale).round() / scale }
    }

    /// Great-circle distance (haversine), in km.
    pub fn distance_km(&self, other: &Coordinates) -> f64 {
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dp = p2 - p1;
        let dl = (other.lng - self.lng).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_KM * a.sqrt().asin()
    }

    /// Kilometres per degree of longitude at this latitude (the local east-west scale).
    pub fn km_per_degree_lng(&self) -> f64 {
        KM_PER_DEGREE * self.lat.to_radians().cos()
    }
}

/// A search radius: more than 0 and at most 200 km (beyond that "near" stops meaning anything).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RadiusKm(f64);

impl RadiusKm {
    pub const MAX: f64 = 200.0;

    pub fn new(field: &str, km: f64) -> AppResult<Self> {
        if !km.is_finite() || km <= 0.0 || km > Self::MAX {
            return Err(AppError::bad_input(field, "must be more than 0 and at most 200 km"));
        }
        Ok(Self(km))
    }

    pub fn km(&self) -> f64 {
        self.0
    }
}

/// A UK postcode in its canonical form, e.g. `IP12 1AA`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Postcode(String);

impl Postcode {
    pub fn parse(field: &str, raw: &str) -> AppResult<Self> {
        let compact: String = raw.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase();
        let bad = || Err(AppError::bad_input(field, "must be a UK postcode such as IP12 1AA"));
        if !(5..=7).contains(&compact.len()) || !compact.is_ascii() {
            return bad();
        }
        let (outward, inward) = compact.split_at(compact.len() - 3);
        let inward_ok = {
            let b = inward.as_bytes();
            b[0].is_ascii_digit() && b[1].is_ascii_alphabetic() && b[2].is_ascii_alphabetic()
        };
        let outward_ok = outward.as_bytes()[0].is_ascii_alphabetic()
            && outward.bytes().any(|b| b.is_ascii_digit())
            && outward.bytes().all(|b| b.is_ascii_alphanumeric());
        if !inward_ok || !outward_ok {
            return bad();
        }
        Ok(Self(format!("{outward} {inward}")))
    }

    /// An optional postcode: blank is none.
    pub fn parse_optional(field: &str, raw: Option<&str>) -> AppResult<Option<Self>> {
        raw.map(str::trim).filter(|s| !s.is_empty()).map(|p| Self::parse(field, p)).transpose()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }

    /// The outward code (`IP12`): the area, without the street-level part.
    pub fn district(stored: &str) -> &str {
        stored.split_whitespace().next().unwrap_or(stored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haversine_matches_a_known_distance() {
        let london = Coordinates::new("a", 51.5074, -0.1278).expect("valid");
        let ipswich = Coordinates::new("b", 52.0567, 1.1482).expect("valid");
        let d = london.distance_km(&ipswich);
        assert!((d - 106.9).abs() < 0.5, "London to Ipswich is about 106.9 km as the crow flies, got {d}");
    }

    #[test]
    fn coordinates_and_radius_are_bounded() {
        assert!(Coordinates::new("loc", 91.0, 0.0).is_err());
        assert!(Coordinates::new("loc", 0.0, -180.5).is_err());
        assert!(Coordinates::new("loc", f64::NAN, 0.0).is_err());
        assert!(RadiusKm::new("r", 0.0).is_err());
        assert!(RadiusKm::new("r", 201.0).is_err());
        assert!(RadiusKm::new("r", 10.0).is_ok());
    }

    #[test]
    fn postcodes_are_canonicalised() {
        assert_eq!(Postcode::parse("p", "ip121aa").map(|p| p.into_inner()), Ok("IP12 1AA".into()));
        assert_eq!(Postcode::parse("p", "SW15 4 HR").map(|p| p.into_inner()), Ok("SW15 4HR".into()));
        assert_eq!(Postcode::parse("p", "EC1A 1BB").map(|p| p.into_inner()), Ok("EC1A 1BB".into()));
        for bad in ["", "12345", "IP12 AAA", "ABCDEFG", "IP12-1AA"] {
            assert!(Postcode::parse("p", bad).is_err(), "{bad} should be rejected");
        }
        assert_eq!(Postcode::district("IP12 1AA"), "IP12");
    }
}

/// SQL for "within a radius of a point", usable on both backends (SQLite has no trigonometry by default).
///
/// Distances use the equirectangular projection at the centre's latitude: plain arithmetic, accurate to
/// well under 1% for the radii allowed here (≤ 200 km). A bounding box comes first so an index on
/// (lat, lng) can narrow the rows before the exact test.
pub mod sql {
    use sea_orm::sea_query::{Expr, ExprTrait, SimpleExpr};
    use sea_orm::{ColumnTrait, Condition};

    use super::{Coordinates, KM_PER_DEGREE, RadiusKm};

    /// Squared distance in km² from `center` to the row's (lat, lng).
    pub fn distance_sq(lat: impl ColumnTrait, lng: impl ColumnTrait, center: &Coordinates) -> SimpleExpr {
        // Qualified by table: a listing may join another table with its own lat and lng.
        let dy = Expr::expr(Expr::col((lat.entity_name(), lat)).sub(center.lat())).mul(KM_PER_DEGREE);
        let dx = Expr::expr(Expr::col((lng.entity_name(), lng)).sub(center.lng())).mul(center.km_per_degree_lng());
        Expr::expr(dy.clone()).mul(dy).add(Expr::expr(dx.clone()).mul(dx))
    }

    pub fn near_condition(
        lat: impl ColumnTrait + Copy,
        lng: impl ColumnTrait + Copy,
        center: &Coordinates,
        radius: RadiusKm,
    ) -> Condition {
        let r = radius.km();
        let dlat = r / KM_PER_DEGREE;
        let dlng = r / center.km_per_degree_lng().max(1.0);
        Condition::all()
            .add(Expr::col((lat.entity_name(), lat)).between(center.lat() - dlat, center.lat() + dlat))
            .add(Expr::col((lng.entity_name(), lng)).between(center.lng() - dlng, center.lng() + dlng))
            .add(Expr::expr(distance_sq(lat, lng, center)).lte(r * r))
    }
}

pub use sql::near_condition;

/// The distance the SQL above computes, from its squared value, rounded to 10 m for display.
pub fn display_km(distance_sq: f64) -> f64 {
    (distance_sq.max(0.0).sqrt() * 100.0).round() / 100.0
}
