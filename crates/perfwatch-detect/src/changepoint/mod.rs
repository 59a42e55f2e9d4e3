//! Change-point detection over histories (being written).
