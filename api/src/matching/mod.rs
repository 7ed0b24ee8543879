//! Matching: explainable scores for (need, volunteer) pairs, ranked lists, and optimal assignment.
pub mod assignment;
