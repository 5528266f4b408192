"""Human-readable physical quantities for reports."""


def joules(value):
    """``value`` joules with an SI prefix, e.g. ``12.3 nJ``; ``n/a`` for None."""
    if value is None:
        return "n/a"
    if value == 0:
        return "0 J"
    for factor, prefix in ((1, ""), (1e-3, "m"), (1e-6, "u"), (1e-9, "n"), (1e-12, "p"),
                           (1e-15, "f")):
        if abs(value) >= factor:
            return f"{value / factor:.4g} {prefix}J"
    return f"{value / 1e-18:.4g} aJ"
