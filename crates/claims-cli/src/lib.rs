//! File I/O of `shouwang subsidy`.
