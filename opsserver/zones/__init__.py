"""No-fire zones (禁射区): their records, their import, and each point's conflicts with them."""
