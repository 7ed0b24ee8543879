//! Optimal capacity-aware assignment (being written).
