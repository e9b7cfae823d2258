"""Safety of the CAR-T treatment: CRS, ICANS, adverse events and medications (spec section 6)."""
