//! Reproducible city-scale synthetic data (being written).
