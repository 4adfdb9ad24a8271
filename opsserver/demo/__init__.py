"""The Luohe demo: data file and loader."""
