//! Matching: explainable scores for (need, volunteer) pairs and offers (`scoring`), ranked lists for coordinators
//! and volunteers (`service`, over the in-memory `index`), and optimal capacity-aware assignment plans (`plans`,
//! solved by `assignment`).
pub mod assignment;
pub mod dispatch;
pub mod index;
pub mod outreach;
pub mod plans;
pub mod scoring;
pub mod service;
