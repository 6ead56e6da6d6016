//! Deploy: input normalization, the plan, the scheduler (to be written).
