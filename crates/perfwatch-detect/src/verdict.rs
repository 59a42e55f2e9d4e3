//! Verdicts of a candidate against a baseline (being written).
