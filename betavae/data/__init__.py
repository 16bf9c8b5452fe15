"""Data: loading and splitting files (numpy only), and generated families with a known truth."""
