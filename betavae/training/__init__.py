"""What training prints: the header, the epoch table and the summary."""
