//! Budget checks (being written).
