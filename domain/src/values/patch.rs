//! A change to an optional field: an update command says, for each such field, whether to leave it, clear it or
//! set it (GraphQL's "left out", `null` and a value).

#[derive(Clone, Debug, Default, PartialEq)]
pub enum Patch<T> {
    #[default]
    Keep,
    Clear,
    Set(T),
}

impl<T> Patch<T> {
    /// The value after the change.
    pub fn apply(self, current: Option<T>) -> Option<T> {
        match self {
            Self::Keep => current,
            Self::Clear => None,
            Self::Set(value) => Some(value),
        }
    }

    /// A value given as optional (a blank postcode, say) sets it or clears it.
    pub fn from_optional(value: Option<T>) -> Self {
        value.map_or(Self::Clear, Self::Set)
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Patch<U> {
        match self {
            Self::Keep => Patch::Keep,
            Self::Clear => Patch::Clear,
            Self::Set(value) => Patch::Set(f(value)),
        }
    }

    pub fn try_map<U, E>(self, f: impl FnOnce(T) -> Result<U, E>) -> Result<Patch<U>, E> {
        Ok(match self {
            Self::Keep => Patch::Keep,
            Self::Clear => Patch::Clear,
            Self::Set(value) => Patch::Set(f(value)?),
        })
    }
}

impl<T> Patch<Option<T>> {
    /// Setting "none" (a blank postcode, say) is clearing.
    pub fn flatten(self) -> Patch<T> {
        match self {
            Self::Keep => Patch::Keep,
            Self::Clear | Self::Set(None) => Patch::Clear,
            Self::Set(Some(value)) => Patch::Set(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Patch;

    #[test]
    fn a_patch_keeps_clears_or_sets() {
        assert_eq!(Patch::Keep.apply(Some(1)), Some(1));
        assert_eq!(Patch::<i32>::Clear.apply(Some(1)), None);
        assert_eq!(Patch::Set(2).apply(None), Some(2));
        assert_eq!(Patch::from_optional(None::<i32>), Patch::Clear);
        assert_eq!(Patch::Set("7").try_map(str::parse::<i32>), Ok(Patch::Set(7)));
    }
}
