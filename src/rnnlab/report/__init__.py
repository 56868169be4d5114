"""Reports: self-contained HTML pages with embedded figures and tables of checks."""
