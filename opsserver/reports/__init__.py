"""Post-event round reports and ICS-214-style activity logs."""
