//! Matching: explainable scores for (need, volunteer) pairs and offers, and optimal capacity-aware assignment.
pub mod assignment;
pub mod scoring;
