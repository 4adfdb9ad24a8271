"""Ammunition stock as the ledger holds it: what a firing would use beyond it, and none at all."""

from .flags import Flag


def stock_shortfall(fired: dict[str, int], stock: dict[str, int]) -> dict[str, int]:
    """Per ammunition type, how many more were fired than the ledger held (only the types short)."""
    return {code: n - stock.get(code, 0) for code, n in fired.items() if n > stock.get(code, 0)}


def stock_flag(fired: dict[str, int], stock: dict[str, int]) -> Flag | None:
    """`insufficient_stock` when a firing used more of a type than the ledger held, else None."""
    short = stock_shortfall(fired, stock)
    if not short:
        return None
    parts = [{"type": code, "fired": fired[code], "held": stock.get(code, 0), "short": n}
             for code, n in sorted(short.items())]
    return Flag("insufficient_stock", "; ".join(
        f"{p['type']}: fired {p['fired']}, the ledger held {p['held']} (short {p['short']})" for p in parts),
        {"parts": [{"text": "insufficient_stock.type", **p} for p in parts]})


def no_stock(stock: dict[str, int]) -> bool:
    """The ledger shows no ammunition of any type at the point (negative balances count as none)."""
    return sum(max(0, n) for n in stock.values()) == 0


def no_stock_flag(stock: dict[str, int]) -> Flag | None:
    """`insufficient_stock` for a clearance query when the point holds nothing to fire, else None."""
    if not no_stock(stock):
        return None
    return Flag("insufficient_stock", "the ledger shows no ammunition at this point",
                {"text": "insufficient_stock.none"})
