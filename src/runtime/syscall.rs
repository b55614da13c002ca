//! The bpf() command layer (below).
